"""OpenTelemetry traces of executions: a span per execution run, per state visit, per task call.

``Engine(tracing=True)`` (or a ``TracerProvider``; ``None`` reads ``DURABLE_TRACING``) builds a
:class:`Tracing`, which imports OpenTelemetry (``pip install 'durable[otel]'``); without it the
engine imports nothing of OpenTelemetry and does nothing more.

Spans are derived from history events (:mod:`~durable.runtime.trace_spans`): a Standard
execution's once the batch holding them is committed (as execution logs are, see
:class:`~durable.runtime.resident.Committer`), an Express execution's when it ends. A span is
emitted when the event that closes it is, with the times of its events, so tracing never runs
ahead of the store and never delays an effect beyond reading what it needs once per execution.
Span ids are derived from the execution (:class:`TraceSeed`), so an execution resumed after a
restart continues its trace: the builder of a resumed execution reads its history once, without
emitting what was emitted before the restart.

A task call's :class:`~durable.TraceContext` (``TaskRequest.trace_context``) names the span the
call will have once its outcome is committed, so the service called can nest its own spans under
it. Nothing here fails an execution: an error is a warning on the engine log.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
import structlog

from ..errors import ValidationError
from ..integrations.base import TraceContext
from ..store.base import ExecutionRecord, WriteBatch
from .exec_logs import machine_of
from .journal import details_key
from .trace_spans import EventTuple, SpanBuilder, TraceSeed

__all__ = ["ENV_TRACING", "Tracing", "TracingSetting"]

ENV_TRACING = "DURABLE_TRACING"
TracingSetting = Any  # None (the environment says), False, True (the global provider), a TracerProvider

_decode = msgspec.json.decode
_log = structlog.get_logger("durable.runtime")
_MISSING = "tracing needs OpenTelemetry: pip install 'durable[otel]'"
#: at most this many executions' span builders and seeds are kept: a parked execution's are
#: dropped first, and found again (its history read once more) when it goes on
MAX_KEPT = 10_000

#: what the engine tells the tracer: an execution's (state machine ARN, start date, trace header)
Describe = Callable[[str], Awaitable[tuple[str, float, str | None] | None]]
#: ... and its history events before an event id
History = Callable[[str, int], Awaitable[list[EventTuple]]]


class Tracing:
    """An engine's tracing (see the module docstring). Build it with :meth:`configure`."""

    def __init__(self, provider: Any = None, version: str = "") -> None:
        from .otel import OtelEmitter, current_traceparent  # ImportError without OpenTelemetry

        self.emitter = OtelEmitter(provider, version)
        self._current = current_traceparent
        self.seeds: dict[str, TraceSeed] = {}
        self.builders: dict[str, SpanBuilder] = {}
        self.describe: Describe | None = None
        self.history: History | None = None

    @classmethod
    def configure(cls, setting: TracingSetting, version: str = "") -> Tracing | None:
        """The tracing ``Engine(tracing=setting)`` asks for (None: none). ``None`` reads
        ``DURABLE_TRACING`` (``1``/``true``/``otel``: the global tracer provider)."""
        explicit = setting is not None
        if setting is None:
            setting = os.environ.get(ENV_TRACING, "").strip().lower() in ("1", "true", "yes", "on", "otel")
        if setting is False:
            return None
        try:
            return cls(None if setting is True else setting, version)
        except ImportError:
            if explicit:
                raise ValidationError(_MISSING) from None
            _log.warning(f"{ENV_TRACING} is set but {_MISSING}")
            return None

    # -- the trace of an execution ---------------------------------------------------------------
    def header_for_start(self, given: str | None) -> str | None:
        """The trace header a new execution is started with: the one given, else the current
        OpenTelemetry span's (the caller's), if any."""
        if given:
            return given
        try:
            return self._current()
        except Exception:
            return None

    def remember(self, execution_arn: str, start_date: float, header: str | None) -> TraceSeed:
        seed = self.seeds[execution_arn] = TraceSeed.of(execution_arn, start_date, header)
        if len(self.seeds) > MAX_KEPT:
            _evict(self.seeds)
        return seed

    async def seed(self, execution_arn: str) -> TraceSeed | None:
        seed = self.seeds.get(execution_arn)
        if seed is None and self.describe is not None:
            found = await self.describe(execution_arn)
            if found is not None:
                seed = self.remember(execution_arn, found[1], found[2])
        return seed

    async def task_context(self, execution_arn: str, scheduled_event: int) -> TraceContext | None:
        """The trace context of a task call about to be made (None: unknown, or an error)."""
        if not scheduled_event:
            return None
        try:
            seed = await self.seed(execution_arn)
        except Exception as exc:
            _log.warning("trace context not found", execution_arn=execution_arn, error=repr(exc))
            return None
        return None if seed is None else seed.task_context(scheduled_event)

    def forget(self, execution_arn: str) -> None:
        self.seeds.pop(execution_arn, None)
        self.builders.pop(execution_arn, None)

    # -- spans --------------------------------------------------------------------------------------
    def _emit(self, builder: SpanBuilder, events: Iterable[EventTuple], emit: bool = True) -> None:
        for record in builder.feed(events, emit):
            try:
                self.emitter.emit(builder.seed, record)
            except Exception as exc:
                _log.warning("span not emitted", name=record.name, error=repr(exc))

    async def committed(self, batch: WriteBatch, records: Callable[[str], ExecutionRecord | None]) -> None:
        """Emit the spans the events of a committed ``batch`` end. Never raises."""
        try:
            by_arn: dict[str, list[EventTuple]] = {}
            for e in batch.events:
                details = None if e.details is None else _decode(e.details)
                by_arn.setdefault(e.execution_arn, []).append(
                    (e.id, e.type, e.previous_event_id, e.timestamp, details)
                )
            written = {r.arn: r for r in batch.executions}
            for arn, events in by_arn.items():
                builder = self.builders.get(arn)
                if builder is None:
                    builder = await self._builder(arn, written.get(arn) or records(arn), events[0][0])
                    if builder is None:
                        continue
                self._emit(builder, events)
                if builder.ended:
                    self.forget(arn)
        except Exception as exc:
            _log.warning("trace spans not emitted", error=repr(exc))

    async def _builder(self, arn: str, record: ExecutionRecord | None, first: int) -> SpanBuilder | None:
        if record is not None:
            seed = self.seeds.get(arn)
            if seed is None:
                header = None
                if self.describe is not None:
                    found = await self.describe(arn)
                    header = found[2] if found is not None else None
                seed = self.remember(arn, record.start_date, header)
            machine = record.state_machine_arn
        else:
            seed = await self.seed(arn)
            if seed is None:
                return None
            machine = machine_of(arn)
        builder = self.builders[arn] = SpanBuilder(seed, arn, machine)
        if len(self.builders) > MAX_KEPT:
            _evict(self.builders)
        if first > 1 and self.history is not None:  # resumed: what is open, without emitting
            self._emit(builder, await self.history(arn, first), emit=False)
        return builder

    def express(
        self,
        execution_arn: str,
        state_machine_arn: str,
        history: Iterable[dict[str, Any]],
    ) -> None:
        """Emit the spans of an Express execution that ended (its recorded history). Never raises."""
        try:
            seed = self.seeds.get(execution_arn)
            if seed is None:
                return
            builder = SpanBuilder(seed, execution_arn, state_machine_arn, "EXPRESS")
            self._emit(
                builder,
                (
                    (
                        e["id"],
                        e["type"],
                        e["previousEventId"],
                        e["timestamp"],
                        e.get(details_key(e["type"]) or ""),
                    )
                    for e in history
                ),
            )
        except Exception as exc:
            _log.warning("trace spans not emitted", execution_arn=execution_arn, error=repr(exc))
        finally:
            self.forget(execution_arn)


def _evict(kept: dict[str, Any]) -> None:
    """Drop the oldest Standard executions' entries (an Express execution's seed is only here)."""
    for arn in [a for a in list(kept)[: len(kept) // 10] if ":express:" not in a]:
        del kept[arn]
