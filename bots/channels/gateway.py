"""Between the platform adapters and the engine: accept verified messages fast, process them off the
webhook's deadline, and send what the bot says — in order per conversation, within each platform's
rate limits, retried with backoff, and recorded (never silently dropped) when it finally fails.

Inbound: ``accept`` drops an immediate redelivery (the engine's processed-message record catches the
rest), then a task downloads any media into the file store and runs ``handle``. Push platforms'
replies are written to ``deliveries`` in the message's own transaction (``Deps.push_platforms``), so a
crash after the commit loses no reply; the sender here sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bots.channels.base import Channel, MediaError, MediaTooLarge, RateLimit, SendError
from flows.engine import Deps, handle, reply_from_json
from flows.values import Inbound, MediaRef
from scoring.audio import sniff
from storage import repo
from storage.models import Delivery, OutboxItem

log = logging.getLogger("talentbot.gateway")

MAX_MEDIA_BYTES = 20 * 2**20  # documents and recordings larger than this are refused, politely
MEDIA_TRIES = 3
MEDIA_BACKOFF = (0.5, 1.0, 2.0)
SEND_ATTEMPTS = 6  # then the delivery is failed and HR told
SEND_BACKOFF_MAX = 300.0
RECENT = 4096  # message ids remembered to drop immediate redeliveries
CONCURRENCY = 16


class Limiter:
    """Token buckets per (platform, conversation) and per platform."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str, int], tuple[float, float]] = {}

    def take(self, platform: str, conversation: str, limits: tuple[RateLimit, ...]) -> float:
        """0 when a send may go now (and counts it); else the seconds to wait."""
        now = self._clock()
        wait = 0.0
        states = []
        for i, lim in enumerate(limits):
            key = (platform, conversation if lim.per == "conversation" else "*", i)
            tokens, at = self._buckets.get(key, (float(lim.count), now))
            rate = lim.count / lim.seconds
            tokens = min(float(lim.count), tokens + (now - at) * rate)
            if tokens < 1.0:
                wait = max(wait, (1.0 - tokens) / rate)
            states.append((key, tokens))
        if wait > 0:
            return wait
        for key, tokens in states:
            self._buckets[key] = (tokens - 1.0, now)
        return 0.0


@dataclass
class _Pending:
    id: int
    platform: str
    conversation_id: str
    body: dict[str, Any]
    attempts: int


class Gateway:
    def __init__(
        self,
        *,
        deps: Deps,
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
    ) -> None:
        self.deps, self.channels, self._clock = deps, dict(channels), clock
        self._recent: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sem = asyncio.Semaphore(CONCURRENCY)
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._limiter = Limiter()
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for ch in self.channels.values():
            await ch.start()
        self._sender = asyncio.create_task(self._send_forever())

    async def stop(self) -> None:
        for ch in self.channels.values():
            with contextlib.suppress(Exception):
                await ch.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        await self.send_due()

    def wake(self) -> None:
        """New deliveries were written (possibly from another thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # ------------------------------------------------------------------ inbound

    async def accept(self, inbound: Inbound) -> bool:
        """Queue a verified message; False for one seen moments ago (a platform retry)."""
        key = (inbound.platform, inbound.message_id)
        if key in self._recent:
            return False
        self._recent[key] = None
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        task = asyncio.create_task(self._process(inbound))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until accepted messages are handled (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _process(self, inbound: Inbound) -> None:
        async with self._sem:
            try:
                if inbound.media is not None and inbound.media.kind not in ("failed", "too_large"):
                    inbound = await self._ingest_media(inbound)
                await handle(inbound, self.deps)
            except Exception:  # noqa: BLE001 — one bad message must not stop the others
                log.exception("handling %s message %s failed", inbound.platform, inbound.message_id)
            self._wake.set()

    async def _ingest_media(self, inbound: Inbound) -> Inbound:
        media = inbound.media
        assert media is not None
        if media.size is not None and media.size > MAX_MEDIA_BYTES:
            return replace(inbound, media=replace(media, kind="too_large"))
        channel = self.channels[inbound.platform]
        error: MediaError | None = None
        fetched = None
        for attempt in range(MEDIA_TRIES):
            try:
                fetched = await channel.fetch_media(media)
                break
            except MediaTooLarge:
                return replace(inbound, media=replace(media, kind="too_large"))
            except MediaError as exc:
                error = exc
                log.warning("media %s of %s: %s (try %d)", media.ref, inbound.platform, exc, attempt + 1)
                if not exc.retryable:
                    break
                await asyncio.sleep(MEDIA_BACKOFF[min(attempt, len(MEDIA_BACKOFF) - 1)])
        if fetched is None:
            log.error("media %s of %s could not be fetched: %s", media.ref, inbound.platform, error)
            return replace(inbound, media=replace(media, kind="failed"))
        if len(fetched.data) > MAX_MEDIA_BYTES:
            return replace(inbound, media=replace(media, kind="too_large", size=len(fetched.data)))
        files = self.deps.files
        assert files is not None
        stored = await asyncio.to_thread(files.put, fetched.data)
        kind = media.kind
        if (
            kind in ("file", "image")
            and sniff(fetched.data) is not None
            and media.mime
            and "audio" in media.mime
        ):
            kind = "voice"
        return replace(
            inbound,
            media=MediaRef(
                kind=kind,
                ref=stored.sha256,
                mime=fetched.mime or media.mime,
                size=stored.size,
                name=fetched.filename or media.name,
            ),
        )

    # ------------------------------------------------------------------ outbound

    async def _send_forever(self) -> None:
        while True:
            try:
                wait = await self.send_due()
            except Exception:  # noqa: BLE001 — keep sending; each delivery records its own error
                log.exception("sending deliveries failed")
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, min(wait, 1.0))):  # wait_for can swallow a cancel (3.11)
                    await self._wake.wait()
            self._wake.clear()

    def _due(self) -> list[_Pending]:
        now = self._clock()
        with (self.deps.readers or self.deps.sessions)() as s:
            rows = s.scalars(
                select(Delivery)
                .where(
                    Delivery.status == "pending",
                    Delivery.platform.in_(list(self.channels)),
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                )
                .order_by(Delivery.id)
                .limit(200)
            )
            return [_Pending(d.id, d.platform, d.conversation_id, dict(d.body), d.attempts) for d in rows]

    async def send_due(self) -> float:
        """Send what is due, oldest first, one conversation's messages in order. Returns how long
        until something may be sendable again (rate limits)."""
        if not self.channels:
            return 1.0
        due = await asyncio.to_thread(self._due)
        blocked: set[tuple[str, str]] = set()
        soonest = 1.0
        by_conv: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
        for d in due:
            by_conv[(d.platform, d.conversation_id)].append(d)
        for conv, items in by_conv.items():
            for d in items:
                if conv in blocked:
                    break
                channel = self.channels[d.platform]
                wait = self._limiter.take(d.platform, d.conversation_id, tuple(channel.limits))
                if wait > 0:
                    soonest = min(soonest, wait)
                    blocked.add(conv)
                    break
                try:
                    await channel.send(d.conversation_id, reply_from_json(d.body))
                except SendError as exc:
                    self._failed(d, exc)
                    blocked.add(conv)  # keep the order: later messages wait for this one
                    break
                except Exception as exc:  # noqa: BLE001 — an adapter bug is recorded like a failure
                    log.exception("sending delivery %s on %s crashed", d.id, d.platform)
                    self._failed(d, SendError(repr(exc), retryable=True))
                    blocked.add(conv)
                    break
                self._mark(d.id, status="sent", sent_at=self._clock())
        return soonest

    def _mark(self, delivery_id: int, **values: Any) -> None:
        with self.deps.sessions.begin() as s:
            s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))

    def _failed(self, d: _Pending, exc: SendError) -> None:
        attempts = d.attempts + 1
        now = self._clock()
        if exc.retryable and attempts < SEND_ATTEMPTS:
            delay = exc.retry_after if exc.retry_after is not None else min(2.0**attempts, SEND_BACKOFF_MAX)
            self._mark(
                d.id,
                attempts=attempts,
                last_error=str(exc)[:2000],
                next_attempt_at=now + timedelta(seconds=delay),
            )
            log.warning("delivery %s on %s: %s; retry in %.0f s", d.id, d.platform, exc, delay)
            return
        with self.deps.sessions.begin() as s:
            s.execute(
                update(Delivery)
                .where(Delivery.id == d.id)
                .values(status="failed", attempts=attempts, last_error=str(exc)[:2000])
            )
            repo.audit(
                s,
                now=now,
                actor="system",
                action="delivery.failed",
                subject=f"{d.platform}:{d.conversation_id}",
                details={"delivery_id": d.id, "error": str(exc)[:500], "attempts": attempts},
            )
            s.add(
                OutboxItem(
                    kind="notify_hr",
                    payload={
                        "event": "delivery_failed",
                        "platform": d.platform,
                        "conversation_id": d.conversation_id,
                        "delivery_id": d.id,
                        "error": str(exc)[:500],
                        "at": now.isoformat(),
                    },
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
        log.error("delivery %s on %s failed for good: %s", d.id, d.platform, exc)
        self.deps.after_commit()
