"""The run-a-job pattern (``.sync``) of the plugin contract, from the user's side: a Standard
execution starts a job, follows it on the engine's clock, and stops it when the task ends early."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from durable import Engine, ManualClock, TaskRequest

from .job_service import RESOURCE, JobService

STORES = pytest.mark.parametrize("store", ["memory", "sqlite"])


def machine(**task: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": RESOURCE + ".sync",
        "Parameters": {"Steps.$": "$.steps", "Fail.$": "$.fail"},
        "End": True,
    }
    state.update(task)
    return {"StartAt": "Run", "States": {"Run": state}}


def url(tmp_path: Path, store: str) -> str | None:
    return None if store == "memory" else str(tmp_path / "jobs.db")


async def run(engine: Engine, definition: dict[str, Any], data: dict[str, Any]) -> Any:
    sm = await engine.create_state_machine("m", definition)
    started = await engine.start_execution(sm.arn, data)
    return await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 20)


def types(history: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in history]


@STORES
async def test_a_job_is_followed_until_it_succeeds(tmp_path: Path, store: str) -> None:
    service = JobService()
    clock = ManualClock(autojump=0.002)
    async with Engine(url(tmp_path, store), clock=clock, load_plugins=False) as engine:
        engine.add_integration(service)
        start = clock.now()
        done = await run(engine, machine(), {"steps": 4, "fail": False})
        assert str(done.status) == "SUCCEEDED"
        assert done.output == {"JobId": "job-1", "Status": "SUCCEEDED", "Polls": 4}
        history = await engine.get_execution_history(done.execution_arn)
    assert types(history) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    submitted = next(e for e in history if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert json.loads(submitted["output"]) == {"JobId": "job-1"}
    assert submitted["resource"] == "run.sync" and submitted["resourceType"] == "jobs"
    # polled on the engine's clock with a back-off: 1 + 2 + 4 s between the four polls (on
    # SQLite the manual clock may also jump over the engine's own timers while a commit is idle)
    assert clock.now() - start >= 7.0
    if store == "memory":
        assert clock.now() - start == pytest.approx(7.0, abs=0.5)
    assert len(service.requests) == 1 and service.requests[0].pattern == "sync"
    assert service.requests[0].idempotency_key


@STORES
async def test_a_failed_job_fails_the_task_and_catch_sees_its_error(tmp_path: Path, store: str) -> None:
    service = JobService()
    definition = machine(Catch=[{"ErrorEquals": ["Jobs.JobFailed"], "Next": "Caught"}])
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    async with Engine(url(tmp_path, store), clock=ManualClock(autojump=0.002), load_plugins=False) as engine:
        engine.add_integration(service)
        done = await run(engine, definition, {"steps": 2, "fail": True})
        history = await engine.get_execution_history(done.execution_arn)
    assert str(done.status) == "SUCCEEDED"
    assert done.output == {
        "Error": "Jobs.JobFailed",
        "Cause": json.dumps({"JobId": "job-1", "Status": "FAILED"}),
    }
    assert "TaskFailed" in types(history)


@STORES
async def test_a_task_timeout_stops_the_job(tmp_path: Path, store: str) -> None:
    service = JobService()
    async with Engine(url(tmp_path, store), clock=ManualClock(autojump=0.002), load_plugins=False) as engine:
        engine.add_integration(service)
        done = await run(engine, machine(TimeoutSeconds=5), {"steps": 1000, "fail": False})
        history = await engine.get_execution_history(done.execution_arn)
    assert (str(done.status), done.error) == ("FAILED", "States.Timeout")
    assert types(history)[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    assert service.status("job-1") == "STOPPED"


async def test_a_heartbeat_timeout_stops_the_job(tmp_path: Path) -> None:
    service = JobService()
    async with Engine(str(tmp_path / "hb.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        e.add_integration(service)
        done = await run(e, machine(HeartbeatSeconds=3), {"steps": 1000, "fail": False})
    assert (str(done.status), done.error) == ("FAILED", "States.Timeout")
    assert service.status("job-1") == "STOPPED"


@STORES
async def test_stopping_the_execution_stops_the_job(tmp_path: Path, store: str) -> None:
    service = JobService()
    clock = ManualClock()
    async with Engine(url(tmp_path, store), clock=clock, load_plugins=False) as engine:
        engine.add_integration(service)
        sm = await engine.create_state_machine("m", machine())
        started = await engine.start_execution(sm.arn, {"steps": 1000, "fail": False})
        for _ in range(100):
            await asyncio.sleep(0.01)
            if service.polls:
                break
        await engine.stop_execution(started.execution_arn, error="Operator", cause="no longer needed")
        done = await engine.wait_for_execution(started.execution_arn)
    assert str(done.status) == "ABORTED"
    assert service.status("job-1") == "STOPPED"


async def test_a_failing_parallel_sibling_stops_the_job(tmp_path: Path) -> None:
    service = JobService()
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    machine(),
                    {
                        "StartAt": "Later",
                        "States": {
                            "Later": {"Type": "Wait", "Seconds": 10, "Next": "Boom"},
                            "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "sibling"},
                        },
                    },
                ],
            }
        },
    }
    async with Engine(str(tmp_path / "p.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        e.add_integration(service)
        done = await run(e, definition, {"steps": 1000, "fail": False})
    assert (str(done.status), done.error) == ("FAILED", "Boom")
    assert service.status("job-1") == "STOPPED"


@STORES
async def test_a_callback_with_the_task_token_completes_a_job_task(tmp_path: Path, store: str) -> None:
    """A .sync task has a task token ($$.Task.Token); SendTaskSuccess with it ends the task (the
    job reported its own completion), as AWS records for nested executions."""
    service = JobService()
    definition = machine(Parameters={"Steps": 1000, "Fail": False, "Token.$": "$$.Task.Token"})
    async with Engine(url(tmp_path, store), clock=ManualClock(autojump=0.002), load_plugins=False) as engine:
        engine.add_integration(service)
        sm = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(sm.arn, {})
        for _ in range(200):
            await asyncio.sleep(0.01)
            if service.requests:
                break
        token = service.requests[0].payload["Token"]
        assert token == service.requests[0].task_token
        await engine.send_task_heartbeat(token)
        await engine.send_task_success(token, {"reported": "by the job"})
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 20)
    assert (str(done.status), done.output) == ("SUCCEEDED", {"reported": "by the job"})


async def test_a_resource_whose_integration_runs_no_jobs_fails_with_states_runtime() -> None:
    class RequestResponseOnly:
        name = "plain"

        def handles(self, resource: str) -> bool:
            return resource.startswith("arn:aws:states:::plain:")

        async def invoke(self, request: Any) -> Any:
            return {"started": True}

    definition = {
        "StartAt": "R",
        "States": {"R": {"Type": "Task", "Resource": "arn:aws:states:::plain:go.sync", "End": True}},
    }
    async with Engine(clock=ManualClock(autojump=0.002), load_plugins=False) as engine:
        engine.add_integration(RequestResponseOnly())
        done = await run(engine, definition, {})
    assert (str(done.status), done.error) == ("FAILED", "States.Runtime")
    assert "does not run jobs" in (done.cause or "")


async def test_a_clean_restart_follows_the_same_job(tmp_path: Path) -> None:
    """The engine closes while the job runs (it is not stopped); the next one follows the
    recorded job instead of starting another."""
    state = tmp_path / "jobs.json"
    db = str(tmp_path / "restart.db")
    first = JobService(state)
    engine = Engine(db, clock=ManualClock(), load_plugins=False)
    engine.add_integration(first)
    await engine.open()
    sm = await engine.create_state_machine("m", machine())
    started = await engine.start_execution(sm.arn, {"steps": 3, "fail": False})
    for _ in range(100):
        await asyncio.sleep(0.01)
        if first.polls:
            break
    await engine.close()
    assert first.status("job-1") == "RUNNING"
    second = JobService(state)
    engine = Engine(db, clock=ManualClock(autojump=0.002), load_plugins=False)
    engine.add_integration(second)  # before it opens: the recovered execution needs it
    async with engine:
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 20)
    assert (str(done.status), done.error, done.cause) == ("SUCCEEDED", None, None)
    assert done.output["JobId"] == "job-1"
    assert second.requests == [] and list(second.jobs()) == ["job-1"]  # never started twice


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
async def test_sigkill_while_a_job_runs_resumes_following_it(tmp_path: Path) -> None:
    """kill -9 while the job runs: the restarted engine follows the recorded job to its end and
    never starts a second one."""
    db, jobs = str(tmp_path / "kill.db"), tmp_path / "jobs.json"
    worker = [sys.executable, str(Path(__file__).parents[1] / "runtime" / "job_worker.py"), db, str(jobs)]
    proc = await asyncio.create_subprocess_exec(*worker, "6", stdout=asyncio.subprocess.PIPE)
    service = JobService(jobs)
    try:
        for _ in range(1000):  # until the job was started and polled at least once
            await asyncio.sleep(0.01)
            if jobs.exists() and service.jobs().get("job-1", {}).get("polls", 0) >= 1:
                break
        assert service.status("job-1") == "RUNNING"
    finally:
        proc.kill()  # SIGKILL
        await proc.wait()
    again = await asyncio.create_subprocess_exec(*worker, "6", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(again.communicate(), 60)
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["status"] == "SUCCEEDED" and result["output"]["JobId"] == "job-1"
    assert list(service.jobs()) == ["job-1"]  # started once


async def test_retry_starts_a_fresh_job_for_each_attempt(tmp_path: Path) -> None:
    """A failed job is retried as AWS retries a task: a new attempt starts a new job (with its own
    token and idempotency key), on the engine's clock."""
    service = JobService()
    failing_once = {"n": 0}
    original = service.invoke

    async def invoke(request: Any) -> Any:
        failing_once["n"] += 1
        request = TaskRequest(
            **{
                **{f: getattr(request, f) for f in request.__slots__},
                "payload": {"Steps": 1, "Fail": failing_once["n"] == 1},
            }
        )
        return await original(request)

    service.invoke = invoke  # type: ignore[method-assign]
    definition = machine(Retry=[{"ErrorEquals": ["Jobs.JobFailed"], "IntervalSeconds": 5, "MaxAttempts": 2}])
    async with Engine(str(tmp_path / "retry.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        e.add_integration(service)
        done = await run(e, definition, {"steps": 1, "fail": False})
    assert str(done.status) == "SUCCEEDED" and done.output["JobId"] == "job-2"
    assert len(service.requests) == 2
    first, second = service.requests
    assert first.task_token != second.task_token and first.idempotency_key != second.idempotency_key


async def test_a_poll_that_raises_is_asked_again(tmp_path: Path) -> None:
    """A poll that fails (the describe call, not the job) does not fail the task: the job is
    asked again after the back-off; only TaskFailed fails it."""
    service = JobService()
    original = service.poll
    failures = {"left": 2}

    async def flaky_poll(request: Any, submitted: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("the job service is unreachable")
        return await original(request, submitted)

    service.poll = flaky_poll  # type: ignore[method-assign]
    async with Engine(str(tmp_path / "p.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        e.add_integration(service)
        done = await run(e, machine(), {"steps": 1, "fail": False})
    assert (str(done.status), done.output["JobId"]) == ("SUCCEEDED", "job-1")
    assert failures["left"] == 0


async def test_a_poll_that_keeps_failing_fails_the_task_with_its_error(tmp_path: Path) -> None:
    service = JobService()

    async def broken_poll(request: Any, submitted: Any) -> Any:
        raise ConnectionError("the job service is gone")

    service.poll = broken_poll  # type: ignore[method-assign]
    async with Engine(str(tmp_path / "b.db"), clock=ManualClock(autojump=0.002), load_plugins=False) as e:
        e.add_integration(service)
        done = await run(e, machine(), {"steps": 1, "fail": False})
    assert (str(done.status), done.error, done.cause) == (
        "FAILED",
        "ConnectionError",
        "the job service is gone",
    )
