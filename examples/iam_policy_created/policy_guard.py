"""IAM policy guard on a local AWS: IAM, SNS and SQS on a moto server, CloudTrail's CreatePolicy
event on durable's embedded EventBridge bus, the workflow on durable.

``setup`` makes the approval topic and the security admin's queue subscribed to it;
``create_policy`` creates a policy in IAM and returns the event CloudTrail sends through
EventBridge for that call; ``open_engine`` opens an engine with the AWS plugin and the
``ValidatePolicy`` function, ``deploy`` creates the state machine and the rule; ``approval_requests``
reads the admin's queue; ``policy_versions`` reads the policy back.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
REGION = "us-east-1"

#: actions no customer-managed policy may grant without a security admin's approval
RESTRICTED = ["iam:*", "iam:CreateAccessKey", "iam:PassRole", "s3:DeleteBucket", "kms:ScheduleKeyDeletion"]

#: CloudTrail's record of iam:CreatePolicy, as EventBridge delivers it
PATTERN = {
    "source": ["aws.iam"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["CreatePolicy"]},
}
TRANSFORMER = {
    "InputPathsMap": {
        "arn": "$.detail.responseElements.policy.arn",
        "version": "$.detail.responseElements.policy.defaultVersionId",
        "document": "$.detail.requestParameters.policyDocument",
        "by": "$.detail.userIdentity.arn",
    },
    "InputTemplate": '{"policyArn": <arn>, "originalVersion": <version>, "policyDocument": <document>,'
    ' "createdBy": <by>}',
}


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint, and the security admin's queue."""

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
    topic = sns.create_topic(Name="policy-approvals")["TopicArn"]
    aws.queue_url = sqs.create_queue(QueueName="security-admin")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    return aws


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def _restricted(action: str) -> bool:
    """Whether ``action`` (which may hold wildcards) grants a restricted action."""
    return any(
        fnmatch.fnmatchcase(r.lower(), action.lower()) or fnmatch.fnmatchcase(action.lower(), r.lower())
        for r in RESTRICTED
    )


def validate_policy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The ``ValidatePolicy`` function (a Lambda handler): the restricted actions the document's
    Allow statements grant, and the document without them."""
    document = json.loads(event["policyDocument"])
    statements = document["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    violations: list[str] = []
    kept = []
    for statement in statements:
        if statement.get("Effect") != "Allow":
            kept.append(statement)
            continue
        actions = _actions(statement)
        bad = [a for a in actions if _restricted(a)]
        violations += bad
        if len(bad) < len(actions):
            kept.append({**statement, "Action": [a for a in actions if a not in bad]})
    if not kept:  # a policy needs a statement: one that allows nothing
        kept = [{"Effect": "Deny", "Action": "*", "Resource": "*"}]
    return {
        "violations": sorted(set(violations)),
        "remediatedDocument": json.dumps({**document, "Statement": kept}),
    }


def create_policy(aws: Aws, name: str, actions: list[str], user: str = "alice") -> dict[str, Any]:
    """Create the policy ``name`` allowing ``actions`` on everything; the PutEvents entry of the
    event CloudTrail sends through EventBridge for that call (AWS puts it itself)."""
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    )
    policy = aws.client("iam").create_policy(PolicyName=name, PolicyDocument=document)["Policy"]
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::123456789012:user/{user}",
            "userName": user,
        },
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreatePolicy",
        "awsRegion": "us-east-1",
        "requestParameters": {"policyName": name, "policyDocument": document},
        "responseElements": {
            "policy": {
                "policyName": policy["PolicyName"],
                "policyId": policy["PolicyId"],
                "arn": policy["Arn"],
                "path": policy["Path"],
                "defaultVersionId": policy["DefaultVersionId"],
                "attachmentCount": 0,
                "isAttachable": True,
            }
        },
        "eventType": "AwsApiCall",
    }
    return {"Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}


def policy_versions(aws: Aws, arn: str) -> dict[str, Any]:
    """The policy's versions: ``{"default": id, "versions": [ids], "actions": [the default's]}``."""
    iam = aws.client("iam")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    default = next(v["VersionId"] for v in versions if v["IsDefaultVersion"])
    document = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
    if isinstance(document, str):
        document = json.loads(document)
    actions = [a for s in document["Statement"] if s["Effect"] == "Allow" for a in _actions(s)]
    return {"default": default, "versions": sorted(v["VersionId"] for v in versions), "actions": actions}


def open_engine(aws: Aws, db: str | None = None, **options: Any) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the AWS plugin on ``aws``'s endpoint
    and the ``ValidatePolicy`` function (on AWS: a Lambda function, ``AwsIntegration()``);
    ``options`` go to ``Engine`` (a test's ``clock``)."""
    engine = Engine(db, load_plugins=False, **options)
    engine.register_function("ValidatePolicy", validate_policy)
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    return engine


async def deploy(engine: Engine) -> str:
    """The state machine and the rule on CloudTrail's CreatePolicy events; the machine's ARN."""
    machine = await engine.create_state_machine("IamPolicyGuard", DEFINITION)
    await engine.put_rule("iam-create-policy", event_pattern=PATTERN)
    await engine.put_targets(
        "iam-create-policy", [{"Id": "guard", "Arn": machine.arn, "InputTransformer": TRANSFORMER}]
    )
    return machine.arn


async def started_for(engine: Engine, machine_arn: str, policy_arn: str) -> str:
    """The ARN of the execution the rule started for ``policy_arn``'s event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        await engine.events_delivered()
        for execution in await engine.list_executions(machine_arn):
            if (execution.input or {}).get("policyArn") == policy_arn:
                return execution.execution_arn
        if loop.time() > deadline:
            raise TimeoutError(f"no execution was started for {policy_arn}")
        await asyncio.sleep(0.02)


def _receive(aws: Aws) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    got = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    out = []
    for message in got.get("Messages", []):
        notification = json.loads(message["Body"])  # the SNS notification the queue received
        out.append({"subject": notification.get("Subject"), **json.loads(notification["Message"])})
        sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return out


async def approval_requests(aws: Aws, count: int, timeout: float = 30) -> dict[str, dict[str, Any]]:
    """The next ``count`` approval requests in the admin's queue, by policy ARN (each has the
    ``taskToken``, the ``violations`` and who created the policy)."""
    found: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(found) < count:
        if loop.time() > deadline:
            raise TimeoutError(f"{len(found)} of {count} approval requests arrived")
        for request in await asyncio.to_thread(_receive, aws):
            found[request["policyArn"]] = request
    return found


async def answer(engine: Engine, request: dict[str, Any], approved: bool, admin: str) -> None:
    """The admin's answer: SendTaskSuccess with the request's token."""
    await engine.send_task_success(request["taskToken"], {"approved": approved, "admin": admin})
