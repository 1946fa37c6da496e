"""A ``durable serve`` app on a free 127.0.0.1 port (uvicorn in a thread) over a temporary
SQLite database, and unchanged boto3 clients pointed at it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from durable import Engine
from durable.server import SigV4Verifier, create_app

ROLE = "arn:aws:iam::111111111111:role/test"
PASS = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'


class Served:
    """One running server: its URL, its engine, and a way to stop it."""

    def __init__(self, engine: Engine, verifier: SigV4Verifier | None = None, test_cases: Any = None) -> None:
        self.engine = engine
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(engine, verifier=verifier, test_cases=test_cases),
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)

    def client(self, **kw: Any) -> Any:
        config = kw.pop("config", None) or Config(
            retries={"max_attempts": 1}, read_timeout=70, inject_host_prefix=False
        )
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=kw.pop("key", "AKIDTEST"),
            aws_secret_access_key=kw.pop("secret", "secret"),
            config=config,
            **kw,
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = Path(tmp_path_factory.mktemp("serve")) / "serve.db"
    server = Served(Engine(f"sqlite:///{db}", seed=7))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sfn(served: Served) -> Any:
    return served.client()


def wait_done(sfn: Any, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)
