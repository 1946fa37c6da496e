"""HTTP Task for durable: ``arn:aws:states:::http:invoke``, as Step Functions runs it — safely.

Arguments (``Parameters`` / ``Arguments``): ``ApiEndpoint`` and ``Method`` (required),
``Headers``, ``QueryParameters``, ``RequestBody`` (an object is sent as JSON), and
``Transform.RequestBodyEncoding`` ``URL_ENCODED`` for form bodies, and
``Authentication.ConnectionArn``: the EventBridge connection whose authorization and parameters
are added to the request — configured locally (:mod:`durable_http.connections`). Headers AWS
does not let a task set (``Authorization``, ``Host``, ``x-amz-*``, ...) fail the task with
``States.Runtime``. Under TestState at ``TRACE`` the raw request and response are recorded
(``TaskRequest.trace``), without the connection's additions unless ``revealSecrets``.

Result: ``{"Headers", "ResponseBody", "StatusCode", "StatusText"}`` with a JSON response body
parsed. A non-2xx status fails the task with ``States.Http.StatusCode.<code>`` (cause: the
response body); a timeout (60 s, as AWS), a connection error or a refused destination with
``States.Http.Socket``; a response body over 256 KiB with ``States.DataLimitExceeded``.

**Safe by default.** The endpoint may come from execution input, so it is treated as hostile
(:class:`DestinationPolicy`): only ``https`` (``http`` when allowed); the host is resolved and
every address it resolves to must be public — private, loopback, link-local (cloud metadata),
shared, multicast and reserved addresses are refused unless allowed by name or network — and the
connection goes to the address that was checked (a second DNS answer cannot swap it). Redirects
are followed (up to 5) and each hop is checked the same way. The body is read as it streams and
the read stops past the limit; a task timeout closes the socket at once. For local development,
``DestinationPolicy(allow_http=True, allow_hosts={"127.0.0.1", "localhost"})`` — or, for the
``durable`` command line, ``DURABLE_HTTP_ALLOW_HOSTS=127.0.0.1,localhost`` and
``DURABLE_HTTP_ALLOW_HTTP=1``.

Installed as a distribution of its own, it is found through the entry-point group
``durable.integrations``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.client import responses
from typing import TYPE_CHECKING, Any

import httpx

from durable import TaskFailed, TaskRequest

from .connections import ENVIRONMENT_VARIABLE, Connection, Connections
from .request import Outgoing, build_request, render_headers

if TYPE_CHECKING:  # (an annotation only: the plugin still loads with a durable without it)
    from durable.integrations.base import TaskTrace

__all__ = ["Connections", "DestinationPolicy", "HttpIntegration"]

log = logging.getLogger(__name__)

RESOURCE = "arn:aws:states:::http:invoke"
SOCKET_TIMEOUT_SECONDS = 60.0
MAX_BODY_BYTES = 262_144
_REDIRECTS = {301, 302, 303, 307, 308}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not on the public internet

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """The destination policy refused a URL (the task fails with ``States.Http.Socket``)."""


@dataclass(frozen=True)
class DestinationPolicy:
    """Where the HTTP Task may connect (see the module docstring)."""

    allow_http: bool = False
    allow_hosts: frozenset[str] = field(default_factory=frozenset)  # names, addresses or networks
    max_redirects: int = 5

    @classmethod
    def from_environment(cls) -> DestinationPolicy:
        hosts = os.environ.get("DURABLE_HTTP_ALLOW_HOSTS", "")
        return cls(
            allow_http=os.environ.get("DURABLE_HTTP_ALLOW_HTTP", "") not in ("", "0", "false"),
            allow_hosts=frozenset(h.strip() for h in hosts.split(",") if h.strip()),
        )

    def _networks(self) -> list[Network]:
        out = []
        for entry in self.allow_hosts:
            try:
                out.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return out

    def check_url(self, url: httpx.URL) -> None:
        if url.scheme == "http" and not self.allow_http:
            raise Refused(f"plain http is not allowed ({url}); use https, or allow http in the policy")
        if url.scheme not in ("https", "http"):
            raise Refused(f"the scheme {url.scheme!r} is not allowed ({url})")
        if not url.host:
            raise Refused(f"the URL names no host ({url})")

    def check_address(self, host: str, address: Address) -> None:
        if host.lower() in self.allow_hosts or any(address in net for net in self._networks()):
            return
        mapped = getattr(address, "ipv4_mapped", None)
        ip = mapped if mapped is not None else address
        kind = _kind(ip)
        if kind is not None:
            raise Refused(
                f"{host} resolves to {address}, a {kind} address; allow it with"
                " DestinationPolicy(allow_hosts=...) or DURABLE_HTTP_ALLOW_HOSTS"
            )


def _kind(ip: Address) -> str | None:
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return None


class HttpIntegration:
    name = "http"

    def __init__(
        self,
        timeout: float = SOCKET_TIMEOUT_SECONDS,
        *,
        policy: DestinationPolicy | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        verify: Any = True,
        connections: Connections | dict[str, Any] | None = None,
    ) -> None:
        self.timeout = timeout
        self.policy = policy or DestinationPolicy.from_environment()
        self.max_body_bytes = max_body_bytes
        self.verify = verify  # an ssl.SSLContext, a CA bundle path, or True
        if connections is None:
            connections = Connections.from_environment()
        self.connections = connections if isinstance(connections, Connections) else Connections(connections)

    def handles(self, resource: str) -> bool:
        return resource.split(":::", 1)[-1] == "http:invoke" and resource.startswith("arn:")

    async def invoke(self, request: TaskRequest) -> Any:
        args = request.payload if isinstance(request.payload, dict) else {}
        connection = self._connection(args)
        out = build_request(args, connection)
        try:
            url = httpx.URL(out.url())
        except (httpx.InvalidURL, ValueError) as exc:
            raise TaskFailed("States.Http.Socket", f"invalid ApiEndpoint {out.endpoint!r}: {exc}") from None
        trace = getattr(request, "trace", None)  # None with a durable before TaskTrace
        _propagate(out, getattr(request, "trace_context", None))  # None unless the engine traces
        try:
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), trust_env=False, verify=self.verify
            ) as client:
                if connection is not None and connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS":
                    token = connection.oauth_token or await self._fetch_token(client, connection)
                    out.with_header("Authorization", f"Bearer {token}")
                    status, headers, raw = await self._call(client, out.method, url, out.headers, out.body)
                    if status in (401, 407):  # EventBridge: the token is refreshed on 401 or 407
                        token = await self._fetch_token(client, connection)
                        out.with_header("Authorization", f"Bearer {token}")
                        status, headers, raw = await self._call(
                            client, out.method, url, out.headers, out.body
                        )
                else:
                    status, headers, raw = await self._call(client, out.method, url, out.headers, out.body)
        except Refused as exc:
            raise TaskFailed("States.Http.Socket", f"durable-http refused the request: {exc}") from None
        except httpx.TimeoutException:
            raise TaskFailed("States.Http.Socket", "the HTTP request timed out") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TaskFailed("States.Http.Socket", str(exc) or type(exc).__name__) from None
        if trace is not None:
            _record(trace, out, url.scheme, status, headers, raw)
        return _result(status, headers, raw)

    def _connection(self, args: dict[str, Any]) -> Connection | None:
        auth = args.get("Authentication")
        arn = auth.get("ConnectionArn") if isinstance(auth, dict) else None
        if not isinstance(arn, str):
            return None
        connection = self.connections.find(arn)
        if connection is None and arn not in self.connections.warned:
            self.connections.warned.add(arn)
            log.warning(
                "HTTP Task connection %s is not configured (%s): requests go without it",
                arn,
                ENVIRONMENT_VARIABLE,
            )
        return connection

    async def _fetch_token(self, client: httpx.AsyncClient, connection: Connection) -> str:
        method, endpoint, headers, query, body = connection.token_request()
        url = httpx.URL(
            endpoint + (("&" if "?" in endpoint else "?") + urllib.parse.urlencode(query) if query else "")
        )
        status, _, raw = await self._call(client, method, url, headers, body)
        return connection.accept_token(status, raw)

    async def _call(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        body: bytes | None,
    ) -> tuple[int, httpx.Headers, bytes]:
        for _ in range(self.policy.max_redirects + 1):
            target, extensions, host_header = await self._pinned(url)
            sent = {**headers, "Host": host_header}
            async with client.stream(
                method, target, headers=sent, content=body, extensions=extensions
            ) as response:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    url = url.join(location)
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, body = "GET", None
                    continue
                raw = await self._read(response)
                return response.status_code, response.headers, raw
        raise Refused(f"more than {self.policy.max_redirects} redirects")

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, Any], str]:
        """Check the URL, resolve its host, check every address; return the URL to the checked
        address (so a second DNS answer cannot send the request elsewhere), the TLS server name
        and the Host header."""
        self.policy.check_url(url)
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = _addresses(info[4][0] for info in infos)
        if not addresses:
            raise httpx.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            self.policy.check_address(host, address)
        chosen = addresses[0]
        pinned = url.copy_with(host=str(chosen))
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        default = url.port is None or url.port == (443 if url.scheme == "https" else 80)
        return pinned, extensions, host if default else f"{host}:{url.port}"

    async def _read(self, response: httpx.Response) -> bytes:
        """The body, read as it streams; past the limit the read stops (and the socket closes)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TaskFailed(
                    "States.DataLimitExceeded",
                    f"The HTTP response body exceeds the maximum size of {self.max_body_bytes} bytes.",
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _addresses(hosts: Iterable[str]) -> list[Address]:
    out: list[Address] = []
    for text in hosts:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            continue
        if address not in out:
            out.append(address)
    return out


def _propagate(out: Outgoing, context: Any) -> None:
    """Send the task call's trace context (W3C ``traceparent`` and AWS ``X-Amzn-Trace-Id``),
    unless the definition's ``Headers`` already set them."""
    if context is None:
        return
    present = {name.lower() for name in out.headers}
    if "traceparent" not in present:
        out.with_header("traceparent", context.traceparent)
    if "x-amzn-trace-id" not in present:
        out.with_header("X-Amzn-Trace-Id", context.xray_header)


def _result(status: int, response_headers: httpx.Headers, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    if not 200 <= status < 300:
        raise TaskFailed(f"States.Http.StatusCode.{status}", text)
    try:
        parsed: Any = json.loads(text) if text else ""
    except ValueError:
        parsed = text
    headers: dict[str, list[str]] = {}
    for key, value in response_headers.multi_items():
        headers.setdefault(key, []).append(value)
    return {
        "Headers": headers,
        "ResponseBody": parsed,
        "StatusCode": status,
        "StatusText": responses.get(status, ""),
    }


def _record(
    trace: TaskTrace, out: Outgoing, scheme: str, status: int, headers: httpx.Headers, raw: bytes
) -> None:
    """TestState at TRACE: the raw exchange; the connection's additions only with revealSecrets."""
    public = not trace.reveal_secrets
    body = out.public_body if public else out.body
    trace.request = {
        "protocol": scheme,
        "method": out.method,
        "url": out.url(public=public),
        "headers": render_headers(out.public_headers if public else out.headers),
        "body": "" if body is None else body.decode("utf-8", errors="replace"),
    }
    trace.response = {
        "protocol": scheme,
        "statusCode": str(status),
        "statusMessage": responses.get(status, ""),
        "headers": render_headers(headers),
        "body": raw.decode("utf-8", errors="replace"),
    }
