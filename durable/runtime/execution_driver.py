"""Drive one Standard execution's generators lane by lane through its journal.

A command whose outcome the journal holds is answered from it (replay); otherwise it runs
(live) and its outcome is recorded. Before any effect is released the buffer is committed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from ..interpreter import failure as F
from ..interpreter.commands import AwaitToken, InvokeTask, Sleep
from ..interpreter.failure import StatesFailure
from ..store.base import ActivityTaskRecord, ExecutionRecord, TimerRecord, TokenRecord
from .driver import Driver, Gen
from .journal import Journal, JournalContext, Lane

if TYPE_CHECKING:
    from .standard import StandardExecutions

__all__ = ["NEVER", "PARK_PREFIX", "TIMEOUT_KEY", "ExecutionDriver", "Parked", "Running", "Stopped"]

TIMEOUT_KEY = "execution-timeout"
PARK_PREFIX = "park:"
NEVER = 1e18

_encode = msgspec.json.encode


class Parked(Exception):
    """The execution waits on something long: its coroutine ends, the store remembers it."""


class Stopped(Exception):
    def __init__(self, status: str, error: str | None, cause: str | None) -> None:
        self.status, self.error, self.cause = status, error, cause


@dataclass
class Running:
    """An execution resident in this process."""

    record: ExecutionRecord
    journal: Journal
    ctx: JournalContext
    task: asyncio.Task[None] | None = None
    stop: Stopped | None = None
    waiters: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    early: dict[str, tuple[bool, Any]] = field(default_factory=dict)  # answered while submitting
    flush_scheduled: bool = False


class ExecutionDriver(Driver):
    """Drives one execution's generators lane by lane through its journal."""

    def __init__(self, owner: StandardExecutions, run: Running) -> None:
        base = owner.driver
        super().__init__(base.clock, base.registry, base.region, base.account)
        self.owner = owner
        self.run = run
        self.journal = run.journal

    def resume(self, gen: Gen, value: Any, exc: StatesFailure | None, lane: Any) -> Any:
        self.journal.enter(lane)
        return gen.throw(exc) if exc is not None else gen.send(value)

    def start_child(self, gen: Gen, lane: Any) -> tuple[bool, Any]:
        self.journal.enter(lane)
        return super().start_child(gen, lane)

    def lanes_for(self, parent: Any, count: int) -> list[Any]:
        return self.journal.child_lanes(parent, count)

    async def execute(self, cmd: Any, execution_arn: str, state_machine_arn: str, lane: Any = None) -> Any:
        kind = type(cmd)
        if kind is InvokeTask or kind is Sleep or kind is AwaitToken:
            if kind is AwaitToken and self.journal.next_kind(lane) == "event":
                # recorded by a worker's poll while the execution was parked
                started = self.journal.emit("ActivityStarted", lane.last_event, None)
                self.run.ctx.started_events[cmd.token] = started
            recorded = self.journal.replay_outcome(lane)
            if recorded is not None:
                ok, value = recorded
                if ok:
                    return value
                raise StatesFailure(value[0], value[1])
            if kind is InvokeTask:
                return await self._invoke(cmd, lane)
            if kind is Sleep:
                return await self._sleep(cmd, lane)
            return await self._await_token(cmd, lane)
        return await super().execute(cmd, execution_arn, state_machine_arn, lane)

    async def _invoke(self, cmd: InvokeTask, lane: Lane) -> Any:
        record = self.run.record
        if cmd.task_token is not None:  # the callback may come before the submission returns
            self.journal.batch.tokens.append(
                TokenRecord(
                    token=cmd.task_token,
                    execution_arn=record.arn,
                    lane=lane.name,
                    seq=0,
                    state_name=cmd.state_name,
                    created=self.clock.now(),
                    heartbeat_seconds=cmd.heartbeat_seconds,
                    timeout_seconds=cmd.timeout_seconds,
                )
            )
        await self.owner.flush(self.run)  # TaskScheduled is durable before the task runs
        try:
            result = await self.invoke(cmd, record.arn, record.state_machine_arn)
        except StatesFailure as failure:
            self.journal.record(lane, "failure", [failure.error, failure.cause])
            self.owner.flush_soon(self.run)
            raise
        self.journal.record(lane, "result", result)
        self.owner.flush_soon(self.run)  # durable even if this lane now waits long
        return result

    async def _sleep(self, cmd: Sleep, lane: Lane) -> None:
        arn = self.run.record.arn
        key = f"{lane.name}#{lane.seq + 1}"
        if cmd.until > self.clock.now():
            if lane.name == "" and cmd.until - self.clock.now() > self.owner.park_after:
                self.journal.batch.timers.append(
                    TimerRecord(execution_arn=arn, key=PARK_PREFIX + key, due=cmd.until)
                )
                await self.owner.flush(self.run)
                self.owner.schedule(cmd.until, arn, PARK_PREFIX + key)
                raise Parked
            self.journal.batch.timers.append(TimerRecord(execution_arn=arn, key=key, due=cmd.until))
            await self.owner.flush(self.run)
            await self.clock.sleep_until(cmd.until)
        self.journal.batch.deleted_timers.extend([(arn, key), (arn, PARK_PREFIX + key)])
        self.journal.record(lane, "fired", None)

    async def _await_token(self, cmd: AwaitToken, lane: Lane) -> Any:
        run = self.run
        arn = run.record.arn
        now = self.clock.now()
        token = TokenRecord(
            token=cmd.token,
            execution_arn=arn,
            lane=lane.name,
            seq=lane.seq + 1,
            state_name=cmd.state_name,
            created=now,
            heartbeat_seconds=cmd.heartbeat_seconds,
            timeout_seconds=cmd.timeout_seconds,
            activity_arn=cmd.activity_arn,
        )
        batch = self.journal.batch
        batch.tokens.append(token)
        early = run.early.pop(cmd.token, None)
        if early is not None:
            return self._token_outcome(token, lane, *early)
        if cmd.activity_arn is not None:
            if await self.owner.store.get_activity(cmd.activity_arn) is None:
                raise StatesFailure(F.RUNTIME, f"The activity {cmd.activity_arn} does not exist.")
            batch.activity_tasks.append(
                ActivityTaskRecord(
                    token=cmd.token,
                    activity_arn=cmd.activity_arn,
                    execution_arn=arn,
                    input=_encode(cmd.input).decode(),
                    scheduled=now,
                )
            )
        deadline = self.owner.token_deadline(token, now)
        if deadline is not None:
            batch.timers.append(TimerRecord(execution_arn=arn, key=f"token:{cmd.token}", due=deadline))
        if lane.name == "":
            park = TimerRecord(execution_arn=arn, key=f"{PARK_PREFIX}token:{cmd.token}", due=NEVER)
            batch.timers.append(park)
            await self.owner.flush(run)
            early = await self._answered_elsewhere(token)
            if early is not None:
                self.journal.batch.deleted_timers.append((arn, park.key))
                return self._token_outcome(token, lane, *early)
            if deadline is not None:
                self.owner.schedule(deadline, arn, f"token:{cmd.token}")
            self.owner.activity_scheduled(cmd.activity_arn)
            raise Parked
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        run.waiters[cmd.token] = fut
        await self.owner.flush(run)
        early = await self._answered_elsewhere(token)
        if early is not None:
            run.waiters.pop(cmd.token, None)
            return self._token_outcome(token, lane, *early)
        if deadline is not None:
            self.owner.schedule(deadline, arn, f"token:{cmd.token}")
        self.owner.activity_scheduled(cmd.activity_arn)
        try:
            ok, value = await fut
        finally:
            run.waiters.pop(cmd.token, None)
        return self._token_outcome(token, lane, ok, value)

    async def _answered_elsewhere(self, token: TokenRecord) -> tuple[bool, Any] | None:
        """An answer another process left before this wait was recorded (checked after the
        token's place is committed, so an answer arriving later finds that place)."""
        if token.activity_arn is not None:
            return None
        return await self.owner.early_outcome(token.execution_arn, token.token)

    def _token_outcome(self, token: TokenRecord, lane: Lane, ok: bool, value: Any) -> Any:
        arn = token.execution_arn
        self.journal.batch.tokens.append(msgspec.structs.replace(token, closed=True))
        self.journal.batch.deleted_timers.append((arn, f"token:{token.token}"))
        if token.activity_arn is not None:
            self.journal.batch.deleted_activity_tasks.append(token.token)
        if ok:
            self.journal.record(lane, "result", value)
            return value
        self.journal.record(lane, "failure", value)
        raise StatesFailure(value[0], value[1])
