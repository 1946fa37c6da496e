"""What :class:`~durable.Engine` and :class:`~durable.Client` have in common.

Both are façades over the same parts: a :class:`~durable.runtime.catalog.Catalog` (state
machines, activities), :class:`~durable.runtime.queries.Queries` (describe, list, history) and
:class:`~durable.runtime.requests.Requests` (answers, heartbeats, activity tasks). They differ
in who runs the executions: the engine runs them, a client asks the engine that does.
"""

from __future__ import annotations

import abc
from typing import Any

from ..errors import StateMachineTypeNotSupported, ValidationError
from ..interpreter.quotas import Quotas
from ..store.base import ExecutionRecord, Store, WriteBatch
from ..store.memory import MemoryStore
from ..store.url import open_store
from .bus import EventBus
from .bus_api import EventsApi
from .catalog import Catalog, ValidationResult
from .clock import Clock, SystemClock
from .mapruns import MapRun
from .models import Activity, Execution, StateMachine, StateMachineType, check_name
from .queries import Queries, refuse_both
from .requests import Requests
from .schedule_store import ScheduleStore
from .schedules_api import SchedulesApi
from .services import RuntimeServices
from .starting import own_output, owned_input
from .trace_spans import check_trace_header
from .versions import StateMachineAlias, StateMachineVersion, Versions, split_arn

__all__ = ["Session"]


class Session(EventsApi, SchedulesApi, abc.ABC):
    """Shared implementation of the Engine and Client API (not public on its own)."""

    store: Store
    clock: Clock
    region: str
    account: str
    catalog: Catalog
    queries: Queries
    requests: Requests
    bus: EventBus
    schedules: ScheduleStore

    def _setup(
        self,
        url: str | None,
        store: Store | None,
        clock: Clock | None,
        region: str,
        account: str,
        role_arn: str | None,
        seed: int | None,
        quotas: Quotas | None,
    ) -> None:
        self.url = url
        self.quotas = quotas or Quotas()
        self.clock = clock or SystemClock()
        self.region = region
        self.account = account
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/DurableExecutionRole"
        self.services = RuntimeServices(self.clock, seed)
        if store is None:
            store = MemoryStore() if url is None or url == "memory://" else open_store(url)
        self.store = store
        watch = getattr(self.clock, "watch_store", None)
        if watch is not None:  # a ManualClock never jumps over a store call in flight
            watch(store)
        self.queries = Queries(store)
        self.schedules = ScheduleStore(store, self.clock, region=region, account=account)
        self._seed = seed
        self._versions: Versions | None = None

    @property
    def versions(self) -> Versions:
        """Versions, aliases, tags and configurations (:mod:`durable.runtime.versions`)."""
        if self._versions is None:
            self._versions = Versions(self.store, self.clock, self.catalog, self.services.uuid4, self._seed)
        return self._versions

    # -- state machines ----------------------------------------------------------------------------
    async def validate_state_machine_definition(
        self,
        definition: str | bytes | dict[str, Any],
        type: StateMachineType | str = "STANDARD",
        *,
        severity: str = "ERROR",
        max_results: int = 100,
    ) -> ValidationResult:
        """AWS's ValidateStateMachineDefinition: ``severity="WARNING"`` adds the warnings
        (NO_DOLLAR, NO_PATH, PASS_RESULT_IS_STATIC); at most ``max_results`` diagnostics.
        Nothing is read or stored: :func:`durable.validate` is the same check as a plain call."""
        return self.catalog.validate(definition, type, severity=severity, max_results=max_results)

    async def create_state_machine(
        self,
        name: str,
        definition: str | bytes | dict[str, Any],
        *,
        type: StateMachineType | str = "STANDARD",
        role_arn: str | None = None,
        publish: bool = False,
        version_description: str | None = None,
        logging_configuration: dict[str, Any] | None = None,
        tracing_configuration: dict[str, Any] | None = None,
        encryption_configuration: dict[str, Any] | None = None,
    ) -> StateMachine:
        """AWS ``CreateStateMachine``; ``publish=True`` also publishes version 1 (its ARN in
        ``version_arn``). ``type``: ``"STANDARD"`` or ``"EXPRESS"`` (any case) or a
        :class:`StateMachineType`. The configurations are stored and described; the logging one
        says what executions log when the engine has ``execution_logs`` (the others are not
        acted upon)."""
        await self._ensure_open()
        machine = await self.catalog.create_state_machine(
            name,
            definition,
            type=type,
            role_arn=role_arn,
            publish=publish,
            version_description=version_description,
        )
        configurations = {
            "logging": logging_configuration,
            "tracing": tracing_configuration,
            "encryption": encryption_configuration,
        }
        await self.versions.configure(machine, changed=False, configurations=configurations)
        if publish:
            version = await self.versions.publish(machine.arn, description=version_description)
            machine.version_arn = version.arn
        return machine

    async def update_state_machine(
        self,
        arn: str,
        *,
        definition: str | bytes | dict[str, Any] | None = None,
        role_arn: str | None = None,
        publish: bool = False,
        version_description: str | None = None,
        logging_configuration: dict[str, Any] | None = None,
        tracing_configuration: dict[str, Any] | None = None,
        encryption_configuration: dict[str, Any] | None = None,
    ) -> StateMachine:
        """AWS ``UpdateStateMachine``: a new revision; ``publish=True`` publishes it."""
        await self._ensure_open()
        if version_description is not None and not publish:
            raise ValidationError("Version description can only be set when publish is true")
        _, qualifier = split_arn(arn)
        if qualifier is not None:
            raise ValidationError(f"Invalid state machine ARN: '{arn}' (versions and aliases are immutable)")
        machine = await self.catalog.update_state_machine(arn, definition=definition, role_arn=role_arn)
        configurations = {
            "logging": logging_configuration,
            "tracing": tracing_configuration,
            "encryption": encryption_configuration,
        }
        changed = definition is not None or role_arn is not None
        await self.versions.configure(machine, changed=changed, configurations=configurations)
        if publish:
            version = await self.versions.publish(machine.arn, description=version_description)
            machine.version_arn = version.arn
        return machine

    async def describe_state_machine(self, arn: str) -> StateMachine:
        """A state machine, or a version of one (a version ARN: ``<machine arn>:<n>``)."""
        await self._ensure_open()
        if isinstance(arn, str) and arn.count(":") == 7:
            _, qualifier = split_arn(arn)
            if qualifier is not None and qualifier.isdigit():
                return await self.versions.describe_version(arn)
        machine = await self.catalog.describe_state_machine(arn)
        self.versions.dress(machine, await self.versions.settings(machine.arn))
        return machine

    async def list_state_machines(self) -> list[StateMachine]:
        await self._ensure_open()
        return await self.catalog.list_state_machines()

    async def delete_state_machine(self, arn: str) -> None:
        """AWS ``DeleteStateMachine``: with its versions, aliases and tags (a version ARN
        deletes that version)."""
        await self._ensure_open()
        _, qualifier = split_arn(arn)
        if qualifier is not None:
            if not qualifier.isdigit():
                raise ValidationError(
                    f"Invalid state machine ARN: '{arn}' (delete an alias with its own API)"
                )
            await self.versions.delete_version(arn)
            return
        await self.catalog.delete_state_machine(arn)
        await self.versions.forget_machine(arn)

    # -- versions, aliases, tags ----------------------------------------------------------------------
    async def publish_state_machine_version(
        self, arn: str, *, revision_id: str | None = None, description: str | None = None
    ) -> StateMachineVersion:
        """AWS ``PublishStateMachineVersion``."""
        await self._ensure_open()
        return await self.versions.publish(arn, revision_id=revision_id, description=description)

    async def list_state_machine_versions(self, arn: str) -> list[StateMachineVersion]:
        """AWS ``ListStateMachineVersions``: newest first."""
        await self._ensure_open()
        return await self.versions.list_versions(arn)

    async def delete_state_machine_version(self, version_arn: str) -> None:
        await self._ensure_open()
        await self.versions.delete_version(version_arn)

    async def create_state_machine_alias(
        self,
        name: str,
        routing: list[tuple[str, int]] | list[dict[str, Any]],
        *,
        description: str | None = None,
    ) -> StateMachineAlias:
        """AWS ``CreateStateMachineAlias``: ``routing`` is one or two ``(version ARN, weight)``
        pairs (or ``{"stateMachineVersionArn", "weight"}`` objects) whose weights sum to 100."""
        await self._ensure_open()
        return await self.versions.create_alias(name, routing, description=description)

    async def update_state_machine_alias(
        self, alias_arn: str, *, routing: Any = None, description: str | None = None
    ) -> StateMachineAlias:
        await self._ensure_open()
        return await self.versions.update_alias(alias_arn, routing=routing, description=description)

    async def describe_state_machine_alias(self, alias_arn: str) -> StateMachineAlias:
        await self._ensure_open()
        return await self.versions.describe_alias(alias_arn)

    async def list_state_machine_aliases(self, arn: str) -> list[StateMachineAlias]:
        await self._ensure_open()
        return await self.versions.list_aliases(arn)

    async def delete_state_machine_alias(self, alias_arn: str) -> None:
        await self._ensure_open()
        await self.versions.delete_alias(alias_arn)

    async def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        """AWS ``TagResource`` (a state machine, version, alias or activity)."""
        await self._ensure_open()
        await self.versions.tag(arn, tags)

    async def untag_resource(self, arn: str, keys: list[str]) -> None:
        await self._ensure_open()
        await self.versions.untag(arn, keys)

    async def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        await self._ensure_open()
        return await self.versions.tags(arn)

    async def execution_trace_header(self, execution_arn: str) -> str | None:
        """The ``traceHeader`` a Standard execution was started with (None: none)."""
        await self._ensure_open()
        return await self.versions.trace_header(execution_arn)

    async def execution_started_through(self, execution_arn: str) -> tuple[str | None, str | None]:
        """``(version ARN, alias ARN)`` an execution was started through (None when not)."""
        await self._ensure_open()
        return await self.versions.started_through(execution_arn)

    async def describe_state_machine_for_execution(self, execution_arn: str) -> StateMachine:
        """AWS ``DescribeStateMachineForExecution``: the state machine with the definition the
        execution runs."""
        await self._ensure_open()
        record = await self.store.get_execution(execution_arn)
        if record is None:
            child = await self.queries.children.get(execution_arn)
            if child is not None:  # a Map Run's child: the Map Run's state machine
                return await self.queries.children.state_machine(child)
            record = await self.queries.record(execution_arn)
        version_arn, _ = await self.versions.started_through(execution_arn)
        machine = await self.describe_state_machine(version_arn or record.state_machine_arn)
        machine.arn = record.state_machine_arn
        machine.definition = record.definition
        return machine

    # -- executions -------------------------------------------------------------------------------
    async def _new_execution(
        self,
        state_machine_arn: str,
        input: Any,
        input_json: str | bytes | None,
        name: str | None,
        trace_header: str | None = None,
    ) -> tuple[StateMachine, Any, str, str, str]:
        """The machine, owned input and its JSON text, name and ARN of an execution about to start
        (a Standard one's ``trace_header`` is recorded with it)."""
        await self._ensure_open()
        machine, version_arn, alias_arn = await self.versions.resolve(state_machine_arn)
        value, text = owned_input(input, input_json, self.quotas.payload_bytes)
        exec_name = name or self.services.execution_name()
        check_name(exec_name)
        arn = self._execution_arn(machine, exec_name)
        if machine.type is StateMachineType.EXPRESS:
            trace_header = None  # kept in memory only, as the execution
        await self.versions.link(arn, version_arn, alias_arn, check_trace_header(trace_header))
        return machine, value, text, exec_name, arn

    def _execution_arn(self, machine: StateMachine, name: str) -> str:
        if machine.type is StateMachineType.EXPRESS:
            return f"{self._express_prefix(machine)}{name}:{self.services.uuid4()}"
        return f"arn:aws:states:{self.region}:{self.account}:execution:{machine.name}:{name}"

    def _express_prefix(self, machine: StateMachine) -> str:
        """``arn:aws:states:<region>:<account>:express:<machine>:`` (an Express execution's ARN
        continues with its name and a UUID)."""
        return f"arn:aws:states:{self.region}:{self.account}:express:{machine.name}:"

    @staticmethod
    def _check_standard(machine: StateMachine) -> None:
        if machine.type is not StateMachineType.STANDARD:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )

    async def describe_execution(self, execution_arn: str) -> Execution:
        await self._ensure_open()
        return await self.queries.describe_execution(execution_arn)

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int | None = None,
        map_run_arn: str | None = None,
    ) -> list[Execution]:
        """Executions newest first; with ``map_run_arn``, that Map Run's child executions (each
        with its ``map_run_arn`` and ``item_count``)."""
        await self._ensure_open()
        refuse_both(state_machine_arn, map_run_arn)
        if map_run_arn is not None:
            out: list[Execution] = []
            token: str | None = None
            while max_results is None or len(out) < max_results:
                page, token = await self.queries.list_children_page(
                    map_run_arn, status, max_results=1000, next_token=token
                )
                out.extend(page)
                if token is None:
                    break
            return out if max_results is None else out[:max_results]
        return await self.queries.list_executions(state_machine_arn, status, max_results=max_results)

    async def list_executions_page(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int = 100,
        next_token: str | None = None,
        map_run_arn: str | None = None,
    ) -> tuple[list[Execution], str | None]:
        """One page of Standard executions, newest first (AWS ``ListExecutions``); with
        ``map_run_arn``, of that Map Run's child executions."""
        await self._ensure_open()
        refuse_both(state_machine_arn, map_run_arn)
        if map_run_arn is not None:
            return await self.queries.list_children_page(
                map_run_arn, status, max_results=max_results, next_token=next_token
            )
        return await self.queries.list_executions_page(
            state_machine_arn, status, max_results=max_results, next_token=next_token
        )

    async def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False, include_execution_data: bool = True
    ) -> list[dict[str, Any]]:
        """Every history event of an execution, in AWS's ``HistoryEvent`` shape."""
        await self._ensure_open()
        return await self.queries.get_execution_history(
            execution_arn, reverse_order=reverse_order, include_execution_data=include_execution_data
        )

    async def get_execution_history_page(
        self,
        execution_arn: str,
        *,
        reverse_order: bool = False,
        max_results: int = 1000,
        next_token: str | None = None,
        include_execution_data: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of AWS ``GetExecutionHistory``."""
        await self._ensure_open()
        return await self.queries.get_execution_history_page(
            execution_arn,
            reverse_order=reverse_order,
            max_results=max_results,
            next_token=next_token,
            include_execution_data=include_execution_data,
        )

    async def _redrivable(self, execution_arn: str) -> tuple[ExecutionRecord, float | None]:
        await self._ensure_open()
        record = await self.queries.record(execution_arn)
        program = self.catalog.compile(record.definition, "STANDARD")
        return record, program.timeout_seconds

    # -- task tokens -------------------------------------------------------------------------------
    async def send_task_success(
        self, task_token: str, output: Any = None, *, output_json: str | None = None
    ) -> None:
        """Complete the task of ``task_token`` with ``output`` (AWS ``SendTaskSuccess``)."""
        await self._ensure_open()
        await self.requests.open_token(task_token)  # AWS reports a bad token before a bad output
        await self.requests.answer(
            task_token, True, own_output(output, output_json, self.quotas.payload_bytes)
        )

    async def send_task_failure(
        self, task_token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail the task of ``task_token`` (AWS ``SendTaskFailure``)."""
        await self._ensure_open()
        await self.requests.answer(task_token, False, [error, cause])

    async def send_task_heartbeat(self, task_token: str) -> None:
        """Report the task of ``task_token`` still alive (AWS ``SendTaskHeartbeat``)."""
        await self._ensure_open()
        await self.requests.heartbeat(task_token)

    # -- activities ---------------------------------------------------------------------------------
    async def create_activity(self, name: str) -> Activity:
        """Create (or return the existing) activity ``name`` (AWS ``CreateActivity``)."""
        await self._ensure_open()
        return await self.catalog.create_activity(name)

    async def describe_activity(self, activity_arn: str) -> Activity:
        await self._ensure_open()
        return await self.catalog.describe_activity(activity_arn)

    async def list_activities(self) -> list[Activity]:
        await self._ensure_open()
        return await self.catalog.list_activities()

    async def delete_activity(self, activity_arn: str) -> None:
        await self._ensure_open()
        await self.catalog.delete_activity(activity_arn)
        await self.store.commit(WriteBatch(deleted_metadata=[("tags", activity_arn)]))

    async def get_activity_task(
        self, activity_arn: str, *, worker_name: str | None = None, timeout: float = 60.0
    ) -> dict[str, Any] | None:
        """Long-poll for a task of the activity (AWS ``GetActivityTask``, up to 60 s).

        Returns ``{"taskToken": ..., "input": <JSON text>}``, or None when nothing arrived.
        """
        await self.describe_activity(activity_arn)
        until = self.clock.now() + min(max(timeout, 0.0), 60.0)
        while True:
            task = await self.requests.take_activity_task(activity_arn, worker_name)
            if task is not None:
                return {"taskToken": task.token, "input": task.input}
            if self.clock.now() >= until:
                return None
            await self._wait_for_activity(activity_arn, until)

    # -- where the Engine and the Client differ ------------------------------------------------------
    @abc.abstractmethod
    async def start_execution(
        self,
        state_machine_arn: str,
        input: Any = None,
        *,
        input_json: str | bytes | None = None,
        name: str | None = None,
    ) -> Execution:
        """Start an execution (AWS ``StartExecution``)."""

    @abc.abstractmethod
    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> Execution:
        """Abort a running Standard execution (AWS ``StopExecution``)."""

    @abc.abstractmethod
    async def redrive_execution(self, execution_arn: str) -> Execution:
        """Redrive a FAILED, ABORTED or TIMED_OUT Standard execution (AWS ``RedriveExecution``)."""

    @abc.abstractmethod
    async def wait_for_execution(self, execution_arn: str) -> Execution:
        """Wait until the execution stops; return its final record."""

    @abc.abstractmethod
    async def describe_map_run(self, map_run_arn: str) -> MapRun:
        """A Distributed Map's Map Run (AWS ``DescribeMapRun``)."""

    @abc.abstractmethod
    async def list_map_runs(self, execution_arn: str) -> list[MapRun]:
        """The Map Runs an execution started, oldest first (AWS ``ListMapRuns``)."""

    @abc.abstractmethod
    async def _ensure_open(self) -> None:
        """Open on first use."""

    @abc.abstractmethod
    async def _wait_for_activity(self, activity_arn: str, until: float) -> None:
        """Sleep until a task of the activity may be pending (or ``until``)."""
