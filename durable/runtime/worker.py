"""Run a local Python function as an activity worker (the GetActivityTask / SendTask* loop)."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import TaskFailed

if TYPE_CHECKING:
    from .session import Session

__all__ = ["run_activity_worker"]


async def run_activity_worker(
    engine: Session,
    activity_arn: str,
    fn: Callable[[Any], Any],
    *,
    worker_name: str | None = None,
    stop: asyncio.Event | None = None,
    poll_seconds: float = 60.0,
    max_tasks: int | None = None,
) -> int:
    """Poll ``activity_arn`` and answer each task with ``fn(input)`` until ``stop`` is set
    (or ``max_tasks`` were handled); return the number of tasks handled.

    ``fn`` may be sync (run in a thread) or async. Raising :class:`durable.TaskFailed` fails
    the task with that error and cause; any other exception fails it with the exception's
    class name and message.
    """
    handled = 0
    while (stop is None or not stop.is_set()) and (max_tasks is None or handled < max_tasks):
        task = await engine.get_activity_task(activity_arn, worker_name=worker_name, timeout=poll_seconds)
        if task is None:
            continue
        token = task["taskToken"]
        try:
            value = json.loads(task["input"])
            if inspect.iscoroutinefunction(fn):
                result = await fn(value)
            else:
                result = await asyncio.to_thread(fn, value)
        except TaskFailed as exc:
            await engine.send_task_failure(token, error=exc.error, cause=exc.cause)
        except Exception as exc:  # the worker reports any error of the function to the execution
            await engine.send_task_failure(token, error=type(exc).__name__, cause=str(exc))
        else:
            await engine.send_task_success(token, result)
        handled += 1
    return handled
