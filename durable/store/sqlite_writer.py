"""The single writer of :class:`~durable.store.sqlite.SqliteStore`: group commit on one connection.

``submit(batch)`` queues the batch with a future. One asyncio task owns the write connection;
it takes everything queued (up to ``max_group`` batches) and applies it in ONE transaction
(``BEGIN IMMEDIATE`` ... ``COMMIT``) with one ``executemany`` per table, then resolves every
future. Many executions committing small batches concurrently therefore share transactions
(and fsyncs): the transaction count grows with the number of writer round trips, not with
the number of batches.

The batches of a group are merged so that the result equals applying them one after another:

* keyed upserts/deletes (state machines, executions, timers, tokens, activities, activity
  tasks) are folded per key, the last operation of a key winning; within a batch upserts come
  before deletes (see :mod:`durable.store.memory` for the contract);
* a batch whose guard does not hold (against the database as the transaction sees it, after
  the batches before it in the group) is rejected on its own with :class:`Conflict`;
* a batch that references an execution neither stored nor upserted by itself or an earlier
  batch of the group is rejected on its own before anything is written;
* anything else the batch's content causes (a duplicate key only the database sees, a string
  the database cannot encode, an integer too large for it) aborts the group's transaction; the
  batches are then retried one per transaction so that only the offending batch fails, with
  :class:`BatchRejected`.

A failure of the database itself (locked past the busy timeout, disk full, an I/O error)
fails every batch of the group with :class:`StoreUnavailable`. The writer task itself never
dies of a batch: it stops only when the store closes.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import aiosqlite

from .base import (
    ActivityRecord,
    ActivityTaskRecord,
    BatchRejected,
    ChildExecutionRecord,
    Conflict,
    ExecutionRecord,
    MetadataRecord,
    StateMachineRecord,
    StoreError,
    StoreGone,
    StoreUnavailable,
    TokenRecord,
    WriteBatch,
)
from .rows import (
    ACTIVITY_TASK_COLUMNS,
    EXECUTION_COLUMNS,
    STATE_MACHINE_COLUMNS,
    TOKEN_COLUMNS,
    activity_task_row,
    execution_row,
    state_machine_row,
    token_row,
)
from .sqlite_children import write_children
from .sqlite_guards import IN_CHUNK, GuardState
from .sqlite_metadata import write_metadata
from .sqlite_retention import purge_closed
from .sqlite_thread import in_connection_thread

__all__ = ["GroupWriter", "StoreStats", "describe_error"]

# errors of the database or the file (not of a batch's content): every batch of the group fails
# with StoreUnavailable, and may be retried later. Every other exception a group raises comes
# from the content of some batch (IntegrityError, an unencodable string, an integer too large).
_CONTENT_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
)
_EXEC_ID_CACHE = 200_000  # arn -> id entries kept (cleared when exceeded)
_DEF_ID_CACHE = 1_000


def describe_error(exc: BaseException, where: str, busy_timeout_ms: int | None = None) -> str:
    """A clear message for a sqlite3 error on the database ``where``."""
    text = str(exc)
    low = text.lower()
    if "file is not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{where}: not a SQLite database, or the file is corrupt ({text})"
    if "locked" in low or "busy" in low:
        waited = f" for {busy_timeout_ms} ms" if busy_timeout_ms is not None else ""
        return f"{where}: the database is locked by another connection (waited{waited}; {text})"
    if "unable to open" in low:
        return f"{where}: cannot open the database file (missing directory or no permission; {text})"
    if "readonly" in low or "read-only" in low:
        return f"{where}: the database is read-only ({text})"
    if "disk" in low and "full" in low:
        return f"{where}: the disk is full ({text})"
    return f"{where}: {type(exc).__name__}: {text}"


@dataclass
class StoreStats:
    """Counters of the writer (for tests and benchmarks)."""

    transactions: int = 0  # write transactions committed
    batches: int = 0  # batches committed
    failed_batches: int = 0  # batches rejected
    rollbacks: int = 0  # transactions rolled back
    largest_group: int = 0  # most batches committed in one transaction


def _upsert_sql(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    conflict = ", ".join(key)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


UPSERT_STATE_MACHINE = _upsert_sql("state_machines", STATE_MACHINE_COLUMNS, ("arn",))
UPSERT_EXECUTION = _upsert_sql("executions", ("id", *EXECUTION_COLUMNS), ("id",))
UPSERT_TIMER = _upsert_sql("timers", ("execution_arn", "key", "due", "parks"), ("execution_arn", "key"))
INSERT_TOKEN = (
    f"INSERT INTO tokens ({', '.join(TOKEN_COLUMNS)}) VALUES ({', '.join('?' for _ in TOKEN_COLUMNS)})"
    " ON CONFLICT (token) DO NOTHING"
)
CLOSE_TOKEN = "UPDATE tokens SET closed = 1 WHERE token = ?"
HEARTBEAT = (
    "UPDATE tokens SET last_heartbeat = ?1"
    " WHERE token = ?2 AND (last_heartbeat IS NULL OR last_heartbeat < ?1)"
)
INSERT_REQUEST = (
    "INSERT INTO requests (ref, execution_arn, kind, token, payload, created) VALUES (?, ?, ?, ?, ?, ?)"
)
DELETE_REQUEST = "DELETE FROM requests WHERE ref = ?"
UPSERT_ACTIVITY = _upsert_sql("activities", ("arn", "name", "creation_date"), ("arn",))
UPSERT_ACTIVITY_TASK = _upsert_sql("activity_tasks", ACTIVITY_TASK_COLUMNS, ("token",))
INSERT_EVENT = (
    "INSERT INTO events (execution_id, id, type, previous_event_id, timestamp, details, lane, seq)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_JOURNAL = "INSERT INTO journal (execution_id, lane, seq, kind, payload) VALUES (?, ?, ?, ?, ?)"
# a lane's entries and its nested lanes' ("<lane>/..."): '0' follows '/' (lanes are digits, '.', '/')
DROP_LANE = "DELETE FROM journal WHERE execution_id = ? AND (lane = ? OR (lane > ? AND lane < ?))"
DELETE_STATE_MACHINE = "DELETE FROM state_machines WHERE arn = ?"
DELETE_TIMER = "DELETE FROM timers WHERE execution_arn = ? AND key = ?"
DELETE_ACTIVITY = "DELETE FROM activities WHERE arn = ?"
DELETE_ACTIVITY_TASK = "DELETE FROM activity_tasks WHERE token = ?"

_Row = tuple[object, ...]
_Item = tuple[WriteBatch, "asyncio.Future[None]"]
_Purge = tuple[float, int, "asyncio.Future[list[str]]"]


@dataclass
class _Plan:
    """A group of batches merged into rows, resolved inside the transaction."""

    errors: list[StoreError | None]
    new_exec_ids: dict[str, int] = field(default_factory=dict)
    new_def_ids: dict[str, int] = field(default_factory=dict)
    state_machines: dict[str, StateMachineRecord | None] = field(default_factory=dict)
    executions: dict[str, ExecutionRecord] = field(default_factory=dict)
    events: list[_Row] = field(default_factory=list)
    journal: list[_Row] = field(default_factory=list)
    dropped_lanes: list[_Row] = field(default_factory=list)
    timers: dict[tuple[str, str], tuple[float, bool] | None] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    closed_tokens: list[tuple[str]] = field(default_factory=list)
    heartbeats: list[tuple[float, str]] = field(default_factory=list)
    requests: list[_Row] = field(default_factory=list)
    consumed_requests: dict[str, None] = field(default_factory=dict)
    activities: dict[str, ActivityRecord | None] = field(default_factory=dict)
    activity_tasks: dict[str, ActivityTaskRecord | None] = field(default_factory=dict)
    metadata: dict[tuple[str, str], MetadataRecord | None] = field(default_factory=dict)
    children: list[ChildExecutionRecord] = field(default_factory=list)
    aborted_children: list[tuple[str, float]] = field(default_factory=list)


class GroupWriter:
    """Owns the write connection; see the module docstring."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        where: str,
        busy_timeout_ms: int,
        max_group: int = 1000,
        still_there: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._still_there = still_there
        self.gone: StoreGone | None = None
        self._where = where
        self._busy_timeout_ms = busy_timeout_ms
        self._max_group = max_group
        self._queue: deque[_Item] = deque()
        self._retry: deque[_Item] = deque()  # batches of a failed group, committed one by one
        self._purges: deque[_Purge] = deque()  # retention: run between groups, one per transaction
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._exec_ids: dict[str, int] = {}  # committed executions: arn -> executions.id
        self._def_ids: dict[str, int] = {}  # committed definitions: text -> definitions.id
        self.stats = StoreStats()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"durable-store-writer {self._where}"
        )

    def submit(self, batch: WriteBatch) -> asyncio.Future[None]:
        if self.gone is not None:
            raise self.gone
        if self._closing or self._task is None or self._task.done():
            raise StoreError(f"{self._where}: the store is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((batch, future))
        self._wakeup.set()
        return future

    def purge(self, closed_before: float, limit: int) -> asyncio.Future[list[str]]:
        """Queue a retention purge (see :mod:`durable.store.sqlite_retention`): it runs in its
        own transaction between two groups; the future gives the ARNs deleted."""
        if self.gone is not None:
            raise self.gone
        if self._closing or self._task is None or self._task.done():
            raise StoreError(f"{self._where}: the store is closed")
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._purges.append((closed_before, limit, future))
        self._wakeup.set()
        return future

    async def stop(self) -> None:
        """Commit what is queued, then stop the writer task."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # pragma: no cover - already reported
                pass

    # -- the writer task ------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                if self._retry:
                    await self._commit_group([self._retry.popleft()])
                    continue
                if self._purges:
                    await self._purge(self._purges.popleft())
                if not self._queue:
                    if self._closing and not self._purges:
                        return
                    if self._purges:
                        continue
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                group: list[_Item] = []
                while self._queue and len(group) < self._max_group:
                    group.append(self._queue.popleft())
                await self._commit_group(group)
        finally:
            # cancelled: nobody will commit what is still queued
            for queue in (self._retry, self._queue):
                while queue:
                    _, future = queue.popleft()
                    if not future.done():
                        future.set_exception(StoreError(f"{self._where}: the store writer stopped"))
            while self._purges:
                *_, waiter = self._purges.popleft()
                if not waiter.done():
                    waiter.set_exception(StoreError(f"{self._where}: the store writer stopped"))

    async def _purge(self, job: _Purge) -> None:
        closed_before, limit, future = job
        conn = self._conn
        try:
            if self._still_there is not None:
                self._still_there()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                arns = await purge_closed(conn, closed_before, limit)
                await conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        await conn.execute("ROLLBACK")
                    except sqlite3.Error:  # pragma: no cover - the connection is gone
                        pass
                raise
        except StoreGone as gone:
            self.gone = gone
            if not future.done():
                future.set_exception(gone)
            return
        except sqlite3.Error as exc:
            if not future.done():
                error = StoreUnavailable(describe_error(exc, self._where, self._busy_timeout_ms))
                error.__cause__ = exc
                future.set_exception(error)
            return
        except BaseException:
            if not future.done():
                future.set_exception(StoreError(f"{self._where}: the store writer stopped"))
            raise
        for arn in arns:  # a purged id may be given to a new execution: forget the old mapping
            self._exec_ids.pop(arn, None)
        if arns:
            self.stats.transactions += 1
        if not future.done():
            future.set_result(arns)

    async def _commit_group(self, group: list[_Item]) -> None:
        if self._still_there is not None:
            try:
                self._still_there()
            except StoreGone as gone:
                self.gone = gone
                self._fail(group, gone, gone)
                return
        try:
            plan = await self._transaction(group)
        except sqlite3.Error as exc:
            if isinstance(exc, _CONTENT_ERRORS):
                self._content_error(group, exc)
                return
            # the database or the file failed (locked, read-only, full, corrupt): every batch fails
            self.stats.rollbacks += 1
            error = StoreUnavailable(describe_error(exc, self._where, self._busy_timeout_ms))
            self._fail(group, error, exc)
            return
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit) as exc:
            self._fail(group, StoreError(f"{self._where}: the store writer stopped"), exc)
            raise
        except Exception as exc:  # a value the database cannot take (str with surrogates, big int)
            self._content_error(group, exc)
            return
        self.stats.transactions += 1
        committed = 0
        for (_, future), rejected in zip(group, plan.errors, strict=True):
            if rejected is not None:
                self.stats.failed_batches += 1
                if not future.done():
                    future.set_exception(rejected)
            else:
                committed += 1
                if not future.done():
                    future.set_result(None)
        self.stats.batches += committed
        self.stats.largest_group = max(self.stats.largest_group, committed)

    def _content_error(self, group: list[_Item], exc: Exception) -> None:
        """The content of some batch failed the group: find the culprit (see the module doc)."""
        self.stats.rollbacks += 1
        if len(group) == 1:
            self._fail(
                group, BatchRejected(f"{self._where}: batch rejected: {type(exc).__name__}: {exc}"), exc
            )
            return
        # One bad batch must not fail the others that merely shared its transaction: retry each
        # batch alone, in submission order, so that only the culprit fails.
        self._retry.extend(group)

    def _fail(self, group: list[_Item], error: StoreError, cause: BaseException) -> None:
        error.__cause__ = cause
        self.stats.failed_batches += len(group)
        for _, future in group:
            if not future.done():
                future.set_exception(error)

    async def _transaction(self, group: list[_Item]) -> _Plan:
        # The whole transaction runs as ONE call on the connection's thread (BEGIN, the reads
        # of the plan, one executemany per table, COMMIT): a round trip per statement would
        # cost a thread hand-over each, and at low concurrency those dominate a commit.
        plan = await in_connection_thread(self._conn, self._transaction_now, group)
        if len(self._exec_ids) + len(plan.new_exec_ids) > _EXEC_ID_CACHE:
            self._exec_ids.clear()
        self._exec_ids.update(plan.new_exec_ids)
        if len(self._def_ids) + len(plan.new_def_ids) > _DEF_ID_CACHE:
            self._def_ids.clear()
        self._def_ids.update(plan.new_def_ids)
        return plan

    def _transaction_now(self, db: sqlite3.Connection, group: list[_Item]) -> _Plan:
        """The group's transaction, on the connection's own thread (see :func:`in_connection_thread`)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            plan = self._plan(db, group)
            self._write(db, plan)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:  # pragma: no cover - the connection is gone
                    pass
            raise
        return plan

    def _plan(self, db: sqlite3.Connection, group: list[_Item]) -> _Plan:
        """Validate the batches in order and merge the valid ones (inside the transaction)."""
        cached = self._exec_ids
        referenced: set[str] = set()
        for batch, _ in group:
            referenced.update({x.arn for x in batch.executions})
            referenced.update({e.execution_arn for e in batch.events})
            referenced.update({j.execution_arn for j in batch.journal})
            referenced.update({arn for arn, _ in batch.dropped_lanes})
        missing = [arn for arn in referenced if arn not in cached]
        # execution ids this transaction knows beyond the cache: stored ones, then those it adds
        ids = self._lookup_executions(db, missing)
        guards = GuardState.load(db, [b for b, _ in group])
        next_id: int | None = None
        plan = _Plan(errors=[None] * len(group))
        for index, (batch, _) in enumerate(group):
            failed = guards.first_failing(batch)
            if failed is not None:
                plan.errors[index] = Conflict(f"{self._where}: guard failed: {failed!r}", failed)
                continue
            added: dict[str, int] = {}
            for x in batch.executions:
                if x.arn not in cached and x.arn not in ids and x.arn not in added:
                    if next_id is None:
                        row = db.execute("SELECT coalesce(max(id), 0) FROM executions").fetchone()
                        next_id = int(row[0]) + 1
                    added[x.arn] = next_id
                    next_id += 1
            try:
                event_rows, journal_rows = self._rows(batch, ids, added)
                dropped = [
                    (self._resolve(arn, ids, added, f"journal lane {lane!r}"), lane, lane + "/", lane + "0")
                    for arn, lane in batch.dropped_lanes
                ]
            except StoreError as exc:
                plan.errors[index] = exc
                continue
            guards.apply(batch)
            ids.update(added)
            plan.new_exec_ids.update(added)
            plan.events.extend(event_rows)
            plan.journal.extend(journal_rows)
            plan.dropped_lanes.extend(dropped)
            for m in batch.state_machines:
                plan.state_machines[m.arn] = m
            for arn in batch.deleted_state_machines:
                plan.state_machines[arn] = None
            for x in batch.executions:
                plan.executions[x.arn] = x
            for t in batch.timers:
                plan.timers[(t.execution_arn, t.key)] = (t.due, t.parks)
            for execution_arn, key in batch.deleted_timers:
                plan.timers[(execution_arn, key)] = None
            for token in batch.tokens:
                plan.tokens.setdefault(token.token, token)  # a stored token is never overwritten
            plan.closed_tokens.extend((t,) for t in batch.closed_tokens)
            plan.heartbeats.extend((when, t) for t, when in batch.heartbeats)
            for a in batch.activities:
                plan.activities[a.arn] = a
            for arn in batch.deleted_activities:
                plan.activities[arn] = None
            for task in batch.activity_tasks:
                plan.activity_tasks[task.token] = task
            for token_id in batch.deleted_activity_tasks:
                plan.activity_tasks[token_id] = None
            for entry in batch.metadata:
                plan.metadata[(entry.kind, entry.arn)] = entry
            for metadata_key in batch.deleted_metadata:
                plan.metadata[(metadata_key[0], metadata_key[1])] = None
            plan.children.extend(batch.children)
            plan.aborted_children.extend(batch.aborted_children)
            plan.requests.extend(
                (r.ref, r.execution_arn, r.kind, r.token, r.payload, r.created) for r in batch.requests
            )
            for ref in batch.consumed_requests:
                plan.consumed_requests[ref] = None
        plan.new_exec_ids.update((arn, ids[arn]) for arn in missing if arn in ids)
        return plan

    def _resolve(self, arn: str, ids: dict[str, int], added: dict[str, int], what: str) -> int:
        """The id of execution ``arn`` (committed, stored, or added by the group)."""
        xid = self._exec_ids.get(arn)
        if xid is None:
            xid = ids.get(arn)
            if xid is None:
                xid = added.get(arn)
                if xid is None:
                    raise BatchRejected(f"{self._where}: {what} of unknown execution {arn!r}")
        return xid

    def _rows(
        self, batch: WriteBatch, ids: dict[str, int], added: dict[str, int]
    ) -> tuple[list[_Row], list[_Row]]:
        """The event and journal rows of one batch; :class:`StoreError` if it names an unknown
        execution. Duplicate keys are left to the unique indexes: the group then rolls back and
        its batches are retried one by one, so only the bad batch fails."""

        def resolve(arn: str, what: str) -> int:
            return self._resolve(arn, ids, added, what)

        event_rows: list[_Row] = []
        journal_rows: list[_Row] = []
        last_arn: str | None = None
        xid = 0
        for e in batch.events:
            if e.execution_arn != last_arn:  # batches usually hold one execution's events
                xid = resolve(e.execution_arn, f"event {e.id}")
                last_arn = e.execution_arn
            event_rows.append((xid, e.id, e.type, e.previous_event_id, e.timestamp, e.details, e.lane, e.seq))
        last_arn = None
        for j in batch.journal:
            if j.execution_arn != last_arn:
                xid = resolve(j.execution_arn, f"journal entry {j.lane!r}/{j.seq}")
                last_arn = j.execution_arn
            journal_rows.append((xid, j.lane, j.seq, j.kind, j.payload))
        return event_rows, journal_rows

    def _lookup_executions(self, db: sqlite3.Connection, arns: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(arns), IN_CHUNK):
            chunk = arns[start : start + IN_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows = db.execute(f"SELECT arn, id FROM executions WHERE arn IN ({marks})", chunk).fetchall()
            found.update((str(r[0]), int(r[1])) for r in rows)
        return found

    def _definition_id(self, db: sqlite3.Connection, text: str, plan: _Plan) -> int:
        def_id = self._def_ids.get(text)
        if def_id is None:
            def_id = plan.new_def_ids.get(text)
        if def_id is None:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            row = db.execute("SELECT id FROM definitions WHERE sha256 = ?", (digest,)).fetchone()
            if row is not None:
                def_id = int(row[0])
            else:
                cursor = db.execute("INSERT INTO definitions (sha256, body) VALUES (?, ?)", (digest, text))
                def_id = cursor.lastrowid
                assert def_id is not None
            plan.new_def_ids[text] = def_id
        return def_id

    def _write(self, db: sqlite3.Connection, plan: _Plan) -> None:
        exec_ids = self._exec_ids
        new_ids = plan.new_exec_ids

        def upserts_and_deletes(upsert: str, delete: str, rows: list[_Row], keys: list[_Row]) -> None:
            if rows:
                db.executemany(upsert, rows)
            if keys:
                db.executemany(delete, keys)

        machines = plan.state_machines
        upserts_and_deletes(
            UPSERT_STATE_MACHINE,
            DELETE_STATE_MACHINE,
            [state_machine_row(m) for m in machines.values() if m is not None],
            [(arn,) for arn, m in machines.items() if m is None],
        )
        if plan.executions:
            rows: list[_Row] = []
            for x in plan.executions.values():
                xid = exec_ids.get(x.arn)
                if xid is None:
                    xid = new_ids[x.arn]
                rows.append((xid, *execution_row(x, self._definition_id(db, x.definition, plan))))
            db.executemany(UPSERT_EXECUTION, rows)
        if plan.events:
            db.executemany(INSERT_EVENT, plan.events)
        if plan.journal:
            db.executemany(INSERT_JOURNAL, plan.journal)
        if plan.dropped_lanes:
            db.executemany(DROP_LANE, plan.dropped_lanes)
        timers = plan.timers
        upserts_and_deletes(
            UPSERT_TIMER,
            DELETE_TIMER,
            [(k[0], k[1], v[0], 1 if v[1] else 0) for k, v in timers.items() if v is not None],
            [k for k, v in timers.items() if v is None],
        )
        if plan.tokens:
            db.executemany(INSERT_TOKEN, [token_row(t) for t in plan.tokens.values()])
        if plan.closed_tokens:
            db.executemany(CLOSE_TOKEN, plan.closed_tokens)
        if plan.heartbeats:
            db.executemany(HEARTBEAT, plan.heartbeats)
        if plan.requests:
            db.executemany(INSERT_REQUEST, plan.requests)
        if plan.consumed_requests:
            db.executemany(DELETE_REQUEST, [(ref,) for ref in plan.consumed_requests])
        activities = plan.activities
        upserts_and_deletes(
            UPSERT_ACTIVITY,
            DELETE_ACTIVITY,
            [(a.arn, a.name, a.creation_date) for a in activities.values() if a is not None],
            [(arn,) for arn, a in activities.items() if a is None],
        )
        tasks = plan.activity_tasks
        upserts_and_deletes(
            UPSERT_ACTIVITY_TASK,
            DELETE_ACTIVITY_TASK,
            [activity_task_row(t) for t in tasks.values() if t is not None],
            [(token,) for token, t in tasks.items() if t is None],
        )
        write_metadata(db, plan.metadata)
        write_children(db, plan.children, plan.aborted_children)
