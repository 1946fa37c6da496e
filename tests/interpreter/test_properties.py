"""Property tests: random definitions, inputs and path texts never crash the engine.

- compiling any generated definition (valid or not) returns a Program or raises DefinitionError;
- running a compiled one returns an Execution that SUCCEEDED, FAILED or TIMED_OUT, raises
  nothing but DurableError, never hangs (short waits on the kit's TestClock), and a FAILED execution
  carries a string error (or no error only when a Fail state without one was reached);
- validate_definition never raises on arbitrary JSON values;
- compile_path compiles or raises PathSyntaxError on arbitrary text.

Examples are derandomized so CI is stable; raise ``max_examples`` locally to hunt.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable import DefinitionError, DurableError, Engine, Execution, ExecutionStatus, ManualClock, TaskFailed
from durable.errors import Diagnostic
from durable.interpreter.data import MAX_PAYLOAD_BYTES
from durable.interpreter.jsonpath import Path, PathSyntaxError, compile_path
from durable.interpreter.program import Program, compile_program
from durable.interpreter.validate import validate_definition
from durable.testing import TestClock

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
PROPS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- building blocks ----------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "items", "w", "t", "e"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-10, 10, allow_nan=False)
    | st.sampled_from(["", "x", "E", "2025-01-01T12:00:01Z", "not a time", "*"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
INPUTS = (
    st.fixed_dictionaries(
        {},
        optional={
            "a": JSON,
            "b": JSON,
            "items": st.lists(JSON, max_size=4),
            "w": st.integers(-1, 3) | st.sampled_from([1.5, "2"]),
            "t": st.sampled_from(["2025-01-01T12:00:02Z", "2016-03-14T01:59:00Z", "2025-01-01 12:00:02"]),
            "e": st.booleans(),
        },
    )
    | JSON
)

PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "$.b",
        "$.a.b",
        "$.a[0]",
        "$.items",
        "$.items[*]",
        "$.a[0:2]",
        "$..a",
        "$.a[?(@.b)]",
        "$$.State.Name",
        "$$.Execution.Input",
        "$$.Map.Item.Index",
        "$$.State.RetryCount",
        "$undefinedVariable",
        "$.w",
        "$.t",
    ]
)
BAD_PATHS = st.sampled_from(["", "a", "$.", "$[", "not a path", "$.a[", "$..", 7])
REFERENCE_PATHS = st.sampled_from(["$", "$.a", "$.b", "$.a.b", "$.r", "$.a[0]", "$.new.deep"])
INTRINSICS = st.sampled_from(
    [
        "States.Format('v={}', $.a)",
        "States.Format('{} and {}', $.a, $.b)",
        "States.ArrayLength($.items)",
        "States.JsonToString($.a)",
        "States.StringToJson($.a)",
        "States.MathAdd($.a, 1)",
        "States.Array($.a, $.b, 'x')",
        "States.ArrayGetItem($.items, 0)",
        "States.ArrayContains($.items, 1)",
        "States.ArrayPartition($.items, 2)",
        "States.ArrayRange(1, 5, 2)",
        "States.Base64Encode($.a)",
        "States.Hash($.a, 'SHA-256')",
        "States.UUID()",
        "States.MathRandom(1, 3)",
        "States.StringSplit($.a, ',')",
        "States.Nope($.a)",
        "States.Format(",
    ]
)
ERRORS = st.sampled_from(
    ["States.ALL", "States.TaskFailed", "States.Timeout", "E", "ValueError", "States.Runtime"]
)


@st.composite
def templates(draw: st.DrawFn, depth: int = 0) -> Any:
    """A payload template: literals plus ``key.$`` entries with paths or intrinsics."""
    out: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            out[f"lit{i}"] = draw(SCALARS)
        elif kind in (1, 2):
            out[f"p{i}.$"] = draw(PATHS)
        elif kind == 3:
            out[f"f{i}.$"] = draw(INTRINSICS)
        elif kind == 4 and depth < 2:
            out[f"n{i}"] = draw(templates(depth + 1))
        else:
            out[f"l{i}"] = [draw(templates(depth + 1))] if depth < 2 else []
    if draw(st.integers(0, 30)) == 17:
        out["bad.$"] = draw(BAD_PATHS)  # invalid: DefinitionError expected
    return out


def maybe(draw: st.DrawFn, strategy: st.SearchStrategy[Any], chance: int = 3) -> Any:
    """``strategy``'s value about 1 time in ``chance``, else a marker meaning "absent"."""
    return draw(strategy) if draw(st.integers(0, chance - 1)) == 0 else _ABSENT


_ABSENT = object()


def put(state: dict[str, Any], key: str, value: Any) -> None:
    if value is not _ABSENT:
        state[key] = value


CHOICE_OPERATORS = [
    ("StringEquals", st.sampled_from(["x", "E", ""])),
    ("StringLessThan", st.sampled_from(["m"])),
    ("StringMatches", st.sampled_from(["*", "x*", "\\*", "a*b"])),
    ("NumericEquals", st.integers(-2, 2)),
    ("NumericGreaterThan", st.floats(-3, 3, allow_nan=False)),
    ("NumericLessThanEquals", st.integers(-2, 2)),
    ("BooleanEquals", st.booleans()),
    ("TimestampLessThan", st.sampled_from(["2025-01-01T12:00:00Z"])),
    ("IsPresent", st.booleans()),
    ("IsNull", st.booleans()),
    ("IsNumeric", st.booleans()),
    ("IsString", st.booleans()),
    ("IsTimestamp", st.booleans()),
    ("StringEqualsPath", PATHS),
    ("NumericLessThanPath", PATHS),
]


@st.composite
def choice_rules(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.integers(0, 5 if depth < 2 else 2))
    if kind <= 2:
        op, operand = draw(st.sampled_from(CHOICE_OPERATORS))
        return {"Variable": draw(PATHS), op: draw(operand)}
    if kind == 3:
        return {"Not": draw(choice_rules(depth + 1))}
    return {
        draw(st.sampled_from(["And", "Or"])): draw(st.lists(choice_rules(depth + 1), min_size=1, max_size=3))
    }


class Names:
    """Unique state names across the whole machine."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"S{self.n}"


@st.composite
def scopes(draw: st.DrawFn, names: Names, depth: int = 0) -> dict[str, Any]:
    """A ``{StartAt, States}`` chain of 1..4 states, each going to the next."""
    count = draw(st.integers(1, 4 if depth == 0 else 2))
    order = [names() for _ in range(count)]
    states: dict[str, Any] = {}
    for i, name in enumerate(order):
        nxt = order[i + 1] if i + 1 < count else None
        states[name] = draw(state_specs(names, nxt, depth))
    return {"StartAt": order[0], "States": states}


def flow(state: dict[str, Any], nxt: str | None) -> None:
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt


def error_handling(draw: st.DrawFn, state: dict[str, Any], nxt: str | None) -> None:
    if draw(st.booleans()):
        count = draw(st.integers(1, 2))
        state["Retry"] = [
            {
                "ErrorEquals": error_equals(draw, last=i == count - 1),
                "IntervalSeconds": draw(st.integers(1, 2)),
                "MaxAttempts": draw(st.integers(0, 2)),
                "BackoffRate": draw(st.sampled_from([1, 1.5, 2.0])),
            }
            for i in range(count)
        ]
    if nxt is not None and draw(st.booleans()):
        catcher: dict[str, Any] = {"ErrorEquals": error_equals(draw, last=True), "Next": nxt}
        put(catcher, "ResultPath", maybe(draw, REFERENCE_PATHS | st.none(), 2))
        state["Catch"] = [catcher]


def error_equals(draw: st.DrawFn, *, last: bool) -> list[str]:
    """``States.ALL`` only alone and in the last retrier/catcher, as the validator requires."""
    names = draw(st.lists(ERRORS, min_size=1, max_size=2, unique=True))
    if "States.ALL" in names:
        return ["States.ALL"] if last else [n for n in names if n != "States.ALL"] or ["E"]
    return names


@st.composite
def state_specs(draw: st.DrawFn, names: Names, nxt: str | None, depth: int) -> dict[str, Any]:
    kinds = ["Pass", "Pass", "Choice", "Wait", "Task", "Task"]
    if nxt is None:
        kinds += ["Succeed", "Fail"]  # terminal states only end a chain (else the rest is unreachable)
    if depth < 2:
        kinds += ["Parallel", "Map"]
    kind = draw(st.sampled_from(kinds))
    state: dict[str, Any] = {"Type": kind}
    if kind not in ("Fail",):
        put(state, "InputPath", maybe(draw, PATHS | st.none(), 5))
        put(state, "OutputPath", maybe(draw, PATHS | st.none(), 5))
    if kind == "Pass":
        put(state, "Result", maybe(draw, JSON))
        put(state, "Parameters", maybe(draw, templates()))
        put(state, "ResultPath", maybe(draw, REFERENCE_PATHS | st.none()))
        flow(state, nxt)
    elif kind == "Choice":
        target = nxt or names()
        state["Choices"] = [{**draw(choice_rules()), "Next": target} for _ in range(draw(st.integers(1, 2)))]
        if draw(st.booleans()):
            state["Default"] = target
        if nxt is None:
            return _choice_at_end(state, target)
    elif kind == "Wait":
        which = draw(st.integers(0, 3))
        if which == 0:
            state["Seconds"] = draw(st.integers(0, 3))
        elif which == 1:
            state["Timestamp"] = draw(st.sampled_from(["2025-01-01T12:00:02Z", "2016-03-14T01:59:00Z"]))
        elif which == 2:
            state["SecondsPath"] = draw(st.sampled_from(["$.w", "$.a", "$.missing"]))
        else:
            state["TimestampPath"] = draw(st.sampled_from(["$.t", "$.a"]))
        flow(state, nxt)
    elif kind == "Succeed":
        pass
    elif kind == "Fail":
        which = draw(st.integers(0, 3))
        if which == 1:
            state["Error"], state["Cause"] = "Custom.Error", "cause"
        elif which == 2:
            state["ErrorPath"] = draw(PATHS | INTRINSICS)
        elif which == 3:
            state["Error"] = "E"
            state["CausePath"] = draw(PATHS | INTRINSICS)
    elif kind == "Task":
        state["Resource"] = LAMBDA + draw(st.sampled_from(["echo", "boom", "slow", "big", "missing"]))
        put(state, "Parameters", maybe(draw, templates()))
        put(state, "ResultSelector", maybe(draw, templates(), 5))
        put(state, "ResultPath", maybe(draw, REFERENCE_PATHS | st.none()))
        put(state, "TimeoutSeconds", maybe(draw, st.integers(1, 3)))
        error_handling(draw, state, nxt)
        flow(state, nxt)
    elif kind == "Parallel":
        state["Branches"] = [draw(scopes(names, depth + 1)) for _ in range(draw(st.integers(1, 2)))]
        put(state, "Parameters", maybe(draw, templates(), 4))
        put(state, "ResultSelector", maybe(draw, templates(), 5))
        put(state, "ResultPath", maybe(draw, REFERENCE_PATHS | st.none()))
        error_handling(draw, state, nxt)
        flow(state, nxt)
    else:  # Map
        state["ItemProcessor"] = draw(scopes(names, depth + 1))
        put(
            state,
            "ItemsPath",
            maybe(draw, st.sampled_from(["$.items", "$", "$.a", "$$.Execution.Input.items"]), 2),
        )
        put(state, "ItemSelector", maybe(draw, templates(), 3))
        put(state, "MaxConcurrency", maybe(draw, st.integers(0, 2), 2))
        put(state, "ResultPath", maybe(draw, REFERENCE_PATHS | st.none()))
        error_handling(draw, state, nxt)
        flow(state, nxt)
    if draw(st.integers(0, 40)) == 17:
        corrupt(draw, state)
    return state


def _choice_at_end(state: dict[str, Any], target: str) -> dict[str, Any]:
    """A Choice can't end a chain: wrap it with its Succeed target in a one-branch Parallel."""
    return {
        "Type": "Parallel",
        "Branches": [{"StartAt": "C" + target, "States": {"C" + target: state, target: {"Type": "Succeed"}}}],
        "End": True,
    }


def corrupt(draw: st.DrawFn, state: dict[str, Any]) -> None:
    """Make the state invalid in one of several ways (DefinitionError expected)."""
    how = draw(st.integers(0, 5))
    if how == 0:
        state["Bogus"] = 1
    elif how == 1:
        state.pop("Type")
    elif how == 2:
        state["Next"] = "Nowhere"
    elif how == 3:
        state["InputPath"] = draw(BAD_PATHS)
    elif how == 4:
        state["Type"] = draw(st.sampled_from(["Nope", 3, None]))
    else:
        state["ResultPath"] = "$$.x"


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    definition = draw(scopes(Names()))
    if draw(st.integers(0, 3)) == 0:
        definition["TimeoutSeconds"] = draw(st.integers(1, 10))
    return definition


def has_bare_fail(definition: Any) -> bool:
    """True when some Fail state may end without an error name (no Error, or an ErrorPath)."""
    text = json.dumps(definition)
    return '"Type": "Fail"' in text


# --- the engine around a definition -------------------------------------------------------------


def functions(clock: ManualClock) -> dict[str, Any]:
    def echo(event: Any, context: Any) -> Any:
        return event

    def boom(event: Any, context: Any) -> Any:
        if isinstance(event, dict) and event.get("e"):
            raise ValueError("value error")
        raise TaskFailed("E", "task failed")

    async def slow(event: Any, context: Any) -> Any:
        await clock.sleep_until(clock.now() + 2)
        return {"slow": event}

    def big(event: Any, context: Any) -> Any:
        return "x" * (MAX_PAYLOAD_BYTES + 1)

    return {"echo": echo, "boom": boom, "slow": slow, "big": big}


async def run(program_definition: dict[str, Any], input: Any) -> Execution:
    clock = TestClock()
    async with Engine(clock=clock, load_plugins=False) as engine:
        for name, fn in functions(clock).items():
            engine.register_function(name, fn, blocking=False)
        machine = await engine.create_state_machine("prop", program_definition, type="EXPRESS")
        return await asyncio.wait_for(engine.start_sync_execution(machine.arn, input), timeout=20)


def compile_or_none(definition: Any) -> Program | None:
    try:
        program = compile_program(definition, "EXPRESS")
    except DefinitionError as exc:
        assert exc.diagnostics
        assert all(isinstance(d, Diagnostic) and d.code and d.message for d in exc.diagnostics)
        return None
    assert isinstance(program, Program)
    return program


# --- properties ---------------------------------------------------------------------------------


@PROPS
@given(definitions())
def test_compiling_succeeds_or_raises_definition_error(definition: dict[str, Any]) -> None:
    compile_or_none(definition)


@settings(PROPS, max_examples=100)
@given(definitions(), INPUTS)
def test_running_a_compiled_definition_returns_an_execution(definition: dict[str, Any], input: Any) -> None:
    if compile_or_none(definition) is None:
        return
    try:
        result = asyncio.run(run(definition, input))
    except DurableError:
        return
    assert isinstance(result, Execution)
    assert result.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT)
    if result.status is ExecutionStatus.SUCCEEDED:
        assert len(json.dumps(result.output).encode()) <= MAX_PAYLOAD_BYTES + 2
        assert result.error is None
    elif result.status is ExecutionStatus.FAILED:
        assert result.output is None
        if not has_bare_fail(definition):
            assert isinstance(result.error, str) and result.error
        else:
            assert result.error is None or isinstance(result.error, str)
        assert result.cause is None or isinstance(result.cause, str)
    else:
        assert result.error == "States.Timeout"


@settings(PROPS, max_examples=60)
@given(definitions())
def test_validation_is_deterministic(definition: dict[str, Any]) -> None:
    first = validate_definition(definition, machine_type="EXPRESS")
    assert validate_definition(json.loads(json.dumps(definition)), machine_type="EXPRESS") == first


@settings(PROPS, max_examples=100)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["StartAt", "States", "Type", "Next", "End", "Choices", "Branches", "A", "x"])
                | st.text(max_size=4),
                inner,
                max_size=5,
            )
        ),
        max_leaves=25,
    )
)
def test_validate_definition_never_raises_on_arbitrary_json(value: Any) -> None:
    found = validate_definition(value)
    assert isinstance(found, list)
    assert all(isinstance(d, Diagnostic) for d in found)
    if not isinstance(value, dict):
        assert found


@settings(PROPS, max_examples=60)
@given(definitions(), st.data())
def test_validate_definition_never_raises_on_mutated_definitions(
    definition: dict[str, Any], data: st.DataObject
) -> None:
    # Replace one random node of a generated definition by an arbitrary JSON value.
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                nodes.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                nodes.append((node, i))
                walk(v)

    walk(definition)
    parent, key = data.draw(st.sampled_from(nodes))
    parent[key] = data.draw(JSON | st.text(max_size=5))
    found = validate_definition(definition, machine_type=data.draw(st.sampled_from(["STANDARD", "EXPRESS"])))
    assert all(isinstance(d, Diagnostic) for d in found)
    compile_or_none(definition)


PATH_ALPHABET = st.sampled_from(list("$.[]*'\"@?()=!<>&|:,-0123456789abAB_ \\$"))


@settings(PROPS, max_examples=100)
@given(st.text(max_size=20) | st.text(PATH_ALPHABET, max_size=20).map(lambda t: "$" + t))
def test_compile_path_compiles_or_raises_path_syntax_error(text: str) -> None:
    try:
        path = compile_path(text)
    except PathSyntaxError:
        return
    assert isinstance(path, Path)
    assert path.text == text
    for doc in ({}, {"a": [1, {"b": 2}]}, [1, 2], "s", None):
        try:
            path.get(doc)
        except Exception as exc:  # only PathMissing may escape, and only from definite paths
            from durable.interpreter.jsonpath import PathMissing

            assert isinstance(exc, PathMissing), exc
            assert path.definite
