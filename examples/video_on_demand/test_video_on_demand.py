"""Video on demand end to end: a generated Y4M video in S3 on a moto server (127.0.0.1), the
parent workflow running ingest (Express), process and publish as nested executions
(``states:startExecution.sync:2``)."""

from __future__ import annotations

import hashlib
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

from vod import (  # noqa: E402
    Aws,
    catalog,
    deploy,
    fetch,
    make_video,
    open_engine,
    parse,
    publish_video,
    rescale,
    setup,
    upload,
    write,
)


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as endpoint:
        yield setup(endpoint)


def test_run_py_publishes_three_renditions() -> None:
    plugin = str(HERE.parents[1] / "plugins" / "durable-aws")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([plugin, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert lines[0]["status"] == "SUCCEEDED"
    assert lines[1] == {"nested": ["VodIngest", "VodProcess", "VodPublish"]}
    assert [(r["rendition"], r["size"]) for r in lines[2:5]] == [
        ("full", "64x36"),
        ("half", "32x18"),
        ("quarter", "16x9"),
    ]


def test_rescaling_keeps_the_4_2_0_layout() -> None:
    video = parse(make_video(width=16, height=10, frames=3))
    smaller = parse(write(rescale(video, 2)))
    assert (smaller.width, smaller.height, len(smaller.frames)) == (8, 5, 3)
    assert all(len(f) == 8 * 5 + 2 * 4 * 2 for f in smaller.frames)


async def test_ingest_process_publish_run_as_nested_executions(aws: Aws, tmp_path: Path) -> None:
    source = make_video(width=32, height=16, frames=10, fps=5)
    upload(aws, "in/clip.y4m", source)
    async with open_engine(aws, str(tmp_path / "vod.db")) as engine:
        parent = await deploy(engine)
        done = await publish_video(engine, parent, "in/clip.y4m")
        history = await engine.get_execution_history(done.execution_arn)
        runs = await engine.list_executions()
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    digest = hashlib.sha256(source).hexdigest()
    assert done.output["videoId"] == digest[:16]

    # each stage is a child execution the parent waited for, in order
    parameters = [
        e["taskScheduledEventDetails"]["parameters"] for e in history if e["type"] == "TaskScheduled"
    ]
    scheduled = [
        (json.loads(p) if isinstance(p, str) else p)["StateMachineArn"].rsplit(":", 1)[1] for p in parameters
    ]
    assert scheduled == ["VodIngest", "VodProcess", "VodPublish"]
    assert [e["taskScheduledEventDetails"]["resource"] for e in history if e["type"] == "TaskScheduled"] == [
        "startExecution.sync:2"
    ] * 3
    children = {
        e.state_machine_arn.rsplit(":", 1)[1]: e for e in runs if e.execution_arn != done.execution_arn
    }
    assert set(children) == {"VodIngest", "VodProcess", "VodPublish"}
    assert all(str(c.status) == "SUCCEEDED" for c in children.values())
    assert ":express:" in children["VodIngest"].execution_arn

    manifest = json.loads(fetch(aws, done.output["manifest"]))
    assert manifest["source"] == {
        "width": 32,
        "height": 16,
        "fps": 5.0,
        "durationSeconds": 2.0,
        "sha256": digest,
    }
    for rendition in manifest["renditions"]:  # the files are there, and are what the manifest says
        body = fetch(aws, rendition["url"])
        assert hashlib.sha256(body).hexdigest() == rendition["sha256"]
        video = parse(body)
        assert (video.width, video.height, len(video.frames)) == (rendition["width"], rendition["height"], 10)
    thumbnail = fetch(aws, manifest["thumbnail"]["url"])
    assert thumbnail.startswith(b"P5\n32 16\n255\n") and len(thumbnail) == len(b"P5\n32 16\n255\n") + 32 * 16
    assert catalog(aws, done.output["videoId"])["renditions"] == "3"


async def test_a_file_that_is_not_a_video_fails_the_ingest_and_stops_there(aws: Aws) -> None:
    upload(aws, "in/notes.y4m", b"hello\n")
    async with open_engine(aws) as engine:
        parent = await deploy(engine)
        done = await publish_video(engine, parent, "in/notes.y4m")
        runs = await engine.list_executions()
    assert (str(done.status), done.error) == ("FAILED", "States.TaskFailed")
    assert "not a YUV4MPEG2 file" in (done.cause or "")
    stages = sorted(
        e.state_machine_arn.rsplit(":", 1)[1] for e in runs if e.execution_arn != done.execution_arn
    )
    assert stages == ["VodIngest"]  # process and publish never started
