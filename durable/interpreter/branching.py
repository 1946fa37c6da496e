"""Parallel and Map: branches and iterations as child scopes, and their history events."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import msgspec

from .commands import (
    CHECKPOINT,
    CHECKPOINT_EVERY,
    CHECKPOINT_SECONDS,
    Child,
    ChildFailure,
    ChildProcessor,
    Fork,
    MapResults,
    Stall,
    StreamedFork,
)
from .context import ExecutionContext, Frame
from .data import compact, compile_template, select
from .distributed import (
    Batcher,
    ChildNames,
    ItemReaderSpec,
    ResultWriterSpec,
    child_machine_arn,
    child_records,
)
from .failure import RuntimeFault, StatesFailure
from .jsonpath import Path, compile_reference_path
from .map_inplace import InPlace, child_inputs, run_in_place
from .query import QueryValue, evaluation_failure, expect, states_bindings
from .states import Lane, WorkState, show_value

if TYPE_CHECKING:
    from .program import Scope

__all__ = ["Map", "Parallel"]


class Parallel(WorkState):
    type_name = "Parallel"

    def failed_event(self, frame: Frame, lane: Lane, failure: StatesFailure) -> None:
        lane.prev = frame.ctx.emit("ParallelStateFailed", failure.link or frame.ctx.events)

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.branches = tuple(compile_scope(b) for b in raw["Branches"])
        self.pure_branches = all(scope.pure for scope in self.branches)
        # pure branches and no Retry (a retry waits): the state never yields, so its scope may
        # run it as a plain call
        self.pure = self.pure_branches and not self.retriers

    def step(self, data: Any, ctx: ExecutionContext, lane: Lane) -> tuple[str | None, Any]:
        run = self.run(data, ctx, lane)
        try:
            command = run.send(None)
        except StopIteration as stop:
            outcome: tuple[str | None, Any] = stop.value
            return outcome
        run.close()
        raise AssertionError(f"the pure Parallel state {self.name!r} yielded {command!r}")

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        if self.arguments_q is not None:
            branch_input = self.arguments_q.evaluate(states_bindings(frame, data), frame)
        else:
            branch_input = self.parameters(effective, frame) if self.parameters is not None else effective
        lane.prev = ctx.emit("ParallelStateStarted", lane.prev)
        started = lane.prev
        try:
            if self.pure_branches:
                results = [
                    scope.run_sync(branch_input, ctx, Lane(started, lane.vars, nested=True))
                    for scope in self.branches
                ]
            else:
                children = tuple(
                    Child(_starter(scope, branch_input, ctx, Lane(started, lane.vars, nested=True)))
                    for scope in self.branches
                )
                results = yield Fork(children)
        except StatesFailure as failure:
            failure.link = failure.link or ctx.events
            raise
        last = ctx.events
        ctx.emit("ParallelStateSucceeded", last)
        lane.prev = last  # AWS links ParallelStateExited to the last branch event, as Succeeded
        return results


def _starter(
    scope: Scope, value: Any, ctx: ExecutionContext, lane: Lane
) -> Callable[[], Generator[Any, Any, Any]]:
    return lambda: scope.run(value, ctx, lane)


class Map(WorkState):
    type_name = "Map"

    def failed_event(self, frame: Frame, lane: Lane, failure: StatesFailure) -> None:
        # AWS links MapStateFailed to the failed iteration's last state event
        lane.prev = frame.ctx.emit("MapStateFailed", failure.link or frame.ctx.events)

    def __init__(self, name: str, raw: dict[str, Any], compile_scope: Callable[[dict[str, Any]], Scope]):
        super().__init__(name, raw, compile_scope)
        self.reader = ItemReaderSpec(raw["ItemReader"], self.jsonata) if "ItemReader" in raw else None
        self.batcher = Batcher(raw["ItemBatcher"], self.jsonata) if "ItemBatcher" in raw else None
        self.writer = ResultWriterSpec(raw["ResultWriter"], self.jsonata) if "ResultWriter" in raw else None
        processor = raw.get("ItemProcessor") or raw.get("Iterator") or {}
        self.processor = compile_scope(processor)
        config = processor.get("ProcessorConfig") or {}
        self.distributed = config.get("Mode") == "DISTRIBUTED"
        self.execution_type: str = config.get("ExecutionType") or "STANDARD"
        # the children's state machine: the processor's States (in the machine's query language)
        child_machine = {k: v for k, v in processor.items() if k != "ProcessorConfig"}
        language = getattr(compile_scope, "query_language", "JSONPath")
        if language != "JSONPath" and "QueryLanguage" not in child_machine:
            child_machine["QueryLanguage"] = language
        self.child_definition = msgspec.json.encode(child_machine).decode() if self.distributed else ""
        self.items_path = compile_reference_path(raw.get("ItemsPath", "$"))
        selector = raw.get("ItemSelector", raw.get("Parameters"))
        self.item_selector = compile_template(selector) if selector is not None and not self.jsonata else None
        self.items_q = self.query(raw, "Items")
        self.item_selector_q = self.query(raw, "ItemSelector")
        self.max_concurrency_q = self.query(raw, "MaxConcurrency")
        self.tolerated_count_q = self.query(raw, "ToleratedFailureCount")
        self.tolerated_pct_q = self.query(raw, "ToleratedFailurePercentage")
        self.parameters = None  # Map's legacy Parameters is its ItemSelector
        self.max_concurrency = raw.get("MaxConcurrency", 0)
        self.max_concurrency_path = (
            compile_reference_path(raw["MaxConcurrencyPath"]) if "MaxConcurrencyPath" in raw else None
        )
        self.tolerated_count = raw.get("ToleratedFailureCount")
        self.tolerated_count_path = (
            compile_reference_path(raw["ToleratedFailureCountPath"])
            if "ToleratedFailureCountPath" in raw
            else None
        )
        self.tolerated_pct = raw.get("ToleratedFailurePercentage")
        self.tolerated_pct_path = (
            compile_reference_path(raw["ToleratedFailurePercentagePath"])
            if "ToleratedFailurePercentagePath" in raw
            else None
        )

    def run(self, data: Any, ctx: ExecutionContext, lane: Lane) -> Generator[Any, Any, Any]:
        if self.max_concurrency_path is not None and self._negative_concurrency(data, ctx, lane):
            # AWS-recorded (test_max_concurrency_path_negative): the execution stalls after
            # ExecutionStarted; not even MapStateEntered is recorded
            yield Stall(
                f"The Map state '{self.name}' has a negative MaxConcurrencyPath value: AWS leaves such "
                "an execution RUNNING without entering the state, and so does durable"
            )
        return (yield from super().run(data, ctx, lane))

    def _negative_concurrency(self, data: Any, ctx: ExecutionContext, lane: Lane) -> bool:
        assert self.max_concurrency_path is not None
        probe = Frame(ctx, self.name, 0, self.retriable)
        probe.vars = lane.vars
        try:
            effective = select(self.input_path, data, probe, "InputPath")
            value = select(self.max_concurrency_path, effective, probe, "MaxConcurrencyPath")
        except (RuntimeFault, StatesFailure):
            return False  # reported once the state is entered, as AWS does
        return isinstance(value, int) and not isinstance(value, bool) and value < 0

    def _path_number(self, path: Path, effective: Any, frame: Frame, field: str, kind: str) -> Any:
        value = select(path, effective, frame, field)
        if isinstance(value, str):  # AWS parses numeric text ("1") as the number
            try:
                value = int(value) if kind == "integer" else float(value)
            except ValueError:
                pass
        ok = not isinstance(value, bool) and (
            isinstance(value, int) or (kind == "float" and isinstance(value, float))
        )
        if not ok:
            raise RuntimeFault(
                f'The {field} field refers to value "{show_value(value)}" '
                f"which is not a valid {kind}: {path.text}"
            )
        return value

    def _number(self, query: QueryValue | None, literal: Any, frame: Frame) -> Any:
        if query is None:
            return literal
        value = query.evaluate(states_bindings(frame, frame.assign_input), frame)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise evaluation_failure(
                frame, query.field, f"The {query.field} field must be a number, but was: {compact(value)}"
            )
        return value

    def _in_range(self, query: QueryValue | None, literal: Any, frame: Frame, high: float | None) -> Any:
        """A JSONata numeric field: a value the field does not accept (negative; a percentage over
        100) is States.QueryEvaluationError, as the ASL specification's example says."""
        value = self._number(query, literal, frame)
        if query is not None and value is not None and (value < 0 or (high is not None and value > high)):
            bounds = "a number between 0 and 100" if high is not None else "a non-negative integer"
            raise evaluation_failure(
                frame, query.field, f"The {query.field} field must be {bounds}, but was: {compact(value)}"
            )
        return value

    def _concurrency(self, effective: Any, frame: Frame) -> int:
        if self.jsonata:
            return int(self._in_range(self.max_concurrency_q, self.max_concurrency, frame, None))
        mc = self.max_concurrency
        if self.max_concurrency_path is not None:
            mc = self._path_number(
                self.max_concurrency_path, effective, frame, "MaxConcurrencyPath", "integer"
            )
        return int(mc)

    def _tolerance(self, effective: Any, frame: Frame) -> tuple[int | None, float | None]:
        if self.jsonata:
            return (
                self._in_range(self.tolerated_count_q, self.tolerated_count, frame, None),
                self._in_range(self.tolerated_pct_q, self.tolerated_pct, frame, 100),
            )
        count = self.tolerated_count
        if self.tolerated_count_path is not None:
            count = self._path_number(
                self.tolerated_count_path, effective, frame, "ToleratedFailureCountPath", "integer"
            )
        if count is not None and count < 0:
            raise RuntimeFault("ToleratedFailureCount cannot be negative.")
        pct = self.tolerated_pct
        if self.tolerated_pct_path is not None:
            pct = self._path_number(
                self.tolerated_pct_path, effective, frame, "ToleratedFailurePercentagePath", "float"
            )
        if pct is not None and not 0 <= pct <= 100:
            raise RuntimeFault("ToleratedFailurePercentage must be between 0 and 100.")
        return count, pct

    def attempt(self, data: Any, effective: Any, frame: Frame, lane: Lane) -> Generator[Any, Any, Any]:
        ctx = frame.ctx
        if self.jsonata:
            frame.assign_input = data  # $states.input of the numeric fields below
        items: list[Any] = []
        if self.reader is None:
            if self.jsonata:
                items = self._jsonata_items(data, frame)
            else:
                items = select(self.items_path, effective, frame, "ItemsPath")
                if not isinstance(items, list):
                    raise RuntimeFault(f'Reference path "{self.items_path.text}" must point to array.')
        recording = ctx.history is not None
        max_concurrency = self._concurrency(effective, frame)  # AWS checks it before starting
        lane.prev = ctx.emit(  # (items read by an ItemReader are not counted here, as on AWS)
            "MapStateStarted", lane.prev, "mapStateStartedEventDetails", {"length": len(items)}
        )
        count, pct = self._tolerance(effective, frame)
        inputs = self._inputs(items, data, effective, frame) if self.reader is None else []
        child_ctx = ctx
        map_run_arn = ""
        if self.distributed:  # children are executions of their own: their events stay out
            map_run_arn = self._map_run_arn(ctx) if recording or self.writer is not None else ""
            lane.prev = ctx.emit(
                "MapRunStarted",
                lane.prev,
                "mapRunStartedEventDetails",
                {"mapRunArn": map_run_arn} if recording else None,
            )
            child_ctx = ctx.silent()
        processor = (
            ChildProcessor(self.child_definition, self.execution_type, _label(map_run_arn))
            if map_run_arn
            else None
        )
        started = lane.prev
        tolerant = self.distributed and (count or pct)
        visible = {} if self.distributed else lane.vars  # child executions see no variables
        done: InPlace | None = None  # children run in place, streamed (see map_inplace)
        results: list[Any] = []
        weights: tuple[int, ...] = ()
        try:
            if self.distributed and self.processor.pure and not tolerant:
                done = yield from run_in_place(
                    self,
                    data,
                    effective,
                    frame,
                    None if self.reader is not None else inputs,
                    child_ctx,
                    visible,
                    map_run_arn,
                    max_concurrency,
                    processor,
                    started,
                )
            else:
                if self.reader is not None and not (self.distributed and map_run_arn):
                    items = yield from self.reader.read(data, effective, frame, self.name)
                    inputs = self._inputs(items, data, effective, frame)
                    del items
                weights = _batch_weights(inputs) if self.batcher is not None and map_run_arn else ()
                if self.processor.pure and not tolerant:  # an inline Map's iterations, in place
                    results = yield from _in_place(self, inputs, child_ctx, started, visible)
                elif self.distributed and map_run_arn:  # child executions, streamed
                    done = yield self._streamed(
                        data, effective, frame, inputs, weights, max_concurrency, processor, map_run_arn
                    )
                elif self.distributed:
                    recorded = recording and self.execution_type == "STANDARD"
                    names = ChildNames(map_run_arn) if map_run_arn else None
                    children = tuple(
                        _child(self.processor, value, ctx, recorded, names, index, map_run_arn)
                        for index, value in enumerate(inputs)
                    )
                    results = yield Fork(
                        children,
                        max_concurrency,
                        tolerated_count=count if tolerant else None,
                        tolerated_percentage=pct if tolerant else None,
                        map_run=map_run_arn,
                        weights=weights,
                        processor=processor,
                    )
                else:
                    link = [started]  # each iteration links to the previous one's last event, as AWS does
                    children = tuple(
                        Child(_iteration(self.processor, value, child_ctx, link, visible, index, self.name))
                        for index, value in enumerate(inputs)
                    )
                    results = yield Fork(
                        children,
                        max_concurrency,
                        tolerated_count=count if tolerant else None,
                        tolerated_percentage=pct if tolerant else None,
                        map_run=map_run_arn,
                        weights=weights,
                    )
        except StatesFailure as failure:
            if self.distributed:  # the failure of a child execution stays in its own history
                lane.prev = failure.link = ctx.emit(
                    "MapRunFailed", lane.prev, "mapRunFailedEventDetails", _details(failure)
                )
            failure.link = failure.link or ctx.events
            raise
        if done is not None:
            output = yield from self._in_place_output(done, data, effective, frame, lane, map_run_arn)
        elif self.writer is not None and map_run_arn:
            records = child_records(inputs, results, map_run_arn, frame.entered_epoch, ctx.services.now())
            del results
            try:
                output = yield from self.writer.write(
                    records, data, effective, frame, map_run_arn, self.name, sum(weights) if weights else None
                )
            except StatesFailure as failure:
                lane.prev = ctx.emit("MapRunFailed", lane.prev, "mapRunFailedEventDetails", _details(failure))
                failure.link = failure.link or ctx.events
                raise
        else:
            output = [
                {"Error": r.error, "Cause": r.cause} if isinstance(r, ChildFailure) else r for r in results
            ]
        if self.distributed:
            # AWS (recordings since late 2024) links MapStateExited to MapRunStarted
            run_started = lane.prev
            ctx.emit("MapStateSucceeded", ctx.emit("MapRunSucceeded", run_started))
            lane.prev = run_started
        else:
            last = ctx.events
            ctx.emit("MapStateSucceeded", last)
            lane.prev = last  # AWS links MapStateExited to the event MapStateSucceeded links to
        return output

    def _streamed(
        self,
        data: Any,
        effective: Any,
        frame: Frame,
        inputs: list[Any],
        weights: tuple[int, ...],
        max_concurrency: int,
        processor: ChildProcessor | None,
        map_run_arn: str,
    ) -> StreamedFork:
        """A Distributed Map's child executions for the runtime to stream (:class:`StreamedFork`):
        read a page at a time (an ItemReader) or taken from the state's input (``inputs``)."""
        ctx = frame.ctx
        assert processor is not None
        recorded = ctx.history is not None and self.execution_type == "STANDARD"
        names = ChildNames(map_run_arn)
        scope = self.processor
        known = None if self.reader is not None else inputs
        count, pct = self._tolerance(effective, frame)
        tolerant = bool(count or pct)
        writer = self.writer

        def source(start: dict[str, Any]) -> Generator[Any, Any, None]:
            return child_inputs(self, data, effective, frame, known, start)

        def child(index: int, value: Any) -> Child:
            return _child(scope, value, ctx, recorded, names, index, map_run_arn)

        return StreamedFork(
            source,
            child,
            map_run_arn,
            processor,
            max_concurrency,
            tolerated_count=count if tolerant else None,
            tolerated_percentage=pct if tolerant else None,
            known=None if known is None else len(known),
            known_items=None if known is None else (sum(weights) if weights else len(known)),
            limit_bytes=ctx.payload_limit if writer is None or writer.resource is None else None,
            state_name=self.name,
        )

    def _in_place_output(
        self, done: InPlace, data: Any, effective: Any, frame: Frame, lane: Lane, map_run_arn: str
    ) -> Generator[Any, Any, Any]:
        """The output of a Distributed Map whose children ran in place or were streamed: their
        outputs (kept, or read back from the runtime), through the ResultWriter when there is
        one. A failed (tolerated) child's output is its error and cause, or its record."""
        ctx = frame.ctx
        writer = self.writer
        results, inputs = done.results, done.inputs
        if results is None and not (writer is not None and writer.resource is not None):
            if writer is not None and (writer.transformation == "NONE" or done.failed):
                inputs, results = yield MapResults(map_run_arn, done.executions, inputs=True)
            else:
                results = yield MapResults(map_run_arn, done.executions)
        if writer is None or not map_run_arn:
            return [
                {"Error": r.error, "Cause": r.cause} if isinstance(r, ChildFailure) else r
                for r in results or []
            ]
        if writer.resource is None and writer.transformation != "NONE" and not done.failed:
            return writer.transform_outputs(results or [])
        try:
            if results is None:
                return (
                    yield from writer.write_spilled(
                        data,
                        effective,
                        frame,
                        map_run_arn,
                        self.name,
                        done.executions,
                        done.items,
                        ctx.services.now(),
                    )
                )
            records = child_records(
                inputs or [], results, map_run_arn, frame.entered_epoch, ctx.services.now()
            )
            return (
                yield from writer.write(records, data, effective, frame, map_run_arn, self.name, done.items)
            )
        except StatesFailure as failure:
            lane.prev = ctx.emit("MapRunFailed", lane.prev, "mapRunFailedEventDetails", _details(failure))
            failure.link = failure.link or ctx.events
            raise

    def _inputs(self, items: list[Any], data: Any, effective: Any, frame: Frame) -> list[Any]:
        """The children's inputs: each item through ItemSelector, then grouped by ItemBatcher."""
        selector = self.item_selector
        if self.item_selector_q is not None:
            query = self.item_selector_q
            inputs = [
                query.evaluate(states_bindings(item_frame, data), item_frame)
                for item_frame in (frame.for_item(i, item) for i, item in enumerate(items))
            ]
        elif selector is not None:
            inputs = [selector(effective, frame.for_item(i, item)) for i, item in enumerate(items)]
        else:
            inputs = items
        if self.batcher is not None:
            inputs = self.batcher.batches(inputs, data, effective, frame)
        return inputs

    def _jsonata_items(self, data: Any, frame: Frame) -> list[Any]:
        if self.items_q is None:
            if not isinstance(data, list):
                raise evaluation_failure(
                    frame, None, f"Map state input must be an array but was: {compact(data)}"
                )
            return data
        items = self.items_q.evaluate(states_bindings(frame, data), frame)
        result: list[Any] = expect(items, "array", self.items_q, frame)
        return result

    def _map_run_arn(self, ctx: ExecutionContext) -> str:
        base = ctx.state_machine_arn.replace(":stateMachine:", ":mapRun:", 1)
        return f"{base}/{self.raw.get('Label') or ctx.services.uuid4()}:{ctx.services.uuid4()}"


def _label(map_run_arn: str) -> str:
    """The label in ``mapRun:<machine>/<label>:<run id>``."""
    return map_run_arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]


def _in_place(
    m: Map, inputs: list[Any], ctx: ExecutionContext, started: int, visible: dict[str, Any]
) -> Generator[Any, Any, list[Any]]:
    """An inline Map's iterations of a pure processor, one after another in place."""
    scope, name = m.processor, m.name
    results: list[Any] = []
    chain = started
    now = ctx.services.now
    last = now()
    for i, value in enumerate(inputs):
        out, chain = _iterate(scope, value, ctx, Lane(chain, visible, nested=True), i, name)
        results.append(out)
        if i % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 or now() - last >= CHECKPOINT_SECONDS:
            yield CHECKPOINT
            last = now()
    return results


def _child(
    scope: Scope,
    value: Any,
    ctx: ExecutionContext,
    recorded: bool,
    names: ChildNames | None,
    index: int,
    map_run_arn: str,
) -> Child:
    """A Distributed Map's child execution run by a Fork: its own context (its own
    ``$$.Execution``), its own events."""
    history: list[dict[str, Any]] | None = [] if recorded else None

    def start() -> Generator[Any, Any, Any]:
        child = ctx.child_execution(history)
        if names is not None:
            child.as_child(child_machine_arn(map_run_arn))
            child.child_is(names.arn(index), names.name(index), value, ctx.services.now())
        try:
            return (yield from scope.run(value, child, Lane(1)))
        except StatesFailure as failure:
            failure.link = 0  # the parent's MapStateFailed follows its MapRunFailed
            raise

    return Child(start, value, history)


def _batch_weights(batches: list[Any]) -> tuple[int, ...]:
    """How many items each child's batch holds (``{"Items": [...]}``): a Map Run counts items."""
    return tuple(
        len(b["Items"]) if isinstance(b, dict) and isinstance(b.get("Items"), list) else 1 for b in batches
    )


def _details(failure: StatesFailure) -> dict[str, Any]:
    return {k: v for k, v in (("error", failure.error), ("cause", failure.cause)) if v}


def _iteration(
    scope: Scope,
    value: Any,
    ctx: ExecutionContext,
    link: list[int],
    visible: dict[str, Any],
    index: int,
    name: str,
) -> Callable[[], Generator[Any, Any, Any]]:
    def start() -> Generator[Any, Any, Any]:
        detail = {"index": index, "name": name} if ctx.history is not None else None
        started = ctx.emit("MapIterationStarted", link[0], "mapIterationStartedEventDetails", detail)
        inner = Lane(started, visible, nested=True)
        try:
            out = yield from scope.run(value, ctx, inner)
        except StatesFailure as failure:
            failure.link = ctx.events
            ctx.emit("MapIterationFailed", ctx.events, "mapIterationFailedEventDetails", detail)
            raise
        ctx.emit("MapIterationSucceeded", inner.prev, "mapIterationSucceededEventDetails", detail)
        link[0] = inner.prev
        return out

    return start


def _iterate(
    scope: Scope, value: Any, ctx: ExecutionContext, lane: Lane, index: int, name: str
) -> tuple[Any, int]:
    """One iteration of a pure item processor, run in place (same events as :func:`_iteration`).

    Returns the output and the iteration's last state event, which AWS links the next
    iteration's ``MapIterationStarted`` to when iterations run one after another.
    """
    detail = {"index": index, "name": name} if ctx.history is not None else None
    started = ctx.emit("MapIterationStarted", lane.prev, "mapIterationStartedEventDetails", detail)
    inner = Lane(started, lane.vars, nested=True)
    try:
        out = scope.run_sync(value, ctx, inner)
    except StatesFailure as failure:
        failure.link = ctx.events
        ctx.emit("MapIterationFailed", ctx.events, "mapIterationFailedEventDetails", detail)
        raise
    ctx.emit("MapIterationSucceeded", inner.prev, "mapIterationSucceededEventDetails", detail)
    return out, inner.prev
