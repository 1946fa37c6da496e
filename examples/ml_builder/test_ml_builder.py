"""The builder example: its notebook cells run as a kernel runs them, and the workflow they
build is the hand-written definition of examples/ml_pipeline, drawn, validated and run."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("ml_builder_run", HERE / "run.py")
assert _spec is not None and _spec.loader is not None
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)  # by path: other examples have a run.py too


def test_the_cells_build_draw_validate_and_run_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ML_STORE", str(tmp_path))
    ns = runner.run_notebook()

    # the builder writes what ml_pipeline's author wrote by hand
    hand_written = json.loads((HERE.parent / "ml_pipeline" / "definition.asl.json").read_text())
    assert ns["definition"] == hand_written
    assert ns["checked"].result == "OK" and not ns["checked"].diagnostics

    # the graph: an SVG document with a box per state
    svg = (tmp_path / "pipeline.svg").read_text()
    assert svg == ns["svg"]
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = {element.text for element in root.iter() if element.tag.endswith("text")}
    assert set(hand_written["States"]) <= texts

    # a day: trained, deployed, the day's wines classified (by scikit-learn)
    day = ns["day"]
    assert str(day.status) == "SUCCEEDED", (day.error, day.cause)
    assert day.output["model"] == "2026-03-02" and day.output["accuracy"] >= 0.9
    assert sum(day.output["byClass"].values()) == len(ns["landed"]["truth"]) == 28
    assert (tmp_path / "predictions" / "2026-03-02.csv").exists()

    # a busy registry: retried twice, 30 + 60 seconds on the test clock
    retried = ns["retried"]
    assert str(retried.status) == "SUCCEEDED" and ns["attempts"] == [1, 2, 3]
    assert (retried.stop_date - retried.start_date).total_seconds() >= 90
    assert json.loads((tmp_path / "serving" / "model.json").read_text())["version"] == "2026-03-03"

    # a day without data: the team is notified
    missing = ns["missing"]
    assert (str(missing.status), missing.error) == ("FAILED", "PipelineFailed")
    assert missing.cause == "DataCheckFailed: landing/2026-03-04/wines.csv: no extract landed for 2026-03-04"
    [notification] = [json.loads(p.read_text()) for p in (tmp_path / "notifications").rglob("*.json")]
    assert notification["subject"] == "ML pipeline failed for 2026-03-04"
