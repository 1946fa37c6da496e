"""open_store: memory and SQLite URLs, bare paths, options, unknown schemes."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable.store import MemoryStore, SqliteStore, StoreError, open_store


@pytest.mark.parametrize("url", [None, "memory://"])
def test_memory(url: str | None) -> None:
    assert isinstance(open_store(url), MemoryStore)


@pytest.mark.parametrize(
    ("url", "path", "synchronous"),
    [
        ("sqlite:///relative.db", "relative.db", "NORMAL"),
        ("sqlite:///dir/relative.db?synchronous=FULL", "dir/relative.db", "FULL"),
        ("sqlite:////abs/path.db", "/abs/path.db", "NORMAL"),
        ("sqlite:////abs/with%20space.db?synchronous=normal", "/abs/with space.db", "NORMAL"),
        ("state.db", "state.db", "NORMAL"),
        ("/var/lib/durable/state.sqlite?synchronous=FULL", "/var/lib/durable/state.sqlite", "FULL"),
        ("x.sqlite3", "x.sqlite3", "NORMAL"),
    ],
)
def test_sqlite(url: str, path: str, synchronous: str) -> None:
    store = open_store(url)
    assert isinstance(store, SqliteStore)
    assert store.path == path and store.synchronous == synchronous


def test_busy_timeout_and_path_objects(tmp_path: Path) -> None:
    store = open_store("sqlite:///a.db?busy_timeout_ms=250")
    assert isinstance(store, SqliteStore) and store.busy_timeout_ms == 250
    assert isinstance(open_store(tmp_path / "p.db"), SqliteStore)


@pytest.mark.parametrize(
    "url",
    [
        "file.txt",
        "postgresql://localhost/db?pool_size=many",
        "",
        "sqlite://relative.db",
        "sqlite:///",
        "sqlite:///x.db?synchronous=OFF",
        "sqlite:///x.db?busy_timeout_ms=soon",
        "sqlite:///x.db?cache=shared",
    ],
)
def test_rejected(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


async def test_opened_from_url_works(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/u.db")
    await store.open()
    try:
        assert await store.list_state_machines() == []
    finally:
        await store.close()
    assert (tmp_path / "u.db").exists()


@pytest.mark.parametrize(
    "url", ["postgresql://u:secret@db.example:5433/durable", "postgres://db.example:5433/durable"]
)
def test_postgres(url: str) -> None:
    from durable.store.postgres import PostgresStore

    store = open_store(url + "?pool_size=4&sslmode=prefer")
    assert isinstance(store, PostgresStore)
    assert store.pool_size == 4 and store.url.endswith("/durable?sslmode=prefer")
    assert "secret" not in repr(store) and "db.example:5433/durable" in repr(store)
