"""Records as table rows and back: the column order both SQL stores write them in, and the
records their reads make of rows.

:mod:`durable.store.sqlite_writer` and :mod:`durable.store.postgres_writer` write the same
tables; each tuple here is in the order of the matching ``*_COLUMNS`` name, which both build
their statements from. (A bool is stored as it is: SQLite keeps it as 0 or 1.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import (
    ActivityTaskRecord,
    ChildExecutionRecord,
    ExecutionRecord,
    JournalRecord,
    StateMachineRecord,
    TokenRecord,
    event_payload,
)

__all__ = [
    "ACTIVITY_TASK_COLUMNS",
    "CHILD_COLUMNS",
    "EXECUTION_COLUMNS",
    "STATE_MACHINE_COLUMNS",
    "TOKEN_COLUMNS",
    "activity_task_from",
    "activity_task_row",
    "child_row",
    "execution_from",
    "execution_row",
    "journal_entry_from",
    "state_machine_from",
    "state_machine_row",
    "token_from",
    "token_row",
]

STATE_MACHINE_COLUMNS = (
    "arn",
    "name",
    "type",
    "definition",
    "role_arn",
    "creation_date",
    "status",
    "description",
    "revision",
)
EXECUTION_COLUMNS = (
    "arn",
    "state_machine_arn",
    "name",
    "status",
    "start_date",
    "input",
    "definition_id",
    "type",
    "stop_date",
    "output",
    "error",
    "cause",
    "redrive_count",
    "redrive_date",
    "event_count",
)
TOKEN_COLUMNS = (
    "token",
    "execution_arn",
    "lane",
    "seq",
    "state_name",
    "created",
    "heartbeat_seconds",
    "timeout_seconds",
    "last_heartbeat",
    "activity_arn",
    "closed",
)
ACTIVITY_TASK_COLUMNS = (
    "token",
    "activity_arn",
    "execution_arn",
    "input",
    "scheduled",
    "started",
    "worker_name",
)
CHILD_COLUMNS = (
    "arn",
    "map_run_arn",
    "execution_arn",
    "idx",
    "name",
    "status",
    "start_date",
    "input",
    "item_count",
    "stop_date",
    "output",
    "error",
    "cause",
    "redrive_count",
    "span",
    "history",
)


def state_machine_row(m: StateMachineRecord) -> tuple[Any, ...]:
    return (
        m.arn,
        m.name,
        m.type,
        m.definition,
        m.role_arn,
        m.creation_date,
        m.status,
        m.description,
        m.revision,
    )


def execution_row(x: ExecutionRecord, definition_id: int) -> tuple[Any, ...]:
    """The execution with its definition's row id (the store keeps definition texts once)."""
    return (
        x.arn,
        x.state_machine_arn,
        x.name,
        x.status,
        x.start_date,
        x.input,
        definition_id,
        x.type,
        x.stop_date,
        x.output,
        x.error,
        x.cause,
        x.redrive_count,
        x.redrive_date,
        x.event_count,
    )


def token_row(t: TokenRecord) -> tuple[Any, ...]:
    return (
        t.token,
        t.execution_arn,
        t.lane,
        t.seq,
        t.state_name,
        t.created,
        t.heartbeat_seconds,
        t.timeout_seconds,
        t.last_heartbeat,
        t.activity_arn,
        t.closed,
    )


def activity_task_row(t: ActivityTaskRecord) -> tuple[Any, ...]:
    return (t.token, t.activity_arn, t.execution_arn, t.input, t.scheduled, t.started, t.worker_name)


def child_row(c: ChildExecutionRecord) -> tuple[Any, ...]:
    return (
        c.arn,
        c.map_run_arn,
        c.execution_arn,
        c.index,
        c.name,
        c.status,
        c.start_date,
        c.input,
        c.item_count,
        c.stop_date,
        c.output,
        c.error,
        c.cause,
        c.redrive_count,
        c.span,
        c.history,
    )


# -- rows read back as records (in the order of the stores' SELECTs) ----------------------------
def state_machine_from(r: Sequence[Any]) -> StateMachineRecord:
    return StateMachineRecord(
        arn=r[0],
        name=r[1],
        type=r[2],
        definition=r[3],
        role_arn=r[4],
        creation_date=r[5],
        status=r[6],
        description=r[7],
        revision=r[8],
    )


def execution_from(r: Sequence[Any]) -> ExecutionRecord:
    return ExecutionRecord(
        arn=r[0],
        state_machine_arn=r[1],
        name=r[2],
        status=r[3],
        start_date=r[4],
        input=r[5],
        definition=r[6],
        type=r[7],
        stop_date=r[8],
        output=r[9],
        error=r[10],
        cause=r[11],
        redrive_count=r[12],
        redrive_date=r[13],
        event_count=r[14],
    )


def journal_entry_from(r: Sequence[Any]) -> JournalRecord:
    """A row of the stores' journal reads: a journal row, or an event standing for its lane's
    entry (its payload made here)."""
    payload = r[4] if r[4] is not None else event_payload(int(r[5]), float(r[6]))
    return JournalRecord(execution_arn=r[0], lane=r[1], seq=r[2], kind=r[3], payload=payload)


def token_from(r: Sequence[Any]) -> TokenRecord:
    return TokenRecord(
        token=r[0],
        execution_arn=r[1],
        lane=r[2],
        seq=r[3],
        state_name=r[4],
        created=r[5],
        heartbeat_seconds=r[6],
        timeout_seconds=r[7],
        last_heartbeat=r[8],
        activity_arn=r[9],
        closed=bool(r[10]),
    )


def activity_task_from(r: Sequence[Any]) -> ActivityTaskRecord:
    return ActivityTaskRecord(
        token=r[0],
        activity_arn=r[1],
        execution_arn=r[2],
        input=r[3],
        scheduled=r[4],
        started=r[5],
        worker_name=r[6],
    )
