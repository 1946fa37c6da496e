"""A ResultWriter's files: the driver side of ``WriteResults``.

Files go to a bucket the engine maps to a local directory (``Engine(local_buckets=...)``), each
streamed to ``<key>.partial`` and renamed once whole, or to S3 through the engine's integrations
(the ``aws-sdk:s3`` calls of the durable-aws plugin): a file up to :data:`PART_BYTES` is put
whole, a larger one is sent as a multipart upload a part at a time, so memory holds one part.
The results of a Map Run whose children's outputs are stored (``WriteResults.spill``) are
streamed from the store a window at a time into ``SUCCEEDED_<n>.json`` (and the records of
failed children, tolerated, into ``FAILED_<n>.json``), a new file past 5 GB as AWS splits them,
then ``manifest.json``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..interpreter.commands import WriteResults
from ..interpreter.distributed import RESULT_FILE_BYTES, RESULT_WRITER_FAILED, manifest
from ..interpreter.failure import StatesFailure
from .items import local_path, s3_call

if TYPE_CHECKING:
    from .children import StoredWindow
    from .runner import CommandRunner

__all__ = ["PART_BYTES", "write_files", "write_stored"]

#: a result file to S3 larger than this is sent as a multipart upload, a part of this size at a time
PART_BYTES = 8 * 1024 * 1024


async def write_files(
    root: str | None, runner: CommandRunner, cmd: WriteResults, arn: str, machine: str
) -> None:
    """Write ``cmd.files``: into ``root`` (a mapped directory; each file to a temporary name,
    renamed once whole), else to S3 with ``putObject``."""
    for key, text in cmd.files:
        if root is not None:
            try:
                path = local_path(root, key)
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".partial")
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, path)
            except (OSError, StatesFailure) as exc:
                raise StatesFailure(RESULT_WRITER_FAILED, str(exc)) from None
        else:
            await s3_call(
                runner,
                "putObject",
                {"Bucket": cmd.bucket, "Key": key, "Body": text},
                arn,
                machine,
                RESULT_WRITER_FAILED,
            )


async def write_stored(
    root: str | None,
    runner: CommandRunner,
    cmd: WriteResults,
    windows: AsyncIterator[StoredWindow],
    arn: str,
    machine: str,
) -> None:
    """Write the result files of a Map Run from its children's stored outputs (``windows``), a
    window at a time, then the manifest (see the module's docstring)."""
    spill = cmd.spill
    assert spill is not None
    jsonl = spill.output_type == "JSONL"
    listed: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    files = {status: _ResultFile(runner, cmd, root, arn, machine) for status in ("SUCCEEDED", "FAILED")}

    async def add(status: str, value: bytes) -> None:
        out = files[status]
        if out.size and out.size + len(value) + 1 > RESULT_FILE_BYTES:
            listed[status].append(await out.close(jsonl))
        if not out.size:
            out.open(f"{spill.base}/{status}_{len(listed[status])}.json", jsonl)
        await out.add(value, jsonl)

    try:
        async for indexes, inputs, outputs, failed in windows:
            values = spill.encode(indexes, inputs, outputs)
            out = files["SUCCEEDED"]
            if values and out.size + sum(map(len, values)) + len(values) + 1 <= RESULT_FILE_BYTES:
                if not out.size:  # (all in the current file: what adding them one by one does)
                    out.open(f"{spill.base}/SUCCEEDED_{len(listed['SUCCEEDED'])}.json", jsonl)
                await out.add_all(values, jsonl)
            else:
                for value in values:
                    await add("SUCCEEDED", value)
            if spill.failed is not None:  # tolerated failures: their records
                for row in failed:
                    await add("FAILED", spill.failed(row.index, row.input, row.error, row.cause))
        for status, out in files.items():
            if out.size:
                listed[status].append(await out.close(jsonl))
    except OSError as exc:
        raise StatesFailure(RESULT_WRITER_FAILED, str(exc)) from None
    finally:
        for out in files.values():
            await out.discard()
    text = manifest(cmd.bucket, cmd.map_run, listed)
    await write_files(
        root, runner, replace(cmd, files=((f"{spill.base}/manifest.json", text),), spill=None), arn, machine
    )


class _ResultFile:
    """One result file being written: streamed to ``<key>.partial`` in a mapped directory, else
    put to S3 — whole when it is small, else as a multipart upload, a part of
    :data:`PART_BYTES` at a time (S3's parts are 5 MiB at least), so memory holds one part.
    ``size`` is 0 until something is added."""

    def __init__(
        self, runner: CommandRunner, cmd: WriteResults, root: str | None, arn: str, machine: str
    ) -> None:
        self.runner, self.cmd, self.root = runner, cmd, root
        self.arn, self.machine = arn, machine
        self.key = ""
        self.size = 0
        self.path: Path | None = None
        self.stream: BinaryIO | None = None
        self.chunks: list[bytes] = []
        self.buffered = 0  # bytes in ``chunks``
        self.upload: str | None = None  # the multipart upload's id, once a part is sent
        self.parts: list[dict[str, Any]] = []

    def open(self, key: str, jsonl: bool) -> None:
        self.key, self.chunks, self.buffered = key, [], 0
        if self.root is not None:
            try:
                path = self.path = local_path(self.root, key)
            except StatesFailure as failure:
                raise StatesFailure(RESULT_WRITER_FAILED, failure.cause or failure.error) from None
            path.parent.mkdir(parents=True, exist_ok=True)
            self.stream = path.with_name(path.name + ".partial").open("wb")
        self._put(b"" if jsonl else b"[")

    def _put(self, data: bytes) -> None:
        if self.stream is not None:
            self.stream.write(data)
        else:
            self.chunks.append(data)
            self.buffered += len(data)
        self.size += len(data)

    async def add(self, value: bytes, jsonl: bool) -> None:
        if jsonl:
            self._put(value + b"\n")
        else:
            self._put(value if self.size == 1 else b"," + value)
        if self.buffered >= PART_BYTES:
            await self._part()

    async def add_all(self, values: list[bytes], jsonl: bool) -> None:
        if jsonl:
            self._put(b"\n".join(values) + b"\n")
        else:
            self._put((b"" if self.size == 1 else b",") + b",".join(values))
        if self.buffered >= PART_BYTES:
            await self._part()

    async def _s3(self, action: str, payload: dict[str, Any]) -> Any:
        return await s3_call(
            self.runner,
            action,
            {"Bucket": self.cmd.bucket, "Key": self.key, **payload},
            self.arn,
            self.machine,
            RESULT_WRITER_FAILED,
        )

    async def _part(self) -> None:
        """Send what is buffered as the next part of the multipart upload (started if need be)."""
        if self.upload is None:
            started = await self._s3("createMultipartUpload", {})
            self.upload = str(started["UploadId"])
        number = len(self.parts) + 1
        body = b"".join(self.chunks).decode()  # (whole values: never a character cut in two)
        self.chunks, self.buffered = [], 0
        sent = await self._s3("uploadPart", {"UploadId": self.upload, "PartNumber": number, "Body": body})
        self.parts.append({"ETag": sent["ETag"], "PartNumber": number})

    async def close(self, jsonl: bool) -> dict[str, Any]:
        if not jsonl:
            self._put(b"]")
        entry = {"Key": self.key, "Size": self.size}
        if self.stream is not None and self.path is not None:
            self.stream.close()
            self.stream = None
            os.replace(self.path.with_name(self.path.name + ".partial"), self.path)
        elif self.upload is not None:
            await self._part()
            parts, self.parts = self.parts, []
            upload, self.upload = self.upload, None
            await self._s3(
                "completeMultipartUpload", {"UploadId": upload, "MultipartUpload": {"Parts": parts}}
            )
        else:
            text = b"".join(self.chunks).decode()
            self.chunks, self.buffered = [], 0
            await write_files(
                self.root,
                self.runner,
                replace(self.cmd, files=((self.key, text),), spill=None),
                self.arn,
                self.machine,
            )
        self.size = 0
        return entry

    async def discard(self) -> None:
        """Leave nothing half written: a partial file closed, a multipart upload aborted."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.upload is not None:
            upload, self.upload = self.upload, None
            try:
                await self._s3("abortMultipartUpload", {"UploadId": upload})
            except StatesFailure:  # (the failure that brought us here is the one to report)
                pass
