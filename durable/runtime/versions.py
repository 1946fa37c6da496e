"""State machine versions and aliases, tags, and a state machine's configurations.

Kept as store metadata entries (:class:`~durable.store.base.MetadataRecord`), beside the state
machines of the :class:`~durable.runtime.catalog.Catalog`:

* ``machine`` (one per state machine): its revision id — a new one at every update that
  changes something — the logging, tracing and encryption configurations, and the number of
  the next version (versions are numbered from 1 and a number is never reused);
* ``version`` (parent: the state machine): an immutable copy of a revision —
  ``<machine arn>:<n>``; an execution started on it runs that definition;
* ``alias`` (parent: the state machine): ``<machine arn>:<name>``, routing executions to one
  version, or between two by weight (the draw comes from :attr:`Versions.random`, seeded by the
  engine's ``seed``: tests inject it to check the split);
* ``tags`` (keyed by the tagged state machine's or activity's ARN);
* ``execution`` (parent: the version or alias ARN it was started through).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ..errors import (
    ActivityDoesNotExist,
    ConflictError,
    InvalidArn,
    InvalidName,
    ResourceNotFound,
    StateMachineDoesNotExist,
    TooManyTags,
    ValidationError,
)
from ..store.base import Conflict, MetadataAbsent, MetadataRecord, Store, WriteBatch
from .catalog import Catalog
from .clock import Clock
from .models import StateMachine, StateMachineType, utc

__all__ = ["StateMachineAlias", "StateMachineVersion", "Versions", "split_arn"]

MAX_TAGS = 50
PUBLISH_ATTEMPTS = 5  # publishes that lose a race for a version number before giving up
_ALIAS_NAME = re.compile(r"^(?=.*[a-zA-Z_\-])[a-zA-Z0-9_\-]{1,80}$")


class _Settings(msgspec.Struct, kw_only=True):
    revision_id: str
    next_version: int = 1
    logging: dict[str, Any] | None = None
    tracing: dict[str, Any] | None = None
    encryption: dict[str, Any] | None = None


class _Version(msgspec.Struct, kw_only=True):
    version: int
    definition: str
    role_arn: str
    type: str
    revision_id: str
    description: str | None = None
    logging: dict[str, Any] | None = None
    tracing: dict[str, Any] | None = None
    encryption: dict[str, Any] | None = None


class _Alias(msgspec.Struct, kw_only=True):
    name: str
    routing: list[tuple[str, int]]
    description: str | None = None
    update_date: float = 0.0


class _Link(msgspec.Struct, kw_only=True, omit_defaults=True):
    version_arn: str | None = None
    alias_arn: str | None = None
    trace_header: str | None = None  # StartExecution's traceHeader (tracing continues it)


@dataclass(frozen=True, slots=True)
class StateMachineVersion:
    arn: str
    state_machine_arn: str
    version: int
    creation_date: datetime
    description: str | None = None


@dataclass(frozen=True, slots=True)
class StateMachineAlias:
    arn: str
    state_machine_arn: str
    name: str
    routing: tuple[tuple[str, int], ...]  # (version ARN, weight)
    creation_date: datetime
    update_date: datetime
    description: str | None = None


def split_arn(arn: str) -> tuple[str, str | None]:
    """``(state machine ARN, qualifier)`` of a state machine, version or alias ARN."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) not in (7, 8) or parts[:3] != ["arn", "aws", "states"] or parts[5] != "stateMachine":
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    if len(parts) == 8:
        if not parts[7]:
            raise InvalidArn(f"Invalid Arn: '{arn}'")
        return ":".join(parts[:7]), parts[7]
    return arn, None


def _enc(value: msgspec.Struct) -> str:
    return msgspec.json.encode(value).decode()


class Versions:
    """Versions, aliases, tags and configurations of one database's state machines."""

    def __init__(
        self, store: Store, clock: Clock, catalog: Catalog, new_id: Callable[[], str], seed: int | None
    ):
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.new_id = new_id
        self.random: Callable[[], float] = random.Random(seed).random  # alias routing draws

    # -- configurations ------------------------------------------------------------------------------
    async def settings(self, machine_arn: str) -> _Settings:
        entry = await self.store.get_metadata("machine", machine_arn)
        if entry is None:
            return _Settings(revision_id=self._initial_revision(machine_arn))
        return msgspec.json.decode(entry.body, type=_Settings)

    @staticmethod
    def _initial_revision(machine_arn: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, machine_arn))

    async def configure(
        self, machine: StateMachine, *, changed: bool, configurations: dict[str, Any]
    ) -> _Settings:
        """Store the configurations given (None: unchanged); a new revision when ``changed`` or
        a configuration differs. Returns the settings, and sets them on ``machine``."""
        settings = await self.settings(machine.arn)
        before = _enc(settings)
        for key in ("logging", "tracing", "encryption"):
            value = configurations.get(key)
            if value is not None:
                setattr(settings, key, value)
        if changed or _enc(settings) != before:
            settings.revision_id = self.new_id()
        if _enc(settings) != before or await self.store.get_metadata("machine", machine.arn) is None:
            await self._put("machine", machine.arn, settings)
        self.dress(machine, settings)
        return settings

    @staticmethod
    def dress(machine: StateMachine, settings: _Settings) -> None:
        machine.revision_id = settings.revision_id
        machine.logging_configuration = settings.logging
        machine.tracing_configuration = settings.tracing
        machine.encryption_configuration = settings.encryption

    async def _put(
        self, kind: str, arn: str, body: msgspec.Struct, parent: str = "", created: float = 0.0
    ) -> None:
        entry = MetadataRecord(kind=kind, arn=arn, parent=parent, body=_enc(body), created=created)
        await self.store.commit(WriteBatch(metadata=[entry]))

    async def forget_machine(self, machine_arn: str) -> None:
        """A state machine was deleted: its versions, aliases, settings and tags go too."""
        gone = [("machine", machine_arn), ("tags", machine_arn)]
        for kind in ("version", "alias"):
            for entry in await self.store.list_metadata(kind, machine_arn):
                gone += [(kind, entry.arn), ("tags", entry.arn)]
        await self.store.commit(WriteBatch(deleted_metadata=gone))

    # -- versions ------------------------------------------------------------------------------------
    async def publish(
        self, machine_arn: str, *, revision_id: str | None = None, description: str | None = None
    ) -> StateMachineVersion:
        """AWS ``PublishStateMachineVersion``: the current revision as a new version, or the
        latest version when it is that revision already. Two processes publishing at once never
        take one version number: the loser of the race reads again and publishes the next one."""
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                return await self._publish_once(machine_arn, revision_id, description)
            except Conflict:
                continue  # another process took this number a moment ago
        raise ConflictError(
            "The State Machine version could not be published: too many concurrent publishers"
        )

    async def _publish_once(
        self, machine_arn: str, revision_id: str | None, description: str | None
    ) -> StateMachineVersion:
        if description is not None and len(description) > 256:
            raise ValidationError("Version description must be at most 256 characters")
        base, qualifier = split_arn(machine_arn)
        if qualifier is not None:
            raise InvalidArn(f"Invalid Arn: '{machine_arn}'")
        machine = await self.catalog.describe_state_machine(base)
        settings = await self.settings(base)
        if revision_id is not None and revision_id != settings.revision_id:
            raise ConflictError(
                f"Failed to publish the State Machine version because the revisionId '{revision_id}' "
                f"does not match the current revisionId '{settings.revision_id}'"
            )
        latest = await self.store.list_metadata("version", base)
        if latest:
            last = latest[-1]
            body = msgspec.json.decode(last.body, type=_Version)
            if body.revision_id == settings.revision_id:
                return StateMachineVersion(last.arn, base, body.version, utc(last.created), body.description)
        number = settings.next_version
        arn = f"{base}:{number}"
        now = self.clock.now()
        version = _Version(
            version=number,
            definition=machine.definition,
            role_arn=machine.role_arn,
            type=str(machine.type),
            revision_id=settings.revision_id,
            description=description,
            logging=settings.logging,
            tracing=settings.tracing,
            encryption=settings.encryption,
        )
        settings.next_version = number + 1
        await self.store.commit(
            WriteBatch(
                guards=[MetadataAbsent(kind="version", arn=arn)],
                metadata=[
                    MetadataRecord(kind="version", arn=arn, parent=base, body=_enc(version), created=now),
                    MetadataRecord(kind="machine", arn=base, body=_enc(settings)),
                ],
            )
        )
        return StateMachineVersion(arn, base, number, utc(now), description)

    async def _version(self, arn: str) -> tuple[MetadataRecord, _Version]:
        _base, qualifier = split_arn(arn)
        if qualifier is None or not qualifier.isdigit():
            raise InvalidArn(f"Invalid Arn: '{arn}'")
        entry = await self.store.get_metadata("version", arn)
        if entry is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return entry, msgspec.json.decode(entry.body, type=_Version)

    async def describe_version(self, arn: str) -> StateMachine:
        """A version as ``DescribeStateMachine`` shows it (its ARN, definition, description)."""
        entry, body = await self._version(arn)
        name = split_arn(arn)[0].rsplit(":", 1)[1]
        machine = StateMachine(
            arn, name, StateMachineType(body.type), body.definition, body.role_arn, utc(entry.created)
        )
        machine.description = body.description or ""
        machine.revision_id = body.revision_id
        machine.logging_configuration = body.logging
        machine.tracing_configuration = body.tracing
        machine.encryption_configuration = body.encryption
        return machine

    async def list_versions(self, machine_arn: str) -> list[StateMachineVersion]:
        """Newest first (AWS ``ListStateMachineVersions``)."""
        base, qualifier = split_arn(machine_arn)
        if qualifier is not None:
            raise ValidationError(f"Invalid state machine ARN: '{machine_arn}'")
        out = []
        for entry in reversed(await self.store.list_metadata("version", base)):
            body = msgspec.json.decode(entry.body, type=_Version)
            out.append(
                StateMachineVersion(entry.arn, base, body.version, utc(entry.created), body.description)
            )
        return out

    async def delete_version(self, arn: str) -> None:
        """AWS ``DeleteStateMachineVersion``: refused while an alias routes to it."""
        base, qualifier = split_arn(arn)
        if qualifier is None or not qualifier.isdigit():
            raise ValidationError(f"Invalid version ARN: '{arn}'")
        for entry in await self.store.list_metadata("alias", base):
            alias = msgspec.json.decode(entry.body, type=_Alias)
            if any(version == arn for version, _ in alias.routing):
                raise ConflictError(
                    f"Version to be deleted must not be referenced by an alias. Current list of aliases "
                    f"referencing this version: [{alias.name}]"
                )
        await self.store.commit(WriteBatch(deleted_metadata=[("version", arn), ("tags", arn)]))

    # -- aliases ---------------------------------------------------------------------------------------
    async def _routing(self, routing: Any) -> tuple[str, list[tuple[str, int]]]:
        if not isinstance(routing, list) or not 1 <= len(routing) <= 2:
            raise ValidationError("Routing configuration must contain one or two versions")
        out: list[tuple[str, int]] = []
        for item in routing:
            arn, weight = (
                item if isinstance(item, tuple) else (item.get("stateMachineVersionArn"), item.get("weight"))
            )
            if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
                raise ValidationError("Routing weight must be an integer between 0 and 100")
            if not isinstance(arn, str):
                raise ValidationError("Routing configuration needs a stateMachineVersionArn")
            await self._version(arn)
            out.append((arn, weight))
        bases = {split_arn(a)[0] for a, _ in out}
        if len(bases) != 1:
            raise ValidationError("Routing configuration must name versions of one state machine")
        if len({a for a, _ in out}) != len(out):
            raise ValidationError("Routing configuration must not name a version twice")
        if sum(w for _, w in out) != 100:
            raise ValidationError("Sum of routing configuration weights must be equal to 100")
        return bases.pop(), out

    async def create_alias(
        self, name: str, routing: Any, *, description: str | None = None
    ) -> StateMachineAlias:
        if not isinstance(name, str) or not _ALIAS_NAME.match(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        base, pairs = await self._routing(routing)
        arn = f"{base}:{name}"
        existing = await self.store.get_metadata("alias", arn)
        if existing is not None:
            found = msgspec.json.decode(existing.body, type=_Alias)
            if found.routing == pairs and found.description == description:
                return self._alias(existing, found)
            raise ConflictError(
                f"Failed to create alias because an alias with the same name already exists: '{arn}'"
            )
        now = self.clock.now()
        body = _Alias(name=name, routing=pairs, description=description, update_date=now)
        await self._put("alias", arn, body, parent=base, created=now)
        return self._alias(MetadataRecord(kind="alias", arn=arn, parent=base, body="", created=now), body)

    @staticmethod
    def _alias(entry: MetadataRecord, body: _Alias) -> StateMachineAlias:
        return StateMachineAlias(
            entry.arn,
            entry.parent,
            body.name,
            tuple(body.routing),
            utc(entry.created),
            utc(body.update_date),
            body.description,
        )

    async def _alias_entry(self, arn: str) -> tuple[MetadataRecord, _Alias]:
        _, qualifier = split_arn(arn)
        if qualifier is None or qualifier.isdigit():
            raise InvalidArn(f"Invalid Arn: '{arn}'")
        entry = await self.store.get_metadata("alias", arn)
        if entry is None:
            raise ResourceNotFound(f"Resource not found: '{arn}'")
        return entry, msgspec.json.decode(entry.body, type=_Alias)

    async def describe_alias(self, arn: str) -> StateMachineAlias:
        return self._alias(*await self._alias_entry(arn))

    async def update_alias(
        self, arn: str, *, routing: Any = None, description: str | None = None
    ) -> StateMachineAlias:
        entry, body = await self._alias_entry(arn)
        if routing is None and description is None:
            raise ValidationError("Either description or routingConfiguration must be given")
        if routing is not None:
            body.routing = (await self._routing(routing))[1]
        if description is not None:
            body.description = description
        body.update_date = self.clock.now()
        await self._put("alias", arn, body, parent=entry.parent, created=entry.created)
        return self._alias(entry, body)

    async def list_aliases(self, machine_arn: str) -> list[StateMachineAlias]:
        base, qualifier = split_arn(machine_arn)
        if qualifier is not None and qualifier.isdigit():
            await self._version(machine_arn)
        else:
            await self.catalog.describe_state_machine(base)
        out = []
        for entry in await self.store.list_metadata("alias", base):
            alias = self._alias(entry, msgspec.json.decode(entry.body, type=_Alias))
            if qualifier is None or any(v == machine_arn for v, _ in alias.routing):
                out.append(alias)
        return out

    async def delete_alias(self, arn: str) -> None:
        split_arn(arn)
        await self.store.commit(WriteBatch(deleted_metadata=[("alias", arn), ("tags", arn)]))

    # -- what an execution runs -------------------------------------------------------------------------
    async def resolve(self, arn: str) -> tuple[StateMachine, str | None, str | None]:
        """The state machine an execution of ``arn`` runs (a version's definition for a version
        or alias ARN; the machine's own ARN), and the version and alias ARNs it goes through."""
        base, qualifier = split_arn(arn) if isinstance(arn, str) and arn.count(":") == 7 else (arn, None)
        if qualifier is None:
            return await self.catalog.describe_state_machine(arn), None, None
        alias_arn = None
        version_arn = arn
        if not qualifier.isdigit():
            alias_arn = arn
            _, body = await self._alias_entry(arn)
            version_arn = self._draw(body.routing)
        machine = await self.catalog.describe_state_machine(base)
        _, version = await self._version(version_arn)
        runs = StateMachine(
            machine.arn,
            machine.name,
            StateMachineType(version.type),
            version.definition,
            version.role_arn,
            machine.creation_date,
        )
        return runs, version_arn, alias_arn

    def _draw(self, routing: list[tuple[str, int]]) -> str:
        point = self.random() * 100
        for arn, weight in routing:
            if point < weight:
                return arn
            point -= weight
        return routing[-1][0]

    async def link(
        self,
        execution_arn: str,
        version_arn: str | None,
        alias_arn: str | None,
        trace_header: str | None = None,
    ) -> None:
        """Record the version and alias an execution is about to start through, and the trace
        header it was started with (once)."""
        if version_arn is None and trace_header is None:
            return
        if await self.store.get_metadata("execution", execution_arn) is not None:
            return
        body = _Link(version_arn=version_arn, alias_arn=alias_arn, trace_header=trace_header)
        await self._put(
            "execution", execution_arn, body, parent=alias_arn or version_arn or "", created=self.clock.now()
        )

    async def trace_header(self, execution_arn: str) -> str | None:
        """The ``traceHeader`` an execution was started with (None: none)."""
        entry = await self.store.get_metadata("execution", execution_arn)
        return None if entry is None else msgspec.json.decode(entry.body, type=_Link).trace_header

    async def started_through(self, execution_arn: str) -> tuple[str | None, str | None]:
        """The version and alias ARNs an execution was started through (None, None: neither)."""
        entry = await self.store.get_metadata("execution", execution_arn)
        if entry is None:
            return None, None
        link = msgspec.json.decode(entry.body, type=_Link)
        return link.version_arn, link.alias_arn

    async def executions_through(self, arn: str) -> list[str]:
        """ARNs of the executions started through a version or alias, oldest first."""
        return [e.arn for e in await self.store.list_metadata("execution", arn)]

    # -- tags ---------------------------------------------------------------------------------------------
    async def _taggable(self, arn: str) -> None:
        if not isinstance(arn, str) or not arn.startswith("arn:aws:states:"):
            raise InvalidArn(f"Invalid Arn: '{arn}'")
        try:
            if ":activity:" in arn:
                await self.catalog.describe_activity(arn)
            else:
                _base, qualifier = split_arn(arn)
                if qualifier is None:
                    await self.catalog.describe_state_machine(arn)
                elif qualifier.isdigit():
                    await self._version(arn)
                else:
                    await self._alias_entry(arn)
        except (ActivityDoesNotExist, StateMachineDoesNotExist, ResourceNotFound):
            raise ResourceNotFound(f"Resource not found: '{arn}'") from None

    async def tags(self, arn: str) -> dict[str, str]:
        await self._taggable(arn)
        entry = await self.store.get_metadata("tags", arn)
        return {} if entry is None else msgspec.json.decode(entry.body, type=dict[str, str])

    async def tag(self, arn: str, tags: dict[str, str]) -> None:
        current = await self.tags(arn)
        current.update(tags)
        if len(current) > MAX_TAGS:
            raise TooManyTags(f"Too many tags: a resource takes at most {MAX_TAGS}: '{arn}'")
        entry = MetadataRecord(kind="tags", arn=arn, body=msgspec.json.encode(current).decode())
        await self.store.commit(WriteBatch(metadata=[entry]))

    async def untag(self, arn: str, keys: list[str]) -> None:
        current = await self.tags(arn)
        for key in keys:
            current.pop(key, None)
        entry = MetadataRecord(kind="tags", arn=arn, body=msgspec.json.encode(current).decode())
        await self.store.commit(WriteBatch(metadata=[entry]))
