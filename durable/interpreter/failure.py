"""ASL error names and the in-interpreter failure signal."""

from __future__ import annotations

from typing import Final

ALL: Final = "States.ALL"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
RUNTIME: Final = "States.Runtime"
RESULT_PATH_MATCH_FAILURE: Final = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE: Final = "States.ParameterPathFailure"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
BRANCH_FAILED: Final = "States.BranchFailed"
PERMISSIONS: Final = "States.Permissions"


class StatesFailure(Exception):
    """An ASL error raised while evaluating a state: ``error`` name and ``cause`` text.

    ``error``/``cause`` may be ``None`` (a Fail state without Error/Cause, a task failed
    without either). ``States.Runtime`` failures are never caught by Catch nor retried.
    """

    __slots__ = ("cause", "error", "link")

    def __init__(self, error: str | None, cause: str | None = None) -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause
        self.link = 0  # history: the event a parent's failure event links back to (0: none)

    @property
    def catchable(self) -> bool:
        return self.error != RUNTIME

    def __repr__(self) -> str:
        return f"StatesFailure({self.error!r}, {self.cause!r})"


class RuntimeFault(StatesFailure):
    """A failure whose cause AWS prefixes with the state's name and entered-event id."""

    __slots__ = ("detail",)

    def __init__(self, detail: str, error: str = RUNTIME) -> None:
        super().__init__(error, detail)
        self.detail = detail


def located_cause(state_name: str, entered_event_id: int, detail: str) -> str:
    return (
        f"An error occurred while executing the state '{state_name}' "
        f"(entered at the event id #{entered_event_id}). {detail}"
    )
