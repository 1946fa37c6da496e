"""Integrations that the registry tests load through real entry-point objects."""

from __future__ import annotations

from typing import Any

from durable import TaskFailed, TaskRequest


class EchoIntegration:
    """Handles ``arn:aws:states:::echo:*`` by returning its payload (or failing on demand)."""

    name = "echo"

    def handles(self, resource: str) -> bool:
        return resource.startswith("arn:aws:states:::echo:")

    async def invoke(self, request: TaskRequest) -> Any:
        if request.resource.endswith(":fail"):
            raise TaskFailed("Echo.Failure", f"asked to fail in {request.state_name}")
        return {"echo": request.payload, "state": request.state_name}


class GreedyIntegration:
    """Claims every echo resource too: a collision with EchoIntegration."""

    name = "greedy"

    def handles(self, resource: str) -> bool:
        return resource.startswith("arn:aws:states:::echo:")

    async def invoke(self, request: TaskRequest) -> Any:
        return None


def make_echo() -> EchoIntegration:
    return EchoIntegration()


NOT_AN_INTEGRATION = 42
