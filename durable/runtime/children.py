"""The child executions of Distributed Map runs, as AWS keeps them: listed per Map Run,
described, with a history and a state machine of their own.

A Map Run's children are run by their parent execution (lanes of its journal, or in place when
their states are pure), and each is stored as one compact row (:class:`ChildExecutionRecord`)
that goes into the parent's next batch: a child run by a Fork is written when it starts
(``RUNNING``) and when it ends, with its own history events; children run in place are written
at the parent's checkpoints, once ended, without history — GetExecutionHistory derives it by
running the (pure, deterministic) processor again over the child's stored input. What a Map
Run's children run (the ``ItemProcessor`` as a definition, their ``ExecutionType``, the label)
is a metadata entry of kind ``mapprocessor`` beside the Map Run, written when it opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec

from ..interpreter.commands import ChildProcessor
from ..interpreter.distributed import ChildNames
from ..store.base import ChildExecutionRecord, MetadataRecord, Store
from ..store.child_spans import MAX_SPAN
from .clock import Clock

__all__ = [
    "PROCESSOR_KIND",
    "ChildRows",
    "StoredWindow",
    "processor_record",
    "result_bytes",
    "stored_outputs",
]

PROCESSOR_KIND = "mapprocessor"
# rows read at a time by stored_outputs: 16 at first (a span holds up to MAX_SPAN children),
# more while the rows hold a child each, for about _CHILDREN children a read
_ROWS = 16
_MAX_ROWS = 1024
_CHILDREN = 4096
_encode = msgspec.json.encode
_raws = msgspec.json.Decoder(list[msgspec.Raw]).decode


def processor_record(
    map_run_arn: str, execution_arn: str, processor: ChildProcessor, created: float
) -> MetadataRecord:
    body = {
        "definition": processor.definition,
        "executionType": processor.execution_type,
        "label": processor.label,
    }
    return MetadataRecord(
        kind=PROCESSOR_KIND,
        arn=map_run_arn,
        parent=execution_arn,
        body=_encode(body).decode(),
        created=created,
    )


class ChildRows:
    """Writes the rows of one Map Run's children into the parent execution's next batch."""

    __slots__ = (
        "_add",
        "_names",
        "bytes",
        "clock",
        "execution_arn",
        "map_run_arn",
        "redrive_count",
        "since",
        "stored",
        "weights",
    )

    def __init__(
        self,
        map_run_arn: str,
        execution_arn: str,
        weights: tuple[int, ...],
        add: Callable[[ChildExecutionRecord], None],
        clock: Clock,
        redrive_count: int = 0,
    ) -> None:
        self.map_run_arn = map_run_arn
        self._names = ChildNames(map_run_arn)
        self.execution_arn = execution_arn
        self.weights = weights
        self._add = add
        self.clock = clock
        self.redrive_count = redrive_count  # the Map Run's: a redrive writes its reruns over the rows
        self.stored = 0  # children run in place: how many are written
        self.since = clock.now()  # ... and when the last of them were
        self.bytes = 0  # ... and the JSON of their outputs

    def _row(self, index: int, value: Any, status: str, start: float, items: int = 0) -> ChildExecutionRecord:
        w = self.weights
        return ChildExecutionRecord(
            arn=self._names.arn(index),
            map_run_arn=self.map_run_arn,
            execution_arn=self.execution_arn,
            index=index,
            name=self._names.name(index),
            status=status,
            start_date=start,
            input=_encode(value).decode(),
            item_count=items or (w[index] if index < len(w) else 1),
            redrive_count=self.redrive_count,
        )

    def started(self, index: int, value: Any, items: int = 0) -> None:
        self._add(self._row(index, value, "RUNNING", self.clock.now(), items))

    def ended(
        self,
        index: int,
        value: Any,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
        history: list[dict[str, Any]] | None = None,
        items: int = 0,
    ) -> None:
        """A child run by a Fork ended (the store keeps the start date it was written with).
        ``bytes`` counts what it adds to the Map's results array (its output, or its error and
        cause)."""
        now = self.clock.now()
        row = self._row(index, value, status, now, items)
        row.stop_date = now
        if status == "SUCCEEDED":
            row.output = _encode(output).decode()
        row.error, row.cause = error, cause
        if status != "ABORTED":
            self.bytes += result_bytes(row)
        if history is not None:
            row.history = _encode(history).decode()
        self._add(row)

    def in_place(
        self,
        first: int,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
        weights: Sequence[int],
        succeeded: int,
        failure: tuple[str | None, str | None] | None,
        since: float | None = None,
    ) -> None:
        """Children run in place that ended since the last call: ``inputs`` are those of the
        children ``first`` ..., ``outputs`` of those that succeeded (up to ``succeeded``); with
        ``failure``, the next one failed. They ran between the two calls: that is their start and
        stop date (``since``: when they started, as the interpreter saw it). The children that
        succeeded are stored as spans (one row for up to
        :data:`~durable.store.child_spans.MAX_SPAN` of them), a failed one alone. ``bytes``
        counts the JSON of the outputs stored (the size of the results array they make)."""
        start, now = self.since if since is None else since, self.clock.now()
        for lo in range(max(self.stored, first), succeeded, MAX_SPAN):
            hi = min(succeeded, lo + MAX_SPAN)
            a, b = lo - first, hi - first
            if hi - lo == 1:
                row = self._row(lo, inputs[a], "SUCCEEDED", start, weights[a] if weights else 1)
                row.output = _encode(outputs[a]).decode()
                self.bytes += len(row.output) + 1
            else:
                text = _encode(list(outputs[a:b])).decode()
                self.bytes += len(text) - 1
                row = ChildExecutionRecord(
                    arn=self._names.arn(lo),
                    map_run_arn=self.map_run_arn,
                    execution_arn=self.execution_arn,
                    index=lo,
                    name=self._names.name(lo),
                    status="SUCCEEDED",
                    start_date=start,
                    input=_encode(list(inputs[a:b])).decode(),
                    output=text,
                    item_count=sum(weights[a:b]) if weights else hi - lo,
                    redrive_count=self.redrive_count,
                    span=hi - lo,
                )
            row.stop_date = now
            self._add(row)
        self.stored = max(self.stored, succeeded)
        if failure is not None and first <= succeeded < first + len(inputs) and self.stored <= succeeded:
            a = succeeded - first
            row = self._row(succeeded, inputs[a], "FAILED", start, weights[a] if weights else 1)
            row.stop_date = now
            row.error, row.cause = failure
            self._add(row)
            self.stored = succeeded + 1
        self.since = now


def result_bytes(row: ChildExecutionRecord) -> int:
    """What an ended child adds to the Map's results array: its output, or (failed) its error
    and cause, and a comma."""
    if row.status == "SUCCEEDED":
        return len(row.output or "null") + 1
    return len(_encode({"Error": row.error, "Cause": row.cause})) + 1


#: a window of stored children: the indexes, inputs and outputs (JSON) of those that succeeded,
#: and the rows of those that did not (failed, tolerated: each a row of its own)
StoredWindow = tuple[list[int], list[bytes], list[bytes], list[ChildExecutionRecord]]


async def stored_outputs(
    store: Store, map_run_arn: str, count: int, with_inputs: bool = True
) -> AsyncIterator[StoredWindow]:
    """The first ``count`` children of a Map Run as stored, lowest index first, a few rows
    (spans) at a time (see :data:`StoredWindow`); an output not stored reads ``null``. Without
    ``with_inputs``, the inputs of those that succeeded are not read (an empty list)."""
    start = 0
    limit = _ROWS
    while start < count:
        rows = await store.list_child_rows(map_run_arn, start, limit)
        if not rows:
            return
        indexes: list[int] = []
        inputs: list[bytes] = []
        outputs: list[bytes] = []
        failed: list[ChildExecutionRecord] = []
        for row in rows:
            first = row.index
            if first >= count:
                break
            if first < start:  # (rows never overlap: a span is written once, from its first child)
                continue
            if row.span <= 1 and row.status != "SUCCEEDED":
                failed.append(row)
                start = first + 1
                continue
            if row.span <= 1:
                indexes.append(first)
                if with_inputs:
                    inputs.append(row.input.encode())
                outputs.append((row.output or "null").encode())
                start = first + 1
                continue
            n = min(row.span, count - first)
            outs = _raws((row.output or "[]").encode())[:n]
            if with_inputs:
                ins = _raws(row.input.encode())[:n]
                n = len(ins)
                inputs.extend(map(bytes, ins))
            indexes.extend(range(first, first + n))
            outputs.extend(map(bytes, outs[:n]))
            outputs.extend(b"null" for _ in range(n - len(outs)))
            start = first + max(1, n)
        if indexes or failed:
            yield indexes, inputs, outputs, failed
        if rows[-1].index >= count or len(rows) < limit:
            return
        made = len(indexes) + len(failed)
        limit = max(_ROWS, min(_MAX_ROWS, _CHILDREN * len(rows) // max(1, made)))
