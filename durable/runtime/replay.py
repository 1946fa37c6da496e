"""Run one Standard execution's commands through its journal.

A command whose outcome the journal holds is answered from it (replay); otherwise it runs
(live) and its outcome is recorded. Before any effect is released — a task invoked, a token
handed out, an activity task offered, an execution parked — :meth:`StandardExecutions.flush`
commits everything the execution buffered before it, in every lane (see
:mod:`durable.runtime.standard`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec

from ..interpreter import failure as F
from ..interpreter.commands import (
    ActivityExists,
    AwaitJob,
    AwaitToken,
    Checkpoint,
    ChildFailure,
    ChildProcessor,
    Fork,
    InvokeTask,
    MapResults,
    MapRunProgress,
    ReadItems,
    Sleep,
    StreamedFork,
    WriteResults,
)
from ..interpreter.data import not_json
from ..interpreter.failure import StatesFailure
from ..interpreter.jsonvalue import NotJson
from ..store.base import ActivityTaskRecord, MetadataRecord, TokenRecord, WriteBatch
from .children import stored_outputs
from .jobs import cancel_job, follow_job, idempotency_key, job_integration, job_request
from .journal import JournalLane
from .mapruns import MapRunTracker
from .requests import ActivityStart, Answer
from .result_files import write_stored
from .runner import CommandRunner, Gen
from .streamed import StreamStart, stored_from
from .timers import NEVER, TimerKey

if TYPE_CHECKING:
    from collections.abc import Callable

    from .resident import Running
    from .standard import StandardExecutions

__all__ = ["Parked", "ReplayRunner", "Stopped"]

_encode = msgspec.json.encode
_decode = msgspec.json.decode


class Parked(Exception):
    """The execution waits on something long: its coroutine ends, the store remembers it."""


class Stopped(Exception):
    def __init__(self, status: str, error: str | None, cause: str | None) -> None:
        self.status, self.error, self.cause = status, error, cause


class ReplayRunner(CommandRunner):
    """Runs one execution's commands lane by lane through its journal."""

    def __init__(self, owner: StandardExecutions, run: Running) -> None:
        base = owner.runner
        super().__init__(base.clock, base.registry, base.region, base.account, base.items)
        self.tracing = base.tracing
        self.owner = owner
        self.run = run
        assert run.journal is not None and run.ctx is not None
        self.journal = run.journal
        self.ctx = run.ctx
        self._inline: dict[str, MapRunTracker] = {}  # Map Runs whose children run in place

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
        if kind is InvokeTask or kind is Sleep or kind is AwaitToken or kind is AwaitJob:
            if kind is AwaitToken and self.journal.next_kind(lane) == "event":
                # ActivityStarted, recorded while the task waited for its answer
                self.journal.enter(lane)
                started = self.journal.emit("ActivityStarted", lane.last_event, None)
                self.ctx.started_events[cmd.token] = started
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
            if kind is AwaitJob:
                return await self._await_job(cmd, lane)
            return await self._await_token(cmd, lane)
        if kind is ReadItems or kind is WriteResults:
            return await self._data(cmd, lane, execution_arn, state_machine_arn)
        if kind is ActivityExists:
            if lane.pending:  # replaying: the task was scheduled, so the activity existed then
                return True
            return await self.owner.store.get_activity(cmd.activity_arn) is not None
        if kind is MapRunProgress:
            answer = await self._progress(cmd, execution_arn, lane)
            if cmd.ended:
                await self.owner.flush(self.run)
            else:  # (children in place make no effect: their next checkpoint commits behind them)
                await self.owner.flush_behind(self.run)
            if isinstance(answer, StatesFailure):
                raise answer
            return answer
        if kind is MapResults:
            return await self._results(cmd)
        if kind is Checkpoint:
            # a long run of pure states commits as it goes, one batch at a time: its buffer stays
            # small and its commits never crowd out other executions' in the writer's queue
            await self.owner.flush(self.run)
        return await super().execute(cmd, execution_arn, state_machine_arn, lane)

    # -- Map Runs -----------------------------------------------------------------------------------
    async def _open_map_run(
        self,
        arn: str,
        execution_arn: str,
        total: int,
        limits: tuple[int, int | None, float | None],
        lane: Any,
        weights: tuple[int, ...] = (),
        processor: ChildProcessor | None = None,
        **streamed: Any,
    ) -> MapRunTracker:
        """Open (or open again) a Map Run whose state and children's rows go into the
        execution's next batch; a redriven one is counted and recorded (see :meth:`_redriven`)."""
        journal = self.journal
        tracker = await self.owner.map_runs.open(
            arn,
            execution_arn,
            total,
            limits,
            lambda entry: _put(journal.batch, entry),
            self.run.resumed,
            weights,
            processor,
            lambda child: journal.batch.children.append(child),
            **streamed,
        )
        self._redriven(tracker, lane)
        return tracker

    async def map_run_for(self, cmd: Fork, execution_arn: str, lane: Any = None) -> MapRunTracker | None:
        limits = (cmd.max_concurrency, cmd.tolerated_count, cmd.tolerated_percentage)
        return await self._open_map_run(
            cmd.map_run, execution_arn, len(cmd.children), limits, lane, cmd.weights, cmd.processor
        )

    async def open_stream(self, cmd: StreamedFork, execution_arn: str, lane: Any) -> StreamStart | None:
        tracker = await self._open_map_run(
            cmd.map_run,
            execution_arn,
            cmd.known or 0,
            (cmd.max_concurrency, cmd.tolerated_count, cmd.tolerated_percentage),
            lane,
            processor=cmd.processor,
            streamed=True,
            known_items=cmd.known_items,
        )
        run, rows = tracker.run, tracker.rows
        assert rows is not None
        store = self.owner.store
        made = run.execution_counts.total
        if tracker.redriven:  # from the first child: those that succeeded are kept
            rows.bytes = 0
            return StreamStart(tracker, {}, stored_from(store, run.map_run_arn, 0, made), count_bytes=True)
        if self.run.resumed:  # from its checkpoint: the stored rows say which children ended
            position = run.checkpoint if isinstance(run.checkpoint, dict) else {}
            rows.bytes = int(position.get("Bytes", 0))
            low = int(position.get("Children", 0))
            stored = stored_from(store, run.map_run_arn, low, made)
            return StreamStart(tracker, position, stored, count_bytes="Bytes" not in position)
        return StreamStart(tracker, {})

    def stream_lanes(self, lane: Any) -> Callable[[int], Any]:
        journal = self.journal
        parent = lane if isinstance(lane, JournalLane) else journal.lane("")
        parent.forks += 1
        prefix = f"{parent.name}/{parent.forks}."

        return lambda index: journal.clocked_lane(f"{prefix}{index}")

    def enter(self, lane: Any) -> None:
        self.journal.enter(lane if isinstance(lane, JournalLane) else self.journal.lane(""))

    def stream_child_over(self, lane: Any) -> None:
        if isinstance(lane, JournalLane):
            self.journal.drop(lane)

    def stream_commit_soon(self) -> None:
        self.owner.flush_soon(self.run)

    def child_succeeded(self, lane: Any) -> None:
        """The child's lane ends with ``done`` (once): a redrive does not run it again."""
        if isinstance(lane, JournalLane) and not any(r.kind == "done" for r in lane.pending):
            self.journal.record(lane, "done", None)

    def _redriven(self, tracker: MapRunTracker, lane: Any) -> None:
        """A Map Run opened again after it ended is redriven (RedriveExecution): it counts the
        redrive and the history gets ``MapRunRedriven`` — recorded with a ``redriven`` entry
        before it, so a replay knows to emit it again at this point."""
        journal = self.journal
        at = lane if isinstance(lane, JournalLane) else journal.lane("")
        replaying = journal.next_kind(at) == "redriven"
        if not (replaying or tracker.redriven):
            return
        journal.enter(at)
        if replaying:
            journal.take(at, "redriven")
        else:
            journal.record(at, "redriven", tracker.run.redrive_count)
        details = {"mapRunArn": tracker.run.map_run_arn, "redriveCount": tracker.run.redrive_count}
        journal.emit("MapRunRedriven", at.last_event, details)

    def map_run_closed(self, tracker: MapRunTracker) -> None:
        self.owner.map_runs.close(tracker)

    async def _progress(self, cmd: MapRunProgress, execution_arn: str, lane: Any = None) -> Any:
        """A Map Run whose children run in place: its children, counts and position as the
        interpreter reports them, put in the execution's next batch (committed together). The
        first report opens the Map Run and is answered with where to go on from (see
        :class:`MapRunProgress`); a report whose outputs make the results too large for the
        state's output is answered with the failure to raise."""
        tracker = self._inline.get(cmd.map_run)
        answer: Any = None
        if tracker is None:
            tracker = self._inline[cmd.map_run] = await self._open_map_run(
                cmd.map_run,
                execution_arn,
                cmd.total,
                (cmd.max_concurrency, None, None),
                lane,
                (),
                cmd.processor,
            )
            resume = tracker.run.checkpoint if self.run.resumed else None
            if tracker.rows is not None and isinstance(resume, dict):
                tracker.rows.stored = int(resume.get("Children", 0))
                tracker.rows.bytes = int(resume.get("Bytes", 0))
            answer = {"Spill": tracker.rows is not None, "Resume": resume}
            if isinstance(lane, JournalLane):
                # the children run now: the time they read (their start and stop dates, the
                # checkpoints' pace) is the clock's, not that of the lane's last recorded event
                self.journal.reads_clock(lane)
        rows = tracker.rows
        if rows is not None:
            failure = cmd.failure if cmd.failed else None
            rows.in_place(cmd.first, cmd.inputs, cmd.outputs, cmd.weights, cmd.succeeded, failure, cmd.since)
        tracker.streamed(cmd.total, cmd.succeeded, cmd.failed, cmd.items)
        if cmd.position is not None:
            tracker.run.checkpoint = {**cmd.position, "Bytes": rows.bytes if rows is not None else 0}
        over: StatesFailure | None = None
        if rows is not None and cmd.limit_bytes is not None and rows.bytes + 1 > cmd.limit_bytes:
            over = StatesFailure(
                F.DATA_LIMIT_EXCEEDED,
                f"The state/task '{cmd.state_name}' returned a result with a size exceeding the maximum "
                "number of bytes service limit.",
            )
        if cmd.ended:
            tracker.finish("FAILED" if over is not None else cmd.ended)
            del self._inline[cmd.map_run]
            self.owner.map_runs.close(tracker)
        else:
            tracker.touch()  # its position, with the children it follows
        return over if over is not None and cmd.ended != "FAILED" else answer

    async def _results(self, cmd: MapResults) -> Any:
        """The stored outputs (and inputs) of a Map Run's children, in order (a failed child's
        output: its :class:`ChildFailure`)."""
        await self.owner.flush(self.run)  # the last children's rows are written first
        inputs: list[Any] = []
        outputs: list[Any] = []
        async for indexes, ins, outs, failed in stored_outputs(
            self.owner.store, cmd.map_run, cmd.count, cmd.inputs
        ):
            if not failed:
                outputs.extend(map(_decode, outs))
                if cmd.inputs:
                    inputs.extend(map(_decode, ins))
                continue
            merged: list[tuple[int, Any, Any]] = [
                (i, _decode(o), _decode(ins[k]) if cmd.inputs else None)
                for k, (i, o) in enumerate(zip(indexes, outs, strict=True))
            ]
            merged += [(r.index, ChildFailure(r.error, r.cause), _decode(r.input)) for r in failed]
            merged.sort(key=lambda m: m[0])
            outputs.extend(m[1] for m in merged)
            if cmd.inputs:
                inputs.extend(m[2] for m in merged)
        return [inputs, outputs] if cmd.inputs else outputs

    # -- Distributed Map data ---------------------------------------------------------------------
    async def _data(self, cmd: ReadItems | WriteResults, lane: JournalLane, arn: str, machine: str) -> Any:
        """A page of items read, or the result files written: recorded like a task's result, so
        a replay neither reads the source again nor writes the files twice. Writing is an
        effect: everything before it is committed first."""
        if type(cmd) is ReadItems and not cmd.record:  # the Map commits its own position
            return await super().execute(cmd, arn, machine, lane)
        recorded = self.journal.replay_outcome(lane)
        if recorded is not None:
            ok, value = recorded
            if ok:
                return value
            raise StatesFailure(value[0], value[1])
        if type(cmd) is WriteResults:
            await self.owner.flush(self.run)
        try:
            if type(cmd) is WriteResults and cmd.spill is not None:
                windows = stored_outputs(self.owner.store, cmd.map_run, cmd.executions, cmd.spill.inputs)
                await write_stored(self.items.buckets.get(cmd.bucket), self, cmd, windows, arn, machine)
                result = None
            else:
                result = await super().execute(cmd, arn, machine, lane)
        except StatesFailure as failure:
            self.journal.record(lane, "failure", [failure.error, failure.cause])
            self.owner.flush_soon(self.run)
            raise
        self.journal.record(lane, "result", result)
        if type(cmd) is WriteResults and cmd.map_run:  # committed with the write's record
            entry = await self.owner.map_runs.results_written(cmd.map_run, cmd.executions, cmd.items)
            if entry is not None:
                _put(self.journal.batch, entry)
        self.owner.flush_soon(self.run)
        return result

    # -- tasks ------------------------------------------------------------------------------------
    async def _invoke(self, cmd: InvokeTask, lane: JournalLane) -> Any:
        record = self.run.record
        if cmd.task_token is not None:  # .waitForTaskToken: the token exists before it is handed out
            self._new_token(cmd.task_token, cmd.state_name, lane, cmd.timeout_seconds, cmd.heartbeat_seconds)
        await self.owner.flush(self.run)  # TaskScheduled (and all before it) is durable: invoke
        try:
            key = idempotency_key(record.arn, lane.name, lane.seq)
            result = await self.invoke(cmd, record.arn, record.state_machine_arn, key)
            try:  # recorded exactly as JSON has it (NaN is not written as null and replayed so)
                text = self.journal.payload_text(result)  # the events embed this text
            except NotJson as problem:
                raise not_json(cmd.result_owner or cmd.resource, problem) from None
            self.journal.record_text(lane, "result", text.decode())
        except StatesFailure as failure:
            self.journal.record(lane, "failure", [failure.error, failure.cause])
            self.owner.flush_soon(self.run)
            raise
        self.owner.flush_soon(self.run)  # durable even if this lane now waits long
        return result

    # -- jobs (.sync) --------------------------------------------------------------------------------
    async def _await_job(self, cmd: AwaitJob, lane: JournalLane) -> Any:
        """Follow the job until it ends, or until its token is answered or expires (then the job
        is stopped, unless the answer is a success a callback sent). The outcome is recorded
        like a task's; a restart replays to here and follows the same job again."""
        run = self.run
        owner = self.owner
        arn = run.record.arn
        integration = job_integration(self.registry, cmd.resource)
        key = idempotency_key(arn, lane.name, lane.seq)
        request = job_request(cmd, arn, run.record.state_machine_arn, self.region, self.account, key)
        token = None
        if cmd.token is not None:
            token = await self._token_for(
                AwaitToken(cmd.token, cmd.state_name, cmd.timeout_seconds, cmd.heartbeat_seconds), lane
            )
            self._arm_deadline(token)
        await owner.flush(run)
        self._release_waits()
        try:
            while True:
                if cmd.token is not None:
                    message = owner.mail.take(arn, cmd.token)
                    if isinstance(message, Answer):
                        assert token is not None
                        if not message.ok:  # expired, or failed by a callback: the job is over
                            await cancel_job(integration, request, cmd.submitted)
                        return self._outcome(token, lane, message)
                    if message is not None:
                        continue  # (an activity start: not for a job)
                try:
                    done, result = await follow_job(
                        self.clock, integration, request, cmd.submitted, self._mail_for(cmd.token)
                    )
                except StatesFailure as failure:
                    self._job_over(token, lane, "failure", [failure.error, failure.cause])
                    raise
                if done:
                    break
        except asyncio.CancelledError:
            if not owner.closing:  # stopped, or a sibling failed: the job is stopped too
                await cancel_job(integration, request, cmd.submitted)
                if token is not None:
                    self._close_token(token)
            raise
        try:
            text = self.journal.payload_text(result)
        except NotJson as problem:
            bad = not_json(cmd.resource, problem)
            self._job_over(token, lane, "failure", [bad.error, bad.cause])
            raise bad from None
        self._job_over(token, lane, "result", text.decode())
        return result

    def _mail_for(self, token: str | None) -> Any:
        """An awaitable factory: completes when a message for ``token`` arrives (None: never)."""
        if token is None:
            return None
        run = self.run

        async def arrived() -> None:
            if self.owner.mail.has(run.record.arn, token):
                return
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            run.waiters[token] = fut
            try:
                await fut
            finally:
                if run.waiters.get(token) is fut:
                    del run.waiters[token]

        return arrived

    def _job_over(self, token: TokenRecord | None, lane: JournalLane, kind: str, value: Any) -> None:
        if token is not None:
            self._close_token(token)
        if kind == "result":
            self.journal.record_text(lane, kind, value)
        else:
            self.journal.record(lane, kind, value)
        self.owner.flush_soon(self.run)

    def _new_token(
        self,
        token: str,
        state_name: str,
        lane: JournalLane,
        timeout: float | None,
        heartbeat: float | None,
        activity_arn: str | None = None,
    ) -> TokenRecord:
        record = TokenRecord(
            token=token,
            execution_arn=self.run.record.arn,
            lane=lane.name,
            seq=0,
            state_name=state_name,
            created=self.clock.now(),
            heartbeat_seconds=heartbeat,
            timeout_seconds=timeout,
            activity_arn=activity_arn,
        )
        self.journal.batch.tokens.append(record)  # a token stored before a crash is kept as it is
        self.run.tokens[token] = record
        return record

    # -- waits ------------------------------------------------------------------------------------
    async def _sleep(self, cmd: Sleep, lane: JournalLane) -> None:
        run = self.run
        arn = run.record.arn
        if cmd.until > self.clock.now():
            if lane.name == "" and cmd.until - self.clock.now() > self.owner.park_after:
                key = TimerKey.wake(lane.name, lane.seq + 1)
                self.journal.batch.timers.append(key.record(arn, cmd.until))
                await self.owner.flush(run)
                self.owner.scheduler.arm(arn, key, cmd.until)
                raise Parked
            await self.owner.flush(run)  # progress so far is visible while the lane sleeps
            await self.clock.sleep_until(cmd.until)
        if lane.name == "":
            self.journal.batch.deleted_timers.append(TimerKey.wake(lane.name, lane.seq + 1).row(arn))
        self.journal.record(lane, "fired", None)

    # -- task tokens and activities ---------------------------------------------------------------
    async def _await_token(self, cmd: AwaitToken, lane: JournalLane) -> Any:
        run = self.run
        owner = self.owner
        arn = run.record.arn
        token = await self._token_for(cmd, lane)
        if cmd.activity_arn is not None and await self._offer_activity_task(cmd, lane) is None:
            raise StatesFailure(F.RUNTIME, f"The activity {cmd.activity_arn} does not exist.")
        self._arm_deadline(token)
        try:
            while True:
                message = owner.mail.take(arn, cmd.token)
                if isinstance(message, ActivityStart):
                    token = self._activity_started(cmd, lane, token, message)
                    continue
                if isinstance(message, Answer):
                    break
                await self._wait_for_mail(cmd, lane)
        except Parked:
            raise
        except BaseException:
            if not owner.closing:  # the lane was cancelled (a sibling failed, a stop): its task is over
                self._close_token(token)
            raise
        return self._outcome(token, lane, message)

    async def _token_for(self, cmd: AwaitToken, lane: JournalLane) -> TokenRecord:
        token = self.run.tokens.get(cmd.token)
        if token is None:
            token = self._new_token(
                cmd.token, cmd.state_name, lane, cmd.timeout_seconds, cmd.heartbeat_seconds, cmd.activity_arn
            )
        if self.run.resumed:
            # resumed after a crash or a park: the token may be older than this process
            stored = await self.owner.store.get_token(cmd.token)
            if stored is not None:
                token = self.run.tokens[cmd.token] = stored
        return token

    async def _offer_activity_task(self, cmd: AwaitToken, lane: JournalLane) -> ActivityTaskRecord | None:
        """Offer the task to the activity's workers (once the batch is committed)."""
        assert cmd.activity_arn is not None
        store = self.owner.store
        if await store.get_activity(cmd.activity_arn) is None:
            return None
        task = ActivityTaskRecord(
            token=cmd.token,
            activity_arn=cmd.activity_arn,
            execution_arn=self.run.record.arn,
            input=_encode(cmd.input).decode(),
            scheduled=self.clock.now(),
        )
        if self.run.resumed:
            stored = await store.get_activity_task(cmd.token)
            if stored is not None:
                return stored  # offered (maybe taken) before a crash: never offered twice
        self.journal.batch.activity_tasks.append(task)
        self.run.offered.add(cmd.activity_arn)
        return task

    def _arm_deadline(self, token: TokenRecord) -> None:
        due = self.owner.token_deadline(token)
        if due is not None:
            key = TimerKey.token_deadline(token.token)
            self.journal.batch.timers.append(key.record(token.execution_arn, due))
            self.run.deadlines[token.token] = due

    async def _wait_for_mail(self, cmd: AwaitToken, lane: JournalLane) -> None:
        """Wait until a message for the token arrives: parked at the root lane (no coroutine)."""
        run = self.run
        owner = self.owner
        arn = run.record.arn
        if lane.name == "":
            park = TimerKey.token_park(cmd.token)
            self.journal.batch.timers.append(park.record(arn, NEVER))
            await owner.flush(run)
            if owner.mail.has(arn, cmd.token):  # it came while the park was committed
                self.journal.batch.deleted_timers.append(park.row(arn))
                return
            self._release_waits()
            raise Parked  # no await from here to the end of the coroutine: no message is missed
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        run.waiters[cmd.token] = fut
        try:
            await owner.flush(run)
            if owner.mail.has(arn, cmd.token):
                return
            self._release_waits()
            await fut
        finally:
            run.waiters.pop(cmd.token, None)

    def _release_waits(self) -> None:
        """What a waiting token makes due once its place is committed: its deadline, its offer."""
        run = self.run
        for token, due in run.deadlines.items():
            self.owner.scheduler.arm(run.record.arn, TimerKey.token_deadline(token), due)
        run.deadlines.clear()
        for activity_arn in run.offered:
            self.owner.activity_offered(activity_arn)
        run.offered.clear()

    def _activity_started(
        self, cmd: AwaitToken, lane: JournalLane, token: TokenRecord, message: ActivityStart
    ) -> TokenRecord:
        self.journal.enter(lane)
        details = {"workerName": message.worker_name} if message.worker_name else {}
        self.ctx.started_events[cmd.token] = self.journal.emit("ActivityStarted", lane.last_event, details)
        self.journal.batch.consumed_requests.append(message.ref)
        started = msgspec.structs.replace(token, last_heartbeat=self.clock.now())
        self.run.tokens[cmd.token] = started
        self._arm_deadline(started)  # the heartbeat clock of an activity starts now
        return started

    def _outcome(self, token: TokenRecord, lane: JournalLane, message: Answer) -> Any:
        run = self.run
        self.journal.batch.consumed_requests.append(message.ref)
        self._close_token(token)
        if message.ok:
            self.journal.record(lane, "result", message.value)
        else:
            self.journal.record(lane, "failure", message.value)
        self.owner.flush_soon(run)
        if message.ok:
            return message.value
        raise StatesFailure(message.value[0], message.value[1])

    def _close_token(self, token: TokenRecord) -> None:
        run = self.run
        arn = run.record.arn
        batch = self.journal.batch
        batch.closed_tokens.append(token.token)
        batch.deleted_timers.append(TimerKey.token_deadline(token.token).row(arn))
        batch.deleted_timers.append(TimerKey.token_park(token.token).row(arn))
        if token.activity_arn is not None:
            batch.deleted_activity_tasks.append(token.token)
        self.owner.scheduler.disarm(arn, TimerKey.token_deadline(token.token))
        run.tokens.pop(token.token, None)
        run.deadlines.pop(token.token, None)


def _put(batch: WriteBatch, entry: MetadataRecord) -> None:
    """A Map Run's state, committed with the execution's next batch (the latest one only)."""
    batch.metadata = [m for m in batch.metadata if m.arn != entry.arn or m.kind != entry.kind]
    batch.metadata.append(entry)
