"""Spans to OpenTelemetry: each :class:`~durable.runtime.trace_spans.SpanRecord` becomes a span
with the ids, parent, times and attributes the record says.

Imported only when an engine traces (``durable[otel]``): it imports ``opentelemetry``. Spans go
to the tracer provider given, else to the global one (``opentelemetry.trace.set_tracer_provider``)
as it is when each span ends, so a provider set after the engine opened is used.

The span ids are the records' (derived from the execution, see :mod:`trace_spans`), so a span
emitted after a restart has the id its children, emitted before, name as their parent. The
OpenTelemetry API has no way to choose a span's id: with the SDK's tracer, the tracer's id
generator is wrapped to hand out the record's ids; with another implementation, the ids are
that implementation's (the spans stay in their trace, but the parents of spans ended in an
earlier process may dangle).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .trace_spans import SpanRecord, TraceSeed

__all__ = ["OtelEmitter", "current_traceparent"]

_KINDS = {"execution": SpanKind.INTERNAL, "state": SpanKind.INTERNAL, "task": SpanKind.CLIENT}


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


class _Pinned:
    """An SDK id generator that hands out the ids set on it (once), else its own."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.trace_id: int | None = None
        self.span_id: int | None = None

    def generate_span_id(self) -> int:
        value, self.span_id = self.span_id, None
        return value if value is not None else int(self.inner.generate_span_id())

    def generate_trace_id(self) -> int:
        value, self.trace_id = self.trace_id, None
        return value if value is not None else int(self.inner.generate_trace_id())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class OtelEmitter:
    """Emits span records through an OpenTelemetry tracer (see the module docstring)."""

    def __init__(self, provider: Any = None, version: str = "") -> None:
        self._provider = provider
        self._version = version
        self._for: Any = None  # the provider the tracer below came from
        self._tracer: Any = None
        self._pinned: _Pinned | None = None

    def _tracer_now(self) -> tuple[Any, _Pinned | None]:
        provider = self._provider if self._provider is not None else trace.get_tracer_provider()
        if self._tracer is None or self._for is not provider:
            tracer: Any = provider.get_tracer("durable", self._version or None)
            pinned = None
            inner = getattr(tracer, "id_generator", None)
            if inner is not None and hasattr(inner, "generate_span_id"):
                pinned = _Pinned(inner.inner if isinstance(inner, _Pinned) else inner)
                tracer.id_generator = pinned
            self._for, self._tracer, self._pinned = provider, tracer, pinned
        return self._tracer, self._pinned

    def emit(self, seed: TraceSeed, record: SpanRecord) -> None:
        tracer, pinned = self._tracer_now()
        flags = TraceFlags(TraceFlags.SAMPLED if seed.sampled else TraceFlags.DEFAULT)
        if record.parent_span_id is not None:
            parent = SpanContext(
                int(seed.trace_id, 16),
                int(record.parent_span_id, 16),
                is_remote=record.kind == "execution",  # the caller's span, from the trace header
                trace_flags=flags,
            )
            ctx = trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())
        else:
            ctx = otel_context.Context()  # a root span: not the current span's child
        if pinned is not None:
            pinned.trace_id = int(seed.trace_id, 16)
            pinned.span_id = int(record.span_id, 16)
        try:
            span = tracer.start_span(
                record.name,
                context=ctx,
                kind=_KINDS.get(record.kind, SpanKind.INTERNAL),
                attributes=record.attributes,
                start_time=_ns(record.start),
            )
        finally:
            if pinned is not None:
                pinned.trace_id = pinned.span_id = None
        if record.error is not None:
            span.set_attribute("error.type", record.error)
            description = record.error if not record.cause else f"{record.error}: {record.cause}"
            span.set_status(Status(StatusCode.ERROR, description))
        span.end(end_time=_ns(max(record.end, record.start)))


def current_traceparent() -> str | None:
    """The current span's context as a W3C ``traceparent`` (None: no valid current span)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    sampled = "01" if context.trace_flags.sampled else "00"
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{sampled}"
