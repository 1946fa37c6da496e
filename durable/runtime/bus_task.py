"""``arn:aws:states:::events:putEvents`` (and ``.waitForTaskToken``) on the engine's own bus.

A Task with this resource puts its ``Entries`` on the embedded event bus
(:mod:`durable.runtime.bus`): ``EventBusName`` names a local bus (``default`` when absent), a
``Detail`` given as a JSON value is sent as its text (as AWS's optimized integration does), and
the result is PutEvents' response, ``{"Entries": [{"EventId"}], "FailedEntryCount": 0}``,
without the ``SdkHttpMetadata`` AWS leaves out for EventBridge. An entry the bus refuses fails
the task with ``EventBridge.FailedEntry`` and the response as the cause; a request refused as a
whole (no entries, more than ten, too large) with ``EventBridge.ValidationException``.

Exactly once across a crash: the event ids derive from the task attempt's idempotency key, so
a task run again after a crash puts events with the same ids, and their deliveries find the
executions the first run started (:func:`durable.runtime.delivery.delivery_name`).

Which integration runs the resource: this built-in one, unless the engine was opened with
``local_event_bus=False`` or an integration added with ``Engine.add_integration`` handles it
(e.g. durable-aws's ``AwsIntegration`` pointed at AWS or moto), since added integrations come
before built-ins and plugins loaded from entry points after them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import DurableError, TaskFailed
from ..integrations.base import TaskRequest
from .bus import EventBus

__all__ = ["LocalEventBus"]

_RESOURCE = re.compile(r"^arn:[\w-]+:states:::events:putEvents(?:\.waitForTaskToken)?$")


def _entry(entry: Any) -> Any:
    if isinstance(entry, dict) and entry.get("Detail") is not None and not isinstance(entry["Detail"], str):
        return {**entry, "Detail": json.dumps(entry["Detail"], separators=(",", ":"), ensure_ascii=False)}
    return entry


class LocalEventBus:
    """The ``events:putEvents`` integration of the embedded bus (see the module docstring)."""

    name = "events"

    def __init__(self, bus: Callable[[], EventBus]) -> None:
        self._bus = bus  # the engine's, made after its integrations

    def handles(self, resource: str) -> bool:
        return bool(_RESOURCE.match(resource))

    async def invoke(self, request: TaskRequest) -> Any:
        payload = request.payload if isinstance(request.payload, dict) else {}
        entries = payload.get("Entries")
        if not isinstance(entries, list):
            raise TaskFailed(
                "EventBridge.ValidationException", "The field 'Entries' must be a list of entries"
            )
        ids = None
        if request.idempotency_key is not None:  # the same ids for the same attempt
            base = uuid.UUID(request.idempotency_key)
            ids = [str(uuid.uuid5(base, str(i))) for i in range(len(entries))]
        try:
            result = await self._bus().put_events([_entry(e) for e in entries], event_ids=ids)
        except DurableError as exc:
            raise TaskFailed(f"EventBridge.{exc.code}", str(exc)) from None
        if result["FailedEntryCount"]:
            raise TaskFailed("EventBridge.FailedEntry", json.dumps(result, separators=(",", ":")))
        return result
