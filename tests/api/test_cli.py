"""The ``durable`` command: ``run`` and ``validate``, in-process (fast) and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable import __version__
from durable.api.cli import main

GREET_ARN = "arn:aws:lambda:us-east-1:111111111111:function:greet"

PASS_CHAIN = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.first", "Next": "Second"},
        "Second": {
            "Type": "Pass",
            "Parameters": {"name.$": "$.name", "n.$": "$.first.n", "done": True},
            "End": True,
        },
    },
}

GREET_TASK = {
    "StartAt": "Greet",
    "States": {"Greet": {"Type": "Task", "Resource": GREET_ARN, "End": True}},
}

FAIL = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it went wrong"}},
}

INVALID = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "Missing"}},
}

TASKS_PY = """\
import sys


def greet(event, context):
    print("greet was called")  # must not end up in the JSON on stdout
    return {"greeting": "Hello, " + event["name"] + "!"}


def explode(event, context):
    raise ValueError("kaboom")


NOT_CALLABLE = 42
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory with definitions and a ``tasks`` module; imports undone after."""
    for name, doc in {
        "pass.asl.json": PASS_CHAIN,
        "greet.asl.json": GREET_TASK,
        "fail.asl.json": FAIL,
        "invalid.asl.json": INVALID,
    }.items():
        (tmp_path / name).write_text(json.dumps(doc, indent=2))
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "more_tasks.py").write_text(TASKS_PY)
    (tmp_path / "input.json").write_text('{"name": "file"}')
    (tmp_path / "broken.json").write_text('{\n  "StartAt": "A",\n  "States": oops\n}')
    monkeypatch.chdir(tmp_path)
    modules = set(sys.modules)
    path = list(sys.path)
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


def run_cli(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main([...])`` in this process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("durable: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


# -- run --------------------------------------------------------------------------------------------


def test_run_pass_chain_succeeds(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "run", "pass.asl.json", "--input", '{"name": "world"}')
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"name": "world", "n": 1, "done": True}
    assert "error" not in result
    assert result["executionArn"].startswith("arn:aws:states:us-east-1:111111111111:express:pass:")
    assert result["startDate"] <= result["stopDate"]
    assert err == ""


def test_run_default_input_is_empty_object(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "echo.json").write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    code, out, _ = call(capsys, "run", "echo.json")
    assert code == 0
    assert json.loads(out)["output"] == {}


def test_run_task_with_local_function_real_process(workdir: Path) -> None:
    proc = run_cli(
        workdir, "run", "greet.asl.json", "--input", '{"name": "world"}', "--function", "greet=tasks:greet"
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"greeting": "Hello, world!"}
    assert set(result) == {"status", "output", "executionArn", "startDate", "stopDate"}
    assert "greet was called" in proc.stderr  # task prints go to stderr, never into the JSON
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "spec",
    [
        f"{GREET_ARN}=tasks:greet",
        "tasks:greet",
        "greet=lib/more_tasks.py:greet",
        "greet=./tasks.py:greet",
    ],
)
def test_run_function_spec_forms(workdir: Path, capsys: pytest.CaptureFixture[str], spec: str) -> None:
    code, out, err = call(capsys, "run", "greet.asl.json", "-i", '{"name": "x"}', "-f", spec)
    assert code == 0, err
    assert json.loads(out)["output"] == {"greeting": "Hello, x!"}
    assert "greet was called" in err


def test_run_integration_arn_naming_region_and_account(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # AWS accepts arn:aws:states:<region>:<account>:lambda:invoke as the same integration
    doc = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:lambda:invoke",
                "Parameters": {"FunctionName": "greet", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    Path("regional.asl.json").write_text(json.dumps(doc))
    code, out, err = call(
        capsys, "run", "regional.asl.json", "-i", '{"name": "r"}', "-f", "greet=tasks:greet"
    )
    assert code == 0, err
    assert json.loads(out)["output"] == {"greeting": "Hello, r!"}


def test_run_function_raising_fails_execution(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "run", "greet.asl.json", "-f", "greet=tasks:explode")
    assert code == 1
    result = json.loads(out)
    assert result["status"] == "FAILED"
    assert result["error"] == "ValueError"
    assert result["cause"] == "kaboom"


def test_run_missing_function_names_the_flag_to_pass(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "run", "greet.asl.json")
    assert code == 1
    assert json.loads(out)["error"] == "Lambda.ResourceNotFoundException"  # as AWS
    assert (
        err.strip() == "durable: hint: no local function answers 'greet': pass --function greet=module:attr"
    )


def test_run_debug_prints_the_traceback_of_a_task_that_raised(workdir: Path) -> None:
    proc = run_cli(workdir, "run", "greet.asl.json", "-f", "greet=tasks:explode", "--debug")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"] == "ValueError"
    assert "Traceback (most recent call last):" in proc.stderr
    assert 'raise ValueError("kaboom")' in proc.stderr
    assert "durable/integrations" not in proc.stderr  # the user's frames only
    quiet = run_cli(workdir, "run", "greet.asl.json", "-f", "greet=tasks:explode")
    assert "Traceback" not in quiet.stderr


def test_run_standard_waiting_for_a_token_says_so(workdir: Path) -> None:
    callback = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "greet", "Payload": {"name.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    (workdir / "callback.asl.json").write_text(json.dumps(callback))
    proc = run_cli(workdir, "run", "-t", "STANDARD", "callback.asl.json", "-f", "greet=tasks:greet")
    assert proc.returncode == 2
    assert "the state 'Ask' waits for a task token" in proc.stderr
    assert "durable send-task-success --db FILE TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_fail_state_exits_1_with_error_and_cause(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "run", "fail.asl.json")
    assert code == 1
    result = json.loads(out)
    assert result["status"] == "FAILED"
    assert result["error"] == "Custom.Error"
    assert result["cause"] == "it went wrong"
    assert "output" not in result
    assert {"executionArn", "startDate", "stopDate"} <= set(result)
    assert "Traceback" not in err


def test_run_fail_state_real_process(workdir: Path) -> None:
    proc = run_cli(workdir, "run", "fail.asl.json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"] == "Custom.Error"


def test_run_input_from_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "run", "pass.asl.json", "--input", "@input.json")
    assert code == 0
    assert json.loads(out)["output"]["name"] == "file"


def test_run_standard_type(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(
        capsys, "run", "greet.asl.json", "--type", "STANDARD", "-i", "@input.json", "-f", "tasks:greet"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["output"] == {"greeting": "Hello, file!"}
    assert ":execution:greet:" in result["executionArn"]


def test_run_execution_name(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "run", "fail.asl.json", "--type", "standard", "--name", "my-run")
    assert code == 1
    assert json.loads(out)["executionArn"].endswith(":execution:fail:my-run")


def test_run_names_the_state_machine_with_machine_name(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --name names the execution, as durable.run(name=...) does; --machine-name the state machine
    args = ("-i", "@input.json", "-t", "STANDARD", "--machine-name", "m", "-n", "e")
    code, out, _ = call(capsys, "run", "pass.asl.json", *args)
    assert code == 0
    assert json.loads(out)["executionArn"].endswith(":execution:m:e")


def test_run_definition_from_stdin(workdir: Path) -> None:
    proc = run_cli(workdir, "run", "-", "-i", '{"name": "stdin"}', stdin=json.dumps(PASS_CHAIN))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"]["name"] == "stdin"


def test_run_invalid_definition_lists_diagnostics_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "run", "invalid.asl.json")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert all(line.startswith("durable: error: ") for line in lines)
    assert any("MISSING_TRANSITION_TARGET" in line and "at /States/A/Next" in line for line in lines)
    assert "Traceback" not in err


# -- input and usage errors -------------------------------------------------------------------------


def test_missing_definition_file_real_process(workdir: Path) -> None:
    proc = run_cli(workdir, "run", "nope.json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, "nope.json", "not found")


def test_bad_function_spec_real_process(workdir: Path) -> None:
    proc = run_cli(workdir, "run", "greet.asl.json", "--function", "greet=no_such_module:greet")
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, "no_such_module")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "missing.json"], ["missing.json"]),
        (["validate", "missing.json"], ["missing.json"]),
        (["run", "."], ["directory"]),
        (["run", "pass.asl.json", "--input", '{"name": '], ["--input", "line 1, column 10"]),
        (["run", "pass.asl.json", "--input", ""], ["--input"]),
        (["run", "pass.asl.json", "--input", "@nope.json"], ["nope.json"]),
        (["run", "pass.asl.json", "--input", "@broken.json"], ["broken.json", "line 3"]),
        (["run", "greet.asl.json", "-f", "greet"], ["greet", "module:attr"]),
        (["run", "greet.asl.json", "-f", "greet=tasks"], ["module:attr"]),
        (["run", "greet.asl.json", "-f", "=tasks:greet"], ["NAME"]),
        (["run", "greet.asl.json", "-f", "greet=tasks:nope"], ["nope"]),
        (["run", "greet.asl.json", "-f", "greet=tasks:NOT_CALLABLE"], ["not callable"]),
        (["run", "greet.asl.json", "-f", "greet=no_such_mod:greet"], ["no_such_mod", "ModuleNotFoundError"]),
        (["run", "greet.asl.json", "-f", "greet=missing/file.py:greet"], ["missing/file.py"]),
        (["run", "greet.asl.json", "-f", "a:b:c:d:e:f=tasks:greet"], ["a:b:c:d:e:f"]),
        (["run", "pass.asl.json", "--name", "bad name"], ["InvalidName"]),
        (["run", "pass.asl.json", "--type", "BATCH"], ["BATCH"]),
        (["run"], ["DEFINITION"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_usage_and_input_errors_exit_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragments: list[str]
) -> None:
    code, out, err = call(capsys, *args)
    assert code == 2
    assert out == ""
    assert_one_error_line(err, *fragments)


def test_broken_task_module_is_an_input_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "broken_tasks.py").write_text("def greet(:\n")
    code, _, err = call(capsys, "run", "greet.asl.json", "-f", "greet=broken_tasks:greet")
    assert code == 2
    assert_one_error_line(err, "broken_tasks", "SyntaxError")


def test_no_command_prints_help_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys)
    assert code == 2
    assert "run" in err and "validate" in err


# -- validate ---------------------------------------------------------------------------------------


def test_validate_ok(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "validate", "pass.asl.json")
    assert code == 0
    assert out.strip() == "OK"


def test_validate_invalid_lists_diagnostics_with_pointers(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = call(capsys, "validate", "invalid.asl.json")
    assert code == 1
    lines = out.strip().splitlines()
    assert "MISSING_TRANSITION_TARGET: Missing 'Next' target: Missing at /States/A/Next" in lines
    assert lines[-1] == f"{len(lines) - 1} diagnostic" + ("s" if len(lines) > 2 else "")


def test_validate_invalid_real_process(workdir: Path) -> None:
    proc = run_cli(workdir, "validate", "invalid.asl.json")
    assert proc.returncode == 1
    assert "at /States/A/Next" in proc.stdout


def test_validate_invalid_json_reports_line_and_column(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(capsys, "validate", "broken.json")
    assert code == 1
    assert "INVALID_JSON_DESCRIPTION" in out
    assert "line: 3, column: 17" in out  # Jackson's position, after the bad token (as AWS)
    assert "Traceback" not in err


def test_validate_json_output(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "validate", "invalid.asl.json", "--json")
    assert code == 1
    doc: dict[str, Any] = json.loads(out)
    assert doc["result"] == "FAIL"
    assert {"code": "MISSING_TRANSITION_TARGET", "location": "/States/A/Next"}.items() <= doc["diagnostics"][
        0
    ].items()
    code, out, _ = call(capsys, "validate", "pass.asl.json", "--json")
    assert code == 0
    assert json.loads(out)["result"] == "OK"


def test_validate_type_express(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "validate", "pass.asl.json", "--type", "EXPRESS")
    assert code == 0
    assert out.strip() == "OK"


# -- help and version -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--help"], ["run", "validate", "exit codes"]),
        (["run", "--help"], ["DEFINITION", "--input", "@FILE", "--function", "--name", "--type", "STANDARD"]),
        (["validate", "-h"], ["DEFINITION", "--type", "--json", "/json/pointer"]),
    ],
)
def test_help(capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]) -> None:
    code, out, _ = call(capsys, *args)
    assert code == 0
    assert out.startswith("usage: durable")
    for word in words:
        assert word in out


def test_help_real_process(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "run", "--help")
    assert proc.returncode == 0
    assert "usage: durable run" in proc.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "--version")
    assert code == 0
    assert out.strip() == f"durable {__version__}"
