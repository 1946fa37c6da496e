"""`durable serve --mock-config`: Step Functions Local's ``stateMachineArn#TestCase`` through an
unchanged boto3 client — the test case's mocked Task states answer, the others run as usual."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable import Engine
from durable.api.cli_http import _test_cases

from .conftest import ROLE, Served, wait_done

DEFINITION = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:charge",
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "Parameters": {"charged.$": "$.id"}, "End": True},
    },
}
MOCK_CONFIG = {
    "StateMachines": {
        "Orders": {
            "TestCases": {
                "HappyPath": {"Charge": "ChargeOk"},
                "Declined": {"Charge": "ChargeDeclined"},
            }
        }
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"id": "ch_1"}}},
        "ChargeDeclined": {"0": {"Throw": {"Error": "Card.Declined", "Cause": "insufficient funds"}}},
    },
}


@pytest.fixture(scope="module")
def mocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = Path(tmp_path_factory.mktemp("mocked"))
    (tmp / "MockConfigFile.json").write_text(json.dumps(MOCK_CONFIG))
    engine = Engine(f"sqlite:///{tmp / 'm.db'}")
    server = Served(engine, test_cases=_test_cases(engine, str(tmp / "MockConfigFile.json")))
    try:
        yield server.client()
    finally:
        server.stop()


def test_a_test_case_is_chosen_by_the_arn_suffix(mocked: Any) -> None:
    arn = mocked.create_state_machine(name="Orders", definition=json.dumps(DEFINITION), roleArn=ROLE)[
        "stateMachineArn"
    ]
    happy = mocked.start_execution(stateMachineArn=arn + "#HappyPath", input="{}")
    done = wait_done(mocked, happy["executionArn"])
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"charged": "ch_1"})
    declined = mocked.start_execution(stateMachineArn=arn + "#Declined", name="declined-1", input="{}")
    assert declined["executionArn"].endswith(":Orders:declined-1")
    done = wait_done(mocked, declined["executionArn"])
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Card.Declined", "insufficient funds")
    with pytest.raises(mocked.exceptions.ClientError, match="no test case 'Nope'"):
        mocked.start_execution(stateMachineArn=arn + "#Nope", input="{}")
