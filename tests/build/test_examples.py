"""The examples' hand-written definitions, built with ``durable.build``: the same dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from durable.build import Catch, Choice, ChoiceRule, Fail, Parallel, Pass, Retry, Task, Workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"


def _example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / name / "definition.asl.json").read_text())
    return loaded


def test_account_opening() -> None:
    check_name = Task(
        "CheckName",
        LAMBDA + "CheckName",
        parameters={"name.$": "$.application.name"},
        retry=[Retry(["NameServiceUnavailable"], interval_seconds=1, max_attempts=3, backoff_rate=2)],
    )
    check_address = Task(
        "CheckAddress", LAMBDA + "CheckAddress", parameters={"address.$": "$.application.address"}
    )
    reject = Pass(
        "RejectApplication",
        parameters={"status": "REJECTED", "applicant.$": "$.application.name", "reason.$": "$.error.Cause"},
    )
    verify = Parallel(
        "VerifyApplicant",
        [check_name, check_address],
        result_selector={"name.$": "$[0]", "address.$": "$[1]"},
        result_path="$.checks",
        catch=[Catch(["ValidationError"], reject, result_path="$.error")],
    )
    approve = Task(
        "ApproveApplication",
        "arn:aws:states:::lambda:invoke",
        parameters={
            "FunctionName": "ApproveApplication",
            "Payload": {"application.$": "$.application", "checks.$": "$.checks"},
        },
        result_selector={"decision.$": "$.Payload"},
        output_path="$.decision",
    )
    workflow = Workflow(verify >> approve, comment=_example("account_opening")["Comment"])
    assert workflow.to_dict() == _example("account_opening")


def test_human_approval() -> None:
    open_account = Task(
        "OpenAccount",
        LAMBDA + "OpenAccount",
        retry=[
            Retry(
                ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
                interval_seconds=2,
                max_attempts=3,
                backoff_rate=2,
            )
        ],
    )
    rejected = Fail("Rejected", error="ApplicationRejected", cause="The approver rejected the application.")
    approved = (
        Choice("Approved")
        .when(ChoiceRule.BooleanEquals(variable="$.review.approved", value=True), open_account)
        .otherwise(rejected)
    )
    notify = Task(
        "NotifyApprover",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        parameters={
            "FunctionName": "NotifyApprover",
            "Payload": {
                "token.$": "$$.Task.Token",
                "executionName.$": "$$.Execution.Name",
                "application.$": "$.application",
                "reasons.$": "$.check.reasons",
            },
        },
        timeout_seconds=259200,
        result_path="$.review",
    )
    review = (
        Choice("ReviewRequired")
        .when(ChoiceRule.BooleanEquals("$.check.reviewRequired", True), notify >> approved)
        .otherwise(open_account)
    )
    check = Task(
        "CheckApplication",
        LAMBDA + "CheckApplication",
        parameters={"application.$": "$.application"},
        result_path="$.check",
    )
    workflow = Workflow(
        check >> review, comment=_example("human_approval")["Comment"], timeout_seconds=604800
    )
    assert workflow.to_dict() == _example("human_approval")


def test_etl_orchestration() -> None:
    source = "States.Format('s3://{}/{}', $.detail.bucket.name, $.detail.object.key)"
    failed = Fail("Failed", error="EtlFailed", cause="The ETL run failed; operators were alerted.")
    alert = Task(
        "AlertOperators",
        "arn:aws:states:::sns:publish",
        parameters={
            "TopicArn.$": "$.alertTopic",
            "Subject": "ETL run failed",
            "Message": {
                "execution.$": "$$.Execution.Id",
                "source.$": source,
                "error.$": "$.failure.Error",
                "cause.$": "$.failure.Cause",
            },
        },
        result_path=None,  # JSON null: discard the result
    )
    on_failure = Catch(["States.ALL"], alert >> failed, result_path="$.failure")
    describe = Task(
        "DescribeObject",
        "arn:aws:states:::aws-sdk:s3:headObject",
        parameters={"Bucket.$": "$.detail.bucket.name", "Key.$": "$.detail.object.key"},
        result_selector={"bytes.$": "$.ContentLength", "etag.$": "$.ETag"},
        result_path="$.object",
        catch=[on_failure],
    )
    glue = Task(
        "RunGlueJob",
        "arn:aws:states:::glue:startJobRun.sync",
        parameters={"JobName.$": "$.jobName", "Arguments": {"--source.$": source, "--target.$": "$.target"}},
        timeout_seconds=3600,
        retry=[
            Retry(
                ["Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException"],
                interval_seconds=30,
                max_attempts=3,
                backoff_rate=2,
            )
        ],
        result_selector={"runId.$": "$.Id", "state.$": "$.JobRunState", "job.$": "$.JobName"},
        result_path="$.run",
        catch=[on_failure],
    )
    loaded = Pass(
        "Loaded",
        parameters={"status": "LOADED", "source.$": source, "bytes.$": "$.object.bytes", "run.$": "$.run"},
    )
    workflow = Workflow(describe >> glue >> loaded, comment=_example("etl_orchestration")["Comment"])
    assert workflow.to_dict() == _example("etl_orchestration")
    # the JSON text is the same document, in the order a person writes it
    text = workflow.to_json()
    assert json.loads(text) == _example("etl_orchestration")
    assert list(json.loads(text)) == ["Comment", "StartAt", "States"]
    assert next(iter(json.loads(text)["States"]["DescribeObject"])) == "Type"
