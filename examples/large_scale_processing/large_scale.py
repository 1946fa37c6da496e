"""Run the large-scale processing workflow on S3 (a moto server, or AWS) or on a laptop's
directory standing in for the bucket (``Engine(local_buckets=...)``), and read its results.

The bucket holds the input (``orders/orders.csv``) and, under ``results/<map run id>/``, what
the ResultWriter writes: ``manifest.json``, ``SUCCEEDED_0.json`` and — when some batches
failed — ``FAILED_0.json``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable import Engine, Execution, MapRun

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from price_orders import PriceBatch  # noqa: E402

DEFINITION = (HERE / "definition.asl.json").read_text()
BUCKET = "orders-data"
KEY = "orders/orders.csv"
PREFIX = "results"
REGION = "us-east-1"


@dataclass
class Bucket:
    """Where the bucket is: ``endpoint`` (S3 over boto3: moto's URL, or "" for AWS itself) or
    ``directory`` (a local folder, through ``Engine(local_buckets=...)``)."""

    endpoint: str | None = None
    directory: Path | None = None

    def s3(self) -> Any:
        import boto3

        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        return session.client("s3", endpoint_url=self.endpoint or None)

    def put(self, key: str, path: Path) -> None:
        """Upload the file ``path`` as ``key`` (a local bucket: copy it there)."""
        if self.directory is not None:
            target = self.directory / key
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.resolve() != path.resolve():
                target.write_bytes(path.read_bytes())
        else:
            client = self.s3()
            client.create_bucket(Bucket=BUCKET)
            client.upload_file(str(path), BUCKET, key)

    def read(self, key: str) -> bytes:
        if self.directory is not None:
            return (self.directory / key).read_bytes()
        body: bytes = self.s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body

    def engine_options(self) -> dict[str, Any]:
        """What ``Engine(...)`` needs for this bucket: a local bucket is mapped to its directory."""
        if self.directory is not None:
            return {"local_buckets": {BUCKET: self.directory}, "load_plugins": False}
        return {"load_plugins": False}

    def prepare(self, engine: Engine) -> Engine:
        """Register ``PriceBatch`` and, for S3, the durable-aws plugin on ``endpoint``."""
        engine.register_function("PriceBatch", PriceBatch)
        if self.directory is None:
            import boto3
            from durable_aws import AwsIntegration

            session = None
            if self.endpoint:  # moto accepts any credentials; on AWS: boto3's default chain
                session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
            engine.add_integration(
                AwsIntegration(session=session, endpoint_url=self.endpoint or None, region=REGION)
            )
        return engine

    def engine(self, db: str | None = None, **options: Any) -> Engine:
        """An engine on ``db`` (SQLite; None: in memory) that reads and writes this bucket."""
        return self.prepare(Engine(db, **self.engine_options(), **options))


def execution_input() -> dict[str, str]:
    return {"bucket": BUCKET, "key": KEY, "resultsPrefix": PREFIX}


async def start(engine: Engine, name: str | None = None) -> str:
    """Start one execution over ``s3://orders-data/orders/orders.csv``; its ARN."""
    machine = await engine.create_state_machine("LargeScaleProcessing", DEFINITION)
    started = await engine.start_execution(machine.arn, execution_input(), name=name)
    return started.execution_arn


@dataclass
class Results:
    """What the ResultWriter wrote: the manifest and the result files' records."""

    manifest: dict[str, Any]
    succeeded: list[dict[str, Any]]
    failed: list[dict[str, Any]]


def results(bucket: Bucket, execution: Execution) -> Results:
    """Read the manifest the execution's output points to, and the files it lists."""
    details = execution.output["ResultWriterDetails"]
    manifest = json.loads(bucket.read(details["Key"]))
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
    for kind, records in files.items():
        for entry in manifest["ResultFiles"].get(kind, []):
            records.extend(json.loads(bucket.read(entry["Key"])))
    return Results(manifest, files["SUCCEEDED"], files["FAILED"])


def summary(execution: Execution, run: MapRun, found: Results) -> dict[str, Any]:
    """One line about a finished execution: status, the Map Run's counts, revenue, failures."""
    outputs = [json.loads(record["Output"]) for record in found.succeeded]
    items, batches = run.item_counts, run.execution_counts
    files = [
        entry["Key"].rsplit("/", 1)[1]
        for entries in found.manifest["ResultFiles"].values()
        for entry in entries
    ]
    return {
        "status": str(execution.status),
        "mapRun": run.status,
        "items": {"total": items.total, "succeeded": items.succeeded, "failed": items.failed},
        "batches": {"total": batches.total, "succeeded": batches.succeeded, "failed": batches.failed},
        "orders": sum(output["orders"] for output in outputs),
        "revenue": round(sum(output["revenue"] for output in outputs), 2),
        "failures": sorted({record.get("Error") or "" for record in found.failed}),
        "resultFiles": [*sorted(files), "manifest.json"],
    }
