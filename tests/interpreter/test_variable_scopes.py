"""Variables in nested scopes, as AWS runs them.

The ASL specification says a state in a Parallel branch or Map iteration MUST NOT assign a name
an enclosing scope assigns, but AWS does not enforce it: it accepted and ran a Parallel whose
catcher assigns `inputVar` while a state in its branch assigns `inputVar` too (recorded in the
conformance corpus, `test_parallel_catch_error[PARALLEL_CATCH_ERROR_VARIABLE_SAMPLING]`). durable
accepts such definitions; an inner assignment lives in its branch or iteration only.
"""

from __future__ import annotations

from typing import Any

from durable import Engine, ExecutionStatus, ManualClock
from durable.interpreter.validate import validate_definition

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def parallel_with_catcher_assign() -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Work",
                        "States": {
                            "Work": {
                                "Type": "Task",
                                "Resource": LAMBDA + "boom",
                                "Assign": {
                                    "inputVar": "{% $states.input %}",
                                    "resultVar": "{% $states.result %}",
                                },
                                "End": True,
                            }
                        },
                    }
                ],
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {
                            "inputVar": "{% $states.input %}",
                            "errorVar": "{% $states.errorOutput %}",
                        },
                        "Next": "Fallback",
                    }
                ],
                "End": True,
            },
            "Fallback": {
                "Type": "Pass",
                "Output": {"error": "{% $errorVar %}", "input": "{% $inputVar %}"},
                "End": True,
            },
        },
    }


def test_a_branch_may_assign_a_name_its_parallels_catcher_assigns() -> None:
    assert validate_definition(parallel_with_catcher_assign()) == []


async def test_the_catchers_assignment_is_the_one_seen_after_the_parallel() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise ValueError("no")

    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        engine.register_function("boom", boom)
        machine = await engine.create_state_machine("scopes", parallel_with_catcher_assign(), type="EXPRESS")
        result = await engine.start_sync_execution(machine.arn, {"inputData": "dummy"})
    assert result.status is ExecutionStatus.SUCCEEDED
    assert result.output["input"] == {"inputData": "dummy"}
    assert result.output["error"]["Error"] == "ValueError"


async def test_an_inner_assignment_of_an_outer_name_stays_inside_its_branch() -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"shared": "outer"}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {"Type": "Pass", "Assign": {"shared": "inner"}, "Next": "Read"},
                            "Read": {"Type": "Pass", "Parameters": {"seen.$": "$shared"}, "End": True},
                        },
                    }
                ],
                "Next": "After",
            },
            "After": {"Type": "Pass", "Parameters": {"branches.$": "$", "after.$": "$shared"}, "End": True},
        },
    }
    assert validate_definition(definition) == []
    async with Engine(clock=ManualClock(autojump=0.005), load_plugins=False) as engine:
        machine = await engine.create_state_machine("shadow", definition, type="EXPRESS")
        result = await engine.start_sync_execution(machine.arn, {})
    assert result.output == {"branches": [{"seen": "inner"}], "after": "outer"}
