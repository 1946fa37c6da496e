"""The embedded event bus: rules, targets, PutEvents and delivery (Engine and Client)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from durable import Client, Engine
from durable.errors import InvalidEventPattern, ResourceNotFound, UnsupportedFeature, ValidationError
from durable.runtime.delivery import delivery_name
from durable.runtime.requests import RequestKind

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def entry(source: str = "shop", **detail: Any) -> dict[str, Any]:
    return {"Source": source, "DetailType": "order", "Detail": json.dumps(detail)}


async def machine(engine: Engine, name: str = "m", type: str = "STANDARD") -> str:
    return (await engine.create_state_machine(name, PASS, type=type)).arn


async def test_rules_are_created_described_listed_toggled_and_deleted() -> None:
    async with Engine(load_plugins=False) as engine:
        arn = await engine.put_rule("r", event_pattern={"source": ["shop"]}, description="d")
        assert arn == "arn:aws:events:us-east-1:111111111111:rule/r"
        other = await engine.put_rule("r", event_pattern='{"source":["x"]}', event_bus_name="orders")
        assert other == "arn:aws:events:us-east-1:111111111111:rule/orders/r"
        rule = await engine.describe_rule("r")
        assert rule["State"] == "ENABLED" and rule["Description"] == "d"
        assert rule["EventPattern"] == '{"source":["shop"]}' and rule["EventBusName"] == "default"
        await engine.disable_rule("r")
        assert (await engine.describe_rule("r"))["State"] == "DISABLED"
        await engine.put_rule("r", event_pattern={"source": ["shop", "x"]})  # update keeps the state
        assert (await engine.describe_rule("r"))["State"] == "DISABLED"
        await engine.enable_rule("r")
        assert [r["Name"] for r in await engine.list_rules()] == ["r"]
        assert [r["Arn"] for r in await engine.list_rules(event_bus_name="orders")] == [other]
        assert await engine.list_rules(name_prefix="q") == []
        m = await machine(engine)
        await engine.put_targets("r", [{"Id": "t", "Arn": m}])
        with pytest.raises(ValidationError, match="has targets"):
            await engine.delete_rule("r")
        await engine.delete_rule("r", force=True)
        with pytest.raises(ResourceNotFound, match="Rule r does not exist on EventBus default"):
            await engine.describe_rule("r")
        await engine.delete_rule("r")  # nothing to delete: no error


async def test_bad_rules_are_refused() -> None:
    async with Engine(load_plugins=False) as engine:
        with pytest.raises(InvalidEventPattern):
            await engine.put_rule("r", event_pattern={"source": "shop"})
        with pytest.raises(ValidationError):
            await engine.put_rule("bad name", event_pattern={"source": ["x"]})
        with pytest.raises(ValidationError):
            await engine.put_rule("r")
        with pytest.raises(UnsupportedFeature):
            await engine.put_rule("r", schedule_expression="rate(1 minute)")


async def test_targets_are_put_listed_refused_and_removed() -> None:
    async with Engine(load_plugins=False) as engine:
        m = await machine(engine)
        await engine.put_rule("r", event_pattern={"source": ["shop"]})
        answer = await engine.put_targets(
            "r",
            [
                {"Id": "a", "Arn": m, "RoleArn": "arn:aws:iam::111111111111:role/x"},
                {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:111111111111:q"},
                {"Id": "c", "Arn": m, "Input": "{", "InputPath": "$"},
                {"Id": "d", "Arn": m, "Input": "not json"},
            ],
        )
        assert answer["FailedEntryCount"] == 3
        assert [f["TargetId"] for f in answer["FailedEntries"]] == ["b", "c", "d"]
        assert await engine.list_targets_by_rule("r") == [
            {"Id": "a", "Arn": m, "RoleArn": "arn:aws:iam::111111111111:role/x"}
        ]
        more = await engine.put_targets("r", [{"Id": str(i), "Arn": m} for i in range(5)])
        assert (
            more["FailedEntryCount"] == 1
            and more["FailedEntries"][0]["ErrorCode"] == "LimitExceededException"
        )
        removed = await engine.remove_targets("r", ["a", "zz"])
        assert removed == {
            "FailedEntryCount": 1,
            "FailedEntries": [
                {
                    "TargetId": "zz",
                    "ErrorCode": "ResourceNotFoundException",
                    "ErrorMessage": "Target zz does not exist.",
                }
            ],
        }
        with pytest.raises(ResourceNotFound):
            await engine.put_targets("nope", [{"Id": "a", "Arn": m}])


async def test_put_events_answers_as_aws_and_delivers_to_matching_enabled_rules() -> None:
    async with Engine(load_plugins=False) as engine:
        m = await machine(engine)
        await engine.put_rule(
            "big", event_pattern={"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
        )
        await engine.put_targets("big", [{"Id": "path", "Arn": m, "InputPath": "$.detail"}])
        await engine.put_rule("any", event_pattern={"source": ["shop"]}, state="DISABLED")
        await engine.put_targets("any", [{"Id": "whole", "Arn": m}])
        await engine.put_rule("named", event_pattern={"source": ["shop"]}, event_bus_name="orders")
        await engine.put_targets(
            "named",
            [
                {"Id": "const", "Arn": m, "Input": '{"k": 1}'},
                {
                    "Id": "shaped",
                    "Arn": m,
                    "InputTransformer": {
                        "InputPathsMap": {"t": "$.detail.total"},
                        "InputTemplate": '{"total": <t>, "rule": "<aws.events.rule-name>"}',
                    },
                },
            ],
            event_bus_name="orders",
        )
        answer = await engine.put_events(
            [
                entry(total=500),
                entry(total=5),
                {"Source": "shop", "DetailType": "order", "Detail": "[1]"},
                {**entry(total=7), "EventBusName": "arn:aws:events:us-east-1:111111111111:event-bus/orders"},
            ]
        )
        assert answer["FailedEntryCount"] == 1
        assert answer["Entries"][2] == {
            "ErrorCode": "MalformedDetail",
            "ErrorMessage": "Detail is malformed.",
        }
        ids = [e.get("EventId") for e in answer["Entries"]]
        await engine.events_delivered()
        executions = {e.name: e for e in await engine.list_executions()}
        rule = "arn:aws:events:us-east-1:111111111111:rule/"
        assert set(executions) == {
            delivery_name(ids[0], rule + "big", "path"),
            delivery_name(ids[3], rule + "orders/named", "const"),
            delivery_name(ids[3], rule + "orders/named", "shaped"),
        }
        assert executions[delivery_name(ids[0], rule + "big", "path")].input == {"total": 500}
        assert executions[delivery_name(ids[3], rule + "orders/named", "shaped")].input == {
            "total": 7,
            "rule": "named",
        }
        assert await engine.store.requests() == []


async def test_a_delivery_repeated_starts_nothing_new() -> None:
    """What recovery does after a crash between the starts and the event leaving the inbox."""
    async with Engine(load_plugins=False) as engine:
        m = await machine(engine)
        await engine.put_rule("r", event_pattern={"source": ["shop"]})
        await engine.put_targets("r", [{"Id": "a", "Arn": m}, {"Id": "b", "Arn": m, "InputPath": "$.detail"}])
        request = engine.requests.request(
            "bus",
            RequestKind.EVENT,
            payload={
                "bus": "default",
                "event": {"id": "e-1", "source": "shop", "detail": {"n": 1}},
                "ingested": "2026-01-01T00:00:00Z",
            },
        )
        assert await engine.delivery.deliver(request) == 2
        first = sorted(e.execution_arn for e in await engine.list_executions())
        assert await engine.delivery.deliver(request) == 2
        assert sorted(e.execution_arn for e in await engine.list_executions()) == first
        assert len(first) == 2


async def test_an_express_target_runs() -> None:
    async with Engine(load_plugins=False) as engine:
        m = await machine(engine, "x", "EXPRESS")
        await engine.put_rule("r", event_pattern={"source": ["shop"]})
        await engine.put_targets("r", [{"Id": "a", "Arn": m, "InputPath": "$.detail"}])
        await engine.put_events([entry(n=1)])
        await engine.events_delivered()
        [run] = await engine.list_executions()
        done = await engine.wait_for_execution(run.execution_arn)
        assert done.output == {"n": 1}


async def test_events_put_by_a_client_are_delivered_by_the_engine(tmp_path: Path) -> None:
    db = str(tmp_path / "bus.db")
    async with Engine(db, load_plugins=False) as engine:
        m = await machine(engine)
        async with Client(db) as client:
            await client.put_rule("r", event_pattern={"source": ["shop"]})
            await client.put_targets("r", [{"Id": "a", "Arn": m, "InputPath": "$.detail"}])
            answer = await client.put_events([entry(n=3)])
            assert answer["FailedEntryCount"] == 0
            assert [r["Name"] for r in await client.list_rules()] == ["r"]
        for _ in range(500):
            found = await engine.list_executions()
            if found and str(found[0].status) == "SUCCEEDED":
                break
            await asyncio.sleep(0.01)
        assert [e.input for e in found] == [{"n": 3}]


async def test_an_event_accepted_while_no_engine_runs_is_delivered_when_one_opens(tmp_path: Path) -> None:
    db = str(tmp_path / "bus.db")
    async with Engine(db, load_plugins=False) as engine:
        m = await machine(engine)
        await engine.put_rule("r", event_pattern={"source": ["shop"]})
        await engine.put_targets("r", [{"Id": "a", "Arn": m}])
    async with Client(db) as client:
        await client.put_events([entry(n=1), entry(n=2)])
    async with Engine(db, load_plugins=False) as engine:
        await engine.events_delivered()
        assert len(await engine.list_executions()) == 2


def test_test_event_pattern() -> None:
    engine = Engine(load_plugins=False)
    event = {
        "id": "1",
        "account": "1",
        "source": "shop",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "x",
        "detail": {},
    }
    assert engine.test_event_pattern({"source": ["shop"]}, event)
    assert not engine.test_event_pattern('{"source":["other"]}', json.dumps(event))
