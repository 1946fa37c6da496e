"""A Distributed Map's children are executions of their own (Engine API): listed per Map Run,
described, with their own history and state machine, ABORTED with their stopped parent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from durable import Engine, ExecutionDoesNotExist, ExecutionStatus
from durable.errors import ValidationError
from durable.interpreter.distributed import child_arn

FN = "arn:aws:lambda:us-east-1:111111111111:function:double"


def _machine(processor: dict[str, Any], execution_type: str = "STANDARD", **fields: Any) -> str:
    config = {"Mode": "DISTRIBUTED", "ExecutionType": execution_type}
    state = {"Type": "Map", "Label": "lab", "ItemProcessor": {"ProcessorConfig": config, **processor}}
    return json.dumps({"StartAt": "M", "States": {"M": {**state, "End": True, **fields}}})


PURE = {
    "StartAt": "C",
    "States": {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "F"}],
            "Default": "P",
        },
        "F": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
        "P": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "End": True},
    },
}
TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": True}}}


async def _run(engine: Engine, name: str, definition: str, items: Any) -> tuple[Any, str]:
    machine = await engine.create_state_machine(name, definition)
    started = await engine.start_execution(machine.arn, items)
    done = await engine.wait_for_execution(started.execution_arn)
    (run,) = await engine.list_map_runs(started.execution_arn)
    return done, run.map_run_arn


async def test_children_run_in_place_are_listed_described_and_have_a_history() -> None:
    async with Engine() as engine:
        done, map_run = await _run(engine, "pure", _machine(PURE), [{"v": i, "bad": False} for i in range(3)])
        assert done.status is ExecutionStatus.SUCCEEDED
        children = await engine.list_executions(map_run_arn=map_run)
        assert [c.execution_arn for c in children] == [child_arn(map_run, i) for i in (2, 1, 0)]
        machine_arn = "arn:aws:states:us-east-1:111111111111:stateMachine:pure/lab"
        for c in children:
            assert (c.status, c.state_machine_arn, c.map_run_arn, c.item_count) == (
                ExecutionStatus.SUCCEEDED,
                machine_arn,
                map_run,
                1,
            )
            assert c.output == {"v": c.input["v"]} and c.stop_date is not None and c.start_date <= c.stop_date
        first = await engine.describe_execution(child_arn(map_run, 0))
        assert (first.input, first.output, first.map_run_arn) == ({"v": 0, "bad": False}, {"v": 0}, map_run)
        history = await engine.get_execution_history(first.execution_arn)
        assert [e["type"] for e in history] == [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
        assert [e["id"] for e in history] == [1, 2, 3, 4, 5, 6]
        assert json.loads(history[0]["executionStartedEventDetails"]["input"]) == first.input
        assert json.loads(history[-1]["executionSucceededEventDetails"]["output"]) == {"v": 0}
        machine = await engine.describe_state_machine_for_execution(first.execution_arn)
        assert (machine.arn, machine.name, machine.label, machine.map_run_arn) == (
            machine_arn,
            "pure/lab",
            "lab",
            map_run,
        )
        assert json.loads(machine.definition) == PURE
        with pytest.raises(ValidationError):
            await engine.list_executions(machine_arn, map_run_arn=map_run)


async def test_failed_children_tolerated_and_filtered_by_status() -> None:
    async with Engine() as engine:
        items = [{"v": i, "bad": i in (1, 3)} for i in range(5)]
        definition = _machine(PURE, ToleratedFailureCount=2)
        done, map_run = await _run(engine, "tolerant", definition, items)
        assert done.status is ExecutionStatus.SUCCEEDED
        failed = await engine.list_executions(status="FAILED", map_run_arn=map_run)
        assert [c.execution_arn for c in failed] == [child_arn(map_run, 3), child_arn(map_run, 1)]
        assert all((c.error, c.cause) == ("Bad", "a bad item") for c in failed)
        history = await engine.get_execution_history(failed[0].execution_arn)
        assert [e["type"] for e in history][-2:] == ["FailStateEntered", "ExecutionFailed"]
        assert len(await engine.list_executions(status="SUCCEEDED", map_run_arn=map_run)) == 3
        page, token = await engine.list_executions_page(map_run_arn=map_run, max_results=2)
        rest, end = await engine.list_executions_page(map_run_arn=map_run, max_results=10, next_token=token)
        assert [c.name for c in page + rest] == [
            c.name for c in await engine.list_executions(map_run_arn=map_run)
        ]
        assert end is None and len(page + rest) == 5


async def test_task_children_store_their_own_history_and_batch_sizes() -> None:
    async with Engine() as engine:
        engine.register_function("double", lambda event, ctx=None: {"n": len(event["Items"]) * 2})
        definition = _machine(TASK, ItemBatcher={"MaxItemsPerBatch": 4})
        done, map_run = await _run(engine, "batched", definition, list(range(10)))
        assert done.status is ExecutionStatus.SUCCEEDED
        children = await engine.list_executions(map_run_arn=map_run)
        assert [c.item_count for c in children] == [2, 4, 4]
        history = await engine.get_execution_history(children[0].execution_arn)
        assert [e["type"] for e in history] == [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
        assert [e["previousEventId"] for e in history] == [0, 1, 2, 3, 4, 5, 6]
        page = await engine.get_execution_history(children[0].execution_arn, reverse_order=True)
        assert [e["id"] for e in page] == [7, 6, 5, 4, 3, 2, 1]


async def test_express_children_are_listed_and_described_but_keep_no_history() -> None:
    async with Engine() as engine:
        _, map_run = await _run(engine, "express", _machine(PURE, "EXPRESS"), [{"v": 1, "bad": False}])
        (child,) = await engine.list_executions(map_run_arn=map_run)
        assert (await engine.describe_execution(child.execution_arn)).output == {"v": 1}
        with pytest.raises(ExecutionDoesNotExist):
            await engine.get_execution_history(child.execution_arn)


async def test_stopping_the_parent_aborts_its_running_children() -> None:
    async with Engine() as engine:
        release = asyncio.Event()

        async def slow(event: Any, ctx: Any = None) -> Any:
            await release.wait()
            return event

        engine.register_function("double", slow)
        machine = await engine.create_state_machine("slow", _machine(TASK, MaxConcurrency=2))
        started = await engine.start_execution(machine.arn, [1, 2, 3])
        for _ in range(200):
            runs = await engine.list_map_runs(started.execution_arn)
            if runs and len(await engine.list_executions(map_run_arn=runs[0].map_run_arn)) == 2:
                break
            await asyncio.sleep(0.01)
        map_run = runs[0].map_run_arn
        running = await engine.list_executions(status="RUNNING", map_run_arn=map_run)
        assert len(running) == 2 and all(c.stop_date is None for c in running)
        await engine.stop_execution(started.execution_arn)
        after = await engine.list_executions(map_run_arn=map_run)
        assert [c.status for c in after] == [ExecutionStatus.ABORTED] * 2
        assert await engine.list_executions(status="RUNNING", map_run_arn=map_run) == []
        release.set()
