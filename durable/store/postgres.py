"""The PostgreSQL store: psycopg 3 (async) over a connection pool, one writer task with group commit.

::

    store = PostgresStore("postgresql://user@host:5432/durable")
    await store.open()          # connects, applies pending migrations (under an advisory lock)
    await store.commit(batch)   # queued to the writer; returns once the group is committed
    await store.close()         # commits what is queued, then closes the pool

* Writes: :class:`~durable.store.postgres_writer.PgWriter` — one transaction per group of
  concurrently queued batches, serialised with every other writer of the database by a
  transaction-level advisory lock; returns once PostgreSQL reports the commit (durable per the
  server's ``synchronous_commit``, ``on`` by default).
* Reads: pooled connections in autocommit mode; each read sees the last committed state.
* Every psycopg failure surfaces as a :class:`~durable.store.base.StoreError`:
  :class:`~durable.store.base.StoreUnavailable` when the server cannot be reached or fails.

The batch rules and result orders are those of :mod:`durable.store.memory` (one contract suite
runs against every store). Needs the ``postgres`` extra: ``pip install 'durable[postgres]'``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from .base import (
    ActivityRecord,
    ActivityTaskRecord,
    ChildExecutionRecord,
    EventRecord,
    ExecutionRecord,
    JournalRecord,
    MetadataRecord,
    RequestRecord,
    ResumeRecord,
    StateMachineRecord,
    StoreError,
    StoreUnavailable,
    TimerRecord,
    TokenRecord,
    WriteBatch,
)
from .child_spans import children_page, pick
from .postgres_schema import migrate
from .postgres_writer import LIVE_ENGINES, WRITE_LOCK, PgWriter, describe_pg_error
from .rows import activity_task_from, execution_from, journal_entry_from, state_machine_from, token_from
from .sqlite_children import child_from, child_query, child_rows_from_query, child_rows_query
from .sqlite_metadata import SELECT_METADATA, metadata_from
from .sqlite_paging import (
    check_limit,
    decode_event_token,
    decode_execution_token,
    encode_event_token,
    encode_execution_token,
)
from .sqlite_writer import StoreStats

__all__ = ["PostgresStore", "describe_url"]

_EXECUTION_SELECT = (
    "SELECT x.arn, x.state_machine_arn, x.name, x.status, x.start_date, x.input, d.body, x.type,"
    " x.stop_date, x.output, x.error, x.cause, x.redrive_count, x.redrive_date, x.event_count"
    " FROM executions x JOIN definitions d ON d.id = x.definition_id"
)
_RESUME_SELECT = _EXECUTION_SELECT.replace(
    " FROM executions x",
    ", (SELECT coalesce(max(e.id), 0) FROM events e WHERE e.execution_id = x.id) FROM executions x",
)
_STATE_MACHINE_SELECT = (
    "SELECT arn, name, type, definition, role_arn, creation_date, status, description, revision"
    " FROM state_machines"
)
_TOKEN_SELECT = (
    "SELECT token, execution_arn, lane, seq, state_name, created, heartbeat_seconds, timeout_seconds,"
    " last_heartbeat, activity_arn, closed FROM tokens"
)
_TASK_SELECT = (
    "SELECT token, activity_arn, execution_arn, input, scheduled, started, worker_name FROM activity_tasks"
)
_TIMER_SELECT = "SELECT execution_arn, key, due, parks FROM timers"
_EXECUTION_ID = "(SELECT id FROM executions WHERE arn = %s)"
_RESUMABLE = "x.status = 'RUNNING' AND NOT x.parked"  # the partial index executions_resumable
# an execution an engine sharing the database may take: nobody's, its own, or a dead engine's
_CLAIMABLE = f"(x.owner IS NULL OR x.owner = %s OR x.owner NOT IN ({LIVE_ENGINES}))"
_OWNED_ELSEWHERE = (
    "SELECT arn FROM executions WHERE arn = ANY(%s) AND status = 'RUNNING' AND owner IS DISTINCT FROM %s"
)
_CLAIM = (
    f"UPDATE executions x SET owner = %s WHERE x.arn = ANY(%s) AND x.status = 'RUNNING' AND {_CLAIMABLE}"
    " RETURNING x.arn"
)
_MAX_INT = 2**63 - 1


def _journal_sql(where: str) -> str:
    """The journal entries of the executions ``x`` that ``where`` selects (one parameter):
    journal rows, then the events that stand for entries (see :func:`durable.store.sqlite._journal_sql`)."""
    return (
        "SELECT x.arn, j.lane, j.seq, j.kind, j.payload, NULL::bigint, NULL::double precision"
        f" FROM executions x JOIN journal j ON j.execution_id = x.id WHERE {where}"
        " UNION ALL "
        "SELECT x.arn, e.lane, e.seq, 'event', NULL, e.id, e.timestamp"
        f" FROM executions x JOIN events e ON e.execution_id = x.id WHERE ({where}) AND e.lane IS NOT NULL"
    )


def _timer(r: Sequence[Any]) -> TimerRecord:
    return TimerRecord(execution_arn=r[0], key=r[1], due=r[2], parks=bool(r[3]))


def describe_url(url: str) -> str:
    """The URL without its password or options, for messages (``postgresql://host:port/db``)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://?"
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{host}{port}/{info.get('dbname') or ''}"


class PostgresStore:
    """The durable store on one PostgreSQL database (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 10.0,
        max_group: int = 500,
    ) -> None:
        if pool_size < 2:
            raise StoreError(f"pool_size must be at least 2, got {pool_size}")
        if max_group < 1:
            raise StoreError(f"max_group must be at least 1, got {max_group}")
        self.url = url
        self.where = describe_url(url)
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.max_group = max_group
        self.migrations_applied = 0  # by the last open()
        self._pool: AsyncConnectionPool[Any] | None = None  # reads: pool_size - 1 connections
        self._write_pool: AsyncConnectionPool[Any] | None = None  # the writer's one connection
        self._writer: PgWriter | None = None
        self._stats = StoreStats()
        self._owner: str | None = None

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    @property
    def fault(self) -> StoreError | None:
        return None

    @property
    def stats(self) -> StoreStats:
        """Writer counters: ``transactions``, ``batches``, ``failed_batches``, ``largest_group``."""
        return self._writer.stats if self._writer is not None else self._stats

    # -- an engine among several (durable.store.postgres_lease) ----------------------------------
    @property
    def owner(self) -> str | None:
        """The id of the executing engine this store writes for when several engines share the
        database (None: the only engine, or a client)."""
        return self._owner

    def share_as(self, owner: str | None) -> None:
        """Write and read as the engine ``owner`` among several (None: as the only one). Its
        writes stamp the executions it starts as its own and are refused (:class:`Fenced`) for
        RUNNING executions it does not own; resumable executions and timers are read only where
        it may execute them, and reading an execution to resume it claims it."""
        self._owner = owner
        if self._writer is not None:
            self._writer.owner = owner

    async def fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """One read on a pooled connection (for the modules of this store)."""
        return await self._fetch(sql, params)

    async def locked(
        self, statements: Sequence[tuple[str, Sequence[Any] | Mapping[str, Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Run ``statements`` in one transaction under the database's write lock (so that no
        write's fencing check interleaves with them); each one's rows."""
        pool = self._pool
        if pool is None or self._writer is None:
            raise StoreError(f"{self.where}: the store is not open")
        found: list[list[tuple[Any, ...]]] = []
        try:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                for sql, params in statements:
                    cur = await conn.execute(sql.encode(), params)
                    found.append(await cur.fetchall() if cur.description is not None else [])
        except psycopg.Error as exc:
            raise StoreUnavailable(describe_pg_error(exc, self.where)) from exc
        return found

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, migrate the schema, open the pool and start the writer (no-op when open)."""
        if self._writer is not None:
            return
        timeout = max(1, round(self.connect_timeout))
        try:
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=timeout)
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"{self.where}: cannot connect: {describe_pg_error(exc, '')[2:]}"
            ) from None
        try:
            self.migrations_applied = await migrate(conn, self.where)
        except psycopg.Error as exc:
            raise StoreUnavailable(describe_pg_error(exc, self.where)) from exc
        finally:
            await conn.close()
        # the writer has a connection of its own: it never queues behind the reads for one
        pools: list[AsyncConnectionPool[Any]] = [
            AsyncConnectionPool(
                self.url,
                min_size=1,
                max_size=size,
                kwargs={"autocommit": True, "connect_timeout": timeout},
                timeout=self.connect_timeout,
                open=False,
                name=f"{self.where} {role}",
            )
            for size, role in ((self.pool_size - 1, "reads"), (1, "writes"))
        ]
        try:
            for opening in pools:
                await opening.open(wait=True, timeout=self.connect_timeout)
        except psycopg.Error as exc:
            for opening in pools:
                await opening.close()
            raise StoreUnavailable(describe_pg_error(exc, self.where)) from exc
        self._pool, self._write_pool = pools
        self._writer = PgWriter(self._write_pool, self.where, self.max_group)
        self._writer.stats = self._stats
        self._writer.owner = self._owner
        self._writer.start()

    async def close(self) -> None:
        """Commit what is queued, stop the writer, close the pool (no-op when closed)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        await writer.stop()
        for pool in (self._pool, self._write_pool):
            if pool is not None:
                await pool.close()
        self._pool = self._write_pool = None

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writes ---------------------------------------------------------------------------------
    async def commit(self, batch: WriteBatch) -> None:
        """Apply ``batch`` atomically (in a group commit); return once it is committed."""
        if self._writer is None:
            raise StoreError(f"{self.where}: the store is not open")
        await self._writer.submit(batch)

    async def purge_executions(self, closed_before: float, limit: int = 500) -> list[str]:
        """Delete up to ``limit`` closed executions stopped before ``closed_before`` (see
        :meth:`durable.store.base.Store.purge_executions`), in one transaction; their ARNs."""
        if limit < 1:
            raise StoreError(f"limit must be at least 1, got {limit}")
        if self._writer is None:
            raise StoreError(f"{self.where}: the store is not open")
        return await self._writer.purge(closed_before, limit)

    # -- reads ----------------------------------------------------------------------------------
    async def _fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        pool = self._pool
        if pool is None or self._writer is None:
            raise StoreError(f"{self.where}: the store is not open")
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    sql.encode(), params if isinstance(params, Mapping) else tuple(params)
                )
                rows: list[tuple[Any, ...]] = await cur.fetchall()
        except psycopg.Error as exc:
            if task is not None and task.cancelling() > cancels:  # a cancelled query, as an error
                raise asyncio.CancelledError() from exc
            raise StoreUnavailable(describe_pg_error(exc, self.where)) from exc
        if task is not None and task.cancelling() > cancels:
            # psycopg and its pool may absorb a cancellation (cancelling the query on the
            # server, returning the connection): the caller was cancelled, so it is
            raise asyncio.CancelledError()
        return rows

    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        rows = await self._fetch(f"{_STATE_MACHINE_SELECT} WHERE arn = %s", (arn,))
        return state_machine_from(rows[0]) if rows else None

    async def list_state_machines(self) -> list[StateMachineRecord]:
        rows = await self._fetch(f"{_STATE_MACHINE_SELECT} ORDER BY creation_date, arn")
        return [state_machine_from(r) for r in rows]

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        rows = await self._fetch(f"{_EXECUTION_SELECT} WHERE x.arn = %s", (arn,))
        return execution_from(rows[0]) if rows else None

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """Newest first by ``(start_date, arn)``; ``next_token`` continues a previous page."""
        check_limit(limit)
        where: list[str] = []
        params: list[Any] = []
        if state_machine_arn is not None:
            where.append("x.state_machine_arn = %s")
            params.append(state_machine_arn)
        if status is not None:
            where.append("x.status = %s")
            params.append(status)
        if next_token is not None:
            where.append("(x.start_date, x.arn) < (%s, %s)")
            params.extend(decode_execution_token(next_token))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        params.append(limit + 1)
        rows = await self._fetch(
            f"{_EXECUTION_SELECT}{clause} ORDER BY x.start_date DESC, x.arn DESC LIMIT %s", params
        )
        items = [execution_from(r) for r in rows[:limit]]
        token = encode_execution_token(items[-1].start_date, items[-1].arn) if len(rows) > limit else None
        return items, token

    async def running_executions(self) -> list[ExecutionRecord]:
        rows = await self._fetch(
            f"{_EXECUTION_SELECT} WHERE x.status = 'RUNNING' ORDER BY x.start_date, x.arn"
        )
        return [execution_from(r) for r in rows]

    async def resumable_executions(self) -> list[ExecutionRecord]:
        rows = await self._fetch(f"{_EXECUTION_SELECT} WHERE {_RESUMABLE} ORDER BY x.start_date, x.arn")
        return [execution_from(r) for r in rows]

    async def resumable_page(
        self, after: tuple[float, str] | None = None, limit: int = 1000
    ) -> list[ExecutionRecord]:
        check_limit(limit)
        where, params = _RESUMABLE, []
        if self._owner is not None:  # shared: what this engine may take
            where, params = f"{where} AND {_CLAIMABLE}", [self._owner]
        if after is None:
            rows = await self._fetch(
                f"{_EXECUTION_SELECT} WHERE {where} ORDER BY x.start_date, x.arn LIMIT %s", (*params, limit)
            )
        else:
            rows = await self._fetch(
                f"{_EXECUTION_SELECT} WHERE {where} AND (x.start_date, x.arn) > (%s, %s)"
                " ORDER BY x.start_date, x.arn LIMIT %s",
                (*params, after[0], after[1], limit),
            )
        return [execution_from(r) for r in rows]

    async def events(
        self,
        execution_arn: str,
        *,
        reverse: bool = False,
        limit: int = 1000,
        next_token: str | None = None,
    ) -> tuple[list[EventRecord], str | None]:
        check_limit(limit)
        after = None if next_token is None else decode_event_token(next_token)
        if reverse:
            condition, order, bound = "id < %s", "DESC", _MAX_INT if after is None else after
        else:
            condition, order, bound = "id > %s", "ASC", -_MAX_INT if after is None else after
        rows = await self._fetch(
            "SELECT id, type, previous_event_id, timestamp, details, lane, seq FROM events"
            f" WHERE execution_id = {_EXECUTION_ID} AND {condition} ORDER BY id {order} LIMIT %s",
            (execution_arn, bound, limit + 1),
        )
        items = [
            EventRecord(
                execution_arn=execution_arn,
                id=r[0],
                type=r[1],
                previous_event_id=r[2],
                timestamp=r[3],
                details=r[4],
                lane=r[5],
                seq=r[6],
            )
            for r in rows[:limit]
        ]
        token = encode_event_token(items[-1].id) if len(rows) > limit else None
        return items, token

    async def journal(self, execution_arn: str) -> list[JournalRecord]:
        rows = await self._fetch(
            _journal_sql("x.arn = %s") + " ORDER BY 2, 3", (execution_arn, execution_arn)
        )
        return [journal_entry_from(r) for r in rows]

    async def resume_records(self, execution_arns: Sequence[str]) -> dict[str, ResumeRecord]:
        """Three queries, whatever the number of executions."""
        arns = list(dict.fromkeys(execution_arns))
        if not arns:
            return {}
        elsewhere: set[str] = set()
        if self._owner is not None:  # shared: reading to resume claims; what others own is not read
            _, others = await self.locked(
                [
                    (_CLAIM, (self._owner, arns, self._owner)),
                    (_OWNED_ELSEWHERE, (arns, self._owner)),
                ]
            )
            elsewhere = {r[0] for r in others}
        rows = await self._fetch(f"{_RESUME_SELECT} WHERE x.arn = ANY(%s)", (arns,))
        if not rows:
            return {}
        arns = [a for a in arns if a not in elsewhere]
        journals: dict[str, list[JournalRecord]] = {r[0]: [] for r in rows}
        for r in await self._fetch(_journal_sql("x.arn = ANY(%s)") + " ORDER BY 1, 2, 3", (arns, arns)):
            journals[r[0]].append(journal_entry_from(r))
        machine_arns = list({r[1] for r in rows})
        machines = {
            m.arn: m
            for m in map(
                state_machine_from,
                await self._fetch(f"{_STATE_MACHINE_SELECT} WHERE arn = ANY(%s)", (machine_arns,)),
            )
        }
        return {
            r[0]: ResumeRecord(
                execution=execution_from(r),
                journal=journals[r[0]],
                last_event_id=int(r[15]),
                state_machine=machines.get(r[1]),
                elsewhere=r[0] in elsewhere,
            )
            for r in rows
        }

    async def tokens_and_timers(
        self, execution_arns: Sequence[str]
    ) -> dict[str, tuple[list[TokenRecord], list[TimerRecord]]]:
        arns = list(dict.fromkeys(execution_arns))
        found: dict[str, tuple[list[TokenRecord], list[TimerRecord]]] = {a: ([], []) for a in arns}
        if not arns:
            return found
        for r in await self._fetch(
            f"{_TOKEN_SELECT} WHERE NOT closed AND execution_arn = ANY(%s) ORDER BY created, token", (arns,)
        ):
            found[r[1]][0].append(token_from(r))
        for r in await self._fetch(
            f"{_TIMER_SELECT} WHERE execution_arn = ANY(%s) ORDER BY due, key", (arns,)
        ):
            found[r[0]][1].append(_timer(r))
        return found

    async def last_event_id(self, execution_arn: str) -> int:
        rows = await self._fetch(
            f"SELECT coalesce(max(id), 0) FROM events WHERE execution_id = {_EXECUTION_ID}", (execution_arn,)
        )
        return int(rows[0][0]) if rows else 0

    async def timers(
        self, until: float | None = None, limit: int | None = None, *, after: float | None = None
    ) -> list[TimerRecord]:
        if limit is not None and limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        sql = _TIMER_SELECT
        where: list[str] = []
        params: list[Any] = []
        if self._owner is not None:  # shared: the timers of the executions this engine may take
            sql = f"{sql} t"
            where.append(
                f"NOT EXISTS (SELECT 1 FROM executions x WHERE x.arn = t.execution_arn AND NOT {_CLAIMABLE})"
            )
            params.append(self._owner)
        if until is not None:
            where.append("due <= %s")
            params.append(until)
        if after is not None:
            where.append("due > %s")
            params.append(after)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY due, execution_arn, key"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_timer(r) for r in await self._fetch(sql, params)]

    async def execution_timers(self, execution_arn: str) -> list[TimerRecord]:
        rows = await self._fetch(
            f"{_TIMER_SELECT} WHERE execution_arn = %s ORDER BY due, key", (execution_arn,)
        )
        return [_timer(r) for r in rows]

    async def requests(self, after: int = 0, limit: int = 1000) -> list[RequestRecord]:
        rows = await self._fetch(
            "SELECT id, ref, execution_arn, kind, token, payload, created FROM requests"
            " WHERE id > %s ORDER BY id LIMIT %s",
            (after, limit),
        )
        return [
            RequestRecord(
                id=r[0], ref=r[1], execution_arn=r[2], kind=r[3], token=r[4], payload=r[5], created=r[6]
            )
            for r in rows
        ]

    async def get_token(self, token: str) -> TokenRecord | None:
        rows = await self._fetch(f"{_TOKEN_SELECT} WHERE token = %s", (token,))
        return token_from(rows[0]) if rows else None

    async def open_tokens(self, execution_arn: str | None = None) -> list[TokenRecord]:
        if execution_arn is None:
            rows = await self._fetch(f"{_TOKEN_SELECT} WHERE NOT closed ORDER BY created, token")
        else:
            rows = await self._fetch(
                f"{_TOKEN_SELECT} WHERE NOT closed AND execution_arn = %s ORDER BY created, token",
                (execution_arn,),
            )
        return [token_from(r) for r in rows]

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        rows = await self._fetch("SELECT arn, name, creation_date FROM activities WHERE arn = %s", (arn,))
        return ActivityRecord(arn=rows[0][0], name=rows[0][1], creation_date=rows[0][2]) if rows else None

    async def list_activities(self) -> list[ActivityRecord]:
        rows = await self._fetch(
            "SELECT arn, name, creation_date FROM activities ORDER BY creation_date, arn"
        )
        return [ActivityRecord(arn=r[0], name=r[1], creation_date=r[2]) for r in rows]

    async def pending_activity_tasks(self, activity_arn: str, limit: int = 1) -> list[ActivityTaskRecord]:
        if limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        rows = await self._fetch(
            f"{_TASK_SELECT} WHERE activity_arn = %s AND started IS NULL ORDER BY scheduled, token LIMIT %s",
            (activity_arn, limit),
        )
        return [activity_task_from(r) for r in rows]

    async def get_activity_task(self, token: str) -> ActivityTaskRecord | None:
        rows = await self._fetch(f"{_TASK_SELECT} WHERE token = %s", (token,))
        return activity_task_from(rows[0]) if rows else None

    async def get_metadata(self, kind: str, arn: str) -> MetadataRecord | None:
        rows = await self._fetch(f"{SELECT_METADATA} WHERE kind = %s AND arn = %s", (kind, arn))
        return metadata_from(rows[0]) if rows else None

    async def list_metadata(self, kind: str, parent: str | None = None) -> list[MetadataRecord]:
        if parent is None:
            rows = await self._fetch(f"{SELECT_METADATA} WHERE kind = %s ORDER BY created, arn", (kind,))
        else:
            rows = await self._fetch(
                f"{SELECT_METADATA} WHERE kind = %s AND parent = %s ORDER BY created, arn", (kind, parent)
            )
        return [metadata_from(r) for r in rows]

    async def get_child_execution(self, arn: str) -> ChildExecutionRecord | None:
        query = child_query(arn)
        if query is None:
            return None
        sql, params = query
        return pick([child_from(r) for r in await self._fetch(sql.replace("?", "%s"), params)], arn)

    async def list_child_executions(
        self,
        map_run_arn: str,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ChildExecutionRecord], str | None]:
        async def fetch(below: int | None, n: int) -> list[ChildExecutionRecord]:
            sql, params = child_rows_query(map_run_arn, status, below, n)
            return [child_from(r) for r in await self._fetch(sql.replace("?", "%s"), params)]

        return await children_page(fetch, status, limit, next_token)

    async def list_child_rows(self, map_run_arn: str, start: int, limit: int) -> list[ChildExecutionRecord]:
        sql, params = child_rows_from_query(map_run_arn, start, limit)
        return [child_from(r) for r in await self._fetch(sql.replace("?", "%s"), params)]
