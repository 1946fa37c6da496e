"""The AWS CLI (v1, unchanged) against ``durable serve``: create, start, describe, history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASS, ROLE, Served

pytest.importorskip("awscli")


def _aws(served: Served, tmp_path: Path, *args: str) -> Any:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="AKIDTEST",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",  # sync-127.0.0.1 does not resolve
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "stepfunctions",
            "--endpoint-url",
            served.url,
            "--output",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_aws_cli_round_trip(served: Served, tmp_path: Path) -> None:
    created = _aws(
        served,
        tmp_path,
        "create-state-machine",
        "--name",
        "from-cli",
        "--definition",
        PASS,
        "--role-arn",
        ROLE,
    )
    arn = created["stateMachineArn"]
    started = _aws(
        served, tmp_path, "start-execution", "--state-machine-arn", arn, "--input", '{"cli": true}'
    )
    deadline = time.monotonic() + 20
    while True:
        described = _aws(served, tmp_path, "describe-execution", "--execution-arn", started["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"cli": True}
    history = _aws(served, tmp_path, "get-execution-history", "--execution-arn", started["executionArn"])
    assert history["events"][0]["type"] == "ExecutionStarted"
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
