"""JSONPath data flow: InputPath -> Parameters -> Result/ResultSelector -> ResultPath -> OutputPath.

Through the engine first (Pass and Task states, the context object, Map's ``$$.Map.Item``, the
256 KiB payload limit), then :mod:`durable.interpreter.data` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from durable import Engine, Execution, ExecutionStatus, ManualClock
from durable.interpreter.context import ExecutionContext, Frame
from durable.interpreter.data import (
    MAX_PAYLOAD_BYTES,
    apply_result_path,
    check_size,
    compact,
    compile_template,
    compile_value_expr,
    select,
)
from durable.interpreter.failure import RuntimeFault, StatesFailure
from durable.interpreter.jsonpath import compile_path

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
START = 1_735_732_800.0  # ManualClock's default start: 2025-01-01T12:00:00Z


async def execute(
    definition: dict[str, Any],
    input: Any = None,
    functions: dict[str, Callable[..., Any]] | None = None,
    *,
    clock: ManualClock | None = None,
    name: str | None = None,
) -> Execution:
    async with Engine(clock=clock or ManualClock(autojump=0.005), load_plugins=False) as engine:
        for fname, fn in (functions or {}).items():
            engine.register_function(fname, fn, blocking=False)
        machine = await engine.create_state_machine("flow", definition, type="EXPRESS")
        return await engine.start_sync_execution(machine.arn, input, name=name)


def single(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {"End": True, **state}}}


def passing(**fields: Any) -> dict[str, Any]:
    return single({"Type": "Pass", **fields})


RAW = {"a": {"b": 1, "c": [10, 20]}, "keep": True}
MISSING_K = (
    "The JSONPath '$.missing' specified for the field 'k.$' could not be found in the input '{\"a\":1}'"
)


# --- Pass ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, RAW),
        ({"Result": {"r": 1}}, {"r": 1}),
        ({"Result": "text"}, "text"),
        ({"Result": None}, None),
        ({"InputPath": "$.a"}, {"b": 1, "c": [10, 20]}),
        ({"InputPath": None}, {}),
        ({"InputPath": None, "Parameters": {"x": 1}}, {"x": 1}),
        ({"OutputPath": "$.a.b"}, 1),
        ({"OutputPath": None}, {}),
        ({"ResultPath": None, "Result": {"r": 1}}, RAW),
        ({"ResultPath": "$.r", "Result": 5}, {**RAW, "r": 5}),
        ({"ResultPath": "$.a.b", "Result": 5}, {"a": {"b": 5, "c": [10, 20]}, "keep": True}),
        ({"ResultPath": "$.new.deep", "Result": 5}, {**RAW, "new": {"deep": 5}}),
        ({"ResultPath": "$.a.c[1]", "Result": 5}, {"a": {"b": 1, "c": [10, 5]}, "keep": True}),
        ({"ResultPath": "$", "Result": 5}, 5),
        # ResultPath merges into the RAW input, not the effective (InputPath-selected) input.
        ({"InputPath": "$.a", "ResultPath": "$.r"}, {**RAW, "r": {"b": 1, "c": [10, 20]}}),
        ({"InputPath": "$.a.c", "Parameters": {"n.$": "$[0]"}, "ResultPath": "$.r"}, {**RAW, "r": {"n": 10}}),
        # OutputPath runs last, on the merged document.
        ({"Result": 5, "ResultPath": "$.r", "OutputPath": "$.r"}, 5),
        # Result wins over Parameters.
        ({"Result": 1, "Parameters": {"p": 2}}, 1),
        (
            {"Parameters": {"p.$": "$.a.b", "lit": "$.a.b", "n": {"deep.$": "$.keep"}}},
            {
                "p": 1,
                "lit": "$.a.b",
                "n": {"deep": True},
            },
        ),
        ({"Parameters": {"list": [{"x.$": "$.a.b"}, 2, "$.keep"]}}, {"list": [{"x": 1}, 2, "$.keep"]}),
        ({"Parameters": {"all.$": "$", "c.$": "$.a.c[*]"}}, {"all": RAW, "c": [10, 20]}),
        ({"Parameters": {"f.$": "States.Format('b={}', $.a.b)"}}, {"f": "b=1"}),
        ({"Parameters": {"n.$": "States.ArrayLength($.a.c)"}}, {"n": 2}),
    ],
)
async def test_pass_pipeline(fields: dict[str, Any], expected: Any) -> None:
    result = await execute(passing(**fields), RAW)
    assert result.status is ExecutionStatus.SUCCEEDED, (result.error, result.cause)
    assert result.output == expected


async def test_state_output_is_the_next_state_input() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.first", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.first", "ResultPath": "$.second", "Next": "C"},
            "C": {"Type": "Pass", "OutputPath": "$.second", "End": True},
        },
    }
    assert (await execute(definition, {"x": 0})).output == {"n": 1}


async def test_no_input_means_an_empty_object() -> None:
    assert (await execute(passing())).output == {}


@pytest.mark.parametrize("value", [None, 0, "s", [1, 2], True, 1.5])
async def test_any_json_value_can_be_the_execution_input(value: Any) -> None:
    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        machine = await engine.create_state_machine("v", passing(), type="EXPRESS")
        import json

        result = await engine.start_sync_execution(machine.arn, input_json=json.dumps(value))
    assert result.output == value


async def test_result_path_into_a_non_object_is_result_path_match_failure() -> None:
    result = await execute(passing(Result=1, ResultPath="$.a.b"), {"a": "text"})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.ResultPathMatchFailure"
    assert result.cause == 'Unable to apply ReferencePath $.a.b to input {"a":"text"}'


async def test_result_path_match_failure_is_catchable_on_a_task() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA + "one",
                "ResultPath": "$.x",
                "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "C"}],
                "End": True,
            },
            "C": {"Type": "Pass", "End": True},
        },
    }
    result = await execute(definition, "a string", {"one": lambda e, c: 1})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.output["Error"] == "States.ResultPathMatchFailure"


@pytest.mark.parametrize(
    ("fields", "input", "cause"),
    [
        (
            {"InputPath": "$.x"},
            {"a": 1},
            "Invalid path '$.x' : No results for path: $['x']",
        ),
        (
            {"OutputPath": "$.x.y"},
            {"a": 1},
            "Invalid path '$.x.y' : Missing property in path $['x']",
        ),
        (
            {"Parameters": {"k.$": "$.missing"}},
            {"a": 1},
            MISSING_K,
        ),
        (
            {"Parameters": {"outer": {"k.$": "$.missing"}}},
            {"a": 1},
            MISSING_K,
        ),
        (
            {"Parameters": {"k.$": "States.Format('{}', $.missing)"}},
            {"a": 1},
            "The function 'States.Format('{}', $.missing)' had the following error: The JsonPath "
            "argument for the field '$.missing' could not be found in the input '{\"a\":1}'",
        ),
    ],
)
async def test_missing_paths_fail_with_states_runtime(fields: dict[str, Any], input: Any, cause: str) -> None:
    result = await execute(passing(**fields), input)
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"
    assert (
        result.cause
        == f"An error occurred while executing the state 'S' (entered at the event id #2). {cause}"
    )


async def test_runtime_cause_names_the_entered_event_of_a_later_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.nope", "End": True},
        },
    }
    result = await execute(definition, {})
    # 1 ExecutionStarted, 2 PassStateEntered(A), 3 PassStateExited(A), 4 PassStateEntered(B)
    assert result.cause is not None
    assert result.cause.startswith(
        "An error occurred while executing the state 'B' (entered at the event id #4). "
    )


async def test_literal_strings_that_look_like_paths_stay_literal() -> None:
    result = await execute(passing(Parameters={"p": "$.a", "q": "States.UUID()"}), {"a": 1})
    assert result.output == {"p": "$.a", "q": "States.UUID()"}


async def test_a_filter_regex_never_escapes_as_a_python_exception() -> None:
    # Jayway only matches =~ against a /regex/ literal; with a string operand the filter is false.
    # Whatever the result, start_sync_execution must return an Execution, not raise re.error.
    result = await execute(passing(InputPath="$.a[?(@ =~ '[')]"), {"a": ["x"]})
    assert result.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)


# --- Task data flow -----------------------------------------------------------------------------


async def test_task_pipeline_parameters_result_selector_result_path_output_path() -> None:
    seen: list[Any] = []

    def work(event: Any, context: Any) -> Any:
        seen.append(event)
        return {"sum": event["x"] + event["y"], "noise": [1, 2, 3]}

    definition = single(
        {
            "Type": "Task",
            "Resource": LAMBDA + "work",
            "InputPath": "$.numbers",
            "Parameters": {"x.$": "$.a", "y.$": "$.b", "tag": "fixed"},
            "ResultSelector": {"total.$": "$.sum", "count.$": "States.ArrayLength($.noise)"},
            "ResultPath": "$.result",
            "OutputPath": "$.result",
        }
    )
    result = await execute(definition, {"numbers": {"a": 2, "b": 3}, "other": 1}, {"work": work})
    assert seen == [{"x": 2, "y": 3, "tag": "fixed"}]
    assert result.output == {"total": 5, "count": 3}


async def test_task_result_path_keeps_the_raw_input() -> None:
    definition = single({"Type": "Task", "Resource": LAMBDA + "f", "InputPath": "$.a", "ResultPath": "$.out"})
    result = await execute(definition, {"a": 1, "b": 2}, {"f": lambda e, c: e * 10})
    assert result.output == {"a": 1, "b": 2, "out": 10}


async def test_task_result_path_null_discards_the_result() -> None:
    definition = single({"Type": "Task", "Resource": LAMBDA + "f", "ResultPath": None})
    result = await execute(definition, {"a": 1}, {"f": lambda e, c: {"ignored": True}})
    assert result.output == {"a": 1}


async def test_result_selector_miss_is_states_runtime() -> None:
    definition = single({"Type": "Task", "Resource": LAMBDA + "f", "ResultSelector": {"v.$": "$.nope"}})
    result = await execute(definition, {}, {"f": lambda e, c: {"x": 1}})
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert (
        "The JSONPath '$.nope' specified for the field 'v.$' could not be found in the input '{\"x\":1}'"
        in (result.cause)
    )


# --- context object -----------------------------------------------------------------------------


async def test_context_object_fields() -> None:
    clock = ManualClock(autojump=0.005)
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "input.$": "$$.Execution.Input",
                    "name.$": "$$.Execution.Name",
                    "id.$": "$$.Execution.Id",
                    "start.$": "$$.Execution.StartTime",
                    "role.$": "$$.Execution.RoleArn",
                    "sm.$": "$$.StateMachine.Name",
                    "smId.$": "$$.StateMachine.Id",
                    "state.$": "$$.State.Name",
                    "entered.$": "$$.State.EnteredTime",
                },
                "End": True,
            },
        },
    }
    result = await execute(definition, {"k": "v"}, clock=clock, name="run-1")
    out = result.output
    assert out["input"] == {"k": "v"}
    assert out["name"] == "run-1"
    assert out["id"].startswith("arn:aws:states:us-east-1:111111111111:express:flow:run-1:")
    assert out["id"] == result.execution_arn
    assert out["start"] == "2025-01-01T12:00:00Z"
    assert out["role"].startswith("arn:aws:iam::111111111111:role/")
    assert out["sm"] == "flow"
    assert out["smId"] == "arn:aws:states:us-east-1:111111111111:stateMachine:flow"
    assert out["state"] == "P"
    assert out["entered"] == "2025-01-01T12:00:10Z"  # entered after the 10 s Wait


async def test_context_input_is_the_original_execution_input_even_later() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": "changed", "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"orig.$": "$$.Execution.Input", "now.$": "$"}, "End": True},
        },
    }
    assert (await execute(definition, {"x": 1})).output == {"orig": {"x": 1}, "now": "changed"}


async def test_input_path_can_select_from_the_context_object() -> None:
    result = await execute(passing(InputPath="$$.Execution.Input.x"), {"x": [1]})
    assert result.output == [1]


async def test_missing_context_path_is_states_runtime_quoting_the_context() -> None:
    result = await execute(passing(Parameters={"t.$": "$$.Task.Token"}), {})
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert (
        "The JSONPath '$$.Task.Token' specified for the field 't.$' could not be found in the input '{"
        in (result.cause)
    )
    assert '"Execution":' in result.cause


async def test_map_item_is_visible_in_item_selector() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "k.$": "$.k"},
            "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
        }
    )
    result = await execute(definition, {"k": 7, "items": ["a", {"b": 1}]})
    assert result.output == [{"index": 0, "value": "a", "k": 7}, {"index": 1, "value": {"b": 1}, "k": 7}]


async def test_map_item_is_not_visible_inside_the_item_processor() -> None:
    definition = single(
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "X",
                "States": {"X": {"Type": "Pass", "Parameters": {"i.$": "$$.Map.Item.Index"}, "End": True}},
            },
        }
    )
    result = await execute(definition, [1])
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"


# --- payload size limit -------------------------------------------------------------------------


async def test_oversized_state_output_fails_with_data_limit_exceeded() -> None:
    result = await execute(passing(Parameters={"a.$": "$.s", "b.$": "$.s"}), {"s": "y" * 140_000})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.DataLimitExceeded"
    assert result.cause == (
        "The state/task 'S' returned a result with a size exceeding the maximum number of bytes "
        "service limit."
    )


async def test_oversized_task_result_fails_naming_the_resource() -> None:
    definition = single({"Type": "Task", "Resource": LAMBDA + "big"})
    result = await execute(definition, {}, {"big": lambda e, c: "x" * 300_000})
    assert result.error == "States.DataLimitExceeded"
    assert result.cause == (
        f"The state/task '{LAMBDA}big' returned a result with a size exceeding the maximum number of bytes "
        "service limit."
    )


async def test_oversized_task_result_is_caught_by_states_all() -> None:
    # AWS reality (LocalStack snapshot test_states_errors): a too-large task result IS catchable.
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA + "big",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = await execute(definition, {"in": 1}, {"big": lambda e, c: "x" * 300_000})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.output["in"] == 1
    assert result.output["err"]["Error"] == "States.DataLimitExceeded"


async def test_a_payload_just_under_the_limit_passes() -> None:
    # {"s":"yyy..."} is 8 bytes of JSON around the string.
    big = "y" * (MAX_PAYLOAD_BYTES - 8)
    result = await execute(passing(Parameters={"s.$": "$.s"}), {"s": big})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert len(result.output["s"]) == MAX_PAYLOAD_BYTES - 8


# --- data.py directly ---------------------------------------------------------------------------


class FakeServices:
    def now(self) -> float:
        return START

    def uuid4(self) -> str:
        return "00000000-0000-4000-8000-000000000001"

    def random(self) -> float:
        return 0.5

    def random_int(self, start: int, end: int) -> int:
        return start

    def task_token(self) -> str:
        return "token"


def frame(input: Any = None) -> Frame:
    ctx = ExecutionContext(
        execution_arn="arn:aws:states:us-east-1:111111111111:express:sm:e:u",
        execution_name="e",
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:sm",
        state_machine_name="sm",
        input=input,
        services=FakeServices(),
        start_epoch=START,
        express=True,
    )
    return Frame(ctx, "S", 2)


def test_select_null_path_is_empty_object() -> None:
    assert select(None, {"a": 1}, frame(), "InputPath") == {}


def test_select_root_returns_the_same_object() -> None:
    data = {"a": 1}
    assert select(compile_path("$"), data, frame(), "InputPath") is data


def test_select_miss_is_a_runtime_fault() -> None:
    with pytest.raises(RuntimeFault) as info:
        select(compile_path("$.x"), {}, frame(), "InputPath")
    assert info.value.error == "States.Runtime"
    assert info.value.detail == "Invalid path '$.x' : No results for path: $['x']"
    assert not info.value.catchable


def test_select_context_and_variables() -> None:
    f = frame({"in": 1})
    assert select(compile_path("$$.Execution.Input.in"), {}, f, "InputPath") == 1
    f.vars = {"v": {"x": [5]}}
    assert select(compile_path("$v.x[0]"), {}, f, "InputPath") == 5
    with pytest.raises(RuntimeFault):
        select(compile_path("$undefined"), {}, f, "InputPath")


def test_apply_result_path() -> None:
    assert apply_result_path(None, {"a": 1}, 2) == {"a": 1}
    assert apply_result_path(compile_path("$"), {"a": 1}, 2) == 2
    assert apply_result_path(compile_path("$.b"), {"a": 1}, 2) == {"a": 1, "b": 2}
    with pytest.raises(StatesFailure) as info:
        apply_result_path(compile_path("$.b"), [1], 2)
    assert info.value.error == "States.ResultPathMatchFailure"
    assert info.value.catchable


def test_static_templates_are_returned_as_is() -> None:
    template = {"a": [1, {"b": "$.x"}]}
    assert compile_template(template)({"x": 1}, frame()) is template


def test_dynamic_template_renames_keys_at_every_depth() -> None:
    template = {"a.$": "$.x", "list": [{"b.$": "$.y"}, "plain"], "obj": {"c": {"d.$": "$$.State.Name"}}}
    assert compile_template(template)({"x": 1, "y": 2}, frame()) == {
        "a": 1,
        "list": [{"b": 2}, "plain"],
        "obj": {"c": {"d": "S"}},
    }


def test_compile_value_expr_paths_and_intrinsics() -> None:
    assert compile_value_expr("$.a", "k.$")({"a": 3}, frame()) == 3
    assert compile_value_expr("States.Array($.a, 'x')", "k.$")({"a": 3}, frame()) == [3, "x"]
    with pytest.raises(RuntimeFault) as info:
        compile_value_expr("$.zz", "k.$")({"a": 3}, frame())
    assert info.value.detail == (
        "The JSONPath '$.zz' specified for the field 'k.$' could not be found in the input '{\"a\":3}'"
    )


def test_check_size_boundary() -> None:
    check_size("y" * (MAX_PAYLOAD_BYTES - 2), "S")  # the quotes make it exactly the limit
    with pytest.raises(StatesFailure) as info:
        check_size("y" * (MAX_PAYLOAD_BYTES - 1), "S")
    assert info.value.error == "States.DataLimitExceeded"


def test_check_size_counts_utf8_bytes() -> None:
    # "é" is 2 bytes in UTF-8: 131,071 of them plus quotes is 262,144 bytes.
    check_size("é" * 131_071, "S")
    with pytest.raises(StatesFailure):
        check_size("é" * 131_072, "S")


def test_compact_is_aws_style_json() -> None:
    assert compact({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'


async def test_an_intrinsic_that_cannot_take_its_arguments_is_an_uncatchable_states_runtime() -> None:
    # as users' runs on AWS show (States.MathAdd with a text): States.Runtime, which Catch and
    # Retry on States.ALL do not handle
    definition = {
        "StartAt": "Add",
        "States": {
            "Add": {
                "Type": "Pass",
                "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"},
                "End": True,
            }
        },
    }
    result = await execute(definition, {"a": 1, "b": "NOT A NUMBER"})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'Add' (entered at the event id #2). "
        "The function 'States.MathAdd($.a, $.b)' had the following error: Invalid arguments in States.MathAdd"
    )


async def test_a_missing_path_argument_names_the_function_and_the_path() -> None:
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Pass", "Parameters": {"v.$": "States.Format('{}', $.nope)"}, "End": True}
        },
    }
    result = await execute(definition, {"other": 1})
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'Pick' (entered at the event id #2). "
        "The function 'States.Format('{}', $.nope)' had the following error: The JsonPath argument for "
        "the field '$.nope' could not be found in the input '{\"other\":1}'"
    )
