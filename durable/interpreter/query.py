"""JSONata-mode field values: JSON with ``{% expression %}`` strings anywhere, compiled once.

Every failure is a ``States.QueryEvaluationError`` located at the state and the field
(``Arguments/FunctionName``, ``Output/result``, ...), preceded by an ``EvaluationFailed``
history event, as AWS records them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import failure as F
from .context import Frame
from .data import compact
from .failure import StatesFailure, located_cause
from .jsonata import UNDEFINED, Expression, JsonataError, compile_expression, is_expression

__all__ = ["QueryValue", "evaluation_failure", "reaches_context", "states_bindings", "type_name"]

_NO = object()


def states_bindings(
    frame: Frame, state_input: Any, *, result: Any = _NO, error_output: Any = _NO
) -> dict[str, Any]:
    """``$states`` and the workflow variables, as an expression of this state sees them."""
    states: dict[str, Any] = {"input": state_input}
    if not frame.context_free:
        states["context"] = frame.context_object()
    if result is not _NO:
        states["result"] = result
    if error_output is not _NO:
        states["errorOutput"] = error_output
    return {**frame.vars, "states": states}


# ``$states`` followed by anything but ``.input``, ``.result`` or ``.errorOutput`` (``$states.context``,
# ``$states`` passed whole to a function, ...): such an expression may read the context object
_CONTEXT_REACH = re.compile(r"\$states\b(?!\s*\.\s*(?:input|result|errorOutput)\b)")


def reaches_context(raw: Any) -> bool:
    """Whether some JSONata expression in ``raw`` (a state's fields) may read ``$states.context``."""
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if is_expression(node) and _CONTEXT_REACH.search(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def evaluation_failure(
    frame: Frame, location: str | None, detail: str, *, after_entry: bool = False
) -> StatesFailure:
    """Record ``EvaluationFailed`` and return the located ``States.QueryEvaluationError``."""
    cause = located_cause(frame.name, frame.entered_id, detail)
    ctx = frame.ctx
    details: dict[str, Any] | None = None
    if ctx.history is not None:
        details = {"error": F.QUERY_EVALUATION_ERROR, "cause": cause, "state": frame.name}
        if location is not None:
            details["location"] = location
    # AWS links EvaluationFailed to the event the state's entry links to when an expression
    # fails, and to the entry itself when a field's evaluated value is rejected (``after_entry``)
    link = frame.entered_id if after_entry else frame.entered_prev
    ctx.emit("EvaluationFailed", link, "evaluationFailedEventDetails", details)
    return StatesFailure(F.QUERY_EVALUATION_ERROR, cause)


Node = Callable[[dict[str, Any], Frame], Any]


class QueryValue:
    """A compiled JSONata-mode value of the field ``field`` (its location in causes)."""

    __slots__ = ("constant", "field", "node", "top")

    def __init__(self, value: Any, field: str) -> None:
        self.field = field
        self.top: Expression | None = compile_expression(value) if is_expression(value) else None
        self.constant = not _dynamic(value)
        self.node: Node = _compile(value, field)

    def evaluate(self, bindings: dict[str, Any], frame: Frame) -> Any:
        return self.node(bindings, frame)


def _dynamic(value: Any) -> bool:
    if isinstance(value, str):
        return is_expression(value)
    if isinstance(value, dict):
        return any(_dynamic(v) for v in value.values())
    if isinstance(value, list):
        return any(_dynamic(v) for v in value)
    return False


def _compile(value: Any, location: str) -> Node:
    if isinstance(value, str) and is_expression(value):
        expression = compile_expression(value)

        def run(bindings: dict[str, Any], frame: Frame) -> Any:
            return _evaluate(expression, bindings, frame, location)

        return run
    if isinstance(value, dict) and _dynamic(value):
        parts = tuple((k, _compile(v, f"{location}/{k}")) for k, v in value.items())
        return lambda b, f: {k: node(b, f) for k, node in parts}
    if isinstance(value, list) and _dynamic(value):
        items = tuple(_compile(v, f"{location}/{i}") for i, v in enumerate(value))
        return lambda b, f: [node(b, f) for node in items]
    return lambda b, f: value


def _evaluate(expression: Expression, bindings: dict[str, Any], frame: Frame, location: str) -> Any:
    quoted = f"The JSONata expression '{expression.text}' specified for the field '{location}'"
    try:
        result = expression.evaluate(bindings, frame.ctx.services)
    except JsonataError as exc:
        if "unsupported result type" in exc.detail:
            raise evaluation_failure(
                frame, location, f"{quoted} returned an unsupported result type."
            ) from None
        raise evaluation_failure(
            frame, location, f"{quoted} threw an error during evaluation. {exc.detail}"
        ) from None
    if result is UNDEFINED:
        raise evaluation_failure(frame, location, f"{quoted} returned nothing (undefined).")
    return result


def expect(value: Any, kind: str, query: QueryValue, frame: Frame) -> Any:
    """Check an evaluated field's type (``array``, ``boolean``, ...) as AWS words the failure."""
    if type_name(value) == kind:
        return value
    text = query.top.text if query.top is not None else compact(value)
    raise evaluation_failure(
        frame,
        query.field,
        f"The JSONata expression '{text}' specified for the field '{query.field}' returned an unexpected "
        f"result type. Expected '{kind}', but was '{type_name(value)}' for value: {compact(value)}",
    )
