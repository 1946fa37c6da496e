"""Executions, their history and Map Runs; activities and task tokens."""

from __future__ import annotations

from typing import Any

from ..errors import DurableError, ExecutionDoesNotExist, StateMachineTypeNotSupported
from ..runtime.engine import Engine
from ..runtime.models import Execution, StateMachineType
from ..runtime.versions import split_arn
from .errors import ApiError, validation
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
_MAP_RUN_ENDS = ("MapRunSucceeded", "MapRunFailed", "MapRunAborted")
MAP_RUN_SCAN = 200  # executions of a machine searched for a Map Run's ARN (newest first)


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
    execution = await engine.start_execution(arn, input_json=_input(p), name=name)
    return {"executionArn": execution.execution_arn, "startDate": execution.start_date}


async def start_sync_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn, name = await _machine_and_name(p)
    e = await engine.start_sync_execution(arn, input_json=_input(p), name=name)
    out = execution_shape(e)
    for key in ("redriveStatus", "redriveStatusReason", "redriveCount"):
        out.pop(key, None)
    if e.stop_date is not None:
        millis = max(int((e.stop_date - e.start_date) * 1000), 0)
        out["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": max(millis, 100)}
    trace = p.opt_str("traceHeader", max_len=256)
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
    if (arn is None) == (map_run is None):
        raise validation("Exactly one of stateMachineArn and mapRunArn must be given")
    status = p.enum("statusFilter", _STATUSES)
    redrive = p.enum("redriveFilter", ("REDRIVEN", "NOT_REDRIVEN"))
    if map_run is not None:
        await _find_map_run(engine, map_run)  # ResourceNotFound when there is none
        page("ListExecutions:map", [], p)  # checks the token
        return {"executions": []}  # a Map Run's iterations run inside their execution
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
    return {"stopDate": e.stop_date if e.stop_date is not None else engine.clock.now()}


async def redrive_execution(engine: Engine, p: Params) -> dict[str, Any]:
    p.opt_str("clientToken", max_len=64)
    e = await engine.redrive_execution(p.arn("executionArn", "execution", "express"))
    return {"redriveDate": e.redrive_date if e.redrive_date is not None else engine.clock.now()}


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
    token = None if next_inner is None else wrap_token("GetExecutionHistory", next_inner)
    return with_token({"events": events}, token)


# -- Map Runs ---------------------------------------------------------------------------------------


def _map_runs(execution: Execution, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Map Runs an execution's history records, with their outcome."""
    runs: list[dict[str, Any]] = []
    for event in events:
        if event["type"] == "MapRunStarted":
            arn = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")
            if arn:
                runs.append({"mapRunArn": arn, "startDate": event["timestamp"], "status": "RUNNING"})
        elif event["type"] in _MAP_RUN_ENDS:
            for run in reversed(runs):
                if run["status"] == "RUNNING":
                    run["status"] = event["type"][len("MapRun") :].upper()
                    run["stopDate"] = event["timestamp"]
                    break
    if execution.status != "RUNNING":
        for run in runs:
            if run["status"] == "RUNNING":
                run["status"] = "ABORTED"
                run["stopDate"] = execution.stop_date
    return runs


async def _find_map_run(engine: Engine, map_run_arn: str) -> tuple[Execution, dict[str, Any]]:
    parts = map_run_arn.split(":")
    name = parts[6].split("/", 1)[0] if len(parts) > 6 else ""
    machine_arn = ":".join([*parts[:5], "stateMachine", name])
    try:
        executions = await engine.list_executions(machine_arn, max_results=MAP_RUN_SCAN)
    except DurableError:
        executions = []
    for execution in executions:
        for run in _map_runs(execution, await engine.get_execution_history(execution.execution_arn)):
            if run["mapRunArn"] == map_run_arn:
                return execution, run
    raise ApiError("ResourceNotFound", f"Resource not found: '{map_run_arn}'")


async def list_map_runs(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    execution = await engine.describe_execution(arn)
    runs = _map_runs(execution, await engine.get_execution_history(arn))
    chunk, token = page("ListMapRuns", runs, p)
    items = []
    for run in chunk:
        item = {
            "executionArn": arn,
            "mapRunArn": run["mapRunArn"],
            "stateMachineArn": execution.state_machine_arn,
            "startDate": run["startDate"],
        }
        if "stopDate" in run:
            item["stopDate"] = run["stopDate"]
        items.append(item)
    return with_token({"mapRuns": items}, token)


async def describe_map_run(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("mapRunArn", "mapRun")
    execution, run = await _find_map_run(engine, arn)
    counts = {k: 0 for k in ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")}
    counts["resultsWritten"] = 0
    out = {
        "mapRunArn": arn,
        "executionArn": execution.execution_arn,
        "status": run["status"],
        "startDate": run["startDate"],
        "maxConcurrency": 0,
        "toleratedFailurePercentage": 0.0,
        "toleratedFailureCount": 0,
        "itemCounts": dict(counts),
        "executionCounts": dict(counts),
        "redriveCount": 0,
    }
    if "stopDate" in run:
        out["stopDate"] = run["stopDate"]
    return out


async def update_map_run(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("mapRunArn", "mapRun")
    p.opt_int("maxConcurrency", 0, 10000)
    p.opt_int("toleratedFailureCount", 0, 2**31 - 1)
    _, run = await _find_map_run(engine, arn)
    if run["status"] != "RUNNING":
        raise validation(f"Map Run is {run['status']} and cannot be updated: '{arn}'")
    raise validation("Updating a running Map Run is not supported by this engine")


# -- activities and task tokens -------------------------------------------------------------------------


async def create_activity(engine: Engine, p: Params) -> dict[str, Any]:
    name = p.req("name", max_len=80)
    tags = p.tags()
    activity = await engine.create_activity(name)
    if tags:
        await engine.tag_resource(activity.arn, tags)
    return {"activityArn": activity.arn, "creationDate": activity.creation_date}


async def describe_activity(engine: Engine, p: Params) -> dict[str, Any]:
    record = await engine.describe_activity(p.arn("activityArn", "activity"))
    return {
        "activityArn": record.arn,
        "name": record.name,
        "creationDate": record.creation_date,
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }


async def list_activities(engine: Engine, p: Params) -> dict[str, Any]:
    activities = await engine.list_activities()
    chunk, token = page("ListActivities", activities, p)
    items = [{"activityArn": a.arn, "name": a.name, "creationDate": a.creation_date} for a in chunk]
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
