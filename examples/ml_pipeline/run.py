"""Run the daily ML pipeline: python examples/ml_pipeline/run.py [STORE]

Lands two days of extracts (STORE, default a temporary directory): a good one, on which
scikit-learn trains a model that is deployed and classifies the day's wines, and one with
missing values, which fails the data check and notifies the team. One JSON line per day, then
the notification.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ml_runs import make_engine, run_day
from ml_tasks import land_daily_extract


async def main(store: Path) -> None:
    land_daily_extract(store, "2026-03-02")
    land_daily_extract(store, "2026-03-03", missing_values=3)  # a broken export
    async with make_engine(store) as engine:
        for day in ("2026-03-02", "2026-03-03"):
            done = await run_day(engine, store, day)
            print(
                json.dumps(
                    {
                        "status": str(done.status),
                        "output": done.output,
                        "error": done.error,
                        "cause": done.cause,
                    }
                )
            )
    for path in sorted((store / "notifications").rglob("*.json")):
        print(json.dumps(json.loads(path.read_text())))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(Path(sys.argv[1]).resolve()))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp)))
