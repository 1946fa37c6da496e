"""WARNING diagnostics of ValidateStateMachineDefinition: legal definitions that are likely mistakes.

AWS documents three warning codes (API reference, ``ValidateStateMachineDefinitionDiagnostic``):

- ``NO_DOLLAR``: a payload-template field holds a path or an intrinsic call, but its name does not
  end with ``.$``, so the text is passed on literally;
- ``NO_PATH``: a field holds what looks like a path, but it is not a path field (a Fail state's
  ``Error``/``Cause`` rather than ``ErrorPath``/``CausePath``);
- ``PASS_RESULT_IS_STATIC``: a Pass state's ``Result`` holds a path, which is never evaluated.

Only JSONPath states are checked (JSONata has neither ``.$`` nor paths). AWS warns that the wording
of diagnostics may change; the codes and locations are what to rely on.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..errors import Diagnostic

__all__ = ["definition_warnings"]

_PATH: Final = re.compile(r"\$\$?(\Z|[.\[])")
_INTRINSIC: Final = re.compile(r"States\.[A-Za-z]+\(")
_TEMPLATES: Final = ("Parameters", "ResultSelector", "ItemSelector", "Assign")

NO_DOLLAR: Final = "No .$ on a field that appears to be a JSONPath or Intrinsic Function."
NO_PATH: Final = "Field value looks like a path, but field name does not end with 'Path'."
STATIC: Final = "Attempt to use a path in the result of a pass state."


def _looks_dynamic(value: object) -> bool:
    return isinstance(value, str) and bool(_PATH.match(value) or _INTRINSIC.match(value))


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def definition_warnings(definition: object) -> list[Diagnostic]:
    """Every warning of a (valid or invalid) parsed definition, in document order."""
    found: list[Diagnostic] = []
    if not isinstance(definition, dict):
        return found
    top_language = definition.get("QueryLanguage", "JSONPath")

    def warn(code: str, message: str, location: str) -> None:
        found.append(Diagnostic(code, message, location, "WARNING"))

    def template(value: Any, loc: str) -> None:
        todo = [(value, loc)]
        while todo:
            node, where = todo.pop(0)
            if isinstance(node, list):
                todo.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
            elif isinstance(node, dict):
                for key, item in node.items():
                    if not isinstance(key, str) or key.endswith(".$"):
                        continue
                    if _looks_dynamic(item):
                        warn("NO_DOLLAR", NO_DOLLAR, f"{where}/{_escape(key)}")
                    else:
                        todo.append((item, f"{where}/{_escape(key)}"))

    def static(value: Any) -> bool:
        if _looks_dynamic(value):
            return True
        if isinstance(value, list):
            return any(static(v) for v in value)
        if isinstance(value, dict):
            return any((isinstance(k, str) and k.endswith(".$")) or static(v) for k, v in value.items())
        return False

    def scope(machine: Any, loc: str) -> None:
        states = machine.get("States") if isinstance(machine, dict) else None
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            base = f"{loc}/States/{_escape(str(name))}"
            if state.get("QueryLanguage", top_language) == "JSONPath":
                for field in _TEMPLATES:
                    if field in state:
                        template(state[field], f"{base}/{field}")
                if state.get("Type") == "Pass" and "Result" in state and static(state["Result"]):
                    warn("PASS_RESULT_IS_STATIC", STATIC, f"{base}/Result")
                if state.get("Type") == "Fail":
                    for field in ("Error", "Cause"):
                        if _looks_dynamic(state.get(field)):
                            warn("NO_PATH", NO_PATH, f"{base}/{field}")
            branches = state.get("Branches")
            if isinstance(branches, list):
                for i, branch in enumerate(branches):
                    scope(branch, f"{base}/Branches[{i}]")
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    scope(state[key], f"{base}/{key}")

    scope(definition, "")
    return found
