"""Executions, history, Map Runs, activities and task tokens through an unchanged boto3 client."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import PASS, ROLE, wait_done
from .test_machines import code

WAIT_TOKEN = json.dumps(
    {
        "StartAt": "W",
        "States": {
            "W": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
)
FAIL = '{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}'
WAIT = '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}'
MAP = json.dumps(
    {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
)


def _machine(sfn: Any, name: str, definition: str, kind: str = "STANDARD") -> str:
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=kind)[
        "stateMachineArn"
    ]
    return arn


def test_start_describe_list_and_history(sfn: Any) -> None:
    arn = _machine(sfn, "runs", PASS)
    arns = [
        sfn.start_execution(stateMachineArn=arn, name=f"r{i}", input=json.dumps({"i": i}))["executionArn"]
        for i in range(5)
    ]
    for e in arns:
        assert wait_done(sfn, e)["status"] == "SUCCEEDED"
    described = sfn.describe_execution(executionArn=arns[0])
    assert json.loads(described["input"]) == {"i": 0} and json.loads(described["output"]) == {"i": 0}
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=arn, name="r0", input='{"other": 1}')
    assert code(info) == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as info:  # a closed execution's name cannot be started again
        sfn.start_execution(stateMachineArn=arn, name="r0", input='{"i": 0}')
    assert code(info) == "ExecutionAlreadyExists"

    listed = [
        e["executionArn"]
        for p in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, PaginationConfig={"PageSize": 2}
        )
        for e in p["executions"]
    ]
    assert sorted(listed) == sorted(arns) and len(listed) == 5
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
    assert len(sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"]) == 5
    assert sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"] == []

    events = sfn.get_execution_history(executionArn=arns[0])["events"]
    pages = list(
        sfn.get_paginator("get_execution_history").paginate(
            executionArn=arns[0], PaginationConfig={"PageSize": 1}
        )
    )
    assert [e["id"] for p in pages for e in p["events"]] == [e["id"] for e in events]
    backwards = sfn.get_execution_history(executionArn=arns[0], reverseOrder=True, maxResults=2)
    assert [e["id"] for e in backwards["events"]] == [events[-1]["id"], events[-2]["id"]]
    assert "nextToken" in backwards
    lean = sfn.get_execution_history(executionArn=arns[0], includeExecutionData=False)["events"][0]
    assert "input" not in lean["executionStartedEventDetails"]
    for call, expected in [
        (
            lambda: sfn.describe_execution(executionArn=arn.replace("stateMachine", "execution") + ":ghost"),
            "ExecutionDoesNotExist",
        ),
        (lambda: sfn.describe_execution(executionArn="ghost"), "InvalidArn"),
        (lambda: sfn.list_executions(stateMachineArn=arn + "x"), "StateMachineDoesNotExist"),
        (lambda: sfn.get_execution_history(executionArn=arns[0], nextToken="forged"), "InvalidToken"),
        (lambda: sfn.start_execution(stateMachineArn=arn, input="not json"), "InvalidExecutionInput"),
    ]:
        with pytest.raises(ClientError) as info:
            call()
        assert code(info) == expected


def test_stop_redrive_and_failures(sfn: Any) -> None:
    waiting = _machine(sfn, "waits", WAIT)
    started = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    stopped = sfn.stop_execution(executionArn=started, error="Halt", cause="test")
    assert stopped["stopDate"]
    aborted = sfn.describe_execution(executionArn=started)
    assert aborted["status"] == "ABORTED" and aborted["redriveStatus"] == "REDRIVABLE"
    failing = _machine(sfn, "fails", FAIL)
    failed = wait_done(sfn, sfn.start_execution(stateMachineArn=failing)["executionArn"])
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Boom", "why")
    assert sfn.redrive_execution(executionArn=failed["executionArn"])["redriveDate"]
    again = wait_done(sfn, failed["executionArn"])
    assert again["status"] == "FAILED" and again["redriveCount"] == 1
    assert len(sfn.list_executions(stateMachineArn=failing, redriveFilter="REDRIVEN")["executions"]) == 1
    done = _machine(sfn, "done", PASS)
    succeeded = wait_done(sfn, sfn.start_execution(stateMachineArn=done)["executionArn"])
    with pytest.raises(ClientError) as info:
        sfn.redrive_execution(executionArn=succeeded["executionArn"])
    assert code(info) == "ExecutionNotRedrivable"


def test_express_sync_execution(sfn: Any) -> None:
    arn = _machine(sfn, "express", FAIL, "EXPRESS")
    out = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert (out["status"], out["error"], out["cause"]) == ("FAILED", "Boom", "why")
    with pytest.raises(ClientError) as info:
        sfn.list_executions(stateMachineArn=arn)
    assert code(info) == "StateMachineTypeNotSupported"
    standard = _machine(sfn, "not-express", PASS)
    with pytest.raises(ClientError) as info:
        sfn.start_sync_execution(stateMachineArn=standard)
    assert code(info) == "StateMachineTypeNotSupported"


def test_map_runs(sfn: Any) -> None:
    arn = _machine(sfn, "mapper", MAP)
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"])
    assert done["status"] == "SUCCEEDED"
    runs = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert len(runs) == 1 and runs[0]["executionArn"] == done["executionArn"]
    described = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
    assert described["status"] == "SUCCEEDED" and described["executionArn"] == done["executionArn"]
    children = sfn.list_executions(mapRunArn=runs[0]["mapRunArn"])["executions"]
    assert [c["status"] for c in children] == ["SUCCEEDED"] * 3
    plain = wait_done(sfn, sfn.start_execution(stateMachineArn=_machine(sfn, "nomap", PASS))["executionArn"])
    assert sfn.list_map_runs(executionArn=plain["executionArn"])["mapRuns"] == []
    ghost = runs[0]["mapRunArn"].rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as info:
        sfn.describe_map_run(mapRunArn=ghost)
    assert code(info) == "ResourceNotFound"


def test_activities_and_task_tokens(served: Any, sfn: Any) -> None:
    activity = sfn.create_activity(name="work", tags=[{"key": "k", "value": "v"}])["activityArn"]
    assert sfn.describe_activity(activityArn=activity)["name"] == "work"
    assert activity in [a["activityArn"] for a in sfn.list_activities()["activities"]]
    assert sfn.list_tags_for_resource(resourceArn=activity)["tags"] == [{"key": "k", "value": "v"}]
    definition = json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": activity, "End": True}}}
    )
    arn = _machine(sfn, "uses-activity", definition)
    result: dict[str, Any] = {}
    poll = threading.Thread(
        target=lambda: result.update(sfn.get_activity_task(activityArn=activity, workerName="w"))
    )
    poll.start()  # a long poll, answered when the execution schedules the task
    started = sfn.start_execution(stateMachineArn=arn, input='{"job": 1}')["executionArn"]
    poll.join(timeout=30)
    assert json.loads(result["input"]) == {"job": 1}
    sfn.send_task_heartbeat(taskToken=result["taskToken"])
    sfn.send_task_success(taskToken=result["taskToken"], output='{"done": true}')
    assert json.loads(wait_done(sfn, started)["output"]) == {"done": True}
    with pytest.raises(ClientError) as info:
        sfn.send_task_success(taskToken=result["taskToken"], output="{}")
    assert code(info) in ("TaskTimedOut", "TaskDoesNotExist")
    with pytest.raises(ClientError) as info:
        sfn.send_task_failure(taskToken="garbage", error="E")
    assert code(info) == "InvalidToken"
    sfn.delete_activity(activityArn=activity)
    with pytest.raises(ClientError) as info:
        sfn.describe_activity(activityArn=activity)
    assert code(info) == "ActivityDoesNotExist"


def test_send_task_failure_fails_the_waiting_task(served: Any, sfn: Any) -> None:
    tokens: list[str] = []

    def sqs_send(event: Any, context: Any) -> Any:
        raise AssertionError("not called")

    arn = _machine(
        sfn,
        "callback",
        json.dumps(
            {
                "StartAt": "W",
                "States": {
                    "W": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": "collect", "Payload": {"token.$": "$$.Task.Token"}},
                        "End": True,
                    }
                },
            }
        ),
    )
    served.engine.register_function("collect", lambda event, context: tokens.append(event["token"]))
    started = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    import time

    deadline = time.monotonic() + 20
    while not tokens and time.monotonic() < deadline:
        time.sleep(0.02)
    sfn.send_task_failure(taskToken=tokens[0], error="Nope", cause="declined")
    failed = wait_done(sfn, started)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Nope", "declined")


def test_trace_header_is_kept_and_described(sfn: Any) -> None:
    arn = _machine(sfn, "traced", PASS)
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    started = sfn.start_execution(stateMachineArn=arn, name="t1", input="{}", traceHeader=header)
    assert wait_done(sfn, started["executionArn"])["status"] == "SUCCEEDED"
    assert sfn.describe_execution(executionArn=started["executionArn"])["traceHeader"] == header
    plain = sfn.start_execution(stateMachineArn=arn, name="t2", input="{}")["executionArn"]
    wait_done(sfn, plain)
    assert "traceHeader" not in sfn.describe_execution(executionArn=plain)
