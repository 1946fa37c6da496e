"""A Distributed Map reading its items from S3 and writing its results there (moto server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_helpers import run, unique

from durable import Engine


def dmap(**fields: Any) -> dict[str, Any]:
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "M", "States": {"M": state}}


async def test_csv_from_s3_batched_and_results_written_back(
    engine: Engine, boto: Callable[[str], Any]
) -> None:
    s3 = boto("s3")
    bucket = unique("dmap")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/rows.csv", Body=b"id,name\n1,a\n2,b\n3,c\n")
    definition = dmap(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 3},
            "Parameters": {"Bucket.$": "$.bucket", "Key": "in/rows.csv"},
        },
        ItemBatcher={"MaxItemsPerBatch": 2},
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"},
            "WriterConfig": {"Transformation": "FLATTEN"},
        },
    )
    done = await run(engine, definition, {"bucket": bucket})
    assert done.status == "SUCCEEDED", done.cause
    details = done.output["ResultWriterDetails"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    results = json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())
    assert results == [
        {"Items": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]},
        {"Items": [{"id": "3", "name": "c"}]},
    ]


async def test_list_objects_v2_and_a_missing_key(engine: Engine, boto: Callable[[str], Any]) -> None:
    s3 = boto("s3")
    bucket = unique("dmap")
    s3.create_bucket(Bucket=bucket)
    for key in ("p/2.json", "p/1.json", "q/3.json"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"[1]")
    listing = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": bucket, "Prefix": "p/"},
    }
    done = await run(engine, dmap(ItemReader=listing))
    assert done.status == "SUCCEEDED", done.cause
    assert [o["Key"] for o in done.output] == ["p/1.json", "p/2.json"]
    assert isinstance(done.output[0]["LastModified"], int)
    flatten = {**listing, "ReaderConfig": {"InputType": "JSON", "Transformation": "LOAD_AND_FLATTEN"}}
    done = await run(engine, dmap(ItemReader=flatten))
    assert done.output == [1, 1]
    missing = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": bucket, "Key": "nope.json"},
    }
    done = await run(engine, dmap(ItemReader=missing))
    assert (done.status, done.error) == ("FAILED", "States.ItemReaderFailed")
    assert "NoSuchKey" in (done.cause or "")


async def test_a_large_result_file_goes_to_s3_as_a_multipart_upload(
    engine: Engine, boto: Callable[[str], Any]
) -> None:
    """A result file past one part (8 MiB) is sent a part at a time (memory holds one part),
    then completed: the object is whole, and no upload is left open."""
    s3 = boto("s3")
    bucket = unique("parts")
    s3.create_bucket(Bucket=bucket)
    pad = "x" * 600
    rows = 20_000  # about 12 MB of results: two parts
    s3.put_object(
        Bucket=bucket,
        Key="in/items.jsonl",
        Body="".join(json.dumps({"i": i, "pad": pad}) + "\n" for i in range(rows)).encode(),
    )
    definition = dmap(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket.$": "$.bucket", "Key": "in/items.jsonl"},
        },
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"},
            "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
        },
    )
    done = await run(engine, definition, {"bucket": bucket})
    assert done.status == "SUCCEEDED", done.cause
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=done.output["ResultWriterDetails"]["Key"])["Body"].read()
    )
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    body = s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read()
    assert len(body) == succeeded["Size"] > 8 * 1024 * 1024
    lines = body.decode().splitlines()
    assert [json.loads(line)["i"] for line in lines] == list(range(rows))
    assert json.loads(lines[-1]) == {"i": rows - 1, "pad": pad}
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
