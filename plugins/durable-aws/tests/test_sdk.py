"""``arn:aws:states:::aws-sdk:<service>:<action>`` against moto, through a real Engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_helpers import fake_session, run, task, unique
from durable_aws import AwsIntegration
from durable_aws.testing import moto_server

from durable import Engine

SDK = "arn:aws:states:::aws-sdk:"


@pytest.mark.parametrize(
    ("body", "stored"),
    [("text data", b"text data"), ({"Dict": "Value"}, b'{"Dict":"Value"}'), (0, b"0"), (False, b"false")],
)
async def test_s3_put_object_takes_any_json_body(
    engine: Engine, boto: Callable[[str], Any], body: Any, stored: bytes
) -> None:
    bucket = unique("bucket")
    boto("s3").create_bucket(Bucket=bucket)
    done = await run(
        engine, task(SDK + "s3:putObject", {"Bucket": bucket, "Key": "k", "Body.$": "$.body"}), {"body": body}
    )
    assert done.succeeded, (done.error, done.cause)
    assert done.output["ETag"] == f'"{hashlib.md5(stored).hexdigest()}"'  # what AWS recorded for these
    assert "ResponseMetadata" not in done.output
    assert boto("s3").get_object(Bucket=bucket, Key="k")["Body"].read() == stored


async def test_s3_get_object_returns_the_body_as_text(engine: Engine, boto: Callable[[str], Any]) -> None:
    bucket = unique("bucket")
    boto("s3").create_bucket(Bucket=bucket)
    boto("s3").put_object(Bucket=bucket, Key="file_key", Body=b"text data")
    done = await run(engine, task(SDK + "s3:getObject", {"Bucket": bucket, "Key": "file_key"}))
    assert done.succeeded, (done.error, done.cause)
    out = done.output
    assert out["Body"] == "text data" and out["ContentLength"] == 9
    assert out["ETag"] == '"332eec544317a6d340b8e77da7fe54ad"'  # as recorded by AWS
    assert isinstance(out["LastModified"], str) and out["LastModified"].endswith("Z")


async def test_sdk_errors_are_caught_by_their_aws_names(engine: Engine, boto: Callable[[str], Any]) -> None:
    bucket = unique("bucket")
    boto("s3").create_bucket(Bucket=bucket)
    definition = {
        "StartAt": "List",
        "States": {
            "List": {
                "Type": "Task",
                "Resource": SDK + "s3:listObjects",
                "Parameters": {"Bucket": "no-such-bucket-x1"},
                "Catch": [
                    {"ErrorEquals": ["S3.NoSuchBucketException"], "ResultPath": "$.bucket", "Next": "Get"}
                ],
                "End": True,
            },
            "Get": {
                "Type": "Task",
                "Resource": SDK + "s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "nope"},
                "Catch": [
                    {"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.key", "Next": "Secret"}
                ],
                "End": True,
            },
            "Secret": {
                "Type": "Task",
                "Resource": SDK + "secretsmanager:getSecretValue",
                "Parameters": {"SecretId": "no-such-secret"},
                "Catch": [
                    {
                        "ErrorEquals": ["SecretsManager.ResourceNotFoundException"],
                        "ResultPath": "$.secret",
                        "Next": "Table",
                    }
                ],
                "End": True,
            },
            "Table": {
                "Type": "Task",
                "Resource": SDK + "dynamodb:putItem",
                "Parameters": {"TableName": "no_such_table", "Item": {"id": {"S": "1"}}},
                "End": True,
            },
        },
    }
    done = await run(engine, definition)
    assert done.error == "DynamoDb.ResourceNotFoundException"
    assert done.cause and done.cause.startswith(
        "Requested resource not found (Service: DynamoDb, Status Code: 400, "
    )
    assert done.cause.endswith(") (SDK Attempt Count: 1)")
    history = await engine.get_execution_history(done.execution_arn)
    caught = [e["type"] for e in history if e["type"] == "TaskFailed"]
    assert len(caught) == 4
    exited = [e["stateExitedEventDetails"] for e in history if e["type"] == "TaskStateExited"]
    data = json.loads(exited[-1]["output"])
    assert data["bucket"]["Error"] == "S3.NoSuchBucketException"
    assert data["bucket"]["Cause"].startswith(
        "The specified bucket does not exist (Service: S3, Status Code: 404, "
    )
    assert data["key"]["Error"] == "S3.NoSuchKeyException"
    assert data["secret"]["Error"] == "SecretsManager.ResourceNotFoundException"


async def test_camel_case_apis_take_and_give_pascal_case(engine: Engine, boto: Callable[[str], Any]) -> None:
    # ECS's wire names are camelCase; Step Functions spells them in PascalCase both ways
    name = unique("cluster")
    done = await run(
        engine, task(SDK + "ecs:createCluster", {"ClusterName": name, "Tags": [{"Key": "k", "Value": "v"}]})
    )
    assert done.succeeded, (done.error, done.cause)
    assert done.output["Cluster"]["ClusterName"] == name
    assert done.output["Cluster"]["Status"] == "ACTIVE"
    assert boto("ecs").describe_clusters(clusters=[name])["clusters"][0]["clusterName"] == name


async def test_renamed_services_and_unknown_actions(engine: Engine) -> None:
    done = await run(engine, task(SDK + "cloudwatchlogs:describeLogGroups", {}))
    assert done.succeeded, (done.error, done.cause)
    assert done.output["LogGroups"] == [] or isinstance(done.output["LogGroups"], list)
    bad = await run(engine, task(SDK + "s3:noSuchAction", {}))
    assert bad.error == "States.Runtime" and "noSuchAction" in (bad.cause or "")


async def test_credentials_role_arn_assumes_the_role(endpoint: str, boto: Callable[[str], Any]) -> None:
    role = boto("iam").create_role(RoleName=unique("role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws = AwsIntegration(endpoint_url=endpoint, region="us-east-1", session=fake_session())
    async with Engine(load_plugins=False) as engine:
        engine.add_integration(aws)
        done = await run(engine, task(SDK + "sts:getCallerIdentity", {}, Credentials={"RoleArn": role}))
        again = await run(engine, task(SDK + "sts:getCallerIdentity", {}, Credentials={"RoleArn": role}))
    assert done.succeeded, (done.error, done.cause)
    assert ":assumed-role/" in done.output["Arn"] and done.output["Arn"].endswith("/durable")
    assert again.output == done.output
    assert len(aws.clients._assumed) == 1  # assumed once, cached until shortly before expiry


async def test_endpoints_per_service(boto: Callable[[str], Any]) -> None:
    # a second moto server: sqs goes there, everything else to the first (unreachable here)
    with moto_server() as other:
        aws = AwsIntegration(
            endpoint_url="http://127.0.0.1:1",
            endpoints={"sqs": other},
            region="us-east-1",
            session=fake_session(),
        )
        async with Engine(load_plugins=False) as engine:
            engine.add_integration(aws)
            done = await run(engine, task(SDK + "sqs:createQueue", {"QueueName": "elsewhere"}))
        assert done.succeeded, (done.error, done.cause)
        assert done.output["QueueUrl"].startswith(other)
