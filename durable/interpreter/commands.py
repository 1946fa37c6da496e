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
class MapRunProgress:
    """How far a Distributed Map whose children run in place (pure states, no Fork) has gone: the
    runtime keeps its Map Run's counts from it. Also a :class:`Checkpoint`. ``ended`` is
    ``SUCCEEDED`` or ``FAILED`` once the children are over."""

    map_run: str
    total: int
    succeeded: int
    failed: int = 0
    max_concurrency: int = 0
    ended: str = ""
    weights: tuple[int, ...] = ()  # items per child when batched (Map Run item counts)
    processor: ChildProcessor | None = None
    # the children's inputs and outputs so far (the Map's own lists, read, never changed): the
    # children ``succeeded`` .. ``succeeded + failed`` ended since the last progress are stored
    inputs: Sequence[Any] = ()
    outputs: Sequence[Any] = ()
    failure: tuple[str | None, str | None] = (None, None)  # the failed child's error and cause


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
