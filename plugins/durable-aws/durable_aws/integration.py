"""``AwsIntegration``: which resources it runs, and the dispatch to the families."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from durable import TaskRequest
from durable.integrations.base import integration_pattern
from durable.interpreter.failure import StatesFailure

from .calls import call
from .clients import Clients
from .jobs import JOBS, Job, cancel_job, poll_job, start_job
from .naming import boto3_service, operation_name
from .optimized import OPTIMIZED_ACTIONS, invoke_function, run_optimized

__all__ = ["AwsIntegration"]

_STATES = re.compile(r"^arn:[\w-]+:states:([\w-]*):(\d*):(?:(aws-sdk):)?([a-z0-9-]+):([A-Za-z0-9_]+)$")
_LAMBDA = re.compile(r"^arn:[\w-]+:lambda:([\w-]+):(\d{12}):function:[\w-]+(?::[\w$-]+)?$")
_SUFFIXES = (".sync:2", ".sync", ".waitForTaskToken")


@dataclass(frozen=True, slots=True)
class _Target:
    family: str  # "sdk", "optimized", "lambda", "function", "job"
    service: str  # the resource's service name (aws-sdk name, or the optimized family's)
    action: str
    region: str | None


def _strip(resource: str) -> str:
    for suffix in _SUFFIXES:
        if resource.endswith(suffix):
            return resource[: -len(suffix)]
    return resource


class AwsIntegration:
    """AWS service integrations over boto3 (see the package's README).

    ``session``: the boto3 Session whose credential chain and profile to use; ``region``: the
    region of calls whose resource names none; ``endpoint_url``/``endpoints``: where to send every
    call, or each service's (keys: boto3 or SDK-integration service names); ``remote_states``: also
    run ``aws-sdk:sfn:*`` and ``states:startExecution`` against Step Functions itself (otherwise
    durable runs nested executions locally); ``local_event_bus``: leave ``events:putEvents`` to the
    engine's embedded event bus (the engine's built-in) instead of sending it to EventBridge.
    """

    name = "aws"

    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        config: Config | None = None,
        remote_states: bool = False,
        local_event_bus: bool = False,
    ) -> None:
        self.clients = Clients(
            session=session, region=region, endpoint_url=endpoint_url, endpoints=endpoints, config=config
        )
        self.remote_states = remote_states
        self.local_event_bus = local_event_bus

    # -- which resources ---------------------------------------------------------------------------
    def _target(self, resource: str) -> _Target | None:
        pattern = integration_pattern(resource)
        bare = _strip(resource)
        m = _LAMBDA.match(bare)
        if m:
            return _Target("function", "lambda", "invoke", m.group(1)) if bare == resource else None
        m = _STATES.match(bare)
        if m is None:
            return None
        region, _, sdk, service, action = m.groups()
        region = region or None
        if sdk:
            if pattern.startswith("sync") or (service == "sfn" and not self.remote_states):
                return None
            return _Target("sdk", service, action, region)
        key = f"{service}:{action}"
        if key == "lambda:invoke":
            return _Target("lambda", "lambda", action, region) if not pattern.startswith("sync") else None
        if key == "events:putEvents" and self.local_event_bus:
            return None
        if key in OPTIMIZED_ACTIONS:
            return _Target("optimized", service, action, region) if not pattern.startswith("sync") else None
        if key in JOBS:
            if service == "states" and not self.remote_states:
                return None
            if pattern == "sync:2" and service != "states":
                return None
            return _Target("job", service, action, region)
        return None

    def handles(self, resource: str) -> bool:
        return self._target(resource) is not None

    # -- running -----------------------------------------------------------------------------------
    async def invoke(self, request: TaskRequest) -> Any:
        return await asyncio.to_thread(self._invoke, request)

    async def poll(self, request: TaskRequest, submitted: Any) -> Any:
        job, client = self._job(request)
        return await asyncio.to_thread(
            lambda: poll_job(client(), job, request.payload, submitted, request.pattern)
        )

    async def cancel(self, request: TaskRequest, submitted: Any) -> None:
        job, client = self._job(request)
        await asyncio.to_thread(lambda: cancel_job(client(), job, request.payload, submitted))

    def _job(self, request: TaskRequest) -> tuple[Job, Any]:
        target = self._require(request.resource)
        job = JOBS[f"{target.service}:{target.action}"]
        return job, lambda: self._client(job.service, target, request)

    def _require(self, resource: str) -> _Target:
        target = self._target(resource)
        if target is None:
            raise StatesFailure("States.Runtime", f"The AWS integration does not run '{resource}'")
        return target

    def _client(
        self, service: str, target: _Target, request: TaskRequest, sdk_name: str | None = None
    ) -> Any:
        region = self.clients.region(target.region, request.region)
        return self.clients.client(service, region, request.credentials, sdk_name)

    def _invoke(self, request: TaskRequest) -> Any:
        target = self._require(request.resource)
        if target.family == "sdk":
            return self._sdk(target, request)
        if target.family == "function":
            client = self._client("lambda", target, request)
            return invoke_function(client, request.payload, legacy=_strip(request.resource))
        if target.family == "lambda":
            return invoke_function(self._client("lambda", target, request), request.payload)
        key = f"{target.service}:{target.action}"
        if target.family == "optimized":
            spec = OPTIMIZED_ACTIONS[key]
            return run_optimized(self._client(spec.service, target, request), spec, request.payload)
        job = JOBS[key]
        return start_job(
            self._client(job.service, target, request), job, request.payload, request.idempotency_key
        )

    def _sdk(self, target: _Target, request: TaskRequest) -> Any:
        service = boto3_service(target.service)
        if service is None:
            raise StatesFailure("States.Runtime", f"Unknown AWS SDK service '{target.service}'")
        client = self._client(service, target, request, target.service)
        operation = operation_name(client.meta.service_model, target.action)
        if operation is None:
            raise StatesFailure(
                "States.Runtime", f"The service '{target.service}' has no action '{target.action}'"
            )
        return call(client, operation, request.payload).rendered
