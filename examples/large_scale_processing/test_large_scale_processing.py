"""The large-scale processing example, small: a Distributed Map over a CSV in S3 (a moto server
on 127.0.0.1) and over the same CSV in a local directory (``Engine(local_buckets=...)``); the
result files it writes and its Map Run's counts. Retry back-offs run on the testing kit's clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from durable_aws.testing import moto_server

from durable.testing import Kit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from large_scale import BUCKET, KEY, PREFIX, Bucket, results, start  # noqa: E402
from price_orders import write_orders_csv  # noqa: E402

ROWS = 3000  # 12 batches of 250


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["s3", "local"])
def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> Bucket:
    if request.param == "s3":
        return Bucket(endpoint=request.getfixturevalue("endpoint"))
    return Bucket(directory=tmp_path / "bucket")


@pytest.fixture
async def kit(bucket: Bucket, tmp_path: Path) -> AsyncIterator[Kit]:
    """A SQLite engine on the kit's clock (Retry back-offs take no real time) for ``bucket``."""
    async with Kit(tmp_path / "runs.db", **bucket.engine_options()) as kit:
        bucket.prepare(kit.engine)
        yield kit


def put_orders(bucket: Bucket, tmp_path: Path, bad_rows: list[int]) -> None:
    bucket.put(KEY, write_orders_csv(tmp_path / "orders.csv", ROWS, bad_rows=bad_rows))


def test_run_py_runs_on_s3_and_on_a_local_directory() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--rows", str(ROWS)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    on_s3, on_disk = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert on_s3.pop("target") == "s3" and on_disk.pop("target") == "local"
    assert on_s3 == on_disk  # the same workflow, the same results, wherever the bucket is
    assert on_s3["status"] == "SUCCEEDED" and on_s3["mapRun"] == "SUCCEEDED"
    assert on_s3["items"] == {"total": 3000, "succeeded": 2750, "failed": 250}  # row 1234's batch
    assert on_s3["batches"] == {"total": 12, "succeeded": 11, "failed": 1}
    assert on_s3["resultFiles"] == ["FAILED_0.json", "SUCCEEDED_0.json", "manifest.json"]


async def test_results_and_counts_with_a_bad_row_and_a_throttled_function(
    kit: Kit, bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_orders(bucket, tmp_path, bad_rows=[2001])  # in the 9th batch (rows 2001-2250)
    monkeypatch.setenv("PRICING_THROTTLE_EVERY", "4")  # every 4th call: TooManyRequests, retried
    began = kit.clock.now()
    arn = await start(kit.engine)
    done = await kit.engine.wait_for_execution(arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert kit.clock.now() - began >= 2  # the Retry's back-off passed on the kit's clock

    [run] = await kit.engine.list_map_runs(arn)
    assert done.output["MapRunArn"] == run.map_run_arn and run.status == "SUCCEEDED"
    items, batches = run.item_counts, run.execution_counts
    assert (items.total, items.succeeded, items.failed, items.results_written) == (3000, 2750, 250, 3000)
    assert (batches.total, batches.succeeded, batches.failed) == (12, 11, 1)
    assert run.tolerated_failure_percentage == 10

    run_id = run.map_run_arn.rsplit(":", 1)[1]
    assert done.output["ResultWriterDetails"] == {"Bucket": BUCKET, "Key": f"{PREFIX}/{run_id}/manifest.json"}
    found = results(bucket, done)
    assert found.manifest["MapRunArn"] == run.map_run_arn and found.manifest["DestinationBucket"] == BUCKET
    assert [f["Key"] for f in found.manifest["ResultFiles"]["SUCCEEDED"]] == [
        f"{PREFIX}/{run_id}/SUCCEEDED_0.json"
    ]
    assert [f["Key"] for f in found.manifest["ResultFiles"]["FAILED"]] == [f"{PREFIX}/{run_id}/FAILED_0.json"]
    for entry in found.manifest["ResultFiles"]["SUCCEEDED"] + found.manifest["ResultFiles"]["FAILED"]:
        assert entry["Size"] == len(bucket.read(entry["Key"]))

    [failed] = found.failed
    assert failed["Status"] == "FAILED" and failed["Error"] == "InvalidOrder"
    assert failed["Cause"].startswith("ORD-00002001: quantity 'many'")
    assert json.loads(failed["Input"])["Items"][0]["order_id"] == "ORD-00002001"
    outputs = [json.loads(record["Output"]) for record in found.succeeded]
    assert len(outputs) == 11 and {record["Status"] for record in found.succeeded} == {"SUCCEEDED"}
    assert sum(output["orders"] for output in outputs) == 2750
    assert "ORD-00002001" not in {output["first"] for output in outputs}


async def test_too_many_bad_batches_fail_the_map_run(kit: Kit, bucket: Bucket, tmp_path: Path) -> None:
    put_orders(bucket, tmp_path, bad_rows=[1, 251, 501])  # 3 of 12 batches: over 10%
    arn = await start(kit.engine)
    done = await kit.engine.wait_for_execution(arn)
    assert (str(done.status), done.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    [run] = await kit.engine.list_map_runs(arn)
    assert run.status == "FAILED"
    assert run.execution_counts.failed >= 2 and run.execution_counts.total == 12
