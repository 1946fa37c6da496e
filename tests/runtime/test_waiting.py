"""Waiting costs nothing: a parked Standard execution holds no coroutine, only store rows and
a timer-heap entry; and a due timer still fires promptly."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from durable import Engine, ManualClock

PARKED = 20_000
HOUR = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
FEW_TASKS = 10  # the test itself, the engine's timer scheduler, the store's helpers


def waiting(seconds: float) -> dict[str, object]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


async def start_many(engine: Engine, arn: str, count: int, batch: int = 200) -> float:
    """Start ``count`` executions (``batch`` at a time); return executions started per second."""
    began = time.perf_counter()
    for first in range(0, count, batch):
        await asyncio.gather(
            *(
                engine.start_execution(arn, {"i": i}, name=f"e{i}")
                for i in range(first, min(count, first + batch))
            )
        )
    return count / (time.perf_counter() - began)


async def settle(engine: Engine) -> None:
    """Let the started executions run to their Wait (and park)."""
    for _ in range(500):
        if not engine.standard.running:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_waiting_executions_cost_no_coroutine(tmp_path: Path, store: str) -> None:
    url = None if store == "memory" else str(tmp_path / "waiting.db")
    engine = Engine(url, clock=ManualClock())  # no autojump: nothing ever fires
    async with engine:
        sm = await engine.create_state_machine("hour", HOUR)
        rate = await start_many(engine, sm.arn, PARKED)
        await settle(engine)
        print(f"{store}: started {PARKED} executions at {rate:.0f}/s")
        assert len(engine.standard.running) == 0  # no resident execution
        assert len(asyncio.all_tasks()) <= FEW_TASKS, asyncio.all_tasks()
        running = await engine.list_executions(sm.arn, status="RUNNING", max_results=PARKED + 1)
        assert len(running) == PARKED
    if url is None:
        return
    began = time.perf_counter()
    async with Engine(url, clock=ManualClock()) as engine:  # a restart re-arms timers only
        reopened = time.perf_counter() - began
        print(f"reopened with {PARKED} parked executions in {reopened:.2f}s")
        assert len(engine.standard.running) == 0
        assert len(asyncio.all_tasks()) <= FEW_TASKS, asyncio.all_tasks()
        assert reopened < 5


@pytest.mark.parametrize(
    ("seconds", "parked"),
    [(1, 0), (2, 0), (2, 5_000)],
    ids=["resident-1s", "parked-2s", "parked-2s-among-5000"],
)
async def test_a_due_timer_fires_within_100ms(tmp_path: Path, seconds: int, parked: int) -> None:
    """A 1 s Wait sleeps in its coroutine; a 2 s one parks (> park_after) and is woken by the
    scheduler's heap, also when thousands of other parked executions share the heap."""
    async with Engine(str(tmp_path / "timers.db")) as engine:  # the system clock
        if parked:
            hour = await engine.create_state_machine("hour", HOUR)
            await start_many(engine, hour.arn, parked)
            await settle(engine)
        sm = await engine.create_state_machine("short", waiting(seconds))
        started = await engine.start_execution(sm.arn, {}, name="short")
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), seconds + 5)
        finished = time.time()
        history = await engine.get_execution_history(started.execution_arn)
    assert str(done.status) == "SUCCEEDED"
    entered = next(e["timestamp"].timestamp() for e in history if e["type"] == "WaitStateEntered")
    exited = next(e["timestamp"].timestamp() for e in history if e["type"] == "WaitStateExited")
    due = entered + seconds
    print(
        f"{seconds}s wait ({parked} parked): fired {1000 * (exited - due):.1f} ms late, "
        f"finished {1000 * (finished - due):.1f} ms after due"
    )
    assert exited >= due - 0.001, "a Wait never ends early"
    assert exited - due < 0.1, exited - due
    assert finished - due < 0.1 + 0.05, finished - due  # and the waiter hears of it at once
