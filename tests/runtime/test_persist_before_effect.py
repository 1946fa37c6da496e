"""Persist before effect, observed from outside: at the moment a task starts (or a task token is
handed out), a second connection to the database must already see the task's ``Scheduled`` event
and every event before it in that execution — in every branch, iteration and nesting depth.

The iterations of a Distributed Map are child executions whose own events this engine does not
keep as histories yet: there the parent's history up to ``MapRunStarted`` must be committed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from durable import Engine

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def task(marker: str, **fields: Any) -> dict[str, Any]:
    params = {"marker.$": marker, "exec.$": "$$.Execution.Id"}
    return {"Type": "Task", "Resource": LAMBDA + "effect", "Parameters": params, **fields}


def chain(*markers: str, prefix: str = "T") -> dict[str, Any]:
    """A branch/iteration of tasks in a row (state names ``<prefix>0``, ``<prefix>1``...)."""
    states: dict[str, Any] = {}
    for i, marker in enumerate(markers):
        name = f"{prefix}{i}"
        states[name] = task(marker, ResultPath=f"$.r{i}")
        states[name].update({"End": True} if i == len(markers) - 1 else {"Next": f"{prefix}{i + 1}"})
    return {"StartAt": f"{prefix}0", "States": states}


def parallel(*branches: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "Parallel", "Branches": list(branches), **fields}


def map_state(processor: dict[str, Any], *, distributed: bool = False, **fields: Any) -> dict[str, Any]:
    config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if distributed else {"Mode": "INLINE"}
    return {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": config, **processor},
        **fields,
    }


ITEM = "States.Format('{}-{}', $.id, $$.State.Name)"
MACHINES: dict[str, dict[str, Any]] = {
    "parallel": {
        "StartAt": "P",
        "States": {
            "P": parallel(
                chain("States.Format('a1-{}', $.k)", "States.Format('a2-{}', $.k)", prefix="A"),
                chain("States.Format('b1-{}', $.k)", "States.Format('b2-{}', $.k)", prefix="B"),
                chain("States.Format('c1-{}', $.k)", prefix="C"),
                End=True,
            )
        },
    },
    "inline_map": {
        "StartAt": "M",
        "States": {"M": map_state(chain(ITEM, ITEM), End=True)},
    },
    "distributed_map": {
        "StartAt": "M",
        "States": {"M": map_state(chain(ITEM), distributed=True, MaxConcurrency=4, End=True)},
    },
    "nested": {
        "StartAt": "P",
        "States": {
            "P": parallel(
                {
                    "StartAt": "M",
                    "States": {
                        "M": map_state(
                            {
                                "StartAt": "Q",
                                "States": {
                                    "Q": parallel(
                                        chain("States.Format('x-{}', $.id)", prefix="X"),
                                        chain("States.Format('y-{}', $.id)", prefix="Y"),
                                        End=True,
                                    )
                                },
                            },
                            End=True,
                        )
                    },
                },
                chain("States.Format('z-{}', $.k)", prefix="Z"),
                End=True,
            )
        },
    },
    "callback_in_a_branch": {
        "StartAt": "P",
        "States": {
            "P": parallel(
                chain("States.Format('before-{}', $.k)"),
                {
                    "StartAt": "Ask",
                    "States": {
                        "Ask": {
                            "Type": "Task",
                            "Resource": CALLBACK,
                            "Parameters": {
                                "FunctionName": "ask",
                                "Payload": {"token.$": "$$.Task.Token", "exec.$": "$$.Execution.Id"},
                            },
                            "End": True,
                        }
                    },
                },
                End=True,
            )
        },
    },
}


class Observer:
    """Task functions that look at the database from a second connection before doing anything."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.seen: list[tuple[str, bool, str]] = []
        self.engine: Engine | None = None
        self.distributed = False
        self.answers: set[asyncio.Task[None]] = set()

    def committed(self, execution_arn: str, marker: str) -> tuple[bool, str]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            if self.distributed:  # a child execution (its own $$.Execution): its row is committed
                parent = conn.execute(
                    "SELECT execution_arn FROM map_children WHERE arn = ?", (execution_arn,)
                ).fetchone()
                if parent is None:
                    return False, f"the child {execution_arn} is not committed"
                execution_arn = parent[0]
            rows = conn.execute(
                "SELECT e.id, e.type, e.details FROM events e JOIN executions x ON x.id = e.execution_id"
                " WHERE x.arn = ? ORDER BY e.id",
                (execution_arn,),
            ).fetchall()
        finally:
            conn.close()
        ids = [r[0] for r in rows]
        if ids != list(range(1, len(ids) + 1)):
            return False, f"events committed with gaps: {ids}"
        for _, kind, details in rows:
            if kind.endswith("Scheduled") and marker in (details or ""):
                return True, ""
            if kind == "MapRunStarted" and self.distributed:
                return True, ""
        return False, f"no Scheduled event holds {marker!r} among {len(rows)} committed events"

    def register(self, engine: Engine) -> None:
        self.engine = engine

        async def effect(event: Any, ctx: Any) -> Any:
            ok, why = self.committed(event["exec"], json.dumps(event["marker"]))
            self.seen.append((f"{event['exec']}/{event['marker']}", ok, why))
            await asyncio.sleep(0.01)
            return event["marker"]

        async def ask(event: Any, ctx: Any) -> Any:
            ok, why = self.committed(event["exec"], event["token"])
            self.seen.append(("token", ok, why))
            assert self.engine is not None
            asyncio.get_running_loop().call_later(0.05, self._answer, event["token"])
            return {}

        engine.register_function("effect", effect)
        engine.register_function("ask", ask)

    def _answer(self, token: str) -> None:
        assert self.engine is not None
        answer = asyncio.ensure_future(self.engine.send_task_success(token, {"answered": True}))
        self.answers.add(answer)
        answer.add_done_callback(self.answers.discard)


@pytest.mark.parametrize("machine", sorted(MACHINES))
async def test_every_effect_follows_the_commit_of_everything_before_it(tmp_path: Path, machine: str) -> None:
    db = tmp_path / "effects.db"
    observer = Observer(db)
    observer.distributed = machine == "distributed_map"
    engine = Engine(str(db))
    observer.register(engine)
    items = [{"id": f"i{n}"} for n in range(10)]
    async with engine:
        sm = await engine.create_state_machine(machine, MACHINES[machine])
        runs = [await engine.start_execution(sm.arn, {"k": k, "items": items}) for k in range(3)]
        for run in runs:
            done = await asyncio.wait_for(engine.wait_for_execution(run.execution_arn), 30)
            assert str(done.status) == "SUCCEEDED", done
    assert observer.seen, "no effect ran"
    late = [s for s in observer.seen if not s[1]]
    assert not late, late[:5]
    markers = [s[0] for s in observer.seen if s[0] != "token"]
    assert len(markers) == len(set(markers)), "an effect ran twice"
