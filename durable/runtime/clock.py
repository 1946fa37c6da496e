"""Clocks: the runtime owns time. Tests inject a :class:`ManualClock` and skip time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...

    async def sleep_until(self, when: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    now = staticmethod(time.time)

    async def sleep_until(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)


class ManualClock:
    """A clock that only moves when told to (:meth:`advance`), or — with ``autojump`` set —
    jumps to the next due sleeper once the program has been idle for ``autojump`` real seconds.

    With autojump, a 60-second Wait or a 5-second task timeout costs a few milliseconds of
    real time, while work that is actually running (a task in a thread) is not skipped over
    unless it outlasts the idle threshold.
    """

    def __init__(self, start: float = 1_735_732_800.0, *, autojump: float | None = None) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._autojump = autojump
        self._version = 0
        self._watcher: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._now

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._seq), fut))
        self._version += 1
        if self._autojump is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        try:
            await fut
        finally:
            self._version += 1

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def _prune(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    async def _watch(self) -> None:
        assert self._autojump is not None
        seen = -1
        while True:
            self._prune()
            if not self._sleepers:
                return
            if self._version == seen:
                self.advance_to(self._sleepers[0][0])
                seen = -1
            else:
                seen = self._version
            await asyncio.sleep(self._autojump)
