"""The execution half of the Engine API: start, describe, list, stop, history, task tokens."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import (
    ActivityDoesNotExist,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidOutput,
    InvalidToken,
    TaskDoesNotExist,
    TaskTimedOut,
)
from ..interpreter.data import MAX_PAYLOAD_BYTES
from ..store.base import ActivityRecord, EventRecord, ExecutionRecord, StateMachineRecord, WriteBatch
from .journal import details_key
from .models import Execution, ExecutionStatus, StateMachine, StateMachineType, check_name

if TYPE_CHECKING:
    from ..store.base import Store
    from .clock import Clock
    from .services import RuntimeServices
    from .standard import StandardExecutions

__all__ = [
    "ActivityDoesNotExist",
    "ExecutionNotRedrivable",
    "ExecutionsAPI",
    "InvalidOutput",
    "InvalidToken",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "machine_from",
    "machine_record",
]

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,2048}$")


REDRIVE_PERIOD_SECONDS = 14 * 24 * 3600


def machine_record(machine: StateMachine) -> StateMachineRecord:
    return StateMachineRecord(
        arn=machine.arn,
        name=machine.name,
        type=str(machine.type),
        definition=machine.definition,
        role_arn=machine.role_arn,
        creation_date=machine.creation_date,
    )


def machine_from(record: StateMachineRecord) -> StateMachine:
    return StateMachine(
        record.arn,
        record.name,
        StateMachineType(record.type),
        record.definition,
        record.role_arn,
        record.creation_date,
    )


def execution_from(record: ExecutionRecord) -> Execution:
    return Execution(
        execution_arn=record.arn,
        state_machine_arn=record.state_machine_arn,
        name=record.name,
        status=ExecutionStatus(record.status),
        start_date=record.start_date,
        input=_decode(record.input),
        stop_date=record.stop_date,
        output=None if record.output is None else _decode(record.output),
        error=record.error,
        cause=record.cause,
        redrive_count=record.redrive_count,
        redrive_date=record.redrive_date,
    )


def event_dict(event: EventRecord, include_data: bool = True) -> dict[str, Any]:
    """An AWS ``HistoryEvent`` (``input``/``output`` as JSON text, as the API returns them)."""
    out: dict[str, Any] = {
        "timestamp": event.timestamp,
        "type": event.type,
        "id": event.id,
        "previousEventId": event.previous_event_id,
    }
    if event.details is not None:
        details = _decode(event.details)
        for field in ("input", "output"):
            if field in details:
                if include_data:
                    details[field] = _encode(details[field]).decode()
                else:
                    details.pop(field)
        key = details_key(event.type)
        if key is not None:
            out[key] = details
    return out


class ExecutionsAPI:
    """The execution operations of :class:`~durable.runtime.engine.Engine` (its base class)."""

    store: Store
    standard: StandardExecutions
    clock: Clock
    services: RuntimeServices
    _opened: bool
    _executions: dict[str, Execution]
    _tasks: dict[str, asyncio.Task[Execution]]

    # provided by Engine
    async def open(self) -> None:
        raise NotImplementedError

    async def describe_state_machine(self, arn: str) -> StateMachine:
        raise NotImplementedError

    def _input(self, input: Any, input_json: str | bytes | None) -> Any:
        raise NotImplementedError

    def _execution_arn(self, machine: StateMachine, name: str) -> str:
        raise NotImplementedError

    async def _run(
        self, machine: StateMachine, value: Any, name: str, arn: str, *, sync: bool, record_history: bool
    ) -> Execution:
        raise NotImplementedError

    async def _ensure_open(self) -> None:
        if not self._opened:
            await self.open()

    async def start_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
    ) -> Execution:
        """Start an execution (AWS ``StartExecution``) and return it RUNNING.

        A STANDARD execution is durable: its start is committed to the store before this
        returns, and it resumes after a crash. An EXPRESS one runs in memory.
        """
        await self._ensure_open()
        machine = await self.describe_state_machine(state_machine_arn)
        value = self._input(input, input_json)
        exec_name = name or self.services.uuid4()
        check_name(exec_name)
        arn = self._execution_arn(machine, exec_name)
        if machine.type is StateMachineType.EXPRESS:
            placeholder = Execution(
                arn, machine.arn, exec_name, ExecutionStatus.RUNNING, self.clock.now(), value
            )
            self._executions[arn] = placeholder

            async def run() -> Execution:
                result = await self._run(machine, value, exec_name, arn, sync=False, record_history=False)
                self._executions[arn] = result
                return result

            self._tasks[arn] = asyncio.ensure_future(run())
            return placeholder
        text = _encode(value).decode()
        existing = await self.store.get_execution(arn) if name else None  # generated names are unique
        if existing is not None:
            if existing.status == "RUNNING" and _decode(existing.input) == value:
                return execution_from(existing)
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=machine.arn,
            name=exec_name,
            status="RUNNING",
            start_date=self.clock.now(),
            input=text,
            definition=machine.definition,
        )
        await self.standard.start_execution(record, machine.name, machine.role_arn)
        return execution_from(record)

    async def describe_execution(self, execution_arn: str) -> Execution:
        express = self._executions.get(execution_arn)
        if express is not None:
            return express
        await self._ensure_open()
        record = await self.store.get_execution(execution_arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        return execution_from(record)

    async def wait_for_execution(self, execution_arn: str) -> Execution:
        """Wait until the execution stops; return its final record."""
        task = self._tasks.get(execution_arn)
        if task is not None:
            try:
                return await asyncio.shield(task)
            finally:
                if task.done():
                    self._tasks.pop(execution_arn, None)
        record = await self.standard.wait(execution_arn)
        if record is None:
            return await self.describe_execution(execution_arn)  # Express, or raises
        return execution_from(record)

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int | None = None,
    ) -> list[Execution]:
        """Executions newest first (Standard ones from the store, then in-memory Express ones)."""
        out: list[Execution] = []
        token: str | None = None
        while max_results is None or len(out) < max_results:
            page, token = await self.list_executions_page(
                state_machine_arn, status, max_results=1000, next_token=token
            )
            out.extend(page)
            if token is None:
                break
        out.extend(
            e
            for e in self._executions.values()
            if (state_machine_arn is None or e.state_machine_arn == state_machine_arn)
            and (status is None or str(e.status) == status)
        )
        return out if max_results is None else out[:max_results]

    async def list_executions_page(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[Execution], str | None]:
        """One page of Standard executions, newest first (AWS ``ListExecutions``)."""
        await self._ensure_open()
        records, token = await self.store.list_executions(state_machine_arn, status, max_results, next_token)
        return [execution_from(r) for r in records], token

    async def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False, include_execution_data: bool = True
    ) -> list[dict[str, Any]]:
        """Every history event of an execution, in AWS's ``HistoryEvent`` shape."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page, token = await self.get_execution_history_page(
                execution_arn,
                reverse_order=reverse_order,
                max_results=1000,
                next_token=token,
                include_execution_data=include_execution_data,
            )
            events.extend(page)
            if token is None:
                return events

    async def get_execution_history_page(
        self,
        execution_arn: str,
        *,
        reverse_order: bool = False,
        max_results: int = 1000,
        next_token: str | None = None,
        include_execution_data: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of AWS ``GetExecutionHistory``."""
        await self.describe_execution(execution_arn)
        events, token = await self.store.events(
            execution_arn, reverse=reverse_order, limit=max_results, next_token=next_token
        )
        return [event_dict(e, include_execution_data) for e in events], token

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> Execution:
        """Abort a running Standard execution (AWS ``StopExecution``)."""
        await self.describe_execution(execution_arn)
        await self.standard.stop(execution_arn, "ABORTED", error, cause)
        return await self.describe_execution(execution_arn)

    async def redrive_execution(self, execution_arn: str) -> Execution:
        """Redrive a FAILED, ABORTED or TIMED_OUT Standard execution (AWS ``RedriveExecution``)."""
        await self._ensure_open()
        record = await self.store.get_execution(execution_arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        if record.status in ("RUNNING", "SUCCEEDED"):
            raise ExecutionNotRedrivable(
                f"Execution is {record.status} and cannot be redriven: '{execution_arn}'"
            )
        if record.stop_date is not None and self.clock.now() - record.stop_date > REDRIVE_PERIOD_SECONDS:
            raise ExecutionNotRedrivable(f"Execution redrivable period exceeded: '{execution_arn}'")
        return execution_from(await self.standard.redrive(record))

    # -- task tokens ----------------------------------------------------------------------------
    async def _open_token(self, token: str) -> Any:
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise InvalidToken("Invalid token")
        await self._ensure_open()
        record = await self.store.get_token(token)
        if record is None:
            raise TaskDoesNotExist("Task does not exist anymore")
        if record.closed:
            raise TaskTimedOut("Task Timed Out")
        return record

    async def send_task_success(
        self, task_token: str, output: Any = None, *, output_json: str | None = None
    ) -> None:
        record = await self._open_token(task_token)
        if output_json is not None:
            if len(output_json.encode()) > MAX_PAYLOAD_BYTES:
                raise InvalidOutput("Output exceeds the maximum size of 262144 bytes")
            try:
                value = _decode(output_json.encode())
            except msgspec.DecodeError as exc:
                raise InvalidOutput(f"Invalid output: {exc}") from None
        else:
            try:
                encoded = _encode(output)
            except (TypeError, msgspec.EncodeError) as exc:
                raise InvalidOutput(f"Invalid output: {exc}") from None
            if len(encoded) > MAX_PAYLOAD_BYTES:
                raise InvalidOutput("Output exceeds the maximum size of 262144 bytes")
            value = _decode(encoded)
        await self.standard.complete_token(record, True, value)

    async def send_task_failure(
        self, task_token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        record = await self._open_token(task_token)
        await self.standard.complete_token(record, False, [error, cause])

    async def send_task_heartbeat(self, task_token: str) -> None:
        record = await self._open_token(task_token)
        await self.standard.heartbeat(record)

    # -- activities ----------------------------------------------------------------------------------
    def _activity_arn(self, name: str) -> str:
        raise NotImplementedError

    async def create_activity(self, name: str) -> ActivityRecord:
        """Create (or return the existing) activity ``name`` (AWS ``CreateActivity``)."""
        check_name(name)
        await self._ensure_open()
        arn = self._activity_arn(name)
        existing = await self.store.get_activity(arn)
        if existing is not None:
            return existing
        record = ActivityRecord(arn=arn, name=name, creation_date=self.clock.now())
        await self.store.commit(WriteBatch(activities=[record]))
        return record

    async def describe_activity(self, activity_arn: str) -> ActivityRecord:
        await self._ensure_open()
        record = await self.store.get_activity(activity_arn)
        if record is None:
            raise ActivityDoesNotExist(f"Activity Does Not Exist: '{activity_arn}'")
        return record

    async def list_activities(self) -> list[ActivityRecord]:
        await self._ensure_open()
        return await self.store.list_activities()

    async def delete_activity(self, activity_arn: str) -> None:
        await self._ensure_open()
        await self.store.commit(WriteBatch(deleted_activities=[activity_arn]))

    async def get_activity_task(
        self, activity_arn: str, *, worker_name: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any] | None:
        """Long-poll for a task of the activity (AWS ``GetActivityTask``, up to 60 s).

        Returns ``{"taskToken": ..., "input": <JSON text>}``, or None when nothing arrived.
        """
        await self.describe_activity(activity_arn)
        until = self.clock.now() + min(max(timeout, 0.0), 60.0)
        while True:
            task = await self.standard.take_activity_task(activity_arn, worker_name)
            if task is not None:
                return {"taskToken": task.token, "input": task.input}
            if self.clock.now() >= until:
                return None
            await self.standard.wait_for_activity(activity_arn, until)
