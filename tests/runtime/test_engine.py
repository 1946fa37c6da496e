"""The Engine's public API, from the user's side: state machines, definition errors, execution
input, sync and background executions, execution timeouts and the result records."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

import durable
from durable import (
    DefinitionError,
    Diagnostic,
    DurableError,
    Engine,
    Execution,
    ExecutionStatus,
    InvalidExecutionInput,
    ManualClock,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineType,
    TaskFailed,
)
from durable.errors import InvalidArn, InvalidName, StateMachineTypeNotSupported
from durable.runtime.models import utc
from durable.testing import TestClock

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
START = 1_735_732_800.0
SM_ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def engine(clock: ManualClock | None = None, **options: Any) -> Engine:
    return Engine(clock=clock or ManualClock(autojump=0.005), load_plugins=False, **options)


def waiting(seconds: int, **top: Any) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}, **top}


# --- state machines -----------------------------------------------------------------------------


async def test_create_state_machine_returns_its_record() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("hello", PASS, type="EXPRESS")
        assert sm.arn == SM_ARN + "hello"
        assert sm.name == "hello"
        assert sm.type is StateMachineType.EXPRESS
        assert json.loads(sm.definition) == PASS
        assert sm.role_arn.startswith("arn:aws:iam::111111111111:role/")
        assert sm.creation_date == datetime.fromtimestamp(START, UTC)
        assert await e.describe_state_machine(sm.arn) is sm
        assert [m.name for m in await e.list_state_machines()] == ["hello"]
        assert sm.to_dict()["type"] == "EXPRESS"


async def test_definition_may_be_text_or_bytes() -> None:
    async with engine() as e:
        a = await e.create_state_machine("text", json.dumps(PASS), type="EXPRESS")
        b = await e.create_state_machine("bytes", json.dumps(PASS).encode(), type="EXPRESS")
        assert (await e.start_sync_execution(a.arn, {"x": 1})).output == {"x": 1}
        assert (await e.start_sync_execution(b.arn, {"x": 2})).output == {"x": 2}


async def test_create_is_idempotent_for_the_same_definition() -> None:
    async with engine() as e:
        first = await e.create_state_machine("same", PASS, type="EXPRESS")
        assert await e.create_state_machine("same", PASS, type="EXPRESS") is first
        with pytest.raises(StateMachineAlreadyExists):
            await e.create_state_machine("same", waiting(1), type="EXPRESS")


async def test_create_idempotency_follows_aws() -> None:
    # AWS: the definition is compared as sent (recorded: the same JSON with indent=4 conflicts);
    # a different role is ignored, not applied
    text = json.dumps(PASS)
    async with engine() as e:
        first = await e.create_state_machine("aws", text, type="EXPRESS", role_arn="arn:aws:iam::1:role/a")
        again = await e.create_state_machine("aws", text, type="EXPRESS", role_arn="arn:aws:iam::1:role/b")
        assert again.arn == first.arn and again.role_arn == "arn:aws:iam::1:role/a"
        assert (await e.describe_state_machine(first.arn)).definition == text  # stored verbatim
        with pytest.raises(StateMachineAlreadyExists, match="State Machine Already Exists"):
            await e.create_state_machine("aws", json.dumps(PASS, indent=4), type="EXPRESS")
        with pytest.raises(StateMachineAlreadyExists):
            await e.create_state_machine("aws", text, type="STANDARD")


async def test_update_and_delete_state_machine() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("upd", PASS, type="EXPRESS")
        result_def = {"StartAt": "R", "States": {"R": {"Type": "Pass", "Result": "new", "End": True}}}
        await e.update_state_machine(sm.arn, definition=result_def)
        assert (await e.start_sync_execution(sm.arn, {})).output == "new"
        await e.delete_state_machine(sm.arn)
        with pytest.raises(StateMachineDoesNotExist):
            await e.describe_state_machine(sm.arn)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 81, 'quote"d', "star*"])
async def test_invalid_state_machine_names(name: str) -> None:
    async with engine() as e:
        with pytest.raises(InvalidName):
            await e.create_state_machine(name, PASS, type="EXPRESS")


# --- definition errors --------------------------------------------------------------------------

P = {"Type": "Pass", "End": True}

INVALID: list[tuple[str, Any, str, str, str | None]] = [
    # id, definition, code, message, location
    (
        "missing-start-target",
        {"StartAt": "Nope", "States": {"A": P}},
        "MISSING_TRANSITION_TARGET",
        "Missing 'Next' target: Nope",
        "/StartAt",
    ),
    (
        "no-terminal-state",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}},
        "MISSING_END_STATE",
        "Workflow has no terminal state",
        None,
    ),
    (
        "unknown-field",
        {"StartAt": "A", "States": {"A": {**P, "Bogus": 1}}},
        "SCHEMA_VALIDATION_FAILED",
        "Field 'Bogus' is not supported",
        "/States/A",
    ),
    (
        "task-without-resource",
        {"StartAt": "A", "States": {"A": {"Type": "Task", "End": True}}},
        "SCHEMA_VALIDATION_FAILED",
        "These fields are required: [Resource]",
        "/States/A",
    ),
    (
        "next-and-end",
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": True}}},
        "SCHEMA_VALIDATION_FAILED",
        "There should only be one of the following fields: [Next, End]",
        "/States/A",
    ),
    (
        "unreachable-state",
        {"StartAt": "A", "States": {"A": P, "B": P}},
        "MISSING_TRANSITION_TARGET",
        'State "B" is not reachable.',
        "/States/B",
    ),
    (
        "states-all-not-last",
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Task",
                    "Resource": LAMBDA + "f",
                    "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}],
                    "End": True,
                }
            },
        },
        "SCHEMA_VALIDATION_FAILED",
        "States.ALL must appear alone and at end of list",
        "/States/A/Retry[0]/ErrorEquals[0]",
    ),
    (
        "duplicate-state-name-in-branch",
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": P}}], "End": True}
            },
        },
        "DUPLICATE_STATE_NAME",
        "Duplicate State name: A",
        "/States/A/Branches[0]/States/A",
    ),
    (
        "bad-parameters-path",
        {"StartAt": "A", "States": {"A": {**P, "Parameters": {"a.$": "not a path"}}}},
        "SCHEMA_VALIDATION_FAILED",
        "The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic function call",
        "/States/A/Parameters",
    ),
    (
        "result-path-on-context",
        {"StartAt": "A", "States": {"A": {**P, "ResultPath": "$$.x"}}},
        "SCHEMA_VALIDATION_FAILED",
        "Value is not a Reference Path",
        "/States/A/ResultPath",
    ),
    (
        "express-sync-integration",
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True}
            },
        },
        "SCHEMA_VALIDATION_FAILED",
        "Express state machine does not support '.sync' service integration",
        "/States/A/Resource",
    ),
    (
        "timeout-zero",
        {"TimeoutSeconds": 0, "StartAt": "A", "States": {"A": P}},
        "SCHEMA_VALIDATION_FAILED",
        "Minimum value is 1",
        "/TimeoutSeconds",
    ),
]


@pytest.mark.parametrize(
    ("definition", "code", "message", "location"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
async def test_invalid_definitions_raise_definition_error(
    definition: Any, code: str, message: str, location: str | None
) -> None:
    async with engine() as e:
        with pytest.raises(DefinitionError) as info:
            await e.create_state_machine("bad", definition, type="EXPRESS")
    error = info.value
    assert isinstance(error, DurableError)
    assert error.code == "InvalidDefinition"
    assert error.diagnostics == (Diagnostic(code, message, location),)
    assert str(error) == f"Invalid State Machine Definition: '{code}: {message} at {location or 'null'}'"
    assert await e.list_state_machines() == []


async def test_every_fault_is_reported_at_once() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": []}}}
    async with engine() as e:
        with pytest.raises(DefinitionError) as info:
            await e.create_state_machine("bad", definition, type="EXPRESS")
    assert [(d.code, d.location) for d in info.value.diagnostics] == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A/Choices"),
        ("MISSING_END_STATE", None),
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{", "INVALID_JSON_DESCRIPTION"),
        ('{"StartAt": }', "INVALID_JSON_DESCRIPTION"),
        ("", "SCHEMA_VALIDATION_FAILED"),
        ("[1]", "SCHEMA_VALIDATION_FAILED"),
        ("null", "SCHEMA_VALIDATION_FAILED"),
    ],
)
async def test_definition_text_that_is_not_a_json_object(text: str, code: str) -> None:
    async with engine() as e:
        with pytest.raises(DefinitionError) as info:
            await e.create_state_machine("bad", text, type="EXPRESS")
    [diag] = info.value.diagnostics
    assert diag.code == code
    if code == "INVALID_JSON_DESCRIPTION":  # AWS-recorded: Jackson's source location
        assert diag.location is not None and diag.location.startswith('[Source: (String)"')
    else:
        assert diag.location is None


async def test_invalid_json_diagnostic_names_line_and_column() -> None:
    async with engine() as e:
        with pytest.raises(DefinitionError) as info:
            await e.create_state_machine("bad", '{\n  "StartAt": }', type="EXPRESS")
    assert "line: 2, column: 15]" in info.value.diagnostics[0].message


async def test_validate_state_machine_definition() -> None:
    async with engine() as e:
        ok = await e.validate_state_machine_definition(PASS, type="EXPRESS")
        assert ok.result == "OK"
        assert ok.diagnostics == ()
        bad = await e.validate_state_machine_definition({"StartAt": "X", "States": {"A": P}})
        assert bad.result == "FAIL"
        assert bad.to_dict() == {
            "result": "FAIL",
            "diagnostics": [
                {
                    "code": "MISSING_TRANSITION_TARGET",
                    "message": "Missing 'Next' target: X",
                    "severity": "ERROR",
                    "location": "/StartAt",
                }
            ],
            "truncated": False,
        }
        assert (await e.validate_state_machine_definition("{")).result == "FAIL"
        assert (await e.validate_state_machine_definition("[]")).result == "FAIL"


async def test_express_only_restrictions_depend_on_the_type() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True}
        },
    }
    async with engine() as e:
        assert (await e.validate_state_machine_definition(definition, type="STANDARD")).result == "OK"
        assert (await e.validate_state_machine_definition(definition, type="EXPRESS")).result == "FAIL"


# --- starting executions ------------------------------------------------------------------------


async def test_unnamed_sync_execution_has_two_version_4_uuids() -> None:
    async with engine(ManualClock()) as e:
        sm = await e.create_state_machine(
            "anon", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, type="EXPRESS"
        )
        seen = set()
        for _ in range(50):
            result = await e.start_sync_execution(sm.arn, {})
            prefix, name, suffix = result.execution_arn.rsplit(":", 2)
            assert prefix == "arn:aws:states:us-east-1:111111111111:express:anon"
            assert name == result.name
            for text in (name, suffix):
                value = uuid.UUID(text)
                assert (str(value), value.version, value.variant) == (text, 4, uuid.RFC_4122)
            assert name != suffix
            seen.update((name, suffix))
        assert len(seen) == 100


async def test_generated_standard_names_are_uuids_that_sort_in_start_order() -> None:
    clock = ManualClock()
    async with engine(clock) as e:
        sm = await e.create_state_machine(
            "named", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )
        names = []
        for _ in range(20):
            started = await e.start_execution(sm.arn)
            names.append(started.name)
            clock.advance(0.002)
        for name in names:
            value = uuid.UUID(name)
            assert (str(value), value.version, value.variant) == (name, 4, uuid.RFC_4122)
        assert len(set(names)) == len(names)
        assert names == sorted(names)  # the store's ARN index grows at one end


async def test_start_sync_execution_result_record() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock) as e:
        sm = await e.create_state_machine("rec", waiting(3), type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {"a": 1}, name="my-run")
    assert isinstance(result, Execution)
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.succeeded
    assert result.name == "my-run"
    assert result.execution_arn.startswith("arn:aws:states:us-east-1:111111111111:express:rec:my-run:")
    assert result.state_machine_arn == sm.arn
    assert result.input == {"a": 1}
    assert result.output == {"a": 1}
    assert (result.start_date, result.stop_date) == (utc(START), utc(START + 3))
    assert result.error is None and result.cause is None
    assert result.to_dict() == {
        "executionArn": result.execution_arn,
        "stateMachineArn": sm.arn,
        "name": "my-run",
        "status": "SUCCEEDED",
        "startDate": utc(START),
        "stopDate": utc(START + 3),
        "output": {"a": 1},
    }


async def test_failed_execution_record() -> None:
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    async with engine() as e:
        sm = await e.create_state_machine("fail", definition, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn)
    assert result.status is ExecutionStatus.FAILED
    assert not result.succeeded
    assert result.output is None
    d = result.to_dict()
    assert (d["status"], d["error"], d["cause"]) == ("FAILED", "E", "C")
    assert "output" not in d


async def test_execution_input_is_copied() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("copy", PASS, type="EXPRESS")
        data = {"list": [1]}
        result = await e.start_sync_execution(sm.arn, data)
        data["list"].append(2)
    assert result.output == {"list": [1]}
    assert result.input == {"list": [1]}


async def test_input_json_text() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("text", PASS, type="EXPRESS")
        assert (await e.start_sync_execution(sm.arn, input_json='{"a": [1, "x"]}')).output == {"a": [1, "x"]}
        assert (await e.start_sync_execution(sm.arn, input_json=b'"bytes"')).output == "bytes"
        assert (await e.start_sync_execution(sm.arn)).output == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Invalid execution input."),
        ("   ", "Invalid execution input."),
        ("{'a': 1}", "Unexpected character (''' (code 39)): was expecting double-quote to start field name"),
        (
            "tru",
            "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', "
            "'true' or 'false')",
        ),
    ],
)
async def test_invalid_input_json(text: str, message: str) -> None:
    async with engine() as e:
        sm = await e.create_state_machine("bad-input", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput) as info:
            await e.start_sync_execution(sm.arn, input_json=text)
    assert str(info.value) == f"Invalid State Machine Execution Input: '{message}'"
    assert info.value.code == "InvalidExecutionInput"


@pytest.mark.parametrize("text", ["[1,", '{"a"', "1 2", '{"a": }'])
async def test_malformed_input_json_is_invalid_execution_input(text: str) -> None:
    async with engine() as e:
        sm = await e.create_state_machine("bad-input", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput):
            await e.start_sync_execution(sm.arn, input_json=text)


@pytest.mark.parametrize("text", ["{", '{"a": 1,'])
async def test_input_json_ending_early_is_invalid_execution_input(text: str) -> None:
    async with engine() as e:
        sm = await e.create_state_machine("bad-input", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput):
            await e.start_sync_execution(sm.arn, input_json=text)


@pytest.mark.parametrize(
    "kwargs",
    [{"input_json": "NaN"}, {"input_json": '{"a": Infinity}'}, {"input": {"a": float("nan")}}],
    ids=["json-NaN", "json-Infinity", "python-nan"],
)
async def test_non_json_numbers_are_invalid_execution_input(kwargs: dict[str, Any]) -> None:
    async with engine() as e:
        sm = await e.create_state_machine("nan", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput):
            await e.start_sync_execution(sm.arn, **kwargs)


async def test_input_that_cannot_be_serialized() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("obj", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput):
            await e.start_sync_execution(sm.arn, {"when": object()})


async def test_input_over_256_kib_is_rejected() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("big", PASS, type="EXPRESS")
        with pytest.raises(InvalidExecutionInput) as info:
            await e.start_sync_execution(sm.arn, {"s": "x" * 262_144})
        assert str(info.value) == (
            "Invalid State Machine Execution Input: 'Input size exceeds the maximum of 262144 bytes.'"
        )
        with pytest.raises(InvalidExecutionInput):
            await e.start_sync_execution(sm.arn, input_json=json.dumps({"s": "x" * 262_144}))
        ok = await e.start_sync_execution(sm.arn, "x" * 262_142)  # exactly 262,144 bytes with quotes
        assert ok.status is ExecutionStatus.SUCCEEDED


async def test_start_sync_execution_needs_an_express_machine() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("std", PASS)
        with pytest.raises(StateMachineTypeNotSupported):
            await e.start_sync_execution(sm.arn, {})


async def test_unknown_state_machine() -> None:
    async with engine() as e:
        with pytest.raises(StateMachineDoesNotExist):
            await e.start_sync_execution(SM_ARN + "nope", {})
        with pytest.raises(InvalidArn):
            await e.start_sync_execution("not-an-arn", {})


async def test_invalid_execution_name() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("n", PASS, type="EXPRESS")
        with pytest.raises(InvalidName):
            await e.start_sync_execution(sm.arn, {}, name="bad name")


async def test_record_history_lists_aws_event_types() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA + "f", "End": True},
        },
    }
    async with engine() as e:
        e.register_function("f", lambda event, ctx: event, blocking=False)
        sm = await e.create_state_machine("hist", definition, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {}, record_history=True)
    assert result.history is not None
    assert [ev["type"] for ev in result.history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [ev["id"] for ev in result.history] == list(range(1, 10))
    assert result.history[0]["previousEventId"] == 0


# --- execution timeouts -------------------------------------------------------------------------


async def test_execution_timeout_seconds_times_out() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock) as e:
        sm = await e.create_state_machine("slow", waiting(100, TimeoutSeconds=10), type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.TIMED_OUT
    assert result.error == "States.Timeout"
    assert result.output is None
    assert clock.now() - START == pytest.approx(10)
    assert result.stop_date is not None and result.stop_date.timestamp() == pytest.approx(START + 10)


async def test_execution_that_finishes_before_its_timeout() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock) as e:
        sm = await e.create_state_machine("fast", waiting(9, TimeoutSeconds=10), type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert clock.now() - START == pytest.approx(9)


async def test_execution_timeout_cannot_be_caught() -> None:
    clock = ManualClock(autojump=0.005)
    definition = {
        "TimeoutSeconds": 5,
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [waiting(60)],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    async with engine(clock) as e:
        sm = await e.create_state_machine("uncatchable", definition, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.TIMED_OUT
    assert clock.now() - START == pytest.approx(5)


async def test_execution_timeout_interrupts_a_retrying_task() -> None:
    clock = TestClock()  # the task sleeps on it: each attempt ends at once, not after busy_grace
    calls: list[float] = []

    async def slow(event: Any, context: Any) -> Any:
        calls.append(clock.now() - START)
        await clock.sleep_until(clock.now() + 100)

    definition = {
        "TimeoutSeconds": 10,
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA + "slow",
                "TimeoutSeconds": 3,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 5, "IntervalSeconds": 1}],
                "End": True,
            }
        },
    }
    async with engine(clock) as e:
        e.register_function("slow", slow)
        sm = await e.create_state_machine("retrying", definition, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.TIMED_OUT
    assert calls == pytest.approx([0, 4, 9])  # 3 s timeout + 1 s, 3 s timeout + 2 s, cut at 10 s
    assert clock.now() - START == pytest.approx(10)


async def test_a_threaded_task_doing_real_work_is_not_timed_out_by_autojump() -> None:
    # The recommended test set-up: ManualClock(autojump=0.005) and a plain (blocking) function.
    # A task that takes 50 ms of real time, with no TimeoutSeconds anywhere, must succeed.
    clock = ManualClock(autojump=0.005)

    def work(event: Any, context: Any) -> Any:
        time.sleep(0.05)
        return "done"

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA + "work", "End": True}}}
    async with engine(clock) as e:
        e.register_function("work", work)  # blocking=True: runs in a worker thread
        sm = await e.create_state_machine("real-work", definition, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert clock.now() == START


async def test_express_executions_stop_after_five_minutes() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock) as e:
        sm = await e.create_state_machine("long", waiting(400), type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.TIMED_OUT
    assert result.error == "States.Timeout"
    assert clock.now() - START == pytest.approx(300)


async def test_express_limit_is_configurable() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock, quotas=durable.Quotas(express_seconds=1000)) as e:
        sm = await e.create_state_machine("long", waiting(400), type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert clock.now() - START == pytest.approx(400)


# --- background (Standard) executions -------------------------------------------------------------


async def test_start_execution_runs_in_the_background() -> None:
    clock = ManualClock(autojump=0.005)
    async with engine(clock) as e:
        sm = await e.create_state_machine("bg", waiting(60))
        started = await e.start_execution(sm.arn, {"k": 1}, name="first")
        assert started.status is ExecutionStatus.RUNNING
        assert started.execution_arn == "arn:aws:states:us-east-1:111111111111:execution:bg:first"
        assert [x.name for x in await e.list_executions(sm.arn, status="RUNNING")] == ["first"]
        done = await e.wait_for_execution(started.execution_arn)
        assert done.status is ExecutionStatus.SUCCEEDED
        assert done.output == {"k": 1}
        assert (await e.describe_execution(started.execution_arn)).status is ExecutionStatus.SUCCEEDED
        assert [x.name for x in await e.list_executions(sm.arn, status="SUCCEEDED")] == ["first"]
        history = await e.get_execution_history(started.execution_arn)
        assert history[-1]["type"] == "ExecutionSucceeded"
    assert clock.now() - START == pytest.approx(60)


async def test_standard_execution_names_are_unique() -> None:
    async with engine() as e:
        sm = await e.create_state_machine("uniq", waiting(60))
        first = await e.start_execution(sm.arn, {"a": 1}, name="n")
        assert await e.start_execution(sm.arn, {"a": 1}, name="n") == first  # idempotent while running
        with pytest.raises(durable.ExecutionAlreadyExists):
            await e.start_execution(sm.arn, {"a": 2}, name="n")
        await e.wait_for_execution(first.execution_arn)
        with pytest.raises(durable.ExecutionAlreadyExists):
            await e.start_execution(sm.arn, {"a": 1}, name="n")


async def test_describe_unknown_execution() -> None:
    async with engine() as e:
        with pytest.raises(durable.ExecutionDoesNotExist):
            await e.describe_execution("arn:aws:states:us-east-1:111111111111:execution:x:y")


async def test_close_cancels_running_executions() -> None:
    e = engine(ManualClock())  # no autojump: the Wait never ends on its own
    sm = await e.create_state_machine("stuck", waiting(60))
    started = await e.start_execution(sm.arn, {})
    await asyncio.wait_for(e.close(), timeout=5)  # returns promptly instead of waiting 60 s
    assert (await e.describe_execution(started.execution_arn)).status in (
        ExecutionStatus.RUNNING,
        ExecutionStatus.ABORTED,
    )


# --- functions and helpers ----------------------------------------------------------------------


async def test_function_decorator_registers_by_name() -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA + "triple", "End": True}},
    }
    async with engine(ManualClock()) as e:  # no autojump: the threaded call may take any real time

        @e.function()
        def triple(event: Any, context: Any) -> Any:
            return event * 3

        @e.function("renamed", blocking=False)
        def other(event: Any, context: Any) -> Any:
            return "other"

        sm = await e.create_state_machine("deco", definition, type="EXPRESS")
        assert (await e.start_sync_execution(sm.arn, 2)).output == 6
        assert triple(1, None) == 3  # the decorator returns the function unchanged
        assert "renamed" in e.functions


async def test_register_function_by_arn() -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA + "byarn", "End": True}},
    }
    async with engine() as e:
        e.register_function(LAMBDA + "byarn", lambda event, ctx: "arn-registered", blocking=False)
        sm = await e.create_state_machine("arn", definition, type="EXPRESS")
        assert (await e.start_sync_execution(sm.arn, {})).output == "arn-registered"


def test_run_helper() -> None:
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA + "inc", "End": True}}}
    result = durable.run(
        definition,
        41,
        functions={"inc": lambda e, c: e + 1},
        clock=ManualClock(),  # no autojump: the threaded call may take any real time
        load_plugins=False,
    )
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.output == 42


def test_error_hierarchy() -> None:
    for cls in (
        DefinitionError,
        InvalidExecutionInput,
        StateMachineDoesNotExist,
        StateMachineAlreadyExists,
        StateMachineTypeNotSupported,
        durable.ExecutionDoesNotExist,
        durable.ExecutionAlreadyExists,
        InvalidName,
        InvalidArn,
        durable.ResourceNotFound,
        durable.IntegrationConflict,
    ):
        assert issubclass(cls, DurableError)
    assert not issubclass(TaskFailed, DurableError)
    failed = TaskFailed("My.Error", "why")
    assert (failed.error, failed.cause, str(failed)) == ("My.Error", "why", "My.Error: why")


async def test_an_execution_resumed_at_open_sees_its_state_machine_and_role(tmp_path: Any) -> None:
    """``$$.StateMachine.Name`` and ``$$.Execution.RoleArn`` after the engine restarted mid-task
    are what they were before (the context is rebuilt from the store, not left blank)."""
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:step",
                "ResultPath": None,
                "Next": "P",
            },
            "P": {
                "Type": "Pass",
                "Parameters": {"name.$": "$$.StateMachine.Name", "role.$": "$$.Execution.RoleArn"},
                "End": True,
            },
        },
    }
    role = "arn:aws:iam::111111111111:role/r1"
    path = tmp_path / "resume.db"
    gate = asyncio.Event()

    async def hang(event: Any, context: Any) -> Any:
        await gate.wait()
        return {}

    first = Engine(f"sqlite:///{path}")
    first.register_function("step", hang)
    async with first:
        sm = await first.create_state_machine("ctxm", definition, role_arn=role)
        started = await first.start_execution(sm.arn, {})
        for _ in range(200):  # until the task runs
            if (await first.get_execution_history(started.execution_arn))[-1][
                "type"
            ] == "LambdaFunctionStarted":
                break
            await asyncio.sleep(0.01)
    second = Engine(f"sqlite:///{path}")
    second.register_function("step", lambda event, context: {}, blocking=False)
    async with second:
        done = await asyncio.wait_for(second.wait_for_execution(started.execution_arn), 30)
    assert done.output == {"name": "ctxm", "role": role}
