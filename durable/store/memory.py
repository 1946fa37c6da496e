"""The in-memory store: the :class:`~durable.store.base.Store` contract in plain dicts and lists.

It gives the same observable results as :class:`~durable.store.sqlite.SqliteStore` (the
contract suite in ``tests/store/`` runs against both), without durability. Records are copied
on the way in and out, so a caller mutating a record never changes what is stored.

Contract details both stores share:

* ``commit`` validates the whole batch first and applies nothing if it is rejected
  (:class:`BatchRejected`). It rejects: a batch whose guard does not hold (:class:`Conflict`);
  an event whose ``(execution_arn, id)`` is already stored or appears twice; a journal entry
  whose ``(execution_arn, lane, seq)`` is already stored or appears twice; an event or journal
  entry of an execution that is neither stored nor upserted by the same batch; a request whose
  ``ref`` is already in the inbox. Everything else is an upsert or a delete, never rejected:
  deleting something absent is a no-op; timers, tokens and activity tasks may name an
  execution the store does not know.
* Within a batch, upserts are applied before deletes (a key both upserted and deleted ends
  deleted); the last upsert of a key wins. Executions are applied before events and journal
  entries, so a batch may start an execution and append its first events. Tokens are
  inserted only when absent (a stored token is never overwritten), then ``closed_tokens`` close
  and ``heartbeats`` move ``last_heartbeat`` forward; requests are appended, then consumed ones
  removed.
* Guards see the state before the batch (and, in a group commit, after the batches before it).
* Orders: state machines and activities by ``(creation_date, arn)``; ``list_executions``
  newest first by ``(start_date, arn)`` descending; ``running_executions`` oldest first;
  events by id; journal by ``(lane, seq)``; timers by ``(due, execution_arn, key)``; open
  tokens by ``(created, token)``; pending activity tasks by ``(scheduled, token)``.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
from collections.abc import Sequence
from typing import TypeVar

import msgspec

from .base import (
    ActivityRecord,
    ActivityTaskPending,
    ActivityTaskRecord,
    BatchRejected,
    ChildExecutionRecord,
    Conflict,
    EventRecord,
    ExecutionAbsent,
    ExecutionIn,
    ExecutionRecord,
    Guard,
    JournalRecord,
    MetadataAbsent,
    MetadataRecord,
    RequestRecord,
    ResumeRecord,
    StateMachineRecord,
    StoreError,
    TimerRecord,
    TokenOpen,
    TokenRecord,
    WriteBatch,
)
from .child_spans import children_page, pick, span_starts
from .sqlite_paging import (
    check_limit,
    decode_event_token,
    decode_execution_token,
    encode_event_token,
    encode_execution_token,
)

__all__ = ["MemoryStore"]

_R = TypeVar("_R")


def _copy(record: _R) -> _R:
    return copy.copy(record)


class _EventLog:
    """One execution's events: a sorted id list beside a dict (appends are the common case)."""

    __slots__ = ("by_id", "ids")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.by_id: dict[int, EventRecord] = {}

    def add(self, event: EventRecord) -> None:
        if not self.ids or event.id > self.ids[-1]:
            self.ids.append(event.id)
        else:
            bisect.insort(self.ids, event.id)
        self.by_id[event.id] = event


class MemoryStore:
    """The store contract without persistence (tests, Express-like runs, benchmarks)."""

    def __init__(self) -> None:
        self._open = False
        self._state_machines: dict[str, StateMachineRecord] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._events: dict[str, _EventLog] = {}
        self._journal: dict[str, dict[tuple[str, int], JournalRecord]] = {}
        self._timers: dict[tuple[str, str], TimerRecord] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._activities: dict[str, ActivityRecord] = {}
        self._activity_tasks: dict[str, ActivityTaskRecord] = {}
        self._metadata: dict[tuple[str, str], MetadataRecord] = {}
        self._children: dict[str, ChildExecutionRecord] = {}  # by arn
        self._runs: dict[str, dict[int, str]] = {}  # map run arn -> index -> child arn
        self._requests: dict[str, RequestRecord] = {}  # by ref, in id order
        self._request_id = 0

    def __repr__(self) -> str:
        return "MemoryStore()"

    @property
    def fault(self) -> StoreError | None:
        return None

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def __aenter__(self) -> MemoryStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("the memory store is not open")

    # -- writes ---------------------------------------------------------------------------------
    async def commit(self, batch: WriteBatch) -> None:
        """Validate ``batch``, then apply all of it (nothing if it is rejected)."""
        self._check_open()
        await asyncio.sleep(0)  # a commit is a suspension point, as it is with SQLite
        self._check_open()
        self._validate(batch)
        self._apply(batch)

    def _validate(self, batch: WriteBatch) -> None:
        for guard in batch.guards:
            if not self._holds(guard):
                raise Conflict(f"guard failed: {guard!r}", guard)
        upserted = {x.arn for x in batch.executions}

        def check_execution(arn: str, what: str) -> None:
            if arn not in self._executions and arn not in upserted:
                raise BatchRejected(f"{what} of unknown execution {arn!r}")

        seen_events: set[tuple[str, int]] = set()
        for event in batch.events:
            check_execution(event.execution_arn, f"event {event.id}")
            key = (event.execution_arn, event.id)
            log = self._events.get(event.execution_arn)
            if key in seen_events or (log is not None and event.id in log.by_id):
                raise BatchRejected(f"duplicate event id {event.id} for execution {event.execution_arn!r}")
            seen_events.add(key)
        seen_journal: set[tuple[str, str, int]] = set()
        for entry in batch.journal:
            check_execution(entry.execution_arn, f"journal entry {entry.lane!r}/{entry.seq}")
            jkey = (entry.execution_arn, entry.lane, entry.seq)
            entries = self._journal.get(entry.execution_arn)
            if jkey in seen_journal or (entries is not None and (entry.lane, entry.seq) in entries):
                raise BatchRejected(
                    f"duplicate journal entry {entry.lane!r}/{entry.seq}"
                    f" for execution {entry.execution_arn!r}"
                )
            seen_journal.add(jkey)
        refs = {r.ref for r in batch.requests}
        if len(refs) != len(batch.requests) or any(ref in self._requests for ref in refs):
            raise BatchRejected("duplicate request ref")

    def _holds(self, guard: Guard) -> bool:
        if isinstance(guard, TokenOpen):
            token = self._tokens.get(guard.token)
            return token is not None and not token.closed
        if isinstance(guard, ActivityTaskPending):
            task = self._activity_tasks.get(guard.token)
            return task is not None and task.started is None
        if isinstance(guard, ExecutionAbsent):
            return guard.arn not in self._executions
        if isinstance(guard, MetadataAbsent):
            return (guard.kind, guard.arn) not in self._metadata
        if isinstance(guard, ExecutionIn):
            x = self._executions.get(guard.arn)
            return (
                x is not None
                and x.status in guard.statuses
                and (guard.event_count is None or self._last_event(guard.arn) == guard.event_count)
            )
        raise BatchRejected(f"unknown guard {guard!r}")

    def _last_event(self, arn: str) -> int:
        log = self._events.get(arn)
        return log.ids[-1] if log is not None and log.ids else 0

    def _apply(self, batch: WriteBatch) -> None:
        for machine in batch.state_machines:
            self._state_machines[machine.arn] = _copy(machine)
        for arn in batch.deleted_state_machines:
            self._state_machines.pop(arn, None)
        for execution in batch.executions:
            self._executions[execution.arn] = _copy(execution)
        for event in batch.events:
            log = self._events.get(event.execution_arn)
            if log is None:
                log = self._events[event.execution_arn] = _EventLog()
            log.add(_copy(event))
            stands_for = event.journal_entry()  # stored once on SQLite; kept as both here
            if stands_for is not None:
                self._journal.setdefault(event.execution_arn, {})[(stands_for.lane, stands_for.seq)] = (
                    stands_for
                )
        for entry in batch.journal:
            self._journal.setdefault(entry.execution_arn, {})[(entry.lane, entry.seq)] = _copy(entry)
        for arn, name in batch.dropped_lanes:
            entries = self._journal.get(arn)
            if entries:
                prefix = name + "/"
                for key in [k for k in entries if k[0] == name or k[0].startswith(prefix)]:
                    del entries[key]
        for timer in batch.timers:
            self._timers[(timer.execution_arn, timer.key)] = _copy(timer)
        for timer_key in batch.deleted_timers:
            self._timers.pop((timer_key[0], timer_key[1]), None)
        for token in batch.tokens:
            if token.token not in self._tokens:
                self._tokens[token.token] = _copy(token)
        for token_id in batch.closed_tokens:
            stored = self._tokens.get(token_id)
            if stored is not None:
                stored.closed = True
        for token_id, when in batch.heartbeats:
            stored = self._tokens.get(token_id)
            if stored is not None and (stored.last_heartbeat is None or stored.last_heartbeat < when):
                stored.last_heartbeat = when
        for activity in batch.activities:
            self._activities[activity.arn] = _copy(activity)
        for arn in batch.deleted_activities:
            self._activities.pop(arn, None)
        for task in batch.activity_tasks:
            self._activity_tasks[task.token] = _copy(task)
        for token_id in batch.deleted_activity_tasks:
            self._activity_tasks.pop(token_id, None)
        for metadata in batch.metadata:
            self._metadata[(metadata.kind, metadata.arn)] = _copy(metadata)
        for metadata_key in batch.deleted_metadata:
            self._metadata.pop((metadata_key[0], metadata_key[1]), None)
        for child in batch.children:
            self._put_child(child)
        for parent, stop_date in batch.aborted_children:
            for child in self._children.values():
                if child.execution_arn == parent and child.status == "RUNNING":
                    child.status, child.stop_date = "ABORTED", stop_date
        for request in batch.requests:
            self._request_id += 1
            self._requests[request.ref] = msgspec.structs.replace(request, id=self._request_id)
        for ref in batch.consumed_requests:
            self._requests.pop(ref, None)

    def _put_child(self, child: ChildExecutionRecord) -> None:
        stored = self._children.get(child.arn)
        if stored is not None and stored.status != "RUNNING":
            if stored.status == "SUCCEEDED" or child.redrive_count <= stored.redrive_count:
                return  # an ended child is kept as it is (unless a Map Run redrive runs it again)
        record = _copy(child)
        if stored is not None:
            record.start_date = stored.start_date
        self._children[child.arn] = record
        self._runs.setdefault(child.map_run_arn, {})[child.index] = child.arn

    async def purge_executions(self, closed_before: float, limit: int = 500) -> list[str]:
        """Delete up to ``limit`` closed executions stopped before ``closed_before``, oldest
        first by ``(stop_date, arn)``, with everything stored for them; return their ARNs."""
        if limit < 1:
            raise StoreError(f"limit must be at least 1, got {limit}")
        self._check_open()
        await asyncio.sleep(0)  # a write is a suspension point, as it is with SQLite
        self._check_open()
        closed = sorted(
            (x.stop_date, arn)
            for arn, x in self._executions.items()
            if x.status != "RUNNING" and x.stop_date is not None and x.stop_date < closed_before
        )
        arns = [arn for _, arn in closed[:limit]]
        gone = set(arns)
        for arn in arns:
            del self._executions[arn]
            self._events.pop(arn, None)
            self._journal.pop(arn, None)
        for key in [k for k in self._timers if k[0] in gone]:
            del self._timers[key]
        for name in [t for t, r in self._tokens.items() if r.execution_arn in gone]:
            del self._tokens[name]
        for name in [t for t, r in self._activity_tasks.items() if r.execution_arn in gone]:
            del self._activity_tasks[name]
        for arn in arns:
            self._metadata.pop(("execution", arn), None)
        for key in [k for k, m in self._metadata.items() if k[0] == "maprun" and m.parent in gone]:
            del self._metadata[key]  # its Distributed Maps' Map Runs
        for child in [c for c in self._children.values() if c.execution_arn in gone]:
            del self._children[child.arn]
            run = self._runs.get(child.map_run_arn)
            if run is not None:
                run.pop(child.index, None)
                if not run:
                    del self._runs[child.map_run_arn]
        return arns

    # -- reads ----------------------------------------------------------------------------------
    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        self._check_open()
        machine = self._state_machines.get(arn)
        return None if machine is None else _copy(machine)

    async def list_state_machines(self) -> list[StateMachineRecord]:
        self._check_open()
        machines = sorted(self._state_machines.values(), key=lambda m: (m.creation_date, m.arn))
        return [_copy(m) for m in machines]

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        self._check_open()
        execution = self._executions.get(arn)
        return None if execution is None else _copy(execution)

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """Newest first by ``(start_date, arn)``; ``next_token`` continues a previous page."""
        self._check_open()
        check_limit(limit)
        after = None if next_token is None else decode_execution_token(next_token)
        matching = [
            x
            for x in self._executions.values()
            if (state_machine_arn is None or x.state_machine_arn == state_machine_arn)
            and (status is None or x.status == status)
            and (after is None or (x.start_date, x.arn) < after)
        ]
        matching.sort(key=lambda x: (x.start_date, x.arn), reverse=True)
        page = matching[:limit]
        token = None
        if len(matching) > limit:
            token = encode_execution_token(page[-1].start_date, page[-1].arn)
        return [_copy(x) for x in page], token

    async def running_executions(self) -> list[ExecutionRecord]:
        """Every RUNNING execution, oldest first by ``(start_date, arn)``."""
        self._check_open()
        running = [x for x in self._executions.values() if x.status == "RUNNING"]
        running.sort(key=lambda x: (x.start_date, x.arn))
        return [_copy(x) for x in running]

    def _parked(self) -> set[str]:
        return {t.execution_arn for t in self._timers.values() if t.parks}

    async def resumable_executions(self) -> list[ExecutionRecord]:
        """RUNNING executions with no parking timer, oldest first by ``(start_date, arn)``."""
        self._check_open()
        parked = self._parked()
        return [x for x in await self.running_executions() if x.arn not in parked]

    async def resumable_page(
        self, after: tuple[float, str] | None = None, limit: int = 1000
    ) -> list[ExecutionRecord]:
        check_limit(limit)
        records = await self.resumable_executions()
        if after is not None:
            records = [x for x in records if (x.start_date, x.arn) > after]
        return records[:limit]

    async def last_event_id(self, execution_arn: str) -> int:
        self._check_open()
        return self._last_event(execution_arn)

    async def events(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        limit: int = 1000,
        next_token: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        """Events by id (descending with ``reverse``), ``limit`` per page."""
        self._check_open()
        check_limit(limit)
        after = None if next_token is None else decode_event_token(next_token)
        log = self._events.get(execution_arn)
        if log is None:
            return [], None
        ids = log.ids
        if reverse:
            end = len(ids) if after is None else bisect.bisect_left(ids, after)
            chosen = ids[max(0, end - limit) : end][::-1]
            more = end - limit > 0
        else:
            start = 0 if after is None else bisect.bisect_right(ids, after)
            chosen = ids[start : start + limit]
            more = start + limit < len(ids)
        token = encode_event_token(chosen[-1]) if more and chosen else None
        return [_copy(log.by_id[i]) for i in chosen], token

    async def resume_records(self, execution_arns: Sequence[str]) -> dict[str, ResumeRecord]:
        self._check_open()
        found: dict[str, ResumeRecord] = {}
        for arn in execution_arns:
            record = self._executions.get(arn)
            if record is None or arn in found:
                continue
            machine = self._state_machines.get(record.state_machine_arn)
            found[arn] = ResumeRecord(
                execution=_copy(record),
                journal=await self.journal(arn),
                last_event_id=self._last_event(arn),
                state_machine=None if machine is None else _copy(machine),
            )
        return found

    async def tokens_and_timers(
        self, execution_arns: Sequence[str]
    ) -> dict[str, tuple[list[TokenRecord], list[TimerRecord]]]:
        self._check_open()
        found: dict[str, tuple[list[TokenRecord], list[TimerRecord]]] = {a: ([], []) for a in execution_arns}
        for token in sorted(self._tokens.values(), key=lambda t: (t.created, t.token)):
            if not token.closed and token.execution_arn in found:
                found[token.execution_arn][0].append(_copy(token))
        for timer in sorted(self._timers.values(), key=lambda t: (t.due, t.key)):
            if timer.execution_arn in found:
                found[timer.execution_arn][1].append(_copy(timer))
        return found

    async def journal(self, execution_arn: str) -> list[JournalRecord]:
        """Every journal entry of the execution, ordered by (lane, seq)."""
        self._check_open()
        entries = self._journal.get(execution_arn)
        if not entries:
            return []
        return [_copy(entries[k]) for k in sorted(entries)]

    async def timers(
        self, until: float | None = None, limit: int | None = None, *, after: float | None = None
    ) -> list[TimerRecord]:
        """Timers due in ``(after, until]`` (unbounded where None), earliest first."""
        self._check_open()
        if limit is not None and limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        due = [
            t
            for t in self._timers.values()
            if (until is None or t.due <= until) and (after is None or t.due > after)
        ]
        due.sort(key=lambda t: (t.due, t.execution_arn, t.key))
        if limit is not None:
            due = due[:limit]
        return [_copy(t) for t in due]

    async def execution_timers(self, execution_arn: str) -> list[TimerRecord]:
        self._check_open()
        mine = [t for t in self._timers.values() if t.execution_arn == execution_arn]
        mine.sort(key=lambda t: (t.due, t.key))
        return [_copy(t) for t in mine]

    async def requests(self, after: int = 0, limit: int = 1000) -> list[RequestRecord]:
        self._check_open()
        found = sorted((r for r in self._requests.values() if r.id > after), key=lambda r: r.id)
        return [_copy(r) for r in found[:limit]]

    async def get_token(self, token: str) -> TokenRecord | None:
        self._check_open()
        record = self._tokens.get(token)
        return None if record is None else _copy(record)

    async def open_tokens(self, execution_arn: str | None = None) -> list[TokenRecord]:
        """Tokens not closed (of one execution, or all), by ``(created, token)``."""
        self._check_open()
        tokens = [
            t
            for t in self._tokens.values()
            if not t.closed and (execution_arn is None or t.execution_arn == execution_arn)
        ]
        tokens.sort(key=lambda t: (t.created, t.token))
        return [_copy(t) for t in tokens]

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        self._check_open()
        activity = self._activities.get(arn)
        return None if activity is None else _copy(activity)

    async def list_activities(self) -> list[ActivityRecord]:
        self._check_open()
        activities = sorted(self._activities.values(), key=lambda a: (a.creation_date, a.arn))
        return [_copy(a) for a in activities]

    async def pending_activity_tasks(self, activity_arn: str, limit: int = 1) -> list[ActivityTaskRecord]:
        """Scheduled, not yet started tasks of the activity, oldest first."""
        self._check_open()
        if limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        pending = [
            t for t in self._activity_tasks.values() if t.activity_arn == activity_arn and t.started is None
        ]
        pending.sort(key=lambda t: (t.scheduled, t.token))
        return [_copy(t) for t in pending[:limit]]

    async def get_activity_task(self, token: str) -> ActivityTaskRecord | None:
        self._check_open()
        task = self._activity_tasks.get(token)
        return None if task is None else _copy(task)

    async def get_metadata(self, kind: str, arn: str) -> MetadataRecord | None:
        self._check_open()
        entry = self._metadata.get((kind, arn))
        return None if entry is None else _copy(entry)

    async def list_metadata(self, kind: str, parent: str | None = None) -> list[MetadataRecord]:
        self._check_open()
        found = [
            e for (k, _), e in self._metadata.items() if k == kind and (parent is None or e.parent == parent)
        ]
        return [_copy(e) for e in sorted(found, key=lambda e: (e.created, e.arn))]

    async def get_child_execution(self, arn: str) -> ChildExecutionRecord | None:
        self._check_open()
        starts = span_starts(arn) or []
        rows = [self._children[a] for a in starts if a in self._children]
        child = pick(rows, arn)
        return None if child is None else _copy(child)

    async def list_child_executions(
        self,
        map_run_arn: str,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ChildExecutionRecord], str | None]:
        self._check_open()
        run = self._runs.get(map_run_arn, {})

        async def fetch(below: int | None, n: int) -> list[ChildExecutionRecord]:
            rows: list[ChildExecutionRecord] = []
            for index in sorted(run, reverse=True):
                if below is not None and index >= below:
                    continue
                row = self._children[run[index]]
                if status is None or row.status == status:
                    rows.append(msgspec.structs.replace(row, history=None))
                    if len(rows) == n:
                        break
            return rows

        return await children_page(fetch, status, limit, next_token)

    async def list_child_rows(self, map_run_arn: str, start: int, limit: int) -> list[ChildExecutionRecord]:
        self._check_open()
        run = self._runs.get(map_run_arn, {})
        rows: list[ChildExecutionRecord] = []
        for index in sorted(i for i in run if i >= start)[:limit]:
            rows.append(msgspec.structs.replace(self._children[run[index]], history=None))
        return rows
