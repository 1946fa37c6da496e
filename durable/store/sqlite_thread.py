"""Run a function on an aiosqlite connection's own thread, with the connection.

aiosqlite runs every statement on one thread per connection and hands each result back to the
event loop: a thread round trip per statement. The store's writer runs a whole transaction
(``BEGIN`` ... ``COMMIT``, a dozen statements) as ONE call on that thread instead, which at low
concurrency divides a commit's latency several times. aiosqlite offers no public method for
this, but it is the mechanism of every method it has (``Connection._execute`` with the
``sqlite3`` connection, ``Connection._conn``); ``tests/store/test_sqlite_thread.py`` pins both,
so an aiosqlite release that changes them fails the suite rather than a user.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

__all__ = ["in_connection_thread"]

T = TypeVar("T")


async def in_connection_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """``fn(db, *args)`` on ``conn``'s thread, ``db`` being its ``sqlite3.Connection``.

    ``fn`` must not block on the event loop; an exception it raises is raised here."""

    def call() -> T:
        db: sqlite3.Connection = conn._conn
        return fn(db, *args)

    result: T = await conn._execute(call)  # type: ignore[no-untyped-call]
    return result
