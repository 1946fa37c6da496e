"""Hand-written definitions and the same machines built with ``durable.build``: equal dicts.

Each hand-written definition is first checked valid, so a mismatch is the builder's fault."""

from __future__ import annotations

from typing import Any

import pytest

from durable.build import (
    Branch,
    Catch,
    Chain,
    Choice,
    ChoiceRule,
    Fail,
    Map,
    Parallel,
    Pass,
    Retry,
    Succeed,
    Task,
    Wait,
    Workflow,
)
from durable.interpreter.validate import validate_definition

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def _same(workflow: Workflow, expected: dict[str, Any]) -> None:
    assert validate_definition(expected) == []
    assert workflow.to_dict() == expected


def test_a_single_pass_and_the_top_level_fields() -> None:
    expected = {
        "Comment": "hello",
        "Version": "1.0",
        "TimeoutSeconds": 30,
        "StartAt": "Hello",
        "States": {
            "Hello": {"Type": "Pass", "Result": {"greeting": "hi"}, "ResultPath": "$.out", "End": True}
        },
    }
    hello = Pass("Hello", result={"greeting": "hi"}, result_path="$.out")
    _same(Workflow(hello, comment="hello", version="1.0", timeout_seconds=30), expected)


def test_chain_of_list_and_shift_operator_are_the_same() -> None:
    def states() -> list[Pass]:
        return [Pass("A"), Pass("B", input_path="$.x", output_path=None), Pass("C", result=None)]

    expected = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.x", "OutputPath": None, "Next": "C"},
            "C": {"Type": "Pass", "Result": None, "End": True},
        },
    }
    a, b, c = states()
    _same(Workflow(a >> b >> c), expected)
    _same(Workflow(Chain(states())), expected)
    a, b, c = states()
    _same(Workflow(Chain([a, b >> c])), expected)


def test_waits_succeed_and_fail_paths() -> None:
    expected = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Until"},
            "Until": {"Type": "Wait", "TimestampPath": "$.when", "Next": "ByPath"},
            "ByPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "At"},
            "At": {"Type": "Wait", "Timestamp": "2030-01-01T00:00:00Z", "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Broken",
            },
            "Done": {"Type": "Succeed", "OutputPath": "$.result", "Comment": "finished"},
            "Broken": {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "$.cause"},
        },
    }
    check = (
        Choice("Check")
        .when(
            ChoiceRule.BooleanEquals("$.ok", True),
            Succeed("Done", output_path="$.result", comment="finished"),
        )
        .otherwise(Fail("Broken", error_path="$.error", cause_path="$.cause"))
    )
    chain = (
        Wait("Pause", seconds=5)
        >> Wait("Until", timestamp_path="$.when")
        >> Wait("ByPath", seconds_path="$.delay")
        >> Wait("At", timestamp="2030-01-01T00:00:00Z")
        >> check
    )
    _same(Workflow(chain), expected)


def test_choice_rules_nested_and_path_operators_and_a_loop_back() -> None:
    expected = {
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Task", "Resource": LAMBDA + "poll", "ResultPath": "$.job", "Next": "Ready?"},
            "Ready?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.job.status", "StringEquals": "DONE"},
                            {"Not": {"Variable": "$.job.errors", "IsPresent": True}},
                        ],
                        "Next": "Finished",
                    },
                    {
                        "Or": [
                            {"Variable": "$.job.attempts", "NumericGreaterThanEqualsPath": "$.limit"},
                            {"Variable": "$.job.name", "StringMatches": "test-*"},
                            {"Variable": "$.job.at", "TimestampLessThan": "2020-01-01T00:00:00Z"},
                        ],
                        "Comment": "give up",
                        "Next": "GaveUp",
                    },
                    {"Variable": "$.job.progress", "NumericLessThan": 0.5, "Next": "Sleep"},
                ],
                "Default": "Poll",
            },
            "Sleep": {"Type": "Wait", "Seconds": 10, "Next": "Poll"},
            "Finished": {"Type": "Succeed"},
            "GaveUp": {"Type": "Fail", "Error": "GaveUp"},
        },
    }
    poll = Task("Poll", LAMBDA + "poll", result_path="$.job")
    done = ChoiceRule.StringEquals(variable="$.job.status", value="DONE") & ~ChoiceRule.IsPresent(
        "$.job.errors", True
    )
    give_up = ChoiceRule.Or(
        ChoiceRule.NumericGreaterThanEqualsPath("$.job.attempts", "$.limit"),
        ChoiceRule.StringMatches("$.job.name", "test-*"),
        ChoiceRule.TimestampLessThan("$.job.at", "2020-01-01T00:00:00Z"),
    )
    ready = (
        Choice("Ready?")
        .when(done, Succeed("Finished"))
        .when(give_up, Fail("GaveUp", error="GaveUp"), comment="give up")
        .when(ChoiceRule.NumericLessThan("$.job.progress", 0.5), Wait("Sleep", seconds=10) >> poll)
        .otherwise(poll)
    )
    _same(Workflow(poll >> ready), expected)
    # the same loop, closed by name instead of by object
    poll = Task("Poll", LAMBDA + "poll", result_path="$.job")
    ready = (
        Choice("Ready?", choices=[(done, Succeed("Finished"))])
        .when(give_up, Fail("GaveUp", error="GaveUp"), comment="give up")
        .when(ChoiceRule.NumericLessThan("$.job.progress", 0.5), Wait("Sleep", seconds=10) >> "Poll")
    )
    ready.otherwise("Poll")
    _same(Workflow(poll >> ready), expected)


def test_retry_and_catch_every_field() -> None:
    expected = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Comment": "the work",
                "Resource": "arn:aws:states:::lambda:invoke",
                "InputPath": "$.in",
                "Parameters": {"FunctionName": "work", "Payload.$": "$"},
                "Credentials": {"RoleArn": "arn:aws:iam::111111111111:role/worker"},
                "ResultSelector": {"out.$": "$.Payload"},
                "ResultPath": "$.result",
                "OutputPath": "$.result",
                "TimeoutSecondsPath": "$.timeout",
                "HeartbeatSeconds": 10,
                "Retry": [
                    {
                        "ErrorEquals": ["States.Timeout"],
                        "IntervalSeconds": 3,
                        "MaxAttempts": 2,
                        "BackoffRate": 1.5,
                        "MaxDelaySeconds": 10,
                        "JitterStrategy": "FULL",
                        "Comment": "again",
                    },
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0},
                ],
                "Catch": [
                    {"ErrorEquals": ["Oops", "Ouch"], "Next": "Handle", "Comment": "known"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"},
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Handle": {"Type": "Fail", "Error": "Failed"},
        },
    }
    handle = Fail("Handle", error="Failed")
    work = Task(
        "Work",
        "arn:aws:states:::lambda:invoke",
        comment="the work",
        input_path="$.in",
        parameters={"FunctionName": "work", "Payload.$": "$"},
        credentials={"RoleArn": "arn:aws:iam::111111111111:role/worker"},
        result_selector={"out.$": "$.Payload"},
        result_path="$.result",
        output_path="$.result",
        timeout_seconds_path="$.timeout",
        heartbeat_seconds=10,
        retry=[
            Retry(
                "States.Timeout",
                interval_seconds=3,
                max_attempts=2,
                backoff_rate=1.5,
                max_delay_seconds=10,
                jitter_strategy="FULL",
                comment="again",
            ),
        ],
    )
    work.add_retry(Retry(["States.ALL"], max_attempts=0))
    work.add_catch(Catch(["Oops", "Ouch"], handle, comment="known"))
    work.add_catch(Catch(["States.ALL"], handle, result_path="$.error"))
    _same(Workflow(work >> Succeed("Done")), expected)


def test_parallel_branches_with_comments_and_chains() -> None:
    expected = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "Comment": "left",
                        "StartAt": "L1",
                        "States": {"L1": {"Type": "Pass", "Next": "L2"}, "L2": {"Type": "Pass", "End": True}},
                    },
                    {"StartAt": "R", "States": {"R": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
                "Parameters": {"x.$": "$.x"},
                "ResultPath": "$.both",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    both = Parallel(
        "Both",
        [Branch(Pass("L1") >> Pass("L2"), comment="left")],
        parameters={"x.$": "$.x"},
        result_path="$.both",
        retry=[Retry(["States.ALL"])],
    )
    both.add_branch(Wait("R", seconds=1))
    _same(Workflow(both >> Pass("After")), expected)


def test_inline_map_and_legacy_iterator() -> None:
    expected = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Task", "Resource": LAMBDA + "double", "End": True}},
                },
                "ResultPath": "$.doubled",
                "Next": "Old",
            },
            "Old": {
                "Type": "Map",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "MaxConcurrencyPath": "$.width",
                "Iterator": {"StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": True}}},
                "End": True,
            },
        },
    }
    each = Map(
        "Each",
        Task("Double", LAMBDA + "double"),
        items_path="$.items",
        item_selector={"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        max_concurrency=2,
        processor_config={"Mode": "INLINE"},
        result_path="$.doubled",
    )
    old = Map(
        "Old",
        iterator=Pass("Keep"),
        parameters={"v.$": "$$.Map.Item.Value"},
        max_concurrency_path="$.width",
    )
    _same(Workflow(each >> old), expected)


def test_distributed_map_fields_pass_through() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 100},
        "Parameters": {"Bucket": "data", "Key.$": "$.key"},
    }
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "runs"}}
    expected = {
        "StartAt": "Rows",
        "States": {
            "Rows": {
                "Type": "Map",
                "Label": "Rows",
                "ItemReader": reader,
                "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"run.$": "$.run"}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Load",
                    "States": {"Load": {"Type": "Task", "Resource": LAMBDA + "load", "End": True}},
                },
                "ResultWriter": writer,
                "MaxConcurrency": 100,
                "ToleratedFailurePercentage": 5,
                "ToleratedFailureCountPath": "$.tolerated",
                "ResultPath": "$.rows",
                "End": True,
            }
        },
    }
    rows = Map(
        "Rows",
        Task("Load", LAMBDA + "load"),
        processor_config={"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        label="Rows",
        item_reader=reader,
        item_batcher={"MaxItemsPerBatch": 10, "BatchInput": {"run.$": "$.run"}},
        result_writer=writer,
        max_concurrency=100,
        tolerated_failure_percentage=5,
        tolerated_failure_count_path="$.tolerated",
        result_path="$.rows",
    )
    _same(Workflow(rows), expected)


def test_jsonata_throughout() -> None:
    expected = {
        "QueryLanguage": "JSONata",
        "StartAt": "Price",
        "States": {
            "Price": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "price", "Payload": "{% $states.input.order %}"},
                "Output": "{% $states.result.Payload %}",
                "Assign": {"order": "{% $states.input.order %}"},
                "TimeoutSeconds": 30,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": {"error": "{% $states.errorOutput.Error %}"},
                        "Assign": {"failed": True},
                        "Next": "Rejected",
                    }
                ],
                "Next": "Big?",
            },
            "Big?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.total > 100 %}",
                        "Assign": {"big": True},
                        "Output": {"total": "{% $states.input.total %}"},
                        "Next": "Lines",
                    }
                ],
                "Default": "Small",
            },
            "Lines": {
                "Type": "Map",
                "Items": "{% $order.lines %}",
                "ItemSelector": {"line": "{% $states.context.Map.Item.Value %}"},
                "MaxConcurrency": 4,
                "ItemProcessor": {
                    "StartAt": "Line",
                    "States": {
                        "Line": {"Type": "Pass", "Output": "{% $states.input.line.qty %}", "End": True}
                    },
                },
                "Output": {"quantities": "{% $states.result %}"},
                "End": True,
            },
            "Small": {"Type": "Succeed", "Output": {"small": True}},
            "Rejected": {"Type": "Fail", "Error": "{% $states.input.error %}", "Cause": "pricing failed"},
        },
    }
    rejected = Fail("Rejected", error="{% $states.input.error %}", cause="pricing failed")
    price = Task(
        "Price",
        "arn:aws:states:::lambda:invoke",
        arguments={"FunctionName": "price", "Payload": "{% $states.input.order %}"},
        output="{% $states.result.Payload %}",
        assign={"order": "{% $states.input.order %}"},
        timeout_seconds=30,
        catch=[
            Catch(
                ["States.ALL"],
                rejected,
                output={"error": "{% $states.errorOutput.Error %}"},
                assign={"failed": True},
            )
        ],
    )
    lines = Map(
        "Lines",
        Pass("Line", output="{% $states.input.line.qty %}"),
        items="{% $order.lines %}",
        item_selector={"line": "{% $states.context.Map.Item.Value %}"},
        max_concurrency=4,
        output={"quantities": "{% $states.result %}"},
    )
    big = Choice("Big?").when(
        "{% $states.input.total > 100 %}",  # a string is a JSONata Condition
        lines,
        assign={"big": True},
        output={"total": "{% $states.input.total %}"},
    )
    big.otherwise(Succeed("Small", output={"small": True}))
    _same(Workflow(price >> big, query_language="JSONata"), expected)
    # ChoiceRule.Condition spells the same rule
    rule = ChoiceRule.Condition("{% $states.input.total > 100 %}")
    assert rule.to_dict() == {"Condition": "{% $states.input.total > 100 %}"}


def test_a_jsonata_state_in_a_jsonpath_machine() -> None:
    expected = {
        "StartAt": "Old",
        "States": {
            "Old": {"Type": "Pass", "Parameters": {"a.$": "$.a"}, "Next": "New"},
            "New": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input.a %}",
                "Assign": {"seen": "{% $states.input.a %}"},
                "End": True,
            },
        },
    }
    new = Pass(
        "New",
        query_language="JSONata",
        output="{% $states.input.a %}",
        assign={"seen": "{% $states.input.a %}"},
    )
    _same(Workflow(Pass("Old", parameters={"a.$": "$.a"}) >> new), expected)


def test_escape_hatch_fields_are_written_as_given() -> None:
    expected = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA + "t",
                "HeartbeatSecondsPath": "$.beat",
                "End": True,
            }
        },
    }
    task = Task("T", LAMBDA + "t", fields={"HeartbeatSecondsPath": "$.beat"})
    _same(Workflow(task), expected)
    machine = Workflow(Pass("P"), fields={"Comment": "from the hatch"})
    assert machine.to_dict()["Comment"] == "from the hatch"


@pytest.mark.parametrize("ql", ["JSONPath", "JSONata"])
def test_chain_and_state_and_branch_render_as_workflows(ql: str) -> None:
    a = Pass("A", query_language=ql)
    assert Workflow(a).to_dict()["States"]["A"] == {"Type": "Pass", "QueryLanguage": ql, "End": True}
