"""OpenTelemetry traces: a span per execution, state visit and task call, derived from the
committed history (Standard) or the ended one (Express), with the events' times; a traceHeader
continued; the same trace, with the same span ids, after the engine is reopened; the task calls'
trace context handed to integrations before they are invoked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from durable import Engine, ManualClock, TaskFailed, TaskRequest, TraceContext
from durable.runtime.trace_spans import TraceSeed, parse_trace_header

ROOT = Path(__file__).resolve().parents[2]
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793
CALLER_SPAN = 0x53995C3F42CD8AD8

FLOW = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": LAMBDA + "work",
                            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}],
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Side", "States": {"Side": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Check",
        },
        "Check": {"Type": "Task", "Resource": "arn:aws:states:::test:call", "End": True},
    },
}


class Recorder:
    """An integration that keeps the requests it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: list[TaskRequest] = []

    def handles(self, resource: str) -> bool:
        return resource.startswith("arn:aws:states:::test:")

    async def invoke(self, request: TaskRequest) -> Any:
        self.requests.append(request)
        return {"ok": True}


def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    p = TracerProvider()
    p.add_span_processor(SimpleSpanProcessor(exporter))
    return p, exporter


def engine(tracer_provider: Any, url: str | None = None, **options: Any) -> tuple[Engine, Recorder]:
    e = Engine(url, clock=ManualClock(autojump=0.005), load_plugins=False, tracing=tracer_provider, **options)
    calls = {"n": 0}

    @e.function("work")
    def work(event: Any, context: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TaskFailed("Flaky", "first call")
        return {"done": True}

    recorder = Recorder()
    e.add_integration(recorder)
    return e, recorder


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_standard_execution_is_a_trace_of_states_and_task_calls() -> None:
    tp, exporter = provider()
    e, recorder = engine(tp)
    async with e:
        sm = await e.create_state_machine("orders", FLOW)
        started = await e.start_execution(sm.arn, {"n": 1}, trace_header=XRAY)
        done = await e.wait_for_execution(started.execution_arn)
        assert str(done.status) == "SUCCEEDED"
        assert await e.execution_trace_header(started.execution_arn) == XRAY
        history = await e.get_execution_history(started.execution_arn)
    spans = exporter.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {TRACE_ID}  # one trace: the caller's
    names = by_name(spans)
    (execution,) = names["orders"]
    assert parent_id(execution) == CALLER_SPAN and execution.parent is not None and execution.parent.is_remote
    assert execution.attributes is not None
    assert execution.attributes["aws.step_functions.state_machine.arn"] == sm.arn
    assert execution.attributes["durable.execution.arn"] == started.execution_arn
    assert execution.attributes["durable.execution.status"] == "SUCCEEDED"
    # the execution's span lasts from ExecutionStarted to ExecutionSucceeded, at their times
    first, last = history[0], history[-1]
    assert first["type"] == "ExecutionStarted" and last["type"] == "ExecutionSucceeded"
    assert abs((execution.start_time or 0) - first["timestamp"].timestamp() * 1e9) < 1000  # (1 µs: dates)
    assert abs((execution.end_time or 0) - last["timestamp"].timestamp() * 1e9) < 1000
    exec_id = execution.context.span_id
    for state in ("Prepare", "Both", "Check"):
        (span,) = names[state]
        assert parent_id(span) == exec_id, state
        assert span.attributes is not None and span.attributes["durable.state.name"] == state
    (both,) = names["Both"]
    assert both.attributes is not None and both.attributes["durable.state.type"] == "Parallel"
    (work,) = names["Work"]
    (side,) = names["Side"]
    assert parent_id(work) == parent_id(side) == both.context.span_id  # a branch nests in its Parallel
    # a task span per call: the retried one failed (Flaky), the second succeeded
    calls = sorted(names["Work work"], key=lambda s: s.start_time or 0)
    assert [c.attributes["durable.task.attempt"] for c in calls if c.attributes] == [1, 2]
    assert [c.attributes["durable.task.retry_count"] for c in calls if c.attributes] == [0, 1]
    assert calls[0].status.status_code is StatusCode.ERROR
    assert calls[0].attributes is not None and calls[0].attributes["error.type"] == "Flaky"
    assert calls[1].status.status_code is StatusCode.UNSET
    assert {parent_id(c) for c in calls} == {work.context.span_id}
    assert calls[0].attributes is not None and calls[0].attributes["durable.task.resource"] == LAMBDA + "work"
    # the integration was handed the context of its call's span, before the call
    (request,) = recorder.requests
    (check_call,) = names["Check test:call"]
    context = request.trace_context
    assert isinstance(context, TraceContext)
    assert int(context.trace_id, 16) == TRACE_ID and int(context.span_id, 16) == check_call.context.span_id
    assert context.traceparent == f"00-{context.trace_id}-{context.span_id}-01"
    assert (
        context.xray_header == f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={context.span_id};Sampled=1"
    )


FAILING = {
    "StartAt": "Work",
    "States": {"Work": {"Type": "Task", "Resource": LAMBDA + "boom", "End": True}},
}


async def test_a_failed_execution_marks_its_spans_and_without_a_header_starts_its_own_trace() -> None:
    tp, exporter = provider()
    e = Engine(clock=ManualClock(autojump=0.005), load_plugins=False, tracing=tp)

    @e.function("boom")
    def boom(event: Any, context: Any) -> Any:
        raise TaskFailed("Bad", "it broke")

    async with e:
        sm = await e.create_state_machine("fails", FAILING)
        started = await e.start_execution(sm.arn, {})
        await e.wait_for_execution(started.execution_arn)
    names = by_name(exporter.get_finished_spans())
    (execution,) = names["fails"]
    assert execution.parent is None  # a root span
    expected = TraceSeed.of(started.execution_arn, started.start_date.timestamp(), None).trace_id
    assert f"{execution.context.trace_id:032x}" == expected
    for name in ("fails", "Work", "Work boom"):
        (span,) = names[name]
        assert span.status.status_code is StatusCode.ERROR, name
        assert span.attributes is not None and span.attributes["error.type"] == "Bad"
        assert span.status.description == "Bad: it broke"


WAITING = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Pass", "Next": "Ask"},
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::test:call.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"},
            "Next": "Last",
        },
        "Last": {"Type": "Pass", "End": True},
    },
}


async def test_a_resumed_execution_continues_its_trace_with_the_same_span_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traced.db'}"
    tp1, first = provider()
    e1, recorder = engine(tp1, url)
    async with e1:
        sm = await e1.create_state_machine("waits", WAITING)
        started = await e1.start_execution(sm.arn, {}, trace_header=XRAY)
        while not recorder.requests:
            await asyncio.sleep(0.01)
    (request,) = recorder.requests
    token = request.payload["token"]
    before = by_name(first.get_finished_spans())
    assert set(before) == {"First"}  # the rest had not ended when the engine closed
    tp2, second = provider()
    e2, _ = engine(tp2, url)
    async with e2:
        await e2.send_task_success(token, {"answer": 42})
        done = await e2.wait_for_execution(started.execution_arn)
        assert str(done.status) == "SUCCEEDED"
    after = by_name(second.get_finished_spans())
    assert "First" not in after  # not emitted twice
    assert {s.context.trace_id for s in second.get_finished_spans()} == {TRACE_ID}
    (execution,) = after["waits"]
    assert parent_id(execution) == CALLER_SPAN
    # the span emitted before the restart names as parent the execution span emitted after it
    assert parent_id(before["First"][0]) == execution.context.span_id
    (ask,) = after["Ask"]
    assert parent_id(ask) == execution.context.span_id
    (call,) = after["Ask test:call.waitForTaskToken"]
    assert request.trace_context is not None
    assert int(request.trace_context.span_id, 16) == call.context.span_id
    assert parent_id(call) == ask.context.span_id
    # the call's span starts when the task was scheduled (before the restart), ends when answered
    assert (ask.start_time or 0) <= (call.start_time or 0) <= (call.end_time or 0) <= (ask.end_time or 0)
    assert (call.start_time or 0) >= (before["First"][0].end_time or 0)


async def test_an_express_execution_is_traced_when_it_ends() -> None:
    tp, exporter = provider()
    e, recorder = engine(tp)
    async with e:
        sm = await e.create_state_machine("quick", FLOW, type="EXPRESS")
        result = await e.start_sync_execution(sm.arn, {}, trace_header=XRAY)
        assert str(result.status) == "SUCCEEDED" and result.history is None
    names = by_name(exporter.get_finished_spans())
    (execution,) = names["quick"]
    assert execution.attributes is not None and execution.attributes["durable.execution.type"] == "EXPRESS"
    assert execution.context.trace_id == TRACE_ID and parent_id(execution) == CALLER_SPAN
    (check,) = names["Check test:call"]
    (request,) = recorder.requests
    assert request.trace_context is not None
    assert int(request.trace_context.span_id, 16) == check.context.span_id
    assert {"Prepare", "Both", "Work", "Side", "Check"} <= set(names)


async def test_the_current_span_is_the_parent_when_no_header_is_given() -> None:
    tp, exporter = provider()
    e, _ = engine(tp)
    tracer = tp.get_tracer("app")
    async with e:
        sm = await e.create_state_machine(
            "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )
        with tracer.start_as_current_span("request") as span:
            started = await e.start_execution(sm.arn, {})
        await e.wait_for_execution(started.execution_arn)
        header = await e.execution_trace_header(started.execution_arn)
    assert header == f"00-{span.get_span_context().trace_id:032x}-{span.get_span_context().span_id:016x}-01"
    (execution,) = by_name(exporter.get_finished_spans())["child"]
    assert parent_id(execution) == span.get_span_context().span_id


async def test_no_tracing_no_trace_context_but_the_header_is_kept() -> None:
    e, recorder = engine(False)
    assert e.tracing is None
    async with e:
        sm = await e.create_state_machine("plain", FLOW)
        started = await e.start_execution(sm.arn, {}, trace_header=XRAY)
        await e.wait_for_execution(started.execution_arn)
        assert await e.execution_trace_header(started.execution_arn) == XRAY
    (request,) = recorder.requests
    assert request.trace_context is None


def test_trace_headers_parse_as_xray_or_w3c() -> None:
    assert parse_trace_header(XRAY) == ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)
    assert parse_trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0") == (
        "5759e988bd862e3fe1be46a994272793",
        None,
        False,
    )
    w3c = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert parse_trace_header(w3c) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", True)
    for bad in ("", "nonsense", "Root=2-x-y", "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        assert parse_trace_header(bad) is None
    seed = TraceSeed.of("arn:x", 1.5, None)
    assert seed == TraceSeed.of("arn:x", 1.5, None)  # derived: the same after a restart
    assert seed.span_id("state", 3) != seed.span_id("state", 4) != seed.span_id("task", 3)
    assert len(seed.trace_id) == 32 and len(seed.span_id("task", 3)) == 16


def test_without_the_setting_nothing_of_opentelemetry_is_imported() -> None:
    code = (
        "import sys, asyncio, durable\n"
        "async def main():\n"
        "    async with durable.Engine(load_plugins=False) as e:\n"
        "        d = {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}}\n"
        "        sm = await e.create_state_machine('m', d)\n"
        "        x = await e.start_execution(sm.arn, {})\n"
        "        await e.wait_for_execution(x.execution_arn)\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_tracing_asked_without_opentelemetry_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"  # as if not installed
        "import durable\n"
        "try:\n"
        "    durable.Engine(tracing=True)\n"
        "except durable.DurableError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert "pip install 'durable[otel]'" in done.stdout, done.stderr


def test_a_failing_exporter_never_fails_an_execution() -> None:
    class Broken:
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("exporter down")

    async def main() -> str:
        e, recorder = engine(Broken())
        async with e:
            sm = await e.create_state_machine("sturdy", FLOW)
            started = await e.start_execution(sm.arn, {})
            done = await e.wait_for_execution(started.execution_arn)
        assert recorder.requests and recorder.requests[0].trace_context is not None
        return str(done.status)

    assert asyncio.run(main()) == "SUCCEEDED"
    assert json.dumps(FLOW)  # (the definition is plain JSON)
