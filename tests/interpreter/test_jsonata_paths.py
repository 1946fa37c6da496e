"""The simple-path shortcut of JSONata expressions answers exactly what the evaluator answers."""

from __future__ import annotations

from typing import Any

import jsonatapy
import pytest

from durable.interpreter.jsonata import _WRAPPER, compile_expression
from durable.interpreter.jsonata_paths import DECLINED, SimplePath
from durable.interpreter.query import reaches_context

from .test_jsonata import FakeServices

BINDINGS: dict[str, Any] = {
    "states": {
        "input": {
            "order": {"id": "o-1", "total": 12.5, "lines": [{"sku": "a"}, {"sku": "b"}], "none": None},
            "count": 3,
            "whole": 2.0,
            "big": 2**60 + 1,
            "nan_free": [1, 2.5, "x", True, None],
        },
        "result": {"Payload": {"ok": True}},
    },
    "cfg": {"region": "eu-west-1", "limits": [1, 2]},
    "flag": False,
}


@pytest.mark.parametrize(
    ("text", "root", "fields"),
    [
        ("$states.input", "states", ("input",)),
        ("  $states . input . order  ", "states", ("input", "order")),
        ("$cfg", "cfg", ()),
        ("$x_1.y_2", "x_1", ("y_2",)),
    ],
)
def test_recognised_shapes(text: str, root: str, fields: tuple[str, ...]) -> None:
    path = SimplePath.parse(text)
    assert path is not None and (path.root, path.fields) == (root, fields)


@pytest.mark.parametrize(
    "text",
    [
        "$",
        "$$",
        "$states.input.lines[0]",
        "$states.input.`odd name`",
        "$states.input.and",
        "$count(x)",
        "$states.input & 'x'",
        "states.input",
        "$states.input.*",
        "$a.b.c + 1",
    ],
)
def test_other_expressions_are_not_simple(text: str) -> None:
    assert SimplePath.parse(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "$states.input",
        "$states.input.order",
        "$states.input.order.id",
        "$states.input.order.total",
        "$states.input.order.lines",
        "$states.input.order.none",
        "$states.input.order.lines.sku",  # through an array: JSONata maps over it
        "$states.input.order.missing",
        "$states.input.count",
        "$states.input.whole",  # an integral double: the evaluator returns an int
        "$states.input.big",  # beyond 2**53: the evaluator holds it as a double
        "$states.input.nan_free",
        "$states.result.Payload.ok",
        "$cfg.limits",
        "$flag",
        "$nobody",
        "$string",  # a built-in function, not a binding
    ],
)
def test_shortcut_answers_as_the_evaluator_or_declines(text: str) -> None:
    expression = compile_expression("{% " + text + " %}")
    path = SimplePath.parse(text)
    assert path is not None
    direct = path.evaluate(BINDINGS)
    if direct is DECLINED:
        return
    # the evaluator alone, without the shortcut
    program = jsonatapy.compile(_WRAPPER % text)
    slow = program.evaluate(None, BINDINGS)
    assert slow is not None and slow["type"] != "function"
    assert expression.evaluate(BINDINGS, FakeServices()) == direct
    assert type(direct) is type(slow["value"]) or isinstance(slow["value"], float)
    assert direct == slow["value"]


def test_declines_what_the_evaluator_would_change() -> None:
    assert SimplePath.parse("$states.input.whole").evaluate(BINDINGS) is DECLINED  # type: ignore[union-attr]
    assert SimplePath.parse("$states.input.big").evaluate(BINDINGS) is DECLINED  # type: ignore[union-attr]
    assert SimplePath.parse("$states.input.order.lines.sku").evaluate(BINDINGS) is DECLINED  # type: ignore[union-attr]
    assert SimplePath.parse("$nobody").evaluate(BINDINGS) is DECLINED  # type: ignore[union-attr]
    # and the expression still evaluates them, through the evaluator
    assert compile_expression("{% $states.input.whole %}").evaluate(BINDINGS, FakeServices()) == 2
    assert compile_expression("{% $states.input.order.lines.sku %}").evaluate(BINDINGS, FakeServices()) == [
        "a",
        "b",
    ]


@pytest.mark.parametrize(
    ("raw", "reaches"),
    [
        ({"Output": "{% $states.input %}"}, False),
        ({"Output": "{% $states.result.x %}", "Assign": {"v": "{% $states.errorOutput %}"}}, False),
        ({"Output": "{% $states.context.Execution.Id %}"}, True),
        ({"Output": "{% $states %}"}, True),
        ({"Output": "{% $keys($states) %}"}, True),
        ({"Assign": {"a": ["{% $states . context %}"]}}, True),
        ({"Output": "$states.context"}, False),  # not an expression: a plain string
        ({"Arguments": {"deep": {"deeper": "{% $lookup($states, 'context') %}"}}}, True),
    ],
)
def test_which_states_may_read_the_context_object(raw: dict[str, Any], reaches: bool) -> None:
    assert reaches_context(raw) is reaches
