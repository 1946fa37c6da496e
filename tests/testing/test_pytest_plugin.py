"""The pytest plugin from a user's side: a small project in a temporary directory, run by pytest
in a separate process with the plugin loaded as its entry point would load it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MACHINE = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:charge",
            "Retry": [{"ErrorEquals": ["Card.Declined"], "IntervalSeconds": 60, "MaxAttempts": 2}],
            "Next": "Cool",
        },
        "Cool": {"Type": "Wait", "Seconds": 86400, "Next": "Ship"},
        "Ship": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True},
    },
}

MOCK_CONFIG = {
    "StateMachines": {
        "Order": {
            "TestCases": {
                "Happy": {"Charge": "Charged", "Ship": "Sent"},
                "Declined": {"Charge": "AlwaysDeclined", "Ship": "Sent"},
            }
        }
    },
    "MockedResponses": {
        "Charged": {"0": {"Return": {"paid": True}}},
        "AlwaysDeclined": {"0-2": {"Throw": {"Error": "Card.Declined", "Cause": "no"}}},
        "Sent": {"0": {"Return": {"MessageId": "m-1"}}},
    },
}

TESTS = """
import json
from pathlib import Path

import pytest

from durable.testing import (
    assert_failed, assert_retries, assert_states_visited, assert_succeeded, returns, run_test_case, throws,
)

MACHINE = json.loads(Path(__file__).with_name("machine.asl.json").read_text())


async def test_memory(durable_kit):
    durable_kit.mocks.state("Charge", throws("Card.Declined"), returns({"paid": True}))
    durable_kit.mocks.resource("arn:aws:states:::sqs:*", returns({"MessageId": "m"}))
    done = await durable_kit.run(MACHINE, {"order": 1})
    assert_succeeded(done, {"MessageId": "m"})
    assert_states_visited(done, ["Charge", "Cool", "Ship"])
    assert_retries(done, "Charge", 1)
    assert durable_kit.clock.now() - done.start_date.timestamp() >= 86400 + 60


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_sqlite(durable_sqlite_kit, kind):
    durable_sqlite_kit.mocks.state("Charge", returns({"paid": True}))
    durable_sqlite_kit.mocks.state("Ship", returns({"MessageId": "s"}))
    cool = {"Type": "Wait", "Seconds": 5, "Next": "Ship"}
    machine = dict(MACHINE, States=dict(MACHINE["States"], Cool=cool))
    done = await durable_sqlite_kit.run(machine, type=kind)
    assert_succeeded(done, {"MessageId": "s"})


async def test_engine_fixture(durable_engine, durable_mocks):
    durable_mocks.state("Charge", returns(1))
    durable_mocks.state("Ship", returns(2))
    machine = await durable_engine.create_state_machine("m", MACHINE)
    started = await durable_engine.start_execution(machine.arn, {})
    done = await durable_engine.wait_for_execution(started.execution_arn)
    assert done.output == 2


@pytest.mark.durable_mock_config("MockConfigFile.json")
async def test_cases(durable_kit, durable_test_case):
    result = await run_test_case(durable_kit, MACHINE, durable_test_case)
    if durable_test_case.name == "Declined":
        assert_failed(result.execution, "Card.Declined", "no")
    else:
        assert_succeeded(result.execution)


async def test_a_readable_failure(durable_kit):
    durable_kit.mocks.state("Charge", returns({}))
    durable_kit.mocks.state("Ship", returns({}))
    done = await durable_kit.run(MACHINE)
    assert_states_visited(done, ["Charge", "Ship"])
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "machine.asl.json").write_text(json.dumps(MACHINE))
    (tmp_path / "MockConfigFile.json").write_text(json.dumps(MOCK_CONFIG))
    (tmp_path / "test_order.py").write_text(TESTS)
    return tmp_path


def test_the_fixtures_and_helpers_in_a_users_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # installed, durable registers its plugin (entry point pytest11); from a tree that is only on
    # the path, the test names it
    installed = any(
        ep.value.startswith("durable.testing.pytest_plugin")
        for ep in importlib.metadata.entry_points(group="pytest11")
    )
    load = [] if installed else ["-p", "durable.testing.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *load, "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function",
         "-rA", "--durations=0", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout
    assert "6 passed" in out and "1 failed" in out, out + done.stderr
    # the one failing test says what differs
    assert "states visited differ" in out
    assert 'expected: ["Charge", "Ship"]' in out and 'actual:   ["Charge", "Cool", "Ship"]' in out
    assert "first difference at position 1: expected 'Ship', got 'Cool'" in out
    # a day-long Wait and a minute's back-off took no real time
    for line in out.splitlines():
        if " call " in line and "test_order.py" in line:
            assert float(line.split("s", 1)[0]) < 5, line


def test_the_plugin_is_a_pytest11_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"durable": "durable.testing.pytest_plugin"}
