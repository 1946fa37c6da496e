"""``durable map-runs EXECUTION``: an execution's Distributed Map runs, their counts, and — with
``--watch`` — a progress line per Map Run, redrawn until every run has ended."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

import msgspec

from ..runtime.mapruns import MapRun
from .cli_common import EXIT_OK, dump, run_async
from .cli_db import add_db_argument
from .cli_engine import engine_session
from .cli_executions import existing_db
from .cli_names import execution_arn
from .cli_output import add_output_argument, local_time, write_table
from .cli_progress import console_for, watching

__all__ = ["add_commands", "progress_line"]

_BAR = 24
_ENDED = ("SUCCEEDED", "FAILED", "ABORTED")


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``map-runs`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "map-runs",
        help="list an execution's Distributed Map runs and their item counts (--watch: progress)",
        description="List the Map Runs (AWS ListMapRuns + DescribeMapRun) an execution started.",
        formatter_class=formatter,
    )
    p.add_argument(
        "execution_arn",
        metavar="EXECUTION",
        help="the execution: its ARN, MACHINE:NAME, or its NAME when no other execution has it",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="show a progress line per Map Run, refreshed every --interval seconds, until all have ended",
    )
    p.add_argument(
        "--interval", type=float, default=1.0, metavar="SECONDS", help="refresh period (default 1)"
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="--watch: plain progress lines on standard output, not the live display on a terminal",
    )
    add_output_argument(p)
    add_db_argument(p)
    p.set_defaults(handler=_cmd_map_runs)


def progress_line(run: MapRun) -> str:
    """``L:3f2a  RUNNING  [#########.......]  420/1000 items  ok 400  failed 20  running 10``."""
    items = run.item_counts
    done = items.succeeded + items.failed + items.timed_out + items.aborted
    filled = _BAR * done // items.total if items.total else (_BAR if run.status in _ENDED else 0)
    bar = "#" * filled + "." * (_BAR - filled)
    name = run.map_run_arn.split(":mapRun:", 1)[-1].split("/", 1)[-1]
    parts = [
        f"{name}  {run.status:<9} [{bar}] {done}/{items.total} items",
        f"ok {items.succeeded}",
        f"failed {items.failed + items.timed_out}",
        f"running {items.running}",
    ]
    if items.aborted:
        parts.append(f"aborted {items.aborted}")
    return "  ".join(parts)


def _cmd_map_runs(args: argparse.Namespace) -> int:
    db = existing_db(args)

    async def go() -> list[MapRun]:
        async with engine_session(db) as engine:
            arn = await execution_arn(engine, args.execution_arn, str(db))
            runs = await engine.list_map_runs(arn)
            if args.watch:
                console = console_for(args.no_progress)
                if console is not None:  # a live display on the terminal (standard error)
                    async with watching(engine, arn, console) as view:
                        runs = await _until_ended(engine, arn, max(0.05, args.interval))
                        del view
                    return runs
                runs = await _watch(engine, arn, runs, max(0.05, args.interval), sys.stdout)
            return runs

    runs = run_async(go())
    if args.watch:
        return EXIT_OK
    if args.output == "table":
        head = ("MAP RUN", "STATUS", "ITEMS", "SUCCEEDED", "FAILED", "STARTED", "STOPPED")
        rows = [
            (
                r.map_run_arn,
                r.status,
                str(r.item_counts.total),
                str(r.item_counts.succeeded),
                str(r.item_counts.failed + r.item_counts.timed_out),
                local_time(r.start_date),
                local_time(r.stop_date),
            )
            for r in runs
        ]
        write_table(sys.stdout, head, rows)
    else:
        dump({"mapRuns": [_json(r) for r in runs]}, sys.stdout)
    return EXIT_OK


def _json(run: MapRun) -> dict[str, Any]:
    """DescribeMapRun's shape, dates in ISO 8601."""

    out: dict[str, Any] = {
        "mapRunArn": run.map_run_arn,
        "executionArn": run.execution_arn,
        "status": run.status,
        "startDate": run.start_date.isoformat(),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "toleratedFailureCount": run.tolerated_failure_count,
        "itemCounts": msgspec.to_builtins(run.item_counts),
        "executionCounts": msgspec.to_builtins(run.execution_counts),
        "redriveCount": run.redrive_count,
    }
    for key, date in (("stopDate", run.stop_date), ("redriveDate", run.redrive_date)):
        if date is not None:
            out[key] = date.isoformat()
    return out


async def _until_ended(engine: Any, arn: str, interval: float) -> list[MapRun]:
    """Wait until the execution and every one of its Map Runs have ended."""
    while True:
        runs: list[MapRun] = await engine.list_map_runs(arn)
        execution = await engine.describe_execution(arn)
        if str(execution.status) != "RUNNING" and all(r.status in _ENDED for r in runs):
            return runs
        await asyncio.sleep(interval)


async def _watch(engine: Any, arn: str, runs: list[MapRun], interval: float, out: TextIO) -> list[MapRun]:
    """Redraw the runs' progress lines until every run (and the execution) has ended."""
    tty = out.isatty()
    last: list[str] = []
    while True:
        lines = [progress_line(r) for r in runs] or ["(no Map Run yet)"]
        if lines != last:
            if tty and last:
                out.write(f"\x1b[{len(last)}F\x1b[J")  # back over the previous lines, clear them
            out.write("\n".join(lines) + "\n")
            out.flush()
            last = lines
        execution = await engine.describe_execution(arn)
        if str(execution.status) != "RUNNING" and all(r.status in _ENDED for r in runs):
            return runs
        await asyncio.sleep(interval)
        runs = await engine.list_map_runs(arn)
