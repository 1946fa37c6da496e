"""EventBridge Scheduler schedules, stored in the database (create, get, list, update, delete).

A schedule is a catalog entry in the store's ``metadata`` table (kind ``schedule``, keyed by its
ARN, its group as parent) holding the API's fields; what the engine has fired is a separate
entry (kind ``schedule-fired``, same ARN: ``{"last": <epoch of the last due time fired>}``), so
an update never races with the firing. The schedule's target is a state machine: ``Target``
``Arn`` (a state machine ARN), ``RoleArn`` (kept, not used), ``Input`` (JSON text; ``{}`` when
absent) and ``RetryPolicy`` (its ``MaximumEventAgeInSeconds`` bounds the catch-up of missed due
times, see :mod:`durable.runtime.schedule_runner`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from ..errors import ConflictError, ResourceNotFound, ValidationError
from ..events import Schedule, flexible_window
from ..store.base import MetadataRecord, Store, WriteBatch
from .clock import Clock

__all__ = ["FIRED_KIND", "SCHEDULE_KIND", "ScheduleStore", "schedule_of"]

SCHEDULE_KIND = "schedule"
FIRED_KIND = "schedule-fired"
_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
_STATE_MACHINE = re.compile(r"^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w\-.:]+$")
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _epoch(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValidationError(f"{field} must be a timestamp.")


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def schedule_of(body: Mapping[str, Any]) -> Schedule:
    """The :class:`durable.events.Schedule` a stored schedule describes."""
    return Schedule(
        body["ScheduleExpression"],
        timezone=body.get("ScheduleExpressionTimezone") or "UTC",
        start_date=_when(body.get("StartDate")),
        end_date=_when(body.get("EndDate")),
        anchor=_when(body["CreationDate"]),
    )


class ScheduleStore:
    """Schedules over a store (shared by the Engine and the Client)."""

    def __init__(self, store: Store, clock: Clock, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account
        self.changed: Callable[[], None] = lambda: None  # the engine's scheduler looks again

    def arn(self, name: str, group: str) -> str:
        return f"arn:aws:scheduler:{self.region}:{self.account}:schedule/{group}/{name}"

    def _body(self, name: str, group: str, fields: Mapping[str, Any], created: float) -> dict[str, Any]:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(f"Invalid schedule name: {name}")
        target = fields.get("Target")
        if not isinstance(target, Mapping) or not isinstance(target.get("Arn"), str):
            raise ValidationError("Target with an Arn is required.")
        if not _STATE_MACHINE.match(target["Arn"]):
            raise ValidationError(f"durable schedules start state machines; '{target['Arn']}' is not one.")
        if target.get("Input") is not None:
            try:
                json.loads(target["Input"])
            except (TypeError, ValueError):
                raise ValidationError("Target Input must be valid JSON text.") from None
        state = fields.get("State") or "ENABLED"
        if state not in ("ENABLED", "DISABLED"):
            raise ValidationError(f"Invalid State: {state}")
        action = fields.get("ActionAfterCompletion") or "NONE"
        if action not in ("NONE", "DELETE"):
            raise ValidationError(f"Invalid ActionAfterCompletion: {action}")
        window = fields.get("FlexibleTimeWindow")
        if not isinstance(window, Mapping):
            raise ValidationError("FlexibleTimeWindow is required.")
        flexible_window(datetime.now(UTC), dict(window))  # checks Mode and MaximumWindowInMinutes
        body: dict[str, Any] = {
            "Name": name,
            "GroupName": group,
            "Arn": self.arn(name, group),
            "ScheduleExpression": fields.get("ScheduleExpression"),
            "ScheduleExpressionTimezone": fields.get("ScheduleExpressionTimezone") or "UTC",
            "StartDate": _epoch(fields.get("StartDate"), "StartDate"),
            "EndDate": _epoch(fields.get("EndDate"), "EndDate"),
            "State": state,
            "FlexibleTimeWindow": dict(window),
            "Target": dict(target),
            "ActionAfterCompletion": action,
            "Description": fields.get("Description"),
            "CreationDate": created,
            "LastModificationDate": self.clock.now(),
        }
        schedule_of(body)  # ValidationError for a bad expression, time zone or dates
        return {k: v for k, v in body.items() if v is not None}

    async def _get(self, name: str, group: str) -> MetadataRecord:
        found = await self.store.get_metadata(SCHEDULE_KIND, self.arn(name, group))
        if found is None:
            raise ResourceNotFound(f"Schedule {name} does not exist.")
        return found

    async def create(self, name: str, group: str, fields: Mapping[str, Any]) -> str:
        """Scheduler ``CreateSchedule``; ``ConflictException`` when the name is taken."""
        arn = self.arn(name, group)
        if await self.store.get_metadata(SCHEDULE_KIND, arn) is not None:
            raise ConflictError(f"Schedule {name} already exists.")
        body = self._body(name, group, fields, self.clock.now())
        record = MetadataRecord(
            kind=SCHEDULE_KIND,
            arn=arn,
            parent=group,
            body=_encode(body).decode(),
            created=body["CreationDate"],
        )
        await self.store.commit(WriteBatch(metadata=[record], deleted_metadata=[(FIRED_KIND, arn)]))
        self.changed()
        return arn

    async def update(self, name: str, group: str, fields: Mapping[str, Any]) -> str:
        """Scheduler ``UpdateSchedule``: every field is replaced (as AWS does); the due times
        already fired stay fired."""
        old = await self._get(name, group)
        body = self._body(name, group, fields, _decode(old.body)["CreationDate"])
        record = msgspec.structs.replace(old, body=_encode(body).decode())
        await self.store.commit(WriteBatch(metadata=[record]))
        self.changed()
        return old.arn

    async def get(self, name: str, group: str) -> dict[str, Any]:
        """Scheduler ``GetSchedule`` (dates as aware datetimes)."""
        body = dict(_decode((await self._get(name, group)).body))
        for key in ("StartDate", "EndDate", "CreationDate", "LastModificationDate"):
            if key in body:
                body[key] = _when(body[key])
        return body

    async def delete(self, name: str, group: str) -> None:
        arn = (await self._get(name, group)).arn
        await self.store.commit(WriteBatch(deleted_metadata=[(SCHEDULE_KIND, arn), (FIRED_KIND, arn)]))
        self.changed()

    async def summaries(
        self, *, group: str | None = None, name_prefix: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Scheduler ``ListSchedules``: summaries (Name, GroupName, Arn, State, dates, Target Arn)."""
        out = []
        for record in await self.store.list_metadata(SCHEDULE_KIND, group):
            body = _decode(record.body)
            if name_prefix is not None and not body["Name"].startswith(name_prefix):
                continue
            if state is not None and body["State"] != state:
                continue
            out.append(
                {
                    "Name": body["Name"],
                    "GroupName": body["GroupName"],
                    "Arn": body["Arn"],
                    "State": body["State"],
                    "CreationDate": _when(body["CreationDate"]),
                    "LastModificationDate": _when(body["LastModificationDate"]),
                    "Target": {"Arn": body["Target"]["Arn"]},
                }
            )
        return sorted(out, key=lambda s: (str(s["GroupName"]), str(s["Name"])))

    # -- what the engine's scheduler reads and writes ------------------------------------------------
    async def all(self) -> list[tuple[dict[str, Any], float | None]]:
        """Every schedule with the last due time fired (None: nothing fired yet)."""
        fired = {r.arn: _decode(r.body).get("last") for r in await self.store.list_metadata(FIRED_KIND)}
        return [(_decode(r.body), fired.get(r.arn)) for r in await self.store.list_metadata(SCHEDULE_KIND)]

    def fired(self, arn: str, due: float) -> MetadataRecord:
        return MetadataRecord(kind=FIRED_KIND, arn=arn, body=_encode({"last": due}).decode(), created=due)
