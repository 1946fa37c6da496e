"""The plugin contract: an :class:`Integration` runs the Tasks whose ``Resource`` it handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Integration",
    "JobIntegration",
    "JobRunning",
    "TaskContext",
    "TaskRequest",
    "TaskTrace",
    "TraceContext",
    "integration_pattern",
]

_PATTERNS = ((".sync:2", "sync:2"), (".sync", "sync"), (".waitForTaskToken", "waitForTaskToken"))


def integration_pattern(resource: str) -> str:
    """How a Task uses its resource, from the resource's suffix: ``"sync"`` (``.sync``),
    ``"sync:2"`` (``.sync:2``), ``"waitForTaskToken"``, or ``"request-response"``."""
    for suffix, pattern in _PATTERNS:
        if resource.endswith(suffix):
            return pattern
    return "request-response"


@dataclass(slots=True)
class TaskTrace:
    """The raw exchange an integration had with its service, asked for by TestState at the
    ``TRACE`` inspection level (``TaskRequest.trace``; ``None`` otherwise).

    An integration that speaks HTTP fills :attr:`request` (``protocol``, ``method``, ``url``,
    ``headers``, ``body``) and :attr:`response` (``protocol``, ``statusCode``,
    ``statusMessage``, ``headers``, ``body``), all strings, as AWS's ``InspectionDataRequest``
    and ``InspectionDataResponse``. Unless :attr:`reveal_secrets` is true it leaves out what it
    added from configured secrets (an EventBridge connection's authorization and parameters);
    nothing from the state's definition or the response is left out."""

    reveal_secrets: bool = False
    request: dict[str, str] | None = None
    response: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace a task invocation belongs to, for the integration to pass on to the service it
    calls (``TaskRequest.trace_context``, set when the engine traces: see docs/observability.md).

    ``trace_id`` (32 hex digits) is the execution's trace; ``span_id`` (16 hex digits) is the span
    of this task invocation, so what the service records nests under it. The same attempt of the
    same task has the same ids after a restart. Send :attr:`traceparent` as the W3C
    ``traceparent`` header, or :attr:`xray_header` as AWS's ``X-Amzn-Trace-Id``."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        """The W3C Trace Context ``traceparent`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    @property
    def xray_header(self) -> str:
        """The AWS X-Ray trace header (``X-Amzn-Trace-Id``): ``Root=1-...;Parent=...;Sampled=1``."""
        t = self.trace_id
        return f"Root=1-{t[:8]}-{t[8:]};Parent={self.span_id};Sampled={1 if self.sampled else 0}"


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One task invocation, as the interpreter resolved it."""

    resource: str
    payload: Any
    state_name: str
    execution_arn: str
    state_machine_arn: str
    region: str = "us-east-1"
    account: str = "111111111111"
    task_token: str | None = None
    credentials: Any = None
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    #: the same for every call of one attempt of one Task state, across restarts (Standard):
    #: pass it to a service's idempotency parameter (ClientToken, ClientRequestToken, ...)
    idempotency_key: str | None = None
    #: TestState at ``TRACE``: record the raw request and response here (see :class:`TaskTrace`)
    trace: TaskTrace | None = None
    #: the invocation's trace, to propagate (None unless the engine traces: see :class:`TraceContext`)
    trace_context: TraceContext | None = None

    @property
    def pattern(self) -> str:
        """``"request-response"``, ``"sync"``, ``"sync:2"`` or ``"waitForTaskToken"``."""
        return integration_pattern(self.resource)

    @property
    def action(self) -> str:
        """The resource without its pattern suffix (``arn:aws:states:::batch:submitJob``)."""
        resource = self.resource
        for suffix, _ in _PATTERNS:
            if resource.endswith(suffix):
                return resource[: -len(suffix)]
        return resource


@runtime_checkable
class Integration(Protocol):
    """A family of Task resources (an ARN family).

    ``handles(resource)`` is called with the literal ``Resource`` string; ``invoke`` returns
    the task result (any JSON value) or raises :class:`durable.TaskFailed` (or the
    interpreter's ``StatesFailure``) to fail the task with an ASL error name and cause.
    Plugins expose a zero-argument factory returning one of these through the entry-point
    group ``durable.integrations``.
    """

    name: str

    def handles(self, resource: str) -> bool: ...

    async def invoke(self, request: TaskRequest) -> Any: ...


@dataclass(frozen=True, slots=True)
class JobRunning:
    """What :meth:`JobIntegration.poll` returns while the job runs: poll again after
    ``retry_after`` seconds on the engine's clock (``None``: the engine's back-off)."""

    retry_after: float | None = None


@runtime_checkable
class JobIntegration(Protocol):
    """An :class:`Integration` that also runs jobs (the ``.sync`` / ``.sync:2`` pattern).

    For a ``.sync`` resource the engine calls ``invoke`` once to *start* the job; what it returns
    (the job's handle, e.g. the service's start response) is recorded as the task's
    ``TaskSubmitted`` output before anything else happens. Then it calls ``poll(request,
    submitted)`` until the job ends: return the task's result when it succeeded, a
    :class:`JobRunning` while it runs, or raise :class:`durable.TaskFailed` when it failed. A
    ``poll`` may also wait for the job itself (a completion callback) — the engine cancels it
    when the task must end. ``cancel(request, submitted)`` stops the job: it is called when the
    task times out, the execution is stopped, or a Parallel sibling fails. After a restart the
    engine polls the recorded handle again: a job is never started twice for one attempt.
    """

    name: str

    def handles(self, resource: str) -> bool: ...

    async def invoke(self, request: TaskRequest) -> Any: ...

    async def poll(self, request: TaskRequest, submitted: Any) -> Any: ...

    async def cancel(self, request: TaskRequest, submitted: Any) -> None: ...


@dataclass(slots=True)
class TaskContext:
    """The second argument of a task function, shaped like AWS Lambda's context object."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    execution_arn: str
    state_name: str
    task_token: str | None = None
    deadline_epoch: float | None = None
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    extra: dict[str, Any] = field(default_factory=dict)

    def get_remaining_time_in_millis(self) -> int:
        import time

        if self.deadline_epoch is None:
            return 900_000
        return max(0, int((self.deadline_epoch - time.time()) * 1000))
