"""The video example end to end with real ffmpeg (imageio-ffmpeg's binary): a generated test
video split at its keyframes, transcoded segment by segment in a Map, joined and checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from transcoding import PROFILE, make_engine, transcode  # noqa: E402
from video import VerifyVideo, cut_points, describe, make_test_video  # noqa: E402


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 320x180 H.264 video at 24 fps, a keyframe every 12 frames (made once)."""
    return make_test_video(
        tmp_path_factory.mktemp("source") / "clip.mp4", seconds=2, size="320x180", fps=24, gop=12
    )


def store_with(upload: Path, store: Path) -> Path:
    (store / "uploads").mkdir(parents=True)
    (store / "uploads" / "clip.mp4").write_bytes(upload.read_bytes())
    return store


def frames(path: Path, size: tuple[int, int], *, scale: bool = False) -> np.ndarray:
    """Every frame of ``path`` as RGB arrays (``scale``: scaled to ``size`` as they are decoded)."""
    params = ["-vf", f"scale={size[0]}:{size[1]}"] if scale else None
    reader = imageio_ffmpeg.read_frames(str(path), output_params=params)
    next(reader)  # the metadata
    return np.stack([np.frombuffer(f, np.uint8).reshape(size[1], size[0], 3) for f in reader]).astype(
        np.int16
    )


def test_run_py_prints_the_checked_rendition(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["status"] == "SUCCEEDED", printed
    assert printed["output"] | {"bytes": 0} == {
        "output": "renditions/clip-160x90.mp4",
        "segments": 4,
        "cuts": [0.5, 1.0, 1.5],
        "frames": 48,
        "duration": 2.0,
        "width": 160,
        "height": 90,
        "codec": "h264",
        "bytes": 0,
    }


async def test_segments_are_transcoded_in_a_map_and_joined_in_order(upload: Path, tmp_path: Path) -> None:
    store = store_with(upload, tmp_path)
    async with make_engine(store) as engine:
        done = await transcode(engine, store, "uploads/clip.mp4", "renditions/clip.mp4", segment_seconds=0.5)
        history = await engine.get_execution_history(done.execution_arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    types = [event["type"] for event in history]
    assert types.count("MapIterationSucceeded") == 4 and types.count("LambdaFunctionSucceeded") == 4 + 4
    output = store / "renditions" / "clip.mp4"
    assert describe(output) | {"fps": 0} == {
        "frames": 48, "duration": 2.0, "width": 160, "height": 90, "fps": 0, "codec": "h264"
    }  # fmt: skip
    for index in range(4):  # each segment: the 12 frames of one GOP, then transcoded
        assert describe(store / "work" / "clip" / f"seg-{index:03d}.mp4")["frames"] == 12
        assert describe(store / "work" / "clip" / f"seg-{index:03d}-160x90.mp4")["width"] == 160

    # the output's frame i is the source's frame i, scaled: nothing lost, doubled or reordered
    ours, theirs = frames(output, (160, 90)), frames(upload, (160, 90), scale=True)
    assert len(ours) == len(theirs) == 48
    for i in range(48):
        distances = {j: float(np.abs(ours[i] - theirs[j]).mean()) for j in (i - 1, i, i + 1) if 0 <= j < 48}
        assert min(distances, key=distances.__getitem__) == i, (i, distances)


async def test_longer_segments_cut_at_the_next_keyframe(upload: Path, tmp_path: Path) -> None:
    assert cut_points([0.0, 0.5, 1.0, 1.5], 0.8) == [1.0]
    assert cut_points([0.0, 0.5, 1.0, 1.5], 5) == []
    store = store_with(upload, tmp_path)
    async with make_engine(store) as engine:
        two = await transcode(engine, store, "uploads/clip.mp4", "renditions/two.mp4", segment_seconds=0.8)
        whole = await transcode(
            engine, store, "uploads/clip.mp4", "renditions/whole.mp4", segment_seconds=5,
            profile={**PROFILE, "width": 128, "height": 72},
        )  # fmt: skip
    assert (two.output["cuts"], two.output["segments"], two.output["frames"]) == ([1.0], 2, 48)
    assert (whole.output["cuts"], whole.output["segments"], whole.output["frames"]) == ([], 1, 48)
    assert (whole.output["width"], whole.output["height"]) == (128, 72)


async def test_an_upload_that_is_no_video_fails_with_ffmpegs_reason(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "clip.mp4").write_bytes(b"not a video at all")
    async with make_engine(tmp_path) as engine:
        done = await transcode(engine, tmp_path, "uploads/clip.mp4", "renditions/clip.mp4")
    assert (str(done.status), done.error) == ("FAILED", "FfmpegFailed")
    assert done.cause is not None and "Invalid data found when processing input" in done.cause


def test_verification_reports_what_differs(upload: Path) -> None:
    source = describe(upload)
    checked = VerifyVideo(
        {
            "store": str(upload.parent),
            "key": upload.name,
            "source": {**source, "frames": 50},
            "profile": PROFILE,
        },
        None,
    )
    assert checked["ok"] is False
    assert checked["problems"] == ["48 frames, the source has 50", "320x180, the profile is 160x90"]
