"""Local task functions of the account-opening workflow (Lambda-style handlers)."""

from __future__ import annotations

import re
import zlib
from typing import Any

__all__ = [
    "FUNCTIONS",
    "NameServiceUnavailable",
    "ValidationError",
    "approve_application",
    "check_address",
    "check_name",
]


class ValidationError(Exception):
    """The application is invalid: the workflow rejects it (Catch)."""


class NameServiceUnavailable(Exception):
    """A transient outage of the name-check service: the workflow retries (Retry)."""


class _FlakyNameService:
    """Fails the first lookup of each name once, like a service that is briefly down."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def lookup(self, name: str) -> bool:
        if name not in self.seen:
            self.seen.add(name)
            raise NameServiceUnavailable(f"name service timed out looking up {name!r}")
        return True


_names = _FlakyNameService()


def check_name(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event.get("name") or ""
    if not re.fullmatch(r"[A-Za-z][A-Za-z .'-]{1,79}", name):
        raise ValidationError(f"invalid name: {name!r}")
    _names.lookup(name)
    return {"name": name, "valid": True}


def check_address(event: dict[str, Any], context: Any) -> dict[str, Any]:
    address = event.get("address") or {}
    missing = [k for k in ("street", "city", "zip") if not address.get(k)]
    if missing:
        raise ValidationError(f"address is missing {', '.join(missing)}")
    if not re.fullmatch(r"\d{5}", str(address["zip"])):
        raise ValidationError(f"invalid zip code: {address['zip']!r}")
    return {"address": address, "valid": True}


def approve_application(event: dict[str, Any], context: Any) -> dict[str, Any]:
    application = event["application"]
    return {
        "status": "APPROVED",
        "applicant": application["name"],
        "accountNumber": f"ACC-{zlib.crc32(application['name'].encode()) % 10**8:08d}",
    }


FUNCTIONS = {
    "CheckName": check_name,
    "CheckAddress": check_address,
    "ApproveApplication": approve_application,
}
