"""Run the invoice-intake workflow locally: an engine with the task functions of
``invoices.py``, an execution per invoice PDF, and the approver's answer.

The workflow is a Standard (durable) execution on SQLite: while it waits for an approver it is
parked in the database, and survives a restart of the process.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import invoices

from durable import Engine, Execution, StateMachine

HERE = Path(__file__).resolve().parent
DEFINITION = (HERE / "definition.asl.json").read_text()
TASKS = ("ExtractInvoice", "SaveInvoice", "RequestApproval", "ArchiveInvoice")


def make_engine(store: Path) -> Engine:
    """An engine on ``store/intake.db`` with the task functions registered (open it with
    ``async with``)."""
    engine = Engine(str(store / "intake.db"))
    for name in TASKS:
        engine.register_function(name, getattr(invoices, name))
    return engine


async def create_machine(engine: Engine) -> StateMachine:
    """The InvoiceIntake state machine (created, or updated to this definition)."""
    return await engine.create_state_machine("InvoiceIntake", DEFINITION)


async def start(engine: Engine, machine: StateMachine, store: Path, document: str) -> str:
    """Start an execution for ``store/document`` (named after the file); its ARN."""
    started = await engine.start_execution(
        machine.arn, {"store": str(store), "document": document}, name=Path(document).stem
    )
    return started.execution_arn


async def approval_request(store: Path, invoice_number: str, timeout: float = 30) -> dict[str, Any]:
    """The approval request RequestApproval wrote for ``invoice_number`` (waits for it)."""
    path = store / "approvals" / f"{invoice_number}.json"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not path.exists():
        if loop.time() > deadline:
            raise TimeoutError(f"no approval request for {invoice_number}")
        await asyncio.sleep(0.02)
    request: dict[str, Any] = json.loads(path.read_text())
    return request


async def answer(engine: Engine, request: dict[str, Any], *, approved: bool, approver: str) -> None:
    """The approver's answer: SendTaskSuccess with the decision (from any process, a
    ``durable.Client`` or ``durable send-task-success`` does the same)."""
    await engine.send_task_success(request["token"], {"approved": approved, "approver": approver})


def summary(execution: Execution) -> dict[str, Any]:
    return {"status": str(execution.status), "output": execution.output, "error": execution.error}
