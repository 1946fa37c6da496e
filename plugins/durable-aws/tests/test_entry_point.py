"""The plugin is found the way an installed one is: through an entry point in ``durable.integrations``."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from durable_aws import AwsIntegration

from durable import Engine
from durable.integrations.registry import ENTRY_POINT_GROUP


@pytest.fixture
def installed(tmp_path: Path) -> object:
    dist = tmp_path / "durable_aws-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: durable-aws\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\naws = durable_aws:AwsIntegration\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield None
    finally:
        sys.path.remove(str(tmp_path))


async def test_engine_resolves_aws_resources_to_the_installed_plugin(installed: object) -> None:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.value == "durable_aws:AwsIntegration"]
    assert found and found[0].name == "aws"
    async with Engine() as engine:
        plugin = engine.registry.resolve("arn:aws:states:::aws-sdk:s3:getObject")
        assert isinstance(plugin, AwsIntegration)
        assert engine.registry.resolve("arn:aws:states:::sqs:sendMessage.waitForTaskToken") is plugin
