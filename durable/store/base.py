"""The event-log store contract, shared by the SQLite and the in-memory store.

Writes go through one method, :meth:`Store.commit`, which applies a :class:`WriteBatch`
atomically. The SQLite store group-commits: batches submitted concurrently by many
executions share one transaction (one writer task), and ``commit`` returns only once the
batch is durable (per the configured ``synchronous`` level). Reads never wait for the writer.

Everything an execution needs to resume after a crash is here:

* ``executions`` — one row per execution (status, input, output, error, cause, dates);
* ``events`` — the AWS ``GetExecutionHistory`` events, ids dense from 1 per execution;
* ``journal`` — the replay record: results of commands (task results and failures, timer
  firings) and values of non-deterministic services (time, ids, tokens), each keyed by the
  *lane* (a path naming a branch/iteration) and a per-lane sequence number;
* ``timers`` — due times of waiting executions (Wait states, retry back-offs, timeouts);
* ``tokens`` — open task tokens (``.waitForTaskToken`` and activity tasks);
* ``activities`` and ``activity_tasks`` — activities and their pending/started tasks;
* ``metadata`` — catalog entries beside state machines and executions, each a JSON ``body`` keyed
  by ``(kind, arn)`` with a ``parent`` ARN: state machine versions and aliases, tags, a state
  machine's configurations, the version/alias an execution was started through
  (:class:`MetadataRecord`);
* ``map_children`` — the child workflow executions of Distributed Map runs
  (:class:`ChildExecutionRecord`), listed per Map Run;
* ``requests`` — the inbox: what a process that does not own the executions asks of the one
  that does (start, answer a token, report an activity started, stop), consumed exactly once
  in the same transaction as its effect on the journal (see ``docs/runtime.md``).

A batch may carry *guards* (:class:`Guard`): conditions on the stored state, checked in the
same transaction as the writes. A batch whose guard does not hold is rejected whole with
:class:`Conflict` — this is how two answers to one token, or two starts of one name, are told
apart without a race.

Errors: :class:`StoreUnavailable` means the database cannot be written *now* (locked past the
busy timeout, disk full, I/O error) and the same batch may succeed later; :class:`BatchRejected`
means the batch itself cannot be stored (a duplicate key, a value the database cannot encode)
and retrying it will not help.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from ..errors import DurableError

__all__ = [
    "ActivityRecord",
    "ActivityTaskPending",
    "ActivityTaskRecord",
    "BatchRejected",
    "ChildExecutionRecord",
    "Conflict",
    "EventRecord",
    "ExecutionAbsent",
    "ExecutionIn",
    "ExecutionRecord",
    "Fenced",
    "Guard",
    "JournalRecord",
    "LeaseLost",
    "MetadataAbsent",
    "MetadataRecord",
    "Page",
    "RequestRecord",
    "ResumeRecord",
    "StateMachineRecord",
    "Store",
    "StoreError",
    "StoreGone",
    "StoreUnavailable",
    "TimerRecord",
    "TokenOpen",
    "TokenRecord",
    "WriteBatch",
    "event_payload",
]


class StoreError(DurableError):
    """A store failure (corrupt or locked database, schema from a newer version, ...)."""

    code = "StoreError"


class StoreUnavailable(StoreError):
    """The database cannot be written now (locked, full, an I/O error): a later retry may work."""

    code = "StoreUnavailable"


class StoreGone(StoreError):
    """The database file was deleted or replaced under the open store: nothing is written any more."""

    code = "StoreGone"


class BatchRejected(StoreError):
    """The batch itself cannot be stored (a duplicate key, a value the database cannot encode)."""

    code = "BatchRejected"


class Conflict(BatchRejected):
    """A guard of the batch did not hold; ``guard`` is the first that failed."""

    code = "Conflict"

    def __init__(self, message: str, guard: Guard) -> None:
        super().__init__(message)
        self.guard = guard


class Fenced(BatchRejected):
    """The batch writes an execution its engine does not own any more (several engines share a
    PostgreSQL database, and another one took it over): nothing of it was written."""

    code = "Fenced"


class LeaseLost(StoreError):
    """This engine's lease on a database it shares with other engines lapsed (it was cut off
    from the database, or paused, for longer than the lease): the others took its executions
    over, and it stops executing."""

    code = "LeaseLost"


class Guard(msgspec.Struct, tag=True, frozen=True, kw_only=True):
    """A condition on the stored state, checked in the transaction that applies the batch."""


class TokenOpen(Guard, frozen=True):
    """The task token exists and is not closed."""

    token: str


class ActivityTaskPending(Guard, frozen=True):
    """The activity task exists and no worker has taken it."""

    token: str


class ExecutionAbsent(Guard, frozen=True):
    """No execution with this ARN exists."""

    arn: str


class MetadataAbsent(Guard, frozen=True):
    """No metadata entry of this kind and ARN exists (a version number not taken yet)."""

    kind: str
    arn: str


class ExecutionIn(Guard, frozen=True):
    """The execution exists with one of ``statuses`` (and, if given, this last event id)."""

    arn: str
    statuses: tuple[str, ...]
    event_count: int | None = None


class StateMachineRecord(msgspec.Struct, kw_only=True):
    arn: str
    name: str
    type: str  # STANDARD | EXPRESS
    definition: str
    role_arn: str
    creation_date: float
    status: str = "ACTIVE"
    description: str = ""
    revision: int = 1


class ExecutionRecord(msgspec.Struct, kw_only=True):
    arn: str
    state_machine_arn: str
    name: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    start_date: float
    input: str  # JSON text
    definition: str  # the definition the execution runs (fixed at start)
    type: str = "STANDARD"
    stop_date: float | None = None
    output: str | None = None  # JSON text
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    redrive_date: float | None = None
    event_count: int = 0  # id of the last history event


class EventRecord(msgspec.Struct, kw_only=True, array_like=True):
    """One AWS history event: ``details`` is the JSON text of its ``<type>EventDetails`` member.

    An event with a ``lane`` and ``seq`` is also that lane's journal entry ``seq`` of kind
    ``event`` with the payload ``[id, timestamp]``: :meth:`Store.journal` and the other journal
    reads return it among the journal entries, though it is written once."""

    execution_arn: str
    id: int
    type: str
    previous_event_id: int
    timestamp: float
    details: str | None = None  # JSON object text, or None for events without details
    lane: str | None = None
    seq: int | None = None

    def journal_entry(self) -> JournalRecord | None:
        """The journal entry this event stands for, if it has one."""
        if self.lane is None or self.seq is None:
            return None
        return JournalRecord(
            execution_arn=self.execution_arn,
            lane=self.lane,
            seq=self.seq,
            kind="event",
            payload=event_payload(self.id, self.timestamp),
        )


def event_payload(event_id: int, timestamp: float) -> str:
    """The payload of an ``event`` journal entry: ``[id, timestamp]`` as JSON."""
    return msgspec.json.encode([event_id, timestamp]).decode()


class JournalRecord(msgspec.Struct, kw_only=True, array_like=True):
    """A replay entry: ``kind`` is e.g. ``result``/``failure``/``value``; ``payload`` JSON text."""

    execution_arn: str
    lane: str
    seq: int
    kind: str
    payload: str


class TimerRecord(msgspec.Struct, kw_only=True, array_like=True):
    execution_arn: str
    key: str  # unique per execution (the runtime's TimerKey text)
    due: float
    parks: bool = False  # the execution waits on this without a coroutine (not resumed at open)


class TokenRecord(msgspec.Struct, kw_only=True):
    """A task token. Written once (a stored token is never overwritten by another TokenRecord);
    it is closed through ``WriteBatch.closed_tokens`` and heartbeats go through
    ``WriteBatch.heartbeats``, so a closed token can never open again."""

    token: str
    execution_arn: str
    lane: str
    seq: int
    state_name: str
    created: float
    heartbeat_seconds: float | None = None
    timeout_seconds: float | None = None
    last_heartbeat: float | None = None
    activity_arn: str | None = None
    closed: bool = False


class ActivityRecord(msgspec.Struct, kw_only=True):
    arn: str
    name: str
    creation_date: float


class ActivityTaskRecord(msgspec.Struct, kw_only=True):
    token: str
    activity_arn: str
    execution_arn: str
    input: str  # JSON text
    scheduled: float
    started: float | None = None
    worker_name: str | None = None


class MetadataRecord(msgspec.Struct, kw_only=True):
    """A catalog entry: ``kind`` names what it is (``version``, ``alias``, ``tags``,
    ``machine``, ``execution``, ...), ``arn`` what it describes (unique per kind), ``parent``
    the ARN it belongs to (a version's state machine; "" when none), ``body`` its JSON text.
    The runtime owns the bodies' shapes; the store only keeps and lists them. Purging an
    execution deletes its ``execution`` entry."""

    kind: str
    arn: str
    body: str  # JSON text
    parent: str = ""
    created: float = 0.0


class ChildExecutionRecord(msgspec.Struct, kw_only=True):
    """A child workflow execution a Distributed Map's Map Run started (``ListExecutions`` with a
    ``mapRunArn``). ``index`` is its place among the run's children; ``execution_arn`` is the
    parent execution running the Map Run. ``history`` is the JSON array of the child's own state
    events when they were recorded (None: the runtime derives them when asked).

    Written through :attr:`WriteBatch.children`, upserted by ``arn``: a stored child keeps its
    ``start_date``, and a stored child that ended (any status but RUNNING) is kept as it is, so
    writing a replayed child again changes nothing — except a child that did not succeed, written
    with a higher ``redrive_count`` (its Map Run was redriven and ran it again)."""

    arn: str
    map_run_arn: str
    execution_arn: str
    index: int
    name: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    start_date: float
    input: str  # JSON text
    item_count: int = 1
    stop_date: float | None = None
    output: str | None = None  # JSON text
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0  # its Map Run's redrive count when it was written (a redrive reruns it)
    history: str | None = None
    #: children in this row: more than one for a span of children run in place, stored together
    #: and expanded when read (see :mod:`durable.store.child_spans`); reads return single children
    span: int = 1


class RequestRecord(msgspec.Struct, kw_only=True):
    """One request in the inbox. ``ref`` is its identity (unique, chosen by the writer); ``id``
    orders the inbox and is assigned by the store (0 until stored)."""

    ref: str
    execution_arn: str
    kind: str
    created: float
    token: str | None = None
    payload: str | None = None  # JSON text
    id: int = 0


class WriteBatch(msgspec.Struct, kw_only=True):
    """Everything one step of one (or several) executions writes, applied atomically.

    ``guards`` are checked first (see :class:`Guard`); if one fails nothing is applied.
    """

    state_machines: list[StateMachineRecord] = []
    deleted_state_machines: list[str] = []
    executions: list[ExecutionRecord] = []  # upserted by arn
    events: list[EventRecord] = []
    journal: list[JournalRecord] = []
    # (execution_arn, lane): that lane's journal entries and its nested lanes' are deleted
    # (after the batch's own entries are added)
    dropped_lanes: list[tuple[str, str]] = []
    timers: list[TimerRecord] = []  # upserted by (execution_arn, key)
    deleted_timers: list[tuple[str, str]] = []  # (execution_arn, key)
    tokens: list[TokenRecord] = []  # upserted by token
    activities: list[ActivityRecord] = []
    deleted_activities: list[str] = []
    activity_tasks: list[ActivityTaskRecord] = []  # upserted by token
    deleted_activity_tasks: list[str] = []  # tokens
    closed_tokens: list[str] = []
    heartbeats: list[tuple[str, float]] = []  # (token, time): last_heartbeat moves forward only
    requests: list[RequestRecord] = []  # appended to the inbox
    metadata: list[MetadataRecord] = []  # upserted by (kind, arn)
    children: list[ChildExecutionRecord] = []  # upserted by arn (see ChildExecutionRecord)
    # (execution_arn, stop_date): that execution's RUNNING children end ABORTED
    aborted_children: list[tuple[str, float]] = []
    deleted_metadata: list[tuple[str, str]] = []  # (kind, arn)
    consumed_requests: list[str] = []  # refs removed from the inbox
    guards: list[Guard] = []

    def is_empty(self) -> bool:
        """True when committing the batch would change nothing."""
        # spelled out (the commonest first): it runs at every flush of every execution
        return not (
            self.events
            or self.journal
            or self.dropped_lanes
            or self.executions
            or self.timers
            or self.deleted_timers
            or self.tokens
            or self.closed_tokens
            or self.heartbeats
            or self.requests
            or self.consumed_requests
            or self.activity_tasks
            or self.deleted_activity_tasks
            or self.state_machines
            or self.deleted_state_machines
            or self.activities
            or self.deleted_activities
            or self.metadata
            or self.deleted_metadata
            or self.children
            or self.aborted_children
            or self.guards
        )


class ResumeRecord(msgspec.Struct, kw_only=True):
    """What resuming one execution reads (:meth:`Store.resume_records`)."""

    execution: ExecutionRecord
    journal: list[JournalRecord]  # ordered by (lane, seq)
    last_event_id: int  # 0 when it has no events
    state_machine: StateMachineRecord | None  # None when the machine was deleted
    # RUNNING, and executed by another engine sharing the database (nothing else is read)
    elsewhere: bool = False


class Page(msgspec.Struct, kw_only=True):
    items: list[object]
    next_token: str | None = None


class Store(Protocol):
    """The contract both stores implement (see tests/store/ for the shared contract suite)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def fault(self) -> StoreError | None:
        """A fault that ended the store's writing for good (``StoreGone``), else None."""
        ...

    async def commit(self, batch: WriteBatch) -> None:
        """Apply ``batch`` atomically; return once it is durable."""
        ...

    async def purge_executions(self, closed_before: float, limit: int = 500) -> list[str]:
        """Retention: delete up to ``limit`` closed executions (any status but RUNNING) whose
        stop date is before ``closed_before``, oldest first, each with its events, journal,
        timers, tokens, activity tasks and Map Run children, in one transaction; return their
        ARNs. A RUNNING execution is never deleted; an execution is deleted whole or not at all."""
        ...

    # -- reads ----------------------------------------------------------------------------------
    async def get_state_machine(self, arn: str) -> StateMachineRecord | None: ...

    async def list_state_machines(self) -> list[StateMachineRecord]: ...

    async def get_execution(self, arn: str) -> ExecutionRecord | None: ...

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """Newest first; ``next_token`` continues a previous page."""
        ...

    async def running_executions(self) -> list[ExecutionRecord]: ...

    async def resumable_executions(self) -> list[ExecutionRecord]:
        """RUNNING executions with no parking timer (what an owner resumes at open), oldest first."""
        ...

    async def resumable_page(
        self, after: tuple[float, str] | None = None, limit: int = 1000
    ) -> list[ExecutionRecord]:
        """Recovery a page at a time: up to ``limit`` of :meth:`resumable_executions`, oldest first
        by ``(start_date, arn)``, after the key ``after`` (exclusive; from the first when None).
        The cost of a page does not grow with the number of parked executions."""
        ...

    async def events(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        limit: int = 1000,
        next_token: str | None = None,
    ) -> tuple[list[EventRecord], str | None]: ...

    async def journal(self, execution_arn: str) -> list[JournalRecord]:
        """Every journal entry of the execution, ordered by (lane, seq)."""
        ...

    async def resume_records(self, execution_arns: Sequence[str]) -> dict[str, ResumeRecord]:
        """Several executions' records, journals, last event ids and state machines at once
        (the executions that exist, whatever their status), keyed by ARN."""
        ...

    async def tokens_and_timers(
        self, execution_arns: Sequence[str]
    ) -> dict[str, tuple[list[TokenRecord], list[TimerRecord]]]:
        """For each ARN, :meth:`open_tokens` and :meth:`execution_timers` of that execution
        (empty lists when it has none), read at once."""
        ...

    async def last_event_id(self, execution_arn: str) -> int:
        """The id of the execution's last history event (0 when it has none)."""
        ...

    async def timers(
        self, until: float | None = None, limit: int | None = None, *, after: float | None = None
    ) -> list[TimerRecord]:
        """Timers due at or before ``until`` (all when None) and after ``after`` (exclusive),
        earliest first."""
        ...

    async def execution_timers(self, execution_arn: str) -> list[TimerRecord]:
        """Every timer of one execution, earliest first."""
        ...

    async def requests(self, after: int = 0, limit: int = 1000) -> list[RequestRecord]:
        """Requests in the inbox with ``id > after``, by id."""
        ...

    async def get_token(self, token: str) -> TokenRecord | None: ...

    async def open_tokens(self, execution_arn: str | None = None) -> list[TokenRecord]: ...

    async def get_activity(self, arn: str) -> ActivityRecord | None: ...

    async def list_activities(self) -> list[ActivityRecord]: ...

    async def pending_activity_tasks(self, activity_arn: str, limit: int = 1) -> list[ActivityTaskRecord]:
        """Scheduled, not yet started tasks of the activity, oldest first."""
        ...

    async def get_activity_task(self, token: str) -> ActivityTaskRecord | None: ...

    async def get_metadata(self, kind: str, arn: str) -> MetadataRecord | None: ...

    async def list_metadata(self, kind: str, parent: str | None = None) -> list[MetadataRecord]:
        """Entries of ``kind`` (of ``parent`` when given), oldest first by ``(created, arn)``."""
        ...

    async def get_child_execution(self, arn: str) -> ChildExecutionRecord | None:
        """A Map Run's child execution by its ARN (with its ``history``)."""
        ...

    async def list_child_executions(
        self,
        map_run_arn: str,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ChildExecutionRecord], str | None]:
        """A Map Run's children (of ``status`` when given), newest first (the highest ``index``
        first), without their ``history`` (None); ``next_token`` continues a previous page."""
        ...

    async def list_child_rows(self, map_run_arn: str, start: int, limit: int) -> list[ChildExecutionRecord]:
        """Up to ``limit`` rows of a Map Run's children as stored, whose ``index`` is ``start`` or
        more, lowest first, without their ``history``: a span of children is one row (see
        :mod:`durable.store.child_spans`). For reading all the outputs of a Map Run at once."""
        ...
