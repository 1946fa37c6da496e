"""The plugin author's test kit: run an integration through a real engine and check the contract.

    from durable.testing.plugin_kit import check_contract, run_task, check_job_follows_restart

    def test_contract():
        check_contract(MyIntegration(), ["arn:aws:states:::myservice:doIt", ...])

    async def test_do_it(tmp_path):
        done = await run_task(MyIntegration(), "arn:aws:states:::myservice:doIt", {"X": 1})
        assert done.output == {...}

Every helper drives a Standard execution of a one-Task state machine on a real :class:`Engine`
(SQLite when ``db`` is given, else in memory) on a :class:`~durable.testing.TestClock` that skips
idle time, so back-offs and timeouts cost no real time. Failures are ``AssertionError`` with a
readable message. See ``docs/plugins.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..integrations.base import Integration, JobIntegration, TaskRequest, integration_pattern
from ..runtime.clock import ManualClock
from ..runtime.engine import Engine
from ..runtime.models import Execution
from .clock import TestClock

__all__ = ["check_contract", "check_job_follows_restart", "check_job_stopped_on_timeout", "run_task"]

WAIT_SECONDS = 60.0  # real seconds a helper waits for an execution before it fails


def check_contract(integration: Any, resources: list[str]) -> None:
    """The static part of the contract: the object is an :class:`Integration` with a ``name``;
    ``handles`` claims each of ``resources`` and answers the same each time; an integration
    that claims a ``.sync`` resource also implements ``poll`` and ``cancel``."""
    assert isinstance(integration, Integration), (
        f"{integration!r} is not a durable.Integration (it needs name, handles() and async invoke())"
    )
    assert isinstance(integration.name, str) and integration.name, "name must be a non-empty string"
    for resource in resources:
        first = integration.handles(resource)
        assert first is True, f"handles({resource!r}) returned {first!r}, expected True"
        assert integration.handles(resource) is first, f"handles({resource!r}) is not stable"
        if integration_pattern(resource) in ("sync", "sync:2"):
            assert isinstance(integration, JobIntegration), (
                f"{resource!r} is a .sync resource: the integration must implement "
                "async poll(request, submitted) and async cancel(request, submitted)"
            )


def _machine(resource: str, payload: Any, timeout: int | None, heartbeat: int | None) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "Resource": resource, "Parameters": payload, "End": True}
    if timeout is not None:
        task["TimeoutSeconds"] = timeout
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    return {"StartAt": "Task", "States": {"Task": task}}


def _engine(integration: Any, db: str | Path | None, clock: ManualClock | None) -> Engine:
    clock = clock or TestClock()
    engine = Engine(None if db is None else str(db), clock=clock, load_plugins=False)
    if isinstance(clock, TestClock):
        clock.watch_store(engine.store)  # never jump over a commit in flight
    engine.add_integration(integration)
    return engine


async def run_task(
    integration: Any,
    resource: str,
    payload: Any = None,
    *,
    db: str | Path | None = None,
    timeout_seconds: int | None = None,
    heartbeat_seconds: int | None = None,
    input: Any = None,
    on_started: Callable[[Engine, str], Any] | None = None,
) -> Execution:
    """Run one Task state with ``resource`` and ``payload`` (its ``Parameters``, JSONPath
    ``.$`` fields allowed) to its end; return the execution, its ``history`` filled in.
    ``on_started(engine, execution_arn)`` (sync or async) runs once the execution started:
    answer a ``.waitForTaskToken`` task from there."""
    async with _engine(integration, db, None) as engine:
        machine = await engine.create_state_machine(
            "plugin-kit", _machine(resource, payload, timeout_seconds, heartbeat_seconds)
        )
        started = await engine.start_execution(machine.arn, {} if input is None else input)
        if on_started is not None:
            outcome = on_started(engine, started.execution_arn)
            if asyncio.iscoroutine(outcome):
                await outcome
        done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), WAIT_SECONDS)
        done.history = await engine.get_execution_history(started.execution_arn)
        return done


class _Counting:
    """Wraps an integration and counts its calls (the wrapped object does the work)."""

    def __init__(self, inner: Any, calls: dict[str, int]) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = calls

    def handles(self, resource: str) -> bool:
        return bool(self.inner.handles(resource))

    async def invoke(self, request: TaskRequest) -> Any:
        self.calls["invoke"] += 1
        return await self.inner.invoke(request)

    async def poll(self, request: TaskRequest, submitted: Any) -> Any:
        self.calls["poll"] += 1
        return await self.inner.poll(request, submitted)

    async def cancel(self, request: TaskRequest, submitted: Any) -> None:
        self.calls["cancel"] += 1
        await self.inner.cancel(request, submitted)


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_SECONDS * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting until {what}")


async def check_job_follows_restart(
    make_integration: Callable[[], Any], resource: str, payload: Any, *, db: str | Path
) -> Execution:
    """A ``.sync`` job started, the engine closed while it runs, a new engine (with a new
    integration object from ``make_integration``) opened on the same database: the job is
    followed to its end and started exactly once. The job must take a few polls to end."""
    calls = {"invoke": 0, "poll": 0, "cancel": 0}
    first = _engine(_Counting(make_integration(), calls), db, ManualClock())
    async with first:
        machine = await first.create_state_machine("plugin-kit", _machine(resource, payload, None, None))
        started = await first.start_execution(machine.arn, {})
        await _until(lambda: calls["poll"] >= 1, "the job was polled once")
    assert calls["cancel"] == 0, "closing the engine must not stop a running job"
    second = _engine(_Counting(make_integration(), calls), db, None)
    async with second:
        done = await asyncio.wait_for(second.wait_for_execution(started.execution_arn), WAIT_SECONDS)
        done.history = await second.get_execution_history(started.execution_arn)
    assert calls["invoke"] == 1, f"the job was started {calls['invoke']} times, expected once"
    return done


async def check_job_stopped_on_timeout(
    integration: Any, resource: str, payload: Any, *, timeout_seconds: int = 5, db: str | Path | None = None
) -> Execution:
    """A ``.sync`` job that outlasts ``TimeoutSeconds``: the task times out (``States.Timeout``)
    and the job is stopped (``cancel`` called once)."""
    calls = {"invoke": 0, "poll": 0, "cancel": 0}
    done = await run_task(
        _Counting(integration, calls), resource, payload, db=db, timeout_seconds=timeout_seconds
    )
    assert (str(done.status), done.error) == ("FAILED", "States.Timeout"), (
        f"expected the task to time out, got {done.status} {done.error}: {done.cause}"
    )
    assert calls["cancel"] == 1, f"cancel was called {calls['cancel']} times, expected once"
    return done
