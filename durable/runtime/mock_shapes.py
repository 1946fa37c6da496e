"""Check a TestState mocked result against the response shape of the service a Task calls.

The shapes are botocore's service models (AWS's own API descriptions), read when botocore is
installed (it comes with boto3 and the durable-aws plugin); without it mocked results are not
checked. ``aws-sdk:<service>:<action>`` names the operation; an optimized integration
(``arn:aws:states:::dynamodb:putItem``) names the service and action the same way. Members absent
from the shape are accepted (AWS does too), as are JSON values in blobs of optimized integrations
(``lambda:invoke``'s ``Payload`` is the function's JSON result). ``STRICT`` also wants the members
the shape requires; ``PRESENT`` checks only what is there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["check_mock_shape"]

_RESOURCE = re.compile(r"^arn:[\w-]+:states:::(aws-sdk:)?([\w-]+):([\w-]+)")
# Step Functions (Java SDK) service names whose botocore client is named otherwise
_SERVICES = {
    "sfn": "stepfunctions",
    "states": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchevents": "events",
    "cloudwatchlogs": "logs",
    "elasticmapreduce": "emr",
}


def check_mock_shape(resource: str, value: Any, mode: str) -> str | None:
    """The first problem of ``value`` as the result of ``resource`` (AWS's wording), or None."""
    match = _RESOURCE.match(resource)
    if match is None:
        return None  # a Lambda function ARN, an activity, an HTTP task: no service shape
    sdk, service, action = match.groups()
    shape = _output_shape(_SERVICES.get(service, service), action)
    if shape is None:
        return None
    return _check(shape, value, "", mode == "STRICT", optimized=sdk is None)


@lru_cache(maxsize=256)
def _output_shape(service: str, action: str) -> Any:
    try:
        from botocore.exceptions import UnknownServiceError
    except ImportError:  # pragma: no cover - botocore comes with the test dependencies
        return None
    try:
        model = _session().get_service_model(service)
    except UnknownServiceError:
        return None
    names = {name.lower(): name for name in model.operation_names}
    operation = names.get(action.lower())
    if operation is None:
        return None
    return model.operation_model(operation).output_shape


@lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _check(shape: Any, value: Any, name: str, strict: bool, optimized: bool) -> str | None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return f"Field '{name}' must be an object"
        members = shape.members
        folded = {str(m).lower(): str(m) for m in members}
        for key, item in value.items():
            member = key if key in members else folded.get(str(key).lower())
            if member is None:
                continue
            problem = _check(members[member], item, str(key), strict, optimized)
            if problem is not None:
                return problem
        if strict:
            for required in shape.required_members:
                if str(required).lower() not in {str(k).lower() for k in value}:
                    return f"Field '{required}' is required"
        return None
    if kind == "list":
        if not isinstance(value, list):
            return f"Field '{name}' must be an array"
        for item in value:
            problem = _check(shape.member, item, name, strict, optimized)
            if problem is not None:
                return problem
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return f"Field '{name}' must be an object"
        for item in value.values():
            problem = _check(shape.value, item, name, strict, optimized)
            if problem is not None:
                return problem
        return None
    return _scalar(kind, shape.metadata, value, name, optimized)


def _scalar(kind: str, metadata: dict[str, Any], value: Any, name: str, optimized: bool) -> str | None:
    if kind in ("string", "blob"):
        if kind == "blob" and optimized and not isinstance(value, str):
            return None  # an optimized integration renders a blob as the JSON value it holds
        if not isinstance(value, str):
            return f"Field '{name}' must be a string"
        low, high = metadata.get("min"), metadata.get("max")
        if low is not None and len(value) < low:
            return f"Field '{name}' is smaller than the minimum length"
        if high is not None and len(value) > high:
            return f"Field '{name}' is larger than the maximum length"
        return None
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"Field '{name}' must be a number"
        if kind in ("integer", "long") and isinstance(value, float) and not value.is_integer():
            return f"Field '{name}' must be an integer"
        low, high = metadata.get("min"), metadata.get("max")
        if low is not None and value < low:
            return f"Field '{name}' is less than the minimum value"
        if high is not None and value > high:
            return f"Field '{name}' exceeds the maximum value"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"Field '{name}' must be a boolean"
    if kind == "timestamp":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        return None if ok else f"Field '{name}' must be a timestamp"
    return None
