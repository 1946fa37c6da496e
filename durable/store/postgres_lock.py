"""The ownership of a PostgreSQL database: a session-level advisory lock held on its own connection.

An executing engine holds ``pg_advisory_lock(OWNER_LOCK)`` for as long as it is open (see
:mod:`durable.runtime.ownership`). The server releases it when the holder's connection ends —
the process exited, or was killed with ``kill -9`` (the kernel closes its socket) — so a
restarted engine never waits for a dead one. The holder names itself in its connection's
``application_name``, which :meth:`PgOwnerLock.holder` reads back for messages.

This is one owner per database, as on SQLite; several executing processes with per-execution
leases are the next step (``docs/scale-out.md``).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import psycopg

from ..errors import DurableError
from .postgres import PostgresStore

__all__ = ["OWNER_LOCK", "PgOwnerLock"]

OWNER_LOCK = 0x64757261626C6533  # "durable3"
_HIGH, _LOW = (OWNER_LOCK >> 32) & 0xFFFFFFFF, OWNER_LOCK & 0xFFFFFFFF
_HOLDER = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database()) AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"
)


class PgOwnerLock:
    """The :class:`~durable.runtime.ownership.Ownership` of a :class:`PostgresStore`'s database."""

    def __init__(self, store: PostgresStore, *, shared: bool = False) -> None:
        # shared: held by each of several engines sharing the database (durable.store.postgres_lease);
        # the shared and the exclusive lock exclude each other
        self._mode = "_shared" if shared else ""
        self._url = store.url
        self._where = store.where
        self._timeout = max(1, round(store.connect_timeout))
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    @property
    def connection(self) -> psycopg.Connection[Any] | None:
        """The connection holding the lock (None when not held)."""
        return self._conn

    def _connect(self, name: str) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self._url, autocommit=True, connect_timeout=self._timeout, application_name=name[:63]
            )
        except psycopg.Error as exc:
            raise DurableError(f"{self._where}: cannot connect to take the engine lock: {exc}") from None

    def try_acquire(self, role: str) -> bool:
        if self._conn is not None:
            return True
        conn = self._connect(f"durable {role} (pid {os.getpid()})")
        try:
            row = conn.execute(f"SELECT pg_try_advisory_lock{self._mode}(%s)", (OWNER_LOCK,)).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise DurableError(f"{self._where}: cannot take the engine lock: {exc}") from None
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"SELECT pg_advisory_unlock{self._mode}(%s)", (OWNER_LOCK,))
            conn.close()

    def holder(self) -> str:
        try:
            with self._connect("durable probe") as conn:
                row = conn.execute(_HOLDER, (_HIGH, _LOW)).fetchone()
        except (DurableError, psycopg.Error):
            return ""
        name = str(row[0]) if row else ""
        return name.removeprefix("durable ")

    def is_held_elsewhere(self) -> bool:
        if self._conn is not None:
            return False
        if self.try_acquire("probe"):
            self.release()
            return False
        return True
