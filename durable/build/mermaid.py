"""The state graph of an ASL definition as a Mermaid flowchart (text, no layout engine needed).

The same graph :func:`~durable.build.graph_svg` draws (:func:`~durable.build.diagram.read_diagram`):
states are nodes (shaped by type), ``Next`` edges plain, ``Choice`` rules and ``Default``
labelled, ``Catch`` edges dotted and labelled with their errors; a Parallel or Map state is a
subgraph holding one subgraph per branch (or its item processor), and edges to or from it
attach to that subgraph.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import DefinitionError, Diagnostic
from .diagram import Edge, Node, Scope, read_diagram

__all__ = ["graph_mermaid"]

_SHAPES = {  # (open, close) of a node's label, by state type
    "Start": ('(["', '"])'),
    "End": ('(["', '"])'),
    "Choice": ('{"', '"}'),
    "Succeed": ('(["', '"])'),
    "Fail": ('[["', '"]]'),
    "Wait": ('(["', '"])'),
    "Pass": ('("', '")'),
}


def graph_mermaid(definition: str | bytes | Mapping[str, Any]) -> str:
    """A Mermaid ``flowchart TD`` of an ASL definition (a dict, or its JSON text)."""
    parsed: object = definition
    if isinstance(definition, (str, bytes)):
        try:
            parsed = json.loads(definition)
        except ValueError:
            parsed = None
    if not isinstance(parsed, Mapping):
        fault = Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")
        raise DefinitionError([fault])
    ids: dict[str, str] = {}
    lines = ["flowchart TD"]
    edges: list[Edge] = []
    _scope(read_diagram(parsed), ids, lines, edges, "  ")
    for edge in edges:
        lines.append(f"  {_id(ids, edge.source)} {_arrow(edge)} {_id(ids, edge.target)}")
    return "\n".join(lines) + "\n"


def _id(ids: dict[str, str], key: str) -> str:
    found = ids.get(key)
    if found is None:
        found = ids[key] = f"n{len(ids)}"
    return found


def _text(text: str) -> str:
    """A label inside Mermaid's double quotes (its entity codes for what would end them)."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _scope(scope: Scope, ids: dict[str, str], lines: list[str], edges: list[Edge], pad: str) -> None:
    for node in scope.nodes:
        _node(node, ids, lines, edges, pad)
    edges.extend(scope.edges)


def _node(node: Node, ids: dict[str, str], lines: list[str], edges: list[Edge], pad: str) -> None:
    ident = _id(ids, node.key)
    if node.scopes:  # Parallel / Map: a subgraph of subgraphs
        lines.append(f'{pad}subgraph {ident}["{_text(f"{node.name} ({node.kind})")}"]')
        for inner in node.scopes:
            inner_id = _id(ids, f"{inner.key}#scope")
            lines.append(f'{pad}  subgraph {inner_id}["{_text(inner.label)}"]')
            _scope(inner, ids, lines, edges, pad + "    ")
            lines.append(f"{pad}  end")
        lines.append(f"{pad}end")
        return
    opening, closing = _SHAPES.get(node.kind, ('["', '"]'))
    lines.append(f"{pad}{ident}{opening}{_text(node.name)}{closing}")


def _arrow(edge: Edge) -> str:
    arrow = "-.->" if edge.kind == "catch" else "-->"
    return f'{arrow}|"{_text(edge.label)}"|' if edge.label else arrow
