"""Invoice intake: the vendor's side (``write_invoice_pdf``, fpdf2) and the workflow's task
functions (Lambda-style handlers ``fn(event, context)``; the text comes out with pypdf).

Every function works in a *store*: a local directory standing in for an S3 bucket
(``event["store"]``), with the invoice PDFs under ``inbox/``, the extracted records under
``records/``, approval requests under ``approvals/`` and the archive under ``archive/``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader
from pypdf.errors import PdfReadError

__all__ = [
    "ArchiveInvoice",
    "ExtractInvoice",
    "InvoiceUnreadable",
    "RequestApproval",
    "SaveInvoice",
    "write_invoice_pdf",
]

HEADER = ("Description", "Qty", "Unit price", "Amount")
FIELDS = {  # label printed on the invoice -> field of the record
    "Invoice number": "invoiceNumber",
    "Vendor": "vendor",
    "Invoice date": "invoiceDate",
    "Due date": "dueDate",
    "PO number": "poNumber",
    "Currency": "currency",
}
LINE = re.compile(r"^(?P<description>.+?)\s+(?P<qty>\d+)\s+(?P<unit>\d+\.\d{2})\s+(?P<amount>\d+\.\d{2})$")
TOTAL = re.compile(r"^Total due:\s+(?P<total>\d+\.\d{2})\s+(?P<currency>[A-Z]{3})$")


class InvoiceUnreadable(Exception):
    """The document is not a PDF, or not an invoice this intake can read."""


# -- the vendor's side: a real PDF ----------------------------------------------------------------


def write_invoice_pdf(path: Path, invoice: dict[str, Any]) -> Path:
    """Write ``invoice`` as a one-page PDF (fpdf2): the header fields, a table of lines, the
    total. ``invoice`` has the keys of ``FIELDS`` (``poNumber`` may be missing), ``lines``
    (``description``, ``qty``, ``unit`` as a decimal string) and optionally ``total`` (default:
    the sum of the lines — give another to write an invoice that does not add up)."""
    pdf = FPDF()
    pdf.set_title(f"Invoice {invoice['invoiceNumber']}")
    pdf.set_author(invoice["vendor"])
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for label, key in FIELDS.items():
        if invoice.get(key):
            pdf.cell(0, 7, f"{label}: {invoice[key]}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    lines_total = Decimal(0)
    with pdf.table(col_widths=(90, 20, 35, 35), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row(HEADER)
        for line in invoice["lines"]:
            amount = line["qty"] * Decimal(line["unit"])
            lines_total += amount
            table.row(
                (line["description"], str(line["qty"]), f"{Decimal(line['unit']):.2f}", f"{amount:.2f}")
            )
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    total = Decimal(invoice.get("total", lines_total))
    pdf.cell(0, 8, f"Total due: {total:.2f} {invoice['currency']}", new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


# -- the workflow's tasks -----------------------------------------------------------------------


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


def ExtractInvoice(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read the PDF's text (pypdf) and parse the fields, the lines and the total."""
    path = Path(event["store"]) / event["document"]
    try:
        reader = PdfReader(path)
        text = "\n".join(page.extract_text() for page in reader.pages)
    except (PdfReadError, OSError) as error:
        raise InvoiceUnreadable(f"{event['document']}: {error}") from None
    fields: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    total_cents: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        label, _, value = line.partition(": ")
        if label in FIELDS and value:
            fields[FIELDS[label]] = value.strip()
        elif (found := LINE.match(line)) and line != " ".join(HEADER):
            lines.append(
                {
                    "description": found["description"],
                    "qty": int(found["qty"]),
                    "unitCents": _cents(found["unit"]),
                    "amountCents": _cents(found["amount"]),
                }
            )
        elif found := TOTAL.match(line):
            total_cents = _cents(found["total"])
    if "invoiceNumber" not in fields or total_cents is None or not lines:
        raise InvoiceUnreadable(f"{event['document']}: no invoice number, total or lines found")
    lines_total = sum(line["amountCents"] for line in lines)
    return {
        **fields,
        "lines": lines,
        "totalCents": total_cents,
        "linesTotalCents": lines_total,
        "pages": len(reader.pages),
        "checks": {
            "hasPurchaseOrder": bool(fields.get("poNumber")),
            "totalsMatch": total_cents == lines_total
            and all(line["qty"] * line["unitCents"] == line["amountCents"] for line in lines),
        },
    }


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(value, indent=2) + "\n")
    partial.replace(path)  # atomic: a reader never sees half a file


def SaveInvoice(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Store the extracted fields as ``records/<invoice number>.json``."""
    invoice = event["invoice"]
    key = f"records/{invoice['invoiceNumber']}.json"
    _write_json(Path(event["store"]) / key, {"document": event["document"], **invoice})
    return {"key": key}


def RequestApproval(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ask a person to approve: ``approvals/<invoice number>.json`` holds the task token and
    what the approver needs to see (a real system would send an e-mail or a chat message).
    The workflow waits until the token is answered with SendTaskSuccess/SendTaskFailure."""
    invoice = event["invoice"]
    key = f"approvals/{invoice['invoiceNumber']}.json"
    request = {
        "token": event["token"],
        "invoiceNumber": invoice["invoiceNumber"],
        "vendor": invoice.get("vendor"),
        "total": f"{Decimal(invoice['totalCents']) / 100:.2f} {invoice.get('currency', '')}".strip(),
        "dueDate": invoice.get("dueDate"),
        "answer": {"approved": "true or false", "approver": "who decided"},
    }
    _write_json(Path(event["store"]) / key, request)
    return {"requested": key}


def ArchiveInvoice(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Move the PDF and its record to ``archive/<disposition>/``, the decision in the record."""
    store = Path(event["store"])
    decision = event["decision"]
    record_path = store / event["record"]["key"]
    record = json.loads(record_path.read_text())
    folder = f"archive/{decision['disposition'].lower()}"
    document = Path(event["document"])
    archived_pdf = f"{folder}/{document.name}"
    archived_record = f"{folder}/{record_path.name}"
    (store / folder).mkdir(parents=True, exist_ok=True)
    _write_json(store / archived_record, {**record, "decision": decision, "document": archived_pdf})
    source = store / document
    if source.exists():  # a second attempt finds it moved already
        source.replace(store / archived_pdf)
    return {
        "invoiceNumber": record["invoiceNumber"],
        "disposition": decision["disposition"],
        "document": archived_pdf,
        "record": archived_record,
    }
