"""A million parked Standard executions: resident memory while parked and while the engine opens.

Run::

    python bench/parked.py                          # 1,000,000 parked (+ 10,000), a few minutes
    python bench/parked.py --executions 100000      # a quicker run

Half of the executions park on a long ``Wait`` (due about 3 years from now), half on a task token
(``arn:aws:states:::lambda:invoke.waitForTaskToken`` calling a local function that returns
without answering). Every phase runs in a FRESH child process of this script, so each resident
figure is that phase's own (``VmRSS``/``VmHWM`` from ``/proc/self/status``; the peak is reset
with ``/proc/self/clear_refs`` right before the measured step):

1. ``create``: one process starts the executions on a SQLite file (N workers, group commit) and
   waits until every one is parked (no coroutine left); it is then SIGKILLed, as in a crash.
   This is done for a small database (``--small``) and the full one (``--executions``).
2. ``open``: a fresh process builds ``Engine(store=SqliteStore(path))`` and times ``await
   engine.open()`` plus the recovery (until no execution is resident); peak RSS during open and
   recovery, then steady RSS while everything stays parked. The two sizes are opened in turn,
   ``--repeat`` times each, in the same run: ``open_ratio`` (full / small median open time)
   shows whether opening depends on the number parked.
3. the last open of each size also answers one token (``send_task_success``; the execution must
   then SUCCEED), stops one waiting execution (it must end ABORTED) and describes one.

Prints one JSON object per line; progress goes to stderr. Nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchinfo import common, first_json_line

from durable import Engine
from durable.store.sqlite import QuickCheck, SqliteStore

LONG_WAIT_SECONDS = 99_999_999  # the largest Wait ASL accepts: about 3 years

WAIT_MACHINE = {
    "StartAt": "Sleep",
    "States": {
        "Sleep": {"Type": "Wait", "Seconds": LONG_WAIT_SECONDS, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}

TOKEN_MACHINE = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "submit", "Payload": {"token.$": "$$.Task.Token", "i.$": "$.i"}},
            "ResultPath": "$.answer",
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}

GOAL_RSS_MB = 500.0


def submit(event: Any, context: Any) -> Any:
    """Hands the token to nobody: the execution waits for an answer."""
    return None


# --------------------------------------------------------------------------------------------
# Resident memory
# --------------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _common() -> dict[str, Any]:
    return common()


def _progress(text: str) -> None:
    print(f"[parked] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Children
# --------------------------------------------------------------------------------------------


async def child_create(db: str, count: int, concurrency: int) -> None:
    """Start ``count`` executions (half Wait, half token), wait until all are parked, report."""
    engine = Engine(store=SqliteStore(db))
    engine.register_function("submit", submit, blocking=False)
    await engine.open()
    waiting = await engine.create_state_machine("parked-wait", WAIT_MACHINE)
    tokened = await engine.create_state_machine("parked-token", TOKEN_MACHINE)
    running = engine.standard.running
    next_index = 0
    t0 = time.perf_counter()
    reset_peak()

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            while len(running) > 4 * concurrency:  # let the started ones park first
                await asyncio.sleep(0.005)
            arn = tokened.arn if i % 2 else waiting.arn
            await engine.start_execution(arn, {"i": i})

    async def report() -> None:
        while True:
            await asyncio.sleep(5)
            rate = next_index / (time.perf_counter() - t0)
            _progress(f"{db}: {next_index}/{count} started ({rate:.0f}/s), {len(running)} resident")

    reporter = asyncio.ensure_future(report())
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    started_s = time.perf_counter() - t0
    while running:
        await asyncio.sleep(0.05)
    parked_s = time.perf_counter() - t0
    reporter.cancel()
    gc.collect()
    await asyncio.sleep(1.0)
    info = {
        "executions": count,
        "start_s": round(started_s, 2),
        "all_parked_s": round(parked_s, 2),
        "executions_per_s": round(count / parked_s, 1),
        "peak_rss_mb": peak_mb(),
        "parked_rss_mb": rss_mb(),
        "transactions": engine.store.stats.transactions,  # type: ignore[attr-defined]
    }
    print(json.dumps(info), flush=True)
    await asyncio.sleep(3600)  # the parent SIGKILLs this process (a crash: nothing is closed)


async def child_open(db: str, check: bool, quick_check: QuickCheck) -> None:
    """Open the engine on ``db``: time it, measure resident memory, optionally answer one."""
    gc.collect()
    rss_before = rss_mb()
    resettable = reset_peak()
    t0 = time.perf_counter()
    engine = Engine(store=SqliteStore(db, quick_check=quick_check))
    engine.register_function("submit", submit, blocking=False)
    await engine.open()
    open_s = time.perf_counter() - t0
    resident_at_open = len(engine.standard.running)
    while engine.standard.running:
        await asyncio.sleep(0.01)
    recovery_s = time.perf_counter() - t0
    peak_open = peak_mb()
    await asyncio.sleep(2.0)
    gc.collect()
    info: dict[str, Any] = {
        "open_s": round(open_s, 4),
        "recovery_s": round(recovery_s, 4),
        "resident_at_open": resident_at_open,
        "rss_before_open_mb": rss_before,
        "peak_rss_open_mb": peak_open if resettable else None,
        "steady_rss_mb": rss_mb(),
    }
    if check:
        info.update(await _answer_one(engine))
        info["peak_rss_total_mb"] = peak_mb()
    await engine.close()
    print(json.dumps(info), flush=True)


async def _answer_one(engine: Engine) -> dict[str, Any]:
    """One token answered (must SUCCEED), one Wait stopped (must be ABORTED), one described."""
    machines = {m.name: m.arn for m in await engine.list_state_machines()}
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    [tokened] = await engine.list_executions(machines["parked-token"], "RUNNING", max_results=1)
    tokens = await engine.store.open_tokens(tokened.execution_arn)
    await engine.send_task_success(tokens[0].token, {"approved": True})
    done = await engine.wait_for_execution(tokened.execution_arn)
    out["answered_status"] = str(done.status)
    out["answered_s"] = round(time.perf_counter() - t0, 4)
    t0 = time.perf_counter()
    [waiting] = await engine.list_executions(machines["parked-wait"], "RUNNING", max_results=1)
    described = await engine.describe_execution(waiting.execution_arn)
    out["described_status"] = str(described.status)
    await engine.stop_execution(waiting.execution_arn, error="bench", cause="stopped while parked")
    stopped = await engine.wait_for_execution(waiting.execution_arn)
    out["stopped_status"] = str(stopped.status)
    out["stopped_s"] = round(time.perf_counter() - t0, 4)
    out["check_ok"] = out["answered_status"] == "SUCCEEDED" and out["stopped_status"] == "ABORTED"
    return out


# --------------------------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------------------------


def _child(args: list[str], *, timeout: float, kill_after_line: bool) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdout=subprocess.PIPE,
        stderr=None,  # progress goes straight through
        text=True,
    )
    line = ""
    try:
        assert proc.stdout is not None
        line = first_json_line(proc.stdout, timeout)
    finally:
        if kill_after_line or not line.startswith("{"):
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    if not line.startswith("{"):
        return {"error": f"child {args[:2]} gave no result (exit {proc.returncode})"}
    info: dict[str, Any] = json.loads(line)
    if kill_after_line:
        info["sigkilled"] = proc.returncode == -signal.SIGKILL
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000, help="parked executions (full size)")
    parser.add_argument("--small", type=int, default=10_000, help="parked executions (small size)")
    parser.add_argument("--concurrency", type=int, default=1000, help="starts in flight while creating")
    parser.add_argument("--repeat", type=int, default=3, help="opens of each size (alternating)")
    parser.add_argument(
        "--quick-check",
        choices=("auto", "always", "never"),
        default="auto",
        help="SqliteStore(quick_check=...) of the opens (auto: the store's default)",
    )
    parser.add_argument("--dir", default=None, help="keep the databases in this directory (reused)")
    parser.add_argument("--child", choices=("create", "open"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "create":
        asyncio.run(child_create(args.db, args.executions, args.concurrency))
        return 0
    if args.child == "open":
        asyncio.run(child_open(args.db, args.check, args.quick_check))
        return 0

    small = min(args.small, max(1, args.executions // 10))
    sizes = {"small": small, "full": args.executions}
    directory = args.dir or tempfile.mkdtemp(prefix="durable-parked-")
    os.makedirs(directory, exist_ok=True)
    common = _common()
    lines: list[dict[str, Any]] = []
    try:
        dbs = {}
        for label, count in sizes.items():
            db = dbs[label] = os.path.join(directory, f"parked-{count}.db")
            if args.dir and os.path.exists(db):
                _progress(f"reusing {db}")
                continue
            _progress(f"creating {count} parked executions in {db}")
            info = _child(
                [
                    "--child",
                    "create",
                    "--db",
                    db,
                    "--executions",
                    str(count),
                    "--concurrency",
                    str(args.concurrency),
                ],
                timeout=7200,
                kill_after_line=True,
            )
            info.update(name=f"create.{label}", db_bytes=os.path.getsize(db), **common)
            print(json.dumps(info), flush=True)
            if "error" in info:
                return 1
        opens: dict[str, list[dict[str, Any]]] = {label: [] for label in sizes}
        for r in range(args.repeat):
            for label in sizes:
                _progress(f"opening {label} ({sizes[label]} parked), round {r + 1}/{args.repeat}")
                extra = ["--check"] if r == args.repeat - 1 else []
                info = _child(
                    ["--child", "open", "--db", dbs[label], "--quick-check", args.quick_check, *extra],
                    timeout=3600,
                    kill_after_line=False,
                )
                info.update(name=f"open.{label}", executions=sizes[label], round=r + 1, **common)
                info.update(quick_check=args.quick_check, db_bytes=os.path.getsize(dbs[label]))
                print(json.dumps(info), flush=True)
                opens[label].append(info)
                lines.append(info)
        summary = _summary(sizes, opens)
        summary.update(common)
        print(json.dumps(summary), flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


def _summary(sizes: dict[str, int], opens: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def med(label: str, key: str) -> float | None:
        values = [o[key] for o in opens[label] if o.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    def top(label: str, key: str) -> float | None:
        values = [o[key] for o in opens[label] if o.get(key) is not None]
        return max(values) if values else None

    out: dict[str, Any] = {"name": "parked", "executions": sizes["full"], "small_executions": sizes["small"]}
    out["quick_check"] = next((o["quick_check"] for group in opens.values() for o in group), None)
    for label in sizes:
        out[f"open_s_median_{label}"] = med(label, "open_s")
        out[f"recovery_s_median_{label}"] = med(label, "recovery_s")
        out[f"peak_rss_open_mb_max_{label}"] = top(label, "peak_rss_open_mb")
        out[f"steady_rss_mb_median_{label}"] = med(label, "steady_rss_mb")
    small_open, full_open = out["open_s_median_small"], out["open_s_median_full"]
    if small_open and full_open:
        out["open_ratio_full_vs_small"] = round(full_open / small_open, 2)
    peaks = [
        v
        for o in opens["full"]
        for v in (o.get("peak_rss_open_mb"), o.get("steady_rss_mb"), o.get("peak_rss_total_mb"))
        if v is not None
    ]
    out["peak_rss_mb_full"] = max(peaks) if peaks else None
    out["rss_goal_mb"] = GOAL_RSS_MB
    out["rss_goal_met"] = bool(peaks) and max(peaks) < GOAL_RSS_MB
    out["check_ok"] = all(o[-1].get("check_ok") for o in opens.values() if o)
    errors = [o["error"] for group in opens.values() for o in group if "error" in o]
    if errors:
        out["errors"] = errors
    return out


if __name__ == "__main__":
    raise SystemExit(main())
