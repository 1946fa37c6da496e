"""Unit tests for durable.interpreter.intrinsics (ASL intrinsic functions, JSONPath mode)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable.interpreter.failure import RUNTIME, StatesFailure
from durable.interpreter.intrinsics import (
    MAX_NESTING,
    Intrinsic,
    IntrinsicArgumentError,
    IntrinsicSyntaxError,
    compile_intrinsic,
    is_intrinsic,
)


class FakeServices:
    def __init__(self) -> None:
        self.random_calls: list[tuple[int, int]] = []
        self.uuid_calls = 0

    def uuid4(self) -> str:
        self.uuid_calls += 1
        return f"00000000-0000-4000-8000-{self.uuid_calls:012d}"

    def random_int(self, start: int, end: int) -> int:
        self.random_calls.append((start, end))
        return end


def resolver(data: dict[str, Any]) -> Callable[[str], Any]:
    """Resolve ``$.name`` against ``data`` (and ``$`` to all of it); anything else is a miss."""

    def resolve(path: str) -> Any:
        if path == "$":
            return data
        if path.startswith("$.") and path[2:] in data:
            return data[path[2:]]
        raise StatesFailure(RUNTIME, f"missing {path}")

    return resolve


def run(text: str, data: dict[str, Any] | None = None, services: FakeServices | None = None) -> Any:
    return compile_intrinsic(text).evaluate(resolver(data or {}), services or FakeServices())


def fails(text: str, data: dict[str, Any] | None = None) -> IntrinsicArgumentError:
    """The call cannot take its arguments (the state then fails with States.Runtime)."""
    with pytest.raises(IntrinsicArgumentError) as info:
        run(text, data)
    assert info.value.function == text.split("(", 1)[0] or info.value.function.startswith("States.")
    assert info.value.reason
    return info.value


def same(a: Any, b: Any) -> bool:
    """JSON equality that also tells booleans from numbers and ints from floats."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


# --- recognising and parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["States.Format('x')", "States.UUID()", "States.Foo(1)", "States.Array($.a)", "States.A.B(1)"],
)
def test_is_intrinsic_true(text: str) -> None:
    assert is_intrinsic(text)


@pytest.mark.parametrize(
    "text",
    [
        "$.a",
        "$$.Execution.Id",
        " States.UUID()",
        "States.UUID",
        "States.(1)",
        "Foo.Bar()",
        "States. UUID()",
        "",
    ],
)
def test_is_intrinsic_false(text: str) -> None:
    assert not is_intrinsic(text)


def test_compiled_intrinsic_is_immutable_and_reusable() -> None:
    intrinsic = compile_intrinsic("States.MathAdd($.a, $.b)")
    assert isinstance(intrinsic, Intrinsic)
    assert intrinsic.text == "States.MathAdd($.a, $.b)"
    assert intrinsic.paths == ("$.a", "$.b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        intrinsic.text = "x"  # type: ignore[misc]
    services = FakeServices()
    assert intrinsic.evaluate(resolver({"a": 1, "b": 2}), services) == 3
    assert intrinsic.evaluate(resolver({"a": 10, "b": -20}), services) == -10


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Foo(1)", "Unknown intrinsic function 'States.Foo'"),
        ("States.Array(Other.Fn(1))", "Unknown intrinsic function 'Other.Fn'"),
        ("States.MathAdd(1)", "takes 2 argument(s) but 1 were given"),
        ("States.MathAdd(1, 2, 3)", "takes 2 argument(s) but 3 were given"),
        ("States.UUID(1)", "takes 0 argument(s)"),
        ("States.Format()", "at least 1"),
        ("States.MathRandom(1)", "2 to 3"),
        ("States.MathRandom(1, 2, 3, 4)", "2 to 3"),
        ("States.JsonMerge($.a, $.b)", "takes 3"),
        ("States.ArrayRange(1, 2)", "takes 3"),
        ("States.Array(1", "Missing ')'"),
        ("States.Array(1) x", "Unexpected text"),
        ("States.Array(1 2)", "Expected ',' or ')'"),
        ("States.Array(1,)", "Unexpected character"),
        ("States.Array(,1)", "Unexpected character"),
        ("States.Array('abc)", "Unterminated string literal"),
        ("States.Array('abc\\')", "Unterminated string literal"),
        ("States.Array(01)", "Invalid number"),
        ("States.Array(1.)", "Invalid number"),
        ("States.Array(-)", "Invalid number"),
        ("States.Array(+1)", "Unexpected character"),
        ("States.Array(1e999)", "out of range"),
        ("States.Array(True)", "Unexpected argument 'True'"),
        ("States.Array(nothing)", "Unexpected argument"),
        ("States.Array($['a')", "Unterminated path"),
        ("States.Array($.a[0)", "Unterminated path"),
        (" States.UUID()", "Not an intrinsic function call"),
        ("$.a", "Not an intrinsic function call"),
    ],
)
def test_syntax_errors(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as info:
        compile_intrinsic(text)
    assert fragment in str(info.value)


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(IntrinsicSyntaxError, ValueError)


def _nested(levels: int) -> str:
    text = "$.n"
    for _ in range(levels - 1):
        text = f"States.MathAdd({text}, 1)"
    return f"States.Array({text})"


def test_nesting_up_to_the_limit_is_allowed() -> None:
    assert MAX_NESTING == 10
    assert run(_nested(10), {"n": 0}) == [9]


def test_nesting_beyond_the_limit_is_rejected() -> None:
    with pytest.raises(IntrinsicSyntaxError, match="nested more than 10"):
        compile_intrinsic(_nested(11))


def test_deeply_nested_text_fails_fast_without_recursion_error() -> None:
    text = "States.Array(" * 5000 + ")" * 5000
    with pytest.raises(IntrinsicSyntaxError):
        compile_intrinsic(text)


def test_aws_documented_nine_function_example_compiles() -> None:
    text = (
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 1))"
    )
    assert run(text, {"arn": "arn:x/recipe/name.version.9"}) == "name.version"


# --- literals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("-7", -7),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("2e3", 2000.0),
        ("1.5E-2", 0.015),
        ("true", True),
        ("false", False),
        ("null", None),
        ("'text'", "text"),
        ("''", ""),
        ("'  spaced  '", "  spaced  "),
        ("'it\\'s'", "it's"),
        ("'\\{\\}'", "{}"),
        ("'back\\\\slash'", "back\\slash"),
        ("'a,b)c'", "a,b)c"),
        ("'$.not.a.path'", "$.not.a.path"),
        ("'States.UUID()'", "States.UUID()"),
        ("'line\nbreak'", "line\nbreak"),
        ("'ünïcødé ✓'", "ünïcødé ✓"),
    ],
)
def test_literal_arguments(literal: str, expected: Any) -> None:
    assert same(run(f"States.Array({literal})"), [expected])


def test_whitespace_between_arguments_is_ignored() -> None:
    assert run("States.Array(  1 ,\t'a'  ,\ntrue  )") == [1, "a", True]
    assert run("States.UUID(   )") == "00000000-0000-4000-8000-000000000001"
    assert run("States.Array(1)   ") == [1]


def test_an_open_escape_in_a_string_literal_is_refused_with_the_definition() -> None:
    # a user's real CreateStateMachine refused States.Format('...\\n...') (SCHEMA_VALIDATION_FAILED)
    with pytest.raises(IntrinsicSyntaxError, match="Open escape"):
        compile_intrinsic("States.Array('a\\nb')")


# --- path arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "$",
        "$.a",
        "$.a.b[0]",
        "$['x y']",
        "$['a,b']",
        "$['a)b']",
        '$["q\\"x"]',
        "$['it\\'s']",
        "$.a[?(@.b == 'c,d')]",
        "$.list.length()",
        "$$.Execution.Id",
        "$$.Map.Item.Value",
        "$$",
        "$myVar",
        "$myVar.field[2]",
    ],
)
def test_path_text_is_passed_verbatim(path: str) -> None:
    seen: list[str] = []

    def resolve(text: str) -> Any:
        seen.append(text)
        return len(seen)

    intrinsic = compile_intrinsic(f"States.Array( {path} , 'z', {path})")
    assert intrinsic.evaluate(resolve, FakeServices()) == [1, "z", 2]
    assert seen == [path, path]
    assert intrinsic.paths == (path, path)


def test_resolve_failures_propagate_unchanged() -> None:
    failure = StatesFailure(RUNTIME, "The JSONPath '$.missing' could not be found")

    def resolve(text: str) -> Any:
        raise failure

    for text in ("States.Array($.missing)", "States.Format('{}', $.missing)", "States.MathAdd(1, $.missing)"):
        with pytest.raises(StatesFailure) as info:
            compile_intrinsic(text).evaluate(resolve, FakeServices())
        assert info.value is failure


def test_paths_are_resolved_on_every_evaluation() -> None:
    intrinsic = compile_intrinsic("States.ArrayLength($.items)")
    assert intrinsic.evaluate(resolver({"items": [1]}), FakeServices()) == 1
    assert intrinsic.evaluate(resolver({"items": [1, 2, 3]}), FakeServices()) == 3


# --- States.Format ----------------------------------------------------------------------------


def test_format_basic() -> None:
    assert (
        run("States.Format('Hello, my name is {}.', $.name)", {"name": "Arnav"}) == "Hello, my name is Arnav."
    )
    assert run("States.Format($.template, $.name)", {"template": "Hi {}!", "name": "X"}) == "Hi X!"
    assert run("States.Format('no placeholders')") == "no placeholders"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("", ""),
        (" ", " "),
        ("HelloWorld", "HelloWorld"),
        ('{"Arg1": 1, "Arg2": []}', '{"Arg1": 1, "Arg2": []}'),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (1, "1"),
        (-3, "-3"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (1e20, "1.0E20"),
        (1.5e-5, "1.5E-5"),
        (12345678.9, "1.23456789E7"),
        ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),
        ({}, "{}"),
        ([], "[]"),
        (["a", 1, None, True], "[a, 1, null, true]"),
        ({"k": {"n": [1, "x"]}, "z": None}, "{k={n=[1, x]}, z=null}"),
    ],
)
def test_format_renders_values(value: Any, rendered: str) -> None:
    assert run("States.Format('<{}>', $.v)", {"v": value}) == f"<{rendered}>"


def test_format_escaped_braces_and_quotes() -> None:
    assert run("States.Format('\\{\\} {} \\{x\\}', 1)") == "{} 1 {x}"
    assert (
        run("States.Format('Welcome to {} {}\\'s playlist.', 'Ann', 'Lee')")
        == "Welcome to Ann Lee's playlist."
    )
    assert run("States.Format('a\\\\b {}', 2)") == "a\\b 2"
    # a lone (unescaped) brace is taken literally
    assert run("States.Format('{ {} }', 2)") == "{ 2 }"


def test_format_template_from_a_path() -> None:
    assert run("States.Format($.t, 1, 2)", {"t": "{}+{}"}) == "1+2"
    assert run("States.Format($.t, 1)", {"t": "\\{\\} {}"}) == "{} 1"
    assert run("States.Format($.t, 1)", {"t": "C:\\dir {}"}) == "C:\\dir 1"


def test_format_template_from_a_nested_call() -> None:
    assert run("States.Format(States.ArrayGetItem($.ts, 1), 'x')", {"ts": ["a", "<{}>"]}) == "<x>"


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.Format('{}', 1, 2)",
        "States.Format('none', 1)",
        "States.Format($.t, 1)",
        "States.Format($.n, 1)",
        "States.Format(5)",
    ],
)
def test_format_failures(text: str) -> None:
    fails(text, {"t": "{} and {}", "n": None})


# --- JSON functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        (" ", None),
        ("\n\t ", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        (' {"a": null} ', {"a": None}),
        ("null", None),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    assert same(run("States.StringToJson($.s)", {"s": text}), expected)


@pytest.mark.parametrize("text", ["{", "{'a': 1}", "NaN", "Infinity", "[1,]", "1 2", "tru"])
def test_string_to_json_invalid(text: str) -> None:
    fails("States.StringToJson($.s)", {"s": text})


@pytest.mark.parametrize("value", [1, None, [], {}, True])
def test_string_to_json_needs_a_string(value: Any) -> None:
    fails("States.StringToJson($.s)", {"s": value})


def test_string_to_json_too_deep() -> None:
    fails("States.StringToJson($.s)", {"s": "[" * 100_000 + "]" * 100_000})


def test_string_to_json_from_a_literal() -> None:
    assert run("States.StringToJson('\\{\"a\":[1,2]\\}')") == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (0, "0"),
        (1, "1"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ({"ü": "日本", "q": 'a"b\\c'}, '{"ü":"日本","q":"a\\"b\\\\c"}'),
        ({"c": "\n\t\u0001"}, '{"c":"\\n\\t\\u0001"}'),
        ({"x": {"y": [{}, []]}}, '{"x":{"y":[{},[]]}}'),
    ],
)
def test_json_to_string(value: Any, text: str) -> None:
    assert run("States.JsonToString($.v)", {"v": value}) == text


def test_json_round_trip() -> None:
    value = {"a": [1, 2.5, None, True, "x"], "b": {"c": "ü"}}
    assert run("States.StringToJson(States.JsonToString($.v))", {"v": value}) == value


def test_json_merge_is_shallow_and_second_wins() -> None:
    result = run(
        "States.JsonMerge($.a, $.b, false)",
        {"a": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4}},
    )
    assert result == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}
    assert list(result) == ["a", "b", "d", "c"]


def test_json_merge_does_not_mutate_inputs() -> None:
    first = {"x": 1}
    run("States.JsonMerge($.a, $.b, false)", {"a": first, "b": {"y": 2}})
    assert first == {"x": 1}


@pytest.mark.parametrize(
    "text",
    [
        "States.JsonMerge($.a, $.b, true)",
        "States.JsonMerge($.a, $.b, 'false')",
        "States.JsonMerge($.a, $.b, 0)",
        "States.JsonMerge($.a, $.l, false)",
        "States.JsonMerge($.l, $.b, false)",
    ],
)
def test_json_merge_failures(text: str) -> None:
    fails(text, {"a": {"x": 1}, "b": {"y": 2}, "l": [1]})


def test_json_merge_deep_names_the_reason() -> None:
    assert "deep" in fails("States.JsonMerge($.a, $.a, true)", {"a": {}}).reason


# --- array functions --------------------------------------------------------------------------


def test_array() -> None:
    assert run("States.Array()") == []
    assert run("States.Array('Foo', 2020, $.j, null)", {"j": {"r": "x"}}) == ["Foo", 2020, {"r": "x"}, None]
    assert run("States.Array(States.Array(1), States.Array())") == [[1], []]


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([], 1, []),
        ([], 5, []),
        ([0], 2, [[0]]),
        ([0, 1], 1, [[0], [1]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ([0, 1], 2.0, [[0, 1]]),
        # the developer guide: a non-integer chunk size is rounded to the nearest integer
        ([1, 2, 3, 4, 5], 1.5, [[1, 2], [3, 4], [5]]),
        ([1, 2, 3, 4, 5], 2.4, [[1, 2], [3, 4], [5]]),
        ([1, 2, 3, 4, 5], 0.6, [[1], [2], [3], [4], [5]]),
    ],
)
def test_array_partition(items: list[Any], size: Any, expected: list[Any]) -> None:
    assert run("States.ArrayPartition($.a, $.n)", {"a": items, "n": size}) == expected


@pytest.mark.parametrize(
    ("items", "size"), [([1], 0), ([1], -1), ([1], 0.4), ([1], "2"), ([1], True), ("ab", 1)]
)
def test_array_partition_failures(items: Any, size: Any) -> None:
    fails("States.ArrayPartition($.a, $.n)", {"a": items, "n": size})


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [
        ([], None, False),
        ([None], None, True),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([[1, 2, 3], 2], [3, 2, 1], False),
        ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"2": [], "1": 2}, True),
        ([True, False], True, True),
        ([True, False], False, True),
        ([1, 0], True, False),
        ([1, 0], False, False),
        ([True], 1, False),
        ([1], 1.0, True),
        (["1"], 1, False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert run("States.ArrayContains($.a, $.v)", {"a": items, "v": value}) is expected


def test_array_contains_needs_an_array() -> None:
    fails("States.ArrayContains($.a, 1)", {"a": {"x": 1}})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("0, 9, 3", [0, 3, 6, 9]),
        ("0, 10, 3", [0, 3, 6, 9]),
        ("1, 9, 9", [1]),
        ("1, 9, 2", [1, 3, 5, 7, 9]),
        ("1, 10, 2", [1, 3, 5, 7, 9]),
        ("5, 5, 1", [5]),
        ("10, 0, -3", [10, 7, 4, 1]),
        ("-2, 2, 1", [-2, -1, 0, 1, 2]),
        ("5, 1, 1", []),
        ("1, 5, -1", []),
        ("1, 1000, 1", list(range(1, 1001))),
        ("0, 3.0, 1", [0, 1, 2, 3]),
        # the developer guide: non-integer arguments are rounded to the nearest integer
        ("1.4, 5.6, 2.2", [1, 3, 5]),
        ("0.5, 2, 1", [1, 2]),
    ],
)
def test_array_range(args: str, expected: list[int]) -> None:
    result = run(f"States.ArrayRange({args})")
    assert same(result, expected)


@pytest.mark.parametrize(
    "args",
    ["1, 1001, 1", "0, 2000, 2", "1, 5, 0", "1, 5, 0.4", "1, 5, '1'", "true, 5, 1", "null, 5, 1"],
)
def test_array_range_failures(args: str) -> None:
    fails(f"States.ArrayRange({args})")


def test_array_get_item() -> None:
    data = {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "i": 5}
    assert run("States.ArrayGetItem($.a, $.i)", data) == 6
    assert run("States.ArrayGetItem($.a, 0)", data) == 1
    assert run("States.ArrayGetItem($.a, 8)", data) == 9
    assert run("States.ArrayGetItem(States.Array('x', 'y'), 1)") == "y"


@pytest.mark.parametrize("index", ["9", "-1", "100", "1.5", "'1'", "null"])
def test_array_get_item_failures(index: str) -> None:
    fails(f"States.ArrayGetItem($.a, {index})", {"a": list(range(9))})


def test_array_get_item_needs_an_array() -> None:
    fails("States.ArrayGetItem($.a, 0)", {"a": "abc"})


def test_array_length() -> None:
    items = [None, None, True, 1, 1.1, "x", [], [None], {"a": 1}]
    assert same(run("States.ArrayLength($.a)", {"a": items}), 9)
    assert same(run("States.ArrayLength($.a)", {"a": []}), 0)
    fails("States.ArrayLength($.a)", {"a": "abc"})
    fails("States.ArrayLength($.a)", {"a": {"x": 1}})


def test_array_unique_keeps_first_occurrences_with_deep_equality() -> None:
    items = [
        None, None, True, True, False, False, 1, 1, 1.1, 0, 0, "HelloWorld", "HelloWorld",
        [], [], [None], [None], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1},
    ]  # fmt: skip
    expected = [None, True, False, 1, 1.1, 0, "HelloWorld", [], [None], {"a": 1, "b": 2}, {"a": 1, "b": 1}]
    assert same(run("States.ArrayUnique($.a)", {"a": items}), expected)
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 2, 3, 3, 4]}) == [1, 2, 3, 4]
    assert same(run("States.ArrayUnique($.a)", {"a": [1, True, 1.0, 0, False]}), [1, True, 0, False])
    fails("States.ArrayUnique($.a)", {"a": "abc"})


# --- encoding and hashing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [
        ("", ""),
        ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
        ("Hello World", "SGVsbG8gV29ybGQ="),
        ("ü✓", "w7zinJM="),
    ],
)
def test_base64_round_trip(plain: str, encoded: str) -> None:
    assert run("States.Base64Encode($.s)", {"s": plain}) == encoded
    assert run("States.Base64Decode($.s)", {"s": encoded}) == plain


def test_base64_long_output_has_no_line_breaks() -> None:
    assert "\n" not in run("States.Base64Encode($.s)", {"s": "x" * 500})


def test_base64_decode_is_lenient_about_padding_and_line_breaks() -> None:
    assert run("States.Base64Decode($.s)", {"s": "SGVsbG8gV29ybGQ"}) == "Hello World"
    assert run("States.Base64Decode($.s)", {"s": "SGVsbG8g\r\nV29ybGQ="}) == "Hello World"
    assert run("States.Base64Decode($.s)", {"s": " SGVs bG8= "}) == "Hello"


@pytest.mark.parametrize("text", ["A", "SGVs=bG8=", "!!!!!", "SGVs*bG8=", "SGVsbG8=-"])
def test_base64_decode_invalid(text: str) -> None:
    fails("States.Base64Decode($.s)", {"s": text})


@pytest.mark.parametrize("fn", ["States.Base64Encode", "States.Base64Decode"])
def test_base64_input_limit(fn: str) -> None:
    assert run(f"{fn}($.s)", {"s": "QUJD" * 2500}) is not None  # exactly 10,000 characters
    fails(f"{fn}($.s)", {"s": "QUJD" * 2500 + "Q"})
    fails(f"{fn}($.s)", {"s": 12})


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc5028373"
            "1a533d30d425402d4f91316d871303aac4",
        ),
    ],
)
def test_hash(algorithm: str, digest: str) -> None:
    assert run("States.Hash($.d, $.a)", {"d": "input data", "a": algorithm}) == digest


def test_hash_of_non_string_data_hashes_its_json_text() -> None:
    assert run("States.Hash($.d, 'MD5')", {"d": {"a": 1}}) == run("States.Hash('\\{\"a\":1\\}', 'MD5')")


@pytest.mark.parametrize("algorithm", ["SHA-3", "sha-256", "SHA256", "", None, 1])
def test_hash_invalid_algorithm(algorithm: Any) -> None:
    fails("States.Hash('x', $.a)", {"a": algorithm})


def test_hash_input_limit() -> None:
    assert len(run("States.Hash($.d, 'SHA-1')", {"d": "x" * 10_000})) == 40
    fails("States.Hash($.d, 'SHA-1')", {"d": "x" * 10_001})


# --- math -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1, 2, 3),
        (-9, 3, -6),
        (111, -1, 110),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, 0, 1),
        (1.49, -1.49, 0),
        (1.5, 0, 2),
        (1.51, 0, 2),
        (-1.49, 0, -1),
        (-1.5, 0, -1),
        (-1.51, 0, -2),
        (0.5, 0, 1),
        (-0.5, 0, 0),
        (-0.5, 0.5, 1),
        (2.5, 0, 3),
        (3.5, 0, 4),
        (-3.5, 0, -3),
        (0.49999999999999994, 0, 0),
        (2.0, 3.0, 5),
    ],
)
def test_math_add_rounds_like_java(a: Any, b: Any, expected: int) -> None:
    result = run("States.MathAdd($.a, $.b)", {"a": a, "b": b})
    assert same(result, expected)


@pytest.mark.parametrize("value", ["'1'", "true", "null", "$.l", "$.o"])
def test_math_add_needs_numbers(value: str) -> None:
    fails(f"States.MathAdd({value}, 1)", {"l": [1], "o": {}})
    fails(f"States.MathAdd(1, {value})", {"l": [1], "o": {}})


def test_math_add_nested() -> None:
    data = {"x": 9, "y": 44, "z": 6, "bias": 4.3}
    assert run("States.MathAdd(States.MathAdd(States.MathAdd($.y, $.x), $.z), $.bias)", data) == 63


def test_math_random_unseeded_uses_the_service() -> None:
    # the developer guide: the start is inclusive, the end exclusive
    services = FakeServices()
    assert run("States.MathRandom(-99999, -9999)", services=services) == -10000
    assert services.random_calls == [(-99999, -10000)]


def test_math_random_rounds_non_integer_bounds() -> None:
    # AWS-recorded: MathRandom(12.5, 44.51) succeeds; the guide says bounds are rounded
    services = FakeServices()
    assert run("States.MathRandom(12.5, 44.51)", services=services) == 44
    assert services.random_calls == [(13, 44)]


def test_math_random_seeded_is_deterministic_and_in_range() -> None:
    services = FakeServices()
    first = run("States.MathRandom(0, 999, 3)", services=services)
    again = compile_intrinsic("States.MathRandom($.s, $.e, $.seed)").evaluate(
        resolver({"s": 0, "e": 999, "seed": 3}), services
    )
    assert isinstance(first, int) and not isinstance(first, bool)
    assert 0 <= first <= 999
    assert first == again
    assert services.random_calls == []
    values = {run(f"States.MathRandom(1, 1000000, {seed})") for seed in range(50)}
    assert len(values) > 45  # different seeds spread out
    assert all(1 <= v <= 1_000_000 for v in values)


@given(st.integers(-(2**40), 2**40), st.integers(0, 2**20), st.integers(-(2**70), 2**70))
def test_math_random_seeded_bounds(start: int, width: int, seed: int) -> None:
    text = f"States.MathRandom({start}, {start + width + 1}, {seed})"
    value = run(text)
    assert start <= value <= start + width
    assert value == run(text)


def test_math_random_single_value_range() -> None:
    assert run("States.MathRandom(7, 8, 123)") == 7


@pytest.mark.parametrize("args", ["5, 1", "7, 7", "1.5, 2", "1, '2'", "true, 2", "1, 2, 'seed'", "null, 2"])
def test_math_random_failures(args: str) -> None:
    fails(f"States.MathRandom({args})")


# --- strings and identifiers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        (",,,,", ",", []),
        ("", ",", []),
        (" , ", ",", [" ", " "]),
        (", , ,", ",", [" ", " "]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ("a--b-c", "--", ["a", "b", "c"]),
        ("abc", "", ["abc"]),
        ("a.b", ".", ["a", "b"]),
        ("a[b]c", "[]", ["a", "b", "c"]),
        (
            "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
            ",",
            [
                "Value1", "Value2", "Value3\nValue4", "Value5", "Value6\n", "\ntrue", "1",
                "'HelloWorld'\nNull", "None", "\n   \n",
            ],
        ),
    ],
)  # fmt: skip
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected


def test_string_split_with_literals() -> None:
    assert run("States.StringSplit('Hello\nWorld', '\n')") == ["Hello", "World"]
    assert run("States.StringSplit('a\\'b', '\\'')") == ["a", "b"]


@pytest.mark.parametrize("data", [{"s": 1, "d": ","}, {"s": "a,b", "d": None}, {"s": ["a"], "d": ","}])
def test_string_split_needs_strings(data: dict[str, Any]) -> None:
    fails("States.StringSplit($.s, $.d)", data)


@given(st.text(alphabet="ab,;", max_size=30), st.text(alphabet=",;x", max_size=3))
def test_string_split_property(text: str, delimiters: str) -> None:
    expected = text
    for d in delimiters:
        expected = expected.replace(d, "\x00")
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == [
        t for t in expected.split("\x00") if t
    ]


def test_uuid_comes_from_the_service() -> None:
    services = FakeServices()
    intrinsic = compile_intrinsic("States.UUID()")
    first = intrinsic.evaluate(resolver({}), services)
    second = intrinsic.evaluate(resolver({}), services)
    assert first != second
    assert services.uuid_calls == 2


# --- nested calls -----------------------------------------------------------------------------


def test_nested_calls() -> None:
    text = (
        "States.ArrayGetItem(States.StringSplit($.name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($.name, '-')), -1))"
    )
    assert run(text, {"name": "my-state-machine"}) == "machine"


def test_failure_inside_a_nested_call_surfaces() -> None:
    assert fails("States.Array(States.ArrayGetItem($.a, 5))", {"a": []}).function == "States.ArrayGetItem"


def test_failure_causes_name_the_function() -> None:
    for text, name in [
        ("States.MathAdd('a', 1)", "States.MathAdd"),
        ("States.ArrayRange(1, 2, 0)", "States.ArrayRange"),
        ("States.Hash('x', 'CRC32')", "States.Hash"),
        ("States.JsonMerge($.o, $.o, true)", "States.JsonMerge"),
    ]:
        assert fails(text, {"o": {}}).function == name


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-1000, 1000)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_json_to_string_round_trips_through_string_to_json(value: Any) -> None:
    text = run("States.JsonToString($.v)", {"v": value})
    back = run("States.StringToJson($.t)", {"t": text})
    assert back == value


@pytest.mark.parametrize("args", ["2147483647, 1", "-2147483648, -1", "3000000000, 1", "1, -3000000000"])
def test_math_add_takes_32_bit_integers(args: str) -> None:
    # the developer guide: "integer values in the range of -2147483648 and 2147483647"
    fails(f"States.MathAdd({args})")


def test_math_add_at_the_32_bit_edges() -> None:
    assert run("States.MathAdd(2147483646, 1)") == 2147483647
    assert run("States.MathAdd(-2147483647, -1)") == -2147483648
