"""Nested executions: ``arn:aws:states:::states:startExecution`` (and ``.sync``, ``.sync:2``,
``.waitForTaskToken``) and the Step Functions SDK integration ``aws-sdk:sfn:*``, run by this engine.

A Task that starts an execution starts a child of this engine (Standard or Express). The shapes
are AWS's: the request-response result is the StartExecution response (``ExecutionArn``,
``StartDate`` in epoch milliseconds, and the ``SdkHttpMetadata``/``SdkResponseMetadata`` AWS adds
to its optimized integrations); ``.sync`` ends with the DescribeExecution of the child, its
``Input``/``Output`` as JSON text (``.sync:2``: as JSON values); a child that does not succeed
fails the task with ``States.TaskFailed`` and that description (with the child's ``Error`` and
``Cause``) as the cause. ``.sync`` follows the child as a job (:mod:`durable.runtime.jobs`): the
child's ARN is recorded before the parent waits, stopping the parent (or its task timing out)
stops the child, and after a restart the parent waits for the same child. A child the task names
without ``Name`` gets a name derived from the task attempt, so a task re-run after a crash finds
the child it started rather than starting a second one.

Hand-written because the shapes are Step Functions' own, and the executions are this engine's.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from ..errors import DurableError, ExecutionAlreadyExists, TaskFailed
from ..integrations.base import TaskRequest
from ..interpreter import failure as F
from ..interpreter.context import iso_time
from ..interpreter.failure import StatesFailure
from .models import Execution, ExecutionStatus, epoch

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["NestedExecutions"]

_OPTIMIZED = re.compile(r"^arn:[\w-]+:states:::states:startExecution(?:\.sync(?::2)?|\.waitForTaskToken)?$")
_SDK = re.compile(r"^arn:[\w-]+:states:::aws-sdk:sfn:([A-Za-z]+)(?:\.waitForTaskToken)?$")

# DurableError codes -> the exception names of the Step Functions API
_API_EXCEPTIONS = {
    "InvalidToken": "InvalidTokenException",
    "TaskDoesNotExist": "TaskDoesNotExistException",
    "TaskTimedOut": "TaskTimedOutException",
    "StateMachineDoesNotExist": "StateMachineDoesNotExistException",
    "ExecutionDoesNotExist": "ExecutionDoesNotExistException",
    "ExecutionAlreadyExists": "ExecutionAlreadyExistsException",
    "InvalidExecutionInput": "InvalidExecutionInputException",
    "InvalidArn": "InvalidArnException",
    "InvalidName": "InvalidNameException",
    "InvalidOutput": "InvalidOutputException",
    "ExecutionNotRedrivable": "ExecutionNotRedrivableException",
    "StateMachineTypeNotSupported": "StateMachineTypeNotSupportedException",
    "ValidationException": "ValidationException",
}
# the API's messages where they differ from the engine's (as AWS records them)
_API_MESSAGES = {"Invalid token": "Invalid Token: 'Invalid token'"}


def _millis(date: datetime) -> int:
    return round(epoch(date) * 1000)


def _http_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """``SdkHttpMetadata``/``SdkResponseMetadata`` as AWS's optimized integrations add them."""
    request_id = str(uuid.uuid4())
    length = str(len(json.dumps(body, separators=(",", ":")).encode()))
    date = formatdate(usegmt=True)
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "connection": ["keep-alive"],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/x-amz-json-1.0",
                "Date": date,
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def _input_text(value: Any) -> str:
    """The child's input: a string is the input's JSON text, anything else is encoded."""
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class NestedExecutions:
    """Runs ``states:startExecution`` and ``aws-sdk:sfn:*`` tasks against this engine."""

    name = "states"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def handles(self, resource: str) -> bool:
        return bool(_OPTIMIZED.match(resource) or _SDK.match(resource))

    # -- the contract -----------------------------------------------------------------------------
    async def invoke(self, request: TaskRequest) -> Any:
        sdk = _SDK.match(request.resource)
        payload = request.payload if isinstance(request.payload, dict) else {}
        if sdk is not None:
            return await self._sdk(sdk.group(1), payload)
        try:
            started = await self._start(payload, request)
        except DurableError as exc:
            raise _failure("StepFunctions", exc) from None
        body = {"executionArn": started.execution_arn, "startDate": epoch(started.start_date)}
        return {
            "ExecutionArn": started.execution_arn,
            **_http_metadata(body),
            "StartDate": _millis(started.start_date),
        }

    async def poll(self, request: TaskRequest, submitted: Any) -> Any:
        """Wait for the child to end (a completion callback, no polling)."""
        arn = submitted.get("ExecutionArn") if isinstance(submitted, dict) else None
        if not isinstance(arn, str):
            raise StatesFailure(F.RUNTIME, "The submitted execution has no ExecutionArn")
        child = await self.engine.wait_for_execution(arn)
        parsed = request.pattern == "sync:2"
        described = self._described(child, parsed)
        if child.status is ExecutionStatus.SUCCEEDED:
            return described
        if child.error is not None:
            described["Error"] = child.error
        if child.cause is not None:
            described["Cause"] = child.cause
        raise TaskFailed(F.TASK_FAILED, json.dumps(dict(sorted(described.items())), separators=(",", ":")))

    async def cancel(self, request: TaskRequest, submitted: Any) -> None:
        arn = submitted.get("ExecutionArn") if isinstance(submitted, dict) else None
        if not isinstance(arn, str):
            return
        child = await self.engine.describe_execution(arn)
        if child.status is ExecutionStatus.RUNNING:
            try:
                await self.engine.stop_execution(arn)
            except DurableError:
                pass  # it ended meanwhile, or it is Express (AWS cannot stop those either)

    # -- starting -----------------------------------------------------------------------------------
    async def _start(self, payload: dict[str, Any], request: TaskRequest | None) -> Execution:
        machine = payload.get("StateMachineArn")
        if not isinstance(machine, str):
            raise StatesFailure(F.RUNTIME, "The field 'StateMachineArn' is required")
        name = payload.get("Name")
        text = _input_text(payload.get("Input"))
        derived = name is None and request is not None and request.idempotency_key is not None
        if derived:
            # the same name for the same task attempt: a re-run after a crash finds its child
            assert request is not None and request.idempotency_key is not None
            name = str(uuid.UUID(request.idempotency_key))
        try:
            return await self.engine.start_execution(machine, input_json=text, name=name)
        except ExecutionAlreadyExists:
            if not derived:
                raise
            # this attempt started it before a crash, and it has ended since: it is the child
            arn = machine.replace(":stateMachine:", ":execution:", 1).split(":")
            existing = await self.engine.describe_execution(":".join(arn[:7]) + f":{name}")
            if existing.input != json.loads(text):
                raise
            return existing

    def _described(self, child: Execution, parsed: bool) -> dict[str, Any]:
        """The child as DescribeExecution shows it, as ``.sync`` tasks return it."""
        text = _input_text(child.input)
        out: dict[str, Any] = {
            "ExecutionArn": child.execution_arn,
            "Input": json.loads(text) if parsed else text,
            "InputDetails": {"Included": True},
            "Name": child.name,
        }
        if child.status is ExecutionStatus.SUCCEEDED:
            output = child.output
            out["Output"] = (
                output if parsed else json.dumps(output, separators=(",", ":"), ensure_ascii=False)
            )
            out["OutputDetails"] = {"Included": True}
        out["RedriveCount"] = child.redrive_count
        if child.status is ExecutionStatus.SUCCEEDED:
            out["RedriveStatus"] = "NOT_REDRIVABLE"
            out["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
        else:
            out["RedriveStatus"] = "REDRIVABLE"
        out["StartDate"] = _millis(child.start_date)
        out["StateMachineArn"] = child.state_machine_arn
        out["Status"] = str(child.status)
        if child.stop_date is not None:
            out["StopDate"] = _millis(child.stop_date)
        return out

    # -- aws-sdk:sfn -----------------------------------------------------------------------------------
    async def _sdk(self, action: str, payload: dict[str, Any]) -> Any:
        engine = self.engine
        try:
            if action == "startExecution":
                started = await self._start(payload, None)
                return {
                    "ExecutionArn": started.execution_arn,
                    "StartDate": iso_time(epoch(started.start_date)),
                }
            if action == "sendTaskSuccess":
                await engine.send_task_success(
                    _str(payload, "TaskToken"), output_json=_str(payload, "Output")
                )
                return {}
            if action == "sendTaskFailure":
                await engine.send_task_failure(
                    _str(payload, "TaskToken"), error=payload.get("Error"), cause=payload.get("Cause")
                )
                return {}
            if action == "sendTaskHeartbeat":
                await engine.send_task_heartbeat(_str(payload, "TaskToken"))
                return {}
            if action == "describeExecution":
                child = await engine.describe_execution(_str(payload, "ExecutionArn"))
                described = self._described(child, parsed=False)
                for key in ("StartDate", "StopDate"):
                    if key in described:
                        described[key] = iso_time(described[key] / 1000)
                return described
            if action == "stopExecution":
                stopped = await engine.stop_execution(
                    _str(payload, "ExecutionArn"), error=payload.get("Error"), cause=payload.get("Cause")
                )
                stop = engine.clock.now() if stopped.stop_date is None else epoch(stopped.stop_date)
                return {"StopDate": iso_time(stop)}
        except DurableError as exc:
            raise _failure("Sfn", exc) from None
        raise StatesFailure(
            F.RUNTIME,
            f"The action '{action}' of aws-sdk:sfn is not run by this engine (supported: startExecution, "
            "describeExecution, stopExecution, sendTaskSuccess, sendTaskFailure, sendTaskHeartbeat)",
        )


def _str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise StatesFailure(F.RUNTIME, f"The field '{key}' is required and must be a string")
    return value


def _failure(service: str, exc: DurableError) -> TaskFailed:
    """An API error as the integration reports it: ``<Service>.<Exception>`` and AWS's cause."""
    name = _API_EXCEPTIONS.get(exc.code, exc.code)
    message = _API_MESSAGES.get(exc.message, exc.message)
    cause = f"{message} (Service: {service}, Status Code: 400, Request ID: {uuid.uuid4()})" + (
        " (SDK Attempt Count: 1)" if service == "Sfn" else ""
    )
    return TaskFailed(f"{service}.{name}", cause)
