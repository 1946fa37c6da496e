"""Run the invoice-intake example: python examples/pdf_invoice/run.py [STORE]

Writes two invoice PDFs (fpdf2) into STORE/inbox (default: a temporary directory), runs the
workflow for each, approves the payable one as "Grace", and prints one JSON line per invoice.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import answer, approval_request, create_machine, make_engine, start, summary
from invoices import write_invoice_pdf

PAYABLE = {
    "invoiceNumber": "INV-1001",
    "vendor": "Acme Paper Ltd",
    "invoiceDate": "2026-03-01",
    "dueDate": "2026-03-31",
    "poNumber": "PO-7731",
    "currency": "EUR",
    "lines": [
        {"description": "A4 paper, box of 5 reams", "qty": 3, "unit": "24.50"},
        {"description": "Toner cartridge", "qty": 1, "unit": "89.00"},
    ],
}
NO_PURCHASE_ORDER = {
    "invoiceNumber": "INV-1002",
    "vendor": "Globex Services",
    "invoiceDate": "2026-03-02",
    "dueDate": "2026-04-01",
    "currency": "EUR",
    "lines": [{"description": "Consulting, hours", "qty": 4, "unit": "120.00"}],
}


async def main(store: Path) -> None:
    for invoice in (PAYABLE, NO_PURCHASE_ORDER):
        write_invoice_pdf(store / "inbox" / f"{invoice['invoiceNumber']}.pdf", invoice)
    async with make_engine(store) as engine:
        machine = await create_machine(engine)
        payable = await start(engine, machine, store, "inbox/INV-1001.pdf")
        not_payable = await start(engine, machine, store, "inbox/INV-1002.pdf")
        request = await approval_request(store, "INV-1001")  # the approver's inbox
        await answer(engine, request, approved=True, approver="Grace")
        for arn in (payable, not_payable):
            print(json.dumps(summary(await engine.wait_for_execution(arn))))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(Path(sys.argv[1]).resolve()))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp)))
