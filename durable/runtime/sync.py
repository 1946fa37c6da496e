"""Running a definition once from a script or a notebook: :func:`run` and its awaitable twin
:func:`arun`.

``run`` is a plain call that works with or without an event loop running in the calling thread.
Without one it runs the engine on a loop of its own (``asyncio.run``). With one — every Jupyter
notebook cell runs inside the kernel's loop — it cannot block that loop waiting for itself, so it
runs the engine on a private loop in a worker thread and waits for the result there. Code already
in a coroutine should ``await arun(...)`` instead: no thread, and the caller's loop keeps serving
other work meanwhile.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import EventLoopConflict, StateMachineAlreadyExists
from .engine import Engine
from .models import Execution, StateMachineType, machine_type

__all__ = ["arun", "run"]

STATE_MACHINE_NAME = "durable-sync"  # the state machine run() and arun() create when not named

# what asyncio raises when an object made on one loop (a future, a lock, a client session) is
# used from another: run() in a worker thread cannot share the caller's loop-bound objects
_OTHER_LOOP = ("different loop", "different event loop", "attached to a different")


async def arun(
    definition: str | bytes | dict[str, Any],
    input: Any = None,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    name: str | None = None,
    state_machine_name: str = STATE_MACHINE_NAME,
    type: StateMachineType | str = "EXPRESS",
    **engine_options: Any,
) -> Execution:
    """Run ``definition`` once and return the finished execution (the awaitable twin of
    :func:`run`: ``await durable.arun(...)`` in a coroutine or a notebook cell).

    ``functions`` maps Lambda function names (or ARNs) to local callables. ``name`` names the
    execution (as ``StartExecution``'s ``name`` and the CLI's ``--name`` do; generated when
    None); ``state_machine_name`` names the state machine. ``type`` is ``"EXPRESS"`` (the
    default: run in memory, as ``StartSyncExecution``) or ``"STANDARD"`` (journaled, then
    awaited to its end), in any case, or a :class:`~durable.StateMachineType`. The other
    keywords go to :class:`~durable.Engine` (``url=`` keeps a Standard execution in a
    database). A state machine of that name already in the database gets ``definition``.
    """
    kind = machine_type(type)
    return await _run(
        definition, input, dict(functions or {}), name, state_machine_name, kind, engine_options
    )


async def _run(
    definition: str | bytes | dict[str, Any],
    input: Any,
    functions: dict[str, Callable[..., Any]],
    name: str | None,
    state_machine_name: str,
    kind: StateMachineType,
    engine_options: dict[str, Any],
) -> Execution:
    async with Engine(**engine_options) as engine:
        for fname, fn in functions.items():
            engine.register_function(fname, fn)
        try:
            machine = await engine.create_state_machine(state_machine_name, definition, type=kind)
        except StateMachineAlreadyExists:  # a notebook cell run again with an edited definition
            arn = engine.catalog.state_machine_arn(state_machine_name)
            if (await engine.describe_state_machine(arn)).type is not kind:
                raise
            machine = await engine.update_state_machine(arn, definition=definition)
        if kind is StateMachineType.EXPRESS:
            return await engine.start_sync_execution(machine.arn, input, name=name)
        started = await engine.start_execution(machine.arn, input, name=name)
        return await engine.wait_for_execution(started.execution_arn)


def run(
    definition: str | bytes | dict[str, Any],
    input: Any = None,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    name: str | None = None,
    state_machine_name: str = STATE_MACHINE_NAME,
    type: StateMachineType | str = "EXPRESS",
    **engine_options: Any,
) -> Execution:
    """Run ``definition`` once and return the finished execution, as a plain call.

    The arguments are :func:`arun`'s. Inside a running event loop (a notebook cell) the engine
    runs on a private loop in a worker thread while this call waits (the caller's loop waits
    too). Objects bound to the caller's loop (its futures, locks, client sessions) cannot be
    used by the functions there: :class:`~durable.errors.EventLoopConflict` says so, and
    ``await durable.arun(...)`` runs on the caller's loop instead.
    """
    kind = machine_type(type)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(
            _run(definition, input, dict(functions or {}), name, state_machine_name, kind, engine_options)
        )
    watch = _LoopWatch()
    wrapped = {fname: watch.wrap(fn) for fname, fn in (functions or {}).items()}
    with ThreadPoolExecutor(1, thread_name_prefix="durable.run") as pool:
        future = pool.submit(
            asyncio.run, _run(definition, input, wrapped, name, state_machine_name, kind, engine_options)
        )
        try:
            execution = future.result()
        except RuntimeError as exc:
            if not _other_loop(exc):
                raise
            raise _conflict(exc) from exc
    if watch.found is not None:
        raise _conflict(watch.found) from watch.found
    return execution


def _other_loop(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and any(text in str(exc) for text in _OTHER_LOOP)


def _conflict(exc: BaseException) -> EventLoopConflict:
    return EventLoopConflict(
        "durable.run() ran the engine on a private event loop in a worker thread (an event loop "
        f"is running in this thread), and something of the running loop was used there ({exc}): "
        "use `await durable.arun(...)` instead"
    )


class _LoopWatch:
    """Wraps the functions of a run on a private loop, to notice one that used something bound
    to the caller's loop (its failure would otherwise be only a failed task)."""

    def __init__(self) -> None:
        self.found: RuntimeError | None = None

    def _note(self, exc: RuntimeError) -> None:
        if self.found is None and _other_loop(exc):
            self.found = exc

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            async def call_async(event: Any, context: Any) -> Any:
                try:
                    return await fn(event, context)
                except RuntimeError as exc:
                    self._note(exc)
                    raise

            return call_async

        def call(event: Any, context: Any) -> Any:
            try:
                return fn(event, context)
            except RuntimeError as exc:
                self._note(exc)
                raise

        return call
