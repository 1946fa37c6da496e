"""The database a ``durable`` command works on: ``--db``, ``$DURABLE_DB``, the ``db`` setting.

Each names a database the way :class:`~durable.Engine` takes one: a file path (SQLite; any file
name, not only ``*.db``), a ``sqlite:///`` URL of a file, or a ``postgresql://`` (or
``postgres://``) URL of a PostgreSQL database (``pip install 'durable[postgres]'``). Precedence:
``--db``, then ``$DURABLE_DB``, then the configuration file's ``db``, then ``durable.db``.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from .cli_common import CliError

__all__ = ["DEFAULT_DB", "Database", "add_db_argument", "database", "db_url", "is_postgres_url"]

DEFAULT_DB = "durable.db"
_POSTGRES = ("postgresql://", "postgres://")
_SQLITE = "sqlite:///"
_PASSWORD_IN_NETLOC = re.compile(r"^([a-z]+://[^:@/?#]*):[^@/?#]*@", re.IGNORECASE)
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def is_postgres_url(text: str) -> bool:
    return text.lower().startswith(_POSTGRES)


@dataclass(frozen=True, slots=True)
class Database:
    """A command's database: ``url`` for the store; ``path`` the SQLite file (None on
    PostgreSQL); ``str()`` how messages name it (a URL without its password)."""

    url: str
    path: Path | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return str(self.path)
        return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_NETLOC.sub(r"\1:***@", self.url))

    def exists(self) -> bool:
        """Whether it is there to be read: the file exists (a server's database: assumed; opening
        it says otherwise)."""
        return self.path is None or self.path.is_file()


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        default=None,
        help="the database: an SQLite file (or sqlite:///PATH) or a postgresql://user@host/name URL "
        f"(default: $DURABLE_DB, else {DEFAULT_DB} in the current directory)",
    )


def database(arg: str | None) -> Database:
    """The database ``--db`` names (``$DURABLE_DB`` or ``durable.db`` when absent)."""
    text = arg if arg is not None else os.environ.get("DURABLE_DB") or DEFAULT_DB
    if not text.strip():
        raise CliError("--db needs a file name or a postgresql:// URL")
    if is_postgres_url(text):
        return Database(text)
    if text.startswith(_SQLITE):
        path = Path(unquote(text[len(_SQLITE) :].partition("?")[0])).expanduser()
        return Database(text, path)
    if "://" in text:
        raise CliError(
            f"--db {text!r}: give an SQLite file (a path or sqlite:///PATH) or a "
            "postgresql://user@host/name URL"
        )
    path = Path(text).expanduser()
    return Database(db_url(path), path)


def db_url(path: Path) -> str:
    """The store URL of a database file: any file name, not only ``*.db``."""
    return "sqlite:///" + quote(str(path), safe="/")
