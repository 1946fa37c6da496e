"""Versions and aliases from a Client in another role: an Express execution started on a version
runs that version's definition, also when the engine that runs it gets it as a request."""

from __future__ import annotations

import asyncio
from pathlib import Path

from durable import Client, Engine, ExecutionDoesNotExist

V1 = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v1", "End": True}}}
V2 = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}}


async def test_an_express_execution_started_by_a_client_on_a_version_runs_that_version(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "v.db")
    async with Engine(db, load_plugins=False) as engine:
        machine = await engine.create_state_machine("m", V1, type="EXPRESS", publish=True)
        v1 = machine.version_arn
        assert v1 is not None
        await engine.update_state_machine(machine.arn, definition=V2)  # latest is v2 now
        async with Client(db) as client:
            started = await client.start_execution(v1, {})
        for _ in range(500):  # the engine takes the request and runs it in its memory
            await asyncio.sleep(0.01)
            try:
                done = await engine.describe_execution(started.execution_arn)
            except ExecutionDoesNotExist:
                continue
            if str(done.status) != "RUNNING":
                break
    assert (str(done.status), done.output) == ("SUCCEEDED", "v1")
