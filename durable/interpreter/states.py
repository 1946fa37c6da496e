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
from .query import QueryValue, evaluation_failure, expect, reaches_context, states_bindings
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

    __slots__ = ("nested", "prev", "vars")

    def __init__(self, prev: int, vars: dict[str, Any] | None = None, nested: bool = False) -> None:
        self.prev = prev
        self.vars: dict[str, Any] = vars if vars is not None else {}
        self.nested = nested  # a Parallel branch or Map iteration, not the machine's own scope


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
    aborts = False

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
        default_language = getattr(compile_scope, "query_language", "JSONPath")
        self.jsonata = raw.get("QueryLanguage", default_language) == "JSONata"
        self.assign: Evaluator | None = None
        self.assign_q: QueryValue | None = None
        self.output_q: QueryValue | None = None
        self.context_free = self.jsonata and not reaches_context(raw)
        if self.jsonata:
            self.assign_q = QueryValue(raw["Assign"], "Assign") if "Assign" in raw else None
            self.output_q = QueryValue(raw["Output"], "Output") if "Output" in raw else None
        elif "Assign" in raw:
            self.assign = compile_assign(raw["Assign"])

    def query(self, raw: dict[str, Any], field: str) -> QueryValue | None:
        """A JSONata-mode field (literal or ``{% %}``), or None when absent or in JSONPath mode."""
        return QueryValue(raw[field], field) if self.jsonata and field in raw else None

    def jsonata_output(self, frame: Frame, state_input: Any, default: Any, **result: Any) -> Any:
        """JSONata mode: ``Output`` (or ``default``), with ``Assign`` seeing the same bindings."""
        bindings = states_bindings(frame, state_input, **result)
        frame.assign_input = bindings
        return self.output_q.evaluate(bindings, frame) if self.output_q is not None else default

    # -- shared plumbing ------------------------------------------------------------------
    #: pure states never wait: the scope loop calls :meth:`step`, with no generator at all.
    pure = False

    def _enter(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Frame:
        entered_prev = lane.prev
        entered = ctx.emit(
            self.entered_type,
            entered_prev,
            "stateEnteredEventDetails",
            {"input": data, "inputDetails": UNTRUNCATED, "name": self.name}
            if ctx.history is not None
            else None,
        )
        lane.prev = entered
        frame = Frame(ctx, self.name, entered, self.retriable)
        frame.context_free = self.context_free
        frame.vars = lane.vars
        frame.entered_prev = entered_prev
        frame.assign = self.assign_q if self.jsonata else self.assign
        return frame

    def _assigned(self, frame: Frame) -> dict[str, Any] | None:
        """Evaluate the chosen Assign (with the variables as of state entry)."""
        template = frame.assign
        if template is None:
            return None
        if isinstance(template, QueryValue):  # JSONata: assign_input holds the bindings
            evaluated = template.evaluate(frame.assign_input, frame)
        else:
            evaluated = template(frame.assign_input, frame)
        if not isinstance(evaluated, dict):
            return None
        values: dict[str, Any] = evaluated
        check_variables(values)
        return values

    def _exit(
        self, data: Any, out: Any, ctx: ExecutionContext, lane: Lane, assigned: dict[str, Any] | None
    ) -> None:
        if out is not data:
            check_size(out, self.name, ctx.payload_limit, ctx.payload_text)
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
        except StatesFailure:
            if self.aborts and lane.nested:  # AWS: a work state failing out of a branch is aborted
                lane.prev = ctx.emit(f"{self.type_name}StateAborted", lane.prev)
            raise
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
            and not self.jsonata
        )

    pure = True

    def step(self, data: Any, ctx: ExecutionContext, lane: Lane) -> tuple[str | None, Any]:
        if self.fast and ctx.history is None:
            # nothing to evaluate and nothing to record: the state only numbers its two events
            ctx.events += 2
            lane.prev = ctx.events
            return self.next, data
        return State.step(self, data, ctx, lane)

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        if self.fast:
            return self.next, data
        if self.jsonata:
            return self.next, self.jsonata_output(frame, data, data)
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
        if self.jsonata:
            return None, self.jsonata_output(frame, data, data)
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
        self.error_q = self.query(raw, "Error")
        self.cause_q = self.query(raw, "Cause")

    pure = True

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        if self.jsonata:
            bindings = states_bindings(frame, data)
            error = self.error_q.evaluate(bindings, frame) if self.error_q is not None else None
            cause = self.cause_q.evaluate(bindings, frame) if self.cause_q is not None else None
            raise StatesFailure(_as_text(error), _as_text(cause))
        error = self.error if self.error_path is None else self.error_path(data, frame)
        cause = self.cause if self.cause_path is None else self.cause_path(data, frame)
        raise StatesFailure(_as_text(error), _as_text(cause))


def _as_text(value: Any) -> str | None:
    return None if value is None else show_value(value)


class Choice(State):
    type_name = "Choice"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        choices = raw.get("Choices", ())
        self.rules: tuple[tuple[Predicate, str, Evaluator | None], ...] = ()
        self.conditions: tuple[tuple[QueryValue, str, QueryValue | None, QueryValue | None], ...] = ()
        if self.jsonata:
            self.conditions = tuple(
                (
                    QueryValue(r.get("Condition"), "Condition"),
                    r["Next"],
                    QueryValue(r["Assign"], "Assign") if "Assign" in r else None,
                    QueryValue(r["Output"], "Output") if "Output" in r else None,
                )
                for r in choices
            )
        else:
            self.rules = tuple(
                (compile_rule(r), r["Next"], compile_assign(r["Assign"]) if "Assign" in r else None)
                for r in choices
            )
        self.default: str | None = raw.get("Default")

    pure = True

    def _jsonata(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        bindings = states_bindings(frame, data)
        frame.assign_input = bindings
        for condition, nxt, assign, output in self.conditions:
            if expect(condition.evaluate(bindings, frame), "boolean", condition, frame):
                frame.assign = assign  # a chosen rule's Assign and Output replace the state's
                return nxt, output.evaluate(bindings, frame) if output is not None else data
        if self.default is None:
            raise StatesFailure(F.NO_CHOICE_MATCHED, f"No Matches! in state {self.name}")
        return self.default, self.output_q.evaluate(bindings, frame) if self.output_q is not None else data

    def compute(self, data: Any, frame: Frame) -> tuple[str | None, Any]:
        if self.jsonata:
            return self._jsonata(data, frame)
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
        self.seconds_q = self.query(raw, "Seconds")
        self.timestamp_q = self.query(raw, "Timestamp")

    def _until_jsonata(self, data: Any, frame: Frame) -> float:
        bindings = states_bindings(frame, data)
        if self.seconds_q is not None:
            value = self.seconds_q.evaluate(bindings, frame)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value < 0
                or value != int(value)
            ):
                raise evaluation_failure(
                    frame,
                    "Seconds",
                    f"The Seconds field must be a non-negative integer, but was: {compact(value)}",
                )
            return frame.ctx.services.now() + int(value)
        assert self.timestamp_q is not None
        value = self.timestamp_q.evaluate(bindings, frame)
        ts = parse_timestamp(value)
        if ts is None:
            raise evaluation_failure(
                frame,
                "Timestamp",
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
                f"string: {show_value(value)}",
                after_entry=True,
            )
        return ts

    def _until(self, effective: Any, frame: Frame) -> float:
        if self.jsonata:
            return self._until_jsonata(effective, frame)
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
        if self.jsonata:
            return self.next, self.jsonata_output(frame, data, data)
        return self.next, self.output(effective, frame)


def show_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return compact(value)


class WorkState(State):
    """Task, Parallel and Map: ResultSelector/ResultPath, Retry and Catch."""

    retriable = True
    aborts = True

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.parameters = compile_template(raw["Parameters"]) if "Parameters" in raw else None
        self.result_selector = compile_template(raw["ResultSelector"]) if "ResultSelector" in raw else None
        rp = raw.get("ResultPath", "$")
        self.result_path = None if rp is None else compile_reference_path(rp)
        self.retriers = tuple(Retrier.parse(r) for r in raw.get("Retry", ()))
        self.catchers = tuple(Catcher.parse(c, self.jsonata) for c in raw.get("Catch", ()))
        self.arguments_q = self.query(raw, "Arguments")

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
                if self.jsonata:
                    return self.next, self.jsonata_output(frame, data, result, result=result)
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
                if self.jsonata:
                    bindings = states_bindings(frame, data, error_output=error_output)
                    frame.assign, frame.assign_input = catcher.assign, bindings  # the catcher's only
                    output = catcher.output
                    return catcher.next, output.evaluate(
                        bindings, frame
                    ) if output is not None else error_output
                frame.assign, frame.assign_input = catcher.assign, error_output  # the catcher's only
                return catcher.next, apply_result_path(catcher.result_path, data, error_output)
