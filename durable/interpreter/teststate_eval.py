"""TestState: evaluate one prepared state, recording AWS's inspection data (pure).

:func:`evaluate` is a generator like a state's ``run``: a Task without a mock yields
:class:`~.commands.InvokeTask` and is resumed with the result (or a thrown ``StatesFailure``);
nothing else waits (a Wait state computes its time and does not sleep; Map and Parallel states
run only with a mock). It returns an :class:`Outcome`: AWS's status (``SUCCEEDED``, ``FAILED``,
``RETRIABLE``, ``CAUGHT_ERROR``), output, error, cause, next state, and the inspection data of
the request's level — Python values here; the runtime renders them as AWS's JSON text.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from . import failure as F
from .branching import Map, Parallel
from .commands import InvokeTask
from .context import ExecutionContext, Frame, iso_time
from .data import apply_result_path, select
from .failure import RuntimeFault, StatesFailure
from .jsonpath import ROOT_CONTEXT
from .query import states_bindings
from .retry import find
from .states import Choice, Fail, Pass, State, Succeed, Wait, WorkState
from .task import Task
from .teststate import CONTEXT_STATE_NAME, Prepared

__all__ = ["Outcome", "default_context", "evaluate"]

_LOCATED = re.compile(
    r"^An error occurred while executing the state '.*?' \(entered at the event id #\d+\)\. "
)


@dataclass(slots=True)
class Outcome:
    status: str
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)


def default_context(prepared: Prepared, ctx: ExecutionContext, token: str | None) -> dict[str, Any]:
    """The context object AWS makes up for a tested state (an Express execution of its own)."""
    now = iso_time(ctx.services.now())
    state: dict[str, Any] = {"Name": CONTEXT_STATE_NAME, "EnteredTime": now}
    if isinstance(prepared.state, WorkState):
        state["RetryCount"] = prepared.config.retrier_retry_count or 0
    co: dict[str, Any] = {
        "Execution": {
            "Id": ctx.execution_arn,
            "Input": prepared.input,
            "Name": ctx.execution_name,
            "RoleArn": prepared.role_arn,
            "StartTime": ctx.start_time,
        },
        "StateMachine": {"Id": ctx.state_machine_arn, "Name": ctx.state_machine_name},
        "State": state,
    }
    if token is not None:
        co["Task"] = {"Token": token}
    return co


class _Inspector:
    """Collects the inspection data of the request's level (none at INFO)."""

    __slots__ = ("data", "on")

    def __init__(self, level: str) -> None:
        self.on = level != "INFO"
        self.data: dict[str, Any] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        if self.on:
            self.data[key] = value


def evaluate(prepared: Prepared, ctx: ExecutionContext) -> Generator[Any, Any, Outcome]:
    """Evaluate the prepared state once (see the module docstring)."""
    state = prepared.state
    data = prepared.input
    insp = _Inspector(prepared.inspection_level)
    insp["input"] = data
    frame = Frame(ctx, CONTEXT_STATE_NAME, 0, isinstance(state, WorkState))
    frame.vars = dict(prepared.variables)
    frame.assign = state.assign_q if state.jsonata else state.assign
    frame.retry_count = prepared.config.retrier_retry_count or 0
    token = None
    if prepared.context is None and isinstance(state, Task) and state.needs_token:
        token = ctx.services.task_token()
        frame.token = token
    frame._co = prepared.context if prepared.context is not None else default_context(prepared, ctx, token)
    try:
        if isinstance(state, WorkState):
            outcome = yield from _work(state, prepared, data, frame, insp)
        else:
            outcome = _flow(state, data, frame, insp)
        if outcome.status in ("SUCCEEDED", "CAUGHT_ERROR"):
            assigned = state._assigned(frame)
            if assigned:
                frame.vars = {**frame.vars, **assigned}
    except StatesFailure as failure:
        outcome = _failed(failure)
    if frame.vars:
        insp["variables"] = frame.vars
    outcome.inspection = insp.data
    return outcome


def _failed(failure: StatesFailure, **details: Any) -> Outcome:
    cause = failure.detail if isinstance(failure, RuntimeFault) else failure.cause
    if cause is not None and failure.error in (F.RUNTIME, F.QUERY_EVALUATION_ERROR):
        cause = _LOCATED.sub("", cause, count=1)
    return Outcome("FAILED", error=failure.error, cause=cause)


def _succeeded(output: Any, next_state: str | None) -> Outcome:
    return Outcome("SUCCEEDED", output=output, has_output=True, next_state=next_state)


# -- Pass, Wait, Choice, Succeed, Fail ------------------------------------------------------------


def _flow(state: State, data: Any, frame: Frame, insp: _Inspector) -> Outcome:
    if state.jsonata:
        if isinstance(state, Wait):
            state._until_jsonata(data, frame)  # evaluated, and checked, but not waited for
            return _succeeded(state.jsonata_output(frame, data, data), state.next)
        nxt, out = state.compute(data, frame)
        return _succeeded(out, nxt)
    if isinstance(state, Pass):
        return _pass(state, data, frame, insp)
    effective = select(state.input_path, data, frame, "InputPath")
    insp["afterInputPath"] = effective
    if isinstance(state, Wait):
        frame.assign_input = effective
        state._until(effective, frame)
        return _succeeded(state.output(effective, frame), state.next)
    if isinstance(state, (Choice, Succeed, Fail)):
        nxt, out = state.compute(data, frame)
        return _succeeded(out, nxt)
    raise AssertionError(f"unexpected state type {state.type_name}")  # pragma: no cover


def _pass(state: Pass, data: Any, frame: Frame, insp: _Inspector) -> Outcome:
    effective = select(state.input_path, data, frame, "InputPath")
    if state.has_result:
        result = state.result
        insp["result"] = result
    else:
        insp["afterInputPath"] = effective
        result = state.parameters(effective, frame) if state.parameters is not None else effective
        insp["afterParameters"] = result
    insp["afterResultSelector"] = result
    frame.assign_input = result
    out = apply_result_path(state.result_path, data, result)
    insp["afterResultPath"] = out
    return _succeeded(state.output(out, frame), state.next)


# -- Task, Map, Parallel --------------------------------------------------------------------------


def _work(
    state: WorkState, prepared: Prepared, data: Any, frame: Frame, insp: _Inspector
) -> Generator[Any, Any, Outcome]:
    effective = data
    try:
        if not state.jsonata:
            effective = select(state.input_path, data, frame, "InputPath")
            if not isinstance(state, Parallel):
                insp["afterInputPath"] = effective
        if isinstance(state, Task):
            result = yield from _task(state, prepared, data, effective, frame, insp)
        elif isinstance(state, Map):
            result = _map(state, prepared, data, effective, frame, insp)
        else:
            assert isinstance(state, Parallel)
            result = _parallel(state, prepared, data, effective, frame)
        if state.jsonata:
            return _succeeded(state.jsonata_output(frame, data, result, result=result), state.next)
        frame.assign_input = result
        if state.result_selector is not None:
            result = state.result_selector(result, frame)
        insp["afterResultSelector"] = result
        out = apply_result_path(state.result_path, data, result)
        insp["afterResultPath"] = out
        return _succeeded(state.output(out, frame), state.next)
    except StatesFailure as failure:
        return _handled(state, prepared, failure, data, frame, insp)


def _mocked(prepared: Prepared) -> Any:
    mock = prepared.mock
    assert mock is not None
    if mock.error_output is not None:
        error, cause = mock.error_output
        raise StatesFailure(error, cause)
    return prepared.mock_result


def _task(
    state: Task, prepared: Prepared, data: Any, effective: Any, frame: Frame, insp: _Inspector
) -> Generator[Any, Any, Any]:
    if state.jsonata:
        bindings = states_bindings(frame, data)
        payload = state.arguments_q.evaluate(bindings, frame) if state.arguments_q is not None else data
        insp["afterArguments"] = payload
        timeout = state._jsonata_seconds(state.timeout_q, bindings, frame)
        heartbeat = state._jsonata_seconds(state.heartbeat_q, bindings, frame)
        credentials = (
            state.credentials_q.evaluate(bindings, frame) if state.credentials_q is not None else None
        )
    else:
        payload = state.parameters(effective, frame) if state.parameters is not None else effective
        insp["afterParameters"] = payload
        timeout = state._seconds(state.timeout, state.timeout_path, "TimeoutSecondsPath", effective, frame)
        heartbeat = state._seconds(
            state.heartbeat, state.heartbeat_path, "HeartbeatSecondsPath", effective, frame
        )
        credentials = state.credentials(effective, frame) if state.credentials is not None else None
    if prepared.mock is not None:
        result = _mocked(prepared)
    else:
        result = yield InvokeTask(
            state.resource,
            payload,
            CONTEXT_STATE_NAME,
            timeout,
            heartbeat,
            None,
            credentials,
            state.result_owner,
        )
    insp["result"] = result
    return result


def _map(state: Map, prepared: Prepared, data: Any, effective: Any, frame: Frame, insp: _Inspector) -> Any:
    reader = "ItemReader" in prepared.raw
    if state.jsonata:
        frame.assign_input = data  # $states.input of the numeric fields
        items = prepared.item_reader_data if reader else state._jsonata_items(data, frame)
    else:
        items = (
            prepared.item_reader_data if reader else select(state.items_path, effective, frame, "ItemsPath")
        )
        if not isinstance(items, list) and not reader:
            path = state.items_path.text
            shown = path[1:] if state.items_path.root == ROOT_CONTEXT else path
            raise RuntimeFault(f'Reference path "{shown}" must point to array.')
        insp["afterItemsPath"] = items
    insp["maxConcurrency"] = state._concurrency(effective, frame)
    count, pct = state._tolerance(effective, frame)
    if count is not None:
        insp["toleratedFailureCount"] = count
    if pct is not None:
        insp["toleratedFailurePercentage"] = float(pct)
    if state.item_selector is not None and isinstance(items, list):
        selector = state.item_selector
        insp["afterItemSelector"] = [
            selector(effective, frame.for_item(i, item)) for i, item in enumerate(items)
        ]
    result = _mocked(prepared)
    failures = prepared.config.map_iteration_failure_count or 0
    if failures and (count is not None or pct is not None) and isinstance(result, list):
        over_count = count is None or failures > count
        over_pct = pct is None or (bool(result) and failures * 100.0 / len(result) > pct)
        if over_count and over_pct:
            raise StatesFailure(
                F.EXCEED_TOLERATED_FAILURE_THRESHOLD, "The specified tolerated failure threshold was exceeded"
            )
    return result


def _parallel(state: Parallel, prepared: Prepared, data: Any, effective: Any, frame: Frame) -> Any:
    if state.arguments_q is not None:  # the branches' input: evaluated (and checked), then mocked
        state.arguments_q.evaluate(states_bindings(frame, data), frame)
    elif state.parameters is not None:
        state.parameters(effective, frame)
    return _mocked(prepared)


def _handled(
    state: WorkState, prepared: Prepared, failure: StatesFailure, data: Any, frame: Frame, insp: _Inspector
) -> Outcome:
    """Retry (RETRIABLE), Catch (CAUGHT_ERROR) or FAILED, with ``errorDetails``."""
    if isinstance(failure, RuntimeFault) or not failure.catchable:
        return _failed(failure)
    details: dict[str, Any] = {}
    i = find(state.retriers, failure.error)
    if i >= 0:
        details["retryIndex"] = i
        retrier = state.retriers[i]
        attempts = prepared.config.retrier_retry_count or 0
        if attempts < retrier.max_attempts:
            delay = retrier.delay(attempts, frame.ctx.services.random())
            details["retryBackoffIntervalSeconds"] = int(delay) if float(delay).is_integer() else delay
            insp["errorDetails"] = details
            return Outcome("RETRIABLE", error=failure.error, cause=failure.cause)
    j = find(state.catchers, failure.error)
    if j < 0:
        if details:
            insp["errorDetails"] = details
        return _failed(failure)
    details["catchIndex"] = j
    insp["errorDetails"] = details
    catcher = state.catchers[j]
    error_output = {"Error": failure.error, "Cause": failure.cause}
    if state.jsonata:
        bindings = states_bindings(frame, data, error_output=error_output)
        frame.assign, frame.assign_input = catcher.assign, bindings
        out = catcher.output.evaluate(bindings, frame) if catcher.output is not None else error_output
    else:
        frame.assign, frame.assign_input = catcher.assign, error_output
        out = apply_result_path(catcher.result_path, data, error_output)
        insp["afterResultPath"] = out
    return Outcome(
        "CAUGHT_ERROR",
        output=out,
        has_output=True,
        error=failure.error,
        cause=failure.cause,
        next_state=catcher.next,
    )
