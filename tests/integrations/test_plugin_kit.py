"""The plugin author's test kit (durable.testing.plugin_kit), run against the tests' job service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from durable import Engine
from durable.testing.plugin_kit import (
    check_contract,
    check_job_follows_restart,
    check_job_stopped_on_timeout,
    run_task,
)

from .job_service import RESOURCE, JobService


def test_check_contract_accepts_a_job_integration() -> None:
    check_contract(JobService(), [RESOURCE, RESOURCE + ".sync", RESOURCE + ".waitForTaskToken"])


def test_check_contract_names_what_is_missing() -> None:
    class NoJobs:
        name = "nojobs"

        def handles(self, resource: str) -> bool:
            return True

        async def invoke(self, request: Any) -> Any:
            return {}

    with pytest.raises(AssertionError, match="must implement"):
        check_contract(NoJobs(), ["arn:aws:states:::nojobs:run.sync"])
    with pytest.raises(AssertionError, match=r"not a durable\.Integration"):
        check_contract(object(), [])


async def test_run_task_request_response_and_callback(tmp_path: Path) -> None:
    done = await run_task(JobService(), RESOURCE, {"Steps": 1}, db=tmp_path / "k.db")
    assert done.output == {"JobId": "job-1"} and done.history is not None

    async def answer(engine: Engine, arn: str) -> None:
        history = await engine.get_execution_history(arn)
        while not any(e["type"] == "TaskSubmitted" for e in history):
            await asyncio.sleep(0.01)
            history = await engine.get_execution_history(arn)
        service_token = service.requests[0].task_token
        assert service_token is not None
        await engine.send_task_success(service_token, {"answered": True})

    service = JobService()
    done = await run_task(service, RESOURCE + ".waitForTaskToken", {"Steps": 1}, on_started=answer)
    assert done.output == {"answered": True}


async def test_job_checks_pass_for_a_correct_job_integration(tmp_path: Path) -> None:
    state = tmp_path / "jobs.json"
    done = await check_job_follows_restart(
        lambda: JobService(state), RESOURCE + ".sync", {"Steps": 3}, db=tmp_path / "r.db"
    )
    assert str(done.status) == "SUCCEEDED"
    done = await check_job_stopped_on_timeout(JobService(), RESOURCE + ".sync", {"Steps": 10_000})
    assert done.error == "States.Timeout"
