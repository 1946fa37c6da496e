"""Coalesced reads: many executions asking the store for the same kind of thing share one read.

When a burst of timers falls due, every woken execution must read its record and journal
before it replays. One read per execution (and several round trips each) puts the reader
thread far behind the clock at a few thousand wakes per second. A :class:`BatchReader` keeps
at most one read in flight: every key asked for while it runs waits for the next read, which
takes them all at once. An idle engine pays no delay (a lone request is read at once); a busy
one reads in batches as large as the backlog (up to ``limit`` keys per read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["BatchReader"]

K = TypeVar("K")
V = TypeVar("V")


class BatchReader(Generic[K, V]):
    """``await reader.get(key)``: ``read(keys)`` returns a dict; a key it omits gives None.

    A failed read fails every request it served (each caller decides what to do, as it would
    after a read of its own). A caller cancelled while waiting just stops waiting.
    """

    def __init__(self, read: Callable[[Sequence[K]], Awaitable[dict[K, V]]], *, limit: int = 2000) -> None:
        self._read = read
        self.limit = limit
        self._queue: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # reads made (a measure of how much batching happens)

    async def get(self, key: K) -> V | None:
        fut: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._queue.setdefault(key, []).append(fut)
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())
        return await fut

    async def _drain(self) -> None:
        try:
            while self._queue:
                keys = list(self._queue)[: self.limit]
                waiting = {k: self._queue.pop(k) for k in keys}
                live = [k for k in keys if any(not f.done() for f in waiting[k])]
                if not live:
                    continue
                self.reads += 1
                try:
                    found = await self._read(live)
                except asyncio.CancelledError:
                    for futures in waiting.values():
                        for fut in futures:
                            fut.cancel()
                    raise
                except Exception as exc:
                    for futures in waiting.values():
                        for fut in futures:
                            if not fut.done():
                                fut.set_exception(exc)
                    continue
                for key, futures in waiting.items():
                    value = found.get(key)
                    for fut in futures:
                        if not fut.done():
                            fut.set_result(value)
        finally:
            self._task = None
            queued, self._queue = self._queue, {}
            for futures in queued.values():  # only after a cancellation
                for fut in futures:
                    fut.cancel()

    async def close(self) -> None:
        """Stop reading: whoever still waits is cancelled."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
