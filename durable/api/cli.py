"""The ``durable`` command line: run and validate Amazon States Language definitions.

::

    durable run machine.asl.json --input '{"name": "world"}' --function greet=tasks:greet
    durable validate machine.asl.json

Exit codes: 0 success; 1 the execution did not succeed (``run``) or the definition has
diagnostics (``validate``); 2 usage or input problems (missing file, bad JSON, a function
that cannot be imported, an invalid definition given to ``run``, any engine error);
130 interrupted; 70 an unexpected internal error (``--debug`` shows its traceback).

Standard output carries only the result (one JSON object for ``run``); anything task
functions print goes to standard error so the result stays machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

from .. import __version__
from ..errors import DefinitionError, Diagnostic, DurableError
from ..runtime.engine import Engine
from ..runtime.models import Execution, ExecutionStatus

__all__ = ["CliError", "main"]

PROG = "durable"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

T = TypeVar("T")

_MACHINE_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


class CliError(Exception):
    """A problem with the command's arguments or inputs: reported on stderr, exit code 2.

    ``lines`` are printed one per line, each prefixed with ``durable: error: ``.
    """

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "error")
        self.lines = lines or ("error",)


# -- argument parsing ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise :class:`CliError` instead of exiting.

    The message names the subcommand's ``--help`` so the one error line stays actionable.
    """

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


_MAIN_DESCRIPTION = """\
Run and validate Amazon States Language (AWS Step Functions) state machines locally,
with durable's embedded engine. Task states whose Resource is a Lambda function are
answered by local Python functions given with --function.
"""

_MAIN_EPILOG = """\
examples:
  durable validate machine.asl.json
  durable run machine.asl.json --input '{"name": "world"}' --function greet=tasks:greet

exit codes:
  0    success
  1    the execution did not succeed (run) / the definition is invalid (validate)
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

exit codes: 0 valid, 1 diagnostics found, 2 usage or input error.
"""


def _machine_type(text: str) -> str:
    value = text.upper()
    if value not in ("STANDARD", "EXPRESS"):
        raise argparse.ArgumentTypeError(f"invalid type {text!r} (choose STANDARD or EXPRESS)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``durable`` argument parser (exposed for documentation and tests)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog=PROG, description=_MAIN_DESCRIPTION, epilog=_MAIN_EPILOG, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a Python traceback for unexpected internal errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)

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
    run.add_argument(
        "--function",
        "-f",
        metavar="NAME=module:attr",
        action="append",
        default=[],
        dest="functions",
        help="answer Lambda function NAME with a local Python function (repeatable; see below)",
    )
    run.add_argument("--name", "-n", metavar="EXEC_NAME", help="execution name (default: a random UUID)")
    run.add_argument(
        "--type",
        "-t",
        type=_machine_type,
        default="EXPRESS",
        metavar="EXPRESS|STANDARD",
        help="state machine type (default EXPRESS: run synchronously, as StartSyncExecution)",
    )
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
        type=_machine_type,
        default="STANDARD",
        metavar="STANDARD|EXPRESS",
        help="validate for this state machine type (default STANDARD)",
    )
    validate.add_argument(
        "--json", action="store_true", help="print the result as a JSON document instead of lines"
    )
    validate.set_defaults(handler=_cmd_validate)
    return parser


# -- inputs --------------------------------------------------------------------------------------


def _read_text(path: str, what: str) -> str:
    """The text of ``path`` (``-`` is standard input); problems become :class:`CliError`."""
    data: str | bytes
    if path == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        try:
            data = buffer.read() if buffer is not None else sys.stdin.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {what} from standard input: {exc}") from None
        if isinstance(data, str):
            return data.removeprefix("\ufeff")
        source = "standard input"
    else:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise CliError(f"{what} file not found: {path}") from None
        except IsADirectoryError:
            raise CliError(f"{what} is a directory, not a file: {path}") from None
        except OSError as exc:
            raise CliError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
        source = path
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{what} in {source} is not UTF-8 text (byte {exc.start})") from None


def _input_text(spec: str | None, definition_from_stdin: bool) -> str:
    """The execution input's JSON text from ``--input JSON`` or ``--input @FILE``; checked."""
    if spec is None:
        return "{}"
    if spec.startswith("@"):
        path = spec[1:]
        if not path:
            raise CliError("--input @FILE needs a file name after @")
        if path == "-" and definition_from_stdin:
            raise CliError("--input @- and DEFINITION - cannot both read standard input")
        text = _read_text(path, "input")
        where = "standard input" if path == "-" else path
    else:
        text = spec
        where = "--input"
    if not text.strip():
        raise CliError(f"invalid JSON in {where}: the input is empty")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"invalid JSON in {where}: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise CliError(f"invalid JSON in {where}: nested too deeply") from None
    return text


# -- functions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A parsed ``--function`` value: ``NAME=target:attr``."""

    name: str
    target: str
    attr: str
    raw: str


def parse_function_spec(raw: str) -> FunctionSpec:
    """Parse ``NAME=module:attr``, ``NAME=path/file.py:attr`` or ``module:attr``."""
    name, sep, ref = raw.partition("=")
    if not sep:
        name, ref = "", raw
    name, ref = name.strip(), ref.strip()
    target, colon, attr = ref.rpartition(":")
    if not colon or not target or not attr:
        raise CliError(f"bad --function {raw!r}: expected NAME=module:attr or NAME=path/to/file.py:attr")
    if sep and not name:
        raise CliError(f"bad --function {raw!r}: the function NAME before '=' is empty")
    if not all(part.isidentifier() for part in attr.split(".")):
        raise CliError(f"bad --function {raw!r}: {attr!r} is not an attribute name")
    return FunctionSpec(name or attr.rsplit(".", 1)[-1], target, attr, raw)


def _is_file_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _import_target(spec: FunctionSpec) -> Any:
    target = spec.target
    if _is_file_target(target):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise CliError(f"cannot load --function {spec.raw!r}: file not found: {target}")
        module_name = path.stem if path.stem.isidentifier() else "durable_cli_module"
        existing = sys.modules.get(module_name)
        if existing is not None and getattr(existing, "__file__", None) == str(path):
            return existing
        if existing is not None:
            module_name = f"durable_cli_{abs(hash(str(path))):x}_{module_name}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise CliError(f"cannot load --function {spec.raw!r}: not a Python file: {target}")
        module = importlib.util.module_from_spec(module_spec)
        parent = str(path.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)  # so the file's own sibling imports work
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module
    importlib.invalidate_caches()  # modules written just before this run must be found
    return importlib.import_module(target)


def load_function(spec: FunctionSpec) -> Callable[..., Any]:
    """Import the callable ``spec`` names; import problems become :class:`CliError`."""
    try:
        obj = _import_target(spec)
    except CliError:
        raise
    except SystemExit as exc:
        raise CliError(
            f"cannot import {spec.target!r} for --function {spec.raw!r}: it called exit({exc.code})"
        ) from None
    except Exception as exc:
        raise CliError(
            f"cannot import {spec.target!r} for --function {spec.raw!r}: {type(exc).__name__}: {exc}"
        ) from None
    for part in spec.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CliError(
                f"bad --function {spec.raw!r}: {spec.target!r} has no attribute {spec.attr!r}"
            ) from None
    if not callable(obj):
        raise CliError(f"bad --function {spec.raw!r}: {spec.target}:{spec.attr} is not callable")
    fn: Callable[..., Any] = obj
    return fn


@contextlib.contextmanager
def _local_imports() -> Iterator[None]:
    """Put the current directory first on ``sys.path`` for the duration; restore it after."""
    saved = list(sys.path)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        sys.path[:] = saved


# -- output --------------------------------------------------------------------------------------


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def execution_summary(execution: Execution) -> dict[str, Any]:
    """The JSON object ``durable run`` prints for a finished execution."""
    out: dict[str, Any] = {"status": str(execution.status)}
    if execution.status is ExecutionStatus.SUCCEEDED:
        out["output"] = execution.output
    else:
        out["error"] = execution.error
        out["cause"] = execution.cause
    out["executionArn"] = execution.execution_arn
    out["startDate"] = _iso(execution.start_date)
    out["stopDate"] = _iso(execution.stop_date)
    return out


def _dump(value: Any, stream: TextIO) -> None:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
        stream.write(text + "\n")
    except UnicodeEncodeError:
        stream.write(json.dumps(value, indent=2) + "\n")
    stream.flush()


def _machine_name(path: str) -> str:
    if path == "-":
        return "durable-cli"
    stem = Path(path).name
    for suffix in (".json", ".asl"):
        stem = stem.removesuffix(suffix)
    name = _MACHINE_NAME_BAD.sub("-", stem).strip("-")[:80]
    return name or "durable-cli"


# -- commands ------------------------------------------------------------------------------------


async def _execute(
    definition: str,
    machine_name: str,
    machine_type: str,
    input_json: str,
    functions: Sequence[tuple[FunctionSpec, Callable[..., Any]]],
    exec_name: str | None,
) -> Execution:
    async with Engine() as engine:
        for spec, fn in functions:
            try:
                engine.register_function(spec.name, fn)
            except ValueError as exc:
                raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
        machine = await engine.create_state_machine(machine_name, definition, type=machine_type)
        if machine_type == "EXPRESS":
            return await engine.start_sync_execution(machine.arn, input_json=input_json, name=exec_name)
        started = await engine.start_execution(machine.arn, input_json=input_json, name=exec_name)
        return await engine.wait_for_execution(started.execution_arn)


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, except that Ctrl-C does not wait for task functions still
    running in worker threads (``asyncio.run`` joins them before it re-raises)."""
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(thread_name_prefix="durable-task")
    loop.set_default_executor(executor)
    task = loop.create_task(coro)
    interrupted = False
    try:
        return loop.run_until_complete(task)
    except KeyboardInterrupt:
        interrupted = True
        task.cancel()
        with contextlib.suppress(BaseException):  # let the engine close; a second Ctrl-C skips it
            loop.run_until_complete(task)
        raise
    finally:
        try:
            _cancel_all_tasks(loop)
            if not interrupted:
                loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=not interrupted, cancel_futures=True)
            loop.close()


def _diagnostic_errors(diagnostics: Sequence[Diagnostic], source: str) -> CliError:
    lines = [f"invalid state machine definition in {source}:"] + [str(d) for d in diagnostics]
    return CliError(*lines)


def _cmd_run(args: argparse.Namespace) -> int:
    source = "standard input" if args.definition == "-" else args.definition
    definition = _read_text(args.definition, "definition")
    input_json = _input_text(args.input, args.definition == "-")
    specs = [parse_function_spec(raw) for raw in args.functions]

    checked = Engine(load_plugins=False).validate_state_machine_definition(definition, type=args.type)
    if checked.diagnostics:
        raise _diagnostic_errors(checked.diagnostics, source)

    # Task code must not write into the one JSON object on stdout: send its prints to stderr.
    with _local_imports(), contextlib.redirect_stdout(sys.stderr):
        functions = [(spec, load_function(spec)) for spec in specs]
        try:
            execution = _run_async(
                _execute(
                    definition, _machine_name(args.definition), args.type, input_json, functions, args.name
                )
            )
        except DefinitionError as exc:
            raise _diagnostic_errors(exc.diagnostics, source) from None
    _dump(execution_summary(execution), sys.stdout)
    return EXIT_OK if execution.status is ExecutionStatus.SUCCEEDED else EXIT_FAILED


def _cmd_validate(args: argparse.Namespace) -> int:
    definition = _read_text(args.definition, "definition")
    result = Engine(load_plugins=False).validate_state_machine_definition(definition, type=args.type)
    if args.json:
        _dump(result.to_dict(), sys.stdout)
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic)
        count = len(result.diagnostics)
        print("OK" if not count else f"{count} diagnostic{'s' if count != 1 else ''}")
        sys.stdout.flush()
    return EXIT_FAILED if result.diagnostics else EXIT_OK


# -- entry point ---------------------------------------------------------------------------------


def _error(*lines: str) -> None:
    for line in lines:
        print(f"{PROG}: error: {line}", file=sys.stderr)
    sys.stderr.flush()


def _busy_threads() -> bool:
    main_thread = threading.main_thread()
    return any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate())


def main(argv: list[str] | None = None) -> int:
    """Run the ``durable`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
        debug = args.debug
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
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
        _error(f"{exc.code}: {exc.message}")
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
