"""``durable put-rule``, ``put-targets``, ``rules``, ``put-events``, ``delete-rule``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from durable import Engine
from durable.api.cli import main

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out) if out.strip() else None


def test_rules_targets_and_events_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "durable.db"

    async def machine() -> str:
        async with Engine(str(db), load_plugins=False) as engine:
            return (await engine.create_state_machine("m", PASS)).arn

    arn = asyncio.run(machine())
    code, out = call(capsys, "put-rule", "r", "--event-pattern", '{"source": ["cli"]}', "--db", str(db))
    assert code == 0 and out["RuleArn"].endswith(":rule/r")
    targets = json.dumps([{"Id": "t", "Arn": arn, "InputPath": "$.detail"}])
    code, out = call(capsys, "put-targets", "r", "--targets", targets, "--db", str(db))
    assert (code, out) == (0, {"FailedEntryCount": 0, "FailedEntries": []})
    code, out = call(capsys, "rules", "--db", str(db))
    assert code == 0 and [(r["Name"], [t["Id"] for t in r["Targets"]]) for r in out] == [("r", ["t"])]
    entries = json.dumps([{"Source": "cli", "DetailType": "x", "Detail": {"n": 1}}])
    code, out = call(capsys, "put-events", "--entries", entries, "--db", str(db))
    assert code == 0 and out["FailedEntryCount"] == 0

    async def delivered() -> list[Any]:  # the next engine to open delivers it
        async with Engine(str(db), load_plugins=False) as engine:
            await engine.events_delivered()
            return [e.input for e in await engine.list_executions()]

    assert asyncio.run(delivered()) == [{"n": 1}]
    code, _ = call(capsys, "delete-rule", "r", "--db", str(db))
    assert code == 2  # it has targets
    code, out = call(capsys, "delete-rule", "r", "--force", "--db", str(db))
    assert code == 0
