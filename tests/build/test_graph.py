"""The state graph as a Mermaid flowchart and as PNG, and ``durable graph`` (svg, png, mermaid)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from durable.api.cli import main
from durable.build import graph_mermaid, graph_svg
from durable.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]

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


def _png_size(data: bytes) -> tuple[int, int]:
    """The width and height a PNG's IHDR chunk declares (after checking the signature)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _svg_size(svg: str) -> tuple[float, float]:
    m = re.match(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg)
    assert m is not None
    return float(m[1]), float(m[2])


def test_cli_graph_png_to_a_pipe_and_to_files(tmp_path: Path) -> None:
    pytest.importorskip("networkx")
    pytest.importorskip("resvg_py")
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps(MACHINE))
    width, height = _svg_size(graph_svg(MACHINE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "durable.api.cli", "--no-config", "graph", str(source)]
    done = subprocess.run([*command, "--format", "png"], capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert _png_size(done.stdout) == (round(width * 2), round(height * 2))
    assert done.stdout.endswith(b"IEND\xaeB`\x82")  # nothing after the image (no newline)
    # --output FILE.png: the format follows the name; --scale sets the size
    target = tmp_path / "m.png"
    done = subprocess.run([*command, "-o", str(target), "--scale", "1"], capture_output=True, env=env)
    assert done.returncode == 0 and done.stdout == b""
    assert _png_size(target.read_bytes()) == (round(width), round(height))
    pil = pytest.importorskip("PIL.Image")
    with pil.open(target) as image:
        image.load()  # decodes every pixel
        assert image.size == (round(width), round(height))
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 10  # drawn, not blank


def test_cli_graph_png_refuses_a_terminal_and_a_bad_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "m.asl.json"
    source.write_text(json.dumps(MACHINE))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["--no-config", "graph", str(source), "--format", "png"]) == 2
    _, err = capsys.readouterr()
    assert "not written to a terminal" in err
    target = tmp_path / "m.png"
    assert main(["--no-config", "graph", str(source), "-o", str(target), "--scale", "0"]) == 2
    _, err = capsys.readouterr()
    assert "--scale must be positive" in err and not target.exists()


def test_graph_png_and_diagram_save(tmp_path: Path) -> None:
    pytest.importorskip("networkx")
    pytest.importorskip("resvg_py")
    from durable.build import Diagram, graph_png

    data = graph_png(json.dumps(MACHINE), {"Route": "succeeded"}, scale=1.5)
    width, height = _svg_size(graph_svg(MACHINE))
    assert _png_size(data) == (round(width * 1.5), round(height * 1.5))
    diagram = Diagram.of(MACHINE)
    diagram.save(tmp_path / "d.png")
    diagram.save(tmp_path / "d.svg")
    assert _png_size((tmp_path / "d.png").read_bytes()) == _png_size(diagram.png())
    assert (tmp_path / "d.svg").read_text().startswith("<svg")
    with pytest.raises(DefinitionError):
        graph_png("[1]")
    with pytest.raises(ValueError, match="scale"):
        graph_png(MACHINE, scale=-1)
