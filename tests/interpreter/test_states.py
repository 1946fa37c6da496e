"""Every ASL state type (JSONPath mode), run through the engine on the test kit's TestClock.

Pass, Task (local functions), Choice (basics; operators in test_choice.py), Wait (all four
forms and their runtime errors), Succeed, Fail, Parallel and Map.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from durable import (
    DefinitionError,
    Engine,
    Execution,
    ExecutionStatus,
    ManualClock,
    TaskFailed,
)
from durable.interpreter.program import compile_program
from durable.testing import TestClock

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
START = 1_735_732_800.0  # ManualClock's default start: 2025-01-01T12:00:00Z
SUCCEEDED, FAILED = ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED


async def execute(
    definition: dict[str, Any],
    input: Any = None,
    functions: dict[str, Callable[..., Any]] | None = None,
    *,
    clock: ManualClock | None = None,
    blocking: bool = False,
) -> Execution:
    async with Engine(clock=clock or TestClock(), load_plugins=False) as engine:
        for fname, fn in (functions or {}).items():
            engine.register_function(fname, fn, blocking=blocking)
        machine = await engine.create_state_machine("states", definition, type="EXPRESS")
        return await engine.start_sync_execution(machine.arn, input)


def single(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    body = dict(state)
    if body["Type"] not in ("Succeed", "Fail", "Choice"):
        body.setdefault("End", True)
    return {"StartAt": "S", "States": {"S": body}, **top}


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA + name, **fields}


def located(state: str, entered: int, detail: str) -> str:
    return (
        f"An error occurred while executing the state '{state}' (entered at the event id #{entered}). "
        + detail
    )


# --- Pass ---------------------------------------------------------------------------------------


async def test_pass_without_fields_passes_its_input_through() -> None:
    result = await execute(single({"Type": "Pass"}), {"a": [1, 2]})
    assert result.status is SUCCEEDED
    assert result.output == {"a": [1, 2]}


async def test_pass_chain_runs_in_next_order() -> None:
    definition = {
        "StartAt": "One",
        "States": {
            "Three": {"Type": "Pass", "Result": 3, "ResultPath": "$.three", "End": True},
            "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "Three"},
        },
    }
    result = await execute(definition, {})
    assert result.output == {"one": 1, "two": 2, "three": 3}


# --- Task ---------------------------------------------------------------------------------------


async def test_task_calls_the_function_with_the_effective_input_and_context() -> None:
    calls: list[tuple[Any, Any]] = []

    def fn(event: Any, context: Any) -> Any:
        calls.append((event, context))
        return {"got": event}

    result = await execute(single(task("fn", InputPath="$.x")), {"x": {"y": 1}}, {"fn": fn})
    assert result.status is SUCCEEDED
    assert result.output == {"got": {"y": 1}}
    [(event, context)] = calls
    assert event == {"y": 1}
    assert context.function_name == "fn"
    assert context.state_name == "S"
    assert context.execution_arn == result.execution_arn
    assert context.invoked_function_arn == LAMBDA + "fn"


async def test_task_with_a_blocking_function_in_a_thread() -> None:
    # No autojump: with the 300 s Express deadline armed, a slow thread start must not skip time.
    result = await execute(
        single(task("fn")), 5, {"fn": lambda e, c: e + 1}, blocking=True, clock=ManualClock()
    )
    assert result.output == 6


async def test_task_with_an_async_function() -> None:
    async def fn(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        return [event, event]

    result = await execute(single(task("fn")), "x", {"fn": fn})
    assert result.output == ["x", "x"]


@pytest.mark.parametrize(
    "resource",
    [
        LAMBDA + "fn",
        LAMBDA + "fn:$LATEST",
        LAMBDA + "fn:live",
    ],
)
async def test_task_resource_forms(resource: str) -> None:
    result = await execute(single({"Type": "Task", "Resource": resource}), {}, {"fn": lambda e, c: "ok"})
    assert result.output == "ok"


async def test_lambda_invoke_returns_the_invoke_shape() -> None:
    definition = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": LAMBDA + "fn", "Payload": {"n.$": "$.n"}},
        }
    )
    result = await execute(definition, {"n": 2}, {"fn": lambda e, c: e["n"] * 2})
    assert result.status is SUCCEEDED
    assert result.output["Payload"] == 4
    assert result.output["StatusCode"] == 200


class InsufficientFunds(Exception):
    pass


@pytest.mark.parametrize(
    ("raise_", "error", "cause"),
    [
        (ValueError("bad value"), "ValueError", "bad value"),
        (InsufficientFunds("balance 3 < 5"), "InsufficientFunds", "balance 3 < 5"),
        (TaskFailed("My.Error", "why"), "My.Error", "why"),
        (TaskFailed("Only.Error"), "Only.Error", None),
        (KeyError("k"), "KeyError", "'k'"),
    ],
)
async def test_task_exceptions_become_asl_errors(raise_: Exception, error: str, cause: str | None) -> None:
    def fn(event: Any, context: Any) -> Any:
        raise raise_

    result = await execute(single(task("fn")), {}, {"fn": fn})
    assert result.status is FAILED
    assert result.error == error
    assert result.cause == cause
    assert result.output is None


async def test_async_function_exceptions_become_asl_errors() -> None:
    async def fn(event: Any, context: Any) -> Any:
        raise TaskFailed("Async.Error", "from a coroutine")

    result = await execute(single(task("fn")), {}, {"fn": fn})
    assert (result.error, result.cause) == ("Async.Error", "from a coroutine")


async def test_a_result_that_is_not_json_is_a_marshal_error() -> None:
    result = await execute(single(task("fn")), {}, {"fn": lambda e, c: {1, 2}})
    assert result.status is FAILED
    assert result.error == "Runtime.MarshalError"
    assert result.cause is not None and result.cause.startswith("Unable to marshal response: ")


async def test_the_returned_object_is_copied() -> None:
    kept: dict[str, Any] = {"k": 1}
    result = await execute(single(task("fn")), {}, {"fn": lambda e, c: kept})
    kept["k"] = 2
    assert result.output == {"k": 1}


@pytest.mark.parametrize("blocking", [False, True], ids=["inline", "thread"])
async def test_mutating_the_event_does_not_change_the_workflow_data(blocking: bool) -> None:
    # A Lambda function receives a JSON copy of its input; whatever it does to it stays local.
    def mutate(event: Any, context: Any) -> Any:
        event["mutated"] = True
        return "r"

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA + "mutate", "ResultPath": "$.res", "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"orig.$": "$$.Execution.Input", "now.$": "$"}, "End": True},
        },
    }
    result = await execute(definition, {"a": 1}, {"mutate": mutate}, blocking=blocking, clock=ManualClock())
    assert result.output == {"orig": {"a": 1}, "now": {"a": 1, "res": "r"}}
    assert result.input == {"a": 1}


async def test_unregistered_function_fails_like_lambda() -> None:
    result = await execute(single(task("nobody")), {})
    assert result.status is FAILED
    assert result.error == "Lambda.ResourceNotFoundException"


async def test_task_timeout_is_states_timeout_after_timeout_seconds_on_the_clock() -> None:
    clock = TestClock()

    async def slow(event: Any, context: Any) -> Any:
        await clock.sleep_until(clock.now() + 3600)
        return "too late"

    result = await execute(single(task("slow", TimeoutSeconds=5)), {}, {"slow": slow}, clock=clock)
    assert result.status is FAILED
    assert result.error == "States.Timeout"
    assert clock.now() - START == pytest.approx(5)


async def test_task_that_finishes_in_time_is_not_timed_out() -> None:
    clock = TestClock()

    async def quick(event: Any, context: Any) -> Any:
        await clock.sleep_until(clock.now() + 4)
        return "in time"

    result = await execute(single(task("quick", TimeoutSeconds=5)), {}, {"quick": quick}, clock=clock)
    assert result.output == "in time"
    assert clock.now() - START == pytest.approx(4)


async def test_task_timeout_seconds_path() -> None:
    clock = TestClock()

    async def slow(event: Any, context: Any) -> Any:
        await clock.sleep_until(clock.now() + 3600)

    definition = single(task("slow", TimeoutSecondsPath="$.limit"))
    result = await execute(definition, {"limit": 7}, {"slow": slow}, clock=clock)
    assert result.error == "States.Timeout"
    assert clock.now() - START == pytest.approx(7)


async def test_task_timeout_seconds_path_miss_is_states_runtime() -> None:
    result = await execute(single(task("fn", TimeoutSecondsPath="$.nope")), {}, {"fn": lambda e, c: 1})
    assert result.error == "States.Runtime"
    assert result.cause == located("S", 2, "Invalid path '$.nope' : No results for path: $['nope']")


# --- Choice (operators in test_choice.py) -------------------------------------------------------


async def test_choice_routes_and_passes_its_input_on() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Small": {"Type": "Pass", "Result": "small", "End": True},
        },
    }
    assert (await execute(definition, {"n": 11})).output == "big"
    assert (await execute(definition, {"n": 1})).output == "small"


BAD_TIMESTAMP = (
    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
    "format string: "
)

# --- Wait ---------------------------------------------------------------------------------------


async def wait_run(state: dict[str, Any], input: Any) -> tuple[Execution, float]:
    clock = TestClock()
    result = await execute(single({"Type": "Wait", **state}), input, clock=clock)
    # measured on the execution (the clock may also jump over the engine's own timers under load)
    assert result.stop_date is not None
    return result, (result.stop_date - result.start_date).total_seconds()


async def test_wait_seconds_advances_the_clock() -> None:
    result, waited = await wait_run({"Seconds": 90}, {"a": 1})
    assert result.status is SUCCEEDED
    assert result.output == {"a": 1}
    assert waited == pytest.approx(90)
    assert result.stop_date is not None
    assert (result.stop_date - result.start_date).total_seconds() == pytest.approx(90)


async def test_wait_zero_seconds() -> None:
    result, waited = await wait_run({"Seconds": 0}, {})
    assert result.status is SUCCEEDED
    assert waited == 0


async def test_wait_timestamp_in_the_future() -> None:
    result, waited = await wait_run({"Timestamp": "2025-01-01T12:04:00Z"}, {})
    assert result.status is SUCCEEDED
    assert waited == pytest.approx(240)


async def test_wait_timestamp_with_offset_and_fraction() -> None:
    result, waited = await wait_run({"Timestamp": "2025-01-01T13:00:30.5+01:00"}, {})
    assert result.status is SUCCEEDED
    assert waited == pytest.approx(30.5)


async def test_wait_timestamp_in_the_past_does_not_wait() -> None:
    result, waited = await wait_run({"Timestamp": "2016-03-14T01:59:00Z"}, {})
    assert result.status is SUCCEEDED
    assert waited == 0


async def test_wait_seconds_path() -> None:
    result, waited = await wait_run({"SecondsPath": "$.delay"}, {"delay": 42})
    assert result.status is SUCCEEDED
    assert result.output == {"delay": 42}
    assert waited == pytest.approx(42)


async def test_wait_timestamp_path() -> None:
    result, waited = await wait_run({"TimestampPath": "$.at"}, {"at": "2025-01-01T12:03:20Z"})
    assert result.status is SUCCEEDED
    assert waited == pytest.approx(200)


async def test_wait_applies_input_and_output_path() -> None:
    result, waited = await wait_run(
        {"InputPath": "$.inner", "SecondsPath": "$.s", "OutputPath": "$.keep"},
        {"inner": {"s": 3, "keep": "k"}},
    )
    assert result.output == "k"
    assert waited == pytest.approx(3)


@pytest.mark.parametrize(
    ("state", "input", "detail"),
    [
        ({"SecondsPath": "$.p"}, {}, "The SecondsPath parameter does not reference an input value: $.p"),
        (
            {"SecondsPath": "$.p"},
            {"p": -1},
            "The SecondsPath parameter references a negative value: $.p == -1",
        ),
        (
            {"SecondsPath": "$.p"},
            {"p": 1.5},
            "The SecondsPath parameter cannot be parsed as a long value: $.p == 1.5",
        ),
        (
            {"SecondsPath": "$.p"},
            {"p": "10"},
            "The SecondsPath parameter cannot be parsed as a long value: $.p == 10",
        ),
        (
            {"TimestampPath": "$.p"},
            {"p": "2016-12-05T21:29:29"},
            BAD_TIMESTAMP + "$.p == 2016-12-05T21:29:29",
        ),
        (
            {"TimestampPath": "$.p"},
            {"p": "2016-12-05 21:29:29Z"},
            BAD_TIMESTAMP + "$.p == 2016-12-05 21:29:29Z",
        ),
        (
            {"TimestampPath": "$.p"},
            {"p": "2016-13-05T21:29:29Z"},
            BAD_TIMESTAMP + "$.p == 2016-13-05T21:29:29Z",
        ),
        (
            {"TimestampPath": "$.p"},
            {"p": "2016-12-05T25:29:29Z"},
            BAD_TIMESTAMP + "$.p == 2016-12-05T25:29:29Z",
        ),
        (
            {"TimestampPath": "$.p"},
            {"p": "05-12-2016T21:29:29Z"},
            BAD_TIMESTAMP + "$.p == 05-12-2016T21:29:29Z",
        ),
        ({"TimestampPath": "$.p"}, {}, "The TimestampPath parameter does not reference an input value: $.p"),
        ({"TimestampPath": "$.p"}, {"p": "9999-01-01T00:00:00Z"}, "Wait state delay is too long."),
        ({"SecondsPath": "$.p"}, {"p": 2**31}, "Wait state delay is too long."),
    ],
)
async def test_wait_runtime_errors_are_states_runtime(state: dict[str, Any], input: Any, detail: str) -> None:
    result, waited = await wait_run(state, input)
    assert result.status is FAILED
    assert result.error == "States.Runtime"
    assert result.cause == located("S", 2, detail)
    assert waited == 0


async def test_wait_runtime_errors_cannot_be_caught_by_an_enclosing_parallel() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.nope", "End": True}}}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    result = await execute(definition, {})
    assert result.status is FAILED
    assert result.error == "States.Runtime"


async def test_wait_timestamp_year_zero_is_in_the_past() -> None:
    # RFC 3339 allows year 0000 and the validator accepts it; it is long past, so no wait.
    result, waited = await wait_run({"Timestamp": "0000-01-01T00:00:00Z"}, {})
    assert result.status is SUCCEEDED
    assert waited == 0


def test_invalid_literal_timestamp_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError) as info:
        compile_program(single({"Type": "Wait", "Timestamp": "2016-03-14 01:59:00"}))
    [diag] = info.value.diagnostics
    assert diag.code == "SCHEMA_VALIDATION_FAILED"
    assert diag.location == "/States/S/Timestamp"


# --- Succeed ------------------------------------------------------------------------------------


async def test_succeed_outputs_its_input() -> None:
    result = await execute(single({"Type": "Succeed"}), {"done": True})
    assert result.status is SUCCEEDED
    assert result.output == {"done": True}


async def test_succeed_applies_input_path_then_output_path() -> None:
    result = await execute(
        single({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}), {"a": {"b": 2}}
    )
    assert result.output == 2


async def test_succeed_ends_the_execution_even_with_states_after_it() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": "a", "Next": "Done"},
            "Done": {"Type": "Succeed"},
            "Never": {"Type": "Pass", "Result": "never", "End": True},
        },
    }
    # "Never" is unreachable: AWS rejects that at definition time.
    with pytest.raises(DefinitionError):
        await execute(definition, {})
    del definition["States"]["Never"]
    assert (await execute(definition, {})).output == "a"


# --- Fail ---------------------------------------------------------------------------------------


async def test_fail_with_error_and_cause() -> None:
    result = await execute(single({"Type": "Fail", "Error": "Custom.Err", "Cause": "because"}), {})
    assert result.status is FAILED
    assert (result.error, result.cause) == ("Custom.Err", "because")
    assert result.output is None


async def test_fail_without_error_or_cause_has_neither() -> None:
    result = await execute(single({"Type": "Fail"}), {})
    assert result.status is FAILED
    assert result.error is None
    assert result.cause is None
    assert result.to_dict()["status"] == "FAILED"
    assert "error" not in result.to_dict()


async def test_fail_error_path_and_cause_path() -> None:
    definition = single({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.detail.text"})
    result = await execute(definition, {"e": "Dyn.Error", "detail": {"text": "dynamic cause"}})
    assert (result.error, result.cause) == ("Dyn.Error", "dynamic cause")


async def test_fail_cause_path_may_be_an_intrinsic() -> None:
    definition = single(
        {"Type": "Fail", "Error": "Format.Error", "CausePath": "States.Format('item {} failed', $.id)"}
    )
    result = await execute(definition, {"id": 17})
    assert (result.error, result.cause) == ("Format.Error", "item 17 failed")


async def test_fail_error_path_can_read_the_context_object() -> None:
    result = await execute(single({"Type": "Fail", "ErrorPath": "$$.State.Name"}), {})
    assert result.error == "S"


async def test_fail_error_path_miss_is_states_runtime() -> None:
    result = await execute(single({"Type": "Fail", "ErrorPath": "$.missing"}), {"a": 1})
    assert result.error == "States.Runtime"
    assert result.cause == located(
        "S",
        2,
        "The JSONPath '$.missing' specified for the field 'ErrorPath' could not be found in the input "
        "'{\"a\":1}'",
    )


# --- Parallel -----------------------------------------------------------------------------------


def branch(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    names = [n for n, _ in states]
    body = {}
    for i, (name, spec) in enumerate(states):
        spec = dict(spec)
        if spec["Type"] not in ("Succeed", "Fail", "Choice"):
            if i + 1 < len(states):
                spec["Next"] = names[i + 1]
            else:
                spec["End"] = True
        body[name] = spec
    return {"StartAt": names[0], "States": body}


async def test_parallel_results_are_in_branch_order_not_completion_order() -> None:
    clock = TestClock()
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch(
                    ("Slow", {"Type": "Wait", "Seconds": 30}),
                    ("SlowDone", {"Type": "Pass", "Result": "slow"}),
                ),
                branch(("Fast", {"Type": "Pass", "Result": "fast"})),
                branch(
                    ("Mid", {"Type": "Wait", "Seconds": 10}), ("MidDone", {"Type": "Pass", "Result": "mid"})
                ),
            ],
        }
    )
    result = await execute(definition, {}, clock=clock)
    assert result.status is SUCCEEDED
    assert result.output == ["slow", "fast", "mid"]
    assert clock.now() - START == pytest.approx(30)  # branches ran concurrently


async def test_parallel_branches_get_the_same_input_after_parameters() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Parameters": {"v.$": "$.value"},
            "Branches": [
                branch(("A", {"Type": "Pass"})),
                branch(("B", {"Type": "Pass", "InputPath": "$.v"})),
            ],
            "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
            "ResultPath": "$.out",
        }
    )
    result = await execute(definition, {"value": 9, "other": 1})
    assert result.output == {"value": 9, "other": 1, "out": {"first": {"v": 9}, "second": 9}}


async def test_parallel_failing_branch_fails_the_state_with_the_branch_error() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch(("Ok", {"Type": "Pass"})),
                branch(("Boom", {"Type": "Fail", "Error": "FailureType", "Cause": "branch cause"})),
            ],
        }
    )
    result = await execute(definition, {})
    assert result.status is FAILED
    assert (result.error, result.cause) == ("FailureType", "branch cause")


async def test_parallel_failure_aborts_the_other_branches() -> None:
    clock = TestClock()
    calls: list[str] = []
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [
                branch(("Long", {"Type": "Wait", "Seconds": 100}), ("After", task("record"))),
                branch(("Boom", {"Type": "Fail", "Error": "E"})),
            ],
        }
    )
    result = await execute(definition, {}, {"record": lambda e, c: calls.append("after")}, clock=clock)
    assert result.error == "E"
    assert calls == []


async def test_parallel_task_error_can_be_caught_on_the_parallel() -> None:
    def fn(event: Any, context: Any) -> Any:
        raise TaskFailed("Branch.Error", "inside")

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [branch(("T", task("fn")))],
                "Catch": [{"ErrorEquals": ["Branch.Error"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    result = await execute(definition, {"in": 1}, {"fn": fn})
    assert result.status is SUCCEEDED
    assert result.output == {"in": 1, "err": {"Error": "Branch.Error", "Cause": "inside"}}


async def test_nested_parallel() -> None:
    inner = {
        "Type": "Parallel",
        "Branches": [
            branch(("X", {"Type": "Pass", "Result": 1})),
            branch(("Y", {"Type": "Pass", "Result": 2})),
        ],
    }
    definition = single(
        {"Type": "Parallel", "Branches": [branch(("Inner", inner)), branch(("Z", {"Type": "Pass"}))]}
    )
    result = await execute(definition, "in")
    assert result.output == [[1, 2], "in"]


# --- Map ----------------------------------------------------------------------------------------


def processor(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return branch(*states)


async def test_map_runs_the_processor_per_item_in_order() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": processor(("Double", task("double"))),
            "ResultPath": "$.doubled",
        }
    )
    result = await execute(definition, {"items": [1, 2, 3]}, {"double": lambda e, c: e * 2})
    assert result.output == {"items": [1, 2, 3], "doubled": [2, 4, 6]}


async def test_map_item_selector_with_index_and_value() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "all.$": "$.tag"},
            "ItemsPath": "$.xs",
            "ItemProcessor": processor(("P", {"Type": "Pass"})),
        }
    )
    result = await execute(definition, {"xs": ["a", "b"], "tag": "t"})
    assert result.output == [{"i": 0, "v": "a", "all": "t"}, {"i": 1, "v": "b", "all": "t"}]


async def test_map_legacy_iterator_and_parameters() -> None:
    definition = single(
        {
            "Type": "Map",
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "Iterator": processor(("P", {"Type": "Pass", "OutputPath": "$.v"})),
        }
    )
    result = await execute(definition, [5, 6])
    assert result.output == [5, 6]


async def test_map_empty_array_gives_an_empty_result() -> None:
    calls: list[Any] = []
    definition = single({"Type": "Map", "ItemProcessor": processor(("T", task("fn")))})
    result = await execute(definition, [], {"fn": lambda e, c: calls.append(e)})
    assert result.status is SUCCEEDED
    assert result.output == []
    assert calls == []


@pytest.mark.parametrize("value", [{"a": 1}, "text", 3, None, True])
async def test_map_items_path_not_an_array_is_states_runtime(value: Any) -> None:
    definition = single(
        {"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": processor(("P", {"Type": "Pass"}))}
    )
    result = await execute(definition, {"x": value})
    assert result.status is FAILED
    assert result.error == "States.Runtime"
    assert result.cause == located("S", 2, 'Reference path "$.x" must point to array.')


async def test_map_items_path_miss_is_states_runtime() -> None:
    definition = single(
        {"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": processor(("P", {"Type": "Pass"}))}
    )
    result = await execute(definition, {})
    assert result.error == "States.Runtime"
    assert result.cause == located("S", 2, "Invalid path '$.x' : No results for path: $['x']")


def tracking(clock: ManualClock, log: list[tuple[str, Any]]) -> Callable[..., Any]:
    async def work(event: Any, context: Any) -> Any:
        log.append(("start", event))
        await clock.sleep_until(clock.now() + 1)
        log.append(("end", event))
        return event

    return work


async def test_map_results_keep_item_order_whatever_the_completion_order() -> None:
    clock = TestClock()

    async def sleep_for(event: Any, context: Any) -> Any:
        await clock.sleep_until(clock.now() + event)
        return event * 10

    definition = single({"Type": "Map", "ItemProcessor": processor(("T", task("sleep")))})
    result = await execute(definition, [3, 1, 2], {"sleep": sleep_for}, clock=clock)
    assert result.output == [30, 10, 20]
    assert clock.now() - START == pytest.approx(3)


async def test_map_max_concurrency_one_is_strictly_sequential_in_item_order() -> None:
    clock = TestClock()
    log: list[tuple[str, Any]] = []
    definition = single({"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor(("T", task("work")))})
    result = await execute(definition, [0, 1, 2, 3], {"work": tracking(clock, log)}, clock=clock)
    assert result.output == [0, 1, 2, 3]
    assert log == [(kind, i) for i in range(4) for kind in ("start", "end")]
    assert clock.now() - START == pytest.approx(4)


async def test_map_max_concurrency_zero_runs_everything_at_once() -> None:
    clock = TestClock()
    log: list[tuple[str, Any]] = []
    definition = single({"Type": "Map", "MaxConcurrency": 0, "ItemProcessor": processor(("T", task("work")))})
    result = await execute(definition, [0, 1, 2, 3], {"work": tracking(clock, log)}, clock=clock)
    assert result.output == [0, 1, 2, 3]
    assert [k for k, _ in log[:4]] == ["start"] * 4
    assert clock.now() - START == pytest.approx(1)


async def test_map_max_concurrency_two_runs_in_waves() -> None:
    clock = TestClock()
    log: list[tuple[str, Any]] = []
    definition = single({"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": processor(("T", task("work")))})
    result = await execute(definition, [0, 1, 2, 3, 4], {"work": tracking(clock, log)}, clock=clock)
    assert result.output == [0, 1, 2, 3, 4]
    assert clock.now() - START == pytest.approx(3)
    running = peak = 0
    for kind, _ in log:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2


async def test_map_max_concurrency_path() -> None:
    clock = TestClock()
    log: list[tuple[str, Any]] = []
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrencyPath": "$.mc",
            "ItemProcessor": processor(("T", task("work"))),
        }
    )
    result = await execute(
        definition, {"items": [1, 2, 3], "mc": 1}, {"work": tracking(clock, log)}, clock=clock
    )
    assert result.output == [1, 2, 3]
    assert clock.now() - START == pytest.approx(3)


async def test_map_iteration_failure_fails_the_map_with_its_own_error() -> None:
    def fn(event: Any, context: Any) -> Any:
        if event == 2:
            raise TaskFailed("Item.Bad", f"item {event}")
        return event

    definition = single({"Type": "Map", "ItemProcessor": processor(("T", task("fn")))})
    result = await execute(definition, [1, 2, 3], {"fn": fn})
    assert result.status is FAILED
    assert (result.error, result.cause) == ("Item.Bad", "item 2")


async def test_map_failure_stops_starting_new_iterations() -> None:
    calls: list[Any] = []

    def fn(event: Any, context: Any) -> Any:
        calls.append(event)
        if event == 1:
            raise TaskFailed("Stop")
        return event

    definition = single({"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor(("T", task("fn")))})
    result = await execute(definition, [0, 1, 2, 3], {"fn": fn})
    assert result.error == "Stop"
    assert calls == [0, 1]


async def test_map_iteration_failure_caught_on_the_map() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": processor(("F", {"Type": "Fail", "Error": "It.Failed"})),
                "Catch": [{"ErrorEquals": ["It.Failed"], "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = await execute(definition, [1])
    assert result.output == {"Error": "It.Failed", "Cause": None}


async def test_map_inside_map() -> None:
    inner = {"Type": "Map", "ItemProcessor": processor(("Sq", task("sq")))}
    definition = single({"Type": "Map", "ItemProcessor": processor(("Inner", inner))})
    result = await execute(definition, [[1, 2], [3]], {"sq": lambda e, c: e * e})
    assert result.output == [[1, 4], [9]]


async def test_map_result_selector_result_path_and_output_path() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.xs",
            "ItemProcessor": processor(("P", {"Type": "Pass"})),
            "ResultSelector": {"n.$": "States.ArrayLength($)", "items.$": "$"},
            "ResultPath": "$.count",
            "OutputPath": "$.count",
        }
    )
    result = await execute(definition, {"xs": [1, 2, 3]})
    assert result.output == {"n": 3, "items": [1, 2, 3]}


async def test_map_result_path_into_an_array_input_is_result_path_match_failure() -> None:
    definition = single(
        {"Type": "Map", "ItemProcessor": processor(("P", {"Type": "Pass"})), "ResultPath": "$.r"}
    )
    result = await execute(definition, [1, 2, 3])
    assert result.error == "States.ResultPathMatchFailure"


# --- JSONata: accepted by the validator, so it must not crash the engine ----------------------


def test_jsonata_choice_compiles_or_raises_definition_error() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Done"}]},
            "Done": {"Type": "Succeed"},
        },
    }
    try:
        compile_program(definition, "EXPRESS")
    except DefinitionError:
        pass


@pytest.mark.parametrize(
    "wait",
    [{"Seconds": "{% 1 %}"}, {"Timestamp": "{% '2025-01-01T12:00:01Z' %}"}],
    ids=["Seconds", "Timestamp"],
)
async def test_jsonata_wait_returns_an_execution(wait: dict[str, Any]) -> None:
    definition = single({"Type": "Wait", **wait}, QueryLanguage="JSONata")
    result = await execute(definition, {})
    assert result.status in (SUCCEEDED, FAILED)


async def test_credentials_are_evaluated_in_both_query_languages_and_recorded() -> None:
    seen: list[Any] = []

    class Recorder:
        name = "recorder"

        def handles(self, resource: str) -> bool:
            return resource == "arn:aws:states:::lambda:invoke"

        async def invoke(self, request: Any) -> Any:
            seen.append(request.credentials)
            return {}

    role = "arn:aws:iam::111111111111:role/worker"
    jsonpath = single(
        {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Credentials": {"RoleArn.$": "$.role"}}
    )
    jsonata = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Credentials": {"RoleArn": "{% $states.input.role %}"},
        },
        QueryLanguage="JSONata",
    )
    async with Engine(clock=TestClock(), load_plugins=False) as engine:
        engine.add_integration(Recorder())
        for i, definition in enumerate((jsonpath, jsonata)):
            machine = await engine.create_state_machine(f"creds{i}", definition)
            started = await engine.start_execution(machine.arn, {"role": role})
            done = await engine.wait_for_execution(started.execution_arn)
            assert done.status is ExecutionStatus.SUCCEEDED
            history = await engine.get_execution_history(started.execution_arn)
            [scheduled] = [e for e in history if e["type"] == "TaskScheduled"]
            assert scheduled["taskScheduledEventDetails"]["taskCredentials"] == {"roleArn": role}
    assert seen == [{"RoleArn": role}, {"RoleArn": role}]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("MaxConcurrency", -1, "The MaxConcurrency field must be a non-negative integer, but was: -1"),
        (
            "ToleratedFailureCount",
            -2,
            "The ToleratedFailureCount field must be a non-negative integer, but was: -2",
        ),
        (
            "ToleratedFailurePercentage",
            150,
            "The ToleratedFailurePercentage field must be a number between 0 and 100, but was: 150",
        ),
    ],
)
async def test_jsonata_map_numbers_the_field_does_not_accept(field: str, value: int, message: str) -> None:
    # the ASL specification: such a value is States.QueryEvaluationError
    definition = single(
        {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            field: "{% $states.input.v %}",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        },
        QueryLanguage="JSONata",
    )
    result = await execute(definition, {"items": [1], "v": value})
    assert result.error == "States.QueryEvaluationError"
    assert result.cause is not None and result.cause.endswith(message)
