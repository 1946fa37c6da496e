"""TestState: a request to evaluate one state, checked as AWS checks it (pure).

AWS ``TestState`` takes a state (or a machine and ``stateName``), its input, workflow variables,
a context object, an inspection level, and optionally a *mock* of the state's result or error and
a *state configuration* (a retry count, Map iteration failures, the data an ItemReader read). This
module parses and checks such a request, with AWS's error names and messages, into a
:class:`Prepared` request; :mod:`.teststate_eval` evaluates it. Nothing here does I/O: checking a
mocked result against a service's response shape is a function the runtime passes in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DefinitionError, Diagnostic, InvalidExecutionInput, ValidationError
from .jsonvalue import NotJson, parse_json
from .program import STATE_TYPES, ScopeCompiler, parse_definition
from .states import State
from .validate import validate_definition

__all__ = [
    "FIELD_VALIDATION_MODES",
    "INSPECTION_LEVELS",
    "Mock",
    "MockShapeCheck",
    "Prepared",
    "StateConfiguration",
    "prepare",
]

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
FIELD_VALIDATION_MODES = ("STRICT", "PRESENT", "NONE")
#: the name a tested state has in the context object AWS makes up for it
CONTEXT_STATE_NAME = "StateName"
#: the name a single tested state is validated under (inside a one-state machine)
_WRAPPER_NAME = "TestState"
_MOCKABLE = ("Task", "Map", "Parallel")
# a lone state may name states that are not there, and need not end anything
_LONE_STATE_FINE = ("MISSING_TRANSITION_TARGET", "MISSING_END_STATE")
# Distributed Map fields whose data a mock stands for (durable does not read or write it)
_DATA_FIELDS = ("ItemReader", "ItemBatcher", "ResultWriter")

#: ``(resource, mocked result, field validation mode) -> problem or None``: the runtime's check of
#: a mocked result against the response shape of the service the resource calls
MockShapeCheck = Callable[[str, Any, str], "str | None"]


@dataclass(frozen=True, slots=True)
class Mock:
    """``mock``: a result (JSON text) or an error, and how strictly a result is checked."""

    result: str | None = None
    error_output: tuple[str | None, str | None] | None = None  # (error, cause)
    field_validation_mode: str = "STRICT"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Mock:
        error_output = raw.get("errorOutput")
        return cls(
            result=raw.get("result"),
            error_output=None
            if error_output is None
            else (error_output.get("error"), error_output.get("cause")),
            field_validation_mode=raw.get("fieldValidationMode") or "STRICT",
        )


@dataclass(frozen=True, slots=True)
class StateConfiguration:
    """``stateConfiguration``: where in its life the tested state is."""

    retrier_retry_count: int | None = None
    error_caused_by_state: str | None = None
    map_iteration_failure_count: int | None = None
    map_item_reader_data: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StateConfiguration:
        return cls(
            retrier_retry_count=raw.get("retrierRetryCount"),
            error_caused_by_state=raw.get("errorCausedByState"),
            map_iteration_failure_count=raw.get("mapIterationFailureCount"),
            map_item_reader_data=raw.get("mapItemReaderData"),
        )


@dataclass(slots=True)
class Prepared:
    """A checked TestState request: the compiled state and the values it runs with."""

    state: State
    raw: dict[str, Any]  # the state's definition as given
    input: Any
    variables: dict[str, Any]
    context: dict[str, Any] | None
    inspection_level: str
    role_arn: str | None
    mock: Mock | None
    mock_result: Any = None  # the parsed mocked result
    config: StateConfiguration = field(default_factory=StateConfiguration)
    item_reader_data: Any = None  # parsed mapItemReaderData

    @property
    def type(self) -> str:
        return str(self.raw.get("Type"))


def prepare(
    definition: str | bytes | dict[str, Any],
    *,
    input: str | None = None,
    state_name: str | None = None,
    variables: str | None = None,
    context: str | None = None,
    inspection_level: str | None = None,
    reveal_secrets: bool = False,
    role_arn: str | None = None,
    mock: Mock | None = None,
    state_configuration: StateConfiguration | None = None,
    check_mock_shape: MockShapeCheck | None = None,
) -> Prepared:
    """Check a TestState request as AWS does; raise :class:`DefinitionError` (``InvalidDefinition``),
    :class:`ValidationError` (``ValidationException``) or :class:`InvalidExecutionInput`."""
    level = inspection_level or "INFO"
    if level not in INSPECTION_LEVELS:
        raise ValidationError(_enum_message("inspectionLevel", level, INSPECTION_LEVELS))
    if mock is not None and mock.field_validation_mode not in FIELD_VALIDATION_MODES:
        raise ValidationError(
            _enum_message("mock.fieldValidationMode", mock.field_validation_mode, FIELD_VALIDATION_MODES)
        )
    config = state_configuration or StateConfiguration()
    raw, query_language = _find_state(definition, state_name)
    kind = raw.get("Type")
    if mock is not None:
        if mock.result is not None and mock.error_output is not None:
            raise ValidationError(
                "A test mock should have only one of the following fields: [result, errorOutput]."
            )
        if reveal_secrets:
            raise ValidationError("TestState does not support RevealSecrets when a mock is specified.")
        if kind not in _MOCKABLE:
            raise ValidationError(f"State type '{kind}' is not supported when a mock is specified")
        if mock.error_output is not None and mock.error_output[0] is None:
            raise ValidationError(
                "The mock.errorOutput.error field is required when mock.errorOutput is specified."
            )
    else:
        if config.map_iteration_failure_count is not None:
            raise ValidationError(
                "TestState does not support MapIterationFailureCount when a mock is not specified."
            )
        if kind in ("Map", "Parallel"):
            raise _unsupported_definition(
                "TestState API does not support Map or Parallel states. Supported state types include: "
                "[Task, Wait, Pass, Succeed, Fail, Choice]"
            )
        if kind == "Task":
            resource = str(raw.get("Resource", ""))
            if not role_arn:
                raise ValidationError("RoleArn must be specified when testing a Task state")
            if ":activity:" in resource or resource.endswith((".sync", ".sync:2", ".waitForTaskToken")):
                raise ValidationError(
                    "TestState does not support Activity tasks, .sync or .waitForTaskToken service "
                    "integration patterns when a mock is not specified."
                )
        if context is not None:
            raise ValidationError("TestState does not support Context when a mock is not specified.")
    if config.error_caused_by_state is not None:
        _check_error_caused_by_state(raw, mock, config.error_caused_by_state)
    value = _json_field(input if input is not None else "{}", "input", InvalidExecutionInput)
    variable_values = _json_field(variables, "variables", ValidationError) if variables is not None else {}
    if not isinstance(variable_values, dict):
        raise ValidationError("The variables field must be a JSON object.")
    context_value = _json_field(context, "context", ValidationError) if context is not None else None
    if context_value is not None and not isinstance(context_value, dict):
        raise ValidationError("The context field must be a JSON object.")
    prepared = Prepared(
        state=_compile(raw, query_language),
        raw=raw,
        input=value,
        variables=variable_values,
        context=context_value,
        inspection_level=level,
        role_arn=role_arn,
        mock=mock,
        config=config,
    )
    if mock is not None:
        _check_mock(prepared, mock, check_mock_shape)
    if config.map_item_reader_data is not None:
        prepared.item_reader_data = _json_field(
            config.map_item_reader_data, "mapItemReaderData", ValidationError
        )
    return prepared


def _check_error_caused_by_state(raw: dict[str, Any], mock: Mock | None, name: str) -> None:
    """``errorCausedByState`` names the state inside a tested Map or Parallel state that a mocked
    error comes from: it needs a mocked error, such a state, and a state of that name in it."""
    kind = raw.get("Type")
    if mock is None:
        raise ValidationError("TestState does not support ErrorCausedByState when a mock is not specified.")
    if kind not in ("Map", "Parallel"):
        raise ValidationError(
            "TestState supports ErrorCausedByState only for Map and Parallel states, "
            f"not for state type '{kind}'."
        )
    if mock.error_output is None:
        raise ValidationError("ErrorCausedByState can only be specified with a mock.errorOutput.")
    if name not in _nested_state_names(raw):
        raise ValidationError(f"ErrorCausedByState '{name}' is not a state within the tested {kind} state.")


def _nested_state_names(raw: dict[str, Any]) -> set[str]:
    """The names of every state inside a Map's processor or a Parallel's branches, at any depth."""
    names: set[str] = set()
    graphs = [raw.get("ItemProcessor"), raw.get("Iterator"), *(raw.get("Branches") or [])]
    for graph in graphs:
        states = graph.get("States") if isinstance(graph, dict) else None
        if isinstance(states, dict):
            for state_name, state in states.items():
                names.add(state_name)
                if isinstance(state, dict):
                    names |= _nested_state_names(state)
    return names


def _unsupported_definition(message: str) -> DefinitionError:
    """``InvalidDefinition`` with AWS's own message (not the diagnostics' list)."""
    exc = DefinitionError([Diagnostic("SCHEMA_VALIDATION_FAILED", message)])
    exc.message = message
    exc.args = (message,)
    return exc


def _enum_message(name: str, value: str, allowed: tuple[str, ...]) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def _json_field(text: str, name: str, error: type[ValidationError] | type[InvalidExecutionInput]) -> Any:
    try:
        return parse_json(text)
    except (json.JSONDecodeError, NotJson, ValueError):
        if error is InvalidExecutionInput:
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{text}'") from None
        raise ValidationError(f"The {name} field must be valid JSON.") from None


def _find_state(
    definition: str | bytes | dict[str, Any], state_name: str | None
) -> tuple[dict[str, Any], str]:
    """The tested state's definition and the query language it defaults to."""
    doc, _ = parse_definition(definition)
    if not isinstance(doc, dict):
        raise DefinitionError(
            [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
        )
    if state_name is None:
        name = _WRAPPER_NAME
        while _lookup({"States": {"": doc}}, name) is not None:  # a name no nested state has
            name += "_"
        machine = {"StartAt": name, "States": {name: doc}}
        diagnostics = [d for d in validate_definition(machine) if not _fine_for_lone_state(d)]
        if diagnostics:
            raise DefinitionError(diagnostics)
        return doc, "JSONPath"
    diagnostics = validate_definition(doc)
    if diagnostics:
        raise DefinitionError(diagnostics)
    language = str(doc.get("QueryLanguage", "JSONPath"))
    found = _lookup(doc, state_name)
    if found is None:
        raise ValidationError(f"State '{state_name}' is not found in the state machine definition.")
    return found, language


def _fine_for_lone_state(diagnostic: Diagnostic) -> bool:
    """A lone state may name states that are not there and need not end anything; and a mocked
    Map's processor never runs, so AWS does not ask for its resources to exist."""
    return diagnostic.code in _LONE_STATE_FINE or diagnostic.message.startswith("The resource provided ")


def _lookup(scope: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The state ``name`` in ``scope`` or in a Parallel branch / Map processor within it."""
    states = scope.get("States") or {}
    if name in states:
        found: dict[str, Any] = states[name]
        return found
    for spec in states.values():
        inner = [*spec.get("Branches", ())]
        processor = spec.get("ItemProcessor") or spec.get("Iterator")
        if processor:
            inner.append(processor)
        for child in inner:
            hit = _lookup(child, name)
            if hit is not None:
                return hit
    return None


def _compile(raw: dict[str, Any], query_language: str) -> State:
    compiler = ScopeCompiler(query_language)
    spec = {k: v for k, v in raw.items() if k not in _DATA_FIELDS} if raw.get("Type") == "Map" else raw
    return STATE_TYPES[str(raw["Type"])](CONTEXT_STATE_NAME, spec, compiler)


def _check_mock(prepared: Prepared, mock: Mock, check_shape: MockShapeCheck | None) -> None:
    if mock.result is None:
        return
    try:
        result = parse_json(mock.result)
    except (json.JSONDecodeError, NotJson, ValueError):
        raise ValidationError("Mocked result must be valid JSON") from None
    raw = prepared.raw
    kind = prepared.type
    if kind == "Map":
        if "ResultWriter" in raw:
            if not isinstance(result, dict):
                raise ValidationError("Mocked result must be a JSON object.")
        elif not isinstance(result, list):
            raise ValidationError("Mocked result must be an array.")
        failures = prepared.config.map_iteration_failure_count
        if failures is not None and isinstance(result, list) and failures > len(result):
            raise ValidationError(
                "Map iteration failure count must be less than or equal to the number of Map iterations"
            )
    elif kind == "Parallel":
        if not isinstance(result, list):
            raise ValidationError("Mocked result must be an array.")
        if len(result) != len(raw.get("Branches") or ()):
            raise ValidationError(
                "Mocked result must contain the same number of items as number of Parallel branches."
            )
    elif kind == "Task" and check_shape is not None and mock.field_validation_mode != "NONE":
        problem = check_shape(str(raw.get("Resource", "")), result, mock.field_validation_mode)
        if problem is not None:
            raise ValidationError(f"Mock result schema validation error: {problem}")
    prepared.mock_result = result
