"""The optimized integrations: ``sqs:sendMessage``, ``sns:publish``, ``dynamodb:*Item``,
``events:putEvents``, ``lambda:invoke`` and Lambda function ARNs.

Their results are what AWS records: the service's response with ``SdkHttpMetadata`` and
``SdkResponseMetadata`` (SQS, SNS, DynamoDB, Lambda; not EventBridge), the Lambda ``Payload``
parsed as JSON. Message bodies that are not strings are sent as their JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable import TaskFailed

from .calls import call, http_metadata, json_text

__all__ = ["OPTIMIZED_ACTIONS", "Optimized", "invoke_function", "run_optimized"]


@dataclass(frozen=True, slots=True)
class Optimized:
    service: str  # boto3 client name
    operation: str
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    metadata: bool = True


def _message_body(args: dict[str, Any]) -> dict[str, Any]:
    if args.get("MessageBody") is not None:
        args["MessageBody"] = json_text(args["MessageBody"])
    else:
        args.pop("MessageBody", None)
    return args


def _message(args: dict[str, Any]) -> dict[str, Any]:
    if args.get("Message") is not None:
        args["Message"] = json_text(args["Message"])
    return args


def _entries(args: dict[str, Any]) -> dict[str, Any]:
    for entry in args.get("Entries") or []:
        if isinstance(entry, dict) and entry.get("Detail") is not None:
            entry["Detail"] = json_text(entry["Detail"])
    return args


#: ``service:action`` of the resource -> how to call it
OPTIMIZED_ACTIONS: dict[str, Optimized] = {
    "sqs:sendMessage": Optimized("sqs", "SendMessage", _message_body),
    "sns:publish": Optimized("sns", "Publish", _message),
    "dynamodb:getItem": Optimized("dynamodb", "GetItem"),
    "dynamodb:putItem": Optimized("dynamodb", "PutItem"),
    "dynamodb:updateItem": Optimized("dynamodb", "UpdateItem"),
    "dynamodb:deleteItem": Optimized("dynamodb", "DeleteItem"),
    "events:putEvents": Optimized("events", "PutEvents", _entries, metadata=False),
}


def run_optimized(client: Any, spec: Optimized, payload: Any) -> dict[str, Any]:
    done = call(client, spec.operation, payload, optimized=spec.service, prepare=spec.prepare)
    result = done.rendered
    if spec.service == "events" and result.get("FailedEntryCount"):
        # AWS fails the task when an entry failed: EventBridge.FailedEntry, the response as cause
        raise TaskFailed("EventBridge.FailedEntry", json.dumps(result, separators=(",", ":")))
    if spec.metadata:
        result.update(http_metadata(done.raw))
    return result


def _lambda_payload(args: dict[str, Any]) -> dict[str, Any]:
    payload = args.get("Payload")
    if isinstance(payload, bytes):
        return args
    args["Payload"] = json_text(payload if payload is not None else {}).encode()
    return args


def invoke_function(client: Any, payload: Any, *, legacy: str | None = None) -> Any:
    """``lambda:invoke`` (``legacy=None``): the Invoke result with metadata and the parsed Payload;
    a Lambda function ARN (``legacy`` = the ARN): only the function's result. A function error fails
    the task with the function's ``errorType`` and its error document as the cause."""
    if legacy is not None:
        params: Any = {"FunctionName": legacy, "Payload": json_text(payload).encode()}
    else:
        params = payload
    done = call(client, "Invoke", params, optimized="lambda", prepare=_lambda_payload)
    text = done.rendered.get("Payload")
    text = text if isinstance(text, str) else ""
    value = _parse(text)
    if done.raw.get("FunctionError"):
        error = value.get("errorType") if isinstance(value, dict) else None
        raise TaskFailed(error if isinstance(error, str) and error else "Lambda.Unknown", text)
    if legacy is not None:
        return value
    result = dict(done.rendered)
    result["Payload"] = value
    result.update(http_metadata(done.raw))
    return result


def _parse(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
