"""The event-log store: one contract (:class:`Store`), an SQLite and an in-memory implementation.

``open_store(url)`` picks one from a URL (``memory://``, ``sqlite:///path.db``, ``path.db``).
"""

from __future__ import annotations

from .base import (
    ActivityRecord,
    ActivityTaskRecord,
    EventRecord,
    ExecutionRecord,
    JournalRecord,
    Page,
    StateMachineRecord,
    Store,
    StoreError,
    TimerRecord,
    TokenRecord,
    WriteBatch,
)
from .memory import MemoryStore
from .sqlite import SqliteStore, StoreStats
from .url import open_store

__all__ = [
    "ActivityRecord",
    "ActivityTaskRecord",
    "EventRecord",
    "ExecutionRecord",
    "JournalRecord",
    "MemoryStore",
    "Page",
    "SqliteStore",
    "StateMachineRecord",
    "Store",
    "StoreError",
    "StoreStats",
    "TimerRecord",
    "TokenRecord",
    "WriteBatch",
    "open_store",
]
