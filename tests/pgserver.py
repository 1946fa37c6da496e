"""A throwaway PostgreSQL server for the tests (as pytest-postgresql does it, without the plugin).

:func:`start` runs ``initdb`` and ``pg_ctl start`` in a new temporary directory, on a free port
of 127.0.0.1 (and a Unix socket in that directory); :meth:`PgServer.create_database` gives each
test its own database, :meth:`PgServer.drop_database` removes it. The binaries are looked up on
PATH, then in ``pg_config --bindir``, then in ``/usr/lib/postgresql/*/bin`` (Debian keeps them
off PATH). ``initdb`` refuses to run as root: as root the cluster runs as the ``postgres`` OS
user, in a directory that user owns.

The server runs with ``fsync=off``: the tests kill durable's processes, never the server, and a
commit is still only confirmed once PostgreSQL has it.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field

__all__ = ["PgServer", "find_bindir", "start"]


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


@dataclass
class PgServer:
    bindir: str
    datadir: str
    port: int
    as_user: list[str] = field(default_factory=list)  # ["runuser", "-u", "postgres", "--"] as root
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

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
        subprocess.run(
            [
                *self.as_user,
                os.path.join(self.bindir, "pg_ctl"),
                "-D",
                self.datadir,
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def start() -> PgServer:
    """Start a server; raise RuntimeError with the reason when that is impossible."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"psycopg is not installed ({exc}); pip install 'durable[postgres]'") from None
    root = tempfile.mkdtemp(prefix="durable-pg-")
    datadir = os.path.join(root, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no postgres user to run the server") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("running as root and there is no runuser to start the server as postgres")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(root, owner.pw_uid, owner.pw_gid)
    os.chmod(root, 0o700)
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
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
    return PgServer(bindir=bindir, datadir=datadir, port=port, as_user=as_user)
