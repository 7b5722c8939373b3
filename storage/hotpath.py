"""The statements run for every inbound message, built once and reused, on a bare Connection.

SQLAlchemy caches the compiled form of a statement object it sees again; building a query per call,
or using the ORM identity map for a handful of columns, costs several times the database's own work
(bench/pipeline.py measured ~4 ms of Python per message before this module, ~0.5 ms after).
Writes whose outcome decides a reply (linking, booking) stay in ``repo`` with the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, and_, bindparam, func, insert, select, text, update

from storage.models import (
    Application,
    Booking,
    Consent,
    Conversation,
    Delivery,
    Identity,
    Interview,
    OutboxItem,
    Position,
    ProcessedMessage,
    Slot,
    User,
    UTCDateTime,
)

_conv = Conversation.__table__
_ident = Identity.__table__
_user = User.__table__
_app = Application.__table__
_pos = Position.__table__
_book = Booking.__table__
_slot = Slot.__table__
_consent = Consent.__table__
_pm = ProcessedMessage.__table__
_iv = Interview.__table__

# ON CONFLICT … DO NOTHING is the same SQL on SQLite and PostgreSQL; as text() it is compiled once
# (the dialect-specific insert() constructs are not cacheable in SQLAlchemy 2.0).
_RECORD = text(
    "INSERT INTO processed_messages (platform, message_id, conversation_key, replies, at) "
    "VALUES (:platform, :message_id, :key, :replies, :at) "
    "ON CONFLICT (platform, message_id) DO NOTHING RETURNING id"
).bindparams(bindparam("at", type_=UTCDateTime()), bindparam("replies", type_=JSON()))

_ENQUEUE = insert(OutboxItem.__table__)
_DELIVER = insert(Delivery.__table__)
_STORED_REPLIES = select(_pm.c.replies).where(
    _pm.c.platform == bindparam("platform"), _pm.c.message_id == bindparam("message_id")
)

_LOAD_CONV = select(_conv.c.step, _conv.c.slots, _conv.c.language, _conv.c.version).where(
    _conv.c.key == bindparam("key")
)
_INSERT_CONV = insert(_conv)
_UPDATE_CONV = (
    update(_conv)
    .where(_conv.c.key == bindparam("k"), _conv.c.version == bindparam("v"))
    .values(
        step=bindparam("step"),
        slots=bindparam("slots", type_=JSON()),
        language=bindparam("language"),
        version=bindparam("new_version"),
        updated_at=bindparam("updated_at", type_=UTCDateTime()),
    )
)


def _latest_consent(kind: str):  # type: ignore[no-untyped-def]
    """The latest answer to one consent question, as a column of the candidate query."""
    return (
        select(_consent.c.granted)
        .where(_consent.c.application_id == _app.c.id, _consent.c.kind == kind)
        .order_by(_consent.c.id.desc())
        .limit(1)
        .correlate(_app)
        .scalar_subquery()
    )


_latest_app = (
    select(func.max(_app.c.id)).where(_app.c.user_id == _ident.c.user_id).correlate(_ident).scalar_subquery()
)
_LOAD_CANDIDATE = (
    select(
        _ident.c.id.label("identity_id"),
        _ident.c.user_id,
        _ident.c.conversation_id,
        _ident.c.last_seen_at,
        _user.c.language.label("user_language"),
        _user.c.role.label("user_role"),
        _user.c.scope.label("user_scope"),
        _user.c.display_name.label("user_name"),
        _app.c.round.label("app_round"),
        _app.c.id.label("application_id"),
        _app.c.candidate_name,
        _app.c.stage,
        _app.c.position_id,
        _pos.c.code.label("position_code"),
        _pos.c.title_zh,
        _pos.c.title_en,
        _pos.c.location_zh,
        _pos.c.location_en,
        _pos.c.interview_minutes,
        _pos.c.interview_mode,
        _pos.c.interview_window_days,
        _pos.c.interview_window_hours,
        _pos.c.question_count,
        (_pos.c.text_answers | _app.c.text_answers).label("text_answers"),
        _iv.c.id.label("interview_id"),
        _iv.c.status.label("iv_status"),
        _iv.c.language.label("iv_language"),
        _iv.c.turn.label("iv_turn"),
        _iv.c.question_id.label("iv_question_id"),
        _iv.c.is_probe.label("iv_is_probe"),
        _iv.c.awaiting.label("iv_awaiting"),
        _iv.c.asked_at.label("iv_asked_at"),
        _iv.c.attempts.label("iv_attempts"),
        _iv.c.opens_at.label("iv_opens_at"),
        _iv.c.expires_at.label("iv_expires_at"),
        _iv.c.max_questions.label("iv_max_questions"),
        _iv.c.text_answers.label("iv_text_answers"),
        _iv.c.seed.label("iv_seed"),
        _book.c.id.label("booking_id"),
        _slot.c.id.label("slot_id"),
        _slot.c.starts_at,
        _slot.c.ends_at,
        _slot.c.capacity,
        _slot.c.booked,
        _latest_consent("voice").label("consent_voice"),
        _latest_consent("documents").label("consent_documents"),
    )
    .select_from(_ident)
    .join(_user, _user.c.id == _ident.c.user_id)
    .outerjoin(_app, _app.c.id == _latest_app)
    .outerjoin(_pos, _pos.c.id == _app.c.position_id)
    .outerjoin(_book, and_(_book.c.application_id == _app.c.id, _book.c.status == "active"))
    .outerjoin(_slot, _slot.c.id == _book.c.slot_id)
    .outerjoin(_iv, and_(_iv.c.application_id == _app.c.id, _iv.c.round == 1))
    .where(_ident.c.platform == bindparam("platform"), _ident.c.external_id == bindparam("external_id"))
)


_TOUCH = (
    update(_ident)
    .where(_ident.c.id == bindparam("ident"))
    .values(last_seen_at=bindparam("seen", type_=UTCDateTime()), conversation_id=bindparam("conv"))
)
_OPEN_SLOTS = (
    select(_slot.c.id, _slot.c.starts_at, _slot.c.ends_at, _slot.c.capacity, _slot.c.booked)
    .where(
        _slot.c.position_id == bindparam("position_id"),
        _slot.c.starts_at > bindparam("after", type_=UTCDateTime()),
        _slot.c.booked < _slot.c.capacity,
        _slot.c.application_id.is_(None),
    )
    .order_by(_slot.c.starts_at)
    .limit(bindparam("lim"))
)
# a later round: the slots HR offered this candidate
_OPEN_SLOTS_FOR = (
    select(_slot.c.id, _slot.c.starts_at, _slot.c.ends_at, _slot.c.capacity, _slot.c.booked)
    .where(
        _slot.c.application_id == bindparam("app"),
        _slot.c.starts_at > bindparam("after", type_=UTCDateTime()),
        _slot.c.booked < _slot.c.capacity,
    )
    .order_by(_slot.c.starts_at)
    .limit(bindparam("lim"))
)


@dataclass(frozen=True, slots=True)
class ConversationRow:
    step: str
    slots: dict[str, Any]
    language: str | None
    version: int


def record(
    c: Connection, *, platform: str, message_id: str, key: str, replies: list[Any], at: datetime
) -> bool:
    """Record the message id with its replies, in the transaction that did the work. False when another
    delivery of the same message committed first: the caller rolls back and answers as that one did
    (a concurrent duplicate waits on the unique index until the first commits, then sees the conflict)."""
    row = c.execute(
        _RECORD,
        {"platform": platform, "message_id": message_id, "key": key, "replies": replies, "at": at},
    ).first()
    return row is not None


def stored_replies(c: Connection, *, platform: str, message_id: str) -> list[Any]:
    return list(c.execute(_STORED_REPLIES, {"platform": platform, "message_id": message_id}).scalar() or [])


def load_conversation(c: Connection, key: str) -> ConversationRow | None:
    r = c.execute(_LOAD_CONV, {"key": key}).first()
    return None if r is None else ConversationRow(r.step, dict(r.slots or {}), r.language, r.version)


class StaleConversation(RuntimeError):
    """The conversation changed under us (another process handled a message of it concurrently)."""


def save_conversation(
    c: Connection,
    *,
    key: str,
    old: ConversationRow | None,
    step: str,
    slots: dict[str, Any],
    language: str,
    at: datetime,
) -> None:
    if old is None:
        c.execute(
            _INSERT_CONV,
            {
                "key": key,
                "flow": "candidate",
                "step": step,
                "slots": slots,
                "language": language,
                "version": 1,
                "updated_at": at,
            },
        )
        return
    n = c.execute(
        _UPDATE_CONV,
        {
            "k": key,
            "v": old.version,
            "step": step,
            "slots": slots,
            "language": language,
            "new_version": old.version + 1,
            "updated_at": at,
        },
    ).rowcount
    if n != 1:
        raise StaleConversation(key)


def load_candidate(c: Connection, *, platform: str, external_id: str) -> Any | None:
    """The identity with its user's latest application, position and active booking, in one query."""
    return c.execute(_LOAD_CANDIDATE, {"platform": platform, "external_id": external_id}).first()


def touch_identity(c: Connection, *, identity_id: int, conversation_id: str, at: datetime) -> None:
    c.execute(_TOUCH, {"ident": identity_id, "seen": at, "conv": conversation_id})


def open_slots(
    c: Connection, *, position_id: int, after: datetime, limit: int, application_id: int | None = None
) -> list[Any]:
    if application_id is not None:
        return list(c.execute(_OPEN_SLOTS_FOR, {"app": application_id, "after": after, "lim": limit}))
    return list(c.execute(_OPEN_SLOTS, {"position_id": position_id, "after": after, "lim": limit}))


def enqueue(c: Connection, items: list[tuple[str, dict[str, Any]]], *, at: datetime) -> None:
    """Side effects into the outbox, in the message's transaction."""
    if items:
        c.execute(
            _ENQUEUE,
            [
                {"kind": k, "payload": p, "status": "pending", "attempts": 0, "created_at": at}
                for k, p in items
            ],
        )


def deliver(c: Connection, *, platform: str, conversation_id: str, bodies: list[Any], at: datetime) -> None:
    """Replies to be sent through a platform's API, in the message's transaction."""
    c.execute(
        _DELIVER,
        [
            {
                "platform": platform,
                "conversation_id": conversation_id,
                "body": b,
                "created_at": at,
                "status": "pending",
                "attempts": 0,
            }
            for b in bodies
        ],
    )
