"""Opaque page tokens, shared by the SQLite and the in-memory store.

A token is the URL-safe base64 of a small JSON array naming the listing it continues and the
key of the last item returned (keyset pagination: a page never skips or repeats an item, even
when rows are added between pages)::

    ["x", start_date, arn]     list_executions (newest first)
    ["e", event_id]            events (ascending or descending)
    ["c", index]               list_child_executions (highest index first)
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from .base import StoreError

__all__ = [
    "check_limit",
    "decode_child_token",
    "decode_event_token",
    "decode_execution_token",
    "encode_child_token",
    "encode_event_token",
    "encode_execution_token",
]

_encode = msgspec.json.encode


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StoreError(f"invalid next_token: {token!r}") from exc


def encode_execution_token(start_date: float, arn: str) -> str:
    return _b64(_encode(("x", start_date, arn)))


def decode_execution_token(token: str) -> tuple[float, str]:
    try:
        kind, start_date, arn = msgspec.json.decode(_unb64(token), type=tuple[str, float, str])
    except msgspec.DecodeError as exc:
        raise StoreError(f"invalid next_token: {token!r}") from exc
    if kind != "x":
        raise StoreError(f"invalid next_token: {token!r} does not continue an execution listing")
    return start_date, arn


def encode_event_token(event_id: int) -> str:
    return _b64(_encode(("e", event_id)))


def decode_event_token(token: str) -> int:
    try:
        kind, event_id = msgspec.json.decode(_unb64(token), type=tuple[str, int])
    except msgspec.DecodeError as exc:
        raise StoreError(f"invalid next_token: {token!r}") from exc
    if kind != "e":
        raise StoreError(f"invalid next_token: {token!r} does not continue an event listing")
    return event_id


def encode_child_token(index: int) -> str:
    return _b64(_encode(("c", index)))


def decode_child_token(token: str) -> int:
    try:
        kind, index = msgspec.json.decode(_unb64(token), type=tuple[str, int])
    except msgspec.DecodeError as exc:
        raise StoreError(f"invalid next_token: {token!r}") from exc
    if kind != "c":
        raise StoreError(f"invalid next_token: {token!r} does not continue a child execution listing")
    return index


def check_limit(limit: int) -> None:
    if limit < 1:
        raise StoreError(f"limit must be at least 1, got {limit}")
