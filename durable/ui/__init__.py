"""The web pages of a database (``durable ui``, and ``/ui`` under ``durable serve``): its state
machines, their executions and each execution's graph coloured by what it did, read-only
(see docs/ui.md)."""

from __future__ import annotations

from .app import create_ui_app
from .progress import Progress, Visit, read_progress

__all__ = ["Progress", "Visit", "create_ui_app", "read_progress"]
