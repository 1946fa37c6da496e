"""Child process of the crash tests: runs a durable Engine on a SQLite file until idle or killed.

Run as ``python tests/runtime/crash_worker.py --db PATH --count N --seed S --log LOG --tokens DIR``.

It registers local task functions (before the engine opens, so resumed executions find them),
creates the state machines of :data:`MACHINES` (idempotent), starts the executions of
:func:`plan` that do not exist yet, and runs until every execution has stopped or is parked
on a task token (``--scenario mix``) or has stopped (``--scenario wait``); then it closes the
engine and exits 0. The parent kills it with SIGKILL at random moments and restarts it.

Every task invocation appends one JSON line to the invocation log (``O_APPEND`` + fsync, so
it survives SIGKILL): time, pid, a unique invocation id, the task attempt's key (execution,
state, retry count, redrive count, map index), and whether — seen from a second connection at
that moment — the task's ``Scheduled`` event and every event before it were committed. Task
results carry the invocation id, so the parent can tell which invocation's result the history
recorded.

``--scenario chaos`` also has executions the parent stops and redrives; there the parent starts
every execution itself, a few at a time (from a ``Client`` in its own process, while this one
runs, is killed, or restarts), and this process runs until the parent writes ``<log>.done``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from itertools import count
from typing import Any

from durable import Engine, ExecutionDoesNotExist

ACCOUNT = "111111111111"
REGION = "us-east-1"
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
TASK_SECONDS = 0.15  # how long a task stays in flight (a window for the kill to land in)
ANSWER_FACTOR = 7  # the parent answers a token of execution input n with {"value": 7 * n}


class FlakyError(Exception):
    """Raised by the ``flaky`` operation on its first attempt (or always, when asked)."""


def _work(op: str, x: Any, **extra: Any) -> dict[str, Any]:
    """A ``work`` task: Parameters naming the operation, the operand and the attempt's key."""
    return {
        "op": op,
        "x.$": x,
        "exec.$": "$$.Execution.Name",
        "arn.$": "$$.Execution.Id",
        "state.$": "$$.State.Name",
        "attempt.$": "$$.State.RetryCount",
        "redrives.$": "$$.Execution.RedriveCount",
        **extra,
    }


def _task(params: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA + "work",
        "Parameters": params,
        "ResultSelector": {"v.$": "$.v"},
        **fields,
    }


MACHINES: dict[str, dict[str, Any]] = {
    # Task -> Wait (1 s: resident, or 2 s: parked) -> Task
    "seq": {
        "StartAt": "AddOne",
        "States": {
            "AddOne": _task(_work("add", "$.n", k=1), ResultPath="$.a", Next="Pause"),
            "Pause": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Double"},
            "Double": _task(_work("mul", "$.a.v", k=2), ResultPath="$.b", Next="Done"),
            "Done": {
                "Type": "Pass",
                "Parameters": {"n.$": "$.n", "a.$": "$.a.v", "b.$": "$.b.v"},
                "End": True,
            },
        },
    },
    # a task failing on its first attempt (or always), retried after 1 s
    "retry": {
        "StartAt": "Flaky",
        "States": {
            "Flaky": _task(
                _work("flaky", "$.n", k=100, **{"always.$": "$.always"}),
                ResultPath="$.f",
                Retry=[
                    {"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}
                ],
                Next="Done",
            ),
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "f.$": "$.f.v"}, "End": True},
        },
    },
    # Parallel: a task, and a 1 s Wait (resident: not the root lane) then a task
    "par": {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "ResultPath": "$.p",
                "Next": "Done",
                "Branches": [
                    {
                        "StartAt": "AddTen",
                        "States": {"AddTen": _task(_work("add", "$.n", k=10), End=True)},
                    },
                    {
                        "StartAt": "BranchPause",
                        "States": {
                            "BranchPause": {"Type": "Wait", "Seconds": 1, "Next": "AddTwenty"},
                            "AddTwenty": _task(_work("add", "$.n", k=20), End=True),
                        },
                    },
                ],
            },
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "p.$": "$.p[*].v"}, "End": True},
        },
    },
    # a 1 s Wait, then an inline Map: one task per item, two at a time
    "map": {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemsPath": "$.items",
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Square",
                    "States": {
                        "Square": _task(_work("square", "$.value", **{"index.$": "$.index"}), End=True)
                    },
                },
                "ResultPath": "$.m",
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "m.$": "$.m[*].v"}, "End": True},
        },
    },
    # a Distributed Map: STANDARD child executions, two at a time, each a task then a 1 s Wait
    # (in the child's own lane), one failure tolerated (none happens)
    "dmap": {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ToleratedFailureCount": 1,
                "ItemsPath": "$.items",
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Square",
                    "States": {
                        "Square": _task(_work("square", "$.value", **{"index.$": "$.index"}), Next="Rest"),
                        "Rest": {"Type": "Wait", "Seconds": 1, "End": True},
                    },
                },
                "ResultPath": "$.m",
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "m.$": "$.m[*].v"}, "End": True},
        },
    },
    # waitForTaskToken through lambda:invoke (parks at the root), then a task on the answer
    "token": {
        "StartAt": "Submit",
        "States": {
            "Submit": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "submit",
                    "Payload": {
                        "token.$": "$$.Task.Token",
                        "n.$": "$.n",
                        "exec.$": "$$.Execution.Name",
                        "arn.$": "$$.Execution.Id",
                        "state.$": "$$.State.Name",
                        "attempt.$": "$$.State.RetryCount",
                    },
                },
                "ResultPath": "$.answer",
                "Next": "After",
            },
            "After": _task(_work("add", "$.answer.value", k=1), ResultPath="$.after", Next="Done"),
            "Done": {
                "Type": "Pass",
                "Parameters": {"n.$": "$.n", "answer.$": "$.answer.value", "after.$": "$.after.v"},
                "End": True,
            },
        },
    },
    # fails until the execution is redriven (by the parent, from another process)
    "redrive": {
        "StartAt": "Once",
        "States": {
            "Once": _task(_work("redrive", "$.n", k=1000), ResultPath="$.r", Next="Done"),
            "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "r.$": "$.r.v"}, "End": True},
        },
    },
    # a task, then a long Wait: stopped by the parent (from another process)
    "stop": {
        "StartAt": "First",
        "States": {
            "First": _task(_work("add", "$.n", k=1), ResultPath="$.a", Next="Long"),
            "Long": {"Type": "Wait", "Seconds": 600, "End": True},
        },
    },
    # a Wait whose due time must survive a crash
    "wait3": {
        "StartAt": "Long",
        "States": {
            "Long": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    },
}

KINDS = ("seq", "retry", "par", "map", "token", "fail")
CHAOS_KINDS = (*KINDS, "redrive", "stop", "dmap")


def plan(scenario: str, n: int, seed: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The executions to run: ``(name, machine, input)``; names are deterministic."""
    if scenario == "wait":
        return [("w0", "wait3", {})]
    kinds = CHAOS_KINDS if scenario == "chaos" else KINDS
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        value = seed * 100 + i
        name = f"{kind}-{i:03d}"
        if kind == "seq":
            out.append((name, "seq", {"n": value, "wait": 1 + i % 2}))
        elif kind in ("retry", "fail"):
            out.append((name, "retry", {"n": value, "always": kind == "fail"}))
        elif kind in ("map", "dmap"):
            out.append((name, kind, {"n": value, "items": [value, value + 1, value + 2]}))
        else:
            out.append((name, kind, {"n": value}))
    return out


def expected(machine: str, data: dict[str, Any]) -> tuple[str, Any]:
    """The final status and output (or error) of an execution, computed independently."""
    n = data.get("n")
    if machine == "redrive":
        return "SUCCEEDED", {"n": n, "r": n + 1000}
    if machine == "stop":
        return "ABORTED", "Halt"
    if machine == "seq":
        return "SUCCEEDED", {"n": n, "a": n + 1, "b": 2 * (n + 1)}
    if machine == "retry":
        if data["always"]:
            return "FAILED", "FlakyError"
        return "SUCCEEDED", {"n": n, "f": n + 100}
    if machine == "par":
        return "SUCCEEDED", {"n": n, "p": [n + 10, n + 20]}
    if machine in ("map", "dmap"):
        return "SUCCEEDED", {"n": n, "m": [x * x for x in data["items"]]}
    if machine == "token":
        return "SUCCEEDED", {"n": n, "answer": ANSWER_FACTOR * n, "after": ANSWER_FACTOR * n + 1}
    if machine == "wait3":
        return "SUCCEEDED", {}
    raise ValueError(machine)


def committed_before(db: str | None, event: dict[str, Any]) -> bool | None:
    """Seen from a second connection: is the Scheduled event holding exactly this task input
    committed, with every event before it (ids dense from 1)? None without a database."""
    if db is None or "arn" not in event:
        return None
    sql = (
        "SELECT e.id, e.type, e.details FROM events e JOIN executions x ON x.id = e.execution_id"
        " WHERE x.arn = ? ORDER BY e.id"
    )
    # a Distributed Map's child execution keeps its events with it until it ends: what must be
    # committed before its task runs is its row (written RUNNING when it starts)
    child_sql = "SELECT status FROM map_children WHERE arn = ?"
    if db.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            rows: list[Any] = pg.execute(sql.replace("?", "%s"), (event["arn"],)).fetchall()
            child = pg.execute(child_sql.replace("?", "%s"), (event["arn"],)).fetchall()
    else:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute(sql, (event["arn"],)).fetchall()
            child = conn.execute(child_sql, (event["arn"],)).fetchall()
        finally:
            conn.close()
    if not rows and child:
        return True
    if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
        return False
    for _, kind, details in rows:
        recorded = json.loads(details) if details else {}
        if kind == "LambdaFunctionScheduled" and recorded.get("input") == event:
            return True
        if kind == "TaskScheduled" and recorded.get("parameters", {}).get("Payload") == event:
            return True  # lambda:invoke(.waitForTaskToken): the function receives the Payload
    return False


class Log:
    """The invocation log: one JSON line per task invocation, durable before the task runs."""

    def __init__(self, path: str, db: str | None = None, check_every: int = 1) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.pid = os.getpid()
        self.seq = count(1)
        self.db = db
        self.check_every = check_every  # look at the database for every n-th invocation

    def invoked(self, event: dict[str, Any]) -> str:
        n = next(self.seq)
        inv = f"{self.pid}.{n}"
        checked = n % self.check_every == 0
        line = {
            "t": time.time(),
            "pid": self.pid,
            "inv": inv,
            "exec": event["exec"],
            "state": event["state"],
            "attempt": event.get("attempt", 0),
            "redrives": event.get("redrives", 0),
            "index": event.get("index"),
            "committed": committed_before(self.db, event) if checked else None,
        }
        os.write(self.fd, (json.dumps(line) + "\n").encode())
        os.fsync(self.fd)
        return inv


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def register(
    engine: Engine, log_path: str, token_dir: str, db: str | None = None, check_every: int = 1
) -> None:
    """Register the task functions (the parent registers them too, to finish token runs).
    With ``db``, each invocation checks what was committed before it (see :class:`Log`)."""
    log = Log(log_path, db, check_every)

    async def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
        inv = log.invoked(event)
        await asyncio.sleep(TASK_SECONDS)
        op, x = event["op"], event["x"]
        if op == "add":
            v = x + event["k"]
        elif op == "mul":
            v = x * event["k"]
        elif op == "square":
            v = x * x
        elif op == "flaky":
            if event["always"] or event["attempt"] == 0:
                raise FlakyError(f"inv={inv}")
            v = x + event["k"]
        elif op == "redrive":
            if event["redrives"] == 0:
                raise FlakyError(f"inv={inv}")
            v = x + event["k"]
        else:
            raise ValueError(op)
        return {"v": v, "inv": inv}

    async def submit(event: dict[str, Any], context: Any) -> dict[str, Any]:
        inv = log.invoked(event)
        record = json.dumps({"token": event["token"], "n": event["n"], "inv": inv})
        _write_atomically(os.path.join(token_dir, event["exec"] + ".json"), record)
        with open(os.path.join(token_dir, "all.jsonl"), "a") as f:  # every token handed out
            f.write(record + "\n")
            f.flush()
            os.fsync(f.fileno())
        await asyncio.sleep(TASK_SECONDS)
        return {"submitted": True, "inv": inv}

    engine.register_function("work", work)
    engine.register_function("submit", submit)


async def _idle(engine: Engine, arns: list[str], scenario: str) -> bool:
    """Every execution stopped, or (mix) parked on an open task token with no coroutine."""
    for arn in arns:
        try:
            execution = await engine.describe_execution(arn)
        except ExecutionDoesNotExist:
            return False
        if str(execution.status) == "RUNNING":
            if scenario == "wait" or arn in engine.standard.running:
                return False
            if not await engine.store.open_tokens(arn):
                return False
    return True


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--scenario", choices=("mix", "wait", "chaos"), default="mix")
    parser.add_argument("--timeout", type=float, default=60.0)
    # several engines sharing a PostgreSQL database: this one starts part i of n of the plan
    # and runs until the parent writes ``<log>.done``
    parser.add_argument("--shared", action="store_true")
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--part", default="0/1")
    parser.add_argument("--check-every", type=int, default=1)
    args = parser.parse_args(argv)
    part, parts = (int(x) for x in args.part.split("/"))

    engine = Engine(
        args.db, poll_interval=0.02, shared=args.shared, lease_seconds=args.lease
    )  # the system clock
    register(engine, args.log, args.tokens, args.db, args.check_every)  # before open: open resumes executions
    await engine.open()
    print("opened", flush=True)
    try:
        arns = []
        for i, (name, machine, data) in enumerate(plan(args.scenario, args.count, args.seed)):
            if args.scenario == "chaos" or i % parts != part:
                continue  # the parent starts them, or another worker does
            sm = await engine.create_state_machine(machine, MACHINES[machine])
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"
            try:
                await engine.describe_execution(arn)
            except ExecutionDoesNotExist:
                started = await engine.start_execution(sm.arn, data, name=name)
                assert started.execution_arn == arn, started.execution_arn
            arns.append(arn)
        print("started", flush=True)
        deadline = time.monotonic() + args.timeout
        if args.scenario == "chaos" or args.shared:  # the parent says when it is over
            while not os.path.exists(args.log + ".done"):
                if time.monotonic() > deadline:
                    print("timeout", flush=True)
                    return 2
                await asyncio.sleep(0.05)
            print("idle", flush=True)
            return 0
        while not await _idle(engine, arns, args.scenario):
            if time.monotonic() > deadline:
                print("timeout", flush=True)
                return 2
            await asyncio.sleep(0.05)
        print("idle", flush=True)
        return 0
    finally:
        await engine.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
