"""Crash tests with real processes: SIGKILL a worker running durable executions, restart it.

The worker (``crash_worker.py``) runs a mix of Standard executions (Wait, counted tasks,
Retry, Parallel, inline Map, ``.waitForTaskToken``) on a SQLite file (and, for one seed, on a
PostgreSQL database of the tests' throwaway server). The parent kills it
at seeded random moments, restarts it with the same arguments, answers the task tokens on
its own engine, and then checks with a fresh engine that

* every execution reached its expected status and output, exactly once started;
* every history is well formed (ids 1..n, previous ids before ids, one ExecutionStarted,
  one terminal event last) and has the same event types as an uninterrupted run;
* no recorded task result was re-invoked: a task attempt is invoked more than once only
  across a kill, and the outcome in the history is the one of its last invocation;
* Waits never end early, and a Wait's due time survives a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from durable import (
    Client,
    Engine,
    ExecutionDoesNotExist,
    ManualClock,
    StoreUnavailable,
    TaskDoesNotExist,
)
from tests.runtime import crash_worker as W

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")

WORKER = Path(W.__file__)
ROOT = WORKER.parents[2]  # the worker imports the same ``durable`` as the tests
COUNT = 12  # two executions of each kind
TERMINAL = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
LINEAR = ("seq", "retry", "fail", "token")  # one lane: the exact event sequence is deterministic


@dataclass
class Run:
    pid: int
    killed: bool
    kill_time: float | None
    returncode: int
    opened: float = 0.0  # when the worker said its engine was open


@dataclass
class Scenario:
    tmp: Path
    seed: int = 0
    scenario: str = "mix"
    count: int = COUNT
    runs: list[Run] = field(default_factory=list)
    url: str | None = None  # a PostgreSQL database; None: an SQLite file in ``tmp``

    @property
    def db(self) -> str:
        return self.url or str(self.tmp / "crash.db")

    @property
    def log(self) -> Path:
        return self.tmp / "invocations.jsonl"

    @property
    def tokens(self) -> Path:
        return self.tmp / "tokens"

    def args(self) -> list[str]:
        return [
            str(WORKER),
            "--db",
            self.db,
            "--count",
            str(self.count),
            "--seed",
            str(self.seed),
            "--log",
            str(self.log),
            "--tokens",
            str(self.tokens),
            "--scenario",
            self.scenario,
            "--timeout",
            "30",
        ]

    def stderr(self) -> str:
        path = self.tmp / "worker.stderr"
        return path.read_text()[-4000:] if path.exists() else ""

    async def run(self, *, kill_after: float | None = None, kill_after_line: str = "opened") -> Run:
        """Run the worker; SIGKILL it ``kill_after`` seconds after it prints ``kill_after_line``
        (unless it exits first), or let it run until it exits by itself."""
        self.tokens.mkdir(exist_ok=True)
        with open(self.tmp / "worker.stderr", "a") as err:
            path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.args(),
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env={**os.environ, "PYTHONPATH": path},
            )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line == b"opened\n", (line, self.stderr())
            opened = time.time()
            if kill_after is not None and kill_after_line != "opened":
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                assert line.decode().strip() == kill_after_line, (line, self.stderr())
            if kill_after is not None:
                try:
                    code = await asyncio.wait_for(proc.wait(), kill_after)
                except TimeoutError:
                    kill_time = time.time()
                    proc.kill()  # SIGKILL
                    code = await proc.wait()
                    assert code == -9, code
                    run = Run(proc.pid, True, kill_time, code, opened)
                    self.runs.append(run)
                    return run
            else:
                code = await asyncio.wait_for(proc.wait(), 45)
            rest = await proc.stdout.read()
            assert code == 0, (code, rest, self.stderr())
            run = Run(proc.pid, False, None, code, opened)
            self.runs.append(run)
            return run
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    @property
    def kills(self) -> list[Run]:
        return [r for r in self.runs if r.killed]

    def invocations(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def arn_of(machine: str, name: str) -> str:
    return f"arn:aws:states:{W.REGION}:{W.ACCOUNT}:execution:{machine}:{name}"


def kind_of(name: str) -> str:
    return name.split("-", 1)[0]


def key_of(line: dict[str, Any]) -> tuple[Any, ...]:
    """A task attempt: execution, state, retry count, redrive count, Map index."""
    return (line["exec"], line["state"], line["attempt"], line.get("redrives", 0), line["index"])


# --- history checks --------------------------------------------------------------------------------


def check_history(name: str, history: list[dict[str, Any]]) -> None:
    """Well formed: ids 1..n, previous ids earlier, one start first, one terminal event last
    (and one more before each ``ExecutionRedriven``)."""
    ids = [e["id"] for e in history]
    assert ids == list(range(1, len(history) + 1)), (name, ids)
    for e in history:
        assert 0 <= e["previousEventId"] < e["id"], (name, e)
    times = [e["timestamp"] for e in history]
    assert times == sorted(times), (name, "event timestamps go backwards")
    types = Counter(e["type"] for e in history)
    assert history[0]["type"] == "ExecutionStarted" and history[0]["previousEventId"] == 0, name
    assert types["ExecutionStarted"] == 1, (name, types)
    assert history[-1]["type"] in TERMINAL, (name, history[-1])
    assert sum(types[t] for t in TERMINAL) == 1 + types["ExecutionRedriven"], (name, types)
    for i, e in enumerate(history):
        if e["type"] == "ExecutionRedriven":
            assert history[i - 1]["type"] in TERMINAL, (name, history[i - 1])
    # every task is scheduled, started and ended exactly once per attempt (a stop leaves the
    # task it interrupted without an end, as AWS records it)
    stopped = history[-1]["type"] in ("ExecutionAborted", "ExecutionTimedOut")
    for family in ("LambdaFunction", "Task"):
        ends = sum(types[f"{family}{end}"] for end in ("Succeeded", "Failed", "TimedOut"))
        scheduled = types[f"{family}Scheduled"]
        assert scheduled == types[f"{family}Started"], (name, types)
        assert ends == scheduled or (stopped and scheduled - 1 <= ends <= scheduled), (name, types)
    for state in ("Wait", "Pass", "Task", "Parallel", "Map"):
        entered, exited = types[f"{state}StateEntered"], types[f"{state}StateExited"]
        failed = history[-1]["type"] != "ExecutionSucceeded"
        assert 0 <= entered - exited <= types["ExecutionRedriven"] + failed, (name, state, types)


def recorded_invocations(history: list[dict[str, Any]]) -> list[str]:
    """The invocation ids whose outcome the history recorded (from task results and errors)."""
    out = []
    for e in history:
        if e["type"] == "LambdaFunctionSucceeded":
            out.append(json.loads(e["lambdaFunctionSucceededEventDetails"]["output"])["inv"])
        elif e["type"] == "LambdaFunctionFailed":
            cause = e["lambdaFunctionFailedEventDetails"]["cause"]
            assert cause.startswith("inv="), cause
            out.append(cause[len("inv=") :])
        elif e["type"] == "TaskSubmitted":
            out.append(json.loads(e["taskSubmittedEventDetails"]["output"])["Payload"]["inv"])
    return out


def wait_durations(history: list[dict[str, Any]]) -> list[float]:
    entered = [e["timestamp"].timestamp() for e in history if e["type"] == "WaitStateEntered"]
    exited = [e["timestamp"].timestamp() for e in history if e["type"] == "WaitStateExited"]
    assert len(entered) == len(exited)
    return [b - a for a, b in zip(entered, exited, strict=True)]


# --- an uninterrupted reference run of every kind ---------------------------------------------------


async def reference_histories(tmp: Path) -> dict[str, list[str]]:
    """Event types of one uninterrupted in-memory run per kind (Waits skipped by a ManualClock)."""
    (tmp / "tokens").mkdir(parents=True)
    engine = Engine(clock=ManualClock(autojump=0.01))
    W.register(engine, str(tmp / "log.jsonl"), str(tmp / "tokens"))
    out: dict[str, list[str]] = {}
    async with engine:
        runs = {}
        for name, machine, data in W.plan("mix", len(W.KINDS), 0):
            sm = await engine.create_state_machine(machine, W.MACHINES[machine])
            runs[kind_of(name)] = (await engine.start_execution(sm.arn, data, name=name)), data
        token_name = f"token-{W.KINDS.index('token'):03d}"
        token_file = tmp / "tokens" / f"{token_name}.json"
        for _ in range(1000):
            if token_file.exists():
                break
            await asyncio.sleep(0.01)
        token = json.loads(token_file.read_text())["token"]
        answer = {"value": W.ANSWER_FACTOR * runs["token"][1]["n"]}
        for _ in range(1000):  # the token exists once the submission returned (see test_early_callback)
            try:
                await engine.send_task_success(token, answer)
                break
            except TaskDoesNotExist:
                await asyncio.sleep(0.01)
        for kind, (started, data) in runs.items():
            done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
            status, result = W.expected(started.state_machine_arn.rsplit(":", 1)[-1], data)
            assert str(done.status) == status, (kind, done)
            assert (done.output if status == "SUCCEEDED" else done.error) == result, (kind, done)
            history = await engine.get_execution_history(started.execution_arn)
            out[kind] = [e["type"] for e in history]
    return out


# --- the crash test -----------------------------------------------------------------------------------


async def answer_tokens(s: Scenario, plan: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Answer every task token on the parent's own engine and let those executions finish."""
    engine = Engine(s.db)
    W.register(engine, str(s.log), str(s.tokens))  # the rest of a token run happens here
    await engine.open()
    try:
        assert not engine.standard.running, "nothing resident: all others finished, token runs parked"
        arns = []
        for name, machine, data in plan:
            if machine != "token":
                continue
            sent = json.loads((s.tokens / f"{name}.json").read_text())
            assert sent["n"] == data["n"]
            await engine.send_task_success(sent["token"], {"value": W.ANSWER_FACTOR * data["n"]})
            arns.append(arn_of(machine, name))
        for arn in arns:
            await asyncio.wait_for(engine.wait_for_execution(arn), 20)
    finally:
        await engine.close()


async def check_results(s: Scenario, plan: list[tuple[str, str, dict[str, Any]]]) -> None:
    reference = await reference_histories(s.tmp / "reference")
    lines = s.invocations()
    by_inv = {line["inv"]: line for line in lines}
    assert len(by_inv) == len(lines), "invocation ids are unique"
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_key[key_of(line)].append(line)
    killed = {r.pid for r in s.kills}
    first_kill = min((r.kill_time for r in s.kills if r.kill_time), default=float("inf"))

    # every task attempt: invoked again only across a kill, and never after its result was recorded
    for key, invs in by_key.items():
        invs.sort(key=lambda line: line["t"])
        pids = [line["pid"] for line in invs]
        assert len(set(pids)) == len(pids), (key, "invoked twice by one process", invs)
        assert all(pid in killed for pid in pids[:-1]), (key, "re-invoked without a crash", invs)
        assert len(invs) <= 1 + len(s.kills), (key, invs)
        if invs[0]["t"] < first_kill - 0.5:
            assert len(invs) == 1, (key, "completed well before the first kill, yet re-invoked", invs)

    engine = Engine(s.db)  # a fresh engine: nothing registered, nothing left to run
    async with engine:
        assert not engine.standard.running
        listed = await engine.list_executions()
        assert sorted(x.name for x in listed) == sorted(name for name, _, _ in plan), "no duplicates"
        assert not await engine.list_executions(status="RUNNING")
        for name, machine, data in plan:
            arn = arn_of(machine, name)
            execution = await engine.describe_execution(arn)
            status, result = W.expected(machine, data)
            assert str(execution.status) == status, (name, execution, s.stderr())
            if status == "SUCCEEDED":
                assert execution.output == result, (name, execution.output)
            else:
                assert execution.error == result, (name, execution.error)
            history = await engine.get_execution_history(arn)
            check_history(name, history)
            types = [e["type"] for e in history]
            kind = kind_of(name)
            if kind in LINEAR:
                assert types == reference[kind], (name, types, reference[kind])
            else:
                assert Counter(types) == Counter(reference[kind]), (name, types, reference[kind])
            # the recorded outcome of each attempt is its last invocation, and all were recorded
            recorded = recorded_invocations(history)
            keys = [key_of(by_inv[inv]) for inv in recorded]
            assert len(set(keys)) == len(keys), (name, "an attempt recorded twice", keys)
            assert set(keys) == {k for k in by_key if k[0] == name}, (name, keys)
            for inv, key in zip(recorded, keys, strict=True):
                assert by_key[key][-1]["inv"] == inv, (name, key, "a recorded result was re-invoked")
            # Waits never end early
            if machine == "seq":
                assert wait_durations(history)[0] >= data["wait"] - 0.01, name
            if machine == "par":
                assert wait_durations(history)[0] >= 1 - 0.01, name
    # a task token is handed out once per execution, however often the submission re-ran
    handed: dict[int, set[str]] = defaultdict(set)
    for line in (s.tokens / "all.jsonl").read_text().splitlines():
        sent = json.loads(line)
        handed[sent["n"]].add(sent["token"])
    assert handed and all(len(tokens) == 1 for tokens in handed.values()), handed


@pytest.mark.parametrize(("seed", "store"), [(5, "sqlite"), (6, "sqlite"), (7, "sqlite"), (6, "postgres")])
async def test_sigkill_and_restart(
    request: pytest.FixtureRequest, tmp_path: Path, seed: int, store: str
) -> None:
    rng = random.Random(seed)
    url = request.getfixturevalue("pg_url") if store == "postgres" else None
    s = Scenario(tmp_path, seed=seed, url=url)
    delays = [rng.uniform(0.2, 1.5) for _ in range(1 + seed % 2)]
    for delay in delays:
        await s.run(kill_after=delay)
    await s.run()  # the final restart: runs until every execution stopped or waits on a token
    assert s.kills, "the worker was killed at least once"
    plan = W.plan("mix", COUNT, seed)
    await answer_tokens(s, plan)
    await check_results(s, plan)


async def test_wait_due_time_survives_a_restart(tmp_path: Path) -> None:
    s = Scenario(tmp_path, scenario="wait")
    run = await s.run(kill_after=0.5, kill_after_line="started")
    assert run.killed
    await asyncio.sleep(1.0)
    restarted = time.time()
    final = await s.run()
    async with Engine(s.db) as engine:
        arn = arn_of("wait3", "w0")
        execution = await engine.describe_execution(arn)
        assert str(execution.status) == "SUCCEEDED"
        history = await engine.get_execution_history(arn)
    check_history("w0", history)
    entered = next(e["timestamp"].timestamp() for e in history if e["type"] == "WaitStateEntered")
    assert run.kill_time is not None and entered < run.kill_time < restarted < entered + 3
    (waited,) = wait_durations(history)
    # due 3 s after it was entered, not 3 s after the restart: at the due time, or as soon as the
    # restarted engine is open if that is later (a loaded machine starts the worker slowly)
    assert 3 - 0.01 <= waited < max(3.0, final.opened - entered) + 0.5, (waited, final.opened - entered)


# --- known bugs, reproduced in-process ------------------------------------------------------------

LAMBDA = f"arn:aws:lambda:{W.REGION}:{W.ACCOUNT}:function:"
TASK_BESIDE_A_WAIT = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA + "f", "End": True}}},
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}},
            ],
        }
    },
}


async def _task_beside_a_wait(db: str, calls: list[int]) -> tuple[Engine, str]:
    engine = Engine(db, clock=ManualClock())  # no autojump: the branch's Wait never ends
    engine.register_function("f", lambda event, ctx: calls.append(1) or "done", blocking=False)
    await engine.open()
    sm = await engine.create_state_machine("beside", TASK_BESIDE_A_WAIT)
    started = await engine.start_execution(sm.arn, {}, name="x")
    for _ in range(200):
        if calls:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the task returned long ago; the other branch is waiting
    return engine, started.execution_arn


async def test_branch_result_is_committed_while_a_sibling_waits(tmp_path: Path) -> None:
    calls: list[int] = []
    engine, arn = await _task_beside_a_wait(str(tmp_path / "x.db"), calls)
    try:
        assert calls == [1]
        types = [e["type"] for e in await engine.get_execution_history(arn)]
        assert "LambdaFunctionSucceeded" in types, types
    finally:
        await engine.close()


async def test_clean_close_does_not_reinvoke_a_completed_task(tmp_path: Path) -> None:
    calls: list[int] = []
    db = str(tmp_path / "x.db")
    engine, _ = await _task_beside_a_wait(db, calls)
    await engine.close()
    engine = Engine(db, clock=ManualClock())
    engine.register_function("f", lambda event, ctx: calls.append(1) or "done", blocking=False)
    await engine.open()
    try:
        await asyncio.sleep(0.3)  # resumed: replays, and re-invokes what was not recorded
        assert calls == [1]
    finally:
        await engine.close()


async def test_early_callback_during_the_submission(tmp_path: Path) -> None:
    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "submit", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    async with Engine(str(tmp_path / "x.db")) as engine:

        async def submit(event: Any, ctx: Any) -> Any:
            await engine.send_task_success(event["token"], {"early": True})  # e.g. a fast consumer
            return {}

        engine.register_function("submit", submit)
        sm = await engine.create_state_machine("early", definition)
        started = await engine.start_execution(sm.arn, {})
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 10)
        assert (str(done.status), done.output, done.error) == ("SUCCEEDED", {"early": True}, None)


# --- clients acting from another process while the engine is killed ---------------------------------

CHAOS_COUNT = 18  # two executions of each of the nine kinds


class ClientActor:
    """The parent process as an operator: with a :class:`Client` it answers task tokens, stops
    the ``stop`` executions and redrives the failed ``redrive`` ones at random moments — while the
    engine runs, while it is being killed, while no engine runs, and while one recovers."""

    def __init__(self, s: Scenario, plan: list[tuple[str, str, dict[str, Any]]], rng: random.Random) -> None:
        self.s = s
        self.plan = plan
        self.rng = rng
        self.answered: set[str] = set()
        self.stopped: set[str] = set()
        self.redriven: set[str] = set()
        self.actions: list[tuple[float, str, str]] = []  # (time, action, execution name)
        self.over = asyncio.Event()

    async def run(self, starts_per_step: int = 2) -> None:
        async with Client(self.s.db) as client:
            for machine in sorted({m for _, m, _ in self.plan}):
                await client.create_state_machine(machine, W.MACHINES[machine])
            unstarted = list(self.plan)
            while not self.over.is_set():
                for name, machine, data in unstarted[:starts_per_step]:  # a few at a time
                    sm = client.catalog.state_machine_arn(machine)
                    await client.start_execution(sm, data, name=name)
                    self.actions.append((time.time(), "start", name))
                del unstarted[:starts_per_step]
                for name, machine, data in self.plan:
                    try:
                        await self.act(client, name, machine, data)
                    except (StoreUnavailable, ExecutionDoesNotExist):
                        continue  # not started yet, or the database is busy: later
                await asyncio.sleep(self.rng.uniform(0.02, 0.12))

    async def act(self, client: Client, name: str, machine: str, data: dict[str, Any]) -> None:
        arn = arn_of(machine, name)
        if machine == "token" and name not in self.answered and self.rng.random() < 0.3:
            path = self.s.tokens / f"{name}.json"
            if path.exists():
                sent = json.loads(path.read_text())
                await client.send_task_success(sent["token"], {"value": W.ANSWER_FACTOR * data["n"]})
                self.answered.add(name)
                self.actions.append((time.time(), "answer", name))
        elif machine == "stop" and name not in self.stopped and self.rng.random() < 0.2:
            if str((await client.describe_execution(arn)).status) == "RUNNING":
                await client.stop_execution(arn, error="Halt", cause="by the operator")
                self.stopped.add(name)
                self.actions.append((time.time(), "stop", name))
        elif machine == "redrive" and name not in self.redriven and self.rng.random() < 0.4:
            if str((await client.describe_execution(arn)).status) == "FAILED":
                await client.redrive_execution(arn)
                self.redriven.add(name)
                self.actions.append((time.time(), "redrive", name))

    async def all_final(self, seconds: float) -> None:
        """Wait until every execution has its expected final status."""
        deadline = time.monotonic() + seconds
        async with Client(self.s.db) as client:
            while True:
                pending = []
                for name, machine, data in self.plan:
                    status, _ = W.expected(machine, data)
                    try:
                        now = str((await client.describe_execution(arn_of(machine, name))).status)
                    except ExecutionDoesNotExist:
                        now = "missing"
                    if now != status:
                        pending.append((name, now))
                if not pending:
                    return
                assert time.monotonic() < deadline, (pending, self.actions, self.s.stderr())
                await asyncio.sleep(0.1)


@pytest.mark.parametrize("seed", [21, 22])
async def test_engine_killed_while_clients_answer_stop_and_redrive(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    s = Scenario(tmp_path, seed=seed, scenario="chaos", count=CHAOS_COUNT)
    plan = W.plan("chaos", CHAOS_COUNT, seed)
    s.tokens.mkdir(exist_ok=True)
    actor = ClientActor(s, plan, rng)
    acting = asyncio.ensure_future(actor.run())
    try:
        for _ in range(3):
            await s.run(kill_after=rng.uniform(0.3, 1.2))
            await asyncio.sleep(rng.uniform(0.0, 0.4))  # no engine runs: the client acts alone
        final = asyncio.ensure_future(s.run())
        await actor.all_final(40)
        actor.over.set()
        await acting
        Path(str(s.log) + ".done").write_text("")
        await final
    finally:
        actor.over.set()
        await asyncio.gather(acting, return_exceptions=True)
    assert len(s.kills) == 3
    assert actor.answered and actor.stopped and actor.redriven
    await check_chaos(s, plan)


async def check_chaos(s: Scenario, plan: list[tuple[str, str, dict[str, Any]]]) -> None:
    lines = s.invocations()
    by_inv = {line["inv"]: line for line in lines}
    assert len(by_inv) == len(lines), "invocation ids are unique"
    # persist before effect: every task saw its Scheduled event, and all before it, committed
    late = [line for line in lines if line["committed"] is not True]
    assert not late, late[:3]
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_key[key_of(line)].append(line)
    killed = {r.pid for r in s.kills}
    for key, invs in by_key.items():
        invs.sort(key=lambda line: line["t"])
        pids = [line["pid"] for line in invs]
        assert len(set(pids)) == len(pids), (
            key,
            "invoked twice by one process (a replay without a crash)",
            invs,
        )
        assert all(pid in killed for pid in pids[:-1]), (key, "re-invoked without a crash", invs)
        assert len(invs) <= 1 + len(s.kills), (key, invs)
    async with Client(s.db) as client:
        assert not client.engine_running()
        listed = await client.list_executions()
        assert sorted(x.name for x in listed) == sorted(name for name, _, _ in plan), "no duplicates"
        for name, machine, data in plan:
            arn = arn_of(machine, name)
            execution = await client.describe_execution(arn)
            status, result = W.expected(machine, data)
            assert str(execution.status) == status, (name, execution)
            if status == "SUCCEEDED":
                assert execution.output == result, (name, execution.output)
            else:
                assert execution.error == result, (name, execution.error)
            history = await client.get_execution_history(arn)
            check_history(name, history)
            recorded = recorded_invocations(history)
            for run in await client.list_map_runs(arn):  # a Distributed Map's child executions
                children = await client.list_executions(map_run_arn=run.map_run_arn)
                assert len(children) == len(data["items"]), (name, children)
                for child in children:
                    child_history = await client.get_execution_history(child.execution_arn)
                    check_history(child.name, child_history)
                    recorded += recorded_invocations(child_history)
            keys = [key_of(by_inv[inv]) for inv in recorded]
            assert len(set(keys)) == len(keys), (name, "an attempt recorded twice", keys)
            for inv, key in zip(recorded, keys, strict=True):
                assert by_key[key][-1]["inv"] == inv, (name, key, "a recorded result was re-invoked")
            if machine == "redrive":
                assert [e["type"] for e in history].count("ExecutionRedriven") == 1
        assert await client.store.requests() == [], "every request was consumed"
        assert await client.store.open_tokens() == [], "no task token left open"
