"""Conformance runner: replay AWS-recorded Step Functions cases through durable's public API.

    python tests/conformance/run.py [--cases PATH] [--category NAME] [--id SUBSTRING] [-v]
                                    [--store URL [--fresh-databases]]

Cases run on an in-memory store; ``--store`` runs each on an empty database of that kind
instead: ``--store sqlite`` (a new file per case), ``--store postgresql://user@host/db`` (on
that server, through the URL's connection: one database created for the run and dropped after
it, emptied before each case — the sessions of the case before ended, every table but
``schema_migrations`` deleted, its sequences restarted — so that a case meets what a new
database holds, without the quarter of a second creating and migrating one costs;
``--fresh-databases`` creates and drops a new database per case instead).

Each line of the cases file is one case (see the corpus README for the format). A case is
run, skipped with a named reason, or compared: status, output, error and cause (with the
recording's placeholders as wildcards). The last line printed is
``N passed, M failed, K skipped``; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import linecache
import os
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "plugins" / "durable-aws"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from durable import (  # noqa: E402
    DefinitionError,
    DurableError,
    Engine,
    ManualClock,
)
from tests.conformance import services as aws  # noqa: E402
from tests.conformance import teststate  # noqa: E402

DEFAULT_CASES = ROOT.parent / "shared" / "conformance" / "cases.jsonl"
CASE_TIMEOUT_S = 60.0
RUNNING_SETTLE_S = 0.5  # how long a case recorded as RUNNING runs before it is inspected
SUPPORTED_NEEDS = {"none", "lambda", "activity", "stop_execution"}
SERVICES: aws.Services | None = None  # a moto server and durable-aws, while run_all runs
STORE: str | None = None  # --store: None (memory), "sqlite" or a postgresql:// URL
FRESH_DATABASES = False  # --fresh-databases: a new PostgreSQL database per case
_CASE_DBS = itertools.count(1)
_REUSED: _Emptied | None = None  # the run's PostgreSQL database, while run_all runs


def _postgres() -> bool:
    return STORE is not None and STORE.startswith(("postgresql://", "postgres://"))


@contextlib.asynccontextmanager
async def _new_database(url: str) -> AsyncIterator[str]:
    """A new database on the server of ``url`` (created and dropped through its connection)."""
    import psycopg

    name = f"conformance_{os.getpid()}_{next(_CASE_DBS)}"
    base, _, query = url.partition("?")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            yield base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@dataclass
class _Emptied:
    """A migrated database emptied before each case: what a case sees is a new database's."""

    url: str
    empty: bytes = b""
    conn: Any = None  # the connection that empties it (kept for the run)

    async def prepare(self) -> None:
        import psycopg

        from durable.store import open_store

        async with open_store(self.url):  # migrates it
            pass
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            tables = await (
                await conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " AND tablename <> 'schema_migrations' ORDER BY tablename"
                )
            ).fetchall()
            sequences = await (
                await conn.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
                )
            ).fetchall()
            references = await (
                await conn.execute(
                    "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
                    " WHERE contype = 'f' AND conrelid <> confrelid"
                )
            ).fetchall()
        statements = [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
            *(f'DELETE FROM "{t}"' for t in _referencing_first([t for (t,) in tables], references)),
            *(f"SELECT setval('\"{s}\"', 1, false)" for (s,) in sequences),
        ]
        self.empty = "; ".join(statements).encode()

    async def reset(self) -> None:
        import psycopg

        if self.conn is None or self.conn.closed:
            self.conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self.conn.execute(self.empty)  # one round trip, one transaction

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


def _referencing_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """``tables`` ordered so that a table comes before the tables its foreign keys refer to."""
    ordered: list[str] = []
    left = list(tables)
    while left:
        ready = [t for t in left if not any(r == t and s in left for s, r in references if s != t)]
        if not ready:
            raise RuntimeError(f"foreign keys in a cycle among {left}")
        ordered.extend(ready)
        left = [t for t in left if t not in ready]
    return ordered


@contextlib.asynccontextmanager
async def run_database() -> AsyncIterator[None]:
    """For ``--store postgresql://``: the one database the run's cases share."""
    global _REUSED
    if not _postgres() or FRESH_DATABASES or _REUSED is not None:
        yield
        return
    assert STORE is not None
    async with _new_database(STORE) as url:
        _REUSED = _Emptied(url)
        try:
            await _REUSED.prepare()
            yield
        finally:
            await _REUSED.close()
            _REUSED = None


@contextlib.asynccontextmanager
async def case_store() -> AsyncIterator[str | None]:
    """The store URL of one case: None (in memory), or an empty database of the ``STORE`` kind."""
    if STORE is None:
        yield None
    elif _REUSED is not None:
        await _REUSED.reset()
        yield _REUSED.url
    elif _postgres():
        async with _new_database(STORE) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="durable-conformance-") as tmp:
            yield f"sqlite:///{tmp}/case.db"


SUPPORTED_ACTIONS = {"StopExecution"}
RUN_APIS = {"StartExecution", "StartSyncExecution"}


@dataclass
class Outcome:
    verdict: str  # "pass" | "fail" | "skip"
    reason: str = ""
    history: str | None = None  # None: not compared; "" match; else the first difference


@dataclass
class Report:
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    history: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    history_failures: list[tuple[str, str]] = field(default_factory=list)

    def add(self, case: dict[str, Any], outcome: Outcome) -> None:
        self.by_category[case.get("category", "?")][outcome.verdict] += 1
        if outcome.history is not None:
            self.history[case.get("category", "?")]["match" if not outcome.history else "differ"] += 1
            if outcome.history:
                self.history_failures.append((case["id"], outcome.history))
        if outcome.verdict == "skip":
            self.skip_reasons[outcome.reason] += 1
        elif outcome.verdict == "fail":
            self.failures.append((case["id"], outcome.reason))

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_category.values():
            total.update(counts)
        return total


# -- scoping -------------------------------------------------------------------------------------


def skip_reason(case: dict[str, Any]) -> str | None:
    """Why a case is out of scope for the engine today, or None when it must run."""
    api = case.get("start_api")
    features = case.get("features") or []
    if api == "TestState":
        return teststate.skip_reason(case)
    if api in ("CreateStateMachine", "ValidateStateMachineDefinition"):
        return None
    if api not in RUN_APIS:
        return f"API {api} is not implemented"
    if "map:distributed" in features and "map:item_reader" in features:
        # durable reads ItemReader sources (tests/runtime/test_distributed_map.py); the S3
        # objects these recorded tests uploaded are not part of the case
        return "the ItemReader's S3 object (uploaded by the recorded test) is not in the case"
    needs = set(case.get("needs") or ["none"])
    supported = SUPPORTED_NEEDS | (aws.SERVICE_NEEDS if SERVICES is not None else set())
    other = sorted(needs - supported)
    if "task_token" in other:
        return "needs the recorded test's own task-token consumer (it answered from the queue or topic)"
    if other:
        why = aws.available() or "no service emulator in this run"
        return f"needs AWS service(s) not emulated: {', '.join(other)} ({why})"
    if SERVICES is not None and needs & aws.SERVICE_NEEDS:
        reason = SERVICES.skip_reason(case)
        if reason:
            return reason
    unsupported = {a.get("api") for a in case.get("actions") or []} - SUPPORTED_ACTIONS
    if unsupported:
        return f"needs API calls during the execution: {', '.join(sorted(map(str, unsupported)))}"
    return None


# -- comparison ------------------------------------------------------------------------------------


def _pattern(expected: str, tokens: list[str]) -> re.Pattern[str]:
    parts = [re.escape(expected)]
    for token in sorted(tokens, key=len, reverse=True):
        esc = re.escape(token)
        parts = [p.replace(esc, "\x00") for p in parts]
    return re.compile("^" + parts[0].replace("\x00", ".*") + "$", re.DOTALL)


class Matcher:
    def __init__(self, wildcards: list[dict[str, Any]], tokens: list[str] | None = None) -> None:
        # An expected value that *is* one of the case's placeholder tokens matches anything.
        self.whole = set(tokens or [])
        self.placeholder_words = False
        self.ignored: set[str] = set()  # keys compared nowhere (see compare)
        self.values: dict[str, list[str]] = {}
        self.keys: dict[str, list[str]] = {}
        for w in wildcards or []:
            target = self.keys if w.get("key_tokens") else self.values
            target.setdefault(w["path"], []).extend(w.get("tokens") or [])

    def equal(self, expected: Any, actual: Any, pointer: str) -> str | None:
        """None when equal; else a description of the first difference."""
        if isinstance(expected, str) and (expected in self.whole or _key_value_mask(expected, pointer)):
            return None
        if self.placeholder_words and isinstance(expected, str) and isinstance(actual, str):
            if _placeholder_pattern(expected).match(actual):
                return None
        tokens = self.values.get(pointer)
        if tokens is not None and isinstance(expected, str):
            if expected in tokens:
                return None
            if isinstance(actual, str) and _pattern(expected, tokens).match(actual):
                return None
            if not isinstance(actual, str) and _pattern(expected, tokens).match(json.dumps(actual)):
                return None
            return f"{pointer or '/'}: expected pattern {expected!r}, got {actual!r}"
        if isinstance(expected, bool) or isinstance(actual, bool):
            return None if expected is actual else f"{pointer or '/'}: expected {expected!r}, got {actual!r}"
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
            return None if expected == actual else f"{pointer or '/'}: expected {expected!r}, got {actual!r}"
        if isinstance(expected, dict) and isinstance(actual, dict):
            key_tokens = self.keys.get(pointer)
            if key_tokens:
                return self._dict_with_key_tokens(expected, actual, pointer, key_tokens)
            if self.ignored:
                expected = {k: v for k, v in expected.items() if k not in self.ignored}
                actual = {k: v for k, v in actual.items() if k not in self.ignored}
            if set(expected) != set(actual):
                missing = sorted(set(expected) - set(actual))
                extra = sorted(set(actual) - set(expected))
                return f"{pointer or '/'}: keys differ (missing {missing}, unexpected {extra})"
            for key in expected:
                diff = self.equal(expected[key], actual[key], f"{pointer}/{_escape(key)}")
                if diff:
                    return diff
            return None
        if isinstance(expected, list) and isinstance(actual, list):
            if len(expected) != len(actual):
                return f"{pointer or '/'}: expected {len(expected)} items, got {len(actual)}"
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                diff = self.equal(e, a, f"{pointer}/{i}")
                if diff:
                    return diff
            return None
        if type(expected) is type(actual) and expected == actual:
            return None
        return f"{pointer or '/'}: expected {expected!r}, got {actual!r}"

    def _dict_with_key_tokens(
        self, expected: dict[str, Any], actual: dict[str, Any], pointer: str, tokens: list[str]
    ) -> str | None:
        if len(expected) != len(actual):
            return f"{pointer}: expected {len(expected)} keys, got {len(actual)}"
        unused = dict(actual)
        for key, value in expected.items():
            pat = _pattern(key, tokens)
            hit = next((k for k in unused if pat.match(k)), None)
            if hit is None:
                return f"{pointer}: no key matches {key!r}"
            diff = self.equal(value, unused.pop(hit), f"{pointer}/{_escape(key)}")
            if diff:
                return diff
        return None


def _placeholder_pattern(expected: str) -> re.Pattern[str]:
    """``<...>`` segments and the known replacement words match any text."""
    words = "|".join(_HISTORY_PLACEHOLDERS)
    parts = re.split(r"(<[^<>]+>|lambda_function_\d+_name|" + words + ")", expected)
    body = "".join(".*" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile("^" + body + "$", re.DOTALL)


def _key_value_mask(expected: str, pointer: str) -> bool:
    """The recordings mask some fields (request ids, trace ids) by replacing the value with its
    own key name; such an expected value stands for any value."""
    return bool(pointer) and pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~") == expected


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def compare(case: dict[str, Any], actual: dict[str, Any]) -> str | None:
    expected = case["expected"]
    matcher = Matcher(case.get("wildcards") or [], case.get("tokens"))
    if set(case.get("needs") or []) & aws.SERVICE_NEEDS:
        # the HTTP response metadata of an emulated service (moto's headers, not AWS's servers'):
        # the paths the recording itself marks as transport-specific are not compared
        matcher.ignored = {p[3:] for p in case.get("ls_skip_verify_paths") or [] if p.startswith("$..")}
    if expected.get("status") != actual.get("status"):
        why = actual.get("cause") if actual.get("cause") is not None else actual.get("message")
        detail = f" ({actual.get('error')}: {str(why)[:300]})" if actual.get("error") else ""
        return f"status: expected {expected.get('status')}, got {actual.get('status')}{detail}"
    status = expected["status"]
    if status == "API_ERROR":
        if expected.get("error") != actual.get("error"):
            return f"error: expected {expected.get('error')!r}, got {actual.get('error')!r}"
        if "message" in expected and expected["message"] is not None:
            return matcher.equal(expected["message"], actual.get("message"), "/message")
        return None
    if status == "VALIDATION_RESULT":
        for key in ("result", "diagnostics"):
            diff = matcher.equal(expected.get(key), actual.get(key), f"/{key}")
            if diff:
                return diff
        return None
    if "output" in expected:
        diff = matcher.equal(expected["output"], actual.get("output"), "/output")
        if diff:
            return diff
    for key in ("error", "cause"):
        if key not in expected:
            continue
        want = expected[key]
        got = actual.get(key)
        if key == "cause" and expected.get("cause_format") == "object" and isinstance(got, str):
            try:
                got = json.loads(got)
            except ValueError:
                pass
        diff = matcher.equal(want, got, f"/{key}")
        if diff:
            return diff
    if case.get("start_api") == "TestState":
        return teststate.compare(case, actual, matcher)
    return None


def compare_history(case: dict[str, Any], events: list[dict[str, Any]]) -> str:
    """ "" when the recorded history matches AWS's, else the first difference."""
    expected_types = case.get("history_types") or []
    actual_types = [e["type"] for e in events]
    sorted_flag = "history_parallel_sorted" in (case.get("flags") or [])
    if sorted_flag:
        if Counter(expected_types) != Counter(actual_types):
            want, have = Counter(expected_types), Counter(actual_types)
            diff = (want - have) + (have - want)
            return f"history types differ (multiset): {dict(diff)}"
    elif expected_types != actual_types:
        for i, (e, a) in enumerate(zip(expected_types, actual_types, strict=False)):
            if e != a:
                return f"history event #{i + 1}: expected {e}, got {a}"
        return f"history: expected {len(expected_types)} events, got {len(actual_types)}"
    expected_events = case.get("history_events") or []
    if sorted_flag or len(expected_events) != len(events):
        return ""
    matcher = Matcher([], list(case.get("tokens") or []) + list(_HISTORY_PLACEHOLDERS))
    matcher.placeholder_words = True
    for want, got in zip(expected_events, events, strict=True):
        for key, value in want.items():
            if not key.endswith("EventDetails") and key not in ("id", "previousEventId"):
                continue
            have = got.get(key)
            diff = matcher.equal(_parse_half(value), _parse_half(have), f"/{want['type']}#{want['id']}/{key}")
            if diff:
                return f"history details: {diff}"
    return ""


# Replacement words the recordings use in histories without listing them among the case tokens.
_HISTORY_PLACEHOLDERS = (
    "timestamp",
    "date",
    "snf_role_arn",
    "lambda_function_name",
    "function_name",
    "activity_arn",
    "map_run_arn",
)


def _parse_half(value: Any) -> Any:
    """Undo the snapshot's half-parsing: JSON text fields inside event details become values."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _JSON_FIELDS:
                out[k] = _maybe_json(v)
            elif k == "assignedVariables" and isinstance(v, dict):
                out[k] = {name: _maybe_json(text) for name, text in v.items()}
            else:
                out[k] = _parse_half(v)
        return out
    return value


_JSON_FIELDS = {"input", "output", "parameters", "cause"}


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- running ---------------------------------------------------------------------------------------


def lambda_handler(source: str, handler: str) -> Callable[..., Any]:
    """Load a recorded Lambda handler file as Lambda would (``/var/task/<module>.py``)."""
    module, _, attr = handler.rpartition(".")
    filename = f"/var/task/{module}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": module}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[attr]  # type: ignore[no-any-return]


def _definition(case: dict[str, Any]) -> Any:
    if "definition_raw" in case and case.get("definition") is None:
        return case["definition_raw"]
    return case.get("definition")


async def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case; return the actual result in the shape of ``expected``."""
    stops = any(a.get("api") == "StopExecution" for a in case.get("actions") or [])
    # A case that stops its execution mid-way needs time to stand still until the stop.
    clock = ManualClock() if stops else ManualClock(autojump=0.005)
    async with (
        case_store() as url,
        Engine(url, clock=clock, region="us-east-1", account="111111111111", load_plugins=False) as engine,
    ):
        for spec in case.get("lambdas") or []:
            fn = lambda_handler(spec["source"], spec.get("handler", "handler.handler"))
            engine.register_function(spec.get("arn") or spec["name"], fn, error_format="lambda")
        if SERVICES is not None and set(case.get("needs") or []) & aws.SERVICE_NEEDS:
            engine.add_integration(SERVICES.integration)
            await asyncio.to_thread(SERVICES.provision, case)
            await SERVICES.child_machines(engine, case)
        api = case["start_api"]
        kind = case.get("state_machine_type") or "STANDARD"
        args = case.get("api_args") or {}
        definition = _definition(case)
        if api == "TestState":
            return await teststate.run(engine, case, definition)
        if api == "ValidateStateMachineDefinition":
            text = definition if isinstance(definition, str) else json.dumps(definition)
            result = await engine.validate_state_machine_definition(text, args.get("type", kind))
            return {"status": "VALIDATION_RESULT", **result.to_dict()}
        try:
            for call in case.get("prior_calls") or []:
                a = call.get("args") or {}
                if call.get("api") == "CreateStateMachine":
                    await engine.create_state_machine(
                        a.get("name", "prior"), call.get("definition"), type=a.get("type", "STANDARD")
                    )
                elif call.get("api") == "CreateActivity":
                    await engine.create_activity(a["name"])
                elif call.get("api") == "DeleteActivity":
                    await engine.delete_activity(a["activityArn"])
            machine = await engine.create_state_machine(
                args.get("name", "conformance"),
                definition,
                type=args.get("type", kind),
                version_description=args.get("versionDescription"),
                publish=bool(args.get("publish", False)),
            )
            if api == "CreateStateMachine":
                return {"status": "CREATED"}
            input_json = case["input_raw"] if "input_raw" in case else json.dumps(case.get("input"))
            name = case.get("execution_name")
            workers = await _activity_workers(engine, case, definition)
            if api == "StartSyncExecution":
                execution = await engine.start_sync_execution(machine.arn, input_json=input_json, name=name)
            elif case["expected"].get("status") == "RUNNING":
                # AWS recorded no terminal event: run until nothing more happens, then look
                started = await engine.start_execution(machine.arn, input_json=input_json, name=name)
                await asyncio.sleep(RUNNING_SETTLE_S)
                execution = await engine.describe_execution(started.execution_arn)
                history = await engine.get_execution_history(started.execution_arn)
                if str(execution.status) == "RUNNING":
                    await engine.stop_execution(started.execution_arn)
                for worker in workers:
                    worker.cancel()
                return {"status": str(execution.status), "history": history}
            elif any(a.get("api") == "StopExecution" for a in case.get("actions") or []):
                started = await engine.start_execution(machine.arn, input_json=input_json, name=name)
                await asyncio.sleep(0.05)  # let it reach its waiting state (the clock stands still)
                try:
                    await engine.stop_execution(started.execution_arn)
                except DurableError:
                    pass  # e.g. Express executions cannot be stopped
                execution = await engine.wait_for_execution(started.execution_arn)
            else:
                started = await engine.start_execution(machine.arn, input_json=input_json, name=name)
                execution = await engine.wait_for_execution(started.execution_arn)
        except DefinitionError as exc:
            return {"status": "API_ERROR", "error": exc.code, "message": exc.message}
        except DurableError as exc:
            return {"status": "API_ERROR", "error": exc.code, "message": exc.message}
        for worker in workers:
            worker.cancel()
        out: dict[str, Any] = {"status": str(execution.status)}
        if execution.status.value == "SUCCEEDED":
            out["output"] = execution.output
        out["error"] = execution.error
        out["cause"] = execution.cause
        if api == "StartExecution" and kind == "STANDARD":
            out["history"] = await engine.get_execution_history(execution.execution_arn)
        return out


async def _activity_workers(engine: Engine, case: dict[str, Any], definition: Any) -> list[asyncio.Task[Any]]:
    """Activities the definition uses, each with a worker answering as the recorded test's
    consumer did: echo the input, or fail with the recorded error and the input as cause."""
    text = json.dumps(definition)
    deleted = {
        (call.get("args") or {}).get("activityArn", "").rsplit(":", 1)[-1]
        for call in case.get("prior_calls") or []
        if call.get("api") == "DeleteActivity"
    }
    names = sorted(set(re.findall(r"arn:aws:states:[\w-]+:\d{12}:activity:([\w-]+)", text)) - deleted)
    if not names:
        return []
    expected = case["expected"]
    worker_name = None
    for event in case.get("history_events") or []:
        details = event.get("activityStartedEventDetails")
        if details is not None:
            worker_name = details.get("workerName")
    tasks = []
    for name in names:
        activity = await engine.create_activity(name)

        async def work(arn: str = activity.arn) -> None:
            while True:
                task = await engine.get_activity_task(arn, worker_name=worker_name, timeout=60)
                if task is None:
                    continue
                if expected.get("error") == "States.Timeout":
                    continue  # the recorded consumer took the task and never answered in time
                if expected.get("status") == "FAILED":
                    await engine.send_task_failure(
                        task["taskToken"], error=expected.get("error"), cause=task["input"]
                    )
                else:
                    await engine.send_task_success(task["taskToken"], output_json=task["input"])

        tasks.append(asyncio.ensure_future(work()))
    return tasks


async def evaluate(case: dict[str, Any]) -> Outcome:
    reason = skip_reason(case)
    if reason:
        return Outcome("skip", reason)
    try:
        actual = await asyncio.wait_for(run_case(case), CASE_TIMEOUT_S)
    except TimeoutError:
        return Outcome("fail", f"did not finish within {CASE_TIMEOUT_S:.0f} s")
    except Exception as exc:  # a crash of the engine is a failure of the case, with its trace
        return Outcome("fail", f"raised {type(exc).__name__}: {exc}")
    diff = compare(case, actual)
    history = None
    if case.get("history_types") and actual.get("history") is not None:
        history = compare_history(case, actual["history"])
    return Outcome("pass" if diff is None else "fail", diff or "", history)


def load_cases(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


async def run_all(
    cases: list[dict[str, Any]], verbose: bool = False, history_verbose: bool = False
) -> Report:
    """Run every case; a moto server serves the cases that need AWS services (where moto and
    durable-aws are installed)."""
    global SERVICES
    wanted = any(set(c.get("needs") or []) & aws.SERVICE_NEEDS for c in cases)
    if not wanted or aws.available() is not None:
        return await _run_all(cases, verbose, history_verbose)
    with aws.services() as SERVICES:
        try:
            return await _run_all(cases, verbose, history_verbose)
        finally:
            SERVICES = None


async def _run_all(cases: list[dict[str, Any]], verbose: bool, history_verbose: bool) -> Report:
    async with run_database():
        return await _run_cases(cases, verbose, history_verbose)


async def _run_cases(cases: list[dict[str, Any]], verbose: bool, history_verbose: bool) -> Report:
    report = Report()
    for case in cases:
        outcome = await evaluate(case)
        report.add(case, outcome)
        if history_verbose and outcome.history:
            print(f"HIST {case['id']}\n     {outcome.history}")
        if verbose or outcome.verdict == "fail":
            print(
                f"{outcome.verdict.upper():4} {case['id']}"
                + (f"\n     {outcome.reason}" if outcome.reason else "")
            )
    return report


def print_report(report: Report) -> None:
    print("\nper category (passed / failed / skipped):")
    for category in sorted(report.by_category):
        c = report.by_category[category]
        print(f"  {category:24} {c['pass']:4} / {c['fail']:4} / {c['skip']:4}")
    if report.skip_reasons:
        print("skipped, by reason:")
        for reason, n in report.skip_reasons.most_common():
            print(f"  {n:4}  {reason}")
    if report.history:
        print("history (GetExecutionHistory) match per category (matched / compared):")
        for category in sorted(report.history):
            h = report.history[category]
            print(f"  {category:24} {h['match']:4} / {h['match'] + h['differ']:4}")
    t = report.totals()
    print(f"{t['pass']} passed, {t['fail']} failed, {t['skip']} skipped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="cases file (JSON lines)")
    parser.add_argument("--category", action="append", help="only these categories")
    parser.add_argument("--id", help="only cases whose id contains this text")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    parser.add_argument("--history", action="store_true", help="print each history difference")
    parser.add_argument(
        "--store", help="run each case on an empty database: 'sqlite', or a postgresql:// URL of a server"
    )
    parser.add_argument(
        "--fresh-databases",
        action="store_true",
        help="with --store postgresql://: a new database per case (instead of one emptied before each)",
    )
    args = parser.parse_args(argv)
    global STORE, FRESH_DATABASES
    STORE = args.store
    FRESH_DATABASES = args.fresh_databases
    if not args.cases.exists():
        print(f"cases file not found: {args.cases}")
        print("0 passed, 0 failed, 0 skipped")
        return 0
    cases = load_cases(args.cases)
    if args.category:
        cases = [c for c in cases if c.get("category") in args.category]
    if args.id:
        cases = [c for c in cases if args.id in c["id"]]
    report = asyncio.run(run_all(cases, args.verbose, args.history))
    print_report(report)
    return 1 if report.totals()["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
