"""The embedded engine: state machines, integrations and executions behind one async API."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from ..errors import (
    DefinitionError,
    Diagnostic,
    InvalidArn,
    InvalidExecutionInput,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    ValidationError,
)
from ..integrations.base import Integration
from ..integrations.functions import ErrorFormat, FunctionIntegration
from ..integrations.registry import IntegrationRegistry
from ..interpreter.data import MAX_PAYLOAD_BYTES
from ..interpreter.program import Program, compile_program, parse_definition
from ..interpreter.validate import validate_definition
from ..store.base import Store, WriteBatch
from .clock import Clock, SystemClock
from .driver import Driver
from .executions import ExecutionsAPI, machine_record
from .executions import machine_from as _machine_from
from .executor import EXPRESS_MAX_SECONDS, run_in_memory
from .models import Execution, StateMachine, StateMachineType, check_name
from .services import RuntimeServices
from .standard import StandardExecutions

__all__ = ["Engine", "ValidationResult"]

F = TypeVar("F", bound=Callable[..., Any])

_encode = msgspec.json.encode
_decode = msgspec.json.decode


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


def parse_input(text: str | bytes) -> Any:
    """Execution input as AWS parses it; errors worded as AWS (Jackson) words them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'Input size exceeds the maximum of 262144 bytes.'"
        )
    if not text.strip():
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'Invalid execution input.'")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{_jackson(exc)}'") from None


def _no_constant(name: str) -> Any:
    raise InvalidExecutionInput(
        f"Invalid State Machine Execution Input: 'Non-standard token '{name}': enable "
        "JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to allow'"
    )


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


def _jackson(exc: json.JSONDecodeError) -> str:
    doc, pos = exc.doc, exc.pos
    ch = doc[pos] if pos < len(doc) else ""
    if not ch:
        return "Unexpected end-of-input: expected close marker for Object"
    if exc.msg.startswith("Expecting property name"):
        return (
            f"Unexpected character ('{ch}' (code {ord(ch)})): was expecting double-quote to start field name"
        )
    if exc.msg == "Expecting value" and ch:
        word = re.match(r"[^\s\[\]{},:\"]+", doc[pos:])
        token = word.group(0) if word else ch
        return (
            f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token "
            "'null', 'true' or 'false')"
        )
    return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"


class Engine(ExecutionsAPI):
    """An embedded Step Functions engine.

    ``async with Engine() as engine:`` — register local functions, create state machines
    from ASL definitions (text or dict) and run executions. Time, ids and randomness come
    from the injected ``clock`` and ``seed`` (tests pass a :class:`ManualClock`).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "111111111111",
        role_arn: str | None = None,
        seed: int | None = None,
        load_plugins: bool = True,
        express_max_seconds: float = EXPRESS_MAX_SECONDS,
        store: Store | None = None,
    ) -> None:
        self.url = url
        self.clock: Clock = clock or SystemClock()
        self.region = region
        self.account = account
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/DurableExecutionRole"
        self.express_max_seconds = express_max_seconds
        self.functions = FunctionIntegration()
        self.registry = IntegrationRegistry([self.functions], load_entry_points=load_plugins)
        self.services = RuntimeServices(self.clock, seed)
        self.driver = Driver(self.clock, self.registry, region, account)
        self._machines: dict[str, StateMachine] = {}
        self._programs: dict[tuple[str, str], Program] = {}
        self._executions: dict[str, Execution] = {}
        self._tasks: dict[str, asyncio.Task[Execution]] = {}
        self._opened = False
        if store is None:
            if url is None or url == "memory://":
                from ..store.memory import MemoryStore

                store = MemoryStore()
            else:
                from ..store.url import open_store

                store = open_store(url)
        self.store: Store = store
        self.standard = StandardExecutions(
            self.store, self.driver, self.clock, lambda text: self.compile(text, "STANDARD")
        )

    # -- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the store, load state machines, and resume every running Standard execution."""
        if self._opened:
            return
        self._opened = True
        await self.store.open()
        for record in await self.store.list_state_machines():
            self._machines[record.arn] = _machine_from(record)
        await self.standard.start()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._opened:
            await self.standard.close()
            await self.store.close()
            self._opened = False
        self.functions.threads.shutdown()

    # -- integrations ----------------------------------------------------------------------
    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        blocking: bool = True,
        error_format: ErrorFormat = "message",
    ) -> None:
        """Make ``fn(event, context)`` answer the Lambda function ``name`` (a name or an ARN)."""
        self.functions.register(name, fn, blocking=blocking, error_format=error_format)

    def function(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Decorator form of :meth:`register_function`."""

        def deco(fn: F) -> F:
            self.register_function(name or fn.__name__, fn, **options)
            return fn

        return deco

    def add_integration(self, integration: Integration) -> None:
        self.registry.add(integration)

    # -- state machines ----------------------------------------------------------------------
    def _arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def _activity_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:activity:{name}"

    def compile(self, definition: str | bytes | dict[str, Any], type: str = "STANDARD") -> Program:
        """Validate and compile a definition (cached by text and type)."""
        if isinstance(definition, str):
            cached = self._programs.get((definition, type))
            if cached is not None:
                return cached
        doc, text = parse_definition(definition)
        key = (text, type)
        program = self._programs.get(key)
        if program is None:
            program = compile_program(doc, type)
            self._programs[key] = program
        return program

    def validate_state_machine_definition(
        self, definition: str | bytes | dict[str, Any], type: str = "STANDARD"
    ) -> ValidationResult:
        try:
            doc, _ = parse_definition(definition)
        except DefinitionError as exc:
            return ValidationResult("FAIL", exc.diagnostics)
        if isinstance(definition, (str, bytes)) and not isinstance(doc, dict):
            found: tuple[Diagnostic, ...] = (
                Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object"),
            )
        else:
            found = tuple(validate_definition(doc, machine_type=type))
        return ValidationResult("FAIL" if found else "OK", found)

    async def create_state_machine(
        self,
        name: str,
        definition: str | bytes | dict[str, Any],
        *,
        type: str = "STANDARD",
        role_arn: str | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> StateMachine:
        if version_description is not None and not publish:
            raise ValidationError("Version description can only be set when publish is true")
        check_name(name)
        kind = StateMachineType(type)
        program = self.compile(definition, kind.value)
        arn = self._arn(name)
        role = role_arn or self.role_arn
        existing = self._machines.get(arn)
        if existing is not None:
            if existing.definition == program.text and existing.role_arn == role and existing.type is kind:
                return existing
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        machine = StateMachine(arn, name, kind, program.text, role, self.clock.now())
        await self._ensure_open()
        await self.store.commit(WriteBatch(state_machines=[machine_record(machine)]))
        self._machines[arn] = machine
        return machine

    async def update_state_machine(
        self, arn: str, *, definition: str | bytes | dict[str, Any] | None = None, role_arn: str | None = None
    ) -> StateMachine:
        machine = await self.describe_state_machine(arn)
        if definition is not None:
            machine.definition = self.compile(definition, machine.type.value).text
        if role_arn is not None:
            machine.role_arn = role_arn
        await self._ensure_open()
        await self.store.commit(WriteBatch(state_machines=[machine_record(machine)]))
        return machine

    async def describe_state_machine(self, arn: str) -> StateMachine:
        return self._machine(arn)

    def _machine(self, arn: str) -> StateMachine:
        machine = self._machines.get(arn)
        if machine is None:
            if ":stateMachine:" not in arn:
                raise InvalidArn(f"Invalid Arn: '{arn}'")
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return machine

    async def list_state_machines(self) -> list[StateMachine]:
        return sorted(self._machines.values(), key=lambda m: m.name)

    async def delete_state_machine(self, arn: str) -> None:
        if self._machines.pop(arn, None) is not None:
            await self._ensure_open()
            await self.store.commit(WriteBatch(deleted_state_machines=[arn]))

    # -- executions --------------------------------------------------------------------------
    def _input(self, input: Any, input_json: str | bytes | None) -> Any:
        """The execution input as an owned JSON value (a copy: callers may mutate theirs)."""
        if input_json is not None:
            return parse_input(input_json)
        if input is None:
            return {}
        try:
            text = _encode(input)
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
        if len(text) > MAX_PAYLOAD_BYTES:
            raise InvalidExecutionInput(
                "Invalid State Machine Execution Input: 'Input size exceeds the maximum of 262144 bytes.'"
            )
        if b"null" in text and not _finite(input):  # msgspec writes NaN/Infinity as null
            raise InvalidExecutionInput(
                "Invalid State Machine Execution Input: 'NaN and Infinity are not JSON'"
            )
        return _decode(text)

    async def start_sync_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
        record_history: bool = False,
    ) -> Execution:
        """Run an EXPRESS execution to completion (AWS ``StartSyncExecution``)."""
        machine = self._machines.get(state_machine_arn) or self._machine(state_machine_arn)
        if machine.type is not StateMachineType.EXPRESS:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        value = self._input(input, input_json)
        exec_name = name or self.services.uuid4()
        check_name(exec_name)
        arn = self._execution_arn(machine, exec_name)
        return await self._run(machine, value, exec_name, arn, sync=True, record_history=record_history)

    def _execution_arn(self, machine: StateMachine, name: str) -> str:
        if machine.type is StateMachineType.EXPRESS:
            return (
                f"arn:aws:states:{self.region}:{self.account}:express:{machine.name}:{name}:"
                f"{self.services.uuid4()}"
            )
        return f"arn:aws:states:{self.region}:{self.account}:execution:{machine.name}:{name}"

    async def _run(
        self,
        machine: StateMachine,
        value: Any,
        name: str,
        arn: str,
        *,
        sync: bool,
        record_history: bool,
    ) -> Execution:
        program = self.compile(machine.definition, machine.type.value)
        express = machine.type is StateMachineType.EXPRESS
        return await run_in_memory(
            self.driver,
            self.services,
            program,
            machine,
            execution_arn=arn,
            name=name,
            input=value,
            express=express and sync,
            max_seconds=self.express_max_seconds if express else None,
            record_history=record_history,
        )
