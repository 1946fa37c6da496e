"""Execution logs: history events written as AWS writes them to CloudWatch Logs.

A state machine's ``loggingConfiguration`` says what its executions log: ``level`` ``OFF``
(nothing, the default), ``ALL`` (every history event), ``ERROR`` (error events only: an event
type ending in ``Failed``, ``TimedOut`` or ``Aborted``, and ``FailStateEntered``) or ``FATAL``
(only the execution's own failure: ``ExecutionFailed``, ``ExecutionTimedOut``,
``ExecutionAborted``); ``includeExecutionData`` false leaves the execution's data out of each
record (``input``, ``output`` and a task's ``parameters``; ``error`` and ``cause`` stay).

Each record has the shape of AWS's execution log records::

    {"id": "1", "type": "ExecutionStarted", "details": {"input": "{}", ...},
     "previous_event_id": "0", "event_timestamp": "1700000000000",
     "execution_arn": "arn:aws:states:...", "redrive_count": "0"}

(numbers as strings, ``event_timestamp`` in epoch milliseconds, ``input``/``output`` as JSON
text). Records go through structlog: ``Engine(execution_logs=...)`` takes ``"-"`` (stderr), a
file path (appended to), a text stream, or ``True`` (the application's own structlog
configuration, logger ``durable.executions``: ``info`` for most events, ``error`` for error
events, ``critical`` for the execution's failure). Without it, the environment variable
``DURABLE_EXECUTION_LOGS`` (``-`` or a path) is read; ``DURABLE_EXECUTION_LOG_FORMAT``
(``json``, the default, or ``console``) picks the rendering of a stream or file.

A Standard execution's events are logged once they are committed (see
:class:`~durable.runtime.resident.Committer`): a crash never logs an event the store lost,
though it may lose the records of events committed just before it. An Express execution's
events are logged when it ends.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

import msgspec
import structlog

from ..store.base import EventRecord, ExecutionRecord, WriteBatch
from .journal import details_key

__all__ = [
    "ENV_FORMAT",
    "ENV_SINK",
    "ExecutionLogs",
    "LogSink",
    "event_level",
    "log_record",
]

ENV_SINK = "DURABLE_EXECUTION_LOGS"
ENV_FORMAT = "DURABLE_EXECUTION_LOG_FORMAT"

LogSink = str | os.PathLike[str] | TextIO | bool | None

_encode = msgspec.json.encode
_decode = msgspec.json.decode
_DATA_KEYS = ("input", "output", "parameters")
_FATAL = frozenset(("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"))
_RANK = {"ALL": 1, "ERROR": 2, "FATAL": 3}
_log = structlog.get_logger("durable.runtime")


def least_level(config: Mapping[str, Any] | None) -> int | None:
    """The least level a ``loggingConfiguration`` logs (None: it logs nothing, ``OFF``)."""
    return _RANK.get(str(config.get("level", "OFF"))) if config else None


def event_level(event_type: str) -> int:
    """1 (logged at ALL), 2 (an error event: also at ERROR) or 3 (the execution's failure: at
    every level but OFF)."""
    if event_type in _FATAL:
        return 3
    if event_type.endswith(("Failed", "TimedOut", "Aborted")) or event_type == "FailStateEntered":
        return 2
    return 1


def log_record(
    execution_arn: str,
    redrive_count: int,
    event_id: int,
    event_type: str,
    previous: int,
    timestamp: float,
    details: dict[str, Any] | None,
    include_data: bool,
) -> dict[str, Any]:
    """One AWS execution log record (``details``: the event's details, payloads as values)."""
    out: dict[str, Any] = {"id": str(event_id), "type": event_type}
    if details is not None:
        for key in _DATA_KEYS:
            if key in details:
                if include_data:
                    details[key] = _encode(details[key]).decode()  # JSON text, as AWS logs it
                else:
                    details.pop(key)
        out["details"] = details
    else:
        out["details"] = {}
    out["previous_event_id"] = str(previous)
    out["event_timestamp"] = str(round(timestamp * 1000))
    out["execution_arn"] = execution_arn
    out["redrive_count"] = str(redrive_count)
    return out


def _strip_event(_: Any, __: str, event_dict: Any) -> Any:
    event_dict.pop("event", None)
    return event_dict


def _json(obj: Any, **_: Any) -> str:
    return _encode(obj).decode()


class ExecutionLogs:
    """Where execution log records go (see the module docstring); ``enabled`` is False when
    nowhere, and then nothing is prepared or rendered."""

    def __init__(self, sink: LogSink = None, fmt: str | None = None) -> None:
        if sink is None:
            sink = os.environ.get(ENV_SINK) or None
        fmt = fmt or os.environ.get(ENV_FORMAT) or "json"
        if fmt not in ("json", "console"):
            raise ValueError(f"execution log format must be 'json' or 'console', not {fmt!r}")
        self._owned: TextIO | None = None
        self.logger: Any = None
        if sink is None or sink is False:
            return
        if sink is True:
            self.logger = structlog.get_logger("durable.executions")
            return
        if isinstance(sink, str | os.PathLike):
            path = os.fspath(sink)
            if path in ("-", "stderr"):
                stream: TextIO = sys.stderr
            else:
                stream = self._owned = open(path, "a", encoding="utf-8", buffering=1)
        else:
            stream = sink
        renderer: Any = (
            structlog.processors.JSONRenderer(serializer=_json)
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        processors: list[Any] = [_strip_event, renderer] if fmt == "json" else [renderer]
        self.logger = structlog.wrap_logger(structlog.PrintLogger(file=stream), processors=processors)

    @property
    def enabled(self) -> bool:
        return self.logger is not None

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def emit(self, record: dict[str, Any], level: int) -> None:
        logger = self.logger
        method = logger.info if level == 1 else logger.error if level == 2 else logger.critical
        method("execution event", **record)

    def events(
        self,
        config: Mapping[str, Any] | None,
        execution_arn: str,
        redrive_count: int,
        events: Iterable[tuple[int, str, int, float, dict[str, Any] | None]],
    ) -> None:
        """Log ``(id, type, previous id, timestamp, details)`` events as ``config`` (a
        ``loggingConfiguration``) asks."""
        least = least_level(config)
        if config is None or least is None:
            return
        include = bool(config.get("includeExecutionData", False))
        for event_id, event_type, previous, timestamp, details in events:
            level = event_level(event_type)
            if level >= least:
                self.emit(
                    log_record(
                        execution_arn,
                        redrive_count,
                        event_id,
                        event_type,
                        previous,
                        timestamp,
                        details,
                        include,
                    ),
                    level,
                )

    def history(
        self,
        config: Mapping[str, Any] | None,
        execution_arn: str,
        history: Iterable[dict[str, Any]],
    ) -> None:
        """Log an Express execution's recorded history (events as the context records them)."""
        self.events(
            config,
            execution_arn,
            0,
            (
                (
                    e["id"],
                    e["type"],
                    e["previousEventId"],
                    e["timestamp"],
                    _copy(e.get(details_key(e["type"]) or "")),
                )
                for e in history
            ),
        )

    async def committed(
        self,
        batch: WriteBatch,
        records: Callable[[str], ExecutionRecord | None],
        config_for: Callable[[str], Any],
    ) -> None:
        """Log the events of a committed ``batch``. ``records(arn)`` finds a resident
        execution's record; ``config_for(state_machine_arn)`` (awaitable) its machine's
        ``loggingConfiguration``. Never raises: a log record is not worth an execution."""
        try:
            by_arn: dict[str, list[EventRecord]] = {}
            for event in batch.events:
                by_arn.setdefault(event.execution_arn, []).append(event)
            written = {r.arn: r for r in batch.executions}
            for arn, events in by_arn.items():
                record = written.get(arn) or records(arn)
                machine = record.state_machine_arn if record is not None else machine_of(arn)
                config = await config_for(machine)
                self.events(
                    config,
                    arn,
                    record.redrive_count if record is not None else 0,
                    (
                        (
                            e.id,
                            e.type,
                            e.previous_event_id,
                            e.timestamp,
                            None if e.details is None else _decode(e.details),
                        )
                        for e in events
                    ),
                )
        except Exception as exc:
            _log.warning("execution log records not written", error=repr(exc))


def machine_of(execution_arn: str) -> str:
    """The state machine ARN an execution ARN names (``...:execution:Name:run`` ->
    ``...:stateMachine:Name``; a Map Run child's ``Name/label`` -> ``Name``)."""
    parts = execution_arn.split(":")
    if len(parts) < 7:
        return execution_arn
    return ":".join([*parts[:5], "stateMachine", parts[6].split("/", 1)[0]])


def _copy(details: Any) -> dict[str, Any] | None:
    return dict(details) if isinstance(details, dict) else None
