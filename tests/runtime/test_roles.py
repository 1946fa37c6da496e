"""One executing engine per database, and clients beside it (from the user's side).

An ``Engine`` executes; a second engine on the same database is a standby (or refuses with
``standby=False``); a ``Client`` records starts, answers, stops and redrives for the engine and
never executes. Every request is applied exactly once, promptly, whatever the engine was doing.
Every test runs on SQLite and on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from durable import (
    Client,
    Engine,
    EngineAlreadyRunning,
    ExecutionAlreadyExists,
    ExecutionNotRedrivable,
    TaskDoesNotExist,
    TaskFailed,
    TaskTimedOut,
)

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def callback(name: str = "Ask", **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": CALLBACK,
        "Parameters": {
            "FunctionName": "ask",
            "Payload": {"token.$": "$$.Task.Token", "who.$": "$$.Execution.Name"},
        },
        **fields,
    }


ASK = {"StartAt": "Ask", "States": {"Ask": {**callback(), "End": True}}}
# a branch waits for a token while the other runs a slow task: the execution stays resident
ASK_BESIDE_SLOW = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "Ask", "States": {"Ask": {**callback(), "End": True}}},
                {
                    "StartAt": "Slow",
                    "States": {"Slow": {"Type": "Task", "Resource": LAMBDA + "slow", "End": True}},
                },
            ],
        }
    },
}
GREET = {"StartAt": "G", "States": {"G": {"Type": "Task", "Resource": LAMBDA + "greet", "End": True}}}


class Tokens:
    """Task tokens handed out by the ``ask`` function, by execution name."""

    def __init__(self) -> None:
        self.by_name: dict[str, str] = {}
        self.slow_calls = 0
        self.slow_release = asyncio.Event()

    def register(self, engine: Engine) -> None:
        async def ask(event: Any, ctx: Any) -> Any:
            self.by_name[event["who"]] = event["token"]
            return {}

        async def slow(event: Any, ctx: Any) -> Any:
            self.slow_calls += 1
            await self.slow_release.wait()
            return "slow"

        engine.register_function("ask", ask)
        engine.register_function("slow", slow)
        engine.register_function("greet", lambda event, ctx: {"hello": event.get("name")}, blocking=False)

    async def token(self, name: str, seconds: float = 10.0) -> str:
        deadline = time.monotonic() + seconds
        while name not in self.by_name:
            assert time.monotonic() < deadline, f"no token for {name}"
            await asyncio.sleep(0.01)
        return self.by_name[name]


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL: an SQLite file, or a new PostgreSQL database (``tests/conftest.py``)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'roles.db'}"


# --- one engine per database ---------------------------------------------------------------------------


async def test_a_second_engine_refuses_when_asked_not_to_stand_by(db: str) -> None:
    async with Engine(db, role="first service"):
        second = Engine(db, standby=False)
        with pytest.raises(EngineAlreadyRunning, match="first service"):
            await second.open()
        await second.close()  # closing an engine that never opened is harmless


async def test_a_standby_engine_runs_nothing_then_takes_over(db: str) -> None:
    tokens = Tokens()
    first = Engine(db)
    tokens.register(first)
    await first.open()
    machine = await first.create_state_machine("greet", GREET)
    second = Engine(db, poll_interval=0.02)
    calls: list[str] = []
    second.register_function("greet", lambda event, ctx: calls.append("standby") or {}, blocking=False)
    await second.open()
    try:
        assert first.active and not second.active
        started = await second.start_execution(machine.arn, {"name": "Ada"}, name="via-standby")
        done = await asyncio.wait_for(second.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"hello": "Ada"} and calls == []  # recorded here, run by the first
        await first.close()
        deadline = time.monotonic() + 5
        while not second.active:
            assert time.monotonic() < deadline, "the standby did not take over"
            await asyncio.sleep(0.02)
        again = await second.start_execution(machine.arn, {"name": "Bo"}, name="after")
        await asyncio.wait_for(second.wait_for_execution(again.execution_arn), 5)
        assert calls == ["standby"]
    finally:
        await second.close()
        await first.close()


# --- clients -----------------------------------------------------------------------------------------------


async def test_a_client_answer_completes_the_parked_execution(db: str) -> None:
    tokens = Tokens()
    async with Engine(db) as engine:
        tokens.register(engine)
        machine = await engine.create_state_machine("ask", ASK)
        started = await engine.start_execution(machine.arn, name="a1")
        token = await tokens.token("a1")
        await asyncio.sleep(0.2)  # parked on the token: no coroutine
        assert started.execution_arn not in engine.standard.running
        async with Client(db) as client:
            await client.send_task_success(token, {"approved": True})
            # the engine reads other processes' requests every poll_interval (0.1 s): the bound
            # here only keeps a lost answer from hanging the suite
            done = await asyncio.wait_for(client.wait_for_execution(started.execution_arn), 30)
        assert done.output == {"approved": True}
        assert await engine.store.requests() == []


async def test_an_answered_token_is_task_timed_out_never_a_database_error(db: str) -> None:
    tokens = Tokens()
    async with Engine(db) as engine, Client(db) as client:
        tokens.register(engine)
        machine = await engine.create_state_machine("ask", ASK)
        started = await engine.start_execution(machine.arn, name="a1")
        token = await tokens.token("a1")
        await client.send_task_success(token, {"n": 1})
        for answer in (
            client.send_task_success(token, {"n": 2}),
            engine.send_task_success(token, {"n": 3}),
            client.send_task_failure(token, error="E"),
            client.send_task_heartbeat(token),
        ):
            with pytest.raises(TaskTimedOut):
                await answer
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"n": 1}
        with pytest.raises(TaskDoesNotExist):
            await client.send_task_success("A" * 64, {})


async def test_concurrent_answers_to_one_token_exactly_one_wins(db: str) -> None:
    tokens = Tokens()
    async with Engine(db) as engine:
        tokens.register(engine)
        machine = await engine.create_state_machine("ask", ASK)
        started = await engine.start_execution(machine.arn, name="a1")
        token = await tokens.token("a1")
        clients = [Client(db) for _ in range(4)]
        for c in clients:
            await c.open()
        try:
            answers = [c.send_task_success(token, {"from": i}) for i, c in enumerate(clients)]
            answers.append(engine.send_task_success(token, {"from": "engine"}))
            results = await asyncio.gather(*answers, return_exceptions=True)
        finally:
            for c in clients:
                await c.close()
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, results
        assert all(isinstance(r, TaskTimedOut) for r in results if r is not None), results
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"from": winners[0] if winners[0] < 4 else "engine"}


async def test_an_answer_never_cancels_or_replays_a_sibling_branch(db: str) -> None:
    """With the answer delivered to its branch, the slow sibling task runs once, undisturbed."""
    tokens = Tokens()
    async with Engine(db) as engine, Client(db) as client:
        tokens.register(engine)
        machine = await engine.create_state_machine("both", ASK_BESIDE_SLOW)
        started = await engine.start_execution(machine.arn, name="b1")
        token = await tokens.token("b1")
        run = engine.standard.running[started.execution_arn]
        await client.send_task_success(token, {"approved": True})
        await asyncio.sleep(0.5)  # several polls of the inbox
        assert engine.standard.running.get(started.execution_arn) is run
        tokens.slow_release.set()
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert done.output == [{"approved": True}, "slow"]
        assert tokens.slow_calls == 1


async def test_answers_accepted_while_the_engine_recovers_are_all_applied(db: str) -> None:
    """Executions resident on tokens (a branch waits beside a long Wait); the engine stops; a
    client answers every token at random moments while a new engine opens and replays them."""
    count = 40
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "Ask", "States": {"Ask": {**callback(), "End": True}}},
                    {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
            }
        },
    }
    tokens = Tokens()
    first = Engine(db)
    tokens.register(first)
    await first.open()
    machine = await first.create_state_machine("both", definition)
    arns = [(await first.start_execution(machine.arn, name=f"x{i}")).execution_arn for i in range(count)]
    answers = {f"x{i}": await tokens.token(f"x{i}") for i in range(count)}
    await first.close()

    rng = random.Random(7)
    second = Engine(db, poll_interval=0.02)
    tokens.register(second)
    async with Client(db) as client:

        async def answer(name: str) -> None:
            await asyncio.sleep(rng.uniform(0, 0.3))
            await client.send_task_success(answers[name], {"name": name})

        answering = asyncio.gather(*(answer(name) for name in answers))
        await second.open()
        await answering
        try:
            for i, arn in enumerate(arns):
                done = await asyncio.wait_for(second.wait_for_execution(arn), 10)
                assert done.output == [{"name": f"x{i}"}, {}], done
            assert await second.store.open_tokens() == []
            assert await second.store.requests() == []
        finally:
            await second.close()


async def test_a_client_start_stop_and_redrive(db: str) -> None:
    flaky = {
        "StartAt": "F",
        "States": {"F": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True}},
    }
    failures = [1]

    def run_flaky(event: Any, ctx: Any) -> Any:
        if failures:
            failures.pop()
            raise TaskFailed("Flaky", "first time")
        return "fine"

    tokens = Tokens()
    async with Engine(db, poll_interval=0.02) as engine, Client(db) as client:
        tokens.register(engine)
        engine.register_function("flaky", run_flaky, blocking=False)
        greet = await client.create_state_machine("greet", GREET)
        started = await client.start_execution(greet.arn, {"name": "Cy"}, name="g1")
        assert str(started.status) == "RUNNING"
        done = await asyncio.wait_for(client.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"hello": "Cy"}
        with pytest.raises(ExecutionAlreadyExists):  # the name is taken once it finished
            await client.start_execution(greet.arn, {"name": "Cy"}, name="g1")

        ask = await client.create_state_machine("ask", ASK)
        waiting = await client.start_execution(ask.arn, name="s1")
        await tokens.token("s1")
        # while it runs, a start of the same name and input is the same execution (AWS)
        same = await client.start_execution(ask.arn, name="s1")
        assert same.execution_arn == waiting.execution_arn
        with pytest.raises(ExecutionAlreadyExists):
            await client.start_execution(ask.arn, {"other": 1}, name="s1")
        stopped = await client.stop_execution(waiting.execution_arn, error="Halt", cause="by a client")
        assert (str(stopped.status), stopped.error, stopped.cause) == ("ABORTED", "Halt", "by a client")
        with pytest.raises(TaskTimedOut):
            await client.send_task_success(tokens.by_name["s1"], {})

        machine = await client.create_state_machine("flaky", flaky)
        first = await client.start_execution(machine.arn, name="f1")
        failed = await asyncio.wait_for(client.wait_for_execution(first.execution_arn), 5)
        assert str(failed.status) == "FAILED"
        redriven = await client.redrive_execution(first.execution_arn)
        assert redriven.redrive_count == 1
        with pytest.raises(ExecutionNotRedrivable):
            await client.redrive_execution(first.execution_arn)
        done = await asyncio.wait_for(client.wait_for_execution(first.execution_arn), 5)
        assert (str(done.status), done.output) == ("SUCCEEDED", "fine")


async def test_a_client_stops_an_execution_when_no_engine_runs(db: str) -> None:
    tokens = Tokens()
    async with Engine(db) as engine:
        tokens.register(engine)
        machine = await engine.create_state_machine("ask", ASK)
        started = await engine.start_execution(machine.arn, name="s1")
        token = await tokens.token("s1")
    async with Client(db) as client:
        assert not client.engine_running()
        stopped = await client.stop_execution(started.execution_arn, error="Halt")
        assert (str(stopped.status), stopped.error) == ("ABORTED", "Halt")
        history = await client.get_execution_history(started.execution_arn)
        assert [e["id"] for e in history] == list(range(1, len(history) + 1))
        assert history[-1]["type"] == "ExecutionAborted"
        with pytest.raises(TaskTimedOut):
            await client.send_task_success(token, {})
    async with Engine(db) as engine:  # the next engine finds nothing to resume
        assert not engine.standard.running
        assert str((await engine.describe_execution(started.execution_arn)).status) == "ABORTED"


async def test_a_client_needs_a_database() -> None:
    with pytest.raises(Exception, match="needs a database URL"):
        Client("memory://")


async def test_start_requests_wait_for_an_engine(db: str) -> None:
    async with Client(db) as client:
        machine = await client.create_state_machine("greet", GREET)
        started = await client.start_execution(machine.arn, {"name": "Ed"}, name="later")
        assert [e["type"] for e in await client.get_execution_history(started.execution_arn)] == [
            "ExecutionStarted"
        ]
    engine = Engine(db)
    Tokens().register(engine)
    async with engine:
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"hello": "Ed"}
        history = await engine.get_execution_history(started.execution_arn)
        assert json.loads(history[0]["executionStartedEventDetails"]["input"]) == {"name": "Ed"}
        assert [e["type"] for e in history].count("ExecutionStarted") == 1


async def test_an_express_start_from_a_client_runs_in_the_engine(db: str) -> None:
    ran = asyncio.Event()
    async with Engine(db, poll_interval=0.02) as engine:
        engine.register_function(
            "greet", lambda event, ctx: ran.set() or {"hi": event["name"]}, blocking=False
        )
        machine = await engine.create_state_machine("fast", GREET, type="EXPRESS")
        async with Client(db) as client:
            started = await client.start_execution(machine.arn, {"name": "Flo"})
            assert str(started.status) == "RUNNING" and ":express:" in started.execution_arn
        await asyncio.wait_for(ran.wait(), 5)
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert done.output == {"hi": "Flo"}
