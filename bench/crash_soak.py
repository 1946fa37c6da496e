"""Crash soak: N executions under K random SIGKILLs, with an operator acting from another process.

    python bench/crash_soak.py                                  # 120 executions, 20 kills
    python bench/crash_soak.py --executions 400 --kills 60 --seed 7

A real engine process (the crash tests' worker, ``tests/runtime/crash_worker.py``, scenario
``chaos``) runs Standard executions of nine kinds on a SQLite file: task chains with Waits,
Retry, Parallel, inline Map, Distributed Map (child executions with a task and a Wait each),
``.waitForTaskToken`` callbacks, failures, executions to redrive and executions to stop. This
process SIGKILLs it at random moments (K times) and restarts it, while — the whole time, also
while no engine runs — it acts as an operator through a
``durable.Client``: it starts the executions a few at a time (so that work is in flight at every
kill), answers task tokens, stops executions and redrives failed ones. Then it lets the last
engine finish and checks everything.

Prints one JSON line of findings. Every count under ``findings`` must be 0:

* ``wrong_status`` / ``wrong_output``: an execution did not end as computed independently;
* ``missing`` / ``duplicate``: an execution lost, or started twice;
* ``effect_before_commit``: a task ran before its Scheduled event (and all events before it)
  was committed, as a second connection saw it at that moment;
* ``reinvoked_without_crash``: a task attempt invoked twice with no kill in between;
* ``recorded_result_rerun``: the history holds an outcome other than the attempt's last
  invocation (a recorded result was re-run);
* ``too_many_invocations``: an attempt invoked more than once per kill plus one;
* ``malformed_history``: ids not dense, no single start, terminal events not where they belong;
* ``open_tokens`` / ``pending_requests``: task tokens or inbox requests left behind.

Beside them: ``kills``, ``kills_during_a_task`` (kills that interrupted a task before its
outcome was recorded), ``reinvocations`` (invocations re-run after a kill: the at-least-once
part, one per interrupted task), the operator's
``answers``/``stops``/``redrives``, and ``seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from durable import Client, ExecutionDoesNotExist, StoreUnavailable  # noqa: E402
from tests.runtime import crash_worker as W  # noqa: E402

TERMINAL = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}


def arn_of(machine: str, name: str) -> str:
    return f"arn:aws:states:{W.REGION}:{W.ACCOUNT}:execution:{machine}:{name}"


class Soak:
    def __init__(self, workdir: Path, executions: int, seed: int) -> None:
        self.dir = workdir
        self.db = str(workdir / "soak.db")
        self.log = workdir / "invocations.jsonl"
        self.tokens = workdir / "tokens"
        self.tokens.mkdir(exist_ok=True)
        self.executions = executions
        self.seed = seed
        self.rng = random.Random(seed)
        self.plan = W.plan("chaos", executions, seed)
        self.kills: list[tuple[int, float]] = []  # (pid, time)
        self.counts: Counter[str] = Counter()
        self.done: set[str] = set()  # operator actions taken, as "<action>:<name>"
        self.over = asyncio.Event()

    async def engine(self, kill_after: float | None) -> None:
        args = [
            sys.executable, str(ROOT / "tests" / "runtime" / "crash_worker.py"),
            "--db", self.db, "--count", str(self.executions), "--seed", str(self.seed),
            "--log", str(self.log), "--tokens", str(self.tokens), "--scenario", "chaos", "--timeout", "600",
        ]  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        }
        with open(self.dir / "engine.stderr", "a") as err:
            proc = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=err, env=env
            )
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), 60)  # "opened"
        if kill_after is None:
            await proc.wait()
            return
        try:
            await asyncio.wait_for(proc.wait(), kill_after)
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
            self.kills.append((proc.pid, time.time()))
            await proc.wait()

    async def operate(self, kills: int) -> None:
        """Start the executions a few at a time (spread over the kills), answer, stop, redrive."""
        spread = max(1.0, kills * 1.2)  # seconds over which the starts are spread
        began = time.monotonic()
        async with Client(self.db) as client:
            for machine in sorted({m for _, m, _ in self.plan}):
                await client.create_state_machine(machine, W.MACHINES[machine])
            unstarted = list(self.plan)
            while not self.over.is_set():
                due = round(self.executions * min(1.0, (time.monotonic() - began) / spread))
                for name, machine, data in unstarted[: max(0, due - (self.executions - len(unstarted)))]:
                    try:
                        await client.start_execution(
                            client.catalog.state_machine_arn(machine), data, name=name
                        )
                    except StoreUnavailable:
                        break
                    unstarted.remove((name, machine, data))
                for name, machine, data in self.plan:
                    try:
                        await self.act(client, name, machine, data)
                    except (StoreUnavailable, ExecutionDoesNotExist):
                        continue
                await asyncio.sleep(self.rng.uniform(0.02, 0.1))

    async def act(self, client: Client, name: str, machine: str, data: dict[str, Any]) -> None:
        arn = arn_of(machine, name)
        if machine == "token" and f"answer:{name}" not in self.done and self.rng.random() < 0.2:
            path = self.tokens / f"{name}.json"
            if path.exists():
                sent = json.loads(path.read_text())
                await client.send_task_success(sent["token"], {"value": W.ANSWER_FACTOR * data["n"]})
                self.done.add(f"answer:{name}")
                self.counts["answers"] += 1
        elif machine == "stop" and f"stop:{name}" not in self.done and self.rng.random() < 0.1:
            if str((await client.describe_execution(arn)).status) == "RUNNING":
                await client.stop_execution(arn, error="Halt", cause="by the operator")
                self.done.add(f"stop:{name}")
                self.counts["stops"] += 1
        elif machine == "redrive" and f"redrive:{name}" not in self.done and self.rng.random() < 0.3:
            if str((await client.describe_execution(arn)).status) == "FAILED":
                await client.redrive_execution(arn)
                self.done.add(f"redrive:{name}")
                self.counts["redrives"] += 1

    async def all_final(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        async with Client(self.db) as client:
            while time.monotonic() < deadline:
                pending = 0
                for name, machine, data in self.plan:
                    try:
                        status = str((await client.describe_execution(arn_of(machine, name))).status)
                    except ExecutionDoesNotExist:
                        status = "missing"
                    pending += status != W.expected(machine, data)[0]
                if not pending:
                    return True
                await asyncio.sleep(0.2)
        return False

    async def run(self, kills: int) -> dict[str, Any]:
        began = time.monotonic()
        operating = asyncio.ensure_future(self.operate(kills))
        for _ in range(kills):
            await self.engine(kill_after=self.rng.uniform(0.1, 1.5))
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
        last = asyncio.ensure_future(self.engine(kill_after=None))
        finished = await self.all_final(120 + self.executions)
        self.over.set()
        await operating
        Path(str(self.log) + ".done").write_text("")
        await last
        findings = await self.check(finished)
        return {
            "benchmark": "crash_soak",
            "executions": self.executions,
            "seed": self.seed,
            "kills": len(self.kills),
            "kills_during_a_task": self.counts["kills_during_a_task"],
            "reinvocations": self.counts["reinvocations"],
            "invocations": self.counts["invocations"],
            "answers": self.counts["answers"],
            "stops": self.counts["stops"],
            "redrives": self.counts["redrives"],
            "findings": findings,
            "seconds": round(time.monotonic() - began, 1),
        }

    async def check(self, finished: bool) -> dict[str, int]:
        found: Counter[str] = Counter()
        lines = [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []
        self.counts["invocations"] = len(lines)
        by_inv = {line["inv"]: line for line in lines}
        by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            found["effect_before_commit"] += line["committed"] is not True
            by_key[
                (line["exec"], line["state"], line["attempt"], line.get("redrives", 0), line["index"])
            ].append(line)
        killed = {pid for pid, _ in self.kills}
        for invs in by_key.values():
            invs.sort(key=lambda line: line["t"])
            pids = [line["pid"] for line in invs]
            found["reinvoked_without_crash"] += len(set(pids)) != len(pids) or any(
                p not in killed for p in pids[:-1]
            )
            found["too_many_invocations"] += len(invs) > 1 + len(self.kills)
            self.counts["reinvocations"] += len(invs) - 1
        for pid, when in self.kills:
            self.counts["kills_during_a_task"] += any(
                line["pid"] == pid and line["t"] <= when < line["t"] + W.TASK_SECONDS for line in lines
            )
        found["unfinished"] += not finished
        async with Client(self.db) as client:
            names = [x.name for x in await client.list_executions()]
            found["duplicate"] += len(names) - len(set(names))
            for name, machine, data in self.plan:
                try:
                    execution = await client.describe_execution(arn_of(machine, name))
                except ExecutionDoesNotExist:
                    found["missing"] += 1
                    continue
                status, result = W.expected(machine, data)
                found["wrong_status"] += str(execution.status) != status
                if str(execution.status) == status:
                    actual = execution.output if status == "SUCCEEDED" else execution.error
                    found["wrong_output"] += actual != result
                history = await client.get_execution_history(arn_of(machine, name))
                found["malformed_history"] += not _well_formed(history)
                recorded = _recorded(history)
                for run in await client.list_map_runs(arn_of(machine, name)):  # its child executions
                    for child in await client.list_executions(map_run_arn=run.map_run_arn):
                        child_history = await client.get_execution_history(child.execution_arn)
                        found["malformed_history"] += not _well_formed(child_history)
                        recorded.extend(_recorded(child_history))
                for inv in recorded:
                    line = by_inv.get(inv)
                    key = line and (
                        line["exec"],
                        line["state"],
                        line["attempt"],
                        line.get("redrives", 0),
                        line["index"],
                    )
                    found["recorded_result_rerun"] += line is None or by_key[key][-1]["inv"] != inv
            found["open_tokens"] += len(await client.store.open_tokens())
            found["pending_requests"] += len(await client.store.requests())
        keys = (
            "missing duplicate wrong_status wrong_output effect_before_commit reinvoked_without_crash"
            " recorded_result_rerun too_many_invocations malformed_history open_tokens pending_requests"
            " unfinished"
        ).split()
        return {k: int(found[k]) for k in keys}


def _well_formed(history: list[dict[str, Any]]) -> bool:
    ids = [e["id"] for e in history]
    types = [e["type"] for e in history]
    if (
        ids != list(range(1, len(history) + 1))
        or types.count("ExecutionStarted") != 1
        or types[0] != "ExecutionStarted"
    ):
        return False
    if any(not 0 <= e["previousEventId"] < e["id"] for e in history):
        return False
    terminal = [i for i, t in enumerate(types) if t in TERMINAL]
    redriven = [i for i, t in enumerate(types) if t == "ExecutionRedriven"]
    return bool(terminal) and terminal[-1] == len(types) - 1 and [i + 1 for i in terminal[:-1]] == redriven


def _recorded(history: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in history:
        if e["type"] == "LambdaFunctionSucceeded":
            out.append(json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])["inv"])
        elif e["type"] == "LambdaFunctionFailed":
            out.append(e["lambdaFunctionFailedEventDetails"]["cause"].removeprefix("inv="))
        elif e["type"] == "TaskSubmitted":
            out.append(json.loads(e["taskSubmittedEventDetails"]["output"])["Payload"]["inv"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=120)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed as workdir)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="durable-soak-"))
    result = asyncio.run(Soak(workdir, args.executions, args.seed).run(args.kills))
    if args.keep:
        result["workdir"] = str(workdir)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
