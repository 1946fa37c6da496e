"""Retention: closed executions are deleted once they have been closed longer than a period.

AWS Step Functions keeps a closed Standard execution for 90 days; after that, describing it
raises ``ExecutionDoesNotExist`` and it no longer appears in listings. An executing
:class:`~durable.Engine` does the same with ``retention`` (default 90 days; ``None`` keeps
everything forever): when it takes the database and every :data:`PURGE_EVERY_SECONDS` real
seconds after, it deletes the executions (not RUNNING) whose stop date, on the engine's clock,
is older than the retention — each with its history, journal, timers and tokens — in
transactions of at most :data:`PURGE_BATCH` executions, so a purge never holds the write lock
for long and executions keep committing between two batches.

The period is read on real time, the cutoff on the engine's clock: a :class:`ManualClock`
decides what is old, but no retention timer ever makes an autojumping clock skip ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

import structlog

from ..errors import ValidationError
from ..store.base import Store, StoreError
from .clock import Clock

__all__ = ["PURGE_BATCH", "PURGE_EVERY_SECONDS", "RETENTION_DEFAULT", "Retention", "retention_seconds"]

RETENTION_DEFAULT = timedelta(days=90)
PURGE_EVERY_SECONDS = 600.0  # real seconds between two background passes
PURGE_BATCH = 100  # executions deleted per transaction

log = structlog.get_logger("durable.runtime")


def retention_seconds(retention: timedelta | float | None) -> float | None:
    """``retention`` in seconds (None: keep forever); a negative one is refused."""
    if retention is None:
        return None
    seconds = retention.total_seconds() if isinstance(retention, timedelta) else float(retention)
    if not seconds >= 0:
        raise ValidationError(f"retention must be a non-negative timedelta or None, got {retention!r}")
    return seconds


class Retention:
    """The background purge of one executing engine (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        seconds: float | None,
        on_purged: Callable[[list[str]], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.seconds = seconds
        self.on_purged = on_purged
        self.purged = 0  # executions deleted by this engine so far
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background passes (nothing when the retention is None)."""
        if self.seconds is not None and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def purge(self, seconds: float) -> int:
        """Delete every execution closed more than ``seconds`` ago on the engine's clock, a
        batch per transaction; return how many were deleted."""
        cutoff = self.clock.now() - seconds
        total = 0
        while True:
            arns = await self.store.purge_executions(cutoff, PURGE_BATCH)
            if arns:
                self.on_purged(arns)
                total += len(arns)
                self.purged += len(arns)
            if len(arns) < PURGE_BATCH:
                return total
            await asyncio.sleep(0)

    async def _loop(self) -> None:
        assert self.seconds is not None
        while True:
            try:
                count = await self.purge(self.seconds)
            except StoreError as exc:  # the store cannot be written now: try again next pass
                log.warning("retention: purge failed", error=str(exc))
            else:
                if count:
                    log.info("retention: closed executions deleted", executions=count)
            await asyncio.sleep(PURGE_EVERY_SECONDS)
