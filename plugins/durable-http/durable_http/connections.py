"""EventBridge connections for the HTTP Task, configured locally.

On AWS an HTTP Task names an EventBridge connection (``Authentication.ConnectionArn``) that
holds the API's credentials and extra request parameters; Step Functions adds them to each
request. Locally there is no Secrets Manager, so the connections are configured: a JSON object
mapping a connection ARN — or just its name, the path segment after ``connection/`` — to the
body of EventBridge's ``CreateConnection`` (``AuthorizationType`` and ``AuthParameters``)::

    {"Stripe": {"AuthorizationType": "API_KEY",
                "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "Authorization",
                                                            "ApiKeyValue": "Bearer sk_test"}}}}

given as ``HttpIntegration(connections=...)`` or in the file named by the environment variable
``DURABLE_HTTP_CONNECTIONS``. As EventBridge does (facts from its documentation):

- ``BASIC`` adds ``Authorization: Basic base64(user:password)``; ``API_KEY`` adds the header
  ``ApiKeyName: ApiKeyValue``; ``OAUTH_CLIENT_CREDENTIALS`` asks the ``AuthorizationEndpoint``
  (``HttpMethod``, the client id and secret as a Basic ``Authorization`` header and
  ``OAuthHttpParameters``) for a token, adds ``Authorization: Bearer <access_token>``, keeps
  the token and fetches a new one when the API answers 401 or 407;
- ``InvocationHttpParameters`` (header, query string and body parameters) are added to every
  request and take precedence over the task's own values; body parameters go into a JSON object
  body or a URL-encoded form body.

A task naming a connection that is not configured is sent without it (and a warning is logged
once per connection), so definitions written for AWS run unchanged against local endpoints.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable import TaskFailed

__all__ = ["ENVIRONMENT_VARIABLE", "Connection", "Connections"]

ENVIRONMENT_VARIABLE = "DURABLE_HTTP_CONNECTIONS"
_TYPES = ("BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS")


def _pairs(raw: Any, where: str) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, dict) and "Key" in p for p in raw):
        raise ValueError(f"{where}: a list of {{'Key', 'Value'}} objects")
    return [(str(p["Key"]), str(p.get("Value", ""))) for p in raw]


@dataclass(frozen=True, slots=True)
class HttpParameters:
    """``ConnectionHttpParameters``: headers, query string and body parameters."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    query: list[tuple[str, str]] = field(default_factory=list)
    body: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> HttpParameters:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: an object")
        return cls(
            _pairs(raw.get("HeaderParameters"), f"{where}.HeaderParameters"),
            _pairs(raw.get("QueryStringParameters"), f"{where}.QueryStringParameters"),
            _pairs(raw.get("BodyParameters"), f"{where}.BodyParameters"),
        )


@dataclass(slots=True)
class Connection:
    """One connection: how requests are authorized, and the parameters added to them."""

    name: str
    authorization_type: str
    auth: dict[str, Any]
    invocation: HttpParameters
    oauth_token: str | None = None  # the access token last fetched (OAuth client credentials)

    @classmethod
    def from_dict(cls, name: str, raw: Any) -> Connection:
        where = f"connection {name!r}"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: an object with AuthorizationType and AuthParameters")
        kind = raw.get("AuthorizationType")
        if kind not in _TYPES:
            raise ValueError(f"{where}: AuthorizationType must be one of {', '.join(_TYPES)}")
        params = raw.get("AuthParameters") or {}
        if not isinstance(params, dict):
            raise ValueError(f"{where}: AuthParameters must be an object")
        needed = {
            "BASIC": ("BasicAuthParameters", ("Username", "Password")),
            "API_KEY": ("ApiKeyAuthParameters", ("ApiKeyName", "ApiKeyValue")),
            "OAUTH_CLIENT_CREDENTIALS": ("OAuthParameters", ("AuthorizationEndpoint", "HttpMethod")),
        }[kind]
        auth = params.get(needed[0])
        if not isinstance(auth, dict) or any(key not in auth for key in needed[1]):
            raise ValueError(f"{where}: AuthParameters.{needed[0]} needs {', '.join(needed[1])}")
        if kind == "OAUTH_CLIENT_CREDENTIALS":
            client = auth.get("ClientParameters")
            if not isinstance(client, dict) or "ClientID" not in client:
                raise ValueError(
                    f"{where}: OAuthParameters.ClientParameters needs ClientID (and ClientSecret)"
                )
        invocation = HttpParameters.from_dict(
            params.get("InvocationHttpParameters"), f"{where}: InvocationHttpParameters"
        )
        return cls(name, kind, auth, invocation)

    def static_headers(self) -> list[tuple[str, str]]:
        """The authorization header of a BASIC or API_KEY connection (OAuth's comes later)."""
        if self.authorization_type == "BASIC":
            secret = f"{self.auth['Username']}:{self.auth['Password']}".encode()
            return [("Authorization", "Basic " + base64.b64encode(secret).decode())]
        if self.authorization_type == "API_KEY":
            return [(str(self.auth["ApiKeyName"]), str(self.auth["ApiKeyValue"]))]
        return []

    def token_request(self) -> tuple[str, str, dict[str, str], list[tuple[str, str]], bytes | None]:
        """The OAuth token request: method, endpoint, headers, query and body."""
        client = self.auth["ClientParameters"]
        secret = f"{client['ClientID']}:{client.get('ClientSecret', '')}".encode()
        extra = HttpParameters.from_dict(self.auth.get("OAuthHttpParameters"), "OAuthHttpParameters")
        headers = {"Authorization": "Basic " + base64.b64encode(secret).decode()}
        headers.update(extra.headers)
        body: bytes | None = None
        if extra.body:
            body = json.dumps(dict(extra.body)).encode()
            headers.setdefault("Content-Type", "application/json")
        return (
            str(self.auth["HttpMethod"]).upper(),
            str(self.auth["AuthorizationEndpoint"]),
            headers,
            extra.query,
            body,
        )

    def accept_token(self, status: int, raw: bytes) -> str:
        """Keep the access token of the authorization endpoint's answer (or fail the task)."""
        if not 200 <= status < 300:
            raise TaskFailed(
                "States.Http.Socket",
                f"the OAuth authorization endpoint of connection {self.name!r} answered {status}",
            )
        try:
            token = json.loads(raw).get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise TaskFailed(
                "States.Http.Socket",
                f"the OAuth authorization endpoint of connection {self.name!r} returned no access_token",
            )
        self.oauth_token = token
        return token


class Connections:
    """The configured connections, found by ARN or by name."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._by_key: dict[str, Connection] = {}
        for key, raw in (config or {}).items():
            self._by_key[str(key)] = Connection.from_dict(_name(str(key)), raw)
        self.warned: set[str] = set()

    @classmethod
    def from_environment(cls) -> Connections:
        path = os.environ.get(ENVIRONMENT_VARIABLE)
        if not path:
            return cls()
        try:
            config = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: cannot read {path}: {exc}") from None
        if not isinstance(config, dict):
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: {path} must hold a JSON object")
        return cls(config)

    def find(self, arn: str) -> Connection | None:
        return self._by_key.get(arn) or self._by_key.get(_name(arn))

    def __len__(self) -> int:
        return len(self._by_key)


def _name(arn_or_name: str) -> str:
    """``arn:aws:events:r:a:connection/Name/uuid`` → ``Name`` (a bare name stays as it is)."""
    if ":connection/" in arn_or_name:
        return arn_or_name.split(":connection/", 1)[1].split("/", 1)[0]
    return arn_or_name
