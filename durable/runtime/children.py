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

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from ..interpreter.commands import ChildProcessor
from ..interpreter.distributed import ChildNames
from ..store.base import ChildExecutionRecord, MetadataRecord
from ..store.child_spans import MAX_SPAN
from .clock import Clock

__all__ = ["PROCESSOR_KIND", "ChildRows", "processor_record"]

PROCESSOR_KIND = "mapprocessor"
_encode = msgspec.json.encode


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

    def _row(self, index: int, value: Any, status: str, start: float) -> ChildExecutionRecord:
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
            item_count=w[index] if index < len(w) else 1,
            redrive_count=self.redrive_count,
        )

    def started(self, index: int, value: Any) -> None:
        self._add(self._row(index, value, "RUNNING", self.clock.now()))

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
    ) -> None:
        """A child run by a Fork ended (the store keeps the start date it was written with)."""
        now = self.clock.now()
        row = self._row(index, value, status, now)
        row.stop_date = now
        if status == "SUCCEEDED":
            row.output = _encode(output).decode()
        row.error, row.cause = error, cause
        if history is not None:
            row.history = _encode(history).decode()
        self._add(row)

    def in_place(
        self,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
        succeeded: int,
        failure: tuple[str | None, str | None] | None,
    ) -> None:
        """Children run in place: those that ended since the last call (the first ``succeeded``
        succeeded; with ``failure``, the next one failed). They ran between the two calls: that
        is their start and stop date. The children that succeeded are stored as spans (one row
        for up to :data:`~durable.store.child_spans.MAX_SPAN` of them), a failed one alone."""
        start, now = self.since, self.clock.now()
        weights = self.weights
        for first in range(self.stored, succeeded, MAX_SPAN):
            end = min(succeeded, first + MAX_SPAN)
            if end - first == 1:
                row = self._row(first, inputs[first], "SUCCEEDED", start)
                row.output = _encode(outputs[first]).decode()
            else:
                row = ChildExecutionRecord(
                    arn=self._names.arn(first),
                    map_run_arn=self.map_run_arn,
                    execution_arn=self.execution_arn,
                    index=first,
                    name=self._names.name(first),
                    status="SUCCEEDED",
                    start_date=start,
                    input=_encode(list(inputs[first:end])).decode(),
                    output=_encode(list(outputs[first:end])).decode(),
                    item_count=sum(weights[first:end]) if weights else end - first,
                    redrive_count=self.redrive_count,
                    span=end - first,
                )
            row.stop_date = now
            self._add(row)
        self.stored = max(self.stored, succeeded)
        if failure is not None and succeeded < len(inputs):
            row = self._row(succeeded, inputs[succeeded], "FAILED", start)
            row.stop_date = now
            row.error, row.cause = failure
            self._add(row)
            self.stored = succeeded + 1
        self.since = now
