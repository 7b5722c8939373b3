"""The outbox relay: runs side effects written by a committed transaction, at least once.

Handlers are idempotent (scheduling replaces a job by id; an HR notice is a log line and, later, a
message keyed by the outbox id). A failing item is retried and marked dead after ``max_attempts``,
where HR can see it.

Most kinds are a plain ``handler(payload)``, retried on the next pass. A kind that talks to another
system over the network (HR-system sync) is a :class:`Consumer`: its handler sees the whole
:class:`Item` (id, attempts, created_at: an idempotency key that survives retries), says how long to
wait before the next try (:class:`Retry`: the kind is held, its items stay in order behind the failed
one) or that trying again is pointless (:class:`GiveUp`: dead at once), has its own ``max_attempts``
and a hook that writes the dead letter's alert in the transaction that marks it dead. A ``blocking``
consumer never runs on the event loop, even when the relay drains inline.

A hold is kept in memory and on the item (``next_attempt_at``): after a restart the kind keeps waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxItem

log = logging.getLogger("talentbot.outbox")

Handler = Callable[[Mapping[str, Any]], None]
BATCH = 200  # items per pass when draining in a thread


@dataclass(frozen=True, slots=True)
class Item:
    """One outbox row, as a :class:`Consumer` sees it."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    attempts: int  # tries before this one
    created_at: datetime


class Retry(Exception):
    """This try failed and a later one may succeed: hold the kind for ``after`` seconds."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class GiveUp(Exception):
    """This try failed and every later one would too: the item is dead at once."""


@dataclass(frozen=True, slots=True)
class Consumer:
    """A kind with its own handler (seeing the whole item) and retry policy."""

    handle: Callable[[Item], None]
    max_attempts: int = 5
    # called in the transaction that marks an item dead (with its final attempt count and error)
    on_dead: Callable[[Session, Item, str], None] | None = None
    blocking: bool = False  # network I/O: run in a thread, never on the event loop


class Relay:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        handlers: Mapping[str, Handler],
        clock: Callable[[], datetime],
        max_attempts: int = 5,
        readers: sessionmaker[Session] | None = None,
        inline: bool = False,
        gather_seconds: float = 0.05,
        consumers: Mapping[str, Consumer] | None = None,
    ) -> None:
        # inline: drain on the event loop itself. With embedded SQLite every write then happens on one
        # thread, so no transaction ever waits in SQLite's sleeping busy handler for another thread's.
        self._inline, self._gather = inline, gather_seconds
        self._sessions, self._handlers, self._clock = sessions, handlers, clock
        self._consumers: Mapping[str, Consumer] = consumers or {}
        self._readers = readers or sessions
        self._max = max_attempts
        self._held: dict[str, datetime] = {}  # kind → not before (a Retry's wait)
        self._restored = False  # the waits of an earlier run, read from the outbox once
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Called after a commit (possibly from a worker thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.drain)

    def held_until(self, kind: str) -> datetime | None:
        """When a held kind is tried again (None: not held)."""
        until = self._held.get(kind)
        return until if until is not None and until > self._clock() else None

    async def _run(self) -> None:
        while True:
            try:
                if self._inline:
                    # In small bites, so that messages keep flowing while a burst is relayed.
                    while await self._drain_inline(limit=4) == 4:
                        await asyncio.sleep(0.005)
                else:
                    # A full batch done: more may be waiting, with no commit left to wake us.
                    while await asyncio.to_thread(self.drain, BATCH) == BATCH:
                        pass
            except Exception:  # noqa: BLE001 — keep relaying; the item records its own error
                log.exception("outbox relay pass failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._wake.wait()
            await asyncio.sleep(self._gather)  # let a burst of commits arrive, then drain them in one pass
            self._wake.clear()

    def drain(self, limit: int = BATCH) -> int:
        """Process pending items once; returns how many were done.

        A handler runs outside any transaction (it may open its own, and SQLite has one writer); the
        item is marked afterwards, so a crash in between means the handler runs again — they are
        idempotent.
        """
        done = 0
        for item in self._fetch(limit):
            if self.held_until(item.kind) is None:
                done += self._mark(item, self._call(item))
        return done

    async def _drain_inline(self, limit: int) -> int:
        """``drain`` on the event loop, with blocking consumers' handlers in a thread."""
        done = 0
        for item in self._fetch(limit):
            if self.held_until(item.kind) is not None:
                continue
            consumer = self._consumers.get(item.kind)
            if consumer is not None and consumer.blocking:
                error = await asyncio.to_thread(self._call, item)
            else:
                error = self._call(item)
            done += self._mark(item, error)
        return done

    def _restore_holds(self) -> None:
        """After a restart a retried kind keeps waiting as it would have (``next_attempt_at``)."""
        self._restored = True
        with self._readers() as s:
            rows = s.execute(
                select(OutboxItem.kind, func.max(OutboxItem.next_attempt_at))
                .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at.is_not(None))
                .group_by(OutboxItem.kind)
            ).all()
        for kind, until in rows:
            if until is not None and until > self._clock():
                self._held[kind] = until

    def _fetch(self, limit: int) -> list[Item]:
        if not self._restored:
            self._restore_holds()
        q = select(OutboxItem).where(OutboxItem.status == "pending").order_by(OutboxItem.id).limit(limit)
        held = [k for k in list(self._held) if self.held_until(k) is not None]
        for k in set(self._held) - set(held):
            self._held.pop(k, None)
        if held:
            q = q.where(OutboxItem.kind.not_in(held))
        with self._readers() as s:
            return [Item(i.id, i.kind, dict(i.payload), i.attempts, i.created_at) for i in s.scalars(q)]

    def _call(self, item: Item) -> Exception | None:
        try:
            consumer = self._consumers.get(item.kind)
            if consumer is not None:
                consumer.handle(item)
                return None
            handler = self._handlers.get(item.kind)
            if handler is None:
                raise LookupError(f"no handler for outbox kind {item.kind!r}")
            handler(item.payload)
        except Exception as exc:  # noqa: BLE001 — recorded on the item, retried
            return exc
        return None

    def _mark(self, item: Item, error: Exception | None) -> int:
        consumer = self._consumers.get(item.kind)
        alerted = False
        with self._sessions.begin() as s:
            row = s.get(OutboxItem, item.id)
            if row is None or row.status != "pending":
                return 0
            row.attempts += 1
            if error is None:
                row.status = "done"
                row.done_at = self._clock()
                return 1
            row.last_error = repr(error)[:2000]
            limit = consumer.max_attempts if consumer is not None else self._max
            if isinstance(error, GiveUp) or row.attempts >= limit:
                row.status = "dead"
                log.error("outbox item %s (%s) is dead: %s", item.id, item.kind, error)
                if consumer is not None and consumer.on_dead is not None:
                    consumer.on_dead(s, replace(item, attempts=row.attempts), str(error))
                    alerted = True
            elif isinstance(error, Retry):
                until = self._clock() + timedelta(seconds=max(error.after, 0.0))
                self._held[item.kind] = until
                row.next_attempt_at = until
                log.info(
                    "outbox item %s (%s) failed, next try in %.0f s: %s",
                    item.id,
                    item.kind,
                    error.after,
                    error,
                )
        if alerted:
            self.wake()
        return 0
