"""The long-running ``durable`` commands: ``run-engine`` and ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from ..runtime.engine import Engine
from ..runtime.host import POLL_SECONDS
from ..runtime.ownership import EngineAlreadyRunning
from ..runtime.worker import run_activity_worker
from .cli_common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    CliError,
    add_function_argument,
    dump,
    function_refs,
    load_function,
    load_functions,
    local_imports,
    parse_function_spec,
    run_async,
)
from .cli_db import Database, add_db_argument, database
from .cli_engine import engine_session, on_signals, report_line
from .cli_executions import activity_arn, existing_db

__all__ = ["IDLE_NOTICE_MINUTES", "add_commands"]

IDLE_NOTICE_MINUTES = 10.0

_RUN_ENGINE_DESCRIPTION = """\
Run the engine of a database: resume every RUNNING Standard execution, fire their timers, and
run what other `durable` commands start, answer, stop or redrive, until SIGINT or SIGTERM
(exit 0). Prints one JSON line per execution that finishes (its status, error and cause; its
input and output only with --log-data).

One engine runs per database (an advisory lock, DB.engine.lock, is held meanwhile; the kernel
releases it even on kill -9). Every other command only records its request in the database,
and this process picks it up within about a tenth of a second.

Register every function the state machines call with --function, as for `durable run`.
"""

_RUN_ENGINE_EPILOG = """\
--until-idle stops once no execution is left to run: every RUNNING execution (if any) waits
for a task token or an activity worker. Executions waiting on a Wait state keep it running.

examples:
  durable run-engine --function CheckApplication=functions:CheckApplication
  durable run-engine --db approvals.db --until-idle -f tasks:greet
"""

_WORKER_DESCRIPTION = """\
Run a Python function as the worker of an activity: take each task (GetActivityTask), call
fn(input) and answer the task with its return value (SendTaskSuccess), or fail it with the
exception's class name and message (raise durable.TaskFailed(error, cause) to choose them).
Runs until SIGINT/SIGTERM or --max-tasks; prints {"activityArn": ..., "tasksHandled": N}.

On standard error it says once which activity and database it waits on, then again only after
--idle-notice minutes without a task (and at most every --idle-notice minutes after that).
"""


def add_shared_arguments(p: argparse.ArgumentParser) -> None:
    """``--shared`` and ``--lease-seconds``: execute a PostgreSQL database with other engines."""
    p.add_argument(
        "--shared",
        action="store_true",
        help="execute a PostgreSQL database together with other engines started with --shared "
        "(each runs what it starts or claims; see docs/scale-out.md)",
    )
    p.add_argument(
        "--lease-seconds",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --shared: how long this engine's lease lasts without renewal (default 15); the "
        "others take its executions over that long after it dies",
    )


def _cmd_run_engine(args: argparse.Namespace) -> int:
    db = database(args.db)
    refs = function_refs(args)
    out = sys.stdout

    if not args.scan_interval > 0:
        raise CliError("--scan-interval must be a positive number of seconds")

    async def go() -> None:
        stop = asyncio.Event()
        undo = on_signals(stop, _exit_now)
        engine = Engine(
            db.url,
            poll_interval=args.scan_interval,
            role=f"{PROG} run-engine",
            standby=False,
            shared=args.shared,
            lease_seconds=args.lease_seconds,
        )
        for spec, fn in functions:
            try:
                engine.register_function(spec.name, fn)
            except ValueError as exc:
                raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
        try:
            if not await _open(engine, db, stop):
                return
            engine.on_execution_finished(report_line(out, data=args.log_data))
            resident = len(engine.standard.running)
            print(
                f"{PROG}: engine running on {db} (pid {os.getpid()}), {resident} execution"
                f"{'' if resident == 1 else 's'} resumed; stop with Ctrl-C",
                file=sys.stderr,
            )
            while not stop.is_set():
                if engine.host.failure is not None:
                    raise CliError(str(engine.host.failure))
                if args.until_idle and await engine.host.idle():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), args.scan_interval)
        finally:
            undo()
            await engine.close()

    with local_imports(), contextlib.redirect_stdout(sys.stderr):
        functions = load_functions(refs)
        run_async(go())
    return EXIT_OK


async def _open(engine: Engine, db: Database, stop: asyncio.Event) -> bool:
    """Open the engine; wait while a short-lived command executes the database (False: stopped)."""
    said = False
    while True:
        try:
            await engine.open()
            return True
        except EngineAlreadyRunning:
            holder = engine.host.ownership.holder()
            if holder.startswith(f"{PROG} run-engine"):
                raise CliError(f"{holder} is already running on {db}") from None
            if not said:
                print(
                    f"{PROG}: waiting for {holder or 'another engine'} to finish with {db}", file=sys.stderr
                )
                said = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
        if stop.is_set():
            return False


def _exit_now() -> None:
    """A second Ctrl-C: leave at once (executions are durable: the next engine resumes them)."""
    print(f"{PROG}: interrupted again: exiting without closing the engine", file=sys.stderr)
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


class _Activity:
    """What the worker is doing: the tasks it took, whether one runs, since when it is idle."""

    def __init__(self) -> None:
        self.tasks = 0
        self.busy = False
        self.idle_since = time.monotonic()

    def begin(self) -> int:
        self.tasks += 1
        self.busy = True
        return self.tasks

    def end(self) -> None:
        self.busy = False
        self.idle_since = time.monotonic()


def _counting(fn: Callable[..., Any], activity: _Activity) -> Callable[..., Any]:
    """``fn`` (sync or async, as it was) that also logs each task on stderr."""
    if inspect.iscoroutinefunction(fn):

        async def call_async(value: Any) -> Any:
            print(f"{PROG}: worker: task {activity.begin()}", file=sys.stderr)
            try:
                return await fn(value)
            finally:
                activity.end()

        return call_async

    def call(value: Any) -> Any:
        print(f"{PROG}: worker: task {activity.begin()}", file=sys.stderr)
        try:
            return fn(value)
        finally:
            activity.end()

    return call


async def _idle_notices(activity: _Activity, every: float, what: str) -> None:
    """Say on stderr that the worker still waits, after ``every`` seconds without a task (and
    then at most once per ``every`` seconds while it stays idle)."""
    said = time.monotonic()
    while True:
        due = max(activity.idle_since, said) + every
        now = time.monotonic()
        if now < due:
            await asyncio.sleep(due - now)
            continue
        if activity.busy:
            said = now
            continue
        idle = _duration(now - activity.idle_since)
        print(f"{PROG}: worker still waiting for tasks of {what} (idle for {idle})", file=sys.stderr)
        said = now


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 120:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min" if minutes else f"{seconds:.0f} s"


def _cmd_worker(args: argparse.Namespace) -> int:
    db = existing_db(args)
    spec = parse_function_spec(args.function)
    if args.max_tasks is not None and args.max_tasks < 1:
        raise CliError("--max-tasks must be at least 1")
    if not args.poll > 0:
        raise CliError("--poll must be a positive number of seconds")
    if not args.idle_notice >= 0:
        raise CliError("--idle-notice must be a number of minutes >= 0")
    out = sys.stdout
    activity = _Activity()

    async def go() -> dict[str, Any]:
        stop = asyncio.Event()
        async with engine_session(db) as engine:
            arn = activity_arn(engine, args.activity)
            await engine.describe_activity(arn)
            worker = asyncio.ensure_future(
                run_activity_worker(
                    engine,
                    arn,
                    _counting(fn, activity),
                    worker_name=args.worker_name,
                    stop=stop,
                    poll_seconds=args.poll,
                    max_tasks=args.max_tasks,
                )
            )

            def abort() -> None:  # a second Ctrl-C: do not wait for the task in progress
                worker.cancel()

            undo = on_signals(stop, abort)
            what = f"{arn} in {db}"
            print(
                f"{PROG}: worker polling {what} (pid {os.getpid()}): waiting for tasks; stop with Ctrl-C",
                file=sys.stderr,
            )
            notices = None
            if args.idle_notice > 0:
                notices = asyncio.ensure_future(_idle_notices(activity, args.idle_notice * 60, what))
            try:
                handled = await worker
            except asyncio.CancelledError:
                handled = activity.tasks
            finally:
                undo()
                if notices is not None:
                    notices.cancel()
            return {"activityArn": arn, "tasksHandled": handled}

    with local_imports(), contextlib.redirect_stdout(sys.stderr):
        fn = load_function(spec)
        result = run_async(go())
    dump(result, out)
    return EXIT_OK


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``worker`` and ``run-engine`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="run a Python function as an activity worker",
        description=_WORKER_DESCRIPTION,
        formatter_class=formatter,
    )
    p.add_argument("activity", metavar="ACTIVITY_ARN_OR_NAME")
    p.add_argument(
        "--function",
        "-f",
        required=True,
        metavar="module:attr",
        help="the worker function fn(input) -> output",
    )
    p.add_argument("--worker-name", metavar="NAME", help="recorded on the ActivityStarted events")
    p.add_argument(
        "--idle-notice",
        type=float,
        default=IDLE_NOTICE_MINUTES,
        metavar="MINUTES",
        help="say on standard error that the worker still waits after MINUTES without a task, and "
        f"then at most every MINUTES (default {IDLE_NOTICE_MINUTES:g}; 0: never)",
    )
    p.add_argument("--max-tasks", type=int, metavar="N", help="stop after N tasks")
    p.add_argument(
        "--poll",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="long-poll for up to SECONDS at a time (default 1)",
    )
    add_db_argument(p)
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser(
        "run-engine",
        help="run the database's executions until interrupted",
        description=_RUN_ENGINE_DESCRIPTION,
        epilog=_RUN_ENGINE_EPILOG,
        formatter_class=formatter,
    )
    add_function_argument(p)
    p.add_argument(
        "--until-idle", action="store_true", help="exit once every running execution waits for a token"
    )
    p.add_argument(
        "--log-data",
        action="store_true",
        help="print each finished execution's input and output too (they may hold secrets)",
    )
    p.add_argument("--scan-interval", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    add_shared_arguments(p)
    add_db_argument(p)
    p.set_defaults(handler=_cmd_run_engine)
