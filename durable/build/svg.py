"""The state graph as SVG, for a notebook (``_repr_svg_``), a file or a web page.

Boxes are states (name, and type beneath), coloured by type; ``Start`` and ``End`` are pills.
Edges: ``Next`` in grey, Choice rules in amber labelled with the rule, the ``Default`` dotted,
Catch in red and dashed, labelled with the errors. Parallel branches and Map processors are
framed clusters inside their state's box. Given ``status`` (state name -> one of
:data:`STATUSES`), each state is filled by its status instead of its type, and its group carries
``data-status`` and the class ``status-<status>`` (a state left out is ``not-reached``).
Styles are presentation attributes, not a ``<style>`` sheet, so a drawing never restyles the
page it is shown in; marker ids carry a digest of the definition, so several drawings on one
page do not collide.

:func:`graph_svg` draws any definition, built or hand-written, valid or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DefinitionError, Diagnostic
from .diagram import read_diagram
from .layout import LABEL_OFFSET, Box, Picture, PlacedEdge, PlacedNode, layout

__all__ = ["STATUSES", "Diagram", "graph_svg"]

FONT = "Helvetica, Arial, sans-serif"
INK = "#334155"
FILL = {
    "Task": "#dbeafe",
    "Choice": "#fef3c7",
    "Pass": "#f1f5f9",
    "Wait": "#ede9fe",
    "Parallel": "#e0f2fe",
    "Map": "#dcfce7",
    "Succeed": "#bbf7d0",
    "Fail": "#fecaca",
}
STATUSES = {  # an execution's state -> (fill, outline)
    "succeeded": ("#bbf7d0", "#15803d"),
    "failed": ("#fecaca", "#b91c1c"),
    "caught": ("#fed7aa", "#c2410c"),
    "running": ("#bfdbfe", "#1d4ed8"),
    "not-reached": ("#f8fafc", "#cbd5e1"),
}
EDGE = {  # kind -> (colour, dash pattern)
    "next": ("#64748b", ""),
    "start": ("#64748b", ""),
    "end": ("#64748b", ""),
    "choice": ("#b45309", ""),
    "default": ("#b45309", "2 3"),
    "catch": ("#dc2626", "5 3"),
}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Diagram:
    """A drawn state graph: ``.svg`` is the text; a notebook displays it; ``save(path)`` (a path
    ending in ``.png``: as PNG, see :meth:`png`)."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    @classmethod
    def of(cls, definition: Mapping[str, Any], status: Mapping[str, str] | None = None) -> Diagram:
        text = json.dumps(definition, sort_keys=True, default=str)
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()  # ids, not security
        return cls(_render(layout(read_diagram(definition)), f"d{digest[:8]}", status))

    def _repr_svg_(self) -> str:
        return self.svg

    def png(self, scale: float = 2.0) -> bytes:
        """The drawing as PNG, ``scale`` times its size (needs resvg-py: ``durable[png]``)."""
        from .png import svg_to_png

        return svg_to_png(self.svg, scale)

    def save(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        if target.suffix.lower() == ".png":
            target.write_bytes(self.png())
        else:
            target.write_text(self.svg, encoding="utf-8")

    def __str__(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"Diagram({len(self.svg)} characters of SVG)"


def graph_svg(definition: str | bytes | Mapping[str, Any], status: Mapping[str, str] | None = None) -> str:
    """The SVG drawing of an ASL definition (a dict, or its JSON text); ``status`` colours each
    state by what an execution did there (see the module docstring)."""
    for name, value in (status or {}).items():
        if value not in STATUSES:
            raise ValueError(f"unknown status {value!r} of state {name!r}: one of {', '.join(STATUSES)}")
    parsed: object = definition
    if isinstance(definition, (str, bytes)):
        try:
            parsed = json.loads(definition)
        except ValueError:
            parsed = None  # reported below
    if not isinstance(parsed, Mapping):
        fault = Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")
        raise DefinitionError([fault])
    return Diagram.of(parsed, status).svg


def _render(picture: Picture, ids: str, status: Mapping[str, str] | None = None) -> str:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": _num(picture.width),
            "height": _num(picture.height),
            "viewBox": f"0 0 {_num(picture.width)} {_num(picture.height)}",
            "font-family": FONT,
        },
    )
    defs = ET.SubElement(svg, "defs")
    for kind in ("next", "choice", "catch"):
        marker = ET.SubElement(
            defs,
            "marker",
            id=f"{ids}-{kind}",
            viewBox="0 0 10 10",
            refX="9",
            refY="5",
            markerWidth="7",
            markerHeight="7",
            orient="auto-start-reverse",
        )
        ET.SubElement(marker, "path", d="M0,0 L10,5 L0,10 z", fill=EDGE[kind][0])
    back = ET.SubElement(svg, "g", {"class": "containers"})
    containers: list[tuple[float, Any]] = [(c.box.w * c.box.h, c) for c in picture.clusters]
    containers += [(n.box.w * n.box.h, n) for n in picture.nodes if n.node.scopes]
    for _, item in sorted(containers, key=lambda pair: -pair[0]):
        if isinstance(item, PlacedNode):
            _state(back, item, status)
        else:
            group = ET.SubElement(back, "g", {"class": "cluster", "data-scope": item.scope.key})
            _rect(group, item.box, fill="#ffffff", stroke="#94a3b8", rx=4, dash="4 3")
            _text(group, item.scope.label, item.box.x + 8, item.box.y + 15, size=11, anchor="start")
    edges = ET.SubElement(svg, "g", {"class": "edges"})
    for placed in picture.edges:
        _edge(edges, placed, ids)
    states = ET.SubElement(svg, "g", {"class": "states"})
    for node in picture.nodes:
        if not node.node.scopes:
            _state(states, node, status)
    labels = ET.SubElement(svg, "g", {"class": "labels"})
    for placed in picture.edges:
        if placed.label_at is not None:
            x, y = placed.label_at
            colour = EDGE.get(placed.edge.kind, EDGE["next"])[0]
            x += -LABEL_OFFSET if placed.label_anchor == "end" else LABEL_OFFSET
            anchor = placed.label_anchor
            _text(labels, placed.edge.label, x, y + 4, size=11, fill=colour, anchor=anchor, halo=True)
    return ET.tostring(svg, encoding="unicode")


def _state(parent: ET.Element, placed: PlacedNode, status: Mapping[str, str] | None = None) -> None:
    node, box = placed.node, placed.box
    if node.pseudo:
        group = ET.SubElement(parent, "g", {"class": "terminal"})
        _rect(group, box, fill=INK, stroke=INK, rx=box.h / 2)
        _text(group, node.name, box.cx, box.y + box.h / 2 + 4, size=12, fill="#ffffff")
        return
    attributes = {"class": "state", "data-name": node.name, "data-type": node.kind}
    fill, stroke, title = FILL.get(node.kind, "#ffffff"), INK, f"{node.name} ({node.kind})"
    if status is not None:
        what = status.get(node.name, "not-reached")
        attributes |= {"class": f"state status-{what}", "data-status": what}
        fill, stroke = STATUSES[what]
        title += f": {what}"
    group = ET.SubElement(parent, "g", attributes)
    ET.SubElement(group, "title").text = title
    _rect(group, box, fill=fill, stroke=stroke, rx=6)
    _text(group, node.name, box.cx, box.y + 19, size=13, weight="bold")
    _text(group, node.kind, box.cx, box.y + 35, size=11, fill="#475569")


def _edge(parent: ET.Element, placed: PlacedEdge, ids: str) -> None:
    kind = placed.edge.kind
    colour, dash = EDGE.get(kind, EDGE["next"])
    marker = kind if kind in ("choice", "catch") else "next"
    if kind == "default":
        marker = "choice"
    d = [f"M{_num(placed.points[0][0])},{_num(placed.points[0][1])}"]
    for (x1, y1), (x2, y2) in zip(placed.points, placed.points[1:], strict=False):
        if placed.curved:
            mid = (y1 + y2) / 2
            d.append(f"C{_num(x1)},{_num(mid)} {_num(x2)},{_num(mid)} {_num(x2)},{_num(y2)}")
        else:
            d.append(f"L{_num(x2)},{_num(y2)}")
    attributes = {
        "class": f"edge edge-{kind}",
        "d": " ".join(d),
        "fill": "none",
        "stroke": colour,
        "stroke-width": "1.4",
        "marker-end": f"url(#{ids}-{marker})",
    }
    if dash:
        attributes["stroke-dasharray"] = dash
    ET.SubElement(parent, "path", attributes)


def _rect(parent: ET.Element, box: Box, *, fill: str, stroke: str, rx: float, dash: str = "") -> None:
    attributes = {
        "x": _num(box.x),
        "y": _num(box.y),
        "width": _num(box.w),
        "height": _num(box.h),
        "rx": _num(rx),
        "fill": fill,
        "stroke": stroke,
    }
    if dash:
        attributes["stroke-dasharray"] = dash
    ET.SubElement(parent, "rect", attributes)


def _text(
    parent: ET.Element,
    text: str,
    x: float,
    y: float,
    *,
    size: int,
    fill: str = "#0f172a",
    anchor: str = "middle",
    weight: str = "normal",
    halo: bool = False,
) -> None:
    attributes = {
        "x": _num(x),
        "y": _num(y),
        "font-size": str(size),
        "fill": fill,
        "text-anchor": anchor,
    }
    if weight != "normal":
        attributes["font-weight"] = weight
    if halo:  # a white outline under the letters keeps a label readable across an edge
        attributes |= {"stroke": "#ffffff", "stroke-width": "3", "paint-order": "stroke"}
    ET.SubElement(parent, "text", attributes).text = text
