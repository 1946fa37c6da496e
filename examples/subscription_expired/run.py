"""Subscription expiry on a local moto server: python examples/subscription_expired/run.py

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
from subscriptions import (  # noqa: E402
    add_tenant,
    audit_records,
    deploy,
    emails_sent,
    open_engine,
    renewed,
    settled,
    setup,
    subscription_expired,
    tenant,
)


async def main() -> None:
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        aws = setup(endpoint)
        add_tenant(aws, "acme", ["api-key/acme-1", "bucket/acme-data"])
        add_tenant(aws, "globex", ["api-key/globex-1"])
        add_tenant(aws, "initech", ["api-key/initech-1"])
        async with open_engine(aws, str(Path(tmp) / "subscriptions.db")) as engine:
            deployed = await deploy(engine)
            await subscription_expired(engine, "acme", "ops@acme.example", "Pro", "2026-03-01")
            await subscription_expired(engine, "globex", "it@globex.example", "Basic", "2026-03-01")
            await engine.put_events([renewed("initech")])  # matches no rule: starts nothing
            runs = await settled(deployed)
        for name, executions in runs.items():
            print(json.dumps({name: sorted(f"{e.input['tenantId']} {e.status}" for e in executions)}))
        print(json.dumps({t: tenant(aws, t)["status"] for t in ("acme", "globex", "initech")}))
        print(
            json.dumps(
                {"emailsSent": emails_sent(aws), "audited": sorted(r["tenantId"] for r in audit_records(aws))}
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
