"""Run the cells of ``notebook.py`` as a Jupyter kernel does: one after the other, in one
namespace, inside a running event loop, where a cell may ``await`` at its top level.

    python examples/notebook/run.py
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import sys
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().with_name("notebook.py")


def cells(path: Path) -> list[str]:
    """The code cells of a percent-format file (``# %%``; ``# %% [markdown]`` cells are text)."""
    found: list[list[str]] = []
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("# %%"):
            found.append([] if "[markdown]" not in line else ["# markdown\n"])
        elif found:
            found[-1].append(line)
    return ["".join(cell) for cell in found if cell and cell[0] != "# markdown\n"]


async def run_cells(path: Path = NOTEBOOK) -> dict[str, Any]:
    """Run every code cell of ``path`` in the running loop; return the notebook's namespace."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for number, source in enumerate(cells(path), 1):
        code = compile(source, f"{path.name} [cell {number}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # a cell that awaits returns a coroutine to await
        if inspect.iscoroutine(result):
            await result
    return namespace


if __name__ == "__main__":
    sys.path.insert(0, str(NOTEBOOK.parent))
    asyncio.run(run_cells())
