"""EventBridge Scheduler schedules on the engine's clock (a ManualClock: no real waiting)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from durable import Engine, ManualClock
from durable.errors import ConflictError, ResourceNotFound, ValidationError
from durable.runtime.schedule_runner import schedule_execution_name

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()  # a Monday


async def settle(engine: Engine) -> None:
    """Let the scheduler run its pass for the clock's new time."""
    for _ in range(20):
        await asyncio.sleep(0)
    await engine.schedule_runner.tick()


async def names(engine: Engine) -> list[str]:
    return sorted(e.name for e in await engine.list_executions())


async def test_schedules_are_created_read_listed_updated_and_deleted() -> None:
    async with Engine(clock=ManualClock(START), load_plugins=False) as engine:
        m = (await engine.create_state_machine("m", PASS)).arn
        arn = await engine.create_schedule(
            "s", schedule_expression="rate(5 minutes)", target={"Arn": m, "Input": '{"a":1}'}, description="d"
        )
        assert arn == "arn:aws:scheduler:us-east-1:111111111111:schedule/default/s"
        got = await engine.get_schedule("s")
        assert got["ScheduleExpression"] == "rate(5 minutes)" and got["State"] == "ENABLED"
        assert got["FlexibleTimeWindow"] == {"Mode": "OFF"} and got["ActionAfterCompletion"] == "NONE"
        assert got["CreationDate"] == datetime.fromtimestamp(START, UTC)
        with pytest.raises(ConflictError):
            await engine.create_schedule("s", schedule_expression="rate(1 hour)", target={"Arn": m})
        await engine.update_schedule(
            "s", schedule_expression="rate(1 hour)", target={"Arn": m}, state="DISABLED"
        )
        assert (await engine.get_schedule("s"))["State"] == "DISABLED"
        assert [s["Name"] for s in await engine.list_schedules()] == ["s"]
        assert await engine.list_schedules(state="ENABLED") == []
        await engine.delete_schedule("s")
        with pytest.raises(ResourceNotFound):
            await engine.get_schedule("s")
        for bad in ("rate(0 minutes)", "cron(0 9 * * * *)", "every day"):
            with pytest.raises(ValidationError):
                await engine.create_schedule("b", schedule_expression=bad, target={"Arn": m})
        with pytest.raises(ValidationError):
            await engine.create_schedule(
                "b", schedule_expression="rate(1 hour)", target={"Arn": "arn:aws:sqs:x"}
            )
        with pytest.raises(ValidationError):
            await engine.create_schedule(
                "b",
                schedule_expression="rate(1 hour)",
                target={"Arn": m},
                flexible_time_window={"Mode": "FLEXIBLE"},
            )


async def test_a_rate_schedule_fires_each_due_time_once_on_the_clock() -> None:
    clock = ManualClock(START)
    async with Engine(clock=clock, load_plugins=False) as engine:
        m = (await engine.create_state_machine("m", PASS)).arn
        arn = await engine.create_schedule(
            "s", schedule_expression="rate(1 minute)", target={"Arn": m, "Input": '{"x":1}'}
        )
        await settle(engine)
        assert await names(engine) == []  # the first due time is one minute after creation
        clock.advance(60)
        await settle(engine)
        assert await names(engine) == [schedule_execution_name(arn, START + 60)]
        clock.advance(150)
        await settle(engine)
        await settle(engine)  # a second pass fires nothing again
        expected = sorted(schedule_execution_name(arn, START + 60 * k) for k in (1, 2, 3))
        assert await names(engine) == expected
        assert [e.input for e in await engine.list_executions()] == [{"x": 1}] * 3
        await engine.update_schedule(
            "s", schedule_expression="rate(1 minute)", target={"Arn": m}, state="DISABLED"
        )
        clock.advance(600)
        await settle(engine)
        assert len(await names(engine)) == 3


async def test_a_one_time_schedule_fires_once_and_deletes_itself_when_asked() -> None:
    clock = ManualClock(START)
    async with Engine(clock=clock, load_plugins=False) as engine:
        m = (await engine.create_state_machine("m", PASS)).arn
        await engine.create_schedule(
            "once",
            schedule_expression="at(2026-03-02T10:00:00)",
            schedule_expression_timezone="Europe/Paris",  # 09:00 UTC
            target={"Arn": m},
            action_after_completion="DELETE",
        )
        await engine.create_schedule("kept", schedule_expression="at(2026-03-02T09:30:00)", target={"Arn": m})
        clock.advance(3600)
        await settle(engine)
        await settle(engine)
        assert len(await names(engine)) == 1  # 10:00 Paris is 09:00 UTC: already past at creation
        assert [s["Name"] for s in await engine.list_schedules()] == ["kept", "once"]


async def test_the_scheduler_loop_fires_without_being_asked() -> None:
    clock = ManualClock(START)
    async with Engine(clock=clock, load_plugins=False) as engine:
        m = (await engine.create_state_machine("m", PASS)).arn
        await engine.create_schedule("s", schedule_expression="cron(*/5 * * * ? *)", target={"Arn": m})
        for _ in range(3):
            await asyncio.sleep(0.01)
            clock.advance(300)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(await names(engine)) == 3:
                break
        assert len(await names(engine)) == 3


async def test_after_a_restart_due_times_are_neither_fired_twice_nor_dropped(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    clock = ManualClock(START)
    async with Engine(db, clock=clock, load_plugins=False) as engine:
        m = (await engine.create_state_machine("m", PASS)).arn
        arn = await engine.create_schedule("s", schedule_expression="rate(1 hour)", target={"Arn": m})
        clock.advance(2 * 3600)
        await settle(engine)
        assert len(await names(engine)) == 2
        # a crash after the start of 03:00's due time, before its bookkeeping: roll it back
        await engine._start_target(m, "{}", schedule_execution_name(arn, START + 3 * 3600))
    clock.advance(2 * 3600)
    async with Engine(db, clock=clock, load_plugins=False) as engine:
        await settle(engine)  # 03:00 again (the same execution) and 04:00
        assert set(await names(engine)) == {
            schedule_execution_name(arn, START + 3600 * k) for k in (1, 2, 3, 4)
        }
    clock.advance(28 * 3600)  # down for 28 hours
    async with Engine(db, clock=clock, load_plugins=False) as engine:
        await settle(engine)
        fired = await names(engine)
    # of hours 5..32, those within 24 hours of now (hour 8 onwards) fire; 5..7 are older than
    # the maximum event age and are given up
    expected = {schedule_execution_name(arn, START + 3600 * k) for k in [1, 2, 3, 4, *range(8, 33)]}
    assert set(fired) == expected and len(fired) == len(expected)
