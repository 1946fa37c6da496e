"""``durable`` commands on a database: state machines, executions, task tokens, activities."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StateMachineAlreadyExists, StateMachineDoesNotExist
from ..runtime.client import Client
from ..runtime.mapruns import KIND as MAP_RUN_KIND
from ..runtime.models import Activity, Execution, ExecutionStatus, StateMachine, StateMachineType
from ..runtime.session import Session
from .cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    CliError,
    FunctionSpec,
    add_function_argument,
    add_input_argument,
    add_template_arguments,
    diagnostic_errors,
    dump,
    function_refs,
    input_text,
    iso,
    load_functions,
    local_imports,
    machine_name,
    machine_type,
    read_definition,
    run_async,
)
from .cli_db import Database, add_db_argument, database
from .cli_engine import describe_json, engine_session, settle
from .cli_names import activity_arn, execution_arn, state_machine_arn
from .cli_output import add_output_argument, local_time, write_table
from .cli_progress import console_for, watching

__all__ = ["STATUSES", "activity_arn", "add_commands", "existing_db", "state_machine_arn"]

T = TypeVar("T")
Loaded = list[tuple[FunctionSpec, Callable[..., Any]]]

_DEFINITION_SUFFIXES = (".json", ".yaml", ".yml")

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")

_WAIT_HELP = (
    "wait up to SECONDS for the execution to finish or park (on a long Wait or a task token), then "
    "print its status. With no engine running on the database, this process runs it (and any "
    "other runnable execution of the database) meanwhile, so give it the --functions; "
    "default: do not wait"
)

_START_DESCRIPTION = """\
Start a durable Standard execution in the database.

DEFINITION is an ASL file (the state machine named after the file, or --machine-name, is
created or updated first), or the ARN or the name of an existing state machine. Prints
{"executionArn": ..., "startDate": ...}; with --wait also its "status" (and "output", or
"error"/"cause", when it finished).

The execution is committed before this command returns; the process running the engine
(`durable run-engine` on the same --db) executes it. Without --wait and with no engine
running, it stays RUNNING until one starts.
"""

_TOKEN_DESCRIPTION = """\
Answer a task token (of a .waitForTaskToken task or an activity). The answer is committed to
the database; the engine running on it (`durable run-engine`) resumes the execution. With
--wait and no engine running, this process resumes and runs it for up to SECONDS itself.
Prints {"executionArn": ..., "status": ...}.

The token may be given as TOKEN or as --token TOKEN, in any position, even when it begins
with "-"; after "--" it is read as TOKEN whatever it looks like.
"""


# -- helpers -------------------------------------------------------------------------------------


def existing_db(args: argparse.Namespace) -> Database:
    db = database(args.db)
    if not db.exists():
        raise CliError(f"no database at {db} (pass --db PATH; `durable start` creates one)")
    return db


def _run_with_functions(args: argparse.Namespace, make: Callable[[Loaded], Coroutine[Any, Any, T]]) -> T:
    """Import the ``--function`` callables, then run ``make(functions)`` with task prints on stderr."""
    refs = function_refs(args)
    with local_imports(), contextlib.redirect_stdout(sys.stderr):
        functions = load_functions(refs)
        return run_async(make(functions))


async def _execution(engine: Session, args: argparse.Namespace, db: Database | None = None) -> str:
    """The ARN of the execution the command names (an ARN, MACHINE:NAME or a unique NAME)."""
    return await execution_arn(engine, args.execution_arn, str(db or database(args.db)))


def _client(args: argparse.Namespace, action: Callable[[Session], Coroutine[Any, Any, T]]) -> T:
    """Run ``action`` on a client engine of the (existing) database."""
    db = existing_db(args)

    async def go() -> T:
        async with engine_session(db) as engine:
            return await action(engine)

    return run_async(go())


def _executes(wait: float | None) -> bool:
    """A command that waits executes the database itself when no engine runs on it."""
    return wait is not None and wait > 0


async def _engine_running(db: Database) -> bool:
    async with Client(db.url) as client:
        return client.engine_running()


def _outcome(execution: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {"status": str(execution.status)}
    if execution.status is ExecutionStatus.SUCCEEDED:
        out["output"] = execution.output
    elif execution.status is not ExecutionStatus.RUNNING:
        out["error"] = execution.error
        out["cause"] = execution.cause
    if execution.stop_date is not None:
        out["stopDate"] = iso(execution.stop_date)
    return out


async def _note_if_unattended(db: Database, execution: Execution) -> None:
    if execution.status is ExecutionStatus.RUNNING and not await _engine_running(db):
        print(
            f"{PROG}: note: no engine is running on {db}: the execution continues when "
            f"`{PROG} run-engine --db {db}` runs",
            file=sys.stderr,
        )


def _exit_code(execution: Execution | None) -> int:
    if execution is None or execution.status in (ExecutionStatus.RUNNING, ExecutionStatus.SUCCEEDED):
        return EXIT_OK
    return EXIT_FAILED


def _machine_json(machine: StateMachine) -> dict[str, Any]:
    return {
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "type": str(machine.type),
        "creationDate": iso(machine.creation_date),
    }


async def _put_machine(
    engine: Session, name: str, definition: str, kind: str, source: str, update: bool
) -> StateMachine:
    checked = await engine.validate_state_machine_definition(definition, type=kind)
    if checked.diagnostics:
        raise diagnostic_errors(checked.diagnostics, source)
    try:
        return await engine.create_state_machine(name, definition, type=kind)
    except StateMachineAlreadyExists:
        if not update:
            raise
    existing = await engine.describe_state_machine(state_machine_arn(engine, name))
    if str(existing.type) != kind:
        raise CliError(f"state machine {name!r} exists with type {existing.type}, not {kind}")
    return await engine.update_state_machine(existing.arn, definition=definition)


# -- state machines ------------------------------------------------------------------------------


def _cmd_create_state_machine(args: argparse.Namespace) -> int:
    definition = read_definition(
        args.definition, args.logical_id, args.substitutions, args.config_substitutions
    )
    source = "standard input" if args.definition == "-" else args.definition
    db = database(args.db)

    async def go() -> StateMachine:
        async with engine_session(db) as engine:
            return await _put_machine(engine, args.name, definition, args.type, source, args.update)

    dump(_machine_json(run_async(go())), sys.stdout)
    return EXIT_OK


def _cmd_state_machines(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> list[StateMachine]:
        return await engine.list_state_machines()

    machines = _client(args, go)
    if args.output == "table":
        rows = [(m.name, str(m.type), local_time(m.creation_date)) for m in machines]
        write_table(sys.stdout, ("NAME", "TYPE", "CREATED"), rows)
    else:
        dump({"stateMachines": [_machine_json(m) for m in machines]}, sys.stdout)
    return EXIT_OK


# -- executions ----------------------------------------------------------------------------------


def _cmd_start(args: argparse.Namespace) -> int:
    target: str = args.target
    from_file = not target.startswith("arn:") and not _machine_name_given(target)
    definition = (
        read_definition(target, args.logical_id, args.substitutions, args.config_substitutions)
        if from_file
        else ""
    )
    input_json = input_text(args.input, target == "-")
    db = database(args.db)
    out = sys.stdout

    async def go(functions: Loaded) -> tuple[dict[str, Any], Execution | None]:
        async with engine_session(
            db, functions, execute=_executes(args.wait), command=f"{PROG} start"
        ) as engine:
            if from_file:
                name = args.machine_name or machine_name(target)
                source = "standard input" if target == "-" else target
                machine = await _put_machine(engine, name, definition, "STANDARD", source, True)
            else:
                machine = await _existing_machine(engine, target, db)
            if machine.type is not StateMachineType.STANDARD:
                raise CliError(
                    f"{machine.name} is an {machine.type} state machine: `{PROG} start` runs STANDARD "
                    f"ones (use `{PROG} run` for EXPRESS)"
                )
            started = await engine.start_execution(machine.arn, input_json=input_json, name=args.name)
            result: dict[str, Any] = {
                "executionArn": started.execution_arn,
                "startDate": iso(started.start_date),
            }
            final = None
            if args.wait is not None:
                async with watching(engine, started.execution_arn, console_for(args.no_progress)):
                    final = await settle(engine, started.execution_arn, args.wait)
                result.update(_outcome(final))
            current = final or await engine.describe_execution(started.execution_arn)
        await _note_if_unattended(db, current)
        return result, final

    result, final = _run_with_functions(args, go)
    dump(result, out)
    return _exit_code(final)


def _machine_name_given(target: str) -> bool:
    """A word that is no file, no path and no definition file name names a state machine."""
    if target == "-" or "/" in target or os.sep in target or Path(target).exists():
        return False
    return not target.lower().endswith(_DEFINITION_SUFFIXES)


async def _existing_machine(engine: Session, target: str, db: Database) -> StateMachine:
    try:
        return await engine.describe_state_machine(state_machine_arn(engine, target))
    except StateMachineDoesNotExist:
        if target.startswith("arn:"):
            raise
        raise CliError(
            f"no state machine named {target!r} in {db}, and no definition file {target}"
        ) from None


def _cmd_executions(args: argparse.Namespace) -> int:
    if args.max_results is not None and args.max_results < 1:
        raise CliError("--max-results must be at least 1")

    if args.map_run is not None and args.state_machine is not None:
        raise CliError("give --state-machine or --map-run, not both")

    async def go(engine: Session) -> list[Execution]:
        arn = None
        if args.map_run is not None:
            if await engine.store.get_metadata(MAP_RUN_KIND, args.map_run) is None:
                raise CliError(f"no Map Run {args.map_run!r}")
            return await engine.list_executions(
                None, args.status, max_results=args.max_results, map_run_arn=args.map_run
            )
        if args.state_machine is not None:
            arn = state_machine_arn(engine, args.state_machine)
            await engine.describe_state_machine(arn)
        return await engine.list_executions(arn, args.status, max_results=args.max_results)

    executions = _client(args, go)
    if args.output == "table":
        write_table(sys.stdout, _EXECUTION_COLUMNS, [_execution_row(e) for e in executions])
    else:
        dump({"executions": [describe_json(e, data=False) for e in executions]}, sys.stdout)
    return EXIT_OK


_EXECUTION_COLUMNS = ("NAME", "STATE MACHINE", "STATUS", "STARTED", "STOPPED", "ERROR")


def _execution_row(execution: Execution) -> tuple[str | None, ...]:
    machine = execution.state_machine_arn.partition(":stateMachine:")[2] or execution.state_machine_arn
    return (
        execution.name,
        machine,
        str(execution.status),
        local_time(execution.start_date),
        local_time(execution.stop_date),
        execution.error,
    )


def _cmd_describe(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> Execution:
        return await engine.describe_execution(await _execution(engine, args))

    dump(describe_json(_client(args, go)), sys.stdout)
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> list[dict[str, Any]]:
        return await engine.get_execution_history(
            await _execution(engine, args),
            reverse_order=args.reverse,
            include_execution_data=not args.no_data,
        )

    events = _client(args, go)
    for event in events:
        event["timestamp"] = iso(event["timestamp"])
    dump({"events": events}, sys.stdout)
    return EXIT_OK


def _cmd_stop(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> Execution:
        return await engine.stop_execution(await _execution(engine, args), error=args.error, cause=args.cause)

    execution = _client(args, go)
    dump({"executionArn": execution.execution_arn, **_outcome(execution)}, sys.stdout)
    return EXIT_OK


def _cmd_redrive(args: argparse.Namespace) -> int:
    db = existing_db(args)
    out = sys.stdout

    async def go(functions: Loaded) -> tuple[dict[str, Any], Execution | None]:
        async with engine_session(
            db, functions, execute=_executes(args.wait), command=f"{PROG} redrive"
        ) as engine:
            execution: Execution = await engine.redrive_execution(await _execution(engine, args, db))
            record = await engine.store.get_execution(execution.execution_arn)
            result: dict[str, Any] = {"executionArn": execution.execution_arn}
            if record is not None:
                result["redriveCount"] = record.redrive_count
                result["redriveDate"] = iso(record.redrive_date)
            final = None
            if args.wait is not None:
                async with watching(engine, execution.execution_arn, console_for(args.no_progress)):
                    final = await settle(engine, execution.execution_arn, args.wait)
            result.update(_outcome(final or execution))
        await _note_if_unattended(db, final or execution)
        return result, final

    result, final = _run_with_functions(args, go)
    dump(result, out)
    return _exit_code(final)


# -- task tokens ---------------------------------------------------------------------------------


def _token_command(
    args: argparse.Namespace, send: Callable[[Session], Coroutine[Any, Any, None]], command: str
) -> int:
    _token_of(args)
    db = existing_db(args)
    out = sys.stdout
    wait: float | None = getattr(args, "wait", None)

    async def go(functions: Loaded) -> tuple[dict[str, Any], Execution | None]:
        async with engine_session(
            db, functions, execute=_executes(wait), command=f"{PROG} {command}"
        ) as engine:
            await send(engine)
            token = await engine.store.get_token(args.token)
            if token is None:  # pragma: no cover - send just found it
                return {}, None
            execution = await engine.describe_execution(token.execution_arn)
            final = None
            if wait is not None:
                final = execution = await settle(engine, token.execution_arn, wait)
            result = {"executionArn": token.execution_arn, **_outcome(execution)}
        if command != "send-task-heartbeat":
            await _note_if_unattended(db, execution)
        return result, final

    result, final = _run_with_functions(args, go)
    dump(result, out)
    return _exit_code(final)


def _cmd_send_task_success(args: argparse.Namespace) -> int:
    output = input_text(args.output, False, option="--output")

    async def send(engine: Session) -> None:
        await engine.send_task_success(args.token, output_json=output)

    return _token_command(args, send, "send-task-success")


def _cmd_send_task_failure(args: argparse.Namespace) -> int:
    async def send(engine: Session) -> None:
        await engine.send_task_failure(args.token, error=args.error, cause=args.cause)

    return _token_command(args, send, "send-task-failure")


def _cmd_send_task_heartbeat(args: argparse.Namespace) -> int:
    async def send(engine: Session) -> None:
        await engine.send_task_heartbeat(args.token)

    return _token_command(args, send, "send-task-heartbeat")


# -- activities ----------------------------------------------------------------------------------


def _cmd_activities(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> list[Activity]:
        return await engine.list_activities()

    activities = _client(args, go)
    if args.output == "table":
        rows = [(a.name, local_time(a.creation_date)) for a in activities]
        write_table(sys.stdout, ("NAME", "CREATED"), rows)
    else:
        listed = [
            {"activityArn": a.arn, "name": a.name, "creationDate": iso(a.creation_date)} for a in activities
        ]
        dump({"activities": listed}, sys.stdout)
    return EXIT_OK


def _cmd_create_activity(args: argparse.Namespace) -> int:
    db = database(args.db)

    async def go() -> dict[str, Any]:
        async with engine_session(db) as engine:
            record = await engine.create_activity(args.name)
            return {"activityArn": record.arn, "name": record.name, "creationDate": iso(record.creation_date)}

    dump(run_async(go()), sys.stdout)
    return EXIT_OK


def _cmd_delete_activity(args: argparse.Namespace) -> int:
    async def go(engine: Session) -> dict[str, Any]:
        arn = activity_arn(engine, args.activity)
        await engine.delete_activity(arn)
        return {"activityArn": arn, "deleted": True}

    dump(_client(args, go), sys.stdout)
    return EXIT_OK


# -- the parsers ---------------------------------------------------------------------------------


TOKEN_COMMANDS = ("send-task-success", "send-task-failure", "send-task-heartbeat")


def _token_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("token", nargs="?", metavar="TOKEN", help="the task token (or --token TOKEN)")
    parser.add_argument("--token", dest="token_option", metavar="TOKEN", help="the task token")


def _token_of(args: argparse.Namespace) -> str:
    token: str | None = args.token_option or args.token
    if args.token_option and args.token and args.token_option != args.token:
        raise CliError("give the task token once: as TOKEN or with --token")
    if not token:
        raise CliError("the task token is missing: give it as TOKEN or with --token TOKEN")
    args.token = token
    return token


def _execution_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "execution_arn",
        metavar="EXECUTION",
        help="the execution: its ARN, MACHINE:NAME, or its NAME when no other execution has it",
    )


def _wait_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", "-w", type=_seconds, metavar="SECONDS", help=_WAIT_HELP)
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no live progress display on standard error while --wait waits (shown on a terminal)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be a finite number >= 0, got {text!r}")
    return value


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add the database commands to the ``durable`` subparsers ``sub``."""

    def command(
        name: str, help: str, handler: Callable[[argparse.Namespace], int], description: str | None = None
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help,
            description=description or help[0].upper() + help[1:] + ".",
            formatter_class=formatter,
        )
        parser.set_defaults(handler=handler)
        return parser

    p = command(
        "create-state-machine",
        "create a state machine in the database (idempotent)",
        _cmd_create_state_machine,
    )
    p.add_argument("name", metavar="NAME", help="state machine name")
    p.add_argument("definition", metavar="DEFINITION", help="ASL JSON file, or - to read standard input")
    p.add_argument(
        "--type",
        "-t",
        type=machine_type,
        default="STANDARD",
        metavar="STANDARD|EXPRESS",
        help="default STANDARD",
    )
    p.add_argument(
        "--update", action="store_true", help="replace the definition if NAME exists with another one"
    )
    add_template_arguments(p)
    add_db_argument(p)

    p = command("state-machines", "list the state machines of the database", _cmd_state_machines)
    add_output_argument(p)
    add_db_argument(p)

    p = command("start", "start a durable (Standard) execution", _cmd_start, _START_DESCRIPTION)
    p.add_argument(
        "target",
        metavar="DEFINITION_OR_STATE_MACHINE",
        help="ASL file or template (- for standard input), or a state machine's ARN or name",
    )
    p.add_argument("--name", "-n", metavar="EXEC_NAME", help="execution name (default: a random UUID)")
    add_input_argument(p)
    add_function_argument(p)
    add_template_arguments(p)
    p.add_argument(
        "--machine-name",
        metavar="NAME",
        help="state machine name for DEFINITION (default: from the file name)",
    )
    _wait_argument(p)
    add_db_argument(p)

    p = command("executions", "list executions, newest first", _cmd_executions)
    p.add_argument("--state-machine", "-s", metavar="ARN", help="only this state machine's (ARN or name)")
    p.add_argument("--map-run", metavar="ARN", help="the child executions of this Map Run instead")
    p.add_argument("--status", choices=STATUSES, type=str.upper, help="only executions with this status")
    p.add_argument("--max-results", "-m", type=int, metavar="N", help="at most N executions")
    add_output_argument(p)
    add_db_argument(p)

    p = command("describe", "describe an execution: status, input, output or error and cause", _cmd_describe)
    _execution_argument(p)
    add_db_argument(p)

    p = command("history", "print an execution's history events (GetExecutionHistory)", _cmd_history)
    _execution_argument(p)
    p.add_argument("--reverse", action="store_true", help="newest event first")
    p.add_argument("--no-data", action="store_true", help="leave out inputs and outputs")
    add_db_argument(p)

    p = command("stop", "stop (abort) a running execution", _cmd_stop)
    _execution_argument(p)
    p.add_argument("--error", metavar="ERROR", help="error code recorded on the execution")
    p.add_argument("--cause", metavar="CAUSE", help="cause recorded on the execution")
    add_db_argument(p)

    p = command(
        "redrive", "redrive a FAILED, ABORTED or TIMED_OUT execution from where it failed", _cmd_redrive
    )
    _execution_argument(p)
    add_function_argument(p)
    _wait_argument(p)
    add_db_argument(p)

    p = command(
        "send-task-success", "answer a task token with an output", _cmd_send_task_success, _TOKEN_DESCRIPTION
    )
    _token_argument(p)
    p.add_argument(
        "--output", "-o", required=True, metavar="JSON|@FILE", help="the task's output: JSON text or @FILE"
    )
    add_function_argument(p)
    _wait_argument(p)
    add_db_argument(p)

    p = command(
        "send-task-failure", "fail the task of a task token", _cmd_send_task_failure, _TOKEN_DESCRIPTION
    )
    _token_argument(p)
    p.add_argument("--error", metavar="ERROR", help="error name (for Retry/Catch)")
    p.add_argument("--cause", metavar="CAUSE", help="a description of the failure")
    add_function_argument(p)
    _wait_argument(p)
    add_db_argument(p)

    p = command(
        "send-task-heartbeat",
        "report that the task of a task token is still in progress",
        _cmd_send_task_heartbeat,
        _TOKEN_DESCRIPTION,
    )
    _token_argument(p)
    add_db_argument(p)

    p = command("create-activity", "create an activity (idempotent)", _cmd_create_activity)
    p.add_argument("name", metavar="NAME")
    add_db_argument(p)

    p = command("activities", "list the activities of the database", _cmd_activities)
    add_output_argument(p)
    add_db_argument(p)

    p = command("delete-activity", "delete an activity", _cmd_delete_activity)
    p.add_argument("activity", metavar="ACTIVITY_ARN", help="activity ARN (or name)")
    add_db_argument(p)
