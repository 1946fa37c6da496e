"""State machines, versions, aliases and tags through an unchanged boto3 client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import PASS, ROLE, Served, wait_done

ECHO = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "%s", "End": true}}}'


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_create_describe_update_list_delete(sfn: Any) -> None:
    logging = {"level": "ERROR", "includeExecutionData": True, "destinations": []}
    created = sfn.create_state_machine(
        name="crud",
        definition=PASS,
        roleArn=ROLE,
        loggingConfiguration=logging,
        tracingConfiguration={"enabled": True},
        tags=[{"key": "team", "value": "a"}],
    )
    arn = created["stateMachineArn"]
    assert arn.endswith(":stateMachine:crud") and "stateMachineVersionArn" not in created
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["definition"] == PASS and described["type"] == "STANDARD"
    assert described["loggingConfiguration"] == logging
    assert described["tracingConfiguration"] == {"enabled": True}
    revision = described["revisionId"]
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=ECHO % "v2")
    assert updated["revisionId"] != revision
    assert (
        json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]["P"]["Result"]
        == "v2"
    )
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    assert arn in [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert code(info) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as info:
        sfn.list_tags_for_resource(resourceArn=arn)
    assert code(info) == "ResourceNotFound"


def test_state_machine_errors(sfn: Any) -> None:
    cases = [
        (lambda: sfn.create_state_machine(name="bad", definition="{}", roleArn=ROLE), "InvalidDefinition"),
        (lambda: sfn.create_state_machine(name="a b", definition=PASS, roleArn=ROLE), "InvalidName"),
        (lambda: sfn.describe_state_machine(stateMachineArn="arn:nope"), "InvalidArn"),
        (lambda: sfn.update_state_machine(stateMachineArn=f"{_arn('ghost')}"), "MissingRequiredParameter"),
        (
            lambda: sfn.update_state_machine(stateMachineArn=_arn("ghost"), definition=PASS),
            "StateMachineDoesNotExist",
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as info:
            call()
        assert code(info) == expected
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sfn.create_state_machine(name="twice", definition=PASS, roleArn=ROLE)
    with pytest.raises(ClientError) as info:
        sfn.create_state_machine(name="twice", definition=ECHO % "other", roleArn=ROLE)
    assert code(info) == "StateMachineAlreadyExists"


def _arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:111111111111:stateMachine:{name}"


def test_list_state_machines_pages(sfn: Any) -> None:
    for i in range(5):
        sfn.create_state_machine(name=f"paged-{i}", definition=PASS, roleArn=ROLE)
    seen: list[str] = []
    token = None
    while True:
        kw = {"maxResults": 2} | ({"nextToken": token} if token else {})
        out = sfn.list_state_machines(**kw)
        assert len(out["stateMachines"]) <= 2
        seen += [m["name"] for m in out["stateMachines"]]
        token = out.get("nextToken")
        if not token:
            break
    assert {f"paged-{i}" for i in range(5)} <= set(seen) and len(seen) == len(set(seen))
    paginated = sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 3})
    assert sum(len(p["stateMachines"]) for p in paginated) == len(seen)
    with pytest.raises(ClientError) as info:
        sfn.list_state_machines(nextToken="forged")
    assert code(info) == "InvalidToken"


def test_validate_definition(sfn: Any) -> None:
    assert sfn.validate_state_machine_definition(definition=PASS)["result"] == "OK"
    failed = sfn.validate_state_machine_definition(definition='{"StartAt": "X", "States": {}}')
    assert failed["result"] == "FAIL" and failed["diagnostics"]


def test_versions_and_aliases_route_executions(served: Served, sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="versioned", definition=ECHO % "one", roleArn=ROLE, publish=True, versionDescription="first"
    )
    arn = created["stateMachineArn"]
    v1 = created["stateMachineVersionArn"]
    assert v1 == f"{arn}:1"
    revision = sfn.update_state_machine(stateMachineArn=arn, definition=ECHO % "two")["revisionId"]
    with pytest.raises(ClientError) as info:
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId="stale")
    assert code(info) == "ConflictException"
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=revision)["stateMachineVersionArn"]
    assert v2 == f"{arn}:2"
    assert (
        sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == v2
    )  # idempotent
    assert [
        v["stateMachineVersionArn"]
        for v in sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    ] == [v2, v1]
    described = sfn.describe_state_machine(stateMachineArn=v1)
    assert described["stateMachineArn"] == v1 and described["description"] == "first"
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "one"

    routing = [{"stateMachineVersionArn": v1, "weight": 30}, {"stateMachineVersionArn": v2, "weight": 70}]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=routing, description="split")
    alias_arn = alias["stateMachineAliasArn"]
    assert alias_arn == f"{arn}:live"
    shown = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert shown["routingConfiguration"] == routing and shown["description"] == "split"
    assert [
        a["stateMachineAliasArn"]
        for a in sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    ] == [alias_arn]

    draws = iter([0.10, 0.29, 0.31, 0.95])  # weights 30/70: below 0.30 goes to version 1
    served.engine.versions.random = lambda: next(draws)
    outputs = []
    for _ in range(4):
        started = sfn.start_execution(stateMachineArn=alias_arn, input="{}")
        done = wait_done(sfn, started["executionArn"])
        assert done["stateMachineAliasArn"] == alias_arn
        outputs.append((json.loads(done["output"]), done["stateMachineVersionArn"]))
    assert outputs == [("one", v1), ("one", v1), ("two", v2), ("two", v2)]
    via_alias = sfn.list_executions(stateMachineArn=alias_arn)["executions"]
    assert len(via_alias) == 4

    direct = sfn.start_execution(stateMachineArn=v1)
    assert json.loads(wait_done(sfn, direct["executionArn"])["output"]) == "one"
    for_execution = sfn.describe_state_machine_for_execution(executionArn=direct["executionArn"])
    assert json.loads(for_execution["definition"])["States"]["P"]["Result"] == "one"

    with pytest.raises(ClientError) as info:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert code(info) == "ConflictException"
    bad = [{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 40}]
    with pytest.raises(ClientError) as info:
        sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn, routingConfiguration=bad)
    assert code(info) == "ValidationException"
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias_arn, routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
    )
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
    with pytest.raises(ClientError) as info:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert code(info) == "ResourceNotFound"
    assert [
        v["stateMachineVersionArn"]
        for v in sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    ] == [v2]
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == v2


def test_test_state_through_boto3(sfn: Any) -> None:
    """TestState over the wire: the engine's TestState, AWS's response shape."""
    state = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "Next": "After"}
    out = sfn.test_state(definition=json.dumps(state), input='{"n": 21}', inspectionLevel="DEBUG")
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"doubled": 42}
    assert out["nextState"] == "After"
    assert json.loads(out["inspectionData"]["afterParameters"]) == {"doubled": 42}
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    mocked = sfn.test_state(
        definition=json.dumps(task),
        roleArn="arn:aws:iam::111111111111:role/test",
        input="{}",
        mock={"errorOutput": {"error": "Boom", "cause": "mocked"}},
    )
    assert (mocked["status"], mocked["error"], mocked["cause"]) == ("FAILED", "Boom", "mocked")
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.test_state(definition="{not json", input="{}")
