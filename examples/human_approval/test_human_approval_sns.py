"""The SNS variant of the human-approval example against a moto server (SNS and SQS on
127.0.0.1): the approval request is read from the SQS queue subscribed to the topic, and its
task token answered with SendTaskSuccess / SendTaskFailure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from durable_aws.testing import moto_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sns_approval import Inbox, apply, approval_requests, approve, open_engine, refuse, reject, setup  # noqa: E402

RISKY = {"name": "Ada Lovelace", "initialDeposit": 50000}


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_approves_rejects_and_refuses() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [line["execution"] for line in lines[:3]] == ["ada", "eve", "mallory"]  # asked through SNS
    outcomes = {line["execution"]: (line["status"], line["error"]) for line in lines[3:]}
    assert outcomes == {
        "ada": ("SUCCEEDED", None),
        "bob": ("SUCCEEDED", None),
        "eve": ("FAILED", "ApplicationRejected"),
        "mallory": ("FAILED", "Approval.Refused"),
    }


async def test_the_token_published_to_sns_approves_the_application(inbox: Inbox, tmp_path: Path) -> None:
    async with open_engine(inbox, str(tmp_path / "a.db")) as engine:
        arn = await apply(engine, inbox, "ada", RISKY)
        request = (await approval_requests(inbox, 1))[arn]
        assert request["subject"] == "Approval needed"
        assert request["application"] == RISKY
        assert request["reasons"] == ["initial deposit 50000 is at least 10000"]
        assert str((await engine.describe_execution(arn)).status) == "RUNNING"  # waiting for the answer

        await approve(engine, request, "Grace")
        done = await engine.wait_for_execution(arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.output["reviewed"] is True and done.output["approver"] == "Grace"


async def test_a_low_risk_application_publishes_nothing(inbox: Inbox, tmp_path: Path) -> None:
    async with open_engine(inbox, str(tmp_path / "b.db")) as engine:
        arn = await apply(engine, inbox, "bob", {"name": "Bob Builder", "initialDeposit": 200})
        done = await engine.wait_for_execution(arn)
    assert done.output["reviewed"] is False
    with pytest.raises(TimeoutError):
        await approval_requests(inbox, 1, timeout=1)


async def test_a_rejection_and_a_send_task_failure_fail_the_execution(inbox: Inbox, tmp_path: Path) -> None:
    async with open_engine(inbox, str(tmp_path / "c.db")) as engine:
        eve = await apply(engine, inbox, "eve", {"name": "Eve", "manualReview": True})
        mallory = await apply(engine, inbox, "mallory", {"name": "Mallory", "initialDeposit": 90000})
        requests = await approval_requests(inbox, 2)
        await reject(engine, requests[eve], "Grace")
        await refuse(engine, requests[mallory], "not my department")
        rejected = await engine.wait_for_execution(eve)
        refused = await engine.wait_for_execution(mallory)
        history = await engine.get_execution_history(mallory)
    assert (str(rejected.status), rejected.error) == ("FAILED", "ApplicationRejected")
    assert (refused.error, refused.cause) == ("Approval.Refused", "not my department")
    failed = next(e for e in history if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["resource"] == "publish.waitForTaskToken"


async def test_the_wait_survives_a_restart_of_the_engine(inbox: Inbox, tmp_path: Path) -> None:
    db = str(tmp_path / "d.db")
    async with open_engine(inbox, db) as engine:
        arn = await apply(engine, inbox, "ada", RISKY)
        request = (await approval_requests(inbox, 1))[arn]
    async with open_engine(inbox, db) as engine:  # a new engine on the same database
        await approve(engine, request, "Linus")
        done = await engine.wait_for_execution(arn)
        types = [e["type"] for e in await engine.get_execution_history(arn)]
    assert done.output["approver"] == "Linus"
    assert types.count("TaskSubmitted") == 1  # the request was published once
