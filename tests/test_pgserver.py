"""The throwaway PostgreSQL server of the tests dies with the test session that started it.

Real processes: a pytest session using the ``pg_server`` fixture is killed (SIGKILL, or Ctrl-C's
SIGINT) and its server must be gone soon after; a cluster whose session and watchdog were both
killed is removed by the next start. Deadlines are generous: they bound a wait, they do not
judge speed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pgserver

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 90.0

pytestmark = pytest.mark.skipif(pgserver.find_bindir() is None, reason="no PostgreSQL server binaries")

SESSION_TEST = """\
import json, os, time

def test_hold(pg_server):
    info = {"port": pg_server.port, "datadir": pg_server.datadir,
            "postmaster": pg_server.postmaster_pid(), "watchdog": pg_server.watchdog.pid}
    print("PGSERVER " + json.dumps(info), flush=True)
    time.sleep(600)
"""

STARTER = """\
import json, sys, time
from tests import pgserver
server = pgserver.start(sys.argv[1])
info = {"port": server.port, "datadir": server.datadir,
        "postmaster": server.postmaster_pid(), "watchdog": server.watchdog.pid}
print("PGSERVER " + json.dumps(info), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by its parent) is gone for our purpose
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE_S:.0f} s: {what}")
        time.sleep(0.2)


def _gone(info: dict[str, Any]) -> None:
    _eventually(lambda: not _alive(info["postmaster"]), "the postmaster exits")
    _eventually(lambda: not _port_open(info["port"]), "the port closes")
    _eventually(lambda: not os.path.exists(os.path.dirname(info["datadir"])), "the cluster is removed")
    _eventually(lambda: not _alive(info["watchdog"]), "the watchdog exits")


def _spawn(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("PGSERVER "):
            info: dict[str, Any] = json.loads(line[len("PGSERVER ") :])
            assert info["postmaster"] and _alive(info["postmaster"]) and _port_open(info["port"])
            return proc, info
    proc.wait()
    pytest.fail(f"the child printed no server (exit {proc.returncode})")


@pytest.fixture
def base() -> Iterator[str]:
    """A temporary folder of its own (the postgres user may need to enter it, as root)."""
    folder = tempfile.mkdtemp(prefix="durable-pgtest-")
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        pgserver.clean_stale(folder)  # what a failed test left
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_test_session_takes_its_server_along(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "test_hold.py").write_text(SESSION_TEST)
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    session, info = _spawn([*command, "--rootdir", str(tmp_path), str(tmp_path / "test_hold.py")], ROOT)
    try:
        os.kill(session.pid, sig)
        _gone(info)
    finally:
        session.kill()
        session.wait()


def test_a_cluster_left_by_a_killed_session_and_watchdog_is_removed_by_the_next_start(base: str) -> None:
    child, stale = _spawn([sys.executable, "-c", STARTER, base], ROOT)
    os.kill(stale["watchdog"], signal.SIGKILL)  # nothing stops it now: it is left behind
    child.kill()
    child.wait()
    time.sleep(0.5)
    assert _alive(stale["postmaster"]) and _port_open(stale["port"])

    server = pgserver.start(base)  # cleans up first
    try:
        _gone(stale)
        assert pgserver.clean_stale(base) == []  # a live session's cluster is not touched
        assert server.postmaster_pid() is not None and _port_open(server.port)
    finally:
        server.stop()
    assert not os.path.exists(os.path.dirname(server.datadir))


def test_a_directory_without_lock_is_removed_only_when_old_and_idle(base: str) -> None:
    old = Path(base) / (pgserver.PREFIX + "old")
    new = Path(base) / (pgserver.PREFIX + "new")
    for folder in (old, new):
        (folder / "data").mkdir(parents=True)
    long_ago = time.time() - 2 * pgserver.UNMARKED_AGE_S
    os.utime(old, (long_ago, long_ago))
    assert pgserver.clean_stale(base) == [str(old)]
    assert not old.exists() and new.exists()
    os.rmdir(new / "data")
    os.rmdir(new)
