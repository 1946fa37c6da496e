"""Conveniences of the ``durable`` command line, as a person uses it: ``--functions MODULE``,
state machines and executions by name, ``--output table``, the ``.durable.toml`` settings and
an idle activity worker that says what it waits for.

The first tests run the real command in a temporary directory (separate processes); the unit
tests after them call the pieces directly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable.api import cli_config
from durable.api.cli import main
from durable.api.cli_common import CliError, FunctionModule, function_refs, module_functions
from durable.api.cli_output import table

ROOT = Path(__file__).resolve().parents[2]
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
EXEC = "arn:aws:states:us-east-1:111111111111:execution:"
ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:"
COMMAND = [sys.executable, "-m", "durable.api.cli"]


def task(name: str, next_state: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": LAMBDA + name}
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


GREET_TWICE = {
    "StartAt": "Greet",
    "States": {"Greet": task("greet", "Shout"), "Shout": task("shout")},
}
DUMPS = {"StartAt": "Dumps", "States": {"Dumps": task("dumps")}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"done": True}, "End": True}}}
SUBSTITUTED = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Result": {"table": "${TableName}", "stage": "${Stage}"}, "End": True}},
}

TASKS_PY = """\
from json import dumps  # imported, not defined here: not registered


class Helper:  # a class, not a function
    pass


def greet(event, context):
    return {"greeting": "Hello, " + event["name"]}


async def shout(event, context):
    return {"greeting": event["greeting"].upper() + "!"}


def _private(event, context):
    return "never registered"
"""

OTHER_PY = """\
def shout(event, context):
    return {"shouted_by": "other"}
"""

MOCKS = {
    "StateMachines": {"Flow": {"TestCases": {"Happy": {"Greet": "Hi", "Shout": "Loud"}}}},
    "MockedResponses": {
        "Hi": {"0": {"Return": {"greeting": "hi"}}},
        "Loud": {"0": {"Return": {"greeting": "HI!"}}},
    },
}


def durable(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The ``durable`` command as a person runs it, in ``cwd``."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DURABLE_DB", "PYTHONPATH")}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("durable: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], done.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: definitions, task modules, a MockConfigFile (no configuration file)."""
    for name, doc in {"greet": GREET_TWICE, "dumps": DUMPS, "pass": PASS, "subst": SUBSTITUTED}.items():
        (tmp_path / f"{name}.asl.json").write_text(json.dumps(doc))
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    (tmp_path / "other.py").write_text(OTHER_PY)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "more_tasks.py").write_text(TASKS_PY)
    (tmp_path / "mocks.json").write_text(json.dumps(MOCKS))
    return tmp_path


# -- --functions MODULE -------------------------------------------------------------------------------


def test_functions_registers_every_function_a_module_defines(project: Path) -> None:
    out = ok(durable(project, "run", "greet.asl.json", "--functions", "tasks", "-i", '{"name": "Ada"}'))
    assert out["status"] == "SUCCEEDED"
    assert out["output"] == {"greeting": "HELLO, ADA!"}
    by_file = durable(project, "run", "greet.asl.json", "-F", "lib/more_tasks.py", "-i", '{"name": "Bo"}')
    assert ok(by_file)["output"] == {"greeting": "HELLO, BO!"}


def test_functions_leaves_out_what_the_module_imports_and_a_function_flag_wins(project: Path) -> None:
    done = durable(project, "run", "dumps.asl.json", "--functions", "tasks")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"] == "Lambda.ResourceNotFoundException"
    both = ["--functions", "tasks", "--function", "shout=other:shout", "-i", '{"name": "Cy"}']
    assert ok(durable(project, "run", "greet.asl.json", *both))["output"] == {"shouted_by": "other"}


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("no_such_module", ["--functions 'no_such_module'", "ModuleNotFoundError"]),
        ("tasks:greet", ["module name", "use --function"]),
        ("missing/file.py", ["file not found"]),
        ("other.py", []),  # defines a function: fine
    ],
)
def test_functions_errors_are_one_line(project: Path, value: str, fragments: list[str]) -> None:
    done = durable(project, "run", "pass.asl.json", "--functions", value)
    if not fragments:
        assert ok(done)["status"] == "SUCCEEDED"
    else:
        error(done, *fragments)


def test_functions_on_a_module_without_functions_is_an_error(project: Path) -> None:
    (project / "empty.py").write_text("VALUE = 1\nfrom json import dumps\n")
    error(durable(project, "run", "pass.asl.json", "--functions", "empty"), "defines no public function")


def test_every_command_that_takes_function_takes_functions(project: Path) -> None:
    commands = ["run", "start", "redrive", "send-task-success", "send-task-failure", "run-engine", "serve"]
    for command in [*commands, "test", "test-state"]:
        assert "--functions MODULE" in durable(project, command, "--help").stdout, command


# -- names where an ARN is expected -------------------------------------------------------------------


def test_state_machines_and_executions_by_name(project: Path) -> None:
    first = ok(durable(project, "start", "pass.asl.json", "--name", "first"))
    assert first["executionArn"] == EXEC + "pass:first"
    second = ok(durable(project, "start", "pass", "--name", "second"))  # the state machine by name
    assert second["executionArn"] == EXEC + "pass:second"
    error(durable(project, "start", "nothing", "--name", "x"), "no state machine named 'nothing'")

    for ref in ("first", "pass:first", EXEC + "pass:first"):
        assert ok(durable(project, "describe", ref))["executionArn"] == EXEC + "pass:first", ref
    events = ok(durable(project, "history", "second"))["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert ok(durable(project, "stop", "pass:second"))["status"] == "ABORTED"
    error(durable(project, "describe", "nobody"), "no execution named 'nobody'")
    error(durable(project, "describe", "pass:nobody"), "ExecutionDoesNotExist")


def test_an_ambiguous_execution_name_lists_the_candidates(project: Path) -> None:
    ok(durable(project, "start", "pass.asl.json", "--name", "same"))
    ok(durable(project, "create-state-machine", "other", "pass.asl.json"))
    ok(durable(project, "start", "other", "--name", "same"))
    line = error(durable(project, "describe", "same"), "2 executions are named 'same'", "MACHINE:NAME")
    assert "pass:same" in line and "other:same" in line
    assert ok(durable(project, "describe", "other:same"))["stateMachineArn"].endswith(":other")


def test_redrive_by_name(project: Path) -> None:
    (project / "boom.asl.json").write_text(
        json.dumps({"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "E"}}})
    )
    done = durable(project, "start", "boom.asl.json", "--name", "once", "--wait", "10")
    assert done.returncode == 1 and json.loads(done.stdout)["status"] == "FAILED"
    redriven = durable(project, "redrive", "once", "--wait", "10")
    assert json.loads(redriven.stdout)["executionArn"] == EXEC + "boom:once"


# -- --output table -----------------------------------------------------------------------------------

DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_list_commands_print_a_table_on_request(project: Path) -> None:
    ok(durable(project, "start", "pass.asl.json", "--name", "b", "--wait", "10"))
    ok(durable(project, "start", "pass.asl.json", "--name", "a-rather-long-execution-name"))
    ok(durable(project, "create-activity", "approve"))

    lines = durable(project, "executions", "--output", "table").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "MACHINE", "STATUS", "STARTED", "STOPPED", "ERROR"]
    assert len(lines) == 3
    assert re.fullmatch(rf"a-rather-long-execution-name +pass +RUNNING +{DATE} +- +-", lines[1]), lines
    assert re.fullmatch(rf"b +pass +SUCCEEDED +{DATE} +{DATE} +-", lines[2]), lines
    starts = {line.index("pass") for line in lines[1:]}
    assert starts == {lines[0].index("STATE MACHINE")}  # aligned columns

    machines = durable(project, "state-machines", "-o", "table").stdout.splitlines()
    assert machines[0].split() == ["NAME", "TYPE", "CREATED"]
    assert re.fullmatch(rf"pass +STANDARD +{DATE}", machines[1])
    activities = durable(project, "activities", "-o", "table").stdout.splitlines()
    assert activities[0].split() == ["NAME", "CREATED"] and activities[1].startswith("approve ")

    listed = ok(durable(project, "executions"))  # JSON stays the default
    assert [e["name"] for e in listed["executions"]] == ["a-rather-long-execution-name", "b"]
    assert ok(durable(project, "executions", "-o", "json")) == listed
    error(durable(project, "executions", "-o", "yaml"), "invalid choice")


# -- the configuration file ---------------------------------------------------------------------------


def test_durable_toml_in_a_parent_holds_db_and_functions(project: Path) -> None:
    (project / ".durable.toml").write_text('db = "var/app.db"\nfunctions = ["tasks", "shout=other:shout"]\n')
    (project / "var").mkdir()
    sub = project / "deep" / "er"
    sub.mkdir(parents=True)
    (sub / "greet.asl.json").write_text(json.dumps(GREET_TWICE))
    started = ok(durable(sub, "start", "greet.asl.json", "-n", "g", "-i", '{"name": "Di"}', "--wait", "10"))
    assert started["output"] == {"shouted_by": "other"}  # later entries win, like repeated flags
    assert (project / "var" / "app.db").is_file() and not (sub / "durable.db").exists()
    assert [e["name"] for e in ok(durable(project, "executions"))["executions"]] == ["g"]

    # a flag overrides the file, and so does $DURABLE_DB
    ok(durable(sub, "start", "greet.asl.json", "-n", "h", "--db", "here.db"))
    assert (sub / "here.db").is_file()
    ok(durable(sub, "start", "greet.asl.json", "-n", "e", env={"DURABLE_DB": "env.db"}))
    assert (sub / "env.db").is_file()
    # the command line's --function of the same name wins over the file's
    out = ok(durable(sub, "run", "greet.asl.json", "-f", "shout=tasks:shout", "-i", '{"name": "Ed"}'))
    assert out["output"] == {"greeting": "HELLO, ED!"}
    # --no-config reads none
    done = durable(sub, "--no-config", "run", "greet.asl.json", "-i", '{"name": "Ed"}')
    assert json.loads(done.stdout)["error"] == "Lambda.ResourceNotFoundException"


def test_pyproject_tool_durable_with_substitutions_and_mocks(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.durable]\nmocks = "mocks.json"\n\n'
        '[tool.durable.substitutions]\nTableName = "orders"\nStage = 3\n'
    )
    out = ok(durable(project, "run", "subst.asl.json"))
    assert out["output"] == {"table": "orders", "stage": "3"}
    flagged = ok(durable(project, "run", "subst.asl.json", "-s", "Stage=prod"))
    assert flagged["output"] == {"table": "orders", "stage": "prod"}
    stdin = subprocess.run(  # standard input is never substituted from the file
        [sys.executable, "-m", "durable.api.cli", "run", "-"],
        cwd=project,
        input=json.dumps(SUBSTITUTED),
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=60,
    )
    assert json.loads(stdin.stdout)["output"] == {"table": "${TableName}", "stage": "${Stage}"}

    (project / "flow.asl.json").write_text(json.dumps(GREET_TWICE))
    tested = durable(project, "test", "--definition", "flow.asl.json")  # MOCKCONFIG from the file
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.splitlines()[1].split()[:2] == ["Happy", "SUCCEEDED"]


def test_a_durable_toml_next_to_a_pyproject_comes_first(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.durable]\ndb = "from-pyproject.db"\n')
    (project / ".durable.toml").write_text('db = "from-durable-toml.db"\n')
    ok(durable(project, "create-activity", "a"))
    assert (project / "from-durable-toml.db").is_file()
    assert not (project / "from-pyproject.db").exists()
    ok(durable(project, "--config", "pyproject.toml", "create-activity", "a"))
    assert (project / "from-pyproject.db").is_file()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('dbb = "x.db"\n', ["unknown setting dbb", "known: db"]),
        ("db = 1\n", ["db must be a non-empty string"]),
        ("functions = [1]\n", ["functions must be a list"]),
        ("substitutions = 3\n", ["substitutions must be a table"]),
        ("db = \n", ["invalid TOML"]),
        ('db = "mysql://host/db"\n', ["sqlite:///", "postgresql://"]),
        ('functions = ["nowhere_module"]\n', ['"functions" of', "nowhere_module"]),
    ],
)
def test_a_bad_configuration_file_is_a_one_line_error(project: Path, text: str, fragments: list[str]) -> None:
    (project / ".durable.toml").write_text(text)
    error(durable(project, "start", "pass.asl.json"), ".durable.toml", *fragments)


# -- an idle activity worker --------------------------------------------------------------------------


def test_an_idle_worker_says_what_it_waits_for_not_too_often(project: Path) -> None:
    (project / "work.py").write_text("def double(value):\n    return {'n': value['n'] * 2}\n")
    ok(durable(project, "create-activity", "doubler"))
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    environ.pop("DURABLE_DB", None)
    started = time.monotonic()
    worker = subprocess.Popen(
        [*COMMAND, "worker", "doubler", "-f", "work:double", "--poll", "0.1", "--idle-notice", "0.01"],
        cwd=project,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    watchdog = threading.Timer(60, worker.kill)  # a worker that never speaks fails, not hangs
    watchdog.start()
    said: list[str] = []
    try:
        while sum("still waiting" in line for line in said) < 2:
            line = worker.stderr.readline()
            assert line, said
            said.append(line.rstrip("\n"))
    finally:
        watchdog.cancel()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert json.loads(out) == {"activityArn": ACTIVITY + "doubler", "tasksHandled": 0}
    first = said[0]
    assert "waiting for tasks" in first and f"{ACTIVITY}doubler in durable.db" in first
    notices = said[1:] + err.splitlines()
    assert all("still waiting" in line and f"{ACTIVITY}doubler in durable.db" in line for line in notices)
    # --idle-notice 0.01 minutes: 0.6 s of idleness before each notice, never sooner
    lifetime = time.monotonic() - started
    assert len(notices) <= lifetime / 0.6 + 1, (lifetime, notices)


# -- unit tests ---------------------------------------------------------------------------------------


@pytest.fixture
def imports(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(project)
    monkeypatch.delenv("DURABLE_DB", raising=False)
    modules, path = set(sys.modules), list(sys.path)
    sys.path.insert(0, str(project))
    yield project
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


def test_module_functions_are_the_public_functions_defined_there(imports: Path) -> None:
    found = module_functions(FunctionModule("tasks", "tasks"))
    assert sorted(spec.name for spec, _ in found) == ["greet", "shout"]
    assert all(spec.option == "--functions" for spec, _ in found)


def test_function_refs_order_config_then_modules_then_specs(imports: Path) -> None:
    args = main_args("run", "pass.asl.json", "-f", "x=a:b", "-F", "pkg.mod")
    args.config_functions, args.config_dir = ("tasks", "n=lib/more_tasks.py:greet"), str(imports)
    refs = function_refs(args)
    assert [type(r).__name__ for r in refs] == [
        "FunctionModule",
        "FunctionSpec",
        "FunctionModule",
        "FunctionSpec",
    ]
    assert refs[1].target == str(imports / "lib" / "more_tasks.py")  # type: ignore[union-attr]


def main_args(*argv: str) -> Any:
    from durable.api.cli import build_parser

    return build_parser().parse_args(list(argv))


def test_find_config_walks_up_and_skips_a_pyproject_without_tool_durable(tmp_path: Path) -> None:
    (tmp_path / ".durable.toml").write_text('region = "eu-west-1"\n')
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text('[project]\nname = "durable-demo"\n')
    found = cli_config.find_config(inner)
    assert found is not None and found.path == tmp_path / ".durable.toml" and found.region == "eu-west-1"


def test_apply_config_fills_only_what_the_flags_left_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DURABLE_DB", raising=False)
    path = tmp_path / ".durable.toml"
    path.write_text('db = "sqlite:///data/x.db"\nregion = "eu-west-1"\naccount = "123456789012"\n')
    config = cli_config.load_config(path)
    args = main_args("serve", "--account", "999999999999")
    cli_config.apply_config(args, config)
    assert args.db == str(tmp_path / "data" / "x.db")
    assert (args.region, args.account) == ("eu-west-1", "999999999999")
    args = main_args("executions", "--db", "mine.db")
    cli_config.apply_config(args, config)
    assert args.db == "mine.db"


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="configuration file not found"):
        cli_config.load_config(tmp_path / "nope.toml")


def test_table_aligns_columns_and_keeps_each_row_on_one_line() -> None:
    lines = table(("A", "LONGER"), [("xxxx", "1"), (None, "two\nlines")])
    assert lines == ["A     LONGER", "xxxx  1", "-     two lines"]


def test_names_in_process(imports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["start", "pass.asl.json", "-n", "one"]) == 0
    assert main(["describe", "one", "--db", "durable.db"]) == 0
    out, _ = capsys.readouterr()
    assert EXEC + "pass:one" in out
    assert main(["describe", "pass:"]) == 2
    assert "expected an ARN, MACHINE:NAME or NAME" in capsys.readouterr().err


def test_run_reads_local_buckets_from_the_flag_and_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "items.json").write_text(json.dumps([{"n": 1}, {"n": 2}]))
    machine = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "my-bucket", "Key": "items.json"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    (tmp_path / "each.asl.json").write_text(json.dumps(machine))
    monkeypatch.chdir(tmp_path)
    args = ["run", "each.asl.json", "--type", "STANDARD"]
    assert main(["--no-config", *args, "--local-bucket", "my-bucket=data"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == [{"n": 1}, {"n": 2}]
    (tmp_path / ".durable.toml").write_text('[local_buckets]\nmy-bucket = "data"\n')
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["output"] == [{"n": 1}, {"n": 2}]
    assert main(["validate", "each.asl.json", "--portable"]) == 1
    out = capsys.readouterr().out
    assert "LOCAL_BUCKET" in out and "at /States/Each/ItemReader/Parameters/Bucket" in out
    assert "WARNING LOCAL_SETTING: The setting 'local_buckets'" in out
