"""Run the video example: python examples/video_transcode/run.py [STORE]

Makes a 2-second 320x180 test video with ffmpeg (the binary of the imageio-ffmpeg wheel) in
STORE/uploads (default: a temporary directory), splits it at its keyframes into half-second
segments, transcodes them to 160x90 in a Map, joins them and checks the result.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transcoding import make_engine, transcode
from video import make_test_video


async def main(store: Path) -> None:
    make_test_video(store / "uploads" / "clip.mp4", seconds=2, size="320x180", fps=24, gop=12)
    async with make_engine(store) as engine:
        done = await transcode(engine, store, "uploads/clip.mp4", "renditions/clip-160x90.mp4")
    print(
        json.dumps(
            {"status": str(done.status), "output": done.output, "error": done.error, "cause": done.cause}
        )
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(Path(sys.argv[1]).resolve()))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp)))
