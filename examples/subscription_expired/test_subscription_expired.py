"""The subscription-expiry example end to end: events on durable's bus, DynamoDB and SES on a
moto server (127.0.0.1)."""

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

from subscriptions import (  # noqa: E402
    Aws,
    add_tenant,
    audit_records,
    deploy,
    emails_sent,
    open_engine,
    renewed,
    settled,
    setup,
    subscription_expired,
    tenant,
)


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_offboards_two_tenants_and_leaves_the_renewed_one() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert lines == [
        {"offboard": ["acme SUCCEEDED", "globex SUCCEEDED"]},
        {"audit": ["acme SUCCEEDED", "globex SUCCEEDED"]},
        {"acme": "DISABLED", "globex": "DISABLED", "initech": "ACTIVE"},
        {"emailsSent": 2, "audited": ["acme", "globex"]},
    ]


async def test_an_expired_subscription_is_offboarded_announced_and_audited(aws: Aws, tmp_path: Path) -> None:
    add_tenant(aws, "hooli", ["api-key/hooli-1", "queue/hooli-jobs"])
    sent_before = emails_sent(aws)
    async with open_engine(aws, str(tmp_path / "s.db")) as engine:
        deployed = await deploy(engine)
        await subscription_expired(engine, "hooli", "gavin@hooli.example", "Enterprise", "2026-03-31")
        runs = await settled(deployed)
        [offboard] = runs["offboard"]
        [audit] = runs["audit"]
        assert str(offboard.status) == "SUCCEEDED", (offboard.error, offboard.cause)
        # the Express workflow's input is the event's detail (the target's InputPath)
        assert offboard.input == {
            "tenantId": "hooli",
            "email": "gavin@hooli.example",
            "plan": "Enterprise",
            "expiredAt": "2026-03-31",
        }
        processed_event = offboard.output["eventId"]
        assert str(audit.status) == "SUCCEEDED", (audit.error, audit.cause)
    assert tenant(aws, "hooli") == {
        "tenantId": "hooli",
        "status": "DISABLED",
        "disabledAt": "2026-03-31",
        "resources": ["api-key/hooli-1", "queue/hooli-jobs"],
    }
    assert emails_sent(aws) == sent_before + 1
    [record] = [r for r in audit_records(aws) if r["tenantId"] == "hooli"]
    # the audit state machine got the "Subscription Processed" event through the second rule
    assert record["eventId"] == processed_event == audit.input["eventId"]
    assert record["status"] == "DISABLED" and record["emailMessageId"]


async def test_other_events_start_nothing_and_an_unknown_tenant_fails(aws: Aws) -> None:
    add_tenant(aws, "pied-piper", ["api-key/pp-1"])
    async with open_engine(aws) as engine:  # in memory
        deployed = await deploy(engine)
        await engine.put_events([renewed("pied-piper")])
        await engine.put_events(
            [{"Source": "com.example.other", "DetailType": "Subscription Expired", "Detail": "{}"}]
        )
        assert await settled(deployed) == {"offboard": [], "audit": []}

        await subscription_expired(engine, "nobody", "x@example.com", "Basic", "2026-01-01")
        runs = await settled(deployed)
    [failed] = runs["offboard"]
    assert (str(failed.status), failed.error) == ("FAILED", "DynamoDB.ConditionalCheckFailedException")
    assert runs["audit"] == []  # nothing processed, nothing announced
    assert tenant(aws, "pied-piper")["status"] == "ACTIVE"
