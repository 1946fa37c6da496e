"""Hostile definitions and values: AWS's quotas at their boundaries, loops that never wait,
and values that are not JSON as Step Functions has it — each ends in a typed error or in the
execution's own AWS error, never a traceback, a stalled process or a half-written execution."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from durable import (
    DefinitionError,
    Engine,
    ExecutionStatus,
    InvalidExecutionInput,
    ManualClock,
    Quotas,
)
from durable.errors import InvalidName, InvalidOutput, ValidationError

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
PAYLOAD = 262_144
SPIN = {  # Pass -> Choice -> Pass ... forever (a terminal state exists, as AWS requires)
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "A"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
WAIT0 = {
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 0, "Next": "C"},
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "W"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
ECHO = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA + "echo", "End": True}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def engine(tmp_path: Path | None = None, **options: Any) -> Engine:
    url = None if tmp_path is None else str(tmp_path / "hostile.db")
    e = Engine(url, load_plugins=False, **options)
    e.register_function("echo", lambda event, ctx: event["value"], blocking=False)
    return e


def chain(n: int) -> dict[str, Any]:
    """n Pass states in a row: 1 + 2n + 1 history events."""
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(n - 1)}
    states[f"P{n - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "P0", "States": states}


# --- quotas at their boundaries ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [PAYLOAD - 1, PAYLOAD, PAYLOAD + 1])
async def test_execution_input_size_boundary(size: int) -> None:
    text = json.dumps({"s": "x" * (size - len('{"s": ""}'))})
    assert len(text) == size
    async with engine() as e:
        machine = await e.create_state_machine("p", PASS)
        if size > PAYLOAD:
            with pytest.raises(InvalidExecutionInput, match="exceeds the maximum of 262144 bytes"):
                await e.start_execution(machine.arn, input_json=text)
            assert await e.list_executions() == []  # nothing half-written
        else:
            started = await e.start_execution(machine.arn, input_json=text)
            assert (await e.wait_for_execution(started.execution_arn)).status is ExecutionStatus.SUCCEEDED


@pytest.mark.parametrize("size", [PAYLOAD - 1, PAYLOAD, PAYLOAD + 1])
async def test_task_result_size_boundary(size: int) -> None:
    value = "x" * (size - 2)  # the JSON text of a string is 2 bytes longer
    async with engine() as e:
        machine = await e.create_state_machine("echo", ECHO)
        started = await e.start_execution(machine.arn, {"value": "small"})
        e.register_function("echo", lambda event, ctx: value, blocking=False)
        started = await e.start_execution(machine.arn, {"value": "small"})
        done = await e.wait_for_execution(started.execution_arn)
        if size > PAYLOAD:
            assert (str(done.status), done.error) == ("FAILED", "States.DataLimitExceeded")
        else:
            assert done.status is ExecutionStatus.SUCCEEDED and len(done.output) == size - 2


@pytest.mark.parametrize(("states", "status"), [(8, "SUCCEEDED"), (9, "FAILED")])
async def test_history_event_quota_boundary(tmp_path: Path, states: int, status: str) -> None:
    """With a quota of 18 events: 8 Pass states make 1 + 16 + ExecutionSucceeded = 18 (allowed,
    as AWS allows ExecutionSucceeded as the last event); 9 would need 20, so event 18 is the
    failure."""
    async with engine(tmp_path, quotas=Quotas(history_events=18)) as e:
        machine = await e.create_state_machine("chain", chain(states))
        started = await e.start_execution(machine.arn, {})
        done = await e.wait_for_execution(started.execution_arn)
        history = await e.get_execution_history(started.execution_arn)
        assert str(done.status) == status
        assert len(history) == 18 and history[-1]["id"] == 18
        if status == "FAILED":
            assert (done.error, done.cause) == (
                "States.Runtime",
                "The execution reached the maximum number of history events (18).",
            )
            assert history[-1]["previousEventId"] == 17


@pytest.mark.parametrize("extra", [-1, 0, 1])
async def test_definition_size_boundary(extra: int) -> None:
    limit = 1_048_576
    base = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "", "End": True}}})
    text = base.replace('"Result": ""', '"Result": "' + "x" * (limit + extra - len(base)) + '"')
    assert len(text.encode()) == limit + extra
    async with engine() as e:
        if extra > 0:
            with pytest.raises(ValidationError, match="less than or equal to 1048576"):
                await e.create_state_machine("big", text)
        else:
            assert (await e.create_state_machine("big", text)).name == "big"


async def test_relaxed_quotas_lift_the_limits() -> None:
    big = {"s": "x" * (PAYLOAD + 10)}
    async with engine(quotas=Quotas.relaxed()) as e:
        machine = await e.create_state_machine("p", PASS)
        started = await e.start_execution(machine.arn, big)
        assert (await e.wait_for_execution(started.execution_arn)).output == big


@pytest.mark.parametrize("length", [80, 81])
async def test_name_length_boundary(length: int) -> None:
    async with engine() as e:
        if length > 80:
            with pytest.raises(InvalidName):
                await e.create_state_machine("n" * length, PASS)
        else:
            await e.create_state_machine("n" * length, PASS)


# --- loops that never wait -------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("loop", [SPIN, WAIT0], ids=["pass-choice", "wait-0"])
async def test_a_loop_never_stalls_the_process(tmp_path: Path, store: str, loop: dict[str, Any]) -> None:
    """A loop that never waits, beside a normal execution: the normal one finishes while the loop
    still runs, and a stop ends the loop."""
    gate = asyncio.Event()
    async with engine(tmp_path if store == "sqlite" else None, quotas=Quotas.relaxed()) as e:
        e.register_function("gated", lambda event, ctx: gate.wait(), blocking=False)
        spin = await e.create_state_machine("spin", loop)
        normal = await e.create_state_machine("normal", ECHO)
        spinning = await e.start_execution(spin.arn, {"spin": True})  # returns: it did not run forever
        other = await e.start_execution(normal.arn, {"value": 42})
        done = await asyncio.wait_for(e.wait_for_execution(other.execution_arn), 30)
        assert done.output == 42
        assert str((await e.describe_execution(spinning.execution_arn)).status) == "RUNNING"
        stopped = await e.stop_execution(spinning.execution_arn, error="Spin")
        assert (str(stopped.status), stopped.error) == ("ABORTED", "Spin")


async def test_a_standard_loop_ends_at_the_history_quota_as_aws_ends_it(tmp_path: Path) -> None:
    async with engine(tmp_path) as e:
        spin = await e.create_state_machine("spin", SPIN)
        started = await e.start_execution(spin.arn, {"spin": True})
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 60)
        assert (done.error, done.cause) == (
            "States.Runtime",
            "The execution reached the maximum number of history events (25000).",
        )
        last = (await e.get_execution_history_page(started.execution_arn, reverse_order=True, max_results=2))[
            0
        ]
        assert [ev["id"] for ev in last] == [25000, 24999]
        assert last[0]["type"] == "ExecutionFailed" and last[0]["previousEventId"] == 24999


async def test_an_express_loop_times_out() -> None:
    async with engine(clock=ManualClock(autojump=0.01)) as e:
        spin = await e.create_state_machine("spin", {**SPIN, "TimeoutSeconds": 2}, type="EXPRESS")
        done = await asyncio.wait_for(e.start_sync_execution(spin.arn, {"spin": True}), 30)
        assert (str(done.status), done.error) == ("TIMED_OUT", "States.Timeout")


async def test_a_pure_loop_in_a_parallel_branch_never_stalls(tmp_path: Path) -> None:
    other_branch = {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}}
    branchy = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [SPIN, other_branch], "End": True}},
    }
    async with engine(tmp_path, quotas=Quotas.relaxed()) as e:
        machine = await e.create_state_machine("branchy", branchy)
        normal = await e.create_state_machine("normal", ECHO)
        spinning = await e.start_execution(machine.arn, {"spin": True})
        other = await e.start_execution(normal.arn, {"value": 1})
        assert (await asyncio.wait_for(e.wait_for_execution(other.execution_arn), 30)).output == 1
        stopped = await e.stop_execution(spinning.execution_arn)
        assert str(stopped.status) == "ABORTED"


# --- values that are not JSON as Step Functions has it --------------------------------------------------


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("input_json", "fragment"),
    [
        ("[" * 600 + "]" * 600, "nested more than 500 levels"),
        ("[" * 5000 + "]" * 5000, "nested more than 500 levels"),
        ("1" * 5000, "longer than 1000 characters"),
        ('{"a": NaN}', "Non-standard token 'NaN'"),
        ('"\\ud800"', "lone surrogate"),
        (b'{"a": "\xff"}', "Invalid UTF-8"),
        ("1e999", "out of range"),
    ],
    ids=["deep", "very-deep", "huge-int", "nan", "surrogate", "utf8", "inf"],
)
@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_bad_input_text_is_invalid_execution_input(
    tmp_path: Path, store: str, input_json: str | bytes, fragment: str
) -> None:
    async with engine(tmp_path if store == "sqlite" else None) as e:
        machine = await e.create_state_machine("p", PASS)
        with pytest.raises(InvalidExecutionInput, match=fragment):
            await e.start_execution(machine.arn, input_json=input_json)
        assert await e.list_executions() == []  # nothing half-written


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (nested(700), "nested more than 500 levels"),
        ({"a": float("nan")}, "NaN and Infinity"),
        ({"a": "\ud800"}, "lone surrogate"),
        ({"a": object()}, "unsupported"),
    ],
    ids=["deep", "nan", "surrogate", "object"],
)
async def test_bad_input_values_are_invalid_execution_input(value: Any, fragment: str) -> None:
    async with engine() as e:
        machine = await e.create_state_machine("p", PASS, type="EXPRESS")
        for start in (e.start_sync_execution, e.start_execution):
            with pytest.raises(InvalidExecutionInput, match=fragment):
                await start(machine.arn, value)


@pytest.mark.parametrize(
    "result",
    [float("nan"), {"x": float("inf")}, "lone \ud800", nested(700)],
    ids=["nan", "inf", "surrogate", "deep"],
)
@pytest.mark.parametrize("kind", ["EXPRESS", "STANDARD-memory", "STANDARD-sqlite"])
async def test_a_task_result_that_is_not_json_fails_the_execution_alike(
    tmp_path: Path, kind: str, result: Any
) -> None:
    """Express and Standard agree: States.Runtime, never a stored null or a raw exception."""
    machine_type = kind.split("-")[0]
    async with engine(tmp_path if kind.endswith("sqlite") else None) as e:
        e.register_function("echo", lambda event, ctx: result, blocking=False)
        machine = await e.create_state_machine("echo", ECHO, type=machine_type)
        if machine_type == "EXPRESS":
            done = await e.start_sync_execution(machine.arn, {})
        else:
            started = await e.start_execution(machine.arn, {})
            done = await e.wait_for_execution(started.execution_arn)
        assert (str(done.status), done.error) == ("FAILED", "States.Runtime"), done
        assert "returned a result that is not valid JSON" in (done.cause or "")


@pytest.mark.parametrize("kind", ["EXPRESS", "STANDARD"])
async def test_a_function_result_python_cannot_marshal_fails_as_lambda_fails_it(kind: str) -> None:
    async with engine() as e:
        e.register_function("echo", lambda event, ctx: {1, 2}, blocking=False)
        machine = await e.create_state_machine("echo", ECHO, type=kind)
        if kind == "EXPRESS":
            done = await e.start_sync_execution(machine.arn, {})
        else:
            done = await e.wait_for_execution((await e.start_execution(machine.arn, {})).execution_arn)
        assert (done.error, done.cause) == (
            "Runtime.MarshalError",
            "Unable to marshal response: Object of type set is not JSON serializable",
        )


async def test_an_intrinsic_result_that_is_not_json_fails_the_execution(tmp_path: Path) -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.text)"}, "End": True}},
    }
    async with engine(tmp_path) as e:
        machine = await e.create_state_machine("i", definition)
        for text in ('"\\ud800"', "[" * 700 + "]" * 700, "NaN"):
            started = await e.start_execution(machine.arn, {"text": text})
            done = await e.wait_for_execution(started.execution_arn)
            assert (str(done.status), done.error) == ("FAILED", "States.Runtime"), done


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        (b'{"StartAt": "\xff"}', "invalid UTF-8"),
        ('{"StartAt": "P", "States": {"\\ud800": {"Type": "Pass", "End": true}}}', "lone surrogate"),
        (
            '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": '
            + "[" * 600
            + "]" * 600
            + ', "End": true}}}',
            "nested",
        ),
        ('{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": NaN, "End": true}}}', "NaN"),
        (
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "\ud800", "End": True}}},
            "lone surrogate",
        ),
    ],
    ids=["utf8", "surrogate-name", "deep", "nan", "dict-surrogate"],
)
async def test_bad_definitions_are_definition_errors(
    definition: str | bytes | dict[str, Any], fragment: str
) -> None:
    async with engine() as e:
        with pytest.raises(DefinitionError, match=fragment):
            await e.create_state_machine("bad", definition)
        result = await e.validate_state_machine_definition(definition)
        assert result.result == "FAIL" and fragment in str(result.diagnostics[0])


async def test_bad_names_and_answers_are_typed_errors(tmp_path: Path) -> None:
    tokens: list[str] = []
    ask = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    async with engine(tmp_path) as e:
        e.register_function("ask", lambda event, ctx: tokens.append(event["token"]) or {}, blocking=False)
        with pytest.raises(InvalidName):
            await e.create_state_machine("y\ud800", PASS)
        with pytest.raises(InvalidName):
            await e.create_activity("a\ud800")
        machine = await e.create_state_machine("ask", ask)
        with pytest.raises(InvalidName):
            await e.start_execution(machine.arn, {}, name="x\ud800")
        started = await e.start_execution(machine.arn, {})
        while not tokens:
            await asyncio.sleep(0.01)
        for output, output_json in (
            ({"a": "\ud800"}, None),
            ({"a": float("nan")}, None),
            (nested(700), None),
            (None, '{"a": NaN}'),
            (None, "[" * 700 + "]" * 700),
            (None, "{bad"),
        ):
            with pytest.raises(InvalidOutput):
                await e.send_task_success(tokens[0], output, output_json=output_json)
        await e.send_task_success(tokens[0], {"ok": True})  # the token is still open
        assert (await e.wait_for_execution(started.execution_arn)).output == {"ok": True}


# --- JSONata: bounded evaluations that never hold the process --------------------------------------------

HEAVY = "{% $count($filter([1..200000], function($v){ $v % 7 = 3 })) %}"  # about 0.2 s, within 1 s


async def test_heavy_expressions_in_a_map_let_the_timeout_fire(tmp_path: Path) -> None:
    """Each item's expression is within JSONata's time limit, the whole Map is not: without a
    checkpoint between items the Map would run to its end and succeed past TimeoutSeconds."""
    definition = {
        "QueryLanguage": "JSONata",
        "TimeoutSeconds": 1,
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% [1..20] %}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Heavy",
                    "States": {"Heavy": {"Type": "Pass", "Output": HEAVY, "End": True}},
                },
                "End": True,
            }
        },
    }
    async with engine(tmp_path) as e:
        machine = await e.create_state_machine("heavy", definition)
        normal = await e.create_state_machine("normal", ECHO)
        heavy = await e.start_execution(machine.arn, {})
        other = await e.start_execution(normal.arn, {"value": 3})
        assert (await asyncio.wait_for(e.wait_for_execution(other.execution_arn), 30)).output == 3
        done = await asyncio.wait_for(e.wait_for_execution(heavy.execution_arn), 30)
        assert (str(done.status), done.error) == ("TIMED_OUT", "States.Timeout")


async def test_a_runaway_pad_is_refused_at_once() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $length($pad('', 1e9)) %}", "End": True}},
    }
    async with engine() as e:
        machine = await e.create_state_machine("pad", definition, type="EXPRESS")
        done = await e.start_sync_execution(machine.arn, {})
        assert (str(done.status), done.error) == ("FAILED", "States.QueryEvaluationError")
        assert "$pad would build a string of 1000000000 characters" in (done.cause or "")
