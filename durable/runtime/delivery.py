"""Delivering accepted events: each matching rule's targets start their executions, once.

An ``event`` request in the inbox is an event ``PutEvents`` accepted (:mod:`durable.runtime.bus`).
The executing engine delivers it: for every ENABLED rule of the event's bus whose pattern
matches, for every target of the rule, it starts the target's state machine with the input the
target builds, under a name derived from ``(event id, rule ARN, target id)``
(:func:`delivery_name`). Only when every start is committed does the request leave the inbox.

Exactly once, for Standard targets: a crash before the request leaves the inbox delivers it
again at the next start, and each start then finds the execution of that name and input already
there (StartExecution's idempotency) instead of starting a second one. Express executions are
not stored, so an Express target is started at least once (a crash between its start and the
request leaving the inbox starts it again), as AWS runs Express executions at least once.

A target that cannot be started (its state machine deleted, its input too large) is given up
with a warning: AWS retries such a delivery for up to 24 hours and then drops it or sends it to
a dead-letter queue, neither of which exists here. A store failure leaves the event in the
inbox: it is delivered again after a pause.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog

from ..errors import DurableError, ExecutionAlreadyExists
from ..events import target_input
from ..store.base import RequestRecord, StoreError
from .bus import EventBus

__all__ = ["EventDelivery", "delivery_name"]

RETRY_SECONDS = 1.0
log = structlog.get_logger("durable.runtime")
_decode = msgspec.json.decode

# (state machine ARN, input JSON text, execution name) -> the started execution
Starter = Callable[[str, str, str], Awaitable[Any]]


def delivery_name(event_id: str, rule_arn: str, target_id: str) -> str:
    """The execution name of one delivery: the same for the same event, rule and target."""
    digest = hashlib.sha256(f"{event_id}\n{rule_arn}\n{target_id}".encode()).hexdigest()
    return f"event-{digest[:40]}"


class EventDelivery:
    """Delivers ``event`` requests for the executing engine (see the module docstring)."""

    def __init__(
        self,
        bus: EventBus,
        start: Starter,
        consume: Callable[[RequestRecord], None],
        spawn: Callable[[Any], None],
    ) -> None:
        self.bus = bus
        self.start = start
        self.consume = consume
        self.spawn = spawn
        self._pending: set[str] = set()  # refs being delivered
        self._done = asyncio.Event()
        self._done.set()

    def dispatch(self, request: RequestRecord) -> None:
        if request.ref in self._pending:
            return
        self._pending.add(request.ref)
        self._done.clear()
        self.spawn(self._deliver(request))

    async def idle(self) -> None:
        """Wait until every event dispatched so far is delivered (tests, ``durable events``)."""
        await self._done.wait()

    async def _deliver(self, request: RequestRecord) -> None:
        try:
            while True:
                try:
                    await self.deliver(request)
                except StoreError as exc:  # not consumed: try again
                    log.warning("event delivery interrupted", ref=request.ref, error=str(exc))
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self.consume(request)
                return
        finally:
            self._pending.discard(request.ref)
            if not self._pending:
                self._done.set()

    async def deliver(self, request: RequestRecord) -> int:
        """Start every matching target of the event; return how many starts were asked."""
        data = _decode(request.payload or "{}")
        event = data.get("event") or {}
        bus = data.get("bus") or "default"
        started = 0
        for rule in await self.bus.rules_of(bus):
            if rule.get("State", "ENABLED") == "DISABLED":
                continue
            if not self.bus.pattern(rule["EventPattern"]).matches(event):
                continue
            for target in await self.bus.targets_of(rule["Arn"]):
                started += 1
                await self._start(rule, target, event, data.get("ingested", ""))
        return started

    async def _start(
        self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any], ingested: str
    ) -> None:
        name = delivery_name(str(event.get("id")), rule["Arn"], str(target.get("Id")))
        try:
            text = target_input(
                target, event, rule_name=rule["Name"], rule_arn=rule["Arn"], ingestion_time=ingested
            )
            await self.start(target["Arn"], text, name)
        except ExecutionAlreadyExists:  # started before with another input (the target changed)
            return
        except StoreError:
            raise
        except DurableError as exc:
            log.warning(
                "event target not started; the delivery is given up",
                rule=rule["Arn"],
                target=target.get("Id"),
                error=f"{exc.code}: {exc}",
            )
