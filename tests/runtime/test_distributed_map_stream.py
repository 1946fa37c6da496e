"""A Distributed Map whose children run in place streams its items: memory does not grow with the
item count, a SIGKILL mid-run resumes from the last committed position (reading no page but the
one it stopped in, storing no child twice), and results beyond the payload quota fail the state
instead of being held."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, Quotas

READER = {
    "Resource": "arn:aws:states:::s3:getObject",
    "ReaderConfig": {"InputType": "JSONL"},
    "Parameters": {"Bucket": "data", "Key": "items.jsonl"},
}
WRITER = {
    "Resource": "arn:aws:states:::s3:putObject",
    "Parameters": {"Bucket": "out", "Prefix": "results"},
    "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
}


def _definition(writer: bool = True, child: str = "STANDARD") -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": copy.deepcopy(READER),
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": child},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"i.$": "$.i", "pad.$": "$.pad"}, "End": True}},
        },
        "End": True,
    }
    if writer:
        state["ResultWriter"] = copy.deepcopy(WRITER)  # (a test may change its copy)
    return {"StartAt": "M", "States": {"M": state}}


def _items(folder: Path, count: int, pad: int = 8) -> None:
    folder.mkdir(exist_ok=True)
    with (folder / "items.jsonl").open("w") as f:
        for i in range(count):
            f.write(json.dumps({"i": i, "pad": "x" * pad}) + "\n")


async def _peak(tmp: Path, count: int) -> int:
    """tracemalloc's peak while a Standard execution maps ``count`` items (engine already open)."""
    data = tmp / f"data{count}"
    _items(data, count)
    buckets = {"data": data, "out": tmp / f"out{count}"}
    async with Engine(
        f"sqlite:///{tmp / f'db{count}.sqlite'}", load_plugins=False, local_buckets=buckets
    ) as engine:
        machine = await engine.create_state_machine("m", _definition())
        tracemalloc.start()
        try:
            started = await engine.start_execution(machine.arn, {})
            done = await engine.wait_for_execution(started.execution_arn)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert done.status == "SUCCEEDED", done.cause
    lines = (tmp / f"out{count}").rglob("SUCCEEDED_0.json")
    assert sum(1 for _ in next(lines).open()) == count
    return peak


async def test_memory_does_not_grow_with_the_item_count(tmp_path: Path) -> None:
    small = await _peak(tmp_path, 2_500)
    large = await _peak(tmp_path, 25_000)  # ten times the items, the same memory
    assert large < 2 * small, (small, large)  # (holding each item would make it ten times)


async def test_results_beyond_the_payload_quota_fail_the_state_unless_the_quota_is_relaxed(
    tmp_path: Path,
) -> None:
    _items(tmp_path / "data", 6_000, pad=100)  # about 660 KB of results: more than 256 KiB
    for quotas, want in ((Quotas(), "FAILED"), (Quotas.relaxed(), "SUCCEEDED")):
        async with Engine(
            load_plugins=False, local_buckets={"data": tmp_path / "data"}, quotas=quotas
        ) as engine:
            machine = await engine.create_state_machine("m", _definition(writer=False))
            started = await engine.start_execution(machine.arn, {})
            done = await engine.wait_for_execution(started.execution_arn)
            (run,) = await engine.list_map_runs(started.execution_arn)
        assert done.status == want, done.cause
        if want == "FAILED":
            assert done.error == "States.DataLimitExceeded"
            assert run.status == "FAILED" and run.execution_counts.succeeded < 6_000  # it stopped
        else:
            assert [o["i"] for o in done.output] == list(range(6_000))


async def test_children_draw_their_own_uuids_and_their_history_draws_the_same() -> None:
    definition = _definition(writer=False)
    state = definition["States"]["M"]
    del state["ItemReader"]
    state["ItemProcessor"]["States"]["P"]["Parameters"] = {"id.$": "States.UUID()", "i.$": "$.i"}
    async with Engine(load_plugins=False) as engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, [{"i": i} for i in range(3)])
        done = await engine.wait_for_execution(started.execution_arn)
        assert done.status == "SUCCEEDED", done.cause
        ids = [o["id"] for o in done.output]
        assert len(set(ids)) == 3
        (run,) = await engine.list_map_runs(started.execution_arn)
        for child in await engine.list_executions(map_run_arn=run.map_run_arn):
            history = await engine.get_execution_history(child.execution_arn)
            exited = next(e for e in history if e["type"] == "PassStateExited")
            assert json.loads(exited["stateExitedEventDetails"]["output"]) == child.output
            assert child.output["id"] == ids[child.output["i"]]


async def test_children_see_their_own_execution_and_their_history_sees_the_same() -> None:
    definition = _definition(writer=False)
    state = definition["States"]["M"]
    del state["ItemReader"]
    state["ItemProcessor"]["States"]["P"]["Parameters"] = {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "start.$": "$$.Execution.StartTime",
        "machine.$": "$$.StateMachine.Id",
        "uuid.$": "States.UUID()",
        "n.$": "States.MathRandom(0, 1000000)",
        "i.$": "$.i",
    }
    async with Engine(load_plugins=False) as engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, [{"i": i} for i in range(40)])
        done = await engine.wait_for_execution(started.execution_arn)
        assert done.status == "SUCCEEDED", done.cause
        (run,) = await engine.list_map_runs(started.execution_arn)
        children = await engine.list_executions(map_run_arn=run.map_run_arn)
        assert len(children) == 40
        for child in children:
            out = done.output[child.output["i"]]
            assert out == child.output
            assert (out["id"], out["name"]) == (child.execution_arn, child.name)
            assert out["input"] == {"i": out["i"]} and out["machine"] == child.state_machine_arn
            history = await engine.get_execution_history(child.execution_arn)
            exited = next(e for e in history if e["type"] == "PassStateExited")
            assert json.loads(exited["stateExitedEventDetails"]["output"]) == out
        assert len({o["uuid"] for o in done.output}) == 40


ITEMS = 60_000
KILL_AFTER = 8_000  # children committed before the kill

WORKER = """
import asyncio, json, sys
from durable import Engine
db, data, out = sys.argv[1:4]
definition = json.loads(sys.argv[4])

async def main():
    engine = Engine("sqlite:///" + db, load_plugins=False, local_buckets={"data": data, "out": out})
    async with engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {}, name="e1")
        await engine.wait_for_execution(started.execution_arn)

asyncio.run(main())
"""


def _checkpoint(db: Path) -> dict[str, Any] | None:
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT body FROM metadata WHERE kind = 'maprun'").fetchall()
    except sqlite3.Error:
        return None
    if not rows:
        return None
    found: dict[str, Any] | None = json.loads(rows[0][0]).get("checkpoint")
    return found


async def test_sigkill_mid_run_resumes_from_the_last_committed_position(tmp_path: Path) -> None:
    data, out, db = tmp_path / "data", tmp_path / "out", tmp_path / "db.sqlite"
    _items(data, ITEMS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), str(data), str(out), json.dumps(_definition())], env=env
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            checkpoint = _checkpoint(db)
            if checkpoint and checkpoint.get("Children", 0) >= KILL_AFTER:
                break
            assert worker.poll() is None, "the worker ended before the kill"
            assert time.monotonic() < deadline, "the worker made no progress"
            await asyncio.sleep(0.01)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait()
    committed = _checkpoint(db)
    assert committed is not None and not committed.get("Done")
    resumed_at = committed["Children"]
    assert resumed_at < ITEMS  # killed mid-run
    with sqlite3.connect(db) as conn:  # committed with it: the children before it, none after
        assert conn.execute("SELECT coalesce(sum(span), 0) FROM map_children").fetchone()[0] == resumed_at

    restarted = time.time()
    engine = Engine(f"sqlite:///{db}", load_plugins=False, local_buckets={"data": data, "out": out})
    sources = engine.runner.items
    read = sources.read
    items_read = 0

    async def counting(*args: Any) -> Any:
        nonlocal items_read
        page = await read(*args)
        items_read += len(page["Items"])
        return page

    sources.read = counting  # type: ignore[method-assign]
    async with engine:
        arn = "arn:aws:states:us-east-1:111111111111:execution:m:e1"
        done = await asyncio.wait_for(engine.wait_for_execution(arn), 120)
        (run,) = await engine.list_map_runs(arn)
    assert done.status == "SUCCEEDED", done.cause
    # only the items after the position were read again (and the rest of its page before them)
    assert ITEMS - resumed_at <= items_read <= ITEMS - resumed_at + 1000
    counts = run.execution_counts
    assert (counts.total, counts.succeeded, counts.pending, counts.running) == (ITEMS, ITEMS, 0, 0)
    with sqlite3.connect(db) as conn:  # every child stored once: spans end to end
        spans = conn.execute("SELECT idx, span FROM map_children ORDER BY idx").fetchall()
        later = conn.execute(
            "SELECT min(start_date) FROM map_children WHERE idx >= ?", (resumed_at,)
        ).fetchone()
    at = 0
    for index, span in spans:
        assert index == at
        at += span
    assert at == ITEMS
    assert later[0] >= restarted  # the children run after the restart started then (not at a replayed time)
    (result,) = out.rglob("SUCCEEDED_0.json")
    with result.open() as f:
        assert [json.loads(line)["i"] for line in f] == list(range(ITEMS))


async def test_a_child_sees_its_own_execution_in_the_context_object() -> None:
    fields = {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "machine.$": "$$.StateMachine.Id",
    }
    pure = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": fields, "End": True}}}
    fn = "arn:aws:lambda:us-east-1:111111111111:function:echo"
    task = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": fn, "Parameters": fields, "End": True}},
    }
    async with Engine(load_plugins=False) as engine:
        engine.register_function("echo", lambda event, context=None: event)
        for n, processor in enumerate((pure, task)):
            config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
            state = {"Type": "Map", "Label": "lab", "ItemProcessor": {"ProcessorConfig": config, **processor}}
            machine = await engine.create_state_machine(
                f"m{n}", {"StartAt": "M", "States": {"M": {**state, "End": True}}}
            )
            started = await engine.start_execution(machine.arn, [{"v": 1}, {"v": 2}])
            done = await engine.wait_for_execution(started.execution_arn)
            assert done.status == "SUCCEEDED", done.cause
            (run,) = await engine.list_map_runs(started.execution_arn)
            children = await engine.list_executions(map_run_arn=run.map_run_arn)
            for child in children:
                assert child.output == {
                    "id": child.execution_arn,
                    "name": child.name,
                    "input": child.input,
                    "machine": child.state_machine_arn,
                }
            assert [o["input"] for o in done.output] == [{"v": 1}, {"v": 2}]
            if processor is pure:  # its derived history says the same
                history = await engine.get_execution_history(children[0].execution_arn)
                exited = next(e for e in history if e["type"] == "PassStateExited")
                assert json.loads(exited["stateExitedEventDetails"]["output"]) == children[0].output


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        found: str = request.getfixturevalue("pg_url")
        return found
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


async def test_a_redrive_goes_on_from_the_position_the_failed_run_committed(tmp_path: Path, url: str) -> None:
    lines = [json.dumps({"i": i, "pad": ""}) for i in range(3_000)]
    lines[2_500] = '{"i": broken'  # the third page fails to read
    (tmp_path / "items.jsonl").write_text("\n".join(lines) + "\n")
    definition = _definition()
    definition["States"]["M"]["ResultWriter"]["Parameters"]["Bucket"] = "data"
    async with Engine(url, load_plugins=False, local_buckets={"data": tmp_path}) as engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {})
        done = await engine.wait_for_execution(started.execution_arn)
        (run,) = await engine.list_map_runs(started.execution_arn)
        assert (done.error, run.status, run.execution_counts.succeeded) == (
            "States.ItemReaderFailed",
            "FAILED",
            2_000,
        )
        lines[2_500] = json.dumps({"i": 2_500, "pad": ""})
        (tmp_path / "items.jsonl").write_text("\n".join(lines) + "\n")
        await engine.redrive_execution(started.execution_arn)
        done = await engine.wait_for_execution(started.execution_arn)
        (run,) = await engine.list_map_runs(started.execution_arn)
        children = await engine.list_executions(map_run_arn=run.map_run_arn)
    assert done.status == "SUCCEEDED", done.cause
    assert (run.status, run.redrive_count, run.execution_counts.succeeded) == ("SUCCEEDED", 1, 3_000)
    assert [c.name for c in children] == [
        f"{run.map_run_arn.rsplit(':', 1)[1][:8]}-{i:08d}" for i in range(2_999, -1, -1)
    ]
    (result,) = tmp_path.rglob("SUCCEEDED_0.json")
    with result.open() as f:
        assert [json.loads(line)["i"] for line in f] == list(range(3_000))


@pytest.mark.parametrize("output_type", ["JSONL", "JSON"])
async def test_result_files_split_at_their_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_type: str
) -> None:
    """The results of children run in place, written from the stored spans, go to a new file
    before one would outgrow the limit (5 GB on AWS; small here)."""
    import durable.runtime.result_files as result_files

    monkeypatch.setattr(result_files, "RESULT_FILE_BYTES", 4_000)
    _items(tmp_path / "data", 1_500)
    definition = _definition()
    definition["States"]["M"]["ResultWriter"] = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "out", "Prefix": "results"},
        "WriterConfig": {"Transformation": "COMPACT", "OutputType": output_type},
    }
    buckets = {"data": tmp_path / "data", "out": tmp_path / "out"}
    async with Engine(load_plugins=False, local_buckets=buckets) as engine:
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, {})
        done = await engine.wait_for_execution(started.execution_arn)
    assert done.status == "SUCCEEDED", done.cause
    manifest = json.loads(next((tmp_path / "out").rglob("manifest.json")).read_text())
    files = manifest["ResultFiles"]["SUCCEEDED"]
    assert len(files) > 10
    outputs: list[Any] = []
    for n, entry in enumerate(files):
        path = tmp_path / "out" / entry["Key"]
        assert path.name == f"SUCCEEDED_{n}.json"
        text = path.read_bytes()
        assert len(text) == entry["Size"] <= 4_000
        if output_type == "JSONL":
            outputs.extend(json.loads(line) for line in text.splitlines())
        else:
            outputs.extend(json.loads(text))
    assert outputs == [{"i": i, "pad": "x" * 8} for i in range(1_500)]
