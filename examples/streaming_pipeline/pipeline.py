"""A streaming pipeline on a local AWS: Kinesis, SNS and SQS on a moto server, one Express
execution per record on durable.

``setup`` makes the stream, the topic, the queue subscribed to it and the dead-letter queue;
``produce`` puts records on the stream; ``consume`` reads the stream's shard from the start and
starts one Express execution per record (what an EventBridge Pipe from Kinesis to Step Functions
does on AWS), ``received`` drains a queue.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution, TaskFailed

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
REGION = "us-east-1"
STREAM = "clickstream"
TYPES = {"click", "view", "purchase"}


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint, and the two queues."""

    endpoint: str
    queue_url: str = ""
    dead_letter_url: str = ""

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    kinesis, sns, sqs = aws.client("kinesis"), aws.client("sns"), aws.client("sqs")
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    topic = sns.create_topic(Name="normalized-events")["TopicArn"]
    aws.queue_url = sqs.create_queue(QueueName="analytics")["QueueUrl"]
    aws.dead_letter_url = sqs.create_queue(QueueName="invalid-records")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return aws


# -- the task code (Lambda handlers) ------------------------------------------------------------------
def validate_record(event: dict[str, Any], context: Any) -> None:
    """``ValidateRecord``: a record needs a user, a known type and a time; a purchase an amount."""
    record = event["record"]
    problems = [f"no {field}" for field in ("userId", "type", "ts") if not record.get(field)]
    if record.get("type") and record["type"] not in TYPES:
        problems.append(f"unknown type {record['type']!r}")
    if record.get("type") == "purchase" and not isinstance(record.get("amount"), (int, float)):
        problems.append("a purchase needs an amount")
    if problems:
        raise TaskFailed("InvalidRecord", "; ".join(problems))


def process_record(record: dict[str, Any], context: Any) -> dict[str, Any]:
    """``ProcessRecord``: the time as ISO-8601 UTC, amounts in cents, pages without query strings."""
    amount = record.get("amount")
    return {
        "userId": str(record["userId"]).lower(),
        "type": record["type"],
        "occurredAt": datetime.fromtimestamp(record["ts"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "amountCents": round(amount * 100) if amount is not None else None,
        "page": record["page"].split("?")[0] if record.get("page") else None,
    }


def open_engine(aws: Aws) -> Engine:
    """An in-memory engine (Express executions keep nothing) with the task code and the AWS
    plugin on ``aws``'s endpoint (on AWS: Lambda functions and ``AwsIntegration()``)."""
    engine = Engine(load_plugins=False)
    engine.register_function("ValidateRecord", validate_record, blocking=False)
    engine.register_function("ProcessRecord", process_record, blocking=False)
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    return engine


# -- the stream -----------------------------------------------------------------------------------------
def produce(aws: Aws, records: list[dict[str, Any]]) -> None:
    """Put ``records`` on the stream (PutRecords, 500 at a time), keyed by user."""
    kinesis = aws.client("kinesis")
    for start in range(0, len(records), 500):
        batch = records[start : start + 500]
        kinesis.put_records(
            StreamName=STREAM,
            Records=[
                {"Data": json.dumps(r).encode(), "PartitionKey": str(r.get("userId", "?"))} for r in batch
            ],
        )


def _read_shard(aws: Aws) -> list[dict[str, Any]]:
    """Every record of the stream's shard, from its start, as a Pipe hands them to its target."""
    kinesis = aws.client("kinesis")
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    position = iterator["ShardIterator"]
    out = []
    while position:
        got = kinesis.get_records(ShardIterator=position, Limit=1000)
        for r in got["Records"]:
            out.append(
                {
                    "eventSource": "aws:kinesis",
                    "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"],
                    "data": base64.b64encode(r["Data"]).decode(),
                    "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
                }
            )
        if not got["Records"] or got.get("MillisBehindLatest", 0) == 0:
            break
        position = got.get("NextShardIterator")
    return out


async def consume(engine: Engine, aws: Aws, machine_arn: str, *, concurrency: int = 32) -> list[Execution]:
    """Read the stream and run one Express execution per record, ``concurrency`` at a time
    (``StartSyncExecution``); the finished executions, in the stream's order."""
    records = await asyncio.to_thread(_read_shard, aws)
    gate = asyncio.Semaphore(concurrency)

    async def one(record: dict[str, Any]) -> Execution:
        async with gate:
            return await engine.start_sync_execution(machine_arn, record)

    return list(await asyncio.gather(*(one(r) for r in records)))


def received(aws: Aws, queue_url: str) -> list[dict[str, Any]]:
    """Every message of ``queue_url``, parsed (and deleted)."""
    sqs = aws.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        for message in got["Messages"]:
            out.append(json.loads(message["Body"]))
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got["Messages"])
            ],
        )


def sample_records(count: int, *, invalid_every: int = 0) -> list[dict[str, Any]]:
    """``count`` clickstream records; with ``invalid_every`` n, every n-th one has no user."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        kind = ("view", "click", "purchase")[i % 3]
        record: dict[str, Any] = {"userId": f"User-{i % 7}", "type": kind, "ts": 1_767_225_600 + i}
        if kind == "purchase":
            record["amount"] = 9.99 + i
        else:
            record["page"] = f"/products/{i}?ref=home"
        if invalid_every and (i + 1) % invalid_every == 0:
            del record["userId"]
        out.append(record)
    return out
