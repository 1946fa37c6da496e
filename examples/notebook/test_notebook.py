"""The notebook example, run as a kernel runs it (inside a running event loop, cells that
await), and as the command its README gives."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("notebook_runner", HERE / "run.py")
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)  # by path: other examples have a run.py too


def test_every_cell_runs_inside_a_running_loop() -> None:
    cells = runner.cells(runner.NOTEBOOK)
    assert any("durable.run(" in c for c in cells) and any("await durable.arun(" in c for c in cells)
    ns = asyncio.run(runner.run_cells())
    assert ns["checked"].result == "OK"
    assert (str(ns["execution"].status), ns["execution"].output) == (
        "SUCCEEDED",
        {"greeting": "Hello, Ada!", "with": "a hug"},
    )
    standard = ns["standard"]
    assert standard.execution_arn.endswith(":execution:greeter:grace")
    assert standard.output == {"greeting": "Hello, Grace!", "with": "a wave"}
    assert standard.start_date.tzinfo is UTC and ns["elapsed"].total_seconds() >= 0
    history = ns["history"]
    assert (history[0]["type"], history[-1]["type"]) == ("ExecutionStarted", "ExecutionSucceeded")
    assert all(e["timestamp"].tzinfo is UTC for e in history)
    built = ns["built"]  # the builder cell: the same machine written in Python, drawn as SVG
    assert built.to_dict() == ns["GREETER"]
    assert ns["svg"].startswith("<svg") and all(f">{name}<" in ns["svg"] for name in ("Greet", "Hug", "Wave"))


def test_the_readme_command() -> None:
    root = HERE.parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py")], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "OK []",
        "SUCCEEDED {'greeting': 'Hello, Ada!', 'with': 'a hug'}",
        "grace SUCCEEDED {'greeting': 'Hello, Grace!', 'with': 'a wave'}",
    ]
    assert any(line.endswith(" ExecutionSucceeded") for line in lines)
    assert any(line.startswith("graph: ") and line.endswith(" characters of SVG") for line in lines)
