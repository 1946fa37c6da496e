"""Contract of the Map Run children (``map_children``), both stores."""

from __future__ import annotations

from typing import Any

import pytest

from durable.store import ChildExecutionRecord, Store, StoreError, WriteBatch

from .records import REGION, execution, machine

RUN = f"{REGION}:mapRun:m/M:0a1b2c3d-0000-4000-8000-000000000000"
OTHER_RUN = f"{REGION}:mapRun:m/M:ffffffff-0000-4000-8000-000000000000"


def child(index: int, run: str = RUN, parent: str = "e", **kw: Any) -> ChildExecutionRecord:
    name = f"{run.rsplit(':', 1)[1][:8]}-{index:08d}"
    fields: dict[str, Any] = {
        "arn": f"{REGION}:execution:m/M:{name}",
        "map_run_arn": run,
        "execution_arn": execution(parent).arn,
        "index": index,
        "name": name,
        "status": "RUNNING",
        "start_date": 10.0 + index,
        "input": f'{{"i": {index}}}',
    }
    fields.update(kw)
    return ChildExecutionRecord(**fields)


async def _parents(store: Store, *names: str) -> None:
    await store.commit(WriteBatch(state_machines=[machine()], executions=[execution(n) for n in names]))


async def test_children_are_stored_read_back_and_listed_newest_first(store: Store) -> None:
    await _parents(store, "e")
    ended = child(1, status="SUCCEEDED", stop_date=20.0, output='{"o": 1}', item_count=3, history="[]")
    await store.commit(WriteBatch(children=[child(0), ended, child(2), child(0, run=OTHER_RUN)]))
    got = await store.get_child_execution(ended.arn)
    assert got == ended
    assert await store.get_child_execution(f"{REGION}:execution:m/M:nothing") is None
    listed, token = await store.list_child_executions(RUN)
    assert [c.index for c in listed] == [2, 1, 0] and token is None
    assert listed[1] == ChildExecutionRecord(**{**_fields(ended), "history": None})  # no history listed
    only, _ = await store.list_child_executions(RUN, status="SUCCEEDED")
    assert [c.index for c in only] == [1]
    assert await store.list_child_executions(f"{REGION}:mapRun:m/M:none") == ([], None)


def _fields(record: ChildExecutionRecord) -> dict[str, Any]:
    return {f: getattr(record, f) for f in record.__struct_fields__}


async def test_children_pages_neither_skip_nor_repeat(store: Store) -> None:
    await _parents(store, "e")
    await store.commit(WriteBatch(children=[child(i) for i in range(7)]))
    seen: list[int] = []
    token: str | None = None
    while True:
        page, token = await store.list_child_executions(RUN, limit=3, next_token=token)
        seen.extend(c.index for c in page)
        if token is None:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    with pytest.raises(StoreError):
        await store.list_child_executions(RUN, next_token="bm90IGEgdG9rZW4")
    with pytest.raises(StoreError):
        await store.list_child_executions(RUN, limit=0)


async def test_a_running_child_keeps_its_start_and_an_ended_one_is_kept_as_it_is(store: Store) -> None:
    await _parents(store, "e")
    await store.commit(WriteBatch(children=[child(0, start_date=5.0)]))
    done = child(0, start_date=9.0, status="FAILED", stop_date=12.0, error="E", cause="c", history="[1]")
    await store.commit(WriteBatch(children=[done]))
    got = await store.get_child_execution(done.arn)
    assert got is not None
    assert (got.start_date, got.status, got.stop_date, got.error, got.cause, got.history) == (
        5.0,
        "FAILED",
        12.0,
        "E",
        "c",
        "[1]",
    )
    # written again (a replay): nothing changes
    await store.commit(WriteBatch(children=[child(0, start_date=30.0, status="SUCCEEDED", stop_date=31.0)]))
    assert await store.get_child_execution(done.arn) == got


async def test_aborting_ends_the_running_children_of_one_execution(store: Store) -> None:
    await _parents(store, "e", "f")
    ok = child(0, status="SUCCEEDED", stop_date=11.0, output="1")
    mine, theirs = child(1), child(0, run=OTHER_RUN, parent="f")
    await store.commit(WriteBatch(children=[ok, mine, theirs]))
    await store.commit(WriteBatch(aborted_children=[(execution("e").arn, 50.0)]))
    got = await store.get_child_execution(mine.arn)
    assert got is not None and (got.status, got.stop_date) == ("ABORTED", 50.0)
    kept = await store.get_child_execution(ok.arn)
    assert kept is not None and kept.status == "SUCCEEDED"
    other = await store.get_child_execution(theirs.arn)
    assert other is not None and other.status == "RUNNING"


async def test_purging_an_execution_deletes_its_children(store: Store) -> None:
    await store.commit(
        WriteBatch(
            state_machines=[machine()],
            executions=[execution("e", status="SUCCEEDED", stop_date=100.0), execution("f")],
        )
    )
    gone, kept = child(0, status="SUCCEEDED", stop_date=50.0), child(0, run=OTHER_RUN, parent="f")
    await store.commit(WriteBatch(children=[gone, kept]))
    assert await store.purge_executions(closed_before=200.0) == [execution("e").arn]
    assert await store.get_child_execution(gone.arn) is None
    assert await store.list_child_executions(RUN) == ([], None)
    assert await store.get_child_execution(kept.arn) is not None


async def test_a_batch_with_children_only_is_not_empty() -> None:
    assert not WriteBatch(children=[child(0)]).is_empty()
    assert not WriteBatch(aborted_children=[("arn", 1.0)]).is_empty()


def span(first: int, count: int, run: str = RUN, **kw: Any) -> ChildExecutionRecord:
    """Children ``first`` .. ``first + count - 1`` that succeeded, stored as one row."""
    inputs = ",".join(f'{{"i": {i}}}' for i in range(first, first + count))
    outputs = ",".join(str(i * 2) for i in range(first, first + count))
    fields: dict[str, Any] = {
        "status": "SUCCEEDED",
        "stop_date": 90.0,
        "input": f"[{inputs}]",
        "output": f"[{outputs}]",
        "item_count": count,
        "span": count,
        "start_date": 80.0,
    }
    fields.update(kw)
    return child(first, run, **fields)


async def test_a_span_of_children_reads_back_child_by_child(store: Store) -> None:
    await _parents(store, "e")
    failed = child(7, status="FAILED", stop_date=91.0, error="E", cause="c")
    await store.commit(WriteBatch(children=[span(0, 3), span(3, 4), failed]))
    for i in range(7):
        got = await store.get_child_execution(child(i).arn)
        assert got is not None
        assert (got.index, got.name, got.status, got.input, got.output, got.span) == (
            i,
            child(i).name,
            "SUCCEEDED",
            f'{{"i": {i}}}',
            str(i * 2),
            1,
        )
        assert (got.start_date, got.stop_date, got.item_count, got.map_run_arn) == (80.0, 90.0, 1, RUN)
    assert await store.get_child_execution(child(8).arn) is None
    listed, _ = await store.list_child_executions(RUN)
    assert [c.index for c in listed] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert listed[1] == await store.get_child_execution(child(6).arn)
    ok, _ = await store.list_child_executions(RUN, status="SUCCEEDED")
    assert [c.index for c in ok] == [6, 5, 4, 3, 2, 1, 0]
    bad, _ = await store.list_child_executions(RUN, status="FAILED")
    assert [(c.index, c.error) for c in bad] == [(7, "E")]
    for limit in (1, 2, 3, 5):  # pages cut through spans, neither skipping nor repeating
        seen: list[int] = []
        token: str | None = None
        while True:
            page, token = await store.list_child_executions(
                RUN, status="SUCCEEDED", limit=limit, next_token=token
            )
            seen.extend(c.index for c in page)
            if token is None:
                break
        assert seen == [6, 5, 4, 3, 2, 1, 0]


async def test_a_span_of_batches_counts_each_batch_and_a_redrive_rewrites_a_failed_child(
    store: Store,
) -> None:
    await _parents(store, "e")
    batches = span(0, 2, input='[{"Items": [1, 2, 3]}, {"Items": [4]}]', item_count=4)
    failed = child(2, status="FAILED", stop_date=91.0, error="E", cause="c")
    await store.commit(WriteBatch(children=[batches, failed]))
    counts = [(await store.get_child_execution(child(i).arn)) for i in range(2)]
    assert [c.item_count for c in counts if c is not None] == [3, 1]
    # a redrive runs the failed child again, in place: its row becomes a span that succeeded
    await store.commit(WriteBatch(children=[span(2, 2, redrive_count=1)]))
    listed, _ = await store.list_child_executions(RUN)
    assert [(c.index, c.status, c.redrive_count) for c in listed] == [
        (3, "SUCCEEDED", 1),
        (2, "SUCCEEDED", 1),
        (1, "SUCCEEDED", 0),
        (0, "SUCCEEDED", 0),
    ]


async def test_the_rows_of_a_run_are_listed_as_stored_lowest_first(store: Store) -> None:
    await _parents(store, "e")
    failed = child(7, status="FAILED", stop_date=91.0, error="E", cause="c", history="[]")
    await store.commit(WriteBatch(children=[span(3, 4), failed, span(0, 3), span(0, 2, run=OTHER_RUN)]))
    rows = await store.list_child_rows(RUN, 0, 10)
    assert [(r.index, r.span, r.status) for r in rows] == [
        (0, 3, "SUCCEEDED"),
        (3, 4, "SUCCEEDED"),
        (7, 1, "FAILED"),
    ]
    assert rows[1].input == span(3, 4).input and rows[1].output == span(3, 4).output
    assert rows[2].history is None and rows[2].error == "E"
    assert [r.index for r in await store.list_child_rows(RUN, 1, 10)] == [3, 7]
    assert [r.index for r in await store.list_child_rows(RUN, 3, 1)] == [3]
    assert await store.list_child_rows(RUN, 8, 10) == []
    assert await store.list_child_rows(f"{REGION}:mapRun:m/M:none", 0, 10) == []
