"""The Task state: resources, timeouts, task tokens and activities, and their history events."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from . import failure as F
from .commands import ActivityExists, AwaitJob, AwaitToken, InvokeTask
from .context import Frame
from .data import check_size, compile_template, resolve
from .failure import RuntimeFault, StatesFailure
from .jsonpath import Path, PathMissing, compile_reference_path
from .query import QueryValue, evaluation_failure, states_bindings
from .states import UNTRUNCATED, Lane, WorkState, show_value

if TYPE_CHECKING:
    from .program import Scope

__all__ = ["Task"]

_LAMBDA_PREFIX = ("arn:aws:lambda:", "arn:aws-us-gov:lambda:", "arn:aws-cn:lambda:")
# AWS accepts a service integration ARN that names a region and account
# (arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject, as Workflow Studio
# exports some); the integration is the same as arn:aws:states:::aws-sdk:s3:getObject.
_REGIONAL_INTEGRATION = re.compile(r"^(arn:[\w-]+:states):[a-z0-9-]*:(?:\d{12})?:(?!activity:)")


def canonical_resource(resource: str) -> str:
    """The region- and account-free form of a service integration ARN (others unchanged)."""
    return _REGIONAL_INTEGRATION.sub(r"\1:::", resource, count=1)


class Task(WorkState):
    type_name = "Task"

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.resource: str = canonical_resource(raw["Resource"])
        self.timeout = raw.get("TimeoutSeconds")
        self.heartbeat = raw.get("HeartbeatSeconds")
        self.timeout_q = self.query(raw, "TimeoutSeconds")
        self.heartbeat_q = self.query(raw, "HeartbeatSeconds")
        self.timeout_path = (
            compile_reference_path(raw["TimeoutSecondsPath"]) if "TimeoutSecondsPath" in raw else None
        )
        self.heartbeat_path = (
            compile_reference_path(raw["HeartbeatSecondsPath"]) if "HeartbeatSecondsPath" in raw else None
        )
        self.credentials = (
            compile_template(raw["Credentials"]) if "Credentials" in raw and not self.jsonata else None
        )
        self.credentials_q = self.query(raw, "Credentials")
        # a .sync task has a token too ($$.Task.Token): its job may heartbeat or answer with it
        self.job = self.resource.endswith((".sync", ".sync:2"))
        self.needs_token = (
            self.resource.endswith(".waitForTaskToken") or ":activity:" in self.resource or self.job
        )
        service = re.match(r"^arn:[\w-]+:states:::(?:aws-sdk:)?([\w-]+)[:.]", self.resource)
        self.result_owner = service.group(1) if service else self.resource
        if self.resource.startswith(_LAMBDA_PREFIX):
            self.family = "LambdaFunction"
        elif ":activity:" in self.resource:
            self.family = "Activity"
        else:
            self.family = "Task"
        self.event_key = self.family[0].lower() + self.family[1:]
        # arn:aws:states:::lambda:invoke -> ("lambda", "invoke"); aws-sdk:s3:getObject -> ("aws-sdk:s3", ...)
        parts = self.resource.split(":::", 1)[-1].split(":")
        if parts[0] == "aws-sdk" and len(parts) > 2:
            self.resource_type, self.resource_name = f"aws-sdk:{parts[1]}", ":".join(parts[2:])
        else:
            self.resource_type, self.resource_name = parts[0], ":".join(parts[1:])

    def _seconds(self, literal: Any, path: Path | None, field: str, effective: Any, frame: Frame) -> Any:
        if path is None:
            return literal
        try:
            value = resolve(path, effective, frame)
        except PathMissing as miss:
            raise RuntimeFault(f"Invalid path '{path.text}' : {miss.detail}") from None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise RuntimeFault(
                f"The {field} parameter must be a positive integer: {path.text} == {show_value(value)}"
            )
        return value

    def _jsonata_seconds(self, query: QueryValue | None, bindings: dict[str, Any], frame: Frame) -> Any:
        if query is None:
            return None
        value = query.evaluate(bindings, frame)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise evaluation_failure(
                frame, query.field, f"The {query.field} field must be a positive integer, but was: {value!r}"
            )
        return value

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        if self.needs_token:
            frame.token = ctx.services.task_token()
            frame.invalidate()
        if self.jsonata:
            bindings = states_bindings(frame, data)
            payload = self.arguments_q.evaluate(bindings, frame) if self.arguments_q is not None else data
            timeout = self._jsonata_seconds(self.timeout_q, bindings, frame)
            heartbeat = self._jsonata_seconds(self.heartbeat_q, bindings, frame)
            credentials = (
                self.credentials_q.evaluate(bindings, frame) if self.credentials_q is not None else None
            )
        else:
            payload = self.parameters(effective, frame) if self.parameters is not None else effective
            timeout = self._seconds(self.timeout, self.timeout_path, "TimeoutSecondsPath", effective, frame)
            heartbeat = self._seconds(
                self.heartbeat, self.heartbeat_path, "HeartbeatSecondsPath", effective, frame
            )
            credentials = self.credentials(effective, frame) if self.credentials is not None else None
        family, key = self.family, self.event_key
        if family == "Activity" and not (yield ActivityExists(self.resource)):
            raise RuntimeFault(f"The activity {self.resource} does not exist.")
        recording = ctx.history is not None
        if recording:
            scheduled: dict[str, Any] = (
                {"resource": self.resource, "input": payload, "inputDetails": {"truncated": False}}
                if family != "Task"
                else {
                    "resourceType": self.resource_type,
                    "resource": self.resource_name,
                    "region": ctx.region,
                    "parameters": payload,
                }
            )
            if timeout is not None:
                scheduled["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                scheduled["heartbeatInSeconds"] = heartbeat
            if credentials is not None:
                scheduled["taskCredentials"] = {"roleArn": credentials.get("RoleArn")}
        lane.prev = scheduled_event = ctx.emit(
            f"{family}Scheduled", lane.prev, f"{key}ScheduledEventDetails", scheduled if recording else None
        )
        if family != "Activity":  # an activity is started when a worker takes it
            lane.prev = ctx.emit(
                f"{family}Started",
                lane.prev,
                f"{key}StartedEventDetails",
                self._tag({}) if recording else None,
            )
        try:
            if family == "Activity":
                assert frame.token is not None
                try:
                    result = yield AwaitToken(
                        frame.token, self.name, timeout, heartbeat, self.resource, payload
                    )
                finally:
                    lane.prev = ctx.started_events.pop(frame.token, lane.prev)
            else:
                result = yield InvokeTask(
                    self.resource,
                    payload,
                    self.name,
                    timeout,
                    heartbeat,
                    frame.token,
                    credentials,
                    self.result_owner,
                    scheduled_event,
                )
                if frame.token is not None:  # .waitForTaskToken, .sync: the call was the submission
                    lane.prev = ctx.emit(
                        "TaskSubmitted",
                        lane.prev,
                        "taskSubmittedEventDetails",
                        self._tag({"output": result, "outputDetails": UNTRUNCATED}) if recording else None,
                    )
                    if self.job:
                        result = yield AwaitJob(
                            self.resource,
                            payload,
                            result,
                            self.name,
                            frame.token,
                            timeout,
                            heartbeat,
                            credentials,
                        )
                    else:
                        result = yield AwaitToken(frame.token, self.name, timeout, heartbeat)
            check_size(result, self.result_owner, ctx.payload_limit, ctx.payload_text)
        except StatesFailure as failure:
            kind = "TimedOut" if failure.error == F.TIMEOUT else "Failed"
            details = None
            if recording:
                details = {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v}
                if kind == "TimedOut":
                    details.pop("cause", None)
                details = self._tag(details)
            lane.prev = ctx.emit(f"{family}{kind}", lane.prev, f"{key}{kind}EventDetails", details)
            raise
        lane.prev = ctx.emit(
            f"{family}Succeeded",
            lane.prev,
            f"{key}SucceededEventDetails",
            self._tag({"output": result, "outputDetails": {"truncated": False}}) if recording else None,
        )
        return result

    def _tag(self, details: dict[str, Any]) -> dict[str, Any]:
        """Task-family events name the resource; Lambda and activity events do not."""
        if self.family == "Task":
            details["resourceType"] = self.resource_type
            details["resource"] = self.resource_name
        return details
