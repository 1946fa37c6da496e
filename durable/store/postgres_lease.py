"""Several executing engines on one PostgreSQL database: leases, fencing, claims and wake-ups.

An engine opened with ``Engine(url, shared=True)`` executes a PostgreSQL database *together with*
other such engines (in other processes or on other machines). :class:`PgLease` is its
:class:`~durable.runtime.ownership.Ownership`; the design is in ``docs/scale-out.md``:

* **Leases.** Each engine registers a row in ``engines`` with a random id (never reused: a
  restarted process is a new engine) and an expiry, renewed every third of ``lease_seconds``.
  Expiries are the *server's* clock (``clock_timestamp()``), so engines on machines whose clocks
  disagree, or running a test clock, agree on who is alive.
* **Ownership.** Each RUNNING execution has an ``owner``: the engine that started it, or the
  one that claimed it. Only its owner executes it; parked executions stay with their owner.
* **Fencing.** Every write of a sharing engine checks, under the database's write lock, that it
  owns every RUNNING execution the batch touches and that its lease has not lapsed; otherwise
  the batch is refused whole (:class:`~durable.store.base.Fenced`). An engine that lost an
  execution — paused past its lease, cut off from the database — can never record anything for
  it again, so no effect follows from a stale owner's step.
* **Claims.** An execution nobody owns (started by a :class:`~durable.Client`, released by an
  engine that closed, or left by a dead one) is claimed when an engine reads it to resume it;
  orphans are claimed a few at a time with ``FOR UPDATE SKIP LOCKED``, so engines taking over
  together share them. Requests in the inbox (answers, stops, starts from clients, Express runs,
  events) are claimed the same way, each by one engine: those about an execution go to its
  owner; a request recorded by an engine is its own from the start.
* **Takeover.** An engine whose lease expired is dead: any engine deletes its row and releases
  its executions and requests (one transaction), and the engines then claim them as after a
  restart — nothing lost, no recorded result re-run.
* **Wake-ups.** A commit that adds to the inbox or releases executions sends ``NOTIFY
  durable``; every engine ``LISTEN``s on a connection of its own, so requests are picked up
  without polling (a slow fallback poll covers a lost connection).
* **One mode per database at a time.** Sharing engines hold a *shared* session advisory lock on
  the key a single (non-sharing) engine holds exclusively: the two kinds never execute one
  database together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import psycopg
import structlog

from ..errors import DurableError
from .base import LeaseLost, RequestRecord
from .postgres import PostgresStore
from .postgres_lock import PgOwnerLock
from .postgres_writer import LIVE_ENGINES, NOTIFY, NOW

__all__ = ["LEASE_SECONDS", "PgLease"]

LEASE_SECONDS = 15.0
log = structlog.get_logger("durable.runtime")

_REGISTER = f"INSERT INTO engines (id, name, started, expires) VALUES (%s, %s, {NOW}, {NOW} + %s)"
_RENEW = f"UPDATE engines SET expires = {NOW} + %s WHERE id = %s AND expires > {NOW} RETURNING id"
_REAP = f"""
WITH dead AS (DELETE FROM engines WHERE expires <= {NOW} RETURNING id),
  x AS (UPDATE executions SET owner = NULL WHERE owner IN (SELECT id FROM dead) AND status = 'RUNNING'),
  r AS (UPDATE requests SET claimed_by = NULL WHERE claimed_by IN (SELECT id FROM dead))
SELECT id FROM dead
"""
_RELEASE_EXECUTIONS = "UPDATE executions SET owner = NULL WHERE owner = ANY(%s) AND status = 'RUNNING'"
_RELEASE_CLAIMS = "UPDATE requests SET claimed_by = NULL WHERE claimed_by = ANY(%s)"
# a request this engine may take is about no execution (an Express run, an event, a machine
# change), an execution that ended, or one that is not another live engine's
_TAKEABLE_EXECUTION = f"""(x.arn IS NULL OR x.status <> 'RUNNING' OR x.owner IS NULL OR x.owner = %(me)s
           OR x.owner NOT IN ({LIVE_ENGINES}))"""
# ... and not taken by a live engine
_CLAIM_REQUESTS = f"""
UPDATE requests r SET claimed_by = %(me)s
WHERE r.id IN (
    SELECT q.id FROM requests q
    LEFT JOIN executions x ON x.arn = q.execution_arn
    WHERE (q.claimed_by IS NULL OR q.claimed_by NOT IN ({LIVE_ENGINES})) AND {_TAKEABLE_EXECUTION}
    ORDER BY q.id LIMIT %(limit)s FOR UPDATE OF q SKIP LOCKED)
RETURNING r.id, r.ref, r.execution_arn, r.kind, r.token, r.payload, r.created
"""
_HAS_REQUESTS = f"""
SELECT 1 FROM requests q LEFT JOIN executions x ON x.arn = q.execution_arn
WHERE (q.claimed_by IS NULL OR q.claimed_by = %(me)s OR q.claimed_by NOT IN ({LIVE_ENGINES}))
  AND {_TAKEABLE_EXECUTION}
LIMIT 1
"""
_UNCLAIM = "UPDATE requests SET claimed_by = NULL WHERE ref = ANY(%s) AND claimed_by = %s"
# resumable executions nobody live owns, a few at a time: engines taking over share them out
_CLAIM_ORPHANS = f"""
UPDATE executions x SET owner = %(me)s
WHERE x.id IN (
    SELECT o.id FROM executions o
    WHERE o.status = 'RUNNING' AND NOT o.parked
      AND (o.owner IS NULL OR o.owner NOT IN ({LIVE_ENGINES}))
    ORDER BY o.start_date, o.arn LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING x.arn
"""


class PgLease:
    """The ownership of an engine that shares a PostgreSQL database (see the module docstring)."""

    shared = True

    def __init__(self, store: PostgresStore, lease_seconds: float = LEASE_SECONDS) -> None:
        if not lease_seconds > 0:
            raise DurableError(f"lease_seconds must be positive, got {lease_seconds}")
        self.store = store
        self.lease_seconds = float(lease_seconds)
        self.id = ""
        self._url = store.url
        self._where = store.where
        self._timeout = max(1, round(store.connect_timeout))
        self._lock = PgOwnerLock(store, shared=True)
        self._listener: asyncio.Task[None] | None = None
        self._signal = asyncio.Event()
        self._heard: set[str] = set()

    # -- the Ownership protocol: the shared advisory lock, and this engine's row ------------------
    @property
    def held(self) -> bool:
        return self._lock.held

    def try_acquire(self, role: str) -> bool:
        """Join the engines sharing the database; False while a single engine executes it."""
        if self._lock.held:
            return True
        if not self._lock.try_acquire(f"{role}, shared"):
            return False
        conn = self._lock.connection
        assert conn is not None
        engine_id = uuid.uuid4().hex
        try:
            conn.execute(_REGISTER, (engine_id, f"{role} (pid {os.getpid()})", self.lease_seconds))
        except psycopg.Error as exc:
            self._lock.release()
            raise DurableError(f"{self._where}: cannot take an engine lease: {exc}") from None
        self.id = engine_id
        self.store.share_as(engine_id)
        return True

    async def leave(self) -> None:
        """Before :meth:`release`, on a clean close: give this engine's executions and requests
        back at once (the others take them over now, not when the lease would have lapsed)."""
        if not self._lock.held:
            return
        await self.store.locked(
            [
                (_RELEASE_EXECUTIONS, ([self.id],)),
                (_RELEASE_CLAIMS, ([self.id],)),
                ("DELETE FROM engines WHERE id = %s", (self.id,)),
                (NOTIFY, ("orphans",)),
            ]
        )

    def release(self) -> None:
        """Stop sharing the database (after :meth:`leave`; without it, after a crash, the others
        take this engine's executions over once its lease lapses)."""
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None
        self.store.share_as(None)
        self._lock.release()

    def holder(self) -> str:
        """The single engine that keeps sharing engines out, for messages."""
        return self._lock.holder()

    def is_held_elsewhere(self) -> bool:
        return self._lock.is_held_elsewhere()

    # -- the lease ------------------------------------------------------------------------------------
    async def renew(self) -> None:
        """Push this engine's expiry on; :class:`LeaseLost` if it had lapsed already."""
        (rows,) = await self.store.locked([(_RENEW, (self.lease_seconds, self.id))])
        if not rows:
            raise LeaseLost(
                f"{self._where}: this engine's lease lapsed (no renewal for {self.lease_seconds:g} s); "
                "its executions were taken over by the other engines"
            )

    async def reap(self) -> list[str]:
        """Delete the engines whose lease lapsed and release what they held (one transaction);
        their ids."""
        (rows,) = await self.store.locked([(_REAP, ())])
        ids = [str(r[0]) for r in rows]
        if ids:
            log.warning("engines' leases lapsed: taking their executions over", engines=ids)
            await self.store.locked([(NOTIFY, ("orphans",))])
        return ids

    # -- claims --------------------------------------------------------------------------------------
    async def claim_requests(self, limit: int = 1000) -> list[RequestRecord]:
        (rows,) = await self.store.locked([(_CLAIM_REQUESTS, {"me": self.id, "limit": limit})])
        rows.sort(key=lambda r: int(r[0]))
        return [
            RequestRecord(
                id=r[0], ref=r[1], execution_arn=r[2], kind=r[3], token=r[4], payload=r[5], created=r[6]
            )
            for r in rows
        ]

    async def has_requests(self) -> bool:
        """Whether the inbox holds a request this engine has taken or may take."""
        rows = await self.store.fetch(_HAS_REQUESTS, {"me": self.id})
        return bool(rows)

    async def release_requests(self, refs: list[str]) -> None:
        """Give requests this engine took back to the inbox (their execution is another's)."""
        if refs:
            await self.store.locked([(_UNCLAIM, (refs, self.id)), (NOTIFY, ("inbox",))])

    async def claim_orphans(self, limit: int = 100) -> list[str]:
        """Resumable executions nobody live owns, claimed (up to ``limit``, oldest first)."""
        (rows,) = await self.store.locked([(_CLAIM_ORPHANS, {"me": self.id, "limit": limit})])
        return [str(r[0]) for r in rows]

    # -- wake-ups ------------------------------------------------------------------------------------
    async def wait(self, timeout: float) -> set[str]:
        """What was notified since the last call (``"inbox"``, ``"orphans"``), waiting up to
        ``timeout`` seconds for something; empty when nothing came."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.ensure_future(self._listen())
        if not self._heard:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), timeout)
        heard, self._heard = self._heard, set()
        self._signal.clear()
        return heard

    async def _listen(self) -> None:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=self._timeout
            )
        except psycopg.Error as exc:
            log.warning("cannot listen for wake-ups; polling", error=str(exc))
            await asyncio.sleep(1.0)
            return
        try:
            await conn.execute("LISTEN durable")
            self._heard.update(("inbox", "orphans"))  # what was sent before: look once
            self._signal.set()
            async for note in conn.notifies():
                self._heard.add(note.payload)
                self._signal.set()
        except psycopg.Error as exc:
            log.warning("wake-up connection lost; reconnecting", error=str(exc))
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
