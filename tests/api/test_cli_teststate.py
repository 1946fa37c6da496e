"""``durable test-state`` as a user runs it: a real process, JSON on stdout, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GREET_ARN = "arn:aws:lambda:us-east-1:111111111111:function:greet"


def _durable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_test_state_prints_the_response_of_aws_test_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"}))
    proc = _durable(
        "test-state", str(state), "--input", '{"a": 1}', "--inspection-level", "DEBUG", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {"x": 1}
    assert response["nextState"] == "B"
    assert json.loads(response["inspectionData"]["afterParameters"]) == {"x": 1}


def test_test_state_of_a_machine_state_with_a_mocked_error(tmp_path: Path) -> None:
    machine = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
                "End": True,
            },
            "Handle": {"Type": "Succeed"},
        },
    }
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(machine))
    proc = _durable(
        "test-state",
        str(path),
        "--state-name",
        "Call",
        "--mock-error",
        "Oops",
        "--mock-cause",
        "bad",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    response = json.loads(proc.stdout)
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "Handle"
    assert (response["error"], response["cause"]) == ("Oops", "bad")


def test_test_state_calls_a_local_function(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text("def greet(event, context):\n    return {'hi': event['name']}\n")
    state = tmp_path / "task.json"
    state.write_text(json.dumps({"Type": "Task", "Resource": GREET_ARN, "End": True}))
    proc = _durable(
        "test-state",
        str(state),
        "--input",
        '{"name": "ada"}',
        "--role-arn",
        "arn:aws:iam::111111111111:role/test",
        "--function",
        "greet=tasks:greet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(json.loads(proc.stdout)["output"]) == {"hi": "ada"}


def test_test_state_request_errors_are_reported_as_aws_names_them(tmp_path: Path) -> None:
    state = tmp_path / "pass.json"
    state.write_text(json.dumps({"Type": "Pass", "End": True}))
    proc = _durable("test-state", str(state), "--mock-result", "{}", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "durable: error: ValidationException: State type 'Pass' is not supported when a mock is specified"
    )
