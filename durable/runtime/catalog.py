"""State machines, activities and compiled definitions of one database.

Shared by the executing engine and clients. A client's change to a state machine also records a
MACHINE request, so that an engine running elsewhere drops what it cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import (
    ActivityDoesNotExist,
    DefinitionError,
    Diagnostic,
    InvalidArn,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    ValidationError,
)
from ..interpreter.jsonata import use_compile_cache
from ..interpreter.program import Program, compile_program, parse_definition
from ..interpreter.quotas import Quotas
from ..interpreter.validate import validate_definition
from ..interpreter.validate_warnings import definition_warnings
from ..store.base import ActivityRecord, StateMachineRecord, Store, WriteBatch
from .clock import Clock
from .models import Activity, StateMachine, StateMachineType, check_name, epoch, machine_type, utc
from .requests import RequestKind, Requests

__all__ = ["Catalog", "ValidationResult", "activity_from", "machine_from", "machine_record", "validate"]

# jsonatapy binds a compiled expression to the thread that compiled it (and it must be dropped
# there): engines running in several threads of one process each keep their own (see
# interpreter.jsonata); a thread's cache goes with the thread
_THREAD = threading.local()


def _thread_cache() -> dict[str, Any]:
    cache: dict[str, Any] | None = getattr(_THREAD, "jsonata", None)
    if cache is None:
        cache = _THREAD.jsonata = {}
    return cache


use_compile_cache(_thread_cache)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    result: str  # "OK" | "FAIL"
    diagnostics: tuple[Diagnostic, ...]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "truncated": self.truncated,
        }


MAX_DIAGNOSTICS = 100  # AWS: ValidateStateMachineDefinition returns at most 100 diagnostics


def _result(found: Sequence[Diagnostic], max_results: int) -> ValidationResult:
    limit = max_results or MAX_DIAGNOSTICS
    failed = any(d.severity == "ERROR" for d in found)
    return ValidationResult("FAIL" if failed else "OK", tuple(found[:limit]), len(found) > limit)


def machine_record(machine: StateMachine) -> StateMachineRecord:
    return StateMachineRecord(
        arn=machine.arn,
        name=machine.name,
        type=str(machine.type),
        definition=machine.definition,
        role_arn=machine.role_arn,
        creation_date=epoch(machine.creation_date),
    )


def machine_from(record: StateMachineRecord) -> StateMachine:
    return StateMachine(
        record.arn,
        record.name,
        StateMachineType(record.type),
        record.definition,
        record.role_arn,
        utc(record.creation_date),
    )


def activity_from(record: ActivityRecord) -> Activity:
    return Activity(record.arn, record.name, utc(record.creation_date))


def _check_size(text: str, quotas: Quotas) -> None:
    limit = quotas.definition_bytes
    if limit is not None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise ValidationError(
                "1 validation error detected: Value at 'definition' failed to satisfy constraint: "
                f"Member must have length less than or equal to {limit}"
            )


def validate(
    definition: str | bytes | dict[str, Any],
    type: StateMachineType | str = "STANDARD",
    *,
    severity: str = "ERROR",
    max_results: int = MAX_DIAGNOSTICS,
    quotas: Quotas | None = None,
) -> ValidationResult:
    """AWS ``ValidateStateMachineDefinition``, as a plain call (no engine, no event loop): the
    ERROR diagnostics (``severity="WARNING"``: and the warnings NO_DOLLAR, NO_PATH,
    PASS_RESULT_IS_STATIC), at most ``max_results`` of them (0 means the default, 100;
    ``truncated`` when there were more). The result is FAIL when there is an error, warnings or
    not. ``type`` is ``"STANDARD"`` or ``"EXPRESS"`` (any case) or a :class:`StateMachineType`."""
    kind = machine_type(type)
    if severity not in ("ERROR", "WARNING"):
        raise ValidationError(
            f"1 validation error detected: Value '{severity}' at 'severity' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ERROR, WARNING]"
        )
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 0 <= max_results <= 100:
        raise ValidationError(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 100"
        )
    try:
        doc, text = parse_definition(definition)
    except DefinitionError as exc:
        return _result(exc.diagnostics, max_results)
    _check_size(text, quotas or Quotas())
    if isinstance(definition, (str, bytes)) and not isinstance(doc, dict):
        errors = [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
    else:
        errors = validate_definition(doc, machine_type=kind.value)
    warnings = definition_warnings(doc) if severity == "WARNING" else []
    return _result([*errors, *warnings], max_results)


def _submitted_text(definition: str | bytes | dict[str, Any], program: Program) -> str:
    """The definition as the caller sent it (AWS stores and describes it verbatim); a Python
    object is stored as its compact JSON."""
    if isinstance(definition, str):
        return definition
    if isinstance(definition, bytes):
        return definition.decode("utf-8")
    return program.text


class Catalog:
    """State machines (cached by an executing engine), activities, compiled programs."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        requests: Requests,
        *,
        region: str,
        account: str,
        role_arn: str,
        cache: bool,
        quotas: Quotas | None = None,
    ) -> None:
        self.store = store
        self.quotas = quotas or Quotas()
        self.clock = clock
        self.requests = requests
        self.region = region
        self.account = account
        self.role_arn = role_arn
        self._cache: dict[str, StateMachine] | None = {} if cache else None
        self._programs: dict[tuple[str, str], Program] = {}

    # -- ARNs ---------------------------------------------------------------------------------------
    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def activity_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:activity:{name}"

    # -- definitions --------------------------------------------------------------------------------
    def compile(
        self, definition: str | bytes | dict[str, Any], type: StateMachineType | str = "STANDARD"
    ) -> Program:
        """Validate and compile a definition (cached by text and type)."""
        if isinstance(definition, str):
            cached = self._programs.get((definition, type))
            if cached is not None:
                return cached
        kind = machine_type(type).value
        doc, text = parse_definition(definition)
        _check_size(text, self.quotas)
        key = (text, kind)
        program = self._programs.get(key)
        if program is None:
            program = compile_program(doc, kind)
            self._programs[key] = program
        return program

    def validate(
        self,
        definition: str | bytes | dict[str, Any],
        type: StateMachineType | str = "STANDARD",
        *,
        severity: str = "ERROR",
        max_results: int = MAX_DIAGNOSTICS,
    ) -> ValidationResult:
        """:func:`validate` under this database's quotas."""
        return validate(definition, type, severity=severity, max_results=max_results, quotas=self.quotas)

    # -- state machines -----------------------------------------------------------------------------
    async def _put(self, machine: StateMachine) -> None:
        batch = WriteBatch(state_machines=[machine_record(machine)])
        await self._announce(batch, machine.arn)
        if self._cache is not None:
            self._cache[machine.arn] = machine

    async def _announce(self, batch: WriteBatch, arn: str) -> None:
        local = self.requests.local
        if local is None or not local.active:  # tell the engine that executes the database
            batch.requests.append(self.requests.request(arn, RequestKind.MACHINE))
        await self.requests.commit(batch)

    def forget(self, arn: str) -> None:
        """Drop a cached state machine (changed by another process)."""
        if self._cache is not None:
            self._cache.pop(arn, None)

    async def load(self) -> None:
        if self._cache is not None:
            for record in await self.store.list_state_machines():
                self._cache[record.arn] = machine_from(record)

    async def create_state_machine(
        self,
        name: str,
        definition: str | bytes | dict[str, Any],
        *,
        type: StateMachineType | str = "STANDARD",
        role_arn: str | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> StateMachine:
        if version_description is not None and not publish:
            raise ValidationError("Version description can only be set when publish is true")
        check_name(name)
        kind = machine_type(type)
        program = self.compile(definition, kind.value)
        text = _submitted_text(definition, program)
        arn = self.state_machine_arn(name)
        role = role_arn or self.role_arn
        existing = await self.find(arn)
        if existing is not None:
            # AWS: idempotent on the name, the definition *as sent* (the same JSON formatted
            # differently is a conflict, recorded) and the type; a different role
            # (or tags) is ignored and not updated
            if existing.definition == text and existing.type is kind:
                return existing
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        machine = StateMachine(arn, name, kind, text, role, utc(self.clock.now()))
        await self._put(machine)
        return machine

    async def update_state_machine(
        self, arn: str, *, definition: str | bytes | dict[str, Any] | None = None, role_arn: str | None = None
    ) -> StateMachine:
        machine = await self.describe_state_machine(arn)
        if definition is not None:
            machine.definition = _submitted_text(definition, self.compile(definition, machine.type.value))
        if role_arn is not None:
            machine.role_arn = role_arn
        await self._put(machine)
        return machine

    async def find(self, arn: str) -> StateMachine | None:
        if self._cache is not None:
            cached = self._cache.get(arn)
            if cached is not None:
                return cached
        record = await self.store.get_state_machine(arn)
        if record is None:
            return None
        machine = machine_from(record)
        if self._cache is not None:
            self._cache[arn] = machine
        return machine

    def cached(self, arn: str) -> StateMachine | None:
        return self._cache.get(arn) if self._cache is not None else None

    async def describe_state_machine(self, arn: str) -> StateMachine:
        machine = await self.find(arn)
        if machine is None:
            if ":stateMachine:" not in arn:
                raise InvalidArn(f"Invalid Arn: '{arn}'")
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return machine

    async def list_state_machines(self) -> list[StateMachine]:
        records = await self.store.list_state_machines()
        return sorted((machine_from(r) for r in records), key=lambda m: m.name)

    async def delete_state_machine(self, arn: str) -> None:
        if await self.find(arn) is not None:
            await self._announce(WriteBatch(deleted_state_machines=[arn]), arn)
            self.forget(arn)

    # -- activities ---------------------------------------------------------------------------------
    async def create_activity(self, name: str) -> Activity:
        """Create (or return the existing) activity ``name`` (AWS ``CreateActivity``)."""
        check_name(name)
        arn = self.activity_arn(name)
        existing = await self.store.get_activity(arn)
        if existing is not None:
            return activity_from(existing)
        record = ActivityRecord(arn=arn, name=name, creation_date=self.clock.now())
        await self.store.commit(WriteBatch(activities=[record]))
        return activity_from(record)

    async def describe_activity(self, activity_arn: str) -> Activity:
        record = await self.store.get_activity(activity_arn)
        if record is None:
            raise ActivityDoesNotExist(f"Activity Does Not Exist: '{activity_arn}'")
        return activity_from(record)

    async def list_activities(self) -> list[Activity]:
        return [activity_from(r) for r in await self.store.list_activities()]

    async def delete_activity(self, activity_arn: str) -> None:
        await self.store.commit(WriteBatch(deleted_activities=[activity_arn]))
