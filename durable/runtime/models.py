"""Records the runtime returns: state machines and executions."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidName, ValidationError

__all__ = [
    "Activity",
    "Execution",
    "ExecutionStatus",
    "StateMachine",
    "StateMachineType",
    "check_name",
    "epoch",
    "machine_type",
    "utc",
]

_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def check_name(name: str) -> None:
    """AWS's rules for state machine, execution and activity names (``InvalidName``)."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 80
        or _BAD_NAME.search(name)
        or not _unicode(name)
    ):
        raise InvalidName(f"Invalid Name: '{name!s}'".encode("utf-8", "backslashreplace").decode())


def _unicode(text: str) -> bool:
    """No lone surrogate (a name must be storable and printable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ExecutionStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


class StateMachineType(enum.StrEnum):
    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


def machine_type(value: StateMachineType | str) -> StateMachineType:
    """``value`` as a :class:`StateMachineType`: the enum, or its name in any case (``"express"``)."""
    if isinstance(value, StateMachineType):
        return value
    if isinstance(value, str):
        try:
            return StateMachineType(value.upper())
        except ValueError:
            pass
    raise ValidationError(
        f"1 validation error detected: Value '{value}' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [STANDARD, EXPRESS]"
    )


# The store keeps dates as epoch seconds; the Python API shows them as boto3 does: datetimes in UTC.
def utc(seconds: float) -> datetime:
    """Epoch seconds as a timezone-aware UTC ``datetime`` (what boto3 returns for a date)."""
    return datetime.fromtimestamp(seconds, UTC)


def epoch(date: datetime) -> float:
    """A date of the Python API back as epoch seconds (what the wire and the store carry)."""
    return date.timestamp()


@dataclass(slots=True)
class StateMachine:
    arn: str
    name: str
    type: StateMachineType
    definition: str
    role_arn: str
    creation_date: datetime
    status: str = "ACTIVE"
    description: str = ""
    revision_id: str | None = None  # changes at every update (versions publish a revision)
    version_arn: str | None = None  # the version a create/update with publish=True published
    logging_configuration: dict[str, Any] | None = None
    tracing_configuration: dict[str, Any] | None = None
    encryption_configuration: dict[str, Any] | None = None
    map_run_arn: str | None = None  # the machine of a Map Run's child executions: that Map Run
    label: str | None = None  # ... and the Map Run's label

    def to_dict(self) -> dict[str, Any]:
        return {
            "stateMachineArn": self.arn,
            "name": self.name,
            "type": str(self.type),
            "status": self.status,
            "definition": self.definition,
            "roleArn": self.role_arn,
            "creationDate": self.creation_date,
        }


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity (AWS ``DescribeActivity``)."""

    arn: str
    name: str
    creation_date: datetime


@dataclass(slots=True)
class Execution:
    """An execution's outcome: ``output`` when SUCCEEDED, ``error``/``cause`` otherwise."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: ExecutionStatus
    start_date: datetime
    input: Any
    stop_date: datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] | None = field(default=None, repr=False)
    redrive_count: int = 0
    redrive_date: datetime | None = None
    map_run_arn: str | None = None  # a Distributed Map's child execution: the Map Run that started it
    item_count: int | None = None  # such a child's items (its batch's size with an ItemBatcher, else 1)

    @property
    def succeeded(self) -> bool:
        return self.status is ExecutionStatus.SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        """The StartSyncExecution / DescribeExecution-like summary, as boto3 returns it (input and
        output as values, not text; dates as UTC datetimes)."""
        out: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": str(self.status),
            "startDate": self.start_date,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        if self.redrive_count:
            out["redriveCount"] = self.redrive_count
            out["redriveDate"] = self.redrive_date
        if self.status is ExecutionStatus.SUCCEEDED:
            out["output"] = self.output
        elif self.status is not ExecutionStatus.RUNNING:
            if self.error is not None:
                out["error"] = self.error
            if self.cause is not None:
                out["cause"] = self.cause
        return out
