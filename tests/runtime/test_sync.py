"""durable.run and durable.arun as a script or a notebook calls them: with and without a running
event loop, nested, with the execution and state machine named, of either type."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

import durable
from durable import EventLoopConflict, ExecutionStatus, StateMachineType
from durable.errors import ValidationError

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
INC = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA + "inc", "End": True}}}
FUNCTIONS = {"inc": lambda event, context: event + 1}
OPTIONS: dict[str, Any] = {"load_plugins": False}


def a_cell() -> durable.Execution:
    """What a notebook cell does: a plain call, unaware of the loop it runs in."""
    return durable.run(INC, 41, functions=FUNCTIONS, **OPTIONS)


def test_run_without_a_loop() -> None:
    done = a_cell()
    assert (done.status, done.output) == (ExecutionStatus.SUCCEEDED, 42)


def test_run_inside_a_running_loop() -> None:
    async def main() -> durable.Execution:
        return a_cell()  # a sync function called from a coroutine: the loop is running

    done = asyncio.run(main())
    assert (done.status, done.output) == (ExecutionStatus.SUCCEEDED, 42)


def test_run_from_a_loop_callback_as_a_kernel_runs_a_cell() -> None:
    """ipykernel runs a cell's code from its event loop: compiled code executed in a coroutine."""
    cell = compile("done = durable.run(INC, 1, functions=FUNCTIONS, **OPTIONS)", "<cell>", "exec")
    namespace: dict[str, Any] = {"durable": durable, "INC": INC, "FUNCTIONS": FUNCTIONS, "OPTIONS": OPTIONS}

    async def kernel() -> None:
        loop = asyncio.get_running_loop()
        ran = loop.create_future()
        loop.call_soon(lambda: ran.set_result(exec(cell, namespace)))
        await ran

    asyncio.run(kernel())
    assert namespace["done"].output == 2


def test_run_nested_in_a_task_of_a_run() -> None:
    """A task (an async function, on the engine's loop) that itself calls durable.run."""

    async def outer(event: Any, context: Any) -> Any:
        return durable.run(INC, event, functions=FUNCTIONS, **OPTIONS).output * 10

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA + "outer", "End": True}},
    }
    done = durable.run(definition, 4, functions={"outer": outer}, **OPTIONS)
    assert (done.status, done.output) == (ExecutionStatus.SUCCEEDED, 50)


def test_arun_is_the_awaitable_twin() -> None:
    async def main() -> list[durable.Execution]:
        return [
            await durable.arun(INC, 1, functions=FUNCTIONS, **OPTIONS),
            await durable.arun(INC, 2, functions=FUNCTIONS, type="STANDARD", **OPTIONS),
        ]

    express, standard = asyncio.run(main())
    assert (express.output, standard.output) == (2, 3)
    assert ":express:" in express.execution_arn and ":execution:" in standard.execution_arn


def test_something_of_the_callers_loop_raises_a_durable_error_naming_arun() -> None:
    async def main() -> None:
        pending = asyncio.get_running_loop().create_future()  # bound to this loop

        async def waits(event: Any, context: Any) -> Any:
            return await pending

        definition = {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": LAMBDA + "waits", "End": True}},
        }
        with pytest.raises(EventLoopConflict, match=r"await durable\.arun\(") as info:
            durable.run(definition, functions={"waits": waits}, **OPTIONS)
        assert isinstance(info.value, durable.DurableError)
        pending.cancel()

    asyncio.run(main())


def test_name_names_the_execution_and_state_machine_name_the_machine() -> None:
    done = durable.run(INC, 0, functions=FUNCTIONS, name="first-try", state_machine_name="counter", **OPTIONS)
    assert done.name == "first-try"
    assert done.state_machine_arn.endswith(":stateMachine:counter")
    assert ":express:counter:first-try:" in done.execution_arn


@pytest.mark.parametrize("kind", ["STANDARD", "standard", "Standard", StateMachineType.STANDARD])
def test_type_in_any_case_or_the_enum(kind: str | StateMachineType) -> None:
    done = durable.run(INC, 0, functions=FUNCTIONS, name="s", type=kind, **OPTIONS)
    assert done.execution_arn.endswith(":execution:durable-sync:s")
    assert (done.status, done.output) == (ExecutionStatus.SUCCEEDED, 1)


def test_an_unknown_type_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"\[STANDARD, EXPRESS\]"):
        durable.run(INC, 0, type="BATCH", **OPTIONS)


def test_dates_are_utc_datetimes() -> None:
    before = datetime.now(UTC)
    done = a_cell()
    assert done.stop_date is not None
    assert done.start_date.tzinfo is UTC and done.stop_date.tzinfo is UTC
    assert before <= done.start_date <= done.stop_date <= datetime.now(UTC)


def test_a_definition_edited_and_run_again_on_a_database(tmp_path: Any) -> None:
    url = str(tmp_path / "nb.db")
    first = durable.run(INC, 1, functions=FUNCTIONS, type="STANDARD", url=url, **OPTIONS)
    double = {
        "StartAt": "T",
        "States": {"T": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($, $)"}, "End": True}},
    }
    second = durable.run(double, 4, type="STANDARD", url=url, **OPTIONS)
    assert (first.output, second.output) == (2, {"n": 8})
