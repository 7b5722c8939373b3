"""Rebuild an interview's scored history from what is stored, and pick what comes next.

Scoring is deterministic, so the store keeps the inputs (transcripts, speech measures) and the
scores with their versions, and the history the adaptive order needs is re-derived from them: the
same inputs give the same :class:`~scoring.adaptive.Turn` objects the worker saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoring.adaptive import Choice, Turn, choose_next, interview_pool
from scoring.indicators import AnswerScore, InterviewScores, combine, score_answer
from scoring.questions import Bank, Question
from scoring.speech import SpeechFeatures

__all__ = ["StoredAnswer", "History", "replay", "next_choice", "feedback", "speech_from_dict"]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A usable (scored) answer as stored: typed text or transcript, and speech measures if voice."""

    answer_id: int
    turn: int
    question_id: str
    is_probe: bool
    text: str
    features: Mapping[str, Any] | None = None
    audio: str | None = None


@dataclass(frozen=True)
class History:
    pool: tuple[Question, ...]
    turns: tuple[Turn, ...]
    scored: tuple[AnswerScore, ...]  # the final score of each answered question, in order
    skipped: frozenset[str]  # question ids given up after failed attempts ("probe:<id>" for probes)
    main: Mapping[str, StoredAnswer] = field(default_factory=dict)
    probe: Mapping[str, StoredAnswer] = field(default_factory=dict)

    def question(self, question_id: str) -> Question:
        return next(q for q in self.pool if q.id == question_id)

    def scores(self) -> InterviewScores:
        return combine(self.scored)

    @property
    def answered(self) -> int:
        return len(self.scored)


def speech_from_dict(d: Mapping[str, Any] | None) -> SpeechFeatures | None:
    return None if not d else SpeechFeatures(**dict(d))


def replay(
    bank: Bank, position: str, seed: int, answers: Sequence[StoredAnswer], skipped: Iterable[str] = ()
) -> History:
    pool = interview_pool(bank, position, seed)
    by_id = {q.id: q for q in pool}
    skipped = frozenset(skipped)
    main: dict[str, StoredAnswer] = {}
    probe: dict[str, StoredAnswer] = {}
    for a in sorted(answers, key=lambda a: a.turn):
        (probe if a.is_probe else main)[a.question_id] = a
    turns: list[Turn] = []
    scored: list[AnswerScore] = []
    for qid, a in sorted(main.items(), key=lambda kv: kv[1].turn):
        q = by_id.get(qid) or bank.get(qid)
        first = score_answer(q, a.text, speech=speech_from_dict(a.features))
        turns.append(Turn(qid, first.result))
        final = first
        p = probe.get(qid)
        if p is not None:
            final = score_answer(q, a.text, speech=speech_from_dict(a.features), followup=p.text)
            turns.append(Turn(qid, final.result, probed=True))
        elif f"probe:{qid}" in skipped:
            turns.append(Turn(qid, first.result, probed=True))  # the probe was given up: never again
        scored.append(final)
    return History(pool, tuple(turns), tuple(scored), skipped, main, probe)


def next_choice(h: History, *, seed: int, max_questions: int) -> Choice | None:
    """The next question or probe, or None when the interview is complete."""
    gone = {s for s in h.skipped if not s.startswith("probe:")}
    pool = [q for q in h.pool if q.id not in gone]
    return choose_next(pool, h.turns, seed=seed, max_questions=max(0, max_questions - len(gone)))


def feedback(scores: InterviewScores) -> tuple[tuple[str, ...], bool, str | None]:
    """Plain-words preliminary feedback: (strengths, whether they are only relative, one thing to
    work on) as indicator ids.

    Strengths are the best-assessed indicators scoring at least 60 (two at most); when none does, the
    best one is named as a relative strength — everyone hears something they did well. The thing to
    work on is the lowest-assessed one below 75 (none when everything is strong). No numbers leave
    this function.
    """
    assessed = sorted(
        ((i.score, i.id) for i in scores.indicators if i.score is not None), key=lambda t: (-t[0], t[1])
    )
    strengths = tuple(i for s, i in assessed if s >= 60)[:2]
    relative = not strengths and bool(assessed)
    if relative:
        strengths = (assessed[0][1],)
    weakest = [(s, i) for s, i in assessed if s < 75 and i not in strengths]
    work_on = min(weakest)[1] if weakest else None
    return strengths, relative, work_on
