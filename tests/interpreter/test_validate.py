"""Tests for the static ASL validator (durable.interpreter.validate)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable import DefinitionError, Engine
from durable.errors import Diagnostic
from durable.interpreter.validate import validate_definition
from durable.interpreter.validate_tables import CHOICE_OPERATORS

SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"
Found = tuple[str, str, str | None]

CASES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases.jsonl"


def found(definition: object, machine_type: str = "STANDARD") -> list[Found]:
    return [
        (d.code, d.message, d.location) for d in validate_definition(definition, machine_type=machine_type)
    ]


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A machine whose only state is ``S``."""
    return {"StartAt": "S", "States": {"S": state}, **top}


def schema(message: str, location: str | None) -> Found:
    return (SCHEMA, message, location)


def unsupported(name: str, location: str = "/States/S") -> Found:
    return schema(f"Field '{name}' is not supported", location)


def language(name: str, lang: str, location: str = "/States/S") -> Found:
    other = "JSONPath" if lang == "JSONata" else "JSONata"
    return schema(
        f"The QueryLanguage is set to '{lang}', but field '{name}' is only supported for the "
        f"'{other}' QueryLanguage",
        location,
    )


TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}


# --- valid definitions --------------------------------------------------------------------------

VALID_JSONPATH: dict[str, Any] = {
    "Comment": "every state type, JSONPath",
    "Version": "1.0",
    "TimeoutSeconds": 300,
    "QueryLanguage": "JSONPath",
    "StartAt": "Pass",
    "States": {
        "Pass": {
            "Type": "Pass",
            "InputPath": "$.in",
            "Parameters": {
                "literal": "$.not.a.path",
                "path.$": "$.a[0].b",
                "ctx.$": "$$.Execution.Id",
                "var.$": "$myVar.field",
                "fn.$": "States.Format('{} and {}', $.a, $$.State.Name)",
                "nested": {"list": [{"deep.$": "States.Array($.x, 1, 'two', true, null)"}]},
            },
            "ResultPath": "$.out",
            "OutputPath": "$",
            "Assign": {"myVar": 1, "other.$": "$.x", "ünïcode_name": "ok"},
            "Next": "Wait",
        },
        "Wait": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00.123+02:00", "Next": "Choice"},
        "Choice": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.s", "StringEquals": "x", "Next": "Task", "Assign": {"picked": "s"}},
                {"Variable": "$.s", "StringMatches": "log-*.txt", "Next": "Task"},
                {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$$.Execution.Input.n", "Next": "Task"},
                {"Variable": "$.t", "TimestampLessThan": "2020-01-01T00:00:00Z", "Next": "Task"},
                {
                    "And": [
                        {"Variable": "$.b", "BooleanEquals": True},
                        {"Not": {"Variable": "$.x", "IsPresent": True}},
                        {
                            "Or": [
                                {"Variable": "$var", "IsNull": False},
                                {"Variable": "$.n", "NumericEquals": 1.5},
                            ]
                        },
                    ],
                    "Next": "Parallel",
                },
            ],
            "Default": "Fail",
        },
        "Task": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl.$": "$.q", "MessageBody": {"Token.$": "$$.Task.Token"}},
            "ResultSelector": {"id.$": "$.MessageId"},
            "Credentials": {"RoleArn.$": "$.role"},
            "TimeoutSeconds": 100,
            "HeartbeatSeconds": 10,
            "Retry": [
                {"ErrorEquals": ["A", "B"], "IntervalSeconds": 1, "MaxAttempts": 0, "BackoffRate": 1},
                {
                    "ErrorEquals": ["States.ALL"],
                    "MaxDelaySeconds": 5,
                    "JitterStrategy": "FULL",
                    "Comment": "c",
                },
            ],
            "Catch": [
                {"ErrorEquals": ["X"], "Next": "Fail", "ResultPath": None},
                {"ErrorEquals": ["States.ALL"], "Next": "Fail", "ResultPath": "$.error"},
            ],
            "Next": "Map",
        },
        "Map": {
            "Type": "Map",
            "ItemsPath": "$$.Execution.Input.items",
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            "MaxConcurrencyPath": "$.concurrency",
            "ToleratedFailurePercentage": 12.5,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Inner",
                "States": {"Inner": {"Type": "Succeed"}},
            },
            "Next": "Distributed",
        },
        "Distributed": {
            "Type": "Map",
            "Label": "dist",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket.$": "$.bucket", "Key": "items.csv"},
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"]},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"run.$": "$$.Execution.Name"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Child",
                "States": {"Child": {"Type": "Pass", "End": True}},
            },
            "Next": "Parallel",
        },
        "Parallel": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Result": [1, 2], "End": True}}},
                {
                    "Comment": "second",
                    "StartAt": "B2",
                    "States": {
                        "B2": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "B3"},
                        "B3": {"Type": "Succeed"},
                    },
                },
            ],
            "ResultSelector": {"first.$": "$[0]"},
            "Next": "Legacy",
        },
        "Legacy": {
            "Type": "Map",
            "Iterator": {"StartAt": "It", "States": {"It": {"Type": "Pass", "End": True}}},
            "Parameters": {"item.$": "$$.Map.Item.Value"},
            "MaxConcurrency": 0,
            "End": True,
        },
        "Fail": {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "States.Format('cause: {}', $.cause)"},
    },
}

VALID_JSONATA: dict[str, Any] = {
    "QueryLanguage": "JSONata",
    "StartAt": "Task",
    "States": {
        "Task": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
            "Output": "{% $states.result.Payload %}",
            "Assign": {"last": "{% $states.result %}", "when": "{% $states.context.State.EnteredTime %}"},
            "TimeoutSeconds": "{% $timeout %}",
            "Credentials": {"RoleArn": "{% $role %}"},
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Next": "Choice",
                    "Output": {"error": "{% $states.errorOutput %}"},
                    "Assign": {"failed": "{% $states.errorOutput.Error %}"},
                }
            ],
            "Next": "Choice",
        },
        "Choice": {
            "Type": "Choice",
            "Choices": [
                {"Condition": "{% $last = 1 %}", "Next": "Map", "Output": {"x": 1}, "Assign": {"y": 2}},
                {"Condition": True, "Next": "Wait"},
            ],
            "Default": "Wait",
            "Output": "{% $states.input %}",
        },
        "Wait": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "Map"},
        "Map": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
            "MaxConcurrency": "{% 2 %}",
            "ItemProcessor": {
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Output": "{% 'literal $states.result' %}", "End": True}},
            },
            "Next": "Fail",
        },
        "Fail": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "plain"},
    },
}


def test_valid_jsonpath_machine() -> None:
    assert found(VALID_JSONPATH) == []


def test_valid_jsonata_machine() -> None:
    assert found(VALID_JSONATA) == []


def test_minimal_machines_are_valid() -> None:
    assert found(one({"Type": "Succeed"})) == []
    assert found(one({"Type": "Pass", "End": True}), "EXPRESS") == []


def test_valid_definitions_are_not_mutated() -> None:
    before = copy.deepcopy(VALID_JSONPATH)
    validate_definition(VALID_JSONPATH)
    assert before == VALID_JSONPATH


def test_returns_diagnostic_objects() -> None:
    [d] = validate_definition({"States": {"S": {"Type": "Succeed"}}})
    assert d == Diagnostic(SCHEMA, "These fields are required: [StartAt]", "/")
    assert d.severity == "ERROR"


# --- top level ----------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", [None, [], "definition", 3, True])
def test_not_an_object(definition: object) -> None:
    assert found(definition) == [schema("Definition must be a valid JSON object", None)]


def test_empty_object_requires_states_and_start_at() -> None:
    assert found({}) == [schema("These fields are required: [States, StartAt]", "/")]


def test_top_level_fields() -> None:
    definition = one(
        {"Type": "Succeed"}, Extra=1, TimeoutSeconds=0, QueryLanguage="XPath", Version="2.0", Comment=5
    )
    assert found(definition) == [
        unsupported("Extra", "/"),
        schema("Value should be one of the following: [1.0]", "/Version"),
        schema("Minimum value is 1", "/TimeoutSeconds"),
        schema("Value should be one of the following: [JSONPath, JSONata]", "/QueryLanguage"),
        schema("Expected value of type: String", "/Comment"),
    ]


def test_states_must_be_an_object() -> None:
    assert found({"StartAt": "S", "States": []}) == [schema("Expected value of type: Object", "/States")]


def test_state_must_be_an_object_with_a_known_type() -> None:
    assert found({"StartAt": "S", "States": {"S": 1}}) == [
        schema("Expected value of type: Object", "/States/S")
    ]
    assert found(one({"End": True})) == [schema("These fields are required: [Type]", "/States/S")]
    assert found(one({"Type": "Nope", "End": True})) == [
        schema(
            "The field 'Type' should have one of these values: "
            "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
            "/States/S/Type",
        )
    ]


def test_state_name_length() -> None:
    name = "n" * 81
    assert found({"StartAt": name, "States": {name: {"Type": "Succeed"}}}) == [
        (
            "INVALID_STATE_NAME",
            f"State name '{name}' exceeds the maximum length of 80 characters",
            f"/States/{name}",
        )
    ]
    ok = "n" * 80
    assert found({"StartAt": ok, "States": {ok: {"Type": "Succeed"}}}) == []


# --- field availability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "field"),
    [
        (
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            },
            "TimeoutSeconds",
        ),
        (
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}],
                "End": True,
            },
            "TimeoutSeconds",
        ),
        ({"Type": "Pass", "End": True}, "Retry"),
        ({"Type": "Pass", "End": True}, "Catch"),
        ({"Type": "Wait", "Seconds": 1, "End": True}, "Catch"),
        ({"Type": "Wait", "Seconds": 1, "End": True}, "ResultPath"),
        ({"Type": "Succeed"}, "Next"),
        ({"Type": "Fail"}, "End"),
        ({"Type": "Fail"}, "InputPath"),
        ({"Type": "Fail"}, "Assign"),
        ({"Type": "Succeed"}, "Assign"),
        ({"Type": "Pass", "End": True}, "Resource"),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "Result"),
        (
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            },
            "Arguments",
        ),
        ({"Type": "Pass", "End": True}, "Bogus"),
    ],
)
def test_field_not_supported_by_state_type(state: dict[str, Any], field: str) -> None:
    state = {**state, field: "$.x" if field != "Next" else "S"}
    assert found(one(state)) == [unsupported(field)]


def test_choice_cannot_end() -> None:
    state = {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "S"}], "End": True}
    assert found(one(state)) == [
        unsupported("End"),
        ("MISSING_END_STATE", "Workflow has no terminal state", None),
    ]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "End": True}, "InputPath"),
        ({"Type": "Pass", "End": True}, "Result"),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "Parameters"),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "ResultSelector"),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "TimeoutSecondsPath"),
        ({"Type": "Wait", "Seconds": 1, "End": True}, "OutputPath"),
        ({"Type": "Fail"}, "CausePath"),
    ],
)
def test_jsonpath_only_fields_in_jsonata(state: dict[str, Any], field: str) -> None:
    assert found(one({**state, field: "$.x"}, QueryLanguage="JSONata")) == [language(field, "JSONata")]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Pass", "End": True}, "Output"),
        ({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}, "Arguments"),
        (
            {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                "End": True,
            },
            "Items",
        ),
    ],
)
def test_jsonata_only_fields_in_jsonpath(state: dict[str, Any], field: str) -> None:
    assert found(one({**state, field: "{% 1 %}"})) == [language(field, "JSONPath")]


def test_state_level_query_language() -> None:
    # A JSONata state inside a JSONPath machine may use JSONata fields.
    assert found(one({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": True})) == []
    downgrade = one(
        {"Type": "Pass", "End": True, "QueryLanguage": "JSONPath", "Result": 1}, QueryLanguage="JSONata"
    )
    assert found(downgrade) == [
        schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", "/States/S"
        ),
        language("Result", "JSONata"),
    ]
    assert found(one({"Type": "Pass", "End": True, "QueryLanguage": "jsonata"})) == [
        schema("Value should be one of the following: [JSONPath, JSONata]", "/States/S/QueryLanguage")
    ]


def test_nested_scopes_default_to_the_machine_language() -> None:
    definition = one(
        {
            "Type": "Map",
            "QueryLanguage": "JSONata",
            "Items": [1, 2],
            "ItemProcessor": {
                "StartAt": "I",
                "States": {"I": {"Type": "Pass", "InputPath": "$", "End": True}},
            },
            "End": True,
        }
    )
    assert found(definition) == []


# --- transitions and the state graph ------------------------------------------------------------


def test_next_and_end() -> None:
    assert found(one({"Type": "Pass", "Next": "S", "End": True})) == [
        schema("There should only be one of the following fields: [Next, End]", "/States/S")
    ]
    for state in ({"Type": "Pass"}, {"Type": "Pass", "End": False}):
        assert found(one(state)) == [
            schema("This object should have only one of the following fields: [Next, End]", "/States/S"),
            ("MISSING_END_STATE", "Workflow has no terminal state", None),
        ]
    assert found(one({"Type": "Pass", "End": "yes"}))[0] == schema(
        "Expected value of type: Boolean", "/States/S/End"
    )


def test_missing_transition_targets_say_next_everywhere() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NoCatch"}],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "NoRule"}],
                "Default": "NoDefault",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    assert found(definition) == [
        (TARGET, "Missing 'Next' target: NoCatch", "/States/T/Catch[0]/Next"),
        (TARGET, "Missing 'Next' target: NoRule", "/States/C/Choices[0]/Next"),
        (TARGET, "Missing 'Next' target: NoDefault", "/States/C/Default"),
        (TARGET, 'State "Done" is not reachable.', "/States/Done"),
    ]


def test_start_at_must_name_a_state() -> None:
    assert found({"StartAt": "Nope", "States": {"S": {"Type": "Succeed"}}}) == [
        (TARGET, "Missing 'Next' target: Nope", "/StartAt")
    ]


def test_dangling_next_and_no_terminal_state() -> None:
    assert found(one({"Type": "Pass", "Next": "NOPE"})) == [
        (TARGET, "Missing 'Next' target: NOPE", "/States/S/Next"),
        ("MISSING_END_STATE", "Workflow has no terminal state", None),
    ]


def test_loop_without_terminal_state_suppresses_reachability() -> None:
    loop = {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}
    assert found({"StartAt": "A", "States": loop}) == [
        ("MISSING_END_STATE", "Workflow has no terminal state", None)
    ]
    orphan = {**loop, "O": {"Type": "Pass", "Next": "A"}}
    assert found({"StartAt": "A", "States": orphan}) == [
        ("MISSING_END_STATE", "Workflow has no terminal state", None)
    ]
    with_end = {**loop, "C": {"Type": "Pass", "End": True}}
    assert found({"StartAt": "A", "States": with_end}) == [
        (TARGET, 'State "C" is not reachable.', "/States/C")
    ]


def test_unreachable_cycle_is_reported() -> None:
    states = {
        "A": {"Type": "Succeed"},
        "X": {"Type": "Pass", "Next": "Y"},
        "Y": {"Type": "Pass", "Next": "X"},
    }
    assert found({"StartAt": "A", "States": states}) == [
        (TARGET, 'State "X" is not reachable.', "/States/X"),
        (TARGET, 'State "Y" is not reachable.', "/States/Y"),
    ]


def test_catch_targets_make_states_reachable() -> None:
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Catch": [{"ErrorEquals": ["E"], "Next": "H"}],
            "End": True,
        },
        "H": {"Type": "Fail"},
    }
    assert found({"StartAt": "T", "States": states}) == []


def test_transitions_stay_inside_their_scope() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Out"}}}],
                "Next": "Out",
            },
            "Out": {"Type": "Succeed"},
        },
    }
    assert found(definition) == [
        (TARGET, "Missing 'Next' target: Out", "/States/P/Branches[0]/States/X/Next"),
        ("MISSING_END_STATE", "Workflow has no terminal state", "/States/P/Branches[0]"),
    ]


def test_duplicate_state_names_across_scopes() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}},
                    {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}},
                ],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}},
                "End": True,
            },
        },
    }
    assert found(definition) == [
        ("DUPLICATE_STATE_NAME", "Duplicate State name: X", "/States/P/Branches[1]/States/X"),
        ("DUPLICATE_STATE_NAME", "Duplicate State name: P", "/States/M/ItemProcessor/States/P"),
    ]


# --- Choice -------------------------------------------------------------------------------------


def choice(*rules: Any, **extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "C",
        "States": {"C": {"Type": "Choice", "Choices": list(rules), **extra}, "D": {"Type": "Succeed"}},
    }


def test_choice_requires_non_empty_choices() -> None:
    assert found(one({"Type": "Choice", "Default": "S"})) == [
        schema("These fields are required: [Choices]", "/States/S"),
        ("MISSING_END_STATE", "Workflow has no terminal state", None),
    ]
    assert found(choice(Default="D")) == [schema("Value cannot be empty", "/States/C/Choices")]


def test_choice_rule_next_rules() -> None:
    rules = (
        {"Variable": "$.x", "IsNull": True},
        {"And": [{"Variable": "$.x", "IsNull": True, "Next": "D"}], "Next": "D"},
        {"Not": {"Variable": "$.x", "IsNull": True, "Next": "D"}, "Next": "D"},
    )
    assert found(choice(*rules)) == [
        schema("These fields are required: [Next]", "/States/C/Choices[0]"),
        unsupported("Next", "/States/C/Choices[1]/And[0]"),
        unsupported("Next", "/States/C/Choices[2]/Not"),
    ]


def test_choice_rule_operators() -> None:
    every_operator = f"[{', '.join(CHOICE_OPERATORS)}]"
    selectors = "The object must have only one of the following fields, [And, Or, Not, Variable, Condition]"
    rules = (
        {"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "D"},
        {"Variable": "$.x", "Next": "D"},
        {"StringEquals": "a", "Next": "D"},
        {"Variable": "$.x", "Or": [{"Variable": "$.y", "IsNull": True}], "Next": "D"},
        {"Variable": "$.x", "Bogus": 1, "IsNull": True, "Next": "D"},
        {"And": [], "Next": "D"},
    )
    assert found(choice(*rules, Default="D")) == [
        schema(
            "There should only be one of the following fields: [StringEquals, NumericEquals]",
            "/States/C/Choices[0]",
        ),
        schema(
            f"This object should have only one of the following fields: {every_operator}",
            "/States/C/Choices[1]",
        ),
        schema(selectors, "/States/C/Choices[2]"),
        schema("These fields are required: [Variable]", "/States/C/Choices[2]"),
        schema(selectors, "/States/C/Choices[3]"),
        schema(
            f"This object should have only one of the following fields: {every_operator}",
            "/States/C/Choices[3]",
        ),
        unsupported("Bogus", "/States/C/Choices[4]"),
        schema("Value cannot be empty", "/States/C/Choices[5]/And"),
    ]


@pytest.mark.parametrize(
    ("operator", "operand", "message"),
    [
        ("StringEquals", 1, "Expected value of type: String"),
        ("StringMatches", 1, "Expected value of type: String"),
        ("StringLessThanEqualsPath", "x", "Value must be a valid JSONPath."),
        ("NumericEquals", "1", "Expected value of type: Number"),
        ("NumericLessThan", True, "Expected value of type: Number"),
        ("BooleanEquals", "true", "Expected value of type: Boolean"),
        ("IsPresent", 1, "Expected value of type: Boolean"),
        ("TimestampEquals", "2016-03-14 01:59:00Z", "String does not match RFC3339 timestamp"),
        ("TimestampGreaterThanPath", "$.a[", "Value must be a valid JSONPath."),
    ],
)
def test_choice_operand_types(operator: str, operand: object, message: str) -> None:
    assert found(choice({"Variable": "$.x", operator: operand, "Next": "D"})) == [
        schema(message, f"/States/C/Choices[0]/{operator}")
    ]


def test_choice_variable_must_be_a_path() -> None:
    assert found(choice({"Variable": "x", "IsNull": True, "Next": "D"})) == [
        schema("Value must be a valid JSONPath.", "/States/C/Choices[0]/Variable")
    ]


def test_choice_rules_follow_the_query_language() -> None:
    jsonata = choice({"Variable": "$.x", "IsNull": True, "Next": "D"}, QueryLanguage="JSONata")
    assert found(jsonata) == [
        language("Variable", "JSONata", "/States/C/Choices[0]"),
        language("IsNull", "JSONata", "/States/C/Choices[0]"),
    ]
    jsonpath = choice({"Condition": True, "Next": "D"})
    assert found(jsonpath) == [language("Condition", "JSONPath", "/States/C/Choices[0]")]
    bad_condition = choice({"Condition": "yes", "Next": "D"}, QueryLanguage="JSONata")
    assert found(bad_condition) == [
        schema("Expected value of type: Boolean", "/States/C/Choices[0]/Condition")
    ]


# --- Wait ---------------------------------------------------------------------------------------


def test_wait_needs_exactly_one_timing_field() -> None:
    fields = "[SecondsPath, Seconds, TimestampPath, Timestamp]"
    assert found(one({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True})) == [
        schema(f"There should only be one of the following fields: {fields}", "/States/S")
    ]
    assert found(one({"Type": "Wait", "End": True})) == [
        schema(f"This object should have only one of the following fields: {fields}", "/States/S")
    ]


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (-1, "Minimum value is 0"),
        (100_000_000, "Maximum value is 99999999"),
        (1.5, "Expected value of type: Integer"),
        ("5", "Expected value of type: Integer"),
    ],
)
def test_wait_seconds(seconds: object, message: str) -> None:
    assert found(one({"Type": "Wait", "Seconds": seconds, "End": True})) == [
        schema(message, "/States/S/Seconds")
    ]


@pytest.mark.parametrize(
    "timestamp",
    [
        "2016-03-14T01:59:00Z",
        "2016-03-14T01:59:00.5Z",
        "2016-03-14T01:59:00+05:30",
        "2024-02-29T23:59:59-00:00",
    ],
)
def test_valid_timestamps(timestamp: str) -> None:
    assert found(one({"Type": "Wait", "Timestamp": timestamp, "End": True})) == []


@pytest.mark.parametrize(
    "timestamp",
    [
        "2016-03-14t01:59:00Z",
        "2016-03-14T01:59:00z",
        "2016-03-14 01:59:00Z",
        "2016-03-14T01:59:00",
        "2016-13-14T01:59:00Z",
        "2016-03-14T25:59:00Z",
        "2023-02-29T00:00:00Z",
        "14-03-2016T01:59:00Z",
        "2016-03-14T01:59:00+2:00",
    ],
)
def test_invalid_timestamps(timestamp: str) -> None:
    assert found(one({"Type": "Wait", "Timestamp": timestamp, "End": True})) == [
        schema("String does not match RFC3339 timestamp", "/States/S/Timestamp")
    ]


def test_wait_path_fields_are_reference_paths() -> None:
    assert found(one({"Type": "Wait", "SecondsPath": "$.a[*]", "End": True})) == [
        schema("Value is not a Reference Path", "/States/S/SecondsPath")
    ]
    assert found(one({"Type": "Wait", "TimestampPath": "when", "End": True})) == [
        schema(
            "Value is not a Reference Path: Reference path didn't start with '$'", "/States/S/TimestampPath"
        )
    ]


# --- Fail ---------------------------------------------------------------------------------------


def test_fail_fields() -> None:
    state = {"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "C", "CausePath": "$.c"}
    assert found(one(state)) == [
        schema("There should only be one of the following fields: [Error, ErrorPath]", "/States/S"),
        schema("There should only be one of the following fields: [Cause, CausePath]", "/States/S"),
    ]
    assert found(one({"Type": "Fail", "ErrorPath": "States.Nope()", "CausePath": "$.c[*]"})) == [
        schema("Value is not a Reference Path or a valid intrinsic function call", "/States/S/ErrorPath"),
        schema("Value is not a Reference Path", "/States/S/CausePath"),
    ]
    assert found(one({"Type": "Fail", "ErrorPath": "$$.State.Name", "CausePath": "States.UUID()"})) == []
    assert found(one({"Type": "Fail", "Error": 1})) == [
        schema("Expected value of type: String", "/States/S/Error")
    ]


# --- Task ---------------------------------------------------------------------------------------


def test_task_requires_resource() -> None:
    assert found(one({"Type": "Task", "End": True})) == [
        schema("These fields are required: [Resource]", "/States/S")
    ]
    assert found(one({"Type": "Task", "Resource": 1, "End": True})) == [
        schema("Expected value of type: String", "/States/S/Resource")
    ]


def test_task_timeouts() -> None:
    state = {**TASK, "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 0}
    assert found(one(state)) == [
        schema("Minimum value is 1", "/States/S/HeartbeatSeconds"),
        schema(
            "There should only be one of the following fields: [TimeoutSeconds, TimeoutSecondsPath]",
            "/States/S",
        ),
    ]
    assert found(one({**TASK, "TimeoutSeconds": 100_000_000})) == [
        schema("Maximum value is 99999999", "/States/S/TimeoutSeconds")
    ]
    assert found(one({**TASK, "HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.h"})) == [
        schema(
            "There should only be one of the following fields: [HeartbeatSeconds, HeartbeatSecondsPath]",
            "/States/S",
        )
    ]
    assert found(one({**TASK, "TimeoutSeconds": 10, "HeartbeatSeconds": 10})) == [
        schema(
            "The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds'",
            "/States/S/HeartbeatSeconds",
        )
    ]
    assert (
        found(one({**TASK, "TimeoutSecondsPath": "$timeout", "HeartbeatSecondsPath": "$$.Execution.Input.h"}))
        == []
    )


def test_task_credentials() -> None:
    missing = "The field 'RoleArn' is required but was missing"
    assert found(one({**TASK, "Credentials": {}})) == [schema(missing, "/States/S/Credentials")]
    assert found(one({**TASK, "Credentials": {}}, QueryLanguage="JSONata")) == [
        schema(missing, "/States/S/Credentials")
    ]
    assert found(one({**TASK, "Credentials": {"RoleArn": "arn:aws:iam::1:role/r", "Other": 1}})) == [
        unsupported("Other", "/States/S/Credentials")
    ]
    # AWS-recorded: without RoleArn, the missing field is the only finding
    assert found(one({**TASK, "Credentials": {"InvalidField": "invalid"}})) == [
        schema(missing, "/States/S/Credentials")
    ]
    assert found(one({**TASK, "Credentials": {"RoleArn.$": "nope"}})) == [
        schema(
            "The value for the field 'RoleArn.$' must be a valid JSONPath or a valid intrinsic function call",
            "/States/S/Credentials",
        )
    ]
    activity = {
        **TASK,
        "Resource": "arn:aws:states:us-east-1:111111111111:activity:a",
        "Credentials": {"RoleArn": "r"},
    }
    assert found(one(activity)) == [
        schema("The field 'Credentials' is not supported for activities", "/States/S/Credentials")
    ]


# --- paths and payload templates ----------------------------------------------------------------


def test_input_output_and_result_paths() -> None:
    assert (
        found(one({"Type": "Pass", "InputPath": None, "OutputPath": None, "ResultPath": None, "End": True}))
        == []
    )
    state = {"Type": "Pass", "InputPath": "in", "OutputPath": "$.a[", "ResultPath": "$.a[*]", "End": True}
    assert found(one(state)) == [
        schema("Value must be a valid JSONPath.", "/States/S/InputPath"),
        schema("Value must be a valid JSONPath.", "/States/S/OutputPath"),
        schema("Value is not a Reference Path", "/States/S/ResultPath"),
    ]
    for result_path in ("$$.Execution", "$var.x"):
        assert found(one({"Type": "Pass", "ResultPath": result_path, "End": True})) == [
            schema("Value is not a Reference Path", "/States/S/ResultPath")
        ]
    assert (
        found(one({"Type": "Pass", "InputPath": "$$.Execution.Input", "OutputPath": "$v", "End": True})) == []
    )


def test_dollar_keys_at_any_depth() -> None:
    parameters = {
        "a.$": "not a path",
        "b": {"c": [{"d.$": "States.Nope($.x)"}]},
        "e.$": 5,
        "ok.$": "States.MathAdd($.a, 1)",
        "literal": "$.stays.a.string",
    }
    message = "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call"
    assert found(one({"Type": "Pass", "Parameters": parameters, "End": True})) == [
        schema(message.format("a.$"), "/States/S/Parameters"),
        schema(message.format("d.$"), "/States/S/Parameters"),
        schema(message.format("e.$"), "/States/S/Parameters"),
    ]


@pytest.mark.parametrize("field", ["Parameters", "ResultSelector"])
def test_templates_in_task_fields(field: str) -> None:
    assert found(one({**TASK, field: {"x.$": "$.a..", "y": 1, "y.$": "$.y"}})) == [
        schema(
            "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call",
            f"/States/S/{field}",
        ),
        schema("Field 'y' is duplicated", f"/States/S/{field}"),
    ]
    assert found(one({**TASK, field: [1]})) == [
        schema("Expected value of type: Object", f"/States/S/{field}")
    ]


def test_intrinsic_arguments_are_checked() -> None:
    assert found(one({"Type": "Pass", "Parameters": {"x.$": "States.Array($.a[)"}, "End": True})) == [
        schema(
            "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call",
            "/States/S/Parameters",
        )
    ]


# --- Parallel -----------------------------------------------------------------------------------


def test_parallel_branches() -> None:
    assert found(one({"Type": "Parallel", "Branches": [], "End": True})) == [
        schema("Value cannot be empty", "/States/S/Branches")
    ]
    assert found(one({"Type": "Parallel", "End": True})) == [
        schema("These fields are required: [Branches]", "/States/S")
    ]
    assert found(one({"Type": "Parallel", "Branches": {}, "End": True})) == [
        schema("Expected value of type: Array", "/States/S/Branches")
    ]
    branch = {"States": {"X": {"Type": "Succeed"}}, "Extra": 1}
    assert found(one({"Type": "Parallel", "Branches": [branch], "End": True})) == [
        unsupported("Extra", "/States/S/Branches[0]"),
        schema("These fields are required: [StartAt]", "/States/S/Branches[0]"),
    ]


# --- Map ----------------------------------------------------------------------------------------

PROCESSOR = {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}


def map_state(**fields: Any) -> dict[str, Any]:
    return one({"Type": "Map", "ItemProcessor": PROCESSOR, "End": True, **fields})


def test_map_processor() -> None:
    assert found(one({"Type": "Map", "End": True})) == [
        schema(
            "This object should have only one of the following fields: [ItemProcessor, Iterator]", "/States/S"
        )
    ]
    both = {"Type": "Map", "ItemProcessor": PROCESSOR, "Iterator": PROCESSOR, "End": True}
    assert (
        SCHEMA,
        "There should only be one of the following fields: [ItemProcessor, Iterator]",
        "/States/S",
    ) in found(one(both))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"Mode": "SEQUENTIAL"},
            [
                schema(
                    "Value should be one of the following: [INLINE, DISTRIBUTED]",
                    "/States/S/ItemProcessor/ProcessorConfig/Mode",
                )
            ],
        ),
        (
            {"Mode": "DISTRIBUTED"},
            [schema("These fields are required: [ExecutionType]", "/States/S/ItemProcessor/ProcessorConfig")],
        ),
        (
            {"Mode": "DISTRIBUTED", "ExecutionType": "FAST"},
            [
                schema(
                    "Value should be one of the following: [STANDARD, EXPRESS]",
                    "/States/S/ItemProcessor/ProcessorConfig/ExecutionType",
                )
            ],
        ),
        (
            {"Mode": "INLINE", "ExecutionType": "STANDARD"},
            [unsupported("ExecutionType", "/States/S/ItemProcessor/ProcessorConfig")],
        ),
        ({"Other": 1}, [unsupported("Other", "/States/S/ItemProcessor/ProcessorConfig")]),
    ],
)
def test_map_processor_config(config: dict[str, Any], expected: list[Found]) -> None:
    assert found(map_state(ItemProcessor={**PROCESSOR, "ProcessorConfig": config})) == expected


def test_map_fields() -> None:
    assert found(map_state(ItemsPath="$.items[*]")) == [
        schema("Value is not a Reference Path", "/States/S/ItemsPath")
    ]
    assert found(map_state(ItemsPath="$$.Execution.Input")) == []
    assert found(map_state(MaxConcurrency=-1)) == [schema("Minimum value is 0", "/States/S/MaxConcurrency")]
    assert found(map_state(MaxConcurrency=1, MaxConcurrencyPath="$.m")) == [
        schema(
            "There should only be one of the following fields: [MaxConcurrency, MaxConcurrencyPath]",
            "/States/S",
        )
    ]
    assert found(map_state(MaxConcurrencyPath="$$.Execution.Input.n")) == [
        schema("Value is not a Reference Path", "/States/S/MaxConcurrencyPath")
    ]
    assert found(map_state(ToleratedFailurePercentage=100.1)) == [
        schema("Maximum value is 100.0", "/States/S/ToleratedFailurePercentage")
    ]
    assert found(map_state(ToleratedFailurePercentage=-1)) == [
        schema("Minimum value is 0.0", "/States/S/ToleratedFailurePercentage")
    ]
    assert found(map_state(ToleratedFailureCount=-1)) == [
        schema("Minimum value is 0", "/States/S/ToleratedFailureCount")
    ]
    assert found(map_state(Parameters={}, ItemSelector={})) == [
        schema("There should only be one of the following fields: [Parameters, ItemSelector]", "/States/S")
    ]
    assert found(map_state(Items="[1]", QueryLanguage="JSONata")) == [
        schema("Expected value of type: Array", "/States/S/Items")
    ]


def test_map_item_reader() -> None:
    reader = {"Resource": "arn:aws:states:::s3:putObject", "ReaderConfig": {"InputType": "CSV"}}
    assert found(map_state(ItemReader=reader)) == [
        schema(
            "The field 'Resource' does not match any of the allowed values", "/States/S/ItemReader/Resource"
        ),
        schema("The field 'CSVHeaderLocation' is required", "/States/S/ItemReader/ReaderConfig"),
    ]
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Arguments": {},
        "ReaderConfig": {"CSVHeaderLocation": "GIVEN", "MaxItems": -1, "MaxItemsPath": "$.m"},
    }
    assert found(map_state(ItemReader=reader)) == [
        language("Arguments", "JSONPath", "/States/S/ItemReader"),
        schema("Minimum value is 0", "/States/S/ItemReader/ReaderConfig/MaxItems"),
        schema(
            "There should only be one of the following fields: [MaxItems, MaxItemsPath]",
            "/States/S/ItemReader/ReaderConfig",
        ),
        schema("These fields are required: [CSVHeaders]", "/States/S/ItemReader/ReaderConfig"),
    ]


def test_map_item_batcher_and_result_writer() -> None:
    batcher = {"MaxItemsPerBatch": 1, "MaxItemsPerBatchPath": "$.n", "MaxInputBytesPerBatch": 300_000}
    writer = {"WriterConfig": {"OutputType": "CSV"}, "Extra": 1}
    assert found(map_state(ItemBatcher=batcher, ResultWriter=writer)) == [
        schema(
            "There should only be one of the following fields: [MaxItemsPerBatch, MaxItemsPerBatchPath]",
            "/States/S/ItemBatcher",
        ),
        schema("Maximum value is 262144", "/States/S/ItemBatcher/MaxInputBytesPerBatch"),
        unsupported("Extra", "/States/S/ResultWriter"),
        schema(
            "Value should be one of the following: [JSON, JSONL]",
            "/States/S/ResultWriter/WriterConfig/OutputType",
        ),
    ]


def test_map_labels() -> None:
    assert found(map_state(Label="bad label")) == [
        ("INVALID_LABEL_NAME", "Invalid label name 'bad label'", "/States/S/Label")
    ]
    assert found(map_state(Label="x" * 41))[0][0] == "INVALID_LABEL_NAME"


# --- Retry and Catch ----------------------------------------------------------------------------


def test_retry_fields() -> None:
    retry = [
        {"IntervalSeconds": 1},
        {"ErrorEquals": [], "Bogus": 1},
        {"ErrorEquals": [1]},
        {
            "ErrorEquals": ["E"],
            "IntervalSeconds": 0,
            "MaxAttempts": -1,
            "BackoffRate": 0.5,
            "MaxDelaySeconds": 31_622_401,
            "JitterStrategy": "HALF",
        },
    ]
    assert found(one({**TASK, "Retry": retry})) == [
        schema("These fields are required: [ErrorEquals]", "/States/S/Retry[0]"),
        unsupported("Bogus", "/States/S/Retry[1]"),
        schema("Value cannot be empty", "/States/S/Retry[1]/ErrorEquals"),
        schema("Expected value of type: String", "/States/S/Retry[2]/ErrorEquals[0]"),
        schema("Minimum value is 1", "/States/S/Retry[3]/IntervalSeconds"),
        schema("Minimum value is 0", "/States/S/Retry[3]/MaxAttempts"),
        schema("Minimum value is 1.0", "/States/S/Retry[3]/BackoffRate"),
        schema("Maximum value is 31622400", "/States/S/Retry[3]/MaxDelaySeconds"),
        schema("Value should be one of the following: [FULL, NONE]", "/States/S/Retry[3]/JitterStrategy"),
    ]


def test_states_all_must_be_alone_and_last() -> None:
    message = "States.ALL must appear alone and at end of list"
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["A", "States.ALL"]}]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "S"}, {"ErrorEquals": ["B"], "Next": "S"}]
    assert found(one({**TASK, "Retry": retry, "Catch": catch})) == [
        schema(message, "/States/S/Retry[0]/ErrorEquals[0]"),
        schema(message, "/States/S/Retry[1]/ErrorEquals[1]"),
        schema(message, "/States/S/Catch[0]/ErrorEquals[0]"),
    ]


def test_catch_fields() -> None:
    catch = [
        {"ErrorEquals": ["E"]},
        {"Next": "S", "ResultPath": "$$.x", "Output": 1},
    ]
    assert found(one({**TASK, "Catch": catch})) == [
        schema("These fields are required: [Next]", "/States/S/Catch[0]"),
        schema("Value is not a Reference Path", "/States/S/Catch[1]/ResultPath"),
        language("Output", "JSONPath", "/States/S/Catch[1]"),
        schema("These fields are required: [ErrorEquals]", "/States/S/Catch[1]"),
    ]
    assert found(
        one(
            {**TASK, "Catch": [{"ErrorEquals": ["E"], "Next": "S", "ResultPath": "$.e"}]},
            QueryLanguage="JSONata",
        )
    ) == [language("ResultPath", "JSONata", "/States/S/Catch[0]")]
    assert found(one({**TASK, "Retry": [], "Catch": []})) == []


# --- Express ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::states:startExecution.sync",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        ),
        (
            "arn:aws:states:us-east-1:111111111111:activity:work",
            "Express state machine does not support Activity ARN",
        ),
    ],
)
def test_express_restrictions(resource: str, message: str) -> None:
    definition = one({**TASK, "Resource": resource})
    assert found(definition, "EXPRESS") == [schema(message, "/States/S/Resource")]
    assert found(definition, "STANDARD") == []


def test_express_rejects_distributed_map() -> None:
    processor = {**PROCESSOR, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}}
    assert found(map_state(ItemProcessor=processor), "EXPRESS") == [
        schema(
            "Express state machine does not support Distributed Map",
            "/States/S/ItemProcessor/ProcessorConfig/Mode",
        )
    ]


def test_express_children_of_a_distributed_map() -> None:
    child = {"StartAt": "T", "States": {"T": {**TASK, "Resource": "arn:aws:states:::glue:startJobRun.sync"}}}
    express = {**child, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}}
    assert found(map_state(ItemProcessor=express)) == [
        schema(
            "Express state machine does not support '.sync' service integration",
            "/States/S/ItemProcessor/States/T/Resource",
        )
    ]
    standard = {**child, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}
    assert found(map_state(ItemProcessor=standard)) == []


# --- JSONata ------------------------------------------------------------------------------------


def test_jsonata_strings_must_be_closed() -> None:
    state = {
        "Type": "Pass",
        "Output": {"a": ["{% $x"], "b": "plain {% text", "c": "{%", "d": "%}"},
        "End": True,
    }
    assert found(one(state, QueryLanguage="JSONata")) == [
        schema("JSONata string must start with {% and end with %}", "/States/S/Output/a[0]"),
        schema("JSONata string must start with {% and end with %}", "/States/S/Output/c"),
    ]
    # In JSONPath mode the same text is a literal.
    assert found(one({"Type": "Pass", "Result": "{% $x", "End": True})) == []


def test_states_result_and_error_output_availability() -> None:
    def jsonata(state: dict[str, Any]) -> list[Found]:
        return found(one(state, QueryLanguage="JSONata"))

    result = ("UNSUPPORTED_JSONATA_EXPRESSION", "Field '$states.result' does not exist.")
    error = ("UNSUPPORTED_JSONATA_EXPRESSION", "Field '$states.errorOutput' does not exist.")
    assert jsonata({"Type": "Pass", "Output": "{% $states.result %}", "End": True}) == [
        (*result, "/States/S/Output")
    ]
    assert (
        jsonata({**TASK, "Output": "{% $states.result %}", "Assign": {"r": "{% $states.result.x %}"}}) == []
    )
    assert jsonata({**TASK, "Arguments": {"m": "{% $states.errorOutput %}"}}) == [
        (*error, "/States/S/Arguments/m")
    ]
    assert jsonata({**TASK, "Arguments": "{% $states.result %}"}) == [(*result, "/States/S/Arguments")]
    catch = [
        {
            "ErrorEquals": ["States.ALL"],
            "Next": "S",
            "Output": "{% $states.result %}",
            "Assign": {"e": "{% $states.errorOutput %}"},
        }
    ]
    assert jsonata({**TASK, "Catch": catch}) == [(*result, "/States/S/Catch[0]/Output")]
    rule = {"Condition": "{% $states.result %}", "Next": "S"}
    assert jsonata({"Type": "Choice", "Choices": [rule]})[0] == (*result, "/States/S/Choices[0]/Condition")
    assert jsonata({"Type": "Pass", "Output": "{% $states.bogus %}", "End": True}) == [
        ("UNSUPPORTED_JSONATA_EXPRESSION", "Field '$states.bogus' does not exist.", "/States/S/Output")
    ]
    literal = {"Type": "Pass", "Output": "{% '$states.result' & \"$states.errorOutput\" %}", "End": True}
    assert jsonata(literal) == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        # AWS: the JSONata parser's message without its error code, at the field
        ("a[1,2)", 'Expected "]", got ","'),
        ('"unterminated', "String literal must be terminated by a matching quote"),
        ("1 +", "Unexpected end of expression"),
        ('{"a":}', 'The symbol "}" cannot be used as a unary operator'),
        ("$x :=", "Unexpected end of expression"),
        ("phone %.other", 'The symbol "." cannot be used as a unary operator'),
        ("", "Unexpected end of expression"),
    ],
)
def test_jsonata_expressions_must_parse(expression: str, message: str) -> None:
    state = {"Type": "Pass", "Output": "{% " + expression + " %}", "End": True}
    assert found(one(state, QueryLanguage="JSONata")) == [
        ("INVALID_JSONATA_EXPRESSION", message, "/States/S/Output")
    ]


def test_jsonata_may_not_refer_to_the_whole_input_document() -> None:
    state = {"Type": "Pass", "Output": {"x": "{% $$ %}"}, "End": True}
    assert found(one(state, QueryLanguage="JSONata")) == [
        ("UNSUPPORTED_JSONATA_EXPRESSION", "Reference to '$$' is not supported.", "/States/S/Output/x")
    ]


async def test_an_unparsable_expression_is_a_definition_error_never_an_internal_one() -> None:
    definition = one(
        {"Type": "Pass", "Output": "{% $states.input.a + %}", "End": True}, QueryLanguage="JSONata"
    )
    async with Engine(load_plugins=False) as engine:
        with pytest.raises(DefinitionError) as info:
            await engine.create_state_machine("bad-jsonata", definition, type="EXPRESS")
    assert info.value.diagnostics[0].code == "INVALID_JSONATA_EXPRESSION"


# --- variables ----------------------------------------------------------------------------------


def test_assign_variable_names() -> None:
    assign = {"states": 1, "bad-name": 2, "9lives": 3, "v" * 81: 4, "good_1": 5, "path.$": "$.x", "ünï": 6}
    assert found(one({"Type": "Pass", "Assign": assign, "End": True})) == [
        (
            "RESERVED_VARIABLE_NAME",
            "Cannot assign to reserved variable '$states'.",
            "/States/S/Assign/states",
        ),
        (
            "INVALID_VARIABLE_NAME",
            "Invalid variable name 'bad-name': the variable name contains invalid characters.",
            "/States/S/Assign/bad-name",
        ),
        (
            "INVALID_VARIABLE_NAME",
            "Invalid variable name '9lives': the variable name contains invalid characters.",
            "/States/S/Assign/9lives",
        ),
        (
            "INVALID_VARIABLE_NAME",
            f"Invalid variable name '{'v' * 81}': "
            "the variable name exceeds the maximum length of 80 characters.",
            f"/States/S/Assign/{'v' * 81}",
        ),
    ]


def test_assign_values() -> None:
    assert found(one({"Type": "Pass", "Assign": {"x.$": "nope"}, "End": True})) == [
        schema(
            "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call",
            "/States/S/Assign",
        )
    ]
    assert found(one({"Type": "Pass", "Assign": [], "End": True})) == [
        schema("Expected value of type: Object", "/States/S/Assign")
    ]
    # In JSONata the ".$" suffix is not special: it makes an invalid variable name.
    assert found(one({"Type": "Pass", "Assign": {"x.$": "$.x"}, "End": True}, QueryLanguage="JSONata")) == [
        (
            "INVALID_VARIABLE_NAME",
            "Invalid variable name 'x.$': the variable name contains invalid characters.",
            "/States/S/Assign/x.$",
        )
    ]


# --- several faults at once ---------------------------------------------------------------------


def test_reports_every_fault_at_once() -> None:
    definition = {
        "StartAt": "A",
        "Bogus": True,
        "States": {
            "A": {"Type": "Task", "Next": "Missing", "Retry": [{"ErrorEquals": []}]},
            "B": {"Type": "Wait", "Seconds": -5, "End": True},
            "C": {"Type": "Choice", "Choices": []},
        },
    }
    assert found(definition) == [
        unsupported("Bogus", "/"),
        schema("Value cannot be empty", "/States/A/Retry[0]/ErrorEquals"),
        schema("These fields are required: [Resource]", "/States/A"),
        schema("Minimum value is 0", "/States/B/Seconds"),
        schema("Value cannot be empty", "/States/C/Choices"),
        (TARGET, "Missing 'Next' target: Missing", "/States/A/Next"),
        (TARGET, 'State "B" is not reachable.', "/States/B"),
        (TARGET, 'State "C" is not reachable.', "/States/C"),
    ]


# --- robustness ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
FIELD_NAMES = sorted(
    {
        "Type",
        "Next",
        "End",
        "Resource",
        "Choices",
        "Branches",
        "ItemProcessor",
        "Retry",
        "Catch",
        "Parameters",
        "Assign",
        "Output",
        "Seconds",
        "Timestamp",
        "ResultPath",
        "InputPath",
        "Credentials",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "Label",
        "Default",
        "Error",
        "ErrorPath",
        "QueryLanguage",
        "MaxConcurrency",
        "Items",
        "ItemSelector",
        "TimeoutSeconds",
    }
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_never_raises_on_arbitrary_json(value: object) -> None:
    result = validate_definition(value)
    assert all(isinstance(d, Diagnostic) for d in result)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["Task", "Pass", "Wait", "Choice", "Map", "Parallel", "Fail", "Succeed"]),
    st.sampled_from(["JSONPath", "JSONata"]),
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=4),
)
def test_never_raises_on_arbitrary_field_values(kind: str, lang: str, fields: dict[str, Any]) -> None:
    state = {"Type": kind, **fields}
    for machine_type in ("STANDARD", "EXPRESS"):
        result = validate_definition(one(state, QueryLanguage=lang), machine_type=machine_type)
        assert all(isinstance(d, Diagnostic) for d in result)


# --- recorded AWS answers -----------------------------------------------------------------------


def _cases() -> list[dict[str, Any]]:
    if not CASES.exists():
        return []
    with CASES.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.mark.skipif(not CASES.exists(), reason="conformance corpus not present")
def test_conformance_corpus() -> None:
    checked = {"validate": 0, "invalid": 0, "accepted": 0}
    failures: list[str] = []
    for case in _cases():
        definition, expected, machine_type = case["definition"], case["expected"], case["state_machine_type"]
        api = case["start_api"]
        if api == "ValidateStateMachineDefinition":
            checked["validate"] += 1
            got = [d.to_dict() for d in validate_definition(definition, machine_type=machine_type)]
            if got != expected["diagnostics"]:
                failures.append(f"{case['id']}: {got} != {expected['diagnostics']}")
        elif not (isinstance(definition, dict) and "States" in definition):
            continue  # TestState of a single state
        elif expected.get("error") == "InvalidDefinition":
            checked["invalid"] += 1
            first = validate_definition(definition, machine_type=machine_type)[:1]
            message = f"Invalid State Machine Definition: '{first[0]}'" if first else "accepted"
            if message != expected["message"]:
                failures.append(f"{case['id']}: {message!r} != {expected['message']!r}")
        elif api in ("StartExecution", "StartSyncExecution", "TestState"):
            checked["accepted"] += 1
            got_all = validate_definition(definition, machine_type=machine_type)
            if got_all:
                failures.append(f"{case['id']}: AWS ran it, validator says {[str(d) for d in got_all]}")
    assert not failures, "\n".join(failures)
    assert checked["validate"] > 0 and checked["accepted"] > 0


def test_python_values_that_are_not_json() -> None:
    message = [schema("Definition must be a valid JSON object", None)]
    assert found({"StartAt": "S", "States": {1: {"Type": "Succeed"}}}) == message
    assert found(one({"Type": "Pass", "Result": (1, 2), "End": True})) == message
    assert found(one({"Type": "Pass", "Result": {1, 2}, "End": True})) == message


def test_very_deep_nesting_does_not_raise() -> None:
    deep: Any = "$.x"
    for _ in range(5000):
        deep = {"a.$": "$.x", "b": deep}
    result = validate_definition(one({"Type": "Pass", "Parameters": deep, "End": True}))
    assert all(isinstance(d, Diagnostic) for d in result)


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
        "arn:aws:lambda:eu-west-3:123456789012:function:my_fn:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:prod",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn",
        "arn:aws:states:us-east-1:123456789012:activity:my-activity",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::http:invoke",
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        "arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken",
        "arn:aws-us-gov:states:::sqs:sendMessage",
        # region and account named, as an AWS-authored sample deployed with them
        "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
        "arn:aws:states:us-east-1:123456789012:lambda:invoke",
    ],
)
def test_resources_of_every_shape_aws_accepts(resource: str) -> None:
    assert found(one({"Type": "Task", "Resource": resource, "End": True})) == []


@pytest.mark.parametrize(
    "resource",
    [
        "my-function",
        "",
        "arn:aws:lambda:us-east-1:123456789012:my-fn",
        "arn:aws:lambda:us-east-1:1234:function:fn",
        "arn:aws:states:::lambda",
        "arn:aws:states:::lambda:invoke.sync:3",
        "arn:aws:states:::lambda:invoke.waitForCallback",
        "arn:aws:states:::aws-sdk:s3:getObject.sync",
        "arn:aws:s3:::my-bucket",
        "arn:aws:states:us-east-1:123456789012:stateMachine:other",
    ],
)
def test_resources_aws_does_not_recognise(resource: str) -> None:
    assert found(one({"Type": "Task", "Resource": resource, "End": True})) == [
        schema(
            f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
            "or the resource is not available in this region.",
            "/States/S/Resource",
        )
    ]
