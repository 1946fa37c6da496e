"""The job integrations (``.sync``): start a job, poll its status, stop it.

``invoke`` starts the job and returns the start response (with ``SdkHttpMetadata``), which the
engine records; ``poll`` reads the job's status from that handle and the Task's parameters; a job
that ended well gives its description as the task result, one that failed, stopped or timed out
fails the task with ``States.TaskFailed`` and that description as the cause (the Step Functions
guide, "Run a Job (.sync)"). Member names are Step Functions' PascalCase, dates epoch milliseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable import JobRunning, TaskFailed

from .calls import call, http_metadata

__all__ = ["JOBS", "Job", "cancel_job", "poll_job", "start_job"]

Params = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Job:
    service: str  # boto3 client name
    start: str
    describe: str
    #: (Task parameters, recorded start response) -> the describe call's parameters
    describe_params: Callable[[Params, Params], Params]
    #: rendered describe response -> the job's description
    detail: Callable[[Params], Params]
    status: Callable[[Params], str]
    succeeded: frozenset[str]
    failed: frozenset[str]
    stop: str | None = None
    stop_params: Callable[[Params, Params], Params] | None = None
    #: the start call's idempotency parameter (boto3 spelling), filled from the attempt's key
    idempotency: str | None = None
    #: the job also failed when this says so (ECS: a container exited non-zero)
    extra_failure: Callable[[Params], bool] | None = None


def _first(key: str) -> Callable[[Params], Params]:
    def pick(rendered: Params) -> Params:
        items = rendered.get(key) or [{}]
        return items[0] if isinstance(items[0], dict) else {}

    return pick


def _field(key: str) -> Callable[[Params], Params]:
    def pick(rendered: Params) -> Params:
        value = rendered.get(key)
        return value if isinstance(value, dict) else {}

    return pick


def _whole(rendered: Params) -> Params:
    return {k: v for k, v in rendered.items() if k not in ("SdkHttpMetadata", "SdkResponseMetadata")}


def _container_failed(task: Params) -> bool:
    return any(c.get("ExitCode") not in (0, None) for c in task.get("Containers") or [])


def _ecs_task(params: Params, submitted: Params) -> Params:
    tasks = submitted.get("Tasks") or [{}]
    return {"cluster": params.get("Cluster", "default"), "tasks": [tasks[0].get("TaskArn", "")]}


JOBS: dict[str, Job] = {
    "batch:submitJob": Job(
        "batch",
        "SubmitJob",
        "DescribeJobs",
        lambda p, s: {"jobs": [s["JobId"]]},
        _first("Jobs"),
        lambda d: str(d.get("Status")),
        frozenset({"SUCCEEDED"}),
        frozenset({"FAILED"}),
        "TerminateJob",
        lambda p, s: {"jobId": s["JobId"], "reason": "Stopped by Step Functions"},
    ),
    "glue:startJobRun": Job(
        "glue",
        "StartJobRun",
        "GetJobRun",
        lambda p, s: {"JobName": p.get("JobName"), "RunId": s["JobRunId"]},
        _field("JobRun"),
        lambda d: str(d.get("JobRunState")),
        frozenset({"SUCCEEDED"}),
        frozenset({"FAILED", "ERROR", "STOPPED", "TIMEOUT", "EXPIRED"}),
        "BatchStopJobRun",
        lambda p, s: {"JobName": p.get("JobName"), "JobRunIds": [s["JobRunId"]]},
    ),
    "ecs:runTask": Job(
        "ecs",
        "RunTask",
        "DescribeTasks",
        _ecs_task,
        _first("Tasks"),
        lambda d: str(d.get("LastStatus")),
        frozenset({"STOPPED"}),
        frozenset(),
        "StopTask",
        lambda p, s: {"cluster": p.get("Cluster", "default"), "task": _ecs_task(p, s)["tasks"][0]},
        idempotency="clientToken",
        extra_failure=_container_failed,
    ),
    "athena:startQueryExecution": Job(
        "athena",
        "StartQueryExecution",
        "GetQueryExecution",
        lambda p, s: {"QueryExecutionId": s["QueryExecutionId"]},
        _whole,
        lambda d: str((d.get("QueryExecution") or {}).get("Status", {}).get("State")),
        frozenset({"SUCCEEDED"}),
        frozenset({"FAILED", "CANCELLED"}),
        "StopQueryExecution",
        lambda p, s: {"QueryExecutionId": s["QueryExecutionId"]},
        idempotency="ClientRequestToken",
    ),
    "sagemaker:createTrainingJob": Job(
        "sagemaker",
        "CreateTrainingJob",
        "DescribeTrainingJob",
        lambda p, s: {"TrainingJobName": p.get("TrainingJobName")},
        _whole,
        lambda d: str(d.get("TrainingJobStatus")),
        frozenset({"Completed"}),
        frozenset({"Failed", "Stopped"}),
        "StopTrainingJob",
        lambda p, s: {"TrainingJobName": p.get("TrainingJobName")},
    ),
    "sagemaker:createTransformJob": Job(
        "sagemaker",
        "CreateTransformJob",
        "DescribeTransformJob",
        lambda p, s: {"TransformJobName": p.get("TransformJobName")},
        _whole,
        lambda d: str(d.get("TransformJobStatus")),
        frozenset({"Completed"}),
        frozenset({"Failed", "Stopped"}),
        "StopTransformJob",
        lambda p, s: {"TransformJobName": p.get("TransformJobName")},
    ),
    "codebuild:startBuild": Job(
        "codebuild",
        "StartBuild",
        "BatchGetBuilds",
        lambda p, s: {"ids": [s["Build"]["Id"]]},
        lambda r: {"Build": _first("Builds")(r)},
        lambda d: str(d["Build"].get("BuildStatus")),
        frozenset({"SUCCEEDED"}),
        frozenset({"FAILED", "FAULT", "STOPPED", "TIMED_OUT"}),
        "StopBuild",
        lambda p, s: {"id": s["Build"]["Id"]},
        idempotency="idempotencyToken",
    ),
    # nested executions on a real Step Functions endpoint (AwsIntegration(remote_states=True))
    "states:startExecution": Job(
        "stepfunctions",
        "StartExecution",
        "DescribeExecution",
        lambda p, s: {"executionArn": s["ExecutionArn"]},
        _whole,
        lambda d: str(d.get("Status")),
        frozenset({"SUCCEEDED"}),
        frozenset({"FAILED", "TIMED_OUT", "ABORTED"}),
        "StopExecution",
        lambda p, s: {"executionArn": s["ExecutionArn"]},
    ),
}


def _token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _start_input(job: Job, payload: Any) -> Any:
    if job.service == "stepfunctions" and isinstance(payload, dict):
        payload = dict(payload)
        value = payload.get("Input")
        if value is not None and not isinstance(value, str):  # AWS sends a JSON Input as its text
            payload["Input"] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return payload


def start_job(client: Any, job: Job, payload: Any, idempotency_key: str | None) -> Params:
    """Start the job (blocking); the start response with its HTTP metadata."""

    def prepare(args: Params) -> Params:
        if job.idempotency and idempotency_key and not args.get(job.idempotency):
            args[job.idempotency] = _token(idempotency_key)
        return args

    done = call(
        client,
        job.start,
        _start_input(job, payload),
        optimized=job.service,
        dates="epoch_millis",
        prepare=prepare,
    )
    result = dict(done.rendered)
    result.update(http_metadata(done.raw))
    return result


def poll_job(client: Any, job: Job, payload: Any, submitted: Any, pattern: str) -> Any:
    """The job's result when it ended, :class:`JobRunning` while it runs (blocking)."""
    params = payload if isinstance(payload, dict) else {}
    handle = submitted if isinstance(submitted, dict) else {}
    done = call(
        client, job.describe, job.describe_params(params, handle), optimized=job.service, dates="epoch_millis"
    )
    detail = job.detail(done.rendered)
    status = job.status(detail)
    if status in job.failed or (status in job.succeeded and job.extra_failure and job.extra_failure(detail)):
        raise TaskFailed("States.TaskFailed", json.dumps(detail, separators=(",", ":"), ensure_ascii=False))
    if status not in job.succeeded:
        return JobRunning()
    if job.service == "stepfunctions" and pattern == "sync:2":
        detail = dict(detail)
        for key in ("Input", "Output"):
            if isinstance(detail.get(key), str):
                detail[key] = json.loads(detail[key])
    return detail


def cancel_job(client: Any, job: Job, payload: Any, submitted: Any) -> None:
    """Stop the job, best effort: it may have ended meanwhile (blocking)."""
    if job.stop is None or job.stop_params is None:
        return
    params = payload if isinstance(payload, dict) else {}
    handle = submitted if isinstance(submitted, dict) else {}
    try:
        call(client, job.stop, job.stop_params(params, handle), optimized=job.service)
    except (TaskFailed, KeyError):
        pass
