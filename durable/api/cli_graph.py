"""``durable graph``: a definition's state graph, as SVG or as a Mermaid flowchart."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import DefinitionError
from .cli_common import EXIT_OK, CliError, add_template_arguments, read_definition

__all__ = ["add_commands"]

_DESCRIPTION = """\
Render the state graph of a definition: states as nodes, Next, Choice, Default and Catch
transitions as edges, the branches of Parallel states and the item processors of Map states as
nested groups. The definition is read as it is (it need not be valid), so what is drawn is what
runs.

  --format svg      an SVG drawing (needs networkx: pip install 'durable[notebook]')
  --format mermaid  a Mermaid flowchart (text; GitHub and most Markdown viewers draw it)

PNG is not offered: it would need a rasterizer (a system library or a browser) that durable does
not depend on; convert the SVG with a tool of your choice (rsvg-convert, inkscape, a browser).
"""

_EPILOG = """\
examples:
  durable graph machine.asl.json --output machine.svg
  durable graph machine.asl.json --format mermaid > machine.mmd
  durable graph template.yaml --logical-id OrderFlow --format mermaid
"""


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``graph`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "graph",
        help="render a definition's state graph as SVG or as a Mermaid flowchart",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("definition", metavar="DEFINITION", help="ASL JSON file, or - to read standard input")
    p.add_argument(
        "--format",
        "-f",
        choices=("svg", "mermaid"),
        default="svg",
        help="svg (default) or mermaid",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    add_template_arguments(p)
    p.set_defaults(handler=_cmd_graph)


def _cmd_graph(args: argparse.Namespace) -> int:
    from ..build import graph_mermaid, graph_svg

    text = read_definition(args.definition, args.logical_id, args.substitutions, args.config_substitutions)
    try:
        out = graph_mermaid(text) if args.format == "mermaid" else graph_svg(text)
    except DefinitionError as exc:
        raise CliError(*(str(d) for d in exc.diagnostics)) from None
    except ImportError as exc:
        raise CliError(str(exc)) from None
    if args.output is None:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
        return EXIT_OK
    try:
        Path(args.output).write_text(out, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK
