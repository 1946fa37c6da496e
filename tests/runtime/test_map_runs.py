"""Map Runs from the user's side: a Distributed Map's counts, limits and UpdateMapRun through
the public Engine API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, ExecutionDoesNotExist, ResourceNotFound, TaskFailed
from durable.errors import ValidationError

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def dmap(resource: str, **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": LAMBDA + resource, "End": True}},
                },
                "End": True,
                **fields,
            }
        },
    }


async def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_counts_with_failures_under_the_tolerated_threshold(tmp_path: Path) -> None:
    def work(value: int, context: Any) -> int:
        if value % 4 == 0:
            raise TaskFailed("Odd", "not wanted")
        return value

    async with Engine(f"sqlite:///{tmp_path / 'db'}", load_plugins=False) as engine:
        engine.register_function("work", work)
        definition = dmap("work", MaxConcurrency=3, ToleratedFailureCount=5)
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, list(range(1, 13)))
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
        assert done.status == "SUCCEEDED"
        (run,) = await engine.list_map_runs(started.execution_arn)
        described = await engine.describe_map_run(run.map_run_arn)
        assert described.status == "SUCCEEDED" and described.stop_date is not None
        assert described.execution_arn == started.execution_arn
        assert (described.max_concurrency, described.tolerated_failure_count) == (3, 5)
        for counts in (described.item_counts, described.execution_counts):
            assert (counts.total, counts.succeeded, counts.failed) == (12, 9, 3)
            assert (counts.pending, counts.running, counts.aborted, counts.timed_out) == (0, 0, 0, 0)
        with pytest.raises(ValidationError):
            await engine.update_map_run(run.map_run_arn, max_concurrency=5)
    async with Engine(f"sqlite:///{tmp_path / 'db'}", load_plugins=False) as engine:  # kept in the store
        again = await engine.describe_map_run(run.map_run_arn)
        assert again.execution_counts == described.execution_counts and again.status == "SUCCEEDED"


async def test_over_the_threshold_the_map_run_fails(tmp_path: Path) -> None:
    def work(value: int, context: Any) -> int:
        raise TaskFailed("Bad", "always")

    async with Engine(load_plugins=False) as engine:
        engine.register_function("work", work)
        definition = dmap("work", MaxConcurrency=1, ToleratedFailureCount=1)
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, [1, 2, 3, 4])
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
        assert done.status == "FAILED"
        (run,) = await engine.list_map_runs(started.execution_arn)
        counts = run.execution_counts
        assert run.status == "FAILED"
        assert (counts.total, counts.failed, counts.aborted, counts.succeeded) == (4, 2, 2, 0)


async def test_update_raises_the_concurrency_of_a_running_map_run() -> None:
    gate = asyncio.Event()
    active = 0
    peak = 0

    async def work(value: int, context: Any) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await gate.wait()
        finally:
            active -= 1
        return value

    async with Engine(load_plugins=False) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine("m", dmap("work", MaxConcurrency=1))
        started = await engine.start_execution(machine.arn, list(range(6)))

        async def has_run() -> bool:
            return bool(await engine.list_map_runs(started.execution_arn))

        await wait_until(has_run)
        (run,) = await engine.list_map_runs(started.execution_arn)

        async def one_running() -> bool:
            return active == 1

        await wait_until(one_running)
        await asyncio.sleep(0.05)
        assert active == 1
        described = await engine.describe_map_run(run.map_run_arn)
        assert described.status == "RUNNING" and described.max_concurrency == 1
        assert (described.execution_counts.running, described.execution_counts.pending) == (1, 5)

        updated = await engine.update_map_run(run.map_run_arn, max_concurrency=4)
        assert updated.max_concurrency == 4

        async def four_running() -> bool:
            return active == 4

        await wait_until(four_running)
        assert (await engine.describe_map_run(run.map_run_arn)).execution_counts.running == 4
        gate.set()
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
        assert done.status == "SUCCEEDED" and peak == 4
        final = await engine.describe_map_run(run.map_run_arn)
        assert final.status == "SUCCEEDED" and final.max_concurrency == 4
        assert final.execution_counts.succeeded == 6


async def test_unknown_map_runs() -> None:
    async with Engine(load_plugins=False) as engine:
        ghost = "arn:aws:states:us-east-1:123456789012:mapRun:m/M:00000000-0000-0000-0000-000000000000"
        with pytest.raises(ResourceNotFound):
            await engine.describe_map_run(ghost)
        with pytest.raises(ResourceNotFound):
            await engine.update_map_run(ghost, max_concurrency=2)
        with pytest.raises(ExecutionDoesNotExist):
            await engine.list_map_runs("arn:aws:states:us-east-1:123456789012:execution:m:none")


async def test_stopping_the_execution_aborts_its_map_run() -> None:
    started_children = 0

    async def work(value: int, context: Any) -> int:
        nonlocal started_children
        started_children += 1
        await asyncio.Event().wait()
        return value

    async with Engine(load_plugins=False) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine("m", dmap("work", MaxConcurrency=2))
        started = await engine.start_execution(machine.arn, list(range(5)))

        async def two_running() -> bool:
            runs = await engine.list_map_runs(started.execution_arn)
            return started_children == 2 and bool(runs) and runs[0].execution_counts.running == 2

        await wait_until(two_running)
        await engine.stop_execution(started.execution_arn)
        (run,) = await engine.list_map_runs(started.execution_arn)
        assert run.status == "ABORTED" and run.stop_date is not None
        counts = run.execution_counts
        assert (counts.total, counts.aborted, counts.running, counts.pending) == (5, 5, 0, 0)
        with pytest.raises(ValidationError):
            await engine.update_map_run(run.map_run_arn, max_concurrency=3)


async def test_children_of_pure_states_are_counted() -> None:
    """Pass/Choice/Fail children run in place, without a Fork: their Map Run is counted too."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "F"}],
                "Default": "P",
            },
            "F": {"Type": "Fail", "Error": "Zero"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    definition = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}}
    async with Engine(load_plugins=False) as engine:
        machine = await engine.create_state_machine("m", definition)
        for values, want in (([1] * 300, "SUCCEEDED"), ([1, 1, 0, 1, 1], "FAILED")):
            started = await engine.start_execution(machine.arn, values)
            done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
            assert done.status == want
            (run,) = await engine.list_map_runs(started.execution_arn)
            counts = run.execution_counts
            assert run.status == want and run.stop_date is not None
            if want == "SUCCEEDED":
                assert (counts.total, counts.succeeded, counts.failed) == (300, 300, 0)
            else:
                assert (counts.total, counts.succeeded, counts.failed, counts.aborted) == (5, 2, 1, 2)
            assert counts.pending == counts.running == 0


@pytest.mark.parametrize("pure", [True, False], ids=["in-place", "forked"])
async def test_batched_children_count_items_and_executions_apart(tmp_path: Path, pure: bool) -> None:
    """With an ItemBatcher each child execution processes a batch: the Map Run's item counts are
    the items, its execution counts the children; resultsWritten counts both once written."""
    step: dict[str, Any] = (
        {"Type": "Pass", "End": True} if pure else {"Type": "Task", "Resource": LAMBDA + "echo", "End": True}
    )
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemBatcher": {"MaxItemsPerBatch": 4},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "S",
                    "States": {"S": step},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "out"},
                },
                "End": True,
            }
        },
    }
    url = f"sqlite:///{tmp_path / 'db'}"
    async with Engine(url, load_plugins=False, local_buckets={"out": tmp_path / "out"}) as engine:
        engine.register_function("echo", lambda event, context: event)
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, list(range(10)))  # batches of 4, 4, 2
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
        assert done.status == "SUCCEEDED", done.cause
        (run,) = await engine.list_map_runs(started.execution_arn)
        items, executions = run.item_counts, run.execution_counts
        assert (items.total, items.succeeded, items.results_written) == (10, 10, 10)
        assert (executions.total, executions.succeeded, executions.results_written) == (3, 3, 3)
        assert items.pending == items.running == executions.pending == executions.running == 0


async def test_redrive_reruns_only_the_unsuccessful_children_of_the_same_map_run(tmp_path: Path) -> None:
    """RedriveExecution redrives the Map Run (AWS): the same Map Run ARN, its redrive count and
    date, a MapRunRedriven event, and only failed or unfinished children run again."""
    calls: dict[int, int] = {}
    broken = {3, 6}

    def work(value: int, context: Any) -> int:
        calls[value] = calls.get(value, 0) + 1
        if value in broken:
            raise TaskFailed("Bad", f"item {value}")
        return value * 10

    url = f"sqlite:///{tmp_path / 'db'}"
    async with Engine(url, load_plugins=False) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine("m", dmap("work", Label="Rows", MaxConcurrency=2))
        started = await engine.start_execution(machine.arn, list(range(1, 8)))
        arn = started.execution_arn
        failed = await asyncio.wait_for(engine.wait_for_execution(arn), 30)
        assert failed.status == "FAILED" and failed.error == "Bad"
        (before,) = await engine.list_map_runs(arn)
        assert before.status == "FAILED" and before.redrive_count == 0 and before.redrive_date is None
        first = dict(calls)
        children = await engine.list_executions(map_run_arn=before.map_run_arn)
        assert any(str(c.status) == "FAILED" for c in children)
        # (a child running when the Map Run failed was aborted, even if its function had run)
        succeeded_first = {c.input for c in children if str(c.status) == "SUCCEEDED"}
        assert succeeded_first, "some children succeeded before the Map Run failed"

        broken.clear()
        await engine.redrive_execution(arn)
        done = await asyncio.wait_for(engine.wait_for_execution(arn), 30)
        assert done.status == "SUCCEEDED" and done.output == [v * 10 for v in range(1, 8)]
        (after,) = await engine.list_map_runs(arn)
        assert after.map_run_arn == before.map_run_arn and after.status == "SUCCEEDED"
        assert after.redrive_count == 1 and after.redrive_date is not None
        assert after.execution_counts.succeeded == 7
        children = await engine.list_executions(map_run_arn=after.map_run_arn)  # rerun children rewritten
        assert sorted(c.input for c in children) == list(range(1, 8))
        assert all(str(c.status) == "SUCCEEDED" for c in children), [(c.input, c.status) for c in children]
        # children that succeeded the first time were not invoked again; the others ran once more
        for value in range(1, 8):
            again = 0 if value in succeeded_first else 1
            assert calls[value] == first.get(value, 0) + again, (value, first, calls)
        history = await engine.get_execution_history(arn)
        kinds = [e["type"] for e in history]
        assert kinds.count("MapRunStarted") == 1 and kinds.count("MapRunRedriven") == 1
        redriven = next(e for e in history if e["type"] == "MapRunRedriven")
        assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": before.map_run_arn, "redriveCount": 1}
        assert kinds.index("ExecutionRedriven") < kinds.index("MapRunRedriven")
        by_id = {e["id"]: e for e in history}
        map_failed = next(e for e in history if e["type"] == "MapStateFailed")
        assert by_id[map_failed["previousEventId"]]["type"] == "MapRunFailed"


async def test_a_redriven_map_run_is_counted_once_across_a_restart(tmp_path: Path) -> None:
    """The redrive mark and MapRunRedriven are journaled: an engine restarted mid-redrive replays
    them instead of redriving the Map Run a second time."""
    gate = asyncio.Event()
    fail = {"on": True}

    async def work(value: int, context: Any) -> int:
        if fail["on"] and value == 2:
            raise TaskFailed("Bad", "first run")
        if not fail["on"] and value == 2:
            await gate.wait()  # the redriven child waits: the engine closes meanwhile
        return value

    url = f"sqlite:///{tmp_path / 'db'}"
    async with Engine(url, load_plugins=False) as engine:
        engine.register_function("work", work)
        machine = await engine.create_state_machine("m", dmap("work"))
        arn = (await engine.start_execution(machine.arn, [1, 2, 3])).execution_arn
        assert (await asyncio.wait_for(engine.wait_for_execution(arn), 30)).status == "FAILED"
        fail["on"] = False
        await engine.redrive_execution(arn)

        async def redriven() -> bool:
            (run,) = await engine.list_map_runs(arn)
            return run.redrive_count == 1 and run.status == "RUNNING"

        await wait_until(redriven)
    gate.set()
    async with Engine(url, load_plugins=False) as engine:
        engine.register_function("work", work)
        done = await asyncio.wait_for(engine.wait_for_execution(arn), 30)
        assert done.status == "SUCCEEDED" and done.output == [1, 2, 3]
        (run,) = await engine.list_map_runs(arn)
        assert run.redrive_count == 1 and run.status == "SUCCEEDED"
        kinds = [e["type"] for e in await engine.get_execution_history(arn)]
        assert kinds.count("MapRunRedriven") == 1 and kinds.count("MapRunStarted") == 1
