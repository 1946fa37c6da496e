"""``durable map-runs``: an execution's Distributed Map runs from the command line, as JSON, a
table, and progress lines (``--watch``)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from durable import Engine
from durable.api.cli import main
from durable.api.cli_mapruns import progress_line
from durable.runtime.mapruns import MapRun, MapRunCounts

DM = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "Label": "Rows",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "d.db"

    async def go() -> None:
        async with Engine(f"sqlite:///{path}", load_plugins=False) as engine:
            machine = await engine.create_state_machine("rows", DM)
            started = await engine.start_execution(machine.arn, list(range(7)), name="first")
            assert (await engine.wait_for_execution(started.execution_arn)).status == "SUCCEEDED"

    asyncio.run(go())
    return path


def test_map_runs_as_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map-runs", "first", "--db", str(db)]) == 0
    (run,) = json.loads(capsys.readouterr().out)["mapRuns"]
    assert run["status"] == "SUCCEEDED" and ":mapRun:rows/Rows:" in run["mapRunArn"]
    assert run["itemCounts"]["total"] == 7 and run["itemCounts"]["succeeded"] == 7


def test_map_runs_as_a_table_and_watched(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map-runs", "first", "--db", str(db), "--output", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["MAP", "RUN", "STATUS"] and "SUCCEEDED" in lines[1]
    assert main(["map-runs", "first", "--db", str(db), "--watch", "--interval", "0.05"]) == 0
    (line,) = capsys.readouterr().out.splitlines()  # ended already: one progress line, then done
    assert (
        line.startswith("Rows:")
        and "SUCCEEDED" in line
        and "7/7 items" in line
        and "[" + "#" * 24 + "]" in line
    )


def test_a_progress_line_shows_what_is_done() -> None:
    counts: Any = MapRunCounts(total=10, succeeded=4, failed=1, running=2, pending=3)
    run = MapRun(
        map_run_arn="arn:aws:states:us-east-1:1:mapRun:m/L:abc",
        execution_arn="e",
        status="RUNNING",
        start_date=datetime.now(UTC),
        item_counts=counts,
        execution_counts=counts,
    )
    line = progress_line(run)
    assert line.startswith("L:abc  RUNNING")
    assert "[############............] 5/10 items" in line and "ok 4" in line and "running 2" in line
