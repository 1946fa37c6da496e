"""EventBridge's API (AWS JSON 1.1, ``X-Amz-Target: AWSEvents.<Action>``) over the engine's bus.

PutEvents, PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule, PutTargets,
RemoveTargets, ListTargetsByRule and TestEventPattern, with the members of botocore's ``events``
model, so an unchanged ``boto3.client("events", endpoint_url=...)`` works. ``ListRules`` answers
one page (no ``NextToken``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..runtime.engine import Engine
from .errors import validation

__all__ = ["EVENTS_ACTIONS", "EVENTS_PREFIX"]

EVENTS_PREFIX = "AWSEvents."
EventsAction = Callable[[Engine, dict[str, Any]], Awaitable[dict[str, Any]]]


def _required(member: str) -> Exception:
    return validation(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        "Member must not be null"
    )


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise _required(name[:1].lower() + name[1:])
    return value


async def put_events(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    entries = p.get("Entries")
    if not isinstance(entries, list):
        raise _required("entries")
    return await engine.put_events(entries)


async def put_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    arn = await engine.put_rule(
        _text(p, "Name"),
        event_pattern=p.get("EventPattern"),
        event_bus_name=p.get("EventBusName"),
        state=p.get("State"),
        description=p.get("Description"),
        role_arn=p.get("RoleArn"),
        schedule_expression=p.get("ScheduleExpression"),
    )
    return {"RuleArn": arn}


async def describe_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return await engine.describe_rule(_text(p, "Name"), event_bus_name=p.get("EventBusName"))


async def list_rules(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    rules = await engine.list_rules(name_prefix=p.get("NamePrefix"), event_bus_name=p.get("EventBusName"))
    return {"Rules": rules}


async def delete_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    await engine.delete_rule(
        _text(p, "Name"), event_bus_name=p.get("EventBusName"), force=bool(p.get("Force"))
    )
    return {}


async def enable_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    await engine.enable_rule(_text(p, "Name"), event_bus_name=p.get("EventBusName"))
    return {}


async def disable_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    await engine.disable_rule(_text(p, "Name"), event_bus_name=p.get("EventBusName"))
    return {}


async def put_targets(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    targets = p.get("Targets")
    if not isinstance(targets, list):
        raise _required("targets")
    return await engine.put_targets(_text(p, "Rule"), targets, event_bus_name=p.get("EventBusName"))


async def remove_targets(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    ids = p.get("Ids")
    if not isinstance(ids, list):
        raise _required("ids")
    return await engine.remove_targets(_text(p, "Rule"), ids, event_bus_name=p.get("EventBusName"))


async def list_targets_by_rule(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "Targets": await engine.list_targets_by_rule(_text(p, "Rule"), event_bus_name=p.get("EventBusName"))
    }


async def test_event_pattern(engine: Engine, p: dict[str, Any]) -> dict[str, Any]:
    return {"Result": engine.test_event_pattern(_text(p, "EventPattern"), _text(p, "Event"))}


EVENTS_ACTIONS: dict[str, EventsAction] = {
    "PutEvents": put_events,
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "ListRules": list_rules,
    "DeleteRule": delete_rule,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "PutTargets": put_targets,
    "RemoveTargets": remove_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "TestEventPattern": test_event_pattern,
}
