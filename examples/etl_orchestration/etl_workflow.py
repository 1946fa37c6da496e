"""ETL orchestration on a local AWS: S3, Glue and SNS on a moto server, the workflow on durable.

``setup`` makes what the workflow uses (a bucket, a Glue job, an alert topic with an SQS queue
subscribed, standing in for the operators' e-mail); ``file_arrives`` uploads a file and returns
the event S3 sends through EventBridge when an object is created ("Object Created"); ``run_etl``
runs one execution of ``definition.asl.json`` for such an event, as a durable Standard execution
on SQLite; ``alerts`` reads what the operators received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
REGION = "us-east-1"
ACCOUNT = "111111111111"
BUCKET = "landing-zone"
JOB = "nightly-orders-etl"
TOPIC = "etl-alerts"
TARGET = "s3://warehouse/orders/"


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint, and the resources ``setup`` made."""

    endpoint: str
    topic_arn: str = ""
    queue_url: str = ""

    def session(self) -> boto3.Session:
        """A session with the credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("glue").create_job(
        Name=JOB,
        Role=f"arn:aws:iam::{ACCOUNT}:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/etl.py"},
    )
    aws.topic_arn = aws.client("sns").create_topic(Name=TOPIC)["TopicArn"]
    aws.queue_url = aws.client("sqs").create_queue(QueueName="operators")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])
    aws.client("sns").subscribe(
        TopicArn=aws.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    return aws


def file_arrives(aws: Aws, key: str, body: bytes | None) -> dict[str, Any]:
    """Upload ``body`` to ``key`` (None: nothing is uploaded, the event names a missing object)
    and return the EventBridge event S3 emits for it."""
    if body is not None:
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "region": REGION,
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": len(body or b"")}},
    }


async def run_etl(aws: Aws, db: str, event: dict[str, Any], *, job: str = JOB) -> Execution:
    """One durable execution of the ETL workflow for ``event``."""
    engine = Engine(db)
    # on AWS: AwsIntegration() with the default credential chain and endpoints
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    async with engine:
        machine = await engine.create_state_machine("EtlOrchestration", DEFINITION)
        data = {**event, "jobName": job, "target": TARGET, "alertTopic": aws.topic_arn}
        started = await engine.start_execution(machine.arn, data)
        return await engine.wait_for_execution(started.execution_arn)


def alerts(aws: Aws) -> list[dict[str, Any]]:
    """The alerts the operators' queue received (SNS notifications, their Message parsed)."""
    sqs = aws.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        if not messages:
            return out
        for message in messages:
            notification = json.loads(message["Body"])
            out.append({"Subject": notification.get("Subject"), **json.loads(notification["Message"])})
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
