"""Several engines executing one PostgreSQL database together (``Engine(url, shared=True)``).

From the user's side: each engine runs what it starts; answers, stops and waits work from any
engine or client whatever engine owns the execution; a client's starts are each run once; an
engine that closes hands its executions to the others; an engine fenced out of an execution
never records anything for it again; a single engine and sharing engines never execute one
database together. The SIGKILL takeover with real processes is in ``test_shared_crash.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest

from durable import Client, Engine, EngineAlreadyRunning
from durable.errors import DurableError

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": CALLBACK,
            "Parameters": {
                "FunctionName": "ask",
                "Payload": {"token.$": "$$.Task.Token", "who.$": "$$.Execution.Name"},
            },
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}
COUNT = {"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": LAMBDA + "count", "End": True}}}


def shared(url: str, tokens: dict[str, str] | None = None) -> Engine:
    engine = Engine(url, shared=True, lease_seconds=10, role="test engine")

    async def ask(event: Any, ctx: Any) -> Any:
        if tokens is not None:
            tokens[event["who"]] = event["token"]
        return {}

    async def count(event: Any, ctx: Any) -> Any:
        return {"by": id(engine)}

    engine.register_function("ask", ask)
    engine.register_function("count", count)
    return engine


def owners(url: str) -> dict[str, str | None]:
    with psycopg.connect(url) as conn:
        return {str(r[0]): r[1] for r in conn.execute("SELECT name, owner FROM executions").fetchall()}


async def test_each_engine_runs_what_it_starts_and_answers_cross_engines(pg_url: str) -> None:
    tokens: dict[str, str] = {}
    async with shared(pg_url, tokens=tokens) as a, shared(pg_url, tokens=tokens) as b:
        assert a.active and b.active  # both execute: neither is a standby
        machine = await a.create_state_machine("ask", ASK)
        one = await a.start_execution(machine.arn, {}, name="one")
        two = await b.start_execution(machine.arn, {}, name="two")
        for _ in range(200):
            if {"one", "two"} <= tokens.keys():
                break
            await asyncio.sleep(0.05)
        assert {"one", "two"} <= tokens.keys()
        ids = await asyncio.to_thread(owners, pg_url)
        assert ids["one"] == a.host.lease.id and ids["two"] == b.host.lease.id  # type: ignore[union-attr]
        # each answered on the engine that does NOT own it: the request reaches the owner
        await b.send_task_success(tokens["one"], {"ok": 1})
        await a.send_task_success(tokens["two"], {"ok": 2})
        done_one = await asyncio.wait_for(b.wait_for_execution(one.execution_arn), 20)
        done_two = await asyncio.wait_for(a.wait_for_execution(two.execution_arn), 20)
        assert (done_one.status, done_one.output) == ("SUCCEEDED", {"ok": 1})
        assert (done_two.status, done_two.output) == ("SUCCEEDED", {"ok": 2})


async def test_stop_from_another_engine(pg_url: str) -> None:
    tokens: dict[str, str] = {}
    async with shared(pg_url, tokens=tokens) as a, shared(pg_url, tokens=tokens) as b:
        machine = await a.create_state_machine("ask", ASK)
        run = await a.start_execution(machine.arn, {}, name="stopped")
        for _ in range(200):
            if "stopped" in tokens:
                break
            await asyncio.sleep(0.05)
        stopped = await b.stop_execution(run.execution_arn, error="Why", cause="because")
        assert stopped.status == "ABORTED"
        history = await a.get_execution_history(run.execution_arn)
        assert history[-1]["type"] == "ExecutionAborted"
        assert sum(e["type"] == "ExecutionAborted" for e in history) == 1


async def test_client_starts_run_once_across_engines(pg_url: str) -> None:
    async with shared(pg_url) as a, shared(pg_url) as b:
        machine = await a.create_state_machine("count", COUNT)
        async with Client(pg_url) as client:
            started = [await client.start_execution(machine.arn, {}, name=f"c{i}") for i in range(30)]
            finals = [await asyncio.wait_for(client.wait_for_execution(s.execution_arn), 30) for s in started]
        assert {f.status for f in finals} == {"SUCCEEDED"}
        for f in finals:
            history = await b.get_execution_history(f.execution_arn)
            assert [e["type"] for e in history].count("LambdaFunctionScheduled") == 1
        by = {f.output["by"] for f in finals}  # type: ignore[index]
        assert by <= {id(a), id(b)}


async def test_a_closing_engine_hands_its_executions_over(pg_url: str) -> None:
    tokens: dict[str, str] = {}
    a = shared(pg_url, tokens=tokens)
    await a.open()
    machine = await a.create_state_machine("ask", ASK)
    run = await a.start_execution(machine.arn, {}, name="moved")
    for _ in range(200):
        if "moved" in tokens:
            break
        await asyncio.sleep(0.05)
    async with shared(pg_url, tokens=tokens) as b:
        await a.close()  # parked on its token: released, nobody owns it now
        assert (await asyncio.to_thread(owners, pg_url))["moved"] is None
        await b.send_task_success(tokens["moved"], {"ok": True})
        done = await asyncio.wait_for(b.wait_for_execution(run.execution_arn), 20)
        assert done.status == "SUCCEEDED"
        assert (await asyncio.to_thread(owners, pg_url))["moved"] == b.host.lease.id  # type: ignore[union-attr]


async def test_a_fenced_engine_records_nothing_more(pg_url: str) -> None:
    """Another engine took the execution over (its owner changed under it): the next commit of
    the old owner is refused whole, and the execution is left to its new owner."""
    release = asyncio.Event()
    invoked: list[int] = []
    async with shared(pg_url) as a:

        async def slow(event: Any, ctx: Any) -> Any:
            invoked.append(1)
            await release.wait()
            return {"late": True}

        a.register_function("slow", slow)
        machine = await a.create_state_machine(
            "slow",
            {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": LAMBDA + "slow", "End": True}}},
        )
        run = await a.start_execution(machine.arn, {}, name="fenced")
        while not invoked:
            await asyncio.sleep(0.02)
        before = await a.get_execution_history(run.execution_arn)
        with psycopg.connect(pg_url, autocommit=True) as conn:  # someone else owns it now
            conn.execute(
                "INSERT INTO engines (id, name, started, expires) VALUES ('other', 'other', 0, 1e12)"
            )
            conn.execute("UPDATE executions SET owner = 'other' WHERE name = 'fenced'")
        release.set()
        for _ in range(100):
            if run.execution_arn not in a.standard.running:
                break
            await asyncio.sleep(0.05)
        assert run.execution_arn not in a.standard.running
        after = await a.get_execution_history(run.execution_arn)
        assert [e["type"] for e in after] == [e["type"] for e in before]  # TaskSucceeded refused
        assert (await a.describe_execution(run.execution_arn)).status == "RUNNING"


async def test_single_and_sharing_engines_exclude_each_other(pg_url: str) -> None:
    async with Engine(pg_url, standby=False) as single:
        assert single.active
        with pytest.raises(EngineAlreadyRunning):
            async with Engine(pg_url, shared=True, standby=False):
                pass
    async with Engine(pg_url, shared=True) as one:
        assert one.active
        with pytest.raises(EngineAlreadyRunning):
            async with Engine(pg_url, standby=False):
                pass


async def test_shared_needs_postgresql(tmp_path: Any) -> None:
    with pytest.raises(DurableError, match="PostgreSQL"):
        Engine(str(tmp_path / "x.db"), shared=True)


async def test_an_activity_worker_of_one_engine_serves_another_engines_execution(pg_url: str) -> None:
    async with shared(pg_url) as a, shared(pg_url) as b:
        activity = await a.create_activity("approve")
        machine = await a.create_state_machine(
            "act",
            {
                "StartAt": "A",
                "States": {"A": {"Type": "Task", "Resource": activity.arn, "End": True}},
            },
        )
        run = await a.start_execution(machine.arn, {"n": 1}, name="act")
        task = await b.get_activity_task(activity.arn, worker_name="w", timeout=20)
        assert task is not None and json.loads(task["input"]) == {"n": 1}
        await b.send_task_success(task["taskToken"], {"approved": True})
        done = await asyncio.wait_for(a.wait_for_execution(run.execution_arn), 20)
        assert (done.status, done.output) == ("SUCCEEDED", {"approved": True})
        types = [e["type"] for e in await a.get_execution_history(run.execution_arn)]
        assert types.count("ActivityStarted") == 1 and types.count("ActivitySucceeded") == 1
