"""The AWS-recorded conformance cases, started through boto3 against ``durable serve`` instead
of the Python API, compared by the conformance runner's own ``compare``."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from durable import Engine, ManualClock
from tests.conformance import run as conformance

from .conftest import ROLE, Served

CATEGORIES = {"base", "choice_operators", "intrinsic_functions", "error_handling"}
CASE_SECONDS = 20.0


def _run(sfn: Any, served: Served, case: dict[str, Any]) -> dict[str, Any]:
    for spec in case.get("lambdas") or []:
        fn = conformance.lambda_handler(spec["source"], spec.get("handler", "handler.handler"))
        served.engine.register_function(spec.get("arn") or spec["name"], fn, error_format="lambda")
    kind = case.get("state_machine_type") or "STANDARD"
    definition = conformance._definition(case)
    text = definition if isinstance(definition, str) else json.dumps(definition)
    try:
        arn = sfn.create_state_machine(name="conformance", definition=text, roleArn=ROLE, type=kind)[
            "stateMachineArn"
        ]
    except ClientError as exc:
        return {
            "status": "API_ERROR",
            "error": exc.response["Error"]["Code"],
            "message": exc.response["Error"]["Message"],
        }
    try:
        input_json = case["input_raw"] if "input_raw" in case else json.dumps(case.get("input"))
        if case["start_api"] == "StartSyncExecution":
            done = sfn.start_sync_execution(stateMachineArn=arn, input=input_json)
        else:
            execution = sfn.start_execution(stateMachineArn=arn, input=input_json)["executionArn"]
            deadline = time.monotonic() + CASE_SECONDS
            while True:
                done = sfn.describe_execution(executionArn=execution)
                if done["status"] != "RUNNING" or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
        out: dict[str, Any] = {
            "status": done["status"],
            "error": done.get("error"),
            "cause": done.get("cause"),
        }
        if done["status"] == "SUCCEEDED":
            out["output"] = json.loads(done["output"])
        return out
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


def test_recorded_cases_through_boto3() -> None:
    path = conformance.DEFAULT_CASES
    if not path.exists():
        pytest.skip(f"conformance corpus not found at {path}")
    # as the Python-API runner does: an engine whose clock skips idle time (Waits of a minute)
    served = Served(Engine(clock=ManualClock(autojump=0.005), load_plugins=False))
    try:
        _run_all(served, served.client(), path)
    finally:
        served.stop()


def _run_all(served: Served, sfn: Any, path: Any) -> None:
    cases = [
        c
        for c in conformance.load_cases(path)
        if c.get("category") in CATEGORIES
        and c.get("start_api") in ("StartExecution", "StartSyncExecution")
        and set(c.get("needs") or ["none"]) <= {"none", "lambda"}
        and conformance.skip_reason(c) is None
    ]
    counts: Counter[str] = Counter()
    failures = []
    for case in cases:
        diff = conformance.compare(case, _run(sfn, served, case))
        counts[case["category"]] += 1
        if diff is not None:
            failures.append(f"{case['id']}: {diff}")
    assert set(counts) == CATEGORIES
    assert not failures, "\n".join(failures[:20])
