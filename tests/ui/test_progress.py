"""Each state's status read from a history: retries overcome, catches, Parallel branches, a
state still running, a redrive."""

from __future__ import annotations

from typing import Any

from durable.ui import read_progress


def _history(*events: tuple[str, int, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Events ``(type, previousEventId, details)`` numbered from 1."""
    out: list[dict[str, Any]] = []
    for number, (kind, previous, details) in enumerate(events, start=1):
        event: dict[str, Any] = {"id": number, "previousEventId": previous, "type": kind}
        if details is not None:
            event["someEventDetails"] = details
        out.append(event)
    return out


def test_a_retry_that_succeeds_is_succeeded_and_a_catch_is_caught() -> None:
    history = _history(
        ("ExecutionStarted", 0, {"input": "{}"}),
        ("TaskStateEntered", 1, {"name": "A", "input": "{}"}),
        ("LambdaFunctionFailed", 2, {"error": "Flaky"}),
        ("LambdaFunctionSucceeded", 3, {"output": "1"}),
        ("TaskStateExited", 4, {"name": "A", "output": "1"}),
        ("TaskStateEntered", 5, {"name": "B", "input": "1"}),
        ("TaskFailed", 6, {"error": "Boom", "cause": "why"}),
        ("TaskStateExited", 7, {"name": "B", "output": '{"Error":"Boom"}'}),
        ("PassStateEntered", 8, {"name": "H", "input": "{}"}),
        ("PassStateExited", 9, {"name": "H", "output": "{}"}),
        ("ExecutionSucceeded", 10, {"output": "{}"}),
    )
    progress = read_progress(history, "SUCCEEDED")
    assert progress.status == {"A": "succeeded", "B": "caught", "H": "succeeded"}
    (b,) = progress.visits["B"]
    assert (b.error, b.cause, b.entered, b.exited) == ("Boom", "why", 6, 8)
    assert progress.event_visit[7] == ("B", 0) and 1 not in progress.event_visit


def test_parallel_branches_a_failure_and_a_running_state() -> None:
    history = _history(
        ("ExecutionStarted", 0, None),
        ("ParallelStateEntered", 1, {"name": "P"}),
        ("ParallelStateStarted", 2, None),
        ("TaskStateEntered", 3, {"name": "X"}),
        ("PassStateEntered", 3, {"name": "Y"}),
        ("PassStateExited", 5, {"name": "Y", "output": "2"}),
        ("TaskFailed", 4, {"error": "E"}),
        ("ParallelStateFailed", 7, {"error": "E"}),
    )
    assert read_progress(history, "RUNNING").status == {"P": "running", "X": "running", "Y": "succeeded"}
    failed = read_progress(history, "FAILED")
    assert failed.status == {"P": "failed", "X": "failed", "Y": "succeeded"}
    assert failed.visits["P"][0].error == "E"  # the Parallel's own failure goes to the Parallel


def test_a_loop_counts_every_visit_and_a_redrive_drops_what_it_runs_again() -> None:
    history = _history(
        ("ExecutionStarted", 0, None),
        ("PassStateEntered", 1, {"name": "L"}),
        ("PassStateExited", 2, {"name": "L"}),
        ("PassStateEntered", 3, {"name": "L"}),
        ("PassStateExited", 4, {"name": "L"}),
        ("TaskStateEntered", 5, {"name": "T"}),
        ("ExecutionFailed", 6, {"error": "States.Runtime"}),
        ("ExecutionRedriven", 7, None),
        ("TaskStateEntered", 8, {"name": "T"}),
        ("TaskStateExited", 9, {"name": "T"}),
    )
    progress = read_progress(history, "SUCCEEDED")
    assert len(progress.visits["L"]) == 2 and progress.event_visit[4] == ("L", 1)
    assert progress.status == {"L": "succeeded", "T": "succeeded"}
    assert [v.entered for v in progress.visits["T"]] == [9]
    before = read_progress(history[:7], "FAILED")
    assert before.status["T"] == "failed"
