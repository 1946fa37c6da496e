"""Engine.test_state (AWS TestState), as a user calls it: one state, once, with mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable import DefinitionError, DurableError, Engine, ManualClock

ROLE = "arn:aws:iam::111111111111:role/test"
GREET = "arn:aws:lambda:us-east-1:111111111111:function:greet"


@pytest.fixture
async def engine() -> Any:
    async with Engine(clock=ManualClock(), load_plugins=False) as e:
        yield e


async def test_a_pass_state_at_debug_shows_each_data_processing_step(engine: Engine) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.order",
        "Parameters": {"id.$": "$.id"},
        "ResultPath": "$.picked",
        "Next": "Ship",
    }
    result = await engine.test_state(state, input={"order": {"id": 7}}, inspection_level="DEBUG")
    assert result.status == "SUCCEEDED"
    assert result.output == {"order": {"id": 7}, "picked": {"id": 7}}
    assert result.next_state == "Ship"
    assert result.to_dict() == {
        "output": '{"order":{"id":7},"picked":{"id":7}}',
        "inspectionData": {
            "input": '{"order":{"id":7}}',
            "afterInputPath": '{"id":7}',
            "afterParameters": '{"id":7}',
            "afterResultSelector": '{"id":7}',
            "afterResultPath": '{"order":{"id":7},"picked":{"id":7}}',
        },
        "nextState": "Ship",
        "status": "SUCCEEDED",
    }


async def test_info_level_returns_no_inspection_data(engine: Engine) -> None:
    result = await engine.test_state({"Type": "Succeed"}, input={"a": 1})
    assert result.to_dict() == {"output": '{"a":1}', "status": "SUCCEEDED"}


async def test_a_state_of_a_machine_by_name_and_its_choice(engine: Engine) -> None:
    machine = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Succeed"},
        },
    }
    result = await engine.test_state(machine, state_name="Check", input={"n": 11})
    assert (result.status, result.next_state) == ("SUCCEEDED", "Big")


async def test_a_task_really_calls_its_function_when_not_mocked(engine: Engine) -> None:
    engine.register_function(GREET, lambda event, ctx: {"hello": event["name"]})
    result = await engine.test_state(
        {"Type": "Task", "Resource": GREET, "End": True}, input={"name": "ada"}, role_arn=ROLE
    )
    assert (result.status, result.output) == ("SUCCEEDED", {"hello": "ada"})


async def test_a_task_without_a_mock_needs_a_role(engine: Engine) -> None:
    with pytest.raises(DurableError) as caught:
        await engine.test_state({"Type": "Task", "Resource": GREET, "End": True})
    assert caught.value.code == "ValidationException"
    assert caught.value.message == "RoleArn must be specified when testing a Task state"


async def test_a_mocked_error_is_retriable_then_caught(engine: Engine) -> None:
    state = {
        "Type": "Task",
        "Resource": GREET,
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
        "End": True,
    }
    mock = {"errorOutput": {"error": "Boom", "cause": "it broke"}}
    first = await engine.test_state(state, input={}, mock=mock, inspection_level="DEBUG")
    assert first.status == "RETRIABLE"
    assert first.inspection_data["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 2}
    last = await engine.test_state(
        state, input={}, mock=mock, state_configuration={"retrierRetryCount": 2}, inspection_level="DEBUG"
    )
    assert (last.status, last.next_state, last.error) == ("CAUGHT_ERROR", "Recover", "Boom")
    assert last.output == {"error": {"Error": "Boom", "Cause": "it broke"}}
    assert last.inspection_data["errorDetails"] == {"retryIndex": 0, "catchIndex": 0}


async def test_a_mocked_map_counts_failed_iterations_against_its_tolerance(engine: Engine) -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    ok = await engine.test_state(
        state,
        input={"items": [1, 2]},
        mock={"result": "[1, 2]"},
        state_configuration={"mapIterationFailureCount": 1},
    )
    assert (ok.status, ok.output) == ("SUCCEEDED", [1, 2])
    over = await engine.test_state(
        state,
        input={"items": [1, 2]},
        mock={"result": "[1, 2]"},
        state_configuration={"mapIterationFailureCount": 2},
    )
    assert (over.status, over.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


async def test_map_and_parallel_need_a_mock(engine: Engine) -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    with pytest.raises(DefinitionError) as caught:
        await engine.test_state({"Type": "Parallel", "Branches": [branch], "End": True})
    assert caught.value.message.startswith("TestState API does not support Map or Parallel states.")


async def test_a_mocked_result_is_checked_against_the_service_response_shape(engine: Engine) -> None:
    pytest.importorskip("botocore")
    state = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    with pytest.raises(DurableError) as caught:
        await engine.test_state(state, mock={"result": '{"StatusCode": "200"}'})
    assert caught.value.message == "Mock result schema validation error: Field 'StatusCode' must be a number"
    unchecked = await engine.test_state(
        state, mock={"result": '{"StatusCode": "200"}', "fieldValidationMode": "NONE"}
    )
    assert unchecked.output == {"StatusCode": "200"}


async def test_variables_and_context_reach_expressions(engine: Engine) -> None:
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": GREET,
        "Output": {"who": "{% $who %}", "state": "{% $states.context.State.Name %}"},
        "End": True,
    }
    result = await engine.test_state(
        state,
        variables={"who": "ada"},
        context=json.dumps({"State": {"Name": "Greet"}}),
        mock={"result": "{}"},
        inspection_level="TRACE",
    )
    assert result.output == {"who": "ada", "state": "Greet"}
    assert result.to_dict()["inspectionData"]["variables"] == '{"who":"ada"}'


async def test_a_wait_state_does_not_wait(engine: Engine) -> None:
    result = await engine.test_state({"Type": "Wait", "Seconds": 3600, "Next": "After"}, input={"x": 1})
    assert (result.status, result.output, result.next_state) == ("SUCCEEDED", {"x": 1}, "After")


async def test_a_runtime_error_fails_the_state_and_is_not_caught(engine: Engine) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.missing",
        "End": True,
    }
    result = await engine.test_state(state, input={})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == "Invalid path '$.missing' : No results for path: $['missing']"
