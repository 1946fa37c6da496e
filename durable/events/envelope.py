"""PutEvents entries and the event envelope they become.

AWS ``PutEvents`` takes 1 to 10 entries (``Source``, ``DetailType``, ``Detail`` as a JSON object
in a string, ``Resources``, ``Time``, ``EventBusName``). A malformed *request* (no entries, more
than ten, over 256 KB in all) fails as a whole with a ``ValidationException``; a malformed *entry*
fails alone, reported in the answer's ``Entries`` at its position with ``ErrorCode`` and
``ErrorMessage`` and counted in ``FailedEntryCount``, while the other entries are accepted.

An accepted entry becomes the envelope rules match and targets receive::

    {"version": "0", "id", "detail-type", "source", "account", "time", "region",
     "resources", "detail"}

Ids and the clock belong to the caller (the runtime): this module only shapes and checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from durable.errors import ValidationError

__all__ = [
    "MAX_ENTRIES",
    "MAX_REQUEST_BYTES",
    "EntryError",
    "build_envelope",
    "entry_size",
    "format_event_time",
    "validate_entry",
    "validate_request",
]

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
_TIME_BYTES = 14  # AWS counts a given Time as 14 bytes in the entry size


@dataclass(frozen=True, slots=True)
class EntryError:
    """Why one entry was refused: ``PutEventsResultEntry``'s ``ErrorCode``/``ErrorMessage``."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"ErrorCode": self.code, "ErrorMessage": self.message}


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as AWS counts it against the 256 KB limit: the UTF-8 bytes of Source,
    DetailType, Detail and each Resource, plus 14 bytes when Time is given."""
    size = _TIME_BYTES if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if isinstance(value, str):
            size += len(value.encode())
    for resource in entry.get("Resources") or ():
        if isinstance(resource, str):
            size += len(resource.encode())
    return size


def validate_request(entries: Sequence[Mapping[str, Any]]) -> None:
    """The checks that fail a whole PutEvents call (``ValidationException``)."""
    if not entries:
        raise ValidationError(
            "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES}"
        )
    if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
        raise ValidationError("Total size of the entries in the request is over the limit.")


def _invalid(field: str, reason: str) -> EntryError:
    return EntryError("InvalidArgument", f"Parameter {field} is not valid. Reason: {reason}")


def validate_entry(entry: Mapping[str, Any]) -> EntryError | None:
    """The per-entry checks, in AWS's order; ``None`` when the entry is accepted."""
    for field in ("Source", "DetailType", "Detail"):
        value = entry.get(field)
        if value is None or value == "":
            return _invalid(field, f"{field} is a required argument.")
        if not isinstance(value, str):
            return _invalid(field, f"{field} must be a string.")
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        detail = None
    if not isinstance(detail, dict):  # "A valid JSON object"; an array or a scalar is malformed
        return EntryError("MalformedDetail", "Detail is malformed.")
    resources = entry.get("Resources")
    if resources is not None and (
        not isinstance(resources, list) or not all(isinstance(r, str) for r in resources)
    ):
        return _invalid("Resources", "Resources must be a list of strings.")
    time = entry.get("Time")
    if time is not None and _parse_time(time) is None:
        return _invalid("Time", "Time must be a timestamp.")
    return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)  # epoch seconds, as the JSON protocol sends it
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def format_event_time(when: datetime) -> str:
    """The envelope's ``time``: UTC to the second, ``2017-12-22T18:43:48Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_envelope(
    entry: Mapping[str, Any], *, event_id: str, received: datetime, account: str, region: str
) -> dict[str, Any]:
    """The event a validated entry becomes. ``received`` stands for the entry's ``Time`` when
    it has none (AWS: "If no time stamp is provided, the time stamp of the PutEvents call is
    used")."""
    given = _parse_time(entry["Time"]) if entry.get("Time") is not None else None
    return {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": format_event_time(given or received),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }
