"""A pool of daemon worker threads for blocking task functions.

Unlike the event loop's default executor, a task function still blocked when the engine
closes (a timed-out task sleeping on, say) neither delays ``asyncio.run`` returning nor
the interpreter's exit: the caller has already recorded the timeout and moved on.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["DaemonPool"]


class DaemonPool:
    def __init__(self, max_workers: int = 32, name: str = "durable-task") -> None:
        self._max = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._workers = 0
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        with self._lock:
            if self._idle == 0 and self._workers < self._max:
                self._workers += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._workers}", daemon=True).start()
        self._queue.put((fut, fn, args))
        return fut

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._queue.get()
            with self._lock:
                self._idle -= 1
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting coroutine
                fut.set_exception(exc)

    def shutdown(self) -> None:
        """Let idle workers exit; busy ones finish their call and then exit."""
        with self._lock:
            n = self._workers
            self._workers = 0
        for _ in range(n):
            self._queue.put(None)
