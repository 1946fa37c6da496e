"""Variable scoping rule: a nested scope must not assign a name an enclosing scope assigns.

A Parallel branch or a Map iteration reads its parent's variables; the ASL specification
forbids it to assign one of them (its assignments could never flow back). Distributed Map
children are executions of their own and see no parent variables, so they are exempt.
"""

from __future__ import annotations

from typing import Any

from ..errors import Diagnostic

__all__ = ["check_variable_scopes"]


def _assigned(state: dict[str, Any], loc: str) -> list[tuple[str, str]]:
    """(variable name, location) for every Assign of the state, its Choice rules and catchers."""
    found: list[tuple[str, str]] = []

    def add(assign: Any, where: str) -> None:
        if isinstance(assign, dict):
            for key in assign:
                if isinstance(key, str):
                    found.append((key[:-2] if key.endswith(".$") else key, f"{where}/Assign"))

    add(state.get("Assign"), loc)
    for field in ("Choices", "Catch"):
        items = state.get(field)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    add(item.get("Assign"), f"{loc}/{field}[{i}]")
    return found


def check_variable_scopes(definition: dict[str, Any]) -> list[Diagnostic]:
    found: list[Diagnostic] = []

    def walk(scope: Any, loc: str, outer: frozenset[str]) -> None:
        states = scope.get("States") if isinstance(scope, dict) else None
        if not isinstance(states, dict):
            return
        here: set[str] = set()
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            for variable, where in _assigned(state, f"{loc}/States/{name}"):
                here.add(variable)
                if variable in outer:
                    found.append(
                        Diagnostic(
                            "SCHEMA_VALIDATION_FAILED",
                            f"The variable '{variable}' is assigned in an enclosing scope and cannot be "
                            "assigned in a nested scope",
                            where,
                        )
                    )
        visible = outer | here
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            base = f"{loc}/States/{name}"
            branches = state.get("Branches")
            if isinstance(branches, list):
                for i, branch in enumerate(branches):
                    walk(branch, f"{base}/Branches[{i}]", visible)
            for key in ("ItemProcessor", "Iterator"):
                processor = state.get(key)
                if isinstance(processor, dict):
                    config = processor.get("ProcessorConfig")
                    distributed = isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"
                    walk(processor, f"{base}/{key}", frozenset() if distributed else visible)

    walk(definition, "", frozenset())
    return found
