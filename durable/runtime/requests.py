"""Requests: what any process may ask of the engine that executes a database.

An answer to a task token, a heartbeat, a stop, a redrive, an activity worker taking a task,
a start from a :class:`~durable.Client`: each is recorded by :class:`Requests` in one guarded
transaction, and — where the executing engine must act on it — appended to the store's inbox
(``requests``). The engine consumes every inbox request exactly once, in the same transaction
as its effect on the execution's journal (see :mod:`durable.runtime.host`).

The guard is what makes concurrent requests safe without a lock: an answer closes its token
only if it is still open (:class:`~durable.store.base.TokenOpen`), so of two answers racing for
one token exactly one is accepted and the other gets AWS's ``TaskTimedOut``.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from ..errors import InvalidToken, TaskDoesNotExist, TaskTimedOut
from ..store.base import (
    ActivityTaskPending,
    ActivityTaskRecord,
    Conflict,
    RequestRecord,
    Store,
    TokenOpen,
    TokenRecord,
    WriteBatch,
)
from .clock import Clock

__all__ = [
    "ActivityStart",
    "Answer",
    "LocalInbox",
    "RequestKind",
    "Requests",
    "StopOrder",
    "make_request",
    "message_of",
]

# every token this engine hands out has 64 URL-safe characters (see journal.new_task_token): a
# shorter one, like a token AWS could not decode, is invalid rather than unknown
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{64,2048}$")
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class RequestKind(enum.StrEnum):
    START = "start"  # run this RUNNING execution (started or redriven by a client)
    ANSWER = "answer"  # a task token's outcome (its token already closed by the guard)
    ACTIVITY_STARTED = "activity-started"  # a worker took an activity task
    STOP = "stop"  # abort the execution
    MACHINE = "machine"  # a state machine changed (execution_arn holds its ARN)
    EXPRESS = "express"  # run an Express execution asynchronously
    EVENT = "event"  # deliver an accepted EventBridge event (execution_arn holds its bus's ARN)


@dataclass(frozen=True, slots=True)
class Answer:
    """A task token's outcome: ``value`` is the output, or ``[error, cause]`` when not ``ok``."""

    ref: str
    ok: bool
    value: Any


@dataclass(frozen=True, slots=True)
class ActivityStart:
    ref: str
    worker_name: str | None


@dataclass(frozen=True, slots=True)
class StopOrder:
    ref: str
    status: str
    error: str | None
    cause: str | None


Message = Answer | ActivityStart


def make_request(
    execution_arn: str, kind: RequestKind, now: float, token: str | None = None, payload: Any = None
) -> RequestRecord:
    """An inbox request with a fresh ``ref``."""
    return RequestRecord(
        ref=secrets.token_hex(12),
        execution_arn=execution_arn,
        kind=str(kind),
        created=now,
        token=token,
        payload=None if payload is None else _encode(payload).decode(),
    )


def message_of(request: RequestRecord) -> Answer | ActivityStart | StopOrder:
    """The message an ANSWER, ACTIVITY_STARTED or STOP request carries."""
    payload = _decode(request.payload) if request.payload is not None else None
    if request.kind == RequestKind.ANSWER:
        ok, value = payload if isinstance(payload, list) else (False, [None, None])
        return Answer(request.ref, bool(ok), value)
    if request.kind == RequestKind.ACTIVITY_STARTED:
        return ActivityStart(request.ref, (payload or {}).get("workerName"))
    if request.kind == RequestKind.STOP:
        data = payload or {}
        return StopOrder(request.ref, data.get("status", "ABORTED"), data.get("error"), data.get("cause"))
    raise ValueError(f"request {request.kind!r} carries no message")


def check_token(token: Any) -> str:
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise InvalidToken("Invalid token")
    return token


class LocalInbox(Protocol):
    """The inbox of an engine executing in this process (:class:`~durable.runtime.host.Host`)."""

    @property
    def active(self) -> bool: ...

    def expect(self, refs: list[str]) -> None: ...

    def forget(self, refs: list[str]) -> None: ...

    def recorded(self, request: RequestRecord) -> None: ...


class Requests:
    """Records requests in the store; with a ``local`` inbox (an executing engine in this
    process) each inbox request is handed over as soon as it is committed."""

    def __init__(self, store: Store, clock: Clock, local: LocalInbox | None = None) -> None:
        self.store = store
        self.clock = clock
        self.local = local

    def request(
        self, execution_arn: str, kind: RequestKind, *, token: str | None = None, payload: Any = None
    ) -> RequestRecord:
        return make_request(execution_arn, kind, self.clock.now(), token, payload)

    async def commit(self, batch: WriteBatch) -> None:
        """Commit a batch holding inbox requests, then hand them to the local engine."""
        local = self.local
        if local is None:
            await self.store.commit(batch)
            return
        refs = [r.ref for r in batch.requests]
        local.expect(refs)
        try:
            await self.store.commit(batch)
        except BaseException:
            local.forget(refs)
            raise
        for request in batch.requests:
            local.recorded(request)

    # -- task tokens -------------------------------------------------------------------------------
    async def open_token(self, token: Any) -> TokenRecord:
        """The token's record while its task waits; AWS's errors otherwise."""
        record = await self.store.get_token(check_token(token))
        if record is None:
            raise TaskDoesNotExist("Task does not exist anymore")
        if record.closed:
            raise TaskTimedOut("Task Timed Out")
        return record

    async def answer(self, token: str, ok: bool, value: Any) -> TokenRecord:
        """SendTaskSuccess (``ok``, value = output) / SendTaskFailure (value = [error, cause])."""
        record = await self.open_token(token)
        request = self.request(record.execution_arn, RequestKind.ANSWER, token=token, payload=[ok, value])
        try:
            await self.commit(
                WriteBatch(guards=[TokenOpen(token=token)], closed_tokens=[token], requests=[request])
            )
        except Conflict:  # answered (or timed out, or stopped) since it was read
            raise TaskTimedOut("Task Timed Out") from None
        return record

    async def heartbeat(self, token: str) -> TokenRecord:
        """SendTaskHeartbeat: moves the token's heartbeat clock (the engine reads it when due)."""
        record = await self.open_token(token)
        try:
            await self.store.commit(
                WriteBatch(guards=[TokenOpen(token=token)], heartbeats=[(token, self.clock.now())])
            )
        except Conflict:
            raise TaskTimedOut("Task Timed Out") from None
        return record

    # -- activities --------------------------------------------------------------------------------
    async def take_activity_task(
        self, activity_arn: str, worker_name: str | None
    ) -> ActivityTaskRecord | None:
        """Claim the oldest pending task of the activity (GetActivityTask); None when there is none.

        The claim and the ACTIVITY_STARTED request commit together, guarded so that two workers
        never take one task; the engine records ``ActivityStarted`` when it consumes the request.
        """
        for task in await self.store.pending_activity_tasks(activity_arn, limit=10):
            now = self.clock.now()
            taken = msgspec.structs.replace(task, started=now, worker_name=worker_name)
            details = {"workerName": worker_name} if worker_name else {}
            request = self.request(
                task.execution_arn, RequestKind.ACTIVITY_STARTED, token=task.token, payload=details
            )
            batch = WriteBatch(
                guards=[ActivityTaskPending(token=task.token), TokenOpen(token=task.token)],
                activity_tasks=[taken],
                heartbeats=[(task.token, now)],
                requests=[request],
            )
            try:
                await self.commit(batch)
            except Conflict:  # another worker took it, or its execution stopped meanwhile
                continue
            return taken
        return None

    # -- executions --------------------------------------------------------------------------------
    async def stop(self, execution_arn: str, error: str | None, cause: str | None) -> RequestRecord:
        request = self.request(
            execution_arn, RequestKind.STOP, payload={"status": "ABORTED", "error": error, "cause": cause}
        )
        await self.commit(WriteBatch(requests=[request]))
        return request
