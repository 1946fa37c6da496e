"""Built-in integration: local Python callables as Lambda functions.

A function registered under ``NAME`` answers ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q]``
(the legacy Lambda resource: the result is the function's return value) and
``arn:aws:states:::lambda:invoke`` with ``FunctionName``/``Payload`` (the result is the
Lambda Invoke shape ``{"Payload": ..., "StatusCode": 200, ...}``), so definitions written
for AWS run unchanged.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal

import msgspec

from ..errors import TaskFailed
from ..interpreter.failure import StatesFailure
from .base import TaskContext, TaskRequest
from .threads import DaemonPool

__all__ = ["ErrorFormat", "FunctionIntegration", "function_name"]

ErrorFormat = Literal["message", "lambda"]

_LAMBDA_ARN = re.compile(r"^arn:[\w-]+:lambda:([\w-]+):(\d{12}):function:([^:]+)(?::([^:]+))?$")
_PARTIAL = re.compile(r"^(?:(\d{12}):)?(?:function:)?([^:]+)(?::([^:]+))?$")
_INVOKE = re.compile(r"^arn:[\w-]+:states:::lambda:invoke(?:\.waitForTaskToken)?$")
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


def function_name(reference: str) -> str | None:
    """``NAME`` from a function name, a partial ARN or a full Lambda function ARN."""
    m = _LAMBDA_ARN.match(reference)
    if m:
        return m.group(3)
    m = _PARTIAL.match(reference)
    return m.group(2) if m else None


@dataclass(frozen=True, slots=True)
class _Function:
    fn: Callable[..., Any]
    is_async: bool
    blocking: bool
    error_format: ErrorFormat


class FunctionIntegration:
    """Registry of local functions (sync or async ``fn(event, context)``)."""

    name = "functions"

    def __init__(self) -> None:
        self._functions: dict[str, _Function] = {}
        self.threads = DaemonPool()

    def register(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        blocking: bool = True,
        error_format: ErrorFormat = "message",
    ) -> None:
        """Register ``fn`` under ``name`` (a plain name or a Lambda function ARN).

        Sync functions run in a worker thread unless ``blocking=False`` says they never
        block (then they run inline, which is much faster). ``error_format="lambda"`` makes
        an exception's cause the JSON document AWS Lambda reports (errorMessage, errorType,
        requestId, stackTrace) instead of the plain message.
        """
        key = function_name(name)
        if key is None:
            raise ValueError(f"Not a function name or Lambda function ARN: {name!r}")
        self._functions[key] = _Function(fn, inspect.iscoroutinefunction(fn), blocking, error_format)

    def __contains__(self, name: str) -> bool:
        key = function_name(name)
        return key is not None and key in self._functions

    def handles(self, resource: str) -> bool:
        return bool(_LAMBDA_ARN.match(resource) or _INVOKE.match(resource))

    def declines(self, resource: str, payload: Any) -> bool:
        """True when the function the task calls is not registered here: a plugin that handles
        Lambda (``durable-aws``: real AWS Lambda) may run it instead."""
        if _INVOKE.match(resource):
            reference = payload.get("FunctionName") if isinstance(payload, dict) else None
            return not (isinstance(reference, str) and reference in self)
        return resource not in self

    async def invoke(self, request: TaskRequest) -> Any:
        resource = request.resource
        if _INVOKE.match(resource):
            payload = request.payload if isinstance(request.payload, dict) else {}
            reference = payload.get("FunctionName")
            if not isinstance(reference, str):
                raise StatesFailure(
                    "States.Runtime",
                    "The field 'FunctionName' is required for arn:aws:states:::lambda:invoke",
                )
            event = payload.get("Payload")
            if event is None:
                event = {}
            elif isinstance(event, str):
                event = _decode(event.encode())  # a string Payload is sent as the request body
            value, request_id = await self._call(reference, event, request, compact_errors=True)
            return _invoke_shape(_encode(value), request_id, payload.get("LogType") == "Tail")
        value, _ = await self._call(resource, request.payload, request, compact_errors=False)
        return _marshalled(value)

    async def _call(
        self, reference: str, event: Any, request: TaskRequest, *, compact_errors: bool
    ) -> tuple[Any, str]:
        """The function's return value (as it returned it) and the request id."""
        name = function_name(reference) or reference
        request_id = str(uuid.uuid4())
        event = _copy(event)  # a Lambda receives its own copy of the event
        entry = self._functions.get(name)
        if entry is None:
            arn = f"arn:aws:lambda:{request.region}:{request.account}:function:{name}"
            raise StatesFailure(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn}:$LATEST "
                f"(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
                f"Request ID: {request_id}; Proxy: null)",
            )
        context = TaskContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{request.region}:{request.account}:function:{name}",
            aws_request_id=request_id,
            execution_arn=request.execution_arn,
            state_name=request.state_name,
            task_token=request.task_token,
        )
        if entry.is_async:
            try:
                outcome: tuple[bool, Any] = (True, await entry.fn(event, context))
            except Exception as exc:  # user code: any exception is an ASL error
                outcome = (False, exc)
        elif entry.blocking:
            outcome = await self.threads.run(_guarded, entry.fn, event, context)
        else:
            outcome = _guarded(entry.fn, event, context)
        ok, value = outcome
        if not ok:
            if isinstance(value, TaskFailed):
                raise StatesFailure(value.error, value.cause)
            if isinstance(value, StatesFailure):
                raise value
            raise _failure(value, entry.error_format, request_id, compact_errors)
        return value, request_id


def _guarded(fn: Callable[..., Any], event: Any, context: TaskContext) -> tuple[bool, Any]:
    """Call user code, returning its exception instead of raising it (keeps its traceback short)."""
    try:
        return True, fn(event, context)
    except Exception as exc:
        return False, exc


def _failure(exc: BaseException, error_format: ErrorFormat, request_id: str, compact: bool) -> StatesFailure:
    error = type(exc).__name__
    message = str(exc)
    if error_format == "message":
        return StatesFailure(error, message)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_PACKAGE_DIR)]
    document = {
        "errorMessage": message,
        "errorType": error,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }
    # Lambda's own error body is Python's json.dumps; lambda:invoke re-serializes it compactly.
    cause = json.dumps(document, separators=(",", ":") if compact else None, ensure_ascii=False)
    return StatesFailure(error, cause)


def _copy(value: Any) -> Any:
    try:
        return msgspec.json.decode(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError):
        return value


def _encode(result: Any) -> bytes:
    """What a Lambda function's response body would be: bytes as-is, anything else as JSON."""
    if isinstance(result, (bytes, bytearray)):
        return bytes(result)
    try:
        return json.dumps(result).encode()  # what the Python Lambda runtime sends
    except (TypeError, ValueError) as exc:
        raise StatesFailure("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)  # the same value json.loads makes, when it can
    except (msgspec.DecodeError, ValueError):
        pass
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _marshalled(value: Any) -> Any:
    """``_decode(_encode(value))``: the result as it comes back through Lambda's JSON.

    A result of plain JSON types comes back equal to itself; that is checked with msgspec (an
    encoding, a decoding and a comparison, each in C) rather than made with the standard
    library's encoder. Anything else (a tuple, a non-string key, NaN, a type the Lambda runtime
    cannot marshal, which msgspec would write) takes the standard library's way."""
    if not isinstance(value, (bytes, bytearray)):
        try:
            again = msgspec.json.decode(msgspec.json.encode(value))
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError, msgspec.DecodeError):
            pass
        else:
            if again == value:
                return again
    return _decode(_encode(value))


def _invoke_shape(body: bytes, request_id: str, tail: bool) -> dict[str, Any]:
    date = formatdate(usegmt=True)
    length = str(len(body))
    shape: dict[str, Any] = {
        "ExecutedVersion": "$LATEST",
        "Payload": _decode(body),
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [f"Root=1-{request_id[:8]}-{request_id.replace('-', '')[:24]}"],
                "Content-Type": ["application/json"],
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": f"Root=1-{request_id[:8]}-{request_id.replace('-', '')[:24]}",
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
    if tail:
        log = base64.b64encode(
            f"START RequestId: {request_id} Version: $LATEST\nEND RequestId: {request_id}\n".encode()
        ).decode()
        shape["LogResult"] = log
        shape["SdkHttpMetadata"]["AllHttpHeaders"]["X-Amz-Log-Result"] = [log]
        shape["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Log-Result"] = log
    return shape
