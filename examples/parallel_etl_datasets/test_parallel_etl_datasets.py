"""The parallel ETL end to end: the nightly run fired by its cron schedule on a ManualClock (no
real waiting), per-dataset jobs started by S3 "Object Created" events on durable's bus, S3 and
DynamoDB on a moto server (127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from durable_aws.testing import moto_server

from durable import ManualClock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from etl_datasets import (  # noqa: E402
    INVENTORY,
    SALES,
    Aws,
    deploy,
    executions,
    file_lands,
    marker,
    open_engine,
    report,
    setup,
    until_waiting,
)

MIDNIGHT = datetime(2026, 4, 7, 0, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_combines_a_file_that_landed_early_and_one_that_landed_late() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert lines[1] == {"at": "02:00", "run": "NightlyEtl", "status": "RUNNING", "waitsFor": "inventory"}
    assert lines[2]["status"] == "SUCCEEDED" and lines[2]["output"]["skus"] == 3
    assert lines[3] == {
        "sku": "A-1",
        "sold": "5",
        "revenue": "12.50",
        "on_hand": "40",
        "days_of_cover": "8.0",
    }


async def test_the_schedule_fires_the_run_which_waits_for_both_files(aws: Aws, tmp_path: Path) -> None:
    clock = ManualClock(MIDNIGHT)
    async with open_engine(aws, str(tmp_path / "etl.db"), clock=clock) as engine:
        deployed = await deploy(engine)
        clock.advance(3600)  # 01:00: not due yet
        assert await engine.list_executions(deployed.main_arn) == []
        # files elsewhere start nothing: another bucket, not a CSV
        await engine.put_events(
            [{"Source": "aws.s3", "DetailType": "Object Created",
              "Detail": json.dumps({"bucket": {"name": "other"}, "object": {"key": "sales/x.csv"}})},
             {"Source": "aws.s3", "DetailType": "Object Created",
              "Detail": json.dumps({"bucket": {"name": "landing"}, "object": {"key": "sales/readme.txt"}})}]
        )  # fmt: skip
        await engine.events_delivered()
        assert await engine.list_executions(deployed.dataset_arn) == []

        clock.advance(3600)  # 02:00: the cron schedule fires the nightly run
        [run] = await executions(engine, deployed.main_arn, 1, ended=False)
        assert run.name.startswith("schedule-")
        await until_waiting(aws, "sales", "2026-04-07")
        await until_waiting(aws, "inventory", "2026-04-07")

        await file_lands(aws, engine, "inventory/2026-04-07.csv", INVENTORY)
        await file_lands(aws, engine, "sales/2026-04-07.csv", SALES)
        jobs = await executions(engine, deployed.dataset_arn, 2)
        done = await engine.wait_for_execution(run.execution_arn)
        history = await engine.get_execution_history(run.execution_arn)

    assert [str(j.status) for j in jobs] == ["SUCCEEDED", "SUCCEEDED"]
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.input == {} and done.output["runDate"] == "2026-04-07"
    # both branches waited on their task token, and each job's sendTaskSuccess answered it
    assert sorted(d["dataset"] for d in done.output["datasets"]) == ["inventory", "sales"]
    assert [e["type"] for e in history].count("TaskSubmitted") == 2
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert "ReadSalesMarker" not in entered and "ReadInventoryMarker" not in entered
    assert marker(aws, "sales", "2026-04-07")["output"] == "s3://warehouse/sales/2026-04-07.json"
    assert [row["sku"] for row in report(aws, "2026-04-07")] == ["A-1", "B-2", "C-3"]


async def test_files_that_landed_before_the_run_are_not_waited_for(aws: Aws) -> None:
    clock = ManualClock(MIDNIGHT + 86_400)  # 2026-04-08 00:00
    async with open_engine(aws, clock=clock) as engine:  # in memory
        deployed = await deploy(engine)
        await file_lands(aws, engine, "sales/2026-04-08.csv", SALES[:1])
        await file_lands(aws, engine, "inventory/2026-04-08.csv", INVENTORY[:1])
        await executions(engine, deployed.dataset_arn, 2)
        assert "taskToken" not in marker(aws, "sales", "2026-04-08")
        clock.advance(2 * 3600)
        [run] = await executions(engine, deployed.main_arn, 1)
        history = await engine.get_execution_history(run.execution_arn)
    assert str(run.status) == "SUCCEEDED", (run.error, run.cause)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert {"ReadSalesMarker", "ReadInventoryMarker"} <= set(entered)  # the condition failed: read the result
    assert report(aws, "2026-04-08") == [
        {"sku": "A-1", "sold": "3", "revenue": "7.50", "on_hand": "40", "days_of_cover": "13.3"}
    ]
