"""The live progress display of the command line (rich, on standard error): what it shows, and
that it is shown only on a terminal, never on standard output."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from durable.api import cli, cli_progress
from durable.api.cli import main
from durable.api.cli_progress import ProgressView, console_for, progress_table

FLOW = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Next": "Second"},
        "Second": {"Type": "Pass", "Result": {"done": True}, "End": True},
    },
}


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=160, color_system=None), buffer


def test_durable_run_shows_its_progress_on_the_terminal_and_keeps_stdout_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    console, shown = terminal()
    asked: list[bool] = []

    def fake_console(disabled: bool) -> Any:
        asked.append(disabled)
        return None if disabled else console

    monkeypatch.setattr(cli, "console_for", fake_console)
    source = tmp_path / "flow.asl.json"
    source.write_text(json.dumps(FLOW))
    code = main(["--no-config", "run", str(source), "--type", "STANDARD"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["status"] == "SUCCEEDED"  # stdout: the one JSON document
    text = shown.getvalue()
    assert "SUCCEEDED" in text and "states done 2" in text
    assert asked == [False]
    # --no-progress: nothing is displayed
    shown.truncate(0)
    assert main(["--no-config", "run", str(source), "--type", "STANDARD", "--no-progress"]) == 0
    capsys.readouterr()
    assert asked == [False, True] and shown.getvalue() == ""


def test_a_console_only_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert console_for(False) is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert console_for(True) is None
    assert isinstance(console_for(False), Console)


def _run(total: int, succeeded: int, failed: int, running: int) -> Any:
    counts = SimpleNamespace(
        total=total, succeeded=succeeded, failed=failed, timed_out=0, aborted=0, running=running
    )
    return SimpleNamespace(map_run_arn="arn:aws:states:us-east-1:1:mapRun:m/run:abc", item_counts=counts)


def test_map_runs_show_items_done_failed_rate_and_eta() -> None:
    history = [
        {"type": "ExecutionStarted", "id": 1},
        {"type": "PassStateEntered", "id": 2, "stateEnteredEventDetails": {"name": "Prepare"}},
        {"type": "PassStateExited", "id": 3, "stateExitedEventDetails": {"name": "Prepare"}},
        {"type": "MapStateEntered", "id": 4, "stateEnteredEventDetails": {"name": "Each"}},
    ]
    view = ProgressView(started=100.0)
    view.read("RUNNING", history, [_run(100, 0, 0, 10)], now=100.0)
    view.read("RUNNING", history, [_run(100, 36, 4, 10)], now=110.0)  # 40 items in 10 s
    console, shown = terminal()
    console.print(progress_table(view, now=110.0))
    text = shown.getvalue()
    assert "RUNNING" in text and "states done 1" in text and "in Each" in text
    assert "items 40/100" in text and "failed 4" in text and "running 10" in text
    assert "4.0 items/s" in text and "ETA 15s" in text  # 60 left at 4 a second
    fresh = ProgressView(started=0.0)
    fresh.read("RUNNING", history, [_run(100, 0, 0, 0)], now=0.0)
    console, shown = terminal()
    console.print(progress_table(fresh, now=0.0))
    assert "ETA" not in shown.getvalue()  # no rate yet: no estimate


async def test_watching_without_a_console_shows_nothing() -> None:
    async with cli_progress.watching(object(), "arn", None) as view:
        assert view is None
