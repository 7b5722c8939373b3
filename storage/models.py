"""Typed SQLAlchemy 2 models: the domain tables of the foundation.

Room is left for later features (employees, courses, interviews, documents): users carry a role,
applications a stage string, and nothing here is pickled.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite has no tz type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import UTC

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="candidate")  # candidate|hr|employee|admin
    # HR: the position codes or departments they may see ("*" = all)
    scope: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Identity(Base):
    """A chat identity (platform + the platform's user id) linked to one user."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    conversation_id: Mapped[str] = mapped_column(String(200))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Position(Base):
    __tablename__ = "positions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100))
    location_zh: Mapped[str] = mapped_column(String(300))
    location_en: Mapped[str] = mapped_column(String(300))
    interview_minutes: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # slot: the interview opens at the booked slot; anytime: within ``interview_window_days`` of consent
    interview_mode: Mapped[str] = mapped_column(String(10), default="slot", server_default="slot")
    interview_window_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    interview_window_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    question_count: Mapped[int] = mapped_column(Integer, default=6, server_default="6")
    text_answers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # automation and offers (migration 0005): a completed interview whose effective score is at or above
    # the threshold moves to the next-round pool (never an automatic rejection); the grade's monthly
    # salary band bounds an offer; documents are due N days after the invitation
    threshold: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(20))
    salary_min: Mapped[int | None] = mapped_column(Integer)  # monthly, CNY
    salary_max: Mapped[int | None] = mapped_column(Integer)
    documents_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    candidate_name: Mapped[str] = mapped_column(String(200))
    # invited → linked → consented → booked → (interviewed, next_round, offer, hired: later issues);
    # withdrawn is terminal.
    stage: Mapped[str] = mapped_column(String(30), default="invited")
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    # an accommodation granted by HR: typed answers instead of voice
    text_answers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # HR's work on the application (migration 0005)
    priority: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    salary_expectation: Mapped[int | None] = mapped_column(Integer)  # monthly, CNY, as the candidate stated
    documents_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score_override: Mapped[float | None] = mapped_column(Float)  # HR's override; the original stays
    # what the application says about the person (school, major, degree, experience): prefills onboarding
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # human review asked
    # milestones, set the first time the stage is reached (the funnel is one aggregate over these)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    interviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shortlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # at/above the threshold
    next_round_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_applications_position_stage", "position_id", "stage"),
        Index("ix_applications_position_created", "position_id", "created_at"),  # funnels by period
        Index("ix_applications_updated", "updated_at", "id"),  # /api/v1/profiles pages
        Index("ix_applications_position_updated", "position_id", "updated_at", "id"),
        # HR asks by name: exact and prefix (pattern ops: LIKE 'x%' under any collation), and folded
        Index(
            "ix_applications_candidate_name",
            "candidate_name",
            postgresql_ops={"candidate_name": "varchar_pattern_ops"},
        ),
        Index(
            "ix_applications_candidate_name_folded", func.replace(func.lower(text("candidate_name")), " ", "")
        ),
    )


class Invitation(Base):
    """A one-time code; only its sha256 is stored."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))


class Consent(Base):
    """Each consent decision, kept as history (the latest per kind counts)."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # ai_notice | voice | documents | demographics
    granted: Mapped[bool] = mapped_column(Boolean)
    notice_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Slot(Base):
    __tablename__ = "slots"
    # one first-round slot per position and time; a later round's slots (one candidate each, offered by
    # HR) may share a time with them or with each other (several interviewers)
    __table_args__ = (
        Index(
            "uq_slots_position_id_open",
            "position_id",
            "starts_at",
            unique=True,
            sqlite_where=text("application_id IS NULL"),
            postgresql_where=text("application_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 2+: in person, by HR
    # a next-round slot HR offered one candidate (None: open to every applicant of the position)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # At most one active booking per application, enforced by the database itself.
        Index(
            "uq_bookings_active_application",
            "application_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|cancelled|moved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Versioned conversation state: which flow, which step, and the flow's slots."""

    __tablename__ = "conversations"
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    flow: Mapped[str] = mapped_column(String(40), default="")
    step: Mapped[str] = mapped_column(String(40), default="")
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedMessage(Base):
    """Every inbound message id, once; the replies are kept so a redelivery gets the same answer."""

    __tablename__ = "processed_messages"
    __table_args__ = (UniqueConstraint("platform", "message_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))
    conversation_key: Mapped[str] = mapped_column(String(250))
    replies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxItem(Base):
    """Side effects written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|done|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a retried kind waits until then (kept here so a restart keeps waiting; migration 0006)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(Base):
    """A message to a person on a platform: proactive ones (reminders, the next question) and, on
    platforms that answer through their API, the replies too. Pull channels (web chat) read these;
    push channels' sender sends them in order, with retries; one that finally fails is ``failed``,
    with its error, and HR is told."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_deliveries_target", "platform", "conversation_id", "id"),
        Index("ix_deliveries_status", "status", "id"),
    )


class AuditEntry(Base):
    """Who did what, when, with the versions of the inputs (EU AI Act Art. 12 style)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiToken(Base):
    """A bearer token for HR (web report pages) or an HR system (API); only its sha256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. ["reports:read"]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Interview(Base):
    """One voice interview of one application (round 1 for now).

    status: open (may start) → active ⇄ paused → completed; expired when the window closes first;
    cancelled when the booking goes. ``awaiting`` says what the current prompt waits for: "answer",
    or "scoring" while an answer is in the worker. ``turn`` counts the prompts put (questions and
    probes); an answer is for exactly one turn.
    """

    __tablename__ = "interviews"
    __table_args__ = (UniqueConstraint("application_id", "round"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    language: Mapped[str] = mapped_column(String(8))
    seed: Mapped[int] = mapped_column(Integer)
    max_questions: Mapped[int] = mapped_column(Integer)
    text_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    turn: Mapped[int] = mapped_column(Integer, default=0)
    question_id: Mapped[str | None] = mapped_column(String(80))
    is_probe: Mapped[bool] = mapped_column(Boolean, default=False)
    awaiting: Mapped[str] = mapped_column(String(20), default="")
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # unusable answers to the current prompt
    sequence: Mapped[list[Any]] = mapped_column(JSON, default=list)  # adaptive choices with reasons
    overall: Mapped[float | None] = mapped_column(Float)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # indicator → score (None: not assessed)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Answer(Base):
    """One answer (voice or typed) to one prompt; the raw audio stays in the file store."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("interview_id", "turn", "attempt"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), index=True)
    turn: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    question_id: Mapped[str] = mapped_column(String(80))
    is_probe: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(10))  # voice | text
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))
    media_ref: Mapped[str | None] = mapped_column(String(300))  # file store sha256 or a platform media id
    media_mime: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)  # typed, or the transcript once made
    transcript: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending → scored | rejected (unusable recording: ``problem``) | failed (after retries)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    problem: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AnswerScore(Base):
    """The rubric and speech scores of one answer, with the versions of every input."""

    __tablename__ = "answer_scores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), unique=True)
    score: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # AnswerScore.to_dict(): rubric, speech, evidence
    rubric_version: Mapped[str] = mapped_column(String(80))
    scorer_version: Mapped[str] = mapped_column(String(40))
    speech_version: Mapped[str | None] = mapped_column(String(40))
    asr_model: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Document(Base):
    """A document a candidate submitted (degree certificate, ID card, CV, transcript …), in the file
    store by sha256. ``kind`` is None while the bot asks which document it is; a replaced one stays
    as history."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="current")  # unclassified|current|replaced
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(300))
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LinkCode(Base):
    """A short-lived code to link another chat app to the same person (only its sha256 is kept)."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Demographic(Base):
    """Self-declared demographic data of one application, for the bias audit only (NYC Local Law 144
    method: :mod:`actions.bias`). Optional — every field may stay unknown — given under its own
    consent (``Consent.kind == "demographics"``) and kept apart from everything scoring reads: no
    other table points here, and nothing under ``scoring/`` may import or query it (a test checks)."""

    __tablename__ = "demographics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    sex: Mapped[str | None] = mapped_column(String(20))  # storage.demographics.SEXES
    age_band: Mapped[str | None] = mapped_column(String(20))  # storage.demographics.AGE_BANDS
    region: Mapped[str | None] = mapped_column(String(100))  # as declared (a province or city)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Decision(Base):
    """A human or automated decision on an application, append-only: the history HR and auditors read.

    ``kind``: shortlisted (automation: at/above the threshold) | priority | next_round | reject | offer |
    hired | override_score | override_decision | review_requested | review_resolved | reminded.
    ``data`` holds what was decided (an override keeps ``original`` and ``new``); ``input_versions``
    the versions of what it was based on (rubric, scorer, ASR model, threshold)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))  # user:<id> | system:<component>
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Offer(Base):
    """An offer letter: drafted by HR in chat (previewed), then sent to the candidate as PDF/DOCX."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | sent | withdrawn
    salary: Mapped[int] = mapped_column(Integer)  # monthly, CNY
    grade: Mapped[str | None] = mapped_column(String(20))
    start_date: Mapped[str | None] = mapped_column(String(10))  # ISO date
    language: Mapped[str] = mapped_column(String(8))
    file_format: Mapped[str] = mapped_column(String(8), default="pdf")  # pdf | docx
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Employee(Base):
    """A person after the offer: hired through the bot (``application_id``) or handed over by the HR
    system (``external_ref``). The same user and chat identity as before; ``users.role`` is employee."""

    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)  # the HR system's number
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100), index=True)
    position_code: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    position_since: Mapped[date] = mapped_column(Date)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    # the interview's indicator scores when they came through the AI interview (None: no interview)
    interview: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the onboarding form
    profile_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    mentor_capacity: Mapped[int] = mapped_column(Integer, default=0)
    mentor_load: Mapped[int] = mapped_column(Integer, default=0)  # mentees the HR system reports (not here)
    mentor_strengths: Mapped[list[str]] = mapped_column(JSON, default=list)
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    mentor_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"zh": ..., "en": ...}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Review(Base):
    """An annual review: the rating and a 0–100 score per indicator."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("employee_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(20))  # excellent | good | fair
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OnboardingItem(Base):
    """One item of a new hire's checklist (from the department's template in content/onboarding.yml)."""

    __tablename__ = "onboarding_items"
    __table_args__ = (UniqueConstraint("employee_id", "item_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(60))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # document | account | training | meeting
    due_date: Mapped[date] = mapped_column(Date)
    course_id: Mapped[str | None] = mapped_column(String(60))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Enrolment(Base):
    """An employee on a course of content/courses.yml: progress, deadline, completion."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("employee_id", "course_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    course_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="enrolled")  # enrolled | completed
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    chapters_done: Mapped[int] = mapped_column(Integer, default=0)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TrainingRequest(Base):
    """An employee's request for training (an external course, a budget), decided by HR in chat."""

    __tablename__ = "training_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | declined
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
