"""Three engine processes share one PostgreSQL database; one is SIGKILLed mid-run.

Each worker (``crash_worker.py --shared``) starts a third of 1,000 executions of every kind —
tasks, retries, Waits, Parallel, inline Map, ``.waitForTaskToken`` — and runs whatever it owns
or claims. The parent SIGKILLs one worker while its executions are in flight, answers every task
token from a :class:`~durable.Client` (each answer reaches whichever engine owns the execution),
and waits until everything has ended. Then it checks, as the single-process crash test does,
that every execution ended exactly as on one process with a well-formed history, that no
recorded task result was re-invoked (a task attempt runs again only if it was in flight in the
killed process), that every sampled invocation saw its ``Scheduled`` event committed first, and
that the survivors took over the killed engine's executions once its lease lapsed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from durable import Client, TaskDoesNotExist
from tests.runtime import crash_worker as W
from tests.runtime.test_crash import ROOT, Run, Scenario, arn_of, check_results

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")

EXECUTIONS = 1000
WORKERS = 3
LEASE = 2.0  # seconds: the survivors take over about this long after the kill


async def _spawn(s: Scenario, part: int) -> asyncio.subprocess.Process:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    args = [*s.args(), "--shared", "--lease", str(LEASE), "--part", f"{part}/{WORKERS}", "--check-every", "7"]
    args[args.index("--timeout") + 1] = "300"
    with open(s.tmp / f"worker{part}.stderr", "w") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env={**os.environ, "PYTHONPATH": path},
        )


async def _line(proc: asyncio.subprocess.Process, expected: str, s: Scenario, part: int) -> None:
    """Read the worker's standard output up to the line ``expected`` (the engine's log lines,
    such as a takeover's warning, may come before it)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), max(1.0, deadline - time.monotonic()))
        text = line.decode().strip()
        if text == expected:
            return
        err = (s.tmp / f"worker{part}.stderr").read_text()[-3000:]
        assert line and text not in ("opened", "started", "idle", "timeout"), (line, expected, err)


async def _all_parked_or_done(
    client: Client, plan: list[tuple[str, str, dict[str, Any]]], s: Scenario
) -> None:
    """Wait until every execution ended except the token ones, whose tokens were handed out."""
    deadline = time.monotonic() + 240
    running, tokens = 0, []
    while time.monotonic() < deadline:
        page = await client.list_executions(status="RUNNING")
        running = sum(1 for x in page if x.state_machine_arn.rsplit(":", 1)[-1] != "token")
        tokens = [n for n, m, _ in plan if m == "token" and not (s.tokens / f"{n}.json").exists()]
        if not running and not tokens:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not settled: {running} running, {len(tokens)} tokens not handed out")


async def test_three_engines_one_killed(tmp_path: Path, pg_url: str) -> None:
    rng = random.Random(17)
    s = Scenario(tmp_path, seed=17, count=EXECUTIONS, url=pg_url)
    s.tokens.mkdir()
    plan = W.plan("mix", EXECUTIONS, s.seed)
    procs = [await _spawn(s, part) for part in range(WORKERS)]
    victim = 1
    try:
        for part, proc in enumerate(procs):
            await _line(proc, "opened", s, part)
        await _line(procs[victim], "started", s, victim)
        await asyncio.sleep(rng.uniform(0.3, 1.0))  # its executions are in flight
        kill_time = time.time()
        procs[victim].kill()  # SIGKILL
        assert await procs[victim].wait() == -9
        s.runs.append(Run(procs[victim].pid, True, kill_time, -9))
        for part, proc in enumerate(procs):
            if part != victim:
                await _line(proc, "started", s, part)

        async with Client(pg_url) as client:
            await _all_parked_or_done(client, plan, s)
            arns = []
            for name, machine, data in plan:
                if machine != "token":
                    continue
                sent = json.loads((s.tokens / f"{name}.json").read_text())
                for _ in range(200):  # the token is stored once its submission returned
                    try:
                        await client.send_task_success(sent["token"], {"value": W.ANSWER_FACTOR * data["n"]})
                        break
                    except TaskDoesNotExist:
                        await asyncio.sleep(0.05)
                arns.append(arn_of(machine, name))
            for arn in arns:
                await asyncio.wait_for(client.wait_for_execution(arn), 120)
        Path(f"{s.log}.done").write_text("")
        for part, proc in enumerate(procs):
            if part != victim:
                assert await asyncio.wait_for(proc.wait(), 60) == 0, (
                    s.tmp / f"worker{part}.stderr"
                ).read_text()
                s.runs.append(Run(proc.pid, False, None, 0))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    lines = s.invocations()
    late = [line for line in lines if line["committed"] is False]
    assert not late, late[:3]
    assert sum(line["committed"] is True for line in lines) > 100  # the sample was checked
    # the survivors took over executions the killed engine had started and not finished
    victim_pid = procs[victim].pid
    names_by_victim = {line["exec"] for line in lines if line["pid"] == victim_pid}
    taken_over = {
        line["exec"] for line in lines if line["pid"] != victim_pid and line["exec"] in names_by_victim
    }
    assert taken_over, "the killed engine left nothing in flight"
    await check_results(s, plan)
