"""The TestState request checks and the mock shape checks, unit by unit."""

from __future__ import annotations

import pytest

from durable.errors import DefinitionError, InvalidExecutionInput, ValidationError
from durable.interpreter.teststate import Mock, StateConfiguration, prepare
from durable.runtime.mock_shapes import check_mock_shape

TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
PARALLEL = {
    "Type": "Parallel",
    "Branches": [{"StartAt": b, "States": {b: {"Type": "Pass", "End": True}}} for b in ("B1", "B2")],
    "End": True,
}


def _message(**request: object) -> str:
    definition = request.pop("definition", TASK)
    with pytest.raises((ValidationError, DefinitionError, InvalidExecutionInput)) as caught:
        prepare(definition, **request)  # type: ignore[arg-type]
    return caught.value.message


def test_a_mock_has_a_result_or_an_error_not_both() -> None:
    mock = Mock(result="{}", error_output=("E", "C"))
    assert (
        _message(mock=mock)
        == "A test mock should have only one of the following fields: [result, errorOutput]."
    )


def test_reveal_secrets_is_refused_with_a_mock() -> None:
    assert _message(mock=Mock(result="{}"), reveal_secrets=True) == (
        "TestState does not support RevealSecrets when a mock is specified."
    )


def test_a_mocked_result_must_be_json() -> None:
    assert (
        _message(mock=Mock(result="nope", field_validation_mode="NONE")) == "Mocked result must be valid JSON"
    )


def test_parallel_mocks_hold_one_result_per_branch() -> None:
    assert _message(definition=PARALLEL, mock=Mock(result="{}")) == "Mocked result must be an array."
    assert _message(definition=PARALLEL, mock=Mock(result="[1]")) == (
        "Mocked result must contain the same number of items as number of Parallel branches."
    )


def test_map_iteration_failures_need_a_mock() -> None:
    config = StateConfiguration(map_iteration_failure_count=1)
    assert _message(state_configuration=config, role_arn="r") == (
        "TestState does not support MapIterationFailureCount when a mock is not specified."
    )


def test_error_caused_by_state_names_a_state_inside_a_mocked_map_or_parallel() -> None:
    error = Mock(error_output=("E", "C"))

    def config(name: str) -> StateConfiguration:
        return StateConfiguration(error_caused_by_state=name)

    prepared = prepare(PARALLEL, mock=error, state_configuration=config("B2"))
    assert prepared.config.error_caused_by_state == "B2"
    nested = {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "Outer",
            "States": {"Outer": {**PARALLEL, "Branches": PARALLEL["Branches"]}},
        },
        "End": True,
    }
    prepare(nested, mock=error, state_configuration=config("B1"))  # at any depth
    assert _message(definition=PARALLEL, mock=error, state_configuration=config("Nope")) == (
        "ErrorCausedByState 'Nope' is not a state within the tested Parallel state."
    )
    assert _message(definition=PARALLEL, mock=Mock(result="[1, 2]"), state_configuration=config("B1")) == (
        "ErrorCausedByState can only be specified with a mock.errorOutput."
    )
    assert "only for Map and Parallel states, not for state type 'Task'" in _message(
        mock=error, state_configuration=config("B1")
    )
    assert _message(state_configuration=config("B1"), role_arn="r") == (
        "TestState does not support ErrorCausedByState when a mock is not specified."
    )


def test_an_unknown_state_name_and_an_invalid_input() -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    assert "'Nope'" in _message(definition=machine, state_name="Nope")
    assert _message(definition={"Type": "Succeed"}, input="{bad") == (
        "Invalid State Machine Execution Input: '{bad'"
    )


def test_an_unknown_inspection_level_is_refused() -> None:
    assert "Member must satisfy enum value set: [INFO, DEBUG, TRACE]" in _message(inspection_level="ALL")


def test_a_state_nested_in_a_map_is_found_by_name() -> None:
    machine = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    prepared = prepare(machine, state_name="Inner")
    assert prepared.type == "Pass"


@pytest.mark.parametrize(
    ("resource", "result", "problem"),
    [
        (
            "arn:aws:states:::aws-sdk:kms:encrypt",
            {"CiphertextBlob": ""},
            "is smaller than the minimum length",
        ),
        ("arn:aws:states:::aws-sdk:kms:encrypt", {"CiphertextBlob": 1}, "must be a string"),
        ("arn:aws:states:::events:putEvents", {"Entries": "x"}, "Field 'Entries' must be an array"),
        (
            "arn:aws:states:::events:putEvents",
            {"Entries": [{"EventId": []}]},
            "Field 'EventId' must be a string",
        ),
        (
            "arn:aws:states:::dynamodb:putItem",
            {"ConsumedCapacity": {"CapacityUnits": "1"}},
            "must be a number",
        ),
        ("arn:aws:states:::events:putEvents", {"Unknown": "fine"}, None),
        ("arn:aws:states:::lambda:invoke", {"Payload": {"json": "is fine"}}, None),
        ("arn:aws:lambda:us-east-1:111111111111:function:f", {"Any": 1}, None),
    ],
)
def test_mock_shapes(resource: str, result: object, problem: str | None) -> None:
    pytest.importorskip("botocore")
    found = check_mock_shape(resource, result, "STRICT")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
