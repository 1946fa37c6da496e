"""Video on demand on a local moto server: python examples/video_on_demand/run.py

Needs boto3 and moto (``pip install -e '.[test]'``); the durable-aws plugin is taken from
plugins/durable-aws when it is not installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from durable_aws.testing import moto_server  # noqa: E402
from vod import catalog, deploy, fetch, make_video, open_engine, publish_video, setup, upload  # noqa: E402


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        upload(aws, "uploads/intro.y4m", make_video(frames=50))
        async with open_engine(aws, str(Path(tmp) / "vod.db")) as engine:
            parent = await deploy(engine)
            done = await publish_video(engine, parent, "uploads/intro.y4m")
            children = [e for e in await engine.list_executions() if e.execution_arn != done.execution_arn]
        print(json.dumps({"status": str(done.status), "output": done.output}))
        print(json.dumps({"nested": sorted(e.state_machine_arn.rsplit(":", 1)[1] for e in children)}))
        manifest = json.loads(fetch(aws, done.output["manifest"]))
        for r in manifest["renditions"]:
            print(
                json.dumps(
                    {"rendition": r["name"], "size": f"{r['width']}x{r['height']}", "bytes": r["size"]}
                )
            )
        print(json.dumps({"catalog": catalog(aws, done.output["videoId"])}))


if __name__ == "__main__":
    asyncio.run(main())
