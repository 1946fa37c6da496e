"""The HTTP Task plugin against real HTTP servers on 127.0.0.1: what it does, and what it refuses."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from durable_http import DestinationPolicy, HttpIntegration

from durable import Engine, ManualClock
from durable.integrations.registry import ENTRY_POINT_GROUP, IntegrationRegistry
from durable.testing.plugin_kit import check_contract, run_task

LOCAL = DestinationPolicy(allow_http=True, allow_hosts=frozenset({"127.0.0.1"}))
seen_paths: list[str] = []
disconnected = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self) -> None:
        seen_paths.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"message": "no such thing"}')
            return
        if self.path.startswith("/redirect-to?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.end_headers()
            return
        if self.path.startswith("/huge"):  # 50 MiB, streamed
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(50 * 16):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                disconnected.set()
            return
        if self.path.startswith("/slow"):
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x" * 10)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                disconnected.set()
            return
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": body,
                "host": self.headers.get("Host"),
                "traceparent": self.headers.get("traceparent"),
                "xray": self.headers.get("X-Amzn-Trace-Id"),
            }
        ).encode()
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
    seen_paths.clear()
    disconnected.clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def machine(parameters: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": parameters,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
                **task,
            },
            "Failed": {"Type": "Pass", "End": True},
        },
    }


async def run(definition: dict[str, Any], value: Any = None, policy: DestinationPolicy = LOCAL) -> Any:
    async with Engine(clock=ManualClock(autojump=0.05), load_plugins=False) as engine:
        engine.add_integration(HttpIntegration(timeout=5, policy=policy))
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
    assert body["host"] == server.removeprefix("http://")  # the name asked for, not just the address


async def test_non_2xx_fails_with_the_status_code(server: str) -> None:
    result = await run(machine({"ApiEndpoint": server + "/missing", "Method": "GET"}))
    assert result.output == {"Error": "States.Http.StatusCode.404", "Cause": '{"message": "no such thing"}'}


async def test_connection_refused_is_a_socket_error() -> None:
    result = await run(machine({"ApiEndpoint": "http://127.0.0.1:9/", "Method": "GET"}))
    assert result.output["Error"] == "States.Http.Socket"


async def test_redirects_are_followed_within_the_policy(server: str) -> None:
    result = await run(machine({"ApiEndpoint": server + "/redirect-to?/landed", "Method": "GET"}))
    assert result.output["ResponseBody"]["path"] == "/landed"


# --- refused by default ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("http://example.com/", "plain http is not allowed"),
        ("https://127.0.0.1/", "loopback address"),
        ("https://localhost/", "loopback address"),
        ("https://2130706433/", "loopback address"),  # 127.0.0.1 written as one decimal number
        ("https://0x7f.1/", "loopback address"),
        ("https://10.1.2.3/", "private address"),
        ("https://192.168.0.1/", "private address"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]/", "loopback address"),
        ("https://[::ffff:127.0.0.1]/", "loopback address"),
        ("https://[fd00:ec2::254]/", "private address"),
        ("https://100.64.0.1/", "shared"),
        ("https://0.0.0.0/", "unspecified"),
    ],
)
async def test_the_default_policy_refuses_unsafe_destinations(endpoint: str, fragment: str) -> None:
    result = await run(
        machine({"ApiEndpoint.$": "$.url", "Method": "GET"}), {"url": endpoint}, DestinationPolicy()
    )
    assert result.output["Error"] == "States.Http.Socket", result.output
    assert fragment in result.output["Cause"], result.output["Cause"]


async def test_a_redirect_to_an_internal_address_is_refused(server: str) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    result = await run(machine({"ApiEndpoint": server + "/redirect-to?" + target, "Method": "GET"}))
    assert result.output["Error"] == "States.Http.Socket"
    assert "link-local" in result.output["Cause"]


async def test_a_huge_response_is_cut_off_while_it_streams(server: str) -> None:
    result = await run(machine({"ApiEndpoint": server + "/huge", "Method": "GET"}))
    assert result.output["Error"] == "States.DataLimitExceeded"
    assert disconnected.wait(10), "the server noticed the socket closed before it sent 50 MiB"


async def test_a_task_timeout_closes_the_socket(server: str) -> None:
    result = await run(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {"ApiEndpoint": server + "/slow", "Method": "GET"},
                    "TimeoutSeconds": 1,
                    "End": True,
                }
            },
        }
    )
    assert result.error == "States.Timeout"
    assert disconnected.wait(10), "the server's writes failed: the socket was closed"


def test_the_policy_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_HTTP_ALLOW_HOSTS", "127.0.0.1, localhost,10.0.0.0/8")
    monkeypatch.setenv("DURABLE_HTTP_ALLOW_HTTP", "1")
    policy = HttpIntegration().policy
    assert policy.allow_http and policy.allow_hosts == {"127.0.0.1", "localhost", "10.0.0.0/8"}
    import ipaddress

    policy.check_address("internal", ipaddress.ip_address("10.9.9.9"))  # allowed by network


def test_the_distribution_declares_its_entry_point() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert f'[project.entry-points."{ENTRY_POINT_GROUP}"]' in text
    assert 'http = "durable_http:HttpIntegration"' in text


def test_the_registry_loads_it_through_the_entry_point() -> None:
    from importlib.metadata import EntryPoint

    ep = EntryPoint(name="http", value="durable_http:HttpIntegration", group=ENTRY_POINT_GROUP)
    registry = IntegrationRegistry(loader=lambda: [ep])
    assert registry.resolve("arn:aws:states:::http:invoke").name == "http"


def test_localhost_resolves_here() -> None:
    assert socket.getaddrinfo("localhost", 443)  # the loopback cases above rely on it


async def test_the_plugin_kit_contract_and_a_standard_task(server: str, tmp_path: Any) -> None:
    """The plugin author's kit (durable.testing.plugin_kit) against this plugin: the contract, and
    one Standard task through a real engine on SQLite."""
    integration = HttpIntegration(timeout=5, policy=LOCAL)
    check_contract(integration, ["arn:aws:states:::http:invoke"])
    done = await run_task(
        integration,
        "arn:aws:states:::http:invoke",
        {"ApiEndpoint.$": "$.url", "Method": "GET"},
        input={"url": server + "/kit"},
        db=tmp_path / "kit.db",
    )
    assert str(done.status) == "SUCCEEDED" and done.output["StatusCode"] == 200
    assert [e["type"] for e in done.history or []][-1] == "ExecutionSucceeded"


async def test_the_trace_context_is_sent_as_traceparent_and_x_amzn_trace_id(server: str) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    async with Engine(clock=ManualClock(autojump=0.05), load_plugins=False, tracing=provider) as engine:
        engine.add_integration(HttpIntegration(timeout=5, policy=LOCAL))
        sm = await engine.create_state_machine("traced", machine({"ApiEndpoint": server, "Method": "GET"}))
        started = await engine.start_execution(sm.arn, {}, trace_header=header)
        done = await engine.wait_for_execution(started.execution_arn)
    body = done.output["ResponseBody"]
    (call,) = [
        s for s in exporter.get_finished_spans() if s.attributes and "durable.task.attempt" in s.attributes
    ]
    span_id = f"{call.context.span_id:016x}"
    assert body["traceparent"] == f"00-5759e988bd862e3fe1be46a994272793-{span_id}-01"
    assert body["xray"] == f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={span_id};Sampled=1"
    # without tracing, nothing is added
    plain = await run(machine({"ApiEndpoint": server, "Method": "GET"}))
    assert plain.output["ResponseBody"]["traceparent"] is None
