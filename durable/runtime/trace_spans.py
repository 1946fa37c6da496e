"""Trace spans derived from history events: an execution, each visit of a state, each task call.

Pure bookkeeping (no OpenTelemetry here): :class:`TraceSeed` names an execution's trace and
derives every span id from it, deterministically, so that a Standard execution resumed after a
restart continues the same trace with the same ids; :class:`SpanBuilder` reads an execution's
history events in order and returns a :class:`SpanRecord` for each span that ends (an execution
run, a state visit, a task invocation), with the times of the events that opened and closed it.

A span's parent is found as ``durable.ui`` finds a state's visit: every event belongs to the
innermost visit still open on the chain its ``previousEventId`` leads to, so the states of a
Parallel branch or an inline Map iteration nest under the Parallel or Map state's span.

The trace: the ``traceHeader`` given to StartExecution (AWS X-Ray's ``Root=1-...;Parent=...;
Sampled=1``, or a W3C ``traceparent``) names the trace and the caller's span, the parent of the
execution's span; without one, the trace id is derived from the execution's ARN and start date.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from ..integrations.base import TraceContext

__all__ = [
    "EventTuple",
    "SpanBuilder",
    "SpanRecord",
    "TraceSeed",
    "check_trace_header",
    "parse_trace_header",
]

EventTuple = tuple[int, str, int, float, dict[str, Any] | None]  # id, type, previous id, time, details

_XRAY_ROOT = re.compile(r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$")
_HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_TASK_FAMILIES = ("Task", "LambdaFunction", "Activity")
_TASK_ENDS = (
    "Succeeded",
    "Failed",
    "TimedOut",
    "StartFailed",
    "ScheduleFailed",
    "SubmitFailed",
)
_EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


MAX_TRACE_HEADER = 256


def check_trace_header(header: str | None) -> str | None:
    """StartExecution's ``traceHeader`` as AWS accepts it: at most 256 ASCII characters (None
    or empty: none)."""
    if not header:
        return None
    if not isinstance(header, str) or len(header) > MAX_TRACE_HEADER or not header.isascii():
        raise ValidationError(
            "1 validation error detected: Value at 'traceHeader' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TRACE_HEADER} and contain only ASCII"
        )
    return header


def parse_trace_header(header: str | None) -> tuple[str, str | None, bool] | None:
    """``(trace id, parent span id or None, sampled)`` from an X-Ray trace header
    (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1``) or a W3C
    ``traceparent`` (``00-<trace id>-<span id>-01``); None when it is neither."""
    if not header:
        return None
    text = header.strip()
    m = _TRACEPARENT.match(text)
    if m is not None:
        trace_id, span_id = m[2], m[3]
        if trace_id == "0" * 32 or span_id == "0" * 16 or m[1] == "ff":
            return None
        return trace_id, span_id, bool(int(m[4], 16) & 1)
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    root = _XRAY_ROOT.match(fields.get("Root", ""))
    if root is None:
        return None
    trace_id = (root[1] + root[2]).lower()
    parent = fields.get("Parent")
    parent = parent.lower() if parent is not None and _HEX16.match(parent) else None
    return trace_id, parent, fields.get("Sampled", "1") != "0"


@dataclass(frozen=True, slots=True)
class TraceSeed:
    """An execution's trace: its id, the caller's span (from the trace header), whether it is
    sampled, and the key every span id of the execution is derived from."""

    trace_id: str
    parent_span_id: str | None
    sampled: bool
    key: str  # the execution's ARN and start date: span ids of one execution, never another's
    header: str | None = None  # the trace header it came from, as given

    @classmethod
    def of(cls, execution_arn: str, start_date: float, header: str | None) -> TraceSeed:
        key = f"{execution_arn}@{start_date!r}"
        parsed = parse_trace_header(header)
        if parsed is None:
            trace_id = _digest(f"trace\n{key}", 32)
            return cls(trace_id, None, True, key, header)
        return cls(parsed[0], parsed[1], parsed[2], key, header)

    def span_id(self, kind: str, number: int) -> str:
        """The id of the span ``kind`` (``execution``, ``state``, ``task``) number ``number``
        (the redrive count of an execution run; the id of the event that opened it)."""
        return _digest(f"{kind}\n{number}\n{self.trace_id}\n{self.key}", 16)

    def task_context(self, scheduled_event: int) -> TraceContext:
        """The trace context of the task call whose ``Scheduled`` event is ``scheduled_event``."""
        return TraceContext(self.trace_id, self.span_id("task", scheduled_event), self.sampled)


def _digest(text: str, size: int) -> str:
    out = hashlib.sha256(text.encode()).hexdigest()[:size]
    return out if out.strip("0") else "1".rjust(size, "0")  # an all-zero id is invalid


@dataclass(slots=True)
class SpanRecord:
    """One ended span: ``kind`` is ``execution``, ``state`` or ``task``; times in epoch seconds;
    ``error`` the ASL error that failed it (None: it succeeded)."""

    kind: str
    name: str
    span_id: str
    parent_span_id: str | None  # None: a root span (no caller's span to continue)
    start: float
    end: float
    attributes: dict[str, Any]
    error: str | None = None
    cause: str | None = None


@dataclass(slots=True)
class _Visit:
    name: str
    type: str
    start: float
    parent: int  # the enclosing visit's entered event id; 0: the execution
    run: int  # the redrive count it belongs to
    open: bool = True
    error: str | None = None
    cause: str | None = None
    attempts: int = 0
    task: int = 0  # the Scheduled event id of its task call in flight (0: none)


@dataclass(slots=True)
class _Task:
    start: float
    visit: int
    attempt: int
    family: str
    resource: str


@dataclass(slots=True)
class SpanBuilder:
    """Turns one execution's history events, fed in order, into the spans that end."""

    seed: TraceSeed
    execution_arn: str
    state_machine_arn: str
    execution_type: str = "STANDARD"
    run: int = 0
    started: float | None = None
    last_event: int = 0
    ended: bool = False
    visits: dict[int, _Visit] = field(default_factory=dict)
    tasks: dict[int, _Task] = field(default_factory=dict)
    owner: dict[int, int] = field(default_factory=dict)  # event id -> its visit (0: none)

    def feed(self, events: Iterable[EventTuple], emit: bool = True) -> list[SpanRecord]:
        """Read events (those already read are skipped); the spans they end (none unless
        ``emit``: a replay that only rebuilds what is open)."""
        out: list[SpanRecord] = []
        for event in events:
            if event[0] <= self.last_event:
                continue
            self.last_event = event[0]
            self._event(event, out)
        return out if emit else []

    # -- one event ----------------------------------------------------------------------------------
    def _open_visit(self, visit: int) -> int:
        visits = self.visits
        while visit and not visits[visit].open:
            visit = visits[visit].parent
        return visit

    def _event(self, event: EventTuple, out: list[SpanRecord]) -> None:
        event_id, kind, previous, at, details = event
        visit = self._open_visit(self.owner.get(previous, 0))
        self.owner[event_id] = visit
        if kind == "ExecutionStarted" or kind == "ExecutionRedriven":
            if kind == "ExecutionRedriven":
                self.run = int((details or {}).get("redriveCount", self.run + 1))
            self.started = at
            self.ended = False
            self.owner[event_id] = 0
            return
        if kind in _EXECUTION_ENDS:
            self._execution_ended(kind, at, details, out)
            return
        if kind.endswith("StateEntered"):
            name = str((details or {}).get("name", ""))
            self.visits[event_id] = _Visit(name, kind[: -len("StateEntered")], at, visit, self.run)
            self.owner[event_id] = event_id
            return
        if kind.endswith("StateExited"):
            exited = (details or {}).get("name")
            found = visit
            while found and self.visits[found].name != exited:
                found = self._open_visit(self.visits[found].parent)
            if found:
                self.owner[event_id] = found
                self._close_visit(found, at, out)
            return
        family, outcome = _task_event(kind)
        if family is not None and visit:
            v = self.visits[visit]
            if outcome == "Scheduled":
                v.attempts += 1
                v.task = event_id
                resource = _resource(details or {})
                self.tasks[event_id] = _Task(at, visit, v.attempts, family, resource)
            elif outcome in _TASK_ENDS and v.task:
                self._close_task(v.task, at, details if outcome != "Succeeded" else None, out)
                v.task = 0
        if visit and kind.endswith(("Failed", "TimedOut", "Aborted")):
            v = self.visits[visit]
            v.error = str((details or {}).get("error") or _default_error(kind))
            v.cause = (details or {}).get("cause")
        elif visit and kind.endswith("Succeeded"):
            v = self.visits[visit]
            v.error = v.cause = None

    # -- spans ----------------------------------------------------------------------------------------
    def _base(self) -> dict[str, Any]:
        return {
            "aws.step_functions.state_machine.arn": self.state_machine_arn,
            "durable.execution.arn": self.execution_arn,
        }

    def _parent_of(self, visit: int, run: int) -> str:
        if visit:
            return self.seed.span_id("state", visit)
        return self.seed.span_id("execution", run)

    def _close_visit(self, visit_id: int, at: float, out: list[SpanRecord]) -> None:
        v = self.visits[visit_id]
        v.open = False
        if v.task:
            self._close_task(v.task, at, {"error": v.error} if v.error else None, out)
            v.task = 0
        attributes = self._base()
        attributes["durable.state.name"] = v.name
        attributes["durable.state.type"] = v.type
        if v.attempts:
            attributes["durable.state.attempts"] = v.attempts
        out.append(
            SpanRecord(
                "state",
                v.name,
                self.seed.span_id("state", visit_id),
                self._parent_of(v.parent, v.run),
                v.start,
                at,
                attributes,
                v.error,
                v.cause,
            )
        )

    def _close_task(
        self, scheduled: int, at: float, failure: dict[str, Any] | None, out: list[SpanRecord]
    ) -> None:
        task = self.tasks.pop(scheduled, None)
        if task is None:
            return
        v = self.visits[task.visit]
        attributes = self._base()
        attributes["durable.state.name"] = v.name
        attributes["durable.state.type"] = v.type
        attributes["durable.task.resource"] = task.resource
        attributes["durable.task.attempt"] = task.attempt
        attributes["durable.task.retry_count"] = task.attempt - 1
        if task.family == "Activity":
            attributes["aws.step_functions.activity.arn"] = task.resource
        error = cause = None
        if failure is not None:
            error = str(failure.get("error") or "States.TaskFailed")
            cause = failure.get("cause")
        out.append(
            SpanRecord(
                "task",
                f"{v.name} {_short(task.resource)}".strip(),
                self.seed.span_id("task", scheduled),
                self.seed.span_id("state", task.visit),
                task.start,
                at,
                attributes,
                error,
                cause,
            )
        )

    def _execution_ended(
        self, kind: str, at: float, details: dict[str, Any] | None, out: list[SpanRecord]
    ) -> None:
        error = cause = None
        if kind != "ExecutionSucceeded":
            error = str((details or {}).get("error") or _default_error(kind))
            cause = (details or {}).get("cause")
        for visit_id in sorted((i for i, v in self.visits.items() if v.open), reverse=True):
            v = self.visits[visit_id]
            if v.error is None and error is not None:  # the execution ended while it was there
                v.error, v.cause = error, cause
            self._close_visit(visit_id, at, out)
        attributes = self._base()
        attributes["durable.execution.name"] = _execution_name(self.execution_arn)
        attributes["durable.execution.type"] = self.execution_type
        attributes["durable.execution.status"] = _EXECUTION_ENDS[kind]
        attributes["durable.execution.redrive_count"] = self.run
        out.append(
            SpanRecord(
                "execution",
                _machine_name(self.state_machine_arn),
                self.seed.span_id("execution", self.run),
                self.seed.parent_span_id,
                self.started if self.started is not None else at,
                at,
                attributes,
                error,
                cause,
            )
        )
        self.ended = True


def _task_event(kind: str) -> tuple[str | None, str]:
    for family in _TASK_FAMILIES:
        if kind.startswith(family):
            rest = kind[len(family) :]
            if rest == "Scheduled" or rest in _TASK_ENDS:
                return family, rest
    return None, ""


def _resource(details: dict[str, Any]) -> str:
    """The Task resource a ``<Family>Scheduled`` event names: an optimised integration's
    ``resourceType`` and ``resource`` (``lambda``, ``invoke``) as its ARN again."""
    resource = str(details.get("resource", ""))
    kind = details.get("resourceType")
    return f"arn:aws:states:::{kind}:{resource}" if kind else resource


def _default_error(kind: str) -> str:
    if kind.endswith("TimedOut"):
        return "States.Timeout"
    if kind.endswith("Aborted"):
        return "States.Aborted"
    return "States.TaskFailed" if kind.startswith(_TASK_FAMILIES) else "States.Runtime"


def _short(resource: str) -> str:
    """A task resource's last part: ``function:work`` -> ``work``, ``...:::sqs:sendMessage`` ->
    ``sqs:sendMessage``."""
    if resource.startswith("arn:aws:states:::"):
        return resource[len("arn:aws:states:::") :]
    return resource.rsplit(":", 1)[-1] if resource.count(":") >= 6 else resource


def _machine_name(state_machine_arn: str) -> str:
    parts = state_machine_arn.split(":")
    return parts[6] if len(parts) > 6 else state_machine_arn


def _execution_name(execution_arn: str) -> str:
    parts = execution_arn.split(":")
    return parts[7] if len(parts) > 7 else execution_arn
