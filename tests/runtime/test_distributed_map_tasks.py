"""A Distributed Map whose children run Task states (or whose failures are tolerated) streams
them: items are read a page at a time while slots free up, each child's row is written as it
ends and its journal lane is dropped, so memory and the journal do not grow with the item count.
Tolerated failures go to the results array, to ``FAILED_<n>.json``, and a redrive re-runs only
the children that did not succeed."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
import tracemalloc
from pathlib import Path
from typing import Any

from durable import Engine, TaskFailed
from tests.runtime.test_distributed_map_stream import READER, WRITER

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def _definition(child: str = "STANDARD", writer: bool = False, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "MaxConcurrency": 8,
        "ItemReader": copy.deepcopy(READER),
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": child},
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": LAMBDA + "work", "End": True}},
        },
        "End": True,
        **fields,
    }
    if writer:
        state["ResultWriter"] = copy.deepcopy(WRITER)  # (a test may change its copy)
    return {"StartAt": "M", "States": {"M": state}}


def _items(folder: Path, count: int) -> None:
    folder.mkdir(exist_ok=True)
    with (folder / "items.jsonl").open("w") as f:
        for i in range(count):
            f.write(json.dumps({"i": i}) + "\n")


def _engine(tmp: Path, name: str = "db.sqlite") -> Engine:
    buckets = {"data": tmp / "data", "out": tmp / "out"}
    return Engine(f"sqlite:///{tmp / name}", load_plugins=False, local_buckets=buckets)


async def _double(event: Any, context: Any = None) -> Any:
    return event["i"] * 2


async def _peak(tmp: Path, count: int) -> int:
    """tracemalloc's peak while a Standard execution maps ``count`` items with Task children."""
    _items(tmp / "data", count)
    async with _engine(tmp, f"db{count}.sqlite") as engine:
        engine.register_function("work", _double)
        machine = await engine.create_state_machine("m", _definition("EXPRESS", writer=True))
        tracemalloc.start()
        try:
            started = await engine.start_execution(machine.arn, {})
            done = await engine.wait_for_execution(started.execution_arn)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert done.status == "SUCCEEDED", done.cause
        (run,) = await engine.list_map_runs(started.execution_arn)
        assert run.execution_counts.succeeded == count
    with sqlite3.connect(tmp / f"db{count}.sqlite") as conn:  # every child's lane was dropped
        assert conn.execute("SELECT count(*) FROM journal WHERE lane <> ''").fetchone() == (0,)
    return peak


async def test_memory_and_the_journal_do_not_grow_with_the_item_count(tmp_path: Path) -> None:
    small = await _peak(tmp_path, 2_000)  # (past the constants: a page, a window of rows)
    large = await _peak(tmp_path, 16_000)
    # eight times the items: held in memory, the inputs, outputs and journal lanes would make the
    # peak several times larger; streamed, it is that of a page and the running children
    assert large < small * 2, (small, large)


async def test_tolerated_failures_go_to_the_results_and_to_failed_files(tmp_path: Path) -> None:
    _items(tmp_path / "data", 50)

    async def work(event: Any, context: Any = None) -> Any:
        if event["i"] % 10 == 3:
            raise TaskFailed("Odd", f"item {event['i']}")
        return event["i"]

    async with _engine(tmp_path) as engine:
        engine.register_function("work", work)
        plain = await engine.create_state_machine("plain", _definition(ToleratedFailureCount=5))
        written = await engine.create_state_machine(
            "written", _definition(writer=True, ToleratedFailurePercentage=10)
        )
        first = await engine.start_execution(plain.arn, {})
        second = await engine.start_execution(written.arn, {})
        done = await engine.wait_for_execution(first.execution_arn)
        exported = await engine.wait_for_execution(second.execution_arn)
        assert done.status == "SUCCEEDED", done.cause
        assert done.output == [
            {"Error": "Odd", "Cause": f"item {i}"} if i % 10 == 3 else i for i in range(50)
        ]
        (run,) = await engine.list_map_runs(first.execution_arn)
        counts = run.execution_counts
        assert (counts.total, counts.succeeded, counts.failed, counts.pending, counts.running) == (
            50,
            45,
            5,
            0,
            0,
        )
        failed = await engine.list_executions(status="FAILED", map_run_arn=run.map_run_arn)
        assert sorted(c.input["i"] for c in failed) == [3, 13, 23, 33, 43]
        assert exported.status == "SUCCEEDED", exported.cause
    manifest_path = next((tmp_path / "out").rglob("manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    files = manifest["ResultFiles"]
    assert [f["Key"].rsplit("/", 1)[-1] for f in files["SUCCEEDED"]] == ["SUCCEEDED_0.json"]
    assert [f["Key"].rsplit("/", 1)[-1] for f in files["FAILED"]] == ["FAILED_0.json"]
    ok = [json.loads(line) for line in (manifest_path.parent / "SUCCEEDED_0.json").read_text().splitlines()]
    assert ok == [i for i in range(50) if i % 10 != 3]
    bad = [json.loads(line) for line in (manifest_path.parent / "FAILED_0.json").read_text().splitlines()]
    assert [(json.loads(r["Input"])["i"], r["Status"], r["Error"], r["Cause"]) for r in bad] == [
        (i, "FAILED", "Odd", f"item {i}") for i in (3, 13, 23, 33, 43)
    ]


async def test_a_percentage_of_items_still_being_read_is_judged_once_all_are_made(tmp_path: Path) -> None:
    """Items read by an ItemReader are not all known when the first child fails: a share of
    them is judged against the count once every child is made (the same end as AWS's)."""
    _items(tmp_path / "data", 40)

    async def work(event: Any, context: Any = None) -> Any:
        if event["i"] < 6:  # 6 of 40: 15 %
            raise TaskFailed("Early", str(event["i"]))
        return event["i"]

    async with _engine(tmp_path) as engine:
        engine.register_function("work", work)
        tolerant = await engine.create_state_machine("tolerant", _definition(ToleratedFailurePercentage=20))
        strict = await engine.create_state_machine("strict", _definition(ToleratedFailurePercentage=10))
        a = await engine.start_execution(tolerant.arn, {})
        b = await engine.start_execution(strict.arn, {})
        assert (await engine.wait_for_execution(a.execution_arn)).status == "SUCCEEDED"
        failed = await engine.wait_for_execution(b.execution_arn)
        assert (failed.status, failed.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        kinds = [e["type"] for e in await engine.get_execution_history(b.execution_arn)]
        assert kinds[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


async def test_results_beyond_the_payload_quota_fail_the_state(tmp_path: Path) -> None:
    _items(tmp_path / "data", 40)

    async def work(event: Any, context: Any = None) -> Any:
        return "x" * 10_000  # 40 of these: more than 256 KiB

    async with _engine(tmp_path) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine("m", _definition())
        started = await engine.start_execution(machine.arn, {})
        done = await engine.wait_for_execution(started.execution_arn)
        assert (done.status, done.error) == ("FAILED", "States.DataLimitExceeded")


async def test_a_redrive_runs_again_only_the_children_that_did_not_succeed(tmp_path: Path) -> None:
    _items(tmp_path / "data", 30)
    calls: list[int] = []
    broken = {"on": True}

    async def work(event: Any, context: Any = None) -> Any:
        calls.append(event["i"])
        if broken["on"] and event["i"] in (4, 5, 6):
            raise TaskFailed("Broken", str(event["i"]))
        await asyncio.sleep(0)
        return event["i"]

    async with _engine(tmp_path) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine(
            "m", _definition(MaxConcurrency=1, ToleratedFailureCount=2)
        )
        started = await engine.start_execution(machine.arn, {})
        first = await engine.wait_for_execution(started.execution_arn)
        assert (first.status, first.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        assert calls == list(range(7))  # one at a time: the third failure stops the run
        broken["on"] = False
        calls.clear()
        await engine.redrive_execution(started.execution_arn)
        done = await engine.wait_for_execution(started.execution_arn)
        assert done.status == "SUCCEEDED", done.cause
        assert calls == list(range(4, 30))  # the failed children, then those never started
        assert done.output == list(range(30))
        (run,) = await engine.list_map_runs(started.execution_arn)
        assert (run.redrive_count, run.execution_counts.succeeded, run.execution_counts.failed) == (1, 30, 0)


WORKER = """
import asyncio, json, os, sys, time
from durable import Engine, ExecutionAlreadyExists, TaskFailed
db, data, log = sys.argv[1:4]
definition = json.loads(sys.argv[4])

def work(event, context=None):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (json.dumps(event["i"]) + "\\n").encode())
    os.fsync(fd)
    os.close(fd)
    time.sleep(0.004)
    if event["i"] % 7 == 5:
        raise TaskFailed("Seven", str(event["i"]))
    return event["i"] * 2

async def main():
    engine = Engine("sqlite:///" + db, load_plugins=False, local_buckets={"data": data})
    engine.register_function("work", work, blocking=True)
    async with engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {}, name="e1")
        await engine.wait_for_execution(started.execution_arn)

asyncio.run(main())
"""


def _calls(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


async def test_sigkill_mid_run_goes_on_from_the_checkpoint_without_rerunning_ended_children(
    tmp_path: Path,
) -> None:
    """STANDARD Task children with tolerated failures, killed mid-run: the next engine goes on
    from the committed checkpoint; a child whose row ended (succeeded or failed) before the kill
    is not invoked again, only those running then (at most MaxConcurrency)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from collections import Counter

    items, concurrency = 300, 4
    _items(tmp_path / "data", items)
    db, log = tmp_path / "db.sqlite", tmp_path / "calls.log"
    definition = _definition(MaxConcurrency=concurrency, ToleratedFailurePercentage=50)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), str(tmp_path / "data"), str(log), json.dumps(definition)],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_calls(log)) < items // 3:
            assert worker.poll() is None, "the worker ended before the kill"
            assert time.monotonic() < deadline, "the worker made no progress"
            await asyncio.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait()
    with sqlite3.connect(db) as conn:
        ended_before = {
            i
            for (i,) in conn.execute(
                "SELECT json_extract(input, '$.i') FROM map_children WHERE status IN ('SUCCEEDED', 'FAILED')"
            )
        }
        lanes_before = conn.execute("SELECT count(DISTINCT lane) FROM journal WHERE lane <> ''").fetchone()[0]
    assert ended_before and len(ended_before) < items
    assert lanes_before <= concurrency  # only the running children's lanes are journaled
    invoked_before = Counter(_calls(log))

    def work(event: Any, context: Any = None) -> Any:
        with log.open("a") as f:
            f.write(json.dumps(event["i"]) + "\n")
        if event["i"] % 7 == 5:
            raise TaskFailed("Seven", str(event["i"]))
        return event["i"] * 2

    engine = _engine(tmp_path)
    engine.register_function("work", work)
    async with engine:
        arn = "arn:aws:states:us-east-1:111111111111:execution:m:e1"
        done = await asyncio.wait_for(engine.wait_for_execution(arn), 60)
        (run,) = await engine.list_map_runs(arn)
        children = await engine.list_executions(map_run_arn=run.map_run_arn)
        failed_child = next(c for c in children if c.input["i"] == 5)
        history = [e["type"] for e in await engine.get_execution_history(failed_child.execution_arn)]
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"Error": "Seven", "Cause": str(i)} if i % 7 == 5 else 2 * i for i in range(items)]
    counts = run.execution_counts
    failing = sum(1 for i in range(items) if i % 7 == 5)
    assert (counts.total, counts.succeeded, counts.failed, counts.running, counts.pending) == (
        items,
        items - failing,
        failing,
        0,
        0,
    )
    assert len(children) == items and history[-1] == "ExecutionFailed"
    calls = Counter(_calls(log))
    assert set(calls) == set(range(items))
    assert all(calls[i] == 1 for i in ended_before)  # ended before the kill: never invoked again
    again = [i for i, n in calls.items() if n > 1]
    assert len(again) <= concurrency and set(again) <= set(invoked_before), again
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM journal WHERE lane <> ''").fetchone() == (0,)


async def test_a_restart_after_the_map_replays_the_branches_that_follow_it(tmp_path: Path) -> None:
    """A Map Run that ended before a restart is answered from its stored rows, and it still
    counts as a fork of its lane: a Parallel after it replays its own recorded task."""
    _items(tmp_path / "data", 5)
    calls: list[str] = []
    gate = asyncio.Event()

    async def after(event: Any, context: Any = None) -> Any:
        calls.append("after")
        return "done"

    async def last(event: Any, context: Any = None) -> Any:
        calls.append("last")
        await gate.wait()
        return event

    definition = _definition()
    definition["States"]["M"].pop("End")
    definition["States"]["M"]["Next"] = "P"
    definition["States"]["P"] = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": LAMBDA + "after", "End": True}}}
        ],
        "Next": "L",
    }
    definition["States"]["L"] = {"Type": "Task", "Resource": LAMBDA + "last", "End": True}
    engine = _engine(tmp_path)
    for name, fn in (("work", _double), ("after", after), ("last", last)):
        engine.register_function(name, fn)
    async with engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {})
        while calls != ["after", "last"]:
            await asyncio.sleep(0.01)
    gate.set()
    engine = _engine(tmp_path)
    for name, fn in (("work", _double), ("after", after), ("last", last)):
        engine.register_function(name, fn)
    async with engine:
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == ["done"]
    assert calls == ["after", "last", "last"]  # the task in flight ran again; the recorded one did not


async def test_a_wait_in_a_child_goes_on_after_a_restart_for_the_time_it_had_left(tmp_path: Path) -> None:
    """A child's events are its own, not the parent's journal's: the times it read are
    journaled instead, so a Wait in flight at a restart keeps its due time (it does not fire at
    once) and the child's history keeps its times in order."""
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "T",
                    "States": {
                        "T": {"Type": "Task", "Resource": LAMBDA + "work", "Next": "W"},
                        "W": {"Type": "Wait", "Seconds": 2, "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    async with _engine(tmp_path) as engine:
        engine.register_function("work", _double)
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {"items": [{"i": 1}]})
        await asyncio.sleep(0.5)  # in the Wait
    reopened = time.monotonic()
    async with _engine(tmp_path) as engine:
        engine.register_function("work", _double)
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
        waited = time.monotonic() - reopened
        (run,) = await engine.list_map_runs(started.execution_arn)
        (child,) = await engine.list_executions(map_run_arn=run.map_run_arn)
        events = await engine.get_execution_history(child.execution_arn)
    assert done.status == "SUCCEEDED", done.cause
    assert waited > 0.8, waited  # what was left of the 2 seconds: it did not fire at once
    times = [e["timestamp"] for e in events]
    assert times == sorted(times)
    entered, exited = (e["timestamp"] for e in events if e["type"] in ("WaitStateEntered", "WaitStateExited"))
    assert (exited - entered).total_seconds() >= 2
