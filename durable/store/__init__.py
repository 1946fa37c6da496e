"""The event-log store: one contract (:class:`Store`), an SQLite and an in-memory implementation.

``open_store(url)`` picks one from a URL (``memory://``, ``sqlite:///path.db``, ``path.db``).
"""

from __future__ import annotations

from .base import (
    ActivityRecord,
    ActivityTaskPending,
    ActivityTaskRecord,
    BatchRejected,
    ChildExecutionRecord,
    Conflict,
    EventRecord,
    ExecutionAbsent,
    ExecutionIn,
    ExecutionRecord,
    Guard,
    JournalRecord,
    MetadataAbsent,
    MetadataRecord,
    Page,
    RequestRecord,
    StateMachineRecord,
    Store,
    StoreError,
    StoreUnavailable,
    TimerRecord,
    TokenOpen,
    TokenRecord,
    WriteBatch,
)
from .memory import MemoryStore
from .sqlite import SqliteStore, StoreStats
from .url import open_store

__all__ = [
    "ActivityRecord",
    "ActivityTaskPending",
    "ActivityTaskRecord",
    "BatchRejected",
    "ChildExecutionRecord",
    "Conflict",
    "EventRecord",
    "ExecutionAbsent",
    "ExecutionIn",
    "ExecutionRecord",
    "Guard",
    "JournalRecord",
    "MemoryStore",
    "MetadataAbsent",
    "MetadataRecord",
    "Page",
    "RequestRecord",
    "SqliteStore",
    "StateMachineRecord",
    "Store",
    "StoreError",
    "StoreStats",
    "StoreUnavailable",
    "TimerRecord",
    "TokenOpen",
    "TokenRecord",
    "WriteBatch",
    "open_store",
]
