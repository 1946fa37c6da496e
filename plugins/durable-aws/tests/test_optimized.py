"""The optimized integrations against moto, through a real Engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aws_helpers import REGION, fake_session, history_types, run, task, unique
from durable_aws import AwsIntegration
from durable_aws.testing import configure

from durable import Engine

SQS_SEND = "arn:aws:states:::sqs:sendMessage"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


def metadata_shape(output: dict[str, Any]) -> None:
    http = output["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    headers = http["HttpHeaders"]
    every = http["AllHttpHeaders"]  # every value of a header, in order; HttpHeaders: the last one
    assert set(every) == set(headers) and all(every[k][-1] == v for k, v in headers.items())
    request_id = output["SdkResponseMetadata"]["RequestId"]
    assert request_id and request_id in headers.values()
    assert any(k.lower() == "content-length" for k in headers)


async def test_sqs_send_message_puts_the_message_in_the_queue(
    engine: Engine, boto: Callable[[str], Any]
) -> None:
    sqs = boto("sqs")
    queue = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    done = await run(
        engine,
        task(SQS_SEND, {"QueueUrl.$": "$.q", "MessageBody.$": "$.body"}),
        {"q": queue, "body": {"a": 1}},
    )
    assert done.succeeded, (done.error, done.cause)
    out = done.output
    assert set(out) == {"MD5OfMessageBody", "MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    metadata_shape(out)
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert message["Body"] == '{"a":1}'  # a JSON body is sent as its text
    assert message["MessageId"] == out["MessageId"]
    assert await history_types(engine, done) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


async def test_sqs_errors_are_named_as_aws_names_them(engine: Engine) -> None:
    done = await run(
        engine,
        task(SQS_SEND, {"QueueUrl": "http://127.0.0.1:1/000000000000/none", "MessageBody": "x"}),
    )
    assert done.error and done.error.startswith("SQS."), done.error


async def test_sns_publish(engine: Engine, boto: Callable[[str], Any]) -> None:
    topic = boto("sns").create_topic(Name=unique("t"))["TopicArn"]
    done = await run(engine, task(SNS_PUBLISH, {"TopicArn": topic, "Message": {"hello": "world"}}))
    assert done.succeeded, (done.error, done.cause)
    assert set(done.output) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    metadata_shape(done.output)


async def test_sns_publish_to_a_missing_topic(engine: Engine) -> None:
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    done = await run(engine, task(SNS_PUBLISH, {"TopicArn": missing, "Message": "x"}))
    assert done.error == "SNS.NotFoundException"
    assert done.cause and done.cause.endswith("; Proxy: null)")
    assert "(Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: " in done.cause


def table(boto: Callable[[str], Any]) -> str:
    name = unique("tbl")
    boto("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


async def test_dynamodb_put_update_get_delete(engine: Engine, boto: Callable[[str], Any]) -> None:
    name = table(boto)
    key = {"id": {"S": "id1"}}
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": name, "Item": {"id": {"S": "id1"}, "data": {"S": "hello"}}},
                "ResultPath": "$.put",
                "Next": "Update",
            },
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": name,
                    "Key": key,
                    "UpdateExpression": "SET extra = :v",
                    "ExpressionAttributeValues": {":v": {"N": "7"}},
                    "ReturnValues": "UPDATED_NEW",
                },
                "ResultPath": "$.update",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": name, "Key": key},
                "ResultPath": "$.get",
                "Next": "Delete",
            },
            "Delete": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:deleteItem",
                "Parameters": {"TableName": name, "Key": key},
                "ResultPath": "$.delete",
                "End": True,
            },
        },
    }
    done = await run(engine, definition)
    assert done.succeeded, (done.error, done.cause)
    out = done.output
    assert set(out["put"]) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert out["update"]["Attributes"] == {"extra": {"N": "7"}}
    assert out["get"]["Item"] == {"id": {"S": "id1"}, "data": {"S": "hello"}, "extra": {"N": "7"}}
    metadata_shape(out["get"])
    assert "Item" not in boto("dynamodb").get_item(TableName=name, Key=key)


async def test_a_failed_condition_is_caught_by_its_aws_name(
    engine: Engine, boto: Callable[[str], Any]
) -> None:
    name = table(boto)
    boto("dynamodb").put_item(TableName=name, Item={"id": {"S": "taken"}})
    definition = task(
        "arn:aws:states:::dynamodb:putItem",
        {
            "TableName": name,
            "Item": {"id": {"S": "taken"}},
            "ConditionExpression": "attribute_not_exists(id)",
        },
        Catch=[{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Taken"}],
    )
    definition["States"]["Taken"] = {"Type": "Pass", "End": True}
    done = await run(engine, definition)
    assert done.succeeded
    assert done.output["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert (
        "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ConditionalCheckFailedException;"
        in (done.output["Cause"])
    )


async def test_events_put_events(engine: Engine) -> None:
    entries = [{"Source": "my.app", "DetailType": "thing", "Detail": {"n": 1}}]
    done = await run(engine, task("arn:aws:states:::events:putEvents", {"Entries": entries}))
    assert done.succeeded, (done.error, done.cause)
    assert done.output["FailedEntryCount"] == 0
    assert len(done.output["Entries"]) == 1 and "EventId" in done.output["Entries"][0]
    assert "SdkHttpMetadata" not in done.output  # as AWS records it


async def test_local_event_bus_leaves_put_events_to_the_engines_bus(endpoint: str) -> None:
    aws = AwsIntegration(session=fake_session(), endpoint_url=endpoint, region=REGION, local_event_bus=True)
    assert not aws.handles("arn:aws:states:::events:putEvents")
    assert not aws.handles("arn:aws:states:::events:putEvents.waitForTaskToken")
    assert aws.handles("arn:aws:states:::sns:publish")
    async with Engine(load_plugins=False) as engine:
        engine.add_integration(aws)
        target = await engine.create_state_machine(
            unique("t"), {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )
        await engine.put_rule("things", event_pattern={"source": ["my.app"]})
        await engine.put_targets("things", [{"Id": "t", "Arn": target.arn, "InputPath": "$.detail"}])
        entries = [{"Source": "my.app", "DetailType": "thing", "Detail": {"n": 1}}]
        done = await run(engine, task("arn:aws:states:::events:putEvents", {"Entries": entries}))
        assert done.succeeded, (done.error, done.cause)
        await engine.events_delivered()
        [started] = await engine.list_executions(target.arn)
        assert (await engine.wait_for_execution(started.execution_arn)).output == {"n": 1}


async def test_wait_for_task_token_through_sqs(engine: Engine, boto: Callable[[str], Any]) -> None:
    sqs = boto("sqs")
    queue = sqs.create_queue(QueueName=unique("cb"))["QueueUrl"]
    definition = task(
        SQS_SEND + ".waitForTaskToken",
        {"QueueUrl": queue, "MessageBody": {"order.$": "$.order", "token.$": "$$.Task.Token"}},
    )
    machine = await engine.create_state_machine(unique("cb"), definition)
    started = await engine.start_execution(machine.arn, {"order": 42})

    def receive() -> dict[str, Any]:
        for _ in range(50):
            got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
            if got:
                return dict(json.loads(got[0]["Body"]))
        raise AssertionError("no message")

    body = await asyncio.to_thread(receive)  # the consumer: another process in real life
    assert body["order"] == 42
    await engine.send_task_success(body["token"], output_json='{"shipped": true}')
    done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
    assert done.output == {"shipped": True}
    history = await engine.get_execution_history(started.execution_arn)
    types = [e["type"] for e in history]
    assert types[types.index("TaskStarted") + 1 : types.index("TaskSucceeded") + 1] == [
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    submitted = next(e for e in history if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]
    assert "MessageId" in json.loads(submitted["output"])


async def test_wait_for_task_token_through_sns_to_sqs(engine: Engine, boto: Callable[[str], Any]) -> None:
    sqs, sns = boto("sqs"), boto("sns")
    queue = sqs.create_queue(QueueName=unique("sub"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name=unique("topic"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    definition = task(
        SNS_PUBLISH + ".waitForTaskToken", {"TopicArn": topic, "Message": {"token.$": "$$.Task.Token"}}
    )
    machine = await engine.create_state_machine(unique("sns"), definition)
    started = await engine.start_execution(machine.arn, {})

    def receive() -> str:
        for _ in range(50):
            got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")
            if got:
                return str(json.loads(got[0]["Body"])["token"])
        raise AssertionError("no message")

    token = await asyncio.to_thread(receive)
    await engine.send_task_failure(token, error="Order.Refused", cause="out of stock")
    done = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)
    assert (done.error, done.cause) == ("Order.Refused", "out of stock")


async def test_lambda_invoke_and_function_arns(
    engine: Engine, endpoint: str, boto: Callable[[str], Any]
) -> None:
    # moto runs Lambda code only in docker; without it, a function answers with the event it got,
    # which is enough for the request and result shapes
    configure(endpoint, {"lambda": {"use_docker": False}})
    role = boto("iam").create_role(RoleName=unique("r"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = boto("lambda").create_function(
        FunctionName=unique("fn"),
        Runtime="python3.12",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )["FunctionArn"]
    done = await run(
        engine, task("arn:aws:states:::lambda:invoke", {"FunctionName": arn, "Payload": {"x": 1}})
    )
    assert done.succeeded, (done.error, done.cause)
    out = done.output
    assert out["Payload"] == {"x": 1} and out["StatusCode"] == 200
    assert {"SdkHttpMetadata", "SdkResponseMetadata"} <= set(out)  # moto sends no X-Amz-Executed-Version
    legacy = await run(engine, task(arn), {"y": [1, 2]})
    assert legacy.output == {"y": [1, 2]}
    # moto's docker-less Lambda answers even for a function that does not exist, so the
    # Lambda.ResourceNotFoundException shape is checked in test_names.py
