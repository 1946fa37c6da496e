"""One boto3 call: parameters in, rendered result out, errors as Step Functions names them.

Everything here blocks (run it in a worker thread)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from durable import TaskFailed

from .clients import RAW_HEADERS
from .errors import optimized_error, sdk_error
from .shapes import DateStyle, from_boto, to_boto

__all__ = ["Call", "call", "http_metadata", "json_text"]


class Call:
    """A call's result: the raw boto3 response and its rendering."""

    __slots__ = ("raw", "rendered")

    def __init__(self, raw: dict[str, Any], rendered: dict[str, Any]) -> None:
        self.raw = raw
        self.rendered = rendered


def call(
    client: Any,
    operation: str,
    params: Any,
    *,
    optimized: str | None = None,
    dates: DateStyle = "iso",
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Call:
    """Call ``operation`` with Step Functions-spelled ``params``; ``optimized`` names the boto3
    service of an optimized integration (its error family), else the SDK-integration family applies."""
    model = client.meta.service_model
    op = model.operation_model(operation)
    args = to_boto(op.input_shape, params if params is not None else {})
    if not isinstance(args, dict):
        raise TaskFailed("States.Runtime", f"The parameters of {operation} must be a JSON object")
    if prepare is not None:
        args = prepare(args)
    # a null member is not sent (as AWS's SDK serialises requests): the service judges what is missing
    args = {key: value for key, value in args.items() if value is not None}
    try:
        raw = getattr(client, xform_name(operation))(**args)
        rendered = from_boto(op.output_shape, raw, dates)
    except (ClientError, BotoCoreError) as error:
        if optimized is not None:
            raise optimized_error(optimized, model, error) from None
        raise sdk_error(model, error) from None
    return Call(raw, rendered if isinstance(rendered, dict) else {})


def http_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` of the optimized integrations' results, from
    the response's headers as the server spelled them (AllHttpHeaders: every value in a list;
    HttpHeaders: the last value)."""
    meta = raw.get("ResponseMetadata", {})
    pairs = meta.get(RAW_HEADERS) or list((meta.get("HTTPHeaders") or {}).items())
    every: dict[str, list[str]] = {}
    for name, value in pairs:
        every.setdefault(name, []).append(value)
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": every,
            "HttpHeaders": {name: values[-1] for name, values in every.items()},
            "HttpStatusCode": meta.get("HTTPStatusCode", 200),
        },
        "SdkResponseMetadata": {"RequestId": meta.get("RequestId", "")},
    }


def json_text(value: Any) -> str:
    """A non-string value as the JSON text AWS sends for it (``MessageBody``, ``Message``, ...)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
