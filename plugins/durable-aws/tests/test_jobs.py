"""``.sync`` jobs against moto: start (invoke), poll, cancel - the calls the engine makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_helpers import unique
from durable_aws import AwsIntegration
from durable_aws.testing import configure

from durable import JobRunning, TaskFailed, TaskRequest
from durable.testing.plugin_kit import check_contract, check_job_follows_restart, run_task


def request(resource: str, payload: dict[str, Any], key: str | None = "attempt-1") -> TaskRequest:
    return TaskRequest(
        resource=resource,
        payload=payload,
        state_name="Job",
        execution_arn="arn:aws:states:us-east-1:1:execution:m:e",
        state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:m",
        idempotency_key=key,
    )


async def poll_until_done(aws: AwsIntegration, req: TaskRequest, submitted: Any) -> Any:
    for _ in range(20):
        result = await aws.poll(req, submitted)
        if not isinstance(result, JobRunning):
            return result
    raise AssertionError("the job never ended")


async def test_glue_job_run(aws: AwsIntegration, boto: Callable[[str], Any]) -> None:
    job = unique("job")
    boto("glue").create_job(Name=job, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    req = request("arn:aws:states:::glue:startJobRun.sync", {"JobName": job})
    assert aws.handles(req.resource)
    submitted = await aws.invoke(req)
    assert submitted["JobRunId"] and submitted["SdkHttpMetadata"]["HttpStatusCode"] == 200
    result = await poll_until_done(aws, req, submitted)
    assert result["JobRunState"] == "SUCCEEDED" and result["Id"] == submitted["JobRunId"]
    assert result["JobName"] == job
    await aws.cancel(req, submitted)  # moto has no BatchStopJobRun: a best-effort stop says nothing


async def test_athena_query_is_cancelled(aws: AwsIntegration, boto: Callable[[str], Any]) -> None:
    req = request(
        "arn:aws:states:::athena:startQueryExecution.sync",
        {"QueryString": "SELECT 1", "ResultConfiguration": {"OutputLocation": "s3://results/"}},
    )
    submitted = await aws.invoke(req)
    query = submitted["QueryExecutionId"]
    await aws.cancel(req, submitted)
    state = boto("athena").get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"]
    assert state == "CANCELLED"
    with pytest.raises(TaskFailed) as failed:
        await aws.poll(req, submitted)
    assert failed.value.error == "States.TaskFailed"
    assert '"State":"CANCELLED"' in (failed.value.cause or "")


async def test_athena_query_succeeds(aws: AwsIntegration) -> None:
    req = request(
        "arn:aws:states:::athena:startQueryExecution.sync",
        {"QueryString": "SELECT 2", "ResultConfiguration": {"OutputLocation": "s3://results/"}},
    )
    submitted = await aws.invoke(req)
    result = await poll_until_done(aws, req, submitted)
    assert result["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    assert isinstance(result["QueryExecution"]["Status"]["SubmissionDateTime"], int)  # epoch millis


async def test_batch_job_and_terminate(
    aws: AwsIntegration, endpoint: str, boto: Callable[[str], Any]
) -> None:
    configure(endpoint, {"batch": {"use_docker": False}})  # moto's Batch ends jobs at once without docker
    batch = boto("batch")
    role = boto("iam").create_role(RoleName=unique("br"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    env = batch.create_compute_environment(
        computeEnvironmentName=unique("ce"), type="UNMANAGED", serviceRole=role
    )
    queue = batch.create_job_queue(
        jobQueueName=unique("q"),
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
    )["jobQueueArn"]
    definition = batch.register_job_definition(
        jobDefinitionName=unique("jd"),
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128},
    )["jobDefinitionArn"]
    req = request(
        "arn:aws:states:::batch:submitJob.sync",
        {"JobName": "nightly", "JobQueue": queue, "JobDefinition": definition},  # PascalCase, as in ASL
    )
    submitted = await aws.invoke(req)
    assert submitted["JobName"] == "nightly" and submitted["JobId"]
    result = await poll_until_done(aws, req, submitted)
    assert result["Status"] == "SUCCEEDED" and result["JobId"] == submitted["JobId"]
    assert result["Container"]["Vcpus"] == 1  # nested members in PascalCase too
    await aws.cancel(req, submitted)
    reason = batch.describe_jobs(jobs=[submitted["JobId"]])["jobs"][0]["statusReason"]
    assert reason == "Stopped by Step Functions"


async def test_codebuild_build_is_stopped(aws: AwsIntegration, boto: Callable[[str], Any]) -> None:
    project = unique("proj")
    boto("codebuild").create_project(
        name=project,
        source={"type": "S3", "location": "bucket/key"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole="arn:aws:iam::123456789012:role/r",
    )
    req = request("arn:aws:states:::codebuild:startBuild.sync", {"ProjectName": project})
    submitted = await aws.invoke(req)
    build = submitted["Build"]["Id"]
    result = await poll_until_done(aws, req, submitted)
    assert result["Build"]["BuildStatus"] == "SUCCEEDED" and result["Build"]["Id"] == build
    await aws.cancel(req, submitted)


async def test_sagemaker_training_job(aws: AwsIntegration) -> None:
    name = unique("train")
    req = request(
        "arn:aws:states:::sagemaker:createTrainingJob.sync",
        {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    )
    submitted = await aws.invoke(req)
    assert submitted["TrainingJobArn"].endswith(name)
    result = await poll_until_done(aws, req, submitted)
    assert result["TrainingJobStatus"] == "Completed" and result["TrainingJobName"] == name


def test_the_job_table_of_handles() -> None:
    aws = AwsIntegration()
    for resource in (
        "arn:aws:states:::batch:submitJob.sync",
        "arn:aws:states:::glue:startJobRun",
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "arn:aws:states:::athena:startQueryExecution.sync",
        "arn:aws:states:::sagemaker:createTransformJob.sync",
        "arn:aws:states:::codebuild:startBuild.sync",
    ):
        assert aws.handles(resource), resource
    assert not aws.handles("arn:aws:states:::glue:startJobRun.sync:2")
    assert not aws.handles("arn:aws:states:::states:startExecution.sync")
    assert AwsIntegration(remote_states=True).handles("arn:aws:states:::states:startExecution.sync:2")


async def test_a_glue_sync_task_runs_through_the_engine(
    aws: AwsIntegration, boto: Callable[[str], Any], tmp_path: Any
) -> None:
    """A Standard execution starts the Glue job run, records it (TaskSubmitted), follows it on the
    engine's clock and ends with the run's description."""
    job = unique("etl")
    boto("glue").create_job(Name=job, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    done = await run_task(
        aws,
        "arn:aws:states:::glue:startJobRun.sync",
        {"JobName.$": "$.job"},
        input={"job": job},
        db=tmp_path / "g.db",
    )
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.output["JobRunState"] == "SUCCEEDED" and done.output["JobName"] == job
    types = [e["type"] for e in done.history or []]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


async def test_the_plugin_kit_job_checks_pass_for_athena(aws: AwsIntegration, tmp_path: Any) -> None:
    check_contract(
        aws, ["arn:aws:states:::athena:startQueryExecution.sync", "arn:aws:states:::sqs:sendMessage"]
    )
    query = {"QueryString": "SELECT 3", "ResultConfiguration": {"OutputLocation": "s3://results/"}}
    done = await check_job_follows_restart(
        lambda: aws, "arn:aws:states:::athena:startQueryExecution.sync", query, db=tmp_path / "a.db"
    )
    assert done.output["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
