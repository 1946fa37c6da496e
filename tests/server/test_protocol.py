"""The wire protocol itself: unknown operations, bad bodies, limits, SigV4, the sync- host prefix,
the command line's refusal to listen remotely without authentication."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from durable import Engine
from durable.server import SigV4Verifier

from .conftest import PASS, ROLE, Served
from .test_machines import code

ROOT = Path(__file__).resolve().parents[2]


def _post(served: Served, body: bytes, target: str = "AWSStepFunctions.ListStateMachines") -> httpx.Response:
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
    return httpx.post(served.url + "/", content=body, headers=headers, timeout=30)


def test_unknown_operation_bad_json_and_oversized_bodies(served: Served) -> None:
    unknown = _post(served, b"{}", "AWSStepFunctions.FlyToTheMoon")
    assert unknown.status_code == 400 and unknown.json()["__type"] == "UnknownOperationException"
    bad = _post(served, b"{not json")
    assert bad.status_code == 400 and bad.json()["__type"] == "SerializationException"
    not_object = _post(served, b"[1]")
    assert not_object.json()["__type"] == "SerializationException"
    wrong_type = _post(served, json.dumps({"name": 5}).encode(), "AWSStepFunctions.CreateActivity")
    assert wrong_type.json()["__type"] == "SerializationException"
    missing = _post(served, b"{}", "AWSStepFunctions.DescribeExecution")
    assert missing.json()["__type"] == "ValidationException"
    huge = _post(served, b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}', "AWSStepFunctions.CreateActivity")
    assert huge.status_code == 413 and huge.json()["__type"] == "ValidationException"
    assert "Traceback" not in huge.text


def test_large_input_is_refused_clearly(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="big-input", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "y" * (300 * 1024)}))
    assert code(info) == "ValidationException"


def test_test_state_is_routed_to_the_engine_when_it_has_it(served: Served, sfn: Any) -> None:
    if getattr(served.engine, "test_state", None) is None:
        with pytest.raises(ClientError) as info:
            sfn.test_state(definition='{"Type": "Pass"}', roleArn=ROLE)
        assert code(info) == "UnknownOperationException"
    else:
        out = sfn.test_state(definition='{"Type": "Pass", "End": true}', roleArn=ROLE, input="{}")
        assert out["status"] == "SUCCEEDED"


def test_sync_prefixed_host_reaches_the_same_app(served: Served, sfn: Any) -> None:
    arn = sfn.create_state_machine(name="sync-host", definition=PASS, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSStepFunctions.StartSyncExecution",
        "Host": f"sync-localhost:{served.port}",
    }
    answer = httpx.post(served.url + "/", content=json.dumps({"stateMachineArn": arn}), headers=headers)
    assert answer.json()["status"] == "SUCCEEDED"


def test_sigv4(tmp_path: Path) -> None:
    served = Served(Engine(f"sqlite:///{tmp_path / 'auth.db'}"), SigV4Verifier({"AKIDGOOD": "s3cret"}))
    try:
        good = served.client(key="AKIDGOOD", secret="s3cret")
        good.create_state_machine(name="signed", definition=PASS, roleArn=ROLE)
        assert [m["name"] for m in good.list_state_machines()["stateMachines"]] == ["signed"]
        for client, expected in [
            (served.client(key="AKIDGOOD", secret="wrong"), "InvalidSignatureException"),
            (served.client(key="AKIDOTHER", secret="s3cret"), "UnrecognizedClientException"),
            (
                served.client(config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1})),
                "MissingAuthenticationTokenException",
            ),
        ]:
            with pytest.raises(ClientError) as info:
                client.list_state_machines()
            assert code(info) == expected

        def tamper(request: Any, **_: Any) -> None:  # change the body after it was signed
            request.body = request.body.replace(b"signed", b"forged")

        tampered = served.client(key="AKIDGOOD", secret="s3cret")
        tampered.meta.events.register_last("before-send.sfn.DescribeStateMachine", tamper)
        with pytest.raises(ClientError) as info:
            tampered.describe_state_machine(
                stateMachineArn=good.list_state_machines()["stateMachines"][0]["stateMachineArn"]
            )
        assert code(info) == "InvalidSignatureException"
    finally:
        served.stop()


def test_the_command_refuses_a_remote_address_without_auth(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "durable.api.cli",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--host",
            "0.0.0.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2 and "--allow-remote-without-auth" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "durable.api.cli", "serve", "--auth", "sigv4", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2 and "--access-key" in proc.stderr
