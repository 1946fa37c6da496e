"""Timers that fall due together resume their executions together: every timer fires exactly
once, the woken executions read the store in a few batched reads (not a few reads each), and a
read that fails is retried without losing or repeating a wake-up. Time is skipped with a
manual clock; nothing here measures time."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, ManualClock
from durable.runtime.batching import BatchReader
from durable.store.base import Store, StoreUnavailable
from durable.store.memory import MemoryStore
from durable.store.sqlite import SqliteStore

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
START = 1_735_732_800.0
WAIT_THEN_MARK = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "TimestampPath": "$.due", "Next": "Mark"},
        "Mark": {"Type": "Task", "Resource": LAMBDA + "mark", "End": True},
    },
}
COUNT = 300


def iso(offset: float) -> str:
    """START + offset seconds as a Wait timestamp (offsets here are whole seconds)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(START + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def counting(store: Store, name: str) -> list[int]:
    """Record the number of ARNs of each call to the store's batched read ``name``."""
    sizes: list[int] = []
    read: Callable[[Sequence[str]], Awaitable[Any]] = getattr(store, name)

    async def wrapped(arns: Sequence[str]) -> Any:
        sizes.append(len(arns))
        return await read(arns)

    setattr(store, name, wrapped)
    return sizes


def make_store(kind: str, tmp_path: Path) -> Store:
    return MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "timers.db")


async def start(engine: Engine, arn: str, i: int) -> Any:
    return await engine.start_execution(arn, {"due": iso(60), "i": str(i)}, name=f"e{i}")


async def parked(engine: Engine) -> None:
    for _ in range(1000):
        if not engine.standard.running:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the executions did not park")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_timers_due_together_fire_once_each_and_share_their_reads(tmp_path: Path, kind: str) -> None:
    store = make_store(kind, tmp_path)
    resumes = counting(store, "resume_records")
    leftovers = counting(store, "tokens_and_timers")
    clock = ManualClock(START)
    marks: Counter[str] = Counter()

    def mark(event: Any, context: Any) -> Any:
        marks[event["i"]] += 1
        return event["i"]

    async with Engine(store=store, clock=clock, load_plugins=False) as engine:
        engine.register_function("mark", mark, blocking=False)
        sm = await engine.create_state_machine("batch", WAIT_THEN_MARK)
        # three groups of due times, all passed by one jump of the clock
        runs = [
            await engine.start_execution(sm.arn, {"due": iso(60 + i % 3), "i": str(i)}, name=f"e{i}")
            for i in range(COUNT)
        ]
        await parked(engine)
        assert marks == Counter() and resumes == []
        clock.advance(120)
        done = await asyncio.gather(*(engine.wait_for_execution(r.execution_arn) for r in runs))
        assert {str(d.status) for d in done} == {"SUCCEEDED"}
        assert marks == Counter({str(i): 1 for i in range(COUNT)})  # every timer fired once
        history = await engine.get_execution_history(runs[7].execution_arn)
        assert [e["type"] for e in history].count("WaitStateExited") == 1
        assert await store.timers() == []  # the WAKE rows went with the wake-ups
    # every woken execution was read once, in batches (one per burst, give or take)
    assert sum(resumes) == COUNT and len(resumes) < COUNT // 10, resumes
    assert sum(leftovers) == COUNT and len(leftovers) < COUNT // 10, leftovers


async def test_a_failed_batched_read_retries_every_wake_up_once() -> None:
    store = MemoryStore()
    read = store.resume_records
    failures = [StoreUnavailable("database is locked")]

    async def flaky(arns: Sequence[str]) -> Any:
        if failures:
            raise failures.pop()
        return await read(arns)

    store.resume_records = flaky  # type: ignore[method-assign]
    clock = ManualClock(START)
    marks: Counter[str] = Counter()

    def mark(event: Any, context: Any) -> Any:
        marks[event["i"]] += 1
        return None

    async with Engine(store=store, clock=clock, load_plugins=False) as engine:
        engine.register_function("mark", mark, blocking=False)
        sm = await engine.create_state_machine("flaky", WAIT_THEN_MARK)
        runs = [await start(engine, sm.arn, i) for i in range(20)]
        await parked(engine)
        clock.advance(61)
        done = await asyncio.gather(*(engine.wait_for_execution(r.execution_arn) for r in runs))
    assert not failures  # the read did fail once
    assert {str(d.status) for d in done} == {"SUCCEEDED"}
    assert marks == Counter({str(i): 1 for i in range(20)})


async def test_a_stopped_execution_is_not_woken_by_its_timer() -> None:
    clock = ManualClock(START)
    marks: Counter[str] = Counter()

    def mark(event: Any, context: Any) -> Any:
        marks[event["i"]] += 1
        return None

    async with Engine(clock=clock, load_plugins=False) as engine:
        engine.register_function("mark", mark, blocking=False)
        sm = await engine.create_state_machine("stop", WAIT_THEN_MARK)
        runs = [await start(engine, sm.arn, i) for i in range(10)]
        await parked(engine)
        await engine.stop_execution(runs[3].execution_arn)
        clock.advance(61)
        done = await asyncio.gather(*(engine.wait_for_execution(r.execution_arn) for r in runs))
    assert [str(d.status) for d in done] == ["SUCCEEDED"] * 3 + ["ABORTED"] + ["SUCCEEDED"] * 6
    assert marks == Counter({str(i): 1 for i in range(10) if i != 3})


async def test_batch_reader_coalesces_concurrent_requests() -> None:
    calls: list[list[int]] = []
    gate = asyncio.Event()

    async def read(keys: Sequence[int]) -> dict[int, str]:
        calls.append(list(keys))
        await gate.wait()
        return {k: f"v{k}" for k in keys if k != 4}

    reader: BatchReader[int, str] = BatchReader(read, limit=3)
    first = asyncio.ensure_future(reader.get(0))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(reader.get(k)) for k in (1, 2, 3, 4, 1)]
    cancelled = asyncio.ensure_future(reader.get(5))
    await asyncio.sleep(0)
    cancelled.cancel()
    gate.set()
    assert await first == "v0"
    assert [await r for r in rest] == ["v1", "v2", "v3", None, "v1"]  # an absent key gives None
    assert calls == [[0], [1, 2, 3], [4]]  # one read in flight; the rest wait for the next
    assert reader.reads == 3


async def test_batch_reader_failure_reaches_every_waiter() -> None:
    async def read(keys: Sequence[int]) -> dict[int, str]:
        await asyncio.sleep(0)
        raise StoreUnavailable("locked")

    reader: BatchReader[int, str] = BatchReader(read)
    results = await asyncio.gather(*(reader.get(k) for k in range(5)), return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results)
    await reader.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_burst_of_due_timers_resumes_a_bounded_number_at_once(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from durable.runtime import standard

    monkeypatch.setattr(standard, "WAKE_CONCURRENCY", 7)
    clock = ManualClock(START)
    marks: Counter[str] = Counter()
    resident: list[int] = []

    async with Engine(store=make_store(kind, tmp_path), clock=clock, load_plugins=False) as engine:

        def mark(event: Any, context: Any) -> Any:
            marks[event["i"]] += 1
            resident.append(len(engine.standard.running))
            return None

        engine.register_function("mark", mark, blocking=False)
        sm = await engine.create_state_machine("burst", WAIT_THEN_MARK)
        runs = [await start(engine, sm.arn, i) for i in range(60)]
        await parked(engine)
        clock.advance(61)
        done = await asyncio.gather(*(engine.wait_for_execution(r.execution_arn) for r in runs))
    assert {str(d.status) for d in done} == {"SUCCEEDED"}
    assert marks == Counter({str(i): 1 for i in range(60)})  # each woken once, none lost
    assert max(resident) <= 7  # never more than the bound resident together
