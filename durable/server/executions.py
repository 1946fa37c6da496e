"""Executions, their history and Map Runs; activities and task tokens."""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import ExecutionDoesNotExist, StateMachineTypeNotSupported
from ..runtime.engine import Engine
from ..runtime.mapruns import MapRun, MapRunCounts
from ..runtime.models import Execution, StateMachineType, epoch
from ..runtime.versions import split_arn
from .errors import validation
from .machines import Action
from .shapes import (
    Params,
    execution_item,
    execution_shape,
    page,
    unwrap_token,
    with_token,
    wrap_token,
)

__all__ = ["ACTIONS"]

MAX_INPUT = 256 * 1024
_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def _input(p: Params) -> str:
    return p.opt_str("input", max_len=MAX_INPUT) or "{}"


async def _machine_and_name(p: Params) -> tuple[str, str | None]:
    """The ARN to start and the execution's name; ``ARN#TestCase`` (Step Functions Local's way
    of choosing a mocked test case) where the server was given a MockConfigFile."""
    raw = p.body.get("stateMachineArn")
    name = p.opt_str("name", max_len=80)
    if p.test_cases is not None and isinstance(raw, str) and "#" in raw:
        return await p.test_cases(raw, name)
    return p.arn("stateMachineArn", "stateMachine"), name


async def start_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn, name = await _machine_and_name(p)
    trace = p.opt_str("traceHeader", max_len=256)
    execution = await engine.start_execution(arn, input_json=_input(p), name=name, trace_header=trace)
    return {"executionArn": execution.execution_arn, "startDate": epoch(execution.start_date)}


async def start_sync_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn, name = await _machine_and_name(p)
    trace = p.opt_str("traceHeader", max_len=256)
    e = await engine.start_sync_execution(arn, input_json=_input(p), name=name, trace_header=trace)
    out = execution_shape(e)
    for key in ("redriveStatus", "redriveStatusReason", "redriveCount"):
        out.pop(key, None)
    if e.stop_date is not None:
        millis = max(int((e.stop_date - e.start_date).total_seconds() * 1000), 0)
        out["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": max(millis, 100)}
    if trace is not None:
        out["traceHeader"] = trace
    return out


async def describe_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    out = execution_shape(await engine.describe_execution(arn))
    version, alias = await engine.execution_started_through(arn)
    if version is not None:
        out["stateMachineVersionArn"] = version
    if alias is not None:
        out["stateMachineAliasArn"] = alias
    trace = await engine.execution_trace_header(arn) if ":execution:" in arn else None
    if trace is not None:
        out["traceHeader"] = trace
    return out


async def _qualified_executions(engine: Engine, arn: str) -> list[Execution]:
    """Executions started through a version or alias, newest first."""
    out = []
    for execution_arn in reversed(await engine.versions.executions_through(arn)):
        try:
            out.append(await engine.describe_execution(execution_arn))
        except ExecutionDoesNotExist:
            continue
    return out


async def list_executions(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("stateMachineArn", "stateMachine", required=False) or None
    map_run = p.arn("mapRunArn", "mapRun", required=False) or None
    if arn is not None and map_run is not None:
        raise validation("You can specify either a mapRunArn or a stateMachineArn, but not both.")
    if arn is None and map_run is None:
        raise validation("Either a stateMachineArn or a mapRunArn must be given")
    status = p.enum("statusFilter", _STATUSES)
    redrive = p.enum("redriveFilter", ("REDRIVEN", "NOT_REDRIVEN"))
    if map_run is not None:
        await engine.describe_map_run(map_run)  # ResourceNotFound when there is none
        inner = unwrap_token("ListExecutions:map", p.opt_str("nextToken", max_len=3096))
        children, next_inner = await engine.list_executions_page(
            status=status, max_results=p.page_size(), next_token=inner, map_run_arn=map_run
        )
        if redrive is not None:  # children are never redriven here
            children = children if redrive == "NOT_REDRIVEN" else []
        listed = []
        for child in children:
            item = execution_item(child)
            item["itemCount"] = child.item_count  # only when listing a Map Run's, as AWS
            listed.append(item)
        token = None if next_inner is None else wrap_token("ListExecutions:map", next_inner)
        return with_token({"executions": listed}, token)
    assert arn is not None
    base, qualifier = split_arn(arn)
    machine = await engine.describe_state_machine(base)
    if machine.type is StateMachineType.EXPRESS:
        raise StateMachineTypeNotSupported("This operation is not supported by this type of state machine")
    items: list[Execution]
    if qualifier is None and redrive is None:
        inner = unwrap_token("ListExecutions", p.opt_str("nextToken", max_len=3096))
        found, next_inner = await engine.list_executions_page(
            arn, status, max_results=p.page_size(), next_token=inner
        )
        token = None if next_inner is None else wrap_token("ListExecutions", next_inner)
        return with_token({"executions": [execution_item(e) for e in found]}, token)
    if qualifier is None:
        items = await engine.list_executions(arn, status)
    else:
        items = [
            e for e in await _qualified_executions(engine, arn) if status is None or str(e.status) == status
        ]
    if redrive is not None:
        items = [e for e in items if (e.redrive_count > 0) == (redrive == "REDRIVEN")]
    chunk, token = page("ListExecutions:all", items, p)
    return with_token({"executions": [execution_item(e) for e in chunk]}, token)


async def stop_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    e = await engine.stop_execution(
        arn, error=p.opt_str("error", max_len=256), cause=p.opt_str("cause", max_len=32768)
    )
    return {"stopDate": epoch(e.stop_date) if e.stop_date is not None else engine.clock.now()}


async def redrive_execution(engine: Engine, p: Params) -> dict[str, Any]:
    p.opt_str("clientToken", max_len=64)
    e = await engine.redrive_execution(p.arn("executionArn", "execution", "express"))
    return {"redriveDate": epoch(e.redrive_date) if e.redrive_date is not None else engine.clock.now()}


async def get_execution_history(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    inner = unwrap_token("GetExecutionHistory", p.opt_str("nextToken", max_len=3096))
    include = p.opt_bool("includeExecutionData")
    events, next_inner = await engine.get_execution_history_page(
        arn,
        reverse_order=bool(p.opt_bool("reverseOrder")),
        max_results=p.page_size(),
        next_token=inner,
        include_execution_data=True if include is None else include,
    )
    for event in events:
        event["timestamp"] = epoch(event["timestamp"])
    token = None if next_inner is None else wrap_token("GetExecutionHistory", next_inner)
    return with_token({"events": events}, token)


# -- Map Runs ---------------------------------------------------------------------------------------


def _counts(counts: MapRunCounts) -> dict[str, int]:
    """``MapRunItemCounts``/``MapRunExecutionCounts``: the struct's camelCase fields."""
    out: dict[str, int] = msgspec.to_builtins(counts)
    return out


def _describe(run: MapRun) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mapRunArn": run.map_run_arn,
        "executionArn": run.execution_arn,
        "status": run.status,
        "startDate": epoch(run.start_date),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "toleratedFailureCount": run.tolerated_failure_count,
        "itemCounts": _counts(run.item_counts),
        "executionCounts": _counts(run.execution_counts),
        "redriveCount": run.redrive_count,
    }
    if run.stop_date is not None:
        out["stopDate"] = epoch(run.stop_date)
    if run.redrive_date is not None:
        out["redriveDate"] = epoch(run.redrive_date)
    return out


async def list_map_runs(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    execution = await engine.describe_execution(arn)
    chunk, token = page("ListMapRuns", await engine.list_map_runs(arn), p)
    items = []
    for run in chunk:
        item: dict[str, Any] = {
            "executionArn": arn,
            "mapRunArn": run.map_run_arn,
            "stateMachineArn": execution.state_machine_arn,
            "startDate": epoch(run.start_date),
        }
        if run.stop_date is not None:
            item["stopDate"] = epoch(run.stop_date)
        items.append(item)
    return with_token({"mapRuns": items}, token)


async def describe_map_run(engine: Engine, p: Params) -> dict[str, Any]:
    return _describe(await engine.describe_map_run(p.arn("mapRunArn", "mapRun")))


async def update_map_run(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("mapRunArn", "mapRun")
    await engine.update_map_run(
        arn,
        max_concurrency=p.opt_int("maxConcurrency", 0, 10000),
        tolerated_failure_percentage=p.opt_float("toleratedFailurePercentage", 0.0, 100.0),
        tolerated_failure_count=p.opt_int("toleratedFailureCount", 0, 2**31 - 1),
    )
    return {}


# -- activities and task tokens -------------------------------------------------------------------------


async def create_activity(engine: Engine, p: Params) -> dict[str, Any]:
    name = p.req("name", max_len=80)
    tags = p.tags()
    activity = await engine.create_activity(name)
    if tags:
        await engine.tag_resource(activity.arn, tags)
    return {"activityArn": activity.arn, "creationDate": epoch(activity.creation_date)}


async def describe_activity(engine: Engine, p: Params) -> dict[str, Any]:
    record = await engine.describe_activity(p.arn("activityArn", "activity"))
    return {
        "activityArn": record.arn,
        "name": record.name,
        "creationDate": epoch(record.creation_date),
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }


async def list_activities(engine: Engine, p: Params) -> dict[str, Any]:
    activities = await engine.list_activities()
    chunk, token = page("ListActivities", activities, p)
    items = [{"activityArn": a.arn, "name": a.name, "creationDate": epoch(a.creation_date)} for a in chunk]
    return with_token({"activities": items}, token)


async def delete_activity(engine: Engine, p: Params) -> dict[str, Any]:
    await engine.delete_activity(p.arn("activityArn", "activity"))
    return {}


async def get_activity_task(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("activityArn", "activity")
    task = await engine.get_activity_task(arn, worker_name=p.opt_str("workerName", max_len=80), timeout=60.0)
    return {} if task is None else {"taskToken": task["taskToken"], "input": task["input"]}


def _token(p: Params) -> str:
    return p.req("taskToken", max_len=2048)


async def send_task_success(engine: Engine, p: Params) -> dict[str, Any]:
    token = _token(p)
    output = p.req("output", max_len=MAX_INPUT)
    await engine.send_task_success(token, output_json=output)
    return {}


async def send_task_failure(engine: Engine, p: Params) -> dict[str, Any]:
    token = _token(p)
    await engine.send_task_failure(
        token, error=p.opt_str("error", max_len=256), cause=p.opt_str("cause", max_len=32768)
    )
    return {}


async def send_task_heartbeat(engine: Engine, p: Params) -> dict[str, Any]:
    await engine.send_task_heartbeat(_token(p))
    return {}


ACTIONS: dict[str, Action] = {
    "StartExecution": start_execution,
    "StartSyncExecution": start_sync_execution,
    "DescribeExecution": describe_execution,
    "ListExecutions": list_executions,
    "StopExecution": stop_execution,
    "RedriveExecution": redrive_execution,
    "GetExecutionHistory": get_execution_history,
    "ListMapRuns": list_map_runs,
    "DescribeMapRun": describe_map_run,
    "UpdateMapRun": update_map_run,
    "CreateActivity": create_activity,
    "DescribeActivity": describe_activity,
    "ListActivities": list_activities,
    "DeleteActivity": delete_activity,
    "GetActivityTask": get_activity_task,
    "SendTaskSuccess": send_task_success,
    "SendTaskFailure": send_task_failure,
    "SendTaskHeartbeat": send_task_heartbeat,
}
