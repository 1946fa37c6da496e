"""The human-approval workflow tested with durable's testing kit only: every Task is mocked from
MockConfigFile.json (AWS Step Functions Local's format), the approver's answer included, and the
day-long wait for it, the retries' back-offs and the timeouts take no real time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from durable.testing import Kit, MockConfig, TestCase, assert_retries, assert_state_output, run_test_case

HERE = Path(__file__).resolve().parent
DEFINITION = HERE.parent / "definition.asl.json"


@pytest.mark.durable_mock_config("MockConfigFile.json")
async def test_every_path_of_the_mock_config(durable_kit: Kit, durable_test_case: TestCase) -> None:
    result = await run_test_case(durable_kit, DEFINITION, durable_test_case)
    assert result.passed, "\n".join(result.problems)


async def test_the_retry_path_retries_the_account_service(durable_kit: Kit) -> None:
    [case] = [c for c in MockConfig.load(HERE / "MockConfigFile.json").test_cases() if c.name == "RetryPath"]
    result = await run_test_case(durable_kit, DEFINITION, case)
    assert_retries(result.execution, "OpenAccount", 2)
    assert_state_output(result.execution, "OpenAccount", {"accountId": "ACC-2"})
    assert durable_kit.clock.now() - result.execution.start_date.timestamp() >= 2 + 4  # back-offs


def test_the_command_line_runs_the_mock_config() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "durable.api.cli", "test", str(HERE / "MockConfigFile.json"),
         "--definition", str(DEFINITION)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "HappyPath" in done.stdout and "RejectedPath" in done.stdout
