"""The EventBridge Scheduler half of the Engine and Client API (snake_case AWS names).

Schedules are stored in the database (:mod:`durable.runtime.schedule_store`); the engine that
executes the database fires them (:mod:`durable.runtime.schedule_runner`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .schedule_store import ScheduleStore

__all__ = ["SchedulesApi"]


def _fields(**given: Any) -> dict[str, Any]:
    names = {
        "schedule_expression": "ScheduleExpression",
        "target": "Target",
        "flexible_time_window": "FlexibleTimeWindow",
        "schedule_expression_timezone": "ScheduleExpressionTimezone",
        "start_date": "StartDate",
        "end_date": "EndDate",
        "state": "State",
        "description": "Description",
        "action_after_completion": "ActionAfterCompletion",
    }
    return {names[k]: v for k, v in given.items() if v is not None}


class SchedulesApi(abc.ABC):
    """Mixed into :class:`~durable.runtime.session.Session`."""

    schedules: ScheduleStore

    @abc.abstractmethod
    async def _ensure_open(self) -> None: ...

    async def create_schedule(
        self,
        name: str,
        *,
        schedule_expression: str,
        target: Mapping[str, Any],
        flexible_time_window: Mapping[str, Any] | None = None,
        group_name: str = "default",
        schedule_expression_timezone: str | None = None,
        start_date: datetime | float | None = None,
        end_date: datetime | float | None = None,
        state: str | None = None,
        description: str | None = None,
        action_after_completion: str | None = None,
    ) -> str:
        """EventBridge Scheduler ``CreateSchedule``; returns the schedule's ARN. ``target`` is
        ``{"Arn": <state machine ARN>, "RoleArn", "Input": <JSON text>, "RetryPolicy"}``;
        ``flexible_time_window`` defaults to ``{"Mode": "OFF"}``. The engine that executes the
        database starts the target at each due time (see docs/events.md)."""
        await self._ensure_open()
        fields = _fields(
            schedule_expression=schedule_expression,
            target=target,
            flexible_time_window=flexible_time_window or {"Mode": "OFF"},
            schedule_expression_timezone=schedule_expression_timezone,
            start_date=start_date,
            end_date=end_date,
            state=state,
            description=description,
            action_after_completion=action_after_completion,
        )
        return await self.schedules.create(name, group_name, fields)

    async def update_schedule(
        self,
        name: str,
        *,
        schedule_expression: str,
        target: Mapping[str, Any],
        flexible_time_window: Mapping[str, Any] | None = None,
        group_name: str = "default",
        schedule_expression_timezone: str | None = None,
        start_date: datetime | float | None = None,
        end_date: datetime | float | None = None,
        state: str | None = None,
        description: str | None = None,
        action_after_completion: str | None = None,
    ) -> str:
        """Scheduler ``UpdateSchedule``: replaces every field, as AWS does."""
        await self._ensure_open()
        fields = _fields(
            schedule_expression=schedule_expression,
            target=target,
            flexible_time_window=flexible_time_window or {"Mode": "OFF"},
            schedule_expression_timezone=schedule_expression_timezone,
            start_date=start_date,
            end_date=end_date,
            state=state,
            description=description,
            action_after_completion=action_after_completion,
        )
        return await self.schedules.update(name, group_name, fields)

    async def get_schedule(self, name: str, *, group_name: str = "default") -> dict[str, Any]:
        """Scheduler ``GetSchedule`` (raises :class:`~durable.errors.ResourceNotFound`)."""
        await self._ensure_open()
        return await self.schedules.get(name, group_name)

    async def list_schedules(
        self, *, group_name: str | None = None, name_prefix: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Scheduler ``ListSchedules``: summaries, by group and name."""
        await self._ensure_open()
        return await self.schedules.summaries(group=group_name, name_prefix=name_prefix, state=state)

    async def delete_schedule(self, name: str, *, group_name: str = "default") -> None:
        """Scheduler ``DeleteSchedule``."""
        await self._ensure_open()
        await self.schedules.delete(name, group_name)
