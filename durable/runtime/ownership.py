"""Who may execute a database's executions: exactly one engine at a time.

An executing :class:`~durable.Engine` holds the database's ownership for as long as it is
open; a :class:`~durable.Client` never does. On SQLite the ownership is an advisory ``flock``
on ``<db>.engine.lock`` (:class:`FileOwnership`): the kernel releases it when the holder dies,
even by ``kill -9``, so a restarted engine never waits for a dead one. On PostgreSQL it is a
session-level advisory lock (:class:`~durable.store.postgres_lock.PgOwnerLock`), released by the
server when the holder's connection ends. An in-memory store belongs to its process
(:class:`ProcessOwnership`).

This is the seam where per-execution leases go (PostgreSQL with several executing processes,
see ``docs/runtime.md``): the rest of the runtime asks only "may I execute?".
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from ..errors import DurableError
from ..store.base import Store
from ..store.sqlite import SqliteStore

__all__ = ["EngineAlreadyRunning", "FileOwnership", "Ownership", "ProcessOwnership", "ownership_for"]


class EngineAlreadyRunning(DurableError):
    """Another engine executes this database (open it with ``standby=True`` to wait for it, or
    use a :class:`~durable.Client` to start, answer or stop executions from this process)."""

    code = "EngineAlreadyRunning"


class Ownership(Protocol):
    @property
    def held(self) -> bool: ...

    def try_acquire(self, role: str) -> bool:
        """Take the ownership if nobody holds it; True when this process holds it."""
        ...

    def release(self) -> None: ...

    def holder(self) -> str:
        """Who holds it, for messages (``"durable run-engine (pid 123)"``; ``""`` when unknown)."""
        ...

    def is_held_elsewhere(self) -> bool:
        """True when another process holds it now."""
        ...


class ProcessOwnership:
    """The ownership of a store no other process can open (in memory)."""

    def __init__(self) -> None:
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self, role: str) -> bool:
        self._held = True
        return True

    def release(self) -> None:
        self._held = False

    def holder(self) -> str:
        return "this process" if self._held else ""

    def is_held_elsewhere(self) -> bool:
        return False


if sys.platform == "win32":  # pragma: no cover - no flock: every process may execute

    def _lock(fd: int) -> bool:
        return True

    def _unlock(fd: int) -> None:
        return None

else:
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileOwnership:
    """An advisory lock on ``<db>.engine.lock``, holding the holder's pid and role as JSON.

    The file is created 0600 and opened without following a symbolic link (a link planted there
    must not make the engine truncate another file).
    """

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self.path = Path(f"{os.fspath(db)}.engine.lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, role: str) -> bool:
        if self._fd is not None:
            return True
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise DurableError(
                f"cannot open the engine lock file {self.path}: {exc.strerror or exc}"
            ) from None
        if not _lock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "role": role}).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                _unlock(fd)
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(self.path, flags)
        except OSError:
            return {}
        try:
            value = json.loads(os.read(fd, 4096) or b"{}")
        except ValueError:
            return {}
        finally:
            os.close(fd)
        return value if isinstance(value, dict) else {}

    def holder(self) -> str:
        found = self._read()
        if not found:
            return ""
        role = found.get("role", "engine")
        pid = found.get("pid")
        return f"{role}" + (f" (pid {pid})" if pid is not None else "")

    def is_held_elsewhere(self) -> bool:
        """True when another process holds the lock now (a probe: takes and drops it if free)."""
        if self._fd is not None:
            return False
        if self.try_acquire("probe"):
            self.release()
            return False
        return True


def ownership_for(store: Store) -> Ownership:
    if isinstance(store, SqliteStore):
        return FileOwnership(store.path)
    if type(store).__name__ == "PostgresStore":  # psycopg is optional: import only when used
        from ..store.postgres import PostgresStore
        from ..store.postgres_lock import PgOwnerLock

        if isinstance(store, PostgresStore):
            return PgOwnerLock(store)
    return ProcessOwnership()
