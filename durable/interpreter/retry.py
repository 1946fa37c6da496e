"""Retry and Catch: error matching and back-off arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import failure as F
from .data import compile_assign
from .jsonpath import Path, compile_reference_path
from .query import QueryValue

__all__ = ["Catcher", "Retrier", "error_matches", "find"]


def error_matches(error: str | None, equals: tuple[str, ...]) -> bool:
    """ASL matching: exact names, plus ``States.ALL`` and ``States.TaskFailed`` wildcards.

    ``States.Runtime`` is never matched (callers do not even try); ``States.TaskFailed``
    matches everything but ``States.Timeout``.
    """
    if error == F.RUNTIME:
        return False
    for name in equals:
        if name == error or name == F.ALL:
            return True
        if name == F.TASK_FAILED and error != F.TIMEOUT:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    full_jitter: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Retrier:
        return cls(
            error_equals=tuple(raw["ErrorEquals"]),
            interval_seconds=raw.get("IntervalSeconds", 1),
            max_attempts=raw.get("MaxAttempts", 3),
            backoff_rate=raw.get("BackoffRate", 2.0),
            max_delay_seconds=raw.get("MaxDelaySeconds"),
            full_jitter=raw.get("JitterStrategy") == "FULL",
        )

    def delay(self, attempt: int, random01: float) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        d = self.interval_seconds * self.backoff_rate**attempt
        if self.max_delay_seconds is not None:
            d = min(d, self.max_delay_seconds)
        if self.full_jitter:
            d = d * random01
        return float(d)


@dataclass(frozen=True, slots=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None
    raw: dict[str, Any]
    assign: Any = None  # compiled Assign (JSONPath template or JSONata QueryValue), if any
    output: Any = None  # JSONata ``Output`` (a QueryValue), if any

    @classmethod
    def parse(cls, raw: dict[str, Any], jsonata: bool = False) -> Catcher:
        rp = raw.get("ResultPath", "$")
        assign: Any = None
        output: Any = None
        if jsonata:
            assign = QueryValue(raw["Assign"], "Assign") if "Assign" in raw else None
            output = QueryValue(raw["Output"], "Output") if "Output" in raw else None
        elif "Assign" in raw:
            assign = compile_assign(raw["Assign"])
        return cls(
            error_equals=tuple(raw["ErrorEquals"]),
            next=raw["Next"],
            result_path=None if rp is None or jsonata else compile_reference_path(rp),
            raw=raw,
            assign=assign,
            output=output,
        )


def find(items: tuple[Any, ...], error: str | None) -> int:
    """Index of the first retrier/catcher whose ErrorEquals matches ``error``, else -1."""
    for i, item in enumerate(items):
        if error_matches(error, item.error_equals):
            return i
    return -1
