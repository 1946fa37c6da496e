"""Per-execution and per-state-visit context: the context object, event ids, injected services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from .jsonvalue import json_text

__all__ = ["ExecutionContext", "Frame", "Services", "iso_time"]


class Services(Protocol):
    """Everything non-deterministic the interpreter needs, injected by the runtime."""

    def now(self) -> float:
        """Current time, epoch seconds."""
        ...

    def uuid4(self) -> str: ...

    def random(self) -> float:
        """A float in [0, 1)."""
        ...

    def random_int(self, start: int, end: int) -> int: ...

    def task_token(self) -> str: ...


def iso_time(epoch: float) -> str:
    """ISO-8601 UTC with ``Z`` and millisecond precision, trailing zeros dropped, as AWS prints."""
    dt = datetime.fromtimestamp(epoch, UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    ms = dt.microsecond // 1000
    if ms:
        return f"{base}.{ms:03d}".rstrip("0") + "Z"
    return base + "Z"


class ExecutionContext:
    """What one execution knows about itself. Shared by its branches and iterations."""

    __slots__ = (
        "_start_time",
        "events",
        "execution_arn",
        "execution_name",
        "express",
        "history",
        "input",
        "payload_limit",
        "redrive_count",
        "redrive_time",
        "region",
        "role_arn",
        "services",
        "start_epoch",
        "started_events",
        "state_machine_arn",
        "state_machine_name",
    )

    def __init__(  # positional too: an Express execution builds one per run (no keyword cost)
        self,
        execution_arn: str,
        execution_name: str,
        state_machine_arn: str,
        state_machine_name: str,
        input: Any,
        services: Services,
        start_epoch: float,
        role_arn: str = "arn:aws:iam::111111111111:role/durable",
        express: bool = False,
        redrive_count: int = 0,
        history: list[dict[str, Any]] | None = None,
        first_event_id: int = 1,
        region: str = "us-east-1",
        payload_limit: int | None = 262_144,
    ) -> None:
        self.region = region
        self.payload_limit = payload_limit  # bytes of a state's data (None: no limit)
        self.execution_arn = execution_arn
        self.execution_name = execution_name
        self.state_machine_arn = state_machine_arn
        self.state_machine_name = state_machine_name
        self.input = input
        self.services = services
        self.start_epoch = start_epoch
        self._start_time: str | None = None
        self.role_arn = role_arn
        self.express = express
        self.redrive_count = redrive_count
        self.redrive_time: str | None = None  # ISO time of the last redrive, if any
        self.history = history
        self.events = first_event_id  # id of the last event emitted
        #: task token -> id of the ActivityStarted event a worker's poll recorded (runtime-set)
        self.started_events: dict[str, int] = {}

    def silent(self) -> ExecutionContext:
        """A copy whose events are counted but not recorded: the child executions of a
        Distributed Map keep their own histories, not the parent's."""
        ctx = ExecutionContext.__new__(ExecutionContext)
        for slot in ExecutionContext.__slots__:
            setattr(ctx, slot, getattr(self, slot))
        ctx.history = None
        ctx.events = 0
        return ctx

    def child_execution(self, history: list[dict[str, Any]] | None) -> ExecutionContext:
        """A Distributed Map child execution's context: its events go to ``history`` (None: not
        recorded), numbered from 2 (its ``ExecutionStarted`` is 1)."""
        ctx = ExecutionContext.__new__(ExecutionContext)
        for slot in ExecutionContext.__slots__:
            setattr(ctx, slot, getattr(self, slot))
        ctx.history = history
        ctx.events = 1
        return ctx

    def as_child(self, machine_arn: str) -> ExecutionContext:
        """Make this copy a Distributed Map child's: its state machine is ``machine_arn``
        (``stateMachine:<machine>/<label>``), never redriven; :meth:`child_is` names the child."""
        self.state_machine_arn = machine_arn
        self.state_machine_name = machine_arn.rsplit(":", 1)[-1]
        self.redrive_count, self.redrive_time = 0, None
        return self

    def child_is(self, arn: str, name: str, value: Any, start_epoch: float) -> None:
        """``$$.Execution`` is now the child execution ``arn``'s (its name, input, start)."""
        self.execution_arn, self.execution_name, self.input = arn, name, value
        self.start_epoch, self._start_time = start_epoch, None

    def payload_text(self, value: Any) -> bytes:
        """``value`` as JSON text (:func:`~durable.interpreter.jsonvalue.json_text`); a
        journaled context answers a value it encoded a moment ago without encoding it again."""
        return json_text(value)

    @property
    def start_time(self) -> str:
        if self._start_time is None:
            self._start_time = iso_time(self.start_epoch)
        return self._start_time

    def emit(self, type_: str, previous: int, details_key: str | None = None, details: Any = None) -> int:
        """Count (and, when recording, store) one history event; return its id."""
        self.events += 1
        h = self.history
        if h is not None:
            event: dict[str, Any] = {
                "timestamp": self.services.now(),
                "type": type_,
                "id": self.events,
                "previousEventId": previous,
            }
            if details_key is not None:
                event[details_key] = details
            h.append(event)
        return self.events


class Frame:
    """One visit of one state: what ``$$.State`` and ``$$.Task``/``$$.Map`` show."""

    __slots__ = (
        "_co",
        "assign",
        "assign_input",
        "context_free",
        "ctx",
        "entered_epoch",
        "entered_id",
        "entered_prev",
        "map_item",
        "name",
        "retriable",
        "retry_count",
        "token",
        "vars",
    )

    def __init__(self, ctx: ExecutionContext, name: str, entered_id: int, retriable: bool = False) -> None:
        self.ctx = ctx
        self.retriable = retriable
        self.name = name
        self.entered_id = entered_id
        self.entered_epoch = ctx.services.now()
        self.retry_count = 0
        self.token: str | None = None
        self.map_item: tuple[Any, Any] | None = None
        self._co: dict[str, Any] | None = None
        self.vars: dict[str, Any] = {}  # workflow variables as of state entry
        self.entered_prev = 0  # the event the state's *StateEntered links to
        self.assign: Any = None  # the Assign template chosen for this visit
        self.assign_input: Any = None  # what ``$`` means in it
        #: no JSONata expression of the state can reach ``$states.context`` (it is not built)
        self.context_free = False

    def for_item(self, index: int, value: Any) -> Frame:
        """A copy of this frame whose context object shows ``$$.Map.Item``."""
        f = Frame.__new__(Frame)
        f.ctx, f.name, f.entered_id, f.entered_epoch = (
            self.ctx,
            self.name,
            self.entered_id,
            self.entered_epoch,
        )
        f.retry_count, f.token, f.map_item, f._co = self.retry_count, self.token, (index, value), None
        f.retriable = self.retriable
        f.vars, f.assign, f.assign_input = self.vars, self.assign, self.assign_input
        f.entered_prev = self.entered_prev
        f.context_free = self.context_free
        return f

    def invalidate(self) -> None:
        self._co = None

    def context_object(self) -> dict[str, Any]:
        co = self._co
        if co is not None:
            return co
        ctx = self.ctx
        execution: dict[str, Any] = {
            "Id": ctx.execution_arn,
            "Input": ctx.input,
            "Name": ctx.execution_name,
            "RoleArn": ctx.role_arn,
            "StartTime": ctx.start_time,
        }
        state: dict[str, Any] = {"EnteredTime": iso_time(self.entered_epoch), "Name": self.name}
        if not ctx.express:
            execution["RedriveCount"] = ctx.redrive_count
            if ctx.redrive_time is not None:
                execution["RedriveTime"] = ctx.redrive_time
        if self.retriable:
            state["RetryCount"] = self.retry_count
        co = {
            "Execution": execution,
            "StateMachine": {"Id": ctx.state_machine_arn, "Name": ctx.state_machine_name},
            "State": state,
        }
        if self.token is not None:
            co["Task"] = {"Token": self.token}
        if self.map_item is not None:
            co["Map"] = {"Item": {"Index": self.map_item[0], "Value": self.map_item[1]}}
        self._co = co
        return co
