"""S3 bucket sync on a local AWS: the buckets on a moto server, the workflow on durable.

``seed`` fills two buckets; ``sync`` runs ``definition.asl.json`` once (a durable Standard
execution on SQLite, the S3 calls made by the durable-aws plugin over boto3); ``contents``
reads a bucket back as ``{key: bytes}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
REGION = "us-east-1"


@dataclass
class S3:
    """boto3 clients of the (local) AWS endpoint."""

    endpoint: str

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self) -> Any:
        return self.session().client("s3", endpoint_url=self.endpoint)


def seed(s3: S3, bucket: str, objects: dict[str, bytes]) -> None:
    """Create ``bucket`` (if needed) and put ``objects`` in it."""
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


def contents(s3: S3, bucket: str) -> dict[str, bytes]:
    """Every object of ``bucket``: key -> body."""
    client = s3.client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def engine_for(s3: S3, db: str | None = None, **options: Any) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the AWS plugin on ``s3``'s endpoint.

    On AWS, ``AwsIntegration()`` without an endpoint uses boto3's credential chain and endpoints.
    """
    engine = Engine(db, load_plugins=False, **options)
    engine.add_integration(AwsIntegration(session=s3.session(), endpoint_url=s3.endpoint, region=REGION))
    return engine


async def sync(engine: Engine, source: str, destination: str) -> Execution:
    """Make ``destination`` a copy of ``source``: one execution of the workflow, to its end."""
    machine = await engine.create_state_machine("S3BucketSync", DEFINITION)
    started = await engine.start_execution(machine.arn, {"source": source, "destination": destination})
    return await engine.wait_for_execution(started.execution_arn)
