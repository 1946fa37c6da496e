"""An execution resident in this process, and how the progress it buffers reaches the store.

An execution's journal buffers what it records (events, entries, tokens, timers) in a write
batch. :class:`Committer` turns that buffer into commits: :meth:`Committer.flush` returns once
everything buffered so far, in any lane, is committed (a lane awaits it before any effect:
invoking a task, handing out a token, sleeping); :meth:`Committer.flush_soon` commits in the
background once the current synchronous work is done; :meth:`Committer.commit` retries with
backoff while the database is unavailable. One commit per execution is in flight at a time, so
its batches reach the store in the order they were buffered.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from ..store.base import ExecutionRecord, Store, StoreUnavailable, TokenRecord, WriteBatch
from .journal import Journal, JournalContext
from .runner import Gen

if TYPE_CHECKING:
    from .replay import Stopped

__all__ = ["Committer", "Running"]

log = structlog.get_logger("durable.runtime")
_HAND_OVER = 2  # event loop turns for a commit to reach the store's writer (see flush_behind)


@dataclass(eq=False)
class Running:
    """An execution resident in this process (loading, running, or finishing)."""

    record: ExecutionRecord
    journal: Journal | None = None  # None until loaded
    ctx: JournalContext | None = None
    task: asyncio.Task[None] | None = None
    started: tuple[Gen, Any] | None = None  # a fresh start: the root generator at its first command
    resumed: bool = False  # rebuilt from the store (its tokens and tasks may predate this process)
    stop: Stopped | None = None
    stop_refs: list[str] = field(default_factory=list)  # STOP requests its end consumes
    finishing: bool = False
    elsewhere: bool = False  # another engine sharing the database executes it (see _load)
    committing: asyncio.Task[None] | None = None  # the commit in flight (see flush)
    taken: int = 0  # batches taken from its journal to commit (see flush)
    committed: int = 0  # ... and the last of them committed
    flush_scheduled: bool = False
    waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)  # token -> mail arrived
    tokens: dict[str, TokenRecord] = field(default_factory=dict)  # open tokens of its tasks
    deadlines: dict[str, float] = field(default_factory=dict)  # token deadlines to arm once committed
    offered: set[str] = field(default_factory=set)  # activities whose workers to wake once committed


class Committer:
    """Commits the buffered progress of the resident executions (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        closing: Callable[[], bool],
        background: set[asyncio.Task[Any]],
        on_committed: Callable[[WriteBatch], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.on_committed = on_committed  # told each committed batch with events (execution logs)
        self._closing = closing
        self._background = background  # tasks the engine waits for when it closes
        self._unavailable: str | None = None  # the store fault commits are waiting out

    async def flush(self, run: Running) -> None:
        """Return once everything the execution buffered so far, in any lane, is committed.

        It waits for the batch holding what is buffered now (or for the one in flight when
        nothing is), not for what other lanes buffer meanwhile: many lanes flushing at once
        (a Map's children) each wait for one commit, not for the buffer to be empty."""
        journal = run.journal
        assert journal is not None
        target = run.taken + (1 if journal.has_buffered() else 0)
        while run.committed < target:
            task = run.committing
            if task is not None and task.done():
                run.committing = None  # (its done callback may not have run yet)
                task.result()  # a failed commit fails every flush that waited for it
                continue
            if task is None:
                if not journal.has_buffered():  # (the batch it waited for failed before)
                    return
                run.taken += 1
                task = run.committing = asyncio.ensure_future(
                    self._commit(run, journal.take_batch(), run.taken)
                )
                task.add_done_callback(functools.partial(_clear, run))
            await asyncio.shield(task)

    async def _commit(self, run: Running, batch: WriteBatch, generation: int) -> None:
        await self.commit(batch)
        run.committed = generation

    async def flush_behind(self, run: Running) -> None:
        """Start committing everything the execution buffered so far, and return once the commit
        before it (if any) is done: the run goes on while its last checkpoint commits, with one
        commit in flight at most. For progress no effect waits for (a :meth:`flush` before an
        effect still waits for everything)."""
        journal = run.journal
        assert journal is not None
        task = run.committing
        if task is not None:
            if not task.done():
                await asyncio.shield(task)
            if run.committing is task:
                run.committing = None  # (its done callback may not have run yet)
            task.result()  # a failed commit fails the flush that meets it
        if run.committing is None and journal.has_buffered():
            run.taken += 1
            task = run.committing = asyncio.ensure_future(self._commit(run, journal.take_batch(), run.taken))
            task.add_done_callback(functools.partial(_clear, run))
            for _ in range(_HAND_OVER):  # let the commit reach the store's writer before going on
                await asyncio.sleep(0)

    def flush_soon(self, run: Running) -> None:
        """Commit the run's buffer once it has done its synchronous work (if nothing else did)."""
        if not run.flush_scheduled:
            run.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_later, run)

    def _flush_later(self, run: Running) -> None:
        run.flush_scheduled = False
        if self._closing() or run.finishing:
            return

        async def flush() -> None:
            try:
                await self.flush(run)
            except Exception as exc:  # the lane's own next flush meets the same error
                log.debug("background flush failed", execution_arn=run.record.arn, error=str(exc))

        task = asyncio.ensure_future(flush())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def commit(self, batch: WriteBatch) -> None:
        """Commit ``batch``; while the database is unavailable, retry with backoff (never give up
        unless the engine closes). A batch the store rejects raises :class:`BatchRejected`."""
        delay = 0.05
        while True:
            try:
                await self.store.commit(batch)
            except StoreUnavailable as exc:
                if self._closing():
                    raise
                if self._unavailable is None:  # one warning per episode, not per commit
                    self._unavailable = str(exc)
                    log.warning("database unavailable; commits wait and retry", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                if self._unavailable is not None:
                    self._unavailable = None
                    log.warning("database available again; executions continue")
                if self.on_committed is not None and batch.events:  # only what is committed
                    await self.on_committed(batch)
                return


def _clear(run: Running, done: asyncio.Task[None]) -> None:
    if run.committing is done:
        run.committing = None
