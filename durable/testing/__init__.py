"""Testing workflows: a clock that skips idle time, service mocks (AWS's MockConfigFile too),
assertions on histories, and a pytest plugin (``durable.testing.pytest_plugin``). See
``docs/testing.md``."""

from .clock import ScaledClock, TestClock
from .history import (
    assert_event_types,
    assert_failed,
    assert_retries,
    assert_state_input,
    assert_state_output,
    assert_states_visited,
    assert_succeeded,
    event_types,
    retries,
    state_input,
    state_output,
    states_visited,
)
from .kit import Kit
from .mockconfig import CaseResult, MockConfig, MockConfigError, TestCase, run_test_case
from .mocks import MockCall, MockedResponse, Mocks, ResponsePlan, response, returns, throws

__all__ = [
    "CaseResult",
    "Kit",
    "MockCall",
    "MockConfig",
    "MockConfigError",
    "MockedResponse",
    "Mocks",
    "ResponsePlan",
    "ScaledClock",
    "TestCase",
    "TestClock",
    "assert_event_types",
    "assert_failed",
    "assert_retries",
    "assert_state_input",
    "assert_state_output",
    "assert_states_visited",
    "assert_succeeded",
    "event_types",
    "response",
    "retries",
    "returns",
    "run_test_case",
    "state_input",
    "state_output",
    "states_visited",
    "throws",
]
