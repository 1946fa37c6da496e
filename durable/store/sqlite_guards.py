"""The guards of a write group (:mod:`durable.store.sqlite_writer`), checked inside its transaction.

A batch may carry guards (a token still open, an activity task not started, an execution absent
or in given statuses with a given number of events). The writer reads what the guards of a group
look at once, inside the transaction, and moves that view along by each batch it accepts, so a
batch's guard sees the batches before it in the group.
"""

from __future__ import annotations

import sqlite3

from .base import (
    ActivityTaskPending,
    ExecutionAbsent,
    ExecutionIn,
    Guard,
    MetadataAbsent,
    TokenOpen,
    WriteBatch,
)

__all__ = ["IN_CHUNK", "GuardState", "select_in"]

IN_CHUNK = 500  # host parameters per "IN (...)" lookup


class GuardState:
    """What the guards of a group look at: the stored state read once inside the transaction,
    then moved along by each batch the plan accepts (so a guard sees the batches before it)."""

    def __init__(self) -> None:
        self.tokens: dict[str, bool | None] = {}  # token -> closed (None: absent)
        self.tasks: dict[str, bool | None] = {}  # activity task -> started (None: absent)
        self.executions: dict[str, tuple[str, int] | None] = {}  # arn -> (status, last event id)
        self.metadata: dict[tuple[str, str], bool] = {}  # (kind, arn) -> exists

    @classmethod
    def load(cls, db: sqlite3.Connection, batches: list[WriteBatch]) -> GuardState:
        """Read what the batches' guards look at (on the connection's thread, in the transaction)."""
        state = cls()
        tokens: set[str] = set()
        tasks: set[str] = set()
        arns: set[str] = set()
        for batch in batches:
            for guard in batch.guards:
                if isinstance(guard, TokenOpen):
                    tokens.add(guard.token)
                elif isinstance(guard, ActivityTaskPending):
                    tasks.add(guard.token)
                elif isinstance(guard, (ExecutionAbsent, ExecutionIn)):
                    arns.add(guard.arn)
                elif isinstance(guard, MetadataAbsent):
                    key = (guard.kind, guard.arn)
                    state.metadata[key] = (
                        db.execute("SELECT 1 FROM metadata WHERE kind = ? AND arn = ?", key).fetchone()
                        is not None
                    )
        if not (tokens or tasks or arns):
            return state
        state.tokens = dict.fromkeys(tokens)
        for row in select_in(db, "SELECT token, closed FROM tokens WHERE token IN", tokens):
            state.tokens[str(row[0])] = bool(row[1])
        state.tasks = dict.fromkeys(tasks)
        for row in select_in(db, "SELECT token, started FROM activity_tasks WHERE token IN", tasks):
            state.tasks[str(row[0])] = row[1] is not None
        state.executions = dict.fromkeys(arns)
        sql = (
            "SELECT x.arn, x.status,"
            " (SELECT coalesce(max(e.id), 0) FROM events e WHERE e.execution_id = x.id)"
            " FROM executions x WHERE x.arn IN"
        )
        for row in select_in(db, sql, arns):
            state.executions[str(row[0])] = (str(row[1]), int(row[2]))
        return state

    def first_failing(self, batch: WriteBatch) -> Guard | None:
        for guard in batch.guards:
            if not self._holds(guard):
                return guard
        return None

    def _holds(self, guard: Guard) -> bool:
        if isinstance(guard, TokenOpen):
            return self.tokens.get(guard.token) is False
        if isinstance(guard, ActivityTaskPending):
            return self.tasks.get(guard.token) is False
        if isinstance(guard, ExecutionAbsent):
            return self.executions.get(guard.arn) is None
        if isinstance(guard, MetadataAbsent):
            return not self.metadata.get((guard.kind, guard.arn), False)
        if isinstance(guard, ExecutionIn):
            found = self.executions.get(guard.arn)
            return (
                found is not None
                and found[0] in guard.statuses
                and (guard.event_count is None or found[1] == guard.event_count)
            )
        return False

    def apply(self, batch: WriteBatch) -> None:
        """Move the watched state along by an accepted batch."""
        for entry in batch.metadata:
            if (entry.kind, entry.arn) in self.metadata:
                self.metadata[(entry.kind, entry.arn)] = True
        for kind, arn in batch.deleted_metadata:
            if (kind, arn) in self.metadata:
                self.metadata[(kind, arn)] = False
        if not (self.tokens or self.tasks or self.executions):
            return
        for token in batch.tokens:
            if token.token in self.tokens and self.tokens[token.token] is None:
                self.tokens[token.token] = token.closed
        for name in batch.closed_tokens:
            if self.tokens.get(name) is not None:
                self.tokens[name] = True
        for task in batch.activity_tasks:
            if task.token in self.tasks:
                self.tasks[task.token] = task.started is not None
        for name in batch.deleted_activity_tasks:
            if name in self.tasks:
                self.tasks[name] = None
        for x in batch.executions:
            if x.arn in self.executions:
                found = self.executions[x.arn]
                self.executions[x.arn] = (x.status, found[1] if found is not None else 0)
        for e in batch.events:
            found = self.executions.get(e.execution_arn)
            if found is not None:
                self.executions[e.execution_arn] = (found[0], max(found[1], e.id))


def select_in(db: sqlite3.Connection, sql: str, keys: set[str]) -> list[sqlite3.Row]:
    """``sql (?, ?, ...)`` over ``keys`` in chunks."""
    rows: list[sqlite3.Row] = []
    values = sorted(keys)
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows.extend(db.execute(f"{sql} ({marks})", chunk).fetchall())
    return rows
