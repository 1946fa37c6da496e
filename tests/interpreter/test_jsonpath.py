"""JSONPath as Step Functions evaluates it (durable.interpreter.jsonpath).

First through the engine (InputPath / OutputPath / Parameters on a Pass state), then the module
directly: compiling, definite vs indefinite evaluation, Jayway-worded misses, Reference Paths and
``set_reference``.
"""

from __future__ import annotations

from typing import Any

import pytest

from durable import DefinitionError, Engine, Execution, ExecutionStatus, ManualClock
from durable.interpreter.jsonpath import (
    ROOT_CONTEXT,
    ROOT_INPUT,
    ROOT_VARIABLE,
    Path,
    PathMissing,
    PathSyntaxError,
    ResultPathMismatch,
    compile_path,
    compile_reference_path,
    jayway_path,
    set_reference,
)
from durable.interpreter.jsonpath_ast import Index, Key

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99},
            {"category": "fiction", "author": "Herman Melville", "price": 8.99, "isbn": "0-553"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "def ghi": 7,
}


async def run_pass(state: dict[str, Any], input: Any) -> Execution:
    """Run a one-state machine whose only state is the Pass ``state`` (End added)."""
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True, **state}}}
    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        machine = await engine.create_state_machine("jp", definition, type="EXPRESS")
        return await engine.start_sync_execution(machine.arn, input)


# --- through the engine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.store.bicycle", {"color": "red", "price": 19.95}),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$.store.book[-1].isbn", "0-553"),
        ("$['def ghi']", 7),
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "Herman Melville"]),
        ("$.store.book[0,2].price", [8.95, 8.99]),
        ("$.store.book[1:].category", ["fiction", "fiction"]),
        ("$.store.book[?(@.price < 9)].author", ["Nigel Rees", "Herman Melville"]),
        ("$.store.book[?(@.isbn)].author", ["Herman Melville"]),
        ("$.store.book[?(@.category == 'fiction' && @.price > 10)].author", ["Evelyn Waugh"]),
        ("$.store.book[?(@.nothing)]", []),
        ("$.store.[*].price", [19.95]),
        (
            "$.store.book[*].['author', 'price']",
            [
                {"author": "Nigel Rees", "price": 8.95},
                {"author": "Evelyn Waugh", "price": 12.99},
                {"author": "Herman Melville", "price": 8.99},
            ],
        ),
    ],
)
async def test_input_path_selects_what_jayway_selects(path: str, expected: Any) -> None:
    result = await run_pass({"InputPath": path}, STORE)
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.output == expected


async def test_parameters_gather_multi_value_paths_into_arrays() -> None:
    result = await run_pass(
        {"Parameters": {"authors.$": "$.store.book[*].author", "first.$": "$.store.book[0].author"}},
        STORE,
    )
    assert result.output == {
        "authors": ["Nigel Rees", "Evelyn Waugh", "Herman Melville"],
        "first": "Nigel Rees",
    }


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("$.missing", "No results for path: $['missing']"),
        ("$.no.such", "Missing property in path $['no']"),
        ("$.store.book[7]", "No results for path: $['store']['book'][7]"),
    ],
)
async def test_a_definite_path_that_matches_nothing_is_states_runtime(path: str, detail: str) -> None:
    result = await run_pass({"InputPath": path}, STORE)
    assert result.status is ExecutionStatus.FAILED
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        f"Invalid path '{path}' : {detail}"
    )


async def test_output_path_misses_are_states_runtime_too() -> None:
    result = await run_pass({"OutputPath": "$.gone"}, {"a": 1})
    assert result.error == "States.Runtime"
    assert result.cause is not None and result.cause.endswith(
        "Invalid path '$.gone' : No results for path: $['gone']"
    )


async def test_context_object_paths_in_input_path() -> None:
    result = await run_pass({"InputPath": "$$.State.Name"}, {"a": 1})
    assert result.output == "P"


# --- compile_path -------------------------------------------------------------------------------


def test_roots() -> None:
    assert compile_path("$").root == ROOT_INPUT
    assert compile_path("$").is_root
    assert compile_path("$$.Execution.Id").root == ROOT_CONTEXT
    var = compile_path("$order.items[0]")
    assert var.root == ROOT_VARIABLE
    assert var.variable == "order"
    assert var.steps == (Key(("items",)), Index((0,)))
    assert not compile_path("$$").is_root
    assert not compile_path("$.a").is_root


def test_compiled_paths_are_cached_and_printable() -> None:
    p = compile_path("$.a.b")
    assert compile_path("$.a.b") is p
    assert isinstance(p, Path)
    assert repr(p) == "Path('$.a.b')"
    assert p.text == "$.a.b"


@pytest.mark.parametrize(
    ("text", "definite"),
    [
        ("$", True),
        ("$.a", True),
        ("$.a[0].b", True),
        ("$['a']['b']", True),
        ("$.a[*]", False),
        ("$.a[0,1]", False),
        ("$['a','b']", True),  # a union of names at the end merges into one object
        ("$['a','b'].c", False),
        ("$.a[1:2]", False),
        ("$..a", False),
        ("$.a[?(@.x)]", False),
    ],
)
def test_definite_paths(text: str, definite: bool) -> None:
    assert compile_path(text).definite is definite


@pytest.mark.parametrize(
    ("text", "doc", "expected"),
    [
        ("$.a[0].b", {"a": [{"b": 1}]}, 1),
        ("$.a[-1]", {"a": [1, 2, 3]}, 3),
        ("$.a[-3]", {"a": [1, 2, 3]}, 1),
        ("$['a.b']", {"a.b": 5}, 5),
        ('$["q"]', {"q": 6}, 6),
        ("$['it\\'s']", {"it's": 1}, 1),
        ("$[0][1]", [[1, 2]], 2),
        ("$.a", {"a": None}, None),
        ("$.ü", {"ü": 1}, 1),
        ("$.a-b", {"a-b": 2}, 2),
    ],
)
def test_definite_get(text: str, doc: Any, expected: Any) -> None:
    assert compile_path(text).get(doc) == expected


@pytest.mark.parametrize(
    ("text", "doc", "expected"),
    [
        ("$.a[*]", {"a": [1, 2]}, [1, 2]),
        ("$.*", {"a": 1, "b": 2}, [1, 2]),
        ("$.a[*].b", {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}, [1, 3]),
        ("$.a[*].b", {"a": []}, []),
        ("$.x[*]", {"x": {"a": 1}}, [1]),
        ("$.a[0:2]", {"a": [1, 2, 3]}, [1, 2]),
        ("$.a[-2:]", {"a": [1, 2, 3]}, [2, 3]),
        ("$.a[:1]", {"a": [1, 2, 3]}, [1]),
        ("$.a[0:3:2]", {"a": [1, 2, 3]}, [1, 2, 3]),  # Jayway ignores a step
        ("$.a[0,2,9]", {"a": [1, 2, 3]}, [1, 3]),
        ("$['a','c'].v", {"a": {"v": 1}, "b": 2, "c": {"v": 3}}, [1, 3]),
        ("$..b", {"b": 0, "x": [{"b": 1}]}, [0, 1]),
        ("$.a[?(@.v == 'x')].n", {"a": [{"v": "x", "n": 1}, {"v": "y", "n": 2}]}, [1]),
        ("$.a[?(@.v != 'x')].n", {"a": [{"v": "x", "n": 1}, {"v": "y", "n": 2}]}, [2]),
        ("$.a[?(@.n >= 2)].n", {"a": [{"n": 1}, {"n": 2}, {"n": 3}]}, [2, 3]),
        ("$.a[?(@.n > 1 || @.n < 1)].n", {"a": [{"n": 0}, {"n": 1}, {"n": 2}]}, [0, 2]),
        ("$.a[?(!@.f)].n", {"a": [{"n": 0, "f": True}, {"n": 1}]}, [1]),
        ("$.a[?(@.n == 1)]", {"a": [{"n": True}, {"n": 1.0}]}, [{"n": 1.0}]),
        ("$.a[?(@ > 1)]", {"a": [1, 2, 3]}, []),  # AWS: '@' matches objects only
        ("$.a[?(@.b == null)].i", {"a": [{"b": None, "i": 1}, {"i": 2}]}, [1]),
    ],
)
def test_indefinite_get_returns_every_match(text: str, doc: Any, expected: Any) -> None:
    assert compile_path(text).get(doc) == expected


def test_functions_compile_but_match_nothing_as_in_aws() -> None:
    # AWS accepts `$.a.length()` in a definition; at run time the path is not found.
    assert compile_path("$.a.length()").definite
    with pytest.raises(PathMissing):
        compile_path("$.a.length()").get({"a": [1, 2, 3]})
    assert compile_path("$.a[*].length()").get({"a": [[1], [2]]}) == []


@pytest.mark.parametrize(
    ("text", "doc", "detail"),
    [
        ("$.x", {"a": 1}, "No results for path: $['x']"),
        ("$.no.such", {"a": 1}, "Missing property in path $['no']"),
        ("$.a[3]", {"a": [1]}, "No results for path: $['a'][3]"),
        ("$.a[0]", {"a": {"0": 1}}, 'Filter: [0] can only be applied to arrays. Current context is: {"0":1}'),
        ("$.a[0].b", {"a": None}, "The path $['a'] is null"),
        ("$.a[5].b", {"a": [1]}, "No results for path: $['a'][5]['b']"),
        (
            "$.a.b",
            {"a": "text"},
            "Expected to find an object with property ['b'] in path $['a'] but found 'java.lang.String'. "
            "This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        ),
        (
            "$.a.b",
            {"a": [1]},
            "Expected to find an object with property ['b'] in path $['a'] but found "
            "'net.minidev.json.JSONArray'. This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        ),
    ],
)
def test_definite_misses_raise_path_missing_with_jayway_wording(text: str, doc: Any, detail: str) -> None:
    with pytest.raises(PathMissing) as info:
        compile_path(text).get(doc)
    assert info.value.detail == detail


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "$.",
        "$..",
        "$[",
        "$['a",
        "$[]",
        "$[a]",
        "$[:]",
        "$[::2]",
        "$[1:a]",
        "$ a",
        "$.a b",
        "$[?(@.a >)]",
        "$[?(@.a == 1]",
        "$[?((@.a == 1)]",
        "$[?(@.a ~~ 1)]",
        ".a",
    ],
)
def test_malformed_paths_raise_path_syntax_error(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(text)


def test_path_syntax_error_is_a_value_error_naming_the_text() -> None:
    with pytest.raises(ValueError, match=r"Invalid JSONPath '\$\['"):
        compile_path("$[")


@pytest.mark.parametrize(
    "text",
    [
        "$[?(@.a == " + "1" * 5000 + ")]",  # int() refuses > 4300 digits
        "$[?(" + " && ".join(["@.a"] * 3000) + ")]",  # a chain too long to compile
    ],
    ids=["huge-int-literal", "long-logical-chain"],
)
def test_filter_edge_cases_raise_path_syntax_error(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(text)


async def test_a_filter_with_a_huge_number_never_crashes_create_state_machine() -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "InputPath": "$[?(@.a == " + "1" * 5000 + ")]", "End": True}},
    }
    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        try:
            await engine.create_state_machine("huge", definition, type="EXPRESS")
        except DefinitionError:
            pass


def test_deep_scan_returns_matches_in_document_order() -> None:
    # Jayway ScanPathToken.walkObject evaluates the node, then walks each property in order
    # (depth-first, pre-order): a.x, a.b.x, c.x.
    doc = {"a": {"x": 1, "b": {"x": 2}}, "c": {"x": 3}}
    assert compile_path("$..x").get(doc) == [1, 2, 3]


# --- Reference Paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["$", "$.a", "$.a[0].b", "$['a b']", "$$.Execution.Id", "$var.x"])
def test_reference_paths_accept_single_nodes(text: str) -> None:
    assert compile_reference_path(text).definite


@pytest.mark.parametrize("text", ["$.a[*]", "$..a", "$.a[0,1]", "$.a[1:]", "$.a[?(@.b)]", "$['a','b']"])
def test_reference_paths_reject_anything_that_can_match_many(text: str) -> None:
    with pytest.raises(PathSyntaxError, match="Reference Path"):
        compile_reference_path(text)


def test_set_reference_root_replaces_everything() -> None:
    assert set_reference(compile_path("$"), {"a": 1}, [1, 2]) == [1, 2]


def test_set_reference_overwrites_and_leaves_the_original_alone() -> None:
    target = {"a": {"b": 1, "keep": True}, "z": 0}
    out = set_reference(compile_path("$.a.b"), target, 2)
    assert out == {"a": {"b": 2, "keep": True}, "z": 0}
    assert target == {"a": {"b": 1, "keep": True}, "z": 0}


def test_set_reference_creates_missing_intermediate_objects() -> None:
    assert set_reference(compile_path("$.x.y.z"), {"a": 1}, "v") == {"a": 1, "x": {"y": {"z": "v"}}}


def test_set_reference_into_an_array_element() -> None:
    target = {"a": [{"b": 1}, {"b": 2}]}
    assert set_reference(compile_path("$.a[1].b"), target, 9) == {"a": [{"b": 1}, {"b": 9}]}
    assert set_reference(compile_path("$.a[-1]"), target, 0) == {"a": [{"b": 1}, 0]}
    assert target == {"a": [{"b": 1}, {"b": 2}]}


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("$.a", "a string"),
        ("$.a", [1, 2]),
        ("$.a.b", {"a": 5}),
        ("$.a.b", {"a": [1]}),
        ("$.a[3]", {"a": [1]}),
        ("$.a[0]", {"a": {"0": 1}}),
        ("$.a[0]", {}),  # a created intermediate is an object, never an array
    ],
)
def test_set_reference_through_a_non_object_is_a_mismatch(text: str, target: Any) -> None:
    with pytest.raises(ResultPathMismatch):
        set_reference(compile_path(text), target, 1)


def test_jayway_path_rendering() -> None:
    steps = compile_path("$.a[0].b").steps
    assert jayway_path(steps, 0) == "$"
    assert jayway_path(steps, 2) == "$['a'][0]"
    assert jayway_path(steps, 3) == "$['a'][0]['b']"
