"""Run what the interpreter asks for: invoke tasks, sleep on the clock, fork branches and iterations.

:class:`CommandRunner` drives an execution's generators; Express executions use it as it is,
Standard ones through :class:`~durable.runtime.replay.ReplayRunner`, which answers from the
journal what was already recorded. It is synchronous until the interpreter asks for something
that must wait: a chain of Pass/Choice states never touches the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any

import structlog

from ..errors import DurableError, TaskFailed
from ..integrations.base import TaskRequest, TaskTrace
from ..integrations.registry import IntegrationRegistry
from ..interpreter import failure as F
from ..interpreter.commands import (
    ActivityExists,
    AwaitJob,
    Checkpoint,
    ChildFailure,
    Fork,
    InvokeTask,
    MapRunProgress,
    ReadItems,
    Sleep,
    Stall,
    StreamedFork,
    WriteResults,
)
from ..interpreter.failure import StatesFailure
from .clock import Clock, DeadlineExceeded, with_deadline
from .items import ItemSources
from .jobs import cancel_job, follow_job, job_integration, job_request
from .mapruns import MapRunTracker, first_done
from .result_files import write_files
from .streamed import StreamStart, run_streamed

if TYPE_CHECKING:
    from collections.abc import Callable

    from .tracing import Tracing

__all__ = ["CommandRunner", "call_integration", "step"]

log = structlog.get_logger("durable.runtime")

Gen = Generator[Any, Any, Any]

# set while a Distributed Map's child execution runs: its events are numbered in its own history,
# which the parent's trace does not derive spans from, so its task calls get no trace context
_MAP_CHILD: contextvars.ContextVar[bool] = contextvars.ContextVar("durable_map_child", default=False)


def step(gen: Gen) -> tuple[bool, Any]:
    """Run ``gen`` until its first command. ``(True, output)`` if it finished without one."""
    try:
        return False, gen.send(None)
    except StopIteration as stop:
        return True, stop.value


class CommandRunner:
    """Executes interpreter commands (tasks, sleeps, forks) for the executions of one engine."""

    #: handed to every task request (TestState at TRACE runs a runner of its own with one)
    trace: TaskTrace | None = None
    #: the engine's tracing (None: it does not trace): task requests carry their trace context
    tracing: Tracing | None = None

    def __init__(
        self,
        clock: Clock,
        registry: IntegrationRegistry,
        region: str,
        account: str,
        items: ItemSources | None = None,
    ) -> None:
        self.clock = clock
        self.registry = registry
        self.region = region
        self.account = account
        self.items = items if items is not None else ItemSources()

    async def drive(
        self, gen: Gen, cmd: Any, execution_arn: str, state_machine_arn: str, lane: Any = None
    ) -> Any:
        """Continue ``gen`` (which just yielded ``cmd``) to completion; return its output.

        ``lane`` names the branch/iteration the generator runs (used by journaled drivers).
        """
        try:
            while True:
                value: Any = None
                exc: StatesFailure | None = None
                try:
                    value = await self.execute(cmd, execution_arn, state_machine_arn, lane)
                except StatesFailure as failure:
                    exc = failure
                try:
                    cmd = self.resume(gen, value, exc, lane)
                except StopIteration as stop:
                    return stop.value
        except BaseException:
            gen.close()
            raise

    def resume(self, gen: Gen, value: Any, exc: StatesFailure | None, lane: Any) -> Any:
        """Resume ``gen`` with a command's result (or failure); return its next command."""
        return gen.throw(exc) if exc is not None else gen.send(value)

    def start_child(self, gen: Gen, lane: Any) -> tuple[bool, Any]:
        return step(gen)

    def lanes_for(self, parent: Any, count: int) -> list[Any]:
        return [None] * count

    async def execute(self, cmd: Any, execution_arn: str, state_machine_arn: str, lane: Any = None) -> Any:
        kind = type(cmd)
        if kind is InvokeTask:
            return await self.invoke(cmd, execution_arn, state_machine_arn)
        if kind is Sleep:
            await self.clock.sleep_until(cmd.until)
            return None
        if kind is Fork:
            return await self.fork(cmd, execution_arn, state_machine_arn, lane)
        if kind is StreamedFork:
            return await run_streamed(self, cmd, execution_arn, state_machine_arn, lane)
        if kind is Checkpoint or kind is MapRunProgress:
            await asyncio.sleep(0)  # others' turn: a timeout or a stop is delivered here
            return None
        if kind is ActivityExists:
            return True  # no catalog here: the activity task's offer finds a missing activity
        if kind is AwaitJob:
            return await self.await_job(cmd, execution_arn, state_machine_arn)
        if kind is ReadItems:
            return await self.items.read(self, cmd, execution_arn, state_machine_arn)
        if kind is WriteResults:
            await write_files(self.items.buckets.get(cmd.bucket), self, cmd, execution_arn, state_machine_arn)
            return None
        if kind is Stall:
            log.warning("execution stalled", execution_arn=execution_arn, reason=cmd.reason)
            await asyncio.Event().wait()  # until the execution's timeout or a stop cancels it
        raise TypeError(f"unknown interpreter command {cmd!r}")

    async def invoke(
        self, cmd: InvokeTask, execution_arn: str, state_machine_arn: str, key: str | None = None
    ) -> Any:
        try:
            integration = self.registry.resolve(cmd.resource, cmd.payload)
        except DurableError as exc:
            raise StatesFailure(F.RUNTIME, exc.message) from None
        trace_context = None
        if self.tracing is not None and not _MAP_CHILD.get():
            trace_context = await self.tracing.task_context(execution_arn, cmd.scheduled_event)
        request = TaskRequest(
            resource=cmd.resource,
            payload=cmd.payload,
            state_name=cmd.state_name,
            execution_arn=execution_arn,
            state_machine_arn=state_machine_arn,
            region=self.region,
            account=self.account,
            task_token=cmd.task_token,
            credentials=cmd.credentials,
            timeout_seconds=cmd.timeout_seconds,
            heartbeat_seconds=cmd.heartbeat_seconds,
            idempotency_key=key,
            trace=self.trace,
            trace_context=trace_context,
        )
        busy = getattr(self.clock, "busy", None)  # a ManualClock: do not skip time over real work
        with busy() if busy is not None else contextlib.nullcontext():
            if cmd.timeout_seconds is None:
                return await call_integration(integration.invoke(request))
            deadline = self.clock.now() + cmd.timeout_seconds
            try:
                return await with_deadline(
                    self.clock, deadline, call_integration(integration.invoke(request))
                )
            except DeadlineExceeded:
                raise StatesFailure(F.TIMEOUT, "") from None

    async def await_job(self, cmd: AwaitJob, execution_arn: str, state_machine_arn: str) -> Any:
        """Follow a ``.sync`` task's job (no journal: an Express or test run), stopping it on a
        timeout or a cancellation."""
        integration = job_integration(self.registry, cmd.resource)
        request = job_request(cmd, execution_arn, state_machine_arn, self.region, self.account, None)
        deadline = None if cmd.timeout_seconds is None else self.clock.now() + cmd.timeout_seconds
        try:
            _, result = await with_deadline(
                self.clock, deadline, follow_job(self.clock, integration, request, cmd.submitted)
            )
            return result
        except DeadlineExceeded:
            await cancel_job(integration, request, cmd.submitted)
            raise StatesFailure(F.TIMEOUT, "") from None
        except asyncio.CancelledError:
            await cancel_job(integration, request, cmd.submitted)
            raise

    async def map_run_for(self, cmd: Fork, execution_arn: str, lane: Any = None) -> MapRunTracker | None:
        """The tracker of a Distributed Map's Map Run (None here: only journaled runs keep one)."""
        return None

    # -- streamed child executions (see durable.runtime.streamed) ------------------------------------
    async def open_stream(self, cmd: StreamedFork, execution_arn: str, lane: Any) -> StreamStart | None:
        """The Map Run of a :class:`StreamedFork` and where it goes on from (None here: only
        journaled runs store children; the outputs are kept in memory)."""
        return None

    def stream_lanes(self, lane: Any) -> Callable[[int], Any]:
        """The lane each child of a stream forked from ``lane`` runs in, by index."""
        return lambda index: None

    def enter(self, lane: Any) -> None:
        """Code of ``lane`` runs next (the stream's source, between its children)."""

    def stream_child_over(self, lane: Any) -> None:
        """A streamed child ended and its row is written: its lane is no longer needed."""

    def stream_commit_soon(self) -> None:
        """Children of a stream ended: commit what they wrote soon."""

    async def map_child(self, drive: Coroutine[Any, Any, Any]) -> Any:
        """A Distributed Map child's drive, marked so its task calls carry no trace context."""
        _MAP_CHILD.set(True)  # (this task's own context)
        return await drive

    async def _map_child(self, drive: Coroutine[Any, Any, Any], lane: Any) -> Any:
        out = await self.map_child(drive)
        self.child_succeeded(lane)
        return out

    def child_succeeded(self, lane: Any) -> None:
        """A Distributed Map's child execution (run in ``lane``) succeeded."""

    async def fork(
        self, cmd: Fork, execution_arn: str, state_machine_arn: str, lane: Any = None
    ) -> list[Any]:
        children = cmd.children
        total = len(children)
        lanes = self.lanes_for(lane, total)
        results: list[Any] = [None] * total
        tracker = await self.map_run_for(cmd, execution_arn, lane) if cmd.map_run else None
        rows = tracker.rows if tracker is not None else None  # a Map Run's child executions
        static = _StaticLimits(cmd, total)
        limits: _StaticLimits | MapRunTracker = tracker if tracker is not None else static
        failures = 0
        running: dict[asyncio.Future[Any], int] = {}

        def failed(index: int, failure: StatesFailure, was_running: bool) -> None:
            nonlocal failures
            if tracker is not None:
                outcome = "timed_out" if failure.error == F.TIMEOUT else "failed"
                tracker.ended(outcome, was_running=was_running, index=index)
                if rows is not None:
                    child = children[index]
                    rows.ended(
                        index,
                        child.input,
                        outcome.upper(),
                        error=failure.error,
                        cause=failure.cause,
                        history=child.history,
                    )
            if not limits.tolerant() or not failure.catchable:
                raise failure
            failures += 1
            results[index] = ChildFailure(failure.error, failure.cause)
            if limits.exceeded(failures, total):
                raise StatesFailure(
                    F.EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                )

        def succeeded(index: int, was_running: bool) -> None:
            if tracker is not None:
                tracker.ended("succeeded", was_running=was_running, index=index)
                if rows is not None:
                    child = children[index]
                    rows.ended(index, child.input, "SUCCEEDED", output=results[index], history=child.history)

        async def reap() -> None:
            for fut in await first_done(running, tracker):  # (an UpdateMapRun may raise the limit)
                index = running.pop(fut)
                try:
                    results[index] = fut.result()
                except StatesFailure as failure:
                    failed(index, failure, True)
                else:
                    succeeded(index, True)

        status = "FAILED"
        try:
            for index, child in enumerate(children):
                while len(running) >= limits.limit(total):
                    await reap()
                gen = child.start()
                if tracker is not None:
                    tracker.started(index)
                    if rows is not None:
                        rows.started(index, child.input)
                try:
                    finished, value = self.start_child(gen, lanes[index])
                except StatesFailure as failure:
                    failed(index, failure, True)
                    continue
                if finished:
                    results[index] = value
                    if cmd.map_run:
                        self.child_succeeded(lanes[index])
                    succeeded(index, True)
                else:
                    drive = self.drive(gen, value, execution_arn, state_machine_arn, lanes[index])
                    if cmd.map_run:  # a child execution: its success is marked as it ends
                        drive = self._map_child(drive, lanes[index])
                    running[asyncio.ensure_future(drive)] = index
            while running:
                await reap()
            status = "SUCCEEDED"
        except asyncio.CancelledError:
            status = ""  # stopped or shut down: the execution's end settles the Map Run
            raise
        finally:
            if running:
                for fut in running:
                    fut.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                if tracker is not None and status:  # a child failed: the others were stopped
                    for fut, index in running.items():
                        child = children[index]
                        if not fut.cancelled() and fut.exception() is None:
                            # it ended, successfully, before the failure was seen (its lane is
                            # done in the journal): a child execution that succeeded
                            results[index] = fut.result()
                            succeeded(index, True)
                        elif rows is not None:
                            rows.ended(index, child.input, "ABORTED", history=child.history)
            if tracker is not None:
                if status:
                    tracker.finish(status)
                self.map_run_closed(tracker)
        return results

    def map_run_closed(self, tracker: MapRunTracker) -> None:
        """The Fork of a Map Run is over (its tracker is no longer live)."""


class _StaticLimits:
    """A Fork's own limits (a Parallel state, an inline Map)."""

    __slots__ = ("count", "mc", "pct")

    def __init__(self, cmd: Fork, total: int) -> None:
        self.mc = cmd.max_concurrency if cmd.max_concurrency > 0 else total or 1
        self.count = cmd.tolerated_count
        self.pct = cmd.tolerated_percentage

    def limit(self, total: int) -> int:
        return self.mc

    def tolerant(self) -> bool:
        return self.count is not None or self.pct is not None

    def exceeded(self, failures: int, total: int) -> bool:
        over_count = self.count is None or failures > self.count
        over_pct = self.pct is None or failures * 100.0 / total > self.pct
        return over_count and over_pct


async def call_integration(coro: Any) -> Any:
    """Await an integration call, turning user exceptions into ASL failures."""
    try:
        return await coro
    except StatesFailure:
        raise
    except TaskFailed as exc:
        raise StatesFailure(exc.error, exc.cause) from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an integration's own error becomes an ASL error
        raise StatesFailure(type(exc).__name__, str(exc)) from None
