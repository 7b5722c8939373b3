"""HR's decisions on an application, and the automated ones — each an append-only ``decisions`` row
and an audit row with the versions of its inputs, in the caller's transaction.

No function here rejects anybody on its own: the threshold only moves a candidate *into* the
next-round pool (PIPL Art. 24, GDPR Art. 22); a rejection is always a person's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Application, Booking, Decision, Interview, Offer, Position, Slot
from storage.repo import audit

MILESTONES = {
    "booked": "booked_at",
    "interviewed": "interviewed_at",
    "shortlisted": "shortlisted_at",
    "next_round": "next_round_at",
    "offer": "offer_at",
    "hired": "hired_at",
    "rejected": "rejected_at",
}
REMIND_EVERY = timedelta(hours=24)  # one nudge per candidate per day, however often HR asks
AUTOMATION = "system:automation"


def set_stage(app: Application, stage: str, now: datetime) -> None:
    """The application's stage, and its funnel milestone the first time it is reached."""
    app.stage = stage
    app.updated_at = now
    col = MILESTONES.get(stage)
    if col is not None and getattr(app, col) is None:
        setattr(app, col, now)


def decide(
    s: Session,
    app: Application,
    *,
    kind: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    versions: Mapping[str, Any] | None = None,
) -> Decision:
    d = Decision(
        application_id=app.id,
        kind=kind,
        actor=actor,
        reason=reason,
        data=dict(data or {}),
        input_versions=dict(versions or {}),
        at=now,
    )
    s.add(d)
    audit(
        s,
        now=now,
        actor=actor,
        action=f"decision.{kind}",
        subject=f"application:{app.id}",
        details={"reason": reason, **dict(data or {})},
        input_versions=dict(versions or {}),
    )
    return d


def audit_read(s: Session, *, user_id: int, what: str, ids: Sequence[int], now: datetime) -> None:
    """An HR read of candidate data: one row per candidate shown (a list: one row with the ids)."""
    if len(ids) == 1:
        audit(s, now=now, actor=f"user:{user_id}", action=f"hr.read.{what}", subject=f"application:{ids[0]}")
    elif ids:
        audit(
            s,
            now=now,
            actor=f"user:{user_id}",
            action=f"hr.read.{what}",
            subject="applications",
            details={"ids": list(ids)[:500], "count": len(ids)},
        )


def latest_interview(s: Session, app_id: int) -> Interview | None:
    return s.scalar(
        select(Interview)
        .where(Interview.application_id == app_id, Interview.round == 1, Interview.status == "completed")
        .order_by(Interview.id.desc())
        .limit(1)
    )


def effective_score(s: Session, app: Application) -> float | None:
    if app.score_override is not None:
        return app.score_override
    iv = latest_interview(s, app.id)
    return iv.overall if iv is not None else None


def apply_threshold(s: Session, app: Application, *, now: datetime, versions: Mapping[str, Any]) -> bool:
    """After an interview is scored (or its score overridden): at or above the position's threshold
    moves an ``interviewed`` candidate into the next-round pool (``shortlisted``). Below it, nothing
    happens — a person decides. True when the candidate was shortlisted."""
    pos = s.get(Position, app.position_id)
    score = effective_score(s, app)
    if pos is None or pos.threshold is None or score is None or app.stage != "interviewed":
        return False
    if score < pos.threshold:
        return False
    set_stage(app, "shortlisted", now)
    decide(
        s,
        app,
        kind="shortlisted",
        actor=AUTOMATION,
        now=now,
        data={"score": score, "threshold": pos.threshold, "overridden": app.score_override is not None},
        versions={**dict(versions), "threshold": pos.threshold},
    )
    return True


@dataclass(frozen=True, slots=True)
class Result:
    status: str  # ok | unchanged | conflict | too_soon | missing
    data: Mapping[str, Any] | None = None


def mark_priority(s: Session, app: Application, *, on: bool, user_id: int, now: datetime) -> Result:
    if app.priority == on:
        return Result("unchanged")
    app.priority = on
    app.updated_at = now
    decide(s, app, kind="priority", actor=f"user:{user_id}", now=now, data={"priority": on})
    return Result("ok")


def override_score(
    s: Session, app: Application, *, score: float, reason: str, user_id: int, now: datetime
) -> Result:
    iv = latest_interview(s, app.id)
    if iv is None:
        return Result("missing")
    before = app.score_override
    app.score_override = float(score)
    app.updated_at = now
    decide(
        s,
        app,
        kind="override_score",
        actor=f"user:{user_id}",
        now=now,
        reason=reason,
        data={"original": iv.overall, "previous_override": before, "new": float(score)},
        versions=dict(iv.versions or {}),
    )
    shortlisted = apply_threshold(s, app, now=now, versions=dict(iv.versions or {}))
    pos = s.get(Position, app.position_id)
    if (
        not shortlisted
        and app.stage == "shortlisted"
        and pos is not None
        and pos.threshold is not None
        and score < pos.threshold
    ):
        set_stage(app, "interviewed", now)  # back to "a person decides"; the milestone stays
    return Result("ok", {"original": iv.overall, "shortlisted": shortlisted, "stage": app.stage})


def can_remind(s: Session, app: Application, now: datetime) -> bool:
    last = s.scalar(
        select(Decision.at)
        .where(Decision.application_id == app.id, Decision.kind == "reminded")
        .order_by(Decision.id.desc())
        .limit(1)
    )
    return last is None or now - last >= REMIND_EVERY


def record_reminder(s: Session, app: Application, *, why: str, user_id: int, now: datetime) -> None:
    decide(s, app, kind="reminded", actor=f"user:{user_id}", now=now, data={"why": why})


def invite_next_round(
    s: Session,
    app: Application,
    *,
    times: Sequence[datetime],
    minutes: int,
    user_id: int,
    now: datetime,
    reason: str | None = None,
) -> Result:
    """Slots for this candidate alone in the next round (in person, with HR), the first round's
    booking closed, the stage ``next_round``. The candidate then books one as in the first round."""
    if app.stage in ("hired", "rejected", "withdrawn", "offer"):
        return Result("conflict", {"stage": app.stage})
    future = sorted({t for t in times if t > now})
    if not future:
        return Result("missing")
    s.execute(
        update(Booking)
        .where(Booking.application_id == app.id, Booking.status == "active")
        .values(status="completed", ended_at=now)
    )
    app.round += 1
    ids = []
    for t in future[:6]:
        slot = Slot(
            position_id=app.position_id,
            starts_at=t,
            ends_at=t + timedelta(minutes=minutes),
            capacity=1,
            booked=0,
            round=app.round,
            application_id=app.id,
        )
        s.add(slot)
        s.flush()
        ids.append(slot.id)
    set_stage(app, "next_round", now)
    decide(
        s,
        app,
        kind="next_round",
        actor=f"user:{user_id}",
        now=now,
        reason=reason,
        data={"round": app.round, "slots": [t.isoformat() for t in future[:6]]},
    )
    return Result("ok", {"round": app.round, "slot_ids": ids})


def reject(s: Session, app: Application, *, feedback: str, user_id: int, now: datetime) -> Result:
    if app.stage in ("rejected", "hired", "withdrawn"):
        return Result("conflict", {"stage": app.stage})
    booking = s.scalar(select(Booking).where(Booking.application_id == app.id, Booking.status == "active"))
    if booking is not None:
        slot = s.get(Slot, booking.slot_id)
        booking.status = "cancelled"
        booking.ended_at = now
        if slot is not None and slot.starts_at > now and slot.booked > 0:
            slot.booked -= 1
    set_stage(app, "rejected", now)
    iv = latest_interview(s, app.id)
    decide(
        s,
        app,
        kind="reject",
        actor=f"user:{user_id}",
        now=now,
        data={"feedback": feedback, "score": effective_score(s, app)},
        versions=dict(iv.versions or {}) if iv is not None else {},
    )
    return Result("ok", {"booking_id": booking.id if booking is not None else None})


def draft_offer(
    s: Session,
    app: Application,
    *,
    salary: int,
    grade: str | None,
    start_date: str | None,
    language: str,
    file_format: str,
    user_id: int,
    now: datetime,
) -> Offer:
    """A draft (HR previews it); earlier drafts of the application are withdrawn."""
    s.execute(
        update(Offer)
        .where(Offer.application_id == app.id, Offer.status == "draft")
        .values(status="withdrawn")
    )
    offer = Offer(
        application_id=app.id,
        status="draft",
        salary=salary,
        grade=grade,
        start_date=start_date,
        language=language,
        file_format=file_format,
        created_by=user_id,
        created_at=now,
    )
    s.add(offer)
    s.flush()
    audit(
        s,
        now=now,
        actor=f"user:{user_id}",
        action="offer.draft",
        subject=f"application:{app.id}",
        details={"offer_id": offer.id, "salary": salary, "grade": grade},
    )
    return offer


def send_offer(
    s: Session, app: Application, offer: Offer, *, sha256: str, user_id: int, now: datetime
) -> Result:
    if offer.status != "draft":
        return Result("conflict", {"status": offer.status})
    if app.stage in ("rejected", "hired", "withdrawn"):
        return Result("conflict", {"stage": app.stage})
    offer.status = "sent"
    offer.sent_at = now
    offer.file_sha256 = sha256
    set_stage(app, "offer", now)
    decide(
        s,
        app,
        kind="offer",
        actor=f"user:{user_id}",
        now=now,
        data={
            "offer_id": offer.id,
            "salary": offer.salary,
            "grade": offer.grade,
            "format": offer.file_format,
        },
    )
    return Result("ok", {"offer_id": offer.id})


def mark_hired(
    s: Session, app: Application, *, user_id: int, now: datetime, start_date: str | None = None
) -> Result:
    if app.stage == "hired":
        return Result("unchanged")
    if app.stage in ("rejected", "withdrawn"):
        return Result("conflict", {"stage": app.stage})
    set_stage(app, "hired", now)
    decide(s, app, kind="hired", actor=f"user:{user_id}", now=now, data={"start_date": start_date})
    return Result("ok")


def request_review(s: Session, app: Application, *, now: datetime) -> Result:
    """The candidate asks a person to review the automated result (GDPR Art. 22(3), PIPL Art. 24)."""
    if app.review_requested_at is not None:
        return Result("unchanged")
    app.review_requested_at = now
    app.needs_human = True
    app.updated_at = now
    iv = latest_interview(s, app.id)
    decide(
        s,
        app,
        kind="review_requested",
        actor=f"user:{app.user_id}",
        now=now,
        data={"score": effective_score(s, app), "stage": app.stage},
        versions=dict(iv.versions or {}) if iv is not None else {},
    )
    return Result("ok")
