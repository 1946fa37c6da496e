"""PostgresStore beyond the shared contract: migrations, errors, group commit (on a throwaway server)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from durable.store import BatchRejected, StoreError, StoreUnavailable, WriteBatch, open_store
from durable.store.postgres import PostgresStore
from durable.store.postgres_schema import SCHEMA_VERSION

from .records import event, exec_arn, execution, machine

_TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
)


def _store(url: str) -> PostgresStore:
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    return store


async def test_migrations_are_recorded_and_not_reapplied(pg_url: str) -> None:
    async with _store(pg_url) as store:
        assert store.migrations_applied == SCHEMA_VERSION
        await store.commit(WriteBatch(executions=[execution("a")], events=[event(exec_arn("a"), 1)]))
    async with _store(pg_url) as again:
        assert again.migrations_applied == 0
        assert await again.last_event_id(exec_arn("a")) == 1
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


async def test_two_stores_opening_a_new_database_migrate_once(pg_url: str) -> None:
    first, second = _store(pg_url), _store(pg_url)
    await asyncio.gather(first.open(), second.open())
    try:
        assert sorted([first.migrations_applied, second.migrations_applied]) == [0, SCHEMA_VERSION]
    finally:
        await first.close()
        await second.close()


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    async with _store(pg_url):
        pass
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
    with pytest.raises(StoreError, match="version 999"):
        await _store(pg_url).open()


async def test_an_unreachable_server_is_store_unavailable(pg_url: str) -> None:
    base = pg_url.rsplit(":", 1)[0]
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        await open_store(f"{base}:1/nowhere?connect_timeout=2").open()
    with pytest.raises(StoreUnavailable):
        await open_store(pg_url + "_missing").open()


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(WriteBatch(state_machines=[machine("x\x00y")]), id="nul"),
        pytest.param(WriteBatch(state_machines=[machine("y\ud800")]), id="surrogate"),
        pytest.param(WriteBatch(executions=[execution("z", event_count=2**70)]), id="big-int"),
    ],
)
async def test_a_value_the_database_cannot_take_fails_only_its_batch(pg_url: str, bad: WriteBatch) -> None:
    async with _store(pg_url) as store:
        results = await asyncio.gather(
            store.commit(WriteBatch(executions=[execution("a")])),
            store.commit(bad),
            store.commit(WriteBatch(executions=[execution("b")])),
            return_exceptions=True,
        )
        assert results[0] is None and results[2] is None, results
        assert isinstance(results[1], BatchRejected), results
        assert await store.get_execution(exec_arn("b")) is not None
        with pytest.raises(BatchRejected):  # alone in its group
            await store.commit(bad)


async def test_group_commit_shares_transactions(pg_url: str) -> None:
    async with _store(pg_url) as store:
        await asyncio.gather(*(store.commit(WriteBatch(executions=[execution(f"g{i}")])) for i in range(50)))
        assert store.stats.batches == 50 and store.stats.transactions < 50


async def test_a_server_gone_mid_flight_is_store_unavailable(pg_server: object, pg_url: str) -> None:
    async with PostgresStore(pg_url, connect_timeout=1.0) as store:  # waits 1 s for a connection
        await store.commit(WriteBatch(executions=[execution("a")]))
        name = pg_url.rsplit("/", 1)[1]
        with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(_TERMINATE, (name,))
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'.encode())
            admin.execute(_TERMINATE, (name,))
        with pytest.raises(StoreUnavailable):
            await store.commit(WriteBatch(executions=[execution("b")]))
        with pytest.raises(StoreUnavailable):
            await store.get_execution(exec_arn("a"))
        with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'.encode())
        for _ in range(30):  # the pool reconnects (with a back-off): the same batch commits later
            try:
                await store.commit(WriteBatch(executions=[execution("c")]))
                break
            except StoreUnavailable:
                await asyncio.sleep(0.5)
        assert await store.get_execution(exec_arn("c")) is not None
