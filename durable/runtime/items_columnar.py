"""Parquet files and Athena data manifests as Distributed Map items.

``InputType: PARQUET`` reads a Parquet file row by row (one row group in memory at a time) with
pyarrow — the Apache Arrow project's reader; Parquet is a binary columnar format no one should
parse by hand. pyarrow is an optional dependency (``pip install 'durable[parquet]'``); without
it the ItemReader fails with ``States.ItemReaderFailed`` saying so. Each row is an object keyed
by column name; values JSON has no type for become text: timestamps and dates in ISO 8601,
decimals as numbers, binary as base64.

``ManifestType: ATHENA_DATA`` reads the manifest Athena's ``UNLOAD`` writes — one
``s3://bucket/key`` per line — and then every data file it lists, in order. The data files are
read as ``InputType`` says (``CSV``, ``JSONL`` or ``PARQUET``); when ``InputType`` is
``MANIFEST`` (or absent) their format is taken from each file's name (``.parquet``, ``.csv``,
``.json``/``.jsonl``, optionally ``.gz``). Gzipped files are unpacked as they stream.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import gzip
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..interpreter.distributed import ITEM_READER_FAILED
from ..interpreter.failure import StatesFailure

__all__ = ["athena_data_files", "data_file_type", "maybe_gunzip", "parquet_rows"]

_BATCH_ROWS = 1024


def parquet_rows(stream: BinaryIO) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq  # optional: durable[parquet]
    except ImportError:
        raise StatesFailure(
            ITEM_READER_FAILED,
            "Reading PARQUET needs pyarrow: pip install 'durable[parquet]' (or pyarrow).",
        ) from None
    with stream:
        try:
            reader = pq.ParquetFile(stream)
        except Exception as exc:  # pyarrow's own error types: not a Parquet file, corrupt footer
            raise StatesFailure(
                ITEM_READER_FAILED, f"The object is not a valid Parquet file: {exc}"
            ) from None
        for batch in reader.iter_batches(batch_size=_BATCH_ROWS):
            for row in batch.to_pylist():
                yield {str(k): _json_value(v) for k, v in row.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)


def athena_data_files(stream: BinaryIO) -> list[tuple[str, str]]:
    """The ``(bucket, key)`` of every data file an Athena manifest lists."""
    with stream:
        text = maybe_gunzip(stream).read().decode("utf-8-sig")
    files: list[tuple[str, str]] = []
    for line in text.splitlines():
        uri = line.strip().strip('"')
        if not uri:
            continue
        if not uri.lower().startswith("s3://") or "/" not in uri[5:]:
            raise StatesFailure(
                ITEM_READER_FAILED, f"The Athena manifest lists {uri!r}, not an s3:// object."
            )
        bucket, key = uri[5:].split("/", 1)
        files.append((bucket, key))
    return files


def data_file_type(key: str, input_type: str) -> str:
    """The format of an Athena data file: ``InputType`` when it names one, else the file name's."""
    if input_type in ("CSV", "JSONL", "PARQUET"):
        return input_type
    name = key.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "PARQUET"
    if name.endswith(".csv"):
        return "CSV"
    if name.endswith((".json", ".jsonl")):
        return "JSONL"
    raise StatesFailure(
        ITEM_READER_FAILED,
        f"Cannot tell the format of the Athena data file {key!r}: set ReaderConfig.InputType to CSV, JSONL "
        "or PARQUET.",
    )


def maybe_gunzip(stream: BinaryIO) -> BinaryIO:
    """``stream``, unpacked as it is read when it is gzipped (by its magic bytes)."""
    if not stream.seekable():
        return stream
    head = stream.read(2)
    stream.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream
