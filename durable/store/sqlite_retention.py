"""Retention on SQLite: delete closed executions, with everything stored for them, in small batches.

:func:`purge_closed` runs inside a write transaction of the store's single writer (see
:meth:`~durable.store.sqlite_writer.GroupWriter.purge`), so a purge never interleaves with a
group commit and an execution is deleted whole or not at all. The oldest closed executions go
first, found through the partial index ``executions_closed (stop_date, id) WHERE status <>
'RUNNING'``; a RUNNING execution is never selected.
"""

from __future__ import annotations

import aiosqlite

__all__ = ["purge_closed"]

_SELECT = (
    "SELECT id, arn FROM executions WHERE status <> 'RUNNING' AND stop_date < ?"
    " ORDER BY stop_date, id LIMIT ?"
)
_BY_ID = (
    "DELETE FROM events WHERE execution_id = ?",
    "DELETE FROM journal WHERE execution_id = ?",
)
_BY_ARN = (
    "DELETE FROM timers WHERE execution_arn = ?",
    "DELETE FROM tokens WHERE execution_arn = ?",
    "DELETE FROM activity_tasks WHERE execution_arn = ?",
    "DELETE FROM metadata WHERE kind = 'execution' AND arn = ?",
    "DELETE FROM metadata WHERE kind = 'maprun' AND parent = ?",  # its Distributed Maps' Map Runs
    "DELETE FROM map_children WHERE execution_arn = ?",
)


async def purge_closed(conn: aiosqlite.Connection, closed_before: float, limit: int) -> list[str]:
    """Delete up to ``limit`` closed executions stopped before ``closed_before`` (oldest first)
    and their events, journal, timers, tokens, activity tasks and Map Run children; return their
    ARNs. The caller holds the write transaction."""
    rows = list(await conn.execute_fetchall(_SELECT, (closed_before, limit)))
    if not rows:
        return []
    ids = [(int(r[0]),) for r in rows]
    arns = [(str(r[1]),) for r in rows]
    for sql in _BY_ID:
        await conn.executemany(sql, ids)
    for sql in _BY_ARN:
        await conn.executemany(sql, arns)
    await conn.executemany("DELETE FROM executions WHERE id = ?", ids)
    return [a[0] for a in arns]
