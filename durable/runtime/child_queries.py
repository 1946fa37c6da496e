"""Reading a Map Run's child executions: describe, list, their history and state machine.

A child run by a Fork has its own history events stored with it; a STANDARD child run in
place (pure states) has none stored, and its history is derived when asked by running the
processor again over the child's stored input — the interpreter is pure and these states do
nothing but compute, so the events are the ones the run made. Their timestamps are not
recorded: ``ExecutionStarted`` and the states' events carry the child's start date and the
final event its stop date (children run in place are stamped with the checkpoint times
around them, within 20 ms). An EXPRESS child keeps no history, as on AWS.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import ExecutionDoesNotExist
from ..interpreter.context import ExecutionContext
from ..interpreter.distributed import child_machine_arn
from ..interpreter.map_inplace import ChildServices
from ..interpreter.program import Program, compile_program
from ..interpreter.states import Lane
from ..store.base import ChildExecutionRecord, EventRecord, Store
from .children import PROCESSOR_KIND
from .models import Execution, ExecutionStatus, StateMachine, StateMachineType, utc

__all__ = ["ChildQueries", "child_execution"]

_decode = msgspec.json.decode
_encode = msgspec.json.encode
_FINAL = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}


def child_execution(row: ChildExecutionRecord) -> Execution:
    return Execution(
        execution_arn=row.arn,
        state_machine_arn=child_machine_arn(row.map_run_arn),
        name=row.name,
        status=ExecutionStatus(row.status),
        start_date=utc(row.start_date),
        input=_decode(row.input),
        stop_date=None if row.stop_date is None else utc(row.stop_date),
        output=None if row.output is None else _decode(row.output),
        error=row.error,
        cause=row.cause,
        map_run_arn=row.map_run_arn,
        item_count=row.item_count,
    )


class _Replay:
    """The clock of a derived history: the child's start date (its ids and random numbers come
    from :class:`~durable.interpreter.map_inplace.ChildServices`, as when it ran)."""

    __slots__ = ("when",)

    def __init__(self, when: float) -> None:
        self.when = when

    def now(self) -> float:
        return self.when

    def uuid4(self) -> str:
        raise AssertionError("a child run in place draws from ChildServices")

    def random(self) -> float:
        raise AssertionError("a child run in place draws from ChildServices")

    def random_int(self, start: int, end: int) -> int:
        raise AssertionError("a child run in place draws from ChildServices")

    def task_token(self) -> str:
        raise AssertionError("a child run in place has no task")


class ChildQueries:
    """Store reads of Map Run children (shared by the engine and clients)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._programs: dict[str, Program] = {}

    async def get(self, arn: str) -> ChildExecutionRecord | None:
        if ":execution:" not in arn or "/" not in arn.rsplit(":", 2)[-2]:
            return None  # a child's ARN names its machine as <machine>/<label>
        return await self.store.get_child_execution(arn)

    async def _processor(self, map_run_arn: str) -> dict[str, Any]:
        entry = await self.store.get_metadata(PROCESSOR_KIND, map_run_arn)
        if entry is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{map_run_arn}'")
        body: dict[str, Any] = _decode(entry.body)
        return body

    async def state_machine(self, row: ChildExecutionRecord) -> StateMachine:
        """DescribeStateMachineForExecution of a child: the processor as a state machine."""
        processor = await self._processor(row.map_run_arn)
        role, created = await self._role(row)
        arn = child_machine_arn(row.map_run_arn)
        machine = StateMachine(
            arn=arn,
            name=arn.rsplit(":", 1)[1],
            type=StateMachineType(processor["executionType"]),
            definition=processor["definition"],
            role_arn=role,
            creation_date=utc(created),
        )
        machine.map_run_arn = row.map_run_arn
        machine.label = processor["label"]
        return machine

    async def history(self, row: ChildExecutionRecord) -> list[EventRecord]:
        """The child's own history, ids from 1 (ExecutionDoesNotExist for an EXPRESS child)."""
        processor = await self._processor(row.map_run_arn)
        if processor["executionType"] != "STANDARD":
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{row.arn}'")
        start = row.start_date
        stop = row.stop_date if row.stop_date is not None else start
        role, _ = await self._role(row)
        if row.history is not None:
            states: list[dict[str, Any]] = _decode(row.history)
        elif row.status in ("SUCCEEDED", "FAILED"):
            states = await self._derive(row, processor["definition"])
        else:
            states = []
        events = [
            EventRecord(
                execution_arn=row.arn,
                id=1,
                type="ExecutionStarted",
                previous_event_id=0,
                timestamp=start,
                details=_encode(
                    {
                        "input": msgspec.Raw(row.input.encode()),
                        "inputDetails": {"truncated": False},
                        "roleArn": role,
                        "stateMachineArn": child_machine_arn(row.map_run_arn),
                    }
                ).decode(),
            )
        ]
        last = 1
        for event in states:
            details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
            when = min(max(float(event["timestamp"]), start), stop)
            events.append(
                EventRecord(
                    execution_arn=row.arn,
                    id=int(event["id"]),
                    type=str(event["type"]),
                    previous_event_id=int(event["previousEventId"]),
                    timestamp=when,
                    details=_encode(next(iter(details.values()))).decode() if details else None,
                )
            )
            last = int(event["id"])
        final = _FINAL.get(row.status)
        if final is not None:
            if row.status == "SUCCEEDED":
                end: dict[str, Any] = {
                    "output": msgspec.Raw((row.output or "null").encode()),
                    "outputDetails": {"truncated": False},
                }
            else:
                end = {k: v for k, v in (("error", row.error), ("cause", row.cause)) if v is not None}
            events.append(
                EventRecord(
                    execution_arn=row.arn,
                    id=last + 1,
                    type=final,
                    previous_event_id=last,
                    timestamp=stop,
                    details=_encode(end).decode(),
                )
            )
        return events

    async def _derive(self, row: ChildExecutionRecord, definition: str) -> list[dict[str, Any]]:
        """The states' events of a child run in place: its processor run again over its input,
        in the context it ran in (its own ``$$.Execution``, its start date, the ids and random
        numbers its seed gives)."""
        program = self._programs.get(definition)
        if program is None:
            program = self._programs[definition] = compile_program(_decode(definition), "STANDARD")
        if not program.pure:
            return []
        role, _ = await self._role(row)
        history: list[dict[str, Any]] = []
        machine_arn = child_machine_arn(row.map_run_arn)
        ctx = ExecutionContext(
            row.arn,
            row.name,
            machine_arn,
            machine_arn.rsplit(":", 1)[1],
            _decode(row.input),
            ChildServices(_Replay(row.start_date), row.map_run_arn).at(row.index),
            row.start_date,
            role_arn=role,
            history=history,
        )
        try:
            program.scope.run_sync(_decode(row.input), ctx, Lane(1))  # after ExecutionStarted
        except Exception:  # the failure's events are in the history already
            pass
        return history

    async def _role(self, row: ChildExecutionRecord) -> tuple[str, float]:
        """The parent's role and state machine creation date (what the child machine has)."""
        parent = await self.store.get_execution(row.execution_arn)
        machine = None if parent is None else await self.store.get_state_machine(parent.state_machine_arn)
        if machine is None:
            return "", row.start_date
        return machine.role_arn, machine.creation_date
