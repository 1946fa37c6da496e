"""Choice rules (JSONPath): every operator family, Path variants, type tests, StringMatches,
boolean logic, Default and States.NoChoiceMatched. Through the engine, then compile_rule directly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable import Engine, Execution, ExecutionStatus, ManualClock
from durable.interpreter.choice import COMPARATORS, compile_rule, parse_timestamp
from durable.interpreter.context import ExecutionContext, Frame
from durable.interpreter.failure import RuntimeFault

START = 1_735_732_800.0
MISSING = object()


def machine(rules: list[dict[str, Any]], *, default: bool = True, **choice: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Choice", "Choices": rules, **choice}
    if default:
        state["Default"] = "No"
    return _without_unreachable(
        {
            "StartAt": "C",
            "States": {
                "C": state,
                "Yes": {"Type": "Pass", "Result": "yes", "End": True},
                "Also": {"Type": "Pass", "Result": "also", "End": True},
                "No": {"Type": "Pass", "Result": "no", "End": True},
                "Out": {"Type": "Pass", "End": True},
            },
        }
    )


def _without_unreachable(definition: dict[str, Any]) -> dict[str, Any]:
    """Drop states no rule or Default targets (AWS rejects unreachable states)."""
    choice = definition["States"]["C"]
    targets = {r["Next"] for r in choice["Choices"]} | ({choice["Default"]} if "Default" in choice else set())
    states = {k: v for k, v in definition["States"].items() if k == "C" or k in targets}
    return {**definition, "States": states}


async def execute(definition: dict[str, Any], input: Any) -> Execution:
    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        sm = await engine.create_state_machine("choice", definition, type="EXPRESS")
        return await engine.start_sync_execution(sm.arn, input)


async def decide(rule: dict[str, Any], input: Any) -> Any:
    result = await execute(machine([{**rule, "Next": "Yes"}]), input)
    assert result.status is ExecutionStatus.SUCCEEDED, (result.error, result.cause)
    return result.output == "yes"


def located(detail: str, state: str = "C", entered: int = 2) -> str:
    return (
        f"An error occurred while executing the state '{state}' (entered at the event id #{entered}). "
        + detail
    )


# --- data-test operators ------------------------------------------------------------------------

CASES: list[tuple[str, Any, Any, bool]] = [
    # operator, operand, variable value, expected
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringEquals", "1", 1, False),
    ("StringEquals", "", "", True),
    ("StringEquals", "é", "é", True),
    ("StringLessThan", "b", "a", True),
    ("StringLessThan", "a", "a", False),
    ("StringLessThan", "a", "B", True),  # code points: 'B' (66) < 'a' (97)
    ("StringLessThan", "b", 1, False),
    ("StringGreaterThan", "a", "b", True),
    ("StringGreaterThan", "b", "b", False),
    ("StringLessThanEquals", "a", "a", True),
    ("StringLessThanEquals", "a", "b", False),
    ("StringGreaterThanEquals", "b", "b", True),
    ("StringGreaterThanEquals", "b", "a", False),
    ("NumericEquals", 1, 1, True),
    ("NumericEquals", 1, 1.0, True),
    ("NumericEquals", 1.5, 1.5, True),
    ("NumericEquals", 1, "1", False),
    ("NumericEquals", 1, True, False),  # booleans are not numbers
    ("NumericEquals", 0, False, False),
    ("NumericEquals", 1, None, False),
    ("NumericLessThan", 10, 9.99, True),
    ("NumericLessThan", 10, 10, False),
    ("NumericLessThan", 0, -1, True),
    ("NumericGreaterThan", 10, 11, True),
    ("NumericGreaterThan", 10, 10, False),
    ("NumericLessThanEquals", 10, 10, True),
    ("NumericLessThanEquals", 10, 10.01, False),
    ("NumericGreaterThanEquals", 10, 10, True),
    ("NumericGreaterThanEquals", 10, 9, False),
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", False, False, True),
    ("BooleanEquals", True, False, False),
    ("BooleanEquals", True, 1, False),
    ("BooleanEquals", True, "true", False),
    ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
    ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14T02:59:00+01:00", True),  # same instant
    ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00.000Z", True),
    ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14t01:59:00z", False),  # lowercase t/z
    ("TimestampEquals", "2016-03-14T01:59:00Z", "2016-03-14", False),
    ("TimestampEquals", "2016-03-14T01:59:00Z", 1457920740, False),
    ("TimestampLessThan", "2016-03-14T01:59:00Z", "2016-03-14T01:58:59.999Z", True),
    ("TimestampLessThan", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", False),
    ("TimestampGreaterThan", "2016-03-14T01:59:00Z", "2017-01-01T00:00:00Z", True),
    ("TimestampGreaterThan", "2016-03-14T01:59:00Z", "2016-03-14T03:00:00+02:00", False),
    ("TimestampLessThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
    ("TimestampLessThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:01Z", False),
    ("TimestampGreaterThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:59:00Z", True),
    ("TimestampGreaterThanEquals", "2016-03-14T01:59:00Z", "2016-03-14T01:58:00Z", False),
]


@pytest.mark.parametrize(("op", "operand", "value", "expected"), CASES)
async def test_operator(op: str, operand: Any, value: Any, expected: bool) -> None:
    assert await decide({"Variable": "$.v", op: operand}, {"v": value}) is expected


@pytest.mark.parametrize(("op", "operand", "value", "expected"), CASES)
async def test_path_variant(op: str, operand: Any, value: Any, expected: bool) -> None:
    rule = {"Variable": "$.v", f"{op}Path": "$.other"}
    assert await decide(rule, {"v": value, "other": operand}) is expected


async def test_path_variant_can_read_the_context_object() -> None:
    assert await decide({"Variable": "$.v", "StringEqualsPath": "$$.State.Name"}, {"v": "C"}) is True


async def test_variable_can_read_the_context_object() -> None:
    rule = {"Variable": "$$.Execution.Input.flag", "BooleanEquals": True}
    definition = machine([{**rule, "Next": "Yes"}], InputPath="$.inner")
    assert (await execute(definition, {"flag": True, "inner": {}})).output == "yes"


# --- type tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNull", "null", False),
        ("IsPresent", None, True),
        ("IsPresent", 0, True),
        ("IsPresent", MISSING, False),
        ("IsNumeric", 1, True),
        ("IsNumeric", -1.5, True),
        ("IsNumeric", "1", False),
        ("IsNumeric", True, False),
        ("IsString", "", True),
        ("IsString", 1, False),
        ("IsString", None, False),
        ("IsBoolean", False, True),
        ("IsBoolean", 0, False),
        ("IsBoolean", "true", False),
        ("IsTimestamp", "2016-03-14T01:59:00Z", True),
        ("IsTimestamp", "2016-03-14T01:59:00.123+05:30", True),
        ("IsTimestamp", "2016-03-14T01:59:00", False),
        ("IsTimestamp", "2016-03-14", False),
        ("IsTimestamp", "2016-02-30T00:00:00Z", False),
        ("IsTimestamp", 1457920740, False),
    ],
)
@pytest.mark.parametrize("want", [True, False])
async def test_type_tests(op: str, value: Any, expected: bool, want: bool) -> None:
    input = {} if value is MISSING else {"v": value}
    assert await decide({"Variable": "$.v", op: want}, input) is (expected == want)


# --- StringMatches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*.log", "app.log", True),
        ("*.log", ".log", True),
        ("*.log", "app.log.gz", False),
        ("log-*", "log-2024", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "acb", False),
        ("*", "", True),
        ("*", "anything at all", True),
        ("", "", True),
        ("", "x", False),
        ("exact", "exact", True),
        ("exact", "Exact", False),
        ("a.c", "abc", False),  # no regex metacharacters
        ("(x)+[y]", "(x)+[y]", True),
        ("line*", "line1\nline2", True),
        ("literal\\*star", "literal*star", True),  # JSON "literal\\*star": an escaped, literal '*'
        ("literal\\*star", "literalXstar", False),
        ("back\\\\slash", "back\\slash", True),  # JSON "back\\\\slash": one literal backslash
        ("back\\\\slash", "backslash", False),
        ("*\\**", "a*b", True),
        ("*\\**", "ab", False),
    ],
)
async def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert await decide({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


@pytest.mark.parametrize("value", [1, None, True, ["a"], {"a": 1}])
async def test_string_matches_is_false_for_non_strings(value: Any) -> None:
    assert await decide({"Variable": "$.v", "StringMatches": "*"}, {"v": value}) is False


# --- boolean logic ------------------------------------------------------------------------------


def num(op: str, n: Any) -> dict[str, Any]:
    return {"Variable": "$.n", op: n}


@pytest.mark.parametrize(
    ("rule", "n", "expected"),
    [
        ({"And": [num("NumericGreaterThan", 1), num("NumericLessThan", 5)]}, 3, True),
        ({"And": [num("NumericGreaterThan", 1), num("NumericLessThan", 5)]}, 5, False),
        ({"Or": [num("NumericLessThan", 1), num("NumericGreaterThan", 5)]}, 6, True),
        ({"Or": [num("NumericLessThan", 1), num("NumericGreaterThan", 5)]}, 3, False),
        ({"Not": num("NumericEquals", 3)}, 3, False),
        ({"Not": num("NumericEquals", 3)}, 4, True),
        ({"Not": {"Not": num("NumericEquals", 3)}}, 3, True),
        (
            {
                "Or": [
                    {"And": [num("NumericGreaterThan", 0), {"Not": num("NumericEquals", 2)}]},
                    num("IsNull", True),
                ]
            },
            2,
            False,
        ),
        (
            {
                "Or": [
                    {"And": [num("NumericGreaterThan", 0), {"Not": num("NumericEquals", 2)}]},
                    num("IsNull", True),
                ]
            },
            1,
            True,
        ),
        ({"And": [num("NumericEquals", 1)]}, 1, True),
    ],
)
async def test_and_or_not(rule: dict[str, Any], n: Any, expected: bool) -> None:
    assert await decide(rule, {"n": n}) is expected


async def test_and_short_circuits_before_a_missing_path() -> None:
    rule = {"And": [num("NumericEquals", 0), {"Variable": "$.missing", "StringEquals": "x"}]}
    assert await decide(rule, {"n": 1}) is False


async def test_or_short_circuits_before_a_missing_path() -> None:
    rule = {"Or": [num("NumericEquals", 1), {"Variable": "$.missing", "StringEquals": "x"}]}
    assert await decide(rule, {"n": 1}) is True


async def test_is_present_guards_a_missing_path() -> None:
    rule = {"And": [{"Variable": "$.opt", "IsPresent": True}, {"Variable": "$.opt", "NumericGreaterThan": 1}]}
    assert await decide(rule, {}) is False
    assert await decide(rule, {"opt": 2}) is True


# --- routing ------------------------------------------------------------------------------------


async def test_first_matching_rule_wins() -> None:
    definition = machine(
        [
            {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Yes"},
            {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Also"},
        ]
    )
    assert (await execute(definition, {"n": 5})).output == "yes"


async def test_later_rule_matches_when_earlier_do_not() -> None:
    definition = machine(
        [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Yes"},
            {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Also"},
        ]
    )
    assert (await execute(definition, {"n": 5})).output == "also"


async def test_default_when_nothing_matches() -> None:
    definition = machine([{"Variable": "$.n", "NumericEquals": 1, "Next": "Yes"}])
    assert (await execute(definition, {"n": 2})).output == "no"


async def test_no_match_and_no_default_is_no_choice_matched() -> None:
    definition = machine([{"Variable": "$.n", "NumericEquals": 1, "Next": "Yes"}], default=False)
    result = await execute(definition, {"n": 2})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.NoChoiceMatched"
    assert isinstance(result.cause, str)


async def test_no_choice_matched_can_be_caught_by_an_enclosing_parallel() -> None:
    inner = machine([{"Variable": "$.n", "NumericEquals": 1, "Next": "Yes"}], default=False)
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [inner],
                "Catch": [{"ErrorEquals": ["States.NoChoiceMatched"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "OutputPath": "$.Error", "End": True},
        },
    }
    result = await execute(definition, {"n": 2})
    assert result.output == "States.NoChoiceMatched"


async def test_choice_input_path_and_output_path() -> None:
    definition = machine(
        [{"Variable": "$.n", "NumericEquals": 1, "Next": "Out"}], InputPath="$.inner", OutputPath="$.keep"
    )
    result = await execute(definition, {"inner": {"n": 1, "keep": "k"}})
    assert result.output == "k"


# --- missing paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.x", "StringEquals": "a"},
        {"Variable": "$.x", "NumericEquals": 1},
        {"Variable": "$.x", "IsNull": True},
        {"Variable": "$.x", "IsString": False},
        {"Variable": "$.x", "StringMatches": "*"},
        {"Not": {"Variable": "$.x", "BooleanEquals": True}},
    ],
)
async def test_missing_variable_is_uncatchable_states_runtime(rule: dict[str, Any]) -> None:
    result = await execute(machine([{**rule, "Next": "Yes"}]), {"a": 1})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"
    assert result.cause == located(
        "Invalid path '$.x': The choice state's condition path references an invalid value."
    )


async def test_missing_path_operand_is_states_runtime() -> None:
    result = await execute(
        machine([{"Variable": "$.v", "StringEqualsPath": "$.nope", "Next": "Yes"}]), {"v": "a"}
    )
    assert result.error == "States.Runtime"
    assert result.cause == located(
        "Invalid path '$.nope': The choice state's condition path references an invalid value."
    )


async def test_states_runtime_in_a_branch_is_not_caught_by_states_all() -> None:
    inner = machine([{"Variable": "$.x", "StringEquals": "a", "Next": "Yes"}])
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [inner],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    result = await execute(definition, {})
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"


# --- compile_rule and parse_timestamp directly ---------------------------------------------------


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


def frame() -> Frame:
    ctx = ExecutionContext(
        execution_arn="arn:aws:states:us-east-1:111111111111:express:sm:e:u",
        execution_name="e",
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:sm",
        state_machine_name="sm",
        input={"flag": True},
        services=FakeServices(),
        start_epoch=START,
        express=True,
    )
    return Frame(ctx, "C", 2)


def test_compile_rule_predicates() -> None:
    f = frame()
    assert compile_rule({"Variable": "$.a", "NumericEquals": 1, "Next": "X"})({"a": 1}, f)
    assert not compile_rule({"Variable": "$.a", "NumericEquals": 1})({"a": 2}, f)
    assert compile_rule({"Variable": "$$.Execution.Input.flag", "BooleanEquals": True})({}, f)
    assert compile_rule({"Variable": "$.a", "NumericLessThanPath": "$.b"})({"a": 1, "b": 2}, f)
    assert compile_rule({"Not": {"Variable": "$.a", "IsPresent": True}})({}, f)
    assert compile_rule(
        {"And": [{"Variable": "$.a", "IsString": True}, {"Variable": "$.a", "StringMatches": "x*"}]}
    )({"a": "xyz"}, f)


def test_compile_rule_variables() -> None:
    f = frame()
    f.vars = {"limit": 10}
    assert compile_rule({"Variable": "$limit", "NumericEquals": 10})({}, f)
    assert compile_rule({"Variable": "$.n", "NumericLessThanPath": "$limit"})({"n": 3}, f)


def test_compile_rule_miss_raises_runtime_fault() -> None:
    with pytest.raises(RuntimeFault) as info:
        compile_rule({"Variable": "$.x", "StringEquals": "a"})({}, frame())
    assert (
        info.value.detail
        == "Invalid path '$.x': The choice state's condition path references an invalid value."
    )
    assert not info.value.catchable


def test_compile_rule_without_an_operator_is_rejected() -> None:
    with pytest.raises(ValueError):
        compile_rule({"Variable": "$.x", "Next": "A"})


def test_comparators_cover_every_operator_family() -> None:
    families = ("String", "Numeric", "Timestamp")
    suffixes = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    assert {f + s for f in families for s in suffixes} | {"BooleanEquals"} == set(COMPARATORS)


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("1970-01-01T00:00:00Z", 0.0),
        ("2016-03-14T01:59:00Z", 1457920740.0),
        ("2016-03-14T02:59:00+01:00", 1457920740.0),
        ("2016-03-13T20:59:00-05:00", 1457920740.0),
        ("2016-03-14T01:59:00.5Z", 1457920740.5),
        ("2016-03-14T01:59:00.123456789Z", 1457920740.123456789),
        ("2024-02-29T00:00:00Z", 1709164800.0),
    ],
)
def test_parse_timestamp(text: str, epoch: float) -> None:
    assert parse_timestamp(text) == pytest.approx(epoch)


@pytest.mark.parametrize(
    "text",
    [
        "2016-03-14T01:59:00",
        "2016-03-14t01:59:00Z",
        "2016-03-14T01:59:00z",
        "2016-03-14 01:59:00Z",
        "2016-03-14",
        "2016-3-14T01:59:00Z",
        "2016-03-14T01:59Z",
        "2016-13-14T01:59:00Z",
        "2023-02-29T00:00:00Z",
        "2016-03-14T24:00:00Z",
        "2016-03-14T01:60:00Z",
        "2016-03-14T01:59:00+0100",
        "2016-03-14T01:59:00+24:00",
        " 2016-03-14T01:59:00Z",
        "",
        None,
        1457920740,
    ],
)
def test_parse_timestamp_rejects(text: Any) -> None:
    assert parse_timestamp(text) is None


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*a" * 5000 + "*b", "a" * 10_000, False),  # backtracking would take forever here
        ("*a" * 5000 + "*b", "a" * 9_999 + "b", True),
        ("*a*a*a*b", "a" * 100_000, False),
        ("*" + "ab" * 2500 + "*", "ab" * 50_000, True),
        ("*" + "a" * 5000 + "b*", "a" * 100_000, False),
    ],
    ids=["stars-a-b-miss", "stars-a-b-hit", "short-miss", "long-piece-hit", "long-piece-miss"],
)
def test_string_matches_is_linear_on_adversarial_patterns(pattern: str, value: str, expected: bool) -> None:
    from durable.interpreter.choice import Glob

    assert Glob(pattern).matches(value) is expected


@given(
    pattern=st.text(alphabet="ab*\\", max_size=12),
    value=st.text(alphabet="ab*\\", max_size=12),
)
def test_string_matches_agrees_with_a_reference_matcher(pattern: str, value: str) -> None:
    """The same answers as an (exponential, but exact) regular-expression rendering of the glob."""
    import re

    from durable.interpreter.choice import Glob

    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if pattern[i] == "*" else re.escape(pattern[i]))
        i += 1
    reference = re.fullmatch("".join(out), value, re.DOTALL) is not None
    assert Glob(pattern).matches(value) is reference
