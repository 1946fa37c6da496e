"""Service mocks: canned results and errors for any Task, by state name or by resource.

    mocks = Mocks()
    mocks.state("Charge", returns({"ok": True}))
    mocks.state("Reserve", throws("Stock.Empty", "none left"), returns({"id": 7}))  # per attempt
    mocks.resource("lambda:notify-*", returns({}))          # a Lambda function by name, wildcards
    mocks.resource("arn:aws:states:::sqs:sendMessage", returns({"MessageId": "m-1"}, delay=5))
    mocks.install(engine)

A :class:`Mocks` is an :class:`~durable.Integration` added with precedence over every other
one (local functions included): a Task whose state or resource is mocked never reaches its real
integration; any other Task runs as it would without mocks. ``.sync`` jobs end with the mocked
result after the delay, ``.waitForTaskToken`` tasks are answered by the mock (the token is sent
success or failure), and activities are answered by a worker the mocks run
(:meth:`Mocks.serve_activities`). Delays are on the engine's clock: on a
:class:`~durable.testing.TestClock` they cost no real time.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DurableError
from ..integrations.base import JobRunning, TaskRequest
from ..interpreter.failure import StatesFailure

__all__ = ["MockCall", "MockedResponse", "Mocks", "ResponsePlan", "response", "returns", "throws"]


@dataclass(frozen=True, slots=True)
class MockedResponse:
    """What one invocation answers: ``result``, or the failure ``error``/``cause`` when
    ``failed``; after ``delay`` seconds on the engine's clock."""

    result: Any = None
    failed: bool = False
    error: str | None = None
    cause: str | None = None
    delay: float = 0.0


def returns(result: Any = None, *, delay: float = 0.0) -> MockedResponse:
    """Answer ``result`` (after ``delay`` seconds on the engine's clock)."""
    return MockedResponse(result=result, delay=delay)


def throws(error: str, cause: str | None = None, *, delay: float = 0.0) -> MockedResponse:
    """Fail with ``error`` and ``cause`` (after ``delay`` seconds on the engine's clock)."""
    return MockedResponse(failed=True, error=error, cause=cause, delay=delay)


def response(value: Any) -> MockedResponse:
    """One response from any of its shapes: a :class:`MockedResponse`; a MockConfigFile entry
    ``{"Return": value}`` or ``{"Throw": {"Error": ..., "Cause": ...}}``; or the TestState
    ``mock`` shape ``{"result": "<JSON text>"}`` or ``{"errorOutput": {"error": ..., "cause": ...}}``.
    ``"Delay"`` (seconds) may be added to either dict shape (an extension of both formats)."""
    if isinstance(value, MockedResponse):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"a mocked response is an object with Return or Throw, not {value!r}")
    delay = float(value.get("Delay", 0) or 0)
    if "Return" in value and "Throw" in value:
        raise ValueError("a mocked response has either Return or Throw, not both")
    if "Return" in value:
        return MockedResponse(result=value["Return"], delay=delay)
    if "Throw" in value:
        thrown = value["Throw"]
        if not isinstance(thrown, Mapping) or not isinstance(thrown.get("Error"), str):
            raise ValueError(f"Throw needs an Error name (and may have a Cause): {thrown!r}")
        return throws(thrown["Error"], thrown.get("Cause"), delay=delay)
    if "result" in value and "errorOutput" in value:
        raise ValueError("a mock has either result or errorOutput, not both")
    if "result" in value:
        text = value["result"]
        return MockedResponse(result=json.loads(text) if isinstance(text, str) else text, delay=delay)
    if "errorOutput" in value:
        out = value["errorOutput"] or {}
        return MockedResponse(failed=True, error=out.get("error"), cause=out.get("cause"), delay=delay)
    raise ValueError(f"a mocked response needs Return or Throw (or result or errorOutput): {dict(value)!r}")


class ResponsePlan:
    """Responses by invocation number (0 first). Past the last one, the last one repeats."""

    def __init__(self, ranges: Iterable[tuple[int, int, MockedResponse]], name: str = "") -> None:
        self.ranges = sorted(ranges, key=lambda r: r[0])
        self.name = name
        if not self.ranges:
            raise ValueError(f"mocked response {name!r} has no invocation")
        expected = 0
        for lo, hi, _ in self.ranges:
            if lo != expected or hi < lo:
                raise ValueError(
                    f"mocked response {name!r}: invocations must run from 0 without gaps or overlaps "
                    f"(found {lo}-{hi} where {expected} was expected)"
                )
            expected = hi + 1

    @classmethod
    def of(cls, *responses: Any, name: str = "") -> ResponsePlan:
        """One response per invocation, in order."""
        return cls(((i, i, response(r)) for i, r in enumerate(responses)), name)

    @classmethod
    def from_mock_config(cls, entries: Mapping[str, Any], name: str = "") -> ResponsePlan:
        """A MockConfigFile ``MockedResponses`` entry: ``{"0": {...}, "1-2": {...}}``."""
        if not isinstance(entries, Mapping):
            raise ValueError(f"mocked response {name!r} must be an object of invocations")
        ranges = []
        for key, value in entries.items():
            lo_text, _, hi_text = str(key).partition("-")
            try:
                lo, hi = int(lo_text), int(hi_text or lo_text)
            except ValueError:
                raise ValueError(
                    f"mocked response {name!r}: {key!r} is not an invocation number or range like '1-2'"
                ) from None
            try:
                ranges.append((lo, hi, response(value)))
            except ValueError as exc:
                raise ValueError(f"mocked response {name!r}, invocation {key}: {exc}") from None
        return cls(ranges, name)

    def at(self, invocation: int) -> MockedResponse:
        for lo, hi, answer in self.ranges:
            if lo <= invocation <= hi:
                return answer
        return self.ranges[-1][2]


@dataclass(slots=True)
class MockCall:
    """One mocked invocation, as recorded in :attr:`Mocks.calls`."""

    state_name: str
    resource: str
    payload: Any
    execution_arn: str
    invocation: int
    response: MockedResponse


@dataclass(slots=True)
class _Job:
    request: TaskRequest
    answer: MockedResponse
    due: float


@dataclass(slots=True)
class _Rules:
    states: dict[str, ResponsePlan] = field(default_factory=dict)
    resources: list[tuple[str, ResponsePlan]] = field(default_factory=list)


def lambda_function_name(resource: str, payload: Any) -> str | None:
    """The function a Lambda task calls, by name (no qualifier), or None for other resources."""
    target: Any = None
    if ":lambda:" in resource and ":function:" in resource:
        target = resource
    elif resource.startswith("arn:aws:states:::lambda:invoke") and isinstance(payload, Mapping):
        target = payload.get("FunctionName")
    if not isinstance(target, str):
        return None
    if ":function:" in target:
        target = target.split(":function:", 1)[1]
    return str(target).split(":", 1)[0]


def _matches(pattern: str, request_resource: str, action: str, function: str | None) -> bool:
    if pattern.startswith("lambda:"):
        return function is not None and fnmatch.fnmatchcase(function, pattern[len("lambda:") :])
    if pattern.startswith("activity:"):
        return ":activity:" in action and fnmatch.fnmatchcase(action.rsplit(":", 1)[1], pattern[9:])
    return fnmatch.fnmatchcase(request_resource, pattern) or fnmatch.fnmatchcase(action, pattern)


class Mocks:
    """Mocked Task results for an engine (see the module docstring)."""

    name = "durable.testing.mocks"

    def __init__(self) -> None:
        self._rules = _Rules()
        self._cases: dict[str, _Rules] = {}  # execution name -> a test case's rules
        self._counts: dict[tuple[str, str], int] = {}
        self._jobs: dict[int, _Job] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._engine: Any = None
        self.calls: list[MockCall] = []

    # -- rules -------------------------------------------------------------------------------------
    def state(self, state_name: str, *responses: Any) -> Mocks:
        """Mock the Task state ``state_name``: one response per invocation (the last repeats);
        or a :class:`ResponsePlan`."""
        self._rules.states[state_name] = _plan(responses, state_name)
        return self

    def resource(self, pattern: str, *responses: Any) -> Mocks:
        """Mock every Task whose resource matches ``pattern``: an ARN (``*`` and ``?`` match
        anything, e.g. ``arn:aws:states:::sqs:*``), ``lambda:NAME`` (a Lambda function by name,
        through its ARN or ``lambda:invoke``), or ``activity:NAME``."""
        self._rules.resources.append((pattern, _plan(responses, pattern)))
        return self

    def test_case(self, execution_name: str, states: Mapping[str, ResponsePlan]) -> None:
        """Mock the states of the execution named ``execution_name`` only (a test case)."""
        self._cases[execution_name] = _Rules(states=dict(states))

    def calls_to(self, state_name: str) -> list[MockCall]:
        return [c for c in self.calls if c.state_name == state_name]

    # -- installing --------------------------------------------------------------------------------
    def install(self, engine: Any) -> Mocks:
        """Add to ``engine`` with precedence over every other integration."""
        self._engine = engine
        engine.add_integration(self, override=True)
        return self

    async def serve_activities(self, definition: Any) -> None:
        """Create the activities the Task states of ``definition`` (a dict or JSON text) use, and
        answer their tasks that are mocked (by state name, or ``activity:NAME``)."""
        engine = self._require_engine()
        definition = json.loads(definition) if isinstance(definition, str | bytes) else definition
        for arn, states in _activity_states(definition).items():
            await engine.create_activity(arn.rsplit(":", 1)[1])
            if arn not in self._workers:
                self._workers[arn] = asyncio.get_running_loop().create_task(self._serve(arn))
            del states

    async def aclose(self) -> None:
        """Stop answering (pending answers and activity workers are cancelled)."""
        tasks = [*self._tasks, *self._workers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._workers.clear()

    # -- the integration ---------------------------------------------------------------------------
    def handles(self, resource: str) -> bool:
        return True  # decided per call: what is not mocked runs as without mocks

    async def invoke(self, request: TaskRequest) -> Any:
        found = self._find(request.execution_arn, request.state_name, request.resource, request.payload)
        if found is None:
            return await self._fallback(request).invoke(request)
        answer = self._take(found, request)
        pattern = request.pattern
        if pattern in ("sync", "sync:2"):
            handle = len(self._jobs) + 1
            self._jobs[handle] = _Job(request, answer, self._clock().now() + answer.delay)
            return {"MockedJob": handle}
        if pattern == "waitForTaskToken" and request.task_token is not None:
            self._spawn(self._answer_token(request.task_token, answer))
            return {}
        await self._sleep(answer.delay)  # a TestClock jumps meanwhile: the task only waits
        return _outcome(answer)

    async def poll(self, request: TaskRequest, submitted: Any) -> Any:
        job = self._job(submitted)
        if job is None:
            return await self._fallback(request).poll(request, submitted)
        left = job.due - self._clock().now()
        if left > 0:
            return JobRunning(retry_after=left)
        return _outcome(job.answer)

    async def cancel(self, request: TaskRequest, submitted: Any) -> None:
        if self._job(submitted) is None:
            await self._fallback(request).cancel(request, submitted)

    # -- internals ---------------------------------------------------------------------------------
    def _find(
        self, execution_arn: str, state: str, resource: str, payload: Any
    ) -> tuple[str, ResponsePlan] | None:
        parts = execution_arn.split(":")
        # ...:execution:MACHINE:NAME, or an Express one's ...:express:MACHINE:NAME:UUID
        name = parts[-2] if len(parts) > 7 and parts[5] == "express" else parts[-1]
        for rules in (self._cases.get(name), self._rules):
            if rules is None:
                continue
            plan = rules.states.get(state)
            if plan is not None:
                return f"state:{state}", plan
        action = TaskRequest(resource, None, "", "", "").action
        function = lambda_function_name(resource, payload)
        for pattern, plan in self._rules.resources:
            if _matches(pattern, resource, action, function):
                return f"resource:{pattern}", plan
        return None

    def _take(self, found: tuple[str, ResponsePlan], request: TaskRequest) -> MockedResponse:
        key, plan = found
        count_key = (request.execution_arn, key)
        invocation = self._counts.get(count_key, 0)
        self._counts[count_key] = invocation + 1
        answer = plan.at(invocation)
        self.calls.append(
            MockCall(
                request.state_name,
                request.resource,
                request.payload,
                request.execution_arn,
                invocation,
                answer,
            )
        )
        return answer

    def _fallback(self, request: TaskRequest) -> Any:
        engine = self._require_engine()
        try:
            return engine.registry.resolve(request.resource, request.payload, overrides=False)
        except Exception as exc:
            message = getattr(exc, "message", str(exc))
            raise StatesFailure(
                "States.Runtime", f"{message} (the state {request.state_name!r} is not mocked)"
            ) from None

    def _job(self, submitted: Any) -> _Job | None:
        if isinstance(submitted, Mapping) and isinstance(submitted.get("MockedJob"), int):
            return self._jobs.get(submitted["MockedJob"])
        return None

    def _require_engine(self) -> Any:
        if self._engine is None:
            raise RuntimeError("the mocks are not installed: call mocks.install(engine) first")
        return self._engine

    def _clock(self) -> Any:
        return self._require_engine().clock

    async def _sleep(self, delay: float) -> None:
        if delay > 0:
            clock = self._clock()
            await clock.sleep_until(clock.now() + delay)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_token(self, token: str, answer: MockedResponse) -> None:
        engine = self._require_engine()
        await asyncio.sleep(0)  # the task's own events first
        await self._sleep(answer.delay)
        try:
            if answer.failed:
                await engine.send_task_failure(token, error=answer.error, cause=answer.cause)
            else:
                await engine.send_task_success(token, answer.result)
        except DurableError:
            pass  # the task ended first (timed out, the execution stopped): the answer is too late

    async def _serve(self, activity_arn: str) -> None:
        engine = self._require_engine()
        while True:
            flag = engine.standard.activity_flag(activity_arn)
            flag.clear()
            pending = await engine.store.pending_activity_tasks(activity_arn, limit=1)
            found = None
            if pending:
                token = await engine.store.get_token(pending[0].token)
                if token is not None:
                    found = self._find(token.execution_arn, token.state_name, activity_arn, None)
            if found is None:
                await flag.wait()
                continue
            task = await engine.requests.take_activity_task(activity_arn, "durable-mocks")
            if task is None:
                continue
            payload = json.loads(task.input)
            request = TaskRequest(activity_arn, payload, token.state_name, task.execution_arn, "")
            self._spawn(self._answer_token(task.token, self._take(found, request)))


def _plan(responses: tuple[Any, ...], name: str) -> ResponsePlan:
    if len(responses) == 1 and isinstance(responses[0], ResponsePlan):
        return responses[0]
    if not responses:
        raise ValueError(f"mock {name!r}: give at least one response")
    return ResponsePlan.of(*responses, name=name)


def _outcome(answer: MockedResponse) -> Any:
    if answer.failed:
        raise StatesFailure(answer.error, answer.cause)
    return answer.result


def _activity_states(definition: Any) -> dict[str, list[str]]:
    """Activity ARN -> the Task states (anywhere in the definition) that use it."""
    found: dict[str, list[str]] = {}

    def walk(states: Any) -> None:
        if not isinstance(states, Mapping):
            return
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            resource = state.get("Resource")
            if state.get("Type") == "Task" and isinstance(resource, str) and ":activity:" in resource:
                found.setdefault(resource, []).append(name)
            for branch in state.get("Branches") or []:
                if isinstance(branch, Mapping):
                    walk(branch.get("States"))
            for key in ("ItemProcessor", "Iterator"):
                inner = state.get(key)
                if isinstance(inner, Mapping):
                    walk(inner.get("States"))

    if isinstance(definition, Mapping):
        walk(definition.get("States"))
    return found
