"""Reading and asserting on an execution's history, with failure messages that say what differs.

Every helper takes an :class:`~durable.Execution` whose ``history`` is filled in (what
:meth:`durable.testing.Kit.run` returns) or the list of history events itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..runtime.models import Execution

__all__ = [
    "assert_event_types",
    "assert_failed",
    "assert_retries",
    "assert_state_input",
    "assert_state_output",
    "assert_states_visited",
    "assert_succeeded",
    "event_types",
    "retries",
    "state_input",
    "state_output",
    "states_visited",
]

_SCHEDULED = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_MISSING = object()


def _events(run: Execution | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(run, Execution):
        if run.history is None:
            raise AssertionError(
                f"execution {run.name!r} has no history: get it with engine.get_execution_history() "
                "(durable.testing.Kit.run fills it in)"
            )
        return run.history
    return list(run)


def _entered(event: dict[str, Any]) -> str | None:
    if event["type"].endswith("StateEntered"):
        return str(event["stateEnteredEventDetails"]["name"])
    return None


def states_visited(run: Execution | Sequence[dict[str, Any]]) -> list[str]:
    """The names of the states entered, in the order of the history (inner states of Parallel
    branches and Map iterations included)."""
    return [name for e in _events(run) if (name := _entered(e)) is not None]


def event_types(run: Execution | Sequence[dict[str, Any]]) -> list[str]:
    return [str(e["type"]) for e in _events(run)]


def _json(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _occurrences(run: Execution | Sequence[dict[str, Any]], state: str, suffix: str, field: str) -> list[Any]:
    detail = "stateEnteredEventDetails" if suffix == "StateEntered" else "stateExitedEventDetails"
    out = []
    for event in _events(run):
        if event["type"].endswith(suffix) and event.get(detail, {}).get("name") == state:
            out.append(_json(event[detail].get(field)))
    return out


def _pick(values: list[Any], run: Any, state: str, what: str, occurrence: int) -> Any:
    if not values:
        raise AssertionError(f"state {state!r} never {what}; states visited: {_fmt(states_visited(run))}")
    if not -len(values) <= occurrence < len(values):
        raise AssertionError(f"state {state!r} {what} {len(values)} time(s), no occurrence {occurrence}")
    return values[occurrence]


def state_input(run: Execution | Sequence[dict[str, Any]], state: str, occurrence: int = 0) -> Any:
    """The input of ``state`` (its ``occurrence``-th visit; -1 the last)."""
    return _pick(_occurrences(run, state, "StateEntered", "input"), run, state, "was entered", occurrence)


def state_output(run: Execution | Sequence[dict[str, Any]], state: str, occurrence: int = 0) -> Any:
    """The output of ``state`` (its ``occurrence``-th exit; -1 the last)."""
    return _pick(_occurrences(run, state, "StateExited", "output"), run, state, "exited", occurrence)


def retries(run: Execution | Sequence[dict[str, Any]], state: str) -> int:
    """How many times the Task ``state`` was retried (its schedules beyond one per visit)."""
    events = _events(run)
    owner: dict[int, str | None] = {}
    scheduled = visits = 0
    for event in events:
        entered = _entered(event)
        name = entered if entered is not None else owner.get(int(event.get("previousEventId", 0)))
        owner[int(event["id"])] = None if event["type"].endswith("StateExited") else name
        if entered == state:
            visits += 1
        elif event["type"] in _SCHEDULED and name == state:
            scheduled += 1
    return max(0, scheduled - visits)


def _fmt(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _first_difference(expected: Sequence[Any], actual: Sequence[Any]) -> str:
    for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
        if e != a:
            return f"first difference at position {i}: expected {e!r}, got {a!r}"
    if len(expected) > len(actual):
        return f"missing from position {len(actual)}: {_fmt(list(expected[len(actual) :]))}"
    return f"unexpected from position {len(expected)}: {_fmt(list(actual[len(expected) :]))}"


def assert_states_visited(run: Execution | Sequence[dict[str, Any]], expected: Sequence[str]) -> None:
    """The states entered are exactly ``expected``, in order."""
    actual = states_visited(run)
    if actual != list(expected):
        raise AssertionError(
            f"states visited differ\n  expected: {_fmt(list(expected))}\n  actual:   {_fmt(actual)}\n  "
            + _first_difference(list(expected), actual)
        )


def assert_state_input(
    run: Execution | Sequence[dict[str, Any]], state: str, expected: Any, occurrence: int = 0
) -> None:
    actual = state_input(run, state, occurrence)
    if actual != expected:
        raise AssertionError(
            f"input of state {state!r} differs\n  expected: {_fmt(expected)}\n  actual:   {_fmt(actual)}"
        )


def assert_state_output(
    run: Execution | Sequence[dict[str, Any]], state: str, expected: Any, occurrence: int = 0
) -> None:
    actual = state_output(run, state, occurrence)
    if actual != expected:
        raise AssertionError(
            f"output of state {state!r} differs\n  expected: {_fmt(expected)}\n  actual:   {_fmt(actual)}"
        )


def assert_retries(run: Execution | Sequence[dict[str, Any]], state: str, expected: int) -> None:
    actual = retries(run, state)
    if actual != expected:
        raise AssertionError(f"state {state!r} was retried {actual} time(s), expected {expected}")


def assert_event_types(
    run: Execution | Sequence[dict[str, Any]], expected: Sequence[str], *, exact: bool = False
) -> None:
    """The history's event types are ``expected`` (``exact``), or contain it in order (the
    default: other events may come between)."""
    actual = event_types(run)
    if exact:
        if actual != list(expected):
            raise AssertionError(
                f"history events differ\n  expected: {_fmt(list(expected))}\n  actual:   {_fmt(actual)}\n  "
                + _first_difference(list(expected), actual)
            )
        return
    position = 0
    for i, wanted in enumerate(expected):
        try:
            position = actual.index(wanted, position) + 1
        except ValueError:
            raise AssertionError(
                f"history has no {wanted!r} after the events matched so far "
                f"({_fmt(list(expected[:i]))})\n  actual: {_fmt(actual)}"
            ) from None


def assert_succeeded(run: Execution, output: Any = _MISSING) -> None:
    """The execution SUCCEEDED (with ``output``, when given)."""
    if str(run.status) != "SUCCEEDED":
        raise AssertionError(
            f"execution {run.name!r} is {run.status}, expected SUCCEEDED"
            + (f": {run.error}: {run.cause}" if run.error or run.cause else "")
            + (f"\n  states visited: {_fmt(states_visited(run))}" if run.history is not None else "")
        )
    if output is not _MISSING and run.output != output:
        raise AssertionError(
            f"execution output differs\n  expected: {_fmt(output)}\n  actual:   {_fmt(run.output)}"
        )


def assert_failed(run: Execution, error: str | None = None, cause: str | None = None) -> None:
    """The execution FAILED (with ``error`` and ``cause``, when given)."""
    if str(run.status) != "FAILED":
        raise AssertionError(
            f"execution {run.name!r} is {run.status}, expected FAILED (output {_fmt(run.output)})"
        )
    if error is not None and run.error != error:
        raise AssertionError(f"execution failed with {run.error!r}, expected {error!r} (cause: {run.cause})")
    if cause is not None and run.cause != cause:
        raise AssertionError(f"execution failed with cause {run.cause!r}, expected {cause!r}")
