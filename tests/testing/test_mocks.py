"""Mocks on a Kit: every kind of Task, per-attempt sequences, delays on the clock, fallbacks."""

from __future__ import annotations

import time

import pytest

from durable.testing import (
    Kit,
    ResponsePlan,
    TestClock,
    assert_failed,
    assert_retries,
    assert_succeeded,
    response,
    returns,
    throws,
)

FN = "arn:aws:lambda:us-east-1:111111111111:function:"


def one(state: dict, **extra: object) -> dict:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True, **state, **extra}}}


def test_the_response_shapes() -> None:
    assert response({"Return": 1}) == returns(1)
    assert response({"Throw": {"Error": "E", "Cause": "c"}, "Delay": 2}) == throws("E", "c", delay=2)
    assert response({"result": '{"a": 1}'}) == returns({"a": 1})
    assert response({"errorOutput": {"error": "E", "cause": "c"}}) == throws("E", "c")
    with pytest.raises(ValueError, match="either Return or Throw"):
        response({"Return": 1, "Throw": {"Error": "E"}})
    plan = ResponsePlan.from_mock_config({"0": {"Return": "a"}, "1-2": {"Return": "b"}, "3": {"Return": "c"}})
    assert [plan.at(i).result for i in range(6)] == ["a", "b", "b", "c", "c", "c"]
    with pytest.raises(ValueError, match="without gaps"):
        ResponsePlan.from_mock_config({"0": {"Return": 1}, "2": {"Return": 2}})


async def test_a_lambda_by_name_with_wildcards_and_retries() -> None:
    async with Kit() as kit:
        kit.mocks.resource("lambda:charge-*", throws("Lambda.ServiceException", "busy"), returns({"ok": 1}))
        retry = [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 600, "MaxAttempts": 3}]
        done = await kit.run(one({"Resource": FN + "charge-eu:live"}, Retry=retry))
        assert_succeeded(done, {"ok": 1})
        assert_retries(done, "T", 1)
        invoke = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "charge-us"}}
        assert_succeeded(await kit.run(one(invoke, Retry=retry)), {"ok": 1})
        assert [c.invocation for c in kit.mocks.calls] == [0, 1, 0, 1]  # counted per execution


async def test_a_mock_takes_precedence_over_a_local_function_and_others_still_run() -> None:
    async with Kit() as kit:
        kit.register_function("real", lambda event, ctx: "real")
        machine = {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Task", "Resource": FN + "real", "Next": "B"},
                "B": {"Type": "Task", "Resource": FN + "real", "End": True},
            },
        }
        kit.mocks.state("A", returns("mocked"))
        done = await kit.run(machine)
        assert_succeeded(done, "real")
        assert [c.state_name for c in kit.mocks.calls] == ["A"]
        unmocked = await kit.run(one({"Resource": "arn:aws:states:::sqs:sendMessage"}))
        assert_failed(unmocked, "States.Runtime")
        assert "(the state 'T' is not mocked)" in (unmocked.cause or "")


@pytest.mark.parametrize("url", [None, "sqlite"])
async def test_sync_jobs_token_callbacks_and_activities(tmp_path, url) -> None:
    async with Kit(None if url is None else tmp_path / "k.db") as kit:
        started = time.monotonic()
        job = one({"Resource": "arn:aws:states:::batch:submitJob.sync", "Parameters": {"JobName": "j"}})
        kit.mocks.state("T", returns({"Status": "SUCCEEDED"}, delay=7200))
        done = await kit.run(job)
        assert_succeeded(done, {"Status": "SUCCEEDED"})
        assert (done.stop_date - done.start_date).total_seconds() >= 7200

        kit.mocks.state("T", returns({"Status": "SUCCEEDED"}, delay=7200))
        timed_out = await kit.run(job | {"States": {"T": job["States"]["T"] | {"TimeoutSeconds": 60}}})
        assert_failed(timed_out, "States.Timeout")

        callback = one(
            {"Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
             "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}},
            HeartbeatSeconds=3600,
        )  # fmt: skip
        kit.mocks.state("T", throws("Rejected", "no", delay=600))
        assert_failed(await kit.run(callback), "Rejected", "no")
        kit.mocks.state("T", returns({"late": True}, delay=7200))
        late = await kit.run(callback)
        assert_failed(late, "States.Timeout")  # the engine's name for a heartbeat that never came
        assert (late.stop_date - late.start_date).total_seconds() == 3600

        review = {
            "Type": "Task",
            "Resource": "arn:aws:states:us-east-1:111111111111:activity:review",
            "End": True,
        }
        activity = {"StartAt": "Review", "States": {"Review": review}}
        kit.mocks.resource("activity:review", returns({"reviewed": True}, delay=30))
        assert_succeeded(await kit.run(activity), {"reviewed": True})
        assert time.monotonic() - started < 20  # hours of clock time, no such real time


async def test_the_clock_does_not_jump_over_a_store_call_in_flight(tmp_path) -> None:
    clock = TestClock()
    async with Kit(tmp_path / "c.db", clock=clock) as kit:
        assert getattr(kit.engine.store, "_durable_clock", None) is clock
        with clock.holding():
            before = clock.now()
            waiter = kit.engine.clock.sleep_until(before + 10)
            import asyncio

            task = asyncio.ensure_future(waiter)
            await asyncio.sleep(0.05)
            assert clock.now() == before and not task.done()
        await asyncio.wait_for(task, 5)
        assert clock.now() == before + 10
