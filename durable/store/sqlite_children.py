"""The ``map_children`` table on SQLite: the child executions of Map Runs (see
:class:`~durable.store.base.ChildExecutionRecord`). Written by the group writer inside its
transaction, read by the store's readers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import ChildExecutionRecord
from .sqlite_paging import check_limit, decode_child_token, encode_child_token

__all__ = ["SELECT_CHILD", "child_from", "children_page", "children_query", "write_children"]

_COLUMNS = (
    "arn, map_run_arn, execution_arn, idx, name, status, start_date, input, item_count,"
    " stop_date, output, error, cause, redrive_count"
)
# an ended child is kept as it is — unless a redrive of its Map Run runs it again (a child that
# succeeded never is); a stored child keeps its start date
_UPSERT = (
    f"INSERT INTO map_children ({_COLUMNS}, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (arn) DO UPDATE SET status = excluded.status, input = excluded.input,"
    " item_count = excluded.item_count, stop_date = excluded.stop_date, output = excluded.output,"
    " error = excluded.error, cause = excluded.cause, history = excluded.history,"
    " redrive_count = excluded.redrive_count"
    " WHERE map_children.status = 'RUNNING' OR (map_children.status <> 'SUCCEEDED'"
    " AND excluded.redrive_count > map_children.redrive_count)"
)
_ABORT = (
    "UPDATE map_children SET status = 'ABORTED', stop_date = ? WHERE execution_arn = ? AND status = 'RUNNING'"
)
SELECT_CHILD = f"SELECT {_COLUMNS}, history FROM map_children WHERE arn = ?"
_SELECT_CHILDREN = f"SELECT {_COLUMNS}, NULL FROM map_children WHERE map_run_arn = ?"


def child_from(r: Sequence[Any]) -> ChildExecutionRecord:
    return ChildExecutionRecord(
        arn=r[0],
        map_run_arn=r[1],
        execution_arn=r[2],
        index=r[3],
        name=r[4],
        status=r[5],
        start_date=r[6],
        input=r[7],
        item_count=r[8],
        stop_date=r[9],
        output=r[10],
        error=r[11],
        cause=r[12],
        redrive_count=r[13],
        history=r[14],
    )


def children_query(
    map_run_arn: str, status: str | None, limit: int, next_token: str | None
) -> tuple[str, tuple[object, ...]]:
    """The SQL and parameters of one page of a Map Run's children (one row more than ``limit``,
    to tell whether another page follows), highest index first, without their history."""
    check_limit(limit)
    sql = _SELECT_CHILDREN
    params: list[object] = [map_run_arn]
    if next_token is not None:
        sql += " AND idx < ?"
        params.append(decode_child_token(next_token))
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return sql + " ORDER BY idx DESC LIMIT ?", (*params, limit + 1)


def children_page(rows: Sequence[Sequence[Any]], limit: int) -> tuple[list[ChildExecutionRecord], str | None]:
    found = [child_from(r) for r in rows[:limit]]
    return found, encode_child_token(found[-1].index) if len(rows) > limit else None


def write_children(
    db: sqlite3.Connection, children: list[ChildExecutionRecord], aborted: list[tuple[str, float]]
) -> None:
    """Upsert the children, then end the running children of the executions in ``aborted``
    (in the caller's transaction)."""
    if children:
        db.executemany(
            _UPSERT,
            [
                (
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
                    c.history,
                )
                for c in children
            ],
        )
    if aborted:
        db.executemany(_ABORT, [(when, arn) for arn, when in aborted])
