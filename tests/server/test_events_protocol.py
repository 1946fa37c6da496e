"""EventBridge's wire protocol (AWS JSON 1.1) on ``durable serve``, with an unchanged boto3."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.server.conftest import PASS, ROLE, Served


def events_client(served: Served) -> Any:
    return boto3.client(
        "events",
        endpoint_url=served.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def test_rules_targets_and_events_through_boto3(served: Served) -> None:
    sfn = served.client()
    events = events_client(served)
    machine = sfn.create_state_machine(name="on-event", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    arn = events.put_rule(Name="wire", EventPattern=json.dumps({"source": ["wire.test"]}), Description="d")[
        "RuleArn"
    ]
    assert arn.endswith(":rule/wire")
    described = events.describe_rule(Name="wire")
    assert (described["State"], described["Description"], described["EventBusName"]) == (
        "ENABLED",
        "d",
        "default",
    )
    assert [r["Name"] for r in events.list_rules(NamePrefix="wi")["Rules"]] == ["wire"]
    put = events.put_targets(Rule="wire", Targets=[{"Id": "t", "Arn": machine, "InputPath": "$.detail"}])
    assert put["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule="wire")["Targets"] == [
        {"Id": "t", "Arn": machine, "InputPath": "$.detail"}
    ]
    answer = events.put_events(
        Entries=[
            {"Source": "wire.test", "DetailType": "x", "Detail": json.dumps({"n": 1})},
            {"Source": "wire.test", "DetailType": "x", "Detail": "nope"},
        ]
    )
    assert answer["FailedEntryCount"] == 1
    assert "EventId" in answer["Entries"][0] and answer["Entries"][1]["ErrorCode"] == "MalformedDetail"
    for _ in range(200):
        found = sfn.list_executions(stateMachineArn=machine)["executions"]
        if found and found[0]["status"] == "SUCCEEDED":
            break
        time.sleep(0.02)
    assert len(found) == 1
    assert json.loads(sfn.describe_execution(executionArn=found[0]["executionArn"])["input"]) == {"n": 1}
    events.disable_rule(Name="wire")
    assert events.describe_rule(Name="wire")["State"] == "DISABLED"
    events.enable_rule(Name="wire")
    assert events.remove_targets(Rule="wire", Ids=["t"])["FailedEntryCount"] == 0
    events.delete_rule(Name="wire")
    with pytest.raises(ClientError) as info:
        events.describe_rule(Name="wire")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_errors_and_test_event_pattern_through_boto3(served: Served) -> None:
    events = events_client(served)
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="bad", EventPattern='{"source": "x"}')
    assert info.value.response["Error"]["Code"] == "InvalidEventPatternException"
    event = {
        "id": "1",
        "account": "111111111111",
        "source": "a",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "t",
        "detail": {},
    }
    assert (
        events.test_event_pattern(EventPattern='{"source":["a"]}', Event=json.dumps(event))["Result"] is True
    )
    with pytest.raises(ClientError) as info:
        events.delete_rule(Name="no such rule!")
    assert info.value.response["Error"]["Code"] == "ValidationException"
