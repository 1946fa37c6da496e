"""``durable ui`` as a process: it serves the pages of an existing database on 127.0.0.1, reads
it through a Client (an execution started meanwhile stays parked: nothing runs it), and refuses
a remote address or a missing database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from durable import Client, Engine

from .conftest import ORDER, free_socket

ROOT = Path(__file__).resolve().parents[2]


def _durable(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _fill(db: Path) -> str:
    async with Engine(f"sqlite:///{db}") as engine:
        engine.register_function("check", lambda event, context: {**event, "ok": True})
        machine = await engine.create_state_machine("orders", ORDER)
        await engine.wait_for_execution(
            (await engine.start_execution(machine.arn, {}, name="done")).execution_arn
        )
    async with Client(f"sqlite:///{db}") as client:  # no engine runs it: it stays RUNNING
        return (await client.start_execution(machine.arn, {}, name="parked")).execution_arn


def test_durable_ui_serves_a_database_read_only(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    parked = asyncio.run(_fill(db))
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = _durable("ui", "--db", str(db), "--port", str(port), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "durable ui did not start"
                time.sleep(0.1)
        assert page.status_code == 200 and ">orders</a>" in page.text
        listed = httpx.get(f"http://127.0.0.1:{port}/executions", timeout=5).text
        assert ">done</a>" in listed and ">parked</a>" in listed
        time.sleep(0.5)
        state = httpx.get(f"http://127.0.0.1:{port}/api/execution", params={"arn": parked}, timeout=5).json()
        assert state == {"status": "RUNNING", "events": 1, "states": {}}  # nothing ran it
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_durable_ui_refuses_a_remote_address_and_a_missing_database(tmp_path: Path) -> None:
    (tmp_path / "app.db").write_bytes(b"")
    remote = _durable("ui", "--db", "app.db", "--host", "0.0.0.0", cwd=tmp_path)
    _, err = remote.communicate(timeout=60)
    assert remote.returncode == 2 and "--allow-remote" in err
    missing = _durable("ui", "--db", "nope.db", cwd=tmp_path)
    _, err = missing.communicate(timeout=60)
    assert missing.returncode == 2 and "no database" in err
