"""Clocks for tests: :class:`TestClock` skips idle time deterministically, :class:`ScaledClock`
runs real time faster (Step Functions Local's ``WAIT_TIME_SCALE``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..runtime.clock import ManualClock, TimerHandle, _Busy

__all__ = ["ScaledClock", "TestClock"]


class TestClock(ManualClock):
    """A :class:`~durable.ManualClock` that jumps to the next due timer only when the program
    is idle: no event-loop work changed anything for ``autojump`` real seconds and nothing else
    is ready to run on the loop, no task runs in a thread (beyond ``busy_grace``), and — once
    :meth:`watch_store` is called — no store call is in flight (a commit in SQLite's thread is
    never jumped over). So a Wait of a day, a retry back-off, ``TimeoutSeconds`` and
    ``HeartbeatSeconds`` cost milliseconds, and the order in which timers fire does not depend
    on how fast the disk is.

    A task that sleeps on this clock (an async function awaiting :meth:`sleep_until`) is waiting,
    not working: while it sleeps the clock may jump, as if the task were not running."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: float = 1_735_732_800.0, *, autojump: float = 0.001) -> None:
        super().__init__(start, autojump=autojump)
        self._holds: dict[asyncio.Task[Any], int] = {}  # busy() holds per task, not released

    def busy(self) -> _Busy:
        return _TaskBusy(self)

    def _held(self) -> bool:
        # idle also means nothing else is ready to run on the event loop: work that spans loop
        # iterations without touching the clock (a step, a commit's follow-up) is not skipped
        # over when the process was paused between two of them (a loaded machine)
        return super()._held() or bool(getattr(asyncio.get_running_loop(), "_ready", None))

    async def sleep_until(self, when: float) -> None:
        with self.released():
            await super().sleep_until(when)

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Inside a task that the engine marked busy: let the clock jump while the block waits,
        as if the task were not running (:meth:`sleep_until` does this by itself). Only the
        holds of the current asyncio task are released; work running elsewhere still holds."""
        task = _current_task()
        held = self._holds.get(task, 0) if task is not None else 0
        if task is not None and held:
            self._holds[task] = 0
            self._busy -= held
        try:
            yield
        finally:
            if task is not None and held:
                if self._busy == 0:
                    self._busy_since = time.monotonic()
                self._busy += held
                self._holds[task] = held
            self._version += 1


class _TaskBusy(_Busy):
    """A busy hold that remembers which asyncio task holds it (see :meth:`TestClock.released`)."""

    def __init__(self, clock: TestClock) -> None:
        super().__init__(clock)
        self.owner = clock
        self.task: asyncio.Task[Any] | None = None

    def __enter__(self) -> None:
        super().__enter__()
        self.task = _current_task()
        if self.task is not None:
            holds = self.owner._holds
            holds[self.task] = holds.get(self.task, 0) + 1

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self.task is not None:
            holds = self.owner._holds
            left = holds.get(self.task, 0) - 1
            if left > 0:
                holds[self.task] = left
            else:
                holds.pop(self.task, None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running event loop
        return None


class ScaledClock:
    """Real time, with every wait scaled by ``scale`` (``0.01``: a 100-second Wait, retry
    interval or timeout takes one real second). Dates (history timestamps, ``$$.State.EnteredTime``)
    move ``1/scale`` times faster than the wall clock, from the wall clock's time at creation."""

    def __init__(self, scale: float) -> None:
        if not scale > 0:
            raise ValueError(f"the wait time scale must be a positive number, not {scale!r}")
        self.scale = float(scale)
        self._origin = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._mono) / self.scale

    async def sleep_until(self, when: float) -> None:
        delay = (when - self.now()) * self.scale
        await asyncio.sleep(delay if delay > 0 else 0)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, (when - self.now()) * self.scale), callback)
