"""The engine's side of the interview: run its commands with the ORM and read its history.

Kept apart from ``engine`` (the message path) and ``interview`` (the pure decisions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from flows.context import Command, Ctx, InterviewView
from scoring.questions import Bank
from scoring.replay import History, StoredAnswer, replay
from storage import hr_actions, repo
from storage import interviews as ivs
from storage.models import Answer, AnswerScore, Application, Interview


def load_history(
    c: Connection, bank: Bank, iv: InterviewView, position_code: str
) -> tuple[History, list[Mapping[str, Any]]]:
    rows = c.execute(
        select(
            Answer.id,
            Answer.turn,
            Answer.question_id,
            Answer.is_probe,
            Answer.text,
            Answer.media_ref,
            AnswerScore.result,
        )
        .join(AnswerScore, AnswerScore.answer_id == Answer.id)
        .where(Answer.interview_id == iv.id, Answer.status == "scored")
        .order_by(Answer.turn, Answer.attempt)
    ).all()
    sequence = list(c.execute(select(Interview.sequence).where(Interview.id == iv.id)).scalar() or [])
    answers = [
        StoredAnswer(
            answer_id=r.id,
            turn=r.turn,
            question_id=r.question_id,
            is_probe=r.is_probe,
            text=r.text or "",
            features=(r.result or {}).get("features"),
            audio=r.media_ref,
        )
        for r in rows
    ]
    return replay(bank, position_code, iv.seed, answers, ivs.skipped_ids(sequence)), sequence


def execute(
    s: Session, cmd: Command, *, platform: str, message_id: str, ctx: Ctx, now: datetime
) -> dict[str, Any]:
    """Run one interview command inside the message's transaction."""
    a = cmd.args
    app = s.get(Application, ctx.app.id) if ctx.app is not None else None
    if app is None:
        return {"status": "missing"}
    if cmd.name == "accommodation":
        app.needs_human = True
        repo.audit(
            s,
            now=now,
            actor=f"user:{app.user_id}",
            action="accommodation.requested",
            subject=f"application:{app.id}",
        )
        return {"status": "ok"}
    if cmd.name == "iv_open":
        iv, created = ivs.open_interview(
            s,
            application_id=app.id,
            booking_id=a.get("booking_id"),
            language=str(a["language"]),
            opens_at=datetime.fromisoformat(a["opens_at"]),
            expires_at=datetime.fromisoformat(a["expires_at"]),
            seed=_seed(app.id, app.created_at),
            max_questions=int(a["max_questions"]),
            text_answers=bool(a["text_answers"]),
            now=now,
        )
        if created:
            repo.audit(
                s,
                now=now,
                actor="system",
                action="interview.opened",
                subject=f"application:{app.id}",
                details={"interview_id": iv.id, "expires_at": a["expires_at"]},
            )
        return {"status": "ok" if created else "exists", "interview_id": iv.id}
    iv_view = ctx.interview
    if iv_view is None:
        return {"status": "missing"}
    iv_id = iv_view.id
    if cmd.name == "iv_start":
        ok = ivs.set_status(s, iv_id, old=("open",), new="active", now=now, started_at=now)
        if ok:
            app.stage = "interviewing"
            app.updated_at = now
        return _status(ok)
    if cmd.name == "iv_ask":
        return _status(
            ivs.ask(
                s,
                iv_id=iv_id,
                expected_turn=int(a["turn"]),
                question_id=str(a["question_id"]),
                is_probe=bool(a["is_probe"]),
                record=a["record"],
                now=now,
            )
        )
    if cmd.name == "iv_answer":
        ans = ivs.record_answer(
            s,
            iv_id=iv_id,
            turn=int(a["turn"]),
            kind=str(a["kind"]),
            platform=platform,
            message_id=message_id,
            media_ref=a.get("media_ref"),
            media_mime=a.get("media_mime"),
            text=a.get("text"),
            late=bool(a.get("late")),
            now=now,
        )
        return {"status": "ok", "answer_id": ans.id} if ans is not None else {"status": "conflict"}
    if cmd.name == "iv_extra":
        extra = ivs.record_extra(
            s,
            iv_id=iv_id,
            kind=str(a["kind"]),
            platform=platform,
            message_id=message_id,
            media_ref=a.get("media_ref"),
            media_mime=a.get("media_mime"),
            text=a.get("text"),
            now=now,
        )
        return {"status": "ok" if extra is not None else "missing"}
    if cmd.name == "iv_retry":
        # count=False: our failure, not theirs — the attempt does not count
        ok = ivs.retry(s, iv_id=iv_id, turn=int(a["turn"]), now=now, count=bool(a.get("count", True)))
        return _status(ok)
    if cmd.name == "iv_skip":
        return _status(ivs.mark_skipped(s, iv_id=iv_id, turn=int(a["turn"]), now=now))
    if cmd.name == "iv_pause":
        return _status(ivs.set_status(s, iv_id, old=("active",), new="paused", now=now))
    if cmd.name == "iv_resume":
        ok = ivs.set_status(s, iv_id, old=("paused", "open"), new="active", now=now, asked_at=now)
        return _status(ok)
    if cmd.name == "iv_expire":
        ok = ivs.set_status(s, iv_id, old=ivs.LIVE, new="expired", now=now)
        if ok:
            repo.audit(
                s, now=now, actor="system", action="interview.expired", subject=f"application:{app.id}"
            )
        return _status(ok)
    if cmd.name == "iv_complete":
        ok = ivs.set_status(
            s,
            iv_id,
            old=("active", "paused"),
            new="completed",
            now=now,
            completed_at=now,
            awaiting="",
            overall=a.get("overall"),
            scores=dict(a.get("scores") or {}),
            versions=dict(a.get("versions") or {}),
        )
        if ok:
            hr_actions.set_stage(app, "interviewed", now)
            repo.audit(
                s,
                now=now,
                actor="system:scoring",
                action="interview.scored",
                subject=f"application:{app.id}",
                details={"interview_id": iv_id, "overall": a.get("overall"), "scores": a.get("scores")},
                input_versions=dict(a.get("versions") or {}),
            )
            s.flush()
            shortlisted = hr_actions.apply_threshold(s, app, now=now, versions=dict(a.get("versions") or {}))
            # the optional demographics question follows once (read here, not on every message)
            asked = "demographics" in repo.latest_consents(s, app.id)
            return {"status": "ok", "shortlisted": shortlisted, "demographics_answered": asked}
        return _status(ok)
    raise ValueError(f"unknown interview command {cmd.name}")


def _status(ok: bool) -> dict[str, Any]:
    return {"status": "ok" if ok else "conflict"}


def _seed(application_id: int, created_at: datetime) -> int:
    """A stable per-application seed: the same application always gets the same interview."""
    return (application_id * 2_654_435_761 + int(created_at.timestamp())) % 1_000_003


def interview_view(row: Any) -> InterviewView | None:
    if row is None or getattr(row, "interview_id", None) is None:
        return None
    return InterviewView(
        id=row.interview_id,
        status=row.iv_status,
        language=row.iv_language,
        turn=row.iv_turn,
        question_id=row.iv_question_id,
        is_probe=bool(row.iv_is_probe),
        awaiting=row.iv_awaiting,
        asked_at=row.iv_asked_at,
        attempts=row.iv_attempts,
        opens_at=row.iv_opens_at,
        expires_at=row.iv_expires_at,
        max_questions=row.iv_max_questions,
        text_answers=bool(row.iv_text_answers) or bool(row.text_answers),
        seed=row.iv_seed,
    )


__all__: Sequence[str] = ["execute", "load_history", "interview_view"]
