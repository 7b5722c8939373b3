"""Test data for HR reads (the funnel, the API): applications with milestones, interviews with
scores, decisions and documents, written straight to the tables (no conversation needed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import EllipsisType
from typing import Any

from sqlalchemy.orm import Session

from storage import repo
from storage.models import Application, Decision, Document, Interview, Position

MILESTONES = ("booked", "interviewed", "shortlisted", "next_round", "offer", "hired", "rejected")


def position(s: Session, code: str, *, threshold: float | None | EllipsisType = ...) -> Position:
    """A seeded position; its threshold set when ``threshold`` is given (None: no threshold)."""
    pos = repo.position_by_code(s, code)
    assert pos is not None, code
    if not isinstance(threshold, EllipsisType):
        pos.threshold = threshold
    return pos


def interview(
    s: Session,
    app: Application,
    *,
    overall: float | None,
    round: int = 1,
    status: str = "completed",
    scores: Mapping[str, float | None] | None = None,
    at: datetime | None = None,
) -> Interview:
    at = at or app.created_at
    iv = Interview(
        application_id=app.id,
        round=round,
        status=status,
        language="zh",
        seed=7,
        max_questions=6,
        opens_at=at,
        expires_at=at + timedelta(days=3),
        completed_at=at + timedelta(hours=1) if status == "completed" else None,
        overall=overall,
        scores=dict(scores) if scores is not None else None,
        versions={"rubric": "test-rubric/1", "scorer": "test-scorer/1"},
        updated_at=at,
    )
    s.add(iv)
    s.flush()
    return iv


def application(
    s: Session,
    pos: Position,
    *,
    created: datetime,
    reached: Iterable[str] = (),
    stage: str | None = None,
    score: float | None = None,
    override: float | None = None,
    name: str = "张三",
    updated: datetime | None = None,
    **fields: Any,
) -> Application:
    """An application created at ``created`` that reached the milestones ``reached`` (an hour apart,
    in order) and, with ``score``, has a completed round-1 interview of that overall score. Its stage
    is the last milestone reached unless given."""
    reached = tuple(reached)
    unknown = set(reached) - set(MILESTONES)
    assert not unknown, unknown
    app = Application(
        position_id=pos.id,
        candidate_name=name,
        stage=stage or (reached[-1] if reached else "invited"),
        created_at=created,
        updated_at=updated or created,
        score_override=override,
        **fields,
    )
    for k, m in enumerate(reached, start=1):
        setattr(app, f"{m}_at", created + timedelta(hours=k))
    s.add(app)
    s.flush()
    if score is not None:
        interview(s, app, overall=score)
    return app


def decision(
    s: Session,
    app: Application,
    kind: str,
    *,
    at: datetime,
    actor: str = "user:1",
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Decision:
    row = Decision(application_id=app.id, kind=kind, actor=actor, reason=reason, data=dict(data or {}), at=at)
    s.add(row)
    s.flush()
    return row


def document(s: Session, app: Application, kind: str, *, at: datetime, status: str = "current") -> Document:
    row = Document(
        application_id=app.id,
        kind=kind,
        status=status,
        sha256="ab" * 32,
        mime="application/pdf",
        size=1234,
        filename=f"{kind}.pdf",
        platform="webchat",
        message_id=f"m-{app.id}-{kind}-{status}",
        received_at=at,
    )
    s.add(row)
    s.flush()
    return row


def scored_group(
    s: Session, pos: Position, scores: Sequence[float], *, created: datetime, hired: bool
) -> list[Application]:
    """Interviewed candidates with these scores, all hired or none."""
    reached = (
        ("booked", "interviewed", "next_round", "offer", "hired") if hired else ("booked", "interviewed")
    )
    return [application(s, pos, created=created, reached=reached, score=x) for x in scores]
