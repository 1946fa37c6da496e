"""Standard throughput with many finished executions in the database, against a fresh database.

Run::

    python bench/history_size.py                       # 1,000,000 finished executions
    python bench/history_size.py --finished 100000     # a quick run

Two SQLite databases are open side by side in one process, each behind its own ``Engine``:

* ``fresh``: a new file holding one state machine and one checked execution;
* ``full``: the same, plus ``--finished`` SUCCEEDED executions of the same state machine.

The workload is ``standard.py``'s ``pass3.c100``: a STANDARD chain of three Pass states, 100
asyncio workers each looping ``start_execution`` + ``wait_for_execution``. After one warm-up
round on each database, timed rounds alternate fresh / full (``--repeat`` pairs), each after
``gc.collect()``; the line reports the median of each side and ``ratio`` = full / fresh
executions per second (and the median of the per-pair ratios).

Filling: a few real executions are run on the ``full`` database first (``--templates``); their
rows are then copied in bulk by SQL inside the file (``executions``, ``events``, ``journal``:
every column copied from a template row, only the identity -- ``id``, a fully random UUID ``name``
(harsher than the engine's own time-ordered names) and
its ARN -- and the dates moved), so the filled rows have exactly the shape the engine writes.
The start dates are spread evenly over the ``--span-days`` before now (30 by default: inside
the default retention, so nothing is purged while the bench runs). The fill is verified (every
filled execution's columns and event/journal rows equal its template's, dates aside) before
anything is timed. Nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standard import INPUT, PASS_CHAIN_3, _common, run_round

from durable import Engine
from durable.store.sqlite import SqliteStore

CONCURRENCY = 100
LOOPS = 20
CHUNK = 100_000  # executions copied per fill transaction


def fill(db: str, finished: int, span_days: float) -> dict[str, Any]:
    """Copy the stored (template) executions of ``db`` until it holds ``finished`` more."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB for the fill only
        templates = [
            int(r[0])
            for r in conn.execute("SELECT id FROM executions WHERE status = 'SUCCEEDED' ORDER BY id")
        ]
        if not templates:
            raise SystemExit("no template execution to copy")
        first = int(conn.execute("SELECT max(id) FROM executions").fetchone()[0]) + 1
        now = time.time()
        step = span_days * 86400.0 / max(1, finished)
        prefix = conn.execute(
            "SELECT substr(arn, 1, length(arn) - length(name)) FROM executions WHERE id = ?", (templates[0],)
        ).fetchone()[0]
        count = len(templates)
        conn.execute("CREATE TEMP TABLE tpl (k INTEGER PRIMARY KEY, id INTEGER NOT NULL)")
        conn.executemany("INSERT INTO tpl VALUES (?, ?)", list(enumerate(templates)))
        conn.execute("CREATE TEMP TABLE names (i INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        for lo in range(first, first + finished, CHUNK):
            hi = min(first + finished, lo + CHUNK)
            conn.execute("DELETE FROM names")
            conn.executemany(
                "INSERT INTO names VALUES (?, ?)", ((i, str(uuid.uuid4())) for i in range(lo, hi))
            )
            conn.execute("BEGIN IMMEDIATE")
            # the new execution's start date: evenly spread, oldest first, ending `step` before now
            conn.execute(
                """INSERT INTO executions
                SELECT n.i, ? || n.name, t.state_machine_arn, n.name, t.status,
                       ? + (n.i - ?) * ?, t.input, t.definition_id, t.type,
                       ? + (n.i - ?) * ? + (t.stop_date - t.start_date), t.output, t.error, t.cause,
                       t.redrive_count, t.redrive_date, t.event_count, t.parked
                FROM names n JOIN tpl ON tpl.k = n.i % ? JOIN executions t ON t.id = tpl.id
                ORDER BY n.i""",
                (
                    prefix,
                    now - span_days * 86400.0,
                    first,
                    step,
                    now - span_days * 86400.0,
                    first,
                    step,
                    count,
                ),
            )
            conn.execute(
                """INSERT INTO events
                SELECT x.id, e.id, e.type, e.previous_event_id, x.start_date + (e.timestamp - t.start_date),
                       e.details, e.lane, e.seq
                FROM executions x JOIN tpl ON tpl.k = x.id % ? JOIN executions t ON t.id = tpl.id
                JOIN events e ON e.execution_id = t.id
                WHERE x.id >= ? AND x.id < ? ORDER BY x.id, e.id""",
                (count, lo, hi),
            )
            conn.execute(
                """INSERT INTO journal
                SELECT x.id, j.lane, j.seq, j.kind, j.payload
                FROM executions x JOIN tpl ON tpl.k = x.id % ? JOIN journal j ON j.execution_id = tpl.id
                WHERE x.id >= ? AND x.id < ? ORDER BY x.id, j.lane, j.seq""",
                (count, lo, hi),
            )
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mismatches = verify(conn, templates, first, first + finished)
    finally:
        conn.close()
    return {
        "fill_s": round(time.perf_counter() - t0, 1),
        "templates": count,
        "fill_mismatches": mismatches,
        "db_bytes": os.path.getsize(db),
    }


def verify(conn: sqlite3.Connection, templates: list[int], lo: int, hi: int) -> int:
    """Rows of filled executions that differ from their template's (dates and identity aside)."""
    count = len(templates)
    bad = conn.execute(
        """SELECT count(*) FROM executions x JOIN tpl ON tpl.k = x.id % ? JOIN executions t ON t.id = tpl.id
        WHERE x.id >= ? AND x.id < ? AND NOT (
            x.arn = substr(t.arn, 1, length(t.arn) - length(t.name)) || x.name
            AND x.state_machine_arn = t.state_machine_arn AND x.status = t.status
            AND x.input = t.input AND x.definition_id = t.definition_id AND x.type = t.type
            AND x.output IS t.output AND x.error IS t.error AND x.cause IS t.cause
            AND x.redrive_count = t.redrive_count AND x.redrive_date IS t.redrive_date
            AND x.event_count = t.event_count AND x.parked = t.parked AND x.stop_date >= x.start_date
            AND (SELECT count(*) FROM events WHERE execution_id = x.id) = x.event_count
            AND (SELECT count(*) FROM journal WHERE execution_id = x.id)
                = (SELECT count(*) FROM journal WHERE execution_id = t.id))""",
        (count, lo, hi),
    ).fetchone()[0]
    bad += conn.execute(
        """SELECT count(*) FROM events e JOIN tpl ON tpl.k = e.execution_id % ?
        LEFT JOIN events t ON t.execution_id = tpl.id AND t.id = e.id
        WHERE e.execution_id >= ? AND e.execution_id < ?
          AND (t.id IS NULL OR e.type != t.type OR e.previous_event_id != t.previous_event_id
               OR e.details IS NOT t.details OR e.lane IS NOT t.lane OR e.seq IS NOT t.seq)""",
        (count, lo, hi),
    ).fetchone()[0]
    return int(bad)


async def prepare(path: str, loops: int) -> tuple[Engine, str]:
    engine = Engine(store=SqliteStore(path))
    await engine.open()
    machine = await engine.create_state_machine("pass3", PASS_CHAIN_3)
    for _ in range(loops):
        done = await engine.wait_for_execution(
            (await engine.start_execution(machine.arn, INPUT)).execution_arn
        )
        if done.status != "SUCCEEDED":
            raise SystemExit(f"the checked execution ended {done.status}")
    return engine, machine.arn


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="durable-history-") as directory:
        fresh_db = os.path.join(directory, "fresh.db")
        full_db = os.path.join(directory, "full.db")
        # the templates: real executions, committed by the engine, then copied
        engine, _ = await prepare(full_db, args.templates)
        await engine.close()
        filled = fill(full_db, args.finished, args.span_days)
        print(json.dumps({"name": "fill", "finished": args.finished, **filled, **_common()}), flush=True)
        if filled["fill_mismatches"]:
            raise SystemExit("the filled rows do not match their templates")
        t0 = time.perf_counter()
        full = Engine(store=SqliteStore(full_db))
        await full.open()
        open_full_s = time.perf_counter() - t0
        fresh, fresh_arn = await prepare(fresh_db, 1)
        full_arn = fresh_arn  # the same name, region and account: the same ARN
        try:
            for engine, arn in ((fresh, fresh_arn), (full, full_arn)):
                await run_round(engine, arn, CONCURRENCY, LOOPS)  # warm-up
            times: dict[str, list[float]] = {"fresh": [], "full": []}
            failures = 0
            for _ in range(args.repeat):
                for side, engine, arn in (("fresh", fresh, fresh_arn), ("full", full, full_arn)):
                    gc.collect()
                    elapsed, failed = await run_round(engine, arn, CONCURRENCY, LOOPS)
                    times[side].append(elapsed)
                    failures += failed
        finally:
            await fresh.close()
            await full.close()
        executions = CONCURRENCY * LOOPS
        fresh_rate = executions / statistics.median(times["fresh"])
        full_rate = executions / statistics.median(times["full"])
        pairs = [f / x for f, x in zip(times["fresh"], times["full"], strict=True)]
        line: dict[str, Any] = {
            "name": f"pass3.c{CONCURRENCY}.finished_{args.finished}",
            "ratio": round(full_rate / fresh_rate, 3),
            "pair_ratio_median": round(statistics.median(pairs), 3),
            "fresh_executions_per_s": round(fresh_rate, 1),
            "full_executions_per_s": round(full_rate, 1),
            "fresh_rounds_executions_per_s": [round(executions / t, 1) for t in times["fresh"]],
            "full_rounds_executions_per_s": [round(executions / t, 1) for t in times["full"]],
            "open_full_s": round(open_full_s, 3),
            "finished": args.finished,
            "executions_per_round": executions,
            "repeats": args.repeat,
        }
        if failures:
            line["failed_executions"] = failures
        line.update(_common())
        print(json.dumps(line), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finished", type=int, default=1_000_000, help="finished executions (1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed fresh/full round pairs (5)")
    parser.add_argument("--templates", type=int, default=20, help="real executions copied by the fill (20)")
    parser.add_argument("--span-days", type=float, default=30.0, help="start dates spread over (30 days)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
