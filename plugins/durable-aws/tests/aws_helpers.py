from __future__ import annotations

import asyncio
import uuid
from typing import Any

import boto3

from durable import Engine, Execution

REGION = "us-east-1"


def fake_session() -> boto3.Session:
    """Credentials moto accepts, whatever the environment holds."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def task(resource: str, parameters: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True, **fields}
    if parameters is not None:
        state["Parameters"] = parameters
    return {"StartAt": "Call", "States": {"Call": state}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def run(engine: Engine, definition: dict[str, Any], value: Any = None) -> Execution:
    machine = await engine.create_state_machine(unique("m"), definition)
    started = await engine.start_execution(machine.arn, value if value is not None else {})
    return await asyncio.wait_for(engine.wait_for_execution(started.execution_arn), 30)


async def history_types(engine: Engine, execution: Execution) -> list[str]:
    return [e["type"] for e in await engine.get_execution_history(execution.execution_arn)]
