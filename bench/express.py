"""Express execution throughput of the embedded engine, beside a bare-Python floor.

Run::

    python bench/express.py [--seconds S] [--repeat N] [--only NAME[,NAME...]]

Prints one JSON object per line. For every workload there are two lines:

* ``<name>``: ``await engine.start_sync_execution(arn, input)`` in a loop, inside one event
  loop, on one core, through the public API only;
* ``<name>.python_floor``: a plain Python loop doing the equivalent dict work directly (no
  engine), measured in the same run, so the engine's overhead shows beside it.

Each measurement calibrates a batch size (about ``--seconds`` per batch), runs one warm-up
batch, then ``--repeat`` timed batches (``time.perf_counter``) and reports the MEDIAN batch.
Nothing here asserts a threshold: figures depend on the machine, its load and the Python build.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import importlib.util
import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from durable import Engine, TaskContext

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"

# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------

PASS_CHAIN_3 = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Next": "Two"},
        "Two": {"Type": "Pass", "Next": "Three"},
        "Three": {"Type": "Pass", "End": True},
    },
}

# The same chain in JSONata mode: each state evaluates an expression for its Output.
PASS_CHAIN_3_JSONATA = {
    "QueryLanguage": "JSONata",
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Output": "{% $states.input %}", "Next": "Two"},
        "Two": {"Type": "Pass", "Output": "{% $states.input %}", "Next": "Three"},
        "Three": {"Type": "Pass", "Output": "{% $states.input %}", "End": True},
    },
}

CHOICE_PASS = {
    "StartAt": "IsBig",
    "States": {
        "IsBig": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.value", "NumericGreaterThan": 10, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "End": True},
        "Small": {"Type": "Pass", "End": True},
    },
}

MAP_100_PASS = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Item",
                "States": {"Item": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def _branch(prefix: str) -> dict[str, Any]:
    return {
        "StartAt": f"{prefix}1",
        "States": {
            f"{prefix}1": {"Type": "Pass", "Next": f"{prefix}2"},
            f"{prefix}2": {"Type": "Pass", "End": True},
        },
    }


PARALLEL_2X2_PASS = {
    "StartAt": "Both",
    "States": {"Both": {"Type": "Parallel", "Branches": [_branch("A"), _branch("B")], "End": True}},
}

# The flagship example's shape, used when examples/account_opening/ cannot be imported.
ACCOUNT_OPENING = {
    "Comment": "Open an account: check name and address in parallel, then approve.",
    "StartAt": "VerifyApplicant",
    "States": {
        "VerifyApplicant": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "CheckName",
                    "States": {
                        "CheckName": {
                            "Type": "Task",
                            "Resource": LAMBDA + "CheckName",
                            "Parameters": {"name.$": "$.name"},
                            "Retry": [
                                {
                                    "ErrorEquals": ["States.TaskFailed"],
                                    "IntervalSeconds": 1,
                                    "MaxAttempts": 2,
                                    "BackoffRate": 2.0,
                                }
                            ],
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "CheckAddress",
                    "States": {
                        "CheckAddress": {
                            "Type": "Task",
                            "Resource": LAMBDA + "CheckAddress",
                            "Parameters": {"address.$": "$.address"},
                            "Retry": [
                                {
                                    "ErrorEquals": ["States.TaskFailed"],
                                    "IntervalSeconds": 1,
                                    "MaxAttempts": 2,
                                    "BackoffRate": 2.0,
                                }
                            ],
                            "End": True,
                        }
                    },
                },
            ],
            "ResultPath": "$.checks",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rejected"}],
            "Next": "ApproveApplication",
        },
        "ApproveApplication": {
            "Type": "Task",
            "Resource": LAMBDA + "ApproveApplication",
            "ResultPath": "$.decision",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rejected"}],
            "End": True,
        },
        "Rejected": {"Type": "Pass", "Result": {"approved": False}, "ResultPath": "$.decision", "End": True},
    },
}

ACCOUNT_INPUT = {
    "name": "Ada Lovelace",
    "address": "12 St James's Square, London",
    "email": "ada@example.com",
}


def check_name(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = event["name"]
    return {"valid": bool(name.strip()) and not any(ch.isdigit() for ch in name), "flagged": False}


def check_address(event: dict[str, Any], context: Any) -> dict[str, Any]:
    address = event["address"]
    return {"valid": len(address) > 5, "flagged": "po box" in address.lower()}


def approve_application(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checks = event["checks"]
    ok = all(c["valid"] and not c["flagged"] for c in checks)
    return {"approved": ok, "reason": "checks passed" if ok else "checks failed"}


INLINE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "CheckName": check_name,
    "CheckAddress": check_address,
    "ApproveApplication": approve_application,
}

# --------------------------------------------------------------------------------------------
# Floors: the equivalent dict work done directly in Python
# --------------------------------------------------------------------------------------------


# The floor is a tight bare-Python state-machine interpreter over the same definition dict: it
# dispatches on each state's ``Type``, copies the data a state hands on (a shallow ``dict`` copy),
# appends a history tuple with a UTC ``datetime`` for every state entered and exited (as the
# engine numbers its events), and follows ``Next``/``End``. It knows only what these workloads
# use (Pass, a numeric Choice, an inline Map over ``ItemsPath``, Parallel): no paths, no
# validation, no errors, no ids. It is measured in the same process, interleaved with the engine.


def floor_run(definition: dict[str, Any], inp: Any) -> Any:
    history: list[tuple[Any, ...]] = [("ExecutionStarted", _utcnow())]
    out = _floor_machine(definition, _floor_copy(inp), history)
    history.append(("ExecutionSucceeded", _utcnow()))
    return out


def _floor_copy(data: Any) -> Any:
    return dict(data) if type(data) is dict else data


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _floor_machine(machine: dict[str, Any], data: Any, history: list[tuple[Any, ...]]) -> Any:
    states = machine["States"]
    name = machine["StartAt"]
    now = _utcnow
    while True:
        state = states[name]
        kind = state["Type"]
        history.append((kind, "Entered", name, now()))
        if kind == "Pass":
            data = _floor_copy(data)
        elif kind == "Choice":
            target = state.get("Default")
            for rule in state["Choices"]:
                value = data.get(rule["Variable"][2:])
                if type(value) in (int, float) and value > rule["NumericGreaterThan"]:
                    target = rule["Next"]
                    break
            history.append((kind, "Exited", name, now()))
            name = target
            continue
        elif kind == "Map":
            processor = state["ItemProcessor"]
            data = [_floor_machine(processor, item, history) for item in data[state["ItemsPath"][2:]]]
        elif kind == "Parallel":
            data = [_floor_machine(branch, _floor_copy(data), history) for branch in state["Branches"]]
        history.append((kind, "Exited", name, now()))
        if state.get("End"):
            return data
        name = state["Next"]


def floor_for(definition: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda inp: floor_run(definition, inp)


# --------------------------------------------------------------------------------------------
# account_opening: the example's definition and functions, or the inline stand-in
# --------------------------------------------------------------------------------------------


class AccountOpening:
    """Definition, input and functions of the flagship workflow, and where they came from."""

    def __init__(self) -> None:
        self.source = "inline (bench/express.py)"
        self.definition: Any = ACCOUNT_OPENING
        self.input: Any = ACCOUNT_INPUT
        self.functions: dict[str, Callable[..., Any]] | None = dict(INLINE_FUNCTIONS)
        self.register_hook: Callable[[Any], Any] | None = None
        self.note = ""
        self._try_example()

    def _try_example(self) -> None:
        """Use ``examples/account_opening/workflow.py`` when it exposes what the bench needs.

        Only that module is imported (``run.py`` runs the example on import). It must expose a
        definition (``DEFINITION``), the functions (``FUNCTIONS`` dict or ``register(engine)``)
        and a sample input (``GOOD_APPLICATION`` / ``SAMPLE_INPUT``); otherwise the inline
        stand-in above is measured and the line says why.
        """
        path = ROOT / "examples" / "account_opening" / "workflow.py"
        if not path.is_file():
            self.note = "examples/account_opening/workflow.py not found"
            return
        try:
            module = _load_module(path)
        except Exception as exc:  # an example under construction must not break the bench
            self.note = f"could not import {path.relative_to(ROOT)}: {type(exc).__name__}: {exc}"
            return
        definition = _first_attr(module, ("DEFINITION", "definition"))
        functions = _first_attr(module, ("FUNCTIONS", "functions"))
        hook = _first_attr(module, ("register", "register_functions"))
        sample = _first_attr(module, ("GOOD_APPLICATION", "SAMPLE_INPUT", "EXAMPLE_INPUT", "INPUT"))
        if not isinstance(definition, (str, bytes, dict)):
            self.note = f"{path.relative_to(ROOT)} has no DEFINITION"
        elif not isinstance(functions, dict) and not callable(hook):
            self.note = f"{path.relative_to(ROOT)} has neither FUNCTIONS nor register(engine)"
        elif sample is None:
            self.note = f"{path.relative_to(ROOT)} has no sample input (GOOD_APPLICATION)"
        else:
            self.definition = definition
            self.input = sample
            self.functions = dict(functions) if isinstance(functions, dict) else None
            self.register_hook = None if self.functions is not None else hook
            self.source = str(path.relative_to(ROOT))
            self.note = ""

    def register(self, engine: Engine, recorder: list[tuple[Callable[..., Any], Any]] | None) -> None:
        """Register the functions with ``blocking=False``; optionally record each call."""

        def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
            if recorder is None:
                return fn

            def recorded(event: Any, context: Any) -> Any:
                recorder.append((fn, json.loads(json.dumps(event))))
                return fn(event, context)

            return recorded

        if self.functions is not None:
            for name, fn in self.functions.items():
                engine.register_function(name, wrap(fn), blocking=False)
            return
        assert self.register_hook is not None
        original = engine.register_function

        def non_blocking(name: str, fn: Callable[..., Any], **options: Any) -> None:
            options["blocking"] = False
            original(name, wrap(fn), **options)

        engine.register_function = non_blocking  # type: ignore[method-assign]
        try:
            self.register_hook(engine)
        finally:
            del engine.register_function


def _load_module(path: Path) -> Any:
    name = "bench_account_opening_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _first_attr(module: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if hasattr(module, name):
            return getattr(module, name)
    return None


def _replay_floor(calls: list[tuple[Callable[..., Any], Any]]) -> Callable[[Any], Any]:
    """Call the same user functions with the same events, directly: the work no engine can avoid."""
    context = TaskContext(
        function_name="floor",
        invoked_function_arn=LAMBDA + "floor",
        aws_request_id="00000000-0000-4000-8000-000000000000",
        execution_arn="floor",
        state_name="floor",
    )

    def floor(inp: Any) -> Any:
        data = dict(inp) if isinstance(inp, dict) else inp
        out = None
        for fn, event in calls:
            out = fn(dict(event) if isinstance(event, dict) else event, context)
        return data, out

    return floor


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def _calibrate(run_batch: Callable[[int], float], seconds: float) -> int:
    """Batch size taking about ``seconds`` (the calibration doubles as warm-up)."""
    n = 1
    while True:
        elapsed = run_batch(n)
        if elapsed >= seconds / 8 or n >= 1 << 26:
            return max(1, int(n * seconds / max(elapsed, 1e-9)))
        n *= 2 if elapsed > seconds / 64 else 8


async def _acalibrate(run_batch: Callable[[int], Awaitable[float]], seconds: float) -> int:
    n = 1
    while True:
        elapsed = await run_batch(n)
        if elapsed >= seconds / 8 or n >= 1 << 26:
            return max(1, int(n * seconds / max(elapsed, 1e-9)))
        n *= 2 if elapsed > seconds / 64 else 8


def _summary(name: str, batch: int, times: list[float], extra: dict[str, Any]) -> dict[str, Any]:
    med = statistics.median(times)
    line = {
        "name": name,
        "executions_per_s": round(batch / med, 1),
        "median_us_per_execution": round(med / batch * 1e6, 3),
        "best_executions_per_s": round(batch / min(times), 1),
        "worst_executions_per_s": round(batch / max(times), 1),
        "batch": batch,
        "repeats": len(times),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    line.update(extra)
    return line


async def measure_interleaved(
    engine: Engine, arn: str, inp: Any, floor: Callable[[Any], Any] | None, seconds: float, repeat: int
) -> tuple[int, list[float], int, list[float]]:
    """Time the engine and its floor in alternating batches (so both see the same machine load)."""
    start = engine.start_sync_execution
    perf = time.perf_counter

    async def engine_batch(n: int) -> float:
        t0 = perf()
        for _ in range(n):
            await start(arn, inp)
        return perf() - t0

    def floor_batch(n: int) -> float:
        assert floor is not None
        t0 = perf()
        for _ in range(n):
            floor(inp)
        return perf() - t0

    size = await _acalibrate(engine_batch, seconds)
    await engine_batch(size)  # warm-up
    fsize = 0
    if floor is not None:
        fsize = _calibrate(floor_batch, seconds)
        floor_batch(fsize)
    times: list[float] = []
    ftimes: list[float] = []
    for _ in range(repeat):
        gc.collect()
        times.append(await engine_batch(size))
        if floor is not None:
            gc.collect()
            ftimes.append(floor_batch(fsize))
    return size, times, fsize, ftimes


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


class Workload:
    def __init__(
        self,
        name: str,
        definition: Any,
        inp: Any,
        floor: Callable[[Any], Any] | None,
        *,
        account: AccountOpening | None = None,
    ) -> None:
        self.name = name
        self.definition = definition
        self.input = inp
        self.floor = floor
        self.account = account


def workloads() -> list[Workload]:
    account = AccountOpening()
    return [
        # the JSONata chain is judged against the same floor as the JSONPath one
        Workload("pass_chain_3", PASS_CHAIN_3, {"value": 42, "name": "bench"}, floor_for(PASS_CHAIN_3)),
        Workload(
            "pass_chain_3_jsonata",
            PASS_CHAIN_3_JSONATA,
            {"value": 42, "name": "bench"},
            floor_for(PASS_CHAIN_3),
        ),
        Workload("choice_pass", CHOICE_PASS, {"value": 42}, floor_for(CHOICE_PASS)),
        Workload("map_100_pass", MAP_100_PASS, {"items": list(range(100))}, floor_for(MAP_100_PASS)),
        Workload("parallel_2x2_pass", PARALLEL_2X2_PASS, {"value": 42}, floor_for(PARALLEL_2X2_PASS)),
        Workload("account_opening", account.definition, account.input, None, account=account),
    ]


async def run_workload(w: Workload, seconds: float, repeat: int) -> list[dict[str, Any]]:
    async with Engine() as engine:
        if w.account is not None:
            w.account.register(engine, None)
        machine = await engine.create_state_machine(w.name, w.definition, type="EXPRESS")
        # A checked execution before timing: the bench measures working executions only. (The
        # example's flaky name service fails each new name once, so this one may retry.)
        first = await engine.start_sync_execution(machine.arn, w.input)
        if not first.succeeded:
            return [{"name": w.name, "error": f"{first.status}: {first.error}: {first.cause}"}]
        floor = w.floor
        extra: dict[str, Any] = {}
        floor_extra: dict[str, Any] = {}
        if w.account is not None:
            # Record the user-function calls of one steady-state execution for the floor, then
            # register the plain functions again so the timing does not include the recorder.
            calls: list[tuple[Callable[..., Any], Any]] = []
            w.account.register(engine, calls)
            again = await engine.start_sync_execution(machine.arn, w.input)
            w.account.register(engine, None)
            if not again.succeeded:
                return [{"name": w.name, "error": f"{again.status}: {again.error}: {again.cause}"}]
            floor = _replay_floor(calls)
            extra["source"] = w.account.source
            if w.account.note:
                extra["note"] = w.account.note
            floor_extra["floor"] = f"the {len(calls)} user function call(s) of one execution, called directly"
        else:
            floor_extra["output_matches_engine"] = floor is not None and floor(w.input) == first.output
            floor_extra["floor"] = "a bare-Python dict interpreter of the same definition"
        batch, times, fbatch, ftimes = await measure_interleaved(
            engine, machine.arn, w.input, floor, seconds, repeat
        )
    lines = [_summary(w.name, batch, times, extra)]
    if floor is not None:
        fline = _summary(f"{w.name}.python_floor", fbatch, ftimes, floor_extra)
        # each engine batch against the floor batch run right after it, then the median pair
        pairs = [(batch / t) / (fbatch / ft) for t, ft in zip(times, ftimes, strict=True)]
        fline["engine_vs_floor_pct"] = round(100 * statistics.median(pairs), 1)
        fline["engine_slowdown_x"] = round(fline["executions_per_s"] / lines[0]["executions_per_s"], 2)
        lines.append(fline)
    return lines


async def main_async(args: argparse.Namespace) -> None:
    selected = set(args.only.split(",")) if args.only else None
    pct: dict[str, float] = {}
    for w in workloads():
        if selected is not None and w.name not in selected:
            continue
        for line in await run_workload(w, args.seconds, args.repeat):
            print(json.dumps(line), flush=True)
            if "engine_vs_floor_pct" in line:
                pct[w.name] = line["engine_vs_floor_pct"]
    goals: dict[str, Any] = {"name": "goals"}
    for name in ("pass_chain_3", "map_100_pass", "parallel_2x2_pass"):
        if name in pct:
            goals[f"{name}_vs_floor_pct"] = pct[name]
            goals[f"{name}_goal_met"] = pct[name] >= 55.0  # issue goal: >= 55 % of the floor
    if "pass_chain_3" in pct and "pass_chain_3_jsonata" in pct:
        # both chains against the same floor: the ratio of their percentages is JSONata's cost
        slowdown = pct["pass_chain_3"] / pct["pass_chain_3_jsonata"]
        goals["jsonata_slowdown_x"] = round(slowdown, 2)
        goals["jsonata_goal_met"] = slowdown <= 3.0
    if len(goals) > 1:
        print(json.dumps(goals), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.4, help="target seconds per timed batch")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed batches per measurement (median reported)"
    )
    parser.add_argument("--only", default="", help="comma-separated workload names")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.repeat < 1:
        parser.error("--seconds must be > 0 and --repeat >= 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
