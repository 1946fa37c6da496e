"""``durable test``: run the test cases of an AWS Step Functions Local MockConfigFile."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from ..testing.kit import Kit
from ..testing.mockconfig import CaseResult, MockConfig, MockConfigError, run_test_case
from .cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    add_function_argument,
    add_template_arguments,
    dump,
    function_refs,
    load_functions,
    local_imports,
    machine_type,
    read_definition,
    run_async,
)

__all__ = ["add_commands"]

_DESCRIPTION = """\
Run every test case of MOCKCONFIG (AWS Step Functions Local's MockConfigFile format) against the
state machine in --definition: one execution per test case, its mocked states answered from the
file, on a clock that skips Waits, retry back-offs and timeouts. Prints one row per test case:
its name, final status, error and the states visited.

As an extension of the format, a state machine of the file may have "Expectations": test case
name -> {"Input": ..., "Status": ..., "Output": ..., "Error": ..., "Cause": ..., "StatesVisited": [...]}
("Input" is the execution's input; the others are checked).
"""

_EPILOG = """\
examples:
  durable test MockConfigFile.json --definition machine.asl.json
  durable test MockConfigFile.json --definition template.yaml --state-machine OrderFlow
  durable test MockConfigFile.json --definition cdk.out/Stack.template.json --logical-id Flow1234
  durable test MockConfigFile.json --definition machine.asl.json --test-case HappyPath --output json

exit codes: 0 every expectation met, 1 an expectation failed, 2 usage or input error.
"""


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "test",
        help="run the test cases of a MockConfigFile (mocked services) and check their expectations",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument(
        "mock_config",
        nargs="?",
        metavar="MOCKCONFIG",
        help="the MockConfigFile (JSON); default: mocks of the configuration file",
    )
    p.add_argument(
        "--definition", "-d", required=True, metavar="FILE", help="ASL file (JSON/YAML) or a template"
    )
    p.add_argument(
        "--state-machine",
        metavar="NAME",
        help="the state machine of MOCKCONFIG (optional when it names one); also the template's "
        "logical id when --logical-id is not given and the template has several",
    )
    p.add_argument(
        "--test-case",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this test case (repeatable)",
    )
    p.add_argument(
        "--type",
        "-t",
        type=machine_type,
        default="STANDARD",
        metavar="STANDARD|EXPRESS",
        help="default STANDARD",
    )
    p.add_argument("--output", "-o", choices=("table", "json"), default="table", help="default table")
    add_function_argument(p)
    add_template_arguments(p)
    p.set_defaults(handler=_cmd_test)


def _cmd_test(args: argparse.Namespace) -> int:
    if args.mock_config is None:
        raise CliError("MOCKCONFIG is missing: give the MockConfigFile, or mocks = FILE in .durable.toml")
    try:
        config = MockConfig.load(args.mock_config)
        machine = config.state_machine(args.state_machine)
        cases = config.test_cases(machine)
    except MockConfigError as exc:
        raise CliError(exc.message) from None
    if args.test_case:
        missing = sorted(set(args.test_case) - {c.name for c in cases})
        if missing:
            raise CliError(f"no test case {', '.join(missing)} for {machine} in {args.mock_config}")
        cases = [c for c in cases if c.name in args.test_case]
    logical_id = args.logical_id
    try:
        definition = read_definition(
            args.definition, logical_id, args.substitutions, args.config_substitutions
        )
    except CliError:
        if logical_id is not None or args.state_machine is None:
            raise
        definition = read_definition(
            args.definition, args.state_machine, args.substitutions, args.config_substitutions
        )
    refs = function_refs(args)

    async def go() -> list[CaseResult]:
        with local_imports(), contextlib.redirect_stdout(sys.stderr):
            functions = load_functions(refs)
        async with Kit() as kit:
            for spec, fn in functions:
                kit.register_function(spec.name, fn)
            created = await kit.create(definition, name=_safe(machine), type=args.type)
            return [await run_test_case(kit, created, case) for case in cases]

    results = run_async(go())
    if args.output == "json":
        dump([_row(r) for r in results], sys.stdout)
    else:
        _table(results)
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80] or "machine"


def _row(result: CaseResult) -> dict[str, Any]:
    done = result.execution
    return {
        "testCase": result.case.name,
        "status": str(done.status),
        "error": done.error,
        "cause": done.cause,
        "output": done.output,
        "statesVisited": result.states,
        "passed": result.passed,
        "problems": result.problems,
    }


def _table(results: list[CaseResult]) -> None:
    checked = any(r.case.expect for r in results)
    head = ["TEST CASE", "STATUS", "ERROR", "STATES VISITED"] + (["RESULT"] if checked else [])
    rows = [head]
    for r in results:
        row = [r.case.name, str(r.execution.status), r.execution.error or "-", " > ".join(r.states) or "-"]
        if checked:
            row.append("ok" if r.passed else "FAIL" if r.case.expect else "-")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for r in results:
        for problem in r.problems:
            print(f"{r.case.name}: {problem}", file=sys.stderr)
    failed = sum(not r.passed for r in results)
    summary = f"{len(results)} test case(s), {failed} failed" if checked else f"{len(results)} test case(s)"
    print(summary, file=sys.stderr)
