"""The engine's scheduler: fires the due times of stored schedules on the engine's clock.

Each pass reads every schedule with the last due time it fired, and for each ENABLED one fires
the due times after that one up to now (:meth:`durable.events.Schedule.missed`): each starts the
target state machine with the target's ``Input`` under a name derived from the schedule's ARN
and the due time (:func:`schedule_execution_name`), and then the due time is committed as the
schedule's last fired. Then the scheduler sleeps until the next due time (on the engine's clock)
or until a schedule changes (from this process at once, from another within ``poll`` seconds).

Neither twice nor silently dropped: a crash between a start and its bookkeeping fires that due
time again after the restart, and the start finds the execution of that name and input already
there (StartExecution's idempotency). Due times missed while no engine ran are fired when one
opens if they are younger than the target's ``RetryPolicy.MaximumEventAgeInSeconds`` (default
24 hours, as AWS retries an invocation); older ones are given up with a warning, as AWS gives up
an invocation after that age. A schedule's first due time is the first after its creation.
``FlexibleTimeWindow``: durable invokes at the start of the window (the due time itself).
A one-time ``at()`` schedule (or one past its ``EndDate``) with ``ActionAfterCompletion:
DELETE`` is deleted once it has nothing left to fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ..errors import DurableError, ExecutionAlreadyExists
from ..events import DEFAULT_MAXIMUM_EVENT_AGE
from ..store.base import StoreError, WriteBatch
from .clock import Clock
from .delivery import Starter
from .schedule_store import FIRED_KIND, SCHEDULE_KIND, ScheduleStore, schedule_of

__all__ = ["ScheduleRunner", "schedule_execution_name"]

log = structlog.get_logger("durable.runtime")
POLL_SECONDS = 1.0


def schedule_execution_name(schedule_arn: str, due: float) -> str:
    """The execution name of one due time of one schedule (the same after a restart)."""
    digest = hashlib.sha256(f"{schedule_arn}\n{due!r}".encode()).hexdigest()
    return f"schedule-{digest[:40]}"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class ScheduleRunner:
    """Fires due schedules for the executing engine (see the module docstring)."""

    def __init__(
        self, schedules: ScheduleStore, clock: Clock, start: Starter, *, poll: float | None = POLL_SECONDS
    ) -> None:
        self.schedules = schedules
        self.clock = clock
        self.start_target = start
        self.poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        schedules.changed = self._wake.set

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                next_due = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is unavailable: look again shortly
                log.warning("schedules could not be fired", error=str(exc))
                next_due = None
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
            if next_due is not None:
                waits.append(asyncio.ensure_future(self.clock.sleep_until(next_due)))
            try:
                await asyncio.wait(waits, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    async def tick(self) -> float | None:
        """Fire every due time up to now; return the next due time of any schedule."""
        now = self.clock.now()
        upcoming: list[float] = []
        for body, last in await self.schedules.all():
            if body.get("State") != "ENABLED":
                continue
            schedule = schedule_of(body)
            cursor = _utc(last if last is not None else body["CreationDate"])
            age = (body["Target"].get("RetryPolicy") or {}).get("MaximumEventAgeInSeconds")
            max_age = DEFAULT_MAXIMUM_EVENT_AGE if age is None else timedelta(seconds=age)
            due_times = schedule.missed(cursor, _utc(now), maximum_event_age=max_age)
            if not due_times and schedule.due_between(cursor, _utc(now) - max_age, limit=1):
                log.warning(
                    "schedule due times older than the maximum event age are given up", schedule=body["Arn"]
                )
                given_up = (_utc(now) - max_age).timestamp()  # the cursor moves past them
                await self.schedules.store.commit(
                    WriteBatch(metadata=[self.schedules.fired(body["Arn"], given_up)])
                )
                cursor = _utc(given_up)
            for due in due_times:
                await self._fire(body, due.timestamp())
            after = max([cursor, *due_times])
            following = schedule.next_due(max(after, _utc(now)))
            if following is not None:
                upcoming.append(following.timestamp())
            elif body.get("ActionAfterCompletion") == "DELETE" and (due_times or last is not None):
                await self.schedules.store.commit(
                    WriteBatch(deleted_metadata=[(SCHEDULE_KIND, body["Arn"]), (FIRED_KIND, body["Arn"])])
                )
        return min(upcoming) if upcoming else None

    async def _fire(self, body: dict[str, Any], due: float) -> None:
        target = body["Target"]
        name = schedule_execution_name(body["Arn"], due)
        try:
            await self.start_target(target["Arn"], target.get("Input") or "{}", name)
        except ExecutionAlreadyExists:  # fired before a crash, with another input since
            pass
        except StoreError:
            raise
        except DurableError as exc:
            log.warning(
                "schedule target not started; the due time is given up",
                schedule=body["Arn"],
                error=f"{exc.code}: {exc}",
            )
        # only now: the start above is committed, so this due time is never lost
        await self.schedules.store.commit(WriteBatch(metadata=[self.schedules.fired(body["Arn"], due)]))
