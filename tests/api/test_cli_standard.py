"""The ``durable`` database commands: durable Standard executions from the command line.

Most tests call ``main([...])`` in this process on a temporary database (fast); a few run
the real command in child processes to show that executions, tokens and the engine lock are
shared between processes through the SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from durable import Client, Engine
from durable.api.cli import main
from durable.runtime.ownership import FileOwnership

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
EXEC = "arn:aws:states:us-east-1:111111111111:execution:"
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:"
ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:"

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"done": True}, "End": True}}}
GREET = {"StartAt": "Greet", "States": {"Greet": {"Type": "Task", "Resource": LAMBDA + "greet", "End": True}}}
FAIL = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"}}}
WAIT = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 86400, "End": True}}}
TOKEN = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "notify",
                "Payload": {"token.$": "$$.Task.Token", "name.$": "$$.Execution.Name"},
            },
            "End": True,
        }
    },
}
FLAKY = {"StartAt": "Flaky", "States": {"Flaky": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True}}}
WORK = {
    "StartAt": "Work",
    "States": {"Work": {"Type": "Task", "Resource": ACTIVITY + "doubler", "End": True}},
}
BRANCH_TOKEN = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Ask", "States": {"Ask": TOKEN["States"]["Ask"]}},
                {"StartAt": "Idle", "States": {"Idle": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        }
    },
}

TASKS_PY = """\
import pathlib
import threading

release = threading.Event()


def greet(event, context):
    print("greet was called")  # must not end up in the JSON on stdout
    return {"greeting": "Hello, " + event["name"] + "!"}


def notify(event, context):
    folder = pathlib.Path("tokens")
    folder.mkdir(exist_ok=True)
    (folder / (event["name"] + ".token")).write_text(event["token"])
    return {"sent": True}


def flaky(event, context):
    marker = pathlib.Path("flaky.ok")
    if not marker.exists():
        marker.write_text("ok")
        raise RuntimeError("the first call fails")
    return {"ok": True}


def double(value):
    return {"n": value["n"] * 2}


def blocked(event, context):
    release.wait(10)
    return {"released": True}
"""

FUNCTIONS = ["-f", "tasks:greet", "-f", "tasks:notify", "-f", "tasks:flaky"]
FAST = ["--scan-interval", "0.02", "--log-data"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory (durable.db is created there); imports undone after."""
    docs = {
        "pass": PASS,
        "greet": GREET,
        "fail": FAIL,
        "wait": WAIT,
        "token": TOKEN,
        "flaky": FLAKY,
        "work": WORK,
        "branch": BRANCH_TOKEN,
    }
    for name, doc in docs.items():
        (tmp_path / f"{name}.asl.json").write_text(json.dumps(doc))
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DURABLE_DB", raising=False)
    modules = set(sys.modules)
    path = list(sys.path)
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


Call = Callable[..., tuple[int, Any, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Call:
    """``main([...])`` in this process: (exit code, parsed JSON stdout or None, stderr)."""

    def call(*args: str) -> tuple[int, Any, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        lines = out.strip().splitlines()
        if args and args[0] == "run-engine" and len(lines) > 1:  # one JSON line per execution
            return code, [json.loads(line) for line in lines], err
        return code, json.loads(out) if out.strip() else None, err

    return call


def run_cli(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "DURABLE_DB"},
    )


def one_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("durable: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


def read_token(workdir: Path, name: str) -> str:
    return (workdir / "tokens" / f"{name}.token").read_text()


# -- state machines ---------------------------------------------------------------------------------


def test_create_state_machine_is_idempotent_and_listed(workdir: Path, cli: Call) -> None:
    code, made, _ = cli("create-state-machine", "hello", "pass.asl.json")
    assert code == 0
    assert made["stateMachineArn"] == MACHINE + "hello"
    assert made["type"] == "STANDARD"
    assert (workdir / "durable.db").is_file()
    code, again, _ = cli("create-state-machine", "hello", "pass.asl.json")
    assert code == 0 and again == made

    code, _, err = cli("create-state-machine", "hello", "fail.asl.json")
    assert code == 2
    one_error(err, "StateMachineAlreadyExists")
    code, updated, _ = cli("create-state-machine", "hello", "fail.asl.json", "--update")
    assert code == 0 and updated["stateMachineArn"] == made["stateMachineArn"]

    cli("create-state-machine", "quick", "pass.asl.json", "--type", "express")
    code, listed, _ = cli("state-machines")
    assert code == 0
    assert [(m["name"], m["type"]) for m in listed["stateMachines"]] == [
        ("hello", "STANDARD"),
        ("quick", "EXPRESS"),
    ]


def test_create_state_machine_invalid_definition(workdir: Path, cli: Call) -> None:
    (workdir / "bad.asl.json").write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}')
    code, out, err = cli("create-state-machine", "bad", "bad.asl.json")
    assert code == 2 and out is None
    assert "MISSING_TRANSITION_TARGET" in err


# -- start, describe, history, executions ----------------------------------------------------------


def test_start_records_and_the_engine_runs(workdir: Path, cli: Call) -> None:
    code, started, err = cli("start", "pass.asl.json", "--name", "first")
    assert code == 0
    assert "no engine is running" in err  # a client records the start, even of a pure machine
    assert started["executionArn"] == EXEC + "pass:first"
    assert set(started) == {"executionArn", "startDate"}
    code, described, _ = cli("describe", started["executionArn"])
    assert described["status"] == "RUNNING"
    code, _, err = cli("run-engine", "--until-idle", *FAST)
    assert code == 0, err
    code, described, _ = cli("describe", started["executionArn"])
    assert code == 0
    assert described["status"] == "SUCCEEDED"
    assert described["output"] == {"done": True}
    assert described["input"] == {}
    assert described["stateMachineArn"] == MACHINE + "pass"


def test_start_without_engine_stays_running_until_run_engine(workdir: Path, cli: Call) -> None:
    code, started, err = cli("start", "greet.asl.json", "--name", "g", "--input", '{"name": "Ada"}')
    assert code == 0
    assert "no engine is running" in err  # a note, not an error
    arn = started["executionArn"]
    code, described, _ = cli("describe", arn)
    assert described["status"] == "RUNNING"
    assert "output" not in described and "stopDate" not in described
    code, history, _ = cli("history", arn)
    types = [e["type"] for e in history["events"]]
    assert types[0] == "ExecutionStarted"
    assert "LambdaFunctionSucceeded" not in types  # nothing ran in the client

    code, out, err = cli("run-engine", "--until-idle", "-f", "tasks:greet", *FAST)
    assert code == 0, err
    assert out["executionArn"] == arn and out["status"] == "SUCCEEDED"
    assert out["output"] == {"greeting": "Hello, Ada!"}
    assert "greet was called" in err
    code, described, _ = cli("describe", arn)
    assert described["status"] == "SUCCEEDED"


def test_start_with_wait_runs_in_process_when_no_engine(workdir: Path, cli: Call) -> None:
    code, result, err = cli(
        "start", "greet.asl.json", "-i", '{"name": "Bo"}', "-f", "tasks:greet", "--wait", "10"
    )
    assert code == 0, err
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"greeting": "Hello, Bo!"}
    assert {"executionArn", "startDate", "stopDate"} <= set(result)
    assert "no engine is running" not in err


def test_start_wait_failed_execution_exits_1(workdir: Path, cli: Call) -> None:
    code, result, _ = cli("start", "fail.asl.json", "--wait", "5")
    assert code == 1
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Custom.Error", "it broke")


def test_start_by_state_machine_arn_and_machine_name(workdir: Path, cli: Call) -> None:
    code, _, _ = cli("start", "pass.asl.json", "--machine-name", "Named", "--name", "a")
    assert code == 0
    code, started, _ = cli("start", MACHINE + "Named", "--name", "b", "--input", "@pass.asl.json")
    assert code == 0 and started["executionArn"] == EXEC + "Named:b"
    code, described, _ = cli("describe", started["executionArn"])
    assert described["input"] == PASS

    cli("create-state-machine", "Quick", "pass.asl.json", "--type", "EXPRESS")
    code, _, err = cli("start", MACHINE + "Quick")
    assert code == 2
    one_error(err, "EXPRESS", "durable run")
    code, _, err = cli("start", MACHINE + "Missing")
    assert code == 2
    one_error(err, "StateMachineDoesNotExist")


def test_start_updates_the_machine_when_the_file_changed(workdir: Path, cli: Call) -> None:
    cli("start", "pass.asl.json", "--machine-name", "m", "--name", "one")
    cli("start", "fail.asl.json", "--machine-name", "m", "--name", "two")
    cli("run-engine", "--until-idle", *FAST)
    _, one, _ = cli("describe", EXEC + "m:one")
    _, two, _ = cli("describe", EXEC + "m:two")
    assert one["status"] == "SUCCEEDED"  # an execution keeps the definition it started with
    assert two["status"] == "FAILED"


def test_executions_filters(workdir: Path, cli: Call) -> None:
    cli("start", "pass.asl.json", "--name", "p1")
    cli("start", "pass.asl.json", "--name", "p2")
    cli("start", "fail.asl.json", "--name", "f1")
    cli("run-engine", "--until-idle", *FAST)
    code, listed, _ = cli("executions")
    assert code == 0
    assert {e["name"] for e in listed["executions"]} == {"p1", "p2", "f1"}
    assert all("input" not in e for e in listed["executions"])
    _, listed, _ = cli("executions", "--status", "failed")
    assert [(e["name"], e["error"]) for e in listed["executions"]] == [("f1", "Custom.Error")]
    _, listed, _ = cli("executions", "--state-machine", "pass", "--max-results", "1")
    assert len(listed["executions"]) == 1
    _, listed, _ = cli("executions", "-s", MACHINE + "fail")
    assert [e["name"] for e in listed["executions"]] == ["f1"]


def test_history_reverse_and_no_data(workdir: Path, cli: Call) -> None:
    _, started, _ = cli("start", "pass.asl.json", "-i", '{"x": 1}')
    arn = started["executionArn"]
    cli("run-engine", "--until-idle", *FAST)
    _, history, _ = cli("history", arn)
    events = history["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["executionStartedEventDetails"]["input"] == '{"x":1}'  # JSON text, as AWS
    assert events[0]["timestamp"].endswith("+00:00")
    _, reverse, _ = cli("history", arn, "--reverse", "--no-data")
    assert [e["id"] for e in reverse["events"]] == [e["id"] for e in reversed(events)]
    assert "input" not in reverse["events"][-1]["executionStartedEventDetails"]
    assert "output" not in reverse["events"][0]["executionSucceededEventDetails"]


# -- stop and redrive ------------------------------------------------------------------------------


def test_stop_a_parked_execution(workdir: Path, cli: Call) -> None:
    _, started, _ = cli("start", "wait.asl.json", "--wait", "5")
    assert started["status"] == "RUNNING"  # parked on its one-day Wait
    code, stopped, _ = cli("stop", started["executionArn"], "--error", "Oops", "--cause", "changed my mind")
    assert code == 0
    assert stopped["status"] == "ABORTED"
    assert (stopped["error"], stopped["cause"]) == ("Oops", "changed my mind")
    _, history, _ = cli("history", started["executionArn"], "--reverse")
    assert history["events"][0]["type"] == "ExecutionAborted"
    code, out, _ = cli("run-engine", "--until-idle", *FAST)  # nothing left to run
    assert code == 0 and out is None


def test_redrive_after_a_failure(workdir: Path, cli: Call) -> None:
    code, failed, _ = cli("start", "flaky.asl.json", "-f", "tasks:flaky", "--wait", "5", "--name", "x")
    assert code == 1 and failed["error"] == "RuntimeError"
    code, redriven, err = cli("redrive", failed["executionArn"], "-f", "tasks:flaky", "--wait", "5")
    assert code == 0, err
    assert redriven["status"] == "SUCCEEDED" and redriven["output"] == {"ok": True}
    assert redriven["redriveCount"] == 1
    code, _, err = cli("redrive", failed["executionArn"])
    assert code == 2
    one_error(err, "ExecutionNotRedrivable")


def test_redrive_without_wait_leaves_it_to_the_engine(workdir: Path, cli: Call) -> None:
    _, failed, _ = cli("start", "flaky.asl.json", "-f", "tasks:flaky", "--wait", "5")
    code, redriven, _ = cli("redrive", failed["executionArn"])
    assert code == 0 and redriven["status"] == "RUNNING"
    code, out, _ = cli("run-engine", "--until-idle", "-f", "tasks:flaky", *FAST)
    assert out["status"] == "SUCCEEDED"


# -- task tokens -----------------------------------------------------------------------------------


def test_send_task_success_then_engine_finishes(workdir: Path, cli: Call) -> None:
    _, started, _ = cli("start", "token.asl.json", "--name", "t", *FUNCTIONS, "--wait", "5")
    assert started["status"] == "RUNNING"
    token = read_token(workdir, "t")
    code, sent, err = cli("send-task-success", token, "--output", '{"approved": true}')
    assert code == 0
    assert sent == {"executionArn": started["executionArn"], "status": "RUNNING"}
    assert "no engine is running" in err
    _, out, _ = cli("run-engine", "--until-idle", *FUNCTIONS, *FAST)
    assert out["status"] == "SUCCEEDED" and out["output"] == {"approved": True}

    code, _, err = cli("send-task-success", token, "--output", "{}")
    assert code == 2
    one_error(err, "TaskTimedOut")


@pytest.mark.parametrize(
    "form",
    [
        ["send-task-success", "{token}", "--output", "{answer}"],
        ["send-task-success", "--token", "{token}", "--output", "{answer}"],
        ["send-task-success", "--output", "{answer}", "--", "{token}"],
        ["send-task-success", "--", "{token}", "--output", "{answer}"],
    ],
    ids=["positional", "option", "after-dashes", "dashes-first"],
)
def test_any_token_is_accepted_even_one_beginning_with_a_dash(
    workdir: Path, cli: Call, monkeypatch: pytest.MonkeyPatch, form: list[str]
) -> None:
    dashed = "-" + "Ab9_-" * 12 + "xyz"  # 64 characters, as a token can look
    monkeypatch.setattr("durable.runtime.journal.new_task_token", lambda: dashed)
    cli("start", "token.asl.json", "--name", "t", *FUNCTIONS, "--wait", "5")
    assert read_token(workdir, "t") == dashed
    args = [word.format(token=dashed, answer='{"approved": true}') for word in form]
    code, sent, err = cli(*args, "--wait", "5")
    assert code == 0, err
    assert sent["status"] == "SUCCEEDED" and sent["output"] == {"approved": True}
    code, _, err = cli("send-task-heartbeat", "--token", dashed)
    assert code == 2
    one_error(err, "TaskTimedOut")


def test_tokens_are_long_random_and_never_look_like_an_option() -> None:
    from durable.runtime.journal import new_task_token

    tokens = {new_task_token() for _ in range(4000)}
    assert len(tokens) == 4000
    assert all(len(t) == 64 and t[0].isalnum() for t in tokens)  # 384 random bits, base64url


def test_the_token_is_required(workdir: Path, cli: Call) -> None:
    code, _, err = cli("send-task-success", "--output", "{}")
    assert code == 2
    one_error(err, "the task token is missing")


def test_send_task_success_with_wait_runs_it_here(workdir: Path, cli: Call) -> None:
    cli("start", "token.asl.json", "--name", "t", *FUNCTIONS, "--wait", "5")
    (workdir / "answer.json").write_text('{"approved": false}')
    code, sent, _ = cli("send-task-success", read_token(workdir, "t"), "-o", "@answer.json", "--wait", "5")
    assert code == 0
    assert sent["status"] == "SUCCEEDED" and sent["output"] == {"approved": False}


def test_send_task_failure_and_heartbeat(workdir: Path, cli: Call) -> None:
    _, started, _ = cli("start", "token.asl.json", "--name", "t", *FUNCTIONS, "--wait", "5")
    token = read_token(workdir, "t")
    code, beat, _ = cli("send-task-heartbeat", token)
    assert code == 0 and beat == {"executionArn": started["executionArn"], "status": "RUNNING"}
    code, failed, _ = cli("send-task-failure", token, "--error", "Denied", "--cause", "no", "--wait", "5")
    assert code == 1
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Denied", "no")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["send-task-success", "not a token!", "--output", "{}"], ["InvalidToken"]),
        (["send-task-success", "abc", "--output", "{}"], ["InvalidToken"]),
        (
            ["send-task-success", "A" * 64, "--output", "{}"],
            ["TaskDoesNotExist", "Task does not exist anymore"],
        ),
        (["send-task-failure", "A" * 64], ["TaskDoesNotExist"]),
        (["send-task-heartbeat", "A" * 64], ["TaskDoesNotExist"]),
        (["send-task-success", "abc"], ["--output"]),
        (["send-task-success", "abc", "--output", "{bad"], ["--output", "line 1"]),
        (["send-task-success", "abc", "--output", "{}", "--wait", "-1"], ["--wait"]),
        (["describe", EXEC + "pass:nope"], ["ExecutionDoesNotExist"]),
        (["history", EXEC + "pass:nope"], ["ExecutionDoesNotExist"]),
        (["stop", EXEC + "pass:nope"], ["ExecutionDoesNotExist"]),
        (["redrive", EXEC + "pass:nope"], ["ExecutionDoesNotExist"]),
        (["executions", "--status", "DONE"], ["--status", "DONE"]),
        (["executions", "--max-results", "0"], ["--max-results"]),
        (["executions", "--state-machine", "nope"], ["StateMachineDoesNotExist"]),
        (["start", "missing.asl.json"], ["missing.asl.json", "not found"]),
        (["start", "pass.asl.json", "--name", "bad name"], ["InvalidName"]),
        (["start", "pass.asl.json", "--input", "[1,"], ["--input"]),
        (["start", "pass.asl.json", "-f", "greet=nowhere:greet"], ["nowhere"]),
        (["worker", "doubler", "--function", "tasks:double"], ["ActivityDoesNotExist"]),
        (["worker", "doubler", "--function", "tasks"], ["module:attr"]),
        (["create-activity", "bad name"], ["InvalidName"]),
    ],
)
def test_errors_are_one_line_exit_2(workdir: Path, cli: Call, args: list[str], fragments: list[str]) -> None:
    cli("create-state-machine", "pass", "pass.asl.json")  # the database exists
    code, out, err = cli(*args)
    assert code == 2
    assert out is None
    one_error(err, *fragments)


def test_missing_or_broken_database(workdir: Path, cli: Call) -> None:
    code, _, err = cli("executions", "--db", "nowhere.db")
    assert code == 2
    one_error(err, "no database at nowhere.db")
    assert not (workdir / "nowhere.db").exists()
    (workdir / "junk.db").write_text("this is not SQLite")
    code, _, err = cli("state-machines", "--db", "junk.db")
    assert code == 2
    one_error(err, "StoreError", "not a SQLite database")


def test_db_option_and_environment(workdir: Path, cli: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "sub").mkdir()
    cli("create-activity", "a1", "--db", "sub/one.sqlite")
    monkeypatch.setenv("DURABLE_DB", "sub/one.sqlite")
    _, listed, _ = cli("activities")
    assert [a["name"] for a in listed["activities"]] == ["a1"]
    assert not (workdir / "durable.db").exists()


# -- activities and workers ------------------------------------------------------------------------


def test_activities_create_list_delete(workdir: Path, cli: Call) -> None:
    code, made, _ = cli("create-activity", "doubler")
    assert code == 0 and made["activityArn"] == ACTIVITY + "doubler"
    _, again, _ = cli("create-activity", "doubler")
    assert again == made
    _, listed, _ = cli("activities")
    assert [a["activityArn"] for a in listed["activities"]] == [ACTIVITY + "doubler"]
    code, deleted, _ = cli("delete-activity", "doubler")
    assert code == 0 and deleted == {"activityArn": ACTIVITY + "doubler", "deleted": True}
    _, listed, _ = cli("activities")
    assert listed["activities"] == []


def test_worker_answers_an_activity_task(workdir: Path, cli: Call) -> None:
    cli("create-activity", "doubler")
    _, started, _ = cli("start", "work.asl.json", "-i", '{"n": 21}', "--wait", "5")
    assert started["status"] == "RUNNING"  # parked until a worker takes the task
    code, worked, err = cli(
        "worker", "doubler", "--function", "tasks:double", "--max-tasks", "1", "--poll", "0.2",
        "--worker-name", "w1",
    )  # fmt: skip
    assert code == 0, err
    assert worked == {"activityArn": ACTIVITY + "doubler", "tasksHandled": 1}
    _, out, _ = cli("run-engine", "--until-idle", *FAST)
    assert out["status"] == "SUCCEEDED" and out["output"] == {"n": 42}
    _, history, _ = cli("history", started["executionArn"])
    started_events = [e for e in history["events"] if e["type"] == "ActivityStarted"]
    assert started_events[0]["activityStartedEventDetails"] == {"workerName": "w1"}


# -- run-engine ------------------------------------------------------------------------------------


def test_run_engine_refuses_a_second_engine(workdir: Path, cli: Call) -> None:
    lock = FileOwnership(workdir / "durable.db")
    assert lock.try_acquire("durable run-engine")
    try:
        code, _, err = cli("run-engine", "--until-idle")
        assert code == 2
        one_error(err, f"durable run-engine (pid {os.getpid()}) is already running on durable.db")
    finally:
        lock.release()


def test_run_engine_waits_for_a_short_lived_executor(workdir: Path, cli: Call) -> None:
    cli("start", "greet.asl.json", "-i", '{"name": "Cy"}')
    lock = FileOwnership(workdir / "durable.db")
    assert lock.try_acquire("durable start")  # as `durable start --wait` holds it while it executes
    timer = threading.Timer(0.3, lock.release)
    timer.start()
    try:
        code, out, err = cli("run-engine", "--until-idle", "-f", "tasks:greet", *FAST)
    finally:
        timer.join()
    assert code == 0
    assert f"waiting for durable start (pid {os.getpid()}) to finish with durable.db" in err
    assert out["output"] == {"greeting": "Hello, Cy!"}


def test_run_engine_until_idle_leaves_token_waits_parked(workdir: Path, cli: Call) -> None:
    cli("start", "token.asl.json", "--name", "t")
    cli("start", "greet.asl.json", "--name", "g", "-i", '{"name": "x"}')
    code, out, err = cli("run-engine", "--until-idle", *FUNCTIONS, *FAST)
    assert code == 0, err
    assert out["name"] == "g"  # one line: the token wait is still RUNNING
    assert (workdir / "tokens" / "t.token").is_file()
    _, listed, _ = cli("executions", "--status", "RUNNING")
    assert [e["name"] for e in listed["executions"]] == ["t"]


@pytest.mark.parametrize("command", [
    "create-state-machine", "state-machines", "start", "executions", "describe", "history", "stop",
    "redrive", "send-task-success", "send-task-failure", "send-task-heartbeat", "create-activity",
    "activities", "delete-activity", "worker", "run-engine",
])  # fmt: skip
def test_every_command_has_help(cli: Call, capsys: pytest.CaptureFixture[str], command: str) -> None:
    code = main([command, "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"usage: durable {command}")
    assert "--db" in out


def test_main_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("start", "run-engine", "send-task-success", "worker", "redrive"):
        assert command in out


# -- an executing engine and clients in one process ---------------------------------------------------


async def test_an_answer_from_a_client_reaches_a_waiting_branch(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'durable.db'}"
    sys.path.insert(0, str(workdir))
    import tasks

    async with Engine(url) as engine:
        engine.register_function("notify", tasks.notify)
        machine = await engine.create_state_machine("branch", json.dumps(BRANCH_TOKEN))
        started = await engine.start_execution(machine.arn, name="b")
        for _ in range(200):
            if (workdir / "tokens" / "b.token").exists():
                break
            await asyncio.sleep(0.01)
        run = engine.standard.running[started.execution_arn]
        async with Client(url) as client:
            await client.send_task_success(read_token(workdir, "b"), {"answer": 1})
        final = await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 5)
        assert str(final.status) == "SUCCEEDED"
        assert final.output == [{"answer": 1}, {}]
        assert run.task is not None and not run.task.cancelled()  # delivered, not replayed
        events = await engine.get_execution_history(started.execution_arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        types = [e["type"] for e in events]
        assert types.count("TaskSubmitted") == types.count("TaskSucceeded") == 1
        assert types.count("ParallelStateEntered") == 1
        assert await engine.store.requests() == []  # the answer left the inbox with its outcome


async def test_a_stop_from_a_client_ends_a_running_execution(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'durable.db'}"
    sys.path.insert(0, str(workdir))
    import tasks

    blocked = {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": LAMBDA + "blocked", "End": True}}}
    async with Engine(url) as engine:
        engine.register_function("blocked", tasks.blocked)
        machine = await engine.create_state_machine("blocked", json.dumps(blocked))
        started = await engine.start_execution(machine.arn, name="s")
        arn = started.execution_arn
        await asyncio.sleep(0.05)
        assert arn in engine.standard.running
        async with Client(url) as client:
            stopped = await client.stop_execution(arn, error="Stopped", cause="by another process")
        assert (str(stopped.status), stopped.error) == ("ABORTED", "Stopped")  # applied before it returned
        assert arn not in engine.standard.running
        tasks.release.set()
        await asyncio.sleep(0.05)
        final = await engine.describe_execution(arn)
        assert (str(final.status), final.error) == ("ABORTED", "Stopped")
        types = [e["type"] for e in await engine.get_execution_history(arn)]
        assert types[-1] == "ExecutionAborted"
        assert "ExecutionSucceeded" not in types


async def test_a_client_runs_nothing(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'durable.db'}"
    async with Client(url) as client:
        machine = await client.create_state_machine("greet", json.dumps(GREET))
        started = await client.start_execution(machine.arn, {"name": "x"}, name="c")
        await asyncio.sleep(0.05)
        events = await client.get_execution_history(started.execution_arn)
        assert [e["type"] for e in events] == ["ExecutionStarted"]  # greet is not registered here
        assert str((await client.describe_execution(started.execution_arn)).status) == "RUNNING"


# -- real processes ---------------------------------------------------------------------------------


def test_start_in_one_process_describe_in_another(workdir: Path) -> None:
    started = run_cli(workdir, "start", "greet.asl.json", "--name", "p", "-i", '{"name": "Ed"}')
    assert started.returncode == 0, started.stderr
    arn = json.loads(started.stdout)["executionArn"]
    described = run_cli(workdir, "describe", arn)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["status"] == "RUNNING"
    finished = run_cli(workdir, "run-engine", "--until-idle", "--log-data", "-f", "tasks:greet")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["output"] == {"greeting": "Hello, Ed!"}
    history = run_cli(workdir, "history", arn)
    types = [e["type"] for e in json.loads(history.stdout)["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"


def test_bad_tokens_real_process(workdir: Path) -> None:
    run_cli(workdir, "create-activity", "a")
    bad = run_cli(workdir, "send-task-failure", "bad token!")
    assert bad.returncode == 2 and bad.stdout == ""
    one_error(bad.stderr, "InvalidToken")
    unknown = run_cli(workdir, "send-task-failure", "A" * 64, "--error", "E")
    assert unknown.returncode == 2
    one_error(unknown.stderr, "TaskDoesNotExist")


def test_run_engine_picks_up_work_and_stops_on_sigterm(workdir: Path) -> None:
    engine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "durable.api.cli",
            "run-engine",
            "-f",
            "tasks:greet",
            "--scan-interval",
            "0.1",
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while "run-engine" not in FileOwnership(workdir / "durable.db").holder():
            assert engine.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = run_cli(workdir, "run-engine", "--until-idle")
        assert second.returncode == 2
        one_error(second.stderr, "already running")
        result = run_cli(workdir, "start", "greet.asl.json", "-i", '{"name": "Al"}', "--wait", "10")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["output"] == {"greeting": "Hello, Al!"}  # run by the engine
        engine.send_signal(signal.SIGTERM)
        out, err = engine.communicate(timeout=10)
        assert engine.returncode == 0, err
        line = json.loads(out.strip().splitlines()[0])
        assert (
            line["status"] == "SUCCEEDED"
            and line["name"] == json.loads(result.stdout)["executionArn"].rsplit(":", 1)[1]
        )
        assert "greet was called" in err
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()


def test_worker_stops_on_sigterm(workdir: Path) -> None:
    assert run_cli(workdir, "create-activity", "doubler").returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "durable.api.cli", "worker", ACTIVITY + "doubler", "-f", "tasks:double"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        ready, _, _ = select.select([worker.stderr], [], [], 15)
        assert ready and "worker polling" in worker.stderr.readline()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
        assert worker.returncode == 0, err
        assert json.loads(out) == {"activityArn": ACTIVITY + "doubler", "tasksHandled": 0}
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_executions_of_a_map_run(workdir: Path, cli: Call) -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    dmap = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}}
    (workdir / "dmap.asl.json").write_text(json.dumps(dmap))
    code, started, err = cli("start", "dmap.asl.json", "-i", "[1, 2]")
    assert code == 0, err
    cli("run-engine", "--until-idle", *FAST)

    async def map_run() -> str:
        async with Client(f"sqlite:///{workdir / 'durable.db'}") as client:
            return (await client.store.list_metadata("maprun", started["executionArn"]))[0].arn

    arn = asyncio.run(map_run())
    code, listed, _ = cli("executions", "--map-run", arn)
    assert code == 0
    assert [(e["status"], e["mapRunArn"], e["itemCount"]) for e in listed["executions"]] == [
        ("SUCCEEDED", arn, 1)
    ] * 2
    code, _, err = cli("executions", "--map-run", arn, "--state-machine", "dmap")
    assert code != 0 and "not both" in err
