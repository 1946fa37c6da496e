"""From linked states to ``StartAt``/``States`` objects, refusing what ASL cannot say.

The states of one ``States`` object are those reachable from its first state through ``Next``,
Choice rules, ``Default`` and Catch; they are listed in the order a reader follows them (``Next``
first). Names are unique across the whole machine (branches included), a state object lives in
one ``States`` object only, and a transition by name must name a state of the same one.
"""

from __future__ import annotations

from typing import Any

from .state import BuildError, State, Step, first_state

__all__ = ["Emitter"]


def _reachable(first: State) -> list[State]:
    order: list[State] = []
    seen: set[int] = set()
    stack = [first]
    while stack:
        state = stack.pop()
        if id(state) in seen:
            continue
        seen.add(id(state))
        order.append(state)
        stack.extend(t for t in reversed(state.targets()) if isinstance(t, State) and id(t) not in seen)
    return order


class Emitter:
    """One pass over a machine: where each state lives, and which names are taken."""

    def __init__(self) -> None:
        self._homes: dict[int, tuple[State, str]] = {}
        self._names: dict[str, str] = {}

    def graph(self, start: Step, loc: str) -> dict[str, Any]:
        """The ``StartAt``/``States`` of the states reachable from ``start``; ``loc`` is the JSON
        path of the object holding them (``""`` for the machine)."""
        first = first_state(start)
        states = _reachable(first)
        where = f"{loc}/States"
        for state in states:
            self._register(state, where)
        names = {s.name for s in states}
        for state in states:
            for target in state.targets():
                if isinstance(target, str) and target not in names:
                    raise BuildError(
                        f"state {state.name!r} goes to {target!r}, which is no state of {where}"
                        f" (its states: {', '.join(sorted(names))})"
                    )
        return {
            "StartAt": first.name,
            "States": {s.name: s.emit(self, f"{where}/{s.name}") for s in states},
        }

    def _register(self, state: State, where: str) -> None:
        home = self._homes.get(id(state))
        if home is not None:
            raise BuildError(
                f"state {state.name!r} is in two places: {home[1]} and {where}; a state belongs to"
                " one States object (build another state, with another name, for the other place)"
            )
        self._homes[id(state)] = (state, where)
        taken = self._names.get(state.name)
        if taken is not None:
            raise BuildError(
                f"duplicate state name {state.name!r}: at {taken}/{state.name} and"
                f" {where}/{state.name} (names are unique in the whole machine)"
            )
        self._names[state.name] = where
