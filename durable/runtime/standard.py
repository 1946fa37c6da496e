"""Durable Standard executions: journaled, persisted before effects, resumed after a crash.

An execution runs the same interpreter as Express. Its :class:`~durable.runtime.journal.Journal`
records every non-deterministic outcome; the buffered events and entries are committed to
the store *before* any effect is released (a task invoked, a timer armed, a token handed
out, the result reported). After a crash, an execution is rebuilt by replaying its journal:
recorded tasks are never invoked again, a task whose result was not recorded is invoked
again (at-least-once), timers keep their original due times.

An execution whose root scope waits on a long timer or a task token is *parked*: its
coroutine ends and only the store (and a heap entry for a timer) remembers it, so waiting
executions cost no coroutine. A waiting branch of a Parallel or Map keeps its execution
resident.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import msgspec

from ..interpreter import failure as F
from ..interpreter.context import iso_time
from ..interpreter.failure import StatesFailure
from ..interpreter.program import Program
from ..store.base import (
    ActivityTaskRecord,
    EventRecord,
    ExecutionRecord,
    JournalRecord,
    Store,
    TimerRecord,
    TokenRecord,
    WriteBatch,
)
from .clock import Clock, DeadlineExceeded, with_deadline
from .driver import Driver, Gen
from .execution_driver import NEVER, PARK_PREFIX, TIMEOUT_KEY, ExecutionDriver, Parked, Running, Stopped
from .journal import Journal, JournalContext, redrive_cuts

PARK_AFTER_SECONDS = 1.0
EARLY_LANE = "!early:"  # a pseudo-lane holding a task token's answer that came before its place
FINISHED_CACHE = 10_000

_encode = msgspec.json.encode
_decode = msgspec.json.decode

_FINAL_EVENTS = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}


class StandardExecutions:
    """Runs, parks, resumes and recovers the Standard executions of one engine."""

    def __init__(
        self,
        store: Store,
        driver: Driver,
        clock: Clock,
        program_for: Callable[[str], Program],
        *,
        park_after: float = PARK_AFTER_SECONDS,
    ) -> None:
        self.store = store
        self.driver = driver
        self.clock = clock
        self.program_for = program_for
        self.park_after = park_after
        self.running: dict[str, Running] = {}
        self._heap: list[tuple[float, str, str]] = []  # (due, execution arn, timer key)
        self._due: dict[tuple[str, str], float] = {}  # the live due time of each armed timer
        self._wake = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._closed = False
        self.done: dict[str, asyncio.Event] = {}  # waiters of running executions
        self.finished: OrderedDict[str, ExecutionRecord] = OrderedDict()  # recently finished
        self._activity_flags: dict[str, asyncio.Event] = {}
        self._claimed: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover: resume resident executions, re-arm the timers of parked ones."""
        timers = await self.store.timers()
        parked = {t.execution_arn for t in timers if t.key.startswith(PARK_PREFIX)}
        for t in timers:
            if t.due < NEVER and (
                t.key.startswith(PARK_PREFIX) or t.key == TIMEOUT_KEY or t.key.startswith("token:")
            ):
                self.schedule(t.due, t.execution_arn, t.key)
        running = [r for r in await self.store.running_executions() if r.arn not in parked]
        if running:
            journals, last_ids = await self.store.running_journals()
            machines = {m.arn: m for m in await self.store.list_state_machines()}
            for record in running:
                machine = machines.get(record.state_machine_arn)
                self._resume_loaded(
                    record,
                    journals.get(record.arn, []),
                    last_ids.get(record.arn, 0),
                    machine.name if machine else record.state_machine_arn.rsplit(":", 1)[-1],
                    machine.role_arn if machine else "",
                )
        self._scheduler = asyncio.ensure_future(self._schedule_loop())

    async def close(self) -> None:
        self._closed = True
        if self._scheduler is not None:
            self._scheduler.cancel()
        runs = list(self.running.values())
        tasks = [r.task for r in runs if r.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for run in runs:  # keep every recorded outcome: a clean close re-runs nothing
            batch = run.journal.take_batch()
            if not batch.is_empty():
                await self.store.commit(batch)
        self.running.clear()

    # -- starting and resuming -----------------------------------------------------------------
    def _context(
        self, record: ExecutionRecord, journal: Journal, machine_name: str, role_arn: str
    ) -> JournalContext:
        ctx = JournalContext(
            journal,
            execution_arn=record.arn,
            execution_name=record.name,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=machine_name,
            input=_decode(record.input),
            start_epoch=record.start_date,
            role_arn=role_arn,
            redrive_count=record.redrive_count,
            first_event_id=0,
            region=self.driver.region,
        )
        if record.redrive_date is not None:
            ctx.redrive_time = iso_time(record.redrive_date)
        return ctx

    async def start_execution(self, record: ExecutionRecord, machine_name: str, role_arn: str) -> None:
        """Persist the start (ExecutionStarted) and run the execution in the background."""
        program = self.program_for(record.definition)
        journal = Journal(record.arn, self.clock, start_time=record.start_date)
        ctx = self._context(record, journal, machine_name, role_arn)
        ctx.emit(
            "ExecutionStarted",
            0,
            "executionStartedEventDetails",
            {"input": ctx.input, "inputDetails": {"truncated": False}, "roleArn": role_arn},
        )
        batch = journal.batch
        batch.executions.append(record)
        if program.timeout_seconds is not None:
            due = record.start_date + program.timeout_seconds
            batch.timers.append(TimerRecord(execution_arn=record.arn, key=TIMEOUT_KEY, due=due))
        run = Running(record, journal, ctx)
        self.running[record.arn] = run
        self.finished.pop(record.arn, None)
        # Run until the first effect (or the end) before committing: the start and every
        # pure transition up to there share one transaction.
        driver = ExecutionDriver(self, run)
        gen = program.run(ctx.input, ctx)
        root = journal.lane("")
        journal.enter(root)
        try:
            finished, value = driver.start_child(gen, root)
        except StatesFailure as failure:
            await self._finish(run, "FAILED", error=failure.error or None, cause=failure.cause or None)
            return
        if finished:
            await self._finish(run, "SUCCEEDED", output=value)
            return
        await self.store.commit(journal.take_batch())
        if program.timeout_seconds is not None:
            self.schedule(record.start_date + program.timeout_seconds, record.arn, TIMEOUT_KEY)
        run.task = asyncio.ensure_future(self._run(run, program, (gen, value)))

    async def resume(self, record: ExecutionRecord) -> None:
        if record.arn in self.running or record.status != "RUNNING":
            return
        machine = await self.store.get_state_machine(record.state_machine_arn)
        name = machine.name if machine else record.state_machine_arn.rsplit(":", 1)[-1]
        role = machine.role_arn if machine else ""
        entries = await self.store.journal(record.arn)
        last = await self._last_event_id(record.arn)
        self._resume_loaded(record, entries, last, name, role)

    def _resume_loaded(
        self, record: ExecutionRecord, entries: list[JournalRecord], last: int, name: str, role: str
    ) -> None:
        """Rebuild a running execution from its journal and let it replay in the background."""
        journal = Journal(record.arn, self.clock, entries, last_event_id=last, start_time=record.start_date)
        journal.lane("").pending.popleft() if journal.lane("").pending else None  # ExecutionStarted
        ctx = self._context(record, journal, name, role)
        ctx.events = last
        self._launch(Running(record, journal, ctx), self.program_for(record.definition))

    async def _last_event_id(self, arn: str) -> int:
        last, _ = await self.store.events(arn, reverse=True, limit=1)
        return last[0].id if last else 0

    async def redrive(self, record: ExecutionRecord) -> ExecutionRecord:
        """Re-run a FAILED / ABORTED / TIMED_OUT execution from its unsuccessful states.

        Appends ``ExecutionRedriven``, cuts each unsuccessful lane of the journal back to the
        state that failed (completed branches and iterations keep their recorded outcomes),
        resets the execution timeout, and resumes by replay.
        """
        arn = record.arn
        entries = await self.store.journal(arn)
        events, _ = await self.store.events(arn, limit=1_000_000)
        types = {e.id: e.type for e in events}
        cuts = redrive_cuts(entries, types)
        seqs: dict[str, int] = {}
        for e in entries:
            seqs[e.lane] = max(seqs.get(e.lane, 0), e.seq)
        now = self.clock.now()
        count = record.redrive_count + 1
        last = events[-1].id if events else 0
        batch = WriteBatch(
            journal=[
                JournalRecord(execution_arn=arn, lane=lane, seq=seqs[lane] + 1, kind="cut", payload=str(cut))
                for lane, cut in cuts.items()
            ],
            events=[
                EventRecord(
                    execution_arn=arn,
                    id=last + 1,
                    type="ExecutionRedriven",
                    previous_event_id=last,
                    timestamp=now,
                    details=_encode({"redriveCount": count}).decode(),
                )
            ],
        )
        redriven = msgspec.structs.replace(
            record,
            status="RUNNING",
            stop_date=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=count,
            redrive_date=now,
        )
        batch.executions.append(redriven)
        program = self.program_for(record.definition)
        if program.timeout_seconds is not None:
            due = now + program.timeout_seconds
            batch.timers.append(TimerRecord(execution_arn=arn, key=TIMEOUT_KEY, due=due))
        await self.store.commit(batch)
        if program.timeout_seconds is not None:
            self.schedule(now + program.timeout_seconds, arn, TIMEOUT_KEY)
        self.finished.pop(arn, None)
        await self.resume(redriven)
        return redriven

    def _launch(self, run: Running, program: Program) -> None:
        self.running[run.record.arn] = run
        self.finished.pop(run.record.arn, None)
        run.task = asyncio.ensure_future(self._run(run, program))

    async def _run(self, run: Running, program: Program, started: tuple[Gen, Any] | None = None) -> None:
        record = run.record
        ctx = run.ctx
        driver = ExecutionDriver(self, run)
        journal = run.journal
        root = journal.lane("")
        try:
            try:
                journal.enter(root)
                if started is None:
                    gen = program.run(ctx.input, ctx)
                    finished, value = driver.start_child(gen, root)
                else:
                    (gen, value), finished = started, False
                if not finished:
                    value = await driver.drive(gen, value, record.arn, record.state_machine_arn, root)
            except asyncio.CancelledError:
                if run.stop is None:
                    raise
                raise run.stop from None
        except Parked:
            self.running.pop(record.arn, None)
            return
        except Stopped as stop:
            await self._finish(run, stop.status, error=stop.error, cause=stop.cause)
        except StatesFailure as failure:
            await self._finish(run, "FAILED", error=failure.error or None, cause=failure.cause or None)
        except asyncio.CancelledError:
            self.running.pop(record.arn, None)  # engine closing: resumes on next start
            raise
        else:
            await self._finish(run, "SUCCEEDED", output=value)

    async def _finish(
        self,
        run: Running,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        journal = run.journal
        journal.enter(journal.lane(""))
        details: dict[str, Any]
        if status == "SUCCEEDED":
            details = {"output": output, "outputDetails": {"truncated": False}}
        else:
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        journal.emit(_FINAL_EVENTS[status], 0 if status == "ABORTED" else run.ctx.events, details)
        record = msgspec.structs.replace(
            run.record,
            status=status,
            stop_date=self.clock.now(),
            output=_encode(output).decode() if status == "SUCCEEDED" else None,
            error=error,
            cause=cause,
            event_count=journal.last_event_id,
        )
        batch = journal.take_batch()
        batch.executions.append(record)
        batch.deleted_timers.append((record.arn, TIMEOUT_KEY))
        self._due.pop((record.arn, TIMEOUT_KEY), None)
        await self.store.commit(batch)
        run.record = record
        self.running.pop(record.arn, None)
        self.finished[record.arn] = record
        if len(self.finished) > FINISHED_CACHE:
            self.finished.popitem(last=False)
        event_flag = self.done.pop(record.arn, None)
        if event_flag is not None:
            event_flag.set()

    async def _placed(self, token: str, grace: float = 1.0) -> TokenRecord | None:
        """The token once its wait is recorded and still open after ``grace`` seconds, else None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        seen_placed: float | None = None
        while loop.time() < deadline:
            fresh = await self.store.get_token(token)
            if fresh is None or fresh.closed:
                return None
            if fresh.seq != 0:
                if seen_placed is None:
                    seen_placed = loop.time()
                elif loop.time() - seen_placed >= grace:
                    return fresh
            await asyncio.sleep(0.05)
        return None

    async def early_outcome(self, arn: str, token: str) -> tuple[bool, Any] | None:
        """An answer another process left for a token before its submission returned."""
        for entry in await self.store.journal(arn):
            if entry.lane == EARLY_LANE + token:
                return entry.kind == "result", _decode(entry.payload)
        return None

    def flush_soon(self, run: Running) -> None:
        """Commit the run's buffer once it has done its synchronous work (if nothing else did)."""
        if not run.flush_scheduled:
            run.flush_scheduled = True
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush_later(run)))

    async def _flush_later(self, run: Running) -> None:
        run.flush_scheduled = False
        if not self._closed:
            await self.flush(run)

    async def flush(self, run: Running) -> None:
        batch = run.journal.take_batch()
        if not batch.is_empty():
            await self.store.commit(batch)

    # -- stopping ------------------------------------------------------------------------------------
    async def stop(self, arn: str, status: str, error: str | None, cause: str | None) -> bool:
        """Abort (StopExecution) or time out a running execution. False if it is not running."""
        run = self.running.get(arn)
        if run is not None and run.task is not None and not run.task.done():
            run.stop = Stopped(status, error, cause)
            run.task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)
            return True
        record = await self.store.get_execution(arn)
        if record is None or record.status != "RUNNING":
            return False
        entries = await self.store.journal(arn)
        last = await self._last_event_id(arn)
        journal = Journal(arn, self.clock, entries, last_event_id=last)
        journal.skip_replay()
        parked = Running(record, journal, self._context(record, journal, "", ""))
        parked.ctx.events = last
        batch = WriteBatch()
        for token in await self.store.open_tokens(arn):
            batch.tokens.append(msgspec.structs.replace(token, closed=True))
            batch.deleted_timers.extend(
                [(arn, f"token:{token.token}"), (arn, f"{PARK_PREFIX}token:{token.token}")]
            )
        for timer in await self.store.timers():
            if timer.execution_arn == arn:
                batch.deleted_timers.append((arn, timer.key))
        journal.batch = batch
        await self._finish(parked, status, error=error, cause=cause)
        return True

    # -- task tokens -----------------------------------------------------------------------------------
    def token_deadline(self, token: TokenRecord, now: float) -> float | None:
        """When the token expires. An activity's clocks start only once a worker takes it."""
        if token.activity_arn is not None and token.last_heartbeat is None:
            return None
        candidates = []
        if token.timeout_seconds is not None:
            candidates.append(token.created + token.timeout_seconds)
        if token.heartbeat_seconds is not None:
            candidates.append((token.last_heartbeat or now) + token.heartbeat_seconds)
        return min(candidates) if candidates else None

    async def complete_token(self, token: TokenRecord, ok: bool, value: Any) -> None:
        """Deliver a token's outcome: to the waiting coroutine, or into the journal of a parked run."""
        run = self.running.get(token.execution_arn)
        if run is not None and token.token in run.waiters:
            fut = run.waiters[token.token]
            if not fut.done():
                fut.set_result((ok, value))
            return
        if token.seq == 0:  # answered before its submission returned
            if run is not None:
                run.early[token.token] = (ok, value)
                return
            # The submission runs in another process: leave the outcome beside the journal,
            # where that process looks before it waits. If it started waiting meanwhile (the
            # token now has its place), deliver it there instead.
            await self.store.commit(
                WriteBatch(
                    journal=[
                        JournalRecord(
                            execution_arn=token.execution_arn,
                            lane=EARLY_LANE + token.token,
                            seq=1,
                            kind="result" if ok else "failure",
                            payload=_encode(value).decode(),
                        )
                    ]
                )
            )
            # The owner checks for it right after committing the token's place. If the place
            # appears but the token stays open, the owner missed it: deliver it there.
            fresh = await self._placed(token.token)
            if fresh is None:
                return
            token = fresh
        arn = token.execution_arn
        batch = WriteBatch(
            tokens=[msgspec.structs.replace(token, closed=True)],
            deleted_timers=_token_timers(arn, token.token),
            deleted_activity_tasks=[token.token] if token.activity_arn else [],
        )
        batch.journal.append(
            JournalRecord(
                execution_arn=arn,
                lane=token.lane,
                seq=token.seq,
                kind="result" if ok else "failure",
                payload=_encode(value).decode(),
            )
        )
        await self.store.commit(batch)
        record = await self.store.get_execution(arn)
        if record is not None:
            await self.resume(record)

    async def heartbeat(self, token: TokenRecord) -> None:
        now = self.clock.now()
        updated = msgspec.structs.replace(token, last_heartbeat=now)
        batch = WriteBatch(tokens=[updated])
        deadline = self.token_deadline(updated, now)
        if deadline is not None:
            batch.timers.append(
                TimerRecord(execution_arn=token.execution_arn, key=f"token:{token.token}", due=deadline)
            )
            self.schedule(deadline, token.execution_arn, f"token:{token.token}")
        await self.store.commit(batch)

    # -- activities ------------------------------------------------------------------------------------
    def activity_scheduled(self, activity_arn: str | None) -> None:
        if activity_arn is not None:
            flag = self._activity_flags.get(activity_arn)
            if flag is not None:
                flag.set()

    async def take_activity_task(
        self, activity_arn: str, worker_name: str | None
    ) -> ActivityTaskRecord | None:
        """Claim the oldest pending task of the activity and record ``ActivityStarted``."""
        for task in await self.store.pending_activity_tasks(activity_arn, limit=10):
            if task.token in self._claimed:
                continue
            token = await self.store.get_token(task.token)
            if token is None or token.closed:
                continue
            self._claimed.add(task.token)
            try:
                await self._start_activity(task, token, worker_name)
            finally:
                self._claimed.discard(task.token)
            return task
        return None

    async def _start_activity(
        self, task: ActivityTaskRecord, token: TokenRecord, worker_name: str | None
    ) -> None:
        now = self.clock.now()
        arn = task.execution_arn
        details = {"workerName": worker_name} if worker_name else {}
        started = msgspec.structs.replace(task, started=now, worker_name=worker_name)
        run = self.running.get(arn)
        if run is not None and token.token in run.waiters:
            journal = run.journal
            lane = journal.lane(token.lane)
            previous = journal.current
            journal.enter(lane)
            run.ctx.started_events[token.token] = journal.emit("ActivityStarted", lane.last_event, details)
            journal.enter(previous)
            updated = msgspec.structs.replace(token, seq=lane.seq + 1, last_heartbeat=now)
            journal.batch.tokens.append(updated)
            journal.batch.activity_tasks.append(started)
            await self.flush(run)
        else:  # parked: the root lane's last event is the ActivityScheduled it parked on
            last, _ = await self.store.events(arn, reverse=True, limit=1)
            event_id = last[0].id + 1 if last else 1
            updated = msgspec.structs.replace(token, seq=token.seq + 1, last_heartbeat=now)
            await self.store.commit(
                WriteBatch(
                    events=[
                        EventRecord(
                            execution_arn=arn,
                            id=event_id,
                            type="ActivityStarted",
                            previous_event_id=event_id - 1,
                            timestamp=now,
                            details=_encode(details).decode(),
                        )
                    ],
                    journal=[
                        JournalRecord(
                            execution_arn=arn,
                            lane=token.lane,
                            seq=token.seq,
                            kind="event",
                            payload=_encode([event_id, now]).decode(),
                        )
                    ],
                    tokens=[updated],
                    activity_tasks=[started],
                )
            )
        deadline = self.token_deadline(updated, now)
        if deadline is not None:
            expiry = TimerRecord(execution_arn=arn, key=f"token:{token.token}", due=deadline)
            await self.store.commit(WriteBatch(timers=[expiry]))
            self.schedule(deadline, arn, f"token:{token.token}")

    async def wait_for_activity(self, activity_arn: str, until: float) -> None:
        """Sleep until a task of the activity is scheduled or ``until`` passes."""
        flag = self._activity_flags.setdefault(activity_arn, asyncio.Event())
        flag.clear()
        try:
            await with_deadline(self.clock, until, flag.wait())
        except DeadlineExceeded:
            return

    # -- timers ----------------------------------------------------------------------------------------
    def schedule(self, due: float, arn: str, key: str) -> None:
        heapq.heappush(self._heap, (due, arn, key))
        self._due[(arn, key)] = due
        self._wake.set()

    async def _schedule_loop(self) -> None:
        while not self._closed:
            self._wake.clear()
            if not self._heap:
                await self._wake.wait()
                continue
            due, arn, key = self._heap[0]
            now = self.clock.now()
            if due > now:
                sleeper = asyncio.ensure_future(self.clock.sleep_until(due))
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                    waker.cancel()
                continue
            heapq.heappop(self._heap)
            if self._due.get((arn, key)) != due:
                continue  # re-armed (or disarmed) since: a stale entry
            del self._due[(arn, key)]
            try:
                await self._fire(arn, key)
            except Exception:  # keep the scheduler alive; the execution stays as it was
                continue

    async def _fire(self, arn: str, key: str) -> None:
        """A due timer: the execution's timeout, a token's expiry, or a parked execution's wake-up."""
        if key == TIMEOUT_KEY:
            await self.stop(arn, "TIMED_OUT", "States.Timeout", None)
        elif key.startswith("token:"):
            token = await self.store.get_token(key[len("token:") :])
            if token is not None and not token.closed:
                deadline = self.token_deadline(token, self.clock.now())
                if deadline is not None and deadline > self.clock.now():
                    self.schedule(deadline, arn, key)  # a heartbeat (maybe from another process) moved it
                    return
                await self.store.commit(WriteBatch(deleted_timers=[(arn, key)]))
                await self.complete_token(token, False, [F.TIMEOUT, None])
        elif key.startswith(PARK_PREFIX) and arn not in self.running:
            record = await self.store.get_execution(arn)
            if record is not None:
                await self.resume(record)

    async def wait(self, arn: str) -> ExecutionRecord | None:
        """The execution's final record, once it stops (None if it does not exist)."""
        record = self.finished.get(arn)
        if record is not None:
            return record
        if arn not in self.running:
            record = await self.store.get_execution(arn)
            if record is None or record.status != "RUNNING":
                return record
        flag = self.done.setdefault(arn, asyncio.Event())
        await flag.wait()
        return self.finished.get(arn) or await self.store.get_execution(arn)


def _token_timers(arn: str, token: str) -> list[tuple[str, str]]:
    return [(arn, f"token:{token}"), (arn, f"{PARK_PREFIX}token:{token}")]
