"""Distributed Map data: where items come from (``ItemReader``), how they are grouped
(``ItemBatcher``) and where results go (``ResultWriter``).

Everything here is pure. Reading a source and writing result files are I/O, so the state
yields :class:`~durable.interpreter.commands.ReadItems` (one page at a time) and
:class:`~durable.interpreter.commands.WriteResults`, and the driver answers them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Final

import msgspec

from .commands import ChildFailure, ReadItems, ResultSpill, WriteResults
from .context import Frame, iso_time
from .data import compact, compile_template, select
from .failure import RuntimeFault, StatesFailure
from .jsonpath import compile_reference_path
from .query import QueryValue, evaluation_failure, states_bindings
from .states import show_value

__all__ = [
    "ITEM_READER_FAILED",
    "PAGE_ITEMS",
    "RESULT_WRITER_FAILED",
    "Batcher",
    "ChildNames",
    "Grouper",
    "ItemReaderSpec",
    "ResultWriterSpec",
    "child_arn",
    "child_machine_arn",
    "child_name",
    "child_records",
    "manifest",
]

ITEM_READER_FAILED: Final = "States.ItemReaderFailed"
RESULT_WRITER_FAILED: Final = "States.ResultWriterFailed"
PAGE_ITEMS: Final = 1000  # items asked of the driver per ReadItems (each page is journaled)
RESULT_FILE_BYTES: Final = 5 * 1024**3  # AWS splits a result file at 5 GB
_encode = msgspec.json.encode


def _integer(value: Any, field: str, path_text: str) -> int:
    """A ``...Path`` field's value: an integer, or numeric text (AWS parses ``"2"``)."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeFault(
            f'The {field} field refers to value "{show_value(value)}" '
            f"which is not a valid integer: {path_text}"
        )
    return value


class _Number:
    """A numeric field given as a literal, a ``...Path`` (JSONPath) or a JSONata value."""

    __slots__ = ("field", "literal", "path", "query")

    def __init__(self, raw: dict[str, Any], field: str, jsonata: bool) -> None:
        self.field = field
        self.literal = raw.get(field)
        self.query = QueryValue(raw[field], field) if jsonata and field in raw else None
        path = raw.get(field + "Path")
        self.path = compile_reference_path(path) if path is not None and not jsonata else None

    def value(self, state_input: Any, effective: Any, frame: Frame) -> int | None:
        if self.query is not None:
            value = self.query.evaluate(states_bindings(frame, state_input), frame)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise evaluation_failure(
                    frame, self.field, f"The {self.field} field must be a number, but was: {compact(value)}"
                )
            return int(value)
        if self.path is not None:
            return _integer(
                select(self.path, effective, frame, self.field + "Path"), self.field, self.path.text
            )
        return None if self.literal is None else int(self.literal)


class ItemReaderSpec:
    """A compiled ``ItemReader``: yields the :class:`ReadItems` pages, returns the items."""

    def __init__(self, raw: dict[str, Any], jsonata: bool) -> None:
        self.resource: str = raw["Resource"]
        self.jsonata = jsonata
        args = raw.get("Arguments") if jsonata else raw.get("Parameters")
        self.arguments_q = QueryValue(args, "Arguments") if jsonata and args is not None else None
        self.parameters = compile_template(args) if not jsonata and args is not None else None
        config = dict(raw.get("ReaderConfig") or {})
        self.max_items = _Number(config, "MaxItems", jsonata)
        for key in ("MaxItems", "MaxItemsPath"):
            config.pop(key, None)
        self.config = config

    def start(self, state_input: Any, effective: Any, frame: Frame) -> tuple[Any, int | None]:
        """The evaluated ``Parameters``/``Arguments`` and the most items to read (None: all)."""
        if self.arguments_q is not None:
            arguments = self.arguments_q.evaluate(states_bindings(frame, state_input), frame)
        elif self.parameters is not None:
            arguments = self.parameters(effective, frame)
        else:
            arguments = {}
        limit = self.max_items.value(state_input, effective, frame)
        if limit is not None and limit < 0:
            raise StatesFailure(ITEM_READER_FAILED, "field MaxItems must be positive")
        return arguments, limit or None  # 0: no limit, as AWS reads it

    def read(
        self, state_input: Any, effective: Any, frame: Frame, name: str
    ) -> Generator[Any, Any, list[Any]]:
        arguments, remaining = self.start(state_input, effective, frame)
        items: list[Any] = []
        cursor: Any = None
        while True:
            page_size = PAGE_ITEMS if remaining is None else min(PAGE_ITEMS, remaining - len(items))
            if page_size <= 0:
                break
            page = yield ReadItems(self.resource, arguments, self.config, cursor, page_size, name)
            items.extend(page["Items"])
            cursor = page.get("Cursor")
            if cursor is None:
                break
        return items


class Batcher:
    """A compiled ``ItemBatcher``: groups the (selected) items into ``{"Items": [...]}``."""

    def __init__(self, raw: dict[str, Any], jsonata: bool) -> None:
        self.max_items = _Number(raw, "MaxItemsPerBatch", jsonata)
        self.max_bytes = _Number(raw, "MaxInputBytesPerBatch", jsonata)
        batch_input = raw.get("BatchInput")
        self.input_q = QueryValue(batch_input, "BatchInput") if jsonata and batch_input is not None else None
        self.input_template = (
            compile_template(batch_input) if not jsonata and batch_input is not None else None
        )

    def grouper(self, state_input: Any, effective: Any, frame: Frame) -> Grouper:
        """A :class:`Grouper` with this batcher's limits and ``BatchInput``, evaluated now."""
        max_items = self.max_items.value(state_input, effective, frame)
        max_bytes = self.max_bytes.value(state_input, effective, frame)
        for value, field in ((max_items, "MaxItemsPerBatch"), (max_bytes, "MaxInputBytesPerBatch")):
            if value is not None and value < 0:
                raise RuntimeFault(f"The {field} field must be a positive integer, but was: {value}")
        batch_input: Any = None
        has_input = False
        if self.input_q is not None:
            batch_input, has_input = self.input_q.evaluate(states_bindings(frame, state_input), frame), True
        elif self.input_template is not None:
            batch_input, has_input = self.input_template(effective, frame), True
        return Grouper(max_items or None, max_bytes or None, batch_input, has_input)

    def batches(self, items: list[Any], state_input: Any, effective: Any, frame: Frame) -> list[Any]:
        grouper = self.grouper(state_input, effective, frame)
        out = [batch for batch in map(grouper.add, items) if batch is not None]
        last = grouper.flush()
        if last is not None:
            out.append(last)
        return out


class Grouper:
    """Groups items as they come into consecutive batches of at most ``max_items`` items whose
    batch JSON stays within ``max_bytes`` (an item larger than that alone makes a batch of one):
    :meth:`add` returns a batch when one is full, :meth:`flush` the last one."""

    __slots__ = ("batch_input", "group", "has_input", "max_bytes", "max_items", "overhead", "size")

    def __init__(
        self, max_items: int | None, max_bytes: int | None, batch_input: Any, has_input: bool
    ) -> None:
        self.max_items, self.max_bytes = max_items, max_bytes
        self.batch_input, self.has_input = batch_input, has_input
        self.overhead = len(b'{"Items":[]}') + (
            len(_encode(batch_input)) + len(b',"BatchInput":') if has_input and batch_input else 0
        )
        self.group: list[Any] = []
        self.size = self.overhead

    def _batch(self, group: list[Any]) -> Any:
        return {"Items": group, "BatchInput": self.batch_input} if self.has_input else {"Items": group}

    def add(self, item: Any) -> Any:
        max_items, max_bytes, group = self.max_items, self.max_bytes, self.group
        item_size = len(_encode(item)) + 1 if max_bytes is not None else 0
        full = (max_items is not None and len(group) >= max_items) or (
            max_bytes is not None and group and self.size + item_size > max_bytes
        )
        out = None
        if full:
            out = self._batch(group)
            self.group = group = []
            self.size = self.overhead
        group.append(item)
        self.size += item_size
        return out

    def flush(self) -> Any:
        if not self.group:
            return None
        out = self._batch(self.group)
        self.group, self.size = [], self.overhead
        return out


class ResultWriterSpec:
    """A compiled ``ResultWriter``: the Map's output (transformed results, or where the result
    files went) and the files written through :class:`WriteResults`."""

    def __init__(self, raw: dict[str, Any], jsonata: bool) -> None:
        self.resource: str | None = raw.get("Resource")
        args = raw.get("Arguments") if jsonata else raw.get("Parameters")
        self.arguments_q = QueryValue(args, "Arguments") if jsonata and args is not None else None
        self.parameters = compile_template(args) if not jsonata and args is not None else None
        config = raw.get("WriterConfig") or {}
        exporting = self.resource is not None
        self.transformation: str = config.get("Transformation", "NONE" if exporting else "COMPACT")
        self.output_type: str = config.get("OutputType", "JSON")

    def transform(self, records: list[dict[str, Any]]) -> list[Any]:
        """The results as ``Transformation`` shapes them (failed children keep their record)."""
        if self.transformation == "NONE":
            return records
        out: list[Any] = []
        for record in records:
            if record["Status"] != "SUCCEEDED":
                out.append(record)
                continue
            value = msgspec.json.decode(record["Output"])
            if self.transformation == "FLATTEN" and isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    def transform_outputs(self, outputs: list[Any]) -> list[Any]:
        """:meth:`transform` of children that all succeeded, from their outputs alone."""
        if self.transformation != "FLATTEN":
            return outputs
        out: list[Any] = []
        for value in outputs:
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    def write(
        self,
        records: list[dict[str, Any]],
        state_input: Any,
        effective: Any,
        frame: Frame,
        map_run_arn: str,
        name: str,
        items: int | None = None,
    ) -> Generator[Any, Any, Any]:
        """Write the files when the writer has a ``Resource``; return the Map's output.
        ``items``: how many items the children processed (batched: more than the records)."""
        if self.resource is None:
            return self.transform(records)
        bucket, base = self._target(state_input, effective, frame, map_run_arn)
        files: list[tuple[str, str]] = []
        listed: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status in ("SUCCEEDED", "FAILED", "PENDING"):
            chosen = [
                r
                for r in records
                if (r["Status"] == status) or (status == "FAILED" and r["Status"] not in listed)
            ]
            if not chosen:
                continue
            for n, text in enumerate(
                self._texts(self.transform(chosen) if status == "SUCCEEDED" else chosen)
            ):
                key = f"{base}/{status}_{n}.json"
                files.append((key, text))
                listed[status].append({"Key": key, "Size": len(text.encode())})
        manifest_key = f"{base}/manifest.json"
        files.append((manifest_key, manifest(bucket, map_run_arn, listed)))
        written = len(records)
        yield WriteResults(
            self.resource,
            bucket,
            tuple(files),
            name,
            map_run_arn,
            written,
            written if items is None else items,
        )
        return {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}

    def _target(self, state_input: Any, effective: Any, frame: Frame, map_run_arn: str) -> tuple[str, str]:
        """The bucket and the key prefix (``Prefix/<map run id>``) of the result files."""
        if self.arguments_q is not None:
            arguments = self.arguments_q.evaluate(states_bindings(frame, state_input), frame)
        elif self.parameters is not None:
            arguments = self.parameters(effective, frame)
        else:
            arguments = {}
        if not isinstance(arguments, dict) or not isinstance(arguments.get("Bucket"), str):
            raise StatesFailure(RESULT_WRITER_FAILED, "The ResultWriter needs a Bucket name.")
        prefix = str(arguments.get("Prefix") or "").strip("/")
        run_id = map_run_arn.rsplit(":", 1)[-1]
        return arguments["Bucket"], f"{prefix}/{run_id}" if prefix else run_id

    def write_spilled(
        self,
        state_input: Any,
        effective: Any,
        frame: Frame,
        map_run_arn: str,
        name: str,
        executions: int,
        items: int,
        stopped: float,
    ) -> Generator[Any, Any, Any]:
        """:meth:`write` of the stored outputs of a Map Run's children (run in place, or streamed):
        the runtime streams them into the files (see :class:`ResultSpill`)."""
        assert self.resource is not None
        bucket, base = self._target(state_input, effective, frame, map_run_arn)
        records = _Records(map_run_arn, frame.entered_epoch, stopped)

        def failed(index: int, input_text: str, error: str | None, cause: str | None) -> bytes:
            return _encode(records.failed(index, input_text, ChildFailure(error, cause)))

        encode = self._encoder(map_run_arn, frame.entered_epoch, stopped)
        spill = ResultSpill(base, self.output_type, encode, self.transformation == "NONE", failed)
        yield WriteResults(self.resource, bucket, (), name, map_run_arn, executions, items, spill)
        return {
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": f"{base}/manifest.json"},
        }

    def _encoder(
        self, map_run_arn: str, started: float, stopped: float
    ) -> Callable[[Sequence[int], Sequence[bytes], Sequence[bytes]], list[bytes]]:
        """The children's transformed results as JSON, from their stored input and output."""
        if self.transformation == "NONE":
            records = _Records(map_run_arn, started, stopped)

            def none(
                indexes: Sequence[int], inputs: Sequence[bytes], outputs: Sequence[bytes]
            ) -> list[bytes]:
                return [
                    _encode(records.succeeded(i, v.decode(), o.decode()))
                    for i, v, o in zip(indexes, inputs, outputs, strict=True)
                ]

            return none
        if self.transformation == "FLATTEN":

            def flatten(
                indexes: Sequence[int], inputs: Sequence[bytes], outputs: Sequence[bytes]
            ) -> list[bytes]:
                out: list[bytes] = []
                for o in outputs:
                    if o[:1] == b"[":
                        out.extend(_encode(v) for v in msgspec.json.decode(o))
                    else:
                        out.append(bytes(o))
                return out

            return flatten
        return lambda indexes, inputs, outputs: list(outputs)

    def _texts(self, values: list[Any]) -> Iterator[str]:
        """The files' texts: a JSON array or JSON lines, a new file past 5 GB."""
        chunk: list[bytes] = []
        size = 0
        for value in values:
            encoded = _encode(value)
            if chunk and size + len(encoded) > RESULT_FILE_BYTES:
                yield self._join(chunk)
                chunk, size = [], 0
            chunk.append(encoded)
            size += len(encoded) + 1
        if chunk:
            yield self._join(chunk)

    def _join(self, chunk: list[bytes]) -> str:
        if self.output_type == "JSONL":
            return (b"\n".join(chunk) + b"\n").decode()
        return (b"[" + b",".join(chunk) + b"]").decode()


def child_name(map_run_arn: str, index: int) -> str:
    """The name of a Map Run's child execution ``index``: the run id's first 8 characters and
    the index (``mapRun:<machine>/<label>:<run id>``)."""
    return ChildNames(map_run_arn).name(index)


def child_arn(map_run_arn: str, index: int) -> str:
    """``execution:<machine>/<label>:<child name>`` of a Map Run's child execution."""
    return ChildNames(map_run_arn).arn(index)


class ChildNames:
    """The names and ARNs of one Map Run's children (the run's parts split once, not per child)."""

    __slots__ = ("_arn_head", "_prefix")

    def __init__(self, map_run_arn: str) -> None:
        head, run_id = map_run_arn.rsplit(":", 1)
        self._prefix = run_id[:8]
        self._arn_head = head.replace(":mapRun:", ":execution:", 1) + ":" + self._prefix

    def name(self, index: int) -> str:
        return f"{self._prefix}-{index:08d}"

    def arn(self, index: int) -> str:
        return f"{self._arn_head}-{index:08d}"


def child_machine_arn(map_run_arn: str) -> str:
    """``stateMachine:<machine>/<label>``: the state machine a Map Run's children run."""
    return map_run_arn.rsplit(":", 1)[0].replace(":mapRun:", ":stateMachine:", 1)


def manifest(bucket: str, map_run_arn: str, listed: dict[str, list[dict[str, Any]]]) -> str:
    """The ResultWriter's ``manifest.json``: where the result files of each status went."""
    return _encode({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": listed}).decode()


class _Records:
    """The child execution records of one Map Run, as AWS exports them (``Transformation: NONE``)."""

    __slots__ = ("machine_arn", "names", "start", "stop")

    def __init__(self, map_run_arn: str, started: float, stopped: float) -> None:
        # mapRun:<machine>/<label>:<run id>  ->  execution:<machine>/<label>:<child name>
        head = map_run_arn.rsplit(":", 1)[0]
        region_part, run_part = head.split(":mapRun:", 1)
        self.machine_arn = f"{region_part}:stateMachine:{run_part.split('/', 1)[0]}"
        self.start, self.stop = iso_time(started), iso_time(stopped)
        self.names = ChildNames(map_run_arn)

    def _base(self, index: int, input_text: str) -> dict[str, Any]:
        return {
            "ExecutionArn": self.names.arn(index),
            "Input": input_text,
            "InputDetails": {"Included": True},
            "Name": self.names.name(index),
            "RedriveCount": 0,
            "StartDate": self.start,
            "StateMachineArn": self.machine_arn,
            "StopDate": self.stop,
        }

    def succeeded(self, index: int, input_text: str, output_text: str) -> dict[str, Any]:
        record = self._base(index, input_text)
        record["Status"] = "SUCCEEDED"
        record["Output"] = output_text
        record["OutputDetails"] = {"Included": True}
        record["RedriveStatus"] = "NOT_REDRIVABLE"
        record["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
        return dict(sorted(record.items()))

    def failed(self, index: int, input_text: str, failure: ChildFailure) -> dict[str, Any]:
        record = self._base(index, input_text)
        record["Status"] = "FAILED"
        if failure.error is not None:
            record["Error"] = failure.error
        if failure.cause is not None:
            record["Cause"] = failure.cause
        record["RedriveStatus"] = "REDRIVABLE"
        return dict(sorted(record.items()))


def child_records(
    inputs: list[Any], results: list[Any], map_run_arn: str, started: float, stopped: float
) -> list[dict[str, Any]]:
    """One record per child execution, as AWS exports them (``Transformation: NONE``)."""
    records = _Records(map_run_arn, started, stopped)
    return [
        records.failed(index, _encode(value).decode(), result)
        if isinstance(result, ChildFailure)
        else records.succeeded(index, _encode(value).decode(), _encode(result).decode())
        for index, (value, result) in enumerate(zip(inputs, results, strict=True))
    ]
