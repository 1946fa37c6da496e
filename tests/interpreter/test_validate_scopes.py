"""A nested scope must not assign a variable an enclosing scope assigns."""

from __future__ import annotations

from typing import Any

import pytest

from durable import DefinitionError, Engine
from durable.interpreter.validate import validate_definition


def parallel(inner_assign: dict[str, Any], outer_assign: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": outer_assign, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Inner",
                        "States": {"Inner": {"Type": "Pass", "Assign": inner_assign, "End": True}},
                    }
                ],
                "End": True,
            },
        },
    }


def test_inner_scope_may_assign_its_own_names() -> None:
    assert validate_definition(parallel({"inner": 1}, {"outer": 1})) == []


def test_inner_scope_may_not_reassign_an_outer_name() -> None:
    [diagnostic] = validate_definition(parallel({"shared.$": "$"}, {"shared": 1}))
    assert diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert diagnostic.location == "/States/P/Branches[0]/States/Inner/Assign"
    assert "'shared'" in diagnostic.message


def test_map_iteration_and_catchers_are_checked_too() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Assign": {"count": 0},
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"count": 1}, "Next": "D"}],
                            "End": True,
                        },
                        "D": {"Type": "Succeed"},
                    },
                },
                "End": True,
            }
        },
    }
    [diagnostic] = validate_definition(definition)
    assert diagnostic.location == "/States/M/ItemProcessor/States/T/Catch[0]/Assign"


def test_distributed_map_children_do_not_see_parent_variables() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Assign": {"count": 0},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Assign": {"count": 1}, "End": True}},
                },
                "End": True,
            }
        },
    }
    assert validate_definition(definition) == []


async def test_engine_refuses_the_definition() -> None:
    async with Engine() as engine:
        with pytest.raises(DefinitionError) as info:
            await engine.create_state_machine("scoped", parallel({"x": 2}, {"x": 1}), type="EXPRESS")
    assert info.value.diagnostics[0].location == "/States/P/Branches[0]/States/Inner/Assign"
