"""The keyword fields of the builder's states and how they become ASL fields.

Each state takes its ASL fields as snake_case keywords (``result_path=`` for ``ResultPath``),
typed by the ``TypedDict`` of its kind. A keyword left out is absent from the definition and a
keyword given is written as given: ``result_path=None`` writes ``"ResultPath": null`` (discard
the result), as a hand-written definition would. ``fields={...}`` is the escape hatch: raw ASL
fields written as they are, for anything the keywords do not name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from .handlers import Catch, Retry

__all__ = [
    "CatchFields",
    "ChoiceFields",
    "CommonFields",
    "FailFields",
    "MapFields",
    "ParallelFields",
    "PassFields",
    "QueryLanguage",
    "RetryFields",
    "RuleFields",
    "SucceedFields",
    "TaskFields",
    "WaitFields",
    "WorkflowFields",
    "allowed",
    "asl_name",
    "converted",
    "ordered",
]

QueryLanguage = Literal["JSONPath", "JSONata"]


class CommonFields(TypedDict, total=False):
    comment: str
    query_language: QueryLanguage
    fields: Mapping[str, Any]  # raw ASL fields, written as given


class _InputOutput(CommonFields, total=False):
    input_path: str | None  # JSONPath
    output_path: str | None  # JSONPath
    output: Any  # JSONata


class _Assigning(_InputOutput, total=False):
    assign: Mapping[str, Any]


class _WithResult(_Assigning, total=False):
    result_path: str | None  # JSONPath
    result_selector: Mapping[str, Any]  # JSONPath
    retry: Sequence[Retry]
    catch: Sequence[Catch]


class PassFields(_Assigning, total=False):
    parameters: Any  # JSONPath
    result: Any  # JSONPath
    result_path: str | None  # JSONPath


class TaskFields(_WithResult, total=False):
    parameters: Any  # JSONPath
    arguments: Any  # JSONata
    credentials: Mapping[str, Any]
    timeout_seconds: int | str  # a JSONata expression in a JSONata state
    timeout_seconds_path: str  # JSONPath
    heartbeat_seconds: int | str
    heartbeat_seconds_path: str  # JSONPath


class WaitFields(_Assigning, total=False):
    seconds: int | str
    seconds_path: str  # JSONPath
    timestamp: str
    timestamp_path: str  # JSONPath


class SucceedFields(_InputOutput, total=False):
    pass


class FailFields(CommonFields, total=False):
    error: str
    cause: str
    error_path: str  # JSONPath
    cause_path: str  # JSONPath


class ChoiceFields(_Assigning, total=False):
    pass


class ParallelFields(_WithResult, total=False):
    parameters: Any  # JSONPath
    arguments: Any  # JSONata


class MapFields(_WithResult, total=False):
    processor_config: Mapping[str, Any]  # {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    parameters: Any  # JSONPath (the legacy name of ItemSelector)
    items_path: str  # JSONPath
    items: Any  # JSONata
    item_selector: Any
    item_reader: Mapping[str, Any]
    item_batcher: Mapping[str, Any]
    result_writer: Mapping[str, Any]
    max_concurrency: int | str
    max_concurrency_path: str  # JSONPath
    tolerated_failure_percentage: float | str
    tolerated_failure_percentage_path: str  # JSONPath
    tolerated_failure_count: int | str
    tolerated_failure_count_path: str  # JSONPath
    label: str


class WorkflowFields(TypedDict, total=False):
    comment: str
    query_language: QueryLanguage
    timeout_seconds: int
    version: str
    fields: Mapping[str, Any]  # raw top-level ASL fields, written as given


class RuleFields(TypedDict, total=False):
    """The fields of a Choice rule beside its condition and ``Next``."""

    comment: str
    assign: Mapping[str, Any]
    output: Any  # JSONata


class RetryFields(TypedDict, total=False):
    interval_seconds: int
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: int
    jitter_strategy: Literal["FULL", "NONE"]
    comment: str


class CatchFields(TypedDict, total=False):
    result_path: str | None  # JSONPath
    output: Any  # JSONata
    assign: Mapping[str, Any]
    comment: str


# snake_case keyword -> ASL field, where the plain conversion would be wrong
_SPECIAL = {"query_language": "QueryLanguage"}

# The order a person writes a state in: what it is, what it reads, what it does, what it keeps,
# how it recovers, where it goes. Fields not listed (the escape hatch's) come before Next/End.
ORDER = (
    "Type",
    "Comment",
    "QueryLanguage",
    "Resource",
    "Credentials",
    "InputPath",
    "Items",
    "ItemsPath",
    "Label",
    "ItemReader",
    "ItemSelector",
    "ItemBatcher",
    "Parameters",
    "Arguments",
    "Result",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Choices",
    "Default",
    "Branches",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ItemProcessor",
    "Iterator",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Output",
    "Assign",
    "Retry",
    "Catch",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
)
_RANK = {name: i for i, name in enumerate(ORDER)}
_LAST = ("Next", "End")


def asl_name(keyword: str) -> str:
    """``result_path`` -> ``ResultPath``."""
    return _SPECIAL.get(keyword) or "".join(part.capitalize() for part in keyword.split("_"))


def allowed(fields_type: type) -> frozenset[str]:
    """The keywords a ``TypedDict`` of this module accepts."""
    keys: frozenset[str] = fields_type.__optional_keys__ | fields_type.__required_keys__  # type: ignore[attr-defined]
    return keys


def converted(keywords: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The ASL fields of ``keywords`` (copied, so later changes to the caller's values do not leak
    in), except the ``skip`` ones the caller handles itself."""
    return {asl_name(k): copy.deepcopy(v) for k, v in keywords.items() if k not in skip and k != "fields"}


def ordered(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` in the order a person writes a state."""
    known = sorted((k for k in body if k in _RANK), key=_RANK.__getitem__)
    other = [k for k in body if k not in _RANK and k not in _LAST]
    return {k: body[k] for k in (*known, *other, *(k for k in _LAST if k in body))}
