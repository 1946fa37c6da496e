"""Map Runs: the resource a Distributed Map state's run is, as DescribeMapRun shows it.

Each Map Run is a store metadata entry (kind ``maprun``, its ARN, parent = the execution's ARN)
whose body is a :class:`MapRunState` (dates as epoch seconds); the API returns it as a
:class:`MapRun` (dates as UTC datetimes). The Fork driver of the execution keeps a :class:`MapRunTracker`
while the run goes on: it counts children as they start and end, and puts its current state in
the execution's next batch, so the entry is committed with the parent's own events. The limits
(``maxConcurrency``, tolerated failures) are read from the tracker each time a child is about to
start or fails, so :meth:`MapRuns.update` changes them for the children not started yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from ..errors import ResourceNotFound, ValidationError
from ..interpreter.commands import ChildProcessor
from ..store.base import ChildExecutionRecord, MetadataRecord, Store, WriteBatch
from .children import ChildRows, processor_record
from .clock import Clock
from .models import utc

__all__ = [
    "KIND",
    "MapRun",
    "MapRunCounts",
    "MapRunState",
    "MapRunTracker",
    "MapRuns",
    "first_done",
    "public",
    "redrive_marks",
]

KIND = "maprun"
_ENDED = ("SUCCEEDED", "FAILED", "ABORTED")
PROGRESS_SECONDS = 1.0  # children run in place: their counts are stored at most this often


class MapRunCounts(msgspec.Struct, kw_only=True, rename="camel"):
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0
    total: int = 0
    results_written: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MapRun:
    """One Map Run as DescribeMapRun answers it (``stop_date`` None while it runs)."""

    map_run_arn: str
    execution_arn: str
    status: str
    start_date: datetime
    max_concurrency: int = 0
    tolerated_failure_percentage: float = 0.0
    tolerated_failure_count: int = 0
    item_counts: MapRunCounts = field(default_factory=MapRunCounts)
    execution_counts: MapRunCounts = field(default_factory=MapRunCounts)
    redrive_count: int = 0
    redrive_date: datetime | None = None  # the last time it was redriven (RedriveExecution)
    stop_date: datetime | None = None


class MapRunState(msgspec.Struct, kw_only=True, rename="camel"):
    """A Map Run as it is stored and tracked (the dates in epoch seconds)."""

    map_run_arn: str
    execution_arn: str
    status: str
    start_date: float
    max_concurrency: int = 0
    tolerated_failure_percentage: float = 0.0
    tolerated_failure_count: int = 0
    item_counts: MapRunCounts = msgspec.field(default_factory=MapRunCounts)
    execution_counts: MapRunCounts = msgspec.field(default_factory=MapRunCounts)
    redrive_count: int = 0
    redrive_date: float | None = None
    stop_date: float | None = None
    #: RedriveExecution marked it: when its execution runs it again, its unsuccessful children
    #: run again (and it counts the redrive)
    redrive_pending: bool = False
    #: children run in place: where the run goes on from after a restart (the interpreter's
    #: position: reader cursor, items to skip, counts), committed with the children it follows
    checkpoint: Any = None


def public(run: MapRunState) -> MapRun:
    """A copy of ``run`` as the API returns it."""
    replace = msgspec.structs.replace
    return MapRun(
        map_run_arn=run.map_run_arn,
        execution_arn=run.execution_arn,
        status=run.status,
        start_date=utc(run.start_date),
        max_concurrency=run.max_concurrency,
        tolerated_failure_percentage=run.tolerated_failure_percentage,
        tolerated_failure_count=run.tolerated_failure_count,
        item_counts=replace(run.item_counts),
        execution_counts=replace(run.execution_counts),
        redrive_count=run.redrive_count,
        redrive_date=None if run.redrive_date is None else utc(run.redrive_date),
        stop_date=None if run.stop_date is None else utc(run.stop_date),
    )


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(MapRunState).decode


class MapRunTracker:
    """A running Map Run's counts and limits, kept by its Fork driver."""

    def __init__(self, run: MapRunState, put: Callable[[MetadataRecord], None], clock: Clock) -> None:
        self.run = run
        self._put = put  # into the execution's next batch
        self.clock = clock
        self.changed = asyncio.Event()  # the limits were updated: a waiting driver looks again
        self.touched = 0.0  # when its state last went into the execution's batch
        self.weights: tuple[int, ...] = ()
        self.redriven = False  # opened again after it ended: RedriveExecution redrives it
        self.rows: ChildRows | None = None  # the child executions' rows (see durable.runtime.children)

    # -- limits -----------------------------------------------------------------------------------
    def limit(self, total: int) -> int:
        mc = self.run.max_concurrency
        return mc if mc > 0 else total or 1

    def tolerant(self) -> bool:
        return self.run.tolerated_failure_count > 0 or self.run.tolerated_failure_percentage > 0

    def exceeded(self, failures: int, total: int) -> bool:
        count, pct = self.run.tolerated_failure_count, self.run.tolerated_failure_percentage
        over_count = not count or failures > count
        over_pct = not pct or failures * 100.0 / total > pct
        return over_count and over_pct

    # -- counts -----------------------------------------------------------------------------------
    # Executions count children; items count what they processed: the same unless an ItemBatcher
    # gave each child a batch (``weights``: items per child).
    def _weight(self, index: int | None) -> int:
        w = self.weights
        return w[index] if w and index is not None and index < len(w) else 1

    def begin(self, total: int, weights: tuple[int, ...] = ()) -> None:
        self.weights = weights
        executions, items = self.run.execution_counts, self.run.item_counts
        executions.total = executions.pending = total
        items.total = items.pending = sum(weights) if weights else total
        self.touch()

    def made(self, index: int, weight: int) -> None:
        """A streamed child was made from its items: counted once (a restart makes it again)."""
        executions, items = self.run.execution_counts, self.run.item_counts
        if index >= executions.total:
            executions.total = index + 1
            executions.pending += 1
            items.total += weight
            items.pending += weight

    def resumed(self, before: MapRunState, redriven: bool) -> None:
        """A streamed run goes on with the counts it stored; the children running then run
        again (pending until they start). Redriven: its unsuccessful children run again."""
        run = self.run
        run.execution_counts, run.item_counts = before.execution_counts, before.item_counts
        for c in (run.execution_counts, run.item_counts):
            if redriven:
                c.pending = c.total - c.succeeded
                c.running = c.failed = c.timed_out = c.aborted = c.results_written = 0
            else:
                c.pending += c.running
                c.running = 0
        if redriven:
            run.checkpoint = {}  # from the first child again (its failure is no longer its end)
        else:
            run.status, run.stop_date = before.status, before.stop_date
        self.touch()

    def started(self, index: int | None = None, weight: int | None = None) -> None:
        weight = self._weight(index) if weight is None else weight
        for c, n in ((self.run.execution_counts, 1), (self.run.item_counts, weight)):
            c.pending -= n
            c.running += n
        self.touch()

    def ended(
        self, outcome: str, *, was_running: bool = True, index: int | None = None, weight: int | None = None
    ) -> None:
        """A child ended: ``outcome`` is succeeded, failed, timed_out or aborted."""
        weight = self._weight(index) if weight is None else weight
        for c, n in ((self.run.execution_counts, 1), (self.run.item_counts, weight)):
            if was_running:
                c.running -= n
            else:
                c.pending -= n
            setattr(c, outcome, getattr(c, outcome) + n)
        self.touch()

    def streamed(self, total: int, succeeded: int, failed: int, items: tuple[int, int, int]) -> None:
        """Children run in place, one at a time, as their items are read: so many made so far,
        so many ended (``items``: items read, items of succeeded and of failed children)."""
        read, ok_items, failed_items = items
        for c, made, ok, bad in (
            (self.run.execution_counts, total, succeeded, failed),
            (self.run.item_counts, max(read, ok_items + failed_items), ok_items, failed_items),
        ):
            c.total, c.succeeded, c.failed, c.running = made, ok, bad, 0
            c.pending = made - ok - bad

    def finish(self, status: str) -> None:
        """The Fork is over: children not started and still running count as aborted."""
        for c in (self.run.item_counts, self.run.execution_counts):
            c.aborted += c.pending + c.running
            c.pending = c.running = 0
        self.run.status = status
        self.run.stop_date = self.clock.now()
        self.touch()

    def touch(self) -> None:
        self.touched = self.clock.now()
        self._put(record(self.run))


async def first_done(
    running: Iterable[asyncio.Future[Any]], tracker: MapRunTracker | None
) -> set[asyncio.Future[Any]]:
    """Wait until one of ``running`` is done, or (with a ``tracker``) until an UpdateMapRun
    changes the limits; return those done."""
    waiting: set[asyncio.Future[Any]] = set(running)
    wake = None
    if tracker is not None:
        tracker.changed.clear()
        wake = asyncio.ensure_future(tracker.changed.wait())
        waiting.add(wake)
    try:
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if wake is not None and not wake.done():
            wake.cancel()
    done.discard(wake)
    return done


async def redrive_marks(store: Store, execution_arn: str) -> list[MetadataRecord]:
    """RedriveExecution: the execution's Map Runs that did not succeed, marked to be redriven
    (committed with the redrive; see :meth:`MapRuns.open`)."""
    marked = []
    for entry in await store.list_metadata(KIND, execution_arn):
        run = _decode(entry.body)
        if run.status != "SUCCEEDED":
            run.redrive_pending = True
            marked.append(record(run))
    return marked


def record(run: MapRunState) -> MetadataRecord:
    return MetadataRecord(
        kind=KIND,
        arn=run.map_run_arn,
        parent=run.execution_arn,
        body=_encode(run).decode(),
        created=run.start_date,
    )


class MapRuns:
    """The engine's Map Runs: the trackers of the runs going on here, and the stored entries."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.live: dict[str, MapRunTracker] = {}

    async def open(
        self,
        arn: str,
        execution_arn: str,
        total: int,
        limits: tuple[int, int | None, float | None],
        put: Callable[[MetadataRecord], None],
        resumed: bool,
        weights: tuple[int, ...] = (),
        processor: ChildProcessor | None = None,
        add_child: Callable[[ChildExecutionRecord], None] | None = None,
        streamed: bool = False,
        known_items: int | None = None,
    ) -> MapRunTracker:
        """A tracker for a Fork that starts (or, after a restart, starts again) the Map Run ``arn``;
        with a ``processor``, its children are stored as executions through ``add_child``.
        ``streamed``: its children are counted as they are made (``total`` are known from the
        start, holding ``known_items`` items), and a restart goes on with the stored counts."""
        max_concurrency, count, pct = limits
        run = MapRunState(
            map_run_arn=arn,
            execution_arn=execution_arn,
            status="RUNNING",
            start_date=self.clock.now(),
            max_concurrency=max_concurrency,
            tolerated_failure_count=count or 0,
            tolerated_failure_percentage=float(pct or 0.0),
        )
        stored = await self.store.get_metadata(KIND, arn) if resumed else None
        if stored is not None:  # replayed: the start date and any update made since are kept
            before = _decode(stored.body)
            run.start_date = before.start_date
            run.max_concurrency = before.max_concurrency
            run.tolerated_failure_count = before.tolerated_failure_count
            run.tolerated_failure_percentage = before.tolerated_failure_percentage
            run.redrive_count, run.redrive_date = before.redrive_count, before.redrive_date
            run.checkpoint = before.checkpoint
        redriven = stored is not None and _decode(stored.body).redrive_pending
        if redriven:  # only its unsuccessful children run again (see journal.redrive_cuts)
            run.redrive_count += 1
            run.redrive_date = self.clock.now()  # (the pending mark is cleared by begin's commit)
        tracker = MapRunTracker(run, put, self.clock)
        tracker.redriven = redriven
        if processor is not None and add_child is not None:
            put(processor_record(arn, execution_arn, processor, run.start_date))
            tracker.rows = ChildRows(arn, execution_arn, weights, add_child, self.clock, run.redrive_count)
        if streamed and stored is not None:
            tracker.resumed(_decode(stored.body), redriven)
        else:
            tracker.begin(total, weights)
            if streamed and known_items is not None:
                tracker.run.item_counts.total = tracker.run.item_counts.pending = known_items
        self.live[arn] = tracker
        return tracker

    def close(self, tracker: MapRunTracker) -> None:
        if self.live.get(tracker.run.map_run_arn) is tracker:
            del self.live[tracker.run.map_run_arn]

    async def get(self, arn: str) -> MapRun:
        tracker = self.live.get(arn)
        if tracker is not None:
            return public(tracker.run)
        return public(await self._state(arn))

    async def _state(self, arn: str) -> MapRunState:
        stored = await self.store.get_metadata(KIND, arn)
        if stored is None:
            raise ResourceNotFound(f"Resource not found: '{arn}'")
        return await self._settled(_decode(stored.body))

    async def list(self, execution_arn: str) -> list[MapRun]:
        runs = []
        for entry in await self.store.list_metadata(KIND, execution_arn):
            tracker = self.live.get(entry.arn)
            runs.append(tracker.run if tracker is not None else await self._settled(_decode(entry.body)))
        runs.sort(key=lambda r: r.start_date)
        return [public(r) for r in runs]

    async def _settled(self, run: MapRunState) -> MapRunState:
        """A stored run still RUNNING whose execution has ended was aborted with it (stopped,
        timed out), as AWS shows it."""
        if run.status != "RUNNING":
            return run
        execution = await self.store.get_execution(run.execution_arn)
        if execution is None or execution.status == "RUNNING":
            return run
        for counts in (run.item_counts, run.execution_counts):
            counts.aborted += counts.pending + counts.running
            counts.pending = counts.running = 0
        run.status = "ABORTED"
        run.stop_date = execution.stop_date
        return run

    async def results_written(self, arn: str, executions: int, items: int) -> MetadataRecord | None:
        """The ResultWriter wrote the results of so many children (and their items): the entry
        to commit with the write's journal record (None when the run is unknown)."""
        stored = await self.store.get_metadata(KIND, arn)
        if stored is None:
            return None
        run = _decode(stored.body)
        run.execution_counts.results_written = executions
        run.item_counts.results_written = items
        return record(run)

    async def update(
        self,
        arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_percentage: float | None = None,
        tolerated_failure_count: int | None = None,
    ) -> MapRun:
        """Change a running Map Run's limits; they apply to the children not started yet."""
        if max_concurrency is not None and max_concurrency < 0:
            raise ValidationError("maxConcurrency must be at least 0")
        if tolerated_failure_count is not None and tolerated_failure_count < 0:
            raise ValidationError("toleratedFailureCount must be at least 0")
        pct = tolerated_failure_percentage
        if pct is not None and not 0 <= pct <= 100:
            raise ValidationError("toleratedFailurePercentage must be between 0 and 100")
        tracker = self.live.get(arn)
        run = tracker.run if tracker is not None else await self._state(arn)
        if run.status in _ENDED:
            raise ValidationError(f"Map Run is {run.status} and cannot be updated: '{arn}'")
        changes: dict[str, Any] = {}
        if max_concurrency is not None:
            changes["max_concurrency"] = max_concurrency
        if tolerated_failure_count is not None:
            changes["tolerated_failure_count"] = tolerated_failure_count
        if pct is not None:
            changes["tolerated_failure_percentage"] = float(pct)
        for name, value in changes.items():
            setattr(run, name, value)
        if tracker is not None:
            tracker.touch()  # the execution's next batch holds the new limits too
            tracker.changed.set()
        await self.store.commit(WriteBatch(metadata=[record(run)]))
        return public(run)
