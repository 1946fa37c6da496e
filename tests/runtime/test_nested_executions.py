"""Nested executions (``states:startExecution`` and ``aws-sdk:sfn:*``) from the user's side, with
AWS's shapes: request-response, ``.sync`` (Output as text), ``.sync:2`` (Output as JSON),
``.waitForTaskToken``, failures, stop propagation, and a restart that finds its child."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, ManualClock

START = "arn:aws:states:::states:startExecution"
CHILD = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}}
FAILING = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it broke"}}}
SLOW = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}


def parent(resource: str, **parameters: Any) -> dict[str, Any]:
    params = {"StateMachineArn.$": "$.child", "Input.$": "$.input", **parameters}
    return {
        "StartAt": "Start",
        "States": {"Start": {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}},
    }


async def run_parent(engine: Engine, definition: dict[str, Any], data: dict[str, Any]) -> Any:
    sm = await engine.create_state_machine("parent", definition)
    started = await engine.start_execution(sm.arn, data)
    return await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 20)


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    async with Engine(str(tmp_path / "n.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        yield e


async def test_request_response_returns_the_start_response(engine: Engine) -> None:
    child = await engine.create_state_machine("child", CHILD)
    done = await run_parent(engine, parent(START), {"child": child.arn, "input": {"a": 1}})
    assert str(done.status) == "SUCCEEDED"
    out = done.output
    assert set(out) == {"ExecutionArn", "StartDate", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert isinstance(out["StartDate"], int) and out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    finished = await engine.wait_for_execution(out["ExecutionArn"])
    assert (str(finished.status), finished.input, finished.output) == (
        "SUCCEEDED",
        {"a": 1},
        {"Arg1": "argument1"},
    )


async def test_sync_returns_the_description_with_output_as_text(engine: Engine) -> None:
    child = await engine.create_state_machine("child", CHILD)
    done = await run_parent(
        engine, parent(START + ".sync", Name="TestStartTarget"), {"child": child.arn, "input": None}
    )
    out = done.output
    assert out["Output"] == '{"Arg1":"argument1"}' and out["Input"] == "{}"
    assert out["Name"] == "TestStartTarget" and out["Status"] == "SUCCEEDED"
    assert out["ExecutionArn"].endswith(":execution:child:TestStartTarget")
    assert (out["RedriveCount"], out["RedriveStatus"]) == (0, "NOT_REDRIVABLE")
    assert out["InputDetails"] == {"Included": True} and out["OutputDetails"] == {"Included": True}
    history = await engine.get_execution_history(done.execution_arn)
    assert [e["type"] for e in history][2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]


async def test_sync2_returns_output_as_json(engine: Engine) -> None:
    child = await engine.create_state_machine("child", CHILD)
    done = await run_parent(engine, parent(START + ".sync:2"), {"child": child.arn, "input": {"k": "v"}})
    assert done.output["Output"] == {"Arg1": "argument1"} and done.output["Input"] == {"k": "v"}


async def test_an_express_child_runs_to_its_end(engine: Engine) -> None:
    child = await engine.create_state_machine("child", CHILD, type="EXPRESS")
    done = await run_parent(engine, parent(START + ".sync:2"), {"child": child.arn, "input": {}})
    assert done.output["Status"] == "SUCCEEDED" and done.output["Output"] == {"Arg1": "argument1"}


async def test_a_failed_child_fails_the_task_with_its_description(engine: Engine) -> None:
    child = await engine.create_state_machine("child", FAILING)
    done = await run_parent(
        engine, parent(START + ".sync", Name="Target"), {"child": child.arn, "input": None}
    )
    assert (str(done.status), done.error) == ("FAILED", "States.TaskFailed")
    cause = json.loads(done.cause or "")
    assert (cause["Error"], cause["Cause"], cause["Status"]) == ("SomeFailure", "it broke", "FAILED")
    assert cause["Input"] == "{}" and "Output" not in cause and cause["Name"] == "Target"


async def test_stopping_the_parent_stops_the_child(engine: Engine) -> None:
    child = await engine.create_state_machine("child", SLOW)
    sm = await engine.create_state_machine("parent", parent(START + ".sync"))
    engine.clock.autojump = None  # type: ignore[attr-defined]
    started = await engine.start_execution(sm.arn, {"child": child.arn, "input": {}})
    for _ in range(200):
        await asyncio.sleep(0.01)
        if await engine.list_executions(child.arn):
            break
    [kid] = await engine.list_executions(child.arn)
    await engine.stop_execution(started.execution_arn)
    assert str((await engine.wait_for_execution(kid.execution_arn)).status) == "ABORTED"


async def test_wait_for_task_token_is_answered_by_the_child_through_aws_sdk_sfn(engine: Engine) -> None:
    answer = {
        "StartAt": "Answer",
        "States": {
            "Answer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                "Parameters": {"TaskToken.$": "$.token", "Output": '{"from": "child"}'},
                "End": True,
            }
        },
    }
    child = await engine.create_state_machine("child", answer)
    definition = parent(START + ".waitForTaskToken")
    definition["States"]["Start"]["Parameters"]["Input"] = {"token.$": "$$.Task.Token"}
    del definition["States"]["Start"]["Parameters"]["Input.$"]
    done = await run_parent(engine, definition, {"child": child.arn})
    assert (str(done.status), done.output) == ("SUCCEEDED", {"from": "child"})


async def test_aws_sdk_sfn_errors_carry_aws_names_and_causes(engine: Engine) -> None:
    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                "Parameters": {"Output": "{}", "TaskToken": "NoSuchTaskToken"},
                "End": True,
            }
        },
    }
    done = await run_parent(engine, definition, {})
    assert done.error == "Sfn.InvalidTokenException"
    assert (done.cause or "").startswith(
        "Invalid Token: 'Invalid token' (Service: Sfn, Status Code: 400, Request ID: "
    )


async def test_a_missing_child_machine_fails_with_the_step_functions_error(engine: Engine) -> None:
    missing = "arn:aws:states:us-east-1:111111111111:stateMachine:nope"
    done = await run_parent(engine, parent(START), {"child": missing, "input": {}})
    assert done.error == "StepFunctions.StateMachineDoesNotExistException"


async def test_after_a_restart_the_parent_waits_for_the_same_child(tmp_path: Path) -> None:
    db = str(tmp_path / "restart.db")
    engine = Engine(db, clock=ManualClock(), load_plugins=False)
    await engine.open()
    child = await engine.create_state_machine("child", SLOW)
    sm = await engine.create_state_machine("parent", parent(START + ".sync"))
    started = await engine.start_execution(sm.arn, {"child": child.arn, "input": {}})
    for _ in range(200):
        await asyncio.sleep(0.01)
        if await engine.list_executions(child.arn):
            break
    await engine.close()
    async with Engine(db, clock=ManualClock(autojump=0.002), load_plugins=False) as again:
        done = await asyncio.wait_for(again.wait_for_execution(started.execution_arn), 20)
        children = await again.list_executions(child.arn)
    assert str(done.status) == "SUCCEEDED" and len(children) == 1
    assert done.output["ExecutionArn"] == children[0].execution_arn


async def test_parent_and_child_are_linked_as_aws_records_it(engine: Engine) -> None:
    """The parent's history names the child (TaskSubmitted); the child learns its parent from
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID in its input, as AWS documents."""
    child = await engine.create_state_machine("child", CHILD)
    definition = parent(START + ".sync:2")
    params = definition["States"]["Start"]["Parameters"]
    del params["Input.$"]
    params["Input"] = {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id", "x": 1}
    done = await run_parent(engine, definition, {"child": child.arn})
    kid = done.output["ExecutionArn"]
    history = await engine.get_execution_history(done.execution_arn)
    submitted = next(e for e in history if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert json.loads(submitted["output"])["ExecutionArn"] == kid
    described = await engine.describe_execution(kid)
    assert described.input == {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": done.execution_arn, "x": 1}


async def test_a_re_run_start_finds_the_child_its_attempt_started(engine: Engine) -> None:
    """The window at-least-once leaves: the start ran, the crash came before its result was
    recorded, the task runs again. Its derived name finds the child (even one that has ended)
    instead of starting a second one or failing."""
    from durable import TaskRequest
    from durable.runtime.nested import NestedExecutions

    child = await engine.create_state_machine("child", CHILD)
    nested = NestedExecutions(engine)
    request = TaskRequest(
        resource=START + ".sync",
        payload={"StateMachineArn": child.arn, "Input": {"k": 1}},
        state_name="Start",
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:parent:p1",
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:parent",
        idempotency_key="0123456789abcdef0123456789abcdef",
    )
    first = await nested.invoke(request)
    await engine.wait_for_execution(first["ExecutionArn"])  # it ends before the re-run
    again = await nested.invoke(request)
    assert again["ExecutionArn"] == first["ExecutionArn"]
    assert len(await engine.list_executions(child.arn)) == 1
