"""Values between Step Functions and boto3, guided by the botocore shape of each member.

Step Functions spells every member name in PascalCase, also for APIs whose wire names are camelCase
(ECS, Batch, CodeBuild): ``Parameters`` arrive as ``{"TaskDefinition": ...}`` and results leave as
``{"Tasks": [{"LastStatus": ...}]}``. Map keys (DynamoDB attribute names, tags) are data and keep
their spelling. Blobs go in as text (any other JSON value is sent as its JSON text) and come back as
text; timestamps come back as ISO-8601 text (SDK integrations) or epoch milliseconds (the optimized
integrations, which render Java ``Date`` values as numbers).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, Literal

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.response import StreamingBody

__all__ = ["DateStyle", "from_boto", "to_boto"]

DateStyle = Literal["iso", "epoch_millis"]


def to_boto(shape: Shape | None, value: Any) -> Any:
    """``value`` (Step Functions spelling) as boto3 wants it for ``shape``."""
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        folded: dict[str, str] = {str(name).lower(): str(name) for name in members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key) if key in members else folded.get(str(key).lower(), str(key))
            out[name] = to_boto(members.get(name), item)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto(shape.value, item) for key, item in value.items()}
    if shape.type_name == "blob":
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return value


def from_boto(shape: Shape | None, value: Any, dates: DateStyle = "iso") -> Any:
    """A boto3 result as Step Functions renders it (PascalCase members, text blobs and dates)."""
    if isinstance(value, dict):
        if isinstance(shape, StructureShape):
            members = shape.members
            return {
                _pascal(key): from_boto(members.get(key), item, dates)
                for key, item in value.items()
                if key != "ResponseMetadata"
            }
        inner = shape.value if isinstance(shape, MapShape) else None
        return {key: from_boto(inner, item, dates) for key, item in value.items()}
    if isinstance(value, list):
        inner = shape.member if isinstance(shape, ListShape) else None
        return [from_boto(inner, item, dates) for item in value]
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        return _text(bytes(value))
    if isinstance(value, dt.datetime):
        return render_date(value, dates)
    return value


def render_date(value: dt.datetime, dates: DateStyle) -> Any:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if dates == "epoch_millis":
        return int(value.timestamp() * 1000)
    text = value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return base64.b64encode(data).decode()
