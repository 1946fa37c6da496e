"""Fixtures shared by the project's tests: a throwaway PostgreSQL server (see ``tests/pgserver.py``).

``pg_url`` is the URL of a new empty database on a server started once per session (dropped
after the test). Where no PostgreSQL binaries exist the tests that use it are skipped, and the
reason is printed at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import pgserver

_skipped: list[str] = []


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    if _skipped:
        pytest.skip(_skipped[0])
    try:
        server = pgserver.start()
    except RuntimeError as exc:
        _skipped.append(f"PostgreSQL tests skipped: {exc}")
        pytest.skip(_skipped[0])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: pgserver.PgServer) -> Iterator[str]:
    """A new empty database on the session's server (dropped after the test)."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(_skipped[0], yellow=True)
