"""Distributed Map from the user's side: items read from a bucket mapped to a local directory,
batches, tolerated failures and result files, through the public Engine API."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from durable import Engine

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
GET = "arn:aws:states:::s3:getObject"


def dmap(processor_states: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    states = processor_states or {"P": {"Type": "Pass", "End": True}}
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": next(iter(states)),
            "States": states,
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "M", "States": {"M": state}}


def reader(input_type: str, key: str = "data", **config: Any) -> dict[str, Any]:
    return {
        "Resource": GET,
        "ReaderConfig": {"InputType": input_type, **config},
        "Parameters": {"Bucket": "data", "Key": key},
    }


async def run(
    definition: dict[str, Any],
    value: Any,
    tmp_path: Path,
    functions: dict[str, Any] | None = None,
    url: str | None = None,
) -> Any:
    buckets = {"data": tmp_path / "data", "out": tmp_path / "out"}
    async with Engine(url, load_plugins=False, local_buckets=buckets) as engine:
        for name, fn in (functions or {}).items():
            engine.register_function(name, fn)
        machine = await engine.create_state_machine("m", definition)
        started = await engine.start_execution(machine.arn, value)
        return await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


async def test_csv_rows_become_objects_keyed_by_the_first_row(tmp_path: Path, data: Path) -> None:
    (data / "data").write_text("a,b\n1,x\n2,y\n3\n")
    done = await run(dmap(ItemReader=reader("CSV", CSVHeaderLocation="FIRST_ROW")), {}, tmp_path)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}, {"a": "3", "b": ""}]


@pytest.mark.parametrize(("name", "char"), [("PIPE", "|"), ("SEMICOLON", ";"), ("TAB", "\t"), ("SPACE", " ")])
async def test_csv_given_headers_and_delimiters(tmp_path: Path, data: Path, name: str, char: str) -> None:
    (data / "data").write_text(f"1{char}x{char}extra\n2{char}y\n")
    config = {"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "s"], "CSVDelimiter": name}
    done = await run(dmap(ItemReader=reader("CSV", **config)), {}, tmp_path)
    assert done.output == [{"n": "1", "s": "x"}, {"n": "2", "s": "y"}]


async def test_json_jsonl_items_pointer_and_max_items(tmp_path: Path, data: Path) -> None:
    (data / "arr.json").write_text(json.dumps([{"i": i} for i in range(2500)]))
    (data / "lines.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(5)))
    (data / "doc.json").write_text(json.dumps({"data": {"rows": [1, 2, 3]}}))
    done = await run(dmap(ItemReader=reader("JSON", "arr.json")), {}, tmp_path)
    assert done.output == [{"i": i} for i in range(2500)]  # read over three pages
    done = await run(dmap(ItemReader=reader("JSONL", "lines.jsonl", MaxItems=3)), {}, tmp_path)
    assert done.output == [{"i": 0}, {"i": 1}, {"i": 2}]
    done = await run(dmap(ItemReader=reader("JSON", "doc.json", ItemsPointer="/data/rows")), {}, tmp_path)
    assert done.output == [1, 2, 3]
    by_path = reader("JSONL", "lines.jsonl", MaxItemsPath="$.max")
    done = await run(dmap(ItemReader=by_path), {"max": 2}, tmp_path)
    assert done.output == [{"i": 0}, {"i": 1}]
    done = await run(dmap(ItemReader=by_path), {"max": -1}, tmp_path)
    assert (done.status, done.error, done.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "field MaxItems must be positive",
    )


async def test_a_missing_object_fails_the_map_with_item_reader_failed(tmp_path: Path, data: Path) -> None:
    done = await run(dmap(ItemReader=reader("JSON", "nope.json")), {}, tmp_path)
    assert (done.status, done.error) == ("FAILED", "States.ItemReaderFailed")


async def test_list_objects_v2_lists_the_files_under_a_prefix(tmp_path: Path, data: Path) -> None:
    (data / "in").mkdir()
    for name in ("b.txt", "a.txt"):
        (data / "in" / name).write_text(name)
    (data / "other.txt").write_text("no")
    listing = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data", "Prefix": "in/"},
    }
    done = await run(dmap(ItemReader=listing), {}, tmp_path)
    assert [item["Key"] for item in done.output] == ["in/a.txt", "in/b.txt"]
    assert set(done.output[0]) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert done.output[0]["Size"] == 5


async def test_list_objects_v2_load_and_flatten_reads_every_data_file(tmp_path: Path, data: Path) -> None:
    (data / "in").mkdir()
    (data / "in" / "1.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    (data / "in" / "2.jsonl").write_text('{"n": 3}\n')
    listing = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN"},
        "Parameters": {"Bucket": "data", "Prefix": "in/"},
    }
    done = await run(dmap(ItemReader=listing), {}, tmp_path)
    assert done.output == [{"n": 1}, {"n": 2}, {"n": 3}]


async def test_manifest_reads_an_s3_inventory(tmp_path: Path, data: Path) -> None:
    (data / "inv").mkdir()
    with gzip.open(data / "inv" / "part.csv.gz", "wt") as f:
        f.write('"data","k1","10"\n"data","k2","20"\n')
    manifest = {
        "sourceBucket": "data",
        "destinationBucket": "arn:aws:s3:::data",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inv/part.csv.gz"}],
    }
    (data / "manifest.json").write_text(json.dumps(manifest))
    done = await run(dmap(ItemReader=reader("MANIFEST", "manifest.json")), {}, tmp_path)
    assert done.output == [
        {"Bucket": "data", "Key": "k1", "Size": "10"},
        {"Bucket": "data", "Key": "k2", "Size": "20"},
    ]


def _parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa  # the test extra installs it
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)  # several row groups


async def test_parquet_rows_become_objects(tmp_path: Path, data: Path) -> None:
    import datetime
    import decimal

    when = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    _parquet(
        data / "rows.parquet",
        [
            {"id": i, "name": f"n{i}", "price": decimal.Decimal("1.50"), "at": when, "ok": i % 2 == 0}
            for i in range(5)
        ],
    )
    done = await run(dmap(ItemReader=reader("PARQUET", "rows.parquet")), {}, tmp_path)
    assert done.status == "SUCCEEDED", done.cause
    assert [row["id"] for row in done.output] == [0, 1, 2, 3, 4]
    assert done.output[1] == {
        "id": 1,
        "name": "n1",
        "price": 1.5,
        "at": "2026-11-30T12:00:00+00:00",
        "ok": False,
    }


async def test_a_file_that_is_not_parquet_fails_the_reader(tmp_path: Path, data: Path) -> None:
    (data / "rows.parquet").write_text("not parquet")
    done = await run(dmap(ItemReader=reader("PARQUET", "rows.parquet")), {}, tmp_path)
    assert done.error == "States.ItemReaderFailed"
    assert "not a valid Parquet file" in (done.cause or "")


async def test_an_athena_data_manifest_reads_every_listed_file(tmp_path: Path, data: Path) -> None:
    """Athena's UNLOAD writes data files and a manifest listing them (s3://bucket/key per line)."""
    (data / "unload").mkdir()
    _parquet(data / "unload" / "part-0.parquet", [{"sensor": "a", "v": 1}, {"sensor": "b", "v": 2}])
    with gzip.open(data / "unload" / "part-1.gz", "wt") as f:  # UNLOAD's JSON text: gzipped lines
        f.write('{"sensor": "c", "v": 3}\n')
    (data / "q-manifest.csv").write_text("s3://data/unload/part-0.parquet\ns3://data/unload/part-1.gz\n")
    by_name = {"InputType": "MANIFEST", "ManifestType": "ATHENA_DATA"}
    done = await run(
        dmap(ItemReader=reader("MANIFEST", "q-manifest.csv", ManifestType="ATHENA_DATA")), {}, tmp_path
    )
    assert done.status == "FAILED" and "Cannot tell the format" in (done.cause or "")  # part-1.gz: no format
    (data / "unload" / "part-1.gz").rename(data / "unload" / "part-1.json.gz")
    (data / "q-manifest.csv").write_text("s3://data/unload/part-0.parquet\ns3://data/unload/part-1.json.gz\n")
    done = await run(
        dmap(ItemReader={**reader("MANIFEST", "q-manifest.csv"), "ReaderConfig": by_name}), {}, tmp_path
    )
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"sensor": "a", "v": 1}, {"sensor": "b", "v": 2}, {"sensor": "c", "v": 3}]


async def test_item_selector_then_batches_with_batch_input(tmp_path: Path) -> None:
    definition = dmap(
        ItemSelector={"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        ItemBatcher={"MaxItemsPerBatchPath": "$.per", "BatchInput": {"run.$": "$.run"}},
    )
    done = await run(definition, {"items": [10, 20, 30], "per": "2", "run": "r1"}, tmp_path)
    definition["States"]["M"]["ItemsPath"] = "$.items"
    done = await run(definition, {"items": [10, 20, 30], "per": "2", "run": "r1"}, tmp_path)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [
        {"Items": [{"v": 10, "i": 0}, {"v": 20, "i": 1}], "BatchInput": {"run": "r1"}},
        {"Items": [{"v": 30, "i": 2}], "BatchInput": {"run": "r1"}},
    ]


async def test_batches_by_input_bytes_and_jsonata(tmp_path: Path) -> None:
    definition = dmap(
        Items="{% $states.input %}",
        ItemBatcher={"MaxInputBytesPerBatch": "{% 30 %}"},
    )
    definition["QueryLanguage"] = "JSONata"
    done = await run(definition, ["aaaaaaaa", "bbbbbbbb", "cccccccc"], tmp_path)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"Items": ["aaaaaaaa"]}, {"Items": ["bbbbbbbb"]}, {"Items": ["cccccccc"]}]
    definition["States"]["M"]["ItemBatcher"] = {"MaxInputBytesPerBatch": 40}
    done = await run(definition, ["aaaaaaaa", "bbbbbbbb", "cccccccc"], tmp_path)
    assert done.output == [{"Items": ["aaaaaaaa", "bbbbbbbb"]}, {"Items": ["cccccccc"]}]


def _flaky(event: Any, context: Any = None) -> Any:
    if event % 2:
        raise ValueError(f"odd {event}")
    return event


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"ToleratedFailureCount": 2}, "SUCCEEDED"),
        ({"ToleratedFailurePercentage": 20}, "FAILED"),
        ({"ToleratedFailureCountPath": "$.n"}, "SUCCEEDED"),
    ],
)
async def test_tolerated_failures(tmp_path: Path, fields: dict[str, Any], status: str) -> None:
    states = {"T": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True}}
    definition = dmap(states, ItemsPath="$.items", MaxConcurrency=2, **fields)
    done = await run(definition, {"items": [0, 1, 2, 3, 4], "n": 2}, tmp_path, {"flaky": _flaky})
    assert done.status == status, done.cause
    if status == "FAILED":
        assert done.error == "States.ExceedToleratedFailureThreshold"
    else:
        assert done.output[1] == {"Error": "ValueError", "Cause": "odd 1"}


async def test_result_writer_exports_aws_layout_to_a_mapped_directory(tmp_path: Path, data: Path) -> None:
    (data / "data").write_text("n\n1\n2\n")
    states = {"T": {"Type": "Task", "Resource": LAMBDA + "flaky", "End": True}}
    definition = dmap(
        states,
        Label="run",
        ItemReader=reader("CSV", CSVHeaderLocation="FIRST_ROW"),
        ItemSelector={"n.$": "States.StringToJson($$.Map.Item.Value.n)"},
        ToleratedFailureCount=5,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "results"},
            "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
        },
    )
    selector = definition["States"]["M"]["ItemSelector"]
    selector.clear()
    selector["n.$"] = "States.StringToJson($$.Map.Item.Value.n)"
    done = await run(definition, {}, tmp_path, {"flaky": lambda e, c=None: _flaky(e["n"])})
    assert done.status == "SUCCEEDED", done.cause
    details = done.output["ResultWriterDetails"]
    assert details["Bucket"] == "out"
    assert ":mapRun:m/run:" in done.output["MapRunArn"]
    run_id = done.output["MapRunArn"].rsplit(":", 1)[1]
    assert details["Key"] == f"results/{run_id}/manifest.json"
    manifest = json.loads((tmp_path / "out" / details["Key"]).read_text())
    assert manifest["DestinationBucket"] == "out"
    assert manifest["MapRunArn"] == done.output["MapRunArn"]
    assert manifest["ResultFiles"]["PENDING"] == []
    succeeded = manifest["ResultFiles"]["SUCCEEDED"][0]
    assert succeeded["Key"] == f"results/{run_id}/SUCCEEDED_0.json"
    text = (tmp_path / "out" / succeeded["Key"]).read_text()
    assert succeeded["Size"] == len(text.encode())
    assert [json.loads(line) for line in text.splitlines()] == [2]
    failed_text = (tmp_path / "out" / manifest["ResultFiles"]["FAILED"][0]["Key"]).read_text()
    failed = [json.loads(line) for line in failed_text.splitlines()]  # JSON lines, as configured
    assert len(failed) == 1
    assert failed[0]["Status"] == "FAILED"
    assert (failed[0]["Error"], failed[0]["Cause"]) == ("ValueError", "odd 1")
    assert json.loads(failed[0]["Input"]) == {"n": 1}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"Transformation": "COMPACT"}, [[1, 2], [3]]),
        ({"Transformation": "FLATTEN"}, [1, 2, 3]),
    ],
)
async def test_writer_config_alone_shapes_the_state_output(
    tmp_path: Path, config: dict[str, Any], expected: Any
) -> None:
    definition = dmap(ItemsPath="$", ResultWriter={"WriterConfig": config})
    done = await run(definition, [[1, 2], [3]], tmp_path)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == expected


async def test_writer_config_none_returns_child_execution_records(tmp_path: Path) -> None:
    definition = dmap(ResultWriter={"WriterConfig": {"Transformation": "NONE"}})
    done = await run(definition, [{"a": 1}], tmp_path)
    (record,) = done.output
    assert record["Status"] == "SUCCEEDED"
    assert json.loads(record["Input"]) == {"a": 1}
    assert json.loads(record["Output"]) == {"a": 1}
    assert record["ExecutionArn"].startswith("arn:aws:states:us-east-1:111111111111:execution:m/")


async def test_a_standard_run_on_sqlite_records_pages_and_replays_them(tmp_path: Path, data: Path) -> None:
    """The pages read are journaled: a second engine on the same database sees the same result
    even though the file changed since (the source is not read again for a finished run)."""
    (data / "data").write_text("".join(f"{i}\n" for i in range(1500)))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    done = await run(dmap(ItemReader=reader("JSONL"), MaxConcurrency=3), {}, tmp_path, url=url)
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == list(range(1500))
