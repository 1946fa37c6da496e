"""Reading executions from the store: describe, list, history (AWS shapes), waiting for the end."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from ..errors import ExecutionDoesNotExist, ValidationError
from ..store.base import EventRecord, ExecutionRecord, Store
from ..store.sqlite_paging import check_limit, decode_event_token, encode_event_token
from .child_queries import ChildQueries, child_execution
from .journal import details_key
from .models import Execution, ExecutionStatus, utc

__all__ = ["Queries", "event_dict", "execution_from", "refuse_both"]

_decode = msgspec.json.decode
_encode = msgspec.json.encode


def execution_from(record: ExecutionRecord, values: tuple[Any, Any] | None = None) -> Execution:
    """The record as an :class:`Execution`; ``values``: its input and output as values already
    (they are not decoded from the record's text again)."""
    if values is not None:
        value_in, value_out = values
        return Execution(
            execution_arn=record.arn,
            state_machine_arn=record.state_machine_arn,
            name=record.name,
            status=ExecutionStatus(record.status),
            start_date=utc(record.start_date),
            input=value_in,
            stop_date=None if record.stop_date is None else utc(record.stop_date),
            output=None if record.output is None else value_out,
            error=record.error,
            cause=record.cause,
            redrive_count=record.redrive_count,
            redrive_date=None if record.redrive_date is None else utc(record.redrive_date),
        )
    return Execution(
        execution_arn=record.arn,
        state_machine_arn=record.state_machine_arn,
        name=record.name,
        status=ExecutionStatus(record.status),
        start_date=utc(record.start_date),
        input=_decode(record.input),
        stop_date=None if record.stop_date is None else utc(record.stop_date),
        output=None if record.output is None else _decode(record.output),
        error=record.error,
        cause=record.cause,
        redrive_count=record.redrive_count,
        redrive_date=None if record.redrive_date is None else utc(record.redrive_date),
    )


def event_dict(event: EventRecord, include_data: bool = True) -> dict[str, Any]:
    """An AWS ``HistoryEvent`` (``input``/``output`` as JSON text, as the API returns them;
    ``timestamp`` a UTC datetime, as boto3 returns it)."""
    out: dict[str, Any] = {
        "timestamp": utc(event.timestamp),
        "type": event.type,
        "id": event.id,
        "previousEventId": event.previous_event_id,
    }
    if event.details is not None:
        details = _decode(event.details)
        for name in ("input", "output"):
            if name in details:
                if include_data:
                    details[name] = _encode(details[name]).decode()
                else:
                    details.pop(name)
        key = details_key(event.type)
        if key is not None:
            out[key] = details
    return out


class Queries:
    """Store reads shared by the executing engine and clients."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.children = ChildQueries(store)  # the child executions of Map Runs

    async def record(self, execution_arn: str) -> ExecutionRecord:
        record = await self.store.get_execution(execution_arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        return record

    async def describe_execution(self, execution_arn: str) -> Execution:
        record = await self.store.get_execution(execution_arn)
        if record is None:
            child = await self.children.get(execution_arn)
            if child is not None:
                return child_execution(child)
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        return execution_from(record)

    async def list_children_page(
        self,
        map_run_arn: str,
        status: str | None = None,
        *,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[Execution], str | None]:
        """One page of a Map Run's child executions, newest first."""
        rows, token = await self.store.list_child_executions(map_run_arn, status, max_results, next_token)
        return [child_execution(r) for r in rows], token

    async def list_executions_page(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[Execution], str | None]:
        records, token = await self.store.list_executions(state_machine_arn, status, max_results, next_token)
        return [execution_from(r) for r in records], token

    async def list_executions(
        self,
        state_machine_arn: str | None = None,
        status: str | None = None,
        *,
        max_results: int | None = None,
    ) -> list[Execution]:
        out: list[Execution] = []
        token: str | None = None
        while max_results is None or len(out) < max_results:
            page, token = await self.list_executions_page(
                state_machine_arn, status, max_results=1000, next_token=token
            )
            out.extend(page)
            if token is None:
                break
        return out if max_results is None else out[:max_results]

    async def get_execution_history_page(
        self,
        execution_arn: str,
        *,
        reverse_order: bool = False,
        max_results: int = 1000,
        next_token: str | None = None,
        include_execution_data: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if await self.store.get_execution(execution_arn) is None:
            child = await self.children.get(execution_arn)
            if child is None:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
            every = await self.children.history(child)
            chosen, token = _page(every, reverse_order, max_results, next_token)
            return [event_dict(e, include_execution_data) for e in chosen], token
        events, token = await self.store.events(
            execution_arn, reverse=reverse_order, limit=max_results, next_token=next_token
        )
        return [event_dict(e, include_execution_data) for e in events], token

    async def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False, include_execution_data: bool = True
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page, token = await self.get_execution_history_page(
                execution_arn,
                reverse_order=reverse_order,
                max_results=1000,
                next_token=token,
                include_execution_data=include_execution_data,
            )
            events.extend(page)
            if token is None:
                return events

    async def wait_for_execution(self, execution_arn: str, *, poll: float = 0.05) -> Execution:
        """Poll the store until the execution is no longer RUNNING (a client's wait)."""
        delay = poll
        while True:
            record = await self.record(execution_arn)
            if record.status != "RUNNING":
                return execution_from(record)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)


def _page(
    events: list[EventRecord], reverse: bool, limit: int, next_token: str | None
) -> tuple[list[EventRecord], str | None]:
    """A page of a history held in memory (tokens as the store's)."""
    check_limit(limit)
    if reverse:
        events = events[::-1]
    if next_token is not None:
        after = decode_event_token(next_token)
        events = [e for e in events if (e.id < after if reverse else e.id > after)]
    chosen = events[:limit]
    return chosen, encode_event_token(chosen[-1].id) if len(events) > limit else None


def refuse_both(state_machine_arn: str | None, map_run_arn: str | None) -> None:
    """ListExecutions takes a state machine or a Map Run, not both (as AWS refuses them)."""
    if state_machine_arn is not None and map_run_arn is not None:
        raise ValidationError("You can specify either a mapRunArn or a stateMachineArn, but not both.")
