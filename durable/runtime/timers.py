"""Durable timers: typed keys, rows in the store, and the scheduler that fires them.

Every timer of an execution is a row of the store's ``timers`` table keyed by ``(execution,
key)``. :class:`TimerKey` is the one place that knows the key text; everything else passes
keys around typed. Four kinds exist:

===================  =================================================================
``EXECUTION_TIMEOUT``  the state machine's ``TimeoutSeconds``: stop the execution TIMED_OUT
``WAKE``             a parked execution's Wait or retry back-off: resume it when due
``TOKEN_DEADLINE``   a task token's ``TimeoutSeconds``/``HeartbeatSeconds``: time it out
``TOKEN_PARK``       the execution is parked on a task token (a marker, never due)
===================  =================================================================

``WAKE`` and ``TOKEN_PARK`` rows are *parking* rows (``TimerRecord.parks``): an execution that
has one holds no coroutine and is not resumed when an engine opens, only when the timer fires
or a request (an answer, a stop) arrives for it.

The :class:`Scheduler` keeps only the timers due within ``window`` seconds in memory (a heap);
further ones stay in the store and are read a window at a time, so a million parked
executions cost no memory until they are due. Each turn of its loop takes *every* timer due by
then off the heap before anything runs: each ``WAKE`` timer goes to the synchronous ``wake`` (the
woken executions then read the store together, see :mod:`durable.runtime.batching`), the
others each to ``fire`` in a task of its own.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from ..store.base import Store, TimerRecord
from .clock import Clock

__all__ = ["NEVER", "Scheduler", "TimerKey", "TimerKind"]

NEVER = 1e18  # the due time of a timer that never fires (a parking marker)
log = structlog.get_logger("durable.runtime")


class TimerKind(enum.Enum):
    EXECUTION_TIMEOUT = "execution-timeout"
    WAKE = "wake"
    TOKEN_DEADLINE = "token-deadline"
    TOKEN_PARK = "token-park"


@dataclass(frozen=True, slots=True)
class TimerKey:
    """A timer of one execution: its kind and what it refers to (a ``lane#seq`` or a token)."""

    kind: TimerKind
    ref: str = ""

    @classmethod
    def execution_timeout(cls) -> TimerKey:
        return cls(TimerKind.EXECUTION_TIMEOUT)

    @classmethod
    def wake(cls, lane: str, seq: int) -> TimerKey:
        return cls(TimerKind.WAKE, f"{lane}#{seq}")

    @classmethod
    def token_deadline(cls, token: str) -> TimerKey:
        return cls(TimerKind.TOKEN_DEADLINE, token)

    @classmethod
    def token_park(cls, token: str) -> TimerKey:
        return cls(TimerKind.TOKEN_PARK, token)

    @property
    def parks(self) -> bool:
        return self.kind in (TimerKind.WAKE, TimerKind.TOKEN_PARK)

    @property
    def text(self) -> str:
        # the texts of the first schema version, so that databases written by it resume
        kind = self.kind
        if kind is TimerKind.EXECUTION_TIMEOUT:
            return "execution-timeout"
        if kind is TimerKind.WAKE:
            return f"park:{self.ref}"
        if kind is TimerKind.TOKEN_PARK:
            return f"park:token:{self.ref}"
        return f"token:{self.ref}"

    @classmethod
    def parse(cls, text: str) -> TimerKey | None:
        """The key a stored text names; None for texts of no current kind (ignored)."""
        if text == "execution-timeout":
            return cls.execution_timeout()
        if text.startswith("park:token:"):
            return cls.token_park(text[len("park:token:") :])
        if text.startswith("park:"):
            return cls(TimerKind.WAKE, text[len("park:") :])
        if text.startswith("token:"):
            return cls.token_deadline(text[len("token:") :])
        return None

    def record(self, execution_arn: str, due: float) -> TimerRecord:
        return TimerRecord(execution_arn=execution_arn, key=self.text, due=due, parks=self.parks)

    def row(self, execution_arn: str) -> tuple[str, str]:
        """The ``(execution, key)`` pair that deletes the row (``WriteBatch.deleted_timers``)."""
        return (execution_arn, self.text)


Fire = Callable[[str, TimerKey], Awaitable[None]]
Wake = Callable[[str], None]


class Scheduler:
    """Fires due timers (see the module docstring). ``arm`` a timer once its row is committed."""

    def __init__(
        self, store: Store, clock: Clock, fire: Fire, *, wake: Wake | None = None, window: float = 60.0
    ) -> None:
        self.store = store
        self.clock = clock
        self._fire = fire
        self._resume = wake  # resumes the execution of a due WAKE timer (else it goes to ``fire``)
        self.window = window
        self._heap: list[tuple[float, str, str]] = []  # (due, execution arn, key text)
        self._due: dict[tuple[str, str], float] = {}  # live due time of each timer in the heap
        self._horizon = float("-inf")  # timers due up to here are in the heap (or fired)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._firing: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- arming -------------------------------------------------------------------------------------
    def arm(self, execution_arn: str, key: TimerKey, due: float) -> None:
        """Fire ``key`` at ``due``. Timers beyond the loaded window are left to the store."""
        if due >= NEVER or due > self._horizon:
            return
        heapq.heappush(self._heap, (due, execution_arn, key.text))
        self._due[(execution_arn, key.text)] = due
        self._wake.set()

    def disarm(self, execution_arn: str, key: TimerKey) -> None:
        self._due.pop((execution_arn, key.text), None)

    def refresh(self) -> None:
        """Read the store's timers again from the start (executions changed hands: timers of
        executions another engine left are this one's to fire now)."""
        self._horizon = float("-inf")
        self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._load()
        self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._task, *self._firing) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _load(self) -> None:
        """Read the next window of timers from the store into the heap."""
        start, end = self._horizon, self.clock.now() + self.window
        # raised before the read: a timer armed while it runs goes to the heap, and one
        # committed before it is in what it returns (duplicates collapse on their key)
        self._horizon = end
        rows = await self.store.timers(until=end, after=None if start == float("-inf") else start)
        for row in rows:
            key = (row.execution_arn, row.key)
            if self._due.get(key) != row.due:
                heapq.heappush(self._heap, (row.due, row.execution_arn, row.key))
                self._due[key] = row.due

    async def _loop(self) -> None:
        while not self._closed:
            now = self.clock.now()
            if now + self.window / 2 >= self._horizon:
                try:
                    await self._load()
                except Exception as exc:  # the store is unavailable: try again shortly
                    log.warning("timers could not be read", error=str(exc))
                    await asyncio.sleep(0.5)
                    continue
            self._wake.clear()
            reload_at = self._horizon - self.window / 2
            if not self._heap or self._heap[0][0] > now:
                until = min(self._heap[0][0], reload_at) if self._heap else reload_at
                await self._sleep(until)
                continue
            self._fire_due(now)
            await asyncio.sleep(0)  # let what was fired start before the next turn

    def _fire_due(self, now: float) -> None:
        """Take every timer due by ``now`` off the heap; fire each exactly once."""
        heap, live = self._heap, self._due
        wake = self._resume
        while heap and heap[0][0] <= now:
            due, arn, text = heapq.heappop(heap)
            if live.get((arn, text)) != due:
                continue  # re-armed (or disarmed) since: a stale entry
            del live[(arn, text)]
            key = TimerKey.parse(text)
            if key is None:
                continue
            if key.kind is TimerKind.WAKE and wake is not None:
                wake(arn)
                continue
            task = asyncio.ensure_future(self._run(arn, key))
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)

    async def _sleep(self, until: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep_until(until))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _run(self, arn: str, key: TimerKey) -> None:
        try:
            await self._fire(arn, key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the execution stays as it was: try again a little later
            log.error("timer failed; retrying in 1 s", execution_arn=arn, timer=key.text, error=repr(exc))
            if not self._closed:
                self.arm(arn, key, self.clock.now() + 1.0)
