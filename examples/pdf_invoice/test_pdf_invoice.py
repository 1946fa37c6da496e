"""The invoice-intake example end to end: real PDFs (fpdf2) read back with pypdf, a durable
Standard execution per invoice, approvals answered by task token (SendTaskSuccess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from intake import answer, approval_request, create_machine, make_engine, start  # noqa: E402
from invoices import write_invoice_pdf  # noqa: E402

INVOICE: dict[str, Any] = {
    "invoiceNumber": "INV-2001",
    "vendor": "Initech Office Supply",
    "invoiceDate": "2026-05-04",
    "dueDate": "2026-06-03",
    "poNumber": "PO-0042",
    "currency": "USD",
    "lines": [
        {"description": "Stapler, red", "qty": 2, "unit": "12.99"},
        {"description": "TPS report covers", "qty": 100, "unit": "0.35"},
    ],
}


def invoice(**changes: Any) -> dict[str, Any]:
    return {key: value for key, value in {**INVOICE, **changes}.items() if value is not None}


def test_run_py_approves_one_invoice_and_archives_the_other_as_not_payable(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parents[1]), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    approved, not_payable = (json.loads(line) for line in proc.stdout.splitlines())
    assert approved["status"] == "SUCCEEDED" and approved["output"]["disposition"] == "APPROVED"
    assert not_payable["status"] == "SUCCEEDED" and not_payable["output"]["disposition"] == "NOT_PAYABLE"
    assert sorted(p.name for p in (tmp_path / "archive").rglob("*.pdf")) == ["INV-1001.pdf", "INV-1002.pdf"]


async def test_a_payable_invoice_waits_for_its_approver_across_a_restart(tmp_path: Path) -> None:
    write_invoice_pdf(tmp_path / "inbox" / "INV-2001.pdf", INVOICE)
    async with make_engine(tmp_path) as engine:
        arn = await start(engine, await create_machine(engine), tmp_path, "inbox/INV-2001.pdf")
        request = await approval_request(tmp_path, "INV-2001")
        assert (request["vendor"], request["total"], request["dueDate"]) == (
            "Initech Office Supply",
            "60.98 USD",  # 2 x 12.99 + 100 x 0.35, as pypdf read it from the PDF
            "2026-06-03",
        )
        assert str((await engine.describe_execution(arn)).status) == "RUNNING"
    # the process stops while the invoice waits; a new engine on the same database answers it
    async with make_engine(tmp_path) as engine:
        await answer(engine, request, approved=True, approver="Grace")
        done = await engine.wait_for_execution(arn)
        history = await engine.get_execution_history(arn)
    assert str(done.status) == "SUCCEEDED", (done.error, done.cause)
    assert done.output == {
        "invoiceNumber": "INV-2001",
        "disposition": "APPROVED",
        "document": "archive/approved/INV-2001.pdf",
        "record": "archive/approved/INV-2001.json",
    }
    types = [event["type"] for event in history]
    assert types.count("TaskSubmitted") == 1 and types.count("TaskSucceeded") == 1  # the token's answer
    assert not (tmp_path / "inbox" / "INV-2001.pdf").exists()
    assert (tmp_path / "archive" / "approved" / "INV-2001.pdf").read_bytes().startswith(b"%PDF-")
    record = json.loads((tmp_path / "archive" / "approved" / "INV-2001.json").read_text())
    assert {
        key: record[key] for key in ("invoiceNumber", "vendor", "invoiceDate", "dueDate", "poNumber")
    } == {key: INVOICE[key] for key in ("invoiceNumber", "vendor", "invoiceDate", "dueDate", "poNumber")}
    assert [(line["description"], line["qty"], line["amountCents"]) for line in record["lines"]] == [
        ("Stapler, red", 2, 2598),
        ("TPS report covers", 100, 3500),
    ]
    assert record["totalCents"] == 6098 and record["decision"] == {
        "disposition": "APPROVED",
        "approver": "Grace",
    }


async def test_invoices_that_are_not_payable_are_archived_without_an_approver(tmp_path: Path) -> None:
    write_invoice_pdf(tmp_path / "inbox" / "INV-2002.pdf", invoice(invoiceNumber="INV-2002", poNumber=None))
    write_invoice_pdf(tmp_path / "inbox" / "INV-2003.pdf", invoice(invoiceNumber="INV-2003", total="99.99"))
    async with make_engine(tmp_path) as engine:
        machine = await create_machine(engine)
        arns = [await start(engine, machine, tmp_path, f"inbox/INV-{n}.pdf") for n in (2002, 2003)]
        no_po, wrong_total = [await engine.wait_for_execution(arn) for arn in arns]
    assert no_po.output["disposition"] == wrong_total.output["disposition"] == "NOT_PAYABLE"
    assert not (tmp_path / "approvals").exists()  # nobody was asked
    no_po_record = json.loads((tmp_path / "archive" / "not_payable" / "INV-2002.json").read_text())
    assert no_po_record["decision"]["checks"] == {"hasPurchaseOrder": False, "totalsMatch": True}
    wrong_record = json.loads((tmp_path / "archive" / "not_payable" / "INV-2003.json").read_text())
    assert wrong_record["decision"]["checks"] == {"hasPurchaseOrder": True, "totalsMatch": False}
    assert (wrong_record["totalCents"], wrong_record["linesTotalCents"]) == (9999, 6098)


async def test_a_rejected_invoice_and_a_document_that_is_no_pdf(tmp_path: Path) -> None:
    write_invoice_pdf(tmp_path / "inbox" / "INV-2004.pdf", invoice(invoiceNumber="INV-2004"))
    (tmp_path / "inbox" / "scan.pdf").write_bytes(b"this is not a PDF")
    async with make_engine(tmp_path) as engine:
        machine = await create_machine(engine)
        rejected_arn = await start(engine, machine, tmp_path, "inbox/INV-2004.pdf")
        broken_arn = await start(engine, machine, tmp_path, "inbox/scan.pdf")
        await answer(engine, await approval_request(tmp_path, "INV-2004"), approved=False, approver="Bill")
        rejected = await engine.wait_for_execution(rejected_arn)
        broken = await engine.wait_for_execution(broken_arn)
    assert rejected.output["disposition"] == "REJECTED"
    record = json.loads((tmp_path / "archive" / "rejected" / "INV-2004.json").read_text())
    assert record["decision"] == {"disposition": "REJECTED", "approver": "Bill"}
    assert (str(broken.status), broken.error) == ("FAILED", "InvoiceUnreadable")
    assert broken.cause is not None and broken.cause.startswith("inbox/scan.pdf: ")
