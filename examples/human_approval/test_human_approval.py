"""The human-approval example, exactly as README.md runs it: real ``durable`` processes.

An engine process runs the workflow until it waits for an approver; the engine is killed
with SIGKILL and restarted; the approval sent from another process finishes the execution.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FUNCTIONS = [
    arg
    for name in ("CheckApplication", "NotifyApprover", "OpenAccount")
    for arg in ("--function", f"{name}=functions:{name}")
]
EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:HumanApproval:"
RISKY = {"application": {"name": "Ada Lovelace", "initialDeposit": 50000}}
LOW_RISK = {"application": {"name": "Bob Builder", "initialDeposit": 200}}


def durable(cwd: Path, *args: str, timeout: float = 60) -> Any:
    """Run ``durable ARGS`` to completion; its JSON output (exit code 0 or 1 expected)."""
    proc = subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def start_engine(cwd: Path) -> subprocess.Popen[str]:
    log = (cwd / "engine.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "durable.api.cli", "run-engine", *FUNCTIONS],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)
    return path.read_text()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A copy of the example folder (the engine writes durable.db and approvals/ there)."""
    for name in ("definition.asl.json", "functions.py"):
        shutil.copy(HERE / name, tmp_path / name)
    env_db = os.environ.pop("DURABLE_DB", None)
    yield tmp_path
    if env_db is not None:
        os.environ["DURABLE_DB"] = env_db


def test_approval_survives_a_killed_engine(workdir: Path) -> None:
    engines: list[subprocess.Popen[str]] = []
    try:
        engines.append(start_engine(workdir))
        started = durable(
            workdir, "start", "definition.asl.json", "--machine-name", "HumanApproval",
            "--name", "ada", "--input", json.dumps(RISKY),
        )  # fmt: skip
        assert started["executionArn"] == EXECUTION + "ada"

        token = wait_for(workdir / "approvals" / "ada.token")  # NotifyApprover ran in the engine
        engines[0].send_signal(signal.SIGKILL)
        engines[0].wait(timeout=10)
        assert durable(workdir, "describe", EXECUTION + "ada")["status"] == "RUNNING"

        engines.append(start_engine(workdir))
        answer = json.dumps({"approved": True, "approver": "Grace"})
        sent = durable(workdir, "send-task-success", token, "--output", answer, *FUNCTIONS, "--wait", "30")
        assert sent["status"] == "SUCCEEDED", sent

        described = durable(workdir, "describe", EXECUTION + "ada")
        assert described["status"] == "SUCCEEDED"
        assert described["output"] == {
            "status": "OPENED",
            "applicant": "Ada Lovelace",
            "accountNumber": "ACC-12321015",
            "reviewed": True,
            "approver": "Grace",
        }
        events = durable(workdir, "history", EXECUTION + "ada")["events"]
        types = [e["type"] for e in events]
        assert types.count("TaskSubmitted") == 1 and types.count("TaskSucceeded") == 1
        assert types.index("TaskSubmitted") < types.index("TaskSucceeded")
        succeeded = next(e for e in events if e["type"] == "TaskSucceeded")
        assert json.loads(succeeded["taskSucceededEventDetails"]["output"]) == json.loads(answer)
        assert types[-1] == "ExecutionSucceeded"
        assert types.count("LambdaFunctionSucceeded") == 2  # CheckApplication, OpenAccount: once each

        # a low-risk application needs no approver: straight to OpenAccount
        low = durable(
            workdir, "start", "definition.asl.json", "--machine-name", "HumanApproval",
            "--name", "bob", "--input", json.dumps(LOW_RISK), "--wait", "30",
        )  # fmt: skip
        assert low["status"] == "SUCCEEDED"
        assert low["output"]["reviewed"] is False and low["output"]["applicant"] == "Bob Builder"
        assert not (workdir / "approvals" / "bob.token").exists()

        # a rejection fails the execution with ApplicationRejected
        durable(
            workdir, "start", "definition.asl.json", "--machine-name", "HumanApproval",
            "--name", "eve", "--input", json.dumps({"application": {"name": "Eve", "manualReview": True}}),
        )  # fmt: skip
        token = wait_for(workdir / "approvals" / "eve.token")
        rejected = durable(
            workdir, "send-task-success", token, "--output", '{"approved": false}', "--wait", "30"
        )
        assert (rejected["status"], rejected["error"]) == ("FAILED", "ApplicationRejected")
    finally:
        for engine in engines:
            if engine.poll() is None:
                engine.kill()
            engine.wait(timeout=10)
