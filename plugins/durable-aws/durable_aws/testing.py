"""A moto server for tests and examples: a real HTTP endpoint on 127.0.0.1, in a subprocess.

    with moto_server() as endpoint:
        engine.add_integration(AwsIntegration(endpoint_url=endpoint, region="us-east-1"))

Needs ``moto[server]``. Set fake credentials (``AWS_ACCESS_KEY_ID=testing`` ...) or pass a
``boto3.Session`` with them; moto accepts any.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["FAKE_CREDENTIALS", "configure", "moto_server"]

#: credentials moto accepts (any are accepted; these are the conventional ones)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure(endpoint: str, settings: Mapping[str, Any]) -> None:
    """Change the running server's settings, e.g. ``{"lambda": {"use_docker": False}}`` (Lambda
    then answers with the event it was given, without running code)."""
    body = json.dumps(dict(settings)).encode()
    request = urllib.request.Request(endpoint + "/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@contextlib.contextmanager
def moto_server(*, startup_timeout: float = 30.0, python: str | None = None) -> Iterator[str]:
    """Start ``python -m moto.server`` on a free port of 127.0.0.1, wait until it answers, yield
    its URL, and stop it when the block ends."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, **FAKE_CREDENTIALS}
    process = subprocess.Popen(
        [python or sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited with status {process.returncode}")
            try:
                with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {endpoint}") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
