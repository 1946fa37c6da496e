"""The replay journal of one Standard execution.

A Standard execution is the deterministic interpreter plus a record of everything that was
not deterministic: results of commands (task results and failures, timer firings) and values
of services (ids, random numbers, task tokens). Each entry belongs to a *lane* — the root
scope ``""`` or a branch/iteration ``"<parent>/<fork>.<index>"`` — and lanes are replayed
independently, so concurrent branches replay correctly whatever order they ran in.

While a lane still has recorded entries it *replays*: emitted history events take their
recorded ids and times (nothing is written again), commands take their recorded results
(nothing is re-run). When its entries run out it goes *live*: new events and entries are
buffered in :attr:`Journal.batch` and written by the executor before any effect is released.
"""

from __future__ import annotations

import random
import secrets
from collections import deque
from collections.abc import Iterable
from typing import Any

import msgspec

from ..interpreter.context import ExecutionContext
from ..interpreter.jsonvalue import json_text
from ..store.base import EventRecord, JournalRecord, WriteBatch
from .clock import Clock

__all__ = [
    "HistoryLimitReached",
    "Journal",
    "JournalContext",
    "JournalLane",
    "ReplayDivergence",
    "details_key",
    "new_task_token",
]

_PAYLOAD_KEYS = ("input", "output")  # the details members that carry a state's data
_RNG = random.Random()  # values drawn here are journaled, so replay never depends on it
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def new_task_token() -> str:
    """384 random bits from the OS (``secrets``), URL-safe, never starting with ``-`` or ``_``
    (a token given on a command line must not read as an option)."""
    while True:
        token = secrets.token_urlsafe(48)
        if token[0].isalnum():
            return token


class ReplayDivergence(Exception):
    """The journal does not fit the program (the definition changed under a running execution)."""


def details_key(event_type: str) -> str | None:
    """The ``HistoryEvent`` member holding an event type's details."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


class JournalLane:
    """One branch of an execution's journal: its recorded entries still to replay."""

    __slots__ = (
        "clocked",
        "forks",
        "last_event",
        "live",
        "name",
        "pending",
        "replayed",
        "seq",
        "stamp",
        "time",
    )

    def __init__(self, name: str, recorded: Iterable[JournalRecord] = ()) -> None:
        self.name = name
        self.pending: deque[JournalRecord] = deque(recorded)
        self.seq = max((r.seq for r in self.pending), default=0)
        self.forks = 0
        self.time = 0.0
        self.replayed = False  # consumed a recorded entry
        self.live = False  # wrote a new entry
        self.last_event = 0  # id of the lane's latest history event
        # its events are not journaled (a Distributed Map child execution's, or nested in one):
        # the times it reads are, as ``time`` entries (see Journal.now)
        self.clocked = False
        self.stamp = True  # (clocked) the next time it reads is recorded


def _apply_cuts(records: list[JournalRecord]) -> list[JournalRecord]:
    """Drop the entries a redrive cut off: a ``cut`` entry voids every earlier entry whose
    seq is >= its payload (the journal stays append-only; the cut is part of the record)."""
    out: list[JournalRecord] = []
    for r in records:
        if r.kind == "cut":
            start = int(_decode(r.payload))
            out = [e for e in out if e.seq < start]
        else:
            out.append(r)
    return out


def redrive_cuts(records: Iterable[JournalRecord], event_types: dict[int, str]) -> dict[str, int]:
    """Where a redrive resumes each lane: the seq to cut from, per lane that must re-run.

    Walking back from a lane's end, everything after the last state entry (or Map/Parallel
    start, Map iteration start, or Map Run start) is the unsuccessful work: failure outcomes,
    retry attempts, failure events. Cutting there makes that state run again with fresh retry
    counters, while every lane that completed keeps its recorded outcomes and is not re-run.

    A Distributed Map's child executions record no events in the parent's lanes; a child that
    succeeded ends its lane with a ``done`` entry. A redrive re-runs the others whole (failed,
    aborted, never finished: their lanes and the lanes under them are cut from their start) and
    keeps the Map Run (the cut of its lane falls after ``MapRunStarted``), as AWS redrives a
    Map Run: only its unsuccessful children run again.
    """
    by_lane: dict[str, list[JournalRecord]] = {}
    for r in records:
        by_lane.setdefault(r.lane, []).append(r)
    lanes = {name: _apply_cuts(sorted(recs, key=lambda r: r.seq)) for name, recs in by_lane.items()}
    done = {name for name, recs in lanes.items() if any(r.kind == "done" for r in recs)}
    cuts: dict[str, int] = {}
    for name, recs in lanes.items():
        if not recs:
            continue
        if name and not any(r.kind == "event" for r in recs):  # a child execution's lane
            if not _within(name, done):
                cuts[name] = recs[0].seq
            continue
        cut = None
        for r in reversed(recs):
            if r.kind == "event":
                kind = event_types.get(int(_decode(r.payload)[0]), "")
                if kind.endswith(("StateEntered", "StateStarted", "MapIterationStarted")) or kind in (
                    "ExecutionStarted",
                    "MapRunStarted",
                ):
                    break
                if kind.endswith(("StateExited", "MapIterationSucceeded")):
                    cut = None
                    break
            cut = r.seq
        if cut is not None:
            cuts[name] = cut
    return cuts


def _within(lane: str, done: set[str]) -> bool:
    """``lane`` or a lane it is nested in (``/1.3`` for ``/1.3/2.0``) ended with ``done``."""
    while lane:
        if lane in done:
            return True
        lane = lane.rsplit("/", 1)[0]
    return False


class Journal:
    """Replay state and write buffer of one execution; also its interpreter ``Services``."""

    def __init__(
        self,
        execution_arn: str,
        clock: Clock,
        records: Iterable[JournalRecord] = (),
        *,
        last_event_id: int = 0,
        start_time: float = 0.0,
    ) -> None:
        self.execution_arn = execution_arn
        self.clock = clock
        by_lane: dict[str, list[JournalRecord]] = {}
        for r in records:
            by_lane.setdefault(r.lane, []).append(r)
        self.lanes: dict[str, JournalLane] = {}
        for name, recs in by_lane.items():
            recs.sort(key=lambda r: r.seq)
            lane = JournalLane(name, _apply_cuts(recs))
            lane.seq = max(lane.seq, recs[-1].seq)
            self.lanes[name] = lane
        self.current = self.lane("")
        self.current.time = start_time
        self.last_event_id = last_event_id
        self._batch: WriteBatch | None = None  # made when something is first buffered
        self._rng = _RNG
        # the payload (state input or output) last encoded into an event, and its JSON: a
        # value handed on unchanged (an identity Pass, a state's input that is the previous
        # one's output) is embedded as that text again, not encoded again (values are never
        # mutated in place: the interpreter copies on write)
        self._payload: Any = None
        self._payload_raw: msgspec.Raw | None = None

    # -- lanes ----------------------------------------------------------------------------------
    def lane(self, name: str) -> JournalLane:
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = JournalLane(name)
        return lane

    def clocked_lane(self, name: str) -> JournalLane:
        """The lane of a Distributed Map child execution: its events are its own, not
        journaled, so the times it reads are (see :meth:`now`)."""
        lane = self.lane(name)
        lane.clocked = True
        return lane

    def reads_clock(self, lane: JournalLane) -> None:
        """``lane`` has nothing left to replay: from now on it reads the clock, not the time of
        its last recorded event (a lane at its end otherwise reads that until it records)."""
        if not lane.pending:
            lane.live = True

    def enter(self, lane: JournalLane) -> None:
        self.current = lane

    def child_lanes(self, parent: JournalLane, count: int) -> list[JournalLane]:
        parent.forks += 1
        lanes = [self.lane(f"{parent.name}/{parent.forks}.{i}") for i in range(count)]
        if parent.clocked:
            for lane in lanes:
                lane.clocked = True
        return lanes

    def drop(self, lane: JournalLane) -> None:
        """Forget ``lane`` and the lanes nested in it, and delete their entries with the next
        commit: a streamed Map child that ended (its row holds what it did; nothing replays it)."""
        name = lane.name
        self.lanes.pop(name, None)
        if lane.forks:
            prefix = name + "/"
            for key in [k for k in self.lanes if k.startswith(prefix)]:
                del self.lanes[key]
        self.batch.dropped_lanes.append((self.execution_arn, name))

    # -- entries ----------------------------------------------------------------------------------
    def _next(self, lane: JournalLane, kinds: tuple[str, ...]) -> JournalRecord | None:
        if not lane.pending:
            return None
        entry = lane.pending[0]
        if entry.kind not in kinds:
            raise ReplayDivergence(
                f"lane {lane.name!r} entry {entry.seq}: recorded {entry.kind!r}, program asked for {kinds}"
            )
        lane.pending.popleft()
        lane.replayed = True
        lane.stamp = True
        return entry

    def record(self, lane: JournalLane, kind: str, payload: Any) -> int:
        return self.record_text(
            lane, kind, _encode(payload).decode()
        )  # encoded first: on failure nothing changes

    def record_text(self, lane: JournalLane, kind: str, text: str) -> int:
        """:meth:`record` with the payload's JSON text already made."""
        lane.seq += 1
        lane.live = True
        lane.stamp = kind != "time"
        self.batch.journal.append(
            JournalRecord(
                execution_arn=self.execution_arn, lane=lane.name, seq=lane.seq, kind=kind, payload=text
            )
        )
        return lane.seq

    def take(self, lane: JournalLane, kind: str) -> JournalRecord | None:
        """Consume the lane's next recorded entry, which must be of ``kind`` (None when live)."""
        return self._next(lane, (kind,))

    def next_kind(self, lane: JournalLane) -> str | None:
        return lane.pending[0].kind if lane.pending else None

    def replay_outcome(self, lane: JournalLane) -> tuple[bool, Any] | None:
        """A recorded command outcome for the lane: ``(ok, value)``, or None when live."""
        entry = self._next(lane, ("result", "failure", "fired"))
        if entry is None:
            return None
        value = _decode(entry.payload)
        return entry.kind != "failure", value

    # -- history events ---------------------------------------------------------------------------
    def remember_payload(self, value: Any, text: str | bytes) -> None:
        """``text`` is ``value``'s JSON: embed it when ``value`` is a payload of the next events."""
        self._payload, self._payload_raw = value, msgspec.Raw(text)

    def payload_text(self, value: Any) -> bytes:
        """:func:`json_text` of ``value`` (checked), or the text of the payload last encoded
        when ``value`` is that payload."""
        raw = self._payload_raw
        if value is self._payload and raw is not None:
            return bytes(raw)
        text = json_text(value)
        if type(value) is dict or type(value) is list:
            self._payload, self._payload_raw = value, msgspec.Raw(text)
        return text

    def encoded(self, value: Any) -> msgspec.Raw:
        """``value``'s JSON (unchecked), made once for a payload handed on unchanged."""
        raw = self._payload_raw
        if value is not self._payload or raw is None:
            raw = msgspec.Raw(_encode(value))
            if type(value) is dict or type(value) is list:
                self._payload, self._payload_raw = value, raw
        return raw

    def _details_text(self, details: Any) -> str:
        if type(details) is dict:
            for key in _PAYLOAD_KEYS:
                value = details.get(key)
                if type(value) is dict or type(value) is list:
                    details = {**details, key: self.encoded(value)}
        return _encode(details).decode()

    def emit(self, type_: str, previous: int, details: Any) -> int:
        lane = self.current
        entry = self._next(lane, ("event",)) if lane.pending else None
        if entry is not None:
            event_id, when = _decode(entry.payload)
            lane.time = when
            lane.last_event = int(event_id)
            return lane.last_event
        self.last_event_id += 1
        now = self.clock.now()
        lane.time = now
        lane.last_event = self.last_event_id
        # the event is also the lane's journal entry (lane, seq): stored once, in the history
        lane.seq += 1
        lane.live = True
        self.batch.events.append(
            EventRecord(
                execution_arn=self.execution_arn,
                id=self.last_event_id,
                type=type_,
                previous_event_id=previous,
                timestamp=now,
                details=None if details is None else self._details_text(details),
                lane=lane.name,
                seq=lane.seq,
            )
        )
        return self.last_event_id

    # -- interpreter services (deterministic under replay) ---------------------------------------
    def now(self) -> float:
        """Replaying: the time of the lane's last recorded event (so a Wait's due time and
        ``$$.State.EnteredTime`` come out as they did originally); live: the clock."""
        lane = self.current
        if lane.clocked:
            return self._clocked_now(lane)
        return lane.time if lane.replayed and not lane.live else self.clock.now()

    def _clocked_now(self, lane: JournalLane) -> float:
        """The time in a lane whose events are not journaled: the first time read after each
        of its entries is recorded (a ``time`` entry) and replayed; the others in between read
        the same (they are microseconds apart). A Wait's due time in a Distributed Map child
        replays as it was, not from the time of the restart."""
        if lane.pending:
            if lane.pending[0].kind == "time":
                lane.time = float(_decode(lane.pending.popleft().payload))
                lane.replayed = True
                lane.stamp = False
            return lane.time
        if lane.stamp:
            lane.time = self.clock.now()
            self.record(lane, "time", lane.time)
            return lane.time
        return lane.time if not lane.live else self.clock.now()

    def skip_replay(self) -> None:
        """Treat every recorded entry as consumed (to append after them without replaying)."""
        for lane in self.lanes.values():
            lane.pending.clear()

    def _value(self, make: Any) -> Any:
        lane = self.current
        entry = self._next(lane, ("value",))
        if entry is not None:
            return _decode(entry.payload)
        value = make()
        self.record(lane, "value", value)
        return value

    def uuid4(self) -> str:
        def make() -> str:
            h = f"{self._rng.getrandbits(128):032x}"
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

        return str(self._value(make))

    def random(self) -> float:
        return float(self._value(self._rng.random))

    def random_int(self, start: int, end: int) -> int:
        return int(self._value(lambda: self._rng.randint(min(start, end), max(start, end))))

    def task_token(self) -> str:
        return str(self._value(new_task_token))

    @property
    def batch(self) -> WriteBatch:
        """What is buffered for the next commit."""
        batch = self._batch
        if batch is None:
            batch = self._batch = WriteBatch()
        return batch

    def has_buffered(self) -> bool:
        """Whether the next commit would write something."""
        return self._batch is not None and not self._batch.is_empty()

    def take_batch(self) -> WriteBatch:
        batch = self._batch
        self._batch = None
        return batch if batch is not None else WriteBatch()


class HistoryLimitReached(Exception):
    """The next event would be the last the history may hold: the execution fails (AWS: event
    25,000 is ``ExecutionFailed``, ``States.Runtime``, unless it is ``ExecutionSucceeded``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The execution reached the maximum number of history events ({limit}).")
        self.limit = limit


class JournalContext(ExecutionContext):
    """An execution context whose events go through the journal (recorded or replayed)."""

    __slots__ = ("journal", "max_events")

    def __init__(self, journal: Journal, max_events: int | None = None, **kwargs: Any) -> None:
        super().__init__(services=journal, history=[], **kwargs)
        self.journal = journal
        self.max_events = max_events

    def payload_text(self, value: Any) -> bytes:
        return self.journal.payload_text(value)

    def emit(self, type_: str, previous: int, details_key: str | None = None, details: Any = None) -> int:
        journal = self.journal
        limit = self.max_events
        # the last event id a history may hold is the execution's own end (see _finish)
        if limit is not None and journal.last_event_id >= limit - 1 and not journal.current.pending:
            raise HistoryLimitReached(limit)
        self.events = journal.emit(type_, previous, details)
        return self.events
