"""The store contract, run against MemoryStore and SqliteStore (the ``store`` fixture).

What ``commit`` rejects (the whole batch, nothing applied): an event whose ``(execution, id)``
exists or repeats; a journal entry whose ``(execution, lane, seq)`` exists or repeats; an event
or journal entry of an execution neither stored nor upserted by the batch. Everything else is
an upsert or a delete (deleting something absent is a no-op). Within a batch upserts come
before deletes; concurrent batches apply as if one after another, in submission order.
"""

from __future__ import annotations

import asyncio

import pytest

from durable.store import (
    ActivityTaskPending,
    BatchRejected,
    Conflict,
    ExecutionAbsent,
    ExecutionIn,
    RequestRecord,
    Store,
    StoreError,
    TimerRecord,
    TokenOpen,
    WriteBatch,
)

from .records import (
    activity,
    entry,
    event,
    exec_arn,
    execution,
    machine,
    sm_arn,
    task,
    timer,
    token,
)

A = exec_arn("a")
B = exec_arn("b")


async def _start(store: Store, *names: str) -> None:
    await store.commit(WriteBatch(executions=[execution(n) for n in names]))


# -- state machines ---------------------------------------------------------------------------------
async def test_state_machines_put_get_list_delete(store: Store) -> None:
    assert await store.get_state_machine(sm_arn("nope")) is None
    assert await store.list_state_machines() == []
    m2 = machine("m2", creation_date=2.0, description="second", revision=3)
    m1 = machine("m1", creation_date=1.0)
    m0 = machine("m0", creation_date=2.0, type="EXPRESS")
    await store.commit(WriteBatch(state_machines=[m2, m1, m0]))
    assert await store.get_state_machine(m2.arn) == m2
    assert [m.name for m in await store.list_state_machines()] == ["m1", "m0", "m2"]  # (date, arn)

    updated = machine("m2", creation_date=2.0, definition='{"changed":true}', status="DELETING", revision=4)
    await store.commit(WriteBatch(state_machines=[updated]))
    assert await store.get_state_machine(m2.arn) == updated

    await store.commit(WriteBatch(deleted_state_machines=[m2.arn, sm_arn("absent")]))
    assert await store.get_state_machine(m2.arn) is None
    assert [m.name for m in await store.list_state_machines()] == ["m1", "m0"]


# -- executions -------------------------------------------------------------------------------------
async def test_execution_upsert_and_get_round_trips_every_field(store: Store) -> None:
    assert await store.get_execution(A) is None
    x = execution("a", input='{"k": [1, 2, "é"]}', type="STANDARD")
    await store.commit(WriteBatch(executions=[x]))
    assert await store.get_execution(A) == x

    done = execution(
        "a",
        status="FAILED",
        stop_date=250.5,
        output=None,
        error="States.TaskFailed",
        cause="boom",
        redrive_count=2,
        redrive_date=200.25,
        event_count=17,
        definition='{"StartAt":"Other","States":{"Other":{"Type":"Succeed"}}}',
    )
    await store.commit(WriteBatch(executions=[done]))
    got = await store.get_execution(A)
    assert got == done
    assert got is not None and got.output is None and got.stop_date == 250.5


async def test_committed_records_are_copies(store: Store) -> None:
    x = execution("a")
    await store.commit(WriteBatch(executions=[x]))
    x.status = "SUCCEEDED"
    got = await store.get_execution(A)
    assert got is not None and got.status == "RUNNING"
    got.status = "ABORTED"
    again = await store.get_execution(A)
    assert again is not None and again.status == "RUNNING"


async def test_list_executions_pages_newest_first_without_gaps(store: Store) -> None:
    records = []
    for i in range(25):
        # start dates with ties (3 per date), so the arn breaks them
        records.append(
            execution(
                f"x{i:02d}",
                machine="m1" if i % 2 else "m2",
                start_date=1000.0 + i // 3,
                status="SUCCEEDED" if i % 5 == 0 else "RUNNING",
            )
        )
    await store.commit(WriteBatch(executions=records[:12]))
    await store.commit(WriteBatch(executions=records[12:]))
    expected = sorted(records, key=lambda x: (x.start_date, x.arn), reverse=True)

    pages: list[list[str]] = []
    page_token: str | None = None
    while True:
        items, page_token = await store.list_executions(limit=10, next_token=page_token)
        pages.append([x.arn for x in items])
        if page_token is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [arn for p in pages for arn in p] == [x.arn for x in expected]

    # an exact multiple of the page size ends without an empty extra page
    items, page_token = await store.list_executions(limit=25)
    assert len(items) == 25 and page_token is None

    running, _ = await store.list_executions(status="RUNNING", limit=100)
    assert [x.arn for x in running] == [x.arn for x in expected if x.status == "RUNNING"]
    m1, _ = await store.list_executions(state_machine_arn=sm_arn("m1"), limit=100)
    assert [x.arn for x in m1] == [x.arn for x in expected if x.state_machine_arn == sm_arn("m1")]
    both = [x.arn for x in expected if x.state_machine_arn == sm_arn("m2") and x.status == "SUCCEEDED"]
    seen: list[str] = []
    page_token = None
    while True:
        items, page_token = await store.list_executions(
            sm_arn("m2"), "SUCCEEDED", limit=1, next_token=page_token
        )
        seen.extend(x.arn for x in items)
        if page_token is None:
            break
    assert seen == both and len(both) == 3
    assert await store.list_executions(status="ABORTED") == ([], None)


async def test_list_executions_rejects_bad_tokens_and_limits(store: Store) -> None:
    await _start(store, "a", "b")
    with pytest.raises(StoreError):
        await store.list_executions(next_token="not a token!")
    with pytest.raises(StoreError):
        await store.list_executions(limit=0)
    await store.commit(WriteBatch(events=[event(A, 1), event(A, 2)]))
    _, events_token = await store.events(A, limit=1)
    assert events_token is not None
    with pytest.raises(StoreError):
        await store.list_executions(next_token=events_token)  # a token of another listing


async def test_running_executions(store: Store) -> None:
    await store.commit(
        WriteBatch(
            executions=[
                execution("c", start_date=3.0),
                execution("a", start_date=5.0),
                execution("b", start_date=3.0),
                execution("d", start_date=1.0, status="SUCCEEDED"),
            ]
        )
    )
    assert [x.name for x in await store.running_executions()] == ["b", "c", "a"]
    await store.commit(WriteBatch(executions=[execution("b", start_date=3.0, status="ABORTED")]))
    assert [x.name for x in await store.running_executions()] == ["c", "a"]


# -- events -----------------------------------------------------------------------------------------
async def test_events_ascending_descending_and_paged(store: Store) -> None:
    assert await store.events(A) == ([], None)
    await store.commit(WriteBatch(executions=[execution("a"), execution("b")], events=[event(A, 1)]))
    await store.commit(WriteBatch(events=[event(A, i) for i in range(2, 24)] + [event(B, 1)]))
    await store.commit(
        WriteBatch(events=[event(A, 24, details=None), event(A, 25, type="ExecutionSucceeded")])
    )

    items, next_token = await store.events(A)
    assert [e.id for e in items] == list(range(1, 26)) and next_token is None
    assert items[23].details is None and items[24].type == "ExecutionSucceeded"
    assert items[4] == event(A, 5)
    assert [e.id for e in (await store.events(B))[0]] == [1]

    def ids(reverse: bool) -> list[int]:
        return list(range(25, 0, -1)) if reverse else list(range(1, 26))

    for reverse in (False, True):
        got: list[int] = []
        sizes: list[int] = []
        page_token: str | None = None
        while True:
            items, page_token = await store.events(A, reverse=reverse, limit=10, next_token=page_token)
            got.extend(e.id for e in items)
            sizes.append(len(items))
            if page_token is None:
                break
        assert got == ids(reverse)
        assert sizes == [10, 10, 5]
    items, next_token = await store.events(A, reverse=True, limit=25)
    assert len(items) == 25 and next_token is None
    with pytest.raises(StoreError):
        await store.events(A, limit=0)
    with pytest.raises(StoreError):
        await store.events(A, next_token="@@@")


async def test_events_of_an_unknown_execution_are_rejected(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.commit(WriteBatch(events=[event(A, 1)]))
    # the execution may be started by the same batch
    await store.commit(WriteBatch(events=[event(A, 1)], executions=[execution("a")]))
    assert [e.id for e in (await store.events(A))[0]] == [1]


# -- journal ----------------------------------------------------------------------------------------
async def test_journal_ordered_by_lane_and_seq(store: Store) -> None:
    await _start(store, "a", "b")
    assert await store.journal(A) == []
    await store.commit(
        WriteBatch(
            journal=[
                entry(A, "", 2),
                entry(A, "0/b", 1, kind="failure", payload='{"Error":"E"}'),
                entry(A, "", 10),
                entry(B, "", 1),
            ]
        )
    )
    await store.commit(WriteBatch(journal=[entry(A, "", 1, kind="value", payload="123"), entry(A, "0/a", 3)]))
    got = await store.journal(A)
    assert [(j.lane, j.seq) for j in got] == [("", 1), ("", 2), ("", 10), ("0/a", 3), ("0/b", 1)]
    assert got[0] == entry(A, "", 1, kind="value", payload="123")
    assert got[4].kind == "failure" and got[4].payload == '{"Error":"E"}'
    assert [(j.lane, j.seq) for j in await store.journal(B)] == [("", 1)]
    assert await store.journal(exec_arn("unknown")) == []


async def test_a_dropped_lane_loses_its_entries_and_its_nested_lanes(store: Store) -> None:
    """A streamed Map child's lane is dropped once its row is written: its entries and those of
    the lanes nested in it go, after the batch's own entries are added; no other lane (nor a
    lane whose name merely starts the same) is touched."""
    await _start(store, "a", "b")
    await store.commit(
        WriteBatch(
            journal=[
                entry(A, "", 1),
                entry(A, "/1.2", 1),
                entry(A, "/1.2/1.0", 1),
                entry(A, "/1.2/1.0/3.1", 2),
                entry(A, "/1.20", 1),
                entry(A, "/1.3", 1),
                entry(B, "/1.2", 1),
            ]
        )
    )
    await store.commit(WriteBatch(journal=[entry(A, "/1.3", 2)], dropped_lanes=[(A, "/1.2"), (A, "/1.3")]))
    assert [(j.lane, j.seq) for j in await store.journal(A)] == [("", 1), ("/1.20", 1)]
    assert [(j.lane, j.seq) for j in await store.journal(B)] == [("/1.2", 1)]
    assert not WriteBatch(dropped_lanes=[(A, "/1.20")]).is_empty()


async def test_an_event_with_a_lane_is_that_lanes_journal_entry(store: Store) -> None:
    await _start(store, "a")
    await store.commit(
        WriteBatch(
            events=[event(A, 1, timestamp=5.25, lane="", seq=1), event(A, 2, timestamp=6.0)],
            journal=[entry(A, "", 2, kind="value", payload='"x"')],
        )
    )
    await store.commit(WriteBatch(events=[event(A, 3, timestamp=1795993479.5958374, lane="0/a", seq=1)]))
    got = await store.journal(A)
    assert [(j.lane, j.seq, j.kind) for j in got] == [("", 1, "event"), ("", 2, "value"), ("0/a", 1, "event")]
    assert got[0].payload == "[1,5.25]"
    assert got[2].payload == "[3,1795993479.5958374]"  # the time exactly as recorded
    # every journal read gives the same entries
    resumed = await store.resume_records([A])
    assert sorted((j.lane, j.seq, j.kind, j.payload) for j in resumed[A].journal) == sorted(
        (j.lane, j.seq, j.kind, j.payload) for j in got
    )
    assert resumed[A].last_event_id == 3
    assert sorted((j.lane, j.seq, j.kind) for j in resumed[A].journal) == [
        ("", 1, "event"),
        ("", 2, "value"),
        ("0/a", 1, "event"),
    ]
    # and the history shows the event once, as it was committed
    events = (await store.events(A))[0]
    assert [(e.id, e.lane, e.seq) for e in events] == [(1, "", 1), (2, None, None), (3, "0/a", 1)]


# -- timers -----------------------------------------------------------------------------------------
async def test_timers_upsert_delete_and_due_order(store: Store) -> None:
    assert await store.timers() == []
    await store.commit(
        WriteBatch(
            timers=[
                timer(B, "k1", 30.0),
                timer(A, "k2", 10.0),
                timer(A, "k1", 20.0),
                timer(B, "k0", 10.0),  # same due as (A, k2): ordered by execution arn, key
                timer(exec_arn("unknown"), "k", 99.0),  # timers may name any execution
            ]
        )
    )
    order = [(t.execution_arn, t.key, t.due) for t in await store.timers()]
    assert order == [
        (A, "k2", 10.0),
        (B, "k0", 10.0),
        (A, "k1", 20.0),
        (B, "k1", 30.0),
        (exec_arn("unknown"), "k", 99.0),
    ]
    assert [(t.key, t.due) for t in await store.timers(until=20.0)] == [
        ("k2", 10.0),
        ("k0", 10.0),
        ("k1", 20.0),
    ]
    assert [t.key for t in await store.timers(until=20.0, limit=1)] == ["k2"]
    assert await store.timers(until=5.0) == []
    assert await store.timers(limit=0) == []

    # re-arming a timer moves it; deleting removes it (absent keys are ignored)
    await store.commit(
        WriteBatch(
            timers=[timer(A, "k2", 40.0)], deleted_timers=[(B, "k0"), (B, "nope"), (exec_arn("zz"), "k")]
        )
    )
    assert [(t.execution_arn, t.key, t.due) for t in await store.timers(until=50.0)] == [
        (A, "k1", 20.0),
        (B, "k1", 30.0),
        (A, "k2", 40.0),
    ]
    assert (await store.timers(until=10.0)) == []


# -- tokens -----------------------------------------------------------------------------------------
async def test_tokens_upsert_get_and_open(store: Store) -> None:
    assert await store.get_token("t1") is None
    full = token(
        "t1",
        A,
        created=5.0,
        lane="1/2",
        seq=7,
        heartbeat_seconds=10.0,
        timeout_seconds=60.0,
        last_heartbeat=6.5,
        activity_arn=activity("act").arn,
    )
    await store.commit(WriteBatch(tokens=[full, token("t2", A, created=1.0), token("t3", B, created=3.0)]))
    assert await store.get_token("t1") == full
    assert [t.token for t in await store.open_tokens()] == ["t2", "t3", "t1"]
    assert [t.token for t in await store.open_tokens(A)] == ["t2", "t1"]
    assert [t.token for t in await store.open_tokens(B)] == ["t3"]

    # a stored token is never overwritten: it closes through closed_tokens, and never reopens
    await store.commit(WriteBatch(tokens=[token("t2", A, created=9.0, closed=True)]))
    assert await store.get_token("t2") == token("t2", A, created=1.0)
    await store.commit(WriteBatch(closed_tokens=["t2", "absent"]))
    got = await store.get_token("t2")
    assert got == token("t2", A, created=1.0, closed=True)
    await store.commit(WriteBatch(tokens=[token("t2", A, created=1.0)]))
    assert (await store.get_token("t2")) == got
    assert [t.token for t in await store.open_tokens()] == ["t3", "t1"]
    assert [t.token for t in await store.open_tokens(A)] == ["t1"]
    assert await store.open_tokens(exec_arn("none")) == []


async def test_heartbeats_only_move_forward(store: Store) -> None:
    await store.commit(WriteBatch(tokens=[token("t1", A, created=1.0)]))
    await store.commit(WriteBatch(heartbeats=[("t1", 5.0), ("absent", 1.0)]))
    got = await store.get_token("t1")
    assert got is not None and got.last_heartbeat == 5.0
    await store.commit(WriteBatch(heartbeats=[("t1", 4.0)]))
    got = await store.get_token("t1")
    assert got is not None and got.last_heartbeat == 5.0


# -- activities -------------------------------------------------------------------------------------
async def test_activities_and_activity_tasks(store: Store) -> None:
    a1, a2 = activity("b-act", 2.0), activity("a-act", 2.0)
    a0 = activity("z-act", 1.0)
    await store.commit(WriteBatch(activities=[a1, a2, a0]))
    assert await store.get_activity(a1.arn) == a1
    assert await store.get_activity(activity("nope").arn) is None
    assert [a.name for a in await store.list_activities()] == ["z-act", "a-act", "b-act"]
    await store.commit(WriteBatch(deleted_activities=[a0.arn, activity("nope").arn]))
    assert [a.name for a in await store.list_activities()] == ["a-act", "b-act"]

    assert await store.pending_activity_tasks(a1.arn) == []
    await store.commit(
        WriteBatch(
            activity_tasks=[
                task("tk3", a1.arn, 3.0),
                task("tk1", a1.arn, 1.0, input='{"n":1}'),
                task("tk2", a1.arn, 1.0),
                task("tk0", a1.arn, 0.5, started=0.7, worker_name="w"),  # started: not pending
                task("other", a2.arn, 0.1),
            ]
        )
    )
    assert [t.token for t in await store.pending_activity_tasks(a1.arn)] == ["tk1"]
    assert [t.token for t in await store.pending_activity_tasks(a1.arn, limit=10)] == ["tk1", "tk2", "tk3"]
    assert await store.pending_activity_tasks(a1.arn, limit=0) == []
    assert [t.token for t in await store.pending_activity_tasks(a2.arn, limit=10)] == ["other"]
    started = await store.get_activity_task("tk0")
    assert started == task("tk0", a1.arn, 0.5, started=0.7, worker_name="w")
    assert await store.get_activity_task("missing") is None

    # a worker takes tk1 (upsert with started), tk2 is completed (deleted)
    await store.commit(
        WriteBatch(
            activity_tasks=[task("tk1", a1.arn, 1.0, input='{"n":1}', started=9.0, worker_name="w1")],
            deleted_activity_tasks=["tk2", "never-existed"],
        )
    )
    assert [t.token for t in await store.pending_activity_tasks(a1.arn, limit=10)] == ["tk3"]
    taken = await store.get_activity_task("tk1")
    assert (
        taken is not None and taken.started == 9.0 and taken.worker_name == "w1" and taken.input == '{"n":1}'
    )
    assert await store.get_activity_task("tk2") is None


# -- batch semantics --------------------------------------------------------------------------------
def _everything_else() -> WriteBatch:
    """A batch touching every table except events/journal (to check that nothing leaks)."""
    return WriteBatch(
        state_machines=[machine("new")],
        executions=[execution("b"), execution("a", status="SUCCEEDED")],
        timers=[timer(A, "t", 1.0)],
        tokens=[token("tok", A)],
        activities=[activity("act")],
        activity_tasks=[task("task", activity("act").arn, 1.0)],
        deleted_timers=[(A, "old")],
    )


async def _assert_untouched(store: Store) -> None:
    assert await store.get_state_machine(sm_arn("new")) is None
    assert await store.get_execution(B) is None
    x = await store.get_execution(A)
    assert x is not None and x.status == "RUNNING"
    assert [t.key for t in await store.timers()] == ["old"]
    assert await store.get_token("tok") is None
    assert await store.list_activities() == []
    assert await store.get_activity_task("task") is None
    assert [e.id for e in (await store.events(A))[0]] == [1, 2]
    assert [(j.lane, j.seq) for j in await store.journal(A)] == [("", 1)]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(WriteBatch(events=[event(A, 3), event(A, 2)]), id="event-id-already-stored"),
        pytest.param(WriteBatch(events=[event(A, 3), event(A, 3)]), id="event-id-twice-in-batch"),
        pytest.param(WriteBatch(journal=[entry(A, "", 1)]), id="journal-key-already-stored"),
        pytest.param(WriteBatch(journal=[entry(A, "x", 1), entry(A, "x", 1)]), id="journal-key-twice"),
        pytest.param(WriteBatch(events=[event(exec_arn("ghost"), 1)]), id="event-of-unknown-execution"),
        pytest.param(
            WriteBatch(journal=[entry(exec_arn("ghost"), "", 1)]), id="journal-of-unknown-execution"
        ),
    ],
)
async def test_a_rejected_batch_leaves_nothing_behind(store: Store, bad: WriteBatch) -> None:
    await store.commit(
        WriteBatch(
            executions=[execution("a")],
            events=[event(A, 1), event(A, 2)],
            journal=[entry(A, "", 1)],
            timers=[timer(A, "old", 0.5)],
        )
    )
    batch = _everything_else()
    batch.events = bad.events
    batch.journal = bad.journal
    with pytest.raises(StoreError):
        await store.commit(batch)
    await _assert_untouched(store)
    # the store still works after a rejected batch
    await store.commit(WriteBatch(events=[event(A, 3)]))
    assert [e.id for e in (await store.events(A))[0]] == [1, 2, 3]


async def test_upserts_apply_before_deletes_within_a_batch(store: Store) -> None:
    await store.commit(
        WriteBatch(
            state_machines=[machine("m")],
            deleted_state_machines=[sm_arn("m")],
            timers=[timer(A, "k", 1.0), timer(A, "k", 2.0), timer(A, "kept", 3.0)],
            deleted_timers=[(A, "k")],
            activities=[activity("x")],
            deleted_activities=[activity("x").arn],
            activity_tasks=[task("t", activity("x").arn, 1.0)],
            deleted_activity_tasks=["t"],
        )
    )
    assert await store.get_state_machine(sm_arn("m")) is None
    assert [t.key for t in await store.timers()] == ["kept"]
    assert await store.get_activity(activity("x").arn) is None
    assert await store.get_activity_task("t") is None


async def test_last_upsert_of_a_key_wins(store: Store) -> None:
    await store.commit(
        WriteBatch(
            executions=[execution("a", status="RUNNING"), execution("a", status="SUCCEEDED", event_count=3)],
            tokens=[token("t", A), token("t", A, closed=True)],  # tokens: the first insert wins
            timers=[timer(A, "k", 5.0), timer(A, "k", 1.0)],
        )
    )
    x = await store.get_execution(A)
    assert x is not None and x.status == "SUCCEEDED" and x.event_count == 3
    assert [t.token for t in await store.open_tokens()] == ["t"]
    assert [t.due for t in await store.timers()] == [1.0]


async def test_closed_store_refuses_and_reopens_with_its_data(store: Store) -> None:
    await _start(store, "a")
    await store.close()
    with pytest.raises(StoreError):
        await store.commit(WriteBatch(executions=[execution("b")]))
    with pytest.raises(StoreError):
        await store.get_execution(A)
    await store.open()
    assert await store.get_execution(A) is not None
    await store.open()  # opening an open store is a no-op


# -- concurrency ------------------------------------------------------------------------------------
async def test_concurrent_commits_all_land(store: Store) -> None:
    async def run(i: int) -> None:
        arn = exec_arn(f"c{i}")
        await store.commit(WriteBatch(executions=[execution(f"c{i}")], events=[event(arn, 1)]))
        for n in range(2, 5):
            await store.commit(
                WriteBatch(
                    events=[event(arn, n)],
                    journal=[entry(arn, "", n)],
                    timers=[timer(arn, "t", float(n))],
                    deleted_timers=[(arn, "t")] if n == 4 else [],
                )
            )

    await asyncio.gather(*(run(i) for i in range(200)))
    items, _ = await store.list_executions(limit=1000)
    assert len(items) == 200
    for i in (0, 99, 199):
        arn = exec_arn(f"c{i}")
        assert [e.id for e in (await store.events(arn))[0]] == [1, 2, 3, 4]
        assert [j.seq for j in await store.journal(arn)] == [2, 3, 4]
    assert await store.timers() == []  # armed, re-armed, then deleted by each task's last batch


async def test_a_bad_batch_among_concurrent_ones_fails_alone(store: Store) -> None:
    await store.commit(WriteBatch(executions=[execution("a")], events=[event(A, 1)]))

    async def good(i: int) -> None:
        await store.commit(WriteBatch(executions=[execution(f"g{i}")], events=[event(exec_arn(f"g{i}"), 1)]))

    results = await asyncio.gather(
        *(good(i) for i in range(20)),
        store.commit(
            WriteBatch(executions=[execution("b")], events=[event(A, 1)])
        ),  # duplicate of a stored id
        *(good(i) for i in range(20, 40)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], StoreError)
    assert len((await store.list_executions(limit=100))[0]) == 41
    assert await store.get_execution(B) is None


async def test_concurrent_batches_apply_in_submission_order(store: Store) -> None:
    await _start(store, "a")
    # upsert then delete of the same timer, submitted concurrently: deleted
    await asyncio.gather(
        store.commit(WriteBatch(timers=[timer(A, "k", 1.0)])),
        store.commit(WriteBatch(deleted_timers=[(A, "k")])),
    )
    assert await store.timers() == []
    # delete then upsert: armed
    await asyncio.gather(
        store.commit(WriteBatch(deleted_timers=[(A, "k")])),
        store.commit(WriteBatch(timers=[timer(A, "k", 2.0)])),
    )
    assert [t.due for t in await store.timers()] == [2.0]
    # events of an execution that a *later* batch starts are rejected; the later batch lands
    results = await asyncio.gather(
        store.commit(WriteBatch(events=[event(B, 1)])),
        store.commit(WriteBatch(executions=[execution("b")])),
        store.commit(WriteBatch(events=[event(B, 1)])),
        store.commit(WriteBatch(events=[event(B, 1)])),  # duplicate of the previous batch
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["BatchRejected", "NoneType", "NoneType", "BatchRejected"]
    assert [e.id for e in (await store.events(B))[0]] == [1]
    # the last of several concurrent upserts of one execution wins
    await asyncio.gather(
        *(store.commit(WriteBatch(executions=[execution("a", event_count=n)])) for n in range(10))
    )
    x = await store.get_execution(A)
    assert x is not None and x.event_count == 9


# -- the inbox ----------------------------------------------------------------------------------------
def request(ref: str, arn: str = A, kind: str = "answer", **kw: object) -> RequestRecord:
    return RequestRecord(ref=ref, execution_arn=arn, kind=kind, created=1.0, **kw)  # type: ignore[arg-type]


async def test_requests_are_appended_in_order_and_consumed(store: Store) -> None:
    assert await store.requests() == []
    await store.commit(WriteBatch(requests=[request("r1", token="t", payload="[true, 1]"), request("r2")]))
    await store.commit(WriteBatch(requests=[request("r3", B, "stop")]))
    got = await store.requests()
    assert [r.ref for r in got] == ["r1", "r2", "r3"]
    assert got[0].id < got[1].id < got[2].id
    assert (got[0].token, got[0].payload, got[2].kind, got[2].execution_arn) == ("t", "[true, 1]", "stop", B)
    assert [r.ref for r in await store.requests(after=got[0].id)] == ["r2", "r3"]
    assert [r.ref for r in await store.requests(limit=1)] == ["r1"]
    await store.commit(WriteBatch(consumed_requests=["r1", "r3", "absent"]))
    assert [r.ref for r in await store.requests()] == ["r2"]
    with pytest.raises(BatchRejected):
        await store.commit(WriteBatch(requests=[request("r2")]))
    with pytest.raises(BatchRejected):
        await store.commit(WriteBatch(requests=[request("r9"), request("r9")]))
    assert [r.ref for r in await store.requests()] == ["r2"]
    await store.commit(WriteBatch(requests=[request("r4")]))
    assert (await store.requests())[-1].id > got[2].id  # ids are never reused


# -- guards -------------------------------------------------------------------------------------------
async def test_a_token_is_claimed_once(store: Store) -> None:
    await store.commit(WriteBatch(tokens=[token("t1", A)]))
    claim = WriteBatch(guards=[TokenOpen(token="t1")], closed_tokens=["t1"], requests=[request("r1")])
    await store.commit(claim)
    with pytest.raises(Conflict) as caught:
        await store.commit(
            WriteBatch(guards=[TokenOpen(token="t1")], closed_tokens=["t1"], requests=[request("r2")])
        )
    assert caught.value.guard == TokenOpen(token="t1")
    with pytest.raises(Conflict):
        await store.commit(WriteBatch(guards=[TokenOpen(token="never")], requests=[request("r3")]))
    assert [r.ref for r in await store.requests()] == ["r1"]


async def test_concurrent_claims_of_one_token_let_exactly_one_win(store: Store) -> None:
    await store.commit(WriteBatch(tokens=[token("t1", A)]))
    claims = [
        store.commit(
            WriteBatch(guards=[TokenOpen(token="t1")], closed_tokens=["t1"], requests=[request(f"r{i}")])
        )
        for i in range(5)
    ]
    results = await asyncio.gather(*claims, return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not None)
    assert len(await store.requests()) == 1


async def test_an_activity_task_is_taken_once(store: Store) -> None:
    act = activity("act")
    await store.commit(WriteBatch(activity_tasks=[task("tk", act.arn, 1.0)]))
    took = task("tk", act.arn, 1.0, started=2.0, worker_name="w1")
    takes = [
        store.commit(WriteBatch(guards=[ActivityTaskPending(token="tk")], activity_tasks=[took]))
        for _ in range(3)
    ]
    results = await asyncio.gather(*takes, return_exceptions=True)
    assert sum(r is None for r in results) == 1
    with pytest.raises(Conflict):
        await store.commit(WriteBatch(guards=[ActivityTaskPending(token="absent")]))


async def test_execution_guards(store: Store) -> None:
    start = WriteBatch(guards=[ExecutionAbsent(arn=A)], executions=[execution("a")], events=[event(A, 1)])
    await store.commit(start)
    with pytest.raises(Conflict):
        await store.commit(
            WriteBatch(guards=[ExecutionAbsent(arn=A)], executions=[execution("a")], events=[event(A, 2)])
        )
    assert [e.id for e in (await store.events(A))[0]] == [1]
    failed = execution("a", status="FAILED")
    await store.commit(WriteBatch(executions=[failed], events=[event(A, 2)]))
    redrive = WriteBatch(
        guards=[ExecutionIn(arn=A, statuses=("FAILED", "ABORTED"), event_count=2)],
        executions=[execution("a")],
        events=[event(A, 3)],
    )
    await store.commit(redrive)
    with pytest.raises(Conflict):  # status and last event moved on
        await store.commit(redrive)
    with pytest.raises(Conflict):
        await store.commit(WriteBatch(guards=[ExecutionIn(arn=B, statuses=("RUNNING",))]))
    await store.commit(WriteBatch(guards=[ExecutionIn(arn=A, statuses=("RUNNING",))]))


async def test_guards_see_the_batches_before_them(store: Store) -> None:
    """Concurrent batches are one group in SQLite: the second start of one name must lose."""
    starts = [
        store.commit(
            WriteBatch(guards=[ExecutionAbsent(arn=A)], executions=[execution("a", input=f'{{"n": {i}}}')])
        )
        for i in range(3)
    ]
    results = await asyncio.gather(*starts, return_exceptions=True)
    assert results[0] is None and all(isinstance(r, Conflict) for r in results[1:])
    stored = await store.get_execution(A)
    assert stored is not None and stored.input == '{"n": 0}'


# -- recovery reads ---------------------------------------------------------------------------------------
async def test_resumable_executions_leave_parked_ones_out(store: Store) -> None:
    await _start(store, "a", "b", "c")
    await store.commit(
        WriteBatch(
            executions=[execution("c", status="SUCCEEDED")],
            events=[event(A, 1), event(A, 2), event(B, 1)],
            journal=[entry(A, "", 1), entry(B, "", 1)],
            timers=[
                TimerRecord(execution_arn=B, key="park", due=50.0, parks=True),
                TimerRecord(execution_arn=A, key="plain", due=50.0),
            ],
        )
    )
    assert [x.name for x in await store.resumable_executions()] == ["a"]
    assert (await store.resume_records([A]))[A].last_event_id == 2
    assert await store.last_event_id(A) == 2 and await store.last_event_id(exec_arn("none")) == 0
    assert [t.key for t in await store.execution_timers(B)] == ["park"]
    assert (await store.execution_timers(B))[0].parks is True
    await store.commit(WriteBatch(deleted_timers=[(B, "park")]))
    assert [x.name for x in await store.resumable_executions()] == ["a", "b"]


async def test_resumable_page_by_start_then_arn_without_parked(store: Store) -> None:
    names = [f"r{i}" for i in range(7)]
    await store.commit(
        WriteBatch(executions=[execution(n, start_date=100.0 + i // 2) for i, n in enumerate(names)])
    )
    # r1 parks on a token, r4 on a Wait; r5 finished; a timer that does not park changes nothing
    await store.commit(
        WriteBatch(
            executions=[execution("r5", start_date=102.0, status="SUCCEEDED")],
            timers=[
                TimerRecord(execution_arn=exec_arn("r1"), key="park:token:t", due=1e18, parks=True),
                TimerRecord(execution_arn=exec_arn("r4"), key="park:#1", due=50.0, parks=True),
                TimerRecord(execution_arn=exec_arn("r2"), key="plain", due=50.0),
            ],
        )
    )
    expected = [x.name for x in await store.resumable_executions()]
    assert expected == ["r0", "r2", "r3", "r6"]
    pages: list[list[str]] = []
    after: tuple[float, str] | None = None
    while True:
        page = await store.resumable_page(after, limit=2)
        if not page:
            break
        pages.append([x.name for x in page])
        after = (page[-1].start_date, page[-1].arn)
    assert pages == [["r0", "r2"], ["r3", "r6"]]
    assert [x.name for x in await store.resumable_page(limit=10)] == expected
    with pytest.raises(StoreError):
        await store.resumable_page(limit=0)
    # unparking (the timer deleted) and parking again move an execution in and out
    await store.commit(WriteBatch(deleted_timers=[(exec_arn("r4"), "park:#1")]))
    await store.commit(
        WriteBatch(timers=[TimerRecord(execution_arn=exec_arn("r0"), key="park:#2", due=9.0, parks=True)])
    )
    assert [x.name for x in await store.resumable_page(limit=10)] == ["r2", "r3", "r4", "r6"]


async def test_resumable_page_parking_timer_before_its_execution(store: Store) -> None:
    # a timer may name an execution the store does not know yet: it parks it once it is stored
    await store.commit(
        WriteBatch(timers=[TimerRecord(execution_arn=exec_arn("late"), key="park:#1", due=9.0, parks=True)])
    )
    await _start(store, "late", "other")
    assert [x.name for x in await store.resumable_page(limit=10)] == ["other"]
    # two parking timers: parked until the last one goes
    await store.commit(
        WriteBatch(
            timers=[TimerRecord(execution_arn=exec_arn("late"), key="park:token:x", due=1e18, parks=True)]
        )
    )
    await store.commit(WriteBatch(deleted_timers=[(exec_arn("late"), "park:#1")]))
    assert [x.name for x in await store.resumable_page(limit=10)] == ["other"]
    await store.commit(WriteBatch(deleted_timers=[(exec_arn("late"), "park:token:x")]))
    assert [x.name for x in await store.resumable_page(limit=10)] == ["late", "other"]


async def test_resume_records_read_only_the_executions_asked_for(store: Store) -> None:
    await _start(store, "a", "b", "c")
    await store.commit(
        WriteBatch(
            events=[event(A, 1), event(A, 2), event(B, 1)],
            journal=[entry(A, "", 2), entry(A, "", 1), entry(A, "0", 1), entry(exec_arn("c"), "", 1)],
        )
    )
    found = await store.resume_records([A, B, exec_arn("none")])
    assert sorted(found) == [A, B]
    assert sorted((e.lane, e.seq) for e in found[A].journal) == [("", 1), ("", 2), ("0", 1)]
    assert found[B].journal == []
    assert (found[A].last_event_id, found[B].last_event_id) == (2, 1)
    assert await store.resume_records([]) == {}


async def test_resume_records_read_several_executions_at_once(store: Store) -> None:
    m = machine("m")
    c = exec_arn("c", "gone")
    await store.commit(
        WriteBatch(
            state_machines=[m],
            executions=[execution("a"), execution("b", status="SUCCEEDED"), execution("c", machine="gone")],
            events=[event(A, 1), event(A, 2), event(B, 1)],
            journal=[entry(A, "", 2), entry(A, "", 1), entry(A, "0", 1), entry(B, "", 1)],
        )
    )
    found = await store.resume_records([A, B, c, exec_arn("none"), A])
    assert set(found) == {A, B, c}  # absent executions are left out; repeats collapse
    a = found[A]
    assert a.execution == await store.get_execution(A)
    assert a.journal == await store.journal(A) and [(j.lane, j.seq) for j in a.journal] == [
        ("", 1),
        ("", 2),
        ("0", 1),
    ]
    assert a.last_event_id == 2 and a.state_machine == m
    assert found[B].execution.status == "SUCCEEDED" and found[B].last_event_id == 1
    assert found[c].state_machine is None and found[c].journal == [] and found[c].last_event_id == 0
    assert await store.resume_records([]) == {}


async def test_tokens_and_timers_of_several_executions(store: Store) -> None:
    await _start(store, "a", "b")
    await store.commit(
        WriteBatch(
            tokens=[token("t2", A, created=2.0), token("t1", A, created=1.0), token("tb", B)],
            timers=[timer(A, "k2", 2.0), timer(A, "k1", 1.0), timer(B, "kb", 5.0)],
            closed_tokens=["tb"],
        )
    )
    none = exec_arn("none")
    found = await store.tokens_and_timers([A, B, none])
    assert set(found) == {A, B, none}
    assert found[A] == (await store.open_tokens(A), await store.execution_timers(A))
    assert [t.token for t in found[A][0]] == ["t1", "t2"] and [t.key for t in found[A][1]] == ["k1", "k2"]
    assert found[B] == ([], await store.execution_timers(B))  # a closed token is not open
    assert found[none] == ([], [])


async def test_timers_in_a_window(store: Store) -> None:
    await store.commit(WriteBatch(timers=[timer(A, f"k{d}", float(d)) for d in (1, 2, 3, 4)]))
    assert [t.due for t in await store.timers(until=3.0, after=1.0)] == [2.0, 3.0]
    assert [t.due for t in await store.timers(after=2.0)] == [3.0, 4.0]
