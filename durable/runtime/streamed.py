"""Stream a Distributed Map's child executions: pulled from their source as slots free up,
stored as they end, never all held (:class:`~durable.interpreter.commands.StreamedFork`).

A Distributed Map whose children run Task states (or whose failures are tolerated) cannot run
them in place: they wait, concurrently. The driver here pulls the children's inputs from the
interpreter's source (a page of items at a time, not journaled) while fewer than
``MaxConcurrency`` run, runs each in a journal lane of its own, and when one ends writes its row
(output, or error and cause, and its history) and drops its lane's journal entries, in the
parent's next batch. Memory holds the running children, one page, and the positions of the
children between the lowest one still running and the highest one made (a window of at most
:data:`WINDOW_FACTOR` times the concurrency).

**Resuming.** The Map Run's stored state carries a checkpoint, committed with the rows it
follows: the source position where the lowest child not ended starts (``Children``), and the
bytes of the outputs so far. A restart starts the source there, re-reading at most one page;
the stored rows from there on say which children ended (skipped) and which were running (run
again: their lanes replay, so no recorded step runs twice). A redrive (RedriveExecution) starts
from the first child and runs again only those whose rows did not succeed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..interpreter import failure as F
from ..interpreter.commands import Child, ChildFailure, ReadItems, StreamedFork
from ..interpreter.failure import StatesFailure
from ..interpreter.map_inplace import InPlace
from ..store.base import ChildExecutionRecord, Store
from .children import result_bytes
from .mapruns import MapRunTracker, first_done

if TYPE_CHECKING:
    from .runner import CommandRunner

__all__ = ["DEFAULT_CONCURRENCY", "StreamStart", "run_streamed", "stored_from"]

#: AWS: a Distributed Map without ``MaxConcurrency`` runs up to 10,000 children at once
DEFAULT_CONCURRENCY = 10_000
#: children made ahead of the lowest one still running: at most this many times the concurrency
WINDOW_FACTOR = 4
MIN_WINDOW = 1024
#: children ended between two commits asked for (children that never invoke never flush)
COMMIT_EVERY = 256
_WINDOW_ROWS = 1000
_ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(slots=True)
class StreamStart:
    """Where a journaled stream starts: its tracker, the checkpoint to go on from, the stored
    rows of the children from there on (ascending), and whether it already ended."""

    tracker: MapRunTracker
    position: dict[str, Any]
    stored: AsyncIterator[list[ChildExecutionRecord]] | None = None
    #: the stored bytes of the outputs do not count the children kept: count them as skipped
    count_bytes: bool = False


async def stored_from(
    store: Store, map_run_arn: str, low: int, high: int
) -> AsyncIterator[list[ChildExecutionRecord]]:
    """The stored rows of a Map Run's children ``low`` .. ``high - 1``, lowest first, a window
    at a time."""
    start = low
    while start < high:
        rows = [r for r in await store.list_child_rows(map_run_arn, start, _WINDOW_ROWS) if r.index < high]
        if not rows:
            return
        yield rows
        start = rows[-1].index + max(1, rows[-1].span)


class _Rows:
    """Look-ahead over stored rows in index order: the row of child ``i``, if any."""

    __slots__ = ("_buf", "_it")

    def __init__(self, it: AsyncIterator[list[ChildExecutionRecord]] | None) -> None:
        self._it = it
        self._buf: deque[ChildExecutionRecord] = deque()

    async def row(self, index: int) -> ChildExecutionRecord | None:
        while self._it is not None or self._buf:
            if not self._buf:
                assert self._it is not None
                try:
                    self._buf.extend(await self._it.__anext__())
                except StopAsyncIteration:
                    self._it = None
                continue
            first = self._buf[0]
            if first.index < index:
                self._buf.popleft()
                continue
            if first.index == index:
                self._buf.popleft()
                return first
            return None
        return None


class _Running:
    __slots__ = ("child", "index", "lane", "weight")

    def __init__(self, index: int, child: Child, weight: int, lane: Any) -> None:
        self.index, self.child, self.weight, self.lane = index, child, weight, lane


async def run_streamed(
    runner: CommandRunner, cmd: StreamedFork, execution_arn: str, machine: str, lane: Any
) -> InPlace:
    """Run the children of ``cmd`` (see the module's docstring); answer what they ended with."""
    start = await runner.open_stream(cmd, execution_arn, lane)
    tracker = start.tracker if start is not None else None
    rows = tracker.rows if tracker is not None else None
    run = tracker.run if tracker is not None else None
    checkpoint: dict[str, Any] = dict(start.position) if start is not None else {}
    lane_of = runner.stream_lanes(lane)  # (a fork of its lane, even when replayed as ended)
    if tracker is not None and tracker.run.status in ("SUCCEEDED", "FAILED"):
        # it ended before the restart: its answer is as it was
        run = tracker.run
        runner.map_run_closed(tracker)
        if run.status == "FAILED":
            error, cause = checkpoint.get("Failure") or (F.RUNTIME, None)
            raise StatesFailure(error, cause)
        counts = run.execution_counts
        return InPlace(None, None, counts.total, run.item_counts.total, counts.failed + counts.timed_out)
    low = next_index = int(checkpoint.get("Children", 0))
    redrive_count = run.redrive_count if run is not None else 0
    stored = _Rows(start.stored if start is not None else None)
    count_bytes = start is not None and start.count_bytes
    keep = rows is None  # no store: the outputs (and inputs) are kept here
    outputs: dict[int, Any] = {}
    inputs: dict[int, Any] = {}
    items_made = 0
    failures = 0 if run is None else run.execution_counts.failed + run.execution_counts.timed_out
    total_known = cmd.known
    cap = cmd.known or DEFAULT_CONCURRENCY
    at: dict[str, Any] = {k: checkpoint[k] for k in ("Cursor", "Skip", "Items", "Done") if k in checkpoint}
    positions: dict[int, dict[str, Any]] = {low: at}  # where each child not ended starts
    ended_above: set[int] = set()
    running: dict[asyncio.Future[Any], _Running] = {}
    exhausted = False
    since_commit = 0
    source = cmd.source(positions[low])
    sent: Any = None

    def limit() -> int:
        if tracker is not None:
            return tracker.limit(cap)
        return cmd.max_concurrency if cmd.max_concurrency > 0 else cap

    def tolerant() -> bool:
        if tracker is not None:
            return tracker.tolerant()
        return cmd.tolerated_count is not None or cmd.tolerated_percentage is not None

    def exceeded(total: int | None) -> bool:
        if tracker is not None:
            count, pct = tracker.run.tolerated_failure_count, tracker.run.tolerated_failure_percentage
        else:
            count, pct = cmd.tolerated_count or 0, cmd.tolerated_percentage or 0.0
        if pct and total is None:  # a share of a total not known yet: judged once it is
            return False
        over_count = not count or failures > count
        over_pct = not pct or failures * 100.0 / (total or 1) > pct
        return over_count and over_pct

    def mark(failure: StatesFailure | None) -> None:
        """The checkpoint the next stored state carries (the run's failure, once it fails)."""
        if run is None:
            return
        point = {**positions[low], "Children": low}
        if rows is not None:
            point["Bytes"] = rows.bytes
        if failure is not None:
            point["Failure"] = [failure.error, failure.cause]
        run.checkpoint = point

    def advance(index: int) -> None:
        nonlocal low, since_commit
        ended_above.add(index)
        while low in ended_above:
            ended_above.discard(low)
            del positions[low]
            low += 1
        since_commit += 1
        if since_commit >= COMMIT_EVERY:
            since_commit = 0
            runner.stream_commit_soon()

    def over_limit() -> StatesFailure | None:
        if rows is None or cmd.limit_bytes is None or rows.bytes + 1 <= cmd.limit_bytes:
            return None
        return StatesFailure(
            F.DATA_LIMIT_EXCEEDED,
            f"The state/task '{cmd.state_name}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )

    def succeeded(r: _Running, output: Any) -> None:
        if rows is not None:
            rows.ended(
                r.index, r.child.input, "SUCCEEDED", output=output, history=r.child.history, items=r.weight
            )
        runner.stream_child_over(r.lane)
        if keep:
            outputs[r.index], inputs[r.index] = output, r.child.input
        advance(r.index)
        problem = over_limit()
        mark(problem)
        if tracker is not None:
            tracker.ended("succeeded", index=r.index, weight=r.weight)
        if problem is not None:
            raise problem

    def failed(r: _Running, failure: StatesFailure) -> None:
        nonlocal failures
        outcome = "timed_out" if failure.error == F.TIMEOUT else "failed"
        if rows is not None:
            rows.ended(
                r.index,
                r.child.input,
                outcome.upper(),
                error=failure.error,
                cause=failure.cause,
                history=r.child.history,
                items=r.weight,
            )
        runner.stream_child_over(r.lane)
        if keep:
            outputs[r.index], inputs[r.index] = ChildFailure(failure.error, failure.cause), r.child.input
        advance(r.index)
        problem: StatesFailure | None = None
        if not tolerant() or not failure.catchable:
            problem = failure
        else:
            failures += 1
            if exceeded(total_known):
                problem = _threshold()
        if problem is None:
            problem = over_limit()
        mark(problem)
        if tracker is not None:
            tracker.ended(outcome, index=r.index, weight=r.weight)
        if problem is not None:
            raise problem

    async def pull() -> Any:
        nonlocal sent
        while True:
            runner.enter(lane)  # (the source is the parent's code, not a child's)
            try:
                got = source.send(sent)
            except StopIteration:
                return None
            sent = None
            if type(got) is ReadItems:
                sent = await runner.execute(got, execution_arn, machine, lane)
                continue
            return got

    async def reap() -> None:
        done = await first_done(running, tracker)  # (an UpdateMapRun may raise the limit)
        for fut in sorted(done, key=lambda f: running[f].index):
            r = running.pop(fut)
            try:
                output = fut.result()
            except StatesFailure as failure:
                failed(r, failure)
            else:
                succeeded(r, output)

    status = "FAILED"
    try:
        while True:
            window = max(MIN_WINDOW, WINDOW_FACTOR * limit())
            while not exhausted and len(running) < limit() and next_index - low < window:
                got = await pull()
                if got is None:
                    exhausted = True
                    total_known = next_index
                    if failures and tolerant() and exceeded(total_known):
                        problem = _threshold()
                        mark(problem)
                        raise problem
                    break
                index, weight = next_index, got.weight
                next_index += 1
                positions[index + 1] = (
                    {"Done": True, "Items": got.index}
                    if got.skip < 0
                    else {"Cursor": got.cursor, "Skip": got.skip, "Items": got.index}
                )
                items_made += weight
                if tracker is not None:
                    tracker.made(index, weight)
                row = await stored.row(index)
                if (
                    row is not None
                    and row.status in _ENDED
                    and (row.status == "SUCCEEDED" or row.redrive_count == redrive_count)
                ):
                    if count_bytes and rows is not None:
                        rows.bytes += result_bytes(row)
                    advance(index)  # ended before the restart (or the redrive): kept
                    continue
                child = cmd.child(index, got.value)
                r = _Running(index, child, weight, lane_of(index))
                if tracker is not None:
                    tracker.started(index, weight=weight)
                    if rows is not None:
                        rows.started(index, child.input, items=weight)
                gen = child.start()
                try:
                    finished, value = runner.start_child(gen, r.lane)
                except StatesFailure as failure:
                    failed(r, failure)
                    continue
                if finished:
                    succeeded(r, value)
                else:
                    drive = runner.drive(gen, value, execution_arn, machine, r.lane)
                    running[asyncio.ensure_future(runner.map_child(drive))] = r
            if not running:
                if exhausted:
                    break
                continue
            await reap()
        status = "SUCCEEDED"
    except StatesFailure as failure:
        if run is not None and not (isinstance(run.checkpoint, dict) and run.checkpoint.get("Failure")):
            mark(failure)  # (the reader failed): a replay raises it again
        raise
    except asyncio.CancelledError:
        status = ""  # stopped or shut down: the execution's end settles the Map Run
        raise
    finally:
        source.close()
        if running:
            for fut in running:
                fut.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if status:  # a child failed: the others were stopped
                for fut, r in sorted(running.items(), key=lambda kv: kv[1].index):
                    if not fut.cancelled() and fut.exception() is None:
                        # it ended, successfully, before the failure was seen
                        if rows is not None:
                            rows.ended(
                                r.index,
                                r.child.input,
                                "SUCCEEDED",
                                output=fut.result(),
                                history=r.child.history,
                                items=r.weight,
                            )
                        if tracker is not None:
                            tracker.ended("succeeded", index=r.index, weight=r.weight)
                    else:
                        if rows is not None:
                            rows.ended(
                                r.index, r.child.input, "ABORTED", history=r.child.history, items=r.weight
                            )
                        if tracker is not None:
                            tracker.ended("aborted", index=r.index, weight=r.weight)
                    runner.stream_child_over(r.lane)
        if tracker is not None:
            if status:
                tracker.finish(status)
            runner.map_run_closed(tracker)
    if run is not None:
        counts = run.execution_counts
        return InPlace(None, None, counts.total, run.item_counts.total, failures)
    ordered = range(next_index)
    return InPlace(
        [outputs[i] for i in ordered], [inputs[i] for i in ordered], next_index, items_made, failures
    )


def _threshold() -> StatesFailure:
    return StatesFailure(
        F.EXCEED_TOLERATED_FAILURE_THRESHOLD, "The specified tolerated failure threshold was exceeded"
    )
