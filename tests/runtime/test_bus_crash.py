"""The event bus under SIGKILL: every accepted event starts each matching target exactly once.

A worker (``bus_worker.py``) puts events on a SQLite database's bus while its engine delivers
them; the test kills it at seeded random moments and restarts it until it finishes. Then:

* every event whose ``PutEvents`` answer the worker logged was delivered (nothing lost);
* every event that started anything started *every* target its rules match, once each:
  exactly one execution per (event, rule, target), named by :func:`delivery_name`;
* the inbox is empty and every execution succeeded.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from durable import Engine
from durable.runtime.delivery import delivery_name
from tests.runtime import bus_worker as W

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")

WORKER = Path(W.__file__)
ROOT = WORKER.parents[2]
EVENTS = 90
RULE = f"arn:aws:events:{W.REGION}:{W.ACCOUNT}:rule/"


async def _run(tmp: Path, seed: int, kill_after: float | None) -> bool:
    """Run the worker once; True when it was killed."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    with open(tmp / "worker.stderr", "a") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            "--db",
            str(tmp / "bus.db"),
            "--events",
            str(EVENTS),
            "--log",
            str(tmp / "answers.jsonl"),
            "--seed",
            str(seed),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env={**os.environ, "PYTHONPATH": path},
        )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line == b"opened\n", (line, (tmp / "worker.stderr").read_text()[-3000:])
        if kill_after is not None:
            try:
                await asyncio.wait_for(proc.wait(), kill_after)
            except TimeoutError:
                proc.kill()
                assert await proc.wait() == -9
                return True
        code = await asyncio.wait_for(proc.wait(), 60)
        assert code == 0, (code, (tmp / "worker.stderr").read_text()[-3000:])
        return False
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _expected(i: int) -> set[tuple[str, str]]:
    out = {("all", "whole"), ("all", "shaped")}
    if i % 2 == 0:
        out.add(("even", "whole"))
    return out


@pytest.mark.parametrize("seed", [1, 2])
async def test_events_start_their_targets_exactly_once_across_kills(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    kills = 0
    for _ in range(6):
        if not await _run(tmp_path, seed, kill_after=rng.uniform(0.05, 0.6)):
            break
        kills += 1
    else:
        await _run(tmp_path, seed, kill_after=None)
    assert kills >= 1  # putting the events takes over a second: the first run is killed

    answered = W.answered(str(tmp_path / "answers.jsonl"))
    assert set(answered) == set(range(EVENTS))
    async with Engine(f"sqlite:///{tmp_path / 'bus.db'}", region=W.REGION, account=W.ACCOUNT) as engine:
        executions = await engine.list_executions()
        assert await engine.store.requests() == []  # every event left the inbox
    delivered: dict[str, set[tuple[str, str]]] = defaultdict(set)
    index: dict[str, int] = {}
    for execution in executions:
        assert execution.status == "SUCCEEDED", execution
        data = execution.input
        event_id, i = data["id"], data["i"] if "rule" in data else data["detail"]["i"]
        index[event_id] = i
        matches = [
            (rule, target)
            for rule in ("all", "even")
            for target in ("whole", "shaped")
            if delivery_name(event_id, RULE + rule, target) == execution.name
        ]
        assert len(matches) == 1, execution.name
        assert matches[0] not in delivered[event_id], ("started twice", event_id, matches[0])
        delivered[event_id].add(matches[0])
    # nothing lost: each answered event was delivered; no event was delivered in part
    for event_id in answered.values():
        assert event_id in delivered
    for event_id, pairs in delivered.items():
        assert pairs == _expected(index[event_id]), (event_id, pairs)
