"""Run the split-and-transcode workflow locally: an engine with the task functions of
``video.py`` and one execution per video (a Standard execution on SQLite: a crash in the middle
resumes with the segments already transcoded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import video

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
TASKS = ("ProbeVideo", "SplitVideo", "TranscodeSegment", "ConcatSegments", "VerifyVideo")
PROFILE = {"width": 160, "height": 90, "preset": "ultrafast", "crf": 30}  # a small preview rendition


def make_engine(store: Path) -> Engine:
    """An engine on ``store/transcode.db`` with the task functions registered."""
    engine = Engine(str(store / "transcode.db"))
    for name in TASKS:
        engine.register_function(name, getattr(video, name))
    return engine


async def transcode(
    engine: Engine,
    store: Path,
    source: str,
    output: str,
    *,
    segment_seconds: float = 0.5,
    profile: dict[str, Any] | None = None,
    name: str | None = None,
) -> Execution:
    """Run the workflow for ``store/source``; the finished execution."""
    machine = await engine.create_state_machine("VideoTranscode", DEFINITION)
    started = await engine.start_execution(
        machine.arn,
        {
            "store": str(store),
            "source": source,
            "output": output,
            "segmentSeconds": segment_seconds,
            "profile": profile or PROFILE,
        },
        name=name,
    )
    return await engine.wait_for_execution(started.execution_arn)
