"""The state graph as PNG: the SVG drawing of :mod:`durable.build.svg`, rasterised by resvg.

resvg (the ``resvg-py`` wheel: a compiled Rust library, no system library) renders the very SVG
that :func:`~durable.build.graph_svg` writes, so the PNG shows the same layout, colours and
labels. Text is drawn with the fonts the system has (Helvetica, Arial or any sans-serif); a
system without fonts draws the boxes and edges without their labels.

``pip install 'durable[png]'`` installs what it needs (resvg-py and networkx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .svg import graph_svg

__all__ = ["MISSING", "graph_png", "svg_to_png"]

MISSING = "PNG needs resvg-py: pip install 'durable[png]'"


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """Rasterise SVG text to PNG bytes, ``scale`` times its size, on a white background."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    try:
        import resvg_py
    except ImportError:
        raise ImportError(MISSING) from None
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=scale, background="#ffffff"))


def graph_png(
    definition: str | bytes | Mapping[str, Any],
    status: Mapping[str, str] | None = None,
    *,
    scale: float = 2.0,
) -> bytes:
    """The PNG drawing of an ASL definition: :func:`~durable.build.graph_svg`'s drawing,
    ``scale`` times its size (2: sharp on a high-density screen)."""
    return svg_to_png(graph_svg(definition, status), scale)
