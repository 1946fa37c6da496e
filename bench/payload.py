"""A large payload through a Standard execution: what it costs and what it writes.

Run::

    python bench/payload.py [--kib 200] [--states 5] [--executions 20] [--repeat 3]

A STANDARD machine of ``--states`` Task states, each calling a local function that returns
its input unchanged, runs executions one after another on a SQLite file (WAL,
``synchronous=NORMAL``) with an input of about ``--kib`` KiB (a list of small records, as a
real payload is, not one long string). Prints JSON lines:

* ``payload``: the median wall time per execution, the bytes the database received per
  execution (the text of every event's details, journal entry and the execution row: counted in
  the database), how many payload-sized copies that is, and the file growth per execution;
* ``payload.raw``: the floor measured in the same run, interleaved round by round: plain
  ``sqlite3`` writing the SAME rows (copied from one execution of the run) into a fresh copy of
  the schema, one transaction per execution, as the engine commits them; then
  ``work_vs_raw_x`` = engine time / raw write time, the engine's work per byte it writes
  relative to the database's own.

Nothing here asserts a threshold.
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
from pathlib import Path
from typing import Any

from benchinfo import common

from durable import Engine
from durable.store.sqlite import SqliteStore

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def chain(states: int) -> dict[str, Any]:
    names = [f"Step{i + 1}" for i in range(states)]
    spec: dict[str, Any] = {}
    for i, name in enumerate(names):
        spec[name] = {"Type": "Task", "Resource": LAMBDA + "step"}
        if i + 1 < len(names):
            spec[name]["Next"] = names[i + 1]
        else:
            spec[name]["End"] = True
    return {"StartAt": names[0], "States": spec}


def payload(kib: int) -> dict[str, Any]:
    """About ``kib`` KiB of JSON: records of a few typed fields."""
    record = {"id": 0, "sku": "SKU-000000", "qty": 3, "price": 12.5, "tags": ["a", "b"], "ok": True}
    size = len(json.dumps(record, separators=(",", ":"))) + 1
    items = [dict(record, id=i, sku=f"SKU-{i:06d}") for i in range(kib * 1024 // size)]
    return {"order": "o-1", "items": items}


def step(event: Any, context: Any) -> Any:
    return event


def bytes_in_db(path: Path) -> int:
    """The text the engine stored: event details, journal payloads, execution input/output."""
    with sqlite3.connect(path) as db:
        total = 0
        for sql in (
            "SELECT coalesce(sum(length(details)), 0) FROM events",
            "SELECT coalesce(sum(length(payload)), 0) FROM journal",
            "SELECT coalesce(sum(length(input) + coalesce(length(output), 0)), 0) FROM executions",
        ):
            total += int(db.execute(sql).fetchone()[0])
        return total


def file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def copy_rows(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """One execution's rows, table by table, as the engine wrote them."""
    with sqlite3.connect(path) as db:
        xid = db.execute("SELECT max(id) FROM executions").fetchone()[0]
        out = []
        for table in ("executions", "events", "journal"):
            rows = db.execute(
                f"SELECT * FROM {table} WHERE {'id' if table == 'executions' else 'execution_id'} = ?", (xid,)
            ).fetchall()
            out.append((table, rows))
        return out


def raw_round(schema_db: Path, rows: list[tuple[str, list[tuple[Any, ...]]]], executions: int) -> float:
    """Write ``executions`` copies of one execution's rows, one transaction each; seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "raw.db"
        with sqlite3.connect(schema_db) as src, sqlite3.connect(target) as dst:
            for (sql,) in src.execute(
                "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL"
                " AND name NOT LIKE 'sqlite_%'"
            ):
                dst.execute(sql)
        db = sqlite3.connect(target, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = OFF")
        statements = [
            (f"INSERT INTO {table} VALUES ({', '.join('?' for _ in table_rows[0])})", table_rows)
            for table, table_rows in rows
            if table_rows
        ]
        start = time.perf_counter()
        for n in range(executions):
            db.execute("BEGIN IMMEDIATE")
            for sql, table_rows in statements:
                if sql.startswith("INSERT INTO executions"):
                    # a new execution each time: fresh id and ARN
                    table_rows = [(n + 1, f"{r[1]}-{n}", *r[2:]) for r in table_rows]
                else:
                    table_rows = [(n + 1, *r[1:]) for r in table_rows]
                db.executemany(sql, table_rows)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
        return elapsed


async def engine_round(engine: Engine, arn: str, inp: Any, executions: int) -> float:
    start = time.perf_counter()
    for _ in range(executions):
        done = await engine.wait_for_execution((await engine.start_execution(arn, inp)).execution_arn)
        if not done.succeeded:
            raise RuntimeError(f"{done.status}: {done.error}: {done.cause}")
    return time.perf_counter() - start


async def main_async(args: argparse.Namespace) -> None:
    inp = payload(args.kib)
    payload_bytes = len(json.dumps(inp, separators=(",", ":")))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.db"
        async with Engine(store=SqliteStore(path)) as engine:
            engine.register_function("step", step, blocking=False)
            machine = await engine.create_state_machine("payload", chain(args.states))
            await engine_round(engine, machine.arn, inp, 2)  # warm-up, and rows to copy
            rows = copy_rows(path)
            before_bytes, before_file = bytes_in_db(path), file_bytes(path)
            times, raw_times = [], []
            for _ in range(args.repeat):
                gc.collect()
                times.append(await engine_round(engine, machine.arn, inp, args.executions))
                gc.collect()
                raw_times.append(raw_round(path, rows, args.executions))
            stored = (bytes_in_db(path) - before_bytes) / (args.executions * args.repeat)
            grown = (file_bytes(path) - before_file) / (args.executions * args.repeat)
    per_execution = statistics.median(times) / args.executions
    raw_per_execution = statistics.median(raw_times) / args.executions
    info = common()
    print(
        json.dumps(
            {
                "name": "payload",
                "payload_bytes": payload_bytes,
                "states": args.states,
                "median_ms_per_execution": round(per_execution * 1e3, 2),
                "bytes_stored_per_execution": round(stored),
                "payload_copies_stored": round(stored / payload_bytes, 2),
                "file_growth_bytes_per_execution": round(grown),
                "executions_per_round": args.executions,
                "repeats": args.repeat,
                **info,
            }
        ),
        flush=True,
    )
    print(
        json.dumps(
            {
                "name": "payload.raw",
                "median_ms_per_execution": round(raw_per_execution * 1e3, 2),
                "rows_per_execution": sum(len(r) for _, r in rows),
                "work_vs_raw_x": round(per_execution / raw_per_execution, 2),
                **info,
            }
        ),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kib", type=int, default=200, help="input size in KiB")
    parser.add_argument("--states", type=int, default=5, help="Task states in the chain")
    parser.add_argument("--executions", type=int, default=20, help="executions per timed round")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (median reported)")
    args = parser.parse_args(argv)
    if min(args.kib, args.states, args.executions, args.repeat) < 1:
        parser.error("every option must be at least 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.path.insert(0, os.fspath(Path(__file__).resolve().parent.parent))
    main()
