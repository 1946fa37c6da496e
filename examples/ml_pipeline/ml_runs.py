"""Run the daily ML pipeline locally: an engine with the task functions of ``ml_tasks.py``,
and one execution per day: started by the daily schedule (``schedule_daily``, EventBridge
Scheduler's ``cron(0 6 * * ? *)`` stored in the engine), or explicitly (``run_day``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ml_tasks

from durable import Engine, Execution

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
TASKS = ("CheckData", "TransformData", "TrainModel", "DeployModel", "Predict", "NotifyFailure")
MACHINE = "DailyModel"


def register(engine: Engine, **replacements: Any) -> Engine:
    """Register the task functions on ``engine`` (``replacements``: NAME=function instead)."""
    for name in TASKS:
        engine.register_function(name, replacements.get(name, getattr(ml_tasks, name)))
    return engine


def make_engine(store: Path) -> Engine:
    """An engine on ``store/pipeline.db`` with the task functions registered."""
    return register(Engine(str(store / "pipeline.db")))


async def run_day(engine: Engine, store: Path, run_date: str | None = None, **options: Any) -> Execution:
    """One execution of the pipeline (named after the day when ``run_date`` is given); the
    finished execution. ``options``: ``minAccuracy``, ``minRows``. A schedule starts it with
    ``{"store": ...}`` only: the day is then the day the execution started."""
    machine = await engine.create_state_machine(MACHINE, DEFINITION)
    data: dict[str, Any] = {"store": str(store), **options}
    if run_date is not None:
        data["runDate"] = run_date
    started = await engine.start_execution(machine.arn, data, name=run_date)
    return await engine.wait_for_execution(started.execution_arn)


DAILY = "cron(0 6 * * ? *)"  # every day at 06:00 UTC (EventBridge Scheduler's six fields)


async def schedule_daily(engine: Engine, store: Path, expression: str = DAILY) -> str:
    """The daily schedule: at each due time the engine starts the pipeline with ``{"store": ...}``
    only (the day is the execution's start date). Returns the schedule's ARN; creating it again
    is refused (ConflictException), as Scheduler refuses it."""
    machine = await engine.create_state_machine(MACHINE, DEFINITION)
    target = {"Arn": machine.arn, "Input": json.dumps({"store": str(store)})}
    return await engine.create_schedule("DailyModel-06", schedule_expression=expression, target=target)
