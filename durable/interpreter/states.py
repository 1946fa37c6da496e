"""The eight ASL state types (JSONPath mode), each a generator over driver commands.

``State.run(data, ctx, lane)`` yields :mod:`commands` and returns ``(next_name, output)``;
``next_name`` is ``None`` when the state ends its scope. Failures are raised as
:class:`StatesFailure`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from . import failure as F
from .choice import Predicate, compile_rule, parse_timestamp
from .commands import Sleep
from .context import ExecutionContext, Frame
from .data import (
    Evaluator,
    apply_result_path,
    check_size,
    check_variables,
    compact,
    compile_assign,
    compile_template,
    compile_value_expr,
    resolve,
    select,
)
from .failure import RuntimeFault, StatesFailure, located_cause
from .jsonpath import Path, PathMissing, compile_path, compile_reference_path
from .retry import Catcher, Retrier, find

if TYPE_CHECKING:
    from .program import Scope

Run = Generator[Any, Any, tuple[str | None, Any]]

__all__ = ["Lane", "State", "WorkState"]


UNTRUNCATED = {"truncated": False}


class Lane:
    """One scope run: ``prev`` is the id the next ``previousEventId`` points at; ``vars`` are
    the workflow variables visible here (a Parallel branch or Map iteration starts with its
    parent's, and its own assignments never flow back). Values are replaced, never mutated."""

    __slots__ = ("prev", "vars")

    def __init__(self, prev: int, vars: dict[str, Any] | None = None) -> None:
        self.prev = prev
        self.vars: dict[str, Any] = vars if vars is not None else {}


def _path(raw: dict[str, Any], key: str) -> Path | None:
    """InputPath/OutputPath: absent means ``$``; ``null`` means ``{}`` (returned as None)."""
    if key not in raw:
        return compile_path("$")
    value = raw[key]
    return None if value is None else compile_path(value)


class State:
    type_name = ""
    has_exit_event = True
    retriable = False

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        self.name = name
        self.raw = raw
        self.next: str | None = raw.get("Next")
        self.input_path = _path(raw, "InputPath")
        self.output_path = _path(raw, "OutputPath")
        self.entered_type = f"{self.type_name}StateEntered"
        self.exited_type = f"{self.type_name}StateExited"
        self._identity_io = (
            self.input_path is not None
            and self.input_path.is_root
            and self.output_path is not None
            and self.output_path.is_root
        )
        self.assign: Evaluator | None = compile_assign(raw["Assign"]) if "Assign" in raw else None

    # -- shared plumbing ------------------------------------------------------------------
    #: pure states never wait: the scope loop calls :meth:`step`, with no generator at all.
    pure = False

    def _enter(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Frame:
        entered = ctx.emit(
            self.entered_type,
            lane.prev,
            "stateEnteredEventDetails",
            {"input": data, "inputDetails": UNTRUNCATED, "name": self.name}
            if ctx.history is not None
            else None,
        )
        lane.prev = entered
        frame = Frame(ctx, self.name, entered, self.retriable)
        frame.vars = lane.vars
        frame.assign = self.assign
        return frame

    def _assigned(self, frame: Frame) -> dict[str, Any] | None:
        """Evaluate the chosen Assign (with the variables as of state entry)."""
        template = frame.assign
        if template is None:
            return None
        values: dict[str, Any] = template(frame.assign_input, frame)
        check_variables(values)
        return values

    def _exit(
        self, data: Any, out: Any, ctx: ExecutionContext, lane: Lane, assigned: dict[str, Any] | None
    ) -> None:
        if out is not data:
            check_size(out, self.name)
        if assigned is not None:
            lane.vars = {**lane.vars, **assigned}
        if self.has_exit_event:
            details = None
            if ctx.history is not None:
                details = {"name": self.name, "output": out, "outputDetails": UNTRUNCATED}
                if assigned:
                    details["assignedVariables"] = {k: compact(v) for k, v in assigned.items()}
                    details["assignedVariablesDetails"] = UNTRUNCATED
            lane.prev = ctx.emit(self.exited_type, lane.prev, "stateExitedEventDetails", details)

    def _located(self, fault: RuntimeFault, frame: Frame) -> StatesFailure:
        return StatesFailure(fault.error, located_cause(self.name, frame.entered_id, fault.detail))

    def run(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Run:
        frame = self._enter(data, ctx, lane)
        try:
            nxt, out = yield from self.execute(data, frame, lane)
            assigned = self._assigned(frame)
        except RuntimeFault as fault:
            raise self._located(fault, frame) from None
        self._exit(data, out, ctx, lane, assigned)
        return nxt, out

    def step(self, data: Any, ctx: ExecutionContext, lane: Lane) -> tuple[str | None, Any]:
        """:meth:`run` for pure states, without a generator."""
        frame = self._enter(data, ctx, lane)
        try:
            nxt, out = self.compute(data, frame)
            assigned = self._assigned(frame)
        except RuntimeFault as fault:
            raise self._located(fault, frame) from None
        self._exit(data, out, ctx, lane, assigned)
        return nxt, out

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        raise NotImplementedError

    def execute(self, data: Any, frame: Frame, lane: Lane) -> Run:
        return self.compute(data, frame)
        yield  # pragma: no cover - makes this a generator

    def output(self, data: Any, frame: Frame) -> Any:
        return select(self.output_path, data, frame, "OutputPath")


class Pass(State):
    type_name = "Pass"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.parameters = compile_template(raw["Parameters"]) if "Parameters" in raw else None
        self.has_result = "Result" in raw
        self.result = raw.get("Result")
        rp = raw.get("ResultPath", "$")
        self.result_path = None if rp is None else compile_reference_path(rp)
        self.fast = (
            self._identity_io
            and self.parameters is None
            and not self.has_result
            and self.result_path is not None
            and self.result_path.is_root
            and self.assign is None
        )

    pure = True

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        if self.fast:
            return self.next, data
        effective = select(self.input_path, data, frame, "InputPath")
        if self.has_result:
            result = self.result
        elif self.parameters is not None:
            result = self.parameters(effective, frame)
        else:
            result = effective
        frame.assign_input = result
        out = apply_result_path(self.result_path, data, result)
        return self.next, self.output(out, frame)


class Succeed(State):
    type_name = "Succeed"

    pure = True

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        if self._identity_io:
            return None, data
        effective = select(self.input_path, data, frame, "InputPath")
        return None, self.output(effective, frame)


class Fail(State):
    type_name = "Fail"
    has_exit_event = False

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.error = raw.get("Error")
        self.cause = raw.get("Cause")
        self.error_path = compile_value_expr(raw["ErrorPath"], "ErrorPath") if "ErrorPath" in raw else None
        self.cause_path = compile_value_expr(raw["CausePath"], "CausePath") if "CausePath" in raw else None

    pure = True

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        error = self.error if self.error_path is None else self.error_path(data, frame)
        cause = self.cause if self.cause_path is None else self.cause_path(data, frame)
        raise StatesFailure(_as_text(error), _as_text(cause))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    from .data import compact

    return compact(value)


class Choice(State):
    type_name = "Choice"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.rules: tuple[tuple[Predicate, str, Evaluator | None], ...] = tuple(
            (compile_rule(r), r["Next"], compile_assign(r["Assign"]) if "Assign" in r else None)
            for r in raw.get("Choices", ())
        )
        self.default: str | None = raw.get("Default")

    pure = True

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        effective = select(self.input_path, data, frame, "InputPath")
        frame.assign_input = effective
        for predicate, nxt, assign in self.rules:
            if predicate(effective, frame):
                frame.assign = assign  # a chosen rule's Assign replaces the state's
                return nxt, self.output(effective, frame)
        if self.default is None:
            raise StatesFailure(F.NO_CHOICE_MATCHED, f"No Matches! in state {self.name}")
        return self.default, self.output(effective, frame)


MAX_WAIT_SECONDS = 2**31 - 1


class Wait(State):
    type_name = "Wait"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.seconds = raw.get("Seconds")
        self.has_timestamp = "Timestamp" in raw
        # a valid RFC 3339 time Python cannot represent (year 0000) lies in the past: no wait
        self.timestamp = (parse_timestamp(raw["Timestamp"]) or 0.0) if self.has_timestamp else None
        self.seconds_path = compile_reference_path(raw["SecondsPath"]) if "SecondsPath" in raw else None
        self.timestamp_path = compile_reference_path(raw["TimestampPath"]) if "TimestampPath" in raw else None

    def _until(self, effective: Any, frame: Frame) -> float:
        now = frame.ctx.services.now()
        if self.seconds is not None:
            return now + float(self.seconds)
        if self.timestamp is not None:
            return self.timestamp
        if self.seconds_path is not None:
            p = self.seconds_path
            try:
                value = resolve(p, effective, frame)
            except PathMissing:
                raise RuntimeFault(
                    f"The SecondsPath parameter does not reference an input value: {p.text}"
                ) from None
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())
            ):
                raise RuntimeFault(
                    "The SecondsPath parameter cannot be parsed as a long value: "
                    f"{p.text} == {show_value(value)}"
                )
            if value < 0:
                raise RuntimeFault(
                    f"The SecondsPath parameter references a negative value: {p.text} == {show_value(value)}"
                )
            return now + int(value)
        tp = self.timestamp_path
        assert tp is not None
        p = tp
        try:
            value = resolve(p, effective, frame)
        except PathMissing:
            raise RuntimeFault(
                f"The TimestampPath parameter does not reference an input value: {p.text}"
            ) from None
        ts = parse_timestamp(value)
        if ts is None:
            raise RuntimeFault(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                f"date-time format string: {p.text} == {show_value(value)}"
            )
        return ts

    def execute(self, data: Any, frame: Frame, lane: Lane) -> Run:
        effective = select(self.input_path, data, frame, "InputPath")
        frame.assign_input = effective
        until = self._until(effective, frame)
        if until - frame.ctx.services.now() > MAX_WAIT_SECONDS:
            raise RuntimeFault("Wait state delay is too long.")
        yield Sleep(until)
        return self.next, self.output(effective, frame)


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    from .data import compact

    return compact(value)


class WorkState(State):
    """Task, Parallel and Map: ResultSelector/ResultPath, Retry and Catch."""

    retriable = True

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.parameters = compile_template(raw["Parameters"]) if "Parameters" in raw else None
        self.result_selector = compile_template(raw["ResultSelector"]) if "ResultSelector" in raw else None
        rp = raw.get("ResultPath", "$")
        self.result_path = None if rp is None else compile_reference_path(rp)
        self.retriers = tuple(Retrier.parse(r) for r in raw.get("Retry", ()))
        self.catchers = tuple(Catcher.parse(c) for c in raw.get("Catch", ()))

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def failed_event(self, frame: Frame, lane: Lane, failure: StatesFailure) -> None:
        """Emit the state's own failure event (e.g. ``MapStateFailed``), if it has one."""

    def execute(self, data: Any, frame: Frame, lane: Lane) -> Run:
        effective = select(self.input_path, data, frame, "InputPath")
        counters = [0] * len(self.retriers)
        while True:
            try:
                result = yield from self.attempt(data, effective, frame, lane)
                frame.assign_input = result  # Assign sees the raw result, before ResultSelector
                if self.result_selector is not None:
                    result = self.result_selector(result, frame)
                out = apply_result_path(self.result_path, data, result)
                return self.next, self.output(out, frame)
            except StatesFailure as failure:
                if isinstance(failure, RuntimeFault):
                    raise  # the state's own runtime error: no failure event, no Retry/Catch
                if failure.catchable:
                    i = find(self.retriers, failure.error)
                    if i >= 0 and counters[i] < self.retriers[i].max_attempts:
                        retrier = self.retriers[i]
                        delay = retrier.delay(counters[i], frame.ctx.services.random())
                        counters[i] += 1
                        frame.retry_count += 1
                        frame.invalidate()
                        lane.prev = failure.link or lane.prev
                        yield Sleep(frame.ctx.services.now() + delay)
                        continue
                self.failed_event(frame, lane, failure)
                if not failure.catchable:
                    raise
                j = find(self.catchers, failure.error)
                if j < 0:
                    raise
                catcher = self.catchers[j]
                error_output = {"Error": failure.error, "Cause": failure.cause}
                frame.assign, frame.assign_input = catcher.assign, error_output  # the catcher's only
                return catcher.next, apply_result_path(catcher.result_path, data, error_output)
