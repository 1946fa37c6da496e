"""AWS Step Functions Local's MockConfigFile, and running its test cases on a :class:`Kit`.

The format is AWS's: ``StateMachines`` -> state machine name -> ``TestCases`` -> test case name
-> Task state name -> the name of a mocked response; ``MockedResponses`` -> name -> invocation
number (``"0"``) or range (``"1-2"``) -> ``{"Return": value}`` or ``{"Throw": {"Error": ...,
"Cause": ...}}``. durable reads two extensions that AWS's tools do not know: ``"Delay"``
(seconds on the engine's clock) beside ``Return``/``Throw``, and per state machine an
``"Expectations"`` object: test case name -> ``Input``, ``Status``, ``Output``, ``Error``,
``Cause``, ``StatesVisited`` (``Input`` is the execution's input; the others are checked).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DurableError
from ..runtime.models import Execution
from .history import states_visited
from .kit import Kit
from .mocks import ResponsePlan

__all__ = ["CaseResult", "MockConfig", "MockConfigError", "TestCase", "run_test_case"]

_RUNS = itertools.count(1)
_EXPECTED = ("Status", "Output", "Error", "Cause", "StatesVisited")


class MockConfigError(DurableError):
    """A MockConfigFile that cannot be read."""

    code = "InvalidMockConfig"


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test case: its mocked states, and (an extension) the input and what to expect."""

    __test__ = False

    state_machine: str
    name: str
    mocks: dict[str, ResponsePlan]
    input: Any = None
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.state_machine}:{self.name}"


@dataclass(slots=True)
class CaseResult:
    """What running a test case gave, and which expectations it missed (``problems``)."""

    case: TestCase
    execution: Execution
    states: list[str]
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


class MockConfig:
    """A parsed MockConfigFile."""

    def __init__(self, doc: Mapping[str, Any], source: str = "MockConfigFile") -> None:
        if not isinstance(doc, Mapping):
            raise MockConfigError(f"{source}: a MockConfigFile is a JSON object")
        self.source = source
        try:
            self.responses = {
                name: ResponsePlan.from_mock_config(entries, name)
                for name, entries in (doc.get("MockedResponses") or {}).items()
            }
        except ValueError as exc:
            raise MockConfigError(f"{source}: {exc}") from None
        self.cases: dict[str, dict[str, TestCase]] = {}
        for machine, body in (doc.get("StateMachines") or {}).items():
            if not isinstance(body, Mapping) or not isinstance(body.get("TestCases"), Mapping):
                raise MockConfigError(f"{source}: state machine {machine!r} needs a TestCases object")
            expectations = body.get("Expectations") or {}
            cases = {}
            for case, states in body["TestCases"].items():
                mocks = {}
                for state, response in (states or {}).items():
                    if response not in self.responses:
                        raise MockConfigError(
                            f"{source}: test case {case!r} of {machine!r} mocks {state!r} with "
                            f"{response!r}, which is not in MockedResponses"
                        )
                    mocks[state] = self.responses[response]
                expect = dict(expectations.get(case) or {})
                unknown = set(expect) - {"Input", *_EXPECTED}
                if unknown:
                    raise MockConfigError(
                        f"{source}: expectations of {case!r}: unknown field(s) {sorted(unknown)}; "
                        f"known: Input, {', '.join(_EXPECTED)}"
                    )
                value = expect.pop("Input", None)
                cases[case] = TestCase(machine, case, mocks, value, expect)
            self.cases[machine] = cases

    @classmethod
    def load(cls, path: str | Path) -> MockConfig:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise MockConfigError(f"cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise MockConfigError(f"{path.name}: not valid JSON: {exc}") from None
        return cls(doc, path.name)

    def state_machine(self, name: str | None = None) -> str:
        """``name`` checked, or the only state machine of the file."""
        if name is None:
            if len(self.cases) != 1:
                raise MockConfigError(
                    f"{self.source} names {len(self.cases)} state machines: choose one "
                    f"({', '.join(sorted(self.cases)) or 'none'})"
                )
            return next(iter(self.cases))
        if name not in self.cases:
            raise MockConfigError(
                f"{self.source} has no state machine {name!r} (it has {', '.join(sorted(self.cases))})"
            )
        return name

    def test_cases(self, state_machine: str | None = None) -> list[TestCase]:
        return list(self.cases[self.state_machine(state_machine)].values())


def check(case: TestCase, done: Execution, states: list[str]) -> list[str]:
    """The expectations of ``case`` that ``done`` misses, as sentences."""
    problems = []
    expect = case.expect
    if "Status" in expect and str(done.status) != expect["Status"]:
        problems.append(f"status {done.status}, expected {expect['Status']}")
    if "Output" in expect and done.output != expect["Output"]:
        problems.append(f"output {json.dumps(done.output)}, expected {json.dumps(expect['Output'])}")
    if "Error" in expect and done.error != expect["Error"]:
        problems.append(f"error {done.error}, expected {expect['Error']}")
    if "Cause" in expect and done.cause != expect["Cause"]:
        problems.append(f"cause {done.cause!r}, expected {expect['Cause']!r}")
    if "StatesVisited" in expect and states != list(expect["StatesVisited"]):
        problems.append(f"states visited {states}, expected {list(expect['StatesVisited'])}")
    return problems


async def run_test_case(kit: Kit, machine: Any, case: TestCase, *, input: Any = None) -> CaseResult:
    """Run ``case`` as one execution of ``machine`` (a StateMachine or a definition) on ``kit``:
    its mocked states answer from the file, the other states run as without mocks."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in case.name)[:60] or "case"
    name = f"{name}-{next(_RUNS)}"
    kit.mocks.test_case(name, case.mocks)
    value = case.input if input is None else input
    done = await kit.run(machine, value, name=name)
    states = states_visited(done)
    return CaseResult(case, done, states, check(case, done, states))
