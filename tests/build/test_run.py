"""Built definitions run on the engine, the way a user would run them."""

from __future__ import annotations

from typing import Any

import durable
from durable import Engine, ManualClock, TaskFailed
from durable.build import Catch, Choice, ChoiceRule, Fail, Map, Parallel, Pass, Retry, Succeed, Task, Workflow

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def test_durable_run_takes_the_built_dict() -> None:
    double = Task("Double", LAMBDA + "double", parameters={"n.$": "$.n"}, result_path="$.doubled")
    big = (
        Choice("Big?")
        .when(ChoiceRule.NumericGreaterThan("$.doubled", 10), Succeed("Big"))
        .otherwise(Fail("Small", error="TooSmall", cause="not big enough"))
    )
    definition = Workflow(double >> big).to_dict()
    functions = {"double": lambda event, ctx: event["n"] * 2}
    done = durable.run(definition, {"n": 6}, functions=functions)
    assert done.status == "SUCCEEDED"
    assert done.output == {"n": 6, "doubled": 12}
    failed = durable.run(definition, {"n": 1}, functions=functions)
    assert failed.status == "FAILED"
    assert (failed.error, failed.cause) == ("TooSmall", "not big enough")


def test_parallel_and_map_and_jsonata_run() -> None:
    squares = Map(
        "Squares",
        Task("Square", LAMBDA + "square", arguments={"Payload": "{% $states.input %}"}),
        items="{% $states.input.numbers %}",
        output="{% $states.result %}",
    )
    total = Pass("Total", output="{% $sum($states.input) %}")
    both = Parallel(
        "Both",
        [squares >> total, Pass("Count", output="{% $count($states.input.numbers) %}")],
        output="{% {'sum': $states.result[0], 'count': $states.result[1]} %}",
    )
    workflow = Workflow(both, query_language="JSONata")
    done = durable.run(
        workflow.to_json(),
        {"numbers": [1, 2, 3]},
        functions={"square": lambda event, ctx: event["Payload"] ** 2},
    )
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == {"sum": 14, "count": 3}


async def test_retry_then_catch_on_a_durable_engine() -> None:
    calls: list[str] = []

    def flaky(event: Any, ctx: Any) -> Any:
        calls.append(event["kind"])
        if event["kind"] == "transient" and len(calls) < 3:
            raise TaskFailed("Busy", "try later")
        if event["kind"] == "fatal":
            raise TaskFailed("Broken", "cannot do it")
        return {"ok": True}

    work = Task(
        "Work",
        LAMBDA + "flaky",
        retry=[Retry(["Busy"], interval_seconds=5, max_attempts=3, backoff_rate=2)],
        catch=[Catch(["Broken"], Pass("Handled", result="handled"), result_path="$.error")],
        result_path="$.result",
    )
    definition = Workflow(work).to_dict()
    async with Engine(clock=ManualClock(autojump=0.005)) as engine:
        engine.register_function("flaky", flaky)
        machine = await engine.create_state_machine("built", definition)
        started = await engine.start_execution(machine.arn, {"kind": "transient"})
        done = await engine.wait_for_execution(started.execution_arn)
        assert done.status == "SUCCEEDED"
        assert done.output == {"kind": "transient", "result": {"ok": True}}
        assert len(calls) == 3
        started = await engine.start_execution(machine.arn, {"kind": "fatal"})
        done = await engine.wait_for_execution(started.execution_arn)
        assert done.status == "SUCCEEDED"
        assert done.output == "handled"
        result = await engine.validate_state_machine_definition(definition)
        assert result.result == "OK"
