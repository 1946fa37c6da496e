"""Distributed Map throughput and memory over a local JSONL/CSV file (see bench/README.md).

    python bench/distributed_map.py                       # 100k and 1M items, JSONL and CSV
    python bench/distributed_map.py --items 100000 --repeat 3 --kinds express_pass
    python bench/distributed_map.py --items 1000000,10000000 --kinds express_pass,standard_pass

Each measurement runs in a fresh subprocess (so its peak RSS is its own); the bare-Python floor
(reading the same file line by line and decoding every item) runs in the same way, interleaved
with the engine runs, and the engine lines report the ratio to it. With several item counts, a
last line per kind and format sets the peak RSS of each count side by side (memory that does not
grow with the item count shows the same figure at each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _definition(kind: str, fmt: str, items: int) -> dict[str, Any]:
    config: dict[str, Any] = {"InputType": "CSV" if fmt == "csv" else "JSONL"}
    if fmt == "csv":
        config["CSVHeaderLocation"] = "FIRST_ROW"
    child = "EXPRESS" if kind.startswith("express") else "STANDARD"
    if kind.endswith("_function"):
        body = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f", "End": True}
    else:
        body = {"Type": "Pass", "End": True}
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 100,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": config,
                    "Parameters": {"Bucket": "data", "Key": f"items.{fmt}"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": child},
                    "StartAt": "C",
                    "States": {"C": body},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "out", "Prefix": "results"},
                    "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
                },
                "End": True,
            }
        },
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _floor(folder: Path, fmt: str) -> int:
    """Bare Python: read the file line by line and decode every item (csv module for CSV)."""
    import csv

    count = 0
    with (folder / f"items.{fmt}").open(newline="") as f:
        if fmt == "csv":
            reader = csv.reader(f)
            header = next(reader)
            for row in reader:
                dict(zip(header, row, strict=False))
                count += 1
        else:
            for line in f:
                json.loads(line)
                count += 1
    return count


async def _engine(folder: Path, kind: str, fmt: str, items: int) -> None:
    from durable import Engine, Quotas

    url = (
        f"sqlite:///{folder / 'bench.sqlite'}"  # the parent is Standard (AWS: no Distributed Map in Express)
    )
    buckets = {"data": folder, "out": folder / "out"}
    quotas = Quotas(express_seconds=None)  # a million items may take longer than 5 minutes
    async with Engine(url, load_plugins=False, local_buckets=buckets, quotas=quotas) as engine:
        engine.register_function("f", lambda event, context=None: event)
        machine = await engine.create_state_machine("dm", _definition(kind, fmt, items))
        started = await engine.start_execution(machine.arn, {})
        done = await engine.wait_for_execution(started.execution_arn)
        if done.status != "SUCCEEDED":
            raise SystemExit(f"{kind}: {done.status} {done.error} {done.cause}")


def _child(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    if args.child != "floor":
        import durable  # noqa: F401 (imported before the clock starts: the engine is timed from its opening)
    start = time.perf_counter()
    if args.child == "floor":
        _floor(folder, args.fmt)
    else:
        asyncio.run(_engine(folder, args.child, args.fmt, args.items))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_mb": round(_peak_mb(), 1)}))


def _write(folder: Path, fmt: str, items: int) -> None:
    path = folder / f"items.{fmt}"
    if path.exists():
        return
    with path.open("w") as f:
        if fmt == "csv":
            f.write("id,name,size\n")
            for i in range(items):
                f.write(f"{i},object-{i},{i * 7 % 1000}\n")
        else:
            for i in range(items):
                f.write(json.dumps({"id": i, "name": f"object-{i}", "size": i * 7 % 1000}) + "\n")


def _measure(folder: Path, case: str, fmt: str, items: int) -> dict[str, Any]:
    for leftover in (folder / "bench.sqlite", folder / "bench.sqlite-wal", folder / "bench.sqlite-shm"):
        leftover.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", case, "--folder", str(folder), "--fmt", fmt]
    out = subprocess.run([*cmd, "--items", str(items)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", default="100000,1000000", help="comma-separated item counts")
    parser.add_argument("--formats", default="jsonl,csv")
    parser.add_argument("--kinds", default="express_pass,express_function,standard_pass,standard_function")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median is reported")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--fmt", default="jsonl", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.items = int(args.items)
        _child(args)
        return
    sizes: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for items in (int(n) for n in args.items.split(",")):
            for fmt in args.formats.split(","):
                _write(folder, fmt, items)
                for kind in args.kinds.split(","):
                    pairs = []
                    for _ in range(args.repeat):  # interleaved: floor, engine, floor, engine ...
                        floor = _measure(folder, "floor", fmt, items)
                        engine = _measure(folder, kind, fmt, items)
                        pairs.append((floor, engine))
                    peak = max(p[1]["peak_rss_mb"] for p in pairs)
                    floor_peak = max(p[0]["peak_rss_mb"] for p in pairs)
                    sizes.setdefault((kind, fmt), {})[str(items)] = (peak, floor_peak)
                    floor_s = statistics.median(p[0]["seconds"] for p in pairs)
                    engine_s = statistics.median(p[1]["seconds"] for p in pairs)
                    print(
                        json.dumps(
                            {
                                "bench": "distributed_map",
                                "kind": kind,
                                "format": fmt,
                                "items": items,
                                "items_per_s": round(items / engine_s),
                                "peak_rss_mb": peak,
                                "floor_items_per_s": round(items / floor_s),
                                "floor_peak_rss_mb": floor_peak,
                                "engine_vs_floor_pct": round(100 * floor_s / engine_s, 2),
                                "repeat": args.repeat,
                                "cpus": os.cpu_count(),
                            }
                        ),
                        flush=True,
                    )
                (folder / f"items.{fmt}").unlink(missing_ok=True)  # (the next count writes its own)
    for (kind, fmt), by_items in sizes.items():
        if len(by_items) > 1:
            peaks = [p for p, _ in by_items.values()]
            line = {
                "bench": "distributed_map_rss",
                "kind": kind,
                "format": fmt,
                "peak_rss_mb": {n: p for n, (p, _) in by_items.items()},
                "floor_peak_rss_mb": {n: f for n, (_, f) in by_items.items()},
                "growth_mb": round(peaks[-1] - peaks[0], 1),
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
