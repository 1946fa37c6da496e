"""Request members, response shapes and pagination of the Step Functions wire protocol.

Dates go out as epoch seconds (JSON numbers), as botocore parses ``timestamp`` members of the
JSON protocol: the engine's UTC datetimes are converted here (``epoch``). Pagination tokens are
opaque strings: the engine's own token, or an offset into a listing, wrapped so that a token of
another listing (or a forged one) is ``InvalidToken``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec

from ..runtime.models import Execution, ExecutionStatus, StateMachine, epoch
from .errors import ApiError, validation

__all__ = ["Params", "dump_json", "execution_shape", "page", "unwrap_token", "wrap_token"]

T = TypeVar("T")
_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:([a-zA-Z]+):.+$")
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def dump_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


#: resolves Step Functions Local's ``stateMachineArn#TestCaseName`` (and the execution's name, if
#: given) to the state machine ARN and the name of an execution whose Tasks the test case mocks
TestCases = Callable[[str, str | None], Awaitable[tuple[str, str]]]


class Params:
    """The request's members, checked the way the service checks them (ValidationException)."""

    def __init__(self, body: dict[str, Any], test_cases: TestCases | None = None) -> None:
        self.body = body
        self.test_cases = test_cases  # `durable serve --mock-config`: ARN#TestCase starts

    def _missing(self, name: str) -> ApiError:
        return validation(
            f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: "
            "Member must not be null"
        )

    def req(self, name: str, *, max_len: int | None = None) -> str:
        value = self.opt_str(name, max_len=max_len)
        if value is None:
            raise self._missing(name)
        return value

    def opt_str(self, name: str, *, max_len: int | None = None) -> str | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ApiError("SerializationException", f"Expected a string for '{name}'")
        if max_len is not None and len(value) > max_len:
            raise validation(
                f"1 validation error detected: Value at '{name}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {max_len}"
            )
        return value

    def arn(self, name: str, *kinds: str, required: bool = True) -> str:
        value = self.req(name, max_len=2048) if required else self.opt_str(name, max_len=2048)
        if value is None:
            return ""
        match = _ARN.match(value)
        if match is None or (kinds and match.group(1) not in kinds):
            raise ApiError("InvalidArn", f"Invalid Arn: '{value}'")
        return value

    def opt_int(self, name: str, lo: int, hi: int) -> int | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError("SerializationException", f"Expected an integer for '{name}'")
        if not lo <= value <= hi:
            raise validation(
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must have value between {lo} and {hi}"
            )
        return value

    def opt_float(self, name: str, lo: float, hi: float) -> float | None:
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError("SerializationException", f"Expected a number for '{name}'")
        if not lo <= value <= hi:
            raise validation(
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must have value between {lo} and {hi}"
            )
        return float(value)

    def opt_bool(self, name: str) -> bool | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise ApiError("SerializationException", f"Expected a boolean for '{name}'")
        return value

    def opt_dict(self, name: str) -> dict[str, Any] | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ApiError("SerializationException", f"Expected an object for '{name}'")
        return value

    def opt_list(self, name: str) -> list[Any] | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise ApiError("SerializationException", f"Expected a list for '{name}'")
        return value

    def enum(self, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        value = self.opt_str(name)
        if value is None:
            return default
        if value not in allowed:
            raise validation(
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
        return value

    def page_size(self) -> int:
        size = self.opt_int("maxResults", 0, MAX_PAGE)
        return size or DEFAULT_PAGE

    def tags(self, name: str = "tags") -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.opt_list(name) or []:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise validation(f"Each of '{name}' needs a string key")
            value = item.get("value", "")
            if not isinstance(value, str):
                raise validation(f"Each of '{name}' needs a string value")
            if not 1 <= len(item["key"]) <= 128 or len(value) > 256:
                raise validation("Tag keys are 1 to 128 characters, tag values at most 256")
            out[item["key"]] = value
        return out


# -- pagination ----------------------------------------------------------------------------------


def wrap_token(listing: str, inner: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([listing, inner])).decode()


def unwrap_token(listing: str, token: str | None) -> Any:
    """The inner token of ``listing`` (None when there is no token); ``InvalidToken`` if the
    token was not made by this listing."""
    if token is None:
        return None
    try:
        kind, inner = msgspec.json.decode(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, msgspec.DecodeError):
        raise ApiError("InvalidToken", f"Invalid Token: '{token[:100]}'") from None
    if kind != listing:
        raise ApiError("InvalidToken", f"Invalid Token: '{token[:100]}'")
    return inner


def page(listing: str, items: list[T], params: Params) -> tuple[list[T], str | None]:
    """One page of a complete listing, by offset."""
    offset = unwrap_token(listing, params.opt_str("nextToken", max_len=1024)) or 0
    if not isinstance(offset, int) or offset < 0:
        raise ApiError("InvalidToken", "Invalid Token")
    size = params.page_size()
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return chunk, wrap_token(listing, offset + size) if more else None


def with_token(out: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token is not None:
        out["nextToken"] = token
    return out


# -- shapes ---------------------------------------------------------------------------------------


def execution_item(e: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {
        "executionArn": e.execution_arn,
        "stateMachineArn": e.state_machine_arn,
        "name": e.name,
        "status": str(e.status),
        "startDate": epoch(e.start_date),
    }
    if e.stop_date is not None:
        out["stopDate"] = epoch(e.stop_date)
    if e.redrive_count:
        out["redriveCount"] = e.redrive_count
        out["redriveDate"] = None if e.redrive_date is None else epoch(e.redrive_date)
    if e.map_run_arn is not None:  # a Map Run's child execution
        out["mapRunArn"] = e.map_run_arn
    return out


def execution_shape(e: Execution) -> dict[str, Any]:
    """DescribeExecution's members (input and output as JSON text)."""
    out = execution_item(e)
    out["input"] = dump_json(e.input)
    out["inputDetails"] = {"included": True}
    if e.status is ExecutionStatus.SUCCEEDED:
        out["output"] = dump_json(e.output)
        out["outputDetails"] = {"included": True}
    if e.error is not None and e.status is not ExecutionStatus.SUCCEEDED:
        out["error"] = e.error
    if e.cause is not None and e.status is not ExecutionStatus.SUCCEEDED:
        out["cause"] = e.cause
    if e.status in (ExecutionStatus.FAILED, ExecutionStatus.ABORTED, ExecutionStatus.TIMED_OUT):
        out["redriveStatus"] = "REDRIVABLE" if ":express:" not in e.execution_arn else "NOT_REDRIVABLE"
    else:
        out["redriveStatus"] = "NOT_REDRIVABLE"
        out["redriveStatusReason"] = (
            "Execution is RUNNING and cannot be redriven"
            if e.status is ExecutionStatus.RUNNING
            else "Execution is SUCCEEDED and cannot be redriven"
        )
    out["redriveCount"] = e.redrive_count
    return out


def machine_shape(m: StateMachine) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": m.status,
        "definition": m.definition,
        "roleArn": m.role_arn,
        "type": str(m.type),
        "creationDate": epoch(m.creation_date),
        "loggingConfiguration": m.logging_configuration or {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": m.tracing_configuration or {"enabled": False},
        "encryptionConfiguration": m.encryption_configuration or {"type": "AWS_OWNED_KEY"},
    }
    if m.revision_id is not None:
        out["revisionId"] = m.revision_id
    if m.description:
        out["description"] = m.description
    return out


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]
