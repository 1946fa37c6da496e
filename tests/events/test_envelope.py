"""PutEvents entries: per-entry errors, whole-request limits, the envelope (EventBridge API
reference: PutEvents, PutEventsRequestEntry, PutEventsResultEntry; user guide "Calculating
PutEvents event entry size")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from durable.errors import ValidationError
from durable.events import build_envelope, entry_size, validate_entry, validate_request

ENTRY = {
    "Source": "com.example.orders",
    "DetailType": "OrderPlaced",
    "Detail": json.dumps({"orderId": "o-1", "total": 12.5}),
    "Resources": ["arn:aws:example:::order/o-1"],
}
RECEIVED = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def test_a_valid_entry_becomes_the_documented_envelope() -> None:
    assert validate_entry(ENTRY) is None
    event = build_envelope(
        ENTRY, event_id="e-1", received=RECEIVED, account="123456789012", region="eu-west-1"
    )
    assert event == {
        "version": "0",
        "id": "e-1",
        "detail-type": "OrderPlaced",
        "source": "com.example.orders",
        "account": "123456789012",
        "time": "2026-03-01T12:30:15Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:example:::order/o-1"],
        "detail": {"orderId": "o-1", "total": 12.5},
    }


def test_the_entrys_time_wins_over_the_time_of_the_call() -> None:
    entry = {**ENTRY, "Time": "2025-12-31T23:59:59+01:00"}
    event = build_envelope(entry, event_id="e", received=RECEIVED, account="1", region="r")
    assert event["time"] == "2025-12-31T22:59:59Z"
    epoch = build_envelope({**ENTRY, "Time": 0}, event_id="e", received=RECEIVED, account="1", region="r")
    assert epoch["time"] == "1970-01-01T00:00:00Z"
    assert (
        build_envelope(
            {k: v for k, v in ENTRY.items() if k != "Resources"},
            event_id="e",
            received=RECEIVED,
            account="1",
            region="r",
        )["resources"]
        == []
    )


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"Source": None},
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
        ),
        (
            {"DetailType": ""},
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        ),
        (
            {"Detail": None},
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.",
        ),
        ({"Detail": "{not json"}, "MalformedDetail", "Detail is malformed."),
        ({"Detail": "[1, 2]"}, "MalformedDetail", "Detail is malformed."),
        ({"Detail": '"text"'}, "MalformedDetail", "Detail is malformed."),
        (
            {"Time": "yesterday"},
            "InvalidArgument",
            "Parameter Time is not valid. Reason: Time must be a timestamp.",
        ),
    ],
)
def test_entry_errors_carry_aws_codes(change: dict[str, object], code: str, message: str) -> None:
    error = validate_entry({**ENTRY, **change})
    assert error is not None
    assert error.to_dict() == {"ErrorCode": code, "ErrorMessage": message}


def test_entry_size_counts_as_aws_does() -> None:
    entry = {"Source": "é", "DetailType": "ab", "Detail": "{}", "Resources": ["r1", "r2"]}
    assert entry_size(entry) == 2 + 2 + 2 + 4
    assert entry_size({**entry, "Time": "2026-01-01T00:00:00Z"}) == 10 + 14


def test_requests_of_zero_or_more_than_ten_entries_or_over_256_kb_fail_whole() -> None:
    validate_request([ENTRY] * 10)
    with pytest.raises(ValidationError, match="less than or equal to 10"):
        validate_request([ENTRY] * 11)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        validate_request([])
    big = {**ENTRY, "Detail": json.dumps({"x": "a" * (256 * 1024)})}
    with pytest.raises(ValidationError, match="over the limit"):
        validate_request([big])
    exactly = {"Source": "s", "DetailType": "d", "Detail": "{" + " " * (256 * 1024 - 4) + "}"}
    assert entry_size(exactly) == 256 * 1024
    validate_request([exactly])
