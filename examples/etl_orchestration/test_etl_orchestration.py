"""The ETL example from the user's side: its run.py as a process, and each path of the workflow
against a moto server (S3, Glue, SNS, SQS on 127.0.0.1)."""

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

from etl_workflow import JOB, Aws, alerts, file_arrives, run_etl, setup  # noqa: E402


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_prints_a_loaded_file_a_failure_and_its_alert() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    loaded, failed, alert = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert loaded["status"] == "SUCCEEDED" and loaded["output"]["run"]["state"] == "SUCCEEDED"
    assert (failed["status"], failed["error"]) == ("FAILED", "EtlFailed")
    assert alert == {
        "alert": "ETL run failed",
        "source": "s3://landing-zone/orders/missing.csv",
        "error": "S3.NoSuchKeyException",
    }


async def test_a_file_is_loaded_by_one_glue_job_run(aws: Aws, tmp_path: Path) -> None:
    runs_before = len(aws.client("glue").get_job_runs(JobName=JOB)["JobRuns"])
    event = file_arrives(aws, "orders/day-1.csv", b"id,total\n1,9.99\n2,5.00\n")
    done = await run_etl(aws, str(tmp_path / "etl.db"), event)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.output["bytes"] == 23 and done.output["source"] == "s3://landing-zone/orders/day-1.csv"
    runs = aws.client("glue").get_job_runs(JobName=JOB)["JobRuns"]
    assert len(runs) == runs_before + 1  # started once, followed to its end
    [run] = [r for r in runs if r["Id"] == done.output["run"]["runId"]]
    assert run["Arguments"]["--source"] == "s3://landing-zone/orders/day-1.csv"
    assert alerts(aws) == []


async def test_a_missing_file_alerts_the_operators_and_runs_no_job(aws: Aws, tmp_path: Path) -> None:
    runs_before = len(aws.client("glue").get_job_runs(JobName=JOB)["JobRuns"])
    done = await run_etl(aws, str(tmp_path / "etl.db"), file_arrives(aws, "orders/gone.csv", None))
    assert (str(done.status), done.error) == ("FAILED", "EtlFailed")
    [alert] = alerts(aws)
    assert alert["Subject"] == "ETL run failed" and alert["error"] == "S3.NoSuchKeyException"
    assert alert["execution"] == done.execution_arn
    assert len(aws.client("glue").get_job_runs(JobName=JOB)["JobRuns"]) == runs_before


async def test_a_job_that_cannot_start_alerts_with_glues_error(aws: Aws, tmp_path: Path) -> None:
    event = file_arrives(aws, "orders/day-2.csv", b"id,total\n")
    done = await run_etl(aws, str(tmp_path / "etl.db"), event, job="no-such-job")
    assert done.error == "EtlFailed"
    [alert] = alerts(aws)
    assert alert["error"] == "Glue.EntityNotFoundException"
