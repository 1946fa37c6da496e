"""Mistakes are caught early: builder mistakes as BuildError where they are made (or when the
machine is built), definition faults as durable's DefinitionError with AWS-style diagnostics."""

from __future__ import annotations

import pytest

from durable import DefinitionError, DurableError
from durable.build import (
    BuildError,
    Chain,
    Choice,
    ChoiceRule,
    Fail,
    Map,
    Parallel,
    Pass,
    Succeed,
    Task,
    Wait,
    Workflow,
)

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def test_build_error_is_a_durable_error() -> None:
    assert issubclass(BuildError, DurableError)


def test_duplicate_state_names() -> None:
    with pytest.raises(BuildError, match="duplicate state name 'A'"):
        Workflow(Pass("A") >> Pass("A")).to_dict()
    # names are unique across the whole machine, branches included
    with pytest.raises(BuildError, match=r"duplicate state name 'X'.*/States/P/Branches\[0\]"):
        Workflow(Parallel("P", [Pass("X")]) >> Pass("X")).to_dict()


def test_a_state_in_two_places() -> None:
    shared = Pass("Shared")
    with pytest.raises(BuildError, match="'Shared' is in two places"):
        Workflow(Parallel("P", [shared, shared])).to_dict()
    shared = Pass("Shared")
    with pytest.raises(BuildError, match="'Shared' is in two places"):
        Workflow(Map("M", shared) >> shared).to_dict()


def test_a_second_next_is_refused_where_it_is_made() -> None:
    a, b, c = Pass("A"), Pass("B"), Pass("C")
    _ = a >> b
    _ = a >> b  # the same link again is harmless
    with pytest.raises(BuildError, match="'A' already continues to 'B'"):
        _ = a >> c


def test_terminal_states_have_no_next() -> None:
    for terminal in (Choice("C"), Succeed("S"), Fail("F")):
        with pytest.raises(BuildError, match="has no Next"):
            _ = terminal >> Pass("After")


def test_dangling_next_by_name() -> None:
    ready = Choice("Ready").when(ChoiceRule.IsPresent("$.x", True), "Nowhere").otherwise(Succeed("Done"))
    with pytest.raises(BuildError, match="'Ready' goes to 'Nowhere', which is no state of /States"):
        Workflow(ready).to_dict()
    # a name must be in the same States object, as in ASL
    loop = Parallel("P", [Pass("Inner") >> "Outer"]) >> Pass("Outer")
    with pytest.raises(BuildError, match=r"no state of /States/P/Branches\[0\]"):
        Workflow(loop).to_dict()


def test_a_second_default_is_refused() -> None:
    choice = Choice("C").otherwise(Succeed("A"))
    with pytest.raises(BuildError, match="already has a Default"):
        choice.otherwise(Succeed("B"))


def test_the_hatch_cannot_override_what_the_builder_writes() -> None:
    with pytest.raises(BuildError, match="'Next'"):
        Pass("A", fields={"Next": "B"})
    with pytest.raises(BuildError, match="'ResultPath'"):
        Pass("A", result_path="$.x", fields={"ResultPath": "$.y"})
    with pytest.raises(BuildError, match="'States'"):
        Workflow(Pass("A"), fields={"States": {}})


def test_unknown_keywords_are_type_errors() -> None:
    with pytest.raises(TypeError, match="timeout_seconds"):
        Pass("A", timeout_seconds=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="result_pth"):
        Task("T", LAMBDA + "t", result_pth="$.x")  # type: ignore[call-arg]


def test_chains_link_states_chains_and_names_only() -> None:
    with pytest.raises(TypeError, match="not int"):
        _ = Pass("A") >> 3  # type: ignore[operator]
    with pytest.raises(BuildError, match="cannot start with a name"):
        Chain(["A"])
    with pytest.raises(BuildError, match="empty"):
        Workflow(Chain([])).to_dict()


def test_map_needs_exactly_one_processor() -> None:
    with pytest.raises(BuildError, match="exactly one"):
        Map("M")
    with pytest.raises(BuildError, match="exactly one"):
        Map("M", Pass("A"), iterator=Pass("B"))


def test_definition_faults_are_definition_errors_with_json_paths() -> None:
    with pytest.raises(DefinitionError) as caught:
        Workflow(Task("T", "not-an-arn")).to_dict()
    assert [d.location for d in caught.value.diagnostics] == ["/States/T/Resource"]
    # a JSONata field in a JSONPath state, deep in a branch
    inner = Pass("Inner", output="{% 1 %}")
    with pytest.raises(DefinitionError) as caught:
        Workflow(Parallel("P", [inner])).to_dict()
    assert caught.value.diagnostics[0].code == "SCHEMA_VALIDATION_FAILED"
    assert caught.value.diagnostics[0].location == "/States/P/Branches[0]/States/Inner"
    assert "Invalid State Machine Definition" in str(caught.value)
    with pytest.raises(DefinitionError):
        Workflow(Choice("Empty")).to_dict()
    with pytest.raises(DefinitionError):
        Workflow(Wait("W")).to_dict()


def test_diagnostics_without_raising_and_an_unvalidated_dict() -> None:
    workflow = Workflow(Task("T", "not-an-arn"))
    assert [d.location for d in workflow.diagnostics()] == ["/States/T/Resource"]
    assert workflow.to_dict(validate=False)["States"]["T"]["Resource"] == "not-an-arn"
    assert Workflow(Pass("A")).diagnostics() == []


def test_express_restrictions_are_checked_on_request() -> None:
    task = Task("T", "arn:aws:states:::lambda:invoke.waitForTaskToken", parameters={"FunctionName": "f"})
    workflow = Workflow(task)
    workflow.to_dict()  # fine for a Standard machine
    with pytest.raises(DefinitionError):
        workflow.to_dict(machine_type="EXPRESS")
