"""What the pure interpreter asks its driver to do.

A running scope is a generator: it yields one of these commands and is resumed with the
command's result (``send``) or its failure (``throw`` of a ``StatesFailure``). The driver
(runtime) owns clocks, I/O and concurrency; the interpreter owns every ASL rule.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InvokeTask:
    """Run the task ``resource`` with ``payload``; resume with its result."""

    resource: str
    payload: Any
    state_name: str
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    task_token: str | None = None
    credentials: Any = None
    result_owner: str = ""  # how a failure of the result names the task (the service, or the resource)
    scheduled_event: int = 0  # the id of its ``<Family>Scheduled`` history event (names its trace span)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """No effect, nothing to record: the driver may run other work before resuming.

    The interpreter yields one every :data:`CHECKPOINT_EVERY` state transitions (and Map items),
    or sooner once :data:`CHECKPOINT_SECONDS` passed on the execution's clock since the last one
    (expressions that take long), so that a loop of pure states (Pass/Choice, ``Wait`` 0 s) or a
    run of heavy expressions never holds the event loop: timeouts, stops and other executions get
    their turn. Checkpoints are not recorded: when they happen changes nothing in a replay."""


CHECKPOINT = Checkpoint()
CHECKPOINT_EVERY = 128
CHECKPOINT_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Sleep:
    """Resume at epoch second ``until`` (a Wait state or a retry back-off)."""

    until: float


@dataclass(frozen=True, slots=True)
class Child:
    """One Parallel branch or Map iteration; ``start()`` makes its scope generator. A Distributed
    Map's child execution also gives its ``input`` and the list its own history events go to
    (``history``: None when they are not recorded, an EXPRESS child)."""

    start: Callable[[], Generator[Any, Any, Any]]
    input: Any = None
    history: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class ChildProcessor:
    """What a Distributed Map's children run: the ``ItemProcessor`` as a state machine definition
    (JSON text), their ``ExecutionType`` and the Map Run's label."""

    definition: str
    execution_type: str
    label: str


@dataclass(frozen=True, slots=True)
class Fork:
    """Run ``children`` (at most ``max_concurrency`` at once, 0 = unlimited); resume with the
    list of their outputs in order, or with the first failure. ``tolerated`` > 0 lets that many
    children fail (their slot then holds the failure object, see :class:`ChildFailure`).
    A Map Run's limits may change while it runs (UpdateMapRun): the runtime reads them there."""

    children: tuple[Child, ...]
    max_concurrency: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    map_run: str = ""  # a Distributed Map's Map Run ARN: the runtime keeps its counts and limits
    weights: tuple[int, ...] = ()  # items per child when an ItemBatcher groups them (else 1 each)
    processor: ChildProcessor | None = None  # a Map Run's: what its child executions run


@dataclass(frozen=True, slots=True)
class StreamedFork:
    """A Distributed Map's child executions (Task states, or tolerated failures), streamed:
    the runtime pulls them from ``source(position)`` as slots free up, at most
    ``max_concurrency`` at once, and stores each as it ends. ``source`` yields
    :class:`ReadItems` (send the page back) or the children's inputs, each with where the next
    one's first item is (``value``, ``weight``, ``cursor``, ``skip``, ``index``: see
    :mod:`durable.interpreter.map_inplace`); ``position`` is ``{}`` from the start, or one the
    runtime committed (``Cursor``, ``Skip``, ``Items``, or ``Done``). ``child(index, value)``
    makes child ``index``. The runtime answers with a
    :class:`~durable.interpreter.map_inplace.InPlace`: the outputs when it kept them, else None
    (read back with :class:`MapResults`, or written by :class:`WriteResults` with ``spill``)."""

    source: Callable[[dict[str, Any]], Generator[Any, Any, None]]
    child: Callable[[int, Any], Child]
    map_run: str
    processor: ChildProcessor
    max_concurrency: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    known: int | None = None  # children known from the start (items of the state's input)
    known_items: int | None = None  # ... and the items they hold (batched: more than children)
    limit_bytes: int | None = None  # the outputs are the state's result: at most so many bytes
    state_name: str = ""


@dataclass(frozen=True, slots=True)
class MapRunProgress:
    """How far a Distributed Map whose children run in place (pure states, no Fork) has gone: the
    runtime keeps its Map Run's counts and its child executions from it. Also a
    :class:`Checkpoint`. ``ended`` is ``SUCCEEDED`` or ``FAILED`` once the children are over.

    The first one (``total`` 0) opens the Map Run; the runtime answers it with None (the
    interpreter keeps the children's outputs) or ``{"Spill": True, "Resume": position}``: the
    runtime stores the outputs (read back with :class:`MapResults`, or written by
    :class:`WriteResults` with ``spill``), and ``position`` (None: from the start) is the last
    ``position`` it committed: where a run resumed after a restart goes on from."""

    map_run: str
    total: int  # children made so far (the items still being read are not counted yet)
    succeeded: int
    failed: int = 0
    max_concurrency: int = 0
    ended: str = ""
    processor: ChildProcessor | None = None
    # the children ``first`` .. ``first + len(inputs) - 1`` (ended since the last progress): their
    # inputs and the outputs of those that succeeded; with ``failed``, the last one failed
    inputs: Sequence[Any] = ()
    outputs: Sequence[Any] = ()
    failure: tuple[str | None, str | None] = (None, None)  # the failed child's error and cause
    first: int = 0
    weights: Sequence[int] = ()  # items of each of those children when batched (else 1 each)
    items: tuple[int, int, int] = (0, 0, 0)  # items read, items of succeeded and failed children
    position: Any = None  # where to go on from (reader cursor, items to skip, counts), JSON
    limit_bytes: int | None = None  # the outputs are the state's result: at most so many bytes
    state_name: str = ""
    since: float | None = None  # when the children reported started (their start date)


@dataclass(frozen=True, slots=True)
class MapResults:
    """The outputs of a Map Run's children run in place whose outputs the runtime stored
    (:class:`MapRunProgress`), in order; with ``inputs``, ``[inputs, outputs]``."""

    map_run: str
    count: int
    inputs: bool = False


@dataclass(frozen=True, slots=True)
class ChildFailure:
    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class Stall:
    """Never resume: the execution stays RUNNING with nothing more in its history, until its
    timeout or a stop ends it. AWS does this in a few recorded cases (a Map state whose
    ``MaxConcurrencyPath`` selects a negative number); the driver logs ``reason`` once."""

    reason: str


@dataclass(frozen=True, slots=True)
class ActivityExists:
    """Resume with whether the activity exists. Asked before an activity task is scheduled: AWS
    fails the state with ``States.Runtime`` and records no ``ActivityScheduled`` when it does not.
    On replay the answer is the recorded history's (the task was scheduled, so it existed)."""

    activity_arn: str


@dataclass(frozen=True, slots=True)
class AwaitToken:
    """Wait until the task token is answered (SendTaskSuccess / SendTaskFailure), expires
    (``timeout_seconds`` from now, or ``heartbeat_seconds`` without a heartbeat), or — for an
    activity (``activity_arn`` set) — until a worker takes ``input`` and answers."""

    token: str
    state_name: str
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    activity_arn: str | None = None
    input: Any = None


@dataclass(frozen=True, slots=True)
class AwaitJob:
    """Wait until the job a ``.sync`` / ``.sync:2`` task started ends; resume with its result.

    ``submitted`` is what starting it returned (the TaskSubmitted output, the job's handle). The
    driver asks the resource's integration about the job until it ends, and — for a task with a
    ``token`` — also accepts the token's answer (SendTaskSuccess / SendTaskFailure), heartbeats,
    and its expiry (``timeout_seconds`` from the task's start, ``heartbeat_seconds`` without a
    heartbeat), stopping the job when the task times out or is cancelled."""

    resource: str
    payload: Any
    submitted: Any
    state_name: str
    token: str | None = None
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    credentials: Any = None


@dataclass(frozen=True, slots=True)
class ReadItems:
    """Read one page of a Distributed Map's items (its ``ItemReader``); resume with
    ``{"Items": [...], "Cursor": next}`` (``Cursor`` None: the source is exhausted).

    ``resource`` is the reader's ``Resource`` (``arn:aws:states:::s3:getObject``,
    ``...:s3:listObjectsV2``), ``arguments`` its evaluated ``Parameters``/``Arguments``
    (``Bucket``, ``Key``, ``Prefix``), ``config`` its ``ReaderConfig`` with the fields the
    reader needs (``InputType``, ``CSVHeaderLocation``, ``CSVHeaders``, ``CSVDelimiter``,
    ``ItemsPointer``). ``cursor`` is what the previous page returned (None: the first page);
    the page holds at most ``limit`` items. The driver records each page, so a replay never
    reads the source again."""

    resource: str
    arguments: Any
    config: Any
    cursor: Any
    limit: int
    state_name: str
    record: bool = True  # journaled (False: the Map's own position is committed instead)


@dataclass(frozen=True, slots=True)
class WriteResults:
    """Write a Distributed Map's result files (its ``ResultWriter``): ``files`` are
    ``(key, text)`` pairs put in ``bucket`` (through ``resource``); resume with None."""

    resource: str
    bucket: str
    files: tuple[tuple[str, str], ...]
    state_name: str
    map_run: str = ""  # the Map Run whose results these are (its resultsWritten counts)
    executions: int = 0  # child executions whose results are written
    items: int = 0  # items those children processed
    spill: ResultSpill | None = None  # the results are the stored outputs of a Map Run's children


@dataclass(frozen=True, slots=True)
class ResultSpill:
    """Result files made from the stored outputs of a Map Run's children (run in place): the
    runtime streams them into ``base``/``SUCCEEDED_<n>.json`` and writes the manifest.
    ``encode(indexes, inputs, outputs)`` gives each child's transformed values as JSON (a
    FLATTEN may give several per child)."""

    base: str
    output_type: str
    encode: Callable[[Sequence[int], Sequence[bytes], Sequence[bytes]], list[bytes]]
    inputs: bool = True  # ``encode`` reads the inputs (else it is given none)
    #: a failed child's record as JSON (index, input, error, cause): ``FAILED_<n>.json``
    failed: Callable[[int, str, str | None, str | None], bytes] | None = None
