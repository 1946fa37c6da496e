"""``durable deploy`` and ``durable.api.deploy.deploy`` against a moto server (a real HTTP endpoint
on 127.0.0.1, started by the durable-aws plugin's testing helper); ``validate --portable``.

moto 5 answers CreateStateMachine, UpdateStateMachine (``publish``), DescribeStateMachine,
ListStateMachines and the alias calls. It does not implement PublishStateMachineVersion (what an
unchanged machine is published with) nor revision ids, and it accepts any definition text: the
tests below use what it implements.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable.api.cli import main
from durable.api.deploy import DeployError, deploy
from durable.errors import DefinitionError

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")
testing = pytest.importorskip("durable_aws.testing")

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sfn"
LOCAL_GREET = "arn:aws:lambda:us-east-1:111111111111:function:greet"
REAL_GREET = "arn:aws:lambda:us-east-1:123456789012:function:greet-prod"


def definition(comment: str = "v1") -> dict[str, Any]:
    return {
        "Comment": comment,
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Task", "Resource": LOCAL_GREET, "Next": "Again"},
            "Again": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "greet", "Payload.$": "$"},
                "End": True,
            },
        },
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with testing.moto_server() as url:
        yield url


@pytest.fixture
def sfn(endpoint: str) -> Any:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client("stepfunctions", endpoint_url=endpoint, region_name=REGION)


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def described(sfn: Any, arn: str) -> dict[str, Any]:
    return json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])


def test_deploy_creates_then_updates_then_leaves_alone(sfn: Any) -> None:
    name = unique()
    first = deploy(json.dumps(definition()), name=name, role_arn=ROLE, client=sfn)
    assert first.action == "created"
    assert first.state_machine_arn.endswith(f":stateMachine:{name}")
    assert described(sfn, first.state_machine_arn) == definition()
    assert [w.code for w in first.warnings] == ["LOCAL_FUNCTION", "LOCAL_FUNCTION"]

    second = deploy(json.dumps(definition("v2")), name=name, role_arn=ROLE, client=sfn)
    assert (second.action, second.changed) == ("updated", ("definition",))
    assert second.state_machine_arn == first.state_machine_arn
    assert described(sfn, first.state_machine_arn)["Comment"] == "v2"

    # the same content (formatted otherwise) changes nothing; a new role does
    third = deploy(json.dumps(definition("v2"), indent=4), name=name, role_arn=ROLE, client=sfn)
    assert (third.action, third.changed) == ("unchanged", ())
    role = "arn:aws:iam::123456789012:role/other"
    fourth = deploy(definition("v2"), name=name, role_arn=role, client=sfn, tracing=True)
    assert (fourth.action, fourth.changed) == ("updated", ("roleArn", "tracingConfiguration"))
    machine = sfn.describe_state_machine(stateMachineArn=first.state_machine_arn)
    assert machine["roleArn"] == role
    assert machine["tracingConfiguration"] == {"enabled": True}
    assert len([m for m in sfn.list_state_machines()["stateMachines"] if m["name"] == name]) == 1


def test_publish_and_alias_create_then_move(sfn: Any) -> None:
    name = unique()
    first = deploy(
        definition(), name=name, role_arn=ROLE, client=sfn, alias="live", version_description="first"
    )
    assert first.version_arn == f"{first.state_machine_arn}:1"
    assert (first.alias_arn, first.alias_action) == (f"{first.state_machine_arn}:live", "created")
    alias = sfn.describe_state_machine_alias(stateMachineAliasArn=first.alias_arn)
    assert alias["routingConfiguration"] == [{"stateMachineVersionArn": first.version_arn, "weight": 100}]

    second = deploy(definition("v2"), name=name, role_arn=ROLE, client=sfn, publish=True, alias="live")
    assert second.action == "updated"
    assert second.version_arn == f"{first.state_machine_arn}:2"
    assert second.alias_action == "updated"
    alias = sfn.describe_state_machine_alias(stateMachineAliasArn=first.alias_arn)
    assert alias["routingConfiguration"] == [{"stateMachineVersionArn": second.version_arn, "weight": 100}]
    assert described(sfn, second.version_arn)["Comment"] == "v2"
    assert described(sfn, first.version_arn)["Comment"] == "v1"


def test_function_mapping_rewrites_the_deployed_definition(sfn: Any) -> None:
    result = deploy(definition(), name=unique(), role_arn=ROLE, client=sfn, functions={"greet": REAL_GREET})
    deployed = described(sfn, result.state_machine_arn)
    assert deployed["States"]["Greet"]["Resource"] == REAL_GREET
    assert deployed["States"]["Again"]["Parameters"] == {"FunctionName": REAL_GREET, "Payload.$": "$"}
    assert [r.location for r in result.replaced] == [
        "/States/Again/Parameters/FunctionName",
        "/States/Greet/Resource",
    ]
    assert result.warnings == ()


def test_an_invalid_definition_is_refused_before_upload(sfn: Any) -> None:
    name = unique()
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    with pytest.raises(DefinitionError) as raised:
        deploy(broken, name=name, role_arn=ROLE, client=sfn)
    assert raised.value.diagnostics[0].code == "MISSING_TRANSITION_TARGET"
    assert all(m["name"] != name for m in sfn.list_state_machines()["stateMachines"])


def test_an_aws_error_is_a_deploy_error(sfn: Any) -> None:
    with pytest.raises(DeployError) as raised:
        deploy(definition(), name=unique(), role_arn="not-a-role", client=sfn)
    assert raised.value.code == "InvalidArn"
    assert raised.value.operation == "CreateStateMachine"
    assert "InvalidArn" in raised.value.message


def test_a_type_change_is_refused(sfn: Any) -> None:
    name = unique()
    deploy(definition(), name=name, role_arn=ROLE, client=sfn)
    with pytest.raises(DeployError, match="cannot change a state machine's type"):
        deploy(definition(), name=name, role_arn=ROLE, client=sfn, type="EXPRESS")


# -- the command ----------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "greet.asl.json").write_text(json.dumps(definition(), indent=2))
    monkeypatch.chdir(tmp_path)
    for key, value in testing.FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--no-config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_deploys_with_mappings_publish_and_alias(
    workdir: Path, endpoint: str, sfn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique()
    common = ["--name", name, "--role-arn", ROLE, "--region", REGION, "--endpoint-url", endpoint]
    code, out, err = call(
        capsys, "deploy", "greet.asl.json", *common, "--function", f"greet={REAL_GREET}", "--alias", "live"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["action"] == "created"
    assert summary["stateMachineVersionArn"] == summary["stateMachineArn"] + ":1"
    assert summary["stateMachineAliasArn"] == summary["stateMachineArn"] + ":live"
    assert summary["aliasAction"] == "created"
    assert summary["warnings"] == [] and err == ""
    assert described(sfn, summary["stateMachineArn"])["States"]["Greet"]["Resource"] == REAL_GREET

    # without the mapping: deployed as it is, with the portability findings on stderr
    code, out, err = call(capsys, "deploy", "greet.asl.json", *common)
    assert code == 0, err
    assert json.loads(out)["changed"] == ["definition"]
    assert err.count("durable: warning: LOCAL_FUNCTION") == 2


def test_cli_reports_aws_errors_and_invalid_definitions_cleanly(
    workdir: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--region", REGION, "--endpoint-url", endpoint]
    code, out, err = call(capsys, "deploy", "greet.asl.json", "--name", unique(), "--role-arn", "bad", *where)
    assert (code, out) == (1, "")
    assert (
        err.splitlines()[-1].startswith("durable: error: AWS refused (CreateStateMachine): InvalidArn")
        and "Traceback" not in err
    )

    (workdir / "broken.asl.json").write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}))
    code, out, err = call(capsys, "deploy", "broken.asl.json", "--name", unique(), "--role-arn", ROLE, *where)
    assert (code, out) == (2, "")
    assert "invalid state machine definition" in err and "Traceback" not in err

    code, out, err = call(
        capsys, "deploy", "greet.asl.json", "--name", unique(), "--role-arn", ROLE, "--strict"
    )
    assert code == 2 and "LOCAL_FUNCTION" in err

    # nothing listens there: a connection error, not a traceback
    code, out, err = call(
        capsys, "deploy", "greet.asl.json", "--name", unique(), "--role-arn", ROLE, "--region", REGION,
        "--endpoint-url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert (
        code == 1
        and err.splitlines()[-1].startswith("durable: error: EndpointConnectionError")
        and "Traceback" not in err
    )


def test_cli_dry_run_and_config(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / ".durable.toml").write_text(
        f'functions = ["tasks"]\n[deploy]\nrole_arn = "{ROLE}"\nfunctions = {{ greet = "{REAL_GREET}" }}\n'
    )
    code, out, err = main(["deploy", "greet.asl.json", "--name", "x", "--dry-run"]), *capsys.readouterr()
    assert code == 0, err
    printed = json.loads(out)
    assert printed["definition"]["States"]["Greet"]["Resource"] == REAL_GREET
    assert printed["warnings"] == []


def test_cli_validate_portable(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "validate", "greet.asl.json")
    assert code == 0 and out.strip() == "OK"
    code, out, err = call(capsys, "validate", "greet.asl.json", "--portable")
    assert code == 1, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("LOCAL_FUNCTION:") and lines[0].endswith("at /States/Greet/Resource")
    assert lines[1].endswith("at /States/Again/Parameters/FunctionName")
    assert lines[-1] == "2 diagnostics"
    code, out, err = call(capsys, "validate", "greet.asl.json", "--portable", "-f", f"greet={REAL_GREET}")
    assert code == 0 and out.strip() == "OK"

    code, out, err = call(capsys, "validate", "greet.asl.json", "-f", f"greet={REAL_GREET}")
    assert code == 2 and "go with --portable" in err

    code, out, err = call(capsys, "validate", "greet.asl.json", "--portable", "--json")
    result = json.loads(out)
    assert result["result"] == "FAIL"
    assert [d["location"] for d in result["diagnostics"]] == [
        "/States/Greet/Resource",
        "/States/Again/Parameters/FunctionName",
    ]

    # the configuration's local settings are warnings: they do not fail
    (workdir / ".durable.toml").write_text(
        f'db = "app.db"\nmocks = "mocks.json"\n[deploy]\nfunctions = {{ greet = "{REAL_GREET}" }}\n'
    )
    code, out, err = main(["validate", "greet.asl.json", "--portable"]), *capsys.readouterr()
    assert code == 0, out
    assert [line.split(":")[0] for line in out.strip().splitlines()] == [
        "WARNING LOCAL_SETTING",
        "WARNING LOCAL_SETTING",
        "OK, 2 diagnostics",
    ]


def test_publishing_an_unchanged_machine(tmp_path: Path) -> None:
    """An unchanged machine is published with PublishStateMachineVersion (the version of the
    current revision). moto 5 does not implement that call, so this runs against durable's own
    Step Functions endpoint (``durable serve``), which does — the same boto3 calls AWS answers."""
    from durable import Engine
    from tests.server.conftest import Served

    served = Served(Engine(f"sqlite:///{tmp_path / 'serve.db'}"))
    try:
        client = served.client()
        name = unique()
        created = deploy(definition(), name=name, role_arn=ROLE, client=client)
        assert created.action == "created" and created.version_arn is None
        again = deploy(definition(), name=name, role_arn=ROLE, client=client, publish=True)
        assert again.action == "unchanged" and again.version_arn is not None
        assert again.version_arn == f"{created.state_machine_arn}:1"
        versions = client.list_state_machine_versions(stateMachineArn=created.state_machine_arn)
        assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [again.version_arn]
    finally:
        served.stop()
