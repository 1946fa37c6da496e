"""The eight ASL state types (JSONPath mode), each a generator over driver commands.

``State.run(data, ctx, lane)`` yields :mod:`commands` and returns ``(next_name, output)``;
``next_name`` is ``None`` when the state ends its scope. Failures are raised as
:class:`StatesFailure`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from . import failure as F
from .choice import Predicate, compile_rule, parse_timestamp
from .commands import AwaitToken, Child, ChildFailure, Fork, InvokeTask, Sleep
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

__all__ = ["STATE_TYPES", "Lane", "State"]


_UNTRUNCATED = {"truncated": False}


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
            {"input": data, "inputDetails": _UNTRUNCATED, "name": self.name}
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
                details = {"name": self.name, "output": out, "outputDetails": _UNTRUNCATED}
                if assigned:
                    details["assignedVariables"] = {k: compact(v) for k, v in assigned.items()}
                    details["assignedVariablesDetails"] = _UNTRUNCATED
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
                    f"The SecondsPath parameter cannot be parsed as a long value: {p.text} == {_show(value)}"
                )
            if value < 0:
                raise RuntimeFault(
                    f"The SecondsPath parameter references a negative value: {p.text} == {_show(value)}"
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
                f"date-time format string: {p.text} == {_show(value)}"
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


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    from .data import compact

    return compact(value)


class _Work(State):
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


_LAMBDA_PREFIX = ("arn:aws:lambda:", "arn:aws-us-gov:lambda:", "arn:aws-cn:lambda:")


class Task(_Work):
    type_name = "Task"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.resource: str = raw["Resource"]
        self.timeout = raw.get("TimeoutSeconds")
        self.heartbeat = raw.get("HeartbeatSeconds")
        self.timeout_path = (
            compile_reference_path(raw["TimeoutSecondsPath"]) if "TimeoutSecondsPath" in raw else None
        )
        self.heartbeat_path = (
            compile_reference_path(raw["HeartbeatSecondsPath"]) if "HeartbeatSecondsPath" in raw else None
        )
        self.credentials = compile_template(raw["Credentials"]) if "Credentials" in raw else None
        self.needs_token = self.resource.endswith(".waitForTaskToken") or ":activity:" in self.resource
        service = re.match(r"^arn:[\w-]+:states:::(?:aws-sdk:)?([\w-]+)[:.]", self.resource)
        self.result_owner = service.group(1) if service else self.resource
        if self.resource.startswith(_LAMBDA_PREFIX):
            self.family = "LambdaFunction"
        elif ":activity:" in self.resource:
            self.family = "Activity"
        else:
            self.family = "Task"
        self.event_key = self.family[0].lower() + self.family[1:]
        # arn:aws:states:::lambda:invoke -> ("lambda", "invoke"); aws-sdk:s3:getObject -> ("aws-sdk:s3", ...)
        parts = self.resource.split(":::", 1)[-1].split(":")
        if parts[0] == "aws-sdk" and len(parts) > 2:
            self.resource_type, self.resource_name = f"aws-sdk:{parts[1]}", ":".join(parts[2:])
        else:
            self.resource_type, self.resource_name = parts[0], ":".join(parts[1:])

    def _seconds(self, literal: Any, path: Path | None, field: str, effective: Any, frame: Frame) -> Any:
        if path is None:
            return literal
        try:
            value = resolve(path, effective, frame)
        except PathMissing as miss:
            raise RuntimeFault(f"Invalid path '{path.text}' : {miss.detail}") from None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise RuntimeFault(
                f"The {field} parameter must be a positive integer: {path.text} == {_show(value)}"
            )
        return value

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        if self.needs_token:
            frame.token = ctx.services.task_token()
            frame.invalidate()
        payload = self.parameters(effective, frame) if self.parameters is not None else effective
        timeout = self._seconds(self.timeout, self.timeout_path, "TimeoutSecondsPath", effective, frame)
        heartbeat = self._seconds(
            self.heartbeat, self.heartbeat_path, "HeartbeatSecondsPath", effective, frame
        )
        credentials = self.credentials(effective, frame) if self.credentials is not None else None
        family, key = self.family, self.event_key
        recording = ctx.history is not None
        if recording:
            scheduled: dict[str, Any] = (
                {"resource": self.resource, "input": payload, "inputDetails": {"truncated": False}}
                if family != "Task"
                else {
                    "resourceType": self.resource_type,
                    "resource": self.resource_name,
                    "region": ctx.region,
                    "parameters": payload,
                }
            )
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            if credentials is not None:
                scheduled["taskCredentials"] = {"roleArn": credentials.get("RoleArn")}
        lane.prev = ctx.emit(
            f"{family}Scheduled", lane.prev, f"{key}ScheduledEventDetails", scheduled if recording else None
        )
        if family != "Activity":  # an activity is started when a worker takes it
            lane.prev = ctx.emit(
                f"{family}Started",
                lane.prev,
                f"{key}StartedEventDetails",
                self._tag({}) if recording else None,
            )
        try:
            if family == "Activity":
                assert frame.token is not None
                try:
                    result = yield AwaitToken(
                        frame.token, self.name, timeout, heartbeat, self.resource, payload
                    )
                finally:
                    lane.prev = ctx.started_events.pop(frame.token, lane.prev)
            else:
                result = yield InvokeTask(
                    self.resource, payload, self.name, timeout, heartbeat, frame.token, credentials
                )
                if frame.token is not None:  # .waitForTaskToken: the call was the submission
                    lane.prev = ctx.emit(
                        "TaskSubmitted",
                        lane.prev,
                        "taskSubmittedEventDetails",
                        self._tag({"output": result, "outputDetails": _UNTRUNCATED}) if recording else None,
                    )
                    result = yield AwaitToken(frame.token, self.name, timeout, heartbeat)
            check_size(result, self.result_owner)
        except StatesFailure as failure:
            kind = "TimedOut" if failure.error == F.TIMEOUT else "Failed"
            details = None
            if recording:
                details = {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v}
                if kind == "TimedOut":
                    details.pop("cause", None)
                details = self._tag(details)
            lane.prev = ctx.emit(f"{family}{kind}", lane.prev, f"{key}{kind}EventDetails", details)
            raise
        lane.prev = ctx.emit(
            f"{family}Succeeded",
            lane.prev,
            f"{key}SucceededEventDetails",
            self._tag({"output": result, "outputDetails": {"truncated": False}}) if recording else None,
        )
        return result

    def _tag(self, details: dict[str, Any]) -> dict[str, Any]:
        """Task-family events name the resource; Lambda and activity events do not."""
        if self.family == "Task":
            details["resourceType"] = self.resource_type
            details["resource"] = self.resource_name
        return details


class Parallel(_Work):
    type_name = "Parallel"

    def failed_event(self, frame: Frame, lane: Lane, failure: StatesFailure) -> None:
        lane.prev = frame.ctx.emit("ParallelStateFailed", failure.link or frame.ctx.events)

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.branches = tuple(compile_scope(b) for b in raw["Branches"])
        self.pure_branches = all(scope.pure for scope in self.branches)

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        branch_input = self.parameters(effective, frame) if self.parameters is not None else effective
        lane.prev = ctx.emit("ParallelStateStarted", lane.prev)
        started = lane.prev
        try:
            if self.pure_branches:
                results = [
                    scope.run_sync(branch_input, ctx, Lane(started, lane.vars)) for scope in self.branches
                ]
            else:
                children = tuple(
                    Child(_starter(scope, branch_input, ctx, Lane(started, lane.vars)))
                    for scope in self.branches
                )
                results = yield Fork(children)
        except StatesFailure as failure:
            failure.link = failure.link or ctx.events
            raise
        last = ctx.events
        ctx.emit("ParallelStateSucceeded", last)
        lane.prev = last  # AWS links ParallelStateExited to the last branch event, as Succeeded
        return results


def _starter(
    scope: Scope, value: Any, ctx: ExecutionContext, lane: Lane
) -> Callable[[], Generator[Any, Any, Any]]:
    return lambda: scope.run(value, ctx, lane)


class Map(_Work):
    type_name = "Map"

    def failed_event(self, frame: Frame, lane: Lane, failure: StatesFailure) -> None:
        # AWS links MapStateFailed to the failed iteration's last state event
        lane.prev = frame.ctx.emit("MapStateFailed", failure.link or frame.ctx.events)

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        processor = raw.get("ItemProcessor") or raw.get("Iterator") or {}
        self.processor = compile_scope(processor)
        self.distributed = (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED"
        self.items_path = compile_reference_path(raw.get("ItemsPath", "$"))
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        self.item_selector = compile_template(selector) if selector is not None else None
        self.parameters = None  # Map's legacy Parameters is its ItemSelector
        self.max_concurrency = raw.get("MaxConcurrency", 0)
        self.max_concurrency_path = (
            compile_reference_path(raw["MaxConcurrencyPath"]) if "MaxConcurrencyPath" in raw else None
        )
        self.tolerated_count = raw.get("ToleratedFailureCount")
        self.tolerated_count_path = (
            compile_reference_path(raw["ToleratedFailureCountPath"])
            if "ToleratedFailureCountPath" in raw
            else None
        )
        self.tolerated_pct = raw.get("ToleratedFailurePercentage")
        self.tolerated_pct_path = (
            compile_reference_path(raw["ToleratedFailurePercentagePath"])
            if "ToleratedFailurePercentagePath" in raw
            else None
        )

    def _path_number(self, path: Path, effective: Any, frame: Frame, field: str, kind: str) -> Any:
        value = select(path, effective, frame, field)
        if isinstance(value, str):  # AWS parses numeric text ("1") as the number
            try:
                value = int(value) if kind == "integer" else float(value)
            except ValueError:
                pass
        ok = not isinstance(value, bool) and (
            isinstance(value, int) or (kind == "float" and isinstance(value, float))
        )
        if not ok:
            raise RuntimeFault(
                f'The {field} field refers to value "{_show(value)}" which is not a valid {kind}: {path.text}'
            )
        return value

    def _concurrency(self, effective: Any, frame: Frame) -> int:
        mc = self.max_concurrency
        if self.max_concurrency_path is not None:
            mc = self._path_number(
                self.max_concurrency_path, effective, frame, "MaxConcurrencyPath", "integer"
            )
        return int(mc)

    def _tolerance(self, effective: Any, frame: Frame) -> tuple[int | None, float | None]:
        count = self.tolerated_count
        if self.tolerated_count_path is not None:
            count = self._path_number(
                self.tolerated_count_path, effective, frame, "ToleratedFailureCountPath", "integer"
            )
        if count is not None and count < 0:
            raise RuntimeFault("ToleratedFailureCount cannot be negative.")
        pct = self.tolerated_pct
        if self.tolerated_pct_path is not None:
            pct = self._path_number(
                self.tolerated_pct_path, effective, frame, "ToleratedFailurePercentagePath", "float"
            )
        if pct is not None and not 0 <= pct <= 100:
            raise RuntimeFault("ToleratedFailurePercentage must be between 0 and 100.")
        return count, pct

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        items = select(self.items_path, effective, frame, "ItemsPath")
        if not isinstance(items, list):
            raise RuntimeFault(f'Reference path "{self.items_path.text}" must point to array.')
        recording = ctx.history is not None
        max_concurrency = self._concurrency(effective, frame)  # AWS checks it before starting
        lane.prev = ctx.emit(
            "MapStateStarted", lane.prev, "mapStateStartedEventDetails", {"length": len(items)}
        )
        count, pct = self._tolerance(effective, frame)
        selector = self.item_selector
        inputs = [
            selector(effective, frame.for_item(i, item)) if selector is not None else item
            for i, item in enumerate(items)
        ]
        tolerant = self.distributed and (count or pct)
        child_ctx = ctx
        if self.distributed:  # children are executions of their own: their events stay out
            lane.prev = ctx.emit(
                "MapRunStarted",
                lane.prev,
                "mapRunStartedEventDetails",
                {"mapRunArn": self._map_run_arn(ctx)} if recording else None,
            )
            child_ctx = ctx.silent()
        started = lane.prev
        visible = {} if self.distributed else lane.vars  # child executions see no variables
        try:
            if self.processor.pure and not tolerant:
                scope, name = self.processor, self.name
                results = []
                chain = started
                for i, value in enumerate(inputs):
                    out, chain = _iterate(scope, value, child_ctx, Lane(chain, visible), i, name)
                    results.append(out)
            else:
                link = [started]  # each iteration links to the previous one's last event, as AWS does
                children = tuple(
                    Child(_iteration(self.processor, value, child_ctx, link, visible, index, self.name))
                    for index, value in enumerate(inputs)
                )
                results = yield Fork(
                    children,
                    max_concurrency,
                    tolerated_count=count if tolerant else None,
                    tolerated_percentage=pct if tolerant else None,
                )
        except StatesFailure as failure:
            if self.distributed:
                details = {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v}
                lane.prev = ctx.emit("MapRunFailed", lane.prev, "mapRunFailedEventDetails", details)
            failure.link = failure.link or ctx.events
            raise
        if self.distributed:
            lane.prev = ctx.emit("MapRunSucceeded", lane.prev)
        last = ctx.events
        ctx.emit("MapStateSucceeded", last)
        lane.prev = last  # AWS links MapStateExited to the event MapStateSucceeded links to
        return [{"Error": r.error, "Cause": r.cause} if isinstance(r, ChildFailure) else r for r in results]

    def _map_run_arn(self, ctx: ExecutionContext) -> str:
        base = ctx.state_machine_arn.replace(":stateMachine:", ":mapRun:", 1)
        return f"{base}/{self.raw.get('Label') or ctx.services.uuid4()}:{ctx.services.uuid4()}"


def _iteration(
    scope: Scope,
    value: Any,
    ctx: ExecutionContext,
    link: list[int],
    visible: dict[str, Any],
    index: int,
    name: str,
) -> Callable[[], Generator[Any, Any, Any]]:
    def start() -> Generator[Any, Any, Any]:
        detail = {"index": index, "name": name} if ctx.history is not None else None
        started = ctx.emit("MapIterationStarted", link[0], "mapIterationStartedEventDetails", detail)
        inner = Lane(started, visible)
        try:
            out = yield from scope.run(value, ctx, inner)
        except StatesFailure as failure:
            failure.link = ctx.events
            ctx.emit("MapIterationFailed", ctx.events, "mapIterationFailedEventDetails", detail)
            raise
        ctx.emit("MapIterationSucceeded", inner.prev, "mapIterationSucceededEventDetails", detail)
        link[0] = inner.prev
        return out

    return start


def _iterate(
    scope: Scope, value: Any, ctx: ExecutionContext, lane: Lane, index: int, name: str
) -> tuple[Any, int]:
    """One iteration of a pure item processor, run in place (same events as :func:`_iteration`).

    Returns the output and the iteration's last state event, which AWS links the next
    iteration's ``MapIterationStarted`` to when iterations run one after another.
    """
    detail = {"index": index, "name": name} if ctx.history is not None else None
    started = ctx.emit("MapIterationStarted", lane.prev, "mapIterationStartedEventDetails", detail)
    inner = Lane(started, lane.vars)
    try:
        out = scope.run_sync(value, ctx, inner)
    except StatesFailure as failure:
        failure.link = ctx.events
        ctx.emit("MapIterationFailed", ctx.events, "mapIterationFailedEventDetails", detail)
        raise
    ctx.emit("MapIterationSucceeded", inner.prev, "mapIterationSucceededEventDetails", detail)
    return out, inner.prev


STATE_TYPES: dict[str, type[State]] = {
    "Pass": Pass,
    "Task": Task,
    "Choice": Choice,
    "Wait": Wait,
    "Succeed": Succeed,
    "Fail": Fail,
    "Parallel": Parallel,
    "Map": Map,
}
