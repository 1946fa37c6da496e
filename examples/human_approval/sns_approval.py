"""The human-approval workflow with the approver asked through Amazon SNS (on a local AWS).

``definition_sns.asl.json`` publishes the approval request — the task token inside — to an SNS
topic with ``arn:aws:states:::sns:publish.waitForTaskToken`` and waits, durably, for the answer.
Here the topic lives on a moto server and an SQS queue subscribed to it stands in for the
approver's inbox: ``approval_requests`` reads the requests from the queue, ``approve`` and
``reject`` answer a request's token with SendTaskSuccess / SendTaskFailure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine

HERE = Path(__file__).resolve().parent


def _functions() -> Any:
    """This folder's functions.py, by path (other examples have a ``functions`` module too)."""
    spec = importlib.util.spec_from_file_location("human_approval_functions", HERE / "functions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FUNCTIONS = _functions()
DEFINITION = (HERE / "definition_sns.asl.json").read_text()
REGION = "us-east-1"


@dataclass
class Inbox:
    """The approval topic, and the SQS queue subscribed to it (the approver's inbox)."""

    endpoint: str
    topic_arn: str = ""
    queue_url: str = ""

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


def setup(endpoint: str) -> Inbox:
    """Create the topic ``approvals`` and the queue ``approver-inbox`` subscribed to it."""
    inbox = Inbox(endpoint)
    sns, sqs = inbox.client("sns"), inbox.client("sqs")
    inbox.topic_arn = sns.create_topic(Name="approvals")["TopicArn"]
    inbox.queue_url = sqs.create_queue(QueueName="approver-inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=inbox.queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=inbox.topic_arn, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    return inbox


def open_engine(inbox: Inbox, db: str) -> Engine:
    """An engine on the SQLite database ``db`` with the task functions and the AWS plugin.

    On AWS, ``AwsIntegration()`` without an endpoint uses boto3's credential chain and endpoints.
    """
    engine = Engine(db)
    engine.register_function("CheckApplication", FUNCTIONS.CheckApplication)
    engine.register_function("OpenAccount", FUNCTIONS.OpenAccount)
    engine.add_integration(
        AwsIntegration(session=inbox.session(), endpoint_url=inbox.endpoint, region=REGION)
    )
    return engine


async def apply(engine: Engine, inbox: Inbox, name: str, application: dict[str, Any]) -> str:
    """Start the execution ``name`` for ``application``; its ARN."""
    machine = await engine.create_state_machine("HumanApprovalSns", DEFINITION)
    data = {"application": application, "approvalTopic": inbox.topic_arn}
    started = await engine.start_execution(machine.arn, data, name=name)
    return started.execution_arn


def _receive(inbox: Inbox) -> list[dict[str, Any]]:
    sqs = inbox.client("sqs")
    got = sqs.receive_message(QueueUrl=inbox.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    requests = []
    for message in got.get("Messages", []):
        notification = json.loads(message["Body"])  # the SNS notification the queue received
        requests.append({"subject": notification.get("Subject"), **json.loads(notification["Message"])})
        sqs.delete_message(QueueUrl=inbox.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return requests


async def approval_requests(inbox: Inbox, count: int, timeout: float = 30) -> dict[str, dict[str, Any]]:
    """The next ``count`` approval requests of the inbox, by execution ARN: each has the
    ``taskToken``, the ``application`` and the ``reasons``."""
    found: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(found) < count:
        if loop.time() > deadline:
            raise TimeoutError(f"{len(found)} of {count} approval requests arrived")
        for request in await asyncio.to_thread(_receive, inbox):
            found[request["execution"]] = request
    return found


async def approve(engine: Engine, request: dict[str, Any], approver: str) -> None:
    """SendTaskSuccess: the answer lands in the execution's ``$.review``."""
    await engine.send_task_success(request["taskToken"], {"approved": True, "approver": approver})


async def reject(engine: Engine, request: dict[str, Any], approver: str) -> None:
    """SendTaskSuccess with ``approved: false``: the workflow's ``Rejected`` state fails it."""
    await engine.send_task_success(request["taskToken"], {"approved": False, "approver": approver})


async def refuse(engine: Engine, request: dict[str, Any], why: str) -> None:
    """SendTaskFailure: ``NotifyApprover`` itself fails, and with it the execution."""
    await engine.send_task_failure(request["taskToken"], error="Approval.Refused", cause=why)
