"""EventBridge connections configured locally, the headers AWS refuses, and TestState's TRACE
view of the raw exchange (with and without revealSecrets) — against a real HTTP server."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from durable_http import Connections, DestinationPolicy, HttpIntegration

from durable import Engine, ManualClock

LOCAL = DestinationPolicy(allow_http=True, allow_hosts=frozenset({"127.0.0.1"}))
CONNECTION = "arn:aws:events:us-east-1:123456789012:connection/Shop/0d5c5e2a-1111-2222-3333-444455556666"
tokens_issued: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/token"):
            tokens_issued.append({"authorization": self.headers.get("Authorization"), "path": self.path})
            self._json(200, {"access_token": f"tok-{len(tokens_issued)}", "token_type": "bearer"})
            return
        if self.path.startswith("/expiring") and self.headers.get("Authorization") == "Bearer tok-1":
            self._json(401, {"message": "token expired"})
            return
        self._json(
            200,
            {
                "path": self.path,
                "body": body,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            },
        )

    def _json(self, status: int, value: Any) -> None:
        payload = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _reply


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    tokens_issued.clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def task(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": parameters, "End": True}


def machine(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": task(parameters)}}


async def run(connections: dict[str, Any] | None, parameters: dict[str, Any]) -> Any:
    async with Engine(clock=ManualClock(autojump=0.05), load_plugins=False) as engine:
        engine.add_integration(HttpIntegration(timeout=5, policy=LOCAL, connections=connections or {}))
        sm = await engine.create_state_machine("http", machine(parameters), type="EXPRESS")
        return await engine.start_sync_execution(sm.arn, {})


API_KEY = {
    "Shop": {
        "AuthorizationType": "API_KEY",
        "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "X-Tenant", "Value": "from-connection", "IsValueSecret": False}],
                "QueryStringParameters": [{"Key": "region", "Value": "eu"}],
                "BodyParameters": [{"Key": "signed", "Value": "yes"}],
            },
        },
    }
}


async def test_an_api_key_connection_adds_its_header_and_parameters(server: str) -> None:
    result = await run(
        API_KEY,
        {
            "ApiEndpoint": server + "/orders",
            "Method": "POST",
            "Authentication": {"ConnectionArn": CONNECTION},  # found by the connection's name
            "Headers": {"x-tenant": "from-task", "X-Trace": "t1"},
            "QueryParameters": {"region": "us", "page": "2"},
            "RequestBody": {"order": 7},
        },
    )
    assert str(result.status) == "SUCCEEDED", result.error
    echo = result.output["ResponseBody"]
    assert echo["headers"]["x-api-key"] == "s3cret"
    assert echo["headers"]["x-tenant"] == "from-connection"  # the connection's value wins
    assert echo["headers"]["x-trace"] == "t1"
    assert echo["path"] == "/orders?page=2&region=eu"
    assert json.loads(echo["body"]) == {"order": 7, "signed": "yes"}


async def test_a_basic_connection_sends_basic_authorization(server: str) -> None:
    basic = {
        CONNECTION: {
            "AuthorizationType": "BASIC",
            "AuthParameters": {"BasicAuthParameters": {"Username": "ann", "Password": "pw"}},
        }
    }
    result = await run(
        basic,
        {"ApiEndpoint": server + "/me", "Method": "GET", "Authentication": {"ConnectionArn": CONNECTION}},
    )
    expected = "Basic " + base64.b64encode(b"ann:pw").decode()
    assert result.output["ResponseBody"]["headers"]["authorization"] == expected


async def test_an_oauth_connection_fetches_a_token_and_refreshes_it_on_401(server: str) -> None:
    oauth = {
        "Shop": {
            "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {
                "OAuthParameters": {
                    "AuthorizationEndpoint": server + "/token",
                    "HttpMethod": "POST",
                    "ClientParameters": {"ClientID": "app", "ClientSecret": "shh"},
                    "OAuthHttpParameters": {
                        "QueryStringParameters": [{"Key": "grant_type", "Value": "client_credentials"}]
                    },
                }
            },
        }
    }
    result = await run(
        oauth,
        {
            "ApiEndpoint": server + "/expiring",
            "Method": "GET",
            "Authentication": {"ConnectionArn": CONNECTION},
        },
    )
    assert str(result.status) == "SUCCEEDED", result.error
    assert result.output["ResponseBody"]["headers"]["authorization"] == "Bearer tok-2"
    assert len(tokens_issued) == 2  # the first token was refused with 401, so a second was fetched
    assert tokens_issued[0]["authorization"] == "Basic " + base64.b64encode(b"app:shh").decode()
    assert tokens_issued[0]["path"] == "/token?grant_type=client_credentials"


async def test_an_unconfigured_connection_sends_the_request_without_it(server: str) -> None:
    result = await run(
        None,
        {"ApiEndpoint": server + "/open", "Method": "GET", "Authentication": {"ConnectionArn": CONNECTION}},
    )
    assert str(result.status) == "SUCCEEDED"
    assert "authorization" not in result.output["ResponseBody"]["headers"]


@pytest.mark.parametrize(
    "header", ["Authorization", "Host", "x-amz-date", "X-Forwarded-For", "Cache-Control"]
)
async def test_headers_aws_refuses_fail_the_task_with_states_runtime(server: str, header: str) -> None:
    result = await run(None, {"ApiEndpoint": server + "/x", "Method": "GET", "Headers": {header: "v"}})
    assert result.error == "States.Runtime"
    assert header.lower() in (result.cause or "")


def test_a_malformed_connection_is_refused_when_configured() -> None:
    with pytest.raises(ValueError, match="ApiKeyAuthParameters needs ApiKeyName, ApiKeyValue"):
        Connections(
            {"Shop": {"AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {}}}}
        )
    with pytest.raises(ValueError, match="AuthorizationType must be one of"):
        Connections({"Shop": {"AuthorizationType": "DIGEST"}})


def test_connections_are_read_from_the_environment(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(API_KEY))
    monkeypatch.setenv("DURABLE_HTTP_CONNECTIONS", str(path))
    assert HttpIntegration().connections.find(CONNECTION) is not None


# --- TestState at TRACE ----------------------------------------------------------------------------


async def trace(server: str, reveal: bool) -> dict[str, Any]:
    async with Engine(clock=ManualClock(autojump=0.05), load_plugins=False) as engine:
        engine.add_integration(HttpIntegration(timeout=5, policy=LOCAL, connections=API_KEY))
        result = await engine.test_state(
            task(
                {
                    "ApiEndpoint": server + "/orders",
                    "Method": "POST",
                    "Authentication": {"ConnectionArn": CONNECTION},
                    "QueryParameters": {"page": "2"},
                    "RequestBody": {"order": 7},
                }
            ),
            role_arn="arn:aws:iam::123456789012:role/test",
            inspection_level="TRACE",
            reveal_secrets=reveal,
        )
        assert result.status == "SUCCEEDED"
        return result.to_dict()["inspectionData"]


async def test_trace_shows_the_raw_exchange_without_the_connections_secrets(server: str) -> None:
    data = await trace(server, reveal=False)
    request, response = data["request"], data["response"]
    assert request["protocol"] == "http" and request["method"] == "POST"
    assert request["url"] == server + "/orders?page=2"  # not the connection's query parameter
    assert "x-api-key" not in request["headers"] and "s3cret" not in request["headers"]
    assert "X-Tenant" not in request["headers"]
    assert json.loads(request["body"]) == {"order": 7}
    assert response["statusCode"] == "200" and response["statusMessage"] == "OK"
    assert "Content-Type: application/json" in response["headers"]
    echoed = json.loads(response["body"])  # the response is never redacted
    assert echoed["headers"]["x-api-key"] == "s3cret"


async def test_trace_with_reveal_secrets_shows_what_the_connection_added(server: str) -> None:
    request = (await trace(server, reveal=True))["request"]
    assert request["url"] == server + "/orders?page=2&region=eu"
    assert "x-api-key: s3cret" in request["headers"] and "X-Tenant: from-connection" in request["headers"]
    assert json.loads(request["body"]) == {"order": 7, "signed": "yes"}


async def test_debug_level_records_no_exchange(server: str) -> None:
    async with Engine(clock=ManualClock(autojump=0.05), load_plugins=False) as engine:
        engine.add_integration(HttpIntegration(timeout=5, policy=LOCAL))
        result = await engine.test_state(
            task({"ApiEndpoint": server + "/x", "Method": "GET"}),
            role_arn="arn:aws:iam::123456789012:role/test",
            inspection_level="DEBUG",
        )
        assert "request" not in result.inspection_data and "response" not in result.inspection_data
