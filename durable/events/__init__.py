"""EventBridge's pure core: event patterns, PutEvents entries and envelopes, target input
transformation, and Scheduler's schedule expressions.

No I/O, no clock, no ids: instants and ids come in as arguments. The event bus and the
scheduler in the runtime build on this layer (docs/events.md).
"""

from durable.events.cron import CronExpression
from durable.events.envelope import (
    MAX_ENTRIES,
    MAX_REQUEST_BYTES,
    EntryError,
    build_envelope,
    entry_size,
    format_event_time,
    validate_entry,
    validate_request,
)
from durable.events.patterns import EventPattern, compile_pattern, test_event_pattern
from durable.events.schedules import (
    DEFAULT_MAXIMUM_EVENT_AGE,
    AtExpression,
    RateExpression,
    Schedule,
    ScheduleExpression,
    flexible_window,
    parse_schedule_expression,
)
from durable.events.transform import InputTransformer, select_path, target_input

__all__ = [
    "DEFAULT_MAXIMUM_EVENT_AGE",
    "MAX_ENTRIES",
    "MAX_REQUEST_BYTES",
    "AtExpression",
    "CronExpression",
    "EntryError",
    "EventPattern",
    "InputTransformer",
    "RateExpression",
    "Schedule",
    "ScheduleExpression",
    "build_envelope",
    "compile_pattern",
    "entry_size",
    "flexible_window",
    "format_event_time",
    "parse_schedule_expression",
    "select_path",
    "target_input",
    "test_event_pattern",
    "validate_entry",
    "validate_request",
]
