"""``--output table``: the list commands as aligned columns for a person to read."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["add_output_argument", "local_time", "table", "write_table"]

_EMPTY = "-"


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        choices=("json", "table"),
        default="json",
        type=str.lower,
        help="json (default: one JSON document) or table (aligned columns, dates in local time)",
    )


def local_time(date: datetime | float | None) -> str:
    """``2024-05-01 14:03:59`` in the local time zone (``-`` for none)."""
    if date is None:
        return _EMPTY
    if not isinstance(date, datetime):
        date = datetime.fromtimestamp(date, UTC)
    return date.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def table(head: Sequence[str], rows: Sequence[Sequence[str | None]]) -> list[str]:
    """The lines of a table: ``head``, then ``rows``, each column as wide as its widest cell."""
    cells = [list(head)] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def write_table(stream: TextIO, head: Sequence[str], rows: Sequence[Sequence[str | None]]) -> None:
    for line in table(head, rows):
        stream.write(line + "\n")
    stream.flush()


def _cell(value: str | None) -> str:
    if value is None or value == "":
        return _EMPTY
    return " ".join(value.split())  # one line per row, whatever the value holds
