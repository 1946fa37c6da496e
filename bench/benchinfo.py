"""What every benchmark line carries: the Python build, the SQLite library, the revision measured.

Imported by the scripts beside it (``python bench/<name>.py`` puts this folder on the path).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from functools import lru_cache
from typing import Any

__all__ = ["common", "python_build", "revision"]


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
