"""The S3 bucket sync example against a moto server (S3 on 127.0.0.1): two seeded buckets end
identical, in batches, and a second sync has nothing left to do."""

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

from bucket_sync import S3, contents, engine_for, seed, sync  # noqa: E402


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    with moto_server() as endpoint:
        yield S3(endpoint)


def test_run_py_leaves_the_buckets_identical() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    summary, copy_run, delete_run, identical = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert summary == {
        "status": "SUCCEEDED",
        "copied": 120,
        "deleted": ["photos/2025/001.jpg", "tmp/upload.part"],
    }
    assert copy_run == {"mapRun": "CopyMissing", "status": "SUCCEEDED", "items": 122, "batches": 2}
    assert delete_run == {"mapRun": "DeleteExtra", "status": "SUCCEEDED", "items": 5, "batches": 1}
    assert identical == {"identical": True}


async def test_two_buckets_end_identical_and_a_second_sync_does_nothing(s3: S3, tmp_path: Path) -> None:
    source = {f"data/{n:03d}.csv": f"row {n}\n".encode() for n in range(105)}  # two batches of 100
    source |= {"same.txt": b"same", "changed.txt": b"new"}
    seed(s3, "sync-source", source)
    seed(s3, "sync-destination", {"same.txt": b"same", "changed.txt": b"old", "gone/1": b"", "gone/2": b"x"})
    before = s3.client().head_object(Bucket="sync-destination", Key="same.txt")["LastModified"]

    async with engine_for(s3, str(tmp_path / "sync.db")) as engine:
        done = await sync(engine, "sync-source", "sync-destination")
        assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
        assert sorted(done.output["copied"]) == sorted([*(k for k in source if k != "same.txt")])
        assert sorted(done.output["deleted"]) == ["gone/1", "gone/2"]
        assert contents(s3, "sync-destination") == source
        assert s3.client().head_object(Bucket="sync-destination", Key="same.txt")["LastModified"] == before

        runs = {
            run.map_run_arn.split("/")[1].split(":")[0]: run
            for run in await engine.list_map_runs(done.execution_arn)
        }
        assert (runs["CopyMissing"].item_counts.succeeded, runs["CopyMissing"].execution_counts.total) == (
            107,
            2,
        )
        assert (runs["DeleteExtra"].item_counts.succeeded, runs["DeleteExtra"].execution_counts.total) == (
            4,
            1,
        )

        again = await sync(engine, "sync-source", "sync-destination")
    assert again.output == {"copied": [], "deleted": []}
    assert contents(s3, "sync-destination") == contents(s3, "sync-source")


async def test_an_empty_source_empties_the_destination(s3: S3) -> None:
    seed(s3, "empty-source", {})
    seed(s3, "full-destination", {"a": b"1", "b/c": b"2"})
    async with engine_for(s3) as engine:  # an in-memory engine: Standard semantics, no file
        done = await sync(engine, "empty-source", "full-destination")
    assert sorted(done.output["deleted"]) == ["a", "b/c"] and done.output["copied"] == []
    assert contents(s3, "full-destination") == {}
