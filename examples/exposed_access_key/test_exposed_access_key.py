"""The exposed-access-key example end to end: AWS Health's event on durable's bus, IAM, S3, SNS
and SQS on a moto server (127.0.0.1). The order of the steps is read from the history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from durable_aws.testing import moto_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from exposed_key import (  # noqa: E402
    Aws,
    access_keys,
    create_user_with_key,
    deploy,
    health_event,
    key_exposed,
    notifications,
    now,
    open_engine,
    record_activity,
    setup,
)


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_deletes_the_key_and_notifies_its_activity() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    done, keys, notified = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert done == {
        "status": "SUCCEEDED",
        "steps": ["FindKeyOwner", "DeleteAccessKey", "SummarizeActivity", "NotifySecurity"],
    }
    assert keys == {"keysLeft": []}
    assert notified["subject"] == "Exposed access key deleted"
    assert notified["activity"]["calls"] == 4 and notified["activity"]["byEvent"]["RunInstances"] == 1


async def test_delete_then_summarize_then_notify_in_that_order(aws: Aws, tmp_path: Path) -> None:
    key = create_user_with_key(aws, "build-bot")
    other = create_user_with_key(aws, "someone-else")
    detected = now()
    record_activity(
        aws,
        key,
        "build-bot",
        [
            (
                "sts.amazonaws.com",
                "GetCallerIdentity",
                "192.0.2.1",
                detected - timedelta(hours=30),
            ),  # too old
            ("s3.amazonaws.com", "ListBuckets", "192.0.2.1", detected - timedelta(hours=2)),
            ("s3.amazonaws.com", "ListBuckets", "192.0.2.9", detected - timedelta(hours=1)),
        ],
    )
    record_activity(aws, other, "someone-else", [("s3.amazonaws.com", "PutObject", "192.0.2.5", detected)])

    async with open_engine(aws, str(tmp_path / "k.db")) as engine:
        machine = await deploy(engine)
        done = await key_exposed(engine, machine, key, detected)
        history = await engine.get_execution_history(done.execution_arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    # the rule's InputTransformer made the workflow's input out of the Health event
    assert done.input["accessKeyId"] == key and done.input["eventArn"].endswith(key)

    # a strict sequence: each step is scheduled only after the previous one succeeded
    steps = [
        (e["type"], (e.get("taskScheduledEventDetails") or {}).get("resource"))
        for e in history
        if e["type"] in ("TaskScheduled", "TaskSucceeded")
    ]
    assert steps == [
        ("TaskScheduled", "getAccessKeyLastUsed"),
        ("TaskSucceeded", None),
        ("TaskScheduled", "deleteAccessKey"),
        ("TaskSucceeded", None),
        ("TaskScheduled", "invoke"),
        ("TaskSucceeded", None),
        ("TaskScheduled", "publish"),
        ("TaskSucceeded", None),
    ]
    assert access_keys(aws, "build-bot") == []
    assert access_keys(aws, "someone-else") == [other]  # untouched
    [message] = notifications(aws)
    assert message["Subject"] == "Exposed access key deleted"
    assert message["userName"] == "build-bot" and message["deleted"] is True
    assert message["activity"]["calls"] == 2  # the last 24 hours of this key only
    assert message["activity"]["byEvent"] == {"ListBuckets": 2}
    assert message["activity"]["sourceIps"] == ["192.0.2.1", "192.0.2.9"]


async def test_other_health_events_start_nothing_and_an_unknown_key_notifies_nothing(aws: Aws) -> None:
    key = create_user_with_key(aws, "ops-bot")
    async with open_engine(aws) as engine:  # in memory
        machine = await deploy(engine)
        other = health_event(key, now())
        other["Detail"] = other["Detail"].replace(
            "AWS_RISK_CREDENTIALS_EXPOSED", "AWS_EC2_MAINTENANCE_SCHEDULED"
        )
        await engine.put_events([other])
        await engine.events_delivered()
        assert await engine.list_executions(machine) == []

        failed = await key_exposed(engine, machine, "AKIAUNKNOWNKEY000000", now())
    assert (str(failed.status), failed.error) == ("FAILED", "Iam.NoSuchEntityException")
    assert access_keys(aws, "ops-bot") == [key]
    assert notifications(aws) == []
