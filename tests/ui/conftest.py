"""A ``durable serve`` app with its pages under ``/ui`` (uvicorn in a thread, on a free
127.0.0.1 port) over a temporary database holding a succeeded, a failed (through a Catch path), a
running (a task waiting on its token) and a Distributed Map execution, created through boto3."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn
from botocore.config import Config

from durable import Client, Engine, TaskFailed
from durable.server import create_app

ROLE = "arn:aws:iam::111111111111:role/test"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"

ORDER = {  # succeeds: Check -> Route -(choice)-> Pack -> Done; "Reject" is never reached
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Task", "Resource": LAMBDA + "check", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Pack"}],
            "Default": "Reject",
        },
        "Pack": {"Type": "Pass", "Result": {"packed": True}, "ResultPath": "$.pack", "Next": "Done"},
        "Reject": {"Type": "Fail", "Error": "Rejected"},
        "Done": {"Type": "Succeed"},
    },
}
RISKY = {  # fails through a Catch path: Charge (caught) -> Refund -> GiveUp (a Fail state)
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": LAMBDA + "charge",
            "Catch": [{"ErrorEquals": ["Card.Declined"], "Next": "Refund"}],
            "Next": "Receipt",
        },
        "Receipt": {"Type": "Pass", "End": True},
        "Refund": {"Type": "Pass", "Next": "GiveUp"},
        "GiveUp": {"Type": "Fail", "Error": "Payment.Failed", "Cause": "the card was declined"},
    },
}
APPROVAL = {  # runs until its token is answered: Prepare -> Approve (waits) -> Ship
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Approve"},
        "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "ask",
                "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"},
            },
            "Next": "Ship",
        },
        "Ship": {"Type": "Pass", "End": True},
    },
}
FANOUT = {  # a Distributed Map over the input's items
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Double",
                "States": {"Double": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Running:
    """An ASGI app served by uvicorn in a thread."""

    def __init__(self, app: Any) -> None:
        sock = free_socket()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@dataclass
class Site:
    """The served database and what is in it."""

    url: str  # the server; its pages are under url + "/ui"
    db: Path
    sfn: Any
    machines: dict[str, str] = field(default_factory=dict)  # name -> ARN
    executions: dict[str, str] = field(default_factory=dict)  # succeeded/failed/running/map -> ARN
    tokens: list[str] = field(default_factory=list)

    @property
    def ui(self) -> str:
        return self.url + "/ui"


def wait_status(sfn: Any, arn: str, statuses: tuple[str, ...], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] in statuses:
            return described
        assert time.monotonic() < deadline, f"{arn} stayed {described['status']}"
        time.sleep(0.02)


def _charge(event: Any, context: Any) -> Any:
    raise TaskFailed("Card.Declined", "insufficient funds")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = Path(tmp_path_factory.mktemp("ui")) / "ui.db"
    url = f"sqlite:///{db}"
    engine = Engine(url, seed=7)
    tokens: list[str] = []
    engine.register_function("check", lambda event, context: {**event, "ok": True})
    engine.register_function("charge", _charge)
    engine.register_function("ask", lambda event, context: tokens.append(event["token"]))
    server = Running(create_app(engine, ui=Client(url)))
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=70, inject_host_prefix=False),
    )
    built = Site(server.url, db, sfn, tokens=tokens)
    try:
        for name, definition in (
            ("orders", ORDER),
            ("risky", RISKY),
            ("approval", APPROVAL),
            ("fanout", FANOUT),
        ):
            made = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
            built.machines[name] = made["stateMachineArn"]
        sfn.publish_state_machine_version(stateMachineArn=built.machines["orders"], description="first")
        version = sfn.list_state_machine_versions(stateMachineArn=built.machines["orders"])
        sfn.create_state_machine_alias(
            name="live",
            routingConfiguration=[
                {
                    "stateMachineVersionArn": version["stateMachineVersions"][0]["stateMachineVersionArn"],
                    "weight": 100,
                }
            ],
        )
        for key, machine, name, value in (
            ("succeeded", "orders", "order-ok", {"order": 1}),
            ("failed", "risky", "charge-declined", {"amount": 12}),
            ("running", "approval", "needs-approval", {"order": 7}),
            ("map", "fanout", "fan-out", [{"n": i} for i in range(4)]),
        ):
            started = sfn.start_execution(
                stateMachineArn=built.machines[machine], name=name, input=json.dumps(value)
            )
            built.executions[key] = started["executionArn"]
        for key in ("succeeded", "failed", "map"):
            wait_status(sfn, built.executions[key], ("SUCCEEDED", "FAILED"))
        deadline = time.monotonic() + 20
        while not tokens:
            assert time.monotonic() < deadline, "the approval task was not invoked"
            time.sleep(0.02)
        yield built
    finally:
        server.stop()
