"""Event patterns: cases written from the facts in AWS's EventBridge user guide (the page each
group comes from is named above it), plus edge cases of Ruler's semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable.errors import InvalidEventPattern, ValidationError
from durable.events import compile_pattern, test_event_pattern


def matches(pattern: Any, event: Any) -> bool:
    return compile_pattern(pattern).matches(event)


EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-0000-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}


# --- "Amazon EventBridge event patterns" / "Event pattern syntax" -----------------------------


def test_the_instance_termination_pattern_matches_and_other_states_do_not() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]},
    }
    assert matches(pattern, EC2_EVENT)
    running = {**EC2_EVENT, "detail": {"state": "running"}}
    assert not matches(pattern, running)


def test_values_in_one_array_are_ored_and_fields_anded() -> None:
    assert matches({"source": ["aws.ec2", "aws.fargate"]}, EC2_EVENT)
    assert matches({"source": ["aws.fargate", "aws.ec2"], "region": ["us-west-1"]}, EC2_EVENT)
    assert not matches({"source": ["aws.ec2"], "region": ["eu-west-1"]}, EC2_EVENT)


def test_a_field_named_by_the_pattern_must_exist_with_the_same_nesting() -> None:
    assert not matches({"detail": {"missing": ["x"]}}, EC2_EVENT)
    assert not matches({"state": ["terminated"]}, EC2_EVENT)  # not at the top level


def test_matching_is_case_sensitive_and_exact() -> None:
    assert not matches({"source": ["AWS.EC2"]}, EC2_EVENT)
    assert not matches({"source": ["aws.ec"]}, EC2_EVENT)


# --- "Matching null values and empty strings" ---------------------------------------------------

NULLS = {"detail": {"eventVersion": "", "responseElements": None}}


def test_empty_string_and_null_are_matched_and_not_interchangeable() -> None:
    assert matches({"detail": {"eventVersion": [""]}}, NULLS)
    assert matches({"detail": {"responseElements": [None]}}, NULLS)
    assert not matches({"detail": {"eventVersion": [None]}}, NULLS)
    assert not matches({"detail": {"responseElements": [""]}}, NULLS)


# --- "Arrays in event patterns" -------------------------------------------------------------------


def test_an_array_in_the_event_matches_if_any_element_matches() -> None:
    event = {"resources": ["arn:aws:ec2:a", "arn:aws:ec2:b", "arn:aws:ec2:c"]}
    assert matches({"resources": ["arn:aws:ec2:b", "arn:aws:ec2:z"]}, event)
    assert not matches({"resources": ["arn:aws:ec2:z"]}, event)


def test_objects_in_arrays_are_matched_element_by_element() -> None:
    event = {
        "employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            {"firstName": "Peter", "lastName": "Jones"},
        ]
    }
    assert matches({"employees": {"firstName": ["Anna"]}}, event)
    assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
    # two fields never match across different elements of one array
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)
    nested = {"employees": [[{"firstName": "Anna"}], [{"firstName": "Peter"}]]}
    assert matches({"employees": {"firstName": ["Peter"]}}, nested)


# --- "Content filtering in event patterns" / "Comparison operators" ----------------------------


def test_prefix_and_prefix_ignoring_case() -> None:
    assert matches({"time": [{"prefix": "2017-12-22"}]}, EC2_EVENT)
    assert not matches({"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT)
    assert matches({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}, EC2_EVENT)
    assert not matches({"n": [{"prefix": "1"}]}, {"n": 12})  # strings only


def test_suffix_and_suffix_ignoring_case() -> None:
    event = {"FileName": "photo.PNG"}
    assert not matches({"FileName": [{"suffix": ".png"}]}, event)
    assert matches({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, event)
    assert matches({"source": [{"suffix": "ec2"}]}, EC2_EVENT)


def test_equals_ignore_case() -> None:
    assert matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"})
    assert not matches({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "alicia"})


def test_anything_but_value_and_list() -> None:
    assert matches({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2_EVENT)
    assert not matches({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, EC2_EVENT)
    assert matches({"x-limit": [{"anything-but": 123}]}, {"x-limit": 124})
    assert not matches({"x-limit": [{"anything-but": [100, 200, 300]}]}, {"x-limit": 3.0e2})
    assert matches({"x-limit": [{"anything-but": [100, 200, 300]}]}, {"x-limit": 301.8})


def test_anything_but_needs_the_field_and_matches_any_other_array_element() -> None:
    assert not matches({"state": [{"anything-but": "x"}]}, {"other": 1})
    assert matches({"state": [{"anything-but": "a"}]}, {"state": ["a", "b"]})
    assert not matches({"state": [{"anything-but": "a"}]}, {"state": ["a"]})


def test_anything_but_prefix_suffix_ignore_case_and_wildcard() -> None:
    assert matches({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "eu-west-1"})
    assert not matches({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "us-east-1"})
    assert not matches({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"})
    ignore_case = {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}
    assert not matches(ignore_case, {"state": "INITIALIZING"})
    assert matches(ignore_case, {"state": "running"})
    wildcard = {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}
    assert not matches(wildcard, {"FilePath": "/usr/lib/x.so"})
    assert matches(wildcard, {"FilePath": "/usr/bin/x"})


def test_numeric_ranges_from_the_complex_example() -> None:
    # "Content filtering in event patterns": the complex example with multiple matching
    pattern = {
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}],
        },
    }
    event = {
        "time": "2017-10-02T16:24:49Z",
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "state": "running",
        },
    }
    assert matches(pattern, event)
    for field, value in (("c-count", 0), ("c-count", 5.000001), ("d-count", 10), ("x-limit", 300)):
        assert not matches(pattern, {**event, "detail": {**event["detail"], field: value}}), field


def test_numeric_equality_is_numeric_and_never_matches_strings_or_booleans() -> None:
    assert matches({"x-limit": [{"numeric": ["=", 3.018e2]}]}, {"x-limit": 301.8})
    assert matches({"n": [300]}, {"n": 3.0e2})
    assert matches({"n": [300]}, {"n": 300.0})
    assert not matches({"n": [300]}, {"n": "300"})
    assert not matches({"n": [1]}, {"n": True})
    assert not matches({"n": [True]}, {"n": 1})
    assert not matches({"n": [{"numeric": [">", 0]}]}, {"n": True})
    assert matches({"n": [{"numeric": [">=", 1, "<", 2]}]}, {"n": [0, 1.5]})


def test_cidr_ipv4_and_ipv6() -> None:
    assert matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.24"})
    assert not matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.1"})
    assert matches({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"})
    assert not matches({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "not an ip"})


def test_exists_true_and_false() -> None:
    assert matches({"detail": {"state": [{"exists": True}]}}, EC2_EVENT)
    assert not matches({"detail": {"c-count": [{"exists": True}]}}, EC2_EVENT)
    assert matches({"detail": {"c-count": [{"exists": False}]}}, EC2_EVENT)
    assert matches({"missing": {"deeper": [{"exists": False}]}}, EC2_EVENT)


def test_exists_only_sees_leaves() -> None:
    # "Content filtering": exists false matches when c-count is an object, not a leaf
    event = {"detail": {"c-count": {"c1": 100}}}
    assert matches({"detail": {"c-count": [{"exists": False}]}}, event)
    assert not matches({"detail": {"c-count": [{"exists": True}]}}, event)
    # null is a value: the field exists; an empty array holds no leaf
    assert matches({"a": [{"exists": True}]}, {"a": None})
    assert matches({"a": [{"exists": False}]}, {"a": []})
    assert matches({"a": [{"exists": True}]}, {"a": [1]})


def test_exists_false_looks_at_every_element_of_an_array() -> None:
    event = {"items": [{"b": 1}, {"c": 2}]}
    assert not matches({"items": {"b": [{"exists": False}]}}, event)
    assert matches({"items": {"z": [{"exists": False}]}}, event)


def test_wildcard() -> None:
    assert matches({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleQueueService"})
    assert matches({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleService"})
    assert not matches({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleServices"})
    assert matches({"k": [{"wildcard": "dir/*.png"}]}, {"k": "dir/a/b.png"})
    assert matches({"k": [{"wildcard": r"a\*b"}]}, {"k": "a*b"})
    assert not matches({"k": [{"wildcard": r"a\*b"}]}, {"k": "axb"})
    assert matches({"k": [{"wildcard": "a\\\\b"}]}, {"k": "a\\b"})


def test_or_between_fields() -> None:
    # "Comparison operators": Location is "New York", or Day is "Monday"
    pattern = {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}
    assert matches(pattern, {"Location": "New York", "Day": "Tuesday"})
    assert matches(pattern, {"Location": "Paris", "Day": "Monday"})
    assert not matches(pattern, {"Location": "Paris", "Day": "Tuesday"})


def test_or_nested_with_and() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
            {"scope": ["Service"]},
        ],
    }
    assert matches(pattern, {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"})
    assert not matches(pattern, {"source": "aws.cloudwatch", "metricType": "MetricType"})
    assert not matches(pattern, {"source": "aws.other", "scope": "Service"})
    parallel = {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}, "$or": [{"c": [3]}, {"d": [4]}]}
    assert matches(parallel, {"detail": {"b": 2}, "c": 3})
    assert not matches(parallel, {"detail": {"b": 2}})


def test_the_empty_pattern_matches_everything_and_json_text_is_accepted() -> None:
    assert matches({}, EC2_EVENT)
    assert matches("{}", {})
    assert compile_pattern(json.dumps({"source": ["aws.ec2"]})).matches(json.dumps(EC2_EVENT))


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ('{"source": ', "Filter is not valid JSON"),
        ("[1]", "Filter is not an object"),
        ({"source": "aws.ec2"}, '"source" must be an object or an array'),
        ({"source": []}, "Empty arrays are not allowed"),
        ({"detail": {}}, "Empty objects are not allowed"),
        ({"a": [[1]]}, "Match value must be String, number, true, false, or null"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
        ({"a": [{"contains": "x"}]}, "Unrecognized match type contains"),
        ({"a": [{"prefix": 1}]}, "prefix match pattern must be a string"),
        ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
        ({"a": [{"numeric": 5}]}, "Value of numeric must be an array."),
        ({"a": [{"numeric": [5]}]}, "Invalid member in numeric match: 5"),
        ({"a": [{"numeric": ["!=", 5]}]}, "Unrecognized numeric range operator: !="),
        ({"a": [{"numeric": [">", "5"]}]}, "Value of > must be numeric"),
        ({"a": [{"numeric": ["=", "x"]}]}, "Value of equals must be numeric"),
        ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "Too many elements in numeric expression"),
        ({"a": [{"numeric": [">", 5, ">", 9]}]}, "Bad numeric range operator: >"),
        ({"a": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
        ({"a": [{"numeric": [">", 1, "<", 5, "x"]}]}, "Too many terms in numeric range expression"),
        ({"a": [{"numeric": [">", 6e9]}]}, "Value must be between -5.0E9 and 5.0E9, inclusive"),
        ({"a": [{"anything-but": [1, "a"]}]}, "mixed type is not supported"),
        ({"a": [{"anything-but": [None]}]}, "start|null|boolean is not supported"),
        ({"a": [{"anything-but": True}]}, "must be an array or single string/number value."),
        ({"a": [{"anything-but": {"numeric": [">", 1]}}]}, "Unsupported anything-but pattern: numeric"),
        ({"a": [{"anything-but": {"prefix": ""}}]}, "Null prefix/suffix not allowed"),
        ({"a": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
        ({"a": [{"cidr": "10.0.0.0/x"}]}, "Malformed CIDR, mask bits must be an integer"),
        ({"a": [{"cidr": "10.0.0.300/24"}]}, "Nonstandard IP address: 10.0.0.300"),
        ({"a": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 2"),
        ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2"),
        ({"$or": {"a": [1]}}, "It must be an Array followed with $or."),
        ({"$or": [{"a": [1]}]}, "There must have at least 2 Objects in $or relationship."),
        ({"$or": [{"a": [1]}, 2]}, "Only JSON object is allowed in array of $or relationship."),
        ({"$or": [{"prefix": [1]}, {"b": [2]}]}, "prefix is Ruler reserved fieldName"),
    ],
)
def test_invalid_patterns_are_refused_with_aws_reasons(pattern: Any, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern(pattern)
    assert info.value.message.startswith("Event pattern is not valid. Reason: ")
    assert reason in info.value.message
    assert info.value.code == "InvalidEventPatternException"


# --- TestEventPattern ----------------------------------------------------------------------------


def test_test_event_pattern_mirrors_the_api() -> None:
    assert test_event_pattern('{"source": ["aws.ec2"]}', json.dumps(EC2_EVENT)) is True
    assert test_event_pattern({"source": ["aws.s3"]}, EC2_EVENT) is False
    with pytest.raises(InvalidEventPattern):
        test_event_pattern({"source": "aws.ec2"}, EC2_EVENT)


def test_test_event_pattern_needs_the_mandatory_envelope_fields() -> None:
    incomplete = {k: v for k, v in EC2_EVENT.items() if k != "account"}
    with pytest.raises(ValidationError, match="Parameter Event is not valid"):
        test_event_pattern({"source": ["aws.ec2"]}, incomplete)
    with pytest.raises(ValidationError):
        test_event_pattern({"source": ["aws.ec2"]}, "not json")
