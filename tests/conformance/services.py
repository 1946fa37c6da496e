"""AWS services for the conformance runner: a moto server, the durable-aws plugin, and the
resources each recorded test had created before it ran (queues, topics, tables, buckets, child
state machines), derived from the case itself.

The recorded tests made these resources in their own setup, which the corpus does not carry; this
module makes the equivalent ones: every queue URL, topic ARN, table and bucket named in the input
(an SNS topic or table whose absence *is* the recorded outcome is not made), and the child state
machines of nested-execution tests from the template the case names (their behaviour is what the
recorded outputs show). Cases whose setup cannot be derived are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from typing import Any

SERVICE_NEEDS = {"sqs", "sns", "dynamodb", "s3", "events", "secretsmanager", "states"}
REGION = "us-east-1"

# LocalStack's child templates, as the recorded outputs show them behave
CHILD_TEMPLATES: dict[str, dict[str, Any]] = {
    "base/statemachines/pass_result.json5": {
        "StartAt": "State_1",
        "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
    },
    "base/statemachines/raise_failure.json5": {
        "StartAt": "FailState",
        "States": {
            "FailState": {
                "Type": "Fail",
                "Error": "SomeFailure",
                "Cause": "This state machines raises a 'SomeFailure' failure.",
            }
        },
    },
}

_QUEUE = re.compile(r"https://sqs\.[\w-]+\.amazonaws\.com/\d{12}/([\w.-]+)")
_TOPIC = re.compile(r"arn:aws:sns:[\w-]+:\d{12}:([\w.-]+)")
_CHILD = re.compile(
    r"arn:aws:states:[\w-]+:\d{12}:stateMachine:(statemachine_create_and_record_execution_\w+)"
)


# cases that cannot pass against moto or this corpus's recording, each with the exact reason
# (moto 5.2: the emulator answers differently from AWS; or AWS changed after the recording)
KNOWN: dict[str, str] = {
    "test_s3_put_object[": "moto gap: PutObject omits ServerSideEncryption and ChecksumType (S3 adds them)",
    "DYNAMODB_PUT_UPDATE_GET_ITEM": "moto gap: UpdateItem returns ConsumedCapacity unasked",
    "test_put_events_malformed_detail": "moto gap: PutEvents accepts a Detail that is not a JSON object",
    "test_fifo_message_attribute[input_params0-True]": "moto gap: a FIFO publish without a group id is "
    "refused with another error code",
    "test_fifo_message_attribute[input_params1-False]": "moto gap: a FIFO publish returns no SequenceNumber",
    "test_publish_base_error_topic_arn": "moto gap: publishing to a missing topic says 'Endpoint does not "
    "exist', not 'Topic does not exist'",
    "test_invalid_secret_name": "moto gap: CreateSecret accepts an invalid secret name",
    "test_no_such_bucket": "moto gap: S3 errors carry no x-amz-id-2 (the Extended Request ID of the cause)",
    "test_put_item_invalid_table_name": "moto gap: an invalid table name is ResourceNotFound, not a "
    "validation error",
    "test_invalid_param": "moto gap: a PutItem without an Item is a 500 internal error (AWS: a "
    "ValidationException, 'Value null at 'item''); the error name matches",
    "test_start_execution_sync2": "recorded before AWS added RedriveCount/RedriveStatus to "
    "DescribeExecution (2023-11); durable returns them, as the 2025 recording of .sync shows",
    "test_start_execution_sync_delegate_failure": "recorded before AWS added RedriveCount/RedriveStatus "
    "to DescribeExecution (2023-11); durable returns them, as the 2025 recording of .sync shows",
}


def known_difference(case: dict[str, Any]) -> str | None:
    case_id = str(case.get("id", ""))
    return next((why for key, why in KNOWN.items() if key in case_id), None)


def available() -> str | None:
    """None when moto and durable-aws can run; else why not."""
    try:
        import boto3  # noqa: F401
        import durable_aws  # noqa: F401
        import moto  # noqa: F401
    except ImportError as exc:
        return f"needs boto3, moto[server] and durable-aws ({exc.name} is missing)"
    return None


class Services:
    """One moto server for a run, and an AWS integration pointed at it."""

    def __init__(self, endpoint: str) -> None:
        import boto3
        from durable_aws import AwsIntegration

        self.endpoint = endpoint
        self.session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.integration = AwsIntegration(session=self.session, endpoint_url=endpoint, region=REGION)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, region_name=REGION)

    # -- provisioning -------------------------------------------------------------------------------
    def skip_reason(self, case: dict[str, Any]) -> str | None:
        known = known_difference(case)
        if known:
            return known
        needs = set(case.get("needs") or [])
        if "states" in needs:
            missing = [t for t in _child_templates(case) if t not in CHILD_TEMPLATES]
            unnamed = not _child_templates(case) and _CHILD.search(json.dumps(case.get("input")))
            if missing or unnamed:
                return "the child state machine's template is not in the case"
        if "s3" in needs and "getObject" in json.dumps(case.get("definition")):
            return "the S3 object the recorded test uploaded is not in the case"
        return None

    def provision(self, case: dict[str, Any]) -> None:
        data = json.dumps(case.get("input"))
        error = (case.get("expected") or {}).get("error") or ""
        cause = json.dumps(case.get("expected"))
        for name in sorted(set(_QUEUE.findall(data))):
            attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
            self.client("sqs").create_queue(QueueName=name, Attributes=attributes)
        if "NotFound" not in error and "NotFound" not in cause:
            for name in sorted(set(_TOPIC.findall(data))):
                attributes = {"FifoTopic": "true"} if name.endswith(".fifo") else {}
                self.client("sns").create_topic(Name=name, Attributes=attributes)
        value = case.get("input") if isinstance(case.get("input"), dict) else {}
        table = value.get("TableName")
        if isinstance(table, str) and "no_such" not in table and re.fullmatch(r"[\w.-]{3,255}", table):
            key = value.get("Key") if isinstance(value.get("Key"), dict) else {"id": {"S": ""}}
            attrs = [{"AttributeName": k, "AttributeType": next(iter(v))} for k, v in key.items()]
            with contextlib.suppress(Exception):
                self.client("dynamodb").create_table(
                    TableName=table,
                    KeySchema=[{"AttributeName": a["AttributeName"], "KeyType": "HASH"} for a in attrs[:1]],
                    AttributeDefinitions=attrs[:1],
                    BillingMode="PAY_PER_REQUEST",
                )
        bucket = value.get("Bucket")
        if isinstance(bucket, str) and "Nonexistent" not in bucket:
            with contextlib.suppress(Exception):
                self.client("s3").create_bucket(Bucket=bucket)

    async def child_machines(self, engine: Any, case: dict[str, Any]) -> None:
        text = json.dumps([case.get("input"), case.get("definition")])
        names = sorted(set(_CHILD.findall(text)))
        templates = _child_templates(case)
        for name, template in zip(names, templates, strict=False):
            await engine.create_state_machine(name, CHILD_TEMPLATES[template])


def _child_templates(case: dict[str, Any]) -> list[str]:
    out = []
    for path in (case.get("source") or {}).get("templates") or []:
        rel = path.split("templates/", 1)[-1]
        if rel.startswith("base/statemachines/"):
            out.append(rel)
    return out


@contextlib.contextmanager
def services() -> Iterator[Services]:
    from durable_aws.testing import FAKE_CREDENTIALS, moto_server

    # the recordings' account: ARNs and queue URLs in the cases name it
    settings = {**FAKE_CREDENTIALS, "MOTO_ACCOUNT_ID": "111111111111"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        with moto_server() as endpoint:
            yield Services(endpoint)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
