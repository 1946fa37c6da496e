"""The data behind :mod:`durable.interpreter.validate`: which fields each ASL object accepts, in which
query language, which ones exclude each other, and the limits AWS enforces.
"""

from __future__ import annotations

import re
from typing import Final

from .validate_fields import JA, JP

MISSING_TARGET: Final = "MISSING_TRANSITION_TARGET"
MISSING_END: Final = "MISSING_END_STATE"
DUPLICATE_NAME: Final = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME: Final = "INVALID_STATE_NAME"
INVALID_LABEL: Final = "INVALID_LABEL_NAME"
DUPLICATE_LABEL: Final = "DUPLICATE_LABEL_NAME"

REPORT_UNREACHABLE: Final = True
"""AWS rejects a state nothing transitions to (``State "X" is not reachable.``, MISSING_TRANSITION_TARGET)."""

MAX_NAME: Final = 80
MAX_LABEL: Final = 40
MAX_SECONDS: Final = 99_999_999
MAX_DELAY_SECONDS: Final = 31_622_400
MAX_READER_ITEMS: Final = 100_000_000
MAX_BATCH_BYTES: Final = 262_144

LANGUAGES: Final = (JP, JA)
STATE_TYPES: Final = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")
WAIT_FIELDS: Final = ("SecondsPath", "Seconds", "TimestampPath", "Timestamp")
PROCESSOR_FIELDS: Final = ("ItemProcessor", "Iterator")
CHOICE_SELECTORS: Final = ("And", "Or", "Not", "Variable", "Condition")
STATES_ALL: Final = "States.ALL"

_COMMON = ("Type", "Comment", "QueryLanguage")
FLOW: Final = ("Next", "End")
_IO = ("InputPath", "OutputPath")
_RESULT = ("ResultPath", "ResultSelector", "Retry", "Catch", "Output", "Assign")

# Fields each state type accepts, in either query language.
STATE_FIELDS: Final[dict[str, frozenset[str]]] = {
    "Pass": frozenset({*_COMMON, *FLOW, *_IO, "Result", "ResultPath", "Parameters", "Output", "Assign"}),
    "Task": frozenset(
        {
            *_COMMON,
            *FLOW,
            *_IO,
            *_RESULT,
            "Parameters",
            "Arguments",
            "Resource",
            "Credentials",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        }
    ),
    "Wait": frozenset({*_COMMON, *FLOW, *_IO, *WAIT_FIELDS, "Output", "Assign"}),
    "Parallel": frozenset({*_COMMON, *FLOW, *_IO, *_RESULT, "Parameters", "Arguments", "Branches"}),
    "Map": frozenset(
        {
            *_COMMON,
            *FLOW,
            *_IO,
            *_RESULT,
            *PROCESSOR_FIELDS,
            "Parameters",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
        }
    ),
    "Choice": frozenset({*_COMMON, *_IO, "Choices", "Default", "Output", "Assign"}),
    "Succeed": frozenset({*_COMMON, *_IO, "Output"}),
    "Fail": frozenset({*_COMMON, "Error", "Cause", "ErrorPath", "CausePath"}),
}

# Fields only one query language accepts (everywhere they occur: states, catchers, Map sub-objects).
LANGUAGE_ONLY: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Result",
            "ItemsPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
            "SecondsPath",
            "TimestampPath",
            "ErrorPath",
            "CausePath",
            "MaxItemsPath",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatchPath",
            "Variable",
            "And",
            "Or",
            "Not",
        ),
        JP,
    ),
    **dict.fromkeys(("Arguments", "Output", "Items", "Condition"), JA),
}

REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "Task": ("Resource",),
    "Parallel": ("Branches",),
    "Choice": ("Choices",),
}

EXCLUSIVE: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "Task": (("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath")),
    "Map": (
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
        ("Parameters", "ItemSelector"),
    ),
    "Fail": (("Error", "ErrorPath"), ("Cause", "CausePath")),
}

TRANSITIONING: Final = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
WITH_RESULT: Final = frozenset({"Task", "Parallel", "Map"})
"""States whose top-level ``Output``/``Assign`` may read ``$states.result``."""

# Choice operators -> operand kind.
_COMPARED = {"String": "string", "Numeric": "number", "Timestamp": "timestamp"}
CHOICE_OPERATORS: Final[dict[str, str]] = {
    **{
        f"{family}{op}": kind
        for family, kind in _COMPARED.items()
        for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    },
    **{
        f"{family}{op}Path": "path"
        for family in _COMPARED
        for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    },
    "StringMatches": "string",
    "BooleanEquals": "boolean",
    "BooleanEqualsPath": "path",
    **dict.fromkeys(("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"), "boolean"),
}

RETRIER_FIELDS: Final = (
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
)
CATCHER_FIELDS: Final = ("ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment")

SYNC = re.compile(r"\.sync(:[0-9]+)?\Z")
# The Resource shapes AWS accepts (developer guide, "Discover service integration patterns"):
# a Lambda function, an activity, or an integration `arn:<partition>:states:::<service>:<action>`
# with an optional pattern (`aws-sdk:<service>:<action>` has no `.sync`).
RESOURCE_SHAPES: Final = (
    re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:[\w$-]{1,128})?\Z", re.ASCII),
    re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[^:\s]{1,80}\Z"),
    re.compile(
        r"arn:aws[a-z-]*:states:(?:[a-z0-9-]+:\d{12}|:):[a-z0-9-]+:[A-Za-z][A-Za-z0-9]*(\.sync(:2)?|\.waitForTaskToken)?\Z"
    ),
    re.compile(
        r"arn:aws[a-z-]*:states:(?:[a-z0-9-]+:\d{12}|:):aws-sdk:[a-z0-9-]+:[A-Za-z][A-Za-z0-9]*(\.waitForTaskToken)?\Z"
    ),
)
ACTIVITY = re.compile(r"arn:[^:]+:states:[^:]*:[^:]*:activity:")
READER_RESOURCE = re.compile(r"arn:[^:]+:states:::s3:(getObject|listObjectsV2)\Z")
LABEL_FORBIDDEN = re.compile(r"[\s?*<>{}\[\]:;,\\^~$#%&|`\"\x00-\x1f\x7f-\x9f]")

TYPE_MESSAGE: Final = f"The field 'Type' should have one of these values: [{', '.join(STATE_TYPES)}]"

READER_CONFIG_FIELDS: Final = (
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
    "MaxItemsPath",
    "ManifestType",
    "Transformation",
    "ItemsPointer",
)
READER_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "InputType": ("CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"),
    "CSVHeaderLocation": ("FIRST_ROW", "GIVEN"),
    "CSVDelimiter": ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"),
    "ManifestType": ("ATHENA_DATA", "S3_INVENTORY"),
    "Transformation": ("NONE", "LOAD_AND_FLATTEN"),
}
