"""The outbox relay: runs side effects written by a committed transaction, at least once.

Handlers are idempotent (scheduling replaces a job by id; an HR notice is a log line and, later, a
message keyed by the outbox id). A failing item is retried with backoff and marked dead after
``max_attempts``, where HR can see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxItem

log = logging.getLogger("talentbot.outbox")
hr_log = logging.getLogger("talentbot.hr")

Handler = Callable[[Mapping[str, Any]], None]


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
    ) -> None:
        # inline: drain on the event loop itself. With embedded SQLite every write then happens on one
        # thread, so no transaction ever waits in SQLite's sleeping busy handler for another thread's.
        self._inline, self._gather = inline, gather_seconds
        self._sessions, self._handlers, self._clock = sessions, handlers, clock
        self._readers = readers or sessions
        self._max = max_attempts
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

    async def _run(self) -> None:
        while True:
            try:
                if self._inline:
                    # In small bites, so that messages keep flowing while a burst is relayed.
                    while self.drain(limit=4) == 4:
                        await asyncio.sleep(0.005)
                else:
                    await asyncio.to_thread(self.drain)
            except Exception:  # noqa: BLE001 — keep relaying; the item records its own error
                log.exception("outbox relay pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)
            await asyncio.sleep(self._gather)  # let a burst of commits arrive, then drain them in one pass
            self._wake.clear()

    def drain(self, limit: int = 200) -> int:
        """Process pending items once; returns how many were done.

        A handler runs outside any transaction (it may open its own, and SQLite has one writer); the
        item is marked afterwards, so a crash in between means the handler runs again — they are
        idempotent.
        """
        done = 0
        with self._readers() as s:
            items = [
                (i.id, i.kind, dict(i.payload))
                for i in s.scalars(
                    select(OutboxItem)
                    .where(OutboxItem.status == "pending")
                    .order_by(OutboxItem.id)
                    .limit(limit)
                )
            ]
        for item_id, kind, payload in items:
            handler = self._handlers.get(kind)
            error: Exception | None = None
            try:
                if handler is None:
                    raise LookupError(f"no handler for outbox kind {kind!r}")
                handler(payload)
            except Exception as exc:  # noqa: BLE001 — recorded on the item, retried
                error = exc
            with self._sessions.begin() as s:
                item = s.get(OutboxItem, item_id)
                if item is None or item.status != "pending":
                    continue
                item.attempts += 1
                if error is None:
                    item.status = "done"
                    item.done_at = self._clock()
                    done += 1
                else:
                    item.last_error = repr(error)[:2000]
                    if item.attempts >= self._max:
                        item.status = "dead"
                        log.error("outbox item %s (%s) is dead: %s", item_id, kind, error)
        return done


def notify_hr(payload: Mapping[str, Any]) -> None:
    """HR notice for now: a log line (real channels come with the chat adapters)."""
    hr_log.info(
        "HR notice: %s application=%s candidate=%s position=%s %s",
        payload.get("event"),
        payload.get("application_id"),
        payload.get("candidate"),
        payload.get("position"),
        payload.get("slot", ""),
    )
