"""The embedded event bus: EventBridge rules and targets, and ``PutEvents``.

Rules and targets are catalog entries in the store's ``metadata`` table (kind ``event-rule``,
keyed by the rule's ARN with its bus as parent; kind ``event-target``, keyed by
``<rule ARN>|<target id>`` with the rule's ARN as parent), so every process on a database sees
the same rules. A bus exists when something names it: ``default``, or any other name a rule or
an entry gives (durable has no CreateEventBus).

``PutEvents`` checks the entries (:mod:`durable.events.envelope`), gives each accepted one an
id and its envelope, and commits one ``event`` request per event to the inbox *before* it
answers. The engine that executes the database delivers each request (see
:mod:`durable.runtime.delivery`) and consumes it only after every matching target's execution
has been started: an accepted event is never lost, and a crash before the request is consumed
delivers it again — the deterministic execution names make that a no-op.

Targets start state machines only (Standard or Express): a target's ``Arn`` is a state machine
ARN; ``Input``, ``InputPath`` and ``InputTransformer`` shape the execution input
(:func:`durable.events.target_input`); ``RoleArn`` is kept and described, not used.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from ..errors import ResourceNotFound, UnsupportedFeature, ValidationError
from ..events import (
    EventPattern,
    InputTransformer,
    build_envelope,
    compile_pattern,
    test_event_pattern,
    validate_entry,
    validate_request,
)
from ..store.base import MetadataRecord, Store, WriteBatch
from .clock import Clock
from .requests import RequestKind, Requests

__all__ = ["RULE_KIND", "TARGET_KIND", "EventBus", "bus_name_of"]

RULE_KIND = "event-rule"
TARGET_KIND = "event-target"
MAX_TARGETS = 5  # per rule, as AWS
_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
_BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
_STATE_MACHINE = re.compile(r"^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w\-.:]+$")
_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def bus_name_of(name_or_arn: str | None) -> str:
    """A bus's name from its name or ARN (``None``/empty: ``default``)."""
    if not name_or_arn:
        return "default"
    if name_or_arn.startswith("arn:"):
        _, _, rest = name_or_arn.partition(":event-bus/")
        if not rest:
            raise ValidationError(f"Parameter EventBusName is not valid: {name_or_arn}")
        return rest
    if not _BUS_NAME.match(name_or_arn):
        raise ValidationError(f"Parameter EventBusName is not valid: {name_or_arn}")
    return name_or_arn


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )
    return name


def _pattern_text(pattern: Mapping[str, Any] | str) -> str:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern, separators=(",", ":"))
    compile_pattern(text)  # InvalidEventPattern with EventBridge's message
    return text


def _check_target(target: Mapping[str, Any]) -> str | None:
    """Why a PutTargets target is refused, or None."""
    target_id = target.get("Id")
    if not isinstance(target_id, str) or not _NAME.match(target_id):
        return "Target Id must match [\\.\\-_A-Za-z0-9]+ and be 1 to 64 characters."
    arn = target.get("Arn")
    if not isinstance(arn, str) or not _STATE_MACHINE.match(arn):
        return f"durable delivers only to Step Functions state machines; '{arn}' is not a state machine ARN."
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        return "Only one of Input, InputPath, or InputTransformer must be provided."
    try:
        if "Input" in given:
            json.loads(str(target["Input"]))
        elif "InputTransformer" in given:
            spec = target["InputTransformer"]
            InputTransformer(spec.get("InputPathsMap"), spec.get("InputTemplate", ""))
    except ValueError:
        return "Input is not valid JSON text."
    except ValidationError as exc:
        return str(exc)
    return None


class EventBus:
    """Rules, targets and PutEvents over a store (shared by the Engine and the Client)."""

    def __init__(self, store: Store, clock: Clock, requests: Requests, *, region: str, account: str) -> None:
        self.store = store
        self.clock = clock
        self.requests = requests
        self.region = region
        self.account = account
        self._patterns: dict[str, EventPattern] = {}

    # -- names -------------------------------------------------------------------------------------
    def bus_arn(self, bus: str) -> str:
        return f"arn:aws:events:{self.region}:{self.account}:event-bus/{bus}"

    def rule_arn(self, name: str, bus: str) -> str:
        middle = "" if bus == "default" else f"{bus}/"
        return f"arn:aws:events:{self.region}:{self.account}:rule/{middle}{name}"

    def pattern(self, text: str) -> EventPattern:
        """The compiled pattern of a rule (cached by text)."""
        found = self._patterns.get(text)
        if found is None:
            found = self._patterns[text] = compile_pattern(text)
        return found

    # -- rules -------------------------------------------------------------------------------------
    async def _rule(self, name: str, bus: str) -> tuple[MetadataRecord, dict[str, Any]]:
        found = await self.store.get_metadata(RULE_KIND, self.rule_arn(_check_name(name), bus))
        if found is None:
            raise ResourceNotFound(f"Rule {name} does not exist on EventBus {bus}.")
        return found, _decode(found.body)

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
        """AWS ``PutRule``: create or update a rule; returns its ARN. Targets are kept."""
        _check_name(name)
        bus = bus_name_of(event_bus_name)
        if schedule_expression is not None:
            raise UnsupportedFeature(
                "Scheduled rules are not supported: use EventBridge Scheduler schedules (create_schedule)."
            )
        if event_pattern is None:
            raise ValidationError("Parameter(s) EventPattern must be specified.")
        text = _pattern_text(event_pattern)
        if state is not None and state not in _STATES:
            raise ValidationError(f"Parameter State is not valid: {state}")
        arn = self.rule_arn(name, bus)
        old = await self.store.get_metadata(RULE_KIND, arn)
        body: dict[str, Any] = _decode(old.body) if old is not None else {"State": "ENABLED"}
        body.update(Name=name, Arn=arn, EventBusName=bus, EventPattern=text)
        if state is not None:
            body["State"] = state
        if description is not None:
            body["Description"] = description
        if role_arn is not None:
            body["RoleArn"] = role_arn
        created = old.created if old is not None else self.clock.now()
        record = MetadataRecord(
            kind=RULE_KIND, arn=arn, parent=bus, body=_encode(body).decode(), created=created
        )
        await self.store.commit(WriteBatch(metadata=[record]))
        return arn

    async def describe_rule(self, name: str, event_bus_name: str | None = None) -> dict[str, Any]:
        """AWS ``DescribeRule``: Name, Arn, EventPattern, State, Description, RoleArn, EventBusName."""
        _, body = await self._rule(name, bus_name_of(event_bus_name))
        body["CreatedBy"] = self.account
        return body

    async def list_rules(
        self, *, name_prefix: str | None = None, event_bus_name: str | None = None
    ) -> list[dict[str, Any]]:
        """AWS ``ListRules`` of one bus, by name."""
        bus = bus_name_of(event_bus_name)
        rules = [_decode(r.body) for r in await self.store.list_metadata(RULE_KIND, bus)]
        rules = [r for r in rules if name_prefix is None or r["Name"].startswith(name_prefix)]
        return sorted(rules, key=lambda r: str(r["Name"]))

    async def set_rule_state(self, name: str, state: str, event_bus_name: str | None = None) -> None:
        """``EnableRule`` / ``DisableRule``."""
        record, body = await self._rule(name, bus_name_of(event_bus_name))
        body["State"] = state
        changed = msgspec.structs.replace(record, body=_encode(body).decode())
        await self.store.commit(WriteBatch(metadata=[changed]))

    async def delete_rule(self, name: str, event_bus_name: str | None = None, *, force: bool = False) -> None:
        """AWS ``DeleteRule``: a rule that still has targets is refused unless ``force``
        (then its targets go with it). Deleting a rule that does not exist does nothing."""
        bus = bus_name_of(event_bus_name)
        arn = self.rule_arn(_check_name(name), bus)
        targets = await self.store.list_metadata(TARGET_KIND, arn)
        if targets and not force:
            raise ValidationError("Rule can't be deleted since it has targets.")
        gone = [(RULE_KIND, arn)] + [(TARGET_KIND, t.arn) for t in targets]
        await self.store.commit(WriteBatch(deleted_metadata=gone))

    # -- targets -----------------------------------------------------------------------------------
    async def put_targets(
        self, rule: str, targets: Sequence[Mapping[str, Any]], event_bus_name: str | None = None
    ) -> dict[str, Any]:
        """AWS ``PutTargets``: add or replace targets by Id; the refused ones come back in
        ``FailedEntries``."""
        bus = bus_name_of(event_bus_name)
        record, _ = await self._rule(rule, bus)
        if not targets or len(targets) > 10:
            raise ValidationError("Targets must hold 1 to 10 targets.")
        existing = {t.arn for t in await self.store.list_metadata(TARGET_KIND, record.arn)}
        failed: list[dict[str, str]] = []
        writes: list[MetadataRecord] = []
        for target in targets:
            reason = _check_target(target)
            key = f"{record.arn}|{target.get('Id')}"
            if reason is None and key not in existing and len(existing) >= MAX_TARGETS:
                failed.append(
                    {
                        "TargetId": str(target.get("Id")),
                        "ErrorCode": "LimitExceededException",
                        "ErrorMessage": "The requested resource exceeds the maximum number allowed "
                        f"({MAX_TARGETS}).",
                    }
                )
                continue
            if reason is not None:
                failed.append(
                    {
                        "TargetId": str(target.get("Id")),
                        "ErrorCode": "ValidationException",
                        "ErrorMessage": reason,
                    }
                )
                continue
            existing.add(key)
            body = {k: v for k, v in target.items() if v is not None}
            writes.append(
                MetadataRecord(
                    kind=TARGET_KIND,
                    arn=key,
                    parent=record.arn,
                    body=_encode(body).decode(),
                    created=self.clock.now(),
                )
            )
        if writes:
            await self.store.commit(WriteBatch(metadata=writes))
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    async def remove_targets(
        self, rule: str, ids: Sequence[str], event_bus_name: str | None = None
    ) -> dict[str, Any]:
        """AWS ``RemoveTargets``: ids that are not targets of the rule come back failed."""
        record, _ = await self._rule(rule, bus_name_of(event_bus_name))
        existing = {t.arn for t in await self.store.list_metadata(TARGET_KIND, record.arn)}
        failed = [
            {
                "TargetId": i,
                "ErrorCode": "ResourceNotFoundException",
                "ErrorMessage": f"Target {i} does not exist.",
            }
            for i in ids
            if f"{record.arn}|{i}" not in existing
        ]
        gone = [(TARGET_KIND, f"{record.arn}|{i}") for i in ids if f"{record.arn}|{i}" in existing]
        if gone:
            await self.store.commit(WriteBatch(deleted_metadata=gone))
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    async def list_targets_by_rule(
        self, rule: str, event_bus_name: str | None = None
    ) -> list[dict[str, Any]]:
        """AWS ``ListTargetsByRule``, in the order they were first put."""
        record, _ = await self._rule(rule, bus_name_of(event_bus_name))
        return [_decode(t.body) for t in await self.store.list_metadata(TARGET_KIND, record.arn)]

    async def targets_of(self, rule_arn: str) -> list[dict[str, Any]]:
        return [_decode(t.body) for t in await self.store.list_metadata(TARGET_KIND, rule_arn)]

    async def rules_of(self, bus: str) -> list[dict[str, Any]]:
        return [_decode(r.body) for r in await self.store.list_metadata(RULE_KIND, bus)]

    # -- events ------------------------------------------------------------------------------------
    async def put_events(
        self, entries: Sequence[Mapping[str, Any]], *, event_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """AWS ``PutEvents``: every accepted entry is committed before this returns; the engine
        that executes the database delivers it (see the module docstring). ``event_ids`` (one
        per entry) replace the fresh ids: the same ids again deliver nothing new."""
        validate_request(entries)
        if event_ids is not None and len(event_ids) != len(entries):
            raise ValueError("event_ids must name one id per entry")
        now = self.clock.now()
        received = datetime.fromtimestamp(now, UTC)
        answers: list[dict[str, str]] = []
        batch = WriteBatch()
        for position, entry in enumerate(entries):
            error = validate_entry(entry)
            if error is not None:
                answers.append(error.to_dict())
                continue
            try:
                bus = bus_name_of(entry.get("EventBusName"))
            except ValidationError as exc:
                answers.append({"ErrorCode": "InvalidArgument", "ErrorMessage": str(exc)})
                continue
            # never seeded: ids name deliveries, they must not repeat unless asked to
            event_id = event_ids[position] if event_ids is not None else str(uuid.uuid4())
            event = build_envelope(
                entry, event_id=event_id, received=received, account=self.account, region=self.region
            )
            payload = {"bus": bus, "event": event, "ingested": received.isoformat().replace("+00:00", "Z")}
            batch.requests.append(
                self.requests.request(self.bus_arn(bus), RequestKind.EVENT, payload=payload)
            )
            answers.append({"EventId": event_id})
        if batch.requests:
            await self.requests.commit(batch)
        failed = sum(1 for a in answers if "ErrorCode" in a)
        return {"FailedEntryCount": failed, "Entries": answers}

    @staticmethod
    def test_event_pattern(pattern: Mapping[str, Any] | str, event: Mapping[str, Any] | str) -> bool:
        """AWS ``TestEventPattern``."""
        return test_event_pattern(pattern, event)
