"""Portability (what runs with durable but not on AWS) and the deploy remapping, as pure functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable.interpreter.portable import local_host, portability_diagnostics
from durable.interpreter.remap import remap_definition

LOCAL_GREET = "arn:aws:lambda:us-east-1:111111111111:function:greet"
REAL_GREET = "arn:aws:lambda:eu-west-1:123456789012:function:greet"


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


def codes(definition: dict[str, Any], **kwargs: Any) -> list[tuple[str, str | None]]:
    found = portability_diagnostics(definition, text=json.dumps(definition), **kwargs)
    return [(d.code, d.location) for d in found]


def test_a_portable_definition_has_no_findings() -> None:
    definition = task(REAL_GREET)
    assert codes(definition) == []
    invoke = task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": REAL_GREET, "Payload.$": "$"})
    assert codes(invoke) == []


def test_local_lambda_functions_are_reported_at_their_path() -> None:
    assert codes(task(LOCAL_GREET)) == [("LOCAL_FUNCTION", "/States/T/Resource")]
    for name in ("greet", "function:greet", "111111111111:function:greet", LOCAL_GREET + ":prod"):
        invoke = task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": name})
        assert codes(invoke) == [("LOCAL_FUNCTION", "/States/T/Parameters/FunctionName")], name
    jsonata = task(
        "arn:aws:states:::lambda:invoke", QueryLanguage="JSONata", Arguments={"FunctionName": "greet"}
    )
    assert codes(jsonata) == [("LOCAL_FUNCTION", "/States/T/Arguments/FunctionName")]
    # a name a deployment maps is not reported
    assert codes(task(LOCAL_GREET), mapped_functions={"greet"}) == []


def test_nested_states_are_walked_with_the_validators_locations() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "End": True,
                                "ItemProcessor": {
                                    "StartAt": "T",
                                    "States": {"T": {"Type": "Task", "Resource": LOCAL_GREET, "End": True}},
                                },
                            }
                        },
                    },
                ],
            }
        },
    }
    assert codes(definition) == [
        ("LOCAL_FUNCTION", "/States/P/Branches[1]/States/M/ItemProcessor/States/T/Resource")
    ]


def test_local_resources_arns_buckets_and_endpoints() -> None:
    assert codes(task("arn:aws:states:::echo:say")) == [("LOCAL_RESOURCE", "/States/T/Resource")]
    assert codes(task("arn:aws:states:::sqs:sendMessage", Parameters={"QueueUrl": "q"})) == []
    activity = "arn:aws:states:us-east-1:111111111111:activity:review"
    assert codes(task(activity)) == [("LOCAL_RESOURCE", "/States/T/Resource")]
    assert codes(task("arn:aws:states:us-east-1:123456789012:activity:review")) == []
    topic = task(
        "arn:aws:states:::sns:publish",
        Parameters={"TopicArn": "arn:aws:sns:us-east-1:111111111111:alerts", "Message": "m"},
    )
    assert codes(topic) == [("LOCAL_ARN", "/States/T/Parameters/TopicArn")]
    queue = task("arn:aws:states:::sqs:sendMessage", Parameters={"QueueUrl": "http://localhost:4566/q"})
    assert codes(queue) == [("LOCAL_ENDPOINT", "/States/T/Parameters/QueueUrl")]
    http = task(
        "arn:aws:states:::http:invoke",
        Parameters={"ApiEndpoint": "http://192.168.1.10/api", "Method": "GET"},
    )
    assert codes(http) == [("LOCAL_ENDPOINT", "/States/T/Parameters/ApiEndpoint")]
    reader = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "End": True,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "Parameters": {"Bucket": "data", "Key": "k"},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "out"},
                },
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            }
        },
    }
    assert codes(reader) == []
    assert codes(reader, local_buckets={"data", "out"}) == [
        ("LOCAL_BUCKET", "/States/M/ItemReader/Parameters/Bucket"),
        ("LOCAL_BUCKET", "/States/M/ResultWriter/Parameters/Bucket"),
    ]


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:8080/x", True),
        ("http://127.0.0.1/x", True),
        ("https://10.1.2.3/x", True),
        ("http://[::1]:80/", True),
        ("http://api.internal/x", True),
        ("https://api.example.com/x", False),
        ("https://8.8.8.8/x", False),
        ("not a url", False),
    ],
)
def test_local_host(url: str, local: bool) -> None:
    assert local_host(url) is local


def test_what_only_relaxed_quotas_allow() -> None:
    big = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"blob": "x" * 300_000}, "End": True}}}
    assert codes(big) == [("QUOTA_PAYLOAD_SIZE", "/States/P/Result")]
    huge = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}, "Comment": "c" * 1_100_000}
    assert codes(huge) == [("QUOTA_DEFINITION_SIZE", None)]
    express = {
        "StartAt": "W",
        "TimeoutSeconds": 900,
        "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}},
    }
    assert codes(express) == []
    assert codes(express, machine_type="EXPRESS") == [
        ("QUOTA_EXPRESS_DURATION", "/TimeoutSeconds"),
        ("QUOTA_EXPRESS_DURATION", "/States/W/Seconds"),
    ]


def test_remap_rewrites_only_what_is_mapped() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": LOCAL_GREET + ":prod", "Next": "B"},
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "greet", "Payload.$": "$"},
                "Next": "C",
            },
            "C": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:other",
                "Next": "D",
            },
            "D": {"Type": "Task", "Resource": "arn:aws:states:::echo:say", "End": True},
        },
    }
    before = json.dumps(definition)
    out, replaced = remap_definition(
        definition,
        functions={"greet": REAL_GREET},
        resources={"arn:aws:states:::echo:say": "arn:aws:states:::sns:publish"},
    )
    assert json.dumps(definition) == before  # the input is not modified
    assert out["States"]["A"]["Resource"] == REAL_GREET + ":prod"  # the qualifier is kept
    assert out["States"]["B"]["Parameters"]["FunctionName"] == REAL_GREET
    assert out["States"]["C"]["Resource"].endswith(":function:other")
    assert out["States"]["D"]["Resource"] == "arn:aws:states:::sns:publish"
    assert [r.location for r in replaced] == [
        "/States/A/Resource",
        "/States/B/Parameters/FunctionName",
        "/States/D/Resource",
    ]
    assert codes(out) == [("LOCAL_FUNCTION", "/States/C/Resource")]
    same, nothing = remap_definition(definition)
    assert same is definition and nothing == []


def test_remap_refuses_what_is_not_a_lambda_arn() -> None:
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        remap_definition(task(LOCAL_GREET), functions={"greet": "arn:aws:sns:us-east-1:123456789012:t"})
