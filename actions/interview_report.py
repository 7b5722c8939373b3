"""An application's interview report, assembled from the store.

The scores are re-derived from the stored transcripts and speech measures (scoring is deterministic)
and checked against the scores stored when each answer was scored; a mismatch — the rubric changed
since — is reported in ``mismatches`` rather than silently showing different numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questions import Bank, LocalText
from scoring.replay import StoredAnswer, replay
from scoring.report import ReportInput, Transcript
from storage import interviews as ivs
from storage.models import Answer, Application, Interview, Position


@dataclass(frozen=True)
class LoadedReport:
    report: ReportInput
    interview_id: int
    status: str  # the interview's status: a report of an unfinished interview says so
    mismatches: tuple[int, ...]  # answer ids whose stored score differs from the re-derived one


def load_report(
    s: Session,
    application_id: int,
    *,
    language: str,
    bank: Bank,
    now: datetime,
    audio_url: Callable[[int], str | None] | None = None,
) -> LoadedReport | None:
    """The report of the application's interview, or None when it has no interview yet."""
    app = s.get(Application, application_id)
    if app is None:
        return None
    iv = s.scalar(select(Interview).where(Interview.application_id == application_id, Interview.round == 1))
    if iv is None:
        return None
    pos = s.get(Position, app.position_id)
    assert pos is not None
    rows = ivs.scored_answers(s, iv.id)
    stored = [
        StoredAnswer(
            answer_id=a.id,
            turn=a.turn,
            question_id=a.question_id,
            is_probe=a.is_probe,
            text=a.text or "",
            features=(sc.result or {}).get("features"),
            audio=a.media_ref,
        )
        for a, sc in rows
    ]
    history = replay(bank, pos.code, iv.seed, stored, ivs.skipped_ids(iv.sequence))
    kinds = {a.id: a.kind for a, _ in rows}
    transcripts = []
    for qid, main in sorted(history.main.items(), key=lambda kv: kv[1].turn):
        probe = history.probe.get(qid)
        url = (
            audio_url(main.answer_id) if audio_url is not None and kinds[main.answer_id] == "voice" else None
        )
        transcripts.append(
            Transcript.of(
                history.question(qid), main.text, audio=url, probe_answer=probe.text if probe else None
            )
        )
    # each answer's stored score against the re-derived one (a probe's score is the question's re-score)
    rederived = {h.question.id: h.result.score for h in history.scored}
    mismatches = tuple(
        a.id
        for a, sc in rows
        if not a.is_probe
        and a.question_id not in history.probe
        and abs(rederived.get(a.question_id, sc.score) - sc.score) > 0.05
    )
    models = sorted({sc.asr_model for _, sc in rows if sc.asr_model})
    late_turns = set(
        s.scalars(select(Answer.turn).where(Answer.interview_id == iv.id, Answer.late.is_(True)))
    )
    report = ReportInput(
        application_id=str(app.id),
        candidate_name=app.candidate_name,
        position_code=pos.code,
        position_title=LocalText(pos.title_zh, pos.title_en),
        scores=history.scores(),
        transcripts=transcripts,
        sequence=_annotated(iv.sequence, late_turns),
        generated_at=now,
        language=language,
        asr_model=",".join(models) or None,
    )
    return LoadedReport(report, iv.id, iv.status, mismatches)


def _annotated(sequence: list[dict[str, Any]], late_turns: set[int]) -> list[dict[str, Any]]:
    """The stored sequence with each prompt's timing flag: HR sees which answers came late."""
    return [{**r, "late": r.get("turn") in late_turns} for r in sequence]
