"""``events:putEvents`` Tasks put their entries on the engine's own bus."""

from __future__ import annotations

from typing import Any

from durable import Engine
from durable.integrations.base import TaskRequest
from durable.runtime.bus_task import LocalEventBus

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def putter(resource: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": resource, "Parameters": {"Entries": entries}, "End": True}
        },
    }


async def test_a_put_events_task_puts_on_the_local_bus_and_starts_the_targets() -> None:
    async with Engine(load_plugins=False) as engine:
        target = (await engine.create_state_machine("target", PASS)).arn
        await engine.put_rule("r", event_pattern={"source": ["flow"]}, event_bus_name="orders")
        await engine.put_targets(
            "r", [{"Id": "t", "Arn": target, "InputPath": "$.detail"}], event_bus_name="orders"
        )
        entries = [{"Source": "flow", "DetailType": "x", "Detail": {"n.$": "$.n"}, "EventBusName": "orders"}]
        machine = await engine.create_state_machine(
            "put", putter("arn:aws:states:::events:putEvents", entries)
        )
        started = await engine.start_execution(machine.arn, {"n": 4})
        done = await engine.wait_for_execution(started.execution_arn)
        assert str(done.status) == "SUCCEEDED", done.cause
        assert done.output["FailedEntryCount"] == 0 and len(done.output["Entries"]) == 1
        assert set(done.output) == {"Entries", "FailedEntryCount"}
        await engine.events_delivered()
        children = [e for e in await engine.list_executions(target)]
        assert [c.input for c in children] == [{"n": 4}]


async def test_a_refused_entry_fails_the_task() -> None:
    async with Engine(load_plugins=False) as engine:
        entries = [{"Source": "flow", "DetailType": "x"}]
        machine = await engine.create_state_machine(
            "put", putter("arn:aws:states:::events:putEvents", entries)
        )
        started = await engine.start_execution(machine.arn, {})
        done = await engine.wait_for_execution(started.execution_arn)
        assert (str(done.status), done.error) == ("FAILED", "EventBridge.FailedEntry")
        assert '"ErrorCode":"InvalidArgument"' in (done.cause or "")


async def test_the_same_task_attempt_puts_the_same_event_ids() -> None:
    async with Engine(load_plugins=False) as engine:
        integration = LocalEventBus(lambda: engine.bus)
        request = TaskRequest(
            resource="arn:aws:states:::events:putEvents",
            payload={"Entries": [{"Source": "s", "DetailType": "d", "Detail": {}}] * 2},
            state_name="Put",
            execution_arn="e",
            state_machine_arn="m",
            idempotency_key="0f8fad5b-d9cb-469f-a165-70867728950e",
        )
        first = await integration.invoke(request)
        again = await integration.invoke(request)
        assert first == again
        assert len({e["EventId"] for e in first["Entries"]}) == 2


async def test_local_event_bus_false_leaves_the_resource_to_plugins() -> None:
    async with Engine(load_plugins=False, local_event_bus=False) as engine:
        assert not any(isinstance(b, LocalEventBus) for b in engine.registry._builtins)
    async with Engine(load_plugins=False) as engine:
        found = engine.registry.resolve("arn:aws:states:::events:putEvents.waitForTaskToken")
        assert isinstance(found, LocalEventBus)
