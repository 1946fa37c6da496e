"""TestState (AWS ``TestState``): run one state once, outside any execution.

The interpreter checks the request and evaluates the state (:mod:`durable.interpreter.teststate`,
:mod:`~durable.interpreter.teststate_eval`); this module gives it what is not pure: the clock and
ids of a made-up Express execution, the engine's integrations for a Task that is not mocked (it
really calls its resource), the five-minute limit of a test, and botocore's service shapes to
check a mocked result. Nothing is stored: a test has no history and leaves no execution behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..integrations.base import TaskTrace
from ..interpreter import failure as F
from ..interpreter.context import ExecutionContext
from ..interpreter.data import compact
from ..interpreter.teststate import Mock, StateConfiguration, prepare
from ..interpreter.teststate_eval import Outcome, evaluate
from .clock import DeadlineExceeded, with_deadline
from .mock_shapes import check_mock_shape
from .runner import CommandRunner, step
from .services import RuntimeServices

__all__ = ["TEST_STATE_MAX_SECONDS", "TestStateResult", "run_test_state"]

TEST_STATE_MAX_SECONDS = 300.0  # AWS: a test runs for at most five minutes (then States.Timeout)

# the inspection data fields that are JSON text in AWS's response (the others are numbers/objects)
_TEXT_FIELDS = (
    "input",
    "afterInputPath",
    "afterParameters",
    "afterArguments",
    "afterItemsPath",
    "afterItemSelector",
    "afterItemBatcher",
    "afterItemsPointer",
    "result",
    "afterResultSelector",
    "afterResultPath",
    "variables",
)


@dataclass(slots=True)
class TestStateResult:
    """What a TestState call returns: ``status`` is ``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` or
    ``CAUGHT_ERROR``; ``output`` the state's output (a Python value, ``None`` when it has none:
    see ``has_output``); ``next_state`` where the machine would go; ``inspection_data`` the
    request's level of detail (empty at ``INFO``), as Python values. :meth:`to_dict` is AWS's
    response (camelCase keys, JSON text where AWS sends text)."""

    __test__ = False  # not a pytest test class, whatever its name

    status: str
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> TestStateResult:
        return cls(
            outcome.status,
            outcome.output,
            outcome.has_output,
            outcome.error,
            outcome.cause,
            outcome.next_state,
            outcome.inspection,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.has_output:
            out["output"] = compact(self.output)
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.inspection_data:
            out["inspectionData"] = {
                key: compact(value) if key in _TEXT_FIELDS else value
                for key, value in self.inspection_data.items()
            }
        if self.next_state is not None:
            out["nextState"] = self.next_state
        out["status"] = self.status
        return out


async def run_test_state(
    runner: CommandRunner,
    services: RuntimeServices,
    definition: str | bytes | dict[str, Any],
    *,
    input: Any = None,
    input_json: str | None = None,
    role_arn: str | None = None,
    inspection_level: str | None = None,
    reveal_secrets: bool = False,
    variables: str | dict[str, Any] | None = None,
    state_name: str | None = None,
    mock: Mock | dict[str, Any] | None = None,
    context: str | dict[str, Any] | None = None,
    state_configuration: StateConfiguration | dict[str, Any] | None = None,
    max_seconds: float = TEST_STATE_MAX_SECONDS,
) -> TestStateResult:
    """Check the request (API errors are raised as ``DurableError``), then run the state once.

    ``input`` is a Python value (``input_json`` the same as JSON text); ``variables`` and
    ``context`` are JSON text or a dict; ``mock`` and ``state_configuration`` a dict in the API's
    shape (``{"result": "..."}``, ``{"retrierRetryCount": 1}``) or the interpreter's types."""
    if input_json is None:
        input_json = "{}" if input is None else compact(input)
    if isinstance(mock, dict):
        mock = Mock.from_dict(mock)
    if isinstance(state_configuration, dict):
        state_configuration = StateConfiguration.from_dict(state_configuration)
    prepared = prepare(
        definition,
        input=input_json,
        state_name=state_name,
        variables=variables if variables is None or isinstance(variables, str) else compact(variables),
        context=context if context is None or isinstance(context, str) else compact(context),
        inspection_level=inspection_level,
        reveal_secrets=reveal_secrets,
        role_arn=role_arn,
        mock=mock,
        state_configuration=state_configuration,
        check_mock_shape=check_mock_shape,
    )
    clock = runner.clock
    machine_name, execution_name = services.uuid4_pair()
    prefix = f"arn:aws:states:{runner.region}:{runner.account}"
    machine_arn = f"{prefix}:stateMachine:{machine_name}"
    execution_arn = f"{prefix}:express:{machine_name}:{execution_name}"
    start = clock.now()
    ctx = ExecutionContext(
        execution_arn,
        execution_name,
        machine_arn,
        machine_name,
        prepared.input,
        services,
        start,
        role_arn or "",
        True,  # an Express execution: no RedriveCount in its context object
        region=runner.region,
    )
    trace = None
    if prepared.inspection_level == "TRACE" and prepared.mock is None:
        trace = TaskTrace(reveal_secrets=reveal_secrets)
        runner = _TracingRunner(runner, trace)
    gen = evaluate(prepared, ctx)
    finished, value = step(gen)
    if not finished:
        try:
            value = await with_deadline(
                clock, start + max_seconds, runner.drive(gen, value, execution_arn, machine_arn)
            )
        except DeadlineExceeded:
            value = Outcome("FAILED", error=F.TIMEOUT, cause="The test ran for more than five minutes.")
    if trace is not None:
        # AWS's InspectionDataRequest / InspectionDataResponse: what an HTTP Task sent and got
        if trace.request is not None:
            value.inspection["request"] = trace.request
        if trace.response is not None:
            value.inspection["response"] = trace.response
    return TestStateResult.from_outcome(value)


class _TracingRunner(CommandRunner):
    """The engine's runner for one TRACE test: its task requests carry the test's trace."""

    def __init__(self, base: CommandRunner, trace: TaskTrace) -> None:
        super().__init__(base.clock, base.registry, base.region, base.account, base.items)
        self.trace = trace
