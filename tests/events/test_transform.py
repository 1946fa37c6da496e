"""Target input: Input, InputPath and InputTransformer, with the examples of AWS's user guide
page "Amazon EventBridge input transformation" (its EC2 event and templates)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable.errors import ValidationError
from durable.events import InputTransformer, select_path, target_input

EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
RULE = {"rule_name": "example", "rule_arn": "arn:aws:events:us-east-2:123456789012:rule/example"}


def transform(template: str, paths: dict[str, str] = PATHS) -> str:
    return InputTransformer(paths, template).apply(EVENT, ingestion_time="2015-11-11T21:29:55Z", **RULE)


def test_a_simple_string() -> None:
    assert transform('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'


def test_a_string_with_escaped_quotes() -> None:
    out = transform('"instance \\"<instance>\\" is in <state>"')
    assert json.loads(out) == 'instance "i-0123456789" is in RUNNING'


def test_simple_json_quotes_string_values() -> None:
    out = transform('{"instance" : <instance>, "state": <state>}')
    assert json.loads(out) == {"instance": "i-0123456789", "state": "RUNNING"}


def test_json_with_strings_variables_and_static_values() -> None:
    out = transform(
        '{"instance": <instance>, "state": [9, <state>, true],'
        ' "status": "instance \\"<instance>\\" is in <state>", "Transformed": "Yes"}'
    )
    assert json.loads(out) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "status": 'instance "i-0123456789" is in RUNNING',
        "Transformed": "Yes",
    }


def test_reserved_variables() -> None:
    out = json.loads(
        transform(
            '{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>,'
            ' "original": <aws.events.event>, "full": <aws.events.event.json>,'
            ' "at": <aws.events.event.ingestion-time>}'
        )
    )
    assert out["ruleArn"] == RULE["rule_arn"]
    assert out["ruleName"] == "example"
    assert "detail" not in out["original"] and out["original"]["id"] == EVENT["id"]  # without detail
    assert out["full"] == EVENT
    assert out["at"] == "2015-11-11T21:29:55Z"
    assert transform('"<aws.events.rule-name> triggered"') == '"example triggered"'


def test_values_inside_strings_are_not_escaped_and_json_output_is_minified() -> None:
    event = {**EVENT, "detail": {"msg": 'say "hi"', "n": 5, "obj": {"a": 1}}}
    t = InputTransformer({"msg": "$.detail.msg", "n": "$.detail.n", "obj": "$.detail.obj"}, '"<msg>"')
    assert t.apply(event, ingestion_time="t", **RULE) == '"say "hi""'  # not JSON: passed as is
    t2 = InputTransformer({"n": "$.detail.n", "obj": "$.detail.obj"}, '{ "n" : <n>, "s": "<n>", "o": <obj> }')
    assert t2.apply(event, ingestion_time="t", **RULE) == '{"n":5,"s":"5","o":{"a":1}}'


def test_a_path_that_matches_nothing_defines_no_value() -> None:
    out = transform('{"x": <missing>, "s": "a<missing>b"}', {"missing": "$.detail.nope"})
    assert json.loads(out) == {"x": None, "s": "ab"}


def test_placeholders_that_are_not_variables_stay_as_text() -> None:
    assert transform('"<b>bold</b> <state>"') == '"<b>bold</b> RUNNING"'


def test_json_paths_of_the_supported_subset() -> None:
    assert select_path(EVENT, "$") == EVENT
    assert select_path(EVENT, "$.resources[0]") == EVENT["resources"][0]
    assert select_path(EVENT, "$.detail.instance-id") == "i-0123456789"
    assert select_path(EVENT, "$['detail-type']") == EVENT["detail-type"]
    assert select_path({"a": [{"b": 1}, {"b": 2}]}, "$.a[*].b") == [1, 2]
    with pytest.raises(LookupError):
        select_path(EVENT, "$.detail.nope")


@pytest.mark.parametrize(
    ("paths", "template"),
    [
        ({"aws.events.rule-name": "$.x"}, "<x>"),
        ({"bad name": "$.x"}, "<x>"),
        ({"x": "detail.x"}, "<x>"),
        ({f"v{i}": "$.x" for i in range(101)}, "<v1>"),
        ({"x": "$.x"}, ""),
    ],
)
def test_invalid_transformers_are_refused(paths: dict[str, str], template: str) -> None:
    with pytest.raises(ValidationError):
        InputTransformer(paths, template)


def test_target_input_kinds() -> None:
    kw: dict[str, Any] = {"ingestion_time": "t", **RULE}
    assert json.loads(target_input({"Arn": "a"}, EVENT, **kw)) == EVENT
    assert target_input({"Arn": "a", "Input": '{"k": 1}'}, EVENT, **kw) == '{"k": 1}'
    assert json.loads(target_input({"Arn": "a", "InputPath": "$.detail"}, EVENT, **kw)) == EVENT["detail"]
    spec = {"InputPathsMap": {"state": "$.detail.state"}, "InputTemplate": '{"s": <state>}'}
    assert target_input({"Arn": "a", "InputTransformer": spec}, EVENT, **kw) == '{"s":"RUNNING"}'
    with pytest.raises(ValidationError, match="Only one of"):
        target_input({"Arn": "a", "Input": "{}", "InputPath": "$"}, EVENT, **kw)
