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
* ``activities`` and ``activity_tasks`` — activities and their pending/started tasks.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from ..errors import DurableError

__all__ = [
    "ActivityRecord",
    "ActivityTaskRecord",
    "EventRecord",
    "ExecutionRecord",
    "JournalRecord",
    "Page",
    "StateMachineRecord",
    "Store",
    "StoreError",
    "TimerRecord",
    "TokenRecord",
    "WriteBatch",
]


class StoreError(DurableError):
    """A store failure (corrupt or locked database, schema from a newer version, ...)."""

    code = "StoreError"


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
    """One AWS history event: ``details`` is the JSON text of its ``<type>EventDetails`` member."""

    execution_arn: str
    id: int
    type: str
    previous_event_id: int
    timestamp: float
    details: str | None = None  # JSON object text, or None for events without details


class JournalRecord(msgspec.Struct, kw_only=True, array_like=True):
    """A replay entry: ``kind`` is e.g. ``result``/``failure``/``value``; ``payload`` JSON text."""

    execution_arn: str
    lane: str
    seq: int
    kind: str
    payload: str


class TimerRecord(msgspec.Struct, kw_only=True, array_like=True):
    execution_arn: str
    key: str  # unique per execution (e.g. the lane and its sequence)
    due: float


class TokenRecord(msgspec.Struct, kw_only=True):
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


class WriteBatch(msgspec.Struct, kw_only=True):
    """Everything one step of one (or several) executions writes, applied atomically."""

    state_machines: list[StateMachineRecord] = []
    deleted_state_machines: list[str] = []
    executions: list[ExecutionRecord] = []  # upserted by arn
    events: list[EventRecord] = []
    journal: list[JournalRecord] = []
    timers: list[TimerRecord] = []  # upserted by (execution_arn, key)
    deleted_timers: list[tuple[str, str]] = []  # (execution_arn, key)
    tokens: list[TokenRecord] = []  # upserted by token
    activities: list[ActivityRecord] = []
    deleted_activities: list[str] = []
    activity_tasks: list[ActivityTaskRecord] = []  # upserted by token
    deleted_activity_tasks: list[str] = []  # tokens

    def is_empty(self) -> bool:
        """True when committing the batch would change nothing."""
        return not any(getattr(self, name) for name in self.__struct_fields__)


class Page(msgspec.Struct, kw_only=True):
    items: list[object]
    next_token: str | None = None


class Store(Protocol):
    """The contract both stores implement (see tests/store/ for the shared contract suite)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def commit(self, batch: WriteBatch) -> None:
        """Apply ``batch`` atomically; return once it is durable."""
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

    async def running_journals(self) -> tuple[dict[str, list[JournalRecord]], dict[str, int]]:
        """Recovery in bulk: the journal of every RUNNING execution (ordered by lane, seq)
        and the id of its last history event, keyed by execution ARN."""
        ...

    async def timers(self, until: float | None = None, limit: int | None = None) -> list[TimerRecord]:
        """Timers due at or before ``until`` (all when None), earliest first."""
        ...

    async def get_token(self, token: str) -> TokenRecord | None: ...

    async def open_tokens(self, execution_arn: str | None = None) -> list[TokenRecord]: ...

    async def get_activity(self, arn: str) -> ActivityRecord | None: ...

    async def list_activities(self) -> list[ActivityRecord]: ...

    async def pending_activity_tasks(self, activity_arn: str, limit: int = 1) -> list[ActivityTaskRecord]:
        """Scheduled, not yet started tasks of the activity, oldest first."""
        ...

    async def get_activity_task(self, token: str) -> ActivityTaskRecord | None: ...
