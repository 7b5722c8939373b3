"""Interview reminders 24 h and 1 h before the slot, on APScheduler with a job store in our database.

Jobs are named ``reminder:<booking id>:<24h|1h>``; moving a booking cancels the old booking's jobs
and schedules the new one's; a fired job re-checks that the booking is still active, so a reminder
for a cancelled interview is never sent. Job functions must be importable by reference (the job store
keeps references, not objects), so a running ``Reminders`` registers itself under its name and the
job looks it up.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from flows.texts import Catalog, fmt_when
from storage import repo
from storage.models import Application, Booking, Conversation, Identity, Interview, Position, Slot

log = logging.getLogger("talentbot.reminders")

OFFSETS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}
GRACE = {"24h": 12 * 3600, "1h": 50 * 60}
OPEN_GRACE = 6 * 3600  # a server down at the slot's start still opens the interview within this
_RUNNING: weakref.WeakValueDictionary[str, Reminders] = weakref.WeakValueDictionary()


class _Scheduler(BackgroundScheduler):
    """APScheduler 3 runs one last pass over due jobs after ``shutdown()`` (and when shut down while
    paused), submitting to an executor that is already closed; skip any pass while not running."""

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


def sweep(name: str) -> None:
    """The periodic job: interviews whose window closed unfinished are expired (HR is told)."""
    rem = _RUNNING.get(name)
    if rem is not None:
        rem.expire_due()
        rem.flag_overdue()
        rem.remind_deadlines()


def fire(name: str, booking_id: int, kind: str) -> None:
    """The job function APScheduler calls (by reference)."""
    rem = _RUNNING.get(name)
    if rem is None:
        log.error("reminder %s for booking %s fired but no scheduler %r is running", kind, booking_id, name)
        return
    rem.send(booking_id, kind)


class Reminders:
    def __init__(
        self,
        *,
        name: str,
        engine: Engine,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        tz: ZoneInfo,
        default_language: str,
        clock: Callable[[], datetime],
        on_delivery: Callable[[], None] = lambda: None,
        readers: sessionmaker[Session] | None = None,
    ) -> None:
        self.name = name
        self._sessions, self._catalog, self._tz = sessions, catalog, tz
        self._readers = readers or sessions
        self._default_language, self._clock, self._on_delivery = default_language, clock, on_delivery
        # set by the runtime: hands (kind, key, application_id, data) to the conversation side
        self.on_event: Callable[[str, str, int, dict[str, Any]], None] | None = None
        # set by the runtime: each position's required documents (overdue detection), the relay's wake-up
        self.required_documents: Mapping[str, Sequence[str]] | None = None
        self.on_outbox: Callable[[], None] | None = None
        self.growth: Any = None  # flows.growth_content.GrowthContent: course titles for deadline reminders
        self.scheduler = _Scheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=tz,
        )

    def start(self, *, paused: bool = False) -> None:
        _RUNNING[self.name] = self
        self.scheduler.start(paused=paused)
        self.scheduler.add_job(
            sweep,
            "interval",
            minutes=5,
            args=[self.name],
            id="interview-expiry",
            replace_existing=True,
            misfire_grace_time=600,
        )

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        _RUNNING.pop(self.name, None)

    # -------------------------------------------------------------- scheduling

    def schedule(self, booking_id: int) -> list[str]:
        with self._readers() as s:
            row = s.execute(
                select(Booking.status, Slot.starts_at, Slot.round, Position.interview_mode)
                .join(Slot, Slot.id == Booking.slot_id)
                .join(Position, Position.id == Slot.position_id)
                .where(Booking.id == booking_id)
            ).first()
        if row is None or row.status != "active":
            self.cancel(booking_id)
            return []
        now = self._clock()
        ids = []
        for kind, offset in OFFSETS.items():
            at = row.starts_at - offset
            job_id = f"reminder:{booking_id}:{kind}"
            if at <= now:
                self._remove(job_id)
                continue
            self.scheduler.add_job(
                fire,
                "date",
                run_date=at,
                args=[self.name, booking_id, kind],
                id=job_id,
                replace_existing=True,
                misfire_grace_time=GRACE[kind],
            )
            ids.append(job_id)
        job_id = f"interview:{booking_id}"
        # the voice interview opens at a first-round slot; later rounds are in person with HR
        if row.interview_mode == "slot" and row.round == 1 and row.starts_at > now:
            self.scheduler.add_job(
                fire,
                "date",
                run_date=row.starts_at,
                args=[self.name, booking_id, "open"],
                id=job_id,
                replace_existing=True,
                misfire_grace_time=OPEN_GRACE,
            )
            ids.append(job_id)
        else:
            self._remove(job_id)
        return ids

    def cancel(self, booking_id: int) -> None:
        for kind in OFFSETS:
            self._remove(f"reminder:{booking_id}:{kind}")
        self._remove(f"interview:{booking_id}")

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id)

    def jobs(self) -> list[tuple[str, datetime]]:
        return sorted((j.id, j.next_run_time) for j in self.scheduler.get_jobs())

    def reconcile(self) -> int:
        """Make the jobs match the active future bookings (after a crash between commit and relay)."""
        with self._readers() as s:
            active = list(
                s.scalars(
                    select(Booking.id)
                    .join(Slot, Slot.id == Booking.slot_id)
                    .where(Booking.status == "active", Slot.starts_at > self._clock())
                )
            )
        wanted = set()
        for bid in active:
            wanted.update(self.schedule(bid))
        for job in self.scheduler.get_jobs():
            if job.id.startswith(("reminder:", "interview:")) and job.id not in wanted:
                job.remove()
        return len(wanted)

    # -------------------------------------------------------------- sending

    def open_interview(self, booking_id: int) -> bool:
        """The slot has come: the conversation opens the interview (if the booking still stands)."""
        with self._readers() as s:
            b = s.get(Booking, booking_id)
            if b is None or b.status != "active" or self.on_event is None:
                return False
            app_id = b.application_id
        self.on_event("interview_due", f"due:{booking_id}", app_id, {"booking_id": booking_id})
        return True

    def flag_overdue(self) -> int:
        """Overdue applications HR has not been told about yet (actions/overdue.py)."""
        from actions.overdue import flag

        n = flag(self._sessions, now=self._clock(), required=self.required_documents)
        if n and self.on_outbox is not None:
            self.on_outbox()
        return n

    def remind_deadlines(self) -> int:
        """Courses and onboarding items near or past their deadline (actions/deadlines.py)."""
        if self.growth is None or self.on_event is None:
            return 0
        from actions.deadlines import remind

        return remind(
            self._sessions,
            catalog=self._catalog,
            growth=self.growth,
            now=self._clock(),
            tz=self._tz,
            post=self.on_event,
        )

    def expire_due(self) -> int:
        now = self._clock()
        with self._readers() as s:
            due = list(
                s.execute(
                    select(Interview.id, Interview.application_id).where(
                        Interview.status.in_(("open", "active", "paused")), Interview.expires_at <= now
                    )
                )
            )
        for iv_id, app_id in due:
            if self.on_event is not None:
                self.on_event("expire", f"expire:{iv_id}", app_id, {})
        return len(due)

    def send(self, booking_id: int, kind: str) -> bool:
        if kind == "open":
            return self.open_interview(booking_id)
        now = self._clock()
        with self._sessions.begin() as s:
            b = s.get(Booking, booking_id)
            if b is None or b.status != "active":
                return False
            slot, app = s.get(Slot, b.slot_id), s.get(Application, b.application_id)
            if slot is None or app is None or app.user_id is None or slot.starts_at <= now:
                return False
            pos = s.get(Position, app.position_id)
            assert pos is not None
            ident = s.scalar(
                select(Identity)
                .where(Identity.user_id == app.user_id)
                .order_by(Identity.last_seen_at.desc())
                .limit(1)
            )
            if ident is None:
                return False
            conv = s.get(Conversation, f"{ident.platform}:{ident.conversation_id}")
            lang = (conv.language if conv else None) or self._default_language
            body = _reminder_body(
                self._catalog,
                lang,
                kind,
                slot.starts_at.astimezone(self._tz),
                pos.title_zh if lang == "zh" else pos.title_en,
                pos.location_zh if lang == "zh" else pos.location_en,
            )
            repo.deliver(
                s, platform=ident.platform, conversation_id=ident.conversation_id, body=body, now=now
            )
            repo.audit(
                s,
                now=now,
                actor="system",
                action=f"reminder.{kind}",
                subject=f"application:{app.id}",
                details={"booking_id": b.id, "platform": ident.platform},
            )
        log.info("reminder %s sent for booking %s", kind, booking_id)
        self._on_delivery()
        return True


def _reminder_body(
    catalog: Catalog, lang: str, kind: str, when: datetime, title: str, location: str
) -> dict[str, Any]:
    text = catalog.t(lang, f"reminder_{kind}", position=title, when=fmt_when(when, lang), location=location)
    return {
        "text": text,
        "choices": [
            {"title": catalog.t(lang, "reschedule_btn"), "payload": "reschedule"},
            {"title": catalog.t(lang, "cancel_btn"), "payload": "cancel"},
        ],
    }
