"""Child process of the job crash test: a Standard execution follows a ``.sync`` job of the test
job service (state in a file), until the parent kills it with SIGKILL; run again, it finishes.

    python tests/runtime/job_worker.py DB JOBS_FILE STEPS
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from durable import Engine, ExecutionDoesNotExist, ManualClock  # noqa: E402
from tests.integrations.job_service import RESOURCE, JobService  # noqa: E402

DEFINITION = {
    "StartAt": "Run",
    "States": {
        "Run": {
            "Type": "Task",
            "Resource": RESOURCE + ".sync",
            "Parameters": {"Steps.$": "$.steps"},
            "End": True,
        }
    },
}


async def main(db: str, jobs: str, steps: int) -> None:
    engine = Engine(db, clock=ManualClock(autojump=0.01), load_plugins=False)
    engine.add_integration(JobService(Path(jobs)))
    async with engine:
        sm = await engine.create_state_machine("jobs", DEFINITION)
        arn = sm.arn.replace(":stateMachine:", ":execution:") + ":one"
        try:
            await engine.describe_execution(arn)
        except ExecutionDoesNotExist:
            await engine.start_execution(sm.arn, {"steps": steps}, name="one")
        print("opened", flush=True)
        done = await engine.wait_for_execution(arn)
        print(json.dumps({"status": str(done.status), "output": done.output}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
