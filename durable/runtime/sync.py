"""A synchronous helper for scripts and notebooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from .engine import Engine
from .models import Execution

__all__ = ["run"]


def run(
    definition: str | bytes | dict[str, Any],
    input: Any = None,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    name: str = "durable-sync",
    **engine_options: Any,
) -> Execution:
    """Run ``definition`` once as an Express execution and return the finished execution.

    ``functions`` maps Lambda function names (or ARNs) to local callables. Inside a running
    event loop (a notebook), use ``await Engine().start_sync_execution(...)`` instead.
    """

    async def main() -> Execution:
        async with Engine(**engine_options) as engine:
            for fname, fn in (functions or {}).items():
                engine.register_function(fname, fn)
            machine = await engine.create_state_machine(name, definition, type="EXPRESS")
            return await engine.start_sync_execution(machine.arn, input)

    return asyncio.run(main())
