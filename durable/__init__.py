"""durable — a durable, embedded Amazon States Language (AWS Step Functions) engine.

Quick use::

    import asyncio
    from durable import Engine

    async def main():
        async with Engine() as engine:
            engine.register_function("greet", lambda event, ctx: {"hello": event["name"]})
            sm = await engine.create_state_machine("hello", DEFINITION, type="EXPRESS")
            result = await engine.start_sync_execution(sm.arn, {"name": "world"})
            print(result.status, result.output)

``Engine(url)`` executes the executions of a database (one engine per database);
``Client(url)`` starts, answers, stops and reads them from any other process.

In a script or a notebook: ``durable.run(DEFINITION, input, functions={...})`` returns the
finished execution (``await durable.arun(...)`` is its awaitable twin), and
``durable.validate(DEFINITION)`` checks a definition. Dates are UTC ``datetime`` objects, as
boto3 returns them.
"""

from .errors import (
    DefinitionError,
    Diagnostic,
    DurableError,
    EventLoopConflict,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    IntegrationConflict,
    InvalidExecutionInput,
    InvalidToken,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    TaskDoesNotExist,
    TaskFailed,
    TaskTimedOut,
    UnsupportedFeature,
)
from .integrations.base import (
    Integration,
    JobIntegration,
    JobRunning,
    TaskContext,
    TaskRequest,
    TraceContext,
)
from .interpreter.quotas import Quotas
from .runtime.catalog import ValidationResult, validate
from .runtime.client import Client
from .runtime.clock import Clock, ManualClock, SystemClock
from .runtime.engine import Engine
from .runtime.mapruns import MapRun, MapRunCounts
from .runtime.models import Execution, ExecutionStatus, StateMachine, StateMachineType
from .runtime.ownership import EngineAlreadyRunning
from .runtime.sync import arun, run
from .runtime.worker import run_activity_worker
from .store.base import StoreError, StoreUnavailable

__all__ = [
    "Client",
    "Clock",
    "DefinitionError",
    "Diagnostic",
    "DurableError",
    "Engine",
    "EngineAlreadyRunning",
    "EventLoopConflict",
    "Execution",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionNotRedrivable",
    "ExecutionStatus",
    "Integration",
    "IntegrationConflict",
    "InvalidExecutionInput",
    "InvalidToken",
    "JobIntegration",
    "JobRunning",
    "ManualClock",
    "MapRun",
    "MapRunCounts",
    "Quotas",
    "ResourceNotFound",
    "StateMachine",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineType",
    "StoreError",
    "StoreUnavailable",
    "SystemClock",
    "TaskContext",
    "TaskDoesNotExist",
    "TaskFailed",
    "TaskRequest",
    "TaskTimedOut",
    "TraceContext",
    "UnsupportedFeature",
    "ValidationResult",
    "arun",
    "run",
    "run_activity_worker",
    "validate",
]

__version__ = "0.1.0"

for _name in __all__:  # reprs, tracebacks and docs say durable.Engine, not where it is defined
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("durable."):
        _obj.__module__ = __name__
del _name, _obj
