"""Engines in several threads of one process: each runs JSONata definitions (jsonatapy binds a
compiled expression to the thread that compiled it; each thread compiles its own)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from durable import Engine

DEFINITION = {
    "QueryLanguage": "JSONata",
    "StartAt": "Sum",
    "States": {"Sum": {"Type": "Pass", "Output": "{% $sum($states.input.values) %}", "End": True}},
}


def _run(values: list[int], results: list[Any]) -> None:
    async def main() -> None:
        async with Engine(load_plugins=False) as engine:
            machine = await engine.create_state_machine("sum", DEFINITION, type="EXPRESS")
            done = await engine.start_sync_execution(machine.arn, {"values": values})
            results.append((str(done.status), done.output, done.error, done.cause))

    asyncio.run(main())


def test_engines_in_two_threads_run_the_same_jsonata_definition() -> None:
    results: list[Any] = []
    _run([1, 2], results)  # compiled in this thread first
    threads = [threading.Thread(target=_run, args=([i, i], results)) for i in range(1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    _run([5, 5], results)  # and here again afterwards
    assert sorted(results, key=lambda r: r[1]) == [
        ("SUCCEEDED", 2, None, None),
        ("SUCCEEDED", 3, None, None),
        ("SUCCEEDED", 4, None, None),
        ("SUCCEEDED", 6, None, None),
        ("SUCCEEDED", 10, None, None),
    ]
