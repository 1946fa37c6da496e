from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable.store import MemoryStore, SqliteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store of each kind (the contract suite runs against both)."""
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "store.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()
