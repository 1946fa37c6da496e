"""The state graph of an ASL definition, as nodes, edges and nested scopes, ready to lay out.

Read from the definition itself (a built one or any hand-written one, valid or not), so what is
drawn is what runs. A scope is one ``StartAt``/``States`` object; a Parallel state holds one
scope per branch, a Map state one for its processor. Edges are ``next``, ``choice`` (labelled
with the rule, shortly), ``default``, ``catch`` (labelled with the errors), and, in the machine's
own scope, ``start``/``end`` from and to the two pseudo-states ``Start`` and ``End``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Edge", "Node", "Scope", "read_diagram", "rule_text"]

MAX_LABEL = 48


@dataclass
class Node:
    key: str  # unique in the diagram
    name: str
    kind: str  # the ASL Type ("?" when unreadable), or "Start" / "End"
    scopes: list[Scope] = field(default_factory=list)

    @property
    def pseudo(self) -> bool:
        return self.key.endswith(("#start", "#end"))


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # next | choice | default | catch | start | end
    label: str = ""


@dataclass
class Scope:
    key: str
    label: str  # "" for the machine, "Branch 1", "ItemProcessor", ...
    start: str | None = None  # the key of the first node, where the layout's search starts
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def read_diagram(definition: Mapping[str, Any]) -> Scope:
    """The machine's scope, with its Start and End pseudo-states."""
    return _scope(definition, "", "", top=True)


def _scope(body: Mapping[str, Any], loc: str, label: str, *, top: bool = False) -> Scope:
    scope = Scope(loc or "/", label)
    states = body.get("States")
    states = states if isinstance(states, dict) else {}
    keys = {name: f"{loc}/States/{i}" for i, name in enumerate(states)}
    start = body.get("StartAt")
    if isinstance(start, str) and start in keys:
        scope.start = keys[start]
    if top:
        scope.nodes.append(Node(f"{loc}#start", "Start", "Start"))
        if scope.start is not None:
            scope.edges.append(Edge(f"{loc}#start", scope.start, "start"))
        scope.start = f"{loc}#start"
    ends: list[str] = []
    for name, state in states.items():
        key = keys[name]
        if not isinstance(state, dict):
            scope.nodes.append(Node(key, name, "?"))
            continue
        kind = state.get("Type")
        node = Node(key, name, kind if isinstance(kind, str) else "?")
        scope.nodes.append(node)
        node.scopes.extend(_inner(state, f"{loc}/States/{name}"))
        for target, edge_kind, text in _transitions(state):
            if target in keys:
                scope.edges.append(Edge(key, keys[target], edge_kind, text))
        if state.get("End") is True or kind in ("Succeed", "Fail"):
            ends.append(key)
    if top and ends:
        scope.nodes.append(Node(f"{loc}#end", "End", "End"))
        scope.edges.extend(Edge(key, f"{loc}#end", "end") for key in ends)
    return scope


def _inner(state: Mapping[str, Any], loc: str) -> list[Scope]:
    branches = state.get("Branches")
    out: list[Scope] = []
    if isinstance(branches, list):
        out.extend(
            _scope(b, f"{loc}/Branches/{i}", f"Branch {i + 1}")
            for i, b in enumerate(branches)
            if isinstance(b, dict)
        )
    for key in ("ItemProcessor", "Iterator"):
        processor = state.get(key)
        if isinstance(processor, dict):
            config = processor.get("ProcessorConfig")
            mode = config.get("Mode") if isinstance(config, dict) else None
            label = f"{key} ({mode})" if isinstance(mode, str) and mode != "INLINE" else key
            out.append(_scope(processor, f"{loc}/{key}", label))
    return out


def _transitions(state: Mapping[str, Any]) -> list[tuple[object, str, str]]:
    out: list[tuple[object, str, str]] = []
    if "Next" in state:
        out.append((state["Next"], "next", ""))
    choices = state.get("Choices")
    for rule in choices if isinstance(choices, list) else []:
        if isinstance(rule, dict):
            out.append((rule.get("Next"), "choice", shorten(rule_text(rule))))
    if "Default" in state:
        out.append((state["Default"], "default", "Default"))
    catchers = state.get("Catch")
    for catcher in catchers if isinstance(catchers, list) else []:
        if isinstance(catcher, dict):
            errors = catcher.get("ErrorEquals")
            names = ", ".join(str(e) for e in errors) if isinstance(errors, list) else "?"
            out.append((catcher.get("Next"), "catch", shorten(f"Catch {names}")))
    return [(t, k, text) for t, k, text in out if isinstance(t, str)]


def shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


_SYMBOLS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}
_FAMILIES = ("String", "Numeric", "Timestamp", "Boolean")
_NOT_A_TEST = frozenset({"Variable", "Next", "Comment", "Assign", "Output"})


def rule_text(rule: object) -> str:
    """A Choice rule in a line: ``$.a == "x" and not($.b is null)``; a Condition's expression."""
    if not isinstance(rule, dict):
        return "?"
    if "Condition" in rule:
        condition = rule["Condition"]
        if isinstance(condition, str):
            inner = condition.strip()
            if inner.startswith("{%") and inner.endswith("%}"):
                inner = inner[2:-2].strip()
            return inner
        return json.dumps(condition)
    for combinator, joiner in (("And", " and "), ("Or", " or ")):
        if combinator in rule:
            parts = rule[combinator] if isinstance(rule[combinator], list) else []
            return joiner.join(_grouped(r) for r in parts)
    if "Not" in rule:
        return f"not({rule_text(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key not in _NOT_A_TEST:
            return _comparison(variable, key, value)
    return variable


def _grouped(rule: object) -> str:
    text = rule_text(rule)
    return f"({text})" if isinstance(rule, dict) and ("And" in rule or "Or" in rule) else text


def _comparison(variable: str, operator: str, value: object) -> str:
    by_path = operator.endswith("Path")
    base = operator[:-4] if by_path else operator
    operand = str(value) if by_path else json.dumps(value, ensure_ascii=False)
    for family in _FAMILIES:
        symbol = _SYMBOLS.get(base[len(family) :]) if base.startswith(family) else None
        if symbol is not None:
            return f"{variable} {symbol} {operand}"
    if base == "StringMatches":
        return f"{variable} matches {operand}"
    if base.startswith("Is"):
        what = base[2:].lower()
        return f"{variable} is {what}" if value is True else f"{variable} is not {what}"
    return f"{variable} {operator} {operand}"
