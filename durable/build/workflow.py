"""A whole machine: the states from a first state or chain, and the top-level fields.

``Workflow(check >> review, comment="...", timeout_seconds=3600).to_dict()`` is the ASL a person
would write: ``StartAt`` and ``States`` from the chain, ``Next``/``End`` wired, then validated
with the interpreter's validator (the one ``Engine.validate_state_machine_definition`` uses),
so an invalid machine raises :class:`~durable.DefinitionError` with AWS's diagnostics and the
JSON path of each fault, before it reaches an engine.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Unpack

from ..errors import DefinitionError, Diagnostic
from ..interpreter.validate import validate_definition
from .assemble import Emitter
from .fields import WorkflowFields, allowed, converted
from .state import BuildError, Chain, State, Step
from .svg import Diagram

__all__ = ["Workflow"]

_TOP = ("Comment", "QueryLanguage", "Version", "TimeoutSeconds", "StartAt", "States")


class Workflow:
    """A state machine definition built from states.

    ``to_dict()``/``to_json()`` give the definition (validated; ``validate=False`` skips that),
    ``diagnostics()`` lists the faults without raising, ``graph()``/``to_svg()`` draw it (and a
    notebook shows it through ``_repr_svg_``). Engines take the dict or the JSON text::

        machine = await engine.create_state_machine("orders", workflow.to_dict())
    """

    def __init__(self, start: Step, **keywords: Unpack[WorkflowFields]) -> None:
        if not isinstance(start, (State, Chain)):
            raise TypeError(f"a workflow starts with a state or a chain, not {type(start).__name__}")
        accepted = allowed(WorkflowFields)
        for key in keywords:
            if key not in accepted:
                raise TypeError(f"Workflow() got an unexpected keyword argument {key!r}")
        self.start = start
        self._fields = converted(keywords)
        self._raw = copy.deepcopy(dict(keywords.get("fields", {})))
        for key in self._raw:
            if key in ("StartAt", "States") or key in self._fields:
                raise BuildError(f"Workflow: fields={{{key!r}: ...}} would overwrite what the builder writes")

    def __repr__(self) -> str:
        return f"Workflow({self.start!r})"

    def _assemble(self) -> dict[str, Any]:
        body = {**copy.deepcopy(self._fields), **Emitter().graph(self.start, "")}
        known = [k for k in _TOP if k in body]
        out = {k: body[k] for k in known}
        out.update(copy.deepcopy(self._raw))
        return out

    def diagnostics(self, machine_type: str = "STANDARD") -> list[Diagnostic]:
        """Every fault the validator finds (``[]`` when valid); builder mistakes still raise."""
        return validate_definition(self._assemble(), machine_type=machine_type)

    def to_dict(self, *, validate: bool = True, machine_type: str = "STANDARD") -> dict[str, Any]:
        """The definition as a dict; raises :class:`~durable.DefinitionError` when invalid
        (``machine_type="EXPRESS"`` adds the Express restrictions)."""
        definition = self._assemble()
        if validate:
            faults = validate_definition(definition, machine_type=machine_type)
            if faults:
                raise DefinitionError(faults)
        return definition

    def to_json(
        self, *, indent: int | None = 2, validate: bool = True, machine_type: str = "STANDARD"
    ) -> str:
        """The definition as JSON text, in the order a person writes it."""
        definition = self.to_dict(validate=validate, machine_type=machine_type)
        return json.dumps(definition, indent=indent, ensure_ascii=False)

    # --- display --------------------------------------------------------------------------------

    def graph(self, *, validate: bool = False) -> Diagram:
        """The state graph, drawn (a :class:`Diagram`: ``.svg``, ``.png()``, ``.save(path)``; a notebook
        shows it). Builder mistakes raise; an invalid definition draws unless ``validate``."""
        return Diagram.of(self.to_dict(validate=validate))

    def to_svg(self, *, validate: bool = False) -> str:
        return self.graph(validate=validate).svg

    def _repr_svg_(self) -> str:
        return self.to_svg()
