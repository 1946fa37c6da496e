"""Exposed access key remediation on a local moto server: python examples/exposed_access_key/run.py

Needs boto3 and moto (``pip install -e '.[test]'``); the durable-aws plugin is taken from
plugins/durable-aws when it is not installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from durable_aws.testing import moto_server  # noqa: E402
from exposed_key import (  # noqa: E402
    access_keys,
    create_user_with_key,
    deploy,
    key_exposed,
    notifications,
    now,
    open_engine,
    record_activity,
    setup,
)


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        key = create_user_with_key(aws, "ci-deployer")
        detected = now()
        record_activity(
            aws,
            key,
            "ci-deployer",
            [
                ("s3.amazonaws.com", "ListBuckets", "203.0.113.7", detected - timedelta(hours=3)),
                ("s3.amazonaws.com", "GetObject", "203.0.113.7", detected - timedelta(hours=2)),
                ("ec2.amazonaws.com", "RunInstances", "198.51.100.23", detected - timedelta(hours=1)),
                ("iam.amazonaws.com", "ListUsers", "198.51.100.23", detected - timedelta(minutes=5)),
            ],
        )
        async with open_engine(aws, str(Path(tmp) / "security.db")) as engine:
            machine = await deploy(engine)
            done = await key_exposed(engine, machine, key, detected)
            history = await engine.get_execution_history(done.execution_arn)
        steps = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"] == "TaskStateEntered"]
        print(json.dumps({"status": str(done.status), "steps": steps}))
        print(json.dumps({"keysLeft": access_keys(aws, "ci-deployer")}))
        for message in notifications(aws):
            print(json.dumps({"subject": message["Subject"], "activity": message["activity"]}))


if __name__ == "__main__":
    asyncio.run(main())
