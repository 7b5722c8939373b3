"""Choose the next interview question (or the one follow-up probe) from what has been asked so far.

Stateless and deterministic: ``choose_next(pool, history, seed=…)`` depends only on its arguments, so
the flow stores the history (question ids with their rubric results) and replays it; the returned
:class:`Choice` carries a reason in zh and en for HR, and ``Choice.record()`` is what to store.

Rules, in order:

1. Probe: if the last answer missed the question's main point and that question has not been probed,
   ask its probe (at most one per question; a probe does not count as a question).
2. Stop after ``max_questions`` questions or when nothing is left.
3. Target: indicators with the least accumulated weight so far. While some indicator is unmeasured,
   only questions measuring at least one unmeasured indicator are eligible, so all eight are covered
   within eight questions whenever the pool allows it. Utility = Σ weight / (1 + 4·coverage).
4. Difficulty: starts at ``START_DIFFICULTY``; after each answer the running mean score moves it up
   one step at ≥ ``RAISE_AT``, down one at < ``LOWER_AT`` (1–3). Each level away costs
   ``DIFFICULTY_PENALTY`` of utility; the same kind as the previous question costs a little; the
   opening question prefers a behavioural item, and items written for fewer positions (i.e. for this
   one) get a small bonus.
5. Ties break on a tiny seed-derived jitter, then on the question id: a different seed gives a
   different (equally valid) interview, the same seed always the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scoring.questions import INDICATOR_NAMES, INDICATORS, Bank, LocalText, Question
from scoring.rubric import RubricResult

__all__ = ["Choice", "Turn", "choose_next", "interview_pool", "running_difficulty"]

START_DIFFICULTY = 2
RAISE_AT = 75.0
LOWER_AT = 50.0
DIFFICULTY_PENALTY = 0.25
SAME_KIND_PENALTY = 0.1
OPENING_KIND = "behavioural"  # a "tell me about a time" question is the gentlest start
OPENING_BONUS = 0.3
SPECIFIC_BONUS = 0.05  # per position an item does not list: prefer items written for this position
JITTER = 0.02
MAX_QUESTIONS = 10


@dataclass(frozen=True, slots=True)
class Turn:
    """An answered question. After a probe the flow re-scores the question with the follow-up
    (``score_answer(q, text, followup=…)``) and stores that result with ``probed=True``."""

    question_id: str
    result: RubricResult
    probed: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    question: Question
    is_probe: bool
    prompt: LocalText  # what to put to the candidate
    reason: LocalText  # why, for HR
    target_difficulty: int
    estimate: float | None
    targets: tuple[str, ...]
    coverage: tuple[tuple[str, float], ...]

    def record(self) -> dict[str, Any]:
        """The JSON-ready record of this choice, stored with the interview for HR."""
        return {
            "question_id": self.question.id,
            "is_probe": self.is_probe,
            "kind": self.question.kind,
            "difficulty": self.question.difficulty,
            "target_difficulty": self.target_difficulty,
            "estimate": self.estimate,
            "targets": list(self.targets),
            "coverage": dict(self.coverage),
            "reason_zh": self.reason.zh,
            "reason_en": self.reason.en,
            "bank_version": self.question.bank_version,
        }


def _derive(seed: int, name: str) -> int:
    return int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)


def interview_pool(bank: Bank, position: str, seed: int) -> tuple[Question, ...]:
    """The position's hand-written items plus one generated item per template, seeded from ``seed``."""
    generated = tuple(
        bank.generate(t.id, _derive(seed, t.id) % 100_000) for t in bank.templates_for(position)
    )
    return bank.questions_for(position) + generated


def running_difficulty(history: Sequence[Turn]) -> tuple[int, int, float | None]:
    """(previous target, current target, running mean score) after replaying the history."""
    prev = cur = START_DIFFICULTY
    total = 0.0
    estimate: float | None = None
    for n, turn in enumerate(_answers(history), start=1):
        total += turn.result.score
        estimate = total / n
        prev = cur
        if estimate >= RAISE_AT:
            cur = min(3, cur + 1)
        elif estimate < LOWER_AT:
            cur = max(1, cur - 1)
    return prev, cur, None if estimate is None else round(estimate, 1)


def _answers(history: Sequence[Turn]) -> list[Turn]:
    """One turn per question (the last stored result wins), in the order first asked."""
    by_id: dict[str, Turn] = {}
    for t in history:
        by_id[t.question_id] = t
    order = list(dict.fromkeys(t.question_id for t in history))
    return [by_id[q] for q in order]


def _coverage(turns: Sequence[Turn]) -> dict[str, float]:
    cov = dict.fromkeys(INDICATORS, 0.0)
    for t in turns:
        for ind, w in dict(t.result.weights).items():
            cov[ind] += w
    return cov


def _names(inds: Sequence[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(INDICATOR_NAMES[i].get(lang) for i in inds)


def _probe_choice(q: Question, turn: Turn, cov: dict[str, float], target: int, est: float | None) -> Choice:
    main = q.main_point
    if main is not None:
        reason = LocalText(
            f"上一题未答到要点「{main.label.zh}」，追问一次",
            f"The last answer missed the key point “{main.label.en}”; one follow-up probe",
        )
    elif q.numeric is not None:
        reason = LocalText(
            "上一题未给出正确的数值答案，追问一次",
            "The last answer gave no correct figure; one follow-up probe",
        )
    else:
        reason = LocalText(
            "上一题未明确选择选项，追问一次", "The last answer chose no option; one follow-up probe"
        )
    probe = q.main_probe
    assert probe is not None
    return Choice(q, True, probe, reason, target, est, tuple(i for i, _ in q.indicators), tuple(cov.items()))


def choose_next(
    pool: Sequence[Question],
    history: Sequence[Turn],
    *,
    seed: int,
    max_questions: int = MAX_QUESTIONS,
) -> Choice | None:
    """The next question or probe for this interview, or None when it is complete."""
    by_id = {q.id: q for q in pool}
    turns = _answers(history)
    cov = _coverage(turns)
    prev, target, est = running_difficulty(history)

    if history:
        last = history[-1]
        probed = last.probed or sum(1 for t in history if t.question_id == last.question_id) > 1
        q = by_id.get(last.question_id)
        if q is not None and last.result.main_missed and not probed and q.main_probe is not None:
            return _probe_choice(q, last, cov, target, est)

    asked = {t.question_id for t in history}
    if len(asked) >= max_questions:
        return None
    candidates = [q for q in pool if q.id not in asked]
    if not candidates:
        return None
    uncovered = {i for i in INDICATORS if cov[i] == 0}
    touching = [q for q in candidates if uncovered & {i for i, _ in q.indicators}]
    if touching:
        candidates = touching
    positions = {p for q in pool for p in q.positions}
    last_kind = by_id[turns[-1].question_id].kind if turns and turns[-1].question_id in by_id else None

    def utility(q: Question) -> tuple[float, str]:
        u = sum(w / (1 + 4 * cov[i]) for i, w in q.indicators)
        u -= DIFFICULTY_PENALTY * abs(q.difficulty - target)
        u -= SAME_KIND_PENALTY * (q.kind == last_kind)
        u += OPENING_BONUS * (not turns and q.kind == OPENING_KIND)
        u += SPECIFIC_BONUS * (len(positions) - len(positions & set(q.positions)))
        u += JITTER * (_derive(seed, q.id) % 10_000) / 10_000
        return (round(u, 9), q.id)

    best = max(candidates, key=utility)
    inds = [i for i, _ in best.indicators]
    new = [i for i in inds if cov[i] == 0]
    least = new or sorted(inds, key=lambda i: (cov[i], INDICATORS.index(i)))[:1]
    return Choice(
        question=best,
        is_probe=False,
        prompt=LocalText(best.prompt("zh"), best.prompt("en")),
        reason=_reason(new, least, turns, prev, target, est, best.difficulty),
        target_difficulty=target,
        estimate=est,
        targets=tuple(least),
        coverage=tuple((k, round(v, 4)) for k, v in cov.items()),
    )


def _reason(
    new: Sequence[str],
    least: Sequence[str],
    turns: Sequence[Turn],
    prev: int,
    target: int,
    est: float | None,
    got: int,
) -> LocalText:
    if new:
        zh1, en1 = f"{_names(new, 'zh')}尚未考察", f"{_names(new, 'en')} not yet assessed"
    else:
        zh1, en1 = f"{_names(least, 'zh')}考察最少", f"{_names(least, 'en')} least assessed so far"
    if not turns or est is None:
        zh2, en2 = f"开场题，难度 {target}", f"opening question at difficulty {target}"
    elif est >= RAISE_AT:
        zh2 = f"当前表现良好（均分 {est:g}），" + (
            f"提高难度至 {target}" if target > prev else f"保持最高难度 {target}"
        )
        en2 = f"doing well (mean {est:g}), " + (
            f"difficulty raised to {target}" if target > prev else f"staying at top difficulty {target}"
        )
    elif est < LOWER_AT:
        zh2 = f"当前表现欠佳（均分 {est:g}），" + (
            f"降低难度至 {target}" if target < prev else f"保持最低难度 {target}"
        )
        en2 = f"finding it hard (mean {est:g}), " + (
            f"difficulty lowered to {target}" if target < prev else f"staying at lowest difficulty {target}"
        )
    else:
        zh2, en2 = (
            f"表现稳定（均分 {est:g}），保持难度 {target}",
            f"steady (mean {est:g}), difficulty kept at {target}",
        )
    if got != target:
        zh2 += f"（该指标暂无难度 {target} 的合适题目，选用难度 {got}）"
        en2 += f" (no suitable item at difficulty {target}; using {got})"
    return LocalText(f"{zh1}；{zh2}", f"{en1}; {en2}")
