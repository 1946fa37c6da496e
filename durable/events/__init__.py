"""EventBridge's pure core: event patterns, PutEvents entries and envelopes, target input
transformation, and Scheduler's schedule expressions.

No I/O, no clock, no ids: instants and ids come in as arguments. The event bus and the
scheduler in the runtime build on this layer (docs/events.md).
"""

from durable.events.patterns import EventPattern, compile_pattern, test_event_pattern

__all__ = ["EventPattern", "compile_pattern", "test_event_pattern"]
