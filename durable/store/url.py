"""Open a store from a URL: the one string users put in configuration.

=================================  ==========================================
``None``, ``"memory://"``          :class:`~durable.store.memory.MemoryStore`
``"sqlite:///relative.db"``        :class:`~durable.store.sqlite.SqliteStore` on ``relative.db``
``"sqlite:////abs/path.db"``       ... on ``/abs/path.db``
``"path/to/file.db"``              ... a bare path ending ``.db``, ``.sqlite`` or ``.sqlite3``
``"postgresql://user@host/db"``    :class:`~durable.store.postgres.PostgresStore` (also ``postgres://``)
=================================  ==========================================

SQLite URLs (and bare paths) take query parameters ``synchronous=NORMAL|FULL``,
``busy_timeout_ms=<int>`` and ``quick_check=auto|always|never`` (the page check at open; ``auto``
checks files up to 512 MiB), e.g. ``"sqlite:///durable.db?synchronous=FULL"``.

PostgreSQL URLs are libpq connection URIs (their query parameters, e.g. ``sslmode``, go to
libpq) plus ``pool_size=<int>`` (the most connections the store opens, 10 by default). They need
the ``postgres`` extra (``pip install 'durable[postgres]'``).
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, unquote, urlencode

from .base import Store, StoreError
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = ["open_store"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def _sqlite(path: str, query: str, url: str) -> SqliteStore:
    synchronous = "NORMAL"
    busy_timeout_ms = 5000
    quick_check = "auto"
    try:
        params = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise StoreError(f"invalid query in store URL {url!r}: {exc}") from exc
    for name, value in params:
        if name == "synchronous":
            synchronous = value.upper()
            if synchronous not in ("NORMAL", "FULL"):
                raise StoreError(f"store URL {url!r}: synchronous must be NORMAL or FULL, got {value!r}")
        elif name == "busy_timeout_ms":
            try:
                busy_timeout_ms = int(value)
            except ValueError:
                raise StoreError(
                    f"store URL {url!r}: busy_timeout_ms must be an integer, got {value!r}"
                ) from None
        elif name == "quick_check":
            quick_check = value.lower()
            if quick_check not in ("auto", "always", "never"):
                raise StoreError(
                    f"store URL {url!r}: quick_check must be auto, always or never, got {value!r}"
                )
        else:
            known = "synchronous, busy_timeout_ms, quick_check"
            raise StoreError(f"store URL {url!r}: unknown parameter {name!r} (known: {known})")
    if not path:
        raise StoreError(f"store URL {url!r} names no database file")
    return SqliteStore(
        path,
        synchronous="FULL" if synchronous == "FULL" else "NORMAL",
        busy_timeout_ms=busy_timeout_ms,
        quick_check="always" if quick_check == "always" else "never" if quick_check == "never" else "auto",
    )


def _postgres(text: str, base: str, query: str) -> Store:
    try:
        from .postgres import PostgresStore
    except ImportError as exc:  # psycopg is an optional dependency
        raise StoreError(
            f"store URL {text!r} needs psycopg and psycopg_pool: pip install 'durable[postgres]' ({exc})"
        ) from None
    try:
        params = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise StoreError(f"invalid query in store URL {text!r}: {exc}") from exc
    pool_size = 10
    passed: list[tuple[str, str]] = []
    for name, value in params:
        if name == "pool_size":
            try:
                pool_size = int(value)
            except ValueError:
                raise StoreError(f"store URL {text!r}: pool_size must be an integer, got {value!r}") from None
        else:
            passed.append((name, value))
    url = base + ("?" + urlencode(passed) if passed else "")
    return PostgresStore(url, pool_size=pool_size)


def open_store(url: str | os.PathLike[str] | None) -> Store:
    """The store ``url`` names (not yet opened: ``await store.open()``)."""
    if url is None:
        return MemoryStore()
    text = os.fspath(url)
    if text in ("memory://", "memory:"):
        return MemoryStore()
    base, _, query = text.partition("?")
    if base.startswith(_SQLITE_PREFIX):
        return _sqlite(unquote(base[len(_SQLITE_PREFIX) :]), query, text)
    if base.startswith("sqlite:"):
        raise StoreError(
            f"invalid store URL {text!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    if base.startswith(_POSTGRES_PREFIXES):
        return _postgres(text, base, query)
    if "://" not in base and base.lower().endswith(_SQLITE_SUFFIXES):
        return _sqlite(base, query, text)
    scheme = base.split("://", 1)[0] if "://" in base else None
    what = f"unknown store URL scheme {scheme!r}" if scheme else "not a store URL"
    raise StoreError(
        f"{what}: {text!r} (use memory://, sqlite:///path.db, a path ending .db, .sqlite or .sqlite3,"
        " or postgresql://user@host/database)"
    )
