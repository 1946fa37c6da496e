"""Run the cells of ``pipeline_notebook.py`` as a Jupyter kernel does (in the notebook's folder,
one namespace, inside a running event loop): python examples/ml_builder/run.py

The store (the pipeline's data, models, predictions, and the graph ``pipeline.svg``) is a new
temporary directory unless ``ML_STORE`` names one.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "pipeline_notebook.py"

# the cell runner of examples/notebook (by path: every example has a run.py)
_spec = importlib.util.spec_from_file_location("notebook_cell_runner", HERE.parent / "notebook" / "run.py")
assert _spec is not None and _spec.loader is not None
cell_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cell_runner)


def run_notebook() -> dict[str, Any]:
    """Run every cell in the notebook's folder (as a kernel started there); the namespace."""
    previous = Path.cwd()
    os.chdir(HERE)
    try:
        namespace: dict[str, Any] = asyncio.run(cell_runner.run_cells(NOTEBOOK))
    finally:
        os.chdir(previous)
    return namespace


if __name__ == "__main__":
    run_notebook()
