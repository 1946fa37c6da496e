"""durable's pytest plugin (entry point ``pytest11``): fixtures to test workflows.

Fixtures (async ones need pytest-asyncio):

- ``durable_clock``: a :class:`~durable.testing.TestClock` (Waits, back-offs and timeouts skip).
- ``durable_kit`` / ``durable_sqlite_kit``: a :class:`~durable.testing.Kit` on that clock, in
  memory or on SQLite in ``tmp_path``; ``durable_engine`` / ``durable_sqlite_engine``: their
  engines; ``durable_mocks``: ``durable_kit``'s :class:`~durable.testing.Mocks`.
- ``durable_test_case``: with ``@pytest.mark.durable_mock_config("MockConfigFile.json",
  state_machine=None)`` the test runs once per test case of the file (a
  :class:`~durable.testing.TestCase`; the path is relative to the test's file).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .clock import TestClock
from .kit import Kit
from .mockconfig import MockConfig, TestCase
from .mocks import Mocks

_async_fixture: Any
try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - the async fixtures then explain what is missing
    _async_fixture = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "durable_mock_config(path, state_machine=None): run the test once per test case of an "
        "AWS Step Functions Local MockConfigFile (fixture durable_test_case)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "durable_test_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("durable_mock_config")
    if marker is None:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: durable_test_case needs "
            '@pytest.mark.durable_mock_config("MockConfigFile.json")'
        )
    path = Path(marker.args[0] if marker.args else marker.kwargs["path"])
    if not path.is_absolute():
        path = Path(str(metafunc.definition.fspath)).parent / path
    cases = MockConfig.load(path).test_cases(marker.kwargs.get("state_machine"))
    metafunc.parametrize("durable_test_case", cases, ids=[c.name for c in cases])


@pytest.fixture
def durable_clock() -> TestClock:
    return TestClock()


def _async(fn: Any) -> Any:
    if _async_fixture is not None:
        return _async_fixture(fn)

    @pytest.fixture(name=fn.__name__)
    def missing() -> None:
        pytest.fail(
            f"the fixture {fn.__name__} is async: install pytest-asyncio (pip install pytest-asyncio)"
        )

    return missing


@_async
async def durable_kit(durable_clock: TestClock) -> AsyncIterator[Kit]:
    async with Kit(clock=durable_clock) as kit:
        yield kit


@_async
async def durable_sqlite_kit(durable_clock: TestClock, tmp_path: Path) -> AsyncIterator[Kit]:
    async with Kit(tmp_path / "durable.db", clock=durable_clock) as kit:
        yield kit


@pytest.fixture
def durable_engine(durable_kit: Kit) -> Any:
    return durable_kit.engine


@pytest.fixture
def durable_sqlite_engine(durable_sqlite_kit: Kit) -> Any:
    return durable_sqlite_kit.engine


@pytest.fixture
def durable_mocks(durable_kit: Kit) -> Mocks:
    return durable_kit.mocks


@pytest.fixture
def durable_test_case(request: pytest.FixtureRequest) -> TestCase:
    case: TestCase = request.param
    return case
