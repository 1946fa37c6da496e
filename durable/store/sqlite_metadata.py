"""The ``metadata`` table on SQLite: catalog entries keyed by ``(kind, arn)`` (see
:class:`~durable.store.base.MetadataRecord`). Written by the group writer inside its
transaction, read by the store's readers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import MetadataRecord

__all__ = ["SELECT_METADATA", "metadata_from", "write_metadata"]

_UPSERT = (
    "INSERT INTO metadata (kind, arn, parent, body, created) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, arn) DO UPDATE SET parent = excluded.parent, body = excluded.body,"
    " created = excluded.created"
)
_DELETE = "DELETE FROM metadata WHERE kind = ? AND arn = ?"
SELECT_METADATA = "SELECT kind, arn, parent, body, created FROM metadata"


def metadata_from(r: Sequence[Any]) -> MetadataRecord:
    return MetadataRecord(kind=r[0], arn=r[1], parent=r[2], body=r[3], created=r[4])


def write_metadata(db: sqlite3.Connection, entries: dict[tuple[str, str], MetadataRecord | None]) -> None:
    """Upsert the entries given and delete those mapped to None (in the caller's transaction)."""
    if not entries:
        return
    rows = [(e.kind, e.arn, e.parent, e.body, e.created) for e in entries.values() if e is not None]
    if rows:
        db.executemany(_UPSERT, rows)
    gone = [key for key, e in entries.items() if e is None]
    if gone:
        db.executemany(_DELETE, gone)
