"""Wiring: build the engine's dependencies, the reminder scheduler and the outbox relay from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from actions.answers import AnswerProcessor
from actions.hr_api import HrApi, HrApiSettings
from actions.hr_notify import HrNotifier
from actions.hrsync import HrSync, HrSyncSettings
from actions.jobs import InProcessJobs
from actions.relay import Relay
from actions.reminders import Reminders
from bots.settings import Settings
from flows.documents import DocumentRules
from flows.employee_io import EmpEnv
from flows.engine import Deps, SystemEvent, handle_event, handle_event_sync
from flows.hr_io import HrEnv
from flows.texts import Catalog
from scoring.questions import load_bank
from storage.db import checkpoint, make_engine, session_factory, upgrade
from storage.files import FileStore
from storage.models import Answer

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
    jobs: Any = None  # actions.jobs.Jobs: transcription and scoring off the request path
    answers: AnswerProcessor | None = None
    gateway: Any = None  # bots.channels.gateway.Gateway: the chat platforms (none configured: no-op)
    hrsync: HrSync | None = None  # the relay's HR-system sync (off without TALENTBOT_HRSYNC_URL)
    _checkpointer: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def post_event(self, event: SystemEvent) -> None:
        """Hand an event to the conversation side. From a worker thread while the server runs, it is
        handled on the event loop (one writer for SQLite, the conversation lock); otherwise here."""
        loop = self._loop
        if loop is not None and loop.is_running() and not _on_loop(loop):
            asyncio.run_coroutine_threadsafe(handle_event(event, self.deps), loop).result(timeout=60)
        else:
            handle_event_sync(event, self.deps)

    def ics_token(self, booking_id: int) -> str:
        return ics_token(self.settings.secret_key, booking_id)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.jobs is not None:
            self.jobs.start()
        self.reminders.start()
        self.reminders.reconcile()
        self.relay.start()
        if self.gateway is not None:
            await self.gateway.start()
        await asyncio.to_thread(self.resubmit_pending)
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
        if self.gateway is not None:
            await self.gateway.stop()
        await self.relay.stop()
        if self.hrsync is not None:
            self.hrsync.close()
        if self.jobs is not None:
            await asyncio.to_thread(self.jobs.stop)
        self._loop = None
        self.reminders.shutdown()
        if self.deps.executor is not None:
            self.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        self.engine.dispose()
        if self.reader is not None:
            self.reader.dispose()

    def resubmit_pending(self) -> int:
        """Answers still pending (the process stopped mid-job) go to the worker again."""
        if self.jobs is None:
            return 0
        with self.sessions() as s:
            ids = list(s.scalars(select(Answer.id).where(Answer.status == "pending").order_by(Answer.id)))
        for answer_id in ids:
            self.jobs.submit("score_answer", {"answer_id": answer_id})
        return len(ids)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def make_asr(settings: Settings) -> Any:
    """The ASR backend the settings name: an HTTP service, or Whisper (the bundled base by default)."""
    if settings.asr_url:
        from scoring.asr import HTTPBackend

        return HTTPBackend(settings.asr_url, api_key=settings.asr_api_key, model="whisper-1", timeout=120.0)
    from scoring.asr import FasterWhisperBackend
    from scoring.whisper_model import ensure_model

    return FasterWhisperBackend(ensure_model(settings.var_dir / "models", settings.asr_model))


FILE_LINK_DAYS = 14  # generated files (offer letters, charts) are fetchable by link this long


def file_token(secret: str, sha256: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"file:{sha256}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def file_url(base: str, secret: str, sha256: str, name: str, *, now: datetime) -> str:
    """A capability link to a generated file: the store's hash, an expiry and an HMAC over both (chat
    platforms fetch attachments by URL, without our cookies)."""
    from urllib.parse import quote

    expires = int(now.timestamp()) + FILE_LINK_DAYS * 86400
    return f"{base}/files/{sha256}/{expires}/{file_token(secret, sha256, expires)}/{quote(name)}"


class LazyParser:
    """An intent model loaded (trained) on its first use; the same model after that."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._model: Any = None

    def parse(self, text: str, *, now: datetime | None = None) -> Any:
        if self._model is None:
            self._model = self._load()  # cached per process: a race trains it at most twice
        return self._model.parse(text, now=now)


@functools.lru_cache(maxsize=4)
def _growth(content_dir: Path) -> Any:
    from flows.growth_content import load_growth

    return load_growth(content_dir)


@functools.lru_cache(maxsize=4)
def _employee_nlu(path: Path, tz: str) -> Any:
    from zoneinfo import ZoneInfo

    from nlu.employee import EmployeeNLU

    return EmployeeNLU.load(path, tz=ZoneInfo(tz))


@functools.lru_cache(maxsize=4)
def _hr_nlu(path: Path, tz: str) -> Any:
    """The HR intent model, trained once per process (tests build many runtimes)."""
    from zoneinfo import ZoneInfo

    from nlu.hr import HrNLU

    return HrNLU.load(path, tz=ZoneInfo(tz))


def ics_token(secret: str, booking_id: int) -> str:
    return hmac.new(secret.encode(), f"ics:{booking_id}".encode(), hashlib.sha256).hexdigest()[:24]


def build(
    settings: Settings,
    *,
    nlu: Any = None,
    clock: Any = None,
    migrate: bool = True,
    name: str | None = None,
    asr: Callable[[], Any] | None = None,
    hr_nlu: Any = None,
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
    questions = load_bank(settings.content_dir / "questions")
    files = FileStore(settings.var_dir / "files")
    holder: list[Runtime] = []

    def processed(answer_id: int) -> None:
        holder[0].post_event(
            SystemEvent("answer_processed", key=f"answer:{answer_id}", data={"answer_id": answer_id})
        )

    answers = AnswerProcessor(
        sessions=sessions,
        files=files,
        bank=questions,
        asr=asr or (lambda: make_asr(settings)),
        clock=clock,
        on_processed=processed,
    )
    if settings.broker_url:
        from actions.celery_app import make_celery
        from actions.jobs import CeleryJobs

        jobs: Any = CeleryJobs(app=make_celery(settings.broker_url))
    else:
        jobs = InProcessJobs(handlers={"score_answer": answers}, workers=1)
    hrsync = HrSync(settings=HrSyncSettings.from_env(settings.env), clock=clock)
    notifier = HrNotifier(
        sessions=sessions, catalog=catalog, clock=clock, on_delivery=lambda: holder[0].deps.on_delivery()
    )
    relay = Relay(
        sessions=sessions,
        readers=readers,
        clock=clock,
        inline=sqlite,
        consumers={"hr_sync": hrsync.consumer()},
        handlers={
            "notify_hr": notifier,
            "training_request": lambda p: notifier.training_request(p),
            "candidate_event": lambda p: holder[0].post_event(
                SystemEvent(
                    str(p["kind"]), str(p["key"]), int(p["application_id"]), dict(p.get("data") or {})
                )
            ),
            "schedule_reminders": lambda p: reminders.schedule(int(p["booking_id"])),
            "cancel_reminders": lambda p: reminders.cancel(int(p["booking_id"])),
            "score_answer": lambda p: jobs.submit("score_answer", {"answer_id": int(p["answer_id"])}),
        },
    )
    base = settings.public_url
    rules = DocumentRules.load(settings.content_dir)
    tz_name = str(settings.tz)
    if hr_nlu is None:  # trained on the first HR message: workers and CLI commands never need it
        hr_nlu = LazyParser(lambda: _hr_nlu(settings.content_dir / "nlu" / "hr", tz_name))
    growth = _growth(settings.content_dir)
    employee_nlu = LazyParser(lambda: _employee_nlu(settings.content_dir / "nlu" / "employee", tz_name))
    hr_api_settings = HrApiSettings.from_env(settings.env)
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
        files=files,
        bank=questions,
        documents=rules,
        hr_nlu=hr_nlu,
        hr_env=HrEnv(
            files=files,
            documents=rules,
            bank=questions,
            bank_info=dict(bank["bank"]),
            file_url=lambda sha, name: file_url(base, settings.secret_key, sha, name, now=clock()),
            report_url=lambda app_id: f"{base}/hr/reports/{app_id}",
            growth=growth,
        ),
        employee_nlu=employee_nlu,
        employee_env=EmpEnv(
            growth=growth,
            files=files,
            file_url=lambda sha, name: file_url(base, settings.secret_key, sha, name, now=clock()),
            hr_api=HrApi(hr_api_settings) if hr_api_settings.configured else None,
            portal_url=hr_api_settings.portal_url,
        ),
    )
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        deps=deps,
        reminders=reminders,
        relay=relay,
        reader=reader,
        jobs=jobs,
        answers=answers,
        hrsync=hrsync,
    )
    holder.append(rt)
    reminders.on_event = lambda kind, key, app_id, data: rt.post_event(SystemEvent(kind, key, app_id, data))
    reminders.required_documents = rules.required
    reminders.on_outbox = relay.wake
    reminders.growth = growth
    _add_channels(rt, clock)
    return rt


def _add_channels(rt: Runtime, clock: Callable[[], datetime]) -> None:
    """Each configured platform (its module's ``create`` returns None when it has no credentials)."""
    import dataclasses
    import importlib

    from bots.channels import PLATFORMS
    from bots.channels.base import ChannelContext
    from bots.channels.gateway import Gateway

    gateway = Gateway(deps=rt.deps, channels={}, clock=clock)
    ctx = ChannelContext(
        env=rt.settings.env, public_url=rt.settings.public_url, clock=clock, accept=gateway.accept
    )
    for name, module in PLATFORMS.items():
        channel = importlib.import_module(module).create(ctx)
        if channel is not None:
            gateway.channels[name] = channel
            log.info("platform %s is on", name)
    rt.gateway = gateway
    if gateway.channels:
        rt.deps = dataclasses.replace(
            rt.deps, push_platforms=frozenset(gateway.channels), on_delivery=gateway.wake
        )
        gateway.deps = rt.deps
