"""boto3 clients: credentials, regions, endpoints, and one cached client per combination.

Credentials come from the default chain of the boto3 ``Session`` (environment, profile, container
or instance role), or — for a Task with ``Credentials: {"RoleArn": ...}`` — from STS AssumeRole,
cached until shortly before they expire. Endpoints: boto3 already honours ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``; ``endpoints={"sqs": ...}`` and ``endpoint_url=...`` given to the
integration take precedence. Clients are thread-safe and shared; sessions are not, so clients are
created under a lock. Everything here blocks: call it from a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["RAW_HEADERS", "Clients"]

#: where each response's headers, as the server spelled them, are kept (in ResponseMetadata)
RAW_HEADERS = "DurableRawHeaders"
#: assumed-role credentials are renewed this long before they expire
_REFRESH_MARGIN = 300.0
_DEFAULT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra="durable-aws",
    # the service validates the request, as it does for Step Functions: its error names are AWS's
    parameter_validation=False,
)


@dataclass(frozen=True, slots=True)
class _Assumed:
    access_key: str
    secret_key: str
    token: str
    expires: float


def _keep_raw_headers(http_response: Any = None, parsed: Any = None, **_: Any) -> None:
    raw = getattr(http_response, "raw", None)
    headers = getattr(raw, "headers", None)
    if headers is None or not isinstance(parsed, dict):
        return
    parsed.setdefault("ResponseMetadata", {})[RAW_HEADERS] = [(str(k), str(v)) for k, v in headers.items()]


class Clients:
    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        endpoints: Mapping[str, str] | None = None,
        config: Config | None = None,
        role_session_name: str = "durable",
    ) -> None:
        self._session = session or boto3.Session()
        self._region = region
        self._endpoint_url = endpoint_url
        self._endpoints = dict(endpoints or {})
        self._config = _DEFAULT_CONFIG.merge(config) if config is not None else _DEFAULT_CONFIG
        self._role_session_name = role_session_name
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str | None, str | None], tuple[Any, float]] = {}
        self._assumed: dict[str, _Assumed] = {}

    def region(self, preferred: str | None, fallback: str | None) -> str:
        """The region of a call: the resource's own, else the integration's, the session's, the
        execution's, else ``us-east-1``."""
        return preferred or self._region or self._session.region_name or fallback or "us-east-1"

    def endpoint(self, service: str, sdk_name: str | None = None) -> str | None:
        for key in (service, sdk_name):
            if key and key in self._endpoints:
                return self._endpoints[key]
        return self._endpoint_url

    def client(self, service: str, region: str, credentials: Any = None, sdk_name: str | None = None) -> Any:
        """A boto3 client for ``service`` in ``region``, as the Task's ``Credentials`` ask."""
        role = _role_arn(credentials)
        endpoint = self.endpoint(service, sdk_name)
        key = (service, region, endpoint, role)
        now = time.time()
        with self._lock:
            hit = self._clients.get(key)
            if hit is not None and hit[1] > now:
                return hit[0]
            extra: dict[str, Any] = {}
            expires = float("inf")
            if role is not None:
                assumed = self._assume(role, region)
                extra = {
                    "aws_access_key_id": assumed.access_key,
                    "aws_secret_access_key": assumed.secret_key,
                    "aws_session_token": assumed.token,
                }
                expires = assumed.expires - _REFRESH_MARGIN
            client = self._session.client(
                service, region_name=region, endpoint_url=endpoint, config=self._config, **extra
            )
            client.meta.events.register("after-call", _keep_raw_headers)
            self._clients[key] = (client, expires)
            return client

    def _assume(self, role_arn: str, region: str) -> _Assumed:
        cached = self._assumed.get(role_arn)
        if cached is not None and cached.expires - _REFRESH_MARGIN > time.time():
            return cached
        sts = self._session.client(
            "sts", region_name=region, endpoint_url=self.endpoint("sts"), config=self._config
        )
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=self._role_session_name)
        creds = answer["Credentials"]
        assumed = _Assumed(
            creds["AccessKeyId"],
            creds["SecretAccessKey"],
            creds["SessionToken"],
            creds["Expiration"].timestamp(),
        )
        self._assumed[role_arn] = assumed
        return assumed


def _role_arn(credentials: Any) -> str | None:
    if isinstance(credentials, Mapping):
        role = credentials.get("RoleArn")
        if isinstance(role, str) and role:
            return role
    return None
