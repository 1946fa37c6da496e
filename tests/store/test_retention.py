"""Contract of ``Store.purge_executions`` (retention), run against both stores."""

from __future__ import annotations

import pytest

from durable.store import (
    ActivityTaskPending,
    BatchRejected,
    Conflict,
    ExecutionAbsent,
    Store,
    StoreError,
    TokenOpen,
    WriteBatch,
)

from .records import activity, entry, event, exec_arn, execution, machine, task, timer, token


def closed(name: str, stop: float, status: str = "SUCCEEDED") -> WriteBatch:
    """A closed execution with something in every table that names it."""
    arn = exec_arn(name)
    return WriteBatch(
        executions=[execution(name, status=status, stop_date=stop, output="{}")],
        events=[event(arn, 1, "ExecutionStarted"), event(arn, 2, "ExecutionSucceeded", previous_event_id=1)],
        journal=[entry(arn, "", 1), entry(arn, "", 2)],
        timers=[timer(arn, "t1", due=50.0)],
        tokens=[token(f"tok-{name}", arn)],
        activity_tasks=[task(f"tok-{name}", activity("act").arn, 1.0, arn=arn)],
    )


async def test_purge_deletes_closed_executions_stopped_before_the_cutoff_whole(store: Store) -> None:
    await store.commit(WriteBatch(state_machines=[machine()], activities=[activity("act")]))
    await store.commit(closed("old", 10.0))
    await store.commit(closed("failed", 11.0, status="FAILED"))
    await store.commit(closed("recent", 30.0))
    running = exec_arn("running")
    await store.commit(
        WriteBatch(executions=[execution("running", start_date=1.0)], events=[event(running, 1)])
    )
    assert sorted(await store.purge_executions(20.0)) == [exec_arn("failed"), exec_arn("old")]
    for name in ("old", "failed"):
        arn = exec_arn(name)
        assert await store.get_execution(arn) is None
        assert await store.journal(arn) == []
        assert await store.execution_timers(arn) == []
        assert await store.get_token(f"tok-{name}") is None
        assert await store.get_activity_task(f"tok-{name}") is None
        assert await store.last_event_id(arn) == 0
    recent = exec_arn("recent")
    assert (await store.get_execution(recent)) is not None
    assert len((await store.events(recent))[0]) == 2
    assert len(await store.journal(recent)) == 2
    assert await store.get_token("tok-recent") is not None
    assert [t.key for t in await store.execution_timers(recent)] == ["t1"]
    assert (await store.get_execution(running)) is not None
    assert await store.purge_executions(20.0) == []
    # a RUNNING execution is never purged, however old its start
    assert await store.purge_executions(1e12) == [recent]
    assert [x.arn for x in await store.running_executions()] == [running]
    listed, _ = await store.list_executions()
    assert [x.arn for x in listed] == [running]
    assert await store.get_state_machine(machine().arn) is not None


async def test_purge_goes_oldest_first_in_batches_of_limit(store: Store) -> None:
    await store.commit(WriteBatch(activities=[activity("act")]))
    for i, stop in enumerate([5.0, 3.0, 4.0, 1.0, 2.0]):
        await store.commit(closed(f"x{i}", stop))
    assert await store.purge_executions(100.0, limit=2) == [exec_arn("x3"), exec_arn("x4")]
    assert await store.purge_executions(100.0, limit=2) == [exec_arn("x1"), exec_arn("x2")]
    assert await store.purge_executions(100.0, limit=2) == [exec_arn("x0")]
    assert await store.purge_executions(100.0, limit=2) == []
    with pytest.raises(StoreError):
        await store.purge_executions(100.0, limit=0)


async def test_a_purged_name_can_be_started_again(store: Store) -> None:
    await store.commit(WriteBatch(activities=[activity("act")]))
    await store.commit(closed("a", 1.0))
    await store.commit(closed("b", 50.0))
    assert await store.purge_executions(10.0) == [exec_arn("a")]
    arn = exec_arn("a")
    with pytest.raises(BatchRejected):  # its events are gone with it
        await store.commit(WriteBatch(events=[event(arn, 3)]))
    await store.commit(
        WriteBatch(
            executions=[execution("a", start_date=60.0)],
            events=[event(arn, 1)],
            guards=[ExecutionAbsent(arn=arn)],
        )
    )
    assert (await store.get_execution(arn)).status == "RUNNING"  # type: ignore[union-attr]
    assert [e.id for e in (await store.events(arn))[0]] == [1]
    assert len((await store.events(exec_arn("b")))[0]) == 2
    with pytest.raises(Conflict):
        await store.commit(WriteBatch(guards=[TokenOpen(token="tok-a")]))
    with pytest.raises(Conflict):
        await store.commit(WriteBatch(guards=[ActivityTaskPending(token="tok-a")]))
