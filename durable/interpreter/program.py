"""Compile an ASL definition once into an immutable :class:`Program`."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from ..errors import DefinitionError, Diagnostic
from .branching import Map, Parallel
from .context import ExecutionContext
from .states import Choice, Fail, Lane, Pass, State, Succeed, Wait
from .task import Task

STATE_TYPES: dict[str, type[State]] = {
    "Pass": Pass,
    "Task": Task,
    "Choice": Choice,
    "Wait": Wait,
    "Succeed": Succeed,
    "Fail": Fail,
    "Parallel": Parallel,
    "Map": Map,
}

__all__ = ["Program", "Scope", "compile_program", "parse_definition"]


class ScopeCompiler:
    """Compiles nested scopes; carries the machine's query language (their default, per the spec)."""

    __slots__ = ("query_language",)

    def __init__(self, query_language: str = "JSONPath") -> None:
        self.query_language = query_language

    def __call__(self, raw: dict[str, Any]) -> Scope:
        return Scope(raw, self)


class Scope:
    """One ``States`` object (the machine, a Parallel branch or a Map processor)."""

    __slots__ = ("pure", "start", "states")

    def __init__(self, raw: dict[str, Any], compiler: ScopeCompiler | None = None) -> None:
        compiler = compiler or ScopeCompiler()
        self.states: dict[str, State] = {
            name: STATE_TYPES[spec["Type"]](name, spec, compiler) for name, spec in raw["States"].items()
        }
        self.start = self.states[raw["StartAt"]]
        #: every state is pure: the scope never waits and can run without a driver
        self.pure = all(state.pure for state in self.states.values())

    def run_sync(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Any:
        """:meth:`run` for a pure scope, as a plain call."""
        state = self.start
        states = self.states
        while True:
            nxt, data = state.step(data, ctx, lane)
            if nxt is None:
                return data
            state = states[nxt]

    def run(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Generator[Any, Any, Any]:
        """Run this scope from StartAt to a terminal state; return the final output."""
        state = self.start
        states = self.states
        while True:
            if state.pure:
                nxt, data = state.step(data, ctx, lane)
            else:
                nxt, data = yield from state.run(data, ctx, lane)
            if nxt is None:
                return data
            state = states[nxt]


class Program:
    """A validated, compiled definition. Immutable and shared by every execution."""

    __slots__ = ("definition", "machine_type", "scope", "text", "timeout_seconds")

    def __init__(self, definition: dict[str, Any], text: str, machine_type: str) -> None:
        self.definition = definition
        self.text = text
        self.machine_type = machine_type
        self.timeout_seconds: int | None = definition.get("TimeoutSeconds")
        self.scope = Scope(definition, ScopeCompiler(definition.get("QueryLanguage", "JSONPath")))

    def run(self, data: Any, ctx: ExecutionContext) -> Generator[Any, Any, Any]:
        return self.scope.run(data, ctx, Lane(0))


def parse_definition(definition: str | bytes | dict[str, Any]) -> tuple[Any, str]:
    """Parse definition text (or accept a dict); return ``(document, canonical_text)``.

    Invalid JSON raises :class:`DefinitionError` naming the line and column.
    """
    if not isinstance(definition, (str, bytes)):
        try:
            return definition, json.dumps(definition)
        except (TypeError, ValueError):
            raise DefinitionError(
                [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
            ) from None
    text = definition.decode() if isinstance(definition, bytes) else definition
    if not text.strip():
        raise DefinitionError(
            [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
        )
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            [
                Diagnostic(
                    "INVALID_JSON_DESCRIPTION",
                    f"Invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                )
            ]
        ) from None
    except (TypeError, ValueError):
        raise DefinitionError(
            [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
        ) from None


def compile_program(definition: str | bytes | dict[str, Any], machine_type: str = "STANDARD") -> Program:
    """Validate and compile. Raises :class:`DefinitionError` with every diagnostic."""
    from .validate import validate_definition

    doc, text = parse_definition(definition)
    diagnostics = validate_definition(doc, machine_type=machine_type)
    if diagnostics:
        raise DefinitionError(diagnostics)
    return Program(doc, text, machine_type)
