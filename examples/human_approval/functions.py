"""Task functions of the human-approval example (Lambda-style handlers: ``fn(event, context)``).

Run them from the command line with ``--function NAME=functions:NAME`` (from this folder) —
see README.md.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Any

__all__ = ["REVIEW_THRESHOLD", "CheckApplication", "NotifyApprover", "OpenAccount", "approvals_dir"]

REVIEW_THRESHOLD = 10_000  # initial deposits at or above this need a human approver


def approvals_dir() -> Path:
    """Where NotifyApprover leaves task tokens: ``$APPROVALS_DIR``, default ``./approvals``."""
    return Path(os.environ.get("APPROVALS_DIR", "approvals"))


def CheckApplication(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Automated checks: a large deposit or an explicit flag sends the application to review."""
    application = event["application"]
    if not str(application.get("name") or "").strip():
        raise ValueError("the application has no applicant name")
    reasons = []
    deposit = application.get("initialDeposit", 0)
    if deposit >= REVIEW_THRESHOLD:
        reasons.append(f"initial deposit {deposit} is at least {REVIEW_THRESHOLD}")
    if application.get("manualReview"):
        reasons.append("manual review requested")
    return {"reviewRequired": bool(reasons), "reasons": reasons}


def NotifyApprover(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ask a human: write the task token to ``approvals/<execution-name>.token``.

    The execution then waits (durably, for as long as the state's TimeoutSeconds) until
    someone answers the token with ``durable send-task-success`` / ``send-task-failure``.
    """
    folder = approvals_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{event['executionName']}.token"
    partial = path.with_suffix(".token.partial")
    partial.write_text(event["token"])
    partial.replace(path)  # atomic: a reader never sees half a token
    applicant = event["application"].get("name")
    print(
        f"approval needed for {applicant}: {'; '.join(event['reasons'])} (token in {path})", file=sys.stderr
    )
    return {"notified": str(path)}


def OpenAccount(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Open the account (a deterministic account number derived from the applicant's name)."""
    application = event["application"]
    review = event.get("review")
    return {
        "status": "OPENED",
        "applicant": application["name"],
        "accountNumber": f"ACC-{zlib.crc32(application['name'].encode()) % 10**8:08d}",
        "reviewed": review is not None,
        "approver": review.get("approver") if review else None,
    }
