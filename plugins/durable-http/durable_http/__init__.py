"""HTTP Task for durable: ``arn:aws:states:::http:invoke``, as Step Functions runs it — safely.

Arguments (``Parameters`` / ``Arguments``): ``ApiEndpoint`` and ``Method`` (required),
``Headers``, ``QueryParameters``, ``RequestBody`` (an object is sent as JSON), and
``Transform.RequestBodyEncoding`` ``URL_ENCODED`` for form bodies. ``Authentication`` is
accepted and ignored locally (AWS resolves an EventBridge connection there).

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
import os
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.client import responses
from typing import Any

import httpx

from durable import TaskFailed, TaskRequest

__all__ = ["DestinationPolicy", "HttpIntegration"]

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
    ) -> None:
        self.timeout = timeout
        self.policy = policy or DestinationPolicy.from_environment()
        self.max_body_bytes = max_body_bytes
        self.verify = verify  # an ssl.SSLContext, a CA bundle path, or True

    def handles(self, resource: str) -> bool:
        return resource.split(":::", 1)[-1] == "http:invoke" and resource.startswith("arn:")

    async def invoke(self, request: TaskRequest) -> Any:
        args = request.payload if isinstance(request.payload, dict) else {}
        endpoint, method = args.get("ApiEndpoint"), args.get("Method")
        if not isinstance(endpoint, str) or not isinstance(method, str):
            raise TaskFailed("States.Runtime", "The HTTP Task needs the fields 'ApiEndpoint' and 'Method'")
        headers = {str(k): str(v) for k, v in (args.get("Headers") or {}).items()}
        body = _body(args, headers)
        try:
            url = httpx.URL(_with_query(endpoint, args.get("QueryParameters")))
        except (httpx.InvalidURL, ValueError) as exc:
            raise TaskFailed("States.Http.Socket", f"invalid ApiEndpoint {endpoint!r}: {exc}") from None
        try:
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), trust_env=False, verify=self.verify
            ) as client:
                return await self._call(client, method.upper(), url, headers, body)
        except Refused as exc:
            raise TaskFailed("States.Http.Socket", f"durable-http refused the request: {exc}") from None
        except httpx.TimeoutException:
            raise TaskFailed("States.Http.Socket", "the HTTP request timed out") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TaskFailed("States.Http.Socket", str(exc) or type(exc).__name__) from None

    async def _call(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        body: bytes | None,
    ) -> dict[str, Any]:
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
                return _result(response, raw)
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


def _with_query(endpoint: str, query: Any) -> str:
    if isinstance(query, dict) and query:
        return endpoint + ("&" if "?" in endpoint else "?") + urllib.parse.urlencode(query, doseq=True)
    return endpoint


def _result(response: httpx.Response, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    status = response.status_code
    if not 200 <= status < 300:
        raise TaskFailed(f"States.Http.StatusCode.{status}", text)
    try:
        parsed: Any = json.loads(text) if text else ""
    except ValueError:
        parsed = text
    headers: dict[str, list[str]] = {}
    for key, value in response.headers.multi_items():
        headers.setdefault(key, []).append(value)
    return {
        "Headers": headers,
        "ResponseBody": parsed,
        "StatusCode": status,
        "StatusText": responses.get(status, ""),
    }


def _body(args: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    if "RequestBody" not in args:
        return None
    body = args["RequestBody"]
    encoding = (args.get("Transform") or {}).get("RequestBodyEncoding", "NONE")
    if encoding == "URL_ENCODED" and isinstance(body, dict):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.parse.urlencode(body, doseq=True).encode()
    if isinstance(body, str):
        return body.encode()
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode()
