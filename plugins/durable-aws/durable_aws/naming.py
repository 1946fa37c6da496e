"""Names: the service names of ``aws-sdk:`` resources, boto3 clients and operations, and the
Java SDK names Step Functions builds its error names from.

Step Functions names an SDK integration's service after the AWS SDK for Java 2.x module
(``sfn``, ``eventbridge``, ``cloudwatchlogs``, ...), which is the service's ``serviceId`` in
lower case without spaces (the "Supported AWS SDK service integrations" table). boto3 names its
clients differently in places (``stepfunctions``, ``events``, ``logs``); the mapping below is
derived from botocore's own service models, not kept by hand.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import botocore.session
from botocore.model import ServiceModel

__all__ = [
    "boto3_service",
    "java_v2_service_name",
    "modeled_exception",
    "operation_name",
]

#: ``cloudwatchevents`` is the old Java module name of EventBridge (botocore's serviceId is now
#: ``EventBridge``). The others are what the serviceId index below derives too; they are listed so
#: that the most used services do not load every botocore model to find their client.
_RENAMED = {
    "cloudwatchevents": "events",
    "cloudwatchlogs": "logs",
    "eventbridge": "events",
    "sfn": "stepfunctions",
}

_index_lock = threading.Lock()
_index: dict[str, str] | None = None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


def _service_id_index() -> dict[str, str]:
    """``squashed serviceId -> boto3 client name`` for every service botocore knows (loaded once,
    only when a name is neither a boto3 client name nor one with its dashes removed)."""
    global _index
    with _index_lock:
        if _index is None:
            session = botocore.session.get_session()
            loader = session.get_component("data_loader")
            index: dict[str, str] = {}
            for name in sorted(_available()):
                try:
                    model = loader.load_service_model(name, "service-2")
                except Exception:  # pragma: no cover - a broken model file in botocore
                    continue
                service_id = model.get("metadata", {}).get("serviceId", "")
                index.setdefault(_squash(service_id), name)
            _index = index
        return _index


@lru_cache(maxsize=512)
def boto3_service(sdk_name: str) -> str | None:
    """The boto3 client name for the service of ``arn:aws:states:::aws-sdk:<sdk_name>:...``,
    or ``None`` when botocore knows no such service."""
    name = sdk_name.lower()
    if name in _RENAMED:
        return _RENAMED[name]
    available = _available()
    if name in available:
        return name
    for candidate in sorted(available):
        if candidate.replace("-", "") == name:
            return candidate
    return _service_id_index().get(_squash(name))


def operation_name(model: ServiceModel, action: str) -> str | None:
    """The API operation (``PutObject``) for a resource's camelCase action (``putObject``): matched
    case-insensitively, ignoring underscores, against the operations in the service model."""
    wanted = action.replace("_", "").lower()
    for op in model.operation_names:
        if op.replace("_", "").lower() == wanted:
            return str(op)
    return None


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def java_v2_service_name(service_id: str) -> str:
    """The service's name in the AWS SDK for Java 2.x (``DynamoDb``, ``Sfn``, ``SecretsManager``,
    ``S3``, ``Ec2``), which prefixes the error names of SDK integrations: words of the serviceId,
    each capitalised with the rest in lower case."""
    return "".join(word[0].upper() + word[1:].lower() for word in _WORD.findall(service_id))


def modeled_exception(model: ServiceModel, code: str) -> str | None:
    """The exception class the Java SDKs generate for error ``code``: the error shape's name, with
    ``Exception`` appended unless it already ends so (S3's ``NoSuchKey`` is ``NoSuchKeyException``);
    ``None`` when the service model declares no such error."""
    for shape in _error_shapes(model):
        if code in (shape[0], shape[1]):
            name = shape[0]
            return name if name.endswith("Exception") else name + "Exception"
    return None


def _error_shapes(model: ServiceModel) -> list[tuple[str, str]]:
    cached: list[tuple[str, str]] | None = getattr(model, "_durable_error_shapes", None)
    if cached is None:
        cached = []
        for shape in model.error_shapes:
            error = shape.metadata.get("error", {})
            cached.append((shape.name, str(error.get("code", shape.name))))
        model._durable_error_shapes = cached
    return cached
