"""docs/builder.md is checked against the code: its Python runs, its JSON is what the worked
example builds, and every machine it shows is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from durable.build import Chain, Map, Parallel, State, Workflow

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "builder.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_guide_runs_and_shows_what_it_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    for block in _blocks("python"):
        exec(compile(block, "docs/builder.md", "exec"), namespace)
    (shown,) = _blocks("json")
    workflow = namespace["workflow"]
    assert isinstance(workflow, Workflow)
    assert workflow.to_dict() == json.loads(shown)
    for name in ("loop", "jsonata"):
        machine = namespace[name]
        assert isinstance(machine, Workflow)
        machine.to_dict()
    for name in ("review", "both", "each", "rows"):
        step = namespace[name]
        assert isinstance(step, (State, Chain, Parallel, Map))
        Workflow(step).to_dict()
    assert "<svg" in str(namespace["svg"])


def test_readme_links_the_guide() -> None:
    assert "docs/builder.md" in (ROOT / "README.md").read_text()
