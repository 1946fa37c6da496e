"""Distributed Map items: the driver side of ``ReadItems`` (and ``WriteResults``, written by
:mod:`durable.runtime.result_files`).

An ``ItemReader`` names S3 objects. A bucket the engine maps to a local directory
(``Engine(local_buckets={"my-bucket": "/data"})``) is read from files, streaming: line by line
(JSONL, CSV, an S3 inventory's gzipped CSV) or element by element (a JSON array), never the whole
file at once. Any other bucket is read through the engine's integrations (the ``aws-sdk:s3``
calls of the durable-aws plugin), so the same definition runs on a laptop and against AWS.

Items are handed out a page at a time. A source stays open between pages (keyed by where the
next page starts), so reading N items costs one pass over the source; a page asked from a cursor
no open source is at (after a restart) opens the source again there: line-based local files seek
to the recorded byte offset, other sources skip the items already read.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
from collections import OrderedDict
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import msgspec

from ..errors import ValidationError
from ..interpreter.commands import InvokeTask, ReadItems
from ..interpreter.distributed import ITEM_READER_FAILED
from ..interpreter.failure import StatesFailure
from .items_columnar import athena_data_files, data_file_type, maybe_gunzip, parquet_rows

if TYPE_CHECKING:
    from .runner import CommandRunner

__all__ = ["ItemSources", "local_path", "s3_call"]

OPEN_SOURCES = 64  # sources kept open between pages (one per running Distributed Map)
_JSON_CHUNK = 1 << 16
_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
_SDK = "arn:aws:states:::aws-sdk:s3:"
_BOM = codecs.BOM_UTF8
_READ_AHEAD = 1 << 16  # bytes of a local JSONL file read at a time (held, with its lines)
_decode_json = msgspec.json.decode


def local_path(root: str, key: str) -> Path:
    """The file of ``key`` in the directory ``root`` mapped to a bucket (never outside it)."""
    base = Path(root).resolve()
    path = (base / key).resolve()
    if path != base and base not in path.parents:
        raise StatesFailure(ITEM_READER_FAILED, f"The key {key!r} is outside the bucket's directory.")
    return path


class _Items:
    """An open source: an item iterator and where it stands (``cursor()``)."""

    def __init__(self, items: Iterator[Any], index: int, skip: int = 0) -> None:
        self.items = items
        self.index = index
        self.skip = skip  # items to pass over first (a source reopened with no position)
        self.position: Any = None  # a seekable source's resume point, kept current by it

    def cursor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Index": self.index}
        if self.position is not None:
            out["Position"] = self.position
        return out


class _Lines:
    """The lines of a binary file from byte ``offset``; ``offset`` follows what was read."""

    def __init__(self, stream: BinaryIO, offset: int) -> None:
        self.stream = stream
        self.offset = offset
        stream.seek(offset)

    def __iter__(self) -> Iterator[str]:
        stream = self.stream
        if self.offset == 0:  # the file's first line: without its byte order mark
            for raw in stream:
                self.offset += len(raw)
                yield raw.decode("utf-8-sig")
                break
        for raw in stream:
            self.offset += len(raw)
            yield raw.decode("utf-8")


class _LocalLines(_Items):
    """A local JSONL or CSV file read from a byte offset, a page at a time (:meth:`take`): its
    position is the offset after the last item taken (and the CSV headers)."""

    def __init__(self, lines: _Lines, index: int, rows: Iterator[list[str]] | None, headers: Any) -> None:
        super().__init__(iter(()), index)
        self.lines, self.rows, self.headers = lines, rows, headers
        # JSONL: the lines read ahead (from ``lines.offset``, without their "\n"), the next one
        # to take, and the start of a line not read to its end yet
        self._ahead: list[bytes] = []
        self._next = 0
        self._tail = b""
        self._eof = False

    def cursor(self) -> dict[str, Any]:
        offset = self.lines.offset
        position = {"Offset": offset} if self.rows is None else {"Offset": offset, "Headers": self.headers}
        return {"Index": self.index, "Position": position}

    def take(self, limit: int) -> list[Any]:
        """Up to ``limit`` items from where the last page ended."""
        if self.rows is not None:
            return self._records(self.rows, limit)
        page: list[Any] = []
        append = page.append
        lines = self.lines
        offset = lines.offset
        try:
            while len(page) < limit:
                ahead, n = self._ahead, self._next
                if n == len(ahead) and not self._read_ahead():
                    break
                ahead, n = self._ahead, self._next
                ended = not self._eof  # each line ends with "\n" (split off), but a last one
                for raw in ahead[n : n + limit - len(page)]:  # (as many lines as items wanted, at most)
                    n += 1
                    start = offset
                    offset += len(raw) + ended
                    if not start and raw[:3] == _BOM:
                        raw = raw[3:]  # (the file's first line)
                    try:  # (what msgspec decodes, json decodes the same; the rest goes to json)
                        append(_decode_json(raw))
                    except msgspec.DecodeError:
                        line = raw.decode("utf-8")
                        if line.strip():
                            append(json.loads(line))
                self._next = n
        finally:
            lines.offset = offset
        return page

    def _read_ahead(self) -> bool:
        """Read the next lines of the file (False: there are none)."""
        if self._eof:
            return False
        chunk = self.lines.stream.read(_READ_AHEAD)
        if not chunk:
            self._eof = True
            self._ahead, self._next, self._tail = ([self._tail] if self._tail else []), 0, b""
            return bool(self._ahead)
        ahead = (self._tail + chunk).split(b"\n")
        self._tail = ahead.pop()  # (a line not read to its end: the next chunk continues it)
        self._ahead, self._next = ahead, 0
        return True

    def _records(self, rows: Iterator[list[str]], limit: int) -> list[Any]:
        """The CSV rows as objects, as :func:`_records`."""
        page: list[Any] = []
        append = page.append
        headers = self.headers
        width = len(headers)
        for row in rows:
            if not row:
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            append(dict(zip(headers, row)))  # noqa: B905 (extra fields dropped; strict= costs a call)
            if len(page) == limit:
                break
        return page


class ItemSources:
    """Reads item pages and writes result files for one engine."""

    def __init__(self, buckets: dict[str, str] | None = None) -> None:
        self.buckets = dict(buckets or {})
        self._open: OrderedDict[tuple[str, int], _Items] = OrderedDict()

    # -- reading -----------------------------------------------------------------------------
    async def read(self, runner: CommandRunner, cmd: ReadItems, execution_arn: str, machine_arn: str) -> Any:
        source_key = json.dumps([execution_arn, cmd.resource, cmd.arguments, cmd.config], sort_keys=True)
        cursor = cmd.cursor or {}
        index = int(cursor.get("Index", 0))
        opened = self._open.pop((source_key, index), None)
        page: list[Any] = []
        try:
            if opened is None:
                opened = await self._start(runner, cmd, cursor, execution_arn, machine_arn)
            items = opened.items
            sent: Any = None
            if type(opened) is _LocalLines:
                page = opened.take(cmd.limit)
            while len(page) < cmd.limit:
                try:
                    item = next(items) if sent is None else items.send(sent)  # type: ignore[attr-defined]
                except StopIteration:
                    break
                sent = None
                if type(item) is _Await:
                    sent = await item.coro
                elif opened.skip:
                    opened.skip -= 1
                else:
                    page.append(item)
        except StatesFailure as failure:
            raise StatesFailure(ITEM_READER_FAILED, failure.cause or failure.error) from None
        except (OSError, ValueError, csv.Error, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise StatesFailure(ITEM_READER_FAILED, f"{type(exc).__name__}: {exc}") from None
        opened.index = index + len(page)
        if len(page) < cmd.limit:
            return {"Items": page, "Cursor": None}
        self._open[(source_key, opened.index)] = opened
        while len(self._open) > OPEN_SOURCES:
            self._open.popitem(last=False)
        return {"Items": page, "Cursor": opened.cursor()}

    async def _start(
        self, runner: CommandRunner, cmd: ReadItems, cursor: dict[str, Any], arn: str, machine: str
    ) -> _Items:
        args = cmd.arguments if isinstance(cmd.arguments, dict) else {}
        bucket = args.get("Bucket")
        if not isinstance(bucket, str):
            raise StatesFailure(ITEM_READER_FAILED, "The ItemReader's Parameters need a Bucket name.")
        config = cmd.config if isinstance(cmd.config, dict) else {}
        index = int(cursor.get("Index", 0))
        action = cmd.resource.rsplit(":", 1)[-1]
        if action == "listObjectsV2":
            objects = self._objects(runner, bucket, str(args.get("Prefix") or ""), arn, machine)
            if config.get("Transformation") == "LOAD_AND_FLATTEN":
                items = self._flattened(runner, bucket, objects, config, arn, machine)
            else:
                items = objects
            return _Items(items, index, index)
        key = args.get("Key")
        if not isinstance(key, str):
            raise StatesFailure(ITEM_READER_FAILED, "The ItemReader's Parameters need a Key.")
        manifest_type = config.get("ManifestType")
        input_type = config.get("InputType", "MANIFEST" if manifest_type == "S3_INVENTORY" else "JSON")
        if manifest_type == "ATHENA_DATA":
            files = athena_data_files(await self._object(runner, bucket, key, arn, machine))
            return _Items(self._athena(runner, files, input_type, config, arn, machine), index, index)
        root = self.buckets.get(bucket)
        if root is not None and input_type in ("JSONL", "CSV") and "ItemsPointer" not in config:
            # a local line file: seek to where the last page ended, no item read twice
            return self._local_lines(local_path(root, key), input_type, config, cursor, index)
        stream = await self._object(runner, bucket, key, arn, machine)
        return _Items(self._parse(stream, input_type, config), index, index)

    def _local_lines(
        self, path: Path, input_type: str, config: dict[str, Any], cursor: dict[str, Any], index: int
    ) -> _Items:
        position = cursor.get("Position") or {}
        stream = path.open("rb")
        lines = _Lines(stream, int(position.get("Offset", 0)))
        if input_type == "JSONL":
            return _LocalLines(lines, index, None, None)
        headers = position.get("Headers")
        rows = _csv_rows(iter(lines), config)
        if headers is None:
            headers = _headers(rows, config)
        return _LocalLines(lines, index, rows, headers)

    async def _object(self, runner: CommandRunner, bucket: str, key: str, arn: str, machine: str) -> BinaryIO:
        root = self.buckets.get(bucket)
        if root is not None:
            return local_path(root, key).open("rb")
        result = await s3_call(
            runner, "getObject", {"Bucket": bucket, "Key": key}, arn, machine, ITEM_READER_FAILED
        )
        body = result.get("Body", "") if isinstance(result, dict) else ""
        return io.BytesIO(body.encode() if isinstance(body, str) else bytes(body))

    def _parse(self, stream: BinaryIO, input_type: str, config: dict[str, Any]) -> Iterator[Any]:
        if input_type == "JSONL":
            return _jsonl(_text_lines(stream))
        if input_type == "CSV":
            rows = _csv_rows(_text_lines(stream), config)
            return _records(rows, _headers(rows, config))
        if input_type == "MANIFEST":
            return self._manifest(stream)
        if input_type == "PARQUET":
            return parquet_rows(stream)
        if input_type != "JSON":
            raise StatesFailure(
                ITEM_READER_FAILED, f"The InputType {input_type} is not supported by durable."
            )
        pointer = config.get("ItemsPointer")
        if pointer:
            with stream:
                document = json.load(stream)
            found = _pointer(document, str(pointer))
            if not isinstance(found, list):
                raise StatesFailure(
                    ITEM_READER_FAILED, f"The ItemsPointer {pointer} does not point to an array."
                )
            return iter(found)
        return _json_array(stream)

    def _manifest(self, stream: BinaryIO) -> Iterator[Any]:
        """An S3 inventory: its manifest names gzipped CSV files whose columns ``fileSchema``
        lists; each row is an item."""
        with stream:
            manifest = json.load(stream)
        schema = [name.strip() for name in str(manifest.get("fileSchema", "")).split(",")]
        destination = str(manifest.get("destinationBucket", "")).rsplit(":", 1)[-1]
        for entry in manifest.get("files", []):
            root = self.buckets.get(destination)
            if root is None:
                raise StatesFailure(
                    ITEM_READER_FAILED,
                    f"The inventory bucket {destination!r} is not mapped to a local directory.",
                )
            with gzip.open(local_path(root, entry["key"]), "rt", encoding="utf-8", newline="") as rows:
                for row in csv.reader(rows):
                    yield dict(zip(schema, row, strict=False))

    def _objects(
        self, runner: CommandRunner, bucket: str, prefix: str, arn: str, machine: str
    ) -> Generator[Any, Any, None]:
        root = self.buckets.get(bucket)
        if root is not None:
            yield from _local_objects(Path(root), prefix)
            return
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            result = yield _Await(s3_call(runner, "listObjectsV2", args, arn, machine, ITEM_READER_FAILED))
            for entry in result.get("Contents") or []:
                yield {
                    "Etag": entry.get("ETag"),
                    "Key": entry.get("Key"),
                    "LastModified": _epoch(entry.get("LastModified")),
                    "Size": entry.get("Size"),
                    "StorageClass": entry.get("StorageClass", "STANDARD"),
                }
            token = result.get("NextContinuationToken")
            if not result.get("IsTruncated") or not token:
                return

    def _flattened(
        self,
        runner: CommandRunner,
        bucket: str,
        objects: Generator[Any, Any, None],
        config: dict[str, Any],
        arn: str,
        machine: str,
    ) -> Generator[Any, Any, None]:
        input_type = config.get("InputType", "JSON")
        sent: Any = None
        while True:  # (the listing may await too: pass what it awaited back into it)
            try:
                entry = objects.send(sent)
            except StopIteration:
                return
            sent = None
            if type(entry) is _Await:
                sent = yield entry
                continue
            if str(entry["Key"]).endswith("/"):
                continue
            stream = yield _Await(self._object(runner, bucket, entry["Key"], arn, machine))
            yield from self._parse(stream, input_type, config)

    def _athena(
        self,
        runner: CommandRunner,
        files: list[tuple[str, str]],
        input_type: str,
        config: dict[str, Any],
        arn: str,
        machine: str,
    ) -> Generator[Any, Any, None]:
        """The rows of every data file an Athena manifest lists, file after file."""
        for bucket, key in files:
            stream = yield _Await(self._object(runner, bucket, key, arn, machine))
            kind = data_file_type(key, input_type)
            yield from self._parse(stream if kind == "PARQUET" else maybe_gunzip(stream), kind, config)


async def s3_call(
    runner: CommandRunner, action: str, payload: dict[str, Any], arn: str, machine: str, error: str
) -> Any:
    """An ``aws-sdk:s3`` call through the engine's integrations; its failure becomes ``error``."""
    try:
        return await runner.invoke(InvokeTask(_SDK + action, payload, "ItemReader"), arn, machine)
    except StatesFailure as failure:
        raise StatesFailure(
            error, f"{failure.error}: {failure.cause}" if failure.cause else failure.error
        ) from None
    except ValidationError as exc:
        raise StatesFailure(error, exc.message) from None


class _Await:
    """Yielded by a source that must await (a remote listing or object): the reader awaits
    ``coro`` and sends its result back into the source."""

    __slots__ = ("coro",)

    def __init__(self, coro: Any) -> None:
        self.coro = coro


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    with stream:
        yield from codecs.getreader("utf-8-sig")(stream)


def _jsonl(lines: Any) -> Iterator[Any]:
    for line in lines:
        if line.strip():
            yield json.loads(line)


def _csv_rows(lines: Iterator[str], config: dict[str, Any]) -> Iterator[list[str]]:
    delimiter = _DELIMITERS.get(str(config.get("CSVDelimiter", "COMMA")), ",")
    return csv.reader(lines, delimiter=delimiter)


def _headers(rows: Iterator[list[str]], config: dict[str, Any]) -> list[str]:
    if config.get("CSVHeaderLocation") == "GIVEN":
        return [str(h) for h in config.get("CSVHeaders") or []]
    first = next(rows, None)
    if first is None:
        return []
    return first


def _records(rows: Iterator[list[str]], headers: list[str]) -> Iterator[dict[str, str]]:
    """Rows as objects keyed by the headers; missing fields are empty text, extra ones dropped
    (what AWS recorded); values stay text."""
    width = len(headers)
    for row in rows:
        if not row:
            continue
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield dict(zip(headers, row, strict=False))


def _json_array(stream: BinaryIO) -> Iterator[Any]:
    """The elements of a top-level JSON array, decoded one by one from a chunked read."""
    decoder = json.JSONDecoder()
    reader = codecs.getreader("utf-8-sig")(stream)
    with stream:
        buffer = reader.read(_JSON_CHUNK)
        pos = _space(buffer, 0)
        if pos >= len(buffer) or buffer[pos] != "[":
            raise ValueError("the object is not a JSON array")
        pos += 1
        first = True
        while True:
            pos = _space(buffer, pos)
            while pos >= len(buffer):
                more = reader.read(_JSON_CHUNK)
                if not more:
                    raise ValueError("the JSON array is not closed")
                buffer, pos = buffer[pos:] + more, 0
                pos = _space(buffer, pos)
            if buffer[pos] == "]":
                return
            if not first:
                if buffer[pos] != ",":
                    raise ValueError(f"expected ',' in the JSON array at {pos}")
                pos += 1
            first = False
            while True:
                pos = _space(buffer, pos)
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                    if end >= len(buffer):  # a number may continue in the next chunk
                        raise ValueError("at the end of the buffer")
                    break
                except ValueError:
                    more = reader.read(_JSON_CHUNK)
                    if not more:
                        value, end = decoder.raw_decode(buffer, pos)
                        break
                    buffer, pos = buffer[pos:] + more, 0
            yield value
            buffer, pos = buffer[end:], 0


def _space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: ``/a/0/b``."""
    value = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise StatesFailure(ITEM_READER_FAILED, f"The ItemsPointer {pointer} does not resolve.")
    return value


def _local_objects(root: Path, prefix: str) -> Iterator[dict[str, Any]]:
    """The files of a mapped directory whose keys start with ``prefix``, in key order."""
    base = root.resolve()
    keys: list[str] = []
    for dirpath, _, files in os.walk(base):
        for name in files:
            key = Path(dirpath, name).relative_to(base).as_posix()
            if key.startswith(prefix) and not key.endswith(".partial"):
                keys.append(key)
    for key in sorted(keys):
        path = base / key
        stat = path.stat()
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        yield {
            "Etag": f'"{digest.hexdigest()}"',
            "Key": key,
            "LastModified": int(stat.st_mtime),
            "Size": stat.st_size,
            "StorageClass": "STANDARD",
        }


def _epoch(value: Any) -> Any:
    if isinstance(value, str):
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return value
    return value
