"""The plugin contract: entry points in ``durable.integrations``, lazy loading, collisions."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from durable import Engine, IntegrationConflict, ManualClock, ResourceNotFound
from durable.integrations.registry import ENTRY_POINT_GROUP, IntegrationRegistry

MODULE = "tests.integrations.plugin_fixtures"


def _ep(name: str, attr: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"{MODULE}:{attr}", group=ENTRY_POINT_GROUP)


def test_plugins_load_lazily_only_when_a_builtin_does_not_match() -> None:
    calls = []

    def loader() -> list[EntryPoint]:
        calls.append(1)
        return [_ep("echo", "make_echo")]

    engine = Engine(load_plugins=True)
    engine.register_function("f", lambda event, ctx: event)
    registry = IntegrationRegistry([engine.functions], loader=loader)
    registry.resolve("arn:aws:lambda:us-east-1:111111111111:function:f")
    assert calls == []  # a registered local function: no plugin is even loaded
    assert registry.resolve("arn:aws:states:::echo:say").name == "echo"
    assert registry.resolve("arn:aws:states:::echo:again").name == "echo"
    assert calls == [1]


class RealLambda:
    """A plugin that runs Lambda functions (as durable-aws does: real AWS Lambda)."""

    name = "lambda"

    def handles(self, resource: str) -> bool:
        return ":lambda:" in resource

    async def invoke(self, request: Any) -> Any:
        return {}


def test_an_unregistered_lambda_function_goes_to_a_plugin_that_handles_lambda() -> None:
    engine = Engine(load_plugins=True)
    engine.register_function("local", lambda event, ctx: event)
    registry = IntegrationRegistry([engine.functions], loader=lambda: [])
    registry._plugins = [RealLambda()]
    arn = "arn:aws:lambda:us-east-1:111111111111:function:"
    assert registry.resolve(arn + "local").name == "functions"  # local functions keep precedence
    assert registry.resolve(arn + "remote").name == "lambda"
    invoke = "arn:aws:states:::lambda:invoke"
    assert registry.resolve(invoke, {"FunctionName": "local"}).name == "functions"
    assert registry.resolve(invoke, {"FunctionName": arn + "remote"}).name == "lambda"


def test_collision_between_two_plugins_is_reported() -> None:
    registry = IntegrationRegistry(
        loader=lambda: [_ep("echo", "make_echo"), _ep("greedy", "GreedyIntegration")]
    )
    with pytest.raises(IntegrationConflict, match=r"claimed by several plugins: 'echo', 'greedy'"):
        registry.resolve("arn:aws:states:::echo:say")


def test_unknown_resource_names_the_resource_and_the_plugin_to_install() -> None:
    registry = IntegrationRegistry(loader=lambda: [])
    with pytest.raises(ResourceNotFound) as info:
        registry.resolve("arn:aws:states:::sqs:sendMessage")
    assert "arn:aws:states:::sqs:sendMessage" in str(info.value)
    assert "durable-aws" in str(info.value)
    with pytest.raises(ResourceNotFound, match="durable-http"):
        registry.resolve("arn:aws:states:::http:invoke")


def test_entry_point_that_is_not_an_integration_is_reported() -> None:
    registry = IntegrationRegistry(loader=lambda: [_ep("bad", "NOT_AN_INTEGRATION")])
    with pytest.raises(IntegrationConflict, match="did not provide an Integration"):
        registry.resolve("arn:aws:states:::echo:say")


async def test_plugin_runs_tasks_end_to_end() -> None:
    definition = {
        "StartAt": "Say",
        "States": {
            "Say": {
                "Type": "Task",
                "Resource": "arn:aws:states:::echo:say",
                "Parameters": {"v.$": "$.v"},
                "Next": "Boom",
            },
            "Boom": {
                "Type": "Task",
                "Resource": "arn:aws:states:::echo:fail",
                "Catch": [{"ErrorEquals": ["Echo.Failure"], "ResultPath": "$.err", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }
    async with Engine(clock=ManualClock(), load_plugins=False) as engine:
        engine.add_integration(_ep("echo", "make_echo").load()())
        machine = await engine.create_state_machine("echo", definition, type="EXPRESS")
        result = await engine.start_sync_execution(machine.arn, {"v": 7})
    assert str(result.status) == "SUCCEEDED"
    assert result.output == {
        "echo": {"v": 7},
        "state": "Say",
        "err": {"Error": "Echo.Failure", "Cause": "asked to fail in Boom"},
    }


async def test_task_without_integration_fails_the_execution_with_a_clear_cause() -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}},
    }
    async with Engine(clock=ManualClock(), load_plugins=False) as engine:
        machine = await engine.create_state_machine("nosqs", definition, type="EXPRESS")
        result = await engine.start_sync_execution(machine.arn, {})
    assert str(result.status) == "FAILED"
    assert result.error == "States.Runtime"
    assert "No integration handles the resource 'arn:aws:states:::sqs:sendMessage'" in (result.cause or "")
    assert "durable-aws" in (result.cause or "")


def test_a_registered_lambda_plugin_does_not_shadow_local_functions() -> None:
    engine = Engine(load_plugins=False)
    engine.register_function("local", lambda event, ctx: event)
    engine.add_integration(RealLambda())
    arn = "arn:aws:lambda:us-east-1:111111111111:function:"
    assert engine.registry.resolve(arn + "local").name == "functions"
    assert engine.registry.resolve(arn + "remote").name == "lambda"
