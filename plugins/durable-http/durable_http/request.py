"""The request an HTTP Task sends: the task's arguments merged with its connection's additions.

Both versions are kept: what is sent, and what the state's definition alone contributed — the
second is what a TestState trace shows unless secrets are revealed (AWS leaves out what a
connection adds; nothing from the definition is left out).
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from durable import TaskFailed

from .connections import Connection

__all__ = ["Outgoing", "build_request", "render_headers"]

# Headers an HTTP Task may not set (AWS: the task fails with States.Runtime); ``Authorization``
# comes from the connection, never from the definition.
_FORBIDDEN = frozenset(
    name.lower()
    for name in (
        "A-IM", "Accept-Charset", "Accept-Datetime", "Accept-Encoding", "Authorization",
        "Cache-Control", "Connection", "Content-Encoding", "Content-MD5", "Date", "Expect",
        "Forwarded", "From", "Host", "HTTP2-Settings", "If-Match", "If-Modified-Since",
        "If-None-Match", "If-Range", "If-Unmodified-Since", "Max-Forwards", "Origin", "Pragma",
        "Proxy-Authorization", "Referer", "Server", "TE", "Trailer", "Transfer-Encoding",
        "Upgrade", "Via", "Warning",
    )
)  # fmt: skip
_FORBIDDEN_PREFIXES = ("x-forwarded-", "x-amz-", "x-amzn-")


@dataclass(slots=True)
class Outgoing:
    method: str
    endpoint: str
    headers: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes | None
    public_headers: dict[str, str]  # the definition's part alone
    public_query: list[tuple[str, str]]
    public_body: bytes | None

    def url(self, *, public: bool = False) -> str:
        query = self.public_query if public else self.query
        if not query:
            return self.endpoint
        return self.endpoint + ("&" if "?" in self.endpoint else "?") + urllib.parse.urlencode(query)

    def with_header(self, name: str, value: str) -> None:
        """Add a header the connection supplies (not part of the public request)."""
        _set(self.headers, name, value)


def build_request(args: dict[str, Any], connection: Connection | None) -> Outgoing:
    endpoint, method = args.get("ApiEndpoint"), args.get("Method")
    if not isinstance(endpoint, str) or not isinstance(method, str):
        raise TaskFailed("States.Runtime", "The HTTP Task needs the fields 'ApiEndpoint' and 'Method'")
    headers = {str(k): str(v) for k, v in (args.get("Headers") or {}).items()}
    unsupported = sorted(k.lower() for k in headers if _forbidden(k))
    if unsupported:
        raise TaskFailed(
            "States.Runtime", f"The 'Headers' field contains unsupported values: [{', '.join(unsupported)}]"
        )
    query = _query(args.get("QueryParameters"))
    body_value, has_body = args.get("RequestBody"), "RequestBody" in args
    encoding = (args.get("Transform") or {}).get("RequestBodyEncoding", "NONE")
    public_headers = dict(headers)
    public_body = _encode(body_value, encoding, public_headers) if has_body else None
    if connection is None:
        return Outgoing(
            method.upper(), endpoint, public_headers, query, public_body, public_headers, query, public_body
        )
    sent_headers = dict(public_headers)
    for name, value in [*connection.static_headers(), *connection.invocation.headers]:
        _set(sent_headers, name, value)
    added_keys = {k for k, _ in connection.invocation.query}
    sent_query = [(k, v) for k, v in query if k not in added_keys] + connection.invocation.query
    sent_body = public_body
    if has_body and isinstance(body_value, dict) and connection.invocation.body:
        merged = {**body_value, **dict(connection.invocation.body)}
        sent_body = _encode(merged, encoding, {})
    return Outgoing(
        method.upper(), endpoint, sent_headers, sent_query, sent_body, public_headers, query, public_body
    )


def render_headers(headers: Any) -> str:
    """Headers as one string (AWS's inspection data has them as text): ``[Name: value, ...]``."""
    if hasattr(headers, "raw"):  # httpx.Headers: the names as the server spelled them
        items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.raw]
    else:
        items = list(headers.items())
    return "[" + ", ".join(f"{k}: {v}" for k, v in items) + "]"


def _forbidden(name: str) -> bool:
    low = name.lower()
    return low in _FORBIDDEN or low.startswith(_FORBIDDEN_PREFIXES)


def _set(headers: dict[str, str], name: str, value: str) -> None:
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


def _query(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    out: list[tuple[str, str]] = []
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        out.extend((str(key), v if isinstance(v, str) else json.dumps(v)) for v in values)
    return out


def _encode(body: Any, encoding: str, headers: dict[str, str]) -> bytes:
    if encoding == "URL_ENCODED" and isinstance(body, dict):
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urllib.parse.urlencode(body, doseq=True).encode()
    if isinstance(body, str):
        return body.encode()
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode()
