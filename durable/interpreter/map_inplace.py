"""A Distributed Map's children run in place, streamed: items in, outputs out, nothing held.

When a Distributed Map's processor states only compute (Pass, Choice, Succeed, Fail...) and no
failure is tolerated, its children run one after another inside the parent's generator. Items
come a page at a time (:class:`~durable.interpreter.commands.ReadItems`, not journaled), go
through the ``ItemSelector`` and the ``ItemBatcher`` (a :class:`~durable.interpreter.distributed.Grouper`)
and each child input is run at once. At each checkpoint (every :data:`CHILDREN_PER_CHECKPOINT`
children or :data:`CHECKPOINT_SECONDS`) a :class:`~durable.interpreter.commands.MapRunProgress` hands the
children that ended to the runtime, with the *position* to go on from: the cursor of the page
holding the next child's first item, how many of that page's items to skip, and the counts so
far. A runtime that stores them (a journaled execution) commits the children's rows and the
position together, so a run resumed after a crash starts from the last committed position: it
re-reads at most one page and re-runs no child stored as ended. Memory holds one page, one batch
and one checkpoint's children, whatever the number of items.

A runtime that does not store them (no journal) leaves the outputs to the interpreter, which then
keeps them all, as before.

Each child run in place draws its ids and random numbers (``States.UUID()``, ``$random()``...) from
:class:`ChildServices`, seeded by the Map Run's id and its index: nothing is journaled for them,
and the history derived later for the child (see ``durable.runtime.child_queries``) draws the same.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .commands import (
    CHECKPOINT,
    CHECKPOINT_SECONDS,
    ChildProcessor,
    MapRunProgress,
    ReadItems,
)
from .context import ExecutionContext, Frame, Services
from .distributed import PAGE_ITEMS, ChildNames, child_machine_arn
from .failure import StatesFailure
from .query import states_bindings
from .seeded import seeded_bits
from .states import Lane

if TYPE_CHECKING:
    from .branching import Map

__all__ = ["ChildServices", "InPlace", "child_inputs", "run_in_place"]

_GOLDEN = 0x9E3779B97F4A7C15
#: children per checkpoint at most (and :data:`CHECKPOINT_SECONDS`): each checkpoint is a commit
#: (made while the next children run; more children per checkpoint measured no faster)
CHILDREN_PER_CHECKPOINT = 1024
_CLOCK_EVERY = 15  # the clock is read when the children of a checkpoint are a multiple of 16


class ChildServices:
    """The services of a child run in place: its parent's clock; ids and random numbers drawn
    from a seed of the child's own (its Map Run's id and its index), never journaled."""

    __slots__ = ("_base", "_index", "_n", "_seed", "services")

    def __init__(self, parent: Services, map_run_arn: str) -> None:
        self.services = parent
        digits = "".join(c for c in map_run_arn.rsplit(":", 1)[-1] if c in "0123456789abcdefABCDEF")
        self._base = int(digits[:16] or "0", 16)
        self._seed: int | None = self._base
        self._index = 0
        self._n = 0

    def at(self, index: int) -> ChildServices:
        """Draw the values of child ``index`` from now on (its seed is made when first drawn)."""
        self._index = index
        self._seed = None
        self._n = 0
        return self

    def _bits(self) -> int:
        seed = self._seed
        if seed is None:
            seed = self._seed = seeded_bits(self._base ^ (self._index * _GOLDEN))
        self._n += 1
        return seeded_bits(seed + self._n)

    def now(self) -> float:
        return self.services.now()

    def uuid4(self) -> str:
        h = f"{(self._bits() << 64) | self._bits():032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def random(self) -> float:
        return (self._bits() >> 11) / float(1 << 53)

    def random_int(self, start: int, end: int) -> int:
        low, high = min(start, end), max(start, end)
        return low + self._bits() % (high - low + 1)

    def task_token(self) -> str:
        return self.services.task_token()


class _ChildContext(ExecutionContext):
    """The context of the children run in place, one after another: :meth:`child_at` makes it
    child ``index``'s, whose ``$$.Execution`` ARN and name are made only when read (a child's
    states seldom read them), as are its seeded draws (:class:`ChildServices`)."""

    __slots__ = ("_draws", "_index", "_names")

    def __init__(self, ctx: ExecutionContext, names: ChildNames, draws: ChildServices) -> None:
        for slot in ExecutionContext.__slots__:
            if slot != "execution_arn" and slot != "execution_name":
                setattr(self, slot, getattr(ctx, slot))
        self.services = self._draws = draws
        self._names, self._index = names, 0

    @property
    def execution_arn(self) -> str:
        return self._names.arn(self._index)

    @execution_arn.setter
    def execution_arn(self, value: str) -> None:
        raise AttributeError("a child run in place is named by its index (child_at)")

    @property
    def execution_name(self) -> str:
        return self._names.name(self._index)

    @execution_name.setter
    def execution_name(self, value: str) -> None:
        raise AttributeError("a child run in place is named by its index (child_at)")

    def child_at(self, index: int, value: Any, start_epoch: float) -> None:
        """``$$.Execution`` is now child ``index``'s (as :meth:`ExecutionContext.child_is`)."""
        self._index, self.input = index, value
        self.start_epoch, self._start_time = start_epoch, None
        self._draws.at(index)


class InPlace:
    """What a run of children (in place, or streamed by the runtime) ended with: their outputs
    (None when the runtime stored them; a failed child's is a
    :class:`~durable.interpreter.commands.ChildFailure`) and inputs (kept only when the outputs
    are and a ResultWriter needs them), how many children and items, how many children failed
    (tolerated)."""

    __slots__ = ("executions", "failed", "inputs", "items", "results")

    def __init__(
        self,
        results: list[Any] | None,
        inputs: list[Any] | None,
        executions: int,
        items: int,
        failed: int = 0,
    ):
        self.results, self.inputs, self.executions, self.items = results, inputs, executions, items
        self.failed = failed


class _Child:
    """A child's input, its items (a batch's size, else 1), and where the next child's first
    item is (page cursor, items of that page before it, its index among all items; ``skip`` -1:
    no child follows)."""

    __slots__ = ("cursor", "index", "skip", "value", "weight")

    def __init__(self, value: Any, weight: int, cursor: Any, skip: int, index: int) -> None:
        self.value, self.weight, self.cursor, self.skip, self.index = value, weight, cursor, skip, index


def child_inputs(
    m: Map, state_input: Any, effective: Any, frame: Frame, items: list[Any] | None, start: dict[str, Any]
) -> Generator[Any, Any, None]:
    """The children's inputs (:class:`_Child`) from the position ``start`` on, and the
    :class:`ReadItems` to answer (send the page back) when an ItemReader gives the items."""
    if start.get("Done"):
        return
    reader, name = m.reader, m.name
    cursor: Any = start.get("Cursor")
    skip: int = start.get("Skip", 0)
    index: int = start.get("Items", 0)
    if items is not None:  # the children's inputs, made already (selected and batched)
        batched = m.batcher is not None
        for k in range(skip, len(items)):
            value = items[k]
            yield _Child(value, len(value["Items"]) if batched else 1, None, k + 1, k + 1)
        return
    arguments: Any = None
    max_items: int | None = None
    if reader is not None:
        arguments, max_items = reader.start(state_input, effective, frame)
    grouper = m.batcher.grouper(state_input, effective, frame) if m.batcher is not None else None
    selector, query = m.item_selector, m.item_selector_q
    while True:
        base = index - skip  # the index of the page's first item
        if reader is not None:
            size = PAGE_ITEMS if max_items is None else min(PAGE_ITEMS, max_items - base)
            if size <= 0:
                break
            page = yield ReadItems(
                reader.resource, arguments, reader.config, cursor, size, name, record=False
            )
            page_items: list[Any] = page["Items"]
            following = page.get("Cursor")
        else:
            page_items, following = [], None
        for k in range(skip, len(page_items)):
            item = page_items[k]
            i = base + k
            if query is not None:
                item_frame = frame.for_item(i, item)
                value = query.evaluate(states_bindings(item_frame, state_input), item_frame)
            elif selector is not None:
                value = selector(effective, frame.for_item(i, item))
            else:
                value = item
            if grouper is None:
                yield _Child(value, 1, cursor, k + 1, i + 1)
                continue
            batch = grouper.add(value)
            if batch is not None:  # full: the next one starts with this item
                yield _Child(batch, len(batch["Items"]), cursor, k, i)
        index = base + len(page_items)
        skip = 0
        if following is None:
            break
        cursor = following
    if grouper is not None:
        last = grouper.flush()
        if last is not None:
            yield _Child(last, len(last["Items"]), None, -1, index)  # (skip -1: nothing follows)


def run_in_place(
    m: Map,
    state_input: Any,
    effective: Any,
    frame: Frame,
    items: list[Any] | None,
    child_ctx: ExecutionContext,
    visible: dict[str, Any],
    map_run_arn: str,
    max_concurrency: int,
    processor: ChildProcessor | None,
    chain: int,
) -> Generator[Any, Any, InPlace]:
    """Run the children of the Distributed Map ``m`` in place (see the module's docstring)."""
    from .branching import _iterate  # (branching imports this module)

    ctx = frame.ctx
    scope, name, writer = m.processor, m.name, m.writer
    limit_bytes = ctx.payload_limit if writer is None or writer.resource is None else None
    spill = False
    start: dict[str, Any] = {}
    in_place: _ChildContext | None = None
    # children made of the state's input are all known from the start (read items are not)
    known = len(items) if items is not None else None
    known_items = (
        sum(len(b["Items"]) for b in items) if items is not None and m.batcher is not None else known
    )
    if map_run_arn:
        answer = yield MapRunProgress(
            map_run_arn,
            known or 0,
            0,
            max_concurrency=max_concurrency,
            processor=processor,
            items=(known_items or 0, 0, 0),
            limit_bytes=limit_bytes,
            state_name=name,
        )
        if isinstance(answer, dict) and answer.get("Spill"):
            spill = True
            start = answer.get("Resume") or {}
        services = child_ctx.services = ChildServices(ctx.services, map_run_arn)
        child_ctx.as_child(child_machine_arn(map_run_arn))
        in_place = child_ctx = _ChildContext(child_ctx, ChildNames(map_run_arn), services)
    child: int = start.get("Children", 0)
    ok_items: int = start.get("ItemsOk", 0)
    results: list[Any] | None = None if spill else []
    kept: list[Any] | None = [] if not spill and writer is not None else None
    inputs: list[Any] = []
    outputs: list[Any] = []
    weights: list[int] = []
    first = child
    at: _Child | None = None  # the last child that succeeded (where the next one starts)

    def progress(
        ended: str = "", failed: int = 0, failure: tuple[str | None, str | None] = (None, None)
    ) -> Any:
        if ended == "SUCCEEDED":
            position: dict[str, Any] = {"Done": True}
        elif at is None:
            position = dict(start)
        elif at.skip < 0:
            position = {"Done": True, "Items": at.index}
        else:
            position = {"Cursor": at.cursor, "Skip": at.skip, "Items": at.index}
        position["Children"], position["ItemsOk"] = child, ok_items
        position.setdefault("Items", start.get("Items", 0) if at is None else at.index)
        return MapRunProgress(
            map_run_arn,
            child + failed if known is None else known,
            child,
            failed,
            max_concurrency,
            ended,
            processor,
            inputs,
            outputs,
            failure,
            first,
            weights,
            (
                position.get("Items", 0) if known_items is None else known_items,
                ok_items,
                weights[-1] if failed else 0,
            ),
            position,
            limit_bytes,
            name,
            since,
        )

    now = ctx.services.now
    last = since = now()  # (since: when the children of this checkpoint started)
    source = child_inputs(m, state_input, effective, frame, items, start)
    lane = Lane(chain, visible, nested=True)  # (each child's: _iterate reads it, keeps nothing)
    sent: Any = None
    reported = False  # a failed child's progress is given
    try:
        while True:
            try:
                got = source.send(sent)
            except StopIteration:
                break
            sent = None
            if type(got) is ReadItems:
                sent = yield got
                continue
            value, weight = got.value, got.weight
            if in_place is not None:
                in_place.child_at(child, value, since)
            lane.prev = chain
            try:
                out, chain = _iterate(scope, value, child_ctx, lane, child, name)
            except StatesFailure as failure:
                if map_run_arn:
                    inputs.append(value)
                    weights.append(weight)
                    reported = True
                    yield progress("FAILED", 1, (failure.error, failure.cause))
                failure.link = 0  # the parent's MapStateFailed follows MapRunFailed
                raise
            inputs.append(value)
            outputs.append(out)
            weights.append(weight)
            child += 1
            ok_items += weight
            at = got
            ended = len(inputs)  # (the clock is read every few children: a child takes microseconds)
            if ended >= CHILDREN_PER_CHECKPOINT or (
                not ended & _CLOCK_EVERY and now() - last >= CHECKPOINT_SECONDS
            ):
                if map_run_arn:
                    yield progress()
                else:
                    yield CHECKPOINT
                if results is not None:
                    results.extend(outputs)
                    if kept is not None:
                        kept.extend(inputs)
                inputs, outputs, weights = [], [], []
                first = child
                last = since = now()
    except StatesFailure:
        if map_run_arn and not reported:  # the reader failed, or the outputs grew too large
            yield progress("FAILED")
        raise
    if map_run_arn:
        yield progress("SUCCEEDED")
    if results is not None:
        results.extend(outputs)
        if kept is not None:
            kept.extend(inputs)
    return InPlace(results, kept, child, ok_items)
