"""A client of a database: records requests and reads, never executes.

``Client(url)`` is what a process uses when another one executes the database (``durable
run-engine``, or a service holding an :class:`~durable.Engine`): starting, answering, stopping
and redriving executions are recorded in the database for that engine, which picks each up
within about ``poll_interval`` seconds; describing, listing and reading histories read the
database. A client never resumes or runs an execution, so opening any number of clients next to
the engine never runs anything twice.

Started or answered while no engine runs, an execution simply waits in the database until one
opens. A stop cannot wait for that (AWS's ``StopExecution`` ends the execution before it
returns): when no engine owns the database, the client takes its ownership for the moment it
needs to record the execution's end itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import DurableError, ExecutionNotRedrivable
from ..integrations.registry import IntegrationRegistry
from ..interpreter.quotas import Quotas
from ..store.base import Conflict, ExecutionRecord, Store, WriteBatch
from ..store.memory import MemoryStore
from .bus import EventBus
from .catalog import Catalog
from .clock import Clock
from .mapruns import MapRun, MapRuns
from .models import Execution, ExecutionStatus, StateMachineType, utc
from .ownership import ownership_for
from .queries import execution_from
from .requests import RequestKind, Requests
from .runner import CommandRunner
from .session import Session
from .standard import StandardExecutions
from .starting import redrive_batch, same_start, start_batch

__all__ = ["Client"]

STOP_WAIT_SECONDS = 10.0


class Client(Session):
    """Records requests for the engine that executes ``url`` (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "111111111111",
        role_arn: str | None = None,
        store: Store | None = None,
        quotas: Quotas | None = None,
    ) -> None:
        self._setup(url or None, store, clock, region, account, role_arn, None, quotas)
        if isinstance(self.store, MemoryStore):
            raise DurableError("a Client needs a database URL; an in-memory store belongs to its Engine")
        self.requests = Requests(self.store, self.clock)
        self.bus = EventBus(self.store, self.clock, self.requests, region=region, account=account)
        self.catalog = Catalog(
            self.store,
            self.clock,
            self.requests,
            region=region,
            account=account,
            role_arn=self.role_arn,
            cache=False,
            quotas=self.quotas,
        )
        self.ownership = ownership_for(self.store)
        self._opened = False

    async def __aenter__(self) -> Client:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if not self._opened:
            await self.store.open()
            self._opened = True

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self.store.close()

    async def _ensure_open(self) -> None:
        if not self._opened:
            await self.open()

    def engine_running(self) -> bool:
        """True when an engine executes the database now."""
        return self.ownership.is_held_elsewhere()

    # -- executions ---------------------------------------------------------------------------------
    async def start_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
        trace_header: str | None = None,
    ) -> Execution:
        """Record the start of an execution (AWS ``StartExecution``); the engine runs it.
        ``trace_header`` (X-Ray's, or a W3C ``traceparent``) is kept with a Standard execution:
        an engine that traces continues that trace.

        A STANDARD execution is committed RUNNING, with its ``ExecutionStarted`` event, before
        this returns. An EXPRESS one is handed to the engine, which runs it in its memory.
        """
        machine, value, text, exec_name, arn = await self._new_execution(
            state_machine_arn, input, input_json, name, trace_header
        )
        now = self.clock.now()
        if machine.type is StateMachineType.EXPRESS:
            # the definition it runs goes along: a version's or an alias's, not the machine's latest
            payload = {
                "stateMachineArn": machine.arn,
                "name": exec_name,
                "input": value,
                "definition": machine.definition,
                "type": str(machine.type),
            }
            request = self.requests.request(arn, RequestKind.EXPRESS, payload=payload)
            await self.requests.commit(WriteBatch(requests=[request]))
            return Execution(arn, machine.arn, exec_name, ExecutionStatus.RUNNING, utc(now), value)
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=machine.arn,
            name=exec_name,
            status="RUNNING",
            start_date=now,
            input=text,
            definition=machine.definition,
        )
        program = self.catalog.compile(machine.definition, "STANDARD")
        batch = start_batch(record, machine.role_arn, program.timeout_seconds, self.clock)
        batch.requests.append(self.requests.request(arn, RequestKind.START))
        try:
            await self.requests.commit(batch)
        except Conflict:
            return execution_from(same_start(await self.queries.record(arn), value))
        return execution_from(record)

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> Execution:
        """Abort a running Standard execution (AWS ``StopExecution``): it is ABORTED when this
        returns (unless it finished first)."""
        await self._ensure_open()
        record = await self.queries.record(execution_arn)
        if record.status != "RUNNING":
            return execution_from(record)
        if self.ownership.try_acquire("durable client (stop)"):
            try:  # no engine runs: record the end here, as the engine would
                standard = self._offline()
                await standard.stop(execution_arn, "ABORTED", error, cause)
            finally:
                self.ownership.release()
            return await self.describe_execution(execution_arn)
        await self.requests.stop(execution_arn, error, cause)
        try:
            return await asyncio.wait_for(self.queries.wait_for_execution(execution_arn), STOP_WAIT_SECONDS)
        except TimeoutError:  # the engine is busy: the stop stays recorded and will be applied
            return await self.describe_execution(execution_arn)

    def _offline(self) -> StandardExecutions:
        """The part of an engine that ends a parked execution (no task is ever invoked here)."""
        runner = CommandRunner(
            self.clock, IntegrationRegistry([], load_entry_points=False), self.region, self.account
        )
        return StandardExecutions(
            self.store, runner, self.clock, lambda text: self.catalog.compile(text, "STANDARD")
        )

    async def redrive_execution(self, execution_arn: str) -> Execution:
        """Redrive a FAILED, ABORTED or TIMED_OUT Standard execution (AWS ``RedriveExecution``);
        the engine runs it again from its unsuccessful states."""
        record, timeout = await self._redrivable(execution_arn)
        batch, redriven = await redrive_batch(self.store, record, timeout, self.clock.now())
        batch.requests.append(self.requests.request(execution_arn, RequestKind.START))
        try:
            await self.requests.commit(batch)
        except Conflict:
            record = await self.queries.record(execution_arn)
            raise ExecutionNotRedrivable(
                f"Execution is {record.status} and cannot be redriven: '{execution_arn}'"
            ) from None
        return execution_from(redriven)

    async def wait_for_execution(self, execution_arn: str) -> Execution:
        """Wait until the execution stops (read from the database); return its final record."""
        await self._ensure_open()
        return await self.queries.wait_for_execution(execution_arn)

    # -- Map Runs (read from the database: the engine running the execution commits their counts) --
    async def describe_map_run(self, map_run_arn: str) -> MapRun:
        """A Distributed Map's Map Run (AWS ``DescribeMapRun``), as last committed.
        Raises :class:`~durable.errors.ResourceNotFound` for an unknown ARN."""
        await self._ensure_open()
        return await MapRuns(self.store, self.clock).get(map_run_arn)

    async def list_map_runs(self, execution_arn: str) -> list[MapRun]:
        """The Map Runs an execution started, oldest first (AWS ``ListMapRuns``)."""
        await self.describe_execution(execution_arn)
        return await MapRuns(self.store, self.clock).list(execution_arn)

    async def _wait_for_activity(self, activity_arn: str, until: float) -> None:
        await asyncio.sleep(max(0.0, min(0.1, until - self.clock.now())))
