"""The executing engine: state machines, integrations and executions behind one async API.

``Engine(url)`` *executes* the database at ``url``: opening it takes the database's ownership,
resumes what the last owner left running, and from then on runs every execution started,
answered, stopped or redriven from any process — this one, a :class:`~durable.Client`, or the
``durable`` command line. ``Engine()`` without a URL executes an in-memory store.

One engine executes a database at a time. An engine opened while another one executes it is a
*standby* (``engine.active`` is False): it works as a :class:`~durable.Client` — its starts,
answers and stops are recorded for the executing engine — and takes over, resuming everything,
the moment that engine stops or dies. ``Engine(url, standby=False)`` refuses instead, with
:class:`EngineAlreadyRunning`.

On PostgreSQL, ``Engine(url, shared=True)`` executes the database *together* with other engines
opened the same way (other processes, other machines): each runs the executions it started or
claimed, under a lease of ``lease_seconds`` (15 by default) that fences it out of anything it
lost; when one stops or dies, the others take its executions over (``docs/scale-out.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
import structlog

from ..errors import ExecutionNotRedrivable, StateMachineTypeNotSupported, ValidationError
from ..integrations.base import Integration
from ..integrations.functions import ErrorFormat, FunctionIntegration
from ..integrations.registry import IntegrationRegistry
from ..interpreter.program import Program
from ..interpreter.quotas import Quotas
from ..store.base import Conflict, ExecutionRecord, RequestRecord, Store, WriteBatch
from ..store.memory import MemoryStore
from .bus import EventBus
from .bus_task import LocalEventBus
from .catalog import Catalog
from .client import STOP_WAIT_SECONDS, Client
from .clock import Clock, DeadlineExceeded, with_deadline
from .delivery import EventDelivery
from .exec_logs import ExecutionLogs, LogSink
from .express import ExpressRun
from .host import POLL_SECONDS, Host
from .items import ItemSources
from .mapruns import MapRun
from .models import Execution, ExecutionStatus, StateMachine, StateMachineType, check_name, utc
from .nested import NestedExecutions
from .ownership import EngineAlreadyRunning, ownership_for
from .queries import execution_from
from .requests import Requests
from .retention import RETENTION_DEFAULT, Retention, retention_seconds
from .runner import CommandRunner
from .schedule_runner import ScheduleRunner
from .session import Session
from .standard import StandardExecutions
from .starting import own_input, redrive_batch, same_start
from .teststate import TestStateResult, run_test_state
from .timers import TimerKey
from .trace_spans import EventTuple
from .tracing import Tracing, TracingSetting

__all__ = ["Engine"]

F = TypeVar("F", bound=Callable[..., Any])

_decode = msgspec.json.decode
log = structlog.get_logger("durable.runtime")


class Engine(Session):
    """An embedded Step Functions engine that executes (see the module docstring).

    ``async with Engine() as engine:`` — register local functions, create state machines
    from ASL definitions (text or dict) and run executions. Time, ids and randomness come
    from the injected ``clock`` and ``seed`` (tests pass a :class:`ManualClock`).
    ``local_buckets`` maps S3 bucket names to local directories: a Distributed Map's
    ``ItemReader`` and ``ResultWriter`` read and write files there instead of calling S3.
    ``local_event_bus=False`` leaves ``events:putEvents`` Tasks to a plugin (durable-aws)
    instead of this engine's event bus. ``execution_logs`` (``"-"``, a path, a stream, or
    ``True`` for the application's structlog setup) receives each execution's history events as
    its state machine's ``loggingConfiguration`` asks (see :mod:`durable.runtime.exec_logs`).
    ``tracing=True`` (or a ``TracerProvider``) emits OpenTelemetry spans of every execution, state
    and task call and hands task calls their trace context (``pip install 'durable[otel]'``; the
    default reads ``DURABLE_TRACING``; see :mod:`durable.runtime.tracing`).
    ``shared=True`` (PostgreSQL only) executes the database together with other sharing engines,
    each under a lease of ``lease_seconds``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "111111111111",
        role_arn: str | None = None,
        seed: int | None = None,
        load_plugins: bool = True,
        quotas: Quotas | None = None,
        store: Store | None = None,
        standby: bool = True,
        poll_interval: float = POLL_SECONDS,
        role: str = "durable.Engine",
        retention: timedelta | None = RETENTION_DEFAULT,
        local_buckets: Mapping[str, str | os.PathLike[str]] | None = None,
        local_event_bus: bool = True,
        execution_logs: LogSink = None,
        execution_log_format: str | None = None,
        tracing: TracingSetting = None,
        shared: bool = False,
        lease_seconds: float | None = None,
    ) -> None:
        self.execution_logs = ExecutionLogs(execution_logs, execution_log_format)
        self.tracing = Tracing.configure(tracing)
        self._setup(url, store, clock, region, account, role_arn, seed, quotas)
        self.retention = retention_seconds(retention)  # seconds a closed execution is kept
        self.role = role  # how this engine names itself to a second one that finds the database busy
        self.standby = standby
        self.functions = FunctionIntegration()
        builtins: list[Integration] = [self.functions, NestedExecutions(self)]
        if local_event_bus:  # events:putEvents Tasks put on this bus (see runtime/bus_task.py)
            builtins.append(LocalEventBus(lambda: self.bus))
        self.registry = IntegrationRegistry(builtins, load_entry_points=load_plugins)
        # Distributed Map ItemReader/ResultWriter: these S3 buckets are local directories
        buckets = {name: os.fspath(path) for name, path in (local_buckets or {}).items()}
        self.runner = CommandRunner(self.clock, self.registry, region, account, ItemSources(buckets))
        if self.tracing is not None:
            self.runner.tracing = self.tracing
            self.tracing.describe = self._trace_describe
            self.tracing.history = self._trace_history
        self._executions: dict[str, Execution] = {}  # Express executions started asynchronously
        self._tasks: dict[str, asyncio.Task[Execution]] = {}
        self._finished_listeners: list[Callable[[Execution], None]] = []
        self._opened = False
        self._taking_over: asyncio.Task[None] | None = None
        self.standard = StandardExecutions(
            self.store,
            self.runner,
            self.clock,
            lambda text: self.compile(text, "STANDARD"),
            on_finished=self._finished,
            quotas=self.quotas,
            on_committed=self._committed if self.execution_logs.enabled or self.tracing else None,
        )
        self.shared = shared  # executes the database together with other engines (PostgreSQL)
        self.host = Host(
            self.store,
            self.standard,
            ownership_for(self.store, shared=shared, lease_seconds=lease_seconds),
            poll_interval=None if _in_memory(self.store) else poll_interval,
            on_machine_changed=self._machine_changed,
            on_express=self._express_request,
            on_event=self._event_request,
        )
        self.requests = Requests(self.store, self.clock, self.host)
        self.bus = EventBus(self.store, self.clock, self.requests, region=region, account=account)
        self.schedule_runner = ScheduleRunner(
            self.schedules,
            self.clock,
            self._start_target,
            poll=None if _in_memory(self.store) else poll_interval * 10,
        )
        self.delivery = EventDelivery(self.bus, self._start_target, self.host.consume, self.standard.spawn)
        self.catalog = Catalog(
            self.store,
            self.clock,
            self.requests,
            region=region,
            account=account,
            role_arn=self.role_arn,
            cache=not shared,  # sharing engines see each other's changes only in the store
            quotas=self.quotas,
        )
        self._standby_client: Client | None = None
        self._retention = Retention(self.store, self.clock, self.retention, self._purged)

    @property
    def active(self) -> bool:
        """True while this engine executes the database (False: a standby, or closed)."""
        return self.host.active

    @property
    def _client(self) -> Client:
        """What this engine is while another one executes the database (a standby)."""
        if self._standby_client is None:
            self._standby_client = Client(
                self.url or "",
                store=self.store,
                clock=self.clock,
                region=self.region,
                account=self.account,
                role_arn=self.role_arn,
                quotas=self.quotas,
            )
        return self._standby_client

    # -- lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the store, take the database's ownership and resume every resident execution —
        or, when another engine executes the database, become its standby (see the module doc)."""
        if self._opened:
            return
        await self.store.open()
        try:
            await self.catalog.load()
            try:
                await self.host.start(self.role)
            except EngineAlreadyRunning:
                if not self.standby:
                    raise
                log.info(
                    "another engine executes the database; standing by", holder=self.host.ownership.holder()
                )
                self._taking_over = asyncio.ensure_future(self._take_over())
            else:
                self._retention.start()
                self.schedule_runner.start()
        except BaseException:
            await self.store.close()
            raise
        self._opened = True

    async def _take_over(self) -> None:
        try:
            await self.host.start(self.role, standby=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store failed while recovering: try again
            log.error("could not take over the database", error=repr(exc))
            await asyncio.sleep(1.0)
            self._taking_over = asyncio.ensure_future(self._take_over())
            return
        await self.catalog.load()
        self._retention.start()
        self.schedule_runner.start()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._taking_over is not None:
            self._taking_over.cancel()
            await asyncio.gather(self._taking_over, return_exceptions=True)
            self._taking_over = None
        await self._retention.close()
        await self.schedule_runner.close()
        if self._opened:
            self._opened = False
            try:
                await self.host.close()
            finally:
                await self.store.close()
        self.functions.threads.shutdown()
        self.execution_logs.close()

    async def _committed(self, batch: WriteBatch) -> None:
        """A batch with events is committed: log them, and emit the trace spans they end."""
        if self.execution_logs.enabled:
            await self.execution_logs.committed(batch, self._resident_record, self._logging_config)
        if self.tracing is not None:
            await self.tracing.committed(batch, self._resident_record)

    async def _trace_describe(self, arn: str) -> tuple[str, float, str | None] | None:
        record = self._resident_record(arn) or await self.store.get_execution(arn)
        if record is None:
            return None
        return record.state_machine_arn, record.start_date, await self.versions.trace_header(arn)

    async def _trace_history(self, arn: str, before: int) -> list[EventTuple]:
        events, _ = await self.store.events(arn, limit=max(before - 1, 1))
        return [
            (
                e.id,
                e.type,
                e.previous_event_id,
                e.timestamp,
                None if e.details is None else _decode(e.details),
            )
            for e in events
            if e.id < before
        ]

    def _resident_record(self, arn: str) -> ExecutionRecord | None:
        run = self.standard.running.get(arn)
        return run.record if run is not None else None

    async def _logging_config(self, state_machine_arn: str) -> dict[str, Any] | None:
        base = ":".join(state_machine_arn.split(":")[:7])  # a version's: its state machine's
        machine = self.catalog.cached(base) or await self.catalog.find(base)
        return machine.logging_configuration if machine is not None else None

    async def purge_executions(self, older_than: timedelta | None = None) -> int:
        """Delete now every closed execution (SUCCEEDED, FAILED, TIMED_OUT or ABORTED) whose
        stop date is more than ``older_than`` (default: the engine's ``retention``) before the
        engine's clock, with its history; return how many were deleted. RUNNING executions are
        never touched. The executing engine also does this in the background (see
        :mod:`durable.runtime.retention`)."""
        seconds = self.retention if older_than is None else retention_seconds(older_than)
        if seconds is None:
            raise ValidationError(
                "purge_executions needs older_than when the engine keeps executions forever"
            )
        await self._ensure_open()
        return await self._retention.purge(seconds)

    def _purged(self, arns: list[str]) -> None:
        """Deleted executions are no longer described from the recently-finished cache."""
        finished = self.standard.finished
        for arn in arns:
            finished.pop(arn, None)

    async def _ensure_open(self) -> None:
        if not self._opened:
            await self.open()

    def on_execution_finished(self, listener: Callable[[Execution], None]) -> None:
        """Call ``listener(execution)`` for each Standard execution this engine finishes."""
        self._finished_listeners.append(listener)

    def _finished(self, record: ExecutionRecord) -> None:
        if self._finished_listeners:
            execution = execution_from(record)
            for listener in self._finished_listeners:
                listener(execution)

    # -- integrations ------------------------------------------------------------------------------
    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        blocking: bool = True,
        error_format: ErrorFormat = "message",
    ) -> None:
        """Make ``fn(event, context)`` answer the Lambda function ``name`` (a name or an ARN)."""
        self.functions.register(name, fn, blocking=blocking, error_format=error_format)

    def function(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Decorator form of :meth:`register_function`."""

        def deco(fn: F) -> F:
            self.register_function(name or fn.__name__, fn, **options)
            return fn

        return deco

    def add_integration(self, integration: Integration, *, override: bool = False) -> None:
        """Run the resources ``integration`` handles with it. ``override=True``: before local
        functions and every other integration (a test's mocks)."""
        self.registry.add(integration, override=override)

    def compile(
        self, definition: str | bytes | dict[str, Any], type: StateMachineType | str = "STANDARD"
    ) -> Program:
        """Validate and compile a definition (cached by text and type)."""
        return self.catalog.compile(definition, type)

    def _machine_changed(self, arn: str) -> None:
        self.catalog.forget(arn)

    # -- executions --------------------------------------------------------------------------------
    async def start_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
        trace_header: str | None = None,
    ) -> Execution:
        """Start an execution (AWS ``StartExecution``) and return it RUNNING.

        A STANDARD execution is durable: its start is committed to the store before this
        returns, and it resumes after a crash. An EXPRESS one runs in memory. ``trace_header``
        (AWS X-Ray's ``Root=...;Parent=...;Sampled=1`` or a W3C ``traceparent``) is kept with the
        execution; an engine that traces continues that trace (without one: the current
        OpenTelemetry span's, if any).
        """
        if self.tracing is not None:
            trace_header = self.tracing.header_for_start(trace_header)
        machine, value, text, exec_name, arn = await self._new_execution(
            state_machine_arn, input, input_json, name, trace_header
        )
        if machine.type is StateMachineType.EXPRESS:
            return self._start_express(machine, value, exec_name, arn, trace_header)
        if not self.active:
            return await self._client.start_execution(
                state_machine_arn, value, name=exec_name, trace_header=trace_header
            )
        if name is not None:  # generated names are unique
            existing = await self.store.get_execution(arn)
            if existing is not None:
                return execution_from(same_start(existing, value))
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=machine.arn,
            name=exec_name,
            status="RUNNING",
            start_date=self.clock.now(),
            input=text,
            definition=machine.definition,
        )
        program = self.compile(machine.definition, "STANDARD")
        if self.tracing is not None:
            self.tracing.remember(arn, record.start_date, trace_header)
        existing = await self.standard.start_execution(
            record, machine.name, machine.role_arn, program.timeout_seconds, input_value=value
        )
        if existing is not None:
            if self.tracing is not None:
                self.tracing.forget(arn)  # another start's: found again from the store
            return execution_from(same_start(existing, value))
        return execution_from(record)

    async def start_sync_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
        record_history: bool = False,
        trace_header: str | None = None,
    ) -> Execution:
        """Run an EXPRESS execution to completion (AWS ``StartSyncExecution``)."""
        machine = self.catalog.cached(state_machine_arn)
        if machine is None:
            await self._ensure_open()
            machine = (await self.versions.resolve(state_machine_arn))[0]  # a version's, an alias's
        if machine.type is not StateMachineType.EXPRESS:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        value = own_input(input, input_json, self.quotas.payload_bytes)
        if name is None:
            exec_name, suffix = self.services.uuid4_pair()
            arn = f"{self._express_prefix(machine)}{exec_name}:{suffix}"
        else:
            exec_name = name
            check_name(exec_name)
            arn = self._execution_arn(machine, exec_name)
        if self.tracing is not None:
            self.tracing.remember(arn, self.clock.now(), self.tracing.header_for_start(trace_header))
        run = self._express_run(machine, value, exec_name, arn, sync=True, record_history=record_history)
        return run.now() if run.pure else await run.to_end()

    def _start_express(
        self, machine: StateMachine, value: Any, name: str, arn: str, trace_header: str | None = None
    ) -> Execution:
        now = self.clock.now()
        if self.tracing is not None:
            self.tracing.remember(arn, now, trace_header)
        start = utc(now)
        placeholder = Execution(arn, machine.arn, name, ExecutionStatus.RUNNING, start, value)
        self._executions[arn] = placeholder

        async def run() -> Execution:
            result = await self._express_run(
                machine, value, name, arn, sync=False, record_history=False
            ).to_end()
            self._executions[arn] = result
            return result

        self._tasks[arn] = asyncio.ensure_future(run())
        return placeholder

    def _express_request(self, request: RequestRecord) -> None:
        """An Express execution started by a client: run it here."""
        data = _decode(request.payload or "{}")
        machine = self.catalog.cached(data.get("stateMachineArn", ""))

        async def start() -> None:
            found = machine or await self.catalog.find(data.get("stateMachineArn", ""))
            if found is not None:
                definition = data.get("definition")
                if isinstance(definition, str) and definition != found.definition:
                    # started on a version or an alias: that version's definition runs
                    found = dataclasses.replace(found, definition=definition)
                self._start_express(found, data.get("input"), data.get("name", ""), request.execution_arn)

        self.standard.spawn(start())

    def _event_request(self, request: RequestRecord) -> None:
        """An accepted event (put here or by a client): deliver it to its rules' targets."""
        self.delivery.dispatch(request)

    async def _start_target(self, state_machine_arn: str, input_json: str, name: str) -> Execution:
        return await self.start_execution(state_machine_arn, input_json=input_json, name=name)

    async def events_delivered(self) -> None:
        """Wait until every event this engine has been handed so far is delivered (each leaves
        the inbox with the host's next poll)."""
        await self.delivery.idle()
        await self.host.settle()

    def _express_run(
        self, machine: StateMachine, value: Any, name: str, arn: str, *, sync: bool, record_history: bool
    ) -> ExpressRun:
        express = machine.type is StateMachineType.EXPRESS
        return ExpressRun(
            self.runner,
            self.services,
            self.catalog.compile(machine.definition, machine.type),  # a StrEnum: its own key
            machine,
            execution_arn=arn,
            name=name,
            input=value,
            express=express and sync,
            max_seconds=self.quotas.express_seconds if express else None,
            record_history=record_history,
            payload_limit=self.quotas.payload_bytes,
            logs=self.execution_logs,
            log_config=machine.logging_configuration,
            tracing=self.tracing,
        )

    async def test_state(
        self,
        definition: str | bytes | dict[str, Any],
        *,
        input: Any = None,
        input_json: str | None = None,
        role_arn: str | None = None,
        inspection_level: str | None = None,
        reveal_secrets: bool = False,
        variables: str | dict[str, Any] | None = None,
        state_name: str | None = None,
        mock: dict[str, Any] | None = None,
        context: str | dict[str, Any] | None = None,
        state_configuration: dict[str, Any] | None = None,
    ) -> TestStateResult:
        """AWS ``TestState``: run one state (or ``state_name`` of a machine) once and return its
        status, output, next state and the inspection data of ``inspection_level`` (INFO, DEBUG,
        TRACE). ``mock`` (``{"result": JSON text}`` or ``{"errorOutput": {"error", "cause"}}``,
        and ``fieldValidationMode``) and ``state_configuration`` (``retrierRetryCount``,
        ``errorCausedByState``, ``mapIterationFailureCount``, ``mapItemReaderData``) take the
        API's shapes. A Task that is not mocked really calls its resource through this engine's
        integrations. Request errors raise ``DurableError`` (``InvalidDefinition``,
        ``ValidationException``) with AWS's messages; nothing is stored."""
        return await run_test_state(
            self.runner,
            self.services,
            definition,
            input=input,
            input_json=input_json,
            role_arn=role_arn,
            inspection_level=inspection_level,
            reveal_secrets=reveal_secrets,
            variables=variables,
            state_name=state_name,
            mock=mock,
            context=context,
            state_configuration=state_configuration,
        )

    async def describe_execution(self, execution_arn: str) -> Execution:
        express = self._executions.get(execution_arn)
        if express is not None:
            return express
        return await super().describe_execution(execution_arn)

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int | None = None,
        map_run_arn: str | None = None,
    ) -> list[Execution]:
        """Executions newest first (Standard ones from the store, then in-memory Express ones);
        with ``map_run_arn``, that Map Run's child executions."""
        out = await super().list_executions(
            state_machine_arn, status, max_results=max_results, map_run_arn=map_run_arn
        )
        if map_run_arn is not None:
            return out
        out.extend(
            e
            for e in self._executions.values()
            if (state_machine_arn is None or e.state_machine_arn == state_machine_arn)
            and (status is None or str(e.status) == status)
        )
        return out if max_results is None else out[:max_results]

    async def wait_for_execution(self, execution_arn: str) -> Execution:
        """Wait until the execution stops; return its final record."""
        task = self._tasks.get(execution_arn)
        if task is not None:
            try:
                return await asyncio.shield(task)
            finally:
                if task.done():
                    self._tasks.pop(execution_arn, None)
        await self._ensure_open()
        if not self.active:
            return await self._client.wait_for_execution(execution_arn)
        if self.shared:
            return await self._wait_shared(execution_arn)
        record = await self.standard.wait(execution_arn)
        if record is None:
            return await self.describe_execution(execution_arn)  # Express, or raises
        return execution_from(record, self.standard.take_final_values(record))

    async def _wait_shared(self, execution_arn: str) -> Execution:
        """Sharing engines: whichever engine runs the execution (it may be handed to another one
        while it is waited for), the store says when it ends; an end here is seen at once."""
        polled = asyncio.ensure_future(self.queries.wait_for_execution(execution_arn))
        local = asyncio.ensure_future(self.standard.wait(execution_arn))
        try:
            await asyncio.wait((polled, local), return_when=asyncio.FIRST_COMPLETED)
            if polled.done():
                return polled.result()
            record = local.result()
            if record is None:
                return await self.describe_execution(execution_arn)  # Express, or raises
            if record.status != "RUNNING":
                return execution_from(record, self.standard.take_final_values(record))
            return await polled  # handed over to another engine: the store says when it ends
        finally:
            for task in (polled, local):
                task.cancel()
            if not local.done() or local.cancelled():  # every waiter polls too: drop the flag
                self.standard.done.pop(execution_arn, None)

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> Execution:
        """Abort a running Standard execution (AWS ``StopExecution``)."""
        await self.describe_execution(execution_arn)
        if not self.active:
            return await self._client.stop_execution(execution_arn, error=error, cause=cause)
        if self.shared and execution_arn not in self.standard.running:
            # its owner may be another engine: a STOP request reaches whichever executes it
            await self.requests.stop(execution_arn, error, cause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queries.wait_for_execution(execution_arn), STOP_WAIT_SECONDS)
            return await self.describe_execution(execution_arn)
        await self.standard.stop(execution_arn, "ABORTED", error, cause)
        return await self.describe_execution(execution_arn)

    async def redrive_execution(self, execution_arn: str) -> Execution:
        """Redrive a FAILED, ABORTED or TIMED_OUT Standard execution (AWS ``RedriveExecution``):
        it runs again from its unsuccessful states; what succeeded is not run again."""
        if not self.active:
            await self._ensure_open()
            return await self._client.redrive_execution(execution_arn)
        record, timeout = await self._redrivable(execution_arn)
        batch, redriven = await redrive_batch(self.store, record, timeout, self.clock.now())
        try:
            await self.standard.commit(batch)
        except Conflict:  # redriven (or changed) by someone else meanwhile
            record = await self.queries.record(execution_arn)
            raise ExecutionNotRedrivable(
                f"Execution is {record.status} and cannot be redriven: '{execution_arn}'"
            ) from None
        if timeout is not None:
            due = (
                self.clock.now() + timeout
                if redriven.redrive_date is None
                else redriven.redrive_date + timeout
            )
            self.standard.scheduler.arm(execution_arn, TimerKey.execution_timeout(), due)
        self.standard.adopt(execution_arn)
        return execution_from(redriven)

    # -- Map Runs ----------------------------------------------------------------------------------
    async def describe_map_run(self, map_run_arn: str) -> MapRun:
        """A Distributed Map's Map Run (AWS ``DescribeMapRun``): status, limits, counts.
        Raises :class:`~durable.errors.ResourceNotFound` for an unknown ARN."""
        await self._ensure_open()
        return await self.standard.map_runs.get(map_run_arn)

    async def list_map_runs(self, execution_arn: str) -> list[MapRun]:
        """The Map Runs an execution started, oldest first (AWS ``ListMapRuns``)."""
        await self.describe_execution(execution_arn)
        return await self.standard.map_runs.list(execution_arn)

    async def update_map_run(
        self,
        map_run_arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_percentage: float | None = None,
        tolerated_failure_count: int | None = None,
    ) -> MapRun:
        """Change a running Map Run's limits (AWS ``UpdateMapRun``): the children not started yet
        run under them. An ended Map Run raises :class:`~durable.errors.ValidationError`."""
        await self._ensure_open()
        return await self.standard.map_runs.update(
            map_run_arn,
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=tolerated_failure_percentage,
            tolerated_failure_count=tolerated_failure_count,
        )

    # -- activities --------------------------------------------------------------------------------
    async def _wait_for_activity(self, activity_arn: str, until: float) -> None:
        if not self.active or self.shared:
            # the executing engine (or another sharing one) offers tasks elsewhere: look again shortly
            await self._client._wait_for_activity(activity_arn, until)
            return
        flag = self.standard.activity_flag(activity_arn)
        flag.clear()
        try:
            await with_deadline(self.clock, until, flag.wait())
        except DeadlineExceeded:
            return


def _in_memory(store: Store) -> bool:
    return isinstance(store, MemoryStore)
