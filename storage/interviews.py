"""The interview's writes. Every transition is one conditional UPDATE on the interview row (the turn
and what it awaits), so two answers racing for one question, or a worker re-running a job, change
things once: the loser sees ``False`` and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import Answer, AnswerScore, Interview

LIVE = ("open", "active", "paused")


def open_interview(
    s: Session,
    *,
    application_id: int,
    booking_id: int | None,
    language: str,
    opens_at: datetime,
    expires_at: datetime,
    seed: int,
    max_questions: int,
    text_answers: bool,
    now: datetime,
) -> tuple[Interview, bool]:
    """The application's (round 1) interview, created when there is none. (row, created)."""
    iv = s.scalar(select(Interview).where(Interview.application_id == application_id, Interview.round == 1))
    if iv is not None:
        if iv.status == "cancelled":  # rebooked after a cancellation: the new slot opens it again
            iv.status, iv.booking_id, iv.opens_at, iv.expires_at = "open", booking_id, opens_at, expires_at
            iv.language, iv.updated_at = language, now
        return iv, False
    iv = Interview(
        application_id=application_id,
        round=1,
        booking_id=booking_id,
        status="open",
        language=language,
        seed=seed,
        max_questions=max_questions,
        text_answers=text_answers,
        opens_at=opens_at,
        expires_at=expires_at,
        turn=0,
        is_probe=False,
        awaiting="",
        attempts=0,
        sequence=[],
        versions={},
        updated_at=now,
    )
    s.add(iv)
    s.flush()
    return iv, True


def _cas(s: Session, iv_id: int, where: Mapping[str, Any], **values: Any) -> bool:
    conds = [getattr(Interview, k) == v for k, v in where.items()]
    if "status" not in where:
        conds.append(Interview.status.in_(LIVE))
    r = s.execute(update(Interview).where(Interview.id == iv_id, *conds).values(**values))
    s.expire_all()
    return r.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def set_status(s: Session, iv_id: int, *, old: Sequence[str], new: str, now: datetime, **values: Any) -> bool:
    r = s.execute(
        update(Interview)
        .where(Interview.id == iv_id, Interview.status.in_(old))
        .values(status=new, updated_at=now, **values)
    )
    s.expire_all()
    return r.rowcount == 1  # type: ignore[attr-defined, no-any-return]


def ask(
    s: Session,
    *,
    iv_id: int,
    expected_turn: int,
    question_id: str,
    is_probe: bool,
    record: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Put the next prompt (question or probe): turn + 1, waiting for an answer."""
    iv = s.get(Interview, iv_id)
    if iv is None or iv.turn != expected_turn:
        return False
    seq = [*iv.sequence, {**record, "turn": expected_turn + 1, "asked_at": now.isoformat()}]
    return _cas(
        s,
        iv_id,
        {"turn": expected_turn},
        turn=expected_turn + 1,
        question_id=question_id,
        is_probe=is_probe,
        awaiting="answer",
        asked_at=now,
        attempts=0,
        sequence=seq,
        updated_at=now,
    )


def record_answer(
    s: Session,
    *,
    iv_id: int,
    turn: int,
    kind: str,
    platform: str,
    message_id: str,
    media_ref: str | None,
    media_mime: str | None,
    text: str | None,
    late: bool,
    now: datetime,
) -> Answer | None:
    """Take the answer to the current prompt; None if the prompt is not waiting for one any more."""
    iv = s.get(Interview, iv_id)
    if iv is None:
        return None
    question_id, is_probe, attempts = iv.question_id, iv.is_probe, iv.attempts
    if not _cas(s, iv_id, {"turn": turn, "awaiting": "answer", "status": "active"}, awaiting="scoring"):
        return None
    assert question_id is not None
    return _add_answer(
        s,
        iv_id=iv_id,
        turn=turn,
        attempt=attempts + 1,
        question_id=question_id,
        is_probe=is_probe,
        kind=kind,
        platform=platform,
        message_id=message_id,
        media_ref=media_ref,
        media_mime=media_mime,
        text=text,
        late=late,
        status="pending",
        now=now,
    )


def record_extra(
    s: Session,
    *,
    iv_id: int,
    kind: str,
    platform: str,
    message_id: str,
    media_ref: str | None,
    media_mime: str | None,
    text: str | None,
    now: datetime,
) -> Answer | None:
    """Keep an answer that arrived while none was expected (a second answer to one question)."""
    iv = s.get(Interview, iv_id)
    if iv is None or iv.question_id is None:
        return None
    last = s.scalar(
        select(func.max(Answer.attempt)).where(Answer.interview_id == iv_id, Answer.turn == iv.turn)
    )
    return _add_answer(
        s,
        iv_id=iv_id,
        turn=iv.turn,
        attempt=(last or 0) + 1,
        question_id=iv.question_id,
        is_probe=iv.is_probe,
        kind=kind,
        platform=platform,
        message_id=message_id,
        media_ref=media_ref,
        media_mime=media_mime,
        text=text,
        late=False,
        status="extra",
        now=now,
    )


def _add_answer(s: Session, *, iv_id: int, status: str, now: datetime, **fields: Any) -> Answer:
    a = Answer(interview_id=iv_id, **fields, status=status, received_at=now)
    s.add(a)
    s.flush()
    return a


def retry(s: Session, *, iv_id: int, turn: int, now: datetime, count: bool = True) -> bool:
    """An unusable recording: the same prompt waits for another attempt (``count``: it used one)."""
    iv = s.get(Interview, iv_id)
    if iv is None:
        return False
    return _cas(
        s,
        iv_id,
        {"turn": turn, "awaiting": "scoring"},
        awaiting="answer",
        attempts=iv.attempts + (1 if count else 0),
        asked_at=now,
        updated_at=now,
    )


def mark_skipped(s: Session, *, iv_id: int, turn: int, now: datetime) -> bool:
    """Give up the current prompt after its attempts; the sequence records it for HR."""
    iv = s.get(Interview, iv_id)
    if iv is None or iv.turn != turn:
        return False
    seq = [dict(r) for r in iv.sequence]
    if seq:
        seq[-1]["skipped"] = True
    return _cas(s, iv_id, {"turn": turn}, awaiting="", sequence=seq, updated_at=now)


def skipped_ids(sequence: Sequence[Mapping[str, Any]]) -> set[str]:
    out = set()
    for r in sequence:
        if r.get("skipped"):
            out.add(f"probe:{r['question_id']}" if r.get("is_probe") else str(r["question_id"]))
    return out


def scored_answers(s: Session, iv_id: int) -> list[tuple[Answer, AnswerScore]]:
    return list(
        s.execute(
            select(Answer, AnswerScore)
            .join(AnswerScore, AnswerScore.answer_id == Answer.id)
            .where(Answer.interview_id == iv_id, Answer.status == "scored")
            .order_by(Answer.turn, Answer.attempt)
        ).tuples()
    )


def save_result(
    s: Session,
    *,
    answer_id: int,
    status: str,
    problem: str | None,
    text: str | None,
    transcript: Mapping[str, Any] | None,
    score: Mapping[str, Any] | None,
    now: datetime,
) -> bool:
    """Store what the worker found, once: False when the answer was processed already."""
    r = s.execute(
        update(Answer)
        .where(Answer.id == answer_id, Answer.status == "pending")
        .values(
            status=status,
            problem=problem,
            text=text,
            transcript=None if transcript is None else dict(transcript),
            processed_at=now,
        )
    )
    if r.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if score is not None:
        s.add(AnswerScore(answer_id=answer_id, created_at=now, **score))
    s.flush()
    return True
