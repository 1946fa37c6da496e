"""Durable timers on SQLite: how late parked Standard executions resume, at a sustained rate.

Run::

    python bench/timers.py [--rates 500,1000,2500,5000] [--seconds 10] [--lead S] [--quick]

For each rate R (fires per second) the script, in this order:

1. **floor** (``timers.r<R>.floor``): the machine's own timer precision in this run — asyncio
   ``loop.call_at`` callbacks on the same schedule of due times (R per second for ``--seconds``
   seconds, spread uniformly), no engine, each recording ``time.time() - due``;
2. **engine** (``timers.r<R>``): a fresh SQLite file behind ``Engine(store=SqliteStore(path))``
   and a STANDARD machine ``Wait (TimestampPath $.due) -> Task``. ``R x seconds`` executions
   are started ahead of time (so they are parked, not sleeping, before they fall due), each
   with its own due time; the Task is a local function (``blocking=False``) that records the
   real clock when it is invoked. Lateness = that time minus the due time: when the engine
   actually acted on the fired timer (the execution's WaitStateExited and TaskScheduled are
   committed before the task is invoked).

Prints one JSON object per line; a final ``goals`` line compares the highest rate with the goal
(5,000 fires/s with p99 lateness <= 100 ms). Nothing here asserts a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from benchinfo import common

from durable import Engine
from durable.store.sqlite import SqliteStore

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"

WAIT_THEN_TASK = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "TimestampPath": "$.due", "Next": "Mark"},
        "Mark": {"Type": "Task", "Resource": LAMBDA + "mark", "End": True},
    },
}

# executions started (and parked) to estimate the start rate, and so the lead before the first
# due time; they wait a day, so they never fall due during the run
PARK_A_DAY = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 86400, "End": True}}}
CALIBRATION = 2000

GOAL_FIRES_PER_S = 5000
GOAL_P99_MS = 100.0
START_CHUNK = 1000


def _common() -> dict[str, Any]:
    return common()


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def schedule(start: float, rate: int, seconds: float) -> list[float]:
    """Due times spread uniformly: ``rate`` per second from ``start`` for ``seconds``."""
    count = max(1, round(rate * seconds))
    return [start + i / rate for i in range(count)]


def summary(late: list[float], fired_at: list[float], dues: list[float]) -> dict[str, Any]:
    """Lateness percentiles (ms) and the achieved rate of a schedule's fires."""
    out: dict[str, Any] = {"scheduled": len(dues), "fired": len(late)}
    if not late:
        return out
    ordered = sorted(late)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1e3, 2)

    out.update(
        lateness_p50_ms=pct(0.50),
        lateness_p90_ms=pct(0.90),
        lateness_p99_ms=pct(0.99),
        lateness_max_ms=round(ordered[-1] * 1e3, 2),
        lateness_min_ms=round(ordered[0] * 1e3, 2),
        lateness_mean_ms=round(statistics.fmean(ordered) * 1e3, 2),
    )
    span = max(fired_at) - dues[0]
    if span > 0 and len(late) > 1:
        # fires per second from the first due time to the last fire: the scheduled rate when
        # the engine keeps up, lower when it falls behind
        out["achieved_fires_per_s"] = round((len(late) - 1) / span, 1)
    return out


async def measure_floor(rate: int, seconds: float) -> dict[str, Any]:
    """``loop.call_at`` on the same schedule: the lateness the event loop itself achieves."""
    loop = asyncio.get_running_loop()
    dues = schedule(time.time() + 0.5, rate, seconds)
    late: list[float] = []
    fired_at: list[float] = []
    done = asyncio.Event()
    count = len(dues)

    def fire(due: float) -> None:
        now = time.time()
        late.append(now - due)
        fired_at.append(now)
        if len(late) == count:
            done.set()

    gc.collect()
    offset = loop.time() - time.time()
    for due in dues:
        loop.call_at(due + offset, fire, due)
    await asyncio.wait_for(done.wait(), seconds + 60)
    return {
        "name": f"timers.r{rate}.floor",
        "rate": rate,
        "seconds": seconds,
        **summary(late, fired_at, dues),
        "floor": "asyncio loop.call_at on the same due times, no engine",
        **_common(),
    }


async def measure_engine(
    directory: str, rate: int, seconds: float, lead: float | None, floor: dict[str, Any] | None
) -> dict[str, Any]:
    db = os.path.join(directory, f"timers-{rate}.db")
    store = SqliteStore(db)
    late: list[float] = []
    fired_at: list[float] = []
    all_fired = asyncio.Event()
    count = max(1, round(rate * seconds))

    def mark(event: Any, context: Any) -> Any:
        now = time.time()
        late.append(now - event["t"])
        fired_at.append(now)
        if len(late) >= count:
            all_fired.set()
        return None

    async with Engine(store=store) as engine:
        engine.register_function("mark", mark, blocking=False)
        machine = await engine.create_state_machine("timers", WAIT_THEN_TASK)
        ahead = lead
        if ahead is None:  # leave time to start and park every execution (2.5x the estimate: the
            # start rate swings on a shared machine)
            parked = await engine.create_state_machine("calibration", PARK_A_DAY)
            began = time.perf_counter()
            await asyncio.gather(*(engine.start_execution(parked.arn, {}) for _ in range(CALIBRATION)))
            per_s = CALIBRATION / (time.perf_counter() - began)
            ahead = 3.0 + 2.5 * count / per_s
        dues = schedule(time.time() + ahead, rate, seconds)
        texts = [_iso(d) for d in dues]
        # the due time the engine reads (the ISO text), so rounding is no part of the lateness
        exact = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp() for t in texts]
        t0 = time.perf_counter()
        start = engine.start_execution
        for first in range(0, count, START_CHUNK):
            await asyncio.gather(
                *(
                    start(machine.arn, {"due": texts[i], "t": exact[i]}, name=f"t{i:07d}")
                    for i in range(first, min(count, first + START_CHUNK))
                )
            )
        started_s = time.perf_counter() - t0
        started_by = time.time()
        for _ in range(500):  # let the last ones reach their Wait and park
            if not engine.standard.running:
                break
            await asyncio.sleep(0.01)
        resident_before_due = len(engine.standard.running)
        margin = exact[0] - time.time()
        gc.collect()
        tx0 = store.stats.transactions
        try:
            timeout = max(0.0, exact[-1] - time.time()) + max(60.0, seconds * 3)
            await asyncio.wait_for(all_fired.wait(), timeout)
        except TimeoutError:
            pass
        transactions = store.stats.transactions - tx0
        await asyncio.sleep(0.2)
        unfinished = len(engine.standard.running)
    line: dict[str, Any] = {
        "name": f"timers.r{rate}",
        "rate": rate,
        "seconds": seconds,
        **summary(late, fired_at, exact),
        "started_executions": count,
        "start_s": round(started_s, 3),
        "started_before_first_due_s": round(exact[0] - started_by, 3),
        "margin_before_first_due_s": round(margin, 3),
        "resident_before_due": resident_before_due,
        "transactions_per_fire": round(transactions / max(1, len(late)), 3),
        "resident_at_end": unfinished,
    }
    if floor and "lateness_p99_ms" in floor and "lateness_p99_ms" in line:
        line["p99_minus_floor_ms"] = round(line["lateness_p99_ms"] - floor["lateness_p99_ms"], 2)
        line["p99_vs_floor_x"] = round(line["lateness_p99_ms"] / max(floor["lateness_p99_ms"], 0.01), 1)
    if len(late) < count:
        line["error"] = f"only {len(late)} of {count} timers fired before the timeout"
    elif margin < 1.0:
        line["error"] = "starting overran the first due times (not every execution was parked): use --lead"
    line.update(_common())
    return line


async def main_async(args: argparse.Namespace) -> None:
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    seconds = args.seconds
    lines: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="durable-bench-timers-") as directory:
        for rate in rates:
            gc.collect()
            await asyncio.sleep(1.0)  # what the previous round left behind settles
            floor = None if args.no_floor else await measure_floor(rate, seconds)
            if floor is not None:
                print(json.dumps(floor), flush=True)
            line = await measure_engine(directory, rate, seconds, args.lead, floor)
            lines.append(line)
            print(json.dumps(line), flush=True)
    best = [x for x in lines if x["rate"] >= GOAL_FIRES_PER_S and "lateness_p99_ms" in x]
    top = max(lines, key=lambda x: x["rate"]) if lines else None
    if top is not None:
        goal: dict[str, Any] = {
            "name": "goals",
            "goal_fires_per_s": GOAL_FIRES_PER_S,
            "goal_p99_ms": GOAL_P99_MS,
            "highest_rate": top["rate"],
            "highest_rate_p99_ms": top.get("lateness_p99_ms"),
            "highest_rate_achieved_fires_per_s": top.get("achieved_fires_per_s"),
            "goal_met": any(
                x["lateness_p99_ms"] <= GOAL_P99_MS
                and x.get("achieved_fires_per_s", 0) >= 0.95 * x["rate"]
                and "error" not in x
                for x in best
            ),
        }
        goal.update(_common())
        print(json.dumps(goal), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rates", default="500,1000,2500,5000", help="comma-separated fires per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the sustained window")
    parser.add_argument(
        "--lead", type=float, default=None, help="seconds from the first start to the first due time"
    )
    parser.add_argument("--quick", action="store_true", help="rates 500,5000 for 5 s each")
    parser.add_argument("--no-floor", action="store_true", help="skip the loop.call_at reference")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.seconds = "500,5000", 5.0
    if args.seconds <= 0:
        parser.error("--seconds must be > 0")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
