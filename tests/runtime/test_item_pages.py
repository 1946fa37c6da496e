"""A local JSONL or CSV file read a page at a time gives the items the whole-file reading gives,
whether a page continues the open source or reopens the file at the cursor (after a restart):
byte order mark, blank lines, values msgspec leaves to the json module, CSV rows across lines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from durable.interpreter.commands import ReadItems
from durable.interpreter.failure import StatesFailure
from durable.runtime import items
from durable.runtime.items import ItemSources

GET = "arn:aws:states:::s3:getObject"

JSONL = (
    '\ufeff{"id": 0}\n'
    "\n"
    '{"id": 1, "big": 123456789012345678901234567890}\n'
    "   \n"
    '{"id": 2, "inf": 1e400, "nan": NaN}\n'
    "\u00a0\n"  # only Unicode white space: a blank line too
    '"\\ud800"\n'
    '[1, 2.5, -0.0, "é", null, true]\n'
    '{"id": 5, "a": 1, "a": 2}\r\n'
    "7"
)
CSV = '\ufeffid,name,note\n0,a,"one\ntwo"\n\n1,b\n2,c,"x,y",extra\n3,"d""e",z\n4,é,\n'


def _read(folder: Path, fmt: str, config: dict[str, Any], limit: int, reopen: bool) -> list[Any]:
    async def run() -> list[Any]:
        items: list[Any] = []
        cursor: Any = None
        sources = ItemSources({"data": str(folder)})
        while True:
            cmd = ReadItems(GET, {"Bucket": "data", "Key": f"items.{fmt}"}, config, cursor, limit, "M", False)
            page = await sources.read(None, cmd, "arn:execution", "arn:machine")  # type: ignore[arg-type]
            assert len(page["Items"]) <= limit
            items.extend(page["Items"])
            cursor = page["Cursor"]
            if cursor is None:
                return items
            if reopen:
                sources = ItemSources({"data": str(folder)})

    return asyncio.run(run())


def _whole(folder: Path, fmt: str, config: dict[str, Any]) -> list[Any]:
    """The items as the reader of an unmapped object (the whole stream) gives them."""
    sources = ItemSources({})
    with (folder / f"items.{fmt}").open("rb") as stream:
        return list(sources._parse(stream, config["InputType"], config))


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
@pytest.mark.parametrize("reopen", [False, True])
@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 18])
@pytest.mark.parametrize("end", ["", "\n"])
def test_jsonl_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, reopen: bool, chunk: int, end: str
) -> None:
    monkeypatch.setattr(items, "_READ_AHEAD", chunk)  # (lines cut across reads)
    (tmp_path / "items.jsonl").write_text(JSONL + end, encoding="utf-8")
    config = {"InputType": "JSONL"}
    expected = _whole(tmp_path, "jsonl", config)
    assert len(expected) == 7
    got = _read(tmp_path, "jsonl", config, limit, reopen)
    assert repr(got) == repr(expected)  # (repr: NaN and -0.0 compare as they are)


@pytest.mark.parametrize("limit", [1, 2, 100])
@pytest.mark.parametrize("reopen", [False, True])
def test_csv_pages(tmp_path: Path, limit: int, reopen: bool) -> None:
    (tmp_path / "items.csv").write_text(CSV, encoding="utf-8", newline="")
    config = {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    expected = _whole(tmp_path, "csv", config)
    assert expected[0] == {"id": "0", "name": "a", "note": "one\ntwo"}
    assert _read(tmp_path, "csv", config, limit, reopen) == expected


@pytest.mark.parametrize("line", ['{"a": 1} 2', '{"a": "\x01"}', "[1,]"])
def test_jsonl_invalid_line(tmp_path: Path, line: str) -> None:
    (tmp_path / "items.jsonl").write_text('{"ok": 1}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(StatesFailure) as raised:
        _read(tmp_path, "jsonl", {"InputType": "JSONL"}, 100, False)
    assert raised.value.error == "States.ItemReaderFailed"
    assert (raised.value.cause or "").startswith("JSONDecodeError: ")


def test_jsonl_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "items.jsonl").write_bytes(b'{"ok": 1}\n"\xff"\n')
    with pytest.raises(StatesFailure) as raised:
        _read(tmp_path, "jsonl", {"InputType": "JSONL"}, 100, False)
    assert (raised.value.cause or "").startswith("UnicodeDecodeError: ")
