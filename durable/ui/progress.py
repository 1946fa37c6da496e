"""What an execution did in each state, read from its history (AWS ``HistoryEvent`` shapes).

Every ``<Type>StateEntered`` event opens a *visit* of that state; its ``<Type>StateExited``
closes it. Between the two, the events that belong to the visit (found through
``previousEventId``, or for a Map's or a Parallel's own events the innermost open Map or
Parallel) may report a failure (``TaskFailed``, ``LambdaFunctionTimedOut``, ``MapStateFailed``,
...) or a success (``TaskSucceeded``, ...); the last of them counts, so a failure a Retry
overcame does not. A visit is then:

- ``succeeded``: closed, its last outcome not a failure;
- ``caught``: closed after a failure: a Catch took the error to its ``Next`` state;
- ``running``: still open while the execution runs (a task waiting on a token, a Wait);
- ``failed``: still open when the execution stopped (the failure ended the execution, or the
  execution was stopped or timed out there). A ``Fail`` state's visit is one of these.

A state's status is its visits' most telling one: running, then failed, caught, succeeded; a
state never entered is ``not-reached``. ``ExecutionRedriven`` drops the visits left open by the
run it redrives (they are run again). Distributed Map children have histories of their own:
their states stay ``not-reached`` in the parent's drawing (their Map Run counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RANK", "Progress", "Visit", "read_progress"]

RANK = ("running", "failed", "caught", "succeeded")  # most telling first

_FAILURES = frozenset(
    {
        "TaskFailed",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "ActivityFailed",
        "ActivityScheduleFailed",
        "ActivityTimedOut",
        "MapStateFailed",
        "MapStateAborted",
        "MapRunFailed",
        "MapRunAborted",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "EvaluationFailed",
    }
)
_SUCCESSES = frozenset(
    {
        "TaskSucceeded",
        "LambdaFunctionSucceeded",
        "ActivitySucceeded",
        "MapStateSucceeded",
        "MapRunSucceeded",
        "ParallelStateSucceeded",
    }
)


@dataclass(eq=False)  # compared by identity
class Visit:
    """One visit of a state: its input, and its output once it exited."""

    name: str
    type: str  # the ASL state type the events name ("Task", "Map", ...)
    entered: int  # the id of its StateEntered event
    input: str | None = None
    exited: int | None = None
    output: str | None = None
    failed: bool = False  # the last outcome reported in the visit was a failure
    error: str | None = None
    cause: str | None = None
    status: str = "running"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "entered": self.entered,
            "exited": self.exited,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "status": self.status,
        }


@dataclass
class Progress:
    status: dict[str, str] = field(default_factory=dict)  # state name -> its status
    visits: dict[str, list[Visit]] = field(default_factory=dict)  # state name -> its visits, in order
    event_visit: dict[int, tuple[str, int]] = field(default_factory=dict)  # event id -> (state, visit)


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def read_progress(history: list[dict[str, Any]], execution_status: str) -> Progress:
    """Each state's status and visits, from an execution's whole history (oldest first) and its
    current status (``RUNNING``, ``SUCCEEDED``, ...)."""
    progress = Progress()
    open_visits: list[Visit] = []  # in the order they were entered
    of_event: dict[int, Visit] = {}
    for event in history:
        kind = str(event.get("type", ""))
        event_id = int(event.get("id", 0))
        details = _details(event)
        visit: Visit | None = None
        if kind.endswith("StateEntered"):
            name = str(details.get("name", ""))
            visit = Visit(name, kind[: -len("StateEntered")], event_id, input=details.get("input"))
            progress.visits.setdefault(name, []).append(visit)
            open_visits.append(visit)
        elif kind.endswith("StateExited"):
            name = str(details.get("name", ""))
            visit = _closing(of_event.get(int(event.get("previousEventId", 0))), open_visits, name)
            if visit is not None:
                visit.exited, visit.output = event_id, details.get("output")
                visit.status = "caught" if visit.failed else "succeeded"
                open_visits.remove(visit)
        elif kind == "ExecutionRedriven":
            for left in open_visits:  # the redrive runs them again
                progress.visits[left.name].remove(left)
            open_visits.clear()
        elif kind.startswith(("Map", "Parallel")):
            owner = "Map" if kind.startswith("Map") else "Parallel"
            visit = next((v for v in reversed(open_visits) if v.type == owner), None)
        else:
            visit = of_event.get(int(event.get("previousEventId", 0)))
        if visit is None:
            continue
        of_event[event_id] = visit
        if kind in _FAILURES:
            visit.failed, visit.error, visit.cause = True, details.get("error"), details.get("cause")
        elif kind in _SUCCESSES:
            visit.failed = False
    for left in open_visits:
        left.status = "running" if execution_status == "RUNNING" else "failed"
    where: dict[int, tuple[str, int]] = {}
    for name, visits in progress.visits.items():
        where.update((id(visit), (name, index)) for index, visit in enumerate(visits))
        if visits:
            progress.status[name] = min((v.status for v in visits), key=RANK.index)
    for event_id, visit in of_event.items():
        if id(visit) in where:  # (not a visit a redrive dropped)
            progress.event_visit[event_id] = where[id(visit)]
    return progress


def _closing(candidate: Visit | None, open_visits: list[Visit], name: str) -> Visit | None:
    """The open visit an Exited event of ``name`` closes: the one its previous event belongs to,
    else the latest open visit of that name."""
    if candidate is not None and candidate.name == name and candidate in open_visits:
        return candidate
    return next((v for v in reversed(open_visits) if v.name == name), None)
