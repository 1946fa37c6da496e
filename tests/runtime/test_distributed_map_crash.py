"""A Standard Distributed Map over a local JSONL file survives SIGKILL: the engine that opens the
database next resumes the run, reads no page twice and re-runs no child whose result was recorded
(only the few in flight at the kill, at most MaxConcurrency)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from durable import Engine, ExecutionDoesNotExist
from durable.interpreter.distributed import child_arn

ITEMS = 400
CONCURRENCY = 4
DEFINITION = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "MaxConcurrency": CONCURRENCY,
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "data", "Key": "items.jsonl"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "W",
                "States": {
                    "W": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:111111111111:function:work",
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}

WORKER = """
import asyncio, json, os, sys, time
from durable import Engine, ExecutionAlreadyExists
db, data, log = sys.argv[1:4]
definition = json.loads(sys.argv[4])

def work(event, context=None):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (json.dumps(event["i"]) + "\\n").encode())
    os.fsync(fd)
    os.close(fd)
    time.sleep(0.005)
    return event["i"] * 2

async def main():
    engine = Engine("sqlite:///" + db, load_plugins=False, local_buckets={"data": data})
    engine.register_function("work", work, blocking=True)
    async with engine:
        try:
            machine = await engine.create_state_machine("m", definition)
            arn = machine.arn
        except Exception:
            arn = "arn:aws:states:us-east-1:111111111111:stateMachine:m"
        try:
            await engine.start_execution(arn, {}, name="e1")
        except ExecutionAlreadyExists:
            pass
        await engine.wait_for_execution(arn.replace(":stateMachine:", ":execution:") + ":e1")

asyncio.run(main())
"""


def _lines(log: Path) -> list[Any]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


async def test_sigkill_mid_run_resumes_without_rerunning_recorded_children(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(ITEMS)))
    db, log = tmp_path / "db.sqlite", tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), str(data), str(log), json.dumps(DEFINITION)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while len(_lines(log)) < ITEMS // 3:
            assert worker.poll() is None, "the worker ended before the kill"
            assert time.monotonic() < deadline, "the worker made no progress"
            await asyncio.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait()
    before = len(_lines(log))
    assert before < ITEMS  # killed mid-run
    # committed before effect: every child whose task ran has its row (it was written RUNNING
    # before the task was invoked)
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT json_extract(input, '$.i'), status FROM map_children").fetchall())
        started_before = dict(conn.execute("SELECT arn, start_date FROM map_children").fetchall())
    assert set(_lines(log)) <= set(stored)

    def work(event: Any, context: Any = None) -> Any:
        with log.open("a") as f:
            f.write(json.dumps(event["i"]) + "\n")
        return event["i"] * 2

    resumed = time.time()
    engine = Engine(f"sqlite:///{db}", load_plugins=False, local_buckets={"data": data})
    engine.register_function("work", work)  # before opening: the resumed run calls it at once
    async with engine:
        arn = "arn:aws:states:us-east-1:111111111111:execution:m:e1"
        done = await asyncio.wait_for(engine.wait_for_execution(arn), 60)
        (run,) = await engine.list_map_runs(arn)  # its counts are exact after the resume
        children = await engine.list_executions(map_run_arn=run.map_run_arn)
        with_history = children[0].execution_arn
        try:
            await engine.get_execution_history(with_history)
            raise AssertionError("an EXPRESS child has no history")
        except ExecutionDoesNotExist:
            pass
    assert done.status == "SUCCEEDED", done.cause
    counts = run.execution_counts
    assert (run.status, counts.total, counts.succeeded, counts.running, counts.pending) == (
        "SUCCEEDED",
        ITEMS,
        ITEMS,
        0,
        0,
    )
    assert run.start_date.timestamp() < resumed  # the Map Run started before the kill, and kept that date
    assert done.output == [2 * i for i in range(ITEMS)]
    # the children: one execution per item, none duplicated or lost, named as before the kill
    # (and as the ResultWriter's records name them), and agreeing with the Map Run's counts
    assert len(children) == len({c.execution_arn for c in children}) == ITEMS == counts.total
    assert [c.execution_arn for c in children] == [
        child_arn(run.map_run_arn, i) for i in reversed(range(ITEMS))
    ]
    assert all(c.status == "SUCCEEDED" and c.output == 2 * c.input["i"] for c in children)
    assert sum(c.status == "SUCCEEDED" for c in children) == counts.succeeded
    for c in children:  # a child stored before the kill kept its start date
        if c.execution_arn in started_before:
            assert abs(c.start_date.timestamp() - started_before[c.execution_arn]) < 1e-5  # (microseconds)
    assert {c.execution_arn for c in children} >= set(started_before)
    assert all(status in ("RUNNING", "SUCCEEDED") for status in stored.values())
    calls = Counter(_lines(log))
    assert set(calls) == set(range(ITEMS))
    again = [i for i, n in calls.items() if n > 1]
    assert len(again) <= CONCURRENCY, again  # only those in flight at the kill ran twice
