"""Records as table rows: the column order both SQL stores write them in.

:mod:`durable.store.sqlite_writer` and :mod:`durable.store.postgres_writer` write the same
tables; each tuple here is in the order of the matching ``*_COLUMNS`` name, which both build
their statements from. (A bool is stored as it is: SQLite keeps it as 0 or 1.)
"""

from __future__ import annotations

from typing import Any

from .base import ActivityTaskRecord, ChildExecutionRecord, ExecutionRecord, StateMachineRecord, TokenRecord

__all__ = [
    "ACTIVITY_TASK_COLUMNS",
    "CHILD_COLUMNS",
    "EXECUTION_COLUMNS",
    "STATE_MACHINE_COLUMNS",
    "TOKEN_COLUMNS",
    "activity_task_row",
    "child_row",
    "execution_row",
    "state_machine_row",
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
