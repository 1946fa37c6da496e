"""The streaming pipeline end to end: records put on a Kinesis stream (moto, 127.0.0.1), one
Express execution each, the normalized events arriving in the SQS queue subscribed to the SNS
topic. run.py's throughput is printed, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from durable_aws.testing import moto_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pipeline import DEFINITION, consume, open_engine, produce, received, setup  # noqa: E402


def test_run_py_counts_what_went_where() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--records", "50", "--concurrency", "8"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {
        k: summary[k] for k in ("records", "executions", "succeeded", "deadLettered", "queued", "invalid")
    } == {
        "records": 50,
        "executions": 50,
        "succeeded": 50,
        "deadLettered": 1,  # every 50th record has no user
        "queued": 49,
        "invalid": 1,
    }
    assert summary["executionsPerSecond"] > 0


async def test_each_record_is_validated_processed_normalized_and_queued() -> None:
    records = [
        {"userId": "Ada", "type": "view", "ts": 1_767_225_600, "page": "/home?utm=x"},
        {"userId": "Ada", "type": "purchase", "ts": 1_767_225_660, "amount": 12.5},
        {"userId": "Bob", "type": "click", "ts": 1_767_225_700, "page": "/products/7"},
        {"type": "click", "ts": 1_767_225_701},  # no user
        {"userId": "Bob", "type": "purchase", "ts": 1_767_225_702},  # no amount
        {"userId": "Eve", "type": "scroll", "ts": 1_767_225_703},  # unknown type
    ]
    with moto_server() as endpoint:
        aws = setup(endpoint)
        produce(aws, records)
        async with open_engine(aws) as engine:
            machine = await engine.create_state_machine("StreamRecord", DEFINITION, type="EXPRESS")
            done = await consume(engine, aws, machine.arn, concurrency=4)
        queued = received(aws, aws.queue_url)
        invalid = received(aws, aws.dead_letter_url)

    assert [str(e.status) for e in done] == ["SUCCEEDED"] * 6
    assert [bool(e.output.get("deadLettered")) for e in done] == [False] * 3 + [True] * 3
    by_time = sorted(queued, key=lambda m: m["occurredAt"])
    fields = ("userId", "type", "occurredAt", "amountCents", "page")
    assert [tuple(m[k] for k in fields) for m in by_time] == [
        ("ada", "view", "2026-01-01T00:00:00Z", None, "/home"),
        ("ada", "purchase", "2026-01-01T00:01:00Z", 1250, None),
        ("bob", "click", "2026-01-01T00:01:40Z", None, "/products/7"),
    ]
    sequence = {e.input["sequenceNumber"] for e in done[:3]}
    assert {m["eventId"].split("-", 1)[1] for m in queued} == sequence  # partition key - sequence number
    assert sorted(m["error"] for m in invalid) == [
        "a purchase needs an amount",
        "no userId",
        "unknown type 'scroll'",
    ]
