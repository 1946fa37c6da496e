"""The ``durable`` command line: run, validate and operate Amazon States Language state machines.

::

    durable run machine.asl.json --input '{"name": "world"}' --function greet=tasks:greet
    durable validate machine.asl.json
    durable start machine.asl.json --input @input.json       # durable, in durable.db
    durable run-engine --function greet=tasks:greet          # runs what is started
    durable describe EXECUTION_ARN
    durable deploy machine.asl.json --name hello --role-arn ARN --function greet=LAMBDA_ARN

Exit codes: 0 success; 1 the execution did not succeed (``run``, ``start``/``redrive``/
``send-task-*`` with ``--wait``) or the definition has diagnostics (``validate``); 2 usage or
input problems (missing file, bad JSON, a function that cannot be imported, an invalid
definition given to ``run``, any engine error such as ``TaskDoesNotExist``); 130 interrupted;
70 an unexpected internal error (``--debug`` shows its traceback).

Standard output carries only the result (JSON); anything task functions print goes to
standard error so the result stays machine-readable. The database commands live in
:mod:`.cli_executions` and :mod:`.cli_serve`; how processes share a database in
:mod:`.cli_engine`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import inspect
import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from .. import __version__
from ..errors import DefinitionError, DurableError
from ..runtime.catalog import ValidationResult, validate
from ..runtime.engine import Engine
from ..runtime.models import Execution, ExecutionStatus
from . import (
    cli_deploy,
    cli_events,
    cli_executions,
    cli_graph,
    cli_http,
    cli_mapruns,
    cli_serve,
    cli_test,
    cli_teststate,
    cli_ui,
)
from .cli_common import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CliError,
    FunctionSpec,
    Parser,
    add_function_argument,
    add_template_arguments,
    diagnostic_errors,
    dump,
    engine_clock,
    execution_summary,
    function_refs,
    input_text,
    load_function,
    load_functions,
    local_imports,
    machine_name,
    machine_type,
    parse_function_spec,
    read_definition,
    run_async,
)
from .cli_config import CONFIG_FILE, apply_config, find_config, load_config
from .cli_progress import console_for, watching

__all__ = [
    "CliError",
    "FunctionSpec",
    "build_parser",
    "execution_summary",
    "load_function",
    "main",
    "parse_function_spec",
]


_MAIN_DESCRIPTION = """\
Run and validate Amazon States Language (AWS Step Functions) state machines locally,
with durable's embedded engine. Task states whose Resource is a Lambda function are
answered by local Python functions given with --function.

`run` executes one definition in memory. The other commands operate on a database (--db: an
SQLite file, default durable.db, or a postgresql:// URL): durable Standard executions that
survive restarts, run by `durable run-engine` and driven by `start`, `send-task-success`, `stop`, ...
"""

_MAIN_EPILOG = """\
examples:
  durable validate machine.asl.json
  durable run machine.asl.json --input '{"name": "world"}' --function greet=tasks:greet

  durable run-engine --function greet=tasks:greet &          # executes durable.db
  durable start machine.asl.json --name first --input '{"name": "world"}'
  durable describe first                                     # or machine:first, or its ARN
  durable send-task-success "$TOKEN" --output '{"approved": true}'

settings: a .durable.toml (or [tool.durable] in pyproject.toml) in this directory or a
parent may hold db, functions, mocks, substitutions, local_buckets, region, account and a
[deploy] table; flags override it.

exit codes:
  0    success
  1    the execution did not succeed (run; start/redrive/send-task-* with --wait)
       / the definition is invalid or not portable (validate) / AWS refused (deploy)
  2    usage or input error (missing file, bad JSON, unimportable function, ...)
  70   unexpected internal error (add --debug for the traceback)
  130  interrupted
"""

_RUN_DESCRIPTION = """\
Create an in-memory state machine from DEFINITION and run one execution to completion.

Prints one JSON object on standard output:
  {"status": "SUCCEEDED", "output": ..., "executionArn": ..., "startDate": ..., "stopDate": ...}
or, when the execution does not succeed,
  {"status": "FAILED", "error": ..., "cause": ..., "executionArn": ..., ...}

Anything the task functions print goes to standard error.
"""

_RUN_EPILOG = """\
function specs (--function, repeatable):
  NAME=module:attr          import module (from the current directory too) and use attr
  NAME=path/to/file.py:attr load a Python file and use attr
  module:attr               NAME defaults to the last part of attr
  --functions MODULE        every public function MODULE (or path/to/file.py) defines,
                            each under its own name
  NAME is a Lambda function name or ARN, e.g.
  greet or arn:aws:lambda:us-east-1:111111111111:function:greet.
  The function is called as fn(event, context); it may be sync or async.

examples:
  durable run hello.asl.json
  durable run hello.asl.json --input '{"name": "world"}' --function greet=tasks:greet
  durable run hello.asl.json --input @input.json --function greet=./lib/tasks.py:greet
  cat hello.asl.json | durable run - --type STANDARD

exit codes: 0 SUCCEEDED, 1 FAILED / TIMED_OUT / ABORTED, 2 usage or input error.
"""

_VALIDATE_DESCRIPTION = """\
Check DEFINITION against the Amazon States Language rules (the checks of AWS
ValidateStateMachineDefinition). Prints each diagnostic as one line
'CODE: message at /json/pointer', then OK or the number of diagnostics.
"""

_VALIDATE_EPILOG = """\
examples:
  durable validate machine.asl.json
  durable validate machine.asl.json --type EXPRESS --json
  durable validate machine.asl.json --warnings
  durable validate machine.asl.json --portable --function greet=arn:aws:lambda:...:function:greet

--portable adds what would run with durable but not on AWS, each at its JSON path:
LOCAL_FUNCTION, LOCAL_RESOURCE, LOCAL_ARN, LOCAL_BUCKET, LOCAL_ENDPOINT, QUOTA_* (errors) and
the configuration's local settings (LOCAL_SETTING, warnings). --function and --resource map
names as `durable deploy` does.

exit codes: 0 valid (warnings alone do not fail), 1 errors found, 2 usage or input error.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``durable`` argument parser (exposed for documentation and tests)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(prog=PROG, description=_MAIN_DESCRIPTION, epilog=_MAIN_EPILOG, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show Python tracebacks: of task functions that raise, and of unexpected internal errors",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"read settings from FILE (default: {CONFIG_FILE}, or [tool.durable] in pyproject.toml, "
        "in the current directory or the nearest parent that has one)",
    )
    parser.add_argument("--no-config", action="store_true", help="read no configuration file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=Parser)

    run = sub.add_parser(
        "run",
        help="run a state machine definition once and print the result as JSON",
        description=_RUN_DESCRIPTION,
        epilog=_RUN_EPILOG,
        formatter_class=formatter,
    )
    run.add_argument("definition", metavar="DEFINITION", help="ASL JSON file, or - to read standard input")
    run.add_argument(
        "--input",
        "-i",
        metavar="JSON|@FILE",
        help="execution input: JSON text, or @FILE to read it from a file (@- for standard input); "
        "default {}",
    )
    add_function_argument(
        run, help="answer Lambda function NAME with a local Python function (repeatable; see below)"
    )
    run.add_argument("--name", "-n", metavar="EXEC_NAME", help="execution name (default: a random UUID)")
    run.add_argument(
        "--no-progress",
        action="store_true",
        help="no live progress display on standard error while it runs (shown on a terminal)",
    )
    run.add_argument(
        "--machine-name",
        metavar="NAME",
        help="state machine name (default: from the file name)",
    )
    run.add_argument(
        "--type",
        "-t",
        type=machine_type,
        default="EXPRESS",
        metavar="EXPRESS|STANDARD",
        help="state machine type (default EXPRESS: run synchronously, as StartSyncExecution)",
    )
    run.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # `durable --debug run` sets it too
        help="print the Python traceback of a task function that raises (on standard error)",
    )
    run.add_argument(
        "--local-bucket",
        metavar="NAME=DIR",
        action="append",
        default=[],
        dest="local_buckets",
        help="read and write the S3 bucket NAME of Distributed Maps in the local directory DIR "
        "(repeatable; also local_buckets of the configuration)",
    )
    run.set_defaults(config_local_buckets={})
    add_template_arguments(run)
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser(
        "validate",
        help="check a state machine definition and list its diagnostics",
        description=_VALIDATE_DESCRIPTION,
        epilog=_VALIDATE_EPILOG,
        formatter_class=formatter,
    )
    validate.add_argument(
        "definition", metavar="DEFINITION", help="ASL JSON file, or - to read standard input"
    )
    validate.add_argument(
        "--type",
        "-t",
        type=machine_type,
        default="STANDARD",
        metavar="STANDARD|EXPRESS",
        help="validate for this state machine type (default STANDARD)",
    )
    validate.add_argument(
        "--warnings",
        action="store_true",
        help="also list AWS's warnings (NO_DOLLAR, NO_PATH, PASS_RESULT_IS_STATIC); they do not fail",
    )
    validate.add_argument(
        "--json", action="store_true", help="print the result as a JSON document instead of lines"
    )
    validate.add_argument(
        "--portable",
        action="store_true",
        help="also list what would not run on AWS Step Functions: local Lambda functions and "
        "resources, local buckets, private HTTP endpoints, relaxed quotas, local settings",
    )
    cli_deploy.add_portable_arguments(validate, deploying=False)
    add_template_arguments(validate)
    validate.set_defaults(handler=_cmd_validate)
    cli_executions.add_commands(sub, formatter)
    cli_mapruns.add_commands(sub, formatter)
    cli_events.add_commands(sub, formatter)
    cli_serve.add_commands(sub, formatter)
    cli_teststate.add_commands(sub, formatter)
    cli_http.add_commands(sub, formatter)
    cli_ui.add_commands(sub, formatter)
    cli_test.add_commands(sub, formatter)
    cli_deploy.add_commands(sub, formatter)
    cli_graph.add_commands(sub, formatter)
    return parser


# -- commands ------------------------------------------------------------------------------------


async def _execute(
    definition: str,
    machine_name: str,
    machine_type: str,
    input_json: str,
    functions: Sequence[tuple[FunctionSpec, Callable[..., Any]]],
    exec_name: str | None,
    local_buckets: dict[str, str] | None = None,
    console: Any = None,
) -> Execution:
    async with Engine(clock=engine_clock(), local_buckets=local_buckets) as engine:
        for spec, fn in functions:
            try:
                engine.register_function(spec.name, fn)
            except ValueError as exc:
                raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
        machine = await engine.create_state_machine(machine_name, definition, type=machine_type)
        if machine_type == "EXPRESS":
            return await engine.start_sync_execution(machine.arn, input_json=input_json, name=exec_name)
        started = await engine.start_execution(machine.arn, input_json=input_json, name=exec_name)
        async with watching(engine, started.execution_arn, console):
            return await _wait_unless_stuck(engine, started.execution_arn)


async def _wait_unless_stuck(engine: Engine, arn: str) -> Execution:
    """Wait for the execution; but a task token (a callback or an activity) cannot be answered
    in this process's in-memory run: say so rather than wait in silence."""
    finished = asyncio.ensure_future(engine.wait_for_execution(arn))
    while not finished.done():
        await asyncio.wait({finished}, timeout=0.2)
        if finished.done():
            break
        waiting = await engine.store.open_tokens(arn)
        if not waiting:
            continue
        states = ", ".join(sorted({f"'{t.state_name}'" for t in waiting}))
        if all(t.timeout_seconds or t.heartbeat_seconds for t in waiting):
            print(
                f"{PROG}: note: {states} waits for a task token that nothing can send to this in-memory "
                "run; it ends when the task times out",
                file=sys.stderr,
            )
            return await finished
        finished.cancel()
        raise CliError(
            f"the state {states} waits for a task token, which nothing can send to an execution that "
            "`durable run` keeps in memory",
            "run it durably instead: `durable run-engine --db FILE` in one shell, `durable start --db FILE "
            "DEFINITION` in another, then `durable send-task-success --db FILE TOKEN --output JSON`",
            "(or give the task a TimeoutSeconds to let it time out here)",
        )
    return finished.result()


def _cmd_run(args: argparse.Namespace) -> int:
    source = "standard input" if args.definition == "-" else args.definition
    definition = read_definition(
        args.definition, args.logical_id, args.substitutions, args.config_substitutions
    )
    input_json = input_text(args.input, args.definition == "-")
    refs = function_refs(args)
    buckets = dict(args.config_local_buckets or {})
    for item in args.local_buckets:
        bucket, sep, folder = item.partition("=")
        if not sep or not bucket.strip() or not folder.strip():
            raise CliError(f"bad --local-bucket {item!r}: expected NAME=DIR")
        buckets[bucket.strip()] = folder.strip()

    checked = validate(definition, type=args.type)
    if checked.diagnostics:
        raise diagnostic_errors(checked.diagnostics, source)

    # Task code must not write into the one JSON object on stdout: send its prints to stderr.
    with local_imports(), contextlib.redirect_stdout(sys.stderr):
        functions = load_functions(refs)
        if getattr(args, "debug", False):
            functions = [(spec, _traced(spec.name, fn)) for spec, fn in functions]
        try:
            execution = run_async(
                _execute(
                    definition,
                    args.machine_name or machine_name(args.definition),
                    args.type,
                    input_json,
                    functions,
                    args.name,
                    buckets,
                    console_for(args.no_progress),
                )
            )
        except DefinitionError as exc:
            raise diagnostic_errors(exc.diagnostics, source) from None
    dump(execution_summary(execution), sys.stdout)
    hint = _missing_function_hint(execution)
    if hint:
        print(f"{PROG}: hint: {hint}", file=sys.stderr)
    return EXIT_OK if execution.status is ExecutionStatus.SUCCEEDED else EXIT_FAILED


def _traced(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, printing the traceback of any exception it raises to standard error (``--debug``);
    the exception still fails the task as it would without the flag."""

    def report(exc: BaseException) -> None:
        summary = traceback.TracebackException.from_exception(exc)
        summary.stack = traceback.StackSummary.from_list(summary.stack[1:])  # not this wrapper's frame
        text = "".join(summary.format()).rstrip()
        print(f"{PROG}: task function '{name}' raised:\n{text}", file=sys.stderr)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def traced_async(event: Any, context: Any) -> Any:
            try:
                return await fn(event, context)
            except Exception as exc:
                report(exc)
                raise

        return traced_async

    @functools.wraps(fn)
    def traced(event: Any, context: Any) -> Any:
        try:
            return fn(event, context)
        except Exception as exc:
            report(exc)
            raise

    return traced


_NOT_FOUND = re.compile(r"Function not found: arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:\s]+)")


def _missing_function_hint(execution: Execution) -> str | None:
    """One line naming the --function to pass when a Lambda function had no local answer."""
    if execution.error != "Lambda.ResourceNotFoundException" or not execution.cause:
        return None
    found = _NOT_FOUND.search(execution.cause)
    if found is None:
        return None
    name = found.group(1)
    return f"no local function answers '{name}': pass --function {name}=module:attr"


def _cmd_validate(args: argparse.Namespace) -> int:
    definition = read_definition(
        args.definition, args.logical_id, args.substitutions, args.config_substitutions
    )
    if not args.portable and (args.deploy_functions or args.deploy_resources or args.local_buckets):
        raise CliError("--function, --resource and --local-bucket go with --portable")
    severity = "WARNING" if args.warnings else "ERROR"
    result = validate(definition, type=args.type, severity=severity)
    if args.portable:
        found = [*result.diagnostics, *cli_deploy.portable_diagnostics(args, definition, args.type)]
        failed = any(d.severity == "ERROR" for d in found)
        result = ValidationResult("FAIL" if failed else "OK", tuple(found), result.truncated)
    if args.json:
        dump(result.to_dict(), sys.stdout)
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic if diagnostic.severity == "ERROR" else f"WARNING {diagnostic}")
        count = len(result.diagnostics)
        summary = f"{count} diagnostic{'s' if count != 1 else ''}"
        print(summary if result.result == "FAIL" else ("OK" if not count else f"OK, {summary}"))
        sys.stdout.flush()
    return EXIT_FAILED if result.result == "FAIL" else EXIT_OK


# -- entry point ---------------------------------------------------------------------------------


def _error(*lines: str) -> None:
    for line in lines:
        print(f"{PROG}: error: {line}", file=sys.stderr)
    sys.stderr.flush()


def _busy_threads() -> bool:
    main_thread = threading.main_thread()
    return any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate())


_TOKENISH = re.compile(r"^-[A-Za-z0-9_\-]{16,}$")


def _token_words(argv: list[str]) -> list[str]:
    """Task tokens may begin with ``-``: in the token commands, the word after ``--token`` or
    ``--`` and a long token-shaped word are the token, never an option (argparse would read
    them as one)."""
    if not any(word in cli_executions.TOKEN_COMMANDS for word in argv):
        return argv
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word in ("--token", "--"):
            value = next(words, None)
            out.append(word if value is None else f"--token={value}")
        elif _TOKENISH.match(word):
            out.append(f"--token={word}")
        else:
            out.append(word)
    return out


def _log_to_stderr(debug: bool) -> None:
    """The engine's log lines go to standard error: standard output carries only results.
    ``--debug`` adds debug lines, such as the traceback of a task function that raised."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if debug else logging.INFO),
        logger_factory=lambda *args: structlog.PrintLogger(file=sys.stderr),
    )


def _configure(args: argparse.Namespace, debug: bool) -> None:
    """Apply the configuration file (see :mod:`.cli_config`) to what the flags left unset."""
    if args.no_config:
        if args.config:
            raise CliError("give --config FILE or --no-config, not both")
        return
    config = load_config(Path(args.config)) if args.config else find_config()
    if config is None:
        return
    if debug:
        print(f"{PROG}: using the settings of {config.label}", file=sys.stderr)
    apply_config(args, config)


def main(argv: list[str] | None = None) -> int:
    """Run the ``durable`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in words
    _log_to_stderr(debug)
    try:
        args = parser.parse_args(_token_words(words))
        debug = getattr(args, "debug", False)
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        _configure(args, debug)
        return handler(args)
    except SystemExit as exc:  # --help / --version (argparse exits after printing)
        code = exc.code
        if code is None:
            return EXIT_OK
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return EXIT_FAILED
    except CliError as exc:
        _error(*exc.lines)
        return EXIT_USAGE
    except DurableError as exc:
        code = exc.code if exc.code != DurableError.code else type(exc).__name__
        _error(f"{code}: {exc.message}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        if argv is None and _busy_threads():
            # The command itself (not an in-process caller): task code still running in a
            # thread would keep the interpreter alive until it returns. Leave now.
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``durable run ... | head``): stop quietly.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        if debug:
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
