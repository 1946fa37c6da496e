"""Map Run children stored as spans: one row for a run of consecutive children.

Children run in place (a Distributed Map whose processor states only compute) end in order, many
per checkpoint. Each checkpoint stores those that succeeded as one
:class:`~durable.store.base.ChildExecutionRecord` with ``span`` > 1: the first child's ARN, name
and index, ``input`` a JSON array of the children's inputs, ``output`` a JSON array of their
outputs, ``status`` ``SUCCEEDED`` (a failed child has a row of its own), ``item_count`` the items
of them all (each child's own is 1, or the size of its batch when they differ). A span is
expanded when read: each store answers ``get_child_execution`` and ``list_child_executions``
with the children one by one, as if each had a row of its own.

A span holds at most :data:`MAX_SPAN` children, so the row holding a child is among the
:data:`MAX_SPAN` ARNs ending at its own (:func:`span_starts`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec

from .base import ChildExecutionRecord
from .sqlite_paging import check_limit, decode_child_token, encode_child_token

__all__ = ["MAX_SPAN", "children_page", "expand", "pick", "span_filter", "span_starts"]

MAX_SPAN = 256
_raws = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _split(arn: str, name: str) -> tuple[str, str, int]:
    """``(arn head, name prefix, index)`` of a child ``arn`` named ``prefix-00000007``."""
    prefix, _, digits = name.rpartition("-")
    return arn[: len(arn) - len(name)], prefix, int(digits)


def span_starts(arn: str) -> list[str] | None:
    """The ARNs a row holding the child ``arn`` may have: its own, and the ARNs of the
    :data:`MAX_SPAN` - 1 children before it (None: not a child's ARN)."""
    head, sep, name = arn.rpartition(":")
    prefix, dash, digits = name.rpartition("-")
    if not (sep and dash and digits.isdigit()):
        return None
    index = int(digits)
    return [f"{head}:{prefix}-{i:08d}" for i in range(index, max(-1, index - MAX_SPAN), -1)]


def expand(row: ChildExecutionRecord) -> list[ChildExecutionRecord]:
    """The children of ``row`` (one, unless it is a span), lowest index first."""
    if row.span <= 1:
        return [row]
    head, prefix, first = _split(row.arn, row.name)
    inputs = _raws(row.input.encode())
    outputs = _raws((row.output or "[]").encode())
    batched = row.item_count != row.span  # each input is a batch: {"Items": [...], ...}
    out: list[ChildExecutionRecord] = []
    for n, value in enumerate(inputs):
        name = f"{prefix}-{first + n:08d}"
        ok = n < len(outputs)
        count = 1
        if batched:
            batch = msgspec.json.decode(bytes(value))
            items = batch.get("Items") if isinstance(batch, dict) else None
            count = len(items) if isinstance(items, list) else 1
        out.append(
            ChildExecutionRecord(
                arn=head + name,
                map_run_arn=row.map_run_arn,
                execution_arn=row.execution_arn,
                index=first + n,
                name=name,
                status="SUCCEEDED" if ok else "FAILED",
                start_date=row.start_date,
                input=bytes(value).decode(),
                item_count=count,
                stop_date=row.stop_date,
                output=bytes(outputs[n]).decode() if ok else None,
                error=None if ok else row.error,
                cause=None if ok else row.cause,
                redrive_count=row.redrive_count,
            )
        )
    return out


def pick(rows: Sequence[ChildExecutionRecord], arn: str) -> ChildExecutionRecord | None:
    """The child ``arn`` among the rows found for it (its own, or a span holding it)."""
    for row in rows:
        if row.arn == arn and row.span <= 1:
            return row
        if row.span > 1:
            for child in expand(row):
                if child.arn == arn:
                    return child
    return None


def span_filter(status: str | None) -> tuple[str, tuple[object, ...]]:
    """SQL (``?`` placeholders) keeping the rows that may hold children of ``status`` (a span's
    children all have its status)."""
    if status is None:
        return "", ()
    return " AND status = ?", (status,)


async def children_page(
    fetch: Callable[[int | None, int], Awaitable[Sequence[ChildExecutionRecord]]],
    status: str | None,
    limit: int,
    next_token: str | None,
) -> tuple[list[ChildExecutionRecord], str | None]:
    """One page of a Map Run's children, highest index first. ``fetch(below, n)`` returns up to
    ``n`` rows whose index is below ``below`` (None: any), highest first, of the rows that may
    hold children of ``status``; spans are expanded and filtered here."""
    check_limit(limit)
    below = None if next_token is None else decode_child_token(next_token)
    found: list[ChildExecutionRecord] = []
    row_below = below
    n = min(limit + 1, 8)  # rows asked at a time: few first (a span holds many children), then more
    while True:
        rows = await fetch(row_below, n)
        for row in rows:
            for child in reversed(expand(row)):
                if below is not None and child.index >= below:
                    continue
                if status is not None and child.status != status:
                    continue
                if len(found) == limit:
                    return found, encode_child_token(found[-1].index)
                found.append(msgspec.structs.replace(child, history=None))
        if len(rows) < n:
            return found, None
        row_below = rows[-1].index
        n = min(limit + 1, n * 4)
