"""Subscription expiry on a local AWS: DynamoDB and SES on a moto server, the events on
durable's embedded EventBridge bus, the workflows on durable.

``setup`` makes what the workflows use (the ``tenants`` and ``subscription-audit`` tables, the
verified sender of the e-mails); ``open_engine`` opens an engine with the AWS plugin and deploys
both state machines and both rules; ``subscription_expired`` puts the event the billing system
sends; ``settled`` waits until the executions the events started have ended.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
AUDIT = (HERE / "audit.asl.json").read_text()
REGION = "us-east-1"
SENDER = "billing@example.com"

#: the rules, as ``aws events put-rule --event-pattern`` takes them
EXPIRED_PATTERN = {"source": ["com.example.billing"], "detail-type": ["Subscription Expired"]}
PROCESSED_PATTERN = {"source": ["com.example.subscriptions"], "detail-type": ["Subscription Processed"]}
#: the audit target's input: the event's id and time with the processed tenant's fields
AUDIT_TRANSFORMER = {
    "InputPathsMap": {
        "id": "$.id",
        "time": "$.time",
        "tenant": "$.detail.tenantId",
        "status": "$.detail.status",
        "email": "$.detail.emailMessageId",
    },
    "InputTemplate": '{"eventId": <id>, "time": <time>, "tenantId": <tenant>, "status": <status>,'
    ' "emailMessageId": <email>}',
}


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint."""

    endpoint: str

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


@dataclass
class Deployed:
    engine: Engine
    offboard_arn: str  # the EXPRESS state machine the "Subscription Expired" rule starts
    audit_arn: str  # the STANDARD state machine the "Subscription Processed" rule starts


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    dynamodb = aws.client("dynamodb")
    for table, key in (("tenants", "tenantId"), ("subscription-audit", "eventId")):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    aws.client("ses").verify_email_identity(EmailAddress=SENDER)
    return aws


def add_tenant(aws: Aws, tenant_id: str, resources: list[str]) -> None:
    aws.client("dynamodb").put_item(
        TableName="tenants",
        Item={"tenantId": {"S": tenant_id}, "status": {"S": "ACTIVE"}, "resources": {"SS": resources}},
    )


def tenant(aws: Aws, tenant_id: str) -> dict[str, Any]:
    item = aws.client("dynamodb").get_item(TableName="tenants", Key={"tenantId": {"S": tenant_id}})["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def audit_records(aws: Aws) -> list[dict[str, str]]:
    items = aws.client("dynamodb").scan(TableName="subscription-audit")["Items"]
    return [{name: value["S"] for name, value in item.items()} for item in items]


def emails_sent(aws: Aws) -> int:
    """How many e-mails SES sent (moto counts them as SES does: GetSendQuota)."""
    return int(aws.client("ses").get_send_quota()["SentLast24Hours"])


def open_engine(aws: Aws, db: str | None = None) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the AWS plugin on ``aws``'s endpoint.

    ``local_event_bus=True``: ``events:putEvents`` Tasks put on durable's bus; every other AWS
    call goes to the endpoint (on AWS: ``AwsIntegration()``, boto3's credential chain).
    """
    engine = Engine(db, load_plugins=False)
    engine.add_integration(
        AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION, local_event_bus=True)
    )
    return engine


async def deploy(engine: Engine) -> Deployed:
    """The two state machines, and the two rules that start them."""
    offboard = await engine.create_state_machine("SubscriptionExpired", DEFINITION, type="EXPRESS")
    audit = await engine.create_state_machine("SubscriptionAudit", AUDIT)
    await engine.put_rule("subscription-expired", event_pattern=EXPIRED_PATTERN)
    await engine.put_targets(
        "subscription-expired", [{"Id": "offboard", "Arn": offboard.arn, "InputPath": "$.detail"}]
    )
    await engine.put_rule("subscription-processed", event_pattern=PROCESSED_PATTERN)
    await engine.put_targets(
        "subscription-processed", [{"Id": "audit", "Arn": audit.arn, "InputTransformer": AUDIT_TRANSFORMER}]
    )
    return Deployed(engine, offboard.arn, audit.arn)


async def subscription_expired(engine: Engine, tenant_id: str, email: str, plan: str, at: str) -> str:
    """Put the event the billing system sends when a subscription ends; its event id."""
    detail = {"tenantId": tenant_id, "email": email, "plan": plan, "expiredAt": at}
    answer = await engine.put_events(
        [
            {
                "Source": "com.example.billing",
                "DetailType": "Subscription Expired",
                "Detail": json.dumps(detail),
            }
        ]
    )
    return str(answer["Entries"][0]["EventId"])


def renewed(tenant_id: str) -> dict[str, str]:
    """A ``Subscription Renewed`` entry: the billing system's other event, which no rule matches."""
    detail = {"tenantId": tenant_id, "plan": "Pro"}
    return {
        "Source": "com.example.billing",
        "DetailType": "Subscription Renewed",
        "Detail": json.dumps(detail),
    }


async def settled(deployed: Deployed, timeout: float = 30) -> dict[str, list[Execution]]:
    """Wait until every event is delivered and every execution the events started has ended
    (twice in a row: an ending execution may put an event that starts another); the executions
    of both state machines, oldest first."""
    engine = deployed.engine
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[str] | None = None
    while True:
        await engine.events_delivered()
        found = {
            "offboard": await engine.list_executions(deployed.offboard_arn),
            "audit": await engine.list_executions(deployed.audit_arn),
        }
        states = sorted(f"{e.execution_arn} {e.status}" for runs in found.values() for e in runs)
        if states == seen and all(not s.endswith(" RUNNING") for s in states):
            return {name: sorted(runs, key=lambda e: e.start_date) for name, runs in found.items()}
        if loop.time() > deadline:
            raise TimeoutError(f"executions still running: {states}")
        seen = states
        await asyncio.sleep(0.05)
