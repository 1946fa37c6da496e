"""The state graph as a Mermaid flowchart, and ``durable graph`` (svg and mermaid)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from durable.api.cli import main
from durable.build import graph_mermaid
from durable.errors import DefinitionError

MACHINE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "Both"}],
            "Default": "Broken",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "End": True}}},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {
                    "Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}
                },
            },
            "End": True,
        },
        "Broken": {"Type": "Fail", "Error": 'Bad "quote"'},
    },
}


def test_mermaid_nodes_edges_and_subgraphs() -> None:
    text = graph_mermaid(MACHINE)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    # a node line: its id, an opening bracket (the shape), the quoted name
    ids = {m[2]: m[1] for m in (re.match(r'\s*(n\d+)[(\[{]+"([^"]*)"', line) for line in lines) if m}
    assert set(ids) == {"Start", "Route", "A", "B", "Work", "Broken", "End"}
    assert any(line.strip().startswith("subgraph") and "Both (Parallel)" in line for line in lines)
    assert any("Branch 1" in line for line in lines) and any("Branch 2" in line for line in lines)
    assert any("Each (Map)" in line for line in lines) and any("ItemProcessor" in line for line in lines)
    assert lines.count("  end") == 2 and lines.count("    end") == 3
    assert f"  {ids['Start']} --> {ids['Route']}" in lines
    assert f'{ids["Route"]} -->|"Default"| {ids["Broken"]}' in text
    assert '-->|"$.x == 1"|' in text
    assert f'-.->|"Catch States.ALL"| {ids["Broken"]}' in text
    assert f"{ids['Broken']} --> {ids['End']}" in text


def test_mermaid_escapes_quotes_and_rejects_non_objects() -> None:
    text = graph_mermaid({"StartAt": 'say "hi"', "States": {'say "hi"': {"Type": "Succeed"}}})
    assert '"say #quot;hi#quot;"' in text
    with pytest.raises(DefinitionError):
        graph_mermaid("[1, 2]")


def test_cli_graph_mermaid_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("networkx")
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps(MACHINE))
    assert main(["--no-config", "graph", str(source), "--format", "mermaid"]) == 0
    out, _ = capsys.readouterr()
    assert out == graph_mermaid(MACHINE)
    target = tmp_path / "m.svg"
    assert main(["--no-config", "graph", str(source), "-o", str(target)]) == 0
    assert target.read_text().startswith("<svg") and "Route" in target.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["--no-config", "graph", str(bad), "--format", "mermaid"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("durable: error: ") and "Traceback" not in err
    assert main(["--no-config", "graph", str(tmp_path / "missing.json")]) == 2
