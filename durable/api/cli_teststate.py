"""``durable test-state``: AWS TestState from the command line (one state, once, in memory)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from ..interpreter.teststate import FIELD_VALIDATION_MODES, INSPECTION_LEVELS
from ..runtime.engine import Engine
from .cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    add_function_argument,
    add_input_argument,
    dump,
    function_refs,
    input_text,
    load_functions,
    local_imports,
    read_text,
    run_async,
)

__all__ = ["add_commands"]

_DESCRIPTION = """\
Run one state of a definition once, as AWS Step Functions' TestState API does, and print
TestState's response as JSON:
  {"output": "...", "inspectionData": {...}, "nextState": "...", "status": "SUCCEEDED"}
status is SUCCEEDED, FAILED, RETRIABLE (a Retry would retry the error) or CAUGHT_ERROR (a Catch
handles it; nextState is its Next). output and inspectionData hold JSON text, as AWS sends them.

DEFINITION is one state ({"Type": "Pass", ...}), or a whole state machine with --state-name.
A Task without a mock really calls its resource (Lambda functions: --function; AWS services:
the durable-aws plugin). Map and Parallel states run only with a mock. Wait states do not wait.
"""

_EPILOG = """\
examples:
  durable test-state pass.json --input '{"a": 1}' --inspection-level DEBUG
  durable test-state machine.asl.json --state-name Check --input @input.json
  durable test-state task.json --mock-result '{"StatusCode": 200}'
  durable test-state task.json --mock-error States.TaskFailed --mock-cause boom --retrier-retry-count 1
  durable test-state task.json --role-arn arn:aws:iam::111111111111:role/test --function greet=tasks:greet

exit codes: 0 SUCCEEDED; 1 FAILED, RETRIABLE or CAUGHT_ERROR; 2 usage or request error
(InvalidDefinition, ValidationException, bad JSON, ...).
"""


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``test-state`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "test-state",
        help="run one state once (AWS TestState) and print the response as JSON",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("definition", metavar="DEFINITION", help="state or state machine JSON file, or -")
    p.add_argument("--state-name", metavar="NAME", help="the state of the machine DEFINITION to test")
    add_input_argument(p)
    p.add_argument("--variables", metavar="JSON|@FILE", help="workflow variables (a JSON object)")
    p.add_argument("--context", metavar="JSON|@FILE", help="the context object (only with a mock)")
    p.add_argument("--role-arn", metavar="ARN", help="the execution role (needed by a Task without a mock)")
    p.add_argument(
        "--inspection-level",
        choices=INSPECTION_LEVELS,
        default="INFO",
        help="INFO (default): the output; DEBUG and TRACE add the data processing steps",
    )
    p.add_argument("--reveal-secrets", action="store_true", help="as AWS's revealSecrets (not with a mock)")
    mock = p.add_argument_group("mock")
    mock.add_argument("--mock-result", metavar="TEXT|@FILE", help="the state's mocked result (JSON text)")
    mock.add_argument("--mock-error", metavar="ERROR", help="the state fails with this error")
    mock.add_argument("--mock-cause", metavar="CAUSE", help="... and this cause")
    mock.add_argument(
        "--field-validation-mode",
        choices=FIELD_VALIDATION_MODES,
        help="how a mocked result is checked against the service's response shape (default STRICT)",
    )
    config = p.add_argument_group("state configuration")
    config.add_argument("--retrier-retry-count", type=int, metavar="N", help="retries already made")
    config.add_argument("--error-caused-by-state", metavar="NAME", help="the state a mocked error comes from")
    config.add_argument(
        "--map-iteration-failure-count", type=int, metavar="N", help="Map iterations that failed"
    )
    config.add_argument("--map-item-reader-data", metavar="JSON|@FILE", help="what a Map's ItemReader read")
    add_function_argument(p)
    p.set_defaults(handler=_cmd_test_state)


def _text(spec: str | None) -> str | None:
    """TEXT, or the content of @FILE (sent as it is: the request's checks name what is wrong)."""
    if spec is None or not spec.startswith("@"):
        return spec
    if not spec[1:]:
        raise CliError("@FILE needs a file name after @")
    return read_text(spec[1:], "file")


def _mock(args: argparse.Namespace) -> dict[str, Any] | None:
    mock: dict[str, Any] = {}
    result = _text(args.mock_result)
    if result is not None:
        mock["result"] = result
    if args.mock_error is not None or args.mock_cause is not None:
        if args.mock_error is None:
            raise CliError("--mock-cause needs --mock-error")
        mock["errorOutput"] = {"error": args.mock_error, "cause": args.mock_cause}
    if args.field_validation_mode is not None:
        if not mock:
            raise CliError("--field-validation-mode needs --mock-result")
        mock["fieldValidationMode"] = args.field_validation_mode
    return mock or None


def _configuration(args: argparse.Namespace) -> dict[str, Any] | None:
    config = {
        "retrierRetryCount": args.retrier_retry_count,
        "errorCausedByState": args.error_caused_by_state,
        "mapIterationFailureCount": args.map_iteration_failure_count,
        "mapItemReaderData": _text(args.map_item_reader_data),
    }
    given = {k: v for k, v in config.items() if v is not None}
    return given or None


def _cmd_test_state(args: argparse.Namespace) -> int:
    stdin = args.definition == "-"
    definition = read_text(args.definition, "definition")
    request: dict[str, Any] = {
        "input_json": input_text(args.input, stdin),
        "state_name": args.state_name,
        "variables": None if args.variables is None else input_text(args.variables, stdin, "--variables"),
        "context": None if args.context is None else input_text(args.context, stdin, "--context"),
        "role_arn": args.role_arn,
        "inspection_level": args.inspection_level,
        "reveal_secrets": args.reveal_secrets,
        "mock": _mock(args),
        "state_configuration": _configuration(args),
    }
    refs = function_refs(args)
    with local_imports(), contextlib.redirect_stdout(sys.stderr):  # task prints go to stderr
        functions = load_functions(refs)

        async def test() -> dict[str, Any]:
            async with Engine() as engine:
                for spec, fn in functions:
                    try:
                        engine.register_function(spec.name, fn)
                    except ValueError as exc:
                        raise CliError(f"bad --function {spec.raw!r}: {exc}") from None
                result = await engine.test_state(definition, **request)
                return result.to_dict()

        response = run_async(test())
    dump(response, sys.stdout)
    return EXIT_OK if response["status"] == "SUCCEEDED" else EXIT_FAILED
