"""ValidateStateMachineDefinition as AWS's API reference describes it: diagnostics with a code,
message, severity and (where AWS gives one) location; ERROR or WARNING severity; at most
``max_results`` diagnostics, ``truncated`` when there were more."""

from __future__ import annotations

from typing import Any

import pytest

from durable import Engine
from durable.errors import ValidationError

WARNED: dict[str, Any] = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Parameters": {"x": "$.a", "ok.$": "$.b", "f": "States.UUID()"}, "Next": "R"},
        "R": {"Type": "Pass", "Result": {"copy": "$.x"}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "$.error", "Cause": "plain text"},
    },
}


async def test_warnings_are_listed_on_request_and_never_fail() -> None:
    async with Engine(load_plugins=False) as e:
        assert (await e.validate_state_machine_definition(WARNED)).to_dict() == {
            "result": "OK",
            "diagnostics": [],
            "truncated": False,
        }
        result = await e.validate_state_machine_definition(WARNED, severity="WARNING")
    assert result.result == "OK"
    assert [(d.code, d.severity, d.location) for d in result.diagnostics] == [
        ("NO_DOLLAR", "WARNING", "/States/P/Parameters/x"),
        ("NO_DOLLAR", "WARNING", "/States/P/Parameters/f"),
        ("PASS_RESULT_IS_STATIC", "WARNING", "/States/R/Result"),
        ("NO_PATH", "WARNING", "/States/F/Error"),
    ]


async def test_jsonata_states_have_no_path_warnings() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": {"x": "$.a"}, "End": True}},
    }
    async with Engine(load_plugins=False) as e:
        assert (await e.validate_state_machine_definition(definition, severity="WARNING")).diagnostics == ()


async def test_errors_and_warnings_together_fail() -> None:
    definition = dict(WARNED, StartAt="Nowhere")
    async with Engine(load_plugins=False) as e:
        result = await e.validate_state_machine_definition(definition, severity="WARNING")
    assert result.result == "FAIL"
    assert {d.severity for d in result.diagnostics} == {"ERROR", "WARNING"}


def many_faults(n: int) -> dict[str, Any]:
    return {"StartAt": "S0", "States": {f"S{i}": {"Type": "Pass", "Next": f"Missing{i}"} for i in range(n)}}


@pytest.mark.parametrize(("max_results", "shown"), [(0, 100), (100, 100), (7, 7), (1, 1)])
async def test_max_results_and_truncated(max_results: int, shown: int) -> None:
    async with Engine(load_plugins=False) as e:
        result = await e.validate_state_machine_definition(many_faults(150), max_results=max_results)
    assert result.result == "FAIL"
    assert len(result.diagnostics) == shown
    assert result.truncated is True


async def test_few_diagnostics_are_not_truncated() -> None:
    async with Engine(load_plugins=False) as e:
        result = await e.validate_state_machine_definition(many_faults(2), max_results=5)
    assert len(result.diagnostics) == 3 and result.truncated is False  # two targets, no end state


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"severity": "INFO"}, "severity"), ({"max_results": 101}, "maxResults")]
)
async def test_bad_parameters_are_validation_exceptions(kwargs: dict[str, Any], field: str) -> None:
    async with Engine(load_plugins=False) as e:
        with pytest.raises(ValidationError, match=f"at '{field}'"):
            await e.validate_state_machine_definition(WARNED, **kwargs)


async def test_invalid_json_is_reported_as_aws_reports_it() -> None:
    # AWS-recorded (test_validate_state_machine_definition_not_a_definition[NOT_A_DEF])
    async with Engine(load_plugins=False) as e:
        result = await e.validate_state_machine_definition("not a definition")
    assert result.to_dict() == {
        "result": "FAIL",
        "diagnostics": [
            {
                "code": "INVALID_JSON_DESCRIPTION",
                "location": '[Source: (String)"not a definition"; line: 1, column: 4]',
                "message": "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or "
                "token 'null', 'true' or 'false')\n at "
                '[Source: (String)"not a definition"; line: 1, column: 4]',
                "severity": "ERROR",
            }
        ],
        "truncated": False,
    }
