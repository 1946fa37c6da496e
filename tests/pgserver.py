"""A throwaway PostgreSQL server for the tests (as pytest-postgresql does it, without the plugin).

:func:`start` runs ``initdb`` and ``pg_ctl start`` in a new temporary directory
(``durable-pg-*`` in the system's temporary folder), on a free port of 127.0.0.1 (and a Unix
socket in that directory); :meth:`PgServer.create_database` gives each test its own database,
:meth:`PgServer.drop_database` removes it. The binaries are looked up on PATH, then in
``pg_config --bindir``, then in ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH).
``initdb`` refuses to run as root: as root the cluster runs as the ``postgres`` OS user, in a
directory that user owns.

The server runs with ``fsync=off``: the tests kill durable's processes, never the server, and a
commit is still only confirmed once PostgreSQL has it.

**The server dies with the process that started it**, however that process ends. ``pg_ctl``
detaches the postmaster into a session of its own (Ctrl-C in the terminal does not reach it),
so nothing in the kernel ties it to the test session. A small *watchdog* does: a child Python
process (this file run as a script) in a new session, whose standard input is a pipe the
starting process holds the only writing end of. When that process ends — normally, on
Ctrl-C, or by SIGKILL — the kernel closes the pipe, the watchdog reads end-of-file, stops the
cluster (``pg_ctl stop -m immediate``) and removes its directory. A pipe rather than polling a
pid: end-of-file cannot be missed and cannot be confused by a reused pid. The watchdog ignores
SIGINT and SIGHUP and, being in its own session, gets neither from the terminal; SIGTERM makes
it clean up at once. (A child forked *without* exec inherits the pipe and keeps the server up
until it ends too; the tests start children with ``subprocess``, which does not pass it on.)

**Stale clusters.** Should the watchdog be killed as well (``kill -9`` of both), the cluster is
left behind. The starting process and its watchdog hold an ``flock`` on ``owner.lock`` in the
cluster's directory for as long as either lives (the kernel drops it when both are gone), so
the next :func:`start` (or :func:`clean_stale`) stops and removes every ``durable-pg-*``
cluster whose lock it can take. A directory without that lock file (left by an older version
of this module, or one being created this instant) is removed only when no postmaster runs in
it and it is older than an hour; one whose server still runs is left alone, since nothing says
whose it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

__all__ = ["PgServer", "clean_stale", "find_bindir", "start"]

PREFIX = "durable-pg-"
LOCK_FILE = "owner.lock"
UNMARKED_AGE_S = 3600.0  # a directory without a lock file is stale only when this old (and idle)


def find_bindir() -> str | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(found))
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            out = ""
        if os.path.exists(os.path.join(out.strip(), "initdb")):
            return out.strip()
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_cluster(bindir: str, datadir: str, as_user: list[str]) -> None:
    """Stop the cluster in ``datadir`` (if it runs) and remove its directory."""
    if os.path.exists(os.path.join(datadir, "postmaster.pid")):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*as_user, os.path.join(bindir, "pg_ctl"), "-D", datadir, "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
                timeout=120,
            )
    shutil.rmtree(os.path.dirname(datadir), ignore_errors=True)


@dataclass
class PgServer:
    bindir: str
    datadir: str
    port: int
    as_user: list[str] = field(default_factory=list)  # ["runuser", "-u", "postgres", "--"] as root
    watchdog: subprocess.Popen[bytes] | None = None
    lock: int | None = None  # the descriptor of owner.lock this process holds the flock through
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def postmaster_pid(self) -> int | None:
        """The server's process id (None once it is stopped)."""
        return _postmaster_pid(self.datadir)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        _stop_cluster(self.bindir, self.datadir, self.as_user)
        if self.watchdog is not None:  # end-of-file: it finds nothing left to do, and exits
            watchdog, self.watchdog = self.watchdog, None
            if watchdog.stdin is not None:
                watchdog.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=120)
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def _postmaster_pid(datadir: str) -> int | None:
    try:
        with open(os.path.join(datadir, "postmaster.pid"), encoding="ascii") as fh:
            pid = int(fh.readline().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _as_user_of(root: str) -> list[str]:
    """How to run ``pg_ctl`` on a cluster in ``root``: as its owner when this is root."""
    if os.geteuid() != 0:
        return []
    owner = os.stat(root).st_uid
    runuser = shutil.which("runuser")
    if owner == 0 or runuser is None:
        return []
    return [runuser, "-u", pwd.getpwuid(owner).pw_name, "--"]


def clean_stale(base: str | None = None, bindir: str | None = None) -> list[str]:
    """Stop and remove the clusters of ``base`` (the temporary folder) whose starter and watchdog
    are both gone (see the module docstring); the directories removed."""
    bindir = bindir or find_bindir()
    if bindir is None:
        return []
    removed: list[str] = []
    for root in glob.glob(os.path.join(base or tempfile.gettempdir(), PREFIX + "*")):
        datadir = os.path.join(root, "data")
        try:
            fd = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR)
        except FileNotFoundError:
            try:
                idle = time.time() - os.stat(root).st_mtime > UNMARKED_AGE_S
            except OSError:
                continue
            if idle and _postmaster_pid(datadir) is None:
                shutil.rmtree(root, ignore_errors=True)
                removed.append(root)
            continue
        except OSError:
            continue  # not ours to look into
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its session (or watchdog) still lives
            _stop_cluster(bindir, datadir, _as_user_of(root))
            removed.append(root)
        finally:
            os.close(fd)
    return removed


def start(base: str | None = None) -> PgServer:
    """Start a server (in ``base``, default the temporary folder) whose watchdog stops it when
    this process ends; raise RuntimeError with the reason when that is impossible."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"psycopg is not installed ({exc}); pip install 'durable[postgres]'") from None
    clean_stale(base, bindir)
    root = tempfile.mkdtemp(prefix=PREFIX, dir=base)
    lock = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held by this process and the watchdog (the same open file)
    datadir = os.path.join(root, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("running as root and there is no postgres user to run the server") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("running as root and there is no runuser to start the server as postgres")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(root, owner.pw_uid, owner.pw_gid)
    os.chmod(root, 0o700)
    port = _free_port()
    watchdog = subprocess.Popen(
        [sys.executable, "-I", os.path.abspath(__file__), json.dumps([bindir, datadir, as_user])],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(lock,),
        start_new_session=True,
    )
    server = PgServer(
        bindir=bindir, datadir=datadir, port=port, as_user=as_user, watchdog=watchdog, lock=lock
    )

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            server.stop()
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    run(
        os.path.join(bindir, "initdb"),
        "-D",
        datadir,
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        " -c synchronous_commit=on -c max_connections=300"
    )
    run(
        os.path.join(bindir, "pg_ctl"),
        "-D",
        datadir,
        "-l",
        os.path.join(root, "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    return server


def _watch(bindir: str, datadir: str, as_user: list[str]) -> None:
    """The watchdog: wait for end-of-file on standard input, then stop the cluster."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        _stop_cluster(bindir, datadir, as_user)


if __name__ == "__main__":
    _watch(*json.loads(sys.argv[1]))
