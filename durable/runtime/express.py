"""Express executions: run in memory, no store (at-most-once for synchronous starts)."""

from __future__ import annotations

from typing import Any

from ..interpreter import failure as F
from ..interpreter.context import ExecutionContext
from ..interpreter.failure import StatesFailure
from ..interpreter.program import Program
from .clock import DeadlineExceeded, with_deadline
from .models import Execution, ExecutionStatus, StateMachine
from .runner import CommandRunner, step
from .services import RuntimeServices

__all__ = ["EXPRESS_MAX_SECONDS", "run_express"]

EXPRESS_MAX_SECONDS = 300.0


async def run_express(
    runner: CommandRunner,
    services: RuntimeServices,
    program: Program,
    machine: StateMachine,
    *,
    execution_arn: str,
    name: str,
    input: Any,
    express: bool,
    max_seconds: float | None,
    record_history: bool = False,
    payload_limit: int | None = 262_144,
) -> Execution:
    clock = runner.clock
    start = clock.now()
    history: list[dict[str, Any]] | None = [] if record_history else None
    ctx = ExecutionContext(
        execution_arn=execution_arn,
        execution_name=name,
        state_machine_arn=machine.arn,
        state_machine_name=machine.name,
        input=input,
        services=services,
        start_epoch=start,
        role_arn=machine.role_arn,
        express=express,
        history=history,
        first_event_id=0,
        region=runner.region,
        payload_limit=payload_limit,
    )
    ctx.emit(
        "ExecutionStarted",
        0,
        "executionStartedEventDetails",
        {"input": input, "inputDetails": {"truncated": False}, "roleArn": machine.role_arn}
        if history is not None
        else None,
    )
    result = Execution(
        execution_arn=execution_arn,
        state_machine_arn=machine.arn,
        name=name,
        status=ExecutionStatus.RUNNING,
        start_date=start,
        input=input,
        history=history,
    )
    gen = program.run(input, ctx)
    try:
        finished, value = step(gen)
        if not finished:
            limit: float | None = program.timeout_seconds
            if max_seconds is not None:
                limit = max_seconds if limit is None else min(limit, max_seconds)
            value = await _with_deadline(runner, gen, value, execution_arn, machine.arn, start, limit)
    except DeadlineExceeded:
        result.status = ExecutionStatus.TIMED_OUT
        result.error = "States.Timeout"
        ctx.emit(
            "ExecutionTimedOut", ctx.events, "executionTimedOutEventDetails", {"error": "States.Timeout"}
        )
    except (StatesFailure, Exception) as exc:
        # anything the program could not handle (a value it cannot process) fails the execution,
        # as it fails a Standard one: never a traceback out of start_sync_execution
        failure = exc if isinstance(exc, StatesFailure) else StatesFailure(F.RUNTIME, _cause(exc))
        result.status = ExecutionStatus.FAILED
        result.error = failure.error or None
        result.cause = failure.cause or None
        details = {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v is not None}
        ctx.emit("ExecutionFailed", ctx.events, "executionFailedEventDetails", details)
    else:
        result.status = ExecutionStatus.SUCCEEDED
        result.output = value
        ctx.emit(
            "ExecutionSucceeded",
            ctx.events,
            "executionSucceededEventDetails",
            {"output": value, "outputDetails": {"truncated": False}},
        )
    result.stop_date = clock.now()
    return result


def _cause(exc: Exception) -> str:
    return f"The execution could not continue: {type(exc).__name__}: {exc}"


async def _with_deadline(
    runner: CommandRunner,
    gen: Any,
    cmd: Any,
    execution_arn: str,
    machine_arn: str,
    start: float,
    limit: float | None,
) -> Any:
    work = runner.drive(gen, cmd, execution_arn, machine_arn)
    return await with_deadline(runner.clock, None if limit is None else start + limit, work)
