"""Faults are survived, not fatal: real faults of the database under a running engine.

* another connection holds the database's write lock past the busy timeout;
* the filesystem under the database fills up (a small tmpfs, where the machine lets us mount);
* a value the database cannot encode (a lone surrogate) in a task result or a name;
* a stop racing the execution's own completion;
* a store read failing while an execution resumes.

In each case the affected executions wait and continue on their own once the fault clears, or
fail alone with a typed error; nothing stays RUNNING with nobody running it, no waiter hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from durable import DurableError, Engine, ExecutionStatus, ManualClock, StoreUnavailable
from durable.store import SqliteStore
from durable.store.base import ResumeRecord

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
THREE_TASKS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Resource": LAMBDA + "step", "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": LAMBDA + "step", "ResultPath": "$.b", "Next": "C"},
        "C": {"Type": "Task", "Resource": LAMBDA + "step", "ResultPath": "$.c", "End": True},
    },
}


def counting(calls: list[str], pause: float = 0.05) -> Any:
    async def step(event: Any, ctx: Any) -> Any:
        calls.append(event["n"])
        await asyncio.sleep(pause)
        return event["n"]

    return step


def well_formed(history: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    assert history[0]["type"] == "ExecutionStarted"
    terminal = [e for e in history if e["type"].startswith("Execution") and e["type"] != "ExecutionStarted"]
    assert len(terminal) == 1 and terminal[0] is history[-1], [e["type"] for e in history]


async def test_a_lock_held_past_the_busy_timeout_delays_but_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    calls: list[str] = []
    engine = Engine(f"sqlite:///{db}?busy_timeout_ms=100")
    engine.register_function("step", counting(calls))
    with capture_logs() as logs:
        await locked_run(engine, db, calls)
    events = [e["event"] for e in logs]
    assert events.count("database unavailable; commits wait and retry") == 1  # the fault was real
    assert events[-1] == "database available again; executions continue"


async def locked_run(engine: Engine, db: Path, calls: list[str]) -> None:
    async with engine:
        machine = await engine.create_state_machine("three", THREE_TASKS)
        arns = [(await engine.start_execution(machine.arn, {"n": f"x{i}"})).execution_arn for i in range(10)]
        other = sqlite3.connect(db, isolation_level=None, timeout=10)
        other.execute("BEGIN EXCLUSIVE")  # another process takes the write lock ...
        try:
            await asyncio.sleep(1.5)  # ... for 15 busy timeouts: every commit meanwhile fails
            statuses = {str((await engine.describe_execution(a)).status) for a in arns}
            assert statuses == {"RUNNING"}
        finally:
            other.execute("ROLLBACK")
            other.close()
        for arn in arns:
            done = await asyncio.wait_for(engine.wait_for_execution(arn), 10)
            assert done.status is ExecutionStatus.SUCCEEDED, done
            well_formed(await engine.get_execution_history(arn))
        assert sorted(calls) == sorted(f"x{i}" for i in range(10) for _ in range(3))  # nothing twice


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (skipped where the machine does not let the tests mount one)."""
    where = tmp_path / "small"
    where.mkdir()
    mount = shutil.which("mount")
    if sys.platform != "linux" or mount is None or os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root on Linux")
    made = subprocess.run([mount, "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory`` up to the last byte; return the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_delays_but_loses_nothing(small_filesystem: Path) -> None:
    calls: list[str] = []
    engine = Engine(str(small_filesystem / "full.db"))
    engine.register_function("step", counting(calls, pause=0.0))
    with capture_logs() as logs:
        await full_run(engine, small_filesystem)
    assert any("the disk is full" in e.get("error", "") for e in logs), logs


async def full_run(engine: Engine, small_filesystem: Path) -> None:
    async with engine:
        machine = await engine.create_state_machine("three", THREE_TASKS)
        warm = await engine.start_execution(machine.arn, {"n": "warm"})
        await asyncio.wait_for(engine.wait_for_execution(warm.execution_arn), 10)
        filler = fill(small_filesystem)
        payload = "p" * 20_000
        arns: list[str] = []
        starts = [
            asyncio.ensure_future(engine.start_execution(machine.arn, {"n": f"x{i}", "pad": payload}))
            for i in range(5)
        ]
        await asyncio.sleep(1.0)  # the disk is full: starts and steps wait, nothing is lost
        filler.unlink()
        for start in starts:
            try:
                arns.append((await asyncio.wait_for(start, 10)).execution_arn)
            except StoreUnavailable:  # a start refused while the disk was full: it never began
                pass
        assert arns, "at least the starts retried after the disk had room again"
        for arn in arns:
            done = await asyncio.wait_for(engine.wait_for_execution(arn), 15)
            assert done.status is ExecutionStatus.SUCCEEDED, done
            well_formed(await engine.get_execution_history(arn))


async def test_an_unencodable_task_result_fails_only_its_execution(tmp_path: Path) -> None:
    engine = Engine(str(tmp_path / "x.db"))
    engine.register_function("step", lambda event, ctx: event["n"], blocking=False)
    engine.register_function("bad", lambda event, ctx: "lone \ud800 surrogate", blocking=False)
    bad = {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": LAMBDA + "bad", "End": True}}}
    async with engine:
        good_machine = await engine.create_state_machine("three", THREE_TASKS)
        bad_machine = await engine.create_state_machine("bad", bad)
        broken = await engine.start_execution(bad_machine.arn, {})
        good = await engine.start_execution(good_machine.arn, {"n": 1})
        failed = await asyncio.wait_for(engine.wait_for_execution(broken.execution_arn), 5)
        assert (str(failed.status), failed.error) == ("FAILED", "States.Runtime")
        assert "not valid JSON" in (failed.cause or "")
        well_formed(await engine.get_execution_history(broken.execution_arn))
        done = await asyncio.wait_for(engine.wait_for_execution(good.execution_arn), 5)
        assert done.output == {"n": 1, "a": 1, "b": 1, "c": 1}
        with pytest.raises(DurableError):  # a name the database cannot store: a typed error ...
            await engine.create_state_machine("y\ud800", THREE_TASKS)
        again = await engine.start_execution(good_machine.arn, {"n": 2})  # ... and the engine goes on
        assert (await asyncio.wait_for(engine.wait_for_execution(again.execution_arn), 5)).output["c"] == 2


async def test_a_stop_racing_completion_always_ends_consistently(tmp_path: Path) -> None:
    rng = random.Random(11)
    engine = Engine(str(tmp_path / "race.db"))
    engine.register_function("step", lambda event, ctx: event["n"], blocking=False)
    outcomes: set[str] = set()
    async with engine:
        machine = await engine.create_state_machine("three", THREE_TASKS)
        for i in range(60):
            started = await engine.start_execution(machine.arn, {"n": i})
            await asyncio.sleep(rng.uniform(0, 0.01))
            stopped = await engine.stop_execution(started.execution_arn, error="Race")
            done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
            stored = await engine.store.get_execution(started.execution_arn)
            assert stored is not None and stored.status == str(done.status) == str(stopped.status)
            assert started.execution_arn not in engine.standard.running
            well_formed(await engine.get_execution_history(started.execution_arn))
            outcomes.add(str(done.status))
    assert outcomes <= {"SUCCEEDED", "ABORTED"} and "ABORTED" in outcomes


class FlakyJournalStore(SqliteStore):
    """A store whose journal reads (the batched read that resumes executions) fail a few times
    (an I/O error of the moment)."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    async def resume_records(self, execution_arns: Sequence[str]) -> dict[str, ResumeRecord]:
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailable("disk I/O error (injected)")
        return await super().resume_records(execution_arns)


async def test_an_execution_whose_resume_fails_is_readopted(tmp_path: Path) -> None:
    store = FlakyJournalStore(tmp_path / "flaky.db", failures=2)
    wait = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 5, "Next": "P"}, "P": {"Type": "Pass", "End": True}},
    }
    async with Engine(store=store, clock=ManualClock(autojump=0.01)) as engine:
        machine = await engine.create_state_machine("wait", wait)
        started = await engine.start_execution(machine.arn, {"x": 1})
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 10)
        assert done.output == {"x": 1}
        assert store.failures == 0  # it was parked, and resuming it failed twice before it worked


async def test_a_deleted_database_stops_the_engine_with_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    release = asyncio.Event()

    async def step(event: Any, ctx: Any) -> Any:
        await release.wait()
        return 1

    engine = Engine(str(db), poll_interval=0.02)
    engine.register_function("step", step)
    async with engine:
        machine = await engine.create_state_machine("three", THREE_TASKS)
        await engine.start_execution(machine.arn, {"n": 1})
        await asyncio.sleep(0.1)
        for path in tmp_path.glob("gone.db*"):
            if not path.name.endswith(".lock"):
                path.unlink()
        release.set()
        for _ in range(200):
            if engine.host.failure is not None:
                break
            await asyncio.sleep(0.02)
        assert engine.host.failure is not None and "deleted or replaced" in str(engine.host.failure)
        assert not engine.standard.running  # it stopped executing
        with pytest.raises(DurableError, match="deleted or replaced"):
            await engine.start_execution(machine.arn, {"n": 2})


async def test_a_symlink_planted_as_the_lock_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "x.db.engine.lock").symlink_to(victim)
    with pytest.raises(DurableError, match="engine lock file"):
        async with Engine(str(tmp_path / "x.db")):
            pass
    assert victim.read_text() == "precious"
