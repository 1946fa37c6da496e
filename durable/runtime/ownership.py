"""Who may execute a database's executions: exactly one engine at a time.

An executing :class:`~durable.Engine` holds the database's ownership for as long as it is
open; a :class:`~durable.Client` never does. On SQLite the ownership is an advisory ``flock``
on ``<db>.engine.lock`` (:class:`FileOwnership`): the kernel releases it when the holder dies,
even by ``kill -9``, so a restarted engine never waits for a dead one. On PostgreSQL it is a
session-level advisory lock (:class:`~durable.store.postgres_lock.PgOwnerLock`), released by the
server when the holder's connection ends. An in-memory store belongs to its process
(:class:`ProcessOwnership`).

Engines that *share* a PostgreSQL database (``Engine(url, shared=True)``) hold a lease among
several instead (:class:`SharedOwnership`, implemented by
:class:`~durable.store.postgres_lease.PgLease`): each executes the executions it owns, claims
requests and orphaned executions, and is fenced out of what it lost (``docs/scale-out.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from ..errors import DurableError
from ..store.base import RequestRecord, Store
from ..store.sqlite import SqliteStore

__all__ = [
    "EngineAlreadyRunning",
    "FileOwnership",
    "Ownership",
    "ProcessOwnership",
    "SharedOwnership",
    "ownership_for",
]


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


class SharedOwnership(Ownership, Protocol):
    """The ownership of an engine among several executing one database (a lease)."""

    shared: bool
    lease_seconds: float

    async def renew(self) -> None:
        """Extend the lease; ``LeaseLost`` when it had lapsed."""
        ...

    async def leave(self) -> None:
        """Give this engine's executions and requests back (a clean close, before release)."""
        ...

    async def reap(self) -> list[str]:
        """Release what engines whose lease lapsed held; their ids."""
        ...

    async def claim_requests(self, limit: int = 1000) -> list[RequestRecord]: ...

    async def has_requests(self) -> bool: ...

    async def release_requests(self, refs: list[str]) -> None: ...

    async def claim_orphans(self, limit: int = 100) -> list[str]: ...

    async def wait(self, timeout: float) -> set[str]:
        """What was notified (``"inbox"``, ``"orphans"``), waiting up to ``timeout`` seconds."""
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


def ownership_for(store: Store, *, shared: bool = False, lease_seconds: float | None = None) -> Ownership:
    """The ownership an executing engine takes on ``store`` (``shared``: among several engines,
    PostgreSQL only)."""
    if shared:
        if type(store).__name__ != "PostgresStore":
            raise DurableError(
                "shared=True needs a PostgreSQL database (postgresql://...): one SQLite file or "
                "in-memory store is executed by one engine at a time"
            )
        from ..store.postgres_lease import LEASE_SECONDS, PgLease

        return PgLease(store, LEASE_SECONDS if lease_seconds is None else lease_seconds)  # type: ignore[arg-type]
    if isinstance(store, SqliteStore):
        return FileOwnership(store.path)
    if type(store).__name__ == "PostgresStore":  # psycopg is optional: import only when used
        from ..store.postgres import PostgresStore
        from ..store.postgres_lock import PgOwnerLock

        if isinstance(store, PostgresStore):
            return PgOwnerLock(store)
    return ProcessOwnership()
