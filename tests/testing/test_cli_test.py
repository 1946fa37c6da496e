"""`durable test` and templates on the command line, as a user runs them (separate processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MACHINE = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "Next": "Notify"},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True},
    },
}
CONFIG = {
    "StateMachines": {
        "Lookup": {
            "TestCases": {"Found": {"Fetch": "Item", "Notify": "Published"}, "Broken": {"Fetch": "Boom"}},
            "Expectations": {
                "Found": {"Status": "SUCCEEDED", "Output": {"MessageId": "m"}},
                "Broken": {"Status": "SUCCEEDED"},
            },
        }
    },
    "MockedResponses": {
        "Item": {"0": {"Return": {"Item": {"id": {"S": "1"}}}}},
        "Published": {"0": {"Return": {"MessageId": "m"}}},
        "Boom": {"0": {"Throw": {"Error": "DynamoDB.AmazonDynamoDBException", "Cause": "down"}}},
    },
}

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "greeter"
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      DefinitionSubstitutions:
        GreeterArn: !GetAtt Greeter.Arn
        Stage: !Ref Stage
      Definition:
        StartAt: Hello
        States:
          Hello:
            Type: Task
            Resource: ${GreeterArn}
            Parameters:
              stage: ${Stage}
            End: true
  Other:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionString: !Join
        - ""
        - ['{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"', !Ref AWS::Region, '","End":true}}}']
"""


def _durable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "durable.api.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_durable_test_prints_a_row_per_case_and_fails_on_a_missed_expectation(tmp_path: Path) -> None:
    (tmp_path / "m.asl.json").write_text(json.dumps(MACHINE))
    (tmp_path / "mocks.json").write_text(json.dumps(CONFIG))
    done = _durable("test", "mocks.json", "--definition", "m.asl.json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["TEST", "CASE", "STATUS", "ERROR", "STATES", "VISITED", "RESULT"]
    assert lines[1].split() == ["Found", "SUCCEEDED", "-", "Fetch", ">", "Notify", "ok"]
    assert lines[2].split() == ["Broken", "FAILED", "DynamoDB.AmazonDynamoDBException", "Fetch", "FAIL"]
    assert "Broken: status FAILED, expected SUCCEEDED" in done.stderr
    only = _durable(
        "test", "mocks.json", "-d", "m.asl.json", "--test-case", "Found", "-o", "json", cwd=tmp_path
    )
    assert only.returncode == 0, only.stderr
    assert [r["testCase"] for r in json.loads(only.stdout)] == ["Found"]


def test_durable_test_reports_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "m.asl.json").write_text(json.dumps(MACHINE))
    bad = dict(CONFIG, MockedResponses={"Item": {"0": {"Return": 1}}})
    (tmp_path / "mocks.json").write_text(json.dumps(bad))
    done = _durable("test", "mocks.json", "--definition", "m.asl.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "'Published', which is not in MockedResponses" in done.stderr


def test_run_and_validate_read_a_sam_template(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "greet.py").write_text("def greet(event, context):\n    return {'hi': event['stage']}\n")
    done = _durable(
        "run", "template.yaml", "--logical-id", "Flow", "--function", "greeter=greet:greet", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == {"hi": "dev"}
    override = _durable(
        "run",
        "template.yaml",
        "--logical-id",
        "Flow",
        "-s",
        "Stage=prod",
        "-f",
        "greeter=greet:greet",
        cwd=tmp_path,
    )
    assert json.loads(override.stdout)["output"] == {"hi": "prod"}
    other = _durable("run", "template.yaml", "--logical-id", "Other", cwd=tmp_path)
    assert json.loads(other.stdout)["output"] == "us-east-1"
    several = _durable("validate", "template.yaml", cwd=tmp_path)
    assert several.returncode == 2
    assert "several state machines, choose one by logical id: Flow, Other" in several.stderr
    assert _durable("validate", "template.yaml", "--logical-id", "Flow", cwd=tmp_path).returncode == 0
