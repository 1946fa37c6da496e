"""Exposed access key remediation on a local AWS: IAM, S3, SNS and SQS on a moto server, the
AWS Health event on durable's embedded EventBridge bus, the workflow on durable.

``setup`` makes the alert topic (an SQS queue subscribed to it stands in for the security team's
inbox) and the bucket CloudTrail delivers its log files to; ``create_user_with_key`` makes an
IAM user and an access key; ``record_activity`` writes CloudTrail log files for that key;
``open_engine`` opens an engine with the AWS plugin and the summarizing function, and ``deploy``
creates the state machine and the rule; ``key_exposed`` puts AWS Health's event.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
TRAIL_BUCKET = "cloudtrail-logs"

#: AWS Health's event for an exposed key, matched by service and event type code
PATTERN = {
    "source": ["aws.health"],
    "detail-type": ["AWS Health Event"],
    "detail": {"service": ["RISK"], "eventTypeCode": ["AWS_RISK_CREDENTIALS_EXPOSED"]},
}
#: the workflow's input: the exposed key, the Health event's ARN and the event's time
TRANSFORMER = {
    "InputPathsMap": {
        "key": "$.detail.affectedEntities[0].entityValue",
        "arn": "$.detail.eventArn",
        "time": "$.time",
    },
    "InputTemplate": '{"accessKeyId": <key>, "eventArn": <arn>, "time": <time>}',
}


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint, and the security team's inbox."""

    endpoint: str
    queue_url: str = ""

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="security-alerts")["TopicArn"]
    aws.queue_url = sqs.create_queue(QueueName="security-team")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    aws.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    return aws


def create_user_with_key(aws: Aws, user: str) -> str:
    """An IAM user with one access key; the key's id."""
    iam = aws.client("iam")
    iam.create_user(UserName=user)
    return str(iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"])


def access_keys(aws: Aws, user: str) -> list[str]:
    return [k["AccessKeyId"] for k in aws.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]]


def record_activity(aws: Aws, key: str, user: str, calls: list[tuple[str, str, str, datetime]]) -> None:
    """Write one CloudTrail log file (gzipped ``{"Records": [...]}``, where CloudTrail delivers
    it) with a record per call: (event source, event name, source IP, time)."""
    records = [
        {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "userName": user, "accessKeyId": key},
            "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": ip,
        }
        for source, name, ip, at in calls
    ]
    day = calls[0][3]
    key_name = (
        f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{day:%Y/%m/%d}/"
        f"{ACCOUNT}_CloudTrail_{REGION}_{day:%Y%m%dT%H%MZ}_{key[-6:]}.json.gz"
    )
    body = gzip.compress(json.dumps({"Records": records}).encode())
    aws.client("s3").put_object(Bucket=TRAIL_BUCKET, Key=key_name, Body=body)


def summarizer(aws: Aws) -> Any:
    """The ``SummarizeKeyActivity`` function (a Lambda handler): what the key did in the 24 hours
    before the Health event, from the trail's log files in S3."""

    def summarize_key_activity(event: dict[str, Any], context: Any) -> dict[str, Any]:
        s3 = aws.client("s3")
        until = datetime.fromisoformat(event["until"].replace("Z", "+00:00"))
        start = until - timedelta(hours=24)
        records = []
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=event["trailBucket"], Prefix="AWSLogs/")
        for page in pages:
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=event["trailBucket"], Key=item["Key"])["Body"].read()
                for record in json.loads(gzip.decompress(body))["Records"]:
                    at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
                    if record["userIdentity"].get("accessKeyId") == event["accessKeyId"] and start <= at:
                        records.append(record)
        names = Counter(r["eventName"] for r in records)
        return {
            "calls": len(records),
            "byEvent": dict(sorted(names.items())),
            "sourceIps": sorted({r["sourceIPAddress"] for r in records}),
            "first": min((r["eventTime"] for r in records), default=None),
            "last": max((r["eventTime"] for r in records), default=None),
        }

    return summarize_key_activity


def open_engine(aws: Aws, db: str | None = None) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the AWS plugin on ``aws``'s endpoint
    and the summarizing function (on AWS: a Lambda function, ``AwsIntegration()``)."""
    engine = Engine(db, load_plugins=False)
    engine.register_function("SummarizeKeyActivity", summarizer(aws))
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    return engine


async def deploy(engine: Engine) -> str:
    """The state machine and the rule that starts it; the state machine's ARN."""
    machine = await engine.create_state_machine("ExposedAccessKey", DEFINITION)
    await engine.put_rule("aws-health-exposed-key", event_pattern=PATTERN)
    await engine.put_targets(
        "aws-health-exposed-key", [{"Id": "remediate", "Arn": machine.arn, "InputTransformer": TRANSFORMER}]
    )
    return machine.arn


def health_event(key: str, at: datetime) -> dict[str, Any]:
    """The PutEvents entry of AWS Health's ``AWS_RISK_CREDENTIALS_EXPOSED`` event for ``key``
    (on AWS, Health puts it on the default bus itself)."""
    detail = {
        "eventArn": f"arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/{key}",
        "service": "RISK",
        "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED",
        "eventTypeCategory": "issue",
        "startTime": at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "eventDescription": [
            {"language": "en_US", "latestDescription": f"Access key {key} was found public."}
        ],
        "affectedEntities": [{"entityValue": key}],
    }
    return {
        "Source": "aws.health",
        "DetailType": "AWS Health Event",
        "Time": at,
        "Detail": json.dumps(detail),
    }


async def key_exposed(engine: Engine, machine_arn: str, key: str, at: datetime) -> Execution:
    """Put the Health event; the execution the rule started, once it has ended."""
    await engine.put_events([health_event(key, at)])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        await engine.events_delivered()
        for execution in await engine.list_executions(machine_arn):
            if execution.input and execution.input.get("accessKeyId") == key:
                return await engine.wait_for_execution(execution.execution_arn)
        if loop.time() > deadline:
            raise TimeoutError(f"no execution was started for {key}")
        await asyncio.sleep(0.02)


def notifications(aws: Aws) -> list[dict[str, Any]]:
    """What the security team's queue received (SNS notifications, their Message parsed)."""
    sqs = aws.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        if not got.get("Messages"):
            return out
        for message in got["Messages"]:
            notification = json.loads(message["Body"])
            out.append({"Subject": notification.get("Subject"), **json.loads(notification["Message"])})
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
