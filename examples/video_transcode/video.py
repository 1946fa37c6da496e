"""Split-and-transcode with real ffmpeg: the workflow's task functions (Lambda-style handlers
``fn(event, context)``) and ``make_test_video``.

ffmpeg is the binary the ``imageio-ffmpeg`` wheel ships (no system ffmpeg or ffprobe needed);
imageio-ffmpeg also counts a file's frames and reads its stream parameters by decoding it.
Every function works in a *store*: a local directory standing in for an S3 bucket
(``event["store"]``); keys are paths under it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg

__all__ = [
    "ConcatSegments",
    "FfmpegFailed",
    "ProbeVideo",
    "SplitVideo",
    "TranscodeSegment",
    "VerifyVideo",
    "make_test_video",
]

KEYFRAME = re.compile(r"\bpts_time:(?P<time>-?[0-9.]+)\b.*\biskey:1\b")


class FfmpegFailed(Exception):
    """ffmpeg exited with an error (the cause ends with what it printed)."""


def ffmpeg(*args: str) -> str:
    """Run the ffmpeg of imageio-ffmpeg; what it printed on stderr (its log)."""
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        raise FfmpegFailed(f"ffmpeg exited with {done.returncode}: {tail}")
    return done.stderr


def make_test_video(
    path: Path, *, seconds: float = 2, size: str = "320x180", fps: int = 24, gop: int = 12
) -> Path:
    """A small H.264 test video (ffmpeg's ``testsrc2`` pattern) with a keyframe every ``gop``
    frames — what an upload from a camera or an editor looks like to this workflow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=duration={seconds}:size={size}:rate={fps}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0",
        str(path),
    )  # fmt: skip
    return path


def describe(path: Path) -> dict[str, Any]:
    """What a file holds, by decoding it: frames, duration, size, frame rate, codec."""
    try:
        frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
        reader = imageio_ffmpeg.read_frames(str(path))
        try:
            meta = next(reader)
        finally:
            reader.close()
    except (RuntimeError, OSError) as error:  # what imageio-ffmpeg raises for ffmpeg's errors
        raise FfmpegFailed(" | ".join(str(error).strip().splitlines()[-2:])) from None
    width, height = meta["size"]
    return {
        "frames": frames,
        "duration": round(seconds, 3),
        "width": width,
        "height": height,
        "fps": meta["fps"],
        "codec": meta["codec"],
    }


def keyframes(path: Path) -> list[float]:
    """The presentation times of the video's keyframes (ffmpeg decodes the keyframes only)."""
    log = ffmpeg(
        "-nostats",
        "-skip_frame",
        "nokey",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        "showinfo",
        "-f",
        "null",
        "-",
    )
    return [float(found["time"]) for found in KEYFRAME.finditer(log)]


def ProbeVideo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The source's frames, duration, size and codec, and where its keyframes are."""
    path = Path(event["store"]) / event["source"]
    found = keyframes(path)  # ffmpeg's own reason when the upload is no video
    return {**describe(path), "keyframes": found}


def cut_points(keyframe_times: list[float], segment_seconds: float) -> list[float]:
    """Where to cut: the first keyframe at least ``segment_seconds`` after the previous cut
    (cuts fall on keyframes, so the segments are copied, not re-encoded)."""
    cuts: list[float] = []
    last = 0.0
    for time in keyframe_times:
        if time > 0 and time - last >= segment_seconds - 1e-6:
            cuts.append(time)
            last = time
    return cuts


def SplitVideo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Cut the source at keyframes into segments of about ``segmentSeconds`` (stream copy)."""
    store = Path(event["store"])
    cuts = cut_points(event["keyframes"], event["segmentSeconds"])
    prefix = f"work/{Path(event['output']).stem}"
    (store / prefix).mkdir(parents=True, exist_ok=True)
    for old in (store / prefix).glob("seg-*.mp4"):
        old.unlink()  # a retried split starts clean
    segment_args = ["-f", "segment", "-reset_timestamps", "1"]
    if cuts:
        segment_args += ["-segment_times", ",".join(f"{t:.6f}" for t in cuts)]
    else:
        segment_args += ["-segment_time", "86400"]  # one segment: the whole video
    ffmpeg(
        "-i",
        str(store / event["source"]),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        *segment_args,
        str(store / prefix / "seg-%03d.mp4"),
    )
    segments = []
    for index, path in enumerate(sorted((store / prefix).glob("seg-*.mp4"))):
        frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
        segments.append(
            {"index": index, "key": f"{prefix}/{path.name}", "frames": frames, "duration": round(seconds, 3)}
        )
    return {"cuts": cuts, "segments": segments}


def TranscodeSegment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Re-encode one segment with the rendition's profile (scale, H.264 preset and CRF)."""
    store = Path(event["store"])
    segment, profile = event["segment"], event["profile"]
    width, height = profile["width"], profile["height"]
    key = segment["key"].removesuffix(".mp4") + f"-{width}x{height}.mp4"
    ffmpeg(
        "-i", str(store / segment["key"]), "-map", "0:v:0",
        "-vf", f"scale={width}:{height}", "-c:v", "libx264", "-preset", profile.get("preset", "veryfast"),
        "-crf", str(profile.get("crf", 23)), "-pix_fmt", "yuv420p",
        str(store / key),
    )  # fmt: skip
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(store / key))
    return {"index": segment["index"], "key": key, "frames": frames, "bytes": (store / key).stat().st_size}


def ConcatSegments(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Join the transcoded segments, in order, into the output (ffmpeg's concat demuxer)."""
    store = Path(event["store"])
    parts = sorted(event["segments"], key=lambda part: part["index"])
    output = store / event["output"]
    output.parent.mkdir(parents=True, exist_ok=True)
    listing = output.with_suffix(".concat.txt")
    listing.write_text("".join(f"file '{(store / part['key']).resolve()}'\n" for part in parts))
    ffmpeg(
        "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(output)
    )
    listing.unlink()
    return {"key": event["output"], "segments": len(parts), "bytes": output.stat().st_size}


def VerifyVideo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Decode the output and compare it with the source and the profile: every frame is there,
    the duration is the source's (within a frame), the size is the profile's."""
    found = describe(Path(event["store"]) / event["key"])
    source, profile = event["source"], event["profile"]
    problems = []
    if found["frames"] != source["frames"]:
        problems.append(f"{found['frames']} frames, the source has {source['frames']}")
    if abs(found["duration"] - source["duration"]) > 1 / source["fps"]:
        problems.append(f"{found['duration']} s long, the source is {source['duration']} s")
    if (found["width"], found["height"]) != (profile["width"], profile["height"]):
        problems.append(
            f"{found['width']}x{found['height']}, the profile is {profile['width']}x{profile['height']}"
        )
    return {**found, "ok": not problems, "problems": problems}
