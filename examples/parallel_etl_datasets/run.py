"""Parallel ETL on a local moto server: python examples/parallel_etl_datasets/run.py

Needs boto3 and moto (``pip install -e '.[test]'``); the durable-aws plugin is taken from
plugins/durable-aws when it is not installed. The engine runs on a ManualClock that the script
moves: 01:30 the sales file lands, 02:00 the nightly run starts, then the inventory file lands.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from durable_aws.testing import moto_server  # noqa: E402
from etl_datasets import (  # noqa: E402
    INVENTORY,
    SALES,
    deploy,
    executions,
    file_lands,
    open_engine,
    report,
    setup,
    until_waiting,
)

from durable import ManualClock  # noqa: E402


async def main() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC).timestamp())
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        async with open_engine(aws, str(Path(tmp) / "etl.db"), clock=clock) as engine:
            deployed = await deploy(engine)
            clock.advance(1800)  # 01:30: the sales file lands before the nightly run
            await file_lands(aws, engine, "sales/2026-03-02.csv", SALES)
            [sales] = await executions(engine, deployed.dataset_arn, 1)
            print(json.dumps({"at": "01:30", "job": "LoadDataset", "output": sales.output}))
            clock.advance(1800)  # 02:00: the schedule fires
            [run] = await executions(engine, deployed.main_arn, 1, ended=False)
            await until_waiting(aws, "inventory", "2026-03-02")
            print(
                json.dumps(
                    {"at": "02:00", "run": "NightlyEtl", "status": str(run.status), "waitsFor": "inventory"}
                )
            )
            clock.advance(900)  # 02:15: the inventory file lands
            await file_lands(aws, engine, "inventory/2026-03-02.csv", INVENTORY)
            done = await engine.wait_for_execution(run.execution_arn)
            print(
                json.dumps(
                    {
                        "at": "02:15",
                        "run": "NightlyEtl",
                        "status": str(done.status),
                        "output": done.output["combined"],
                    }
                )
            )
        for row in report(aws, "2026-03-02"):
            print(json.dumps(row))


if __name__ == "__main__":
    asyncio.run(main())
