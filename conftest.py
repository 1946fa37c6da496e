"""The project's own tests use durable's pytest plugin from this checkout (an installed durable
registers it through its ``pytest11`` entry point; a checkout run in place may not be installed)."""

from __future__ import annotations

import pytest

import durable.testing.pytest_plugin as durable_plugin


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(durable_plugin):
        config.pluginmanager.register(durable_plugin, "durable")
