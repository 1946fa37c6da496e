"""IAM policy guard on a local moto server: python examples/iam_policy_created/run.py

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
from policy_guard import (  # noqa: E402
    answer,
    approval_requests,
    create_policy,
    deploy,
    open_engine,
    policy_versions,
    setup,
    started_for,
)

POLICIES = {
    "ci-readonly": ["s3:GetObject", "s3:ListBucket"],  # nothing restricted: allowed
    "deploy-role": ["iam:PassRole", "ecs:UpdateService"],  # restricted: the admin approves it
    "break-glass": ["iam:*", "s3:GetObject"],  # restricted: the admin refuses it
}


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        async with open_engine(aws, str(Path(tmp) / "guard.db")) as engine:
            machine = await deploy(engine)
            arns = {}
            for name, actions in POLICIES.items():
                entry = create_policy(aws, name, actions)
                arns[name] = json.loads(entry["Detail"])["responseElements"]["policy"]["arn"]
                await engine.put_events([entry])
            runs = {name: await started_for(engine, machine, arn) for name, arn in arns.items()}
            requests = await approval_requests(aws, 2)  # the two violating policies, rolled back
            for name in ("deploy-role", "break-glass"):
                request = requests[arns[name]]
                print(json.dumps({"asked": name, "violations": request["violations"],
                                  "meanwhile": policy_versions(aws, arns[name])["actions"]}))  # fmt: skip
            await answer(engine, requests[arns["deploy-role"]], True, "carol")
            await answer(engine, requests[arns["break-glass"]], False, "carol")
            for name, arn in runs.items():
                done = await engine.wait_for_execution(arn)
                outcome = (done.output.get("result") or {}).get("outcome", "ALLOWED")
                print(json.dumps({"policy": name, "status": str(done.status), "outcome": outcome,
                                  **policy_versions(aws, arns[name])}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
