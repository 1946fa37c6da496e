"""SqliteStore beyond the shared contract: persistence, pragmas, migrations, errors, group commit."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable.store import BatchRejected, SqliteStore, StoreError, StoreUnavailable, WriteBatch
from durable.store.base import StoreGone
from durable.store.sqlite_schema import SCHEMA_VERSION

from .records import entry, event, exec_arn, execution, machine, timer, token

A = exec_arn("a")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "durable.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(db)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _pragma(store: SqliteStore, name: str) -> object:
    conn = store._write_conn
    assert conn is not None
    rows = list(await conn.execute_fetchall(f"PRAGMA {name}"))
    return rows[0][0]


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_data_survives_close_and_reopen(db: Path) -> None:
    async with SqliteStore(db) as first:
        await first.commit(
            WriteBatch(
                state_machines=[machine("m")],
                executions=[execution("a")],
                events=[event(A, 1), event(A, 2)],
                journal=[entry(A, "", 1)],
                timers=[timer(A, "k", 5.0)],
                tokens=[token("t", A)],
            )
        )
        # commits queued when close() starts still land
        pending = [
            asyncio.ensure_future(first.commit(WriteBatch(events=[event(A, n)]))) for n in range(3, 13)
        ]
        await asyncio.sleep(0)  # let them queue their batches
        assert not any(p.done() for p in pending)
    await asyncio.gather(*pending)
    async with SqliteStore(db) as second:
        assert await second.get_state_machine(machine("m").arn) == machine("m")
        assert await second.get_execution(A) == execution("a")
        assert [e.id for e in (await second.events(A))[0]] == list(range(1, 13))
        assert await second.journal(A) == [entry(A, "", 1)]
        assert await second.timers() == [timer(A, "k", 5.0)]
        assert await second.get_token("t") == token("t", A)
        await second.commit(WriteBatch(events=[event(A, 13)]))  # execution ids are found again
        assert (await second.events(A, reverse=True, limit=1))[0][0].id == 13


@pytest.mark.parametrize(("synchronous", "level"), [("NORMAL", 1), ("FULL", 2)])
async def test_wal_and_synchronous_pragmas(db: Path, synchronous: str, level: int) -> None:
    async with SqliteStore(db, synchronous=synchronous, busy_timeout_ms=1234) as store:  # type: ignore[arg-type]
        assert await _pragma(store, "journal_mode") == "wal"
        assert await _pragma(store, "synchronous") == level
        assert await _pragma(store, "foreign_keys") == 1
        assert await _pragma(store, "busy_timeout") == 1234
    assert _query(db, "PRAGMA journal_mode") == [("wal",)]


def test_bad_arguments() -> None:
    with pytest.raises(StoreError):
        SqliteStore("x.db", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        SqliteStore(":memory:")


async def test_migrations_are_recorded_and_not_reapplied(db: Path) -> None:
    async with SqliteStore(db) as store:
        assert store.migrations_applied == SCHEMA_VERSION
    recorded = _query(db, "SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert [v for v, _ in recorded] == list(range(1, SCHEMA_VERSION + 1))
    async with SqliteStore(db) as again:
        assert again.migrations_applied == 0
    assert _query(db, "SELECT version, applied_at FROM schema_migrations ORDER BY version") == recorded
    tables = {name for (name,) in _query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "executions",
        "events",
        "journal",
        "timers",
        "tokens",
        "state_machines",
        "activities",
        "activity_tasks",
        "schema_migrations",
    } <= tables


async def test_a_newer_schema_is_refused(db: Path) -> None:
    async with SqliteStore(db):
        pass
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (SCHEMA_VERSION + 7,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=rf"version {SCHEMA_VERSION + 7}.*upgrade durable"):
        await SqliteStore(db).open()


async def test_a_corrupt_file_is_a_store_error(db: Path) -> None:
    db.write_bytes(b"this is not a database, just some text that is long enough " * 100)
    with pytest.raises(StoreError, match="not a SQLite database"):
        await SqliteStore(db).open()


async def test_an_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        await SqliteStore(tmp_path / "missing-dir" / "x.db").open()
    with pytest.raises(StoreError):
        await SqliteStore(tmp_path).open()  # a directory


async def test_a_database_locked_beyond_the_busy_timeout(db: Path) -> None:
    async with SqliteStore(db, busy_timeout_ms=50) as store:
        await store.commit(WriteBatch(executions=[execution("a")]))
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with pytest.raises(StoreUnavailable, match="locked"):  # may succeed later
                await store.commit(WriteBatch(events=[event(A, 1)]))
            assert await store.get_execution(A) is not None  # reads still work
        finally:
            other.execute("ROLLBACK")
            other.close()
        await store.commit(WriteBatch(events=[event(A, 1)]))
        assert [e.id for e in (await store.events(A))[0]] == [1]


async def test_group_commit_shares_transactions(store: SqliteStore) -> None:
    await store.commit(WriteBatch(executions=[execution(f"x{i}") for i in range(500)]))
    before = store.stats.transactions

    async def one(i: int) -> None:
        arn = exec_arn(f"x{i}")
        await store.commit(WriteBatch(events=[event(arn, 1), event(arn, 2)], journal=[entry(arn, "", 1)]))

    await asyncio.gather(*(one(i) for i in range(500)))
    used = store.stats.transactions - before
    assert used <= 10, used  # 500 batches, a handful of transactions
    assert store.stats.largest_group >= 100
    assert store.stats.batches == 501


async def test_a_bad_batch_is_retried_apart_from_its_group(store: SqliteStore) -> None:
    await store.commit(WriteBatch(executions=[execution("a")], events=[event(A, 1)]))
    results = await asyncio.gather(
        *(store.commit(WriteBatch(executions=[execution(f"g{i}")])) for i in range(10)),
        store.commit(WriteBatch(events=[event(A, 1)])),  # only the database sees this duplicate
        return_exceptions=True,
    )
    assert [r for r in results if r is not None] and all(
        isinstance(r, BatchRejected) for r in results if r is not None
    )
    assert store.stats.rollbacks >= 1 and store.stats.failed_batches == 1
    assert len((await store.list_executions(limit=100))[0]) == 11


async def test_definitions_are_stored_once(store: SqliteStore, db: Path) -> None:
    other = '{"StartAt":"B","States":{"B":{"Type":"Succeed"}}}'
    await store.commit(WriteBatch(executions=[execution(f"x{i}") for i in range(20)]))
    await store.commit(WriteBatch(executions=[execution(f"y{i}", definition=other) for i in range(5)]))
    assert _query(db, "SELECT count(*) FROM definitions") == [(2,)]
    got = await store.get_execution(exec_arn("y3"))
    assert got is not None and got.definition == other


async def test_readers_on_other_connections_while_writing(store: SqliteStore, db: Path) -> None:
    await store.commit(WriteBatch(executions=[execution("a")], events=[event(A, 1)]))
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM events").fetchone() == (1,)
        # the writer is not blocked by an open read transaction (WAL)
        await store.commit(WriteBatch(events=[event(A, n) for n in range(2, 6)]))
        assert reader.execute("SELECT count(*) FROM events").fetchone() == (1,)  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM events").fetchone() == (5,)
    finally:
        reader.close()

    # a second store (another process would do the same) reads what the first committed
    async with SqliteStore(db) as second:
        assert [e.id for e in (await second.events(A))[0]] == [1, 2, 3, 4, 5]

    # and a real second process reads while this one keeps writing
    script = textwrap.dedent(
        f"""
        import sqlite3, time
        conn = sqlite3.connect({str(db)!r}, timeout=5)
        seen = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            seen.add(n)
            if n >= 105:
                break
            time.sleep(0.002)
        print(len(seen), max(seen))
        """
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=subprocess.PIPE)
    for n in range(6, 106):
        await store.commit(WriteBatch(events=[event(A, n)]))
        if n % 10 == 0:
            await asyncio.sleep(0.01)
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    distinct, last = map(int, out.split())
    assert last == 105 and distinct >= 1


async def test_unstorable_values_are_a_store_error(store: SqliteStore) -> None:
    bad = execution("a", input={"not": "text"})  # msgspec does not check types on construction
    with pytest.raises(BatchRejected, match="batch rejected"):
        await store.commit(WriteBatch(executions=[bad]))
    assert await store.get_execution(A) is None
    await store.commit(WriteBatch(executions=[execution("a")]))


@pytest.mark.parametrize(
    "bad",
    [
        WriteBatch(state_machines=[machine("y\ud800")]),  # a lone surrogate: sqlite3 cannot encode it
        WriteBatch(executions=[execution("big", redrive_count=10**30)]),  # larger than SQLite's integers
    ],
    ids=["surrogate", "huge-int"],
)
async def test_a_value_the_database_cannot_encode_fails_only_its_batch(
    store: SqliteStore, bad: WriteBatch
) -> None:
    results = await asyncio.gather(
        *(store.commit(WriteBatch(executions=[execution(f"g{i}")])) for i in range(5)),
        store.commit(bad),
        *(store.commit(WriteBatch(executions=[execution(f"h{i}")])) for i in range(5)),
        return_exceptions=True,
    )
    assert isinstance(results[5], BatchRejected), results
    assert all(r is None for i, r in enumerate(results) if i != 5), results
    # the writer lives on: later commits still land
    await store.commit(WriteBatch(executions=[execution("after")]))
    assert await store.get_execution(exec_arn("after")) is not None
    assert len((await store.list_executions(limit=100))[0]) == 11


# -- the file under the store -------------------------------------------------------------------------


async def test_a_new_database_is_readable_by_its_owner_only(db: Path) -> None:
    async with SqliteStore(db) as store:
        await store.commit(WriteBatch(executions=[execution("a")]))  # makes the -wal file too
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert path.stat().st_mode & 0o777 == 0o600, path


async def test_a_damaged_page_is_refused_at_open(db: Path) -> None:
    async with SqliteStore(db) as store:
        await store.commit(
            WriteBatch(executions=[execution(f"x{i}", input='"' + "p" * 3000 + '"') for i in range(50)])
        )
    data = bytearray(db.read_bytes())
    assert len(data) > 40_000
    data[20_000:20_400] = b"\xff" * 400  # a page in the middle, header intact
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"damaged|not a SQLite database"):
        await SqliteStore(db, quick_check="always").open()


async def test_a_deleted_database_file_stops_the_writes(db: Path) -> None:
    async with SqliteStore(db) as store:
        await store.commit(WriteBatch(executions=[execution("a")]))
        db.unlink()
        with pytest.raises(StoreGone, match="deleted or replaced"):
            await store.commit(WriteBatch(executions=[execution("b")]))
        assert isinstance(store.fault, StoreGone)
        with pytest.raises(StoreGone):
            await store.commit(WriteBatch(executions=[execution("c")]))


async def test_a_replaced_database_file_stops_the_writes(db: Path, tmp_path: Path) -> None:
    async with SqliteStore(db) as store:
        await store.commit(WriteBatch(executions=[execution("a")]))
        other = tmp_path / "other.db"
        async with SqliteStore(other) as second:
            await second.commit(WriteBatch(executions=[execution("z")]))
        os.replace(other, db)
        with pytest.raises(StoreGone):
            await store.commit(WriteBatch(executions=[execution("b")]))


async def test_version_3_marks_the_parked_executions_of_an_older_database(db: Path) -> None:
    """A database written before the ``parked`` flag: its parked executions stay parked."""
    import aiosqlite

    from durable.store.sqlite_schema import MIGRATIONS, migrate

    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await migrate(conn, str(db), MIGRATIONS[:2])
        await conn.execute("INSERT INTO definitions (id, sha256, body) VALUES (1, 'x', '{}')")
        for i, name in enumerate(("a", "b", "c")):
            await conn.execute(
                "INSERT INTO executions (id, arn, state_machine_arn, name, status, start_date, input,"
                " definition_id, type, redrive_count, event_count)"
                " VALUES (?, ?, 'sm', ?, 'RUNNING', ?, '{}', 1, 'STANDARD', 0, 0)",
                (i + 1, exec_arn(name), name, 100.0 + i),
            )
        await conn.execute(
            "INSERT INTO timers (execution_arn, key, due, parks) VALUES (?, 'park:#1', 5.0, 1)",
            (exec_arn("b"),),
        )
        await conn.execute(
            "INSERT INTO timers (execution_arn, key, due, parks) VALUES (?, 'token:t', 5.0, 0)",
            (exec_arn("c"),),
        )
    async with SqliteStore(db) as store:
        assert store.migrations_applied == SCHEMA_VERSION - 2
        assert [x.name for x in await store.resumable_page(limit=10)] == ["a", "c"]
        assert [x.name for x in await store.resumable_executions()] == ["a", "c"]
        await store.commit(WriteBatch(deleted_timers=[(exec_arn("b"), "park:#1")]))
        assert [x.name for x in await store.resumable_page(limit=10)] == ["a", "b", "c"]


async def test_resumable_page_reads_no_parked_row(store: SqliteStore, db: Path) -> None:
    """Opening lists resumable executions through the partial index, not by visiting parked ones."""
    from durable.store import sqlite as module

    await store.commit(WriteBatch(executions=[execution("a")]))
    sql = (
        f"{module._RESUMABLE_SELECT} WHERE {module._RESUMABLE} AND (x.start_date, x.arn) > (0, '')"
        " ORDER BY x.start_date, x.arn LIMIT 10"
    )
    plan = " ".join(str(r[-1]) for r in _query(db, f"EXPLAIN QUERY PLAN {sql}"))
    assert "executions_resumable" in plan and "TEMP B-TREE" not in plan


async def test_version_5_keeps_the_journal_of_an_older_database(db: Path) -> None:
    """Before version 5 an event's journal entry was a journal row: such rows still replay, and
    events written after the upgrade stand for their entries themselves."""
    import aiosqlite

    from durable.store.sqlite_schema import MIGRATIONS, migrate

    a = exec_arn("a")
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await migrate(conn, str(db), MIGRATIONS[:4])
        await conn.execute("INSERT INTO definitions (id, sha256, body) VALUES (1, 'x', '{}')")
        await conn.execute(
            "INSERT INTO executions (id, arn, state_machine_arn, name, status, start_date, input,"
            " definition_id, type, redrive_count, event_count)"
            " VALUES (1, ?, 'sm', 'a', 'RUNNING', 100.0, '{}', 1, 'STANDARD', 0, 1)",
            (a,),
        )
        await conn.execute(
            "INSERT INTO events (execution_id, id, type, previous_event_id, timestamp, details)"
            " VALUES (1, 1, 'ExecutionStarted', 0, 100.5, NULL)"
        )
        await conn.execute("INSERT INTO journal VALUES (1, '', 1, 'event', '[1,100.5]')")
    async with SqliteStore(db) as store:
        assert store.migrations_applied == SCHEMA_VERSION - 4
        await store.commit(WriteBatch(events=[event(a, 2, timestamp=101.0, lane="", seq=2)]))
        got = await store.journal(a)
        assert [(j.lane, j.seq, j.kind, j.payload) for j in got] == [
            ("", 1, "event", "[1,100.5]"),
            ("", 2, "event", "[2,101.0]"),
        ]
