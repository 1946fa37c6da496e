"""``durable deploy`` of a CloudFormation, SAM or CDK template: the state machine's name, type,
logging and tracing come from the template unless the command line says otherwise (against a
moto server, as in test_deploy.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .test_deploy import REGION, ROLE, call, endpoint, sfn, unique, workdir

__all__ = ["endpoint", "sfn", "workdir"]  # the fixtures, shared

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:orders:*"

CFN = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Orders:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: {name}
      StateMachineType: EXPRESS
      RoleArn: !GetAtt OrdersRole.Arn
      DefinitionString: '{definition}'
      LoggingConfiguration:
        Level: ALL
        IncludeExecutionData: true
        Destinations:
          - CloudWatchLogsLogGroup:
              LogGroupArn: "{log_group}"
      TracingConfiguration:
        Enabled: true
  OrdersRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{}}
"""

SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: {name}
      Type: EXPRESS
      Definition:
        StartAt: P
        States:
          P:
            Type: Pass
            End: true
      Logging:
        Level: ERROR
        IncludeExecutionData: false
        Destinations:
          - CloudWatchLogsLogGroup:
              LogGroupArn: "{log_group}"
      Tracing:
        Enabled: true
"""

COMPUTED = """\
Parameters:
  Stage:
    Type: String
    Default: prod
  Kind:
    Type: String
    Default: EXPRESS
Resources:
  Orders:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: !Sub "${{Stage}}-orders"
      StateMachineType: {kind}
      Definition:
        StartAt: P
        States:
          P:
            Type: Pass
            End: true
      LoggingConfiguration:
        Level: ALL
        Destinations:
          - CloudWatchLogsLogGroup:
              LogGroupArn: !GetAtt OrdersLogs.Arn
      TracingConfiguration:
        Enabled: !If [Never, true, false]
  OrdersLogs:
    Type: AWS::Logs::LogGroup
Conditions:
  Never: !Equals [a, b]
"""


def described(sfn: Any, arn: str) -> dict[str, Any]:
    out: dict[str, Any] = sfn.describe_state_machine(stateMachineArn=arn)
    return out


def test_name_type_logging_and_tracing_come_from_a_cloudformation_template(
    workdir: Path, endpoint: str, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("cfn")
    text = CFN.format(name=name, definition=json.dumps(PASS), log_group=LOG_GROUP)
    (workdir / "template.yaml").write_text(text)
    where = ["--role-arn", ROLE, "--region", REGION, "--endpoint-url", endpoint]
    code, out, err = call(capsys, "deploy", "template.yaml", *where)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["name"], summary["type"], summary["action"]) == (name, "EXPRESS", "created")
    machine = described(sfn, summary["stateMachineArn"])
    assert machine["name"] == name and machine["type"] == "EXPRESS"
    assert machine["loggingConfiguration"] == {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    assert machine["tracingConfiguration"] == {"enabled": True}

    # deployed again as it is: nothing differs
    code, out, err = call(capsys, "deploy", "template.yaml", *where)
    assert code == 0, err
    assert json.loads(out)["action"] == "unchanged"

    # the command line wins over the template
    other = unique("flags")
    code, out, err = call(
        capsys, "deploy", "template.yaml", *where, "--name", other, "--type", "STANDARD",
        "--no-tracing", "--logging", '{"level": "OFF"}',
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["name"], summary["type"]) == (other, "STANDARD")
    machine = described(sfn, summary["stateMachineArn"])
    assert machine["type"] == "STANDARD" and machine["tracingConfiguration"] == {"enabled": False}
    assert machine["loggingConfiguration"]["level"] == "OFF"


def test_name_type_logging_and_tracing_come_from_a_sam_template(
    workdir: Path, endpoint: str, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("sam")
    (workdir / "template.yaml").write_text(SAM.format(name=name, log_group=LOG_GROUP))
    code, out, err = call(capsys, "deploy", "template.yaml", "--dry-run")
    assert code == 0, err
    planned = json.loads(out)
    assert (planned["name"], planned["type"]) == (name, "EXPRESS")
    assert planned["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    assert planned["tracingConfiguration"] == {"enabled": True}
    assert planned["definition"] == PASS

    where = ["--role-arn", ROLE, "--region", REGION, "--endpoint-url", endpoint]
    code, out, err = call(capsys, "deploy", "template.yaml", *where)
    assert code == 0, err
    machine = described(sfn, json.loads(out)["stateMachineArn"])
    assert (machine["name"], machine["type"]) == (name, "EXPRESS")
    assert machine["loggingConfiguration"]["level"] == "ERROR"
    assert machine["tracingConfiguration"] == {"enabled": True}


def test_what_a_template_computes_is_not_guessed(
    workdir: Path, endpoint: str, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name, type, log group or tracing flag computed by intrinsic functions would resolve to
    durable's local stand-ins, not to what the stack makes: it is asked for, or left out."""
    (workdir / "template.yaml").write_text(COMPUTED.format(kind="!Ref Kind"))
    code, out, err = call(capsys, "deploy", "template.yaml", "--dry-run")
    assert (code, out) == (2, "")
    assert "deploy needs --name NAME (the template's StateMachineName is computed" in err
    code, out, err = call(capsys, "deploy", "template.yaml", "--dry-run", "--name", "x")
    assert code == 2 and "StateMachineType is computed by an intrinsic function: give --type" in err

    (workdir / "template.yaml").write_text(COMPUTED.format(kind="EXPRESS"))
    name = unique("computed")
    where = ["--name", name, "--role-arn", ROLE, "--region", REGION, "--endpoint-url", endpoint]
    code, out, err = call(capsys, "deploy", "template.yaml", *where)
    assert code == 0, err
    assert "warning: the template's LoggingConfiguration is computed by intrinsic functions" in err
    assert "warning: the template's TracingConfiguration is computed" in err
    machine = described(sfn, json.loads(out)["stateMachineArn"])
    assert machine["type"] == "EXPRESS"
    assert not (machine.get("loggingConfiguration") or {}).get("destinations")

    code, out, err = call(capsys, "deploy", "template.yaml", *where, "--strict")
    assert code == 2 and "LoggingConfiguration is computed" in err
    log_flag = json.dumps(
        {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}]}
    )
    code, out, err = call(
        capsys, "deploy", "template.yaml", *where, "--strict", "--logging", log_flag, "--tracing"
    )
    assert code == 0, err
    assert json.loads(out)["changed"] == ["loggingConfiguration", "tracingConfiguration"]
