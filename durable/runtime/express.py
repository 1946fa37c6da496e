"""Express executions: run in memory, no store (at-most-once for synchronous starts).

A *pure* program (Pass/Choice/Succeed/Fail states and Parallel states of them, no loop) never
waits, so :meth:`ExpressRun.now` runs it as a plain call, without a coroutine or a deadline to
watch; :meth:`ExpressRun.to_end` runs any program. Both produce the same events and outcome.
"""

from __future__ import annotations

from typing import Any

from ..interpreter import failure as F
from ..interpreter.context import ExecutionContext
from ..interpreter.failure import StatesFailure
from ..interpreter.program import Program
from .clock import DeadlineExceeded, with_deadline
from .exec_logs import ExecutionLogs, least_level
from .models import Execution, ExecutionStatus, StateMachine, utc
from .runner import CommandRunner, step
from .services import RuntimeServices
from .tracing import Tracing

__all__ = ["EXPRESS_MAX_SECONDS", "ExpressRun"]

EXPRESS_MAX_SECONDS = 300.0


class ExpressRun:
    """One Express execution: its context, the record it returns, and how it is run."""

    __slots__ = (
        "ctx",
        "deadline",
        "keep_history",
        "log_config",
        "logs",
        "program",
        "result",
        "runner",
        "tracing",
    )

    def __init__(
        self,
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
        logs: ExecutionLogs | None = None,
        log_config: dict[str, Any] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.runner = runner
        self.tracing = tracing  # its spans are derived from its history when it ends
        # execution logs (a loggingConfiguration that is not OFF): the history is recorded to be
        # logged when the execution ends, and returned only if the caller asked for it too
        wanted = logs is not None and logs.enabled and least_level(log_config) is not None
        self.logs = logs if wanted else None
        self.log_config = log_config
        self.keep_history = record_history
        record_history = record_history or self.logs is not None or tracing is not None
        self.program = program
        limit: float | None = program.timeout_seconds
        if max_seconds is not None:
            limit = max_seconds if limit is None else min(limit, max_seconds)
        start = runner.clock.now()
        self.deadline = None if limit is None else start + limit
        history: list[dict[str, Any]] | None = [] if record_history else None
        self.ctx = ctx = ExecutionContext(
            execution_arn,
            name,
            machine.arn,
            machine.name,
            input,
            services,
            start,
            machine.role_arn,
            express,
            0,  # redrive_count
            history,
            0,  # first_event_id
            runner.region,
            payload_limit,
        )
        if history is None:
            ctx.events = 1  # ExecutionStarted, numbered but not recorded
        else:
            ctx.emit(
                "ExecutionStarted",
                0,
                "executionStartedEventDetails",
                {"input": input, "inputDetails": {"truncated": False}, "roleArn": machine.role_arn},
            )
        # positional: stop_date, output, error, cause, then history
        self.result = Execution(
            execution_arn,
            machine.arn,
            name,
            ExecutionStatus.RUNNING,
            utc(start),
            input,
            None,
            None,
            None,
            None,
            history,
        )

    @property
    def pure(self) -> bool:
        """Whether :meth:`now` can run it (see the module docstring)."""
        return self.program.pure

    def now(self) -> Execution:
        """Run a :attr:`pure` program to its end, as a call."""
        clock = self.runner.clock
        try:
            value = self.program.run_sync(self.result.input, self.ctx)
        except Exception as exc:
            return self._failed(exc, clock.now())
        return self._succeeded(value, clock.now())

    async def to_end(self) -> Execution:
        """Run it to its end, within its time limit (``TimeoutSeconds``, the Express limit)."""
        if self.pure:
            return self.now()
        runner, result = self.runner, self.result
        clock = runner.clock
        try:
            gen = self.program.run(result.input, self.ctx)
            finished, value = step(gen)
            if not finished:
                work = runner.drive(gen, value, result.execution_arn, result.state_machine_arn)
                value = await with_deadline(clock, self.deadline, work)
        except DeadlineExceeded:
            return self._timed_out(clock.now())
        except Exception as exc:
            return self._failed(exc, clock.now())
        return self._succeeded(value, clock.now())

    def _succeeded(self, value: Any, now: float) -> Execution:
        result, ctx = self.result, self.ctx
        result.status = ExecutionStatus.SUCCEEDED
        result.output = value
        if ctx.history is None:
            ctx.events += 1
        else:
            ctx.emit(
                "ExecutionSucceeded",
                ctx.events,
                "executionSucceededEventDetails",
                {"output": value, "outputDetails": {"truncated": False}},
            )
        return self._stopped(now)

    def _failed(self, exc: BaseException, now: float) -> Execution:
        # anything the program could not handle (a value it cannot process) fails the execution,
        # as it fails a Standard one: never a traceback out of start_sync_execution
        result, ctx = self.result, self.ctx
        failure = exc if isinstance(exc, StatesFailure) else StatesFailure(F.RUNTIME, _cause(exc))
        result.status = ExecutionStatus.FAILED
        result.error = failure.error or None
        result.cause = failure.cause or None
        details = {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v is not None}
        ctx.emit("ExecutionFailed", ctx.events, "executionFailedEventDetails", details)
        return self._stopped(now)

    def _timed_out(self, now: float) -> Execution:
        result, ctx = self.result, self.ctx
        result.status = ExecutionStatus.TIMED_OUT
        result.error = "States.Timeout"
        ctx.emit(
            "ExecutionTimedOut", ctx.events, "executionTimedOutEventDetails", {"error": "States.Timeout"}
        )
        return self._stopped(now)

    def _stopped(self, now: float) -> Execution:
        """The stop date, and the recorded history's timestamps as the Python API shows dates."""
        result = self.result
        result.stop_date = utc(now)
        if self.logs is not None and result.history is not None:
            self.logs.history(self.log_config, result.execution_arn, result.history)
        if self.tracing is not None and result.history is not None:
            self.tracing.express(result.execution_arn, result.state_machine_arn, result.history)
        if not self.keep_history:
            result.history = None
        if result.history is not None:
            for event in result.history:
                event["timestamp"] = utc(event["timestamp"])
        return result


def _cause(exc: BaseException) -> str:
    return f"The execution could not continue: {type(exc).__name__}: {exc}"
