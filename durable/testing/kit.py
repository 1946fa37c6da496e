"""The test kit: an engine on a :class:`TestClock` with :class:`Mocks`, and ``run`` to the end.

async with Kit() as kit:                      # in memory; Kit(tmp_path / "t.db") on SQLite
    kit.mocks.state("Charge", returns({"ok": True}))
    done = await kit.run(definition, {"order": 7})
    assert_states_visited(done, ["Charge", "Ship"])
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any

from ..runtime.engine import Engine
from ..runtime.models import Execution, StateMachine
from ..runtime.templates import load_definition
from .clock import TestClock
from .history import states_visited
from .mocks import Mocks, ResponsePlan

__all__ = ["Kit"]

TIMER_WINDOW = 10.0 * 365 * 86400
WAIT_SECONDS = 30.0  # real seconds an execution may take before run() gives up


class Kit:
    """An :class:`~durable.Engine` (in memory, or SQLite at ``url``) on a :class:`TestClock`,
    with :class:`Mocks` installed. Use as ``async with``; ``engine``, ``clock`` and ``mocks``
    are public. Extra keyword arguments go to the engine (``load_plugins`` defaults to False)."""

    __test__ = False

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        clock: TestClock | None = None,
        mocks: Mocks | None = None,
        wait_seconds: float = WAIT_SECONDS,
        **engine_options: Any,
    ) -> None:
        engine_options.setdefault("load_plugins", False)
        self.clock = clock or TestClock()
        self.engine = Engine(None if url is None else str(url), clock=self.clock, **engine_options)
        self.clock.watch_store(self.engine.store)
        # every timer in memory: the clock then jumps straight to the next one (no reload every
        # half window of clock time, which would cost real time over a day-long Wait)
        self.engine.standard.scheduler.window = TIMER_WINDOW
        self.mocks = (mocks or Mocks()).install(self.engine)
        self.wait_seconds = wait_seconds
        self._names = itertools.count(1)

    async def __aenter__(self) -> Kit:
        await self.engine.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.mocks.aclose()
        await self.engine.close()

    def register_function(self, name: str, fn: Any, **options: Any) -> None:
        """A local function for a Lambda resource (see :meth:`Engine.register_function`)."""
        self.engine.register_function(name, fn, **options)

    async def create(
        self,
        definition: Any,
        *,
        name: str | None = None,
        type: str = "STANDARD",
        state_machine: str | None = None,
        substitutions: dict[str, str] | None = None,
    ) -> StateMachine:
        """Create a state machine from a definition (dict or JSON text) or a file: ``.asl.json``,
        ``.asl.yaml``, or a CloudFormation/SAM/CDK template (``state_machine``: its logical id)."""
        if isinstance(definition, Path):
            definition = load_definition(definition, state_machine=state_machine, substitutions=substitutions)
        machine = await self.engine.create_state_machine(
            name or f"test-{next(self._names)}", definition, type=type
        )
        await self.mocks.serve_activities(machine.definition)
        return machine

    async def run(
        self,
        definition: Any,
        input: Any = None,
        *,
        type: str = "STANDARD",
        name: str | None = None,
        mocks: dict[str, Any] | None = None,
    ) -> Execution:
        """Run an execution to its end and return it with its ``history``. ``definition`` is a
        :class:`~durable.StateMachine` or what :meth:`create` takes. ``mocks``: state name ->
        a response or a :class:`ResponsePlan`, for this execution only."""
        machine = (
            definition if isinstance(definition, StateMachine) else await self.create(definition, type=type)
        )
        name = name or f"run-{next(self._names)}"
        if mocks:
            self.mocks.test_case(
                name,
                {
                    s: r if isinstance(r, ResponsePlan) else ResponsePlan.of(r, name=s)
                    for s, r in mocks.items()
                },
            )
        value = {} if input is None else input
        if str(machine.type) == "EXPRESS":
            done = await asyncio.wait_for(
                self.engine.start_sync_execution(machine.arn, value, name=name, record_history=True),
                self.wait_seconds,
            )
            return done
        started = await self.engine.start_execution(machine.arn, value, name=name)
        return await self.wait(started.execution_arn)

    async def wait(self, execution_arn: str) -> Execution:
        """Wait until the execution ends; return it with its history."""
        try:
            done = await asyncio.wait_for(self.engine.wait_for_execution(execution_arn), self.wait_seconds)
        except TimeoutError:
            history = await self.engine.get_execution_history(execution_arn)
            open_tokens = await self.engine.store.open_tokens(execution_arn)
            waiting = ", ".join(sorted({t.state_name for t in open_tokens}))
            raise AssertionError(
                f"execution {execution_arn.rsplit(':', 1)[-1]!r} did not end within {self.wait_seconds} s; "
                f"states visited: {states_visited(history)}"
                + (f"; waiting for an answer to the task of {waiting}" if waiting else "")
            ) from None
        done.history = await self.engine.get_execution_history(execution_arn)
        return done
