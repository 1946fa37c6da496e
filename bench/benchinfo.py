"""Shared by the benchmark scripts: what every line carries (the Python build, the SQLite
library, the revision measured) and reading a child process's result line.

Imported by the scripts beside it (``python bench/<name>.py`` puts this folder on the path).
"""

from __future__ import annotations

import os
import platform
import select
import sqlite3
import subprocess
import time
from functools import lru_cache
from typing import IO, Any

__all__ = ["common", "first_json_line", "python_build", "revision"]


def python_build() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


@lru_cache(maxsize=1)
def revision() -> str:
    """HEAD's short hash, with ``+dirty`` when the working tree has changes (figures move with them)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def common() -> dict[str, Any]:
    """``python``, ``sqlite`` and ``revision``, for a benchmark line."""
    return {"python": python_build(), "sqlite": sqlite3.sqlite_version, "revision": revision()}


def first_json_line(stream: IO[str], timeout: float) -> str:
    """The first line of ``stream`` that is a JSON object; else the last line read (empty at
    end of stream) once the stream ends or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    line = ""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            return line
        line = stream.readline()
        if line.startswith("{") or not line:
            return line
