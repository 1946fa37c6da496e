"""Contract of the ``metadata`` entries (versions, aliases, tags, configurations), both stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from durable.store import Conflict, MetadataAbsent, MetadataRecord, SqliteStore, Store, WriteBatch

from .records import exec_arn, execution, sm_arn


def _entry(kind: str, arn: str, parent: str = "", created: float = 1.0, body: str = "{}") -> MetadataRecord:
    return MetadataRecord(kind=kind, arn=arn, parent=parent, body=body, created=created)


async def test_metadata_upsert_get_list_by_kind_and_parent(store: Store) -> None:
    m, n = sm_arn("m"), sm_arn("n")
    await store.commit(
        WriteBatch(
            metadata=[
                _entry("version", f"{m}:2", m, created=2.0),
                _entry("version", f"{m}:1", m, created=1.0),
                _entry("version", f"{n}:1", n, created=0.5),
                _entry("alias", f"{m}:live", m, body='{"a": 1}'),
            ]
        )
    )
    got = await store.get_metadata("alias", f"{m}:live")
    assert got == _entry("alias", f"{m}:live", m, body='{"a": 1}')
    assert await store.get_metadata("version", f"{m}:live") is None  # keyed by kind too
    assert [e.arn for e in await store.list_metadata("version", m)] == [f"{m}:1", f"{m}:2"]
    assert [e.arn for e in await store.list_metadata("version")] == [f"{n}:1", f"{m}:1", f"{m}:2"]
    assert await store.list_metadata("tags") == []
    await store.commit(WriteBatch(metadata=[_entry("alias", f"{m}:live", m, body='{"a": 2}')]))
    updated = await store.get_metadata("alias", f"{m}:live")
    assert updated is not None and updated.body == '{"a": 2}'


async def test_metadata_deletes_after_upserts_and_absent_deletes_are_no_ops(store: Store) -> None:
    m = sm_arn("m")
    await store.commit(
        WriteBatch(
            metadata=[_entry("tags", m)],
            deleted_metadata=[("tags", m), ("tags", "arn:absent")],
        )
    )
    assert await store.get_metadata("tags", m) is None
    await store.commit(WriteBatch(metadata=[_entry("tags", m)]))
    await store.commit(WriteBatch(deleted_metadata=[("tags", m)]))
    assert await store.list_metadata("tags") == []


async def test_metadata_read_back_is_a_copy(store: Store) -> None:
    entry = _entry("tags", sm_arn("m"))
    await store.commit(WriteBatch(metadata=[entry]))
    entry.body = '{"changed": true}'
    got = await store.get_metadata("tags", sm_arn("m"))
    assert got is not None and got.body == "{}"


async def test_purging_an_execution_deletes_its_execution_entry(store: Store) -> None:
    closed = execution("old", status="SUCCEEDED", stop_date=10.0)
    await store.commit(
        WriteBatch(
            executions=[closed, execution("live")],
            metadata=[_entry("execution", exec_arn("old")), _entry("execution", exec_arn("live"))],
        )
    )
    assert await store.purge_executions(20.0) == [exec_arn("old")]
    assert await store.get_metadata("execution", exec_arn("old")) is None
    assert await store.get_metadata("execution", exec_arn("live")) is not None


async def test_purging_an_execution_deletes_its_map_runs(store: Store) -> None:
    closed = execution("old", status="SUCCEEDED", stop_date=10.0)
    runs = [_entry("maprun", f"{x}-run", exec_arn(x)) for x in ("old", "live")]
    await store.commit(WriteBatch(executions=[closed, execution("live")], metadata=runs))
    assert await store.purge_executions(20.0) == [exec_arn("old")]
    assert await store.list_metadata("maprun", exec_arn("old")) == []
    assert [e.arn for e in await store.list_metadata("maprun", exec_arn("live"))] == ["live-run"]


async def test_metadata_survives_reopening_a_sqlite_database(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "m.db") as store:
        await store.commit(WriteBatch(metadata=[_entry("version", f"{sm_arn('m')}:1", sm_arn("m"))]))
    async with SqliteStore(tmp_path / "m.db") as store:
        assert [e.arn for e in await store.list_metadata("version", sm_arn("m"))] == [f"{sm_arn('m')}:1"]


async def test_metadata_absent_guard_lets_one_of_two_writers_take_a_key(store: Store) -> None:
    """Two publishers of one version number: the first commits, the second is a Conflict and
    nothing of its batch is applied; after a delete the key is free again."""
    m = sm_arn("m")
    key = f"{m}:1"
    first = WriteBatch(
        guards=[MetadataAbsent(kind="version", arn=key)],
        metadata=[_entry("version", key, m, body='{"w": 1}')],
    )
    second = WriteBatch(
        guards=[MetadataAbsent(kind="version", arn=key)],
        metadata=[_entry("version", key, m, body='{"w": 2}'), _entry("machine", m, body='{"next": 2}')],
    )
    await store.commit(first)
    with pytest.raises(Conflict):
        await store.commit(second)
    kept = await store.get_metadata("version", key)
    assert kept is not None and kept.body == '{"w": 1}'
    assert await store.get_metadata("machine", m) is None
    await store.commit(WriteBatch(deleted_metadata=[("version", key)]))
    await store.commit(second)
    again = await store.get_metadata("version", key)
    assert again is not None and again.body == '{"w": 2}'


async def test_concurrent_publishes_take_distinct_version_numbers(tmp_path: Path) -> None:
    from durable import Engine

    db = str(tmp_path / "p.db")
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    async with Engine(db, load_plugins=False) as engine:
        machine = await engine.create_state_machine("m", definition)
        numbers = []
        for i in range(3):  # three revisions, each published by two racing callers
            await engine.update_state_machine(machine.arn, definition={**definition, "Comment": str(i)})
            a, b = await asyncio.gather(
                engine.publish_state_machine_version(machine.arn),
                engine.publish_state_machine_version(machine.arn),
            )
            assert a.arn == b.arn  # the same revision: one version, returned to both
            numbers.append(a.arn)
        versions = await engine.list_state_machine_versions(machine.arn)
    assert sorted(v.arn for v in versions) == sorted(numbers) and len(set(numbers)) == 3
