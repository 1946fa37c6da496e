"""Where each box and edge of a diagram goes: a layered layout, top to bottom.

The graph algorithms come from networkx (``pip install 'durable[notebook]'``): a depth-first
search from the first state finds the edges that loop back (a retry loop, a poll loop), which are
turned around so the graph has no cycle; the topological generations of that graph are the
layers. Why networkx and not graphviz: graphviz's ``dot`` lays out better but is a system binary
that a clean machine (and CI) does not have, and its Python bindings need it; networkx is pure
Python, well kept and has no dependency. Its own drawing layouts (``multipartite_layout``) need
numpy and know neither box sizes nor nested clusters, so coordinates are assigned here, the
classic way: edges spanning several layers pass through dummy points, boxes are ordered within
their layer by the barycentre of their neighbours, then packed left to right, each pulled toward
its neighbours' centres without overlapping.

Parallel branches and Map processors are laid out first, each as a picture of its own, framed as
a cluster; their state becomes a box big enough to hold them side by side.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from .diagram import Edge, Node, Scope

__all__ = ["Box", "Picture", "PlacedCluster", "PlacedEdge", "PlacedNode", "layout"]

Point = tuple[float, float]

CHAR_W = 7.6  # a character of a 13px name, roughly
SMALL_CHAR_W = 6.4
NODE_H = 46.0
PSEUDO_W, PSEUDO_H = 64.0, 28.0
MIN_W = 96.0
GAP_X, GAP_Y = 28.0, 58.0
PAD = 14.0
HEADER_H = 44.0
LABEL_H, CLUSTER_PAD = 22.0, 10.0
DUMMY_W = 10.0
LOOP = 24.0
LABEL_STEP = 17.0
LABEL_OFFSET = 5.0  # between an edge and its label


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)


@dataclass
class PlacedNode:
    node: Node
    box: Box


@dataclass
class PlacedEdge:
    edge: Edge
    points: list[Point]
    curved: bool = True  # vertical S-curves between points; False: straight lines (a self-loop)
    label_at: Point | None = None
    label_anchor: str = "start"  # the label's text-anchor: it sits beside the edge
    upward: bool = False  # an edge that loops back, drawn from its source's top


@dataclass
class PlacedCluster:
    scope: Scope
    box: Box


@dataclass
class Picture:
    width: float
    height: float
    nodes: list[PlacedNode] = field(default_factory=list)
    edges: list[PlacedEdge] = field(default_factory=list)
    clusters: list[PlacedCluster] = field(default_factory=list)

    def add(self, other: Picture, dx: float, dy: float) -> None:
        self.nodes.extend(replace(n, box=n.box.moved(dx, dy)) for n in other.nodes)
        self.clusters.extend(replace(c, box=c.box.moved(dx, dy)) for c in other.clusters)
        for e in other.edges:
            at = None if e.label_at is None else (e.label_at[0] + dx, e.label_at[1] + dy)
            points = [(x + dx, y + dy) for x, y in e.points]
            self.edges.append(replace(e, points=points, label_at=at))


def _networkx() -> Any:
    try:
        import networkx
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise ImportError("drawing a state graph needs networkx: pip install 'durable[notebook]'") from exc
    return networkx


def layout(scope: Scope) -> Picture:
    """The machine's picture: every box, edge and cluster placed, from (0, 0)."""
    return _Layers(_networkx(), scope).picture()


def text_width(text: str, char_w: float = CHAR_W) -> float:
    return len(text) * char_w


def _plain_size(node: Node) -> tuple[float, float]:
    if node.pseudo:
        return PSEUDO_W, PSEUDO_H
    return max(MIN_W, text_width(node.name) + 24, text_width(node.kind, SMALL_CHAR_W) + 24), NODE_H


def _cluster(nx: Any, scope: Scope) -> Picture:
    content = _Layers(nx, scope).picture()
    width = max(content.width, text_width(scope.label, SMALL_CHAR_W) + 2 * CLUSTER_PAD)
    framed = Picture(width, content.height + LABEL_H)
    framed.clusters.append(PlacedCluster(scope, Box(0, 0, framed.width, framed.height)))
    framed.add(content, (width - content.width) / 2, LABEL_H)
    return framed


class _Layers:
    """One scope laid out: layers, order within layers, coordinates, edge routes."""

    def __init__(self, nx: Any, scope: Scope) -> None:
        self.nx, self.scope = nx, scope
        self.inner: dict[str, list[Picture]] = {}
        self.size: dict[str, tuple[float, float]] = {}
        self.back: set[tuple[str, str]] = set()  # edges that loop back, drawn upward
        self.layer: dict[str, int] = {}  # states and dummies
        self.below: dict[str, list[str]] = {}
        self.above: dict[str, list[str]] = {}
        for node in scope.nodes:
            if node.scopes:
                pictures = [_cluster(nx, s) for s in node.scopes]
                self.inner[node.key] = pictures
                inside = sum(p.width for p in pictures) + GAP_X * (len(pictures) - 1) + 2 * CLUSTER_PAD
                w = max(_plain_size(node)[0], inside)
                self.size[node.key] = (w, HEADER_H + max(p.height for p in pictures) + CLUSTER_PAD)
            else:
                self.size[node.key] = _plain_size(node)

    def picture(self) -> Picture:
        if not self.scope.nodes:
            return Picture(MIN_W, NODE_H)
        layer = self._layers()
        routes = self._routes(layer)
        rows = self._order(layer, routes)
        left, top = self._coordinates(rows)
        return self._draw(rows, left, top, routes)

    # --- layers: networkx finds the loops and the generations ---------------------------------

    def _layers(self) -> dict[str, int]:
        nx = self.nx
        keys = [n.key for n in self.scope.nodes]
        if self.scope.start in keys:  # search from the first state, so loops are what turns back
            keys.remove(self.scope.start)
            keys.insert(0, self.scope.start)
        graph = nx.DiGraph()
        graph.add_nodes_from(keys)
        graph.add_edges_from((e.source, e.target) for e in self.scope.edges if e.source != e.target)
        active: set[str] = set()
        for u, v, kind in nx.dfs_labeled_edges(graph):
            if kind == "forward":
                active.add(v)
            elif kind == "reverse":
                active.discard(v)
            elif kind == "nontree" and v in active:
                self.back.add((u, v))
        dag = nx.DiGraph()
        dag.add_nodes_from(keys)
        dag.add_edges_from((v, u) if (u, v) in self.back else (u, v) for u, v in graph.edges)
        layer: dict[str, int] = {}
        for i, generation in enumerate(nx.topological_generations(dag)):
            layer.update(dict.fromkeys(generation, i))
        ends = [n.key for n in self.scope.nodes if n.key.endswith("#end")]
        if ends:  # End is drawn last
            layer[ends[0]] = 1 + max((v for k, v in layer.items() if k != ends[0]), default=0)
        return layer

    def _routes(self, layer: dict[str, int]) -> list[list[str]]:
        """For each edge, the layered nodes it passes, top to bottom (dummies between layers)."""
        self.layer = dict(layer)
        self.below = {k: [] for k in layer}
        self.above = {k: [] for k in layer}
        routes: list[list[str]] = []
        for i, edge in enumerate(self.scope.edges):
            if edge.source == edge.target:
                routes.append([])
                continue
            u, v = edge.source, edge.target
            if (u, v) in self.back:
                u, v = v, u
            chain = [u]
            for level in range(layer[u] + 1, layer[v]):
                dummy = f"~{i}:{level}"
                self.layer[dummy] = level
                self.below[dummy], self.above[dummy] = [], []
                chain.append(dummy)
            chain.append(v)
            for a, b in itertools.pairwise(chain):
                self.below[a].append(b)
                self.above[b].append(a)
            routes.append(chain)
        return routes

    def _order(self, layer: dict[str, int], routes: list[list[str]]) -> list[list[str]]:
        rank = {n.key: float(i) for i, n in enumerate(self.scope.nodes)}
        for chain in routes:
            for dummy in chain[1:-1]:
                rank[dummy] = rank[chain[0]] + 0.5
        rows: list[list[str]] = [[] for _ in range(max(self.layer.values()) + 1)]
        for key in sorted(self.layer, key=lambda k: rank[k]):
            rows[self.layer[key]].append(key)
        for _ in range(3):
            self._sweep(rows, range(1, len(rows)), -1, self.above)
            self._sweep(rows, range(len(rows) - 2, -1, -1), 1, self.below)
        return rows

    @staticmethod
    def _sweep(rows: list[list[str]], levels: range, step: int, near: dict[str, list[str]]) -> None:
        for level in levels:
            ref = {k: i for i, k in enumerate(rows[level + step])}
            here = {k: i for i, k in enumerate(rows[level])}

            def barycentre(key: str, ref: dict[str, int] = ref, here: dict[str, int] = here) -> float:
                seen = [ref[m] for m in near[key] if m in ref]
                return sum(seen) / len(seen) if seen else float(here[key])

            rows[level].sort(key=barycentre)

    # --- coordinates --------------------------------------------------------------------------

    def _width(self, key: str) -> float:
        return self.size[key][0] if key in self.size else DUMMY_W

    def _height(self, key: str) -> float:
        return self.size[key][1] if key in self.size else 0.0

    def _coordinates(self, rows: list[list[str]]) -> tuple[dict[str, float], list[float]]:
        left: dict[str, float] = {}
        for row in rows:
            x = 0.0
            for key in row:
                left[key] = x
                x += self._width(key) + GAP_X

        def centre(key: str) -> float:
            return left[key] + self._width(key) / 2

        def place(row: list[str], near: dict[str, list[str]]) -> None:
            want = []
            for key in row:
                seen = [centre(m) for m in near[key]]
                want.append((sum(seen) / len(seen) if seen else centre(key)) - self._width(key) / 2)
            for i in range(1, len(row)):
                want[i] = max(want[i], want[i - 1] + self._width(row[i - 1]) + GAP_X)
            for i in range(len(row) - 2, -1, -1):
                want[i] = min(want[i], want[i + 1] - GAP_X - self._width(row[i]))
            left.update(zip(row, want, strict=True))

        for _ in range(4):
            for row in rows[1:]:
                place(row, self.above)
            for row in reversed(rows[:-1]):
                place(row, self.below)
        shift = PAD - min(left.values())
        for key in left:
            left[key] += shift
        labels: dict[str, int] = {}
        for edge in self.scope.edges:
            if edge.label:
                labels[edge.source] = labels.get(edge.source, 0) + 1
        top, y = [], PAD
        for row in rows:
            top.append(y)
            crowd = max((labels.get(k, 0) for k in row), default=0)  # room for staggered labels
            y += max((self._height(k) for k in row), default=0.0) + max(GAP_Y, LABEL_STEP * (crowd + 1))
        return left, top

    # --- the picture --------------------------------------------------------------------------

    def _draw(
        self, rows: list[list[str]], left: dict[str, float], top: list[float], routes: list[list[str]]
    ) -> Picture:
        heights = [max((self._height(k) for k in row), default=0.0) for row in rows]
        boxes: dict[str, Box] = {}
        for node in self.scope.nodes:
            w, h = self.size[node.key]
            level = self.layer[node.key]
            boxes[node.key] = Box(left[node.key], top[level] + (heights[level] - h) / 2, w, h)
        right = max(b.x + b.w for b in boxes.values())
        bottom = max(b.bottom for b in boxes.values())
        picture = Picture(right + PAD, bottom + PAD)
        for node in self.scope.nodes:
            box = boxes[node.key]
            picture.nodes.append(PlacedNode(node, box))
            self._nest(picture, node, box)
        placed = [
            self._edge(edge, chain, boxes, left, top, heights)
            for edge, chain in zip(self.scope.edges, routes, strict=True)
        ]
        _spread(placed, boxes)
        picture.edges.extend(placed)
        return _fitted(picture)

    def _nest(self, picture: Picture, node: Node, box: Box) -> None:
        pictures = self.inner.get(node.key, [])
        used = sum(p.width for p in pictures) + GAP_X * (len(pictures) - 1)
        x = box.x + (box.w - used) / 2
        for inner in pictures:
            picture.add(inner, x, box.y + HEADER_H)
            x += inner.width + GAP_X

    def _edge(
        self,
        edge: Edge,
        chain: list[str],
        boxes: dict[str, Box],
        left: dict[str, float],
        top: list[float],
        heights: list[float],
    ) -> PlacedEdge:
        if not chain:  # a state that goes to itself: a loop on its right side
            b = boxes[edge.source]
            r, y = b.x + b.w, b.y + b.h / 2
            points = [(r, y - 8), (r + LOOP, y - 8), (r + LOOP, y + 8), (r, y + 8)]
            return PlacedEdge(edge, points, curved=False, label_at=_label(edge, (r + LOOP + 4, y)))
        through: list[Point] = []
        for dummy in chain[1:-1]:
            cx, level = left[dummy] + DUMMY_W / 2, self.layer[dummy]
            through += [(cx, top[level]), (cx, top[level] + heights[level])]
        a, b = boxes[chain[0]], boxes[chain[-1]]
        if (edge.source, edge.target) in self.back:  # drawn upward: from the top, into the bottom
            return PlacedEdge(edge, [(b.cx, b.y), *reversed(through), (a.cx, a.bottom)], upward=True)
        return PlacedEdge(edge, [(a.cx, a.bottom), *through, (b.cx, b.y)])


def _fitted(picture: Picture) -> Picture:
    """The picture widened (and moved right) so every edge and label is inside it."""
    low, high = 0.0, picture.width - PAD
    for e in picture.edges:
        xs = [x for x, _ in e.points]
        low, high = min(low, *xs), max(high, *xs)
        if e.label_at is not None:
            extent = text_width(e.edge.label, SMALL_CHAR_W) + LABEL_OFFSET
            x = e.label_at[0]
            if e.label_anchor == "end":
                low = min(low, x - extent)
            else:
                high = max(high, x + extent)
    if low >= 0:
        picture.width = high + PAD
        return picture
    moved = Picture(high - low + PAD, picture.height)
    moved.add(picture, -low, 0)
    return moved


def _label(edge: Edge, at: Point) -> Point | None:
    return at if edge.label else None


def _spread(edges: list[PlacedEdge], boxes: dict[str, Box]) -> None:
    """Edges leaving (or entering) one side of a box start (or end) apart, in the order of where
    they go, so they do not cross at the box; labels then sit along each edge's first stretch,
    staggered, and beside it on the side it bends to."""
    ends: dict[tuple[str, str], list[tuple[float, PlacedEdge, int]]] = {}
    for e in edges:
        if not e.curved:
            continue
        src_side, dst_side = ("top", "bottom") if e.upward else ("bottom", "top")
        ends.setdefault((e.edge.source, src_side), []).append((e.points[1][0], e, 0))
        ends.setdefault((e.edge.target, dst_side), []).append((e.points[-2][0], e, -1))
    for (key, _side), group in ends.items():
        box = boxes[key]
        group.sort(key=lambda item: item[0])
        for i, (_, e, at) in enumerate(group):
            x = box.x + box.w * (0.2 + 0.6 * (i + 0.5) / len(group))
            e.points[at] = (x, e.points[at][1])
    labelled: dict[str, list[PlacedEdge]] = {}
    for e in edges:
        if e.curved and e.edge.label:
            labelled.setdefault(e.edge.source, []).append(e)
    for outgoing in labelled.values():
        outgoing.sort(key=lambda e: e.points[1][0])
        for i, e in enumerate(outgoing):
            (x1, y1), (x2, y2) = e.points[0], e.points[1]
            t = (i + 1) / (len(outgoing) + 1)
            # where the S-curve is at height t: mostly at x1 near the top, x2 near the bottom
            blend = t * t * (3 - 2 * t)
            e.label_at = (x1 + (x2 - x1) * blend, y1 + (y2 - y1) * t)
            e.label_anchor = "end" if x2 < x1 - 1 else "start"
