"""AWS errors as Step Functions names them.

Two families, because AWS runs them on two generations of its Java SDK:

* **SDK integrations** (``aws-sdk:<service>:<action>``, AWS SDK for Java 2.x): the error is
  ``<Service>.<Exception>`` with the Java 2.x service name (``DynamoDb``, ``S3``, ``Sfn``,
  ``SecretsManager``) and the modeled exception class (``S3.NoSuchKeyException``; an error the model
  does not declare is ``<Service>Exception``, e.g. ``SecretsManager.SecretsManagerException``). The
  cause is ``<message> (Service: <Service>, Status Code: <n>, Request ID: <id>)``, S3 adding
  ``, Extended Request ID: <id2>``; current recordings end with `` (SDK Attempt Count: <n>)``.
  Source: the AWS-recorded conformance cases (``test_aws_sdk.py``: DynamoDb.ResourceNotFoundException,
  S3.NoSuchBucketException, S3.NoSuchKeyException, SecretsManager.SecretsManagerException;
  ``test_aws_sdk_task_service.py``: Sfn.InvalidTokenException with the attempt count, recorded
  2025-11) and the Step Functions guide, "Handling errors in AWS SDK integrations" (always the
  ``Exception`` suffix).
* **Optimized integrations** (``sqs:sendMessage``, ``dynamodb:putItem``, ``lambda:invoke``, ...,
  AWS SDK for Java 1.x): ``<PREFIX>.<Exception>`` with the prefix of :data:`OPTIMIZED` and the
  modeled exception, or the client's base exception (``DynamoDB.AmazonDynamoDBException``) for an
  undeclared error; the cause is ``<message> (Service: <client>; Status Code: <n>; Error Code:
  <code>; Request ID: <id>; Proxy: null)``.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import ServiceModel

from durable import TaskFailed

from .naming import java_v2_service_name, modeled_exception

__all__ = ["OPTIMIZED", "optimized_error", "sdk_error"]

#: boto3 service -> (error prefix, Java 1.x client name in causes, Java 1.x base exception).
#: Recorded by AWS (conformance corpus): SQS (SQS.AmazonSQSException, "AmazonSQS"), SNS
#: (SNS.NotFoundException, "AmazonSNS"), DynamoDB (DynamoDB.AmazonDynamoDBException,
#: "AmazonDynamoDBv2"), Lambda (Lambda.ResourceNotFoundException, "AWSLambda"), EventBridge
#: (EventBridge.FailedEntry). The job services follow the same rule with their Java 1.x client
#: names (AWSBatch, AWSGlue, AmazonECS, AmazonAthena, AmazonSageMaker, AWSCodeBuild,
#: AWSStepFunctions) - not recorded in the corpus.
OPTIMIZED: dict[str, tuple[str, str, str]] = {
    "sqs": ("SQS", "AmazonSQS", "AmazonSQSException"),
    "sns": ("SNS", "AmazonSNS", "AmazonSNSException"),
    "dynamodb": ("DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException"),
    "lambda": ("Lambda", "AWSLambda", "AWSLambdaException"),
    "events": ("EventBridge", "AmazonEventBridge", "AmazonEventBridgeException"),
    "batch": ("Batch", "AWSBatch", "AWSBatchException"),
    "glue": ("Glue", "AWSGlue", "AWSGlueException"),
    "ecs": ("ECS", "AmazonECS", "AmazonECSException"),
    "athena": ("Athena", "AmazonAthena", "AmazonAthenaException"),
    "sagemaker": ("SageMaker", "AmazonSageMaker", "AmazonSageMakerException"),
    "codebuild": ("CodeBuild", "AWSCodeBuild", "AWSCodeBuildException"),
    "stepfunctions": ("StepFunctions", "AWSStepFunctions", "AWSStepFunctionsException"),
}


# a HEAD response has no body, so no error code: the AWS SDK for Java 2.x names these by status
_BODILESS = {("HeadObject", "404"): "NoSuchKey", ("HeadBucket", "404"): "NoSuchBucket"}


def _exception(model: ServiceModel, error: ClientError, code: str) -> str | None:
    bodiless = _BODILESS.get((getattr(error, "operation_name", ""), code))
    if bodiless is not None:
        code = bodiless
    # a service that moved from the query protocol (SQS) reports its old code (Code:
    # AWS.SimpleQueueService.NonExistentQueue) and botocore keeps the modeled one in QueryErrorCode
    modeled = error.response.get("Error", {}).get("QueryErrorCode")
    return (modeled and modeled_exception(model, str(modeled))) or modeled_exception(model, code)


def _parts(error: ClientError) -> tuple[str, str, int, str, dict[str, Any], int]:
    response: dict[str, Any] = error.response
    detail = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    headers = meta.get("HTTPHeaders", {}) or {}
    return (
        str(detail.get("Code", "Unknown")),
        str(detail.get("Message", "") or ""),
        int(meta.get("HTTPStatusCode", 0) or 0),
        str(meta.get("RequestId", "") or headers.get("x-amzn-requestid", "")),
        headers,
        int(meta.get("RetryAttempts", 0) or 0) + 1,
    )


def sdk_error(model: ServiceModel, error: Exception) -> TaskFailed:
    """A failed ``aws-sdk:`` call as the TaskFailed Step Functions reports."""
    service = java_v2_service_name(model.service_id)
    if not isinstance(error, ClientError):
        return TaskFailed(f"{service}.SdkClientException", _client_side(error))
    code, message, status, request_id, headers, attempts = _parts(error)
    name = _exception(model, error, code) or f"{service}Exception"
    detail = f"Service: {service}, Status Code: {status}, Request ID: {request_id}"
    if "x-amz-id-2" in headers:
        detail += f", Extended Request ID: {headers['x-amz-id-2']}"
    return TaskFailed(f"{service}.{name}", f"{message} ({detail}) (SDK Attempt Count: {attempts})")


def optimized_error(service: str, model: ServiceModel, error: Exception) -> TaskFailed:
    """A failed optimized-integration call as the TaskFailed Step Functions reports."""
    prefix, client, base = OPTIMIZED[service]
    if not isinstance(error, ClientError):
        return TaskFailed(f"{prefix}.SdkClientException", _client_side(error))
    code, message, status, request_id, _, _ = _parts(error)
    name = _exception(model, error, code) or base
    cause = (
        f"{message} (Service: {client}; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {request_id}; Proxy: null)"
    )
    return TaskFailed(f"{prefix}.{name}", cause)


def _client_side(error: Exception) -> str:
    if isinstance(error, BotoCoreError):
        return str(error)
    return f"{type(error).__name__}: {error}"
