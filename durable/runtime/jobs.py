"""The run-a-job pattern (``.sync``, ``.sync:2``): follow a started job until it ends.

A ``.sync`` Task starts its job with the integration's ``invoke``; the start response (the job's
handle) is recorded as the task's ``TaskSubmitted`` output before anything else happens. The
engine then asks the integration's ``poll`` about the job on its own clock, with a back-off
(:class:`PollBackoff`), until the job ends — or until something else ends the task first: the
task token's answer or expiry (Standard, see :mod:`durable.runtime.replay`), a timeout, a stop, a
failing Parallel sibling. Whatever ends the task early stops the job (``cancel``), except the
engine closing: then the job keeps running and a restarted engine polls the recorded handle again
(a job is never started twice for one attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ..errors import DurableError, TaskFailed
from ..integrations.base import JobIntegration, JobRunning, TaskRequest
from ..integrations.registry import IntegrationRegistry
from ..interpreter import failure as F
from ..interpreter.commands import AwaitJob
from ..interpreter.failure import StatesFailure
from .clock import Clock

__all__ = ["CANCEL_SECONDS", "PollBackoff", "cancel_job", "follow_job", "idempotency_key", "job_integration"]

log = structlog.get_logger("durable.runtime")

FIRST_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 60.0
CANCEL_SECONDS = 30.0  # how long stopping a job may take before the task ends anyway
MAX_POLL_FAILURES = 5  # polls failing in a row (not the job: the call) before the task fails


class PollBackoff:
    """Seconds to the next poll: 1 s, doubling up to 60 s, unless the integration says when."""

    def __init__(self, first: float = FIRST_POLL_SECONDS, limit: float = MAX_POLL_SECONDS) -> None:
        self._next = first
        self._limit = limit

    def next(self, running: JobRunning) -> float:
        if running.retry_after is not None:
            return max(0.0, float(running.retry_after))
        delay = self._next
        self._next = min(self._limit, self._next * 2)
        return delay


def job_integration(registry: IntegrationRegistry, resource: str) -> JobIntegration:
    """The integration that follows ``resource``'s jobs, or a ``States.Runtime`` failure."""
    try:
        integration = registry.resolve(resource)
    except DurableError as exc:
        raise StatesFailure(F.RUNTIME, exc.message) from None
    if not isinstance(integration, JobIntegration):
        raise StatesFailure(
            F.RUNTIME,
            f"The integration {getattr(integration, 'name', '?')!r} does not run jobs (.sync) "
            f"for the resource '{resource}'",
        )
    return integration


def idempotency_key(execution_arn: str, lane: str, seq: int) -> str:
    """A key naming one attempt of one task of one execution, the same after a restart."""
    return hashlib.sha256(f"{execution_arn}\n{lane}\n{seq}".encode()).hexdigest()[:32]


def job_request(
    cmd: AwaitJob, execution_arn: str, state_machine_arn: str, region: str, account: str, key: str | None
) -> TaskRequest:
    return TaskRequest(
        resource=cmd.resource,
        payload=cmd.payload,
        state_name=cmd.state_name,
        execution_arn=execution_arn,
        state_machine_arn=state_machine_arn,
        region=region,
        account=account,
        task_token=cmd.token,
        credentials=cmd.credentials,
        timeout_seconds=cmd.timeout_seconds,
        heartbeat_seconds=cmd.heartbeat_seconds,
        idempotency_key=key,
    )


class _PollFailed(Exception):
    def __init__(self, cause: Exception) -> None:
        self.cause = cause


async def _ask(clock: Clock, integration: JobIntegration, request: TaskRequest, submitted: Any) -> Any:
    """One poll. ``TaskFailed`` (the job failed) fails the task; any other exception is the poll
    failing, not the job (a network error, a throttled describe call): :class:`_PollFailed`."""
    busy = getattr(clock, "busy", None)  # a ManualClock: do not skip time over a poll in flight
    with busy() if busy is not None else contextlib.nullcontext():
        try:
            return await integration.poll(request, submitted)
        except (StatesFailure, asyncio.CancelledError):
            raise
        except TaskFailed as failed:
            raise StatesFailure(failed.error, failed.cause) from None
        except Exception as exc:
            raise _PollFailed(exc) from None


async def follow_job(
    clock: Clock,
    integration: JobIntegration,
    request: TaskRequest,
    submitted: Any,
    interrupt: Callable[[], Awaitable[None]] | None = None,
) -> tuple[bool, Any]:
    """Poll until the job ends: ``(True, result)``. When ``interrupt()`` completes first (a
    message for the task arrived), ``(False, None)``. A failed job raises its ``StatesFailure``.
    A poll that fails is logged and asked again after the back-off, as Step Functions keeps
    following a job through a flaky describe call; :data:`MAX_POLL_FAILURES` in a row fail the
    task with the poll's error."""
    backoff = PollBackoff()
    failures = 0
    while True:
        poll = asyncio.ensure_future(_ask(clock, integration, request, submitted))
        woken = await _race(poll, interrupt)
        if woken:
            return False, None
        try:
            result = poll.result()
            failures = 0
        except _PollFailed as failed:
            failures += 1
            exc = failed.cause
            if failures >= MAX_POLL_FAILURES:
                raise StatesFailure(type(exc).__name__, str(exc)) from None
            log.warning(
                "a poll of the job failed; asking again later",
                execution_arn=request.execution_arn,
                state=request.state_name,
                error=repr(exc),
            )
            result = JobRunning()
        if not isinstance(result, JobRunning):
            return True, result
        sleeper = asyncio.ensure_future(clock.sleep_until(clock.now() + backoff.next(result)))
        if await _race(sleeper, interrupt):
            return False, None


async def _race(work: asyncio.Future[Any], interrupt: Callable[[], Awaitable[None]] | None) -> bool:
    """Await ``work``; True (and ``work`` cancelled) when ``interrupt()`` completes first."""
    if interrupt is None:
        await asyncio.wait((work,))
        return False
    other = asyncio.ensure_future(interrupt())
    try:
        await asyncio.wait((work, other), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        work.cancel()
        raise
    finally:
        if not other.done():
            other.cancel()
    if work.done():
        return False
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    return True


async def cancel_job(integration: JobIntegration, request: TaskRequest, submitted: Any) -> None:
    """Stop the job (best effort, bounded by :data:`CANCEL_SECONDS`); a failure is logged."""
    try:
        await asyncio.wait_for(asyncio.shield(integration.cancel(request, submitted)), CANCEL_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the task ends anyway: the job may run on (as AWS, on a failed stop)
        log.warning(
            "the job could not be stopped",
            execution_arn=request.execution_arn,
            state=request.state_name,
            error=repr(exc),
        )
