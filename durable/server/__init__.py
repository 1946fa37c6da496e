"""``durable serve``: a Step Functions-compatible endpoint (AWS JSON 1.0) for unchanged boto3
clients and the AWS CLI, over one :class:`~durable.Engine` (see docs/server.md)."""

from __future__ import annotations

from .app import ACTIONS, create_app
from .auth import SigV4Verifier, parse_access_keys

__all__ = ["ACTIONS", "SigV4Verifier", "create_app", "parse_access_keys"]
