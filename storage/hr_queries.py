"""What HR reads in chat: candidates found by id or name within the HR user's scope, one candidate's
status, lists by state (completed, pending, overdue, priority…) — each a few indexed queries.

Scope is applied in SQL (a position's code or department, or ``*``), so an out-of-scope candidate is
never loaded, let alone shown; callers audit every read (``storage.hr_actions.audit_read``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from storage.models import (
    Answer,
    AnswerScore,
    Application,
    Booking,
    Decision,
    Document,
    Interview,
    Offer,
    Position,
    Slot,
)

MISSED_GRACE = timedelta(minutes=30)  # a slot counts as missed this long after it ended
LIST_LIMIT = 20
STATES = (
    "completed",
    "pending",
    "overdue",
    "priority",
    "shortlisted",
    "next_round",
    "offer",
    "hired",
    "rejected",
    "review",
)
PENDING_STAGES = ("invited", "linked", "consented", "booked", "interviewing")
CLOSED_STAGES = ("hired", "rejected", "withdrawn")


@dataclass(frozen=True, slots=True)
class Scope:
    """An HR user's scope: position codes and departments (any case), or everything."""

    user_id: int
    items: tuple[str, ...]

    @property
    def everything(self) -> bool:
        return "*" in self.items

    def clause(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        wanted = [i.strip() for i in self.items if i.strip()]
        return or_(
            func.lower(Position.code).in_([w.casefold() for w in wanted]),
            Position.department.in_(wanted),
        )


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    name: str
    position_code: str
    title: Mapping[str, str]
    stage: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InterviewFacts:
    status: str
    turn: int
    max_questions: int
    overall: float | None
    scores: Mapping[str, float | None]
    completed_at: datetime | None
    versions: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    name: str
    position_code: str
    position_id: int
    title: Mapping[str, str]
    department: str
    stage: str
    priority: bool
    round: int
    needs_human: bool
    review_requested_at: datetime | None
    salary_expectation: int | None
    threshold: float | None
    grade: str | None
    salary_band: tuple[int | None, int | None]
    score_override: float | None
    booking_at: datetime | None
    interview: InterviewFacts | None
    evidence: tuple[tuple[str, str], ...]  # (indicator, passage) of the strongest indicators
    documents: frozenset[str]  # kinds submitted (current)
    late_answers: int
    offer: tuple[str, int] | None  # (status, salary) of the latest offer
    decisions: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def effective(self) -> float | None:
        if self.score_override is not None:
            return self.score_override
        return self.interview.overall if self.interview is not None else None


@dataclass(frozen=True, slots=True)
class Listed:
    id: int
    name: str
    position_code: str
    stage: str
    priority: bool
    score: float | None  # effective
    why: str | None = None  # overdue: missed_interview | interview_expired | documents_missing


def _hit_query(scope: Scope) -> Any:
    return (
        select(
            Application.id,
            Application.candidate_name,
            Position.code,
            Position.title_zh,
            Position.title_en,
            Application.stage,
            Application.created_at,
        )
        .join(Position, Position.id == Application.position_id)
        .where(scope.clause())
    )


def _hits(rows: Sequence[Any]) -> list[Hit]:
    return [Hit(r[0], r[1], r[2], {"zh": r[3], "en": r[4]}, r[5], r[6]) for r in rows]


def find(
    s: Session, scope: Scope, *, ids: Sequence[int] = (), names: Sequence[str] = (), limit: int = 10
) -> list[Hit]:
    """Candidates in scope with one of ``ids``, or named one of ``names`` (exact first, then ignoring
    case and spaces, then by prefix). Newest application first."""
    out: list[Hit] = []
    if ids:
        q = _hit_query(scope).where(Application.id.in_(list(ids)[:20])).order_by(Application.id.desc())
        out += _hits(s.execute(q.limit(limit)).all())
    for name in names[:5]:
        name = name.strip()
        if not name:
            continue
        q = _hit_query(scope).order_by(Application.id.desc()).limit(limit)
        rows = s.execute(q.where(Application.candidate_name == name)).all()
        if not rows:
            folded = name.casefold().replace(" ", "")
            rows = s.execute(
                q.where(func.replace(func.lower(Application.candidate_name), " ", "") == folded)
            ).all()
        if not rows and len(name) >= 2:
            rows = s.execute(q.where(Application.candidate_name.like(_like_prefix(name)))).all()
        out += [h for h in _hits(rows) if h.id not in {o.id for o in out}]
    return out[:limit]


def _like_prefix(name: str) -> str:
    return name.replace("\\", "").replace("%", "").replace("_", "") + "%"


def exists_anywhere(s: Session, app_id: int) -> bool:
    """Whether the application exists at all (to tell "no such id" from "not yours" — never shown to HR
    as different answers, only logged)."""
    return s.get(Application, app_id) is not None


def status(s: Session, scope: Scope, app_id: int, *, decisions: int = 3) -> Status | None:
    row = s.execute(
        select(Application, Position).join(Position).where(Application.id == app_id, scope.clause())
    ).first()
    if row is None:
        return None
    app, pos = row
    iv = s.scalar(
        select(Interview)
        .where(Interview.application_id == app.id, Interview.round == 1)
        .order_by(Interview.id.desc())
        .limit(1)
    )
    facts = None
    evidence: tuple[tuple[str, str], ...] = ()
    late = 0
    if iv is not None:
        facts = InterviewFacts(
            iv.status,
            iv.turn,
            iv.max_questions,
            iv.overall,
            dict(iv.scores or {}),
            iv.completed_at,
            dict(iv.versions or {}),
        )
        late = int(
            s.scalar(select(func.count(Answer.id)).where(Answer.interview_id == iv.id, Answer.late.is_(True)))
            or 0
        )
        if iv.scores:
            evidence = _evidence(s, iv.id, dict(iv.scores))
    booking_at = s.scalar(
        select(Slot.starts_at)
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Booking.application_id == app.id, Booking.status == "active")
    )
    kinds = frozenset(
        k
        for k in s.scalars(
            select(Document.kind).where(Document.application_id == app.id, Document.status == "current")
        )
        if k
    )
    offer = s.execute(
        select(Offer.status, Offer.salary)
        .where(Offer.application_id == app.id)
        .order_by(Offer.id.desc())
        .limit(1)
    ).first()
    recent = s.scalars(
        select(Decision)
        .where(Decision.application_id == app.id)
        .order_by(Decision.id.desc())
        .limit(decisions)
    )
    return Status(
        id=app.id,
        name=app.candidate_name,
        position_code=pos.code,
        position_id=pos.id,
        title={"zh": pos.title_zh, "en": pos.title_en},
        department=pos.department,
        stage=app.stage,
        priority=app.priority,
        round=app.round,
        needs_human=app.needs_human,
        review_requested_at=app.review_requested_at,
        salary_expectation=app.salary_expectation,
        threshold=pos.threshold,
        grade=pos.grade,
        salary_band=(pos.salary_min, pos.salary_max),
        score_override=app.score_override,
        booking_at=booking_at,
        interview=facts,
        evidence=evidence,
        documents=kinds,
        late_answers=late,
        offer=None if offer is None else (offer[0], offer[1]),
        decisions=tuple(
            {"kind": d.kind, "actor": d.actor, "reason": d.reason, "data": dict(d.data), "at": d.at}
            for d in recent
        ),
    )


def _evidence(s: Session, iv_id: int, scores: Mapping[str, float | None]) -> tuple[tuple[str, str], ...]:
    """The strongest indicators' best passages (key points matched), at most two."""
    top = [k for k, v in sorted(scores.items(), key=lambda kv: -(kv[1] or -1)) if v is not None][:2]
    if not top:
        return ()
    results = s.scalars(
        select(AnswerScore.result)
        .join(Answer, Answer.id == AnswerScore.answer_id)
        .where(Answer.interview_id == iv_id)
    ).all()
    out: list[tuple[str, str]] = []
    for ind in top:
        best = None
        for r in results:
            for ev in (r or {}).get("evidence", {}).get(ind, []):
                passage = ev.get("passage") if ev.get("kind") not in ("red_flag", "speech") else None
                if passage and (best is None or len(passage) > len(best)):
                    best = passage
        if best:
            out.append((ind, best[:80]))
    return tuple(out)


# ------------------------------------------------------------------ lists


def _effective() -> Any:
    latest = (
        select(Interview.overall)
        .where(
            Interview.application_id == Application.id, Interview.status == "completed", Interview.round == 1
        )
        .order_by(Interview.id.desc())
        .limit(1)
        .correlate(Application)
        .scalar_subquery()
    )
    return func.coalesce(Application.score_override, latest)


def _listed(*more: Any) -> Any:
    """The columns of a ``Listed`` row (and ``more``), applications joined with their position."""
    return select(
        Application.id,
        Application.candidate_name,
        Position.code,
        Application.stage,
        Application.priority,
        *more,
    ).join(Position, Position.id == Application.position_id)


def list_by_state(
    s: Session,
    scope: Scope,
    *,
    state: str,
    position_ids: Sequence[int] = (),
    now: datetime,
    limit: int = LIST_LIMIT,
) -> tuple[list[Listed], int]:
    """Candidates in one state (``STATES``), priority first then newest; and how many there are."""
    if state == "overdue":
        every = overdue(s, scope, position_ids=position_ids, now=now)
        return every[:limit], len(every)
    cond: ColumnElement[bool] = {
        "completed": and_(Application.interviewed_at.is_not(None), Application.stage.not_in(CLOSED_STAGES)),
        "pending": Application.stage.in_(PENDING_STAGES),
        "priority": and_(Application.priority.is_(True), Application.stage.not_in(CLOSED_STAGES)),
        "shortlisted": Application.stage == "shortlisted",
        "next_round": Application.stage == "next_round",
        "offer": Application.stage == "offer",
        "hired": Application.stage == "hired",
        "rejected": Application.stage == "rejected",
        "review": and_(Application.review_requested_at.is_not(None), Application.stage.not_in(CLOSED_STAGES)),
    }[state]
    base = (
        select(Application.id)
        .join(Position, Position.id == Application.position_id)
        .where(scope.clause(), cond)
    )
    if position_ids:
        base = base.where(Application.position_id.in_(list(position_ids)))
    total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
    q = (
        _listed(_effective())
        .where(scope.clause(), cond)
        .order_by(Application.priority.desc(), Application.id.desc())
        .limit(limit)
    )
    if position_ids:
        q = q.where(Application.position_id.in_(list(position_ids)))
    return [Listed(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in s.execute(q)], total


def overdue(
    s: Session,
    scope: Scope,
    *,
    position_ids: Sequence[int] = (),
    now: datetime,
    required: Mapping[str, Sequence[str]] | None = None,
) -> list[Listed]:
    """Who is overdue: a first-round slot ended (30 min grace) without a completed interview, an
    "any time" interview expired unanswered, or required documents still missing past the deadline.
    ``required``: position code → document kinds (flows.documents.DocumentRules); None skips documents."""
    pos_filter = [scope.clause()]
    if position_ids:
        pos_filter.append(Position.id.in_(list(position_ids)))
    iv = aliased(Interview)  # the outer query of expired interviews joins Interview itself
    done = (
        exists()
        .where(iv.application_id == Application.id, iv.status == "completed", iv.round == 1)
        .correlate(Application)
    )
    missed = (
        _listed()
        .join(Booking, and_(Booking.application_id == Application.id, Booking.status == "active"))
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            *pos_filter,
            Slot.round == 1,
            Slot.ends_at < now - MISSED_GRACE,
            Application.stage.in_(("booked", "interviewing")),
            ~done,
        )
    )
    expired = (
        _listed()
        .join(Interview, and_(Interview.application_id == Application.id, Interview.round == 1))
        .where(*pos_filter, Interview.status == "expired", Application.stage.in_(PENDING_STAGES), ~done)
    )
    out: dict[int, Listed] = {}
    for why, q in (("missed_interview", missed), ("interview_expired", expired)):
        for r in s.execute(q.limit(5000)):
            out.setdefault(r[0], Listed(r[0], r[1], r[2], r[3], bool(r[4]), None, why))
    if required:
        for code, kinds in required.items():
            if not kinds:
                continue
            have = (
                select(func.count(func.distinct(Document.kind)))
                .where(
                    Document.application_id == Application.id,
                    Document.status == "current",
                    Document.kind.in_(list(kinds)),
                )
                .correlate(Application)
                .scalar_subquery()
            )
            q = (
                _listed()
                .where(
                    *pos_filter,
                    Position.code == code,
                    Application.documents_due_at < now,
                    Application.stage.not_in(CLOSED_STAGES),
                    Application.user_id.is_not(None),
                    have < len(set(kinds)),
                )
                .limit(5000)
            )
            for r in s.execute(q):
                out.setdefault(r[0], Listed(r[0], r[1], r[2], r[3], bool(r[4]), None, "documents_missing"))
    return sorted(out.values(), key=lambda x: (not x.priority, x.id))


def positions_in_scope(s: Session, scope: Scope) -> list[Position]:
    return list(s.scalars(select(Position).where(scope.clause()).order_by(Position.code)))
