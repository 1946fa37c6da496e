"""Execution logs: history events as AWS writes them to CloudWatch Logs, per the state machine's
loggingConfiguration (level ALL/ERROR/FATAL/OFF, includeExecutionData), for Standard executions
(logged once committed) and Express ones (which keep no history otherwise)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from durable import Engine, ManualClock, TaskFailed
from durable.runtime.exec_logs import ExecutionLogs, event_level, machine_of

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
FLOW = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": LAMBDA + "work",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Boom"}],
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
        "Boom": {"Type": "Fail", "Error": "Bad", "Cause": "it broke"},
    },
}


def engine(sink: Any) -> Engine:
    e = Engine(clock=ManualClock(autojump=0.005), load_plugins=False, execution_logs=sink)

    @e.function("work")
    def work(event: Any, context: Any) -> Any:
        if event.get("fail"):
            raise TaskFailed("Oops", "no")
        return {"done": event["n"]}

    return e


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def run(kind: str, level: str, include: bool, value: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    async with engine(out) as e:
        sm = await e.create_state_machine(
            f"m-{kind.lower()}",
            FLOW,
            type=kind,
            logging_configuration={"level": level, "includeExecutionData": include},
        )
        if kind == "EXPRESS":
            await e.start_sync_execution(sm.arn, value)
        else:
            ex = await e.start_execution(sm.arn, value)
            await e.wait_for_execution(ex.execution_arn)
    return records(out)


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_all_logs_every_event_in_aws_shape(kind: str) -> None:
    logged = await run(kind, "ALL", True, {"n": 7})
    types = [r["type"] for r in logged]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "LambdaFunctionScheduled" in types and "PassStateEntered" in types
    first = logged[0]
    assert set(first) == {
        "id",
        "type",
        "details",
        "previous_event_id",
        "event_timestamp",
        "execution_arn",
        "redrive_count",
    }
    assert first["id"] == "1" and first["previous_event_id"] == "0" and first["redrive_count"] == "0"
    assert first["event_timestamp"].isdigit() and len(first["event_timestamp"]) == 13  # epoch millis
    assert json.loads(first["details"]["input"]) == {"n": 7}  # JSON text, as AWS logs it
    assert json.loads(logged[-1]["details"]["output"]) == {"done": 7}
    assert [int(r["id"]) for r in logged] == list(range(1, len(logged) + 1))
    scheduled = next(r for r in logged if r["type"] == "LambdaFunctionScheduled")
    assert json.loads(scheduled["details"]["input"]) == {"n": 7}


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_error_logs_error_events_only(kind: str) -> None:
    logged = await run(kind, "ERROR", True, {"fail": True})
    assert [r["type"] for r in logged] == ["LambdaFunctionFailed", "FailStateEntered", "ExecutionFailed"]
    assert logged[-1]["details"] == {"error": "Bad", "cause": "it broke"}


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_fatal_logs_the_execution_failure_only(kind: str) -> None:
    assert [r["type"] for r in await run(kind, "FATAL", True, {"fail": True})] == ["ExecutionFailed"]
    assert await run(kind, "FATAL", True, {"n": 1}) == []  # a success logs nothing at FATAL


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_without_execution_data(kind: str) -> None:
    logged = await run(kind, "ALL", False, {"n": 7, "secret": "x"})
    assert logged
    for r in logged:
        for key in ("input", "output", "parameters"):
            assert key not in r["details"], r
    assert "secret" not in json.dumps(logged)


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
async def test_off_and_unconfigured_machines_log_nothing(kind: str) -> None:
    assert await run(kind, "OFF", True, {"n": 1}) == []


async def test_express_history_is_not_returned_unless_asked() -> None:
    out = io.StringIO()
    async with engine(out) as e:
        sm = await e.create_state_machine(
            "x", FLOW, type="EXPRESS", logging_configuration={"level": "ALL", "includeExecutionData": True}
        )
        plain = await e.start_sync_execution(sm.arn, {"n": 1})
        asked = await e.start_sync_execution(sm.arn, {"n": 1}, record_history=True)
    assert plain.history is None and asked.history is not None
    assert len(records(out)) == 2 * len(asked.history)


async def test_application_structlog_setup_and_a_file(tmp_path: Path) -> None:
    with capture_logs() as captured:
        async with engine(True) as e:
            sm = await e.create_state_machine(
                "s", FLOW, logging_configuration={"level": "ERROR", "includeExecutionData": False}
            )
            await e.wait_for_execution((await e.start_execution(sm.arn, {"fail": True})).execution_arn)
    mine = [c for c in captured if c.get("event") == "execution event"]
    assert [(c["type"], c["log_level"]) for c in mine] == [
        ("LambdaFunctionFailed", "error"),
        ("FailStateEntered", "error"),
        ("ExecutionFailed", "critical"),
    ]
    path = tmp_path / "executions.log"
    async with engine(path) as e:
        sm = await e.create_state_machine("s", FLOW, logging_configuration={"level": "FATAL"})
        await e.wait_for_execution((await e.start_execution(sm.arn, {"fail": True})).execution_arn)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["type"] == "ExecutionFailed"


async def test_sqlite_standard_logs_committed_events(tmp_path: Path) -> None:
    out = io.StringIO()
    e = Engine(f"sqlite:///{tmp_path / 'db.sqlite'}", load_plugins=False, execution_logs=out)
    async with e:
        sm = await e.create_state_machine("s", FLOW, logging_configuration={"level": "ALL"})
        e.register_function("work", lambda event, ctx: 1)
        await e.wait_for_execution((await e.start_execution(sm.arn, {"n": 1})).execution_arn)
        history = await e.get_execution_history((await e.list_executions(sm.arn))[0].execution_arn)
    assert [r["type"] for r in records(out)] == [h["type"] for h in history]


def test_levels_and_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert event_level("TaskSucceeded") == 1
    assert event_level("MapRunFailed") == event_level("TaskTimedOut") == event_level("FailStateEntered") == 2
    assert event_level("ExecutionAborted") == 3
    assert (
        machine_of("arn:aws:states:us-east-1:1:execution:M/label:abc")
        == "arn:aws:states:us-east-1:1:stateMachine:M"
    )
    monkeypatch.delenv("DURABLE_EXECUTION_LOGS", raising=False)
    assert not ExecutionLogs().enabled and not ExecutionLogs(False).enabled
    monkeypatch.setenv("DURABLE_EXECUTION_LOGS", "-")
    assert ExecutionLogs().enabled and not ExecutionLogs(False).enabled
    with pytest.raises(ValueError):
        ExecutionLogs("-", "xml")


async def test_nothing_is_logged_of_a_batch_that_was_not_committed() -> None:
    from durable.runtime.resident import Committer
    from durable.store.base import EventRecord, WriteBatch

    told: list[WriteBatch] = []

    class Refusing:
        async def commit(self, batch: WriteBatch) -> None:
            raise RuntimeError("disk on fire")

    async def hook(batch: WriteBatch) -> None:
        told.append(batch)

    event = EventRecord(execution_arn="a", id=1, type="ExecutionStarted", previous_event_id=0, timestamp=0.0)
    committer = Committer(Refusing(), lambda: False, set(), hook)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await committer.commit(WriteBatch(events=[event]))
    assert told == []
