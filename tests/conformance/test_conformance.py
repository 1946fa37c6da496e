"""Run the AWS-recorded conformance corpus (../shared/conformance/cases.jsonl) in the suite.

Every in-scope case must pass; out-of-scope cases are skipped by the runner with a named
reason and counted. Where the corpus is absent (a clone outside this workplace) the test
skips with a message.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("conformance_run", HERE / "run.py")
assert spec and spec.loader
run = importlib.util.module_from_spec(spec)
sys.modules["conformance_run"] = run
spec.loader.exec_module(run)


def test_conformance_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    path = run.DEFAULT_CASES
    if not path.exists():
        pytest.skip(f"conformance corpus not found at {path}")
    cases = run.load_cases(path)
    report = asyncio.run(run.run_all(cases))
    run.print_report(report)
    totals = report.totals()
    with capsys.disabled():
        print(f"\nconformance: {totals['pass']} passed, {totals['fail']} failed, {totals['skip']} skipped")
        for reason, n in report.skip_reasons.most_common():
            print(f"  skipped {n:4}: {reason}")
    assert totals["pass"] > 0
    assert not report.failures, "\n".join(f"{cid}: {why}" for cid, why in report.failures)


def test_conformance_corpus_on_postgresql(pg_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole corpus again on PostgreSQL: one database for the run, emptied before each case
    (see run.py), so that every case meets a new database's content."""
    path = run.DEFAULT_CASES
    if not path.exists():
        pytest.skip(f"conformance corpus not found at {path}")
    cases = run.load_cases(path)
    run.STORE = pg_server.url()
    try:
        report = asyncio.run(run.run_all(cases))
    finally:
        run.STORE = None
    totals = report.totals()
    with capsys.disabled():
        print(
            f"\nconformance on PostgreSQL: {totals['pass']} passed, {totals['fail']} failed, "
            f"{totals['skip']} skipped"
        )
    assert totals["pass"] > 0
    assert not report.failures, "\n".join(f"{cid}: {why}" for cid, why in report.failures)


def test_a_reused_postgresql_database_is_emptied_before_each_case(pg_server: Any) -> None:
    """What one case leaves (its execution) is not there for the next, and the sequences start
    again: the second case sees what a new database holds."""
    case = {
        "id": "local::pass",
        "category": "local",
        "start_api": "StartExecution",
        "state_machine_type": "STANDARD",
        "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "input": {"n": 1},
        "expected": {"status": "SUCCEEDED", "output": {"n": 1}},
        "needs": ["none"],
        "wildcards": [],
        "tokens": [],
    }
    seen: list[list[int]] = []

    async def go() -> None:
        async with run.run_database():
            assert run._REUSED is not None
            for _ in range(2):
                assert (await run.evaluate(case)).verdict == "pass"
                conn = run._REUSED.conn
                rows = await (await conn.execute("SELECT id FROM executions")).fetchall()
                seen.append([r[0] for r in rows])

    run.STORE = pg_server.url()
    try:
        asyncio.run(go())
    finally:
        run.STORE = None
    assert seen == [[1], [1]]


def test_runner_cli_accepts_a_cases_file(tmp_path: Path) -> None:
    """`run.py --cases PATH` works on any file of the corpus format."""
    case = {
        "id": "local::pass_result",
        "category": "local",
        "start_api": "StartExecution",
        "state_machine_type": "STANDARD",
        "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "End": True}}},
        "input": {},
        "expected": {"status": "SUCCEEDED", "output": {"x": 1}},
        "needs": ["none"],
        "features": ["state:Pass"],
        "wildcards": [],
        "tokens": [],
    }
    skipped = dict(case, id="local::apigateway", needs=["apigateway"])
    wrong = dict(case, id="local::wrong", expected={"status": "SUCCEEDED", "output": {"x": 2}})
    path = tmp_path / "cases.jsonl"
    import json

    path.write_text("\n".join(json.dumps(c) for c in (case, skipped, wrong)) + "\n")
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--cases", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "1 passed, 1 failed, 1 skipped"
    assert proc.returncode == 1
    assert "needs AWS service(s) not emulated: apigateway" in proc.stdout


def test_a_status_mismatch_names_the_api_errors_message() -> None:
    case = {"expected": {"status": "SUCCEEDED", "output": {}}}
    actual = {
        "status": "API_ERROR",
        "error": "InvalidDefinition",
        "message": "Invalid State Machine Definition: 'x'",
    }
    why = run.compare(case, actual)
    assert why == (
        "status: expected SUCCEEDED, got API_ERROR (InvalidDefinition: Invalid State Machine Definition: 'x')"
    )
