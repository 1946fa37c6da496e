"""Clocks: the runtime owns time. Tests inject a :class:`ManualClock` and skip time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

__all__ = ["Clock", "DeadlineExceeded", "ManualClock", "SystemClock", "TimerHandle", "with_deadline"]

T = TypeVar("T")

# store methods that are not I/O in flight (opening and closing are the engine's own business)
_NOT_WATCHED = frozenset({"open", "close", "fault", "stats"})


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...

    async def sleep_until(self, when: float) -> None: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` (on the event loop) once the clock reaches ``when``."""
        ...


class SystemClock:
    """Wall-clock time."""

    now = staticmethod(time.time)

    async def sleep_until(self, when: float) -> None:
        delay = when - time.time()
        await asyncio.sleep(delay if delay > 0 else 0)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_at(loop.time() + max(0.0, when - time.time()), callback)


class _Timer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to (:meth:`advance`), or — with ``autojump`` set —
    jumps to the next due timer once the program has been idle for ``autojump`` real seconds.

    With autojump, a 60-second Wait or a 5-second task timeout costs a few milliseconds of
    real time, while work that is actually running (a task in a thread) is not skipped over
    unless it outlasts the idle threshold, and a store call in flight (a commit in SQLite's
    thread) is never jumped over: an engine given this clock has it watch its store
    (:meth:`watch_store`).
    """

    def __init__(self, start: float = 1_735_732_800.0, *, autojump: float | None = None) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._autojump = autojump
        self._version = 0
        self._watcher: asyncio.Task[None] | None = None
        self._busy = 0
        self._busy_since = 0.0
        self.busy_grace = 1.0
        self._in_flight = 0  # store calls running (see watch_store): never jump over them

    def now(self) -> float:
        return self._now

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the clock (no jump at all) while the block runs."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._version += 1

    def watch_store(self, store: Any) -> None:
        """Hold the clock while any of ``store``'s coroutine methods runs (wraps them on the
        instance; idempotent). The engine calls this for the store it opens."""
        if getattr(store, "_durable_clock", None) is self:
            return
        for name in dir(type(store)):
            if name.startswith("_") or name in _NOT_WATCHED:
                continue
            method = getattr(store, name, None)
            if callable(method) and inspect.iscoroutinefunction(method):
                setattr(store, name, self._holding_call(method))
        store._durable_clock = self

    def _holding_call(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            with self.holding():
                return await method(*args, **kwargs)

        return call

    def busy(self) -> _Busy:
        """Held while real work runs (a task in a thread): autojump then waits up to
        ``busy_grace`` real seconds before skipping time, so quick work is never timed out
        while a task that outlives the grace (a sleeping handler) still is."""
        return _Busy(self)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        self._version += 1
        if self._autojump is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return timer

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_at(when, wake)
        try:
            await fut
        finally:
            timer.cancel()
            self._version += 1

    def advance(self, seconds: float) -> None:
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        self._now = max(self._now, when)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def _prune(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)

    def _held(self) -> bool:
        """True while autojump must not skip time: a store call in flight, or real work within
        its ``busy_grace``."""
        return self._in_flight > 0 or (
            self._busy > 0 and time.monotonic() - self._busy_since < self.busy_grace
        )

    async def _watch(self) -> None:
        assert self._autojump is not None
        seen = -1
        while True:
            self._prune()
            if not self._timers:
                return
            held = self._held()
            if self._version == seen and not held:
                self.advance_to(self._timers[0][0])
                seen = -1
            else:
                seen = -1 if held else self._version  # after a hold: a whole idle period again
            await asyncio.sleep(self._autojump)


class _Busy:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def __enter__(self) -> None:
        if self.clock._busy == 0:
            self.clock._busy_since = time.monotonic()
        self.clock._busy += 1

    def __exit__(self, *exc: object) -> None:
        self.clock._busy -= 1
        self.clock._version += 1


class DeadlineExceeded(Exception):
    pass


async def with_deadline(clock: Clock, deadline: float | None, work: Awaitable[T]) -> T:
    """Await ``work`` in the current task; past ``deadline`` cancel it and raise DeadlineExceeded.

    No extra task is created: a clock timer cancels the current task, and the cancellation is
    turned into :class:`DeadlineExceeded` here.
    """
    if deadline is None:
        return await work
    task = asyncio.current_task()
    assert task is not None
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    handle = clock.call_at(deadline, expire)
    try:
        return await work
    except asyncio.CancelledError:
        if fired:
            task.uncancel()
            raise DeadlineExceeded from None
        raise
    finally:
        handle.cancel()
