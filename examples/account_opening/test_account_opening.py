"""The flagship example, run end to end through the public API with a skipping clock."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from durable import Engine, ManualClock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
workflow = importlib.import_module("workflow")
functions = importlib.import_module("functions")


async def _run(application: dict) -> object:
    functions._names.seen.clear()
    async with Engine(clock=ManualClock(autojump=0.005)) as engine:
        workflow.register(engine)
        return await workflow.open_account(engine, application)


async def test_good_application_is_approved_after_a_retry() -> None:
    result = await _run(workflow.GOOD_APPLICATION)
    assert str(result.status) == "SUCCEEDED"
    assert result.output["status"] == "APPROVED"
    assert result.output["applicant"] == "Ada Lovelace"
    assert result.output["accountNumber"].startswith("ACC-")
    # the flaky name service failed once and the Retry absorbed it
    assert "Ada Lovelace" in functions._names.seen


async def test_invalid_address_is_rejected_by_the_catch() -> None:
    result = await _run(workflow.BAD_APPLICATION)
    assert str(result.status) == "SUCCEEDED"
    assert result.output == {
        "status": "REJECTED",
        "applicant": "Bob Builder",
        "reason": "invalid zip code: 'ABCDE'",
    }


async def test_invalid_name_is_rejected() -> None:
    application = {"application": {**workflow.GOOD_APPLICATION["application"], "name": "!"}}
    result = await _run(application)
    assert result.output["status"] == "REJECTED"
    assert result.output["reason"] == "invalid name: '!'"


def test_run_script_prints_both_outcomes() -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=60, check=True
    )
    lines = proc.stdout.strip().splitlines()
    assert '"APPROVED"' in lines[0]
    assert '"REJECTED"' in lines[1]
