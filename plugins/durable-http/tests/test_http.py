"""The HTTP Task plugin against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from durable_http import HttpIntegration

from durable import Engine, ManualClock
from durable.integrations.registry import ENTRY_POINT_GROUP, IntegrationRegistry


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"message": "no such thing"}')
            return
        payload = json.dumps({"method": self.command, "path": self.path, "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _reply


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def machine(parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": parameters,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Pass", "End": True},
        },
    }


async def run(definition: dict[str, Any], value: Any = None) -> Any:
    async with Engine(clock=ManualClock(), load_plugins=False) as engine:
        engine.add_integration(HttpIntegration(timeout=5))
        sm = await engine.create_state_machine("http", definition, type="EXPRESS")
        return await engine.start_sync_execution(sm.arn, value or {})


async def test_post_json_and_parse_the_response(server: str) -> None:
    result = await run(
        machine(
            {
                "ApiEndpoint.$": "$.url",
                "Method": "POST",
                "QueryParameters": {"q": "a b"},
                "RequestBody": {"hello": "world"},
            }
        ),
        {"url": server + "/things"},
    )
    assert str(result.status) == "SUCCEEDED"
    assert result.output["StatusCode"] == 200
    assert result.output["StatusText"] == "OK"
    body = result.output["ResponseBody"]
    assert body["method"] == "POST" and body["path"] == "/things?q=a+b"
    assert json.loads(body["body"]) == {"hello": "world"}


async def test_non_2xx_fails_with_the_status_code(server: str) -> None:
    result = await run(machine({"ApiEndpoint": server + "/missing", "Method": "GET"}))
    assert result.output == {"Error": "States.Http.StatusCode.404", "Cause": '{"message": "no such thing"}'}


async def test_connection_refused_is_a_socket_error() -> None:
    result = await run(machine({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "GET"}))
    assert result.output["Error"] == "States.Http.Socket"


def test_the_distribution_declares_its_entry_point() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert f'[project.entry-points."{ENTRY_POINT_GROUP}"]' in text
    assert 'http = "durable_http:HttpIntegration"' in text


def test_the_registry_loads_it_through_the_entry_point() -> None:
    from importlib.metadata import EntryPoint

    ep = EntryPoint(name="http", value="durable_http:HttpIntegration", group=ENTRY_POINT_GROUP)
    registry = IntegrationRegistry(loader=lambda: [ep])
    assert registry.resolve("arn:aws:states:::http:invoke").name == "http"
