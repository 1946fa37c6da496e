"""The writer of :class:`~durable.store.postgres.PostgresStore`: group commit under a write lock.

``submit(batch)`` queues the batch with a future. One asyncio task takes everything queued (up
to ``max_group`` batches) and applies it in ONE transaction on a pooled connection, then
resolves every future. The transaction first takes ``pg_advisory_xact_lock(WRITE_LOCK)``: every
durable writer of the database (this process's, a :class:`~durable.Client`'s in another
process) is serialised as SQLite's ``BEGIN IMMEDIATE`` serialises them, so a guard read in the
transaction cannot be invalidated before the commit, and the inbox ids (an identity column)
commit in increasing order.

The batches of a group apply one after another, in submission order, so a batch sees the
batches before it (its guards too). When a group holds more than one batch each runs inside a
savepoint:

* a batch whose guard does not hold is rejected on its own with :class:`Conflict`;
* a batch that names an execution neither stored nor upserted before it is rejected on its own
  with :class:`BatchRejected`;
* a batch whose content the database refuses (a duplicate key, a NUL character, an integer too
  large) rolls back to its savepoint and fails alone, with :class:`BatchRejected`.

A failure of the database itself (unreachable, shut down, out of disk) fails every batch of the
group with :class:`StoreUnavailable`. The writer task never dies of a batch.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from .base import (
    ActivityTaskPending,
    BatchRejected,
    Conflict,
    ExecutionAbsent,
    ExecutionIn,
    Fenced,
    Guard,
    MetadataAbsent,
    StoreError,
    StoreUnavailable,
    TokenOpen,
    WriteBatch,
)
from .rows import (
    ACTIVITY_TASK_COLUMNS,
    CHILD_COLUMNS,
    EXECUTION_COLUMNS,
    STATE_MACHINE_COLUMNS,
    TOKEN_COLUMNS,
    activity_task_row,
    child_row,
    execution_row,
    state_machine_row,
    token_row,
)
from .sqlite_writer import StoreStats

__all__ = ["LIVE_ENGINES", "NOTIFY", "NOW", "WRITE_LOCK", "PgWriter", "describe_pg_error"]

WRITE_LOCK = 0x64757261626C6532  # "durable2": held by every write transaction

_Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_Item = tuple[WriteBatch, "asyncio.Future[None]"]
_Purge = tuple[float, int, "asyncio.Future[list[str]]"]

# what a batch's content causes (that batch fails, the others of its group commit)
_CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.IntegrityError,
    psycopg.DataError,
    UnicodeError,
    OverflowError,
)


def describe_pg_error(exc: BaseException, where: str) -> str:
    """A one-line message for a psycopg error on the database ``where``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{where}: {type(exc).__name__}: {text}"


def _upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("%s" for _ in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
    conflict = ", ".join(key)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


UPSERT_STATE_MACHINE = _upsert("state_machines", STATE_MACHINE_COLUMNS, ("arn",))
DELETE_STATE_MACHINE = "DELETE FROM state_machines WHERE arn = %s"
UPSERT_EXECUTION = _upsert("executions", EXECUTION_COLUMNS, ("arn",))
# an executing engine that shares the database (durable.store.postgres_lease) owns what it starts,
# and takes over a stopped execution it redrives; a RUNNING execution keeps its owner
UPSERT_OWNED_EXECUTION = (
    _upsert("executions", (*EXECUTION_COLUMNS, "owner"), ("arn",)).replace(", owner = EXCLUDED.owner", "")
    + ", owner = CASE WHEN executions.status = 'RUNNING' THEN executions.owner ELSE EXCLUDED.owner END"
)
# engines sharing a database (durable.store.postgres_lease): expiries are the server's clock
NOW = "extract(epoch FROM clock_timestamp())"
LIVE_ENGINES = f"SELECT id FROM engines WHERE expires > {NOW}"
# the executions a batch touches that a shared engine does not own (fencing: it lost them)
FOREIGN = (
    "SELECT arn FROM executions WHERE arn = ANY(%s) AND status = 'RUNNING' AND (owner IS DISTINCT FROM %s"
    f" OR %s NOT IN ({LIVE_ENGINES})) LIMIT 1"
)
NOTIFY = "SELECT pg_notify('durable', %s)"  # wakes the engines that LISTEN (postgres_lease)
DEFINITION_ID = (
    "WITH ins AS (INSERT INTO definitions (sha256, body) VALUES (%s, %s)"
    " ON CONFLICT (sha256) DO NOTHING RETURNING id)"
    " SELECT id FROM ins UNION ALL SELECT id FROM definitions WHERE sha256 = %s"
)
EXECUTION_ARNS = "SELECT arn FROM executions WHERE arn = ANY(%s)"
# a batch's events (and journal entries) in one statement, a column per array parameter
_ID_OF = "(SELECT x.id FROM executions x WHERE x.arn = r.arn)"
INSERT_EVENTS = (
    "INSERT INTO events (execution_id, id, type, previous_event_id, timestamp, details, lane, seq)"
    f" SELECT {_ID_OF}, r.id, r.type, r.previous_event_id, r.timestamp, r.details, r.lane, r.seq"
    " FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::float8[], %s::text[],"
    " %s::text[], %s::bigint[]) AS r (arn, id, type, previous_event_id, timestamp, details, lane, seq)"
)
INSERT_JOURNAL = (
    "INSERT INTO journal (execution_id, lane, seq, kind, payload)"
    f" SELECT {_ID_OF}, r.lane, r.seq, r.kind, r.payload"
    " FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[])"
    " AS r (arn, lane, seq, kind, payload)"
)
UPSERT_TIMER = _upsert("timers", ("execution_arn", "key", "due", "parks"), ("execution_arn", "key"))
DELETE_TIMER = "DELETE FROM timers WHERE execution_arn = %s AND key = %s"
INSERT_TOKEN = (
    f"INSERT INTO tokens ({', '.join(TOKEN_COLUMNS)}) VALUES ({', '.join('%s' for _ in TOKEN_COLUMNS)})"
    " ON CONFLICT (token) DO NOTHING"
)
CLOSE_TOKEN = "UPDATE tokens SET closed = TRUE WHERE token = %s"
HEARTBEAT = (
    "UPDATE tokens SET last_heartbeat = %s"
    " WHERE token = %s AND (last_heartbeat IS NULL OR last_heartbeat < %s)"
)
INSERT_REQUEST = (
    "INSERT INTO requests (ref, execution_arn, kind, token, payload, created, claimed_by)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
DELETE_REQUEST = "DELETE FROM requests WHERE ref = %s"
UPSERT_ACTIVITY = _upsert("activities", ("arn", "name", "creation_date"), ("arn",))
DELETE_ACTIVITY = "DELETE FROM activities WHERE arn = %s"
UPSERT_ACTIVITY_TASK = _upsert("activity_tasks", ACTIVITY_TASK_COLUMNS, ("token",))
DELETE_ACTIVITY_TASK = "DELETE FROM activity_tasks WHERE token = %s"
UPSERT_METADATA = _upsert("metadata", ("kind", "arn", "parent", "body", "created"), ("kind", "arn"))
DELETE_METADATA = "DELETE FROM metadata WHERE kind = %s AND arn = %s"
# an ended child is kept as it is, unless a redrive of its Map Run runs it again (see
# ChildExecutionRecord); a stored child keeps its start date
UPSERT_CHILD = (
    f"INSERT INTO map_children ({', '.join(CHILD_COLUMNS)}) VALUES ({', '.join('%s' for _ in CHILD_COLUMNS)})"
    " ON CONFLICT (arn) DO UPDATE SET status = EXCLUDED.status, input = EXCLUDED.input,"
    " item_count = EXCLUDED.item_count, stop_date = EXCLUDED.stop_date, output = EXCLUDED.output,"
    " error = EXCLUDED.error, cause = EXCLUDED.cause, history = EXCLUDED.history,"
    " redrive_count = EXCLUDED.redrive_count, span = EXCLUDED.span"
    " WHERE map_children.status = 'RUNNING' OR (map_children.status <> 'SUCCEEDED'"
    " AND EXCLUDED.redrive_count > map_children.redrive_count)"
)
ABORT_CHILDREN = (
    "UPDATE map_children SET status = 'ABORTED', stop_date = %s"
    " WHERE execution_arn = %s AND status = 'RUNNING'"
)
_PURGE_SELECT = (
    "SELECT id, arn FROM executions WHERE status <> 'RUNNING' AND stop_date < %s"
    " ORDER BY stop_date, id LIMIT %s"
)
# a lane's entries and its nested lanes' ("<lane>/...")
DROP_LANE = (
    "DELETE FROM journal WHERE execution_id = (SELECT id FROM executions WHERE arn = %s)"
    " AND (lane = %s OR starts_with(lane, %s))"
)
_PURGE_BY_ID = (
    "DELETE FROM events WHERE execution_id = ANY(%s)",
    "DELETE FROM journal WHERE execution_id = ANY(%s)",
)
_PURGE_BY_ARN = (
    "DELETE FROM timers WHERE execution_arn = ANY(%s)",
    "DELETE FROM tokens WHERE execution_arn = ANY(%s)",
    "DELETE FROM activity_tasks WHERE execution_arn = ANY(%s)",
    "DELETE FROM metadata WHERE kind = 'execution' AND arn = ANY(%s)",
    "DELETE FROM metadata WHERE kind = 'maprun' AND parent = ANY(%s)",  # its Distributed Maps' Map Runs
    "DELETE FROM map_children WHERE execution_arn = ANY(%s)",
)


class _Rejected(Exception):
    """Raised inside a batch's savepoint to undo it; carries the error its caller gets."""

    def __init__(self, error: StoreError) -> None:
        self.error = error


class PgWriter:
    """The writer task of one store (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool[Any], where: str, max_group: int = 500) -> None:
        self._pool = pool
        self._where = where
        self._max_group = max_group
        self._queue: deque[_Item] = deque()
        self._purges: deque[_Purge] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._def_ids: dict[str, int] = {}  # committed definitions: text -> definitions.id
        self.stats = StoreStats()
        # the engine id of an executing engine that shares the database (None: it is the only
        # one, or this is a client): it owns what it starts and may write only what it owns
        self.owner: str | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"durable-store-writer {self._where}"
        )

    def _check_open(self) -> None:
        if self._closing or self._task is None or self._task.done():
            raise StoreError(f"{self._where}: the store is closed")

    def submit(self, batch: WriteBatch) -> asyncio.Future[None]:
        self._check_open()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((batch, future))
        self._wakeup.set()
        return future

    def purge(self, closed_before: float, limit: int) -> asyncio.Future[list[str]]:
        self._check_open()
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

    async def _run(self) -> None:
        try:
            while True:
                if self._purges:
                    await self._purge(self._purges.popleft())
                    continue
                if not self._queue:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                group: list[_Item] = []
                while self._queue and len(group) < self._max_group:
                    group.append(self._queue.popleft())
                await self._commit_group(group)
        finally:
            stopped = StoreError(f"{self._where}: the store writer stopped")
            while self._queue:
                _, future = self._queue.popleft()
                if not future.done():
                    future.set_exception(stopped)
            while self._purges:
                *_, waiter = self._purges.popleft()
                if not waiter.done():
                    waiter.set_exception(stopped)

    # -- retention ------------------------------------------------------------------------------
    async def _purge(self, job: _Purge) -> None:
        closed_before, limit, future = job
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                cur = await conn.execute(_PURGE_SELECT, (closed_before, limit))
                rows = await cur.fetchall()
                ids = [int(r[0]) for r in rows]
                arns = [str(r[1]) for r in rows]
                if rows:
                    for sql in _PURGE_BY_ID:
                        await conn.execute(sql, (ids,))
                    for sql in _PURGE_BY_ARN:
                        await conn.execute(sql, (arns,))
                    await conn.execute("DELETE FROM executions WHERE id = ANY(%s)", (ids,))
        except (psycopg.Error, OSError) as exc:
            if not future.done():
                error = StoreUnavailable(describe_pg_error(exc, self._where))
                error.__cause__ = exc
                future.set_exception(error)
            return
        except BaseException:
            if not future.done():
                future.set_exception(StoreError(f"{self._where}: the store writer stopped"))
            raise
        if arns:
            self.stats.transactions += 1
        if not future.done():
            future.set_result(arns)

    # -- group commit ---------------------------------------------------------------------------
    async def _commit_group(self, group: list[_Item]) -> None:
        errors: list[StoreError | None] = [None] * len(group)
        new_defs: dict[str, int] = {}
        try:
            async with self._pool.connection() as conn, conn.pipeline() as pipe:
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                        if len(group) == 1:
                            await self._apply(conn, pipe, group[0][0], new_defs)
                        else:
                            for index, (batch, _) in enumerate(group):
                                errors[index] = await self._apply_alone(conn, pipe, batch, new_defs)
                except _Rejected as rejected:  # the group's only batch: rolled back
                    errors[0] = rejected.error
                    new_defs.clear()
                except _CONTENT_ERRORS as exc:
                    errors[0] = self._content(exc)
                    new_defs.clear()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit) as exc:
            self._fail(group, StoreError(f"{self._where}: the store writer stopped"), exc)
            raise
        except Exception as exc:  # the database failed (unreachable, shut down, full): every batch
            self.stats.rollbacks += 1
            self._fail(group, StoreUnavailable(describe_pg_error(exc, self._where)), exc)
            return
        if len(self._def_ids) + len(new_defs) > 1000:
            self._def_ids.clear()
        self._def_ids.update(new_defs)
        committed = 0
        for (_, future), error in zip(group, errors, strict=True):
            if error is not None:
                self.stats.failed_batches += 1
                if not future.done():
                    future.set_exception(error)
            else:
                committed += 1
                if not future.done():
                    future.set_result(None)
        if committed:
            self.stats.transactions += 1
        else:
            self.stats.rollbacks += 1
        self.stats.batches += committed
        self.stats.largest_group = max(self.stats.largest_group, committed)

    def _content(self, exc: BaseException) -> BatchRejected:
        error = BatchRejected(f"{self._where}: batch rejected: {describe_pg_error(exc, '')[2:]}")
        error.__cause__ = exc
        return error

    def _fail(self, group: list[_Item], error: StoreError, cause: BaseException) -> None:
        error.__cause__ = cause
        self.stats.failed_batches += len(group)
        for _, future in group:
            if not future.done():
                future.set_exception(error)

    async def _apply_alone(
        self, conn: _Conn, pipe: psycopg.AsyncPipeline, batch: WriteBatch, new_defs: dict[str, int]
    ) -> StoreError | None:
        """Apply one batch of a group in a savepoint; the error that undid it, if any."""
        mine: dict[str, int] = {}
        try:
            async with conn.transaction():
                await self._apply(conn, pipe, batch, mine)
        except _Rejected as rejected:
            return rejected.error
        except _CONTENT_ERRORS as exc:
            return self._content(exc)
        new_defs.update(mine)
        return None

    async def _apply(
        self, conn: _Conn, pipe: psycopg.AsyncPipeline, batch: WriteBatch, new_defs: dict[str, int]
    ) -> None:
        """Write one batch in the current transaction, in the contract's order (upserts before
        deletes); raise :class:`_Rejected` when a guard fails or an execution is unknown.

        The connection is in pipeline mode: the batch's reads (its guards, the fencing check,
        the executions its events name) reach the server together and are answered in one round
        trip; then its writes, in another. Each batch ends synchronised, so an error of its
        content is raised here, inside its own savepoint."""
        probes = [(guard, await _probe(conn, guard)) for guard in batch.guards]
        owner = self.owner
        fence = await self._fence(conn, batch, owner) if owner is not None else None
        known = await self._known(conn, batch)
        if probes or fence is not None or known is not None:
            await pipe.sync()
        for guard, probe in probes:
            if not await _holds(guard, probe):
                raise _Rejected(Conflict(f"{self._where}: guard failed: {guard!r}", guard))
        if fence is not None:
            row = await fence.fetchone()
            if row is not None:
                raise _Rejected(
                    Fenced(f"{self._where}: execution {row[0]!r} is not owned by this engine any more")
                )
        await self._check_known(batch, known)
        await self._write(conn, batch, new_defs, owner)
        await pipe.sync()

    async def _write(
        self, conn: _Conn, batch: WriteBatch, new_defs: dict[str, int], owner: str | None
    ) -> None:
        cur = conn.cursor()
        if batch.state_machines:
            await cur.executemany(UPSERT_STATE_MACHINE, [state_machine_row(m) for m in batch.state_machines])
        if batch.deleted_state_machines:
            await cur.executemany(DELETE_STATE_MACHINE, [(arn,) for arn in batch.deleted_state_machines])
        if batch.executions:
            rows = [
                execution_row(x, await self._definition_id(conn, x.definition, new_defs))
                for x in batch.executions
            ]
            if owner is None:
                await cur.executemany(UPSERT_EXECUTION, rows)
            else:
                await cur.executemany(UPSERT_OWNED_EXECUTION, [(*row, owner) for row in rows])
        if batch.events or batch.journal:
            await self._events_and_journal(conn, batch)
        if batch.dropped_lanes:
            await cur.executemany(DROP_LANE, [(arn, lane, lane + "/") for arn, lane in batch.dropped_lanes])
        if batch.timers:
            await cur.executemany(
                UPSERT_TIMER, [(t.execution_arn, t.key, t.due, t.parks) for t in batch.timers]
            )
        if batch.deleted_timers:
            await cur.executemany(DELETE_TIMER, [(arn, key) for arn, key in batch.deleted_timers])
        if batch.tokens:
            await cur.executemany(INSERT_TOKEN, [token_row(t) for t in batch.tokens])
        if batch.closed_tokens:
            await cur.executemany(CLOSE_TOKEN, [(t,) for t in batch.closed_tokens])
        if batch.heartbeats:
            await cur.executemany(HEARTBEAT, [(when, t, when) for t, when in batch.heartbeats])
        if batch.requests:
            await cur.executemany(
                INSERT_REQUEST,
                [
                    (r.ref, r.execution_arn, r.kind, r.token, r.payload, r.created, owner)
                    for r in batch.requests
                ],
            )
            await conn.execute(NOTIFY, ("inbox",))  # sent at the commit; duplicates fold into one
        if batch.consumed_requests:
            await cur.executemany(DELETE_REQUEST, [(ref,) for ref in batch.consumed_requests])
        if batch.activities:
            await cur.executemany(
                UPSERT_ACTIVITY, [(a.arn, a.name, a.creation_date) for a in batch.activities]
            )
        if batch.deleted_activities:
            await cur.executemany(DELETE_ACTIVITY, [(arn,) for arn in batch.deleted_activities])
        if batch.activity_tasks:
            await cur.executemany(
                UPSERT_ACTIVITY_TASK,
                [activity_task_row(t) for t in batch.activity_tasks],
            )
        if batch.deleted_activity_tasks:
            await cur.executemany(DELETE_ACTIVITY_TASK, [(t,) for t in batch.deleted_activity_tasks])
        if batch.metadata:
            await cur.executemany(
                UPSERT_METADATA, [(e.kind, e.arn, e.parent, e.body, e.created) for e in batch.metadata]
            )
        if batch.deleted_metadata:
            await cur.executemany(DELETE_METADATA, [(kind, arn) for kind, arn in batch.deleted_metadata])
        if batch.children:
            await cur.executemany(UPSERT_CHILD, [child_row(c) for c in batch.children])
        if batch.aborted_children:
            await cur.executemany(ABORT_CHILDREN, [(when, arn) for arn, when in batch.aborted_children])

    async def _fence(self, conn: _Conn, batch: WriteBatch, owner: str) -> psycopg.AsyncCursor[Any] | None:
        """The query whose row refuses the batch (:class:`Fenced`) when it writes a RUNNING
        execution this engine does not own, or this engine's lease has lapsed: an engine that
        lost an execution to another never records anything for it again. The check runs under
        the write lock, as every claim does, so it still holds at the commit."""
        arns = {x.arn for x in batch.executions}
        arns.update(e.execution_arn for e in batch.events)
        arns.update(j.execution_arn for j in batch.journal)
        arns.update(arn for arn, _ in batch.dropped_lanes)
        arns.update(t.execution_arn for t in batch.timers)
        arns.update(arn for arn, _ in batch.deleted_timers)
        arns.update(t.execution_arn for t in batch.tokens)
        arns.update(c.execution_arn for c in batch.children)
        if not arns:
            return None
        return await conn.execute(FOREIGN, (list(arns), owner, owner))

    async def _known(self, conn: _Conn, batch: WriteBatch) -> psycopg.AsyncCursor[Any] | None:
        """The query of the stored executions among those the batch's events and journal
        entries name without upserting them (None: it upserts every one it names)."""
        arns = {e.execution_arn for e in batch.events} | {j.execution_arn for j in batch.journal}
        arns.difference_update(x.arn for x in batch.executions)
        if not arns:
            return None
        return await conn.execute(EXECUTION_ARNS, (list(arns),))

    async def _check_known(self, batch: WriteBatch, known: psycopg.AsyncCursor[Any] | None) -> None:
        """Reject the batch when an event or journal entry names an execution that is neither
        stored nor upserted by the batch."""
        ids = {x.arn for x in batch.executions}
        if known is not None:
            ids.update(str(r[0]) for r in await known.fetchall())
        for e in batch.events:
            if e.execution_arn not in ids:
                raise _Rejected(
                    BatchRejected(f"{self._where}: event {e.id} of unknown execution {e.execution_arn!r}")
                )
        for j in batch.journal:
            if j.execution_arn not in ids:
                raise _Rejected(
                    BatchRejected(
                        f"{self._where}: journal entry {j.lane!r}/{j.seq} of unknown execution"
                        f" {j.execution_arn!r}"
                    )
                )

    async def _definition_id(self, conn: _Conn, text: str, new_defs: dict[str, int]) -> int:
        """The id of a definition text, stored once per distinct text."""
        def_id = self._def_ids.get(text)
        if def_id is None:
            def_id = new_defs.get(text)
        if def_id is None:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            cur = await conn.execute(DEFINITION_ID, (digest, text, digest))
            row = await cur.fetchone()
            assert row is not None
            def_id = int(row[0])
            new_defs[text] = def_id
        return def_id

    async def _events_and_journal(self, conn: _Conn, batch: WriteBatch) -> None:
        if batch.events:
            events = batch.events
            await conn.execute(
                INSERT_EVENTS,
                (
                    [e.execution_arn for e in events],
                    [e.id for e in events],
                    [e.type for e in events],
                    [e.previous_event_id for e in events],
                    [float(e.timestamp) for e in events],
                    [e.details for e in events],
                    [e.lane for e in events],
                    [e.seq for e in events],
                ),
            )
        if batch.journal:
            journal = batch.journal
            await conn.execute(
                INSERT_JOURNAL,
                (
                    [j.execution_arn for j in journal],
                    [j.lane for j in journal],
                    [j.seq for j in journal],
                    [j.kind for j in journal],
                    [j.payload for j in journal],
                ),
            )


async def _probe(conn: _Conn, guard: Guard) -> psycopg.AsyncCursor[Any] | None:
    """The query that tells whether ``guard`` holds in the current transaction (sent, not yet
    answered: see :func:`_holds`)."""
    if isinstance(guard, TokenOpen):
        return await conn.execute("SELECT closed FROM tokens WHERE token = %s", (guard.token,))
    if isinstance(guard, ActivityTaskPending):
        return await conn.execute("SELECT started FROM activity_tasks WHERE token = %s", (guard.token,))
    if isinstance(guard, ExecutionAbsent):
        return await conn.execute("SELECT 1 FROM executions WHERE arn = %s", (guard.arn,))
    if isinstance(guard, MetadataAbsent):
        return await conn.execute(
            "SELECT 1 FROM metadata WHERE kind = %s AND arn = %s", (guard.kind, guard.arn)
        )
    if isinstance(guard, ExecutionIn):
        return await conn.execute(
            "SELECT x.status, (SELECT coalesce(max(e.id), 0) FROM events e WHERE e.execution_id = x.id)"
            " FROM executions x WHERE x.arn = %s",
            (guard.arn,),
        )
    return None


async def _holds(guard: Guard, probe: psycopg.AsyncCursor[Any] | None) -> bool:
    """Whether ``guard`` holds, from the answer to its :func:`_probe`."""
    if probe is None:
        return False
    row = await probe.fetchone()
    if isinstance(guard, TokenOpen):
        return row is not None and not row[0]
    if isinstance(guard, ActivityTaskPending):
        return row is not None and row[0] is None
    if isinstance(guard, (ExecutionAbsent, MetadataAbsent)):
        return row is None
    if isinstance(guard, ExecutionIn):
        return (
            row is not None
            and row[0] in guard.statuses
            and (guard.event_count is None or int(row[1]) == guard.event_count)
        )
    return False
