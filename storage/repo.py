"""Domain reads and writes on one Session. The caller owns the transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    AnswerScore,
    Application,
    AuditEntry,
    Booking,
    Consent,
    Delivery,
    Identity,
    Invitation,
    Position,
    Slot,
    User,
)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
NOTICE_VERSION = "privacy-2026-11"


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- invitation codes


def new_invite_code() -> str:
    """8 characters without look-alikes (0/O, 1/I/L), at least two letters and two digits."""
    digits = "23456789"
    letters = "".join(c for c in CODE_ALPHABET if c.isalpha())
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if sum(c in digits for c in code) >= 2 and sum(c in letters for c in code) >= 2:
            return code


def normalise_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


# ---------------------------------------------------------------- positions and applications


def positions(s: Session, *, active_only: bool = True) -> list[Position]:
    q = select(Position).order_by(Position.code)
    if active_only:
        q = q.where(Position.active.is_(True))
    return list(s.scalars(q))


def position_by_code(s: Session, code: str) -> Position | None:
    return s.scalar(select(Position).where(func.upper(Position.code) == code.upper()))


def create_application(
    s: Session,
    *,
    position: Position,
    name: str,
    now: datetime,
    valid_days: int = 14,
    actor: str = "cli",
    salary_expectation: int | None = None,
) -> tuple[Application, str]:
    app = Application(
        position_id=position.id,
        candidate_name=name,
        stage="invited",
        created_at=now,
        updated_at=now,
        salary_expectation=salary_expectation,
        documents_due_at=now + timedelta(days=position.documents_days or 7),
    )
    s.add(app)
    s.flush()
    code = new_invite_code()
    s.add(
        Invitation(
            application_id=app.id, code_sha256=code_hash(code), expires_at=now + timedelta(days=valid_days)
        )
    )
    audit(
        s,
        now=now,
        actor=actor,
        action="application.create",
        subject=f"application:{app.id}",
        details={"position": position.code},
    )
    return app, code


# ---------------------------------------------------------------- identities


def identity(s: Session, platform: str, external_id: str) -> Identity | None:
    return s.scalar(
        select(Identity).where(Identity.platform == platform, Identity.external_id == external_id)
    )


@dataclass(frozen=True, slots=True)
class LinkResult:
    status: str  # ok | unknown | used | expired | withdrawn | already_linked
    application_id: int | None = None


def link_invitation(
    s: Session,
    *,
    code: str,
    platform: str,
    external_id: str,
    conversation_id: str,
    display_name: str | None,
    language: str,
    now: datetime,
) -> LinkResult:
    inv = s.scalar(select(Invitation).where(Invitation.code_sha256 == code_hash(code)))
    if inv is None:
        return LinkResult("unknown")
    app = s.get(Application, inv.application_id)
    assert app is not None
    ident = identity(s, platform, external_id)
    if inv.used_at is not None:
        if ident is not None and app.user_id == ident.user_id:
            return LinkResult("already_linked", app.id)
        return LinkResult("used")
    if app.stage == "withdrawn":
        return LinkResult("withdrawn", app.id)
    if inv.expires_at < now:
        return LinkResult("expired", app.id)
    # Claim the code atomically: of two chats sending it at once, exactly one wins.
    claimed = s.execute(
        update(Invitation).where(Invitation.id == inv.id, Invitation.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if claimed != 1:
        return LinkResult("used")
    if ident is None:
        user = User(
            display_name=display_name or app.candidate_name,
            role="candidate",
            language=language,
            created_at=now,
        )
        s.add(user)
        s.flush()
        ident = Identity(
            user_id=user.id,
            platform=platform,
            external_id=external_id,
            conversation_id=conversation_id,
            last_seen_at=now,
        )
        s.add(ident)
        s.flush()
    app.user_id = ident.user_id
    app.stage = "linked"
    app.updated_at = now
    inv.used_by = ident.id
    audit(
        s,
        now=now,
        actor=f"user:{ident.user_id}",
        action="application.link",
        subject=f"application:{app.id}",
        details={"platform": platform},
    )
    return LinkResult("ok", app.id)


# ---------------------------------------------------------------- consent


def latest_consents(s: Session, application_id: int) -> dict[str, bool]:
    rows = s.execute(
        select(Consent.kind, Consent.granted)
        .where(Consent.application_id == application_id)
        .order_by(Consent.id)
    )
    return {kind: granted for kind, granted in rows}


def record_consent(s: Session, *, app: Application, kind: str, granted: bool, now: datetime) -> None:
    assert app.user_id is not None
    s.add(
        Consent(
            user_id=app.user_id,
            application_id=app.id,
            kind=kind,
            granted=granted,
            notice_version=NOTICE_VERSION,
            at=now,
        )
    )
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action=f"consent.{kind}",
        subject=f"application:{app.id}",
        details={"granted": granted},
        input_versions={"notice": NOTICE_VERSION},
    )


# ---------------------------------------------------------------- slots and bookings


def open_slots(s: Session, *, position_id: int, after: datetime, limit: int = 200) -> list[Slot]:
    """Open first-round slots of a position (a later round's slots belong to one candidate)."""
    q = (
        select(Slot)
        .where(
            Slot.position_id == position_id,
            Slot.starts_at > after,
            Slot.booked < Slot.capacity,
            Slot.application_id.is_(None),
        )
        .order_by(Slot.starts_at)
        .limit(limit)
    )
    return list(s.scalars(q))


def active_booking(s: Session, application_id: int) -> Booking | None:
    return s.scalar(
        select(Booking).where(Booking.application_id == application_id, Booking.status == "active")
    )


def _bookable_by(slot: Slot, app: Application) -> bool:
    """A first-round slot of the position, or — in a later round — one offered to this candidate."""
    if slot.position_id != app.position_id:
        return False
    if app.round > 1:
        return slot.application_id == app.id
    return slot.application_id is None


def _take_seat(s: Session, slot_id: int, now: datetime) -> bool:
    return (
        s.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked < Slot.capacity, Slot.starts_at > now)
            .values(booked=Slot.booked + 1)
        ).rowcount
        == 1
    )


def _free_seat(s: Session, slot_id: int) -> None:
    s.execute(update(Slot).where(Slot.id == slot_id, Slot.booked > 0).values(booked=Slot.booked - 1))


@dataclass(frozen=True, slots=True)
class BookResult:
    status: str  # ok | full | past | already_booked | missing
    booking_id: int | None = None
    old_booking_id: int | None = None
    starts_at: datetime | None = None


def book(s: Session, *, app: Application, slot_id: int, now: datetime) -> BookResult:
    slot = s.get(Slot, slot_id)
    if slot is None or not _bookable_by(slot, app):
        return BookResult("missing")
    if slot.starts_at <= now:
        return BookResult("past")
    if active_booking(s, app.id) is not None:
        return BookResult("already_booked")
    if not _take_seat(s, slot_id, now):
        return BookResult("full")
    b = Booking(application_id=app.id, slot_id=slot_id, status="active", created_at=now)
    s.add(b)
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError:
        _free_seat(s, slot_id)
        return BookResult("already_booked")
    if app.round == 1:  # a later round's booking keeps the stage next_round
        app.stage = "booked"
    if app.booked_at is None:
        app.booked_at = now
    app.updated_at = now
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="booking.create",
        subject=f"application:{app.id}",
        details={"slot_id": slot_id, "booking_id": b.id, "starts_at": slot.starts_at.isoformat()},
    )
    return BookResult("ok", b.id)


def move_booking(s: Session, *, app: Application, slot_id: int, now: datetime) -> BookResult:
    old = active_booking(s, app.id)
    if old is None:
        return book(s, app=app, slot_id=slot_id, now=now)
    if old.slot_id == slot_id:
        return BookResult("ok", old.id)
    slot = s.get(Slot, slot_id)
    if slot is None or not _bookable_by(slot, app):
        return BookResult("missing")
    if slot.starts_at <= now:
        return BookResult("past")
    if not _take_seat(s, slot_id, now):
        return BookResult("full")
    old.status = "moved"
    old.ended_at = now
    _free_seat(s, old.slot_id)
    s.flush()
    b = Booking(application_id=app.id, slot_id=slot_id, status="active", created_at=now)
    s.add(b)
    s.flush()
    app.updated_at = now
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="booking.move",
        subject=f"application:{app.id}",
        details={"from_slot": old.slot_id, "to_slot": slot_id, "booking_id": b.id},
    )
    return BookResult("ok", b.id, old.id)


def cancel_booking(s: Session, *, app: Application, now: datetime) -> BookResult:
    old = active_booking(s, app.id)
    if old is None:
        return BookResult("missing")
    old.status = "cancelled"
    old.ended_at = now
    _free_seat(s, old.slot_id)
    if app.round == 1:
        app.stage = "consented"
    app.updated_at = now
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="booking.cancel",
        subject=f"application:{app.id}",
        details={"slot_id": old.slot_id, "booking_id": old.id},
    )
    slot = s.get(Slot, old.slot_id)
    return BookResult("ok", old.id, old.id, slot.starts_at if slot else None)


# ---------------------------------------------------------------- outbox, deliveries, audit


def deliver(s: Session, *, platform: str, conversation_id: str, body: dict[str, Any], now: datetime) -> None:
    s.add(Delivery(platform=platform, conversation_id=conversation_id, body=body, created_at=now))


def pending_deliveries(s: Session, *, platform: str, conversation_id: str, after: int = 0) -> list[Delivery]:
    q = (
        select(Delivery)
        .where(
            Delivery.platform == platform, Delivery.conversation_id == conversation_id, Delivery.id > after
        )
        .order_by(Delivery.id)
        .limit(100)
    )
    return list(s.scalars(q))


def audit(
    s: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    input_versions: dict[str, Any] | None = None,
) -> None:
    s.add(
        AuditEntry(
            at=now,
            actor=actor,
            action=action,
            subject=subject,
            details=details or {},
            input_versions=input_versions or {},
        )
    )


def answer_score(s: Session, answer_id: int) -> AnswerScore | None:
    return s.scalar(select(AnswerScore).where(AnswerScore.answer_id == answer_id))
