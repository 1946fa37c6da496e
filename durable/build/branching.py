"""States that hold other states: Parallel (its ``Branches``) and Map (its ``ItemProcessor``).

A branch or a processor is a state, a chain, or a :class:`Branch` (a chain with a ``Comment``);
its states form their own ``States`` object, so none of them may be used anywhere else.

A Distributed Map is a Map with ``processor_config={"Mode": "DISTRIBUTED", "ExecutionType":
"STANDARD"}``; its ``item_reader``, ``item_batcher``, ``result_writer``, ``tolerated_failure_*``,
``label`` and ``max_concurrency`` are written as given.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, Unpack

from .fields import MapFields, ParallelFields
from .state import BuildError, Chain, State, Step

if TYPE_CHECKING:
    from .assemble import Emitter

__all__ = ["Branch", "Map", "Parallel", "SubGraph"]


class Branch:
    """A ``StartAt``/``States`` object of its own: a Parallel branch or a Map's processor, with
    the ``Comment`` such an object may carry."""

    def __init__(self, start: Step, *, comment: str | None = None) -> None:
        if not isinstance(start, (State, Chain)):
            raise TypeError(f"a branch starts with a state or a chain, not {type(start).__name__}")
        self.start = start
        self.comment = comment

    def emit(self, em: Emitter, loc: str, head: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = dict(head or {})
        if self.comment is not None:
            out["Comment"] = self.comment
        out.update(em.graph(self.start, loc))
        return out

    def __repr__(self) -> str:
        return f"Branch({self.start!r})"


SubGraph: TypeAlias = State | Chain | Branch


def _branch(step: SubGraph) -> Branch:
    return step if isinstance(step, Branch) else Branch(step)


class Parallel(State):
    """Runs every branch on the state's input; the result is the list of their outputs."""

    TYPE: ClassVar[str] = "Parallel"
    _fields_type = ParallelFields
    _structure = frozenset({"Branches"})

    def __init__(
        self, name: str, branches: Iterable[SubGraph] = (), **keywords: Unpack[ParallelFields]
    ) -> None:
        super().__init__(name, keywords)
        self.branches = [_branch(b) for b in branches]

    def add_branch(self, branch: SubGraph) -> Parallel:
        self.branches.append(_branch(branch))
        return self

    def _emit_structure(self, em: Emitter, loc: str) -> dict[str, Any]:
        return {"Branches": [b.emit(em, f"{loc}/Branches[{i}]") for i, b in enumerate(self.branches)]}


class Map(State):
    """Runs its processor on every item. ``Map(name, processor)`` writes an ``ItemProcessor``;
    ``Map(name, iterator=processor)`` writes the older ``Iterator`` of the same shape."""

    TYPE: ClassVar[str] = "Map"
    _fields_type = MapFields
    _structure = frozenset({"ItemProcessor", "Iterator"})

    def __init__(
        self,
        name: str,
        processor: SubGraph | None = None,
        *,
        iterator: SubGraph | None = None,
        **keywords: Unpack[MapFields],
    ) -> None:
        if (processor is None) == (iterator is None):
            raise BuildError(f"Map {name!r} takes exactly one processor (or iterator=)")
        config = keywords.pop("processor_config", None)
        super().__init__(name, keywords)
        chosen = processor if processor is not None else iterator
        assert chosen is not None
        self.processor = _branch(chosen)
        self._processor_field = "ItemProcessor" if processor is not None else "Iterator"
        self._config = copy.deepcopy(dict(config)) if config is not None else None

    def _emit_structure(self, em: Emitter, loc: str) -> dict[str, Any]:
        field = self._processor_field
        head = {"ProcessorConfig": copy.deepcopy(self._config)} if self._config is not None else None
        return {field: self.processor.emit(em, f"{loc}/{field}", head)}
