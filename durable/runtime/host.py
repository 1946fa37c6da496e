"""The runtime host: what makes one process the executor of a database.

An executing :class:`~durable.Engine` opens a :class:`Host`, which

1. takes the database's ownership (:mod:`durable.runtime.ownership`) — a second engine on the
   same database gets :class:`~durable.runtime.ownership.EngineAlreadyRunning`, or waits as a
   standby;
2. recovers: reads the inbox, puts answers in the mailboxes, resumes every execution that was
   resident when the last owner stopped (parked ones stay in the store until due or answered),
   and starts the durable timers;
3. consumes the inbox: requests recorded by this process are handed over at once, those of
   other processes (a :class:`~durable.Client`, the ``durable`` CLI) are read every
   ``poll_interval`` seconds. Each request is dispatched once; it leaves the inbox in the same
   transaction as its effect on the execution's journal.

Nothing here ever cancels or replays an execution because of a request: an answer goes to the
lane that awaits its token, a stop ends the execution, a start resumes one that is not resident.

**Sharing a database** (``Engine(url, shared=True)`` on PostgreSQL, see
:mod:`durable.store.postgres_lease`): the ownership is a lease among several engines. Then the
host claims requests from the inbox instead of reading all of them (it is woken by ``NOTIFY``,
with a slow poll as a fallback), renews its lease every third of its length, and takes over the
executions of engines whose lease lapsed — the same recovery as at open, for what they held.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from ..store.base import LeaseLost, RequestRecord, Store, StoreError, WriteBatch
from .ownership import EngineAlreadyRunning, Ownership, SharedOwnership
from .requests import RequestKind
from .standard import StandardExecutions
from .timers import TimerKey, TimerKind

__all__ = ["POLL_SECONDS", "Host"]

POLL_SECONDS = 0.1
SHARED_POLL_SECONDS = 2.0  # sharing engines are woken by NOTIFY; this poll only covers a lost one
ORPHAN_CLAIM = 50  # executions an engine taking over claims at a time (the others share the rest)
log = structlog.get_logger("durable.runtime")


class Host:
    """Owns a database for one executing engine (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        standard: StandardExecutions,
        ownership: Ownership,
        *,
        poll_interval: float | None = POLL_SECONDS,
        on_machine_changed: Callable[[str], None] | None = None,
        on_express: Callable[[RequestRecord], None] | None = None,
        on_event: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.standard = standard
        self.ownership = ownership
        self.poll_interval = poll_interval
        self.on_machine_changed = on_machine_changed
        self.on_express = on_express
        self.on_event = on_event
        self._last_id = 0
        self._local: set[str] = set()  # refs recorded here that the poller will see again
        self._poller: asyncio.Task[None] | None = None
        self._consumed: list[str] = []
        self._flushing: asyncio.Future[None] | None = None  # without a poller: the last flush
        self._open = False
        self.failure: StoreError | None = None  # why this host stopped executing, if it did
        self.lease: SharedOwnership | None = ownership if getattr(ownership, "shared", False) else None  # type: ignore[assignment]
        self._lease_task: asyncio.Task[None] | None = None
        if self.lease is not None:
            standard.on_elsewhere = self.lease.release_requests

    @property
    def active(self) -> bool:
        """True while this process executes the database."""
        return self._open

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self, role: str = "engine", *, standby: bool = False) -> None:
        """Take ownership (or raise / wait), recover, and start consuming the inbox."""
        while not self.ownership.try_acquire(role):
            if not standby:
                holder = self.ownership.holder()
                raise EngineAlreadyRunning(
                    f"another engine executes this database ({holder or 'unknown holder'}); "
                    "use durable.Client to start, answer or stop executions from here, or "
                    "Engine(..., standby=True) to take over when it stops"
                )
            await asyncio.sleep(0.2)
        self._open = True
        try:
            pending = await self._read_inbox()
            rest = await self.standard.recover(pending)
            for request in rest:
                self.dispatch(request)
        except BaseException:
            self._open = False
            await self.standard.close()
            self.ownership.release()
            raise
        if self.lease is not None:
            self._poller = asyncio.ensure_future(self._poll_shared(self.lease))
            self._lease_task = asyncio.ensure_future(self._keep_lease(self.lease))
        elif self.poll_interval is not None:
            self._poller = asyncio.ensure_future(self._poll())

    async def close(self) -> None:
        if not self._open:
            return
        self._open = False
        for task in (self._poller, self._lease_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            await self.standard.close()
            if self._consumed:
                with contextlib.suppress(Exception):
                    await self.store.commit(WriteBatch(consumed_requests=self._consumed))
                self._consumed = []
            if self.lease is not None and self.store.fault is None:
                try:
                    await self.lease.leave()
                except StoreError as exc:  # the others take over when the lease lapses
                    log.warning("could not hand executions over", error=str(exc))
        finally:
            self.ownership.release()

    # -- the inbox ----------------------------------------------------------------------------------
    async def _read_inbox(self) -> list[RequestRecord]:
        found: list[RequestRecord] = []
        if self.lease is not None:  # sharing: take what this engine may (each request goes to one)
            while page := await self.lease.claim_requests(1000):
                found.extend(page)
                if len(page) < 1000:
                    break
            return found
        while True:
            page = await self.store.requests(after=self._last_id, limit=1000)
            if not page:
                return found
            found.extend(page)
            self._last_id = page[-1].id

    async def _poll(self) -> None:
        assert self.poll_interval is not None
        while True:
            await asyncio.sleep(self.poll_interval)
            if self.store.fault is not None:
                await self._stop_executing(self.store.fault)
                return
            try:
                for request in await self._read_inbox():
                    if request.ref in self._local:
                        self._local.discard(request.ref)  # handed over when it was recorded
                        continue
                    self.dispatch(request)
                await self._flush_consumed()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is unavailable: the next poll tries again
                log.warning("inbox could not be read", error=str(exc))

    async def _poll_shared(self, lease: SharedOwnership) -> None:
        """Sharing: claim requests when NOTIFY says some came (or every few seconds), and take
        over what engines that left or died released."""
        fallback = (
            SHARED_POLL_SECONDS
            if self.poll_interval is None
            else max(self.poll_interval, SHARED_POLL_SECONDS)
        )
        while True:
            heard = await lease.wait(fallback)
            if self.store.fault is not None:
                await self._stop_executing(self.store.fault)
                return
            try:
                for request in await self._read_inbox():
                    self.dispatch(request)
                await self._flush_consumed()
                if "orphans" in heard:  # (missed notices are covered by the lease's turns)
                    await self.take_over()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is unavailable: the next turn tries again
                log.warning("inbox could not be read", error=str(exc))

    async def _keep_lease(self, lease: SharedOwnership) -> None:
        """Renew this engine's lease every third of its length; reap engines whose lease lapsed."""
        while True:
            await asyncio.sleep(lease.lease_seconds / 3)
            try:
                await lease.renew()
            except StoreError as exc:
                if isinstance(exc, LeaseLost):
                    await self._stop_executing(exc)
                    return
                log.warning("lease could not be renewed", error=str(exc))
                continue
            try:
                reaped = await lease.reap()
                await self.take_over(refresh=bool(reaped))
            except StoreError as exc:
                log.warning("engines could not be checked", error=str(exc))

    async def take_over(self, *, refresh: bool = True) -> None:
        """Claim resumable executions nobody live owns, a few at a time, and run them; with
        ``refresh``, read the timers again (executions were released: those of the parked ones
        are this engine's to fire, and claim them when they do)."""
        assert self.lease is not None
        if refresh:
            self.standard.scheduler.refresh()
        while self._open and (arns := await self.lease.claim_orphans(ORPHAN_CLAIM)):
            for arn in arns:
                self.standard.adopt(arn)
            if len(arns) < ORPHAN_CLAIM:
                break
            await asyncio.sleep(0)

    async def _stop_executing(self, fault: StoreError) -> None:
        """The database is gone: stop running executions (nothing more can be recorded)."""
        self.failure = fault
        log.error("the engine stops executing", error=str(fault))
        await self.standard.close()

    # the LocalInbox protocol of durable.runtime.requests.Requests
    def expect(self, refs: list[str]) -> None:
        """Requests about to be committed by this process (the poller skips them)."""
        if self._open and self.poll_interval is not None and self.lease is None:
            self._local.update(refs)

    def forget(self, refs: list[str]) -> None:
        """Their commit failed: they will never be in the inbox."""
        self._local.difference_update(refs)

    def recorded(self, request: RequestRecord) -> None:
        if self._open:
            self.dispatch(request)

    def dispatch(self, request: RequestRecord) -> None:
        kind = request.kind
        standard = self.standard
        if kind in (RequestKind.ANSWER, RequestKind.ACTIVITY_STARTED):
            standard.deliver(request)
        elif kind == RequestKind.STOP:
            standard.stop_request(request)
        elif kind == RequestKind.START:
            standard.adopt(request.execution_arn)
            self._consume(request)
        elif kind == RequestKind.MACHINE:
            if self.on_machine_changed is not None:
                self.on_machine_changed(request.execution_arn)
            self._consume(request)
        elif kind == RequestKind.EXPRESS:
            if self.on_express is not None:
                self.on_express(request)
            self._consume(request)
        elif kind == RequestKind.EVENT and self.on_event is not None:
            self.on_event(request)  # consumed (:meth:`consume`) once every target is started
        else:
            log.warning("unknown request in the inbox", kind=kind, ref=request.ref)
            self._consume(request)

    def consume(self, request: RequestRecord) -> None:
        """A request whose effect is committed: it leaves the inbox with the next poll."""
        self._consume(request)

    def _consume(self, request: RequestRecord) -> None:
        """A request whose effect needs no journal entry: leave the inbox with the next poll."""
        self._consumed.append(request.ref)
        if self.poll_interval is None:
            self._flushing = asyncio.ensure_future(self._flush_consumed())
            self.standard.spawn(self._flushing)

    async def settle(self) -> None:
        """Without a poller (an in-memory store), commit the consumed requests now."""
        if self.poll_interval is None and self._open:
            if self._flushing is not None:
                await asyncio.shield(self._flushing)
            await self._flush_consumed()

    async def _flush_consumed(self) -> None:
        if self._consumed:
            refs, self._consumed = self._consumed, []
            await self.standard.commit(WriteBatch(consumed_requests=refs))

    # -- state -------------------------------------------------------------------------------------
    async def idle(self) -> bool:
        """Nothing to run until someone answers a token: no resident execution, no request
        waiting, no Wait or back-off pending (token deadlines do not count)."""
        if self.standard.running or self.standard.mail:
            return False
        if self.lease is not None:
            if await self.lease.has_requests():
                return False
        elif await self.store.requests(after=self._last_id, limit=1):
            return False
        if await self.store.resumable_page(limit=1):
            return False
        for timer in await self.store.timers(until=1e17):
            key = TimerKey.parse(timer.key)
            if key is not None and key.kind is TimerKind.WAKE:
                return False
        return True
