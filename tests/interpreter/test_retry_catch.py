"""Retry and Catch: attempt counts, back-off on the TestClock, first-matching retrier, error
wildcards, catcher ResultPath, and the uncatchable States.Runtime. Engine first, then retry.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from durable import Engine, Execution, ExecutionStatus, ManualClock, TaskFailed
from durable.interpreter.jsonpath import compile_path
from durable.interpreter.retry import Catcher, Retrier, error_matches, find
from durable.testing import TestClock

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
START = 1_735_732_800.0
SUCCEEDED, FAILED = ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED


class Flaky:
    """A task function that raises the listed errors in turn, then returns ``result``."""

    def __init__(
        self, *errors: str | Exception, result: Any = "ok", clock: ManualClock | None = None
    ) -> None:
        self.errors = list(errors)
        self.result = result
        self.calls: list[Any] = []
        self.times: list[float] = []
        self.clock = clock

    def __call__(self, event: Any, context: Any) -> Any:
        self.calls.append(event)
        if self.clock is not None:
            self.times.append(self.clock.now() - START)
        if self.errors:
            error = self.errors.pop(0)
            if isinstance(error, Exception):
                raise error
            raise TaskFailed(error, f"cause of {error}")
        return self.result


def always(error: str) -> Flaky:
    return Flaky(*([error] * 1000))


async def execute(
    definition: dict[str, Any],
    input: Any = None,
    functions: dict[str, Callable[..., Any]] | None = None,
    *,
    clock: ManualClock | None = None,
) -> Execution:
    async with Engine(clock=clock or TestClock(), load_plugins=False) as engine:
        for fname, fn in (functions or {}).items():
            engine.register_function(fname, fn, blocking=False)
        machine = await engine.create_state_machine("retry", definition, type="EXPRESS")
        return await engine.start_sync_execution(machine.arn, input)


def with_task(
    retry: list[dict[str, Any]] | None = None, catch: list[dict[str, Any]] | None = None, **task: Any
) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": LAMBDA + "fn", "End": True, **task}
    if retry is not None:
        state["Retry"] = retry
    states: dict[str, Any] = {"T": state}
    if catch is not None:
        state["Catch"] = catch
        for c in catch:
            states.setdefault(c["Next"], {"Type": "Pass", "End": True})
    return {"StartAt": "T", "States": states}


# --- Retry --------------------------------------------------------------------------------------


async def test_default_retrier_makes_three_retries_with_exponential_backoff() -> None:
    clock = TestClock()
    fn = Flaky(*["E"] * 10, clock=clock)
    result = await execute(with_task([{"ErrorEquals": ["E"]}]), {}, {"fn": fn}, clock=clock)
    assert result.status is FAILED
    assert result.error == "E"
    assert len(fn.calls) == 4  # 1 attempt + MaxAttempts 3
    assert fn.times == pytest.approx([0, 1, 3, 7])  # IntervalSeconds 1, BackoffRate 2


async def test_retry_then_succeed() -> None:
    clock = TestClock()
    fn = Flaky("E", "E", result={"done": True}, clock=clock)
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5}]
    result = await execute(with_task(retry), {"in": 1}, {"fn": fn}, clock=clock)
    assert result.status is SUCCEEDED
    assert result.output == {"done": True}
    assert fn.calls == [{"in": 1}] * 3
    assert clock.now() - START == pytest.approx(2 + 6)


async def test_max_delay_seconds_caps_the_backoff() -> None:
    clock = TestClock()
    fn = Flaky(*["E"] * 5, clock=clock)
    retry = [
        {
            "ErrorEquals": ["E"],
            "IntervalSeconds": 2,
            "BackoffRate": 3,
            "MaxAttempts": 4,
            "MaxDelaySeconds": 10,
        }
    ]
    await execute(with_task(retry), {}, {"fn": fn}, clock=clock)
    # delays 2, 6, min(18, 10), min(54, 10)
    assert fn.times == pytest.approx([0, 2, 8, 18, 28])


async def test_full_jitter_never_waits_longer_than_without() -> None:
    clock = TestClock()
    fn = Flaky(*["E"] * 5, clock=clock)
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 4, "MaxAttempts": 3, "JitterStrategy": "FULL"}]
    await execute(with_task(retry), {}, {"fn": fn}, clock=clock)
    gaps = [b - a for a, b in zip(fn.times, fn.times[1:], strict=False)]
    assert len(gaps) == 3
    for gap, cap in zip(gaps, [4, 8, 16], strict=True):
        assert 0 <= gap <= cap


async def test_max_attempts_zero_never_retries() -> None:
    fn = always("E")
    result = await execute(with_task([{"ErrorEquals": ["E"], "MaxAttempts": 0}]), {}, {"fn": fn})
    assert result.error == "E"
    assert len(fn.calls) == 1


async def test_exhausted_first_matching_retrier_blocks_a_later_catch_all() -> None:
    fn = always("E")
    retry = [{"ErrorEquals": ["E"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    result = await execute(with_task(retry), {}, {"fn": fn})
    assert result.error == "E"
    assert len(fn.calls) == 1


async def test_only_the_first_matching_retrier_counts_spec_example() -> None:
    # [SPEC] retriers [{A,B: I=1,R=2,Max=2},{C: I=5}], errors A,B,C,B: waits 1,2,5 then the 4th
    # error (B) exhausts retrier 1 and goes to Catch.
    clock = TestClock()
    fn = Flaky("A", "B", "C", "B", clock=clock)
    retry = [
        {"ErrorEquals": ["A", "B"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
        {"ErrorEquals": ["C"], "IntervalSeconds": 5},
    ]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    result = await execute(with_task(retry, catch), {}, {"fn": fn}, clock=clock)
    assert result.status is SUCCEEDED
    assert result.output == {"Error": "B", "Cause": "cause of B"}
    assert fn.times == pytest.approx([0, 1, 3, 8])


async def test_retriers_keep_separate_counters() -> None:
    fn = Flaky("A", "B", "A", "B", result="ok")
    retry = [{"ErrorEquals": ["A"], "MaxAttempts": 2}, {"ErrorEquals": ["B"], "MaxAttempts": 2}]
    result = await execute(with_task(retry), {}, {"fn": fn})
    assert result.output == "ok"
    assert len(fn.calls) == 5


async def test_retry_counters_reset_when_the_state_is_entered_again() -> None:
    # Each visit fails once then succeeds; with MaxAttempts 1 both visits must succeed.
    fn_calls: list[Any] = []

    def counting(event: Any, context: Any) -> Any:
        fn_calls.append(event)
        if len(fn_calls) in (1, 3):
            raise TaskFailed("E")
        return {"n": event["n"] + 1}

    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA + "fn",
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
                "Next": "Again",
            },
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericLessThan": 2, "Next": "T"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    result = await execute(definition, {"n": 0}, {"fn": counting})
    assert result.status is SUCCEEDED
    assert result.output == {"n": 2}
    assert len(fn_calls) == 4


async def test_unmatched_error_is_not_retried() -> None:
    fn = always("Other")
    result = await execute(with_task([{"ErrorEquals": ["E"]}]), {}, {"fn": fn})
    assert result.error == "Other"
    assert len(fn.calls) == 1


async def test_python_exception_names_match_retriers() -> None:
    fn = Flaky(ConnectionError("reset"), ConnectionError("reset"))
    result = await execute(
        with_task([{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 1}]), {}, {"fn": fn}
    )
    assert result.output == "ok"
    assert len(fn.calls) == 3


async def test_states_task_failed_matches_any_task_error() -> None:
    fn = Flaky("Custom.Error", ValueError("v"))
    result = await execute(with_task([{"ErrorEquals": ["States.TaskFailed"]}]), {}, {"fn": fn})
    assert result.output == "ok"
    assert len(fn.calls) == 3


async def test_states_all_retries_everything_retriable() -> None:
    fn = Flaky("X", "Y", "Z")
    result = await execute(with_task([{"ErrorEquals": ["States.ALL"]}]), {}, {"fn": fn})
    assert result.output == "ok"


async def test_retry_count_in_the_context_object() -> None:
    seen: list[Any] = []

    def fn(event: Any, context: Any) -> Any:
        seen.append(event["try"])
        if len(seen) < 3:
            raise TaskFailed("E")
        return "ok"

    definition = with_task([{"ErrorEquals": ["E"]}], Parameters={"try.$": "$$.State.RetryCount"})
    await execute(definition, {}, {"fn": fn})
    assert seen == [0, 1, 2]


async def test_retry_on_parallel_reruns_every_branch() -> None:
    calls: list[str] = []
    failures = ["E"]

    def a(event: Any, context: Any) -> Any:
        calls.append("a")
        return "a"

    def b(event: Any, context: Any) -> Any:
        calls.append("b")
        if failures:
            raise TaskFailed(failures.pop())
        return "b"

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Task", "Resource": LAMBDA + "a", "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": LAMBDA + "b", "End": True}},
                    },
                ],
                "Retry": [{"ErrorEquals": ["E"]}],
                "End": True,
            }
        },
    }
    result = await execute(definition, {}, {"a": a, "b": b})
    assert result.output == ["a", "b"]
    assert sorted(calls) == ["a", "a", "b", "b"]


async def test_retry_on_map_reruns_every_iteration() -> None:
    calls: list[Any] = []
    failures = ["E"]

    def fn(event: Any, context: Any) -> Any:
        calls.append(event)
        if event == 2 and failures:
            raise TaskFailed(failures.pop())
        return event * 10

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": LAMBDA + "fn", "End": True}},
                },
                "Retry": [{"ErrorEquals": ["E"]}],
                "End": True,
            }
        },
    }
    result = await execute(definition, [1, 2, 3], {"fn": fn})
    assert result.output == [10, 20, 30]
    assert calls == [1, 2, 1, 2, 3]


# --- timeouts -----------------------------------------------------------------------------------


def sleeper(clock: ManualClock, seconds: float, calls: list[float]) -> Callable[..., Any]:
    async def fn(event: Any, context: Any) -> Any:
        calls.append(clock.now() - START)
        await clock.sleep_until(clock.now() + seconds)
        return "finished"

    return fn


async def test_task_timeout_is_retried_by_an_explicit_states_timeout_retrier() -> None:
    clock = TestClock()
    calls: list[float] = []
    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2, "IntervalSeconds": 1}]
    result = await execute(
        with_task(retry, TimeoutSeconds=5), {}, {"fn": sleeper(clock, 100, calls)}, clock=clock
    )
    assert result.error == "States.Timeout"
    assert calls == pytest.approx([0, 6, 13])  # 5 s timeout, 1 s, 5 s timeout, 2 s, 5 s timeout
    assert clock.now() - START == pytest.approx(18)


async def test_states_task_failed_does_not_match_states_timeout() -> None:
    clock = TestClock()
    calls: list[float] = []
    retry = [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}]
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    result = await execute(
        with_task(retry, catch, TimeoutSeconds=5), {}, {"fn": sleeper(clock, 100, calls)}, clock=clock
    )
    assert result.status is FAILED
    assert result.error == "States.Timeout"
    assert len(calls) == 1


async def test_states_all_catches_a_task_timeout() -> None:
    clock = TestClock()
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
    result = await execute(
        with_task(catch=catch, TimeoutSeconds=5), {"x": 1}, {"fn": sleeper(clock, 100, [])}, clock=clock
    )
    assert result.status is SUCCEEDED
    assert result.output["x"] == 1
    assert result.output["error"]["Error"] == "States.Timeout"


# --- Catch --------------------------------------------------------------------------------------


async def test_catch_without_result_path_replaces_the_input_with_the_error_output() -> None:
    fn = always("E")
    result = await execute(with_task(catch=[{"ErrorEquals": ["E"], "Next": "Caught"}]), {"in": 1}, {"fn": fn})
    assert result.status is SUCCEEDED
    assert result.output == {"Error": "E", "Cause": "cause of E"}


async def test_catch_result_path_merges_into_the_raw_input() -> None:
    fn = always("E")
    definition = with_task(
        catch=[{"ErrorEquals": ["E"], "ResultPath": "$.error", "Next": "Caught"}],
        InputPath="$.inner",
        OutputPath="$.nothing",  # not applied to a caught error's output
        ResultSelector={"never.$": "$.x"},  # nor is ResultSelector
    )
    result = await execute(definition, {"inner": {"a": 1}, "keep": True}, {"fn": fn})
    assert result.status is SUCCEEDED
    assert result.output == {"inner": {"a": 1}, "keep": True, "error": {"Error": "E", "Cause": "cause of E"}}


async def test_catch_result_path_null_keeps_the_input() -> None:
    fn = always("E")
    definition = with_task(catch=[{"ErrorEquals": ["E"], "ResultPath": None, "Next": "Caught"}])
    result = await execute(definition, {"in": 1}, {"fn": fn})
    assert result.output == {"in": 1}


async def test_first_matching_catcher_wins() -> None:
    fn = always("E")
    catch = [
        {"ErrorEquals": ["Other"], "Next": "First"},
        {"ErrorEquals": ["E"], "Next": "Second"},
        {"ErrorEquals": ["States.ALL"], "Next": "Third"},
    ]
    definition = with_task(catch=catch)
    for name in ("First", "Second", "Third"):
        definition["States"][name] = {"Type": "Pass", "Result": name, "End": True}
    result = await execute(definition, {}, {"fn": fn})
    assert result.output == "Second"


async def test_catch_runs_after_retries_are_exhausted() -> None:
    fn = always("E")
    definition = with_task(
        [{"ErrorEquals": ["E"], "MaxAttempts": 2}], [{"ErrorEquals": ["E"], "Next": "Caught"}]
    )
    result = await execute(definition, {}, {"fn": fn})
    assert result.status is SUCCEEDED
    assert len(fn.calls) == 3


async def test_catch_transitions_to_its_next_state_and_continues() -> None:
    fn = always("E")
    definition = with_task(catch=[{"ErrorEquals": ["E"], "ResultPath": "$.e", "Next": "Recover"}])
    definition["States"]["Recover"] = {
        "Type": "Pass",
        "Result": "recovered",
        "ResultPath": "$.status",
        "Next": "Done",
    }
    definition["States"]["Done"] = {"Type": "Succeed"}
    result = await execute(definition, {}, {"fn": fn})
    assert result.output == {"e": {"Error": "E", "Cause": "cause of E"}, "status": "recovered"}


async def test_empty_catch_and_retry_lists_are_legal() -> None:
    fn = always("E")
    result = await execute(with_task([], []), {}, {"fn": fn})
    assert result.error == "E"


async def test_catch_error_output_with_a_null_cause() -> None:
    fn = Flaky(TaskFailed("NoCause"))
    result = await execute(with_task(catch=[{"ErrorEquals": ["NoCause"], "Next": "Caught"}]), {}, {"fn": fn})
    assert result.output == {"Error": "NoCause", "Cause": None}


@pytest.mark.parametrize("names", [["States.ALL"], ["States.IntrinsicFailure"], ["States.Runtime"]])
async def test_an_intrinsic_that_cannot_take_its_arguments_is_never_caught(names: list[str]) -> None:
    # AWS fails such a state with States.Runtime (users' reports of real runs), not the
    # specification's States.IntrinsicFailure: no catcher handles it, the task never runs
    fn = Flaky()
    definition = with_task(
        catch=[{"ErrorEquals": names, "ResultPath": "$.err", "Next": "Caught"}],
        Parameters={"x.$": "States.ArrayGetItem($.a, 5)"},
    )
    result = await execute(definition, {"a": [1, 2]}, {"fn": fn})
    assert result.status is FAILED
    assert result.error == "States.Runtime"
    assert fn.calls == []


# --- States.Runtime: never retried, never caught ------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [["States.ALL"], ["States.Runtime"], ["States.TaskFailed"], ["States.Runtime", "States.TaskFailed"]],
)
async def test_states_runtime_is_not_caught(names: list[str]) -> None:
    fn = Flaky(result={"x": 1})
    definition = with_task(
        catch=[{"ErrorEquals": names, "Next": "Caught"}], ResultSelector={"v.$": "$.missing"}
    )
    result = await execute(definition, {}, {"fn": fn})
    assert result.status is FAILED
    assert result.error == "States.Runtime"


@pytest.mark.parametrize("names", [["States.ALL"], ["States.Runtime"]])
async def test_states_runtime_is_not_retried(names: list[str]) -> None:
    fn = Flaky(result={"x": 1})
    definition = with_task([{"ErrorEquals": names, "MaxAttempts": 3}], ResultSelector={"v.$": "$.missing"})
    result = await execute(definition, {}, {"fn": fn})
    assert result.error == "States.Runtime"
    assert len(fn.calls) == 1


async def test_states_runtime_in_parameters_never_calls_the_function() -> None:
    fn = Flaky()
    definition = with_task(
        [{"ErrorEquals": ["States.ALL"]}],
        [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        Parameters={"a.$": "$.missing"},
    )
    result = await execute(definition, {}, {"fn": fn})
    assert result.error == "States.Runtime"
    assert fn.calls == []


async def test_states_runtime_from_a_map_iteration_is_not_caught_on_the_map() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}},
                },
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    clock = TestClock()
    result = await execute(definition, [{"a": 1}], clock=clock)
    assert result.error == "States.Runtime"
    assert clock.now() == START  # no retry back-off happened


# --- retry.py directly --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "equals", "expected"),
    [
        ("E", ("E",), True),
        ("E", ("e",), False),  # case-sensitive
        ("E", ("A", "E"), True),
        ("E", ("A",), False),
        ("E", ("States.ALL",), True),
        ("E", ("States.TaskFailed",), True),
        ("States.Timeout", ("States.ALL",), True),
        ("States.Timeout", ("States.TaskFailed",), False),
        ("States.Timeout", ("States.Timeout",), True),
        ("States.Runtime", ("States.ALL",), False),
        ("States.Runtime", ("States.Runtime",), False),
        ("States.Runtime", ("States.TaskFailed",), False),
        ("States.DataLimitExceeded", ("States.ALL",), True),
        ("States.NoChoiceMatched", ("States.NoChoiceMatched",), True),
        (None, ("States.ALL",), True),
        (None, ("E",), False),
        ("E", (), False),
    ],
)
def test_error_matches(error: str | None, equals: tuple[str, ...], expected: bool) -> None:
    assert error_matches(error, equals) is expected


def test_retrier_defaults() -> None:
    r = Retrier.parse({"ErrorEquals": ["E"]})
    assert (r.interval_seconds, r.max_attempts, r.backoff_rate, r.max_delay_seconds, r.full_jitter) == (
        1,
        3,
        2.0,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("raw", "attempt", "rand", "delay"),
    [
        ({"IntervalSeconds": 1}, 0, 0.5, 1.0),
        ({"IntervalSeconds": 1}, 3, 0.5, 8.0),
        ({"IntervalSeconds": 3, "BackoffRate": 1}, 5, 0.5, 3.0),
        ({"IntervalSeconds": 2, "BackoffRate": 1.5}, 2, 0.5, 4.5),
        ({"IntervalSeconds": 2, "BackoffRate": 3, "MaxDelaySeconds": 10}, 1, 0.5, 6.0),
        ({"IntervalSeconds": 2, "BackoffRate": 3, "MaxDelaySeconds": 10}, 2, 0.5, 10.0),
        ({"IntervalSeconds": 4, "JitterStrategy": "FULL"}, 1, 0.25, 2.0),
        ({"IntervalSeconds": 4, "JitterStrategy": "FULL", "MaxDelaySeconds": 5}, 3, 0.5, 2.5),
        ({"IntervalSeconds": 4, "JitterStrategy": "NONE"}, 1, 0.25, 8.0),
    ],
)
def test_retrier_delay(raw: dict[str, Any], attempt: int, rand: float, delay: float) -> None:
    retrier = Retrier.parse({"ErrorEquals": ["E"], **raw})
    assert retrier.delay(attempt, rand) == pytest.approx(delay)
    assert isinstance(retrier.delay(attempt, rand), float)


def test_find_returns_the_first_match() -> None:
    retriers = (
        Retrier.parse({"ErrorEquals": ["A"]}),
        Retrier.parse({"ErrorEquals": ["B", "C"]}),
        Retrier.parse({"ErrorEquals": ["States.ALL"]}),
    )
    assert find(retriers, "A") == 0
    assert find(retriers, "C") == 1
    assert find(retriers, "Z") == 2
    assert find(retriers, "States.Runtime") == -1
    assert find((), "A") == -1


def test_catcher_parse() -> None:
    c = Catcher.parse({"ErrorEquals": ["E"], "Next": "N"})
    assert c.next == "N"
    assert c.result_path is not None and c.result_path.is_root
    assert Catcher.parse({"ErrorEquals": ["E"], "Next": "N", "ResultPath": None}).result_path is None
    assert Catcher.parse(
        {"ErrorEquals": ["E"], "Next": "N", "ResultPath": "$.e"}
    ).result_path is compile_path("$.e")
