"""The account-opening workflow: its definition and how to wire its functions into an engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from functions import FUNCTIONS  # noqa: E402

from durable import Engine, Execution  # noqa: E402

DEFINITION = (HERE / "definition.asl.json").read_text()
NAME = "AccountOpening"

GOOD_APPLICATION = {
    "application": {
        "name": "Ada Lovelace",
        "address": {"street": "12 St James's Square", "city": "London", "zip": "10001"},
    }
}
BAD_APPLICATION = {
    "application": {
        "name": "Bob Builder",
        "address": {"street": "1 Main St", "city": "Springfield", "zip": "ABCDE"},
    }
}


def register(engine: Engine, *, blocking: bool = False) -> None:
    """Register the workflow's Lambda-style functions (they never block: run inline)."""
    for name, fn in FUNCTIONS.items():
        engine.register_function(name, fn, blocking=blocking)


async def open_account(engine: Engine, application: dict[str, Any]) -> Execution:
    machine = await engine.create_state_machine(NAME, DEFINITION, type="EXPRESS")
    return await engine.start_sync_execution(machine.arn, application)


async def main() -> None:
    async with Engine() as engine:
        register(engine)
        for application in (GOOD_APPLICATION, BAD_APPLICATION):
            result = await open_account(engine, application)
            print(json.dumps({"status": str(result.status), "output": result.output}))


if __name__ == "__main__":
    import asyncio

    asyncio.run(main())
