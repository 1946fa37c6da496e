"""Property-based fuzzing of every public entry point with hostile values.

Whatever goes in — lone surrogates, NaN and Infinity, integers of thousands of digits, nesting
hundreds of levels deep, invalid UTF-8, oversized text, non-JSON Python objects — the only
outcomes allowed are success or a typed error (:class:`durable.DurableError`); the command line
exits 0, 1 or 2, never 70; and afterwards no execution is RUNNING without an owner running it
(every RUNNING execution is resident in the engine, or parked on a timer or a token).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable import DurableError, Engine
from durable.api.cli import main
from durable.runtime.timers import TimerKey

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
ECHO = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
            "Parameters": {"v.$": "$"},
            "ResultPath": "$.r",
            "Next": "Ask",
        },
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        },
    },
}


def deep(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # includes lone surrogates
    st.sampled_from(["\ud800", "x\udfff", "\x00", "a" * 300_000]),
)
values = st.one_of(
    st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=12,
    ),
    st.integers(min_value=400, max_value=1200).map(deep),
    st.builds(object),
    st.sets(st.integers(), max_size=3),
)
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "[" * 700 + "]" * 700,
            "[" * 5000 + "]" * 5000,
            "1" * 5000,
            "NaN",
            '{"a": Infinity}',
            '"\\ud800"',
            "1e99999",
            '{"a": 1',
            "",
            " ",
            '"' + "x" * 300_000 + '"',
        ]
    ),
    values.map(lambda v: json.dumps(v, default=str, allow_nan=True) if not isinstance(v, str) else v),
)
raw = st.one_of(texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=40))
names = st.one_of(st.text(max_size=90), st.sampled_from(["ok", "y\ud800", "a b", "x" * 81, ""]))

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


async def typed(call: Any) -> Any:
    """Run ``call``: success or a DurableError; anything else fails the test."""
    try:
        return await call
    except DurableError as exc:
        return exc


async def assert_owned(engine: Engine) -> None:
    """No execution RUNNING without an owner: each is resident, or parked on a timer or token."""
    for execution in await engine.list_executions(status="RUNNING"):
        arn = execution.execution_arn
        if ":express:" in arn or arn in engine.standard.running:
            continue
        parks = [TimerKey.parse(t.key) for t in await engine.store.execution_timers(arn)]
        if any(k is not None and k.parks for k in parks):
            continue
        # the listing is one read and the checks above are others: an execution that was finishing
        # (an answer is applied in the background) may have ended in between; only one still
        # RUNNING now, neither resident nor parked, has nobody running it
        # (residence is looked at first: an execution leaves it only after its end is committed)
        resident = arn in engine.standard.running
        now = await engine.describe_execution(arn)
        assert resident or str(now.status) != "RUNNING", f"{arn} is RUNNING with nobody running it"


async def exercise(url: str | None, name: str, value: Any, text: str, data: bytes) -> None:
    tokens: list[str] = []
    engine = Engine(url, load_plugins=False)
    engine.register_function("echo", lambda event, ctx: value, blocking=False)
    engine.register_function("ask", lambda event, ctx: tokens.append(event["token"]) or {}, blocking=False)
    async with engine:
        await typed(engine.create_state_machine(name, PASS))
        await typed(
            engine.create_state_machine(
                "hostile", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value, "End": True}}}
            )
        )
        await typed(engine.create_state_machine("text", text))
        await typed(engine.create_state_machine("bytes", data))
        await engine.validate_state_machine_definition(text)
        await engine.validate_state_machine_definition(data)
        echo = await engine.create_state_machine("echo", ECHO)
        express = await engine.create_state_machine("fast", PASS, type="EXPRESS")
        for started in (
            await typed(engine.start_execution(echo.arn, value)),
            await typed(engine.start_execution(echo.arn, input_json=text)),
            await typed(engine.start_execution(echo.arn, input_json=data)),
            await typed(engine.start_execution(echo.arn, {"k": 1}, name=name)),
        ):
            if not isinstance(started, DurableError):
                done = await typed(asyncio.wait_for(_settled(engine, started.execution_arn), 10))
                assert not isinstance(done, TimeoutError)
        await typed(engine.start_sync_execution(express.arn, value))
        await typed(engine.start_sync_execution(express.arn, input_json=data))
        for token in [*tokens, text, name]:
            await typed(engine.send_task_success(token, value))
            await typed(engine.send_task_success(token, output_json=text))
            await typed(engine.send_task_failure(token, error=name, cause=text))
            await typed(engine.send_task_heartbeat(token))
        await assert_owned(engine)


async def _settled(engine: Engine, arn: str) -> None:
    """Until the execution finished or waits for its token."""
    while True:
        execution = await engine.describe_execution(arn)
        if str(execution.status) != "RUNNING" or arn not in engine.standard.running:
            return
        await asyncio.sleep(0.005)


@FUZZ
@given(name=names, value=values, text=texts, data=raw)
def test_hostile_values_through_the_python_api_in_memory(
    name: str, value: Any, text: str, data: bytes
) -> None:
    asyncio.run(exercise(None, name, value, text, data))


@settings(FUZZ, max_examples=15)
@given(name=names, value=values, text=texts, data=raw)
def test_hostile_values_through_the_python_api_on_sqlite(
    name: str, value: Any, text: str, data: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(exercise(str(Path(tmp) / "fuzz.db"), name, value, text, data))


@settings(FUZZ, max_examples=25)
@given(text=texts, data=raw, name=names)
def test_hostile_input_to_the_command_line_never_an_internal_error(
    text: str, data: bytes, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        definition = Path(tmp) / "def.json"
        definition.write_bytes(data)
        good = Path(tmp) / "good.json"
        good.write_text(json.dumps(PASS))
        for args in (
            ["validate", str(definition)],
            ["run", str(definition)],
            ["run", str(good), "--input", text],
            ["run", str(good), "--input", "@" + str(definition)],
            ["start", str(good), "--db", str(Path(tmp) / "x.db"), "--input", text, "--name", name or "n"],
            [
                "send-task-success",
                "--db",
                str(Path(tmp) / "x.db"),
                "--token",
                text or "t",
                "--output",
                text or "{}",
            ],
        ):
            if "\x00" in "".join(args):
                continue  # not passable through an operating system's argv
            code = main(args)
            _, err = capsys.readouterr()
            assert code in (0, 1, 2), (args[:2], code, err[-500:])
            assert "Traceback" not in err
