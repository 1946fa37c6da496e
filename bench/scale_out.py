"""Scale-out: Standard executions/s with 1, 2 and 4 engine processes sharing one PostgreSQL
database, next to the same workload on SQLite (one process) in the same run.

Run::

    python bench/scale_out.py [--executions N] [--repeat R] [--processes 1,2,4] [--url URL]

Without ``--url`` the script starts a throwaway PostgreSQL server (``tests/pgserver.py``:
``initdb`` + ``pg_ctl`` in a temporary directory, ``fsync=off``, as the tests do); with it, each
case gets a new database created through that server URL (a role that may ``CREATE DATABASE``).

Each case runs ``N`` executions of one workload — ``pass3`` (three Pass states) or ``task3``
(three Task states calling a registered Python function) — split evenly over P worker processes.
Every worker opens its engine (``Engine(url, shared=True)`` on PostgreSQL; ``Engine(path)`` on
SQLite), creates the state machine, says it is ready, and on the parent's signal starts its
share, 50 in flight at a time (``start_execution`` + ``wait_for_execution``). The rate is N over
the time from the first worker's first start to the last worker's last end. Cases interleave
(SQLite, PostgreSQL x1, x2, x4, then the next round), each on a new database, and the MEDIAN
round is reported.

Lines (JSON): one per case and workload with ``executions_per_s``; then a ``summary`` per
workload with ``scaling_pg<P>_vs_pg1`` (the scaling factor) and ``pg1_vs_sqlite``. Nothing
asserts a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchinfo import common

ROOT = Path(__file__).resolve().parents[1]
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
MACHINES = {
    "pass3": {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Next": "Two"},
            "Two": {"Type": "Pass", "Next": "Three"},
            "Three": {"Type": "Pass", "End": True},
        },
    },
    "task3": {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Task", "Resource": LAMBDA + "step", "Next": "Two"},
            "Two": {"Type": "Task", "Resource": LAMBDA + "step", "Next": "Three"},
            "Three": {"Type": "Task", "Resource": LAMBDA + "step", "End": True},
        },
    },
}
IN_FLIGHT = 50


# -- a worker process ----------------------------------------------------------------------------
async def worker(db: str, workload: str, count: int, offset: int, shared: bool) -> None:
    import structlog

    from durable import Engine

    # the engine's log lines go to standard error: standard output carries this protocol only
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

    engine = Engine(db, shared=shared, role="bench worker")
    engine.register_function("step", lambda event, context: event)
    async with engine:
        machine = await engine.create_state_machine(workload, MACHINES[workload])
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        queue = list(range(offset, offset + count))
        started = time.time()

        async def run() -> None:
            while queue:
                i = queue.pop()
                execution = await engine.start_execution(machine.arn, {"i": i}, name=f"x{i}")
                done = await engine.wait_for_execution(execution.execution_arn)
                assert str(done.status) == "SUCCEEDED", done

        await asyncio.gather(*(run() for _ in range(IN_FLIGHT)))
        print(json.dumps({"start": started, "end": time.time(), "n": count}), flush=True)


# -- the parent ------------------------------------------------------------------------------------
def run_case(db: str, workload: str, executions: int, processes: int, shared: bool) -> float:
    """Executions/s of one case (see the module docstring)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    share = executions // processes
    errors = tempfile.TemporaryFile("w+")  # the workers' log lines, shown when one fails
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                db,
                workload,
                str(share),
                str(i * share),
                "1" if shared else "0",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
        )
        for i in range(processes)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"worker did not start: {line!r}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            results.append(json.loads(out.splitlines()[-1]))
    except (subprocess.TimeoutExpired, ValueError, IndexError, RuntimeError):
        errors.seek(0)
        print(errors.read()[-4000:], file=sys.stderr)
        raise
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errors.close()
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    return sum(r["n"] for r in results) / span


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--workloads", default="pass3,task3")
    parser.add_argument("--url", help="a PostgreSQL server URL (default: a throwaway server)")
    args = parser.parse_args()
    counts = [int(p) for p in args.processes.split(",")]
    sys.path.insert(0, str(ROOT))
    server = None
    if args.url is None:
        from tests import pgserver

        server = pgserver.start()
    admin = args.url or (server.url() if server is not None else "")
    made: list[str] = []

    def new_database() -> str:
        import psycopg

        name = f"bench_scale_{os.getpid()}_{len(made)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        url = admin.rsplit("/", 1)[0] + "/" + name
        made.append(url)
        return url

    try:
        with tempfile.TemporaryDirectory() as tmp:
            for workload in args.workloads.split(","):
                rates: dict[str, list[float]] = {}
                for round_ in range(args.repeat):
                    cases = [("sqlite", 1)] + [("postgresql", p) for p in counts]
                    for store, processes in cases:
                        if store == "sqlite":
                            db = os.path.join(tmp, f"{workload}-{round_}.db")
                        else:
                            db = new_database()
                        rate = run_case(db, workload, args.executions, processes, store == "postgresql")
                        rates.setdefault(f"{store}.x{processes}", []).append(rate)
                for case, values in rates.items():
                    print(
                        json.dumps(
                            {
                                "name": f"{workload}.{case}",
                                "executions": args.executions,
                                "executions_per_s": round(statistics.median(values), 1),
                                "rounds": [round(v, 1) for v in values],
                                "cpus": os.cpu_count(),
                                "pg_server": "given" if args.url else "throwaway, fsync=off",
                                **common(),
                            }
                        ),
                        flush=True,
                    )
                pg1 = statistics.median(rates["postgresql.x1"])
                summary: dict[str, Any] = {"name": f"{workload}.summary"}
                for p in counts:
                    summary[f"scaling_pg{p}_vs_pg1"] = round(
                        statistics.median(rates[f"postgresql.x{p}"]) / pg1, 2
                    )
                summary["pg1_vs_sqlite"] = round(pg1 / statistics.median(rates["sqlite.x1"]), 2)
                print(json.dumps({**summary, **common()}), flush=True)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        db, workload, count, offset, shared = sys.argv[2:7]
        asyncio.run(worker(db, workload, int(count), int(offset), shared == "1"))
    else:
        main()
