"""Retention, from the user's side: a closed execution older than the retention disappears as on
AWS (describing it raises ExecutionDoesNotExist), a recent one stays, a RUNNING one is never
touched, and nothing is left half-deleted."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, ExecutionDoesNotExist, ManualClock
from durable.errors import ValidationError

DAY = 86400.0
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
BLOCK = {
    "StartAt": "T",
    "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:block", "End": True}
    },
}


def engine_for(url: str | None, clock: ManualClock, **kw: Any) -> Engine:
    engine = Engine(url, clock=clock, **kw)
    release = asyncio.Event()

    async def block(event: Any, context: Any) -> Any:
        await release.wait()
        return event

    engine.register_function("block", block, blocking=False)
    return engine


async def run(engine: Engine, arn: str, name: str) -> str:
    execution = await engine.start_execution(arn, {"n": name}, name=name)
    done = await engine.wait_for_execution(execution.execution_arn)
    assert done.status == "SUCCEEDED"
    return execution.execution_arn


async def gone(engine: Engine, arn: str) -> bool:
    try:
        await engine.describe_execution(arn)
    except ExecutionDoesNotExist:
        return True
    return False


def orphans(db: Path) -> int:
    """Rows naming an execution that no longer exists (none may be left by a purge)."""
    with sqlite3.connect(db) as conn:
        return sum(
            int(conn.execute(sql).fetchone()[0])
            for sql in (
                "SELECT count(*) FROM events WHERE execution_id NOT IN (SELECT id FROM executions)",
                "SELECT count(*) FROM journal WHERE execution_id NOT IN (SELECT id FROM executions)",
                "SELECT count(*) FROM timers WHERE execution_arn NOT IN (SELECT arn FROM executions)",
                "SELECT count(*) FROM tokens WHERE execution_arn NOT IN (SELECT arn FROM executions)",
            )
        )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_closed_executions_older_than_the_retention_disappear(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "retention.db"
    clock = ManualClock()
    async with engine_for(None if kind == "memory" else str(db), clock) as engine:
        assert engine.retention == 90 * DAY  # as AWS keeps closed executions
        sm = await engine.create_state_machine("pass", PASS)
        blocked = await engine.create_state_machine("blocked", BLOCK)
        old = await run(engine, sm.arn, "old")
        running = (await engine.start_execution(blocked.arn, {}, name="running")).execution_arn
        clock.advance(60 * DAY)
        recent = await run(engine, sm.arn, "recent")
        clock.advance(31 * DAY)  # old closed 91 days ago, recent 31 days ago
        assert await engine.purge_executions() == 1
        assert await gone(engine, old)
        with pytest.raises(ExecutionDoesNotExist):
            await engine.get_execution_history(old)
        assert (await engine.describe_execution(recent)).status == "SUCCEEDED"
        assert len(await engine.get_execution_history(recent)) > 0
        assert (await engine.describe_execution(running)).status == "RUNNING"
        listed = [x.execution_arn for x in await engine.list_executions(sm.arn)]
        assert listed == [recent]
        clock.advance(1000 * DAY)  # a RUNNING execution is never purged, however old
        assert await engine.purge_executions() == 1
        assert (await engine.describe_execution(running)).status == "RUNNING"
        assert await gone(engine, recent)
        again = await run(engine, sm.arn, "old")  # a purged name can be used again
        assert again == old
        await engine.stop_execution(running)
    if kind == "sqlite":
        assert orphans(db) == 0


async def test_the_executing_engine_purges_in_the_background(tmp_path: Path) -> None:
    url = str(tmp_path / "background.db")
    clock = ManualClock()
    async with engine_for(url, clock, retention=timedelta(days=7)) as engine:
        sm = await engine.create_state_machine("pass", PASS)
        arns = [await run(engine, sm.arn, f"x{i}") for i in range(250)]  # more than one batch
        clock.advance(6 * DAY)
        keep = await run(engine, sm.arn, "keep")
    clock.advance(2 * DAY)
    async with engine_for(url, clock, retention=timedelta(days=7)) as engine:
        for _ in range(500):  # the first pass runs as the engine takes the database
            if await gone(engine, arns[-1]):
                break
            await asyncio.sleep(0.01)
        for arn in arns:
            assert await gone(engine, arn)
        assert (await engine.describe_execution(keep)).status == "SUCCEEDED"
    assert orphans(tmp_path / "background.db") == 0


async def test_retention_none_keeps_everything(tmp_path: Path) -> None:
    url = str(tmp_path / "forever.db")
    clock = ManualClock()
    async with engine_for(url, clock, retention=None) as engine:
        sm = await engine.create_state_machine("pass", PASS)
        old = await run(engine, sm.arn, "old")
    clock.advance(10_000 * DAY)
    async with engine_for(url, clock, retention=None) as engine:
        await asyncio.sleep(0.05)
        assert (await engine.describe_execution(old)).status == "SUCCEEDED"
        with pytest.raises(ValidationError):
            await engine.purge_executions()
        assert await engine.purge_executions(timedelta(days=365)) == 1  # on demand
        assert await gone(engine, old)


async def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValidationError):
        Engine(retention=timedelta(days=-1))
