"""The SQLite store: WAL, one writer task with group commit, reads on their own connection.

::

    store = SqliteStore("durable.db", synchronous="NORMAL", busy_timeout_ms=5000)
    await store.open()          # connects, sets the pragmas, applies pending migrations
    await store.commit(batch)   # queued to the writer; returns once the group is committed
    await store.close()         # commits what is queued, then closes both connections

* Writes: :class:`~durable.store.sqlite_writer.GroupWriter` (one asyncio task, one
  connection, ``BEGIN IMMEDIATE``, one transaction per group of concurrently queued batches).
  ``store.stats`` counts transactions and batches.
* Reads: a second connection (``query_only``), so reads never queue behind the writer; in WAL
  mode each read sees the last committed state.
* Durability: ``synchronous="NORMAL"`` (default) survives a crash of the process; ``"FULL"``
  also a power loss (an fsync per transaction, shared by the whole group).
* Every sqlite3/aiosqlite failure surfaces as :class:`~durable.store.base.StoreError`.

The batch rules and result orders are those of :mod:`durable.store.memory` (one contract suite
runs against both stores).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import aiosqlite

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
    StoreGone,
    StoreUnavailable,
    TimerRecord,
    TokenRecord,
    WriteBatch,
)
from .child_spans import children_page, pick
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
from .sqlite_schema import migrate
from .sqlite_writer import GroupWriter, StoreStats, describe_error

__all__ = ["SqliteStore", "StoreStats"]

Synchronous = Literal["NORMAL", "FULL"]
QuickCheck = Literal["auto", "always", "never"]
QUICK_CHECK_MAX_BYTES = 512 * 1024 * 1024


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


_EXECUTION_SELECT = (
    "SELECT x.arn, x.state_machine_arn, x.name, x.status, x.start_date, x.input, d.body, x.type,"
    " x.stop_date, x.output, x.error, x.cause, x.redrive_count, x.redrive_date, x.event_count"
    " FROM executions x JOIN definitions d ON d.id = x.definition_id"
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
_EXECUTION_ID = "(SELECT id FROM executions WHERE arn = ?)"
# the RUNNING executions with no parking timer: ``parked`` is kept by triggers (schema version 3)
# and this exact condition selects the partial index ``executions_resumable``
_RESUMABLE = "x.status = 'RUNNING' AND x.parked = 0"
# (named: on its own the planner prefers ``executions_by_status``, which visits the parked rows)
_RESUMABLE_SELECT = _EXECUTION_SELECT.replace(
    "FROM executions x", "FROM executions x INDEXED BY executions_resumable"
)
_MAX_INT = 2**63 - 1
_IN_CHUNK = 500  # ARNs per ``IN (...)`` list of the batched reads
_RESUME_SELECT = (
    "SELECT x.arn, x.state_machine_arn, x.name, x.status, x.start_date, x.input, d.body, x.type,"
    " x.stop_date, x.output, x.error, x.cause, x.redrive_count, x.redrive_date, x.event_count,"
    " (SELECT coalesce(max(e.id), 0) FROM events e WHERE e.execution_id = x.id)"
    " FROM executions x JOIN definitions d ON d.id = x.definition_id"
)


def _journal_sql(source: str, where: str) -> str:
    """The journal entries of the executions ``x`` of ``source`` that ``where`` selects: journal
    rows, then the events that stand for entries (schema version 5). Two arms, each reaching its
    table through its ``execution_id`` index; the parameters of ``where`` are needed twice.
    Rows: (arn, lane, seq, kind, payload, event id, event time)."""
    return (
        f"SELECT x.arn, j.lane, j.seq, j.kind, j.payload, NULL, NULL FROM {source}"
        f" JOIN journal j ON j.execution_id = x.id WHERE {where}"
        " UNION ALL "
        f"SELECT x.arn, e.lane, e.seq, 'event', NULL, e.id, e.timestamp FROM {source}"
        f" JOIN events e ON e.execution_id = x.id WHERE ({where}) AND e.lane IS NOT NULL"
    )


class SqliteStore:
    """The durable store on one SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 5000,
        max_group: int = 1000,
        quick_check: QuickCheck = "auto",
    ) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file::memory:"):
            raise StoreError(
                "SqliteStore needs a file (its reader and writer are separate connections); use MemoryStore"
            )
        sync = str(synchronous).upper()
        if sync not in ("NORMAL", "FULL"):
            raise StoreError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        if busy_timeout_ms < 0:
            raise StoreError(f"busy_timeout_ms must not be negative, got {busy_timeout_ms}")
        if max_group < 1:
            raise StoreError(f"max_group must be at least 1, got {max_group}")
        if quick_check not in ("auto", "always", "never"):
            raise StoreError(f"quick_check must be 'auto', 'always' or 'never', got {quick_check!r}")
        self.quick_check: QuickCheck = quick_check
        self.synchronous: Synchronous = "FULL" if sync == "FULL" else "NORMAL"
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.max_group = max_group
        self.migrations_applied = 0  # by the last open()
        self._writer: GroupWriter | None = None
        self._identity: tuple[int, int] | None = None
        self._write_conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._stats = StoreStats()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r}, synchronous={self.synchronous!r})"

    @property
    def fault(self) -> StoreError | None:
        """A fault that ended the store's writing for good (the file was deleted or replaced)."""
        return self._writer.gone if self._writer is not None else None

    @property
    def stats(self) -> StoreStats:
        """Writer counters: ``transactions``, ``batches``, ``failed_batches``, ``largest_group``."""
        return self._writer.stats if self._writer is not None else self._stats

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, set the pragmas, migrate the schema, start the writer (no-op when open)."""
        if self._writer is not None:
            return
        self._create_private()
        write_conn = await self._connect()
        reader: aiosqlite.Connection | None = None
        try:
            await self._check_pages(write_conn)
            rows = list(await write_conn.execute_fetchall("PRAGMA journal_mode = WAL"))
            mode = str(rows[0][0]).lower() if rows else ""
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
            await write_conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            await write_conn.execute("PRAGMA foreign_keys = ON")
            self.migrations_applied = await migrate(write_conn, self.path)
            reader = await self._connect()
            await reader.execute("PRAGMA query_only = ON")
            await reader.execute_fetchall("SELECT count(*) FROM schema_migrations")
        except BaseException as exc:
            for conn in (reader, write_conn):
                if conn is not None:
                    await self._close_quietly(conn)
            if isinstance(exc, sqlite3.Error):
                raise StoreError(describe_error(exc, self.path, self.busy_timeout_ms)) from exc
            raise
        self._write_conn = write_conn
        self._reader = reader
        self._identity = _identity(self.path)
        self._writer = GroupWriter(
            write_conn, self.path, self.busy_timeout_ms, self.max_group, still_there=self._still_there
        )
        self._writer.stats = self._stats
        self._writer.start()

    def _create_private(self) -> None:
        """Create a new database file readable by its owner only (it holds task tokens and
        payloads); SQLite gives its -wal and -shm files the same mode."""
        try:
            fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
        except FileExistsError:
            return
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot open the database file (missing directory or no permission;"
                f" {exc.strerror or exc})"
            ) from None
        os.close(fd)

    async def _check_pages(self, conn: aiosqlite.Connection) -> None:
        """``PRAGMA quick_check`` (every page read, O(size)): a damaged file is refused at open
        rather than found half-way through a recovery. ``auto`` checks files up to 512 MiB."""
        if self.quick_check == "never":
            return
        if self.quick_check == "auto" and os.path.getsize(self.path) > QUICK_CHECK_MAX_BYTES:
            return
        rows = list(await conn.execute_fetchall("PRAGMA quick_check"))
        found = [str(r[0]) for r in rows]
        if found != ["ok"]:
            problems = "; ".join(found[:3])
            raise StoreError(
                f"{self.path}: the database file is damaged ({problems}); restore it from a backup"
            )

    def _still_there(self) -> None:
        """Raise :class:`StoreGone` when the database file was deleted or replaced while open:
        committing would write into a file nobody will ever read again."""
        if self._identity is not None and _identity(self.path) != self._identity:
            raise StoreGone(
                f"{self.path}: the database file was deleted or replaced while the store was open;"
                " the engine stops rather than write into a file nobody reads"
            )

    async def _connect(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(self.path, isolation_level=None)
        # A store the application forgot to close must not keep the interpreter alive at exit:
        # the connection's worker thread is a daemon. Stopping it unclosed is a crash to SQLite,
        # which WAL survives (what commit() confirmed is on disk).
        thread = getattr(pending, "_thread", None)
        if isinstance(thread, threading.Thread) and not thread.is_alive():
            thread.daemon = True
        try:
            conn = await pending
        except sqlite3.Error as exc:
            await self._thread_stopped(pending)
            raise StoreError(describe_error(exc, self.path)) from exc
        try:
            await conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        except sqlite3.Error as exc:
            await self._close_quietly(conn)
            raise StoreError(describe_error(exc, self.path)) from exc
        return conn

    @staticmethod
    async def _thread_stopped(conn: aiosqlite.Connection) -> None:
        """Wait until the worker thread of a connection that failed to open has stopped.

        aiosqlite stops it with a future nobody awaits; if the event loop closed first, the
        thread would die with "Event loop is closed" when it reports back.
        """
        thread = getattr(conn, "_thread", None)
        for _ in range(1000):
            if not isinstance(thread, threading.Thread) or not thread.is_alive():
                return
            await asyncio.sleep(0.001)

    @staticmethod
    async def _close_quietly(conn: aiosqlite.Connection) -> None:
        try:
            await conn.close()
        except (sqlite3.Error, ValueError):  # pragma: no cover - closing a broken connection
            pass

    async def close(self) -> None:
        """Commit what is queued, stop the writer, close both connections (no-op when closed)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        await writer.stop()
        for conn in (self._reader, self._write_conn):
            if conn is not None:
                await self._close_quietly(conn)
        self._reader = self._write_conn = None

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writes ---------------------------------------------------------------------------------
    async def commit(self, batch: WriteBatch) -> None:
        """Apply ``batch`` atomically (in a group commit); return once it is committed.

        Raises :class:`StoreError` if the batch is rejected (see :mod:`durable.store.memory`) or
        the database fails. Cancelling the caller does not withdraw a batch already queued: it
        may still be committed.
        """
        if self._writer is None:
            raise StoreError(f"{self.path}: the store is not open")
        await self._writer.submit(batch)

    async def purge_executions(self, closed_before: float, limit: int = 500) -> list[str]:
        """Delete up to ``limit`` closed executions stopped before ``closed_before`` (see
        :meth:`durable.store.base.Store.purge_executions`), in one short write transaction
        between group commits; return their ARNs."""
        if limit < 1:
            raise StoreError(f"limit must be at least 1, got {limit}")
        if self._writer is None:
            raise StoreError(f"{self.path}: the store is not open")
        return await self._writer.purge(closed_before, limit)

    # -- reads ----------------------------------------------------------------------------------
    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Sequence[Any]]:
        reader = self._reader
        if reader is None:
            raise StoreError(f"{self.path}: the store is not open")
        try:
            return list(await reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StoreUnavailable(describe_error(exc, self.path, self.busy_timeout_ms)) from exc
        except ValueError as exc:  # aiosqlite: the connection was closed meanwhile
            raise StoreError(f"{self.path}: the store is not open") from exc

    async def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        rows = await self._fetch(f"{_STATE_MACHINE_SELECT} WHERE arn = ?", (arn,))
        return state_machine_from(rows[0]) if rows else None

    async def list_state_machines(self) -> list[StateMachineRecord]:
        rows = await self._fetch(f"{_STATE_MACHINE_SELECT} ORDER BY creation_date, arn")
        return [state_machine_from(r) for r in rows]

    async def get_execution(self, arn: str) -> ExecutionRecord | None:
        rows = await self._fetch(f"{_EXECUTION_SELECT} WHERE x.arn = ?", (arn,))
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
            where.append("x.state_machine_arn = ?")
            params.append(state_machine_arn)
        if status is not None:
            where.append("x.status = ?")
            params.append(status)
        if next_token is not None:
            where.append("(x.start_date, x.arn) < (?, ?)")
            params.extend(decode_execution_token(next_token))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        params.append(limit + 1)
        rows = await self._fetch(
            f"{_EXECUTION_SELECT}{clause} ORDER BY x.start_date DESC, x.arn DESC LIMIT ?", params
        )
        items = [execution_from(r) for r in rows[:limit]]
        token = encode_execution_token(items[-1].start_date, items[-1].arn) if len(rows) > limit else None
        return items, token

    async def running_executions(self) -> list[ExecutionRecord]:
        """Every RUNNING execution, oldest first by ``(start_date, arn)``."""
        rows = await self._fetch(
            f"{_EXECUTION_SELECT} WHERE x.status = 'RUNNING' ORDER BY x.start_date, x.arn"
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
        """Events by id (descending with ``reverse``), ``limit`` per page."""
        check_limit(limit)
        after = None if next_token is None else decode_event_token(next_token)
        if reverse:
            condition, order, bound = "id < ?", "DESC", _MAX_INT if after is None else after
        else:
            condition, order, bound = "id > ?", "ASC", -_MAX_INT if after is None else after
        rows = await self._fetch(
            "SELECT id, type, previous_event_id, timestamp, details, lane, seq FROM events"
            f" WHERE execution_id = {_EXECUTION_ID} AND {condition} ORDER BY id {order} LIMIT ?",
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

    async def resumable_executions(self) -> list[ExecutionRecord]:
        """RUNNING executions with no parking timer, oldest first by ``(start_date, arn)``."""
        rows = await self._fetch(f"{_RESUMABLE_SELECT} WHERE {_RESUMABLE} ORDER BY x.start_date, x.arn")
        return [execution_from(r) for r in rows]

    async def resumable_page(
        self, after: tuple[float, str] | None = None, limit: int = 1000
    ) -> list[ExecutionRecord]:
        """Up to ``limit`` resumable executions after the ``(start_date, arn)`` key ``after``."""
        check_limit(limit)
        if after is None:
            rows = await self._fetch(
                f"{_RESUMABLE_SELECT} WHERE {_RESUMABLE} ORDER BY x.start_date, x.arn LIMIT ?", (limit,)
            )
        else:
            rows = await self._fetch(
                f"{_RESUMABLE_SELECT} WHERE {_RESUMABLE} AND (x.start_date, x.arn) > (?, ?)"
                " ORDER BY x.start_date, x.arn LIMIT ?",
                (after[0], after[1], limit),
            )
        return [execution_from(r) for r in rows]

    async def resume_records(self, execution_arns: Sequence[str]) -> dict[str, ResumeRecord]:
        """Three queries per :data:`_IN_CHUNK` executions (records with their last event ids,
        journals, state machines), whatever the number of executions."""
        found: dict[str, ResumeRecord] = {}
        arns = list(dict.fromkeys(execution_arns))
        for first in range(0, len(arns), _IN_CHUNK):
            chunk = arns[first : first + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = await self._fetch(f"{_RESUME_SELECT} WHERE x.arn IN ({marks})", chunk)
            if not rows:
                continue
            journals: dict[str, list[JournalRecord]] = {r[0]: [] for r in rows}
            for r in await self._fetch(_journal_sql("executions x", f"x.arn IN ({marks})"), chunk * 2):
                journals[r[0]].append(journal_entry_from(r))
            machine_arns = list({r[1] for r in rows})
            machines = {
                m.arn: m
                for m in map(
                    state_machine_from,
                    await self._fetch(
                        f"{_STATE_MACHINE_SELECT} WHERE arn IN ({','.join('?' * len(machine_arns))})",
                        machine_arns,
                    ),
                )
            }
            for r in rows:
                found[r[0]] = ResumeRecord(
                    execution=execution_from(r),
                    journal=journals[r[0]],
                    last_event_id=int(r[15]),
                    state_machine=machines.get(r[1]),
                )
        return found

    async def tokens_and_timers(
        self, execution_arns: Sequence[str]
    ) -> dict[str, tuple[list[TokenRecord], list[TimerRecord]]]:
        """Two queries per :data:`_IN_CHUNK` executions."""
        arns = list(dict.fromkeys(execution_arns))
        found: dict[str, tuple[list[TokenRecord], list[TimerRecord]]] = {a: ([], []) for a in arns}
        for first in range(0, len(arns), _IN_CHUNK):
            chunk = arns[first : first + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for r in await self._fetch(
                f"{_TOKEN_SELECT} WHERE closed = 0 AND execution_arn IN ({marks}) ORDER BY created, token",
                chunk,
            ):
                found[r[1]][0].append(token_from(r))
            for r in await self._fetch(
                "SELECT execution_arn, key, due, parks FROM timers"
                f" WHERE execution_arn IN ({marks}) ORDER BY due, key",
                chunk,
            ):
                found[r[0]][1].append(TimerRecord(execution_arn=r[0], key=r[1], due=r[2], parks=bool(r[3])))
        return found

    async def last_event_id(self, execution_arn: str) -> int:
        rows = await self._fetch(
            f"SELECT coalesce(max(id), 0) FROM events WHERE execution_id = {_EXECUTION_ID}", (execution_arn,)
        )
        return int(rows[0][0]) if rows else 0

    async def journal(self, execution_arn: str) -> list[JournalRecord]:
        """Every journal entry of the execution, ordered by (lane, seq)."""
        rows = await self._fetch(
            _journal_sql("executions x", "x.arn = ?") + " ORDER BY 2, 3", (execution_arn, execution_arn)
        )
        return [journal_entry_from(r) for r in rows]

    async def timers(
        self, until: float | None = None, limit: int | None = None, *, after: float | None = None
    ) -> list[TimerRecord]:
        """Timers due in ``(after, until]`` (unbounded where None), earliest first."""
        if limit is not None and limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        sql = "SELECT execution_arn, key, due, parks FROM timers"
        where: list[str] = []
        params: list[Any] = []
        if until is not None:
            where.append("due <= ?")
            params.append(until)
        if after is not None:
            where.append("due > ?")
            params.append(after)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY due, execution_arn, key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = await self._fetch(sql, params)
        return [TimerRecord(execution_arn=r[0], key=r[1], due=r[2], parks=bool(r[3])) for r in rows]

    async def execution_timers(self, execution_arn: str) -> list[TimerRecord]:
        rows = await self._fetch(
            "SELECT execution_arn, key, due, parks FROM timers WHERE execution_arn = ? ORDER BY due, key",
            (execution_arn,),
        )
        return [TimerRecord(execution_arn=r[0], key=r[1], due=r[2], parks=bool(r[3])) for r in rows]

    async def requests(self, after: int = 0, limit: int = 1000) -> list[RequestRecord]:
        rows = await self._fetch(
            "SELECT id, ref, execution_arn, kind, token, payload, created FROM requests"
            " WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [
            RequestRecord(
                id=r[0], ref=r[1], execution_arn=r[2], kind=r[3], token=r[4], payload=r[5], created=r[6]
            )
            for r in rows
        ]

    async def get_token(self, token: str) -> TokenRecord | None:
        rows = await self._fetch(f"{_TOKEN_SELECT} WHERE token = ?", (token,))
        return token_from(rows[0]) if rows else None

    async def open_tokens(self, execution_arn: str | None = None) -> list[TokenRecord]:
        """Tokens not closed (of one execution, or all), by ``(created, token)``."""
        if execution_arn is None:
            rows = await self._fetch(f"{_TOKEN_SELECT} WHERE closed = 0 ORDER BY created, token")
        else:
            rows = await self._fetch(
                f"{_TOKEN_SELECT} WHERE closed = 0 AND execution_arn = ? ORDER BY created, token",
                (execution_arn,),
            )
        return [token_from(r) for r in rows]

    async def get_activity(self, arn: str) -> ActivityRecord | None:
        rows = await self._fetch("SELECT arn, name, creation_date FROM activities WHERE arn = ?", (arn,))
        return ActivityRecord(arn=rows[0][0], name=rows[0][1], creation_date=rows[0][2]) if rows else None

    async def list_activities(self) -> list[ActivityRecord]:
        rows = await self._fetch(
            "SELECT arn, name, creation_date FROM activities ORDER BY creation_date, arn"
        )
        return [ActivityRecord(arn=r[0], name=r[1], creation_date=r[2]) for r in rows]

    async def pending_activity_tasks(self, activity_arn: str, limit: int = 1) -> list[ActivityTaskRecord]:
        """Scheduled, not yet started tasks of the activity, oldest first."""
        if limit < 0:
            raise StoreError(f"limit must not be negative, got {limit}")
        rows = await self._fetch(
            f"{_TASK_SELECT} WHERE activity_arn = ? AND started IS NULL ORDER BY scheduled, token LIMIT ?",
            (activity_arn, limit),
        )
        return [activity_task_from(r) for r in rows]

    async def get_activity_task(self, token: str) -> ActivityTaskRecord | None:
        rows = await self._fetch(f"{_TASK_SELECT} WHERE token = ?", (token,))
        return activity_task_from(rows[0]) if rows else None

    async def get_metadata(self, kind: str, arn: str) -> MetadataRecord | None:
        rows = await self._fetch(f"{SELECT_METADATA} WHERE kind = ? AND arn = ?", (kind, arn))
        return metadata_from(rows[0]) if rows else None

    async def list_metadata(self, kind: str, parent: str | None = None) -> list[MetadataRecord]:
        if parent is None:
            rows = await self._fetch(f"{SELECT_METADATA} WHERE kind = ? ORDER BY created, arn", (kind,))
        else:
            rows = await self._fetch(
                f"{SELECT_METADATA} WHERE kind = ? AND parent = ? ORDER BY created, arn", (kind, parent)
            )
        return [metadata_from(r) for r in rows]

    async def get_child_execution(self, arn: str) -> ChildExecutionRecord | None:
        query = child_query(arn)
        if query is None:
            return None
        return pick([child_from(r) for r in await self._fetch(*query)], arn)

    async def list_child_executions(
        self,
        map_run_arn: str,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ChildExecutionRecord], str | None]:
        async def fetch(below: int | None, n: int) -> list[ChildExecutionRecord]:
            rows = await self._fetch(*child_rows_query(map_run_arn, status, below, n))
            return [child_from(r) for r in rows]

        return await children_page(fetch, status, limit, next_token)

    async def list_child_rows(self, map_run_arn: str, start: int, limit: int) -> list[ChildExecutionRecord]:
        return [child_from(r) for r in await self._fetch(*child_rows_from_query(map_run_arn, start, limit))]
