"""The daily ML pipeline end to end: scikit-learn trains on the wine data set it ships and
classifies the day's wines. On the testing kit's clock, the retries' back-off costs no real time."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from durable import Execution
from durable.testing import Kit, TestClock, assert_retries, assert_states_visited

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ml_runs import register, run_day, schedule_daily  # noqa: E402
from ml_tasks import DeployModel, RegistryUnavailable, land_daily_extract  # noqa: E402

VISITED = [
    "Defaults",
    "CheckData",
    "TransformData",
    "TrainModel",
    "QualityGate",
    "DeployModel",
    "Predict",
    "Done",
]


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    """A kit (in memory, on a TestClock) with the pipeline's functions registered."""
    clock = TestClock()
    clock.busy_grace = (
        120  # training runs in a thread: never jump the clock over it, however slow the machine
    )
    async with Kit(clock=clock) as kit:
        register(kit.engine)
        yield kit


def flaky(fn: Callable[..., Any], failures: int) -> Callable[..., Any]:
    """``fn``, whose first ``failures`` calls find the registry unavailable."""
    calls = 0

    def call(event: dict[str, Any], context: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise RegistryUnavailable(f"registry busy (attempt {calls})")
        return fn(event, context)

    return call


async def day(kit: Kit, store: Path, run_date: str | None = None, **options: Any) -> Execution:
    """One execution of the pipeline for ``run_date``, finished, with its history."""
    done = await run_day(kit.engine, store, run_date, **options)
    return await kit.wait(done.execution_arn)


def notifications(store: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((store / "notifications").rglob("*.json"))]


def test_run_py_trains_deploys_predicts_then_reports_a_broken_extract(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    good, broken, notification = (json.loads(line) for line in proc.stdout.splitlines())
    assert good["status"] == "SUCCEEDED" and good["output"]["model"] == "2026-03-02"
    assert good["output"]["accuracy"] >= 0.9 and sum(good["output"]["byClass"].values()) == 28
    assert (broken["status"], broken["error"]) == ("FAILED", "PipelineFailed")
    assert broken["cause"] == "DataCheckFailed: landing/2026-03-03/wines.csv: 3 missing values"
    assert notification["error"] == "DataCheckFailed" and notification["execution"].endswith(
        ":DailyModel:2026-03-03"
    )


async def test_a_day_trains_deploys_and_classifies_the_days_wines(kit: Kit, tmp_path: Path) -> None:
    landed = land_daily_extract(tmp_path, "2026-04-01")
    done = await day(kit, tmp_path, "2026-04-01")
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert_states_visited(done, VISITED)
    output = done.output
    assert (output["rows"], output["model"], output["predictions"]) == (
        150,
        "2026-04-01",
        "predictions/2026-04-01.csv",
    )
    assert output["accuracy"] >= 0.9  # on the held-out test split, computed by scikit-learn
    card = json.loads((tmp_path / "serving" / "model.json").read_text())
    assert card["version"] == "2026-04-01" and card["accuracy"] == output["accuracy"]
    with (tmp_path / "predictions" / "2026-04-01.csv").open() as file:
        predictions = {row["id"]: row["cultivar"] for row in csv.DictReader(file)}
    assert predictions.keys() == landed["truth"].keys()  # every request classified
    right = sum(predictions[wine] == cultivar for wine, cultivar in landed["truth"].items())
    assert right >= 24  # of 28 wines the model never saw
    assert notifications(tmp_path) == []


async def test_a_flaky_registry_is_retried_on_the_clock(kit: Kit, tmp_path: Path) -> None:
    register(kit.engine, DeployModel=flaky(DeployModel, failures=2))
    land_daily_extract(tmp_path, "2026-04-02")
    done = await day(kit, tmp_path, "2026-04-02")
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert_retries(done, "DeployModel", 2)
    assert (done.stop_date - done.start_date).total_seconds() >= 30 + 60  # the back-off, on the clock only
    assert json.loads((tmp_path / "serving" / "model.json").read_text())["version"] == "2026-04-02"


async def test_failures_notify_the_team(kit: Kit, tmp_path: Path) -> None:
    # a registry that stays unavailable: four retries, then the Catch
    register(kit.engine, DeployModel=flaky(DeployModel, failures=99))
    land_daily_extract(tmp_path, "2026-04-03")
    down = await day(kit, tmp_path, "2026-04-03")
    assert (str(down.status), down.error) == ("FAILED", "PipelineFailed")
    assert down.cause == "RegistryUnavailable: registry busy (attempt 5)"
    assert_retries(down, "DeployModel", 4)
    assert_states_visited(down, [*VISITED[:6], "NotifyFailure", "PipelineFailed"])
    assert not (tmp_path / "serving").exists()

    # no extract landed for the day
    missing = await day(kit, tmp_path, "2026-04-04")
    assert missing.cause == "DataCheckFailed: landing/2026-04-04/wines.csv: no extract landed for 2026-04-04"

    # a model below the bar is not deployed
    land_daily_extract(tmp_path, "2026-04-05")
    strict = await day(kit, tmp_path, "2026-04-05", minAccuracy=1.01)
    assert strict.error == "PipelineFailed" and strict.cause is not None
    assert strict.cause.startswith("ModelBelowThreshold: accuracy ") and strict.cause.endswith(
        " is below the required 1.01"
    )
    assert_states_visited(strict, [*VISITED[:5], "ModelRejected", "NotifyFailure", "PipelineFailed"])

    sent = notifications(tmp_path)
    assert [(n["subject"], n["error"]) for n in sent] == [
        ("ML pipeline failed for 2026-04-03", "RegistryUnavailable"),
        ("ML pipeline failed for 2026-04-04", "DataCheckFailed"),
        ("ML pipeline failed for 2026-04-05", "ModelBelowThreshold"),
    ]
    assert [n["execution"] for n in sent] == [down.execution_arn, missing.execution_arn, strict.execution_arn]


async def test_a_scheduled_start_runs_the_day_it_started(kit: Kit, tmp_path: Path) -> None:
    """A schedule passes only the store: the day is the execution's start date (on the clock)."""
    run_date = datetime.fromtimestamp(kit.clock.now(), UTC).date().isoformat()
    land_daily_extract(tmp_path, run_date)
    done = await day(kit, tmp_path)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.output["runDate"] == done.output["model"] == run_date == done.start_date.date().isoformat()


async def test_the_daily_schedule_starts_the_pipeline_at_six(kit: Kit, tmp_path: Path) -> None:
    """cron(0 6 * * ? *) on the engine's clock: the TestClock jumps to the next 06:00 UTC (the
    kit starts at 2025-01-01 12:00 UTC), the schedule starts the pipeline, which runs that day."""
    land_daily_extract(tmp_path, "2025-01-02")
    await schedule_daily(kit.engine, tmp_path)
    for _ in range(2000):  # real time passes while the clock, idle, jumps to the due time
        started = await kit.engine.list_executions()
        if started:
            break
        await asyncio.sleep(0.01)
    (first,) = started
    done = await kit.wait(first.execution_arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.start_date == datetime(2025, 1, 2, 6, 0, tzinfo=UTC)
    assert done.output["runDate"] == "2025-01-02"
