"""Task timeouts and heartbeats of waiting tasks (callbacks and activities), on the test kit.

As AWS documents them: ``TimeoutSeconds`` counts from the task's start; ``HeartbeatSeconds`` from
the start (an activity: from a worker taking the task) and from each ``SendTaskHeartbeat``.
Either expiry fails the task with ``States.Timeout`` — the error AWS records for a heartbeat
expiry too (``TaskTimedOut`` / ``ActivityTimedOut``; see the recorded heartbeat cases of the
conformance corpus).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, TaskTimedOut
from durable.testing import Kit, TestClock

START = 1_735_732_800.0
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def callback(**timing: Any) -> dict[str, Any]:
    return {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": CALLBACK,
                "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
                **timing,
            }
        },
    }


class Tokens(list[str]):
    """The task tokens ``ask`` was given. :meth:`first` waits for one without real time passing
    (a poll with real sleeps would leave the test clock idle: it would jump meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.given = asyncio.Event()

    def append(self, token: str) -> None:
        super().append(token)
        self.given.set()

    async def first(self) -> str:
        await self.given.wait()
        return self[0]


@contextlib.asynccontextmanager
async def engine(tmp_path: Path, store: str, clock: TestClock, tokens: list[str]) -> AsyncIterator[Engine]:
    """An engine on the test kit (nothing mocked), with the function ``ask`` keeping task tokens."""

    async def ask(event: Any, ctx: Any) -> Any:
        tokens.append(event["token"])
        return {}

    async with Kit(None if store == "memory" else tmp_path / "t.db", clock=clock) as kit:
        kit.register_function("ask", ask)
        yield kit.engine


def timed_out_after(history: list[dict[str, Any]], started: str, ended: str) -> float:
    start = next(e["timestamp"] for e in history if e["type"] == started)
    end = next(e for e in history if e["type"] == ended)
    details = end[ended[0].lower() + ended[1:] + "EventDetails"]
    assert details.get("error") == "States.Timeout" and "cause" not in details, details
    return float((end["timestamp"] - start).total_seconds())


STORES = pytest.mark.parametrize("store", ["memory", "sqlite"])


@STORES
async def test_a_missed_heartbeat_fails_the_task_after_heartbeat_seconds(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    tokens = Tokens()
    async with engine(tmp_path, store, clock, tokens) as e:
        machine = await e.create_state_machine("hb", callback(HeartbeatSeconds=2, TimeoutSeconds=30))
        started = await e.start_execution(machine.arn)
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        assert (str(done.status), done.error) == ("FAILED", "States.Timeout")
        history = await e.get_execution_history(started.execution_arn)
        assert timed_out_after(history, "TaskStarted", "TaskTimedOut") == pytest.approx(2, abs=0.05)
        with pytest.raises(TaskTimedOut):
            await e.send_task_heartbeat(tokens[0])


@STORES
async def test_heartbeats_keep_a_task_alive_until_its_timeout(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    tokens = Tokens()
    async with engine(tmp_path, store, clock, tokens) as e:
        machine = await e.create_state_machine("hb", callback(HeartbeatSeconds=2, TimeoutSeconds=7))
        started = await e.start_execution(machine.arn)
        await tokens.first()
        for _ in range(6):  # every 1.5 s: the heartbeat clock never runs out
            await clock.sleep_until(clock.now() + 1.5)
            try:
                await e.send_task_heartbeat(tokens[0])
            except TaskTimedOut:
                break
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
        assert timed_out_after(history, "TaskStarted", "TaskTimedOut") == pytest.approx(7, abs=0.05)
        assert done.error == "States.Timeout"


@STORES
async def test_heartbeats_then_silence(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    tokens = Tokens()
    async with engine(tmp_path, store, clock, tokens) as e:
        machine = await e.create_state_machine("hb", callback(HeartbeatSeconds=2, TimeoutSeconds=60))
        started = await e.start_execution(machine.arn)
        await tokens.first()
        for _ in range(3):
            await clock.sleep_until(clock.now() + 1.5)
            await e.send_task_heartbeat(tokens[0])  # the last at 4.5 s: due again at 6.5 s
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
        assert timed_out_after(history, "TaskStarted", "TaskTimedOut") == pytest.approx(6.5, abs=0.05)
        assert done.error == "States.Timeout"


@STORES
async def test_timeout_seconds_of_a_callback_counts_from_the_task_start(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    tokens = Tokens()
    async with engine(tmp_path, store, clock, tokens) as e:
        machine = await e.create_state_machine("to", callback(TimeoutSeconds=3))
        started = await e.start_execution(machine.arn)
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
        assert timed_out_after(history, "TaskStarted", "TaskTimedOut") == pytest.approx(3, abs=0.05)
        assert done.error == "States.Timeout"


def activity_machine(activity_arn: str, **timing: Any) -> dict[str, Any]:
    return {
        "StartAt": "Act",
        "States": {"Act": {"Type": "Task", "Resource": activity_arn, "End": True, **timing}},
    }


@STORES
async def test_an_activity_nobody_takes_times_out_after_timeout_seconds(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    async with engine(tmp_path, store, clock, []) as e:
        activity = await e.create_activity("nobody")
        machine = await e.create_state_machine(
            "act", activity_machine(activity.arn, TimeoutSeconds=5, HeartbeatSeconds=2)
        )
        started = await e.start_execution(machine.arn)
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
        # the heartbeat clock of an activity starts when a worker takes it: here the timeout wins
        assert timed_out_after(history, "ActivityScheduled", "ActivityTimedOut") == pytest.approx(5, abs=0.05)
        assert done.error == "States.Timeout"
        assert await e.get_activity_task(activity.arn, timeout=0) is None  # no longer offered


@STORES
async def test_an_activity_worker_that_stops_heartbeating(tmp_path: Path, store: str) -> None:
    clock = TestClock(START)
    async with engine(tmp_path, store, clock, []) as e:
        activity = await e.create_activity("silent")
        machine = await e.create_state_machine(
            "act", activity_machine(activity.arn, TimeoutSeconds=60, HeartbeatSeconds=2)
        )
        started = await e.start_execution(machine.arn)
        await clock.sleep_until(clock.now() + 1)
        task = await e.get_activity_task(activity.arn, worker_name="w", timeout=5)
        assert task is not None
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
        assert timed_out_after(history, "ActivityStarted", "ActivityTimedOut") == pytest.approx(2, abs=0.05)
        assert done.error == "States.Timeout"
        with pytest.raises(TaskTimedOut):
            await e.send_task_success(task["taskToken"], {})


# --- an activity that does not exist -------------------------------------------------------------


@STORES
async def test_a_deleted_activity_fails_the_state_before_anything_is_scheduled(
    tmp_path: Path, store: str
) -> None:
    # AWS-recorded (test_activity_task_on_deleted): no ActivityScheduled, an uncatchable States.Runtime
    clock = TestClock(START)
    async with engine(tmp_path, store, clock, []) as e:
        activity = await e.create_activity("gone")
        await e.delete_activity(activity.arn)
        definition = activity_machine(activity.arn)
        definition["States"]["Act"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
        definition["States"]["Caught"] = {"Type": "Succeed"}
        machine = await e.create_state_machine("act", definition)
        started = await e.start_execution(machine.arn)
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        history = await e.get_execution_history(started.execution_arn)
    assert [event["type"] for event in history] == ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    assert done.error == "States.Runtime"
    assert done.cause == (
        "An error occurred while executing the state 'Act' (entered at the event id #2). "
        f"The activity {activity.arn} does not exist."
    )


async def test_an_activity_deleted_after_its_task_was_scheduled_survives_a_restart(tmp_path: Path) -> None:
    # the task was scheduled while the activity existed: a replay must not re-check it
    clock = TestClock(START)
    db = str(tmp_path / "t.db")
    async with Kit(db, clock=clock) as kit:
        e = kit.engine
        activity = await e.create_activity("brief")
        machine = await e.create_state_machine("act", activity_machine(activity.arn, TimeoutSeconds=600))
        started = await e.start_execution(machine.arn)
        await clock.sleep_until(clock.now() + 1)
        await e.delete_activity(activity.arn)
    async with Kit(db, clock=clock) as kit:
        e = kit.engine
        await clock.sleep_until(clock.now() + 1)
        described = await e.describe_execution(started.execution_arn)
        assert str(described.status) == "RUNNING"
        history = await e.get_execution_history(started.execution_arn)
        assert [event["type"] for event in history][-1] == "ActivityScheduled"


# --- a Map state with a negative MaxConcurrencyPath -------------------------------------------------


def negative_concurrency(**top: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrencyPath": "$.limit",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
        **top,
    }


@STORES
async def test_a_negative_max_concurrency_path_stalls_the_execution_as_aws_does(
    tmp_path: Path, store: str
) -> None:
    # AWS-recorded (test_max_concurrency_path_negative): RUNNING, nothing after ExecutionStarted
    clock = TestClock(START)
    async with engine(tmp_path, store, clock, []) as e:
        machine = await e.create_state_machine("stall", negative_concurrency())
        started = await e.start_execution(machine.arn, {"items": [1], "limit": -1})
        await clock.sleep_until(clock.now() + 3600)
        assert str((await e.describe_execution(started.execution_arn)).status) == "RUNNING"
        assert [x["type"] for x in await e.get_execution_history(started.execution_arn)] == [
            "ExecutionStarted"
        ]
        await e.stop_execution(started.execution_arn)
        assert str((await e.wait_for_execution(started.execution_arn)).status) == "ABORTED"
        # the state machine's timeout still ends a stalled execution
        timed = await e.create_state_machine("stall-timeout", negative_concurrency(TimeoutSeconds=60))
        started = await e.start_execution(timed.arn, {"items": [1], "limit": -1})
        done = await asyncio.wait_for(e.wait_for_execution(started.execution_arn), 10)
        assert str(done.status) == "TIMED_OUT"
        # zero and positive values run
        ok = await e.start_execution(machine.arn, {"items": [1, 2], "limit": 0})
        assert (await e.wait_for_execution(ok.execution_arn)).output == [1, 2]
