"""Wiring: build the engine's dependencies, the reminder scheduler and the outbox relay from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.relay import Relay, notify_hr
from actions.reminders import Reminders
from bots.settings import Settings
from flows.engine import Deps
from flows.texts import Catalog
from storage.db import checkpoint, make_engine, session_factory, upgrade
from storage.files import FileStore

log = logging.getLogger("talentbot")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    deps: Deps
    reminders: Reminders
    relay: Relay
    reader: Engine | None = None
    _checkpointer: asyncio.Task[None] | None = None

    def ics_token(self, booking_id: int) -> str:
        return ics_token(self.settings.secret_key, booking_id)

    async def start(self) -> None:
        self.reminders.start()
        self.reminders.reconcile()
        self.relay.start()
        if self.engine.dialect.name == "sqlite":
            self._checkpointer = asyncio.create_task(self._checkpoint_every(1.0))

    async def _checkpoint_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(checkpoint, self.reader or self.engine)
            except Exception:  # noqa: BLE001 — a busy database just means next time
                log.debug("WAL checkpoint skipped", exc_info=True)

    async def stop(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        await self.relay.stop()
        self.reminders.shutdown()
        if self.deps.executor is not None:
            self.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        self.engine.dispose()
        if self.reader is not None:
            self.reader.dispose()


def ics_token(secret: str, booking_id: int) -> str:
    return hmac.new(secret.encode(), f"ics:{booking_id}".encode(), hashlib.sha256).hexdigest()[:24]


def build(
    settings: Settings, *, nlu: Any = None, clock: Any = None, migrate: bool = True, name: str | None = None
) -> Runtime:
    settings = settings.with_secret()
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url, autocheckpoint=False)
    sessions = session_factory(engine)
    # Reads (polling, the relay's scan, the job store) use their own pool and never take the writer's lock.
    reader = make_engine(settings.database_url, immediate=False)
    readers = session_factory(reader)
    catalog = Catalog.load(settings.content_dir / "messages.yml")
    with open(settings.content_dir / "positions.yml", encoding="utf-8") as f:
        bank = yaml.safe_load(f)
    if nlu is None:
        from nlu import NLU

        nlu = NLU.load(settings.content_dir / "nlu", tz=settings.tz)
    clock = clock or now_utc
    sqlite = engine.dialect.name == "sqlite"
    # SQLite has one writer: messages are handled on the event loop, one at a time. PostgreSQL takes
    # them in parallel on a pool of threads (each with its own connection).
    executor = None if sqlite else ThreadPoolExecutor(max_workers=8, thread_name_prefix="talentbot-handle")
    reminders = Reminders(
        name=name or f"talentbot-{id(engine)}",
        engine=reader,
        sessions=sessions,
        readers=readers,
        catalog=catalog,
        tz=settings.tz,
        default_language=settings.default_language,
        clock=clock,
    )
    relay = Relay(
        sessions=sessions,
        readers=readers,
        clock=clock,
        inline=sqlite,
        handlers={
            "notify_hr": notify_hr,
            "schedule_reminders": lambda p: reminders.schedule(int(p["booking_id"])),
            "cancel_reminders": lambda p: reminders.cancel(int(p["booking_id"])),
        },
    )
    base = settings.public_url
    deps = Deps(
        sessions=sessions,
        nlu=nlu,
        catalog=catalog,
        tz=settings.tz,
        default_language=settings.default_language,
        contact={"zh": bank["bank"]["hr_contact_zh"], "en": bank["bank"]["hr_contact_en"]},
        privacy_url=f"{base}/privacy",
        ics_url=lambda bid: f"{base}/calendar/{bid}/{ics_token(settings.secret_key, bid)}.ics",
        executor=executor,
        clock=clock,
        after_commit=relay.wake,
        readers=readers,
        files=FileStore(settings.var_dir / "files"),
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        deps=deps,
        reminders=reminders,
        relay=relay,
        reader=reader,
    )
