"""How ``durable`` commands use a database: as its executing engine, or as a client.

Exactly one process at a time executes a database's Standard executions — normally ``durable
run-engine``; the runtime enforces it (:class:`~durable.EngineAlreadyRunning`). Every other
command is a :class:`~durable.Client`: it records what it is asked (a start, a task token's
answer, a stop, a redrive) in the database, and the executing engine picks it up within about
a tenth of a second.

A command given ``--wait SECONDS`` when no engine is running executes the database itself
(everything in it, like ``run-engine``) for up to that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..runtime.client import Client
from ..runtime.engine import Engine
from ..runtime.models import Execution, ExecutionStatus
from ..runtime.ownership import EngineAlreadyRunning
from ..runtime.session import Session
from ..runtime.timers import TimerKey, TimerKind
from .cli_common import CliError, FunctionSpec, dump_line, engine_clock, iso
from .cli_db import Database, db_url

__all__ = ["ClientEngine", "describe_json", "engine_session", "on_signals", "report_line", "settle"]

ClientEngine = Client  # the name scripts written against earlier versions import from here


@contextlib.asynccontextmanager
async def engine_session(
    db: Database | Path,
    functions: Sequence[tuple[FunctionSpec, Callable[..., Any]]] = (),
    *,
    execute: bool = False,
    command: str = "durable",
) -> AsyncIterator[Session]:
    """An open :class:`Client` of ``db`` (a :class:`Database`, or an SQLite file); with
    ``execute``, the executing :class:`Engine` instead when no engine runs on it (``functions``
    registered before it resumes anything)."""
    if execute:
        engine = Engine(_url(db), role=command, standby=False, clock=engine_clock())
        for spec, fn in functions:
            try:
                engine.register_function(spec.name, fn)
            except ValueError as exc:
                raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
        try:
            await engine.open()
        except EngineAlreadyRunning:
            pass
        else:
            try:
                yield engine
            finally:
                await engine.close()
            return
    async with Client(_url(db)) as client:
        yield client


def _url(db: Database | Path) -> str:
    return db.url if isinstance(db, Database) else db_url(db)


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
    if execution.map_run_arn is not None:  # a Map Run's child execution
        out["mapRunArn"] = execution.map_run_arn
        out["itemCount"] = execution.item_count
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


async def _is_parked(session: Session, arn: str) -> bool:
    """Parked on a Wait, or on a task token nobody answered yet (an answered one moves on)."""
    if isinstance(session, Engine) and arn in session.standard.running:
        return False
    for timer in await session.store.execution_timers(arn):
        key = TimerKey.parse(timer.key)
        if key is None or not key.parks:
            continue
        if key.kind is TimerKind.TOKEN_PARK:
            token = await session.store.get_token(key.ref)
            if token is None or token.closed:
                continue
        return True
    return False


async def settle(session: Session, arn: str, seconds: float) -> Execution:
    """Wait up to ``seconds`` until the execution stops or parks (a long Wait, a task token)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(seconds, 0.0)
    while True:
        execution = await session.describe_execution(arn)
        now = loop.time()
        if (
            execution.status is not ExecutionStatus.RUNNING
            or now >= deadline
            or await _is_parked(session, arn)
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


def report_line(stream: TextIO, *, data: bool = False) -> Callable[[Execution], None]:
    """An execution-finished listener writing one JSON line per execution to ``stream`` (with its
    input and output only when ``data``: they may hold secrets)."""

    def report(execution: Execution) -> None:
        dump_line(describe_json(execution, data=data), stream)

    return report
