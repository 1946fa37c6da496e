"""The builder's public names are pinned: changing them is a deliberate diff and a CHANGELOG line."""

from __future__ import annotations

import durable.build

EXPECTED = [
    "Branch",
    "BuildError",
    "Catch",
    "Chain",
    "Choice",
    "ChoiceRule",
    "Diagram",
    "Fail",
    "Map",
    "Parallel",
    "Pass",
    "Retry",
    "State",
    "Succeed",
    "Task",
    "Wait",
    "Workflow",
    "graph_mermaid",
    "graph_png",
    "graph_svg",
]


def test_all_is_pinned() -> None:
    assert sorted(durable.build.__all__) == EXPECTED
    assert durable.build.__all__ == sorted(durable.build.__all__)


def test_every_public_name_says_durable_build() -> None:
    for name in durable.build.__all__:
        obj = getattr(durable.build, name)
        assert obj.__module__ == "durable.build", name
    public = {n for n in vars(durable.build) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(durable.build, n)).__name__ == "module"}
    assert public - modules == set(EXPECTED)
