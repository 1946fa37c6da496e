"""The aiosqlite mechanism the store's writer relies on to run a transaction as one call."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from durable.store.sqlite_thread import in_connection_thread


async def test_runs_on_the_connection_thread_with_its_sqlite3_connection(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "t.db", isolation_level=None) as conn:
        await conn.execute("CREATE TABLE t (x INTEGER)")

        def work(db: sqlite3.Connection, values: list[int]) -> tuple[int, str]:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
            db.execute("COMMIT")
            return db.execute("SELECT sum(x) FROM t").fetchone()[0], threading.current_thread().name

        total, thread = await in_connection_thread(conn, work, [1, 2, 3])
        assert total == 6
        assert thread != threading.current_thread().name  # not the event loop's thread
        # the connection goes on working as usual afterwards
        assert list(await conn.execute_fetchall("SELECT count(*) FROM t")) == [(3,)]


async def test_an_exception_in_the_call_is_raised_to_the_caller(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "t.db", isolation_level=None) as conn:

        def broken(db: sqlite3.Connection) -> None:
            db.execute("SELECT * FROM missing_table")

        with pytest.raises(sqlite3.OperationalError, match="missing_table"):
            await in_connection_thread(conn, broken)
