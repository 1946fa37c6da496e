"""Compile an ASL definition once into an immutable :class:`Program`."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from ..errors import DefinitionError, Diagnostic
from .branching import Map, Parallel
from .commands import CHECKPOINT, CHECKPOINT_EVERY, CHECKPOINT_SECONDS
from .context import ExecutionContext
from .jackson import jackson_error
from .jsonvalue import NotJson, json_text, parse_json
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
        #: every state is pure and no path loops: the scope ends after at most one visit of each
        #: state, so it may run as a plain call (a loop must go through :meth:`run`, which yields
        #: a checkpoint now and then)
        self.pure = all(state.pure for state in self.states.values()) and not _loops(raw)

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
        now = ctx.services.now
        transitions = 0
        last = now()
        while True:
            if state.pure:
                nxt, data = state.step(data, ctx, lane)
            else:
                nxt, data = yield from state.run(data, ctx, lane)
            if nxt is None:
                return data
            state = states[nxt]
            transitions += 1
            if transitions % CHECKPOINT_EVERY == 0 or now() - last >= CHECKPOINT_SECONDS:
                yield CHECKPOINT
                last = now()


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

    @property
    def pure(self) -> bool:
        """Whether the machine never waits (pure states, no loop): :meth:`run_sync` runs it."""
        return self.scope.pure

    def run_sync(self, data: Any, ctx: ExecutionContext) -> Any:
        """Run a :attr:`pure` machine as a plain call; return its output."""
        return self.scope.run_sync(data, ctx, Lane(0))


def _loops(raw: dict[str, Any]) -> bool:
    """Whether some path through the scope's states (Next, Choice targets, Default, Catch) visits a
    state twice."""
    edges: dict[str, list[str]] = {}
    for name, spec in raw["States"].items():
        targets = [spec.get("Next"), spec.get("Default")]
        targets += [rule.get("Next") for rule in spec.get("Choices", ()) if isinstance(rule, dict)]
        targets += [c.get("Next") for c in spec.get("Catch", ()) if isinstance(c, dict)]
        edges[name] = [t for t in targets if isinstance(t, str)]
    done: set[str] = set()
    for root in edges:
        if root in done:
            continue
        path = {root}
        stack = [(root, iter(edges[root]))]  # depth-first, without recursion (long chains)
        while stack:
            name, successors = stack[-1]
            target = next(successors, None)
            if target is None:
                stack.pop()
                path.discard(name)
                done.add(name)
            elif target in path:
                return True
            elif target not in done and target in edges:
                path.add(target)
                stack.append((target, iter(edges[target])))
    return False


def parse_definition(definition: str | bytes | dict[str, Any]) -> tuple[Any, str]:
    """Parse definition text (or accept a dict); return ``(document, canonical_text)``.

    Invalid JSON raises :class:`DefinitionError` naming the line and column; so does text that is
    not UTF-8, and a document that is not JSON as Step Functions has it (lone surrogates, NaN,
    nesting deeper than :data:`~durable.interpreter.jsonvalue.MAX_DEPTH`, see jsonvalue).
    """
    if not isinstance(definition, (str, bytes)):
        try:
            text = json_text(definition).decode()
        except NotJson as exc:
            raise _invalid(f"Definition must be a valid JSON object: {exc.reason}") from None
        return definition, text
    if isinstance(definition, bytes):
        try:
            text = definition.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError(
                [Diagnostic("INVALID_JSON_DESCRIPTION", f"Invalid JSON: invalid UTF-8 at byte {exc.start}")]
            ) from None
    else:
        text = definition
    if not text.strip():
        raise _invalid("Definition must be a valid JSON object")
    try:
        doc = parse_json(text)
    except json.JSONDecodeError as exc:
        problem = jackson_error(exc)  # AWS-recorded: Jackson's message, and its location
        raise DefinitionError(
            [Diagnostic("INVALID_JSON_DESCRIPTION", problem.message, problem.location)]
        ) from None
    except NotJson as exc:
        raise DefinitionError(
            [Diagnostic("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {exc.reason}")]
        ) from None
    return doc, text


def _invalid(message: str) -> DefinitionError:
    return DefinitionError([Diagnostic("SCHEMA_VALIDATION_FAILED", message)])


def compile_program(definition: str | bytes | dict[str, Any], machine_type: str = "STANDARD") -> Program:
    """Validate and compile. Raises :class:`DefinitionError` with every diagnostic."""
    from .validate import validate_definition

    doc, text = parse_definition(definition)
    diagnostics = validate_definition(doc, machine_type=machine_type)
    if diagnostics:
        raise DefinitionError(diagnostics)
    return Program(doc, text, machine_type)
