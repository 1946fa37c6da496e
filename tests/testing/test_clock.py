"""TestClock: a task that sleeps on the clock lets it jump; other work still holds it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from durable.testing import Kit, TestClock, assert_failed, assert_succeeded

FN = "arn:aws:lambda:us-east-1:111111111111:function:"
NEVER = 3600.0  # a busy_grace no test outlives: the clock jumps over a busy task only when released


def one(**task: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN + "fn", "End": True, **task}}}


async def test_a_task_sleeping_on_the_clock_lets_it_jump() -> None:
    clock = TestClock()
    clock.busy_grace = NEVER
    seen: list[float] = []

    async def fn(event: Any, context: Any) -> Any:
        seen.append(clock.now())
        await clock.sleep_until(clock.now() + event)
        seen.append(clock.now())
        return event

    async with Kit(clock=clock, wait_seconds=20) as kit:
        kit.register_function("fn", fn)
        done = await kit.run(one(), 90)
        assert_succeeded(done, 90)
        assert seen[1] - seen[0] == 90
        timed_out = await kit.run(one(TimeoutSeconds=5), 90)
        assert_failed(timed_out, "States.Timeout")
        assert (timed_out.stop_date - timed_out.start_date).total_seconds() == 5
        assert len(seen) == 3  # the timed-out call never ended


async def test_only_the_sleeping_task_releases_its_hold() -> None:
    clock = TestClock()
    clock.busy_grace = NEVER
    working = asyncio.Event()
    finish = asyncio.Event()

    async def worker() -> None:  # real work: holds the clock until told to finish
        with clock.busy():
            working.set()
            await finish.wait()

    async def sleeper() -> float:
        with clock.busy():
            await clock.sleep_until(clock.now() + 10)
            return clock.now()

    before = clock.now()
    work = asyncio.ensure_future(worker())
    await working.wait()
    sleep = asyncio.ensure_future(sleeper())
    await asyncio.sleep(0.05)  # fifty idle periods: the worker's hold keeps the clock still
    assert clock.now() == before and not sleep.done()
    finish.set()
    await work
    assert await asyncio.wait_for(sleep, 5) == before + 10
    assert clock._busy == 0 and not clock._holds  # every hold given back


async def test_released_outside_a_busy_task_changes_nothing() -> None:
    clock = TestClock()
    with clock.released(), clock.released():
        assert clock._busy == 0
    with clock.busy():
        with clock.released():
            assert clock._busy == 0
            with clock.released():  # nested: already released
                assert clock._busy == 0
        assert clock._busy == 1
    assert clock._busy == 0 and not clock._holds


async def test_work_between_loop_iterations_is_not_jumped_over_when_the_process_pauses() -> None:
    """Steps that touch no clock, each after a pause longer than ``autojump`` (a loaded machine):
    the clock does not jump while a next step is ready to run."""
    clock = TestClock()
    sleeping = asyncio.ensure_future(clock.sleep_until(clock.now() + 10))
    await asyncio.sleep(0)  # its timer is armed: the clock now watches for idleness
    before = clock.now()
    for _ in range(20):
        time.sleep(0.003)  # the process paused (or busy) for three idle periods
        await asyncio.sleep(0)  # the next step is ready at once
        assert clock.now() == before
    await asyncio.wait_for(sleeping, 5)  # idle at last: the clock jumps
    assert clock.now() == before + 10
