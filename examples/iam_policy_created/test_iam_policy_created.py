"""The IAM policy guard end to end: CloudTrail's CreatePolicy event on durable's bus, IAM, SNS
and SQS on a moto server (127.0.0.1); the security admin's answer is the task token read from
the queue, sent back with SendTaskSuccess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from durable_aws.testing import moto_server

from durable.testing import TestClock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from policy_guard import (  # noqa: E402
    Aws,
    answer,
    approval_requests,
    create_policy,
    deploy,
    open_engine,
    policy_versions,
    setup,
    started_for,
    validate_policy,
)


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def policy_arn(entry: dict[str, str]) -> str:
    return str(json.loads(entry["Detail"])["responseElements"]["policy"]["arn"])


def test_run_py_allows_restores_and_remediates() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [(line["policy"], line["outcome"], line["versions"]) for line in lines[2:]] == [
        ("ci-readonly", "ALLOWED", ["v1"]),
        ("deploy-role", "RESTORED", ["v1"]),
        ("break-glass", "REMEDIATED", ["v2"]),
    ]


def test_validate_policy_finds_restricted_actions_and_wildcards() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:Pass*", "s3:GetObject"], "Resource": "*"},
            {"Effect": "Allow", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        ],
    }
    result = validate_policy({"policyDocument": json.dumps(document)}, None)
    assert result["violations"] == ["iam:Pass*", "kms:ScheduleKeyDeletion"]
    assert json.loads(result["remediatedDocument"])["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    ]


async def test_a_violating_policy_is_rolled_back_then_remediated_or_restored(
    aws: Aws, tmp_path: Path
) -> None:
    db = str(tmp_path / "g.db")
    refused = create_policy(aws, "t-refused", ["iam:CreateAccessKey", "sqs:SendMessage"])
    approved = create_policy(aws, "t-approved", ["s3:DeleteBucket"])
    async with open_engine(aws, db) as engine:
        machine = await deploy(engine)
        await engine.put_events([refused, approved])
        runs = [await started_for(engine, machine, policy_arn(e)) for e in (refused, approved)]
        requests = await approval_requests(aws, 2)
    # rolled back while the admin decides: the restricted actions are no longer granted
    assert policy_versions(aws, policy_arn(refused)) == {
        "default": "v2",
        "versions": ["v1", "v2"],
        "actions": ["sqs:SendMessage"],
    }
    request = requests[policy_arn(refused)]
    assert request["violations"] == ["iam:CreateAccessKey"]
    assert request["createdBy"] == "arn:aws:iam::123456789012:user/alice"

    async with open_engine(aws, db) as engine:  # the admin answers after a restart
        await answer(engine, requests[policy_arn(refused)], False, "carol")
        await answer(engine, requests[policy_arn(approved)], True, "carol")
        outcomes = [await engine.wait_for_execution(arn) for arn in runs]
        history = await engine.get_execution_history(runs[0])
    assert [e.output["result"]["outcome"] for e in outcomes] == ["REMEDIATED", "RESTORED"]
    assert policy_versions(aws, policy_arn(refused)) == {
        "default": "v2",
        "versions": ["v2"],
        "actions": ["sqs:SendMessage"],
    }
    assert policy_versions(aws, policy_arn(approved)) == {
        "default": "v1",
        "versions": ["v1"],
        "actions": ["s3:DeleteBucket"],
    }
    states = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert states == ["ValidatePolicy", "Violating", "RollBack", "AskApproval", "Approved", "Remediate"]


async def test_a_compliant_policy_asks_nobody_and_other_iam_calls_start_nothing(aws: Aws) -> None:
    ok = create_policy(aws, "t-readonly", ["s3:GetObject"])
    deleted = {**ok, "Detail": ok["Detail"].replace('"CreatePolicy"', '"DeletePolicy"')}
    async with open_engine(aws) as engine:
        machine = await deploy(engine)
        await engine.put_events([deleted])
        await engine.events_delivered()
        assert await engine.list_executions(machine) == []
        await engine.put_events([ok])
        done = await engine.wait_for_execution(await started_for(engine, machine, policy_arn(ok)))
    assert str(done.status) == "SUCCEEDED" and done.output["validation"]["violations"] == []
    assert policy_versions(aws, policy_arn(ok))["versions"] == ["v1"]
    with pytest.raises(TimeoutError):
        await approval_requests(aws, 1, timeout=1)


async def test_no_answer_within_a_day_remediates(aws: Aws) -> None:
    entry = create_policy(aws, "t-unanswered", ["iam:*"])
    async with open_engine(aws, clock=TestClock()) as engine:  # the day costs no real time
        machine = await deploy(engine)
        await engine.put_events([entry])
        done = await engine.wait_for_execution(await started_for(engine, machine, policy_arn(entry)))
    assert done.output["approval"]["Error"] == "States.Timeout"
    assert done.output["result"] == {"outcome": "REMEDIATED"}
    assert policy_versions(aws, policy_arn(entry))["versions"] == ["v2"]
    assert (done.stop_date - done.start_date).total_seconds() >= 86_400
    await approval_requests(aws, 1)  # the request that went unanswered
