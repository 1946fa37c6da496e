"""The ``map_children`` table on SQLite: the child executions of Map Runs (see
:class:`~durable.store.base.ChildExecutionRecord`). Written by the group writer inside its
transaction, read by the store's readers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import ChildExecutionRecord
from .child_spans import span_filter, span_starts
from .rows import child_row

__all__ = ["child_from", "child_query", "child_rows_from_query", "child_rows_query", "write_children"]

_COLUMNS = (
    "arn, map_run_arn, execution_arn, idx, name, status, start_date, input, item_count,"
    " stop_date, output, error, cause, redrive_count, span"
)
# an ended child is kept as it is — unless a redrive of its Map Run runs it again (a child that
# succeeded never is); a stored child keeps its start date
_UPSERT = (
    f"INSERT INTO map_children ({_COLUMNS}, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (arn) DO UPDATE SET status = excluded.status, input = excluded.input,"
    " item_count = excluded.item_count, stop_date = excluded.stop_date, output = excluded.output,"
    " error = excluded.error, cause = excluded.cause, history = excluded.history,"
    " redrive_count = excluded.redrive_count, span = excluded.span"
    " WHERE map_children.status = 'RUNNING' OR (map_children.status <> 'SUCCEEDED'"
    " AND excluded.redrive_count > map_children.redrive_count)"
)
_ABORT = (
    "UPDATE map_children SET status = 'ABORTED', stop_date = ? WHERE execution_arn = ? AND status = 'RUNNING'"
)
_SELECT_CHILD = f"SELECT {_COLUMNS}, history FROM map_children WHERE arn IN "
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
        span=r[14],
        history=r[15],
    )


def child_query(arn: str) -> tuple[str, tuple[object, ...]] | None:
    """The SQL and parameters finding the row of the child ``arn``: its own, or a span holding it
    (pick it with :func:`~durable.store.child_spans.pick`); None when ``arn`` is no child's."""
    starts = span_starts(arn)
    if starts is None:
        return None
    return _SELECT_CHILD + "(" + ", ".join("?" for _ in starts) + ") ORDER BY idx DESC", tuple(starts)


def child_rows_query(
    map_run_arn: str, status: str | None, below: int | None, limit: int
) -> tuple[str, tuple[object, ...]]:
    """The SQL and parameters of up to ``limit`` rows of a Map Run's children whose index is
    below ``below``, highest first, that may hold children of ``status`` (without history;
    expanded by :func:`~durable.store.child_spans.children_page`)."""
    sql = _SELECT_CHILDREN
    params: list[object] = [map_run_arn]
    if below is not None:
        sql += " AND idx < ?"
        params.append(below)
    where, extra = span_filter(status)
    return sql + where + " ORDER BY idx DESC LIMIT ?", (*params, *extra, limit)


def child_rows_from_query(map_run_arn: str, start: int, limit: int) -> tuple[str, tuple[object, ...]]:
    """The SQL and parameters of up to ``limit`` rows of a Map Run's children from index
    ``start`` up, lowest first, spans as they are (without history)."""
    return _SELECT_CHILDREN + " AND idx >= ? ORDER BY idx LIMIT ?", (map_run_arn, start, limit)


def write_children(
    db: sqlite3.Connection, children: list[ChildExecutionRecord], aborted: list[tuple[str, float]]
) -> None:
    """Upsert the children, then end the running children of the executions in ``aborted``
    (in the caller's transaction)."""
    if children:
        db.executemany(
            _UPSERT,
            [child_row(c) for c in children],
        )
    if aborted:
        db.executemany(_ABORT, [(when, arn) for arn, when in aborted])
