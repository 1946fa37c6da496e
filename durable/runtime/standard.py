"""Durable Standard executions: journaled, persisted before effects, resumed after a crash.

An execution runs the same interpreter as Express. Its :class:`~durable.runtime.journal.Journal`
records every non-deterministic outcome; the buffered events and entries are committed to the
store *before* any effect is released (a task invoked, a timer armed, a token handed out, an
activity task offered, the result reported). After a crash, an execution is rebuilt by
replaying its journal: recorded tasks are never invoked again, a task whose result was not
recorded is invoked again (at-least-once), timers keep their original due times.

**Persist before effect, in every lane.** One execution may have many lanes in flight (Parallel
branches, Map iterations) sharing one write buffer. :meth:`StandardExecutions.flush` commits the
buffer through a per-execution chain: a flush returns only once everything buffered before it
— by any lane — is committed, including a commit another lane started a moment earlier. A
commit that fails because the database is unavailable (locked, full) is retried with backoff
until it succeeds; the execution just waits meanwhile.

**Parking.** An execution whose root scope waits on a long timer or a task token is *parked*:
its coroutine ends and only the store remembers it (a parking timer), so waiting executions cost
no coroutine. A waiting branch of a Parallel or Map keeps its execution resident.

**Mail.** Answers to task tokens and activity starts arrive as inbox requests
(:mod:`durable.runtime.requests`) and wait in the execution's mailbox until the lane that awaits
the token takes them — whether it is waiting already, still replaying, or parked (then the
execution is resumed). The request is consumed in the same transaction as the outcome it puts
in the journal, so an answer is applied exactly once, whatever the engine was doing.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog

from ..interpreter import failure as F
from ..interpreter.context import iso_time
from ..interpreter.failure import StatesFailure
from ..interpreter.program import Program
from ..interpreter.quotas import Quotas
from ..store.base import (
    Conflict,
    ExecutionAbsent,
    ExecutionRecord,
    Fenced,
    RequestRecord,
    ResumeRecord,
    Store,
    StoreGone,
    StoreUnavailable,
    TimerRecord,
    TokenOpen,
    TokenRecord,
    WriteBatch,
)
from .batching import BatchReader
from .clock import Clock
from .journal import HistoryLimitReached, Journal, JournalContext
from .mailbox import Mailboxes
from .mapruns import MapRuns
from .replay import Parked, ReplayRunner, Stopped
from .requests import RequestKind, StopOrder, make_request, message_of
from .resident import Committer, Running
from .runner import CommandRunner
from .timers import Scheduler, TimerKey, TimerKind

__all__ = ["FINAL_EVENTS", "Running", "StandardExecutions"]

PARK_AFTER_SECONDS = 1.0
FINISHED_CACHE = 10_000
READOPT_ATTEMPTS = 5
WAKE_CONCURRENCY = 256  # executions resumed by timers that run at once (see wake)
RECOVERY_PAGE = 1000  # resumable executions read (with their journals) per store round trip

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_UNDECODED: Any = object()  # "the caller has no decoded input": decode the record's
log = structlog.get_logger("durable.runtime")

FINAL_EVENTS = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}


class StandardExecutions:
    """Runs, parks, resumes, stops and recovers the Standard executions of the owning engine."""

    def __init__(
        self,
        store: Store,
        runner: CommandRunner,
        clock: Clock,
        program_for: Callable[[str], Program],
        *,
        park_after: float = PARK_AFTER_SECONDS,
        on_finished: Callable[[ExecutionRecord], None] | None = None,
        quotas: Quotas | None = None,
        on_committed: Callable[[WriteBatch], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        # engines sharing a database: gives requests taken for an execution another engine
        # executes back to the inbox (see hand_over)
        self.on_elsewhere: Callable[[list[str]], Awaitable[None]] | None = None
        self.quotas = quotas or Quotas()
        self.runner = runner
        self.clock = clock
        self.program_for = program_for
        self.park_after = park_after
        self.on_finished = on_finished
        self.scheduler = Scheduler(store, clock, self._fire, wake=self.wake)
        # resumed executions read their records (and, when they end, their leftover tokens and
        # timers) in batches: a burst of due timers costs a few reads, not a few per execution
        self.resumes = BatchReader(store.resume_records)
        self.leftovers = BatchReader(store.tokens_and_timers)
        self.running: dict[str, Running] = {}
        self.mail = Mailboxes()
        self.map_runs = MapRuns(store, clock)  # Distributed Map runs: counts, limits
        self.done: dict[str, asyncio.Event] = {}  # waiters of running executions
        self.finished: OrderedDict[str, ExecutionRecord] = OrderedDict()  # recently finished
        # the input and output values of executions that just finished, for the first caller that
        # waits for them (its Execution need not decode what the engine had in hand; handed out
        # once: the engine is done with them, and no second caller shares the objects)
        self._final_values: OrderedDict[str, tuple[ExecutionRecord, Any, Any]] = OrderedDict()
        self.closing = False
        self._activity_flags: dict[str, asyncio.Event] = {}
        self._failures: dict[str, int] = {}  # arn -> unexpected failures in a row (re-adoption)
        self._background: set[asyncio.Task[Any]] = set()
        # executions resumed by their timers, at most WAKE_CONCURRENCY at once; the rest wait in
        # due order (a burst must not make tens of thousands resident together)
        self._woken = 0
        self._wake_queue: deque[str] = deque()
        committer = Committer(store, lambda: self.closing, self._background, on_committed)
        self.flush = committer.flush
        self.flush_soon = committer.flush_soon
        self.flush_behind = committer.flush_behind
        self.commit = committer.commit

    # -- lifecycle --------------------------------------------------------------------------------
    async def recover(self, pending: list[RequestRecord]) -> list[RequestRecord]:
        """Resume the resumable executions, not the parked; return the requests still to dispatch.
        Answers go to the mailboxes first: a replay finds one accepted while no engine ran."""
        mail = (RequestKind.ANSWER, RequestKind.ACTIVITY_STARTED)
        for request in pending:
            if request.kind in mail:
                self.mail.post(request)
        after: tuple[float, str] | None = None  # a page at a time; parked executions are not read
        while records := await self.store.resumable_page(after, RECOVERY_PAGE):
            after = (records[-1].start_date, records[-1].arn)
            fresh = [r.arn for r in records if r.arn not in self.running]
            found = await self.store.resume_records(fresh)  # as a woken execution reads itself
            for arn in fresh:
                resumed = found.get(arn)
                # (adopted, or finished by another process, while this page was read: skip it)
                if (
                    resumed is not None
                    and resumed.execution.status == "RUNNING"
                    and not resumed.elsewhere
                    and arn not in self.running
                ):
                    self._launch(self._rebuilt(resumed))
        for request in pending:
            if request.kind in mail:
                self._wake(request.execution_arn, request.token or "")
        await self.scheduler.start()
        return [r for r in pending if r.kind not in mail]

    async def close(self) -> None:
        self.closing = True
        await self.scheduler.close()
        await self.resumes.close()
        await self.leftovers.close()
        background = list(self._background)
        for task in background:
            task.cancel()
        runs = list(self.running.values())
        tasks = [r.task for r in runs if r.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *background, return_exceptions=True)
        for run in runs:  # keep every recorded outcome: a clean close re-runs nothing
            if run.journal is not None:
                try:
                    await self.flush(run)
                except Exception as exc:  # the next engine replays from what was committed
                    log.warning(
                        "close: buffered progress not committed", execution_arn=run.record.arn, error=str(exc)
                    )
        self.running.clear()

    # -- starting, resuming, adopting ---------------------------------------------------------------
    def _context(
        self,
        record: ExecutionRecord,
        journal: Journal,
        machine_name: str,
        role_arn: str,
        input_value: Any = _UNDECODED,
    ) -> JournalContext:
        ctx = JournalContext(
            journal,
            execution_arn=record.arn,
            execution_name=record.name,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=machine_name,
            input=_decode(record.input) if input_value is _UNDECODED else input_value,
            start_epoch=record.start_date,
            role_arn=role_arn,
            redrive_count=record.redrive_count,
            first_event_id=0,
            region=self.runner.region,
            payload_limit=self.quotas.payload_bytes,
            max_events=self.quotas.history_events,
        )
        if record.redrive_date is not None:
            ctx.redrive_time = iso_time(record.redrive_date)
        return ctx

    async def start_execution(
        self,
        record: ExecutionRecord,
        machine_name: str,
        role_arn: str,
        timeout_seconds: float | None,
        *,
        input_value: Any = _UNDECODED,
    ) -> ExecutionRecord | None:
        """Persist the start (ExecutionStarted) and run the execution in the background.

        ``input_value`` is ``record.input`` decoded, when the caller has it (it is not decoded
        again); ``ExecutionStarted`` embeds the record's input text as it is (not encoded again).
        Returns None, or — when an execution of that ARN exists already — the stored one.
        """
        program = self.program_for(record.definition)
        journal = Journal(record.arn, self.clock, start_time=record.start_date)
        ctx = self._context(record, journal, machine_name, role_arn, input_value)
        journal.remember_payload(ctx.input, record.input)
        ctx.emit(
            "ExecutionStarted",
            0,
            "executionStartedEventDetails",
            {"input": msgspec.Raw(record.input), "inputDetails": {"truncated": False}, "roleArn": role_arn},
        )
        batch = journal.batch
        batch.guards.append(ExecutionAbsent(arn=record.arn))
        batch.executions.append(record)
        if timeout_seconds is not None:
            batch.timers.append(
                TimerKey.execution_timeout().record(record.arn, record.start_date + timeout_seconds)
            )
        run = Running(record, journal, ctx)
        # Run until the first command (or the end) before committing: the start and every pure
        # transition up to there share one transaction.
        runner = ReplayRunner(self, run)
        gen = program.run(ctx.input, ctx)
        root = journal.lane("")
        journal.enter(root)
        if record.arn in self.running:  # started a moment ago by this engine
            return await self.store.get_execution(record.arn) or self.running[record.arn].record
        self.running[record.arn] = run
        self.finished.pop(record.arn, None)
        try:
            try:
                finished, value = runner.start_child(gen, root)
            except StatesFailure as failure:
                await self._finish(run, "FAILED", error=failure.error or None, cause=failure.cause or None)
                return None
            except HistoryLimitReached as reached:
                previous = journal.last_event_id
                await self._finish(run, "FAILED", error=F.RUNTIME, cause=str(reached), previous=previous)
                return None
            except Exception as exc:  # the program itself failed (a value it cannot handle)
                cause = f"The execution could not continue: {type(exc).__name__}: {exc}"
                await self._finish(
                    run, "FAILED", error=F.RUNTIME, cause=cause, previous=journal.last_event_id
                )
                return None
            if finished:
                await self._finish(run, "SUCCEEDED", output=value)
                return None
            await self.flush(run)
        except Conflict:
            if self.running.get(record.arn) is run:
                del self.running[record.arn]
            return await self.store.get_execution(record.arn)
        if timeout_seconds is not None:
            self.scheduler.arm(record.arn, TimerKey.execution_timeout(), record.start_date + timeout_seconds)
        run.started = (gen, value)
        run.task = asyncio.ensure_future(self._run(run))
        return None

    def _rebuilt(self, found: ResumeRecord) -> Running:
        """A resumed execution, its journal read (replay begins when it runs); its context names
        its state machine and role as the start did."""
        record, machine, last = found.execution, found.state_machine, found.last_event_id
        journal = Journal(
            record.arn, self.clock, found.journal, last_event_id=last, start_time=record.start_date
        )
        root = journal.lane("")
        if root.pending:
            root.pending.popleft()  # ExecutionStarted: emitted by the start, not by the program
        run = Running(record, journal, resumed=True)
        name = machine.name if machine else record.state_machine_arn.rsplit(":", 1)[-1]
        run.ctx = self._context(record, journal, name, machine.role_arn if machine else "")
        run.ctx.events = last
        return run

    def adopt(self, arn: str) -> None:
        """Make sure the execution runs here, if it is RUNNING (resumed from the store)."""
        if arn not in self.running:
            self._launch(Running(_placeholder(arn), resumed=True))

    def wake(self, arn: str) -> None:
        """:meth:`adopt` for a due timer (a Wait, a retry back-off): at most
        :data:`WAKE_CONCURRENCY` woken executions run at once, the others wait their turn in
        due order. A queued wake-up is only memory: its timer row stays in the store until the
        execution commits past it, so a crash loses nothing (the next engine wakes it again)."""
        if arn in self.running:
            return
        if self._woken >= WAKE_CONCURRENCY:
            self._wake_queue.append(arn)
            return
        self._woken += 1
        run = Running(_placeholder(arn), resumed=True)
        self._launch(run)
        assert run.task is not None
        run.task.add_done_callback(self._woken_done)

    def _woken_done(self, _: asyncio.Task[None]) -> None:
        self._woken -= 1
        queue = self._wake_queue
        while queue and self._woken < WAKE_CONCURRENCY and not self.closing:
            self.wake(queue.popleft())

    def _launch(self, run: Running) -> None:
        self.running[run.record.arn] = run
        self.finished.pop(run.record.arn, None)
        run.task = asyncio.ensure_future(self._run(run))

    async def _load(self, run: Running) -> bool:
        """Read a resumed execution from the store; False if it is not RUNNING (nothing to do)."""
        found = await self.resumes.get(run.record.arn)  # batched with other executions' loads
        if found is None or found.execution.status != "RUNNING":
            return False
        if found.elsewhere:
            run.elsewhere = True
            return False
        loaded = self._rebuilt(found)
        run.record, run.journal, run.ctx = loaded.record, loaded.journal, loaded.ctx
        return True

    async def _run(self, run: Running) -> None:
        try:
            await self._run_here(run)
        except Fenced as exc:  # another engine took it over: it goes on there
            log.warning(
                "execution taken over by another engine", execution_arn=run.record.arn, error=str(exc)
            )
            self.hand_over(run)

    async def _run_here(self, run: Running) -> None:
        arn = run.record.arn
        try:
            try:
                if run.journal is None and not await self._load(run):
                    self._gone(run)
                    return
                if run.stop is not None:
                    raise run.stop
                value = await self._drive(run)
            except asyncio.CancelledError:
                if run.stop is None:
                    raise
                raise run.stop from None
        except Parked:
            self._left(run)
            return
        except Stopped as stop:
            if run.journal is None and not await self._load(run):
                self._gone(run)
                return
            assert run.journal is not None
            previous = 0 if stop.status == "ABORTED" else run.journal.last_event_id
            await self._finish(run, stop.status, error=stop.error, cause=stop.cause, previous=previous)
        except StatesFailure as failure:
            await self._finish(run, "FAILED", error=failure.error or None, cause=failure.cause or None)
        except HistoryLimitReached as reached:
            assert run.journal is not None
            await self._finish(
                run, "FAILED", error=F.RUNTIME, cause=str(reached), previous=run.journal.last_event_id
            )
        except asyncio.CancelledError:
            self._left(run)  # the engine is closing: the execution resumes at the next start
            raise
        except Exception as exc:
            await self._abandoned(run, exc)
        else:
            await self._finish(run, "SUCCEEDED", output=value)
        self._failures.pop(arn, None)

    async def _drive(self, run: Running) -> Any:
        assert run.journal is not None and run.ctx is not None
        program = self.program_for(run.record.definition)
        runner = ReplayRunner(self, run)
        journal = run.journal
        root = journal.lane("")
        journal.enter(root)
        if run.started is not None:
            (gen, value), run.started = run.started, None
        else:
            gen = program.run(run.ctx.input, run.ctx)
            finished, value = runner.start_child(gen, root)
            if finished:
                return value
        return await runner.drive(gen, value, run.record.arn, run.record.state_machine_arn, root)

    def _left(self, run: Running) -> None:
        """The execution left this process without finishing (parked, or the engine closing)."""
        if self.running.get(run.record.arn) is run:
            del self.running[run.record.arn]

    def _gone(self, run: Running) -> None:
        """Adopted, but not RUNNING in the store (finished meanwhile): drop what came for it."""
        if run.elsewhere:
            self.hand_over(run)
            return
        self._left(run)
        self._discard_mail(run.record.arn, list(run.stop_refs))

    def hand_over(self, run: Running) -> None:
        """Another engine sharing the database executes it: leave it, and give the requests
        taken for it back to the inbox, where its owner finds them."""
        self._left(run)
        flag = self.done.pop(run.record.arn, None)
        if flag is not None:  # whoever waits here looks at the store instead
            flag.set()
        refs = [*run.stop_refs, *self.mail.clear(run.record.arn)]
        if refs and self.on_elsewhere is not None and not self.closing:
            self.spawn(self.on_elsewhere(refs))

    def _discard_mail(self, arn: str, refs: list[str] | None = None) -> None:
        refs = [*(refs or []), *self.mail.clear(arn)]
        if refs and not self.closing:
            self.spawn(self.commit(WriteBatch(consumed_requests=refs)))

    async def _abandoned(self, run: Running, exc: Exception) -> None:
        """The coroutine died of something unexpected: never leave the execution RUNNING unowned.

        A store that could not be read re-adopts the execution after a pause (up to
        :data:`READOPT_ATTEMPTS` times in a row); anything else would happen again on a replay
        (a journal that does not fit the program, a value that cannot be stored), so it fails the
        execution with ``States.Runtime``.
        """
        arn = run.record.arn
        if isinstance(exc, Fenced):  # another engine took it over: it goes on there
            log.warning("execution taken over by another engine", execution_arn=arn, error=str(exc))
            self.hand_over(run)
            return
        self._left(run)
        if isinstance(exc, StoreGone):  # the database is gone: nothing to end, the host stops
            return
        if run.committing is not None:  # let its last commit settle before anyone reads the store
            await asyncio.gather(run.committing, return_exceptions=True)
        attempts = self._failures[arn] = self._failures.get(arn, 0) + 1
        final = not isinstance(exc, StoreUnavailable) or attempts >= READOPT_ATTEMPTS
        stop = run.stop
        if final and stop is None:
            log.error("execution failed by the engine", execution_arn=arn, error=repr(exc))
            cause = f"The execution could not continue: {type(exc).__name__}: {exc}"
            await self.stop(arn, "FAILED", F.RUNTIME, cause)
            return
        if final:  # ending it failed too: leave it to the next start of an engine
            log.error("execution could not be ended", execution_arn=arn, error=repr(exc))
            self._failures.pop(arn, None)
            return
        log.warning(
            "execution interrupted; re-adopting it", execution_arn=arn, attempt=attempts, error=repr(exc)
        )

        def again() -> None:
            if stop is None:
                self.adopt(arn)
            else:
                self.spawn(self.stop(arn, stop.status, stop.error, stop.cause))

        self._later(min(0.2 * 2**attempts, 30.0), again)

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        async def wait_then() -> None:
            await asyncio.sleep(seconds)
            if not self.closing:
                action()

        task = asyncio.ensure_future(wait_then())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- finishing --------------------------------------------------------------------------------
    async def _finish(
        self,
        run: Running,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
        previous: int | None = None,
    ) -> None:
        """Record the execution's end (``previous``: the id the final event follows; by default
        the last event the program emitted)."""
        run.finishing = True
        journal, ctx = run.journal, run.ctx
        assert journal is not None and ctx is not None
        arn = run.record.arn
        journal.skip_replay()  # stopped while replaying: what is left is not replayed any more
        journal.enter(journal.lane(""))
        details: dict[str, Any]
        if status == "SUCCEEDED":
            details = {"output": output, "outputDetails": {"truncated": False}}
        else:
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        journal.emit(FINAL_EVENTS[status], ctx.events if previous is None else previous, details)
        record = msgspec.structs.replace(
            run.record,
            status=status,
            stop_date=self.clock.now(),
            output=bytes(journal.encoded(output)).decode() if status == "SUCCEEDED" else None,
            error=error,
            cause=cause,
            event_count=journal.last_event_id,
        )
        batch = journal.batch
        batch.executions.append(record)
        if status != "SUCCEEDED":  # Map Run children still running end with it, as on AWS
            batch.aborted_children.append((arn, record.stop_date or 0.0))
        tokens = dict(run.tokens)
        stored_timers: list[TimerRecord] = []
        if run.resumed:  # tokens and timers from before this process (parked, crashed)
            stored_tokens, stored_timers = await self.leftovers.get(arn) or ([], [])
            tokens.update((t.token, t) for t in stored_tokens)
        timers = [TimerKey.execution_timeout()]
        for token in tokens.values():
            batch.closed_tokens.append(token.token)
            timers += [TimerKey.token_deadline(token.token), TimerKey.token_park(token.token)]
            if token.activity_arn is not None:
                batch.deleted_activity_tasks.append(token.token)
        timers += [k for t in stored_timers if (k := TimerKey.parse(t.key))]
        batch.deleted_timers.extend(k.row(arn) for k in timers)
        batch.consumed_requests.extend(run.stop_refs)
        batch.consumed_requests.extend(self.mail.clear(arn))  # answers no lane will take any more
        await self.flush(run)
        for key in timers:
            self.scheduler.disarm(arn, key)
        self._discard_mail(arn)  # answers that came while the end was committed
        run.record = record
        if self.running.get(arn) is run:
            del self.running[arn]
        self.finished[arn] = record
        if len(self.finished) > FINISHED_CACHE:
            self.finished.popitem(last=False)
        if self.done.get(arn) is not None:  # someone waits for it
            self._final_values[arn] = (record, ctx.input, output if status == "SUCCEEDED" else None)
            if len(self._final_values) > FINISHED_CACHE:
                self._final_values.popitem(last=False)
        flag = self.done.pop(arn, None)
        if flag is not None:
            flag.set()
        if self.on_finished is not None:
            self.on_finished(record)

    # -- mail: answers and activity starts ----------------------------------------------------------
    def deliver(self, request: RequestRecord) -> None:
        """An ANSWER or ACTIVITY_STARTED request: to the lane awaiting its token (resuming the
        execution when it is parked)."""
        self.mail.post(request)
        if request.execution_arn in self.finished and request.execution_arn not in self.running:
            self._discard_mail(request.execution_arn)
            return
        self._wake(request.execution_arn, request.token or "")

    def _wake(self, arn: str, token: str) -> None:
        run = self.running.get(arn)
        if run is None:
            self.adopt(arn)
            return
        waiter = run.waiters.get(token)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- stopping ---------------------------------------------------------------------------------
    async def stop(
        self, arn: str, status: str, error: str | None, cause: str | None, ref: str | None = None
    ) -> bool:
        """Abort (StopExecution), time out or fail a running execution; False if it is not
        running (then ``ref``, a STOP request, is consumed on its own)."""
        run = self.running.get(arn)
        if run is None:
            record = await self.store.get_execution(arn)
            run = self.running.get(arn)
            if run is None:
                if record is None or record.status != "RUNNING":
                    if ref is not None:
                        await self.commit(WriteBatch(consumed_requests=[ref]))
                    return False
                # parked (or not yet resumed): finish it without replaying its journal
                run = Running(_placeholder(arn), resumed=True, stop=Stopped(status, error, cause))
                if ref is not None:
                    run.stop_refs.append(ref)
                self._launch(run)
                await asyncio.gather(run.task, return_exceptions=True)  # type: ignore[arg-type]
                return True
        if run.finishing or run.task is None or run.task.done():
            if run.task is not None:
                await asyncio.gather(run.task, return_exceptions=True)
            if ref is not None:
                await self.commit(WriteBatch(consumed_requests=[ref]))
            return False  # it completed first: its own outcome stands
        if ref is not None:
            run.stop_refs.append(ref)
        if run.stop is None:
            run.stop = Stopped(status, error, cause)
        run.task.cancel()
        await asyncio.gather(run.task, return_exceptions=True)
        return True

    def stop_request(self, request: RequestRecord) -> None:
        order = message_of(request)
        assert isinstance(order, StopOrder)
        self.spawn(self.stop(request.execution_arn, order.status, order.error, order.cause, order.ref))

    def spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- task tokens ------------------------------------------------------------------------------------
    @staticmethod
    def token_deadline(token: TokenRecord) -> float | None:
        """When the token's task times out: ``TimeoutSeconds`` from the task's start, or
        ``HeartbeatSeconds`` from the start (an activity: from a worker taking it) or from the
        last heartbeat, whichever comes first."""
        candidates = []
        if token.timeout_seconds is not None:
            candidates.append(token.created + token.timeout_seconds)
        if token.heartbeat_seconds is not None:
            beat = token.last_heartbeat
            if beat is None and token.activity_arn is None:
                beat = token.created
            if beat is not None:
                candidates.append(beat + token.heartbeat_seconds)
        return min(candidates) if candidates else None

    async def token_due(self, arn: str, token_id: str) -> None:
        """A token's deadline came: time the task out, unless a heartbeat moved it or it was answered."""
        token = await self.store.get_token(token_id)
        if token is None or token.closed:
            return
        due = self.token_deadline(token)
        if due is None:
            return
        if due > self.clock.now():
            self.scheduler.arm(arn, TimerKey.token_deadline(token_id), due)  # a heartbeat moved it
            return
        # AWS records a heartbeat expiry as States.Timeout too (TaskTimedOut / ActivityTimedOut)
        request = make_request(
            arn, RequestKind.ANSWER, self.clock.now(), token_id, [False, [F.TIMEOUT, None]]
        )
        try:
            await self.commit(
                WriteBatch(guards=[TokenOpen(token=token_id)], closed_tokens=[token_id], requests=[request])
            )
        except Conflict:
            return  # answered meanwhile
        self.deliver(request)

    # -- activities -------------------------------------------------------------------------------------
    def activity_offered(self, activity_arn: str) -> None:
        flag = self._activity_flags.get(activity_arn)
        if flag is not None:
            flag.set()

    def activity_flag(self, activity_arn: str) -> asyncio.Event:
        return self._activity_flags.setdefault(activity_arn, asyncio.Event())

    # -- timers -----------------------------------------------------------------------------------------
    async def _fire(self, arn: str, key: TimerKey) -> None:
        kind = key.kind
        if kind is TimerKind.EXECUTION_TIMEOUT:
            await self.stop(arn, "TIMED_OUT", F.TIMEOUT, None)
        elif kind is TimerKind.TOKEN_DEADLINE:
            await self.token_due(arn, key.ref)
        elif kind is TimerKind.WAKE:
            self.adopt(arn)

    def take_final_values(self, record: ExecutionRecord) -> tuple[Any, Any] | None:
        """The input and output values of the end ``record`` records, once (see ``_final_values``)."""
        kept = self._final_values.pop(record.arn, None)
        if kept is None or kept[0] is not record:
            return None  # another end of it (a redrive), or handed out already
        return kept[1], kept[2]

    # -- waiting ----------------------------------------------------------------------------------------
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


def _placeholder(arn: str) -> ExecutionRecord:
    """The record of an execution not read yet (``_load`` replaces it)."""
    return ExecutionRecord(
        arn=arn, state_machine_arn="", name="", status="RUNNING", start_date=0.0, input="{}", definition=""
    )
