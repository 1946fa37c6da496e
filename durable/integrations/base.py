"""The plugin contract: an :class:`Integration` runs the Tasks whose ``Resource`` it handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Integration", "TaskContext", "TaskRequest"]


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
