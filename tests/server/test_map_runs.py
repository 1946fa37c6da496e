"""Map Runs through boto3 against ``durable serve``: counts, UpdateMapRun, unknown ARNs."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import ROLE, wait_done
from .test_machines import code


def _dmap(processor: dict[str, Any], **fields: Any) -> str:
    config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    state = {"Type": "Map", "ItemProcessor": {"ProcessorConfig": config, **processor}, "End": True, **fields}
    return json.dumps({"StartAt": "M", "States": {"M": state}})


def _machine(sfn: Any, name: str, definition: str) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    return arn


def _eventually(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_counts_of_a_run_with_tolerated_failures(sfn: Any) -> None:
    processor = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "F"}],
                "Default": "P",
            },
            "F": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    arn = _machine(sfn, "tolerant-map", _dmap(processor, ToleratedFailurePercentage=50, MaxConcurrency=2))
    items = [{"bad": i in (1, 4)} for i in range(5)]
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn, input=json.dumps(items))["executionArn"])
    assert done["status"] == "SUCCEEDED"
    (listed,) = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    assert "stopDate" in listed
    run = sfn.describe_map_run(mapRunArn=listed["mapRunArn"])
    assert (run["status"], run["maxConcurrency"], run["toleratedFailurePercentage"]) == ("SUCCEEDED", 2, 50.0)
    for counts in (run["itemCounts"], run["executionCounts"]):
        assert (counts["total"], counts["succeeded"], counts["failed"]) == (5, 3, 2)
        assert counts["pending"] == counts["running"] == counts["aborted"] == 0
    with pytest.raises(ClientError) as info:
        sfn.update_map_run(mapRunArn=listed["mapRunArn"], maxConcurrency=3)
    assert code(info) == "ValidationException"


def test_update_map_run_raises_max_concurrency(sfn: Any) -> None:
    activity = sfn.create_activity(name="map-run-work")["activityArn"]
    processor = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": True}}}
    arn = _machine(sfn, "slow-map", _dmap(processor, MaxConcurrency=1))
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(list(range(5))))["executionArn"]
    runs = _eventually(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"])
    map_run = runs[0]["mapRunArn"]

    def running() -> int:
        counts = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
        return int(counts["running"])

    _eventually(lambda: running() == 1)
    time.sleep(0.1)
    assert running() == 1  # MaxConcurrency 1: the others wait
    sfn.update_map_run(mapRunArn=map_run, maxConcurrency=3)
    _eventually(lambda: running() == 3)
    assert sfn.describe_map_run(mapRunArn=map_run)["maxConcurrency"] == 3
    for _ in range(5):
        task = sfn.get_activity_task(activityArn=activity, workerName="w")
        sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    done = wait_done(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    final = sfn.describe_map_run(mapRunArn=map_run)
    assert final["status"] == "SUCCEEDED" and final["executionCounts"]["succeeded"] == 5


def test_unknown_map_run(sfn: Any) -> None:
    ghost = "arn:aws:states:us-east-1:123456789012:mapRun:nothing/M:00000000-0000-0000-0000-000000000000"
    for call in (
        lambda: sfn.describe_map_run(mapRunArn=ghost),
        lambda: sfn.update_map_run(mapRunArn=ghost, maxConcurrency=2),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert code(info) == "ResourceNotFound"


def test_children_are_executions_of_their_own(sfn: Any) -> None:
    processor = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "F"}],
                "Default": "P",
            },
            "F": {"Type": "Fail", "Error": "Bad", "Cause": "a bad item"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    definition = _dmap(processor, Label="kids", ToleratedFailureCount=1)
    arn = _machine(sfn, "parent-of-kids", definition)
    items = [{"bad": i == 1, "i": i} for i in range(3)]
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn, input=json.dumps(items))["executionArn"])
    assert done["status"] == "SUCCEEDED"
    (run,) = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]
    map_run = run["mapRunArn"]
    listed = sfn.list_executions(mapRunArn=map_run)["executions"]
    child_machine = arn + "/kids"
    assert [c["status"] for c in listed] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    for c in listed:
        assert (c["stateMachineArn"], c["mapRunArn"], c["itemCount"]) == (child_machine, map_run, 1)
        assert c["executionArn"] == f"{child_machine.replace(':stateMachine:', ':execution:')}:{c['name']}"
    first = sfn.list_executions(mapRunArn=map_run, maxResults=1)
    assert len(first["executions"]) == 1 and "nextToken" in first
    rest = sfn.list_executions(mapRunArn=map_run, maxResults=5, nextToken=first["nextToken"])
    assert [c["name"] for c in first["executions"] + rest["executions"]] == [c["name"] for c in listed]
    (failed,) = sfn.list_executions(mapRunArn=map_run, statusFilter="FAILED")["executions"]
    described = sfn.describe_execution(executionArn=failed["executionArn"])
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Bad", "a bad item")
    assert described["mapRunArn"] == map_run and json.loads(described["input"]) == items[1]
    assert "itemCount" not in described
    machine = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    assert (machine["stateMachineArn"], machine["name"], machine["label"], machine["mapRunArn"]) == (
        child_machine,
        "parent-of-kids/kids",
        "kids",
        map_run,
    )
    assert json.loads(machine["definition"]) == processor
    events = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]
    with pytest.raises(ClientError) as info:
        sfn.list_executions(stateMachineArn=arn, mapRunArn=map_run)
    assert code(info) == "ValidationException"
