"""Record factories for the store tests."""

from __future__ import annotations

from typing import Any

from durable.store import (
    ActivityRecord,
    ActivityTaskRecord,
    EventRecord,
    ExecutionRecord,
    JournalRecord,
    StateMachineRecord,
    TimerRecord,
    TokenRecord,
)

REGION = "arn:aws:states:us-east-1:123456789012"
DEFINITION = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'


def sm_arn(name: str) -> str:
    return f"{REGION}:stateMachine:{name}"


def exec_arn(name: str, machine: str = "m") -> str:
    return f"{REGION}:execution:{machine}:{name}"


def machine(name: str = "m", **kw: Any) -> StateMachineRecord:
    fields: dict[str, Any] = {
        "arn": sm_arn(name),
        "name": name,
        "type": "STANDARD",
        "definition": DEFINITION,
        "role_arn": "arn:aws:iam::123456789012:role/r",
        "creation_date": 1.0,
    }
    fields.update(kw)
    return StateMachineRecord(**fields)


def execution(name: str, machine: str = "m", **kw: Any) -> ExecutionRecord:
    fields: dict[str, Any] = {
        "arn": exec_arn(name, machine),
        "state_machine_arn": sm_arn(machine),
        "name": name,
        "status": "RUNNING",
        "start_date": 100.0,
        "input": '{"x": 1}',
        "definition": DEFINITION,
    }
    fields.update(kw)
    return ExecutionRecord(**fields)


def event(arn: str, id: int, type: str = "PassStateEntered", **kw: Any) -> EventRecord:
    fields: dict[str, Any] = {
        "execution_arn": arn,
        "id": id,
        "type": type,
        "previous_event_id": id - 1,
        "timestamp": 100.0 + id,
        "details": f'{{"name":"P","input":"{id}"}}',
    }
    fields.update(kw)
    return EventRecord(**fields)


def entry(arn: str, lane: str, seq: int, kind: str = "result", payload: str = "{}") -> JournalRecord:
    return JournalRecord(execution_arn=arn, lane=lane, seq=seq, kind=kind, payload=payload)


def timer(arn: str, key: str, due: float) -> TimerRecord:
    return TimerRecord(execution_arn=arn, key=key, due=due)


def token(name: str, arn: str, created: float = 1.0, **kw: Any) -> TokenRecord:
    fields: dict[str, Any] = {
        "token": name,
        "execution_arn": arn,
        "lane": "",
        "seq": 1,
        "state_name": "Wait",
        "created": created,
    }
    fields.update(kw)
    return TokenRecord(**fields)


def activity(name: str, creation_date: float = 1.0) -> ActivityRecord:
    return ActivityRecord(arn=f"{REGION}:activity:{name}", name=name, creation_date=creation_date)


def task(name: str, activity_arn: str, scheduled: float, arn: str = "", **kw: Any) -> ActivityTaskRecord:
    fields: dict[str, Any] = {
        "token": name,
        "activity_arn": activity_arn,
        "execution_arn": arn or exec_arn("e1"),
        "input": "{}",
        "scheduled": scheduled,
    }
    fields.update(kw)
    return ActivityTaskRecord(**fields)
