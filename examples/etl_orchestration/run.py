"""Run the ETL example on a local moto server: python examples/etl_orchestration/run.py

Needs boto3 and moto (``pip install -e '.[test]'``); the durable-aws plugin is taken from
plugins/durable-aws when it is not installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from durable_aws.testing import moto_server  # noqa: E402
from etl_workflow import alerts, file_arrives, run_etl, setup  # noqa: E402


def show(execution: object) -> None:
    e = execution  # an Execution
    print(json.dumps({"status": str(e.status), "output": e.output, "error": e.error}))  # type: ignore[attr-defined]


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        db = str(Path(tmp) / "etl.db")
        show(await run_etl(aws, db, file_arrives(aws, "orders/2026-11-30.csv", b"id,total\n1,9.99\n")))
        show(await run_etl(aws, db, file_arrives(aws, "orders/missing.csv", None)))
        for alert in alerts(aws):
            print(json.dumps({"alert": alert["Subject"], "source": alert["source"], "error": alert["error"]}))


if __name__ == "__main__":
    asyncio.run(main())
