"""The one exception root of durable.

::

    DurableError
    ├── DefinitionError            invalid ASL definition (carries every diagnostic)
    ├── InvalidExecutionInput      execution input is not JSON, or too large
    ├── StateMachineDoesNotExist
    ├── StateMachineAlreadyExists
    ├── StateMachineTypeNotSupported
    ├── ExecutionDoesNotExist
    ├── ExecutionAlreadyExists
    ├── ExecutionNotRedrivable
    ├── InvalidToken / TaskDoesNotExist / TaskTimedOut / InvalidOutput   (task tokens)
    ├── ActivityDoesNotExist
    ├── InvalidName / InvalidArn / ValidationError
    ├── InvalidEventPattern        an EventBridge event pattern that does not compile
    ├── StoreError                 the database is corrupt, locked, or from a newer version
    ├── ResourceNotFound           a Task Resource no integration handles
    ├── IntegrationConflict        two plugins claim the same resource
    └── EventLoopConflict          durable.run() inside a running event loop got something bound to
                                   that loop: ``await durable.arun(...)`` instead

ASL runtime errors (``States.Timeout``, ``States.Runtime``, ...) are *data* on a failed
execution (``error`` / ``cause``), not Python exceptions: a failing workflow is a result.
User task code may raise :class:`TaskFailed` to fail a task with an explicit error name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ActivityDoesNotExist",
    "ConflictError",
    "DefinitionError",
    "Diagnostic",
    "DurableError",
    "EventLoopConflict",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionNotRedrivable",
    "IntegrationConflict",
    "InvalidArn",
    "InvalidEventPattern",
    "InvalidExecutionInput",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "ResourceNotFound",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "TaskDoesNotExist",
    "TaskFailed",
    "TaskTimedOut",
    "TooManyTags",
    "ValidationError",
]


class DurableError(Exception):
    """Root of every error durable raises. ``code`` is the AWS API error code where one exists."""

    code: str = "DurableError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One validation finding, shaped like AWS ``ValidateStateMachineDefinition`` diagnostics."""

    code: str
    message: str
    location: str | None = None
    severity: str = "ERROR"

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location is not None else ""
        return f"{self.code}: {self.message}{where}"

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message, "severity": self.severity}
        if self.location is not None:
            out["location"] = self.location
        return out


class DefinitionError(DurableError):
    """The definition is not valid ASL. ``diagnostics`` lists every fault found."""

    code = "InvalidDefinition"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        # AWS joins every diagnostic, and says "at null" for one without a location.
        joined = ", ".join(f"{d.code}: {d.message} at {d.location or 'null'}" for d in self.diagnostics)
        super().__init__(f"Invalid State Machine Definition: '{joined}'")


class InvalidExecutionInput(DurableError):
    code = "InvalidExecutionInput"


class StateMachineDoesNotExist(DurableError):
    code = "StateMachineDoesNotExist"


class StateMachineAlreadyExists(DurableError):
    code = "StateMachineAlreadyExists"


class StateMachineTypeNotSupported(DurableError):
    code = "StateMachineTypeNotSupported"


class ExecutionDoesNotExist(DurableError):
    code = "ExecutionDoesNotExist"


class ExecutionAlreadyExists(DurableError):
    code = "ExecutionAlreadyExists"


class ExecutionNotRedrivable(DurableError):
    code = "ExecutionNotRedrivable"


class InvalidToken(DurableError):
    """A task token that is malformed or was never issued."""

    code = "InvalidToken"


class TaskDoesNotExist(DurableError):
    code = "TaskDoesNotExist"


class TaskTimedOut(DurableError):
    """The task behind the token is closed (answered, timed out, or its execution stopped)."""

    code = "TaskTimedOut"


class InvalidOutput(DurableError):
    code = "InvalidOutput"


class ActivityDoesNotExist(DurableError):
    code = "ActivityDoesNotExist"


class InvalidName(DurableError):
    code = "InvalidName"


class InvalidArn(DurableError):
    code = "InvalidArn"


class ValidationError(DurableError):
    code = "ValidationException"


class InvalidEventPattern(DurableError):
    """An EventBridge event pattern that does not compile (AWS ``InvalidEventPatternException``)."""

    code = "InvalidEventPatternException"


class ResourceNotFound(DurableError):
    code = "ResourceNotFound"


class ConflictError(DurableError):
    """The request conflicts with the resource's state (AWS ``ConflictException``)."""

    code = "ConflictException"


class TooManyTags(DurableError):
    code = "TooManyTags"


class IntegrationConflict(DurableError):
    code = "IntegrationConflict"


class EventLoopConflict(DurableError):
    """A synchronous helper cannot run here because of the running event loop; the message names
    the awaitable twin to use instead."""

    code = "EventLoopConflict"


class UnsupportedFeature(DurableError):
    """The definition is valid ASL but uses a feature durable does not run yet. ``location`` is
    the JSON pointer of the field, as in a :class:`Diagnostic`."""

    code = "UnsupportedFeature"

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message if location is None else f"{message} at {location}")
        self.location = location


class TaskFailed(Exception):
    """Raise from task code to fail the task with an explicit ASL error name and cause.

    Deliberately not a :class:`DurableError`: it is a user's signal, not an engine error.
    """

    def __init__(self, error: str | None, cause: str | None = None) -> None:
        super().__init__(error if cause is None else f"{error}: {cause}")
        self.error = error
        self.cause = cause
