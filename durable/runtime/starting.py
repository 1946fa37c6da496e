"""Starting and redriving executions: inputs, names, ARNs, and the records a start or a redrive writes.

Shared by the executing :class:`~durable.Engine` (which then runs the execution itself) and the
:class:`~durable.Client` (which records a START request for the engine that owns the database).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from ..errors import ExecutionAlreadyExists, ExecutionNotRedrivable, InvalidExecutionInput, InvalidOutput
from ..interpreter.data import MAX_PAYLOAD_BYTES
from ..interpreter.jackson import jackson_error
from ..interpreter.jsonvalue import NotJson, json_text, parse_json, parse_json_text
from ..store.base import (
    EventRecord,
    ExecutionAbsent,
    ExecutionIn,
    ExecutionRecord,
    JournalRecord,
    Store,
    WriteBatch,
)
from .clock import Clock
from .journal import Journal, redrive_cuts
from .mapruns import redrive_marks
from .timers import TimerKey

__all__ = [
    "REDRIVABLE",
    "REDRIVE_PERIOD_SECONDS",
    "own_input",
    "own_output",
    "owned_input",
    "parse_input",
    "redrive_batch",
    "same_start",
    "start_batch",
]

REDRIVE_PERIOD_SECONDS = 14 * 24 * 3600
REDRIVABLE = ("FAILED", "ABORTED", "TIMED_OUT")

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def parse_input(text: str | bytes, limit: int | None = MAX_PAYLOAD_BYTES) -> Any:
    """Execution input as AWS parses it; errors worded as AWS (Jackson) words them."""
    return _parse_input_text(text, limit)[0]


def _parse_input_text(text: str | bytes, limit: int | None) -> tuple[Any, bytes]:
    """:func:`parse_input` and the input's compact JSON text."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidExecutionInput(
                f"Invalid State Machine Execution Input: 'Invalid UTF-8 start byte at offset {exc.start}'"
            ) from None
    if limit is not None and len(text.encode("utf-8", "surrogatepass")) > limit:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: 'Input size exceeds the maximum of {limit} bytes.'"
        )
    if not text.strip():
        raise InvalidExecutionInput("Invalid State Machine Execution Input: 'Invalid execution input.'")
    try:
        return parse_json_text(text)
    except json.JSONDecodeError as exc:
        reason = jackson_error(exc).reason
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{reason}'") from None
    except NotJson as exc:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: '{_jackson_reason(exc)}'"
        ) from None


def own_input(input: Any, input_json: str | bytes | None, limit: int | None = MAX_PAYLOAD_BYTES) -> Any:
    """The execution input as an owned JSON value (a copy: callers may mutate theirs)."""
    return owned_input(input, input_json, limit)[0]


def owned_input(
    input: Any, input_json: str | bytes | None, limit: int | None = MAX_PAYLOAD_BYTES
) -> tuple[Any, str]:
    """:func:`own_input` and its compact JSON text, each made once (the text is what the
    store keeps and what ``ExecutionStarted`` embeds, so the input is not encoded again)."""
    if input_json is not None:
        value, text = _parse_input_text(input_json, limit)
        return value, text.decode()
    if input is None:
        return {}, "{}"
    try:
        text = json_text(input)
    except NotJson as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc.reason}'") from None
    if limit is not None and len(text) > limit:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: 'Input size exceeds the maximum of {limit} bytes.'"
        )
    return _decode(text), text.decode()


def own_output(output: Any, output_json: str | None, limit: int | None = MAX_PAYLOAD_BYTES) -> Any:
    """A task token's output (SendTaskSuccess) as an owned JSON value."""
    if output_json is not None:
        if limit is not None and len(output_json.encode("utf-8", "surrogatepass")) > limit:
            raise InvalidOutput(f"Output exceeds the maximum size of {limit} bytes")
        try:
            return parse_json(output_json)
        except (NotJson, json.JSONDecodeError) as exc:
            raise InvalidOutput(f"Invalid output: {exc}") from None
    try:
        encoded = json_text(output)
    except NotJson as exc:
        raise InvalidOutput(f"Invalid output: {exc.reason}") from None
    if limit is not None and len(encoded) > limit:
        raise InvalidOutput(f"Output exceeds the maximum size of {limit} bytes")
    return _decode(encoded)


def _jackson_reason(exc: NotJson) -> str:
    if "NaN" in exc.reason or "Infinity" in exc.reason or "is not a JSON number" in exc.reason:
        name = exc.reason.split("'")[1] if "'" in exc.reason else "NaN"
        return f"Non-standard token '{name}': enable JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS to allow"
    return exc.reason


def same_start(existing: ExecutionRecord, value: Any) -> ExecutionRecord:
    """StartExecution of a name that exists: the same execution when it is RUNNING with the same
    input (AWS is idempotent there), else :class:`ExecutionAlreadyExists`."""
    if existing.status == "RUNNING" and _decode(existing.input) == value:
        return existing
    raise ExecutionAlreadyExists(f"Execution Already Exists: '{existing.arn}'")


def start_batch(
    record: ExecutionRecord, role_arn: str, timeout_seconds: float | None, clock: Clock
) -> WriteBatch:
    """What a start commits when the owner runs it later: the execution, ``ExecutionStarted``
    (in the history and the journal, as the owner's own start writes it) and its timeout."""
    journal = Journal(record.arn, clock, start_time=record.start_date)
    details = {"input": msgspec.Raw(record.input), "inputDetails": {"truncated": False}, "roleArn": role_arn}
    journal.emit("ExecutionStarted", 0, details)
    batch = journal.take_batch()
    batch.guards.append(ExecutionAbsent(arn=record.arn))
    batch.executions.append(record)
    if timeout_seconds is not None:
        batch.timers.append(
            TimerKey.execution_timeout().record(record.arn, record.start_date + timeout_seconds)
        )
    return batch


async def redrive_batch(
    store: Store, record: ExecutionRecord, timeout_seconds: float | None, now: float
) -> tuple[WriteBatch, ExecutionRecord]:
    """RedriveExecution: ``ExecutionRedriven``, a ``cut`` entry for each lane that must run again
    (completed branches and iterations keep their recorded outcomes), the execution RUNNING with
    its redrive count and date, a fresh execution timeout. Guarded: of two redrives racing, one
    wins; the other raises :class:`ExecutionNotRedrivable`."""
    arn = record.arn
    if record.status not in REDRIVABLE:
        raise ExecutionNotRedrivable(f"Execution is {record.status} and cannot be redriven: '{arn}'")
    if record.stop_date is not None and now - record.stop_date > REDRIVE_PERIOD_SECONDS:
        raise ExecutionNotRedrivable(f"Execution redrivable period exceeded: '{arn}'")
    entries = await store.journal(arn)
    events, _ = await store.events(arn, limit=1_000_000)
    types = {e.id: e.type for e in events}
    cuts = redrive_cuts(entries, types)
    seqs: dict[str, int] = {}
    for e in entries:
        seqs[e.lane] = max(seqs.get(e.lane, 0), e.seq)
    count = record.redrive_count + 1
    last = events[-1].id if events else 0
    batch = WriteBatch(
        guards=[ExecutionIn(arn=arn, statuses=REDRIVABLE, event_count=last)],
        journal=[
            JournalRecord(execution_arn=arn, lane=lane, seq=seqs[lane] + 1, kind="cut", payload=str(cut))
            for lane, cut in cuts.items()
        ],
        events=[
            EventRecord(
                execution_arn=arn,
                id=last + 1,
                type="ExecutionRedriven",
                previous_event_id=last,
                timestamp=now,
                details=_encode({"redriveCount": count}).decode(),
            )
        ],
    )
    redriven = msgspec.structs.replace(
        record,
        status="RUNNING",
        stop_date=None,
        output=None,
        error=None,
        cause=None,
        redrive_count=count,
        redrive_date=now,
    )
    batch.executions.append(redriven)
    batch.metadata.extend(await redrive_marks(store, arn))  # its unsuccessful Map Runs run again
    if timeout_seconds is not None:
        batch.timers.append(TimerKey.execution_timeout().record(arn, now + timeout_seconds))
    return batch, redriven
