"""Parallel ETL on a local AWS: S3 and DynamoDB on a moto server, the file events on durable's
embedded EventBridge bus, the nightly run on a schedule of the engine's clock.

``setup`` makes the buckets and the ``etl-runs`` marker table; ``open_engine`` opens an engine
with the AWS plugin and the three Lambda handlers; ``deploy`` creates both state machines, the
rule that starts a dataset's job when its file lands and the nightly schedule; ``file_lands``
uploads a file and puts the event S3 sends through EventBridge ("Object Created").
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from durable_aws import AwsIntegration

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
MAIN = (HERE / "main.asl.json").read_text()
DATASET = (HERE / "dataset.asl.json").read_text()
REGION = "us-east-1"
LANDING, WAREHOUSE = "landing", "warehouse"
NIGHTLY = "cron(0 2 * * ? *)"  # 02:00 UTC every day

#: S3's "Object Created" events for CSV files of the landing bucket (EventBridge notifications on)
FILE_PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": [LANDING]}, "object": {"key": [{"wildcard": "*/*.csv"}]}},
}
FILE_INPUT = {
    "InputPathsMap": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
    "InputTemplate": '{"bucket": <bucket>, "key": <key>}',
}


@dataclass
class Aws:
    """boto3 clients of the (local) AWS endpoint."""

    endpoint: str

    def session(self) -> boto3.Session:
        """Credentials the local endpoint accepts (any will do)."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint)


@dataclass
class Deployed:
    engine: Engine
    main_arn: str
    dataset_arn: str


def setup(endpoint: str) -> Aws:
    aws = Aws(endpoint)
    for bucket in (LANDING, WAREHOUSE):
        aws.client("s3").create_bucket(Bucket=bucket)
    aws.client("dynamodb").create_table(
        TableName="etl-runs",
        KeySchema=[
            {"AttributeName": "dataset", "KeyType": "HASH"},
            {"AttributeName": "runDate", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "dataset", "AttributeType": "S"},
            {"AttributeName": "runDate", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return aws


# -- the task code (Lambda handlers) ------------------------------------------------------------------
def _rows(aws: Aws, bucket: str, key: str) -> list[dict[str, str]]:
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


def transform_dataset(aws: Aws) -> Any:
    """``TransformDataset``: one landed CSV file summed per SKU, written to the warehouse as JSON."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        rows = _rows(aws, event["bucket"], event["key"])
        per_sku: dict[str, dict[str, float]] = {}
        for row in rows:
            sku = per_sku.setdefault(row["sku"], {})
            if event["dataset"] == "sales":
                sku["sold"] = sku.get("sold", 0) + int(row["qty"])
                sku["revenue"] = round(sku.get("revenue", 0) + int(row["qty"]) * float(row["price"]), 2)
            else:
                sku["onHand"] = sku.get("onHand", 0) + int(row["on_hand"])
        key = f"{event['dataset']}/{event['runDate']}.json"
        aws.client("s3").put_object(Bucket=WAREHOUSE, Key=key, Body=json.dumps(per_sku, sort_keys=True))
        return {"dataset": event["dataset"], "output": f"s3://{WAREHOUSE}/{key}", "rows": len(rows)}

    return handler


def combine_datasets(aws: Aws) -> Any:
    """``CombineDatasets``: the day's sales and stock per SKU, with days of cover, as a CSV report."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        s3 = aws.client("s3")
        parts = {}
        for dataset in event["datasets"]:
            key = dataset["output"].removeprefix(f"s3://{WAREHOUSE}/")
            parts[dataset["dataset"]] = json.loads(s3.get_object(Bucket=WAREHOUSE, Key=key)["Body"].read())
        sales, stock = parts["sales"], parts["inventory"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["sku", "sold", "revenue", "on_hand", "days_of_cover"])
        for sku in sorted(set(sales) | set(stock)):
            sold = int(sales.get(sku, {}).get("sold", 0))
            on_hand = int(stock.get(sku, {}).get("onHand", 0))
            cover = round(on_hand / sold, 1) if sold else ""
            writer.writerow([sku, sold, f"{sales.get(sku, {}).get('revenue', 0):.2f}", on_hand, cover])
        key = f"reports/{event['runDate']}.csv"
        s3.put_object(Bucket=WAREHOUSE, Key=key, Body=out.getvalue())
        return {"report": f"s3://{WAREHOUSE}/{key}", "skus": len(set(sales) | set(stock))}

    return handler


def open_engine(aws: Aws, db: str | None = None, **options: Any) -> Engine:
    """An engine on ``db`` (SQLite; None: in memory) with the Lambda handlers and the AWS plugin
    on ``aws``'s endpoint (on AWS: Lambda functions and ``AwsIntegration()``); ``options`` go to
    ``Engine`` (the ``clock`` the schedule fires on)."""
    engine = Engine(db, load_plugins=False, **options)
    engine.register_function("TransformDataset", transform_dataset(aws))
    engine.register_function("CombineDatasets", combine_datasets(aws))
    engine.add_integration(AwsIntegration(session=aws.session(), endpoint_url=aws.endpoint, region=REGION))
    return engine


async def deploy(engine: Engine) -> Deployed:
    """Both state machines, the rule on landed files and the nightly schedule."""
    main = await engine.create_state_machine("NightlyEtl", MAIN)
    dataset = await engine.create_state_machine("LoadDataset", DATASET)
    await engine.put_rule("dataset-landed", event_pattern=FILE_PATTERN)
    await engine.put_targets(
        "dataset-landed", [{"Id": "load", "Arn": dataset.arn, "InputTransformer": FILE_INPUT}]
    )
    await engine.create_schedule(
        "nightly-etl", schedule_expression=NIGHTLY, target={"Arn": main.arn, "Input": "{}"}
    )
    return Deployed(engine, main.arn, dataset.arn)


async def file_lands(aws: Aws, engine: Engine, key: str, rows: list[dict[str, Any]]) -> None:
    """Upload ``rows`` as the CSV file ``key`` of the landing bucket, and put the event S3 sends
    through EventBridge for it (on AWS, S3 puts it itself)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    body = out.getvalue().encode()
    put = aws.client("s3").put_object(Bucket=LANDING, Key=key, Body=body)
    detail = {
        "version": "0",
        "bucket": {"name": LANDING},
        "object": {"key": key, "size": len(body), "etag": put["ETag"].strip('"')},
        "reason": "PutObject",
    }
    await engine.put_events(
        [
            {
                "Source": "aws.s3",
                "DetailType": "Object Created",
                "Resources": [f"arn:aws:s3:::{LANDING}"],
                "Detail": json.dumps(detail),
            }
        ]
    )


async def executions(engine: Engine, machine_arn: str, count: int, *, ended: bool = True) -> list[Execution]:
    """Wait until ``machine_arn`` has ``count`` executions (ended ones, unless ``ended=False``);
    them, oldest first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        await engine.events_delivered()
        found = await engine.list_executions(machine_arn)
        if len(found) >= count and (not ended or all(str(e.status) != "RUNNING" for e in found)):
            return sorted(found, key=lambda e: e.start_date)
        if loop.time() > deadline:
            raise TimeoutError(f"{len(found)} of {count} executions of {machine_arn}")
        await asyncio.sleep(0.02)


def report(aws: Aws, run_date: str) -> list[dict[str, str]]:
    return _rows(aws, WAREHOUSE, f"reports/{run_date}.csv")


def marker(aws: Aws, dataset: str, run_date: str) -> dict[str, str]:
    """The ``etl-runs`` item of one dataset and day (``taskToken`` while the run waits for it,
    ``doneAt`` and ``output`` once its job is done)."""
    got = aws.client("dynamodb").get_item(
        TableName="etl-runs", Key={"dataset": {"S": dataset}, "runDate": {"S": run_date}}, ConsistentRead=True
    )
    return {name: next(iter(value.values())) for name, value in got.get("Item", {}).items()}


async def until_waiting(aws: Aws, dataset: str, run_date: str) -> None:
    """Wait until the nightly run has left its task token on ``dataset``'s marker."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while "taskToken" not in await asyncio.to_thread(marker, aws, dataset, run_date):
        if loop.time() > deadline:
            raise TimeoutError(f"the nightly run does not wait for {dataset}")
        await asyncio.sleep(0.02)


SALES = [
    {"sku": "A-1", "qty": 3, "price": "2.50"},
    {"sku": "B-2", "qty": 1, "price": "10.00"},
    {"sku": "A-1", "qty": 2, "price": "2.50"},
]
INVENTORY = [{"sku": "A-1", "on_hand": 40}, {"sku": "B-2", "on_hand": 2}, {"sku": "C-3", "on_hand": 9}]
