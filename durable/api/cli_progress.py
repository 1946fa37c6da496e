"""A live progress display while the command line waits for an execution (``rich``, on stderr).

Shown only when standard error is a terminal (and not with ``--no-progress``): standard output
keeps its one JSON document. Each refresh reads the execution (its history and Map Runs) through
the session: states done, the states it is in, and per Distributed Map run the items done and
failed, the rate and the time left at that rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProgressView", "console_for", "progress_table", "watching"]

REFRESH_SECONDS = 0.5


def console_for(disabled: bool) -> Any:
    """A rich Console on standard error when a live display is wanted there, else None."""
    if disabled or not sys.stderr.isatty():
        return None
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is a dependency
        return None
    return Console(file=sys.stderr)


@dataclass
class ProgressView:
    """What the display shows, read from an execution's history and Map Runs."""

    status: str = "RUNNING"
    states_done: int = 0
    current: list[str] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)  # MapRun
    started: float = field(default_factory=time.monotonic)
    seen: dict[str, tuple[float, int]] = field(default_factory=dict)  # map run -> (first seen, done)

    def read(self, status: str, history: list[dict[str, Any]], runs: list[Any], now: float) -> None:
        self.status = status
        done = 0
        open_states: list[str] = []
        for event in history:
            kind = str(event.get("type", ""))
            if kind.endswith("StateEntered"):
                open_states.append(str((event.get("stateEnteredEventDetails") or {}).get("name", "")))
            elif kind.endswith("StateExited"):
                done += 1
                name = str((event.get("stateExitedEventDetails") or {}).get("name", ""))
                if name in open_states:
                    open_states.reverse()
                    open_states.remove(name)
                    open_states.reverse()
            elif kind == "ExecutionRedriven":
                open_states.clear()
        self.states_done, self.current, self.runs = done, open_states, runs
        for run in runs:
            counts = run.item_counts
            self.seen.setdefault(run.map_run_arn, (now, counts.succeeded + counts.failed + counts.timed_out))

    def rate_and_eta(self, run: Any, now: float) -> tuple[float | None, float | None]:
        counts = run.item_counts
        done = counts.succeeded + counts.failed + counts.timed_out + counts.aborted
        first, then = self.seen.get(run.map_run_arn, (now, done))
        elapsed = now - first
        if elapsed <= 0 or done <= then:
            return None, None
        rate = (done - then) / elapsed
        left = max(counts.total - done, 0)
        return rate, left / rate


def progress_table(view: ProgressView, now: float) -> Any:
    """The renderable: one line for the execution, one per Map Run."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    elapsed = now - view.started
    current = ", ".join(view.current[-3:]) or "-"
    table.add_row(
        f"[bold]{view.status}[/]",
        f"states done {view.states_done}",
        f"in {current}",
        f"{elapsed:.0f}s",
    )
    for run in view.runs:
        counts = run.item_counts
        done = counts.succeeded + counts.failed + counts.timed_out + counts.aborted
        rate, eta = view.rate_and_eta(run, now)
        label = run.map_run_arn.rsplit(":", 1)[-1]
        table.add_row(
            f"Map Run {label}",
            f"items {done}/{counts.total}",
            f"failed {counts.failed + counts.timed_out}",
            f"running {counts.running}",
            "-" if rate is None else f"{rate:.1f} items/s",
            "-" if eta is None else f"ETA {eta:.0f}s",
        )
    return table


async def _snapshot(session: Any, arn: str, view: ProgressView) -> None:
    execution = await session.describe_execution(arn)
    history = await session.get_execution_history(arn)
    runs = await session.list_map_runs(arn)
    view.read(str(execution.status), history, runs, time.monotonic())


@contextlib.asynccontextmanager
async def watching(session: Any, arn: str, console: Any) -> AsyncIterator[ProgressView | None]:
    """Show the execution's progress on ``console`` (None: nothing) while the block runs."""
    if console is None:
        yield None
        return
    from rich.live import Live

    view = ProgressView()

    async def refresh(live: Any) -> None:
        while True:
            with contextlib.suppress(Exception):  # a display is never worth a failed command
                await _snapshot(session, arn, view)
                live.update(progress_table(view, time.monotonic()))
            await asyncio.sleep(REFRESH_SECONDS)

    with Live(progress_table(view, time.monotonic()), console=console, transient=True) as live:
        task = asyncio.ensure_future(refresh(live))
        try:
            yield view
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            with contextlib.suppress(Exception):
                await _snapshot(session, arn, view)
                live.update(progress_table(view, time.monotonic()))
