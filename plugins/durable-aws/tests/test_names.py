"""Which resources the plugin claims, and the names AWS gives services and errors (no server)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from durable_aws import AwsIntegration
from durable_aws.errors import optimized_error, sdk_error
from durable_aws.naming import _service_id_index, boto3_service, java_v2_service_name, operation_name


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:states:::aws-sdk:ec2:describeInstances",
        "arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken",
        "arn:aws:states:::sqs:sendMessage",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::sns:publish.waitForTaskToken",
        "arn:aws:states:::dynamodb:updateItem",
        "arn:aws:states:::events:putEvents.waitForTaskToken",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:lambda:us-west-2:123456789012:function:my-fn",
        "arn:aws:lambda:us-west-2:123456789012:function:my-fn:$LATEST",
        "arn:aws:states:us-west-2::sqs:sendMessage",
    ],
)
def test_claimed(resource: str) -> None:
    assert AwsIntegration().handles(resource)


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::http:invoke",
        "arn:aws:states:us-east-1:123456789012:activity:work",
        "arn:aws:states:::aws-sdk:sfn:startExecution",  # the core's local Step Functions API
        "arn:aws:states:::states:startExecution",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::aws-sdk:s3:getObject.sync",
        "arn:aws:states:::dynamodb:getItem.sync",
        "arn:aws:states:::sqs:receiveMessage",
        "arn:aws:states:::mycompany-billing:charge",
    ],
)
def test_not_claimed(resource: str) -> None:
    assert not AwsIntegration().handles(resource)


def test_remote_states_claims_step_functions() -> None:
    aws = AwsIntegration(remote_states=True)
    assert aws.handles("arn:aws:states:::aws-sdk:sfn:startExecution")
    assert aws.handles("arn:aws:states:::states:startExecution.sync")


def test_sdk_service_names_map_to_boto3_clients() -> None:
    expected = {
        "sfn": "stepfunctions",
        "eventbridge": "events",
        "cloudwatchlogs": "logs",
        "cloudwatch": "cloudwatch",
        "apigatewayv2": "apigatewayv2",
        "secretsmanager": "secretsmanager",
        "acmpca": "acm-pca",
        "s3": "s3",
        "dynamodb": "dynamodb",
        "lambda": "lambda",
        "ec2": "ec2",
        "sts": "sts",
    }
    assert {name: boto3_service(name) for name in expected} == expected


def test_the_fast_names_agree_with_botocore_service_ids() -> None:
    index = _service_id_index()  # loads every botocore model once
    for name in ("sfn", "eventbridge", "cloudwatchlogs", "cognitoidentityprovider", "elasticloadbalancingv2"):
        assert index[name] == boto3_service(name), name


def test_actions_map_to_operations() -> None:
    s3 = botocore.session.get_session().get_service_model("s3")
    assert operation_name(s3, "getObject") == "GetObject"
    assert operation_name(s3, "putBucketAcl") == "PutBucketAcl"
    assert operation_name(s3, "noSuchThing") is None


@pytest.mark.parametrize(
    ("service_id", "java"),
    [
        ("DynamoDB", "DynamoDb"),
        ("SFN", "Sfn"),
        ("Secrets Manager", "SecretsManager"),
        ("S3", "S3"),
        ("EC2", "Ec2"),
        ("ACM PCA", "AcmPca"),
        ("CloudWatch Logs", "CloudWatchLogs"),
        ("ApiGatewayV2", "ApiGatewayV2"),
    ],
)
def test_java_service_names(service_id: str, java: str) -> None:
    assert java_v2_service_name(service_id) == java


def client_error(
    code: str, message: str, status: int, headers: dict[str, str] | None = None, query: str | None = None
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message, **({"QueryErrorCode": query} if query else {})},
        "ResponseMetadata": {
            "RequestId": "req-1",
            "HTTPStatusCode": status,
            "HTTPHeaders": headers or {},
            "RetryAttempts": 0,
        },
    }
    return ClientError(response, "Op")


def model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def test_sdk_error_names_and_causes() -> None:
    # the spellings AWS recorded (conformance corpus, test_aws_sdk.py)
    no_key = sdk_error(
        model("s3"),
        client_error("NoSuchKey", "The specified key does not exist.", 404, {"x-amz-id-2": "ext"}),
    )
    assert no_key.error == "S3.NoSuchKeyException"
    assert no_key.cause == (
        "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: req-1, "
        "Extended Request ID: ext) (SDK Attempt Count: 1)"
    )
    table = sdk_error(
        model("dynamodb"), client_error("ResourceNotFoundException", "Requested resource not found", 400)
    )
    assert table.error == "DynamoDb.ResourceNotFoundException"
    undeclared = sdk_error(model("secretsmanager"), client_error("ValidationException", "Invalid name.", 400))
    assert undeclared.error == "SecretsManager.SecretsManagerException"
    token = sdk_error(
        model("stepfunctions"), client_error("InvalidToken", "Invalid Token: 'Invalid token'", 400)
    )
    assert token.error == "Sfn.InvalidTokenException"
    assert (
        token.cause == "Invalid Token: 'Invalid token' (Service: Sfn, Status Code: 400, Request ID: req-1)"
        " (SDK Attempt Count: 1)"
    )


def test_optimized_error_names_and_causes() -> None:
    missing = optimized_error(
        "lambda", model("lambda"), client_error("ResourceNotFoundException", "Function not found: x", 404)
    )
    assert missing.error == "Lambda.ResourceNotFoundException"
    assert missing.cause == (
        "Function not found: x (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
        "Request ID: req-1; Proxy: null)"
    )
    body = optimized_error(
        "sqs",
        model("sqs"),
        client_error("MissingParameter", "The request must contain the parameter MessageBody.", 400),
    )
    assert body.error == "SQS.AmazonSQSException"
    queue = optimized_error(
        "sqs",
        model("sqs"),
        client_error("AWS.SimpleQueueService.NonExistentQueue", "gone", 400, query="QueueDoesNotExist"),
    )
    assert queue.error == "SQS.QueueDoesNotExistException"
    invalid = optimized_error(
        "dynamodb", model("dynamodb"), client_error("ValidationException", "1 validation error", 400)
    )
    assert invalid.error == "DynamoDB.AmazonDynamoDBException"
    assert "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException;" in (
        invalid.cause or ""
    )
    topic = optimized_error("sns", model("sns"), client_error("NotFound", "Topic does not exist", 404))
    assert topic.error == "SNS.NotFoundException"
