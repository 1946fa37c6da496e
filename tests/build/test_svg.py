"""The state graph as SVG: well-formed, every state a text, edges for every transition, Choice
edges labelled with their rule, Catch edges styled apart, branches and processors as clusters."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from durable import DefinitionError
from durable.build import (
    Catch,
    Choice,
    ChoiceRule,
    Diagram,
    Fail,
    Map,
    Parallel,
    Pass,
    Succeed,
    Task,
    Wait,
    Workflow,
    graph_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert float(root.attrib["width"]) > 0 and float(root.attrib["height"]) > 0
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def _classed(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls in e.attrib.get("class", "").split()]


def _all_state_names(definition: Any) -> set[str]:
    names: set[str] = set()
    states = definition.get("States") if isinstance(definition, dict) else None
    for name, state in states.items() if isinstance(states, dict) else ():
        names.add(name)
        if not isinstance(state, dict):
            continue
        branches = state.get("Branches")
        for branch in branches if isinstance(branches, list) else ():
            names |= _all_state_names(branch)
        for key in ("ItemProcessor", "Iterator"):
            names |= _all_state_names(state.get(key))
    return names


def _machine() -> Workflow:
    handle = Fail("Handle", error="Oops")
    work = Task("Work", LAMBDA + "work", catch=[Catch(["States.ALL"], handle)])
    each = Map("Each", Pass("Item") >> Wait("Nap", seconds=1), items_path="$.items")
    both = Parallel("Both", [Pass("Left"), Pass("Right1") >> Pass("Right2")])
    check = (
        Choice("Check")
        .when(ChoiceRule.StringEquals("$.status", "done"), Succeed("Done"))
        .when(ChoiceRule.NumericLessThan("$.n", 3), "Work")
        .otherwise(handle)
    )
    return Workflow(work >> each >> both >> check)


@pytest.mark.parametrize(
    "example",
    [
        "account_opening",
        "human_approval",
        "etl_orchestration",
        "pdf_invoice",
        "video_transcode",
        "ml_pipeline",
    ],
)
def test_examples_render_with_every_state_named(example: str) -> None:
    text = (EXAMPLES / example / "definition.asl.json").read_text()
    root = _parse(graph_svg(text))
    assert _all_state_names(json.loads(text)) <= set(_texts(root))
    assert graph_svg(text) == graph_svg(json.loads(text))  # a JSON text or its dict, deterministic


def test_edges_labels_styles_and_clusters() -> None:
    machine = _machine()
    root = _parse(machine.to_svg())
    texts = _texts(root)
    assert _all_state_names(machine.to_dict()) <= set(texts)
    for kind in ("Task", "Map", "Parallel", "Choice", "Succeed", "Fail", "Pass", "Wait"):
        assert kind in texts
    edges = _classed(root, "path", "edge")
    # Start, Work->Each, Each->Both, Both->Check, Check x3, the Catch, Item->Nap, Right1->Right2,
    # and the terminal states to End
    assert len(edges) >= 11
    assert '$.status == "done"' in texts
    assert "$.n < 3" in texts
    assert "Default" in texts
    catches = _classed(root, "path", "edge-catch")
    assert len(catches) == 1
    assert catches[0].attrib["stroke-dasharray"]  # inline: no <style> leaking into a notebook page
    assert root.find(f"{SVG}style") is None
    assert any(t.startswith("Catch") and "States.ALL" in t for t in texts)
    clusters = _classed(root, "g", "cluster")
    assert len(clusters) == 3  # two branches and one processor
    # each state is a group named after it, holding a box
    states = _classed(root, "g", "state")
    assert {s.attrib["data-name"] for s in states} == _all_state_names(machine.to_dict())
    for group in states:
        assert group.find(f"{SVG}rect") is not None


def test_repr_svg_on_workflows_chains_and_states() -> None:
    machine = _machine()
    assert machine._repr_svg_() == machine.to_svg()
    assert isinstance(machine.graph(), Diagram)
    assert machine.graph()._repr_svg_() == machine.to_svg()
    a, b = Pass("A"), Pass("B")
    chain = a >> b
    assert "A" in _texts(_parse(chain._repr_svg_()))
    assert "B" in _texts(_parse(a._repr_svg_()))


def test_rule_labels_are_short_and_readable() -> None:
    rule = ChoiceRule.And(
        ChoiceRule.StringEquals("$.a", "x"),
        ChoiceRule.Not(ChoiceRule.IsNull("$.b", True)),
        ChoiceRule.BooleanEqualsPath("$.c", "$.d"),
    )
    choice = Choice("C").when(rule, Succeed("Y")).when("{% $states.input.n > 1 %}", Succeed("Z"))
    choice.otherwise(Succeed("N"))
    texts = _texts(_parse(Workflow(choice).to_svg(validate=False)))
    assert '$.a == "x" and not($.b is null) and $.c == $.d' in texts
    assert "$states.input.n > 1" in texts
    long = Choice("L").when(ChoiceRule.StringEquals("$.a", "x" * 200), Succeed("Y2")).otherwise(Succeed("N2"))
    labels = [t for t in _texts(_parse(Workflow(long).to_svg())) if t.startswith("$.a")]
    assert len(labels[0]) <= 48 and labels[0].endswith("…")


def test_invalid_or_odd_definitions_still_render() -> None:
    odd = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Next": "Missing"},
            "B": "not a state",
            "Self": {"Type": "Pass", "Next": "Self"},
            "<&>": {"Type": "Pass", "End": True},
        },
    }
    root = _parse(graph_svg(odd))
    assert {"A", "Self", "<&>"} <= set(_texts(root))
    assert "StartAt" not in _texts(_parse(graph_svg({"StartAt": "X", "States": {}})))
    with pytest.raises(DefinitionError, match="JSON object"):
        graph_svg("[1, 2]")
    with pytest.raises(DefinitionError, match="JSON object"):
        graph_svg("{not json")


def test_a_diagram_saves_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "m.svg"
    _machine().graph().save(path)
    _parse(path.read_text())


CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases.jsonl"


def test_every_definition_of_the_conformance_corpus_draws() -> None:
    """Hundreds of hand-written definitions (loops, nested branches, odd names): each draws as
    well-formed SVG naming every state."""
    if not CORPUS.exists():
        pytest.skip(f"conformance corpus not found at {CORPUS}")
    seen: set[str] = set()
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        definition = json.loads(line).get("definition") if line.strip() else None
        key = json.dumps(definition, sort_keys=True)
        if not isinstance(definition, dict) or key in seen:
            continue
        seen.add(key)
        root = _parse(graph_svg(definition))
        assert _all_state_names(definition) <= set(_texts(root)), definition
    assert len(seen) > 100


def test_states_coloured_by_an_executions_status() -> None:
    """``status`` classes and fills each state by what an execution did there; a state left out
    is not-reached, states inside branches included, and the drawing without it is unchanged."""
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": LAMBDA + "a", "Catch": [{"ErrorEquals": ["X"], "Next": "H"}]},
            "H": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "End": True}}}],
                "Next": "F",
            },
            "F": {"Type": "Fail"},
        },
    }
    plain = graph_svg(definition)
    assert "data-status" not in plain and plain == graph_svg(definition, status=None)
    root = _parse(graph_svg(definition, status={"A": "caught", "H": "running", "In": "succeeded"}))
    groups = {g.attrib["data-name"]: g for g in _classed(root, "g", "state")}
    assert {name: g.attrib["data-status"] for name, g in groups.items()} == {
        "A": "caught",
        "H": "running",
        "In": "succeeded",
        "F": "not-reached",
    }
    assert "status-caught" in groups["A"].attrib["class"].split()
    assert groups["F"].find(f"{SVG}rect").attrib["fill"] != groups["A"].find(f"{SVG}rect").attrib["fill"]
    with pytest.raises(ValueError, match="unknown status"):
        graph_svg(definition, status={"A": "exploded"})
