"""Definitions from .asl files and CloudFormation/SAM/CDK templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from durable.runtime.templates import TemplateError, load_definition, load_state_machine

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Value}", "End": True}}}


def test_an_asl_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "m.asl.yaml"
    path.write_text("StartAt: P\nStates:\n  P:\n    Type: Pass\n    End: true\n")
    assert json.loads(load_definition(path)) == {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }


def test_cdk_synth_output_with_join_and_getatt(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Fn9270CBC0": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "work"}},
            "Queue4A7E3555": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Machine12345": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "EXPRESS",
                    "DefinitionString": {
                        "Fn::Join": [
                            "",
                            [
                                '{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"',
                                {"Fn::GetAtt": ["Fn9270CBC0", "Arn"]},
                                '","Parameters":{"q":"',
                                {"Ref": "Queue4A7E3555"},
                                '","p":"',
                                {"Ref": "AWS::Partition"},
                                '"},"End":true}}}',
                            ],
                        ]
                    },
                },
            },
        }
    }
    path = tmp_path / "Stack.template.json"
    path.write_text(json.dumps(template))
    source = load_state_machine(path)
    assert (source.logical_id, source.type) == ("Machine12345", "EXPRESS")
    task = json.loads(source.definition)["States"]["T"]
    assert task["Resource"] == "arn:aws:lambda:us-east-1:111111111111:function:work"
    assert task["Parameters"] == {
        "q": "https://sqs.us-east-1.amazonaws.com/111111111111/Queue4A7E3555",
        "p": "aws",
    }


def test_fn_sub_short_tags_and_one_pass_substitutions(tmp_path: Path) -> None:
    path = tmp_path / "template.yml"
    path.write_text(
        "Resources:\n"
        "  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: alerts}\n"
        "  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      DefinitionSubstitutions:\n        A: '${B}'\n        B: never\n"
        "      DefinitionString: !Sub |\n"
        '        {"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"t":"${Topic}",\n'
        '         "n":"${Topic.TopicName}","a":"${A}","lit":"${!Literal}"},"End":true}}}\n'
    )
    params = json.loads(load_definition(path))["States"]["P"]["Parameters"]
    assert params == {
        "t": "arn:aws:sns:us-east-1:111111111111:alerts",
        "n": "alerts",
        "a": "${B}",  # a substituted value is not substituted again
        "lit": "${Literal}",
    }


def test_definition_s3_location_and_definition_uri_are_local_files(tmp_path: Path) -> None:
    (tmp_path / "flow.asl.json").write_text(json.dumps(PASS))
    template = {
        "Resources": {
            "A": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionS3Location": {"Bucket": "b", "Key": "flow.asl.json"},
                    "DefinitionSubstitutions": {"Value": "from-cfn"},
                },
            },
            "B": {"Type": "AWS::Serverless::StateMachine", "Properties": {"DefinitionUri": "flow.asl.json"}},
        }
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    a = json.loads(load_definition(path, state_machine="A"))
    assert a["States"]["P"]["Result"] == "from-cfn"
    b = json.loads(load_definition(path, state_machine="B", substitutions={"Value": "mine"}))
    assert b["States"]["P"]["Result"] == "mine"


def test_helpful_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    with pytest.raises(TemplateError, match="has no AWS::StepFunctions::StateMachine"):
        load_definition(path)
    path.write_text(json.dumps({"Resources": {"M": {"Type": "AWS::StepFunctions::StateMachine"}}}))
    with pytest.raises(TemplateError, match="no state machine 'X'; the template has: M"):
        load_definition(path, state_machine="X")
    with pytest.raises(TemplateError, match="has no definition"):
        load_definition(path)


def test_conditions_and_mappings_are_evaluated_as_cloudformation_does(tmp_path: Path) -> None:
    path = tmp_path / "template.yml"
    path.write_text(
        "Parameters:\n"
        "  Stage: {Type: String, Default: dev}\n"
        "Mappings:\n"
        "  Limits:\n    dev: {Seconds: 5}\n    prod: {Seconds: 60}\n"
        "Conditions:\n"
        "  IsProd: !Equals [!Ref Stage, prod]\n"
        "  IsNotProd: !Not [!Condition IsProd]\n"
        "  Either: !Or [!Condition IsProd, !Condition IsNotProd]\n"
        "Resources:\n"
        "  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      Definition:\n"
        "        StartAt: W\n"
        "        States:\n"
        "          W:\n"
        "            Type: Wait\n"
        "            Seconds: !FindInMap [Limits, !Ref Stage, Seconds]\n"
        "            Comment: !If [IsProd, production, !If [Either, development, never]]\n"
        "            End: true\n"
    )
    dev = json.loads(load_definition(path))["States"]["W"]
    assert (dev["Seconds"], dev["Comment"]) == (5, "development")
    prod = json.loads(load_definition(path, substitutions={"Stage": "prod"}))["States"]["W"]
    assert (prod["Seconds"], prod["Comment"]) == (60, "production")


def test_unknown_conditions_and_mapping_keys_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "template.yml"
    path.write_text(
        "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      Definition: {StartAt: P, States: {P: {Type: Pass, Comment: !If [Nope, a, b], End: true}}}\n"
    )
    with pytest.raises(TemplateError, match="condition 'Nope' is not in the template's Conditions"):
        load_definition(path)


def test_what_a_deployment_reads_besides_the_definition(tmp_path: Path) -> None:
    """Name, type, logging and tracing as the template writes them; what an intrinsic function
    computes is named in ``unresolved``, not resolved against the local stand-ins."""
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": {"Fn::Sub": "${AWS::StackName}-orders"},
            "StateMachineType": "express",
            "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "LoggingConfiguration": {
                "Level": "ALL",
                "Destinations": [
                    {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}
                ],
            },
            "TracingConfiguration": {"Enabled": "true"},
        },
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps({"Resources": {"M": machine, "Logs": {"Type": "AWS::Logs::LogGroup"}}}))
    source = load_state_machine(path)
    assert (source.name, source.type, source.logging, source.tracing) == (None, "EXPRESS", None, True)
    assert source.unresolved == ("StateMachineName", "LoggingConfiguration")

    serverless = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Name": "orders",
            "Definition": machine["Properties"]["Definition"],
            "Logging": {"Level": "ERROR"},
            "Tracing": {},
        },
    }
    path.write_text(json.dumps({"Resources": {"M": serverless}}))
    source = load_state_machine(path)
    assert (source.name, source.type, source.logging, source.tracing) == (
        "orders",
        None,
        {"Level": "ERROR"},
        False,
    )
    assert source.unresolved == ()
