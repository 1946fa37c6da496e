"""What every built state shares, and how states link into chains.

A state knows its name, its ASL fields, its Retry/Catch handlers and at most one ``Next``.
``a >> b`` (or ``Chain([a, b])``) sets ``a``'s ``Next`` to ``b`` at once, so a second, different
``Next`` is refused where it is written; a transitioning state left without one ends its
``States`` object (``"End": true``). A ``Next`` may also name a state (``a >> "Poll"``), for a
loop back to a state built elsewhere; the name must then be a state of the same ``States``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from ..errors import DurableError
from .fields import allowed, converted, ordered

if TYPE_CHECKING:
    from .assemble import Emitter
    from .handlers import Catch, Retry

__all__ = ["BuildError", "Chain", "State", "Step", "Target", "first_state", "target_name"]


class BuildError(DurableError):
    """A mistake in how a machine is put together with :mod:`durable.build` (two states of one
    name, one state in two places, a second ``Next``, a ``Next`` naming no state)."""

    code = "BuildError"


# the fields the builder writes itself: the escape hatch may not set them
_WIRED = frozenset({"Type", "Next", "End"})


class State:
    """Base of the built states; use :class:`Pass`, :class:`Task`, ... ."""

    TYPE: ClassVar[str] = ""
    _fields_type: ClassVar[type]
    _terminal: ClassVar[bool] = False  # no Next: Choice, Succeed, Fail
    _structure: ClassVar[frozenset[str]] = frozenset()  # ASL fields the subclass writes
    _positional: ClassVar[frozenset[str]] = frozenset()  # fields taken as arguments, not keywords

    def __init__(self, name: str, keywords: Mapping[str, Any]) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a state name is a string, not {type(name).__name__}")
        accepted = allowed(self._fields_type) | self._positional
        for key in keywords:
            if key not in accepted:
                raise TypeError(f"{self.TYPE}() got an unexpected keyword argument {key!r}")
        self.name = name
        self._fields = converted(keywords, skip=frozenset({"retry", "catch"}))
        self._retry: list[Retry] = list(keywords.get("retry", ()))
        self._catch: list[Catch] = list(keywords.get("catch", ()))
        self._raw = copy.deepcopy(dict(keywords.get("fields", {})))
        taken = _WIRED | self._structure | self._fields.keys()
        taken |= {"Retry"} if self._retry else set()
        taken |= {"Catch"} if self._catch else set()
        for key in self._raw:
            if key in taken:
                raise BuildError(
                    f"state {name!r}: fields={{{key!r}: ...}} would overwrite what the builder writes"
                    f" (give {key!r} through its keyword, or leave the keyword out)"
                )
        self._next: State | str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # --- linking ------------------------------------------------------------------------------

    def __rshift__(self, other: Step | str) -> Chain:
        return Chain([self, other])

    def link(self, target: State | str) -> None:
        """Set this state's ``Next`` (what ``>>`` does); a different second one is an error."""
        if self._terminal:
            raise BuildError(f"{self.TYPE} state {self.name!r} has no Next: {self._why_no_next()}")
        if self._next is None:
            self._next = target
        elif self._next is not target and not (isinstance(target, str) and self._next == target):
            raise BuildError(
                f"state {self.name!r} already continues to {target_name(self._next)!r}, not"
                f" {target_name(target)!r}: a state has one Next (branch with a Choice)"
            )

    def _why_no_next(self) -> str:
        return "it ends the machine"

    def add_retry(self, retry: Retry) -> None:
        """Append a retrier (after those given as ``retry=``)."""
        self._check_handlers("retry")
        self._retry.append(retry)

    def add_catch(self, catch: Catch) -> None:
        """Append a catcher (after those given as ``catch=``)."""
        self._check_handlers("catch")
        self._catch.append(catch)

    def _check_handlers(self, keyword: str) -> None:
        if keyword not in allowed(self._fields_type):
            raise BuildError(f"a {self.TYPE} state has no {keyword.capitalize()}")
        if keyword.capitalize() in self._raw:
            raise BuildError(f"state {self.name!r} has {keyword.capitalize()} in fields=")

    # --- what the emitter asks ----------------------------------------------------------------

    def targets(self) -> list[State | str]:
        """Every state this one transitions to, ``Next`` first (the order states are listed)."""
        out: list[State | str] = [] if self._next is None else [self._next]
        out.extend(self._structure_targets())
        out.extend(first_state(c.next) if not isinstance(c.next, str) else c.next for c in self._catch)
        return out

    def _structure_targets(self) -> list[State | str]:
        return []

    def emit(self, em: Emitter, loc: str) -> dict[str, Any]:
        """This state's ASL object; ``loc`` is its JSON path (``/States/Name``)."""
        body: dict[str, Any] = {"Type": self.TYPE, **copy.deepcopy(self._fields)}
        body.update(self._emit_structure(em, loc))
        if self._retry:
            body["Retry"] = [r.to_dict() for r in self._retry]
        if self._catch:
            body["Catch"] = [c.emit() for c in self._catch]
        body.update(copy.deepcopy(self._raw))
        if not self._terminal:
            if self._next is None:
                body["End"] = True
            else:
                body["Next"] = target_name(self._next)
        return ordered(body)

    def _emit_structure(self, em: Emitter, loc: str) -> dict[str, Any]:
        return {}

    # --- display --------------------------------------------------------------------------------

    def _repr_svg_(self) -> str:
        from .workflow import Workflow  # a state draws as the machine it starts

        return Workflow(self).to_svg()


class Chain:
    """States in sequence: each one's ``Next`` is the one after it.

    ``Chain([a, b, c])`` and ``a >> b >> c`` are the same chain; chains nest and flatten
    (``Chain([a, b >> c])``). A chain may end in a state's name (``... >> "Poll"``): a loop back.
    """

    def __init__(self, steps: Iterable[Step | str] = ()) -> None:
        self._states: list[State] = []
        for step in steps:
            self._append(step)

    def _append(self, step: Step | str) -> None:
        if isinstance(step, str):
            if not self._states:
                raise BuildError(f"a chain cannot start with a name ({step!r}): start it with a state")
            self._states[-1].link(step)
            return
        if not isinstance(step, (State, Chain)):
            raise TypeError(f"a chain links states, chains and names, not {type(step).__name__}")
        states = [step] if isinstance(step, State) else step.states
        if self._states and states:
            self._states[-1].link(states[0])
        self._states.extend(states)

    @property
    def states(self) -> list[State]:
        return list(self._states)

    @property
    def first(self) -> State:
        if not self._states:
            raise BuildError("the chain is empty")
        return self._states[0]

    @property
    def last(self) -> State:
        if not self._states:
            raise BuildError("the chain is empty")
        return self._states[-1]

    def __rshift__(self, other: Step | str) -> Chain:
        chain = Chain(self._states)
        chain._append(other)
        return chain

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return " >> ".join(repr(s) for s in self._states) if self._states else "Chain([])"

    def _repr_svg_(self) -> str:
        from .workflow import Workflow

        return Workflow(self).to_svg()


Step: TypeAlias = State | Chain
Target: TypeAlias = State | Chain | str
"""Where a transition goes: a state, the first state of a chain, or a state's name."""


def first_state(step: Step) -> State:
    return step if isinstance(step, State) else step.first


def target_name(target: Target) -> str:
    if isinstance(target, str):
        return target
    return first_state(target).name
