"""The event bus half of the Engine and Client API (AWS EventBridge's names, snake_case).

Rules and targets are stored in the database, so any process sees them; ``put_events`` commits
the accepted events before it returns and the engine that executes the database delivers them
(:mod:`durable.runtime.bus`, :mod:`durable.runtime.delivery`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from .bus import EventBus

__all__ = ["EventsApi"]


class EventsApi(abc.ABC):
    """Mixed into :class:`~durable.runtime.session.Session`."""

    bus: EventBus

    @abc.abstractmethod
    async def _ensure_open(self) -> None: ...

    async def put_rule(
        self,
        name: str,
        *,
        event_pattern: Mapping[str, Any] | str | None = None,
        event_bus_name: str | None = None,
        state: str | None = None,
        description: str | None = None,
        role_arn: str | None = None,
        schedule_expression: str | None = None,
    ) -> str:
        """EventBridge ``PutRule``: create or update a rule on a bus (``default`` unless named);
        returns the rule's ARN. ``event_pattern`` is a dict or its JSON text; an invalid one
        raises :class:`~durable.errors.InvalidEventPattern`. Scheduled rules are not supported
        (use :meth:`create_schedule`)."""
        await self._ensure_open()
        return await self.bus.put_rule(
            name,
            event_pattern=event_pattern,
            event_bus_name=event_bus_name,
            state=state,
            description=description,
            role_arn=role_arn,
            schedule_expression=schedule_expression,
        )

    async def describe_rule(self, name: str, *, event_bus_name: str | None = None) -> dict[str, Any]:
        """EventBridge ``DescribeRule`` (raises :class:`~durable.errors.ResourceNotFound`)."""
        await self._ensure_open()
        return await self.bus.describe_rule(name, event_bus_name)

    async def list_rules(
        self, *, name_prefix: str | None = None, event_bus_name: str | None = None
    ) -> list[dict[str, Any]]:
        """EventBridge ``ListRules``: the rules of a bus, by name."""
        await self._ensure_open()
        return await self.bus.list_rules(name_prefix=name_prefix, event_bus_name=event_bus_name)

    async def enable_rule(self, name: str, *, event_bus_name: str | None = None) -> None:
        await self._ensure_open()
        await self.bus.set_rule_state(name, "ENABLED", event_bus_name)

    async def disable_rule(self, name: str, *, event_bus_name: str | None = None) -> None:
        """A disabled rule matches nothing until enabled again."""
        await self._ensure_open()
        await self.bus.set_rule_state(name, "DISABLED", event_bus_name)

    async def delete_rule(self, name: str, *, event_bus_name: str | None = None, force: bool = False) -> None:
        """EventBridge ``DeleteRule``: refused while the rule has targets, unless ``force``."""
        await self._ensure_open()
        await self.bus.delete_rule(name, event_bus_name, force=force)

    async def put_targets(
        self, rule: str, targets: Sequence[Mapping[str, Any]], *, event_bus_name: str | None = None
    ) -> dict[str, Any]:
        """EventBridge ``PutTargets``: targets are state machines (``Id``, ``Arn``, ``RoleArn``,
        and one of ``Input``/``InputPath``/``InputTransformer``); returns ``FailedEntryCount``
        and ``FailedEntries``."""
        await self._ensure_open()
        return await self.bus.put_targets(rule, targets, event_bus_name)

    async def remove_targets(
        self, rule: str, ids: Sequence[str], *, event_bus_name: str | None = None
    ) -> dict[str, Any]:
        """EventBridge ``RemoveTargets``."""
        await self._ensure_open()
        return await self.bus.remove_targets(rule, ids, event_bus_name)

    async def list_targets_by_rule(
        self, rule: str, *, event_bus_name: str | None = None
    ) -> list[dict[str, Any]]:
        """EventBridge ``ListTargetsByRule``."""
        await self._ensure_open()
        return await self.bus.list_targets_by_rule(rule, event_bus_name)

    async def put_events(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """EventBridge ``PutEvents``: ``{"FailedEntryCount", "Entries": [{"EventId"} or
        {"ErrorCode", "ErrorMessage"}]}``. Every accepted event is committed to the database
        before this returns; the executing engine then starts each matching rule's targets
        exactly once (see docs/events.md)."""
        await self._ensure_open()
        return await self.bus.put_events(entries)

    def test_event_pattern(
        self, event_pattern: Mapping[str, Any] | str, event: Mapping[str, Any] | str
    ) -> bool:
        """EventBridge ``TestEventPattern``."""
        return EventBus.test_event_pattern(event_pattern, event)
