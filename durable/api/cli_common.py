"""Shared pieces of the ``durable`` command line: errors, inputs, ``--function`` specs, output."""

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
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from ..errors import Diagnostic
from ..interpreter.jsonvalue import NotJson, parse_json
from ..runtime.models import Execution, ExecutionStatus

if TYPE_CHECKING:
    from ..runtime.templates import DefinitionSource

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CliError",
    "FunctionModule",
    "FunctionRef",
    "FunctionSpec",
    "Parser",
    "add_function_argument",
    "add_input_argument",
    "add_template_arguments",
    "diagnostic_errors",
    "dump",
    "dump_line",
    "engine_clock",
    "execution_summary",
    "function_refs",
    "input_text",
    "iso",
    "load_function",
    "load_functions",
    "local_imports",
    "machine_name",
    "machine_type",
    "module_functions",
    "parse_function_module",
    "parse_function_spec",
    "parse_substitutions",
    "read_definition",
    "read_source",
    "read_text",
    "run_async",
]

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


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise :class:`CliError` instead of exiting.

    The message names the subcommand's ``--help`` so the one error line stays actionable.
    """

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def machine_type(text: str) -> str:
    value = text.upper()
    if value not in ("STANDARD", "EXPRESS"):
        raise argparse.ArgumentTypeError(f"invalid type {text!r} (choose STANDARD or EXPRESS)")
    return value


def add_input_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        "-i",
        metavar="JSON|@FILE",
        help="execution input: JSON text, or @FILE to read it from a file (@- for standard input); "
        "default {}",
    )


def add_function_argument(
    parser: argparse.ArgumentParser,
    help: str = "answer Lambda function NAME with a local Python function (repeatable)",
) -> None:
    """``--function NAME=module:attr`` and ``--functions MODULE`` (both repeatable)."""
    parser.add_argument(
        "--function",
        "-f",
        metavar="NAME=module:attr",
        action="append",
        default=[],
        dest="functions",
        help=help,
    )
    parser.add_argument(
        "--functions",
        "-F",
        metavar="MODULE",
        action="append",
        default=[],
        dest="function_modules",
        help="register every public function MODULE (pkg.module or path/file.py) defines, each "
        "under its own name (repeatable; a --function of the same name wins)",
    )
    parser.set_defaults(config_functions=(), config_dir=None)  # the configuration file's


# -- inputs --------------------------------------------------------------------------------------


def read_text(path: str, what: str) -> str:
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


def input_text(
    spec: str | None, definition_from_stdin: bool, option: str = "--input", default: str = "{}"
) -> str:
    """JSON text from ``--input JSON`` or ``--input @FILE`` (``option`` names the flag); checked."""
    if spec is None:
        return default
    if spec.startswith("@"):
        path = spec[1:]
        if not path:
            raise CliError(f"{option} @FILE needs a file name after @")
        if path == "-" and definition_from_stdin:
            raise CliError(f"{option} @- and DEFINITION - cannot both read standard input")
        text = read_text(path, option.lstrip("-"))
        where = "standard input" if path == "-" else path
    else:
        text = spec
        where = option
    if not text.strip():
        raise CliError(f"invalid JSON in {where}: the {option.lstrip('-')} is empty")
    try:
        parse_json(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"invalid JSON in {where}: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except NotJson as exc:
        raise CliError(f"invalid JSON in {where}: {exc.reason}") from None
    return text


# -- functions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A parsed ``--function`` value: ``NAME=target:attr``.

    ``option`` names where it came from in error messages; ``base`` is a directory its module
    is imported from too (the configuration file's).
    """

    name: str
    target: str
    attr: str
    raw: str
    option: str = "--function"
    base: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionModule:
    """A parsed ``--functions`` value: every public function defined in module ``target``."""

    target: str
    raw: str
    option: str = "--functions"
    base: str | None = None


FunctionRef = FunctionSpec | FunctionModule


def parse_function_spec(raw: str, option: str = "--function", base: str | None = None) -> FunctionSpec:
    """Parse ``NAME=module:attr``, ``NAME=path/file.py:attr`` or ``module:attr``."""
    name, sep, ref = raw.partition("=")
    if not sep:
        name, ref = "", raw
    name, ref = name.strip(), ref.strip()
    target, colon, attr = ref.rpartition(":")
    if not colon or not target or not attr:
        raise CliError(
            f"bad {option} {raw!r}: expected NAME=module:attr or NAME=path/to/file.py:attr "
            "(--functions MODULE registers every function of a module)"
        )
    if sep and not name:
        raise CliError(f"bad {option} {raw!r}: the function NAME before '=' is empty")
    if not all(part.isidentifier() for part in attr.split(".")):
        raise CliError(f"bad {option} {raw!r}: {attr!r} is not an attribute name")
    if base is not None and _is_file_target(target):
        target = str(Path(base, target).expanduser())
    return FunctionSpec(name or attr.rsplit(".", 1)[-1], target, attr, raw, option, base)


def parse_function_module(raw: str, option: str = "--functions", base: str | None = None) -> FunctionModule:
    """Parse ``pkg.module`` or ``path/to/file.py`` (all the functions it defines)."""
    target = raw.strip()
    if _is_file_target(target):
        if base is not None:
            target = str(Path(base, target).expanduser())
        return FunctionModule(target, raw, option, base)
    if not target or not all(part.isidentifier() for part in target.split(".")):
        hint = " (use --function for one NAME=module:attr)" if ":" in target else ""
        raise CliError(f"bad {option} {raw!r}: expected a module name (pkg.module) or a .py file{hint}")
    return FunctionModule(target, raw, option, base)


def function_refs(args: argparse.Namespace) -> list[FunctionRef]:
    """The functions a command registers, in order (a later one of the same name wins): those of
    the configuration file, then ``--functions`` modules, then ``--function`` specs."""
    refs: list[FunctionRef] = []
    base: str | None = getattr(args, "config_dir", None)
    where = f'"functions" of {getattr(args, "config_file", "the configuration")}'
    for entry in getattr(args, "config_functions", ()):
        if ":" in entry:
            refs.append(parse_function_spec(entry, where, base))
        else:
            refs.append(parse_function_module(entry, where, base))
    refs.extend(parse_function_module(raw) for raw in getattr(args, "function_modules", None) or ())
    refs.extend(parse_function_spec(raw) for raw in getattr(args, "functions", None) or ())
    return refs


def load_functions(refs: Sequence[FunctionRef]) -> list[tuple[FunctionSpec, Callable[..., Any]]]:
    """Import every function ``refs`` name (call inside :func:`local_imports`)."""
    out: list[tuple[FunctionSpec, Callable[..., Any]]] = []
    for ref in refs:
        if isinstance(ref, FunctionModule):
            out.extend(module_functions(ref))
        else:
            out.append((ref, load_function(ref)))
    return out


def _is_file_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _import_target(target: str, what: str, base: str | None) -> Any:
    if base is not None and base not in sys.path:
        cwd = os.getcwd()
        sys.path.insert(1 if sys.path[:1] in ([cwd], [""]) else 0, base)
    if _is_file_target(target):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise CliError(f"cannot load {what}: file not found: {target}")
        module_name = path.stem if path.stem.isidentifier() else "durable_cli_module"
        existing = sys.modules.get(module_name)
        if existing is not None and getattr(existing, "__file__", None) == str(path):
            return existing
        if existing is not None:
            module_name = f"durable_cli_{abs(hash(str(path))):x}_{module_name}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise CliError(f"cannot load {what}: not a Python file: {target}")
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


def _import(target: str, what: str, base: str | None) -> Any:
    """Import ``target`` (a module or a .py file) for ``what``; problems become :class:`CliError`."""
    try:
        return _import_target(target, what, base)
    except CliError:
        raise
    except SystemExit as exc:
        raise CliError(f"cannot import {target!r} for {what}: it called exit({exc.code})") from None
    except Exception as exc:
        raise CliError(f"cannot import {target!r} for {what}: {type(exc).__name__}: {exc}") from None


def load_function(spec: FunctionSpec) -> Callable[..., Any]:
    """Import the callable ``spec`` names; import problems become :class:`CliError`."""
    obj = _import(spec.target, f"{spec.option} {spec.raw!r}", spec.base)
    for part in spec.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CliError(
                f"bad {spec.option} {spec.raw!r}: {spec.target!r} has no attribute {spec.attr!r}"
            ) from None
    if not callable(obj):
        raise CliError(f"bad {spec.option} {spec.raw!r}: {spec.target}:{spec.attr} is not callable")
    fn: Callable[..., Any] = obj
    return fn


def module_functions(ref: FunctionModule) -> list[tuple[FunctionSpec, Callable[..., Any]]]:
    """Every public function the module of ``ref`` defines (not those it imports), each under
    its name in the module."""
    module = _import(ref.target, f"{ref.option} {ref.raw!r}", ref.base)
    found: list[tuple[FunctionSpec, Callable[..., Any]]] = []
    for attr, obj in vars(module).items():
        if attr.startswith("_") or isinstance(obj, type) or not callable(obj):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        spec = FunctionSpec(attr, ref.target, attr, f"{ref.target}:{attr}", ref.option, ref.base)
        found.append((spec, obj))
    if not found:
        raise CliError(f"bad {ref.option} {ref.raw!r}: {ref.target} defines no public function")
    return found


@contextlib.contextmanager
def local_imports() -> Iterator[None]:
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


def iso(date: datetime | float | None) -> str | None:
    """``2025-01-01T12:00:00.000+00:00`` (a datetime of the Python API, or epoch seconds)."""
    if date is None:
        return None
    if not isinstance(date, datetime):
        date = datetime.fromtimestamp(date, UTC)
    return date.astimezone(UTC).isoformat(timespec="milliseconds")


def execution_summary(execution: Execution) -> dict[str, Any]:
    """The JSON object ``durable run`` prints for a finished execution."""
    out: dict[str, Any] = {"status": str(execution.status)}
    if execution.status is ExecutionStatus.SUCCEEDED:
        out["output"] = execution.output
    else:
        out["error"] = execution.error
        out["cause"] = execution.cause
    out["executionArn"] = execution.execution_arn
    out["startDate"] = iso(execution.start_date)
    out["stopDate"] = iso(execution.stop_date)
    return out


def dump(value: Any, stream: TextIO) -> None:
    """Write ``value`` as indented JSON (one document) and flush."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
        stream.write(text + "\n")
    except UnicodeEncodeError:
        stream.write(json.dumps(value, indent=2) + "\n")
    stream.flush()


def dump_line(value: Any, stream: TextIO) -> None:
    """Write ``value`` as one line of compact JSON (JSON Lines) and flush."""
    try:
        stream.write(json.dumps(value, ensure_ascii=False) + "\n")
    except UnicodeEncodeError:
        stream.write(json.dumps(value) + "\n")
    stream.flush()


def machine_name(path: str) -> str:
    """A state machine name derived from a definition file name (``-``: ``durable-cli``)."""
    if path == "-":
        return "durable-cli"
    stem = Path(path).name
    for suffix in (".json", ".asl"):
        stem = stem.removesuffix(suffix)
    name = _MACHINE_NAME_BAD.sub("-", stem).strip("-")[:80]
    return name or "durable-cli"


def diagnostic_errors(diagnostics: Sequence[Diagnostic], source: str) -> CliError:
    lines = [f"invalid state machine definition in {source}:"] + [str(d) for d in diagnostics]
    return CliError(*lines)


# -- the event loop ------------------------------------------------------------------------------


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
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


# -- definitions from files and templates ---------------------------------------------------------


def add_template_arguments(parser: argparse.ArgumentParser) -> None:
    """``--logical-id`` and ``--substitution``: a state machine from a CloudFormation/SAM/CDK template."""
    parser.add_argument(
        "--logical-id",
        metavar="ID",
        help="from a CloudFormation/SAM/CDK template: the state machine's logical id (when it has several)",
    )
    parser.add_argument(
        "--substitution",
        "-s",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="substitutions",
        help="replace ${KEY} in the definition (overrides DefinitionSubstitutions and template "
        "parameters of that name; repeatable)",
    )
    parser.set_defaults(config_substitutions=None)  # the configuration file's (see .cli_config)


def parse_substitutions(raw: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"bad --substitution {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def read_definition(
    path: str,
    logical_id: str | None = None,
    substitutions: Sequence[str] | dict[str, str] = (),
    defaults: Mapping[str, str] | None = None,
) -> str:
    """The definition (JSON text) at ``path``: an ASL file (JSON or YAML), ``-`` (standard input),
    or a CloudFormation/SAM/CDK template (see :mod:`durable.runtime.templates`).

    ``defaults`` are substitutions (of the configuration file) that ``substitutions`` override;
    unlike those, they are not applied to standard input."""
    return read_source(path, logical_id, substitutions, defaults).definition


def read_source(
    path: str,
    logical_id: str | None = None,
    substitutions: Sequence[str] | dict[str, str] = (),
    defaults: Mapping[str, str] | None = None,
) -> DefinitionSource:
    """:func:`read_definition`, with what a template says of the state machine besides (its
    name, type, logging and tracing)."""
    from ..runtime.templates import DefinitionSource, TemplateError, load_state_machine

    subs = substitutions if isinstance(substitutions, dict) else parse_substitutions(substitutions)
    if path == "-":
        if logical_id or subs:
            raise CliError("--logical-id and --substitution need a definition file, not standard input")
        return DefinitionSource(read_text(path, "definition"))
    if defaults:
        subs = {**defaults, **subs}
    file = Path(path)
    templated = file.suffix.lower() in (".yaml", ".yml") or bool(logical_id or subs)
    if not templated:
        text = read_text(path, "definition")
        if '"Resources"' not in text:
            return DefinitionSource(text)
        try:
            templated = isinstance(doc := json.loads(text), dict) and "Resources" in doc
        except ValueError:
            return DefinitionSource(text)
        if not templated:
            return DefinitionSource(text)
    try:
        return load_state_machine(file, state_machine=logical_id, substitutions=subs)
    except TemplateError as exc:
        raise CliError(exc.message) from None


def engine_clock() -> Any:
    """The clock ``$DURABLE_WAIT_TIME_SCALE`` asks for (Step Functions Local's ``WAIT_TIME_SCALE``:
    ``0.01`` makes every Wait, back-off and timeout 100 times shorter), else None (wall time)."""
    from ..testing.clock import ScaledClock

    text = os.environ.get("DURABLE_WAIT_TIME_SCALE", "").strip()
    if not text:
        return None
    try:
        return ScaledClock(float(text))
    except ValueError:
        raise CliError(f"DURABLE_WAIT_TIME_SCALE must be a positive number, not {text!r}") from None
