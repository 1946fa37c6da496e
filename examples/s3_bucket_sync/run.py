"""Sync two S3 buckets on a local moto server: python examples/s3_bucket_sync/run.py

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

from bucket_sync import S3, contents, engine_for, seed, sync  # noqa: E402
from durable_aws.testing import moto_server  # noqa: E402

SOURCE = {f"photos/2026/{n:03d}.jpg": f"photo {n}".encode() for n in range(1, 121)} | {
    "index.html": b"<h1>photos</h1>",
    "style.css": b"body { margin: 0 }",
}
DESTINATION = {
    "index.html": b"<h1>old photos</h1>",  # changed in the source: copied again
    "style.css": b"body { margin: 0 }",  # the same: left alone
    "photos/2026/001.jpg": b"photo 1",  # the same: left alone
    "photos/2025/001.jpg": b"last year",  # not in the source: deleted
    "tmp/upload.part": b"...",  # not in the source: deleted
}


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        s3 = S3(endpoint)
        seed(s3, "website-source", SOURCE)
        seed(s3, "website-backup", DESTINATION)
        async with engine_for(s3, str(Path(tmp) / "sync.db")) as engine:
            done = await sync(engine, "website-source", "website-backup")
            runs = await engine.list_map_runs(done.execution_arn)
        copied, deleted = done.output["copied"], done.output["deleted"]
        print(json.dumps({"status": str(done.status), "copied": len(copied), "deleted": sorted(deleted)}))
        for run in sorted(runs, key=lambda r: r.map_run_arn):
            label = run.map_run_arn.split(":")[-2].split("/")[-1]
            print(json.dumps({"mapRun": label, "status": run.status, "items": run.item_counts.total,
                              "batches": run.execution_counts.total}))  # fmt: skip
        print(json.dumps({"identical": contents(s3, "website-source") == contents(s3, "website-backup")}))


if __name__ == "__main__":
    asyncio.run(main())
