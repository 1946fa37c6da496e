from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable.store import MemoryStore, SqliteStore, Store, open_store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store of each kind (the contract suite runs against all three; the PostgreSQL
    one on a new database of the session's throwaway server, see ``tests/conftest.py``)."""
    s: Store
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SqliteStore(tmp_path / "store.db")
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    await s.open()
    try:
        yield s
    finally:
        await s.close()
