"""How ``durable`` commands share one SQLite database between processes.

Exactly one process at a time *executes* Standard executions of a database: the holder of
the engine lock (an advisory ``flock`` on ``<db>.engine.lock``), normally ``durable
run-engine``. Every other command is a *client*: it opens the engine without resuming
anything and only writes what the command asks for (the start of an execution, a task
token's answer, a stop, a redrive) to the database. The executing process notices those
writes by polling the store (:class:`Host`): it adopts executions nobody runs, arms timers
written by others, and drops the resident copy of an execution another process stopped or
answered.

A command given ``--wait SECONDS`` when no engine is running takes the lock itself and
executes (everything in the database, like ``run-engine``) for up to that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..runtime.engine import Engine
from ..runtime.execution_driver import PARK_PREFIX, TIMEOUT_KEY
from ..runtime.models import Execution, ExecutionStatus
from ..runtime.standard import StandardExecutions
from ..store.base import ExecutionRecord, TimerRecord
from .cli_common import CliError, FunctionSpec, db_url, dump_line, iso

__all__ = [
    "ClientEngine",
    "EngineLock",
    "Host",
    "describe_json",
    "engine_session",
    "on_signals",
    "report_line",
    "settle",
]

SCAN_SECONDS = 0.5
_FAR_FUTURE = 1e17  # the due time of a timer that never fires (a parked token wait)
_REPORTED_MAX = 10_000


# -- the engine lock -----------------------------------------------------------------------------

if sys.platform == "win32":  # pragma: no cover - no flock: every process may execute

    def _try_lock(fd: int) -> bool:
        return True

    def _unlock(fd: int) -> None:
        return None

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class EngineLock:
    """The advisory lock that makes one process at a time execute a database's executions.

    The kernel releases it when the holder dies, even by ``kill -9``.
    """

    def __init__(self, db: Path) -> None:
        self.path = Path(f"{db}.engine.lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, command: str) -> bool:
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CliError(f"cannot create the engine lock file {self.path}: {exc.strerror or exc}") from None
        if not _try_lock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command}).encode())
        self._fd = fd
        return True

    def holder(self) -> dict[str, Any]:
        """``{"pid": ..., "command": ...}`` of the current holder (``{}`` when unknown)."""
        try:
            value = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def describe_holder(self) -> str:
        holder = self.holder()
        command = holder.get("command", "engine")
        pid = holder.get("pid")
        return f"durable {command}" + (f" (pid {pid})" if pid is not None else "")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                _unlock(fd)
            os.close(fd)


# -- client engines ------------------------------------------------------------------------------


class _ClientExecutions(StandardExecutions):
    """Standard executions that are written to the store but never run in this process.

    Starting one commits its start (and the pure states up to its first task, wait or token,
    which the engine runs inline); answering a token or redriving commits the journal entry.
    Whatever the engine would then run in the background is dropped before it begins.
    """

    async def start(self) -> None:  # no recovery, no timer loop
        return None

    async def resume(self, record: ExecutionRecord) -> None:
        return None

    async def start_execution(self, record: ExecutionRecord, machine_name: str, role_arn: str) -> None:
        await super().start_execution(record, machine_name, role_arn)
        self._drop()

    def _drop(self) -> None:
        """Cancel every execution task before its first step (so it has no effect at all)."""
        for run in self.running.values():
            if run.task is not None and not run.task.done():
                run.task.cancel()
        self.running.clear()


class ClientEngine(Engine):
    """An engine that reads and writes the database but runs nothing.

    ``start_execution`` commits the start, ``send_task_success`` commits the answer,
    ``redrive_execution`` commits the redrive; the process holding the engine lock runs them.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        base = self.standard
        self.standard = _ClientExecutions(
            base.store, base.driver, base.clock, base.program_for, park_after=base.park_after
        )


@contextlib.asynccontextmanager
async def engine_session(
    db: Path,
    functions: Sequence[tuple[FunctionSpec, Callable[..., Any]]] = (),
    *,
    lock: EngineLock | None = None,
) -> AsyncIterator[Engine]:
    """An open engine on ``db``: executing (resumes every running execution) when ``lock`` is
    held, a :class:`ClientEngine` otherwise. ``functions`` are registered before it opens."""
    executing = lock is not None and lock.held
    engine: Engine = Engine(db_url(db)) if executing else ClientEngine(db_url(db))
    for spec, fn in functions:
        try:
            engine.register_function(spec.name, fn)
        except ValueError as exc:
            raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
    try:
        async with engine:
            yield engine
    finally:
        if lock is not None:
            lock.release()


# -- output --------------------------------------------------------------------------------------


def describe_json(execution: Execution, *, data: bool = True) -> dict[str, Any]:
    """An execution as the CLI prints it (``DescribeExecution``-like, JSON values, ISO dates)."""
    out: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": str(execution.status),
        "startDate": iso(execution.start_date),
    }
    if execution.stop_date is not None:
        out["stopDate"] = iso(execution.stop_date)
    if data:
        out["input"] = execution.input
    if execution.status is ExecutionStatus.SUCCEEDED:
        if data:
            out["output"] = execution.output
    elif execution.status is not ExecutionStatus.RUNNING:
        if execution.error is not None:
            out["error"] = execution.error
        if execution.cause is not None:
            out["cause"] = execution.cause
    return out


# -- hosting: what the executing process does besides running executions ------------------------


class Host:
    """Keeps an executing engine in step with what other processes wrote to the database.

    Each :meth:`scan`: arms timers it does not know (a heartbeat from a client moved a
    deadline); adopts executions RUNNING in the store that nobody runs (started, answered
    or redriven by a client; left by a process that died) once two scans in a row saw them
    so; drops (and, when still RUNNING, replays) a resident execution the store says was
    stopped, or whose awaited task token was answered, by another process; reports
    executions that finished.
    """

    def __init__(self, engine: Engine, report: Callable[[Execution], None] | None = None) -> None:
        self.engine = engine
        self.report = report
        self.idle = False
        self._armed: set[tuple[str, str, float]] = set()
        self._orphans: set[str] = set()
        self._stale: set[str] = set()
        self._seen: set[str] = set()
        self._reported: dict[tuple[str, float | None], None] = {}  # insertion-ordered set

    async def scan(self) -> None:
        standard = self.engine.standard
        store = self.engine.store
        before = set(standard.running)
        running = {r.arn: r for r in await store.running_executions()}
        timers = await store.timers()
        resident = before | set(standard.running)
        self._arm(standard, timers)
        parked = {t.execution_arn for t in timers if t.key.startswith(PARK_PREFIX)}
        on_token = {t.execution_arn for t in timers if t.key.startswith(PARK_PREFIX + "token:")}

        orphans = set(running) - resident - parked
        for arn in sorted(orphans & self._orphans):
            if arn not in standard.running:
                await standard.resume(running[arn])
        self._orphans = orphans - set(standard.running)

        stale = set()
        for arn in sorted(before & set(standard.running)):
            if arn not in running or await self._answered_elsewhere(arn):
                stale.add(arn)
        replayed = stale & self._stale
        for arn in sorted(replayed):
            await self._replay(arn)
        self._stale = stale - replayed

        await self._report(set(running) | resident)
        self.idle = not orphans and all(arn in on_token or self._waits_on_token(arn) for arn in running)

    def _arm(self, standard: StandardExecutions, timers: list[TimerRecord]) -> None:
        armed = set()
        for t in timers:
            if t.due < _FAR_FUTURE and (
                t.key.startswith(PARK_PREFIX) or t.key == TIMEOUT_KEY or t.key.startswith("token:")
            ):
                key = (t.execution_arn, t.key, t.due)
                armed.add(key)
                if key not in self._armed:
                    standard.schedule(t.due, t.execution_arn, t.key)
        self._armed = armed

    def _waits_on_token(self, arn: str) -> bool:
        run = self.engine.standard.running.get(arn)
        return run is not None and bool(run.waiters)

    async def _answered_elsewhere(self, arn: str) -> bool:
        """A resident branch waits for a token that another process already closed."""
        run = self.engine.standard.running.get(arn)
        for token in list(run.waiters) if run is not None else ():
            record = await self.engine.store.get_token(token)
            if record is not None and record.closed and run is not None and token in run.waiters:
                return True
        return False

    async def _replay(self, arn: str) -> None:
        standard = self.engine.standard
        run = standard.running.get(arn)
        if run is None or run.task is None or run.task.done():
            return
        run.task.cancel()  # without run.stop: the execution just leaves this process
        await asyncio.gather(run.task, return_exceptions=True)
        record = await self.engine.store.get_execution(arn)
        if record is not None and record.status == "RUNNING":
            await standard.resume(record)

    async def _report(self, running_now: set[str]) -> None:
        """Report executions that left the RUNNING set, or that this engine finished."""
        candidates = self._seen - running_now
        self._seen = running_now
        if self.report is None:
            return
        for arn, record in list(self.engine.standard.finished.items()):
            if (arn, record.stop_date) not in self._reported:
                candidates.add(arn)
        for arn in sorted(candidates):
            execution = await self.engine.describe_execution(arn)
            key = (arn, execution.stop_date)
            if execution.status is ExecutionStatus.RUNNING or key in self._reported:
                continue
            self._reported[key] = None
            if len(self._reported) > _REPORTED_MAX:
                del self._reported[next(iter(self._reported))]
            self.report(execution)

    async def run(
        self, stop: asyncio.Event, interval: float = SCAN_SECONDS, *, until_idle: bool = False
    ) -> None:
        """Scan every ``interval`` seconds until ``stop`` is set (or, ``until_idle``, idle)."""
        while not stop.is_set():
            await self.scan()
            if until_idle and self.idle:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        await self._report(self._seen)  # what finished since the last scan


async def _is_parked(engine: Engine, arn: str) -> bool:
    if arn in engine.standard.running:
        return False
    return any(t.execution_arn == arn and t.key.startswith(PARK_PREFIX) for t in await engine.store.timers())


async def settle(engine: Engine, arn: str, seconds: float) -> Execution:
    """Wait up to ``seconds`` until the execution stops or parks (a long Wait, a task token)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(seconds, 0.0)
    while True:
        execution = await engine.describe_execution(arn)
        now = loop.time()
        if (
            execution.status is not ExecutionStatus.RUNNING
            or now >= deadline
            or await _is_parked(engine, arn)
        ):
            return execution
        await asyncio.sleep(min(0.05, deadline - now))


def on_signals(stop: asyncio.Event, second: Callable[[], None] | None = None) -> Callable[[], None]:
    """Set ``stop`` on SIGINT/SIGTERM (``second()`` on the next one); returns the undo function."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def handler() -> None:
        if stop.is_set() and second is not None:
            second()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, handler)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not main thread
            continue
        installed.append(sig)

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


def report_line(stream: TextIO) -> Callable[[Execution], None]:
    """A :class:`Host` reporter writing one JSON line per finished execution to ``stream``."""

    def report(execution: Execution) -> None:
        dump_line(describe_json(execution, data=True), stream)

    return report
