"""Durable Standard executions on SQLite: throughput, persisted events, crash recovery.

Run::

    python bench/standard.py [--quick] [--repeat N] [--only NAME[,NAME...]]

Prints one JSON object per line (``name`` plus figures whose unit is in the key name):

* ``raw_sqlite_events``: the ceiling of the same run — ``sqlite3`` ``executemany`` of event
  rows shaped like the ``events`` table (and with its unique index), in ONE transaction,
  WAL + ``synchronous=NORMAL``;
* ``pass3.c<N>[.full]`` / ``task3.c<N>[.full]``: a chain of 3 Pass states / 3 Task states
  (local functions registered with ``blocking=False``) as STANDARD executions on a SQLite
  file in a temp dir, N executions in flight at once (N asyncio workers, each looping
  ``start_execution`` + ``wait_for_execution``); executions/s, persisted history events/s
  (counted in the database) and ``events_vs_raw_pct``;
* ``recovery``: a child process starts the executions of a ``Task -> Pass`` machine whose task
  function never returns, and is SIGKILLed once every execution is inside its task (so all of
  them are RUNNING and resident at the crash); the parent then opens ``Engine(db)`` and times
  the open and the moment every execution has re-invoked its task.

Each throughput case runs one warm-up round, then ``--repeat`` timed rounds (each preceded by
``gc.collect()``) and reports the MEDIAN round. Nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchinfo import common, first_json_line

from durable import Engine
from durable.store.sqlite import SqliteStore

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"

PASS_CHAIN_3 = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Next": "Two"},
        "Two": {"Type": "Pass", "Next": "Three"},
        "Three": {"Type": "Pass", "End": True},
    },
}

TASK_CHAIN_3 = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Task", "Resource": LAMBDA + "step", "Next": "Two"},
        "Two": {"Type": "Task", "Resource": LAMBDA + "step", "Next": "Three"},
        "Three": {"Type": "Task", "Resource": LAMBDA + "step", "End": True},
    },
}

# the recovery machine: every execution sits in its first Task when the process dies
HANG_THEN_PASS = {
    "StartAt": "Hang",
    "States": {
        "Hang": {"Type": "Task", "Resource": LAMBDA + "hang", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}

INPUT = {"value": 42, "name": "bench"}

# executions per worker and round: (concurrency, loops per worker), per mode
CASES_FULL = [(1, 300), (100, 20), (1000, 5)]
CASES_QUICK = [(1, 100), (100, 5), (1000, 2)]
RECOVERY_FULL = 10_000
RECOVERY_QUICK = 10_000


def _common() -> dict[str, Any]:
    return common()


def step(event: Any, context: Any) -> Any:
    return event


# --------------------------------------------------------------------------------------------
# Raw SQLite ceiling
# --------------------------------------------------------------------------------------------

EVENTS_DDL = (
    """CREATE TABLE events (
        execution_id INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type TEXT NOT NULL,
        previous_event_id INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        details TEXT
    )""",
    "CREATE UNIQUE INDEX events_by_execution ON events (execution_id, id)",
)


def sample_events(db: str) -> list[tuple[str, int, str | None]]:
    """(type, previous id, details) of the events of one finished 3-Pass execution in ``db``."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT type, previous_event_id, details FROM events"
            " WHERE execution_id = (SELECT min(execution_id) FROM events) ORDER BY id"
        ).fetchall()
    return [(str(r[0]), int(r[1]), r[2]) for r in rows]


def measure_raw(
    directory: str, sample: list[tuple[str, int, str | None]], rows: int, repeat: int
) -> dict[str, Any]:
    """``executemany`` of ``rows`` event rows in one transaction, WAL + synchronous=NORMAL."""
    per = len(sample)
    executions = max(1, rows // per)
    now = time.time()
    data = [
        (x, i + 1, sample[i][0], sample[i][1], now, sample[i][2])
        for x in range(1, executions + 1)
        for i in range(per)
    ]
    times: list[float] = []
    for attempt in range(repeat + 1):  # the first is a warm-up
        path = os.path.join(directory, f"raw-{attempt}.db")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in EVENTS_DDL:
                conn.execute(statement)
            gc.collect()
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (execution_id, id, type, previous_event_id, timestamp, details)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                data,
            )
            conn.execute("COMMIT")
            elapsed = time.perf_counter() - t0
        finally:
            conn.close()
        if attempt:
            times.append(elapsed)
    med = statistics.median(times)
    return {
        "name": "raw_sqlite_events",
        "raw_events_per_s": round(len(data) / med, 1),
        "median_ms_per_transaction": round(med * 1e3, 3),
        "events": len(data),
        "event_bytes_avg": round(sum(len(d[5] or "") for d in data) / len(data), 1),
        "repeats": len(times),
        "how": "sqlite3 executemany, one transaction, WAL + synchronous=NORMAL, events table + unique index",
        **_common(),
    }


# --------------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------------


def count_events(db: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


async def run_round(engine: Engine, arn: str, concurrency: int, loops: int) -> tuple[float, int]:
    """``concurrency`` workers each run ``loops`` executions back to back; (seconds, failures)."""
    start = engine.start_execution
    wait = engine.wait_for_execution
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for _ in range(loops):
            execution = await start(arn, INPUT)
            done = await wait(execution.execution_arn)
            if done.status != "SUCCEEDED":
                failures += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, failures


async def measure_throughput(
    directory: str,
    workload: str,
    definition: dict[str, Any],
    concurrency: int,
    loops: int,
    synchronous: str,
    repeat: int,
    raw_events_per_s: float | None,
) -> dict[str, Any]:
    name = f"{workload}.c{concurrency}" + (".full" if synchronous == "FULL" else "")
    db = os.path.join(directory, f"{name}.db")
    store = SqliteStore(db, synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    async with Engine(store=store) as engine:
        engine.register_function("step", step, blocking=False)
        machine = await engine.create_state_machine(workload, definition)
        first = await engine.wait_for_execution(
            (await engine.start_execution(machine.arn, INPUT)).execution_arn
        )
        if first.status != "SUCCEEDED":
            return {"name": name, "error": f"{first.status}: {first.error}: {first.cause}", **_common()}
        await run_round(engine, machine.arn, concurrency, loops)  # warm-up
        stats = store.stats
        times: list[float] = []
        events: list[int] = []
        transactions: list[int] = []
        batches: list[int] = []
        failed = 0
        for _ in range(repeat):
            gc.collect()
            before = count_events(db)
            tx0, b0 = stats.transactions, stats.batches
            elapsed, failures = await run_round(engine, machine.arn, concurrency, loops)
            times.append(elapsed)
            failed += failures
            events.append(count_events(db) - before)
            transactions.append(stats.transactions - tx0)
            batches.append(stats.batches - b0)
    executions = concurrency * loops
    index = sorted(range(len(times)), key=times.__getitem__)[len(times) // 2]  # the median round
    med = times[index]
    ev = events[index]
    line: dict[str, Any] = {
        "name": name,
        "executions_per_s": round(executions / med, 1),
        "events_per_s": round(ev / med, 1),
        "median_us_per_execution": round(med / executions * 1e6, 2),
        "best_executions_per_s": round(executions / min(times), 1),
        "worst_executions_per_s": round(executions / max(times), 1),
        "concurrency": concurrency,
        "synchronous": synchronous,
        "executions_per_round": executions,
        "events_per_execution": round(ev / executions, 2),
        "transactions_per_execution": round(transactions[index] / executions, 3),
        "batches_per_execution": round(batches[index] / executions, 2),
        "repeats": len(times),
    }
    if raw_events_per_s:
        line["events_vs_raw_pct"] = round(100 * ev / med / raw_events_per_s, 2)
    if failed:
        line["failed_executions"] = failed
    line.update(_common())
    return line


# --------------------------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------------------------


async def child_main(db: str, count: int) -> None:
    """Start ``count`` executions that hang in their first Task; print a JSON line once all are in it."""
    invoked = 0
    ready = asyncio.Event()
    never = asyncio.Event()

    async def hang(event: Any, context: Any) -> Any:
        nonlocal invoked
        invoked += 1
        if invoked == count:
            ready.set()
        await never.wait()
        return event

    engine = Engine(f"sqlite:///{db}?synchronous=NORMAL")
    await engine.open()
    engine.register_function("hang", hang, blocking=False)
    machine = await engine.create_state_machine("recover", HANG_THEN_PASS)
    t0 = time.perf_counter()
    chunk = 1000
    for first in range(0, count, chunk):
        await asyncio.gather(
            *(
                engine.start_execution(machine.arn, INPUT, name=f"x{i:06d}")
                for i in range(first, min(count, first + chunk))
            )
        )
    started = time.perf_counter() - t0
    await ready.wait()
    print(
        json.dumps(
            {"ready": count, "start_s": round(started, 3), "in_task_s": round(time.perf_counter() - t0, 3)}
        ),
        flush=True,
    )
    await asyncio.sleep(3600)  # the parent kills this process


def crash_child(db: str, count: int, timeout: float) -> dict[str, Any]:
    """Run the child until every execution is inside its task, then SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--child-recovery", db, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = first_json_line(proc.stdout, timeout)
        if not line.startswith("{"):
            raise RuntimeError(
                f"recovery child did not get ready: {proc.stderr.read() if proc.stderr else ''}"
            )
        info: dict[str, Any] = json.loads(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    info["killed"] = proc.returncode == -signal.SIGKILL
    return info


async def recover_once(db: str, count: int, timeout: float) -> dict[str, Any]:
    """Open the engine on ``db``; time the open and the re-invocation of every task."""
    invoked = 0
    all_in = asyncio.Event()
    never = asyncio.Event()

    async def hang(event: Any, context: Any) -> Any:
        nonlocal invoked
        invoked += 1
        if invoked == count:
            all_in.set()
        await never.wait()
        return event

    before = count_events(db)
    gc.collect()
    t0 = time.perf_counter()
    store = SqliteStore(db, synchronous="NORMAL")
    engine = Engine(store=store)
    engine.register_function("hang", hang, blocking=False)
    try:
        await engine.open()
        open_s = time.perf_counter() - t0
        resident_at_open = len(engine.standard.running)
        invoked_at_open = invoked
        try:
            await asyncio.wait_for(all_in.wait(), timeout)
        except TimeoutError:
            pass
        recovery_s = time.perf_counter() - t0
        resident = len(engine.standard.running)
        transactions = store.stats.transactions
    finally:
        t1 = time.perf_counter()
        await engine.close()
        close_s = time.perf_counter() - t1
    return {
        "open_s": open_s,
        "recovery_s": recovery_s,
        "resident_at_open": resident_at_open,
        "invoked_at_open": invoked_at_open,
        "invoked": invoked,
        "resident": resident,
        "transactions": transactions,
        "events_written": count_events(db) - before,
        "close_s": close_s,
    }


async def measure_recovery(directory: str, count: int, reopens: int) -> dict[str, Any]:
    db = os.path.join(directory, "recovery.db")
    child = crash_child(db, count, timeout=300)
    wal = Path(db + "-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    first = await recover_once(db, count, timeout=120)
    again = [await recover_once(db, count, timeout=120) for _ in range(reopens)]
    line: dict[str, Any] = {
        "name": "recovery",
        "executions": count,
        "recovery_s": round(first["recovery_s"], 3),
        "open_s": round(first["open_s"], 3),
        "executions_recovered_per_s": round(first["invoked"] / first["recovery_s"], 1),
        "resident_at_open": first["resident_at_open"],
        "invoked_at_open": first["invoked_at_open"],
        "reinvoked": first["invoked"],
        "resident_at_end": first["resident"],
        "events_written_during_recovery": first["events_written"],
        "transactions_during_recovery": first["transactions"],
        "close_s": round(first["close_s"], 3),
        "wal_bytes_at_crash": wal_bytes,
        "db_bytes": os.path.getsize(db),
        "child_start_s": child.get("start_s"),
        "child_all_in_task_s": child.get("in_task_s"),
        "child_sigkilled": child.get("killed"),
    }
    if again:
        line["reopen_recovery_s_median"] = round(statistics.median(r["recovery_s"] for r in again), 3)
        line["reopen_open_s_median"] = round(statistics.median(r["open_s"] for r in again), 3)
        line["reopens"] = len(again)
    if first["invoked"] != count:
        line["error"] = f"only {first['invoked']} of {count} tasks re-invoked within the timeout"
    line.update(_common())
    return line


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

GOAL_EXECUTIONS_PER_S = 10_000  # three-state Standard executions/s at synchronous=NORMAL
GOAL_EVENTS_VS_RAW_PCT = 25.0  # persisted events/s as a share of the raw SQLite ceiling
GOAL_RECOVERY_S = 2.0  # 10,000 in-flight executions resident again


def goals(lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The figures the project tracks, beside their goals (printed, never asserted)."""
    normal = [
        line
        for line in lines
        if line.get("synchronous") == "NORMAL" and line["name"].startswith("pass3.") and "error" not in line
    ]
    recovery = next((line for line in lines if line["name"] == "recovery"), None)
    if not normal and recovery is None:
        return None
    out: dict[str, Any] = {"name": "goals"}
    if normal:
        best = max(normal, key=lambda line: line["executions_per_s"])
        out["pass3_best_executions_per_s"] = best["executions_per_s"]
        out["pass3_best_case"] = best["name"]
        out["goal_executions_per_s"] = GOAL_EXECUTIONS_PER_S
        out["executions_goal_met"] = best["executions_per_s"] >= GOAL_EXECUTIONS_PER_S
        if "events_vs_raw_pct" in best:
            out["pass3_best_events_vs_raw_pct"] = best["events_vs_raw_pct"]
            out["goal_events_vs_raw_pct"] = GOAL_EVENTS_VS_RAW_PCT
            out["events_goal_met"] = best["events_vs_raw_pct"] >= GOAL_EVENTS_VS_RAW_PCT
    if recovery is not None and "recovery_s" in recovery:
        out["recovery_s"] = recovery["recovery_s"]
        out["recovery_executions"] = recovery["executions"]
        out["goal_recovery_s"] = GOAL_RECOVERY_S
        out["recovery_goal_met"] = (
            recovery["executions"] >= 10_000 and recovery["recovery_s"] < GOAL_RECOVERY_S
        )
    out.update(_common())
    return out


def _selected(only: set[str] | None, name: str) -> bool:
    return only is None or name in only or name.split(".", 1)[0] in only


async def main_async(args: argparse.Namespace) -> None:
    only = set(args.only.split(",")) if args.only else None
    cases = CASES_QUICK if args.quick else CASES_FULL
    repeat = args.repeat if args.repeat is not None else 3
    with tempfile.TemporaryDirectory(prefix="durable-bench-") as directory:
        # the ceiling first: the Standard lines compare against it
        raw_per_s: float | None = None
        rows = 8 * max(c * n for c, n in cases)
        sample_db = os.path.join(directory, "sample.db")
        async with Engine(f"sqlite:///{sample_db}") as engine:
            machine = await engine.create_state_machine("pass3", PASS_CHAIN_3)
            await engine.wait_for_execution((await engine.start_execution(machine.arn, INPUT)).execution_arn)
        raw = measure_raw(directory, sample_events(sample_db), rows, repeat)
        raw_per_s = raw["raw_events_per_s"]
        if _selected(only, "raw_sqlite_events"):
            print(json.dumps(raw), flush=True)
        plan: list[tuple[str, dict[str, Any], int, int, str]] = []
        for workload, definition in (("pass3", PASS_CHAIN_3), ("task3", TASK_CHAIN_3)):
            for concurrency, loops in cases:
                plan.append((workload, definition, concurrency, loops, "NORMAL"))
            concurrency, loops = cases[-1]
            plan.append((workload, definition, concurrency, loops, "FULL"))
        lines: list[dict[str, Any]] = []
        for workload, definition, concurrency, loops, sync in plan:
            name = f"{workload}.c{concurrency}" + (".full" if sync == "FULL" else "")
            if not _selected(only, name):
                continue
            line = await measure_throughput(
                directory, workload, definition, concurrency, loops, sync, repeat, raw_per_s
            )
            lines.append(line)
            print(json.dumps(line), flush=True)
        if _selected(only, "recovery"):
            count = args.recovery or (RECOVERY_QUICK if args.quick else RECOVERY_FULL)
            reopens = 0 if args.quick else 2
            line = await measure_recovery(directory, count, reopens)
            lines.append(line)
            print(json.dumps(line), flush=True)
        summary = goals(lines)
        if summary is not None:
            print(json.dumps(summary), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller rounds (about 30 s in total)")
    parser.add_argument("--repeat", type=int, default=None, help="timed rounds per case (default 3)")
    parser.add_argument(
        "--only", default="", help="comma-separated line names or prefixes (pass3, task3.c100, recovery)"
    )
    parser.add_argument(
        "--recovery", type=int, default=0, help="executions in the recovery case (default 10000)"
    )
    parser.add_argument("--child-recovery", nargs=2, metavar=("DB", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_recovery:
        asyncio.run(child_main(args.child_recovery[0], int(args.child_recovery[1])))
        return
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be >= 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
