"""Human approval through SNS on a local moto server: python examples/human_approval/run.py

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
from sns_approval import apply, approval_requests, approve, open_engine, refuse, reject, setup  # noqa: E402

APPLICATIONS = {
    "ada": {"name": "Ada Lovelace", "initialDeposit": 50000},  # reviewed, approved
    "bob": {"name": "Bob Builder", "initialDeposit": 200},  # low risk: nobody is asked
    "eve": {"name": "Eve", "initialDeposit": 100, "manualReview": True},  # reviewed, rejected
    "mallory": {"name": "Mallory", "initialDeposit": 90000},  # the approver refuses to decide
}


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        inbox = setup(endpoint)
        async with open_engine(inbox, str(Path(tmp) / "approvals.db")) as engine:
            arns = {name: await apply(engine, inbox, name, app) for name, app in APPLICATIONS.items()}
            requests = await approval_requests(inbox, 3)  # ada, eve, mallory wait for an answer
            for arn, request in sorted(requests.items()):
                print(json.dumps({"request": request["subject"], "execution": arn.rsplit(":", 1)[1],
                                  "reasons": request["reasons"]}))  # fmt: skip
            await approve(engine, requests[arns["ada"]], "Grace")
            await reject(engine, requests[arns["eve"]], "Grace")
            await refuse(engine, requests[arns["mallory"]], "not my department")
            for name, arn in arns.items():
                done = await engine.wait_for_execution(arn)
                print(json.dumps({"execution": name, "status": str(done.status), "output": done.output,
                                  "error": done.error}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
