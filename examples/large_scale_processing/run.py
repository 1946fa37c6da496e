"""Large-scale processing with a Distributed Map: python examples/large_scale_processing/run.py

Generates a CSV of orders (``--rows``, default 5,000, one of them malformed), runs the workflow
over it on a local moto S3 and on a local directory standing in for the bucket, and prints one
line per run: the Map Run's counts, the revenue, the result files.

    run.py --rows 1000000 --target local --dir orders-bucket --db orders.db --name orders-1m

runs the full size on a laptop (no AWS, no moto); ``durable map-runs --db orders.db
orders-1m --watch`` in another terminal shows its progress. Needs boto3 and moto for the S3
target (``pip install -e '.[test]'``); the durable-aws plugin is taken from plugins/durable-aws
when it is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from large_scale import KEY, Bucket, results, start, summary  # noqa: E402
from price_orders import write_orders_csv  # noqa: E402


@contextlib.contextmanager
def bucket_for(target: str, directory: Path) -> Iterator[Bucket]:
    if target == "local":
        yield Bucket(directory=directory)
    else:
        from durable_aws.testing import moto_server

        with moto_server() as endpoint:
            yield Bucket(endpoint=endpoint)


async def run_once(target: str, csv: Path, directory: Path, db: str, name: str | None) -> None:
    """One execution over ``csv`` on ``target``: S3 on a moto server, or the local ``directory``."""
    with bucket_for(target, directory) as bucket:
        bucket.put(KEY, csv)
        async with bucket.engine(db) as engine:
            arn = await start(engine, name)
            print(json.dumps({"target": target, "started": arn}), file=sys.stderr)
            done = await engine.wait_for_execution(arn)
            [run] = await engine.list_map_runs(arn)
        print(json.dumps({"target": target, **summary(done, run, results(bucket, done))}))


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000, help="orders in the CSV (default 5000)")
    parser.add_argument("--bad-rows", type=int, nargs="*", default=[1234], help="malformed rows (1-based)")
    parser.add_argument("--target", choices=["s3", "local", "both"], default="both")
    parser.add_argument("--dir", type=Path, help="the local bucket's directory (default: a temporary one)")
    parser.add_argument("--db", help="the SQLite database (default: a temporary one)")
    parser.add_argument("--name", help="the execution's name (default: generated)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp) / "bucket"
        csv = write_orders_csv(directory / KEY, args.rows, bad_rows=args.bad_rows)
        for target in ("s3", "local") if args.target == "both" else (args.target,):
            await run_once(target, csv, directory, args.db or str(Path(tmp) / f"{target}.db"), args.name)


if __name__ == "__main__":
    asyncio.run(main())
