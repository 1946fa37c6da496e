"""``durable graph``: a definition's state graph, as SVG, PNG or a Mermaid flowchart."""

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
  --format png      the same drawing as a PNG image (needs resvg-py: pip install 'durable[png]');
                    --scale sets its size (2, the default: twice the SVG's)
  --format mermaid  a Mermaid flowchart (text; GitHub and most Markdown viewers draw it)

A PNG goes to --output, or to standard output when that is not a terminal (a pipe, a file).
--format is optional with --output: a name ending in .png, .mmd or .svg says which.
"""

_EPILOG = """\
examples:
  durable graph machine.asl.json --output machine.svg
  durable graph machine.asl.json --output machine.png
  durable graph machine.asl.json --format png --scale 1 > machine.png
  durable graph machine.asl.json --format mermaid > machine.mmd
  durable graph template.yaml --logical-id OrderFlow --format mermaid
"""


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``graph`` to the ``durable`` subparsers ``sub``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "graph",
        help="render a definition's state graph as SVG, PNG or a Mermaid flowchart",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("definition", metavar="DEFINITION", help="ASL JSON file, or - to read standard input")
    p.add_argument(
        "--format",
        "-f",
        choices=("svg", "png", "mermaid"),
        default=None,
        help="svg (the default, unless --output ends in .png or .mmd), png or mermaid",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=2.0,
        metavar="N",
        help="png: N times the SVG's size (default 2)",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    add_template_arguments(p)
    p.set_defaults(handler=_cmd_graph)


_SUFFIXES = {".png": "png", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg"}


def _format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return str(args.format)
    if args.output is not None:
        return _SUFFIXES.get(Path(args.output).suffix.lower(), "svg")
    return "svg"


def _cmd_graph(args: argparse.Namespace) -> int:
    from ..build import graph_mermaid, graph_png, graph_svg

    fmt = _format(args)
    if fmt == "png" and args.output is None and sys.stdout.isatty():
        raise CliError("a PNG is not written to a terminal: give --output FILE or redirect standard output")
    if not args.scale > 0:
        raise CliError(f"--scale must be positive, not {args.scale:g}")
    text = read_definition(args.definition, args.logical_id, args.substitutions, args.config_substitutions)
    out: str | bytes
    try:
        if fmt == "mermaid":
            out = graph_mermaid(text)
        elif fmt == "png":
            out = graph_png(text, scale=args.scale)
        else:
            out = graph_svg(text)
    except DefinitionError as exc:
        raise CliError(*(str(d) for d in exc.diagnostics)) from None
    except ImportError as exc:
        raise CliError(str(exc)) from None
    if args.output is None:
        if isinstance(out, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(out)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(out if out.endswith("\n") else out + "\n")
        return EXIT_OK
    try:
        if isinstance(out, bytes):
            Path(args.output).write_bytes(out)
        else:
            Path(args.output).write_text(out, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK
