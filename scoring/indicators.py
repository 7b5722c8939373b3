"""The eight interview indicators (0–100 each, with evidence) from a whole interview's answers.

Inputs are only what a fair score may depend on: each question, the rubric result of the answer
text, and optionally the measured :class:`scoring.speech.SpeechFeatures` of the voice answer. There
is no candidate object: name, gender, age, region and school cannot reach a score.

Content: an indicator's content score is the mean of the answers' sub-scores for it, weighted by how
much each question measures it (the question's indicator weight). An indicator no question measured
is "not assessed" (score ``None``), never 0.

Speech: feeds communication and composure only, and at most ``SPEECH_SHARE`` of either, so speech
can move a score by at most a quarter of the gap to 0 or 100 — it never outweighs content, and it
never creates a score for an indicator the content did not measure. Mappings (each piecewise linear,
monotone on each side of a comfortable band; documented in ``_BANDS``):

* rate (syllables or characters per second of speech): 3.0–5.5 comfortable → 100; 0 at ≤1.5 or ≥8.0.
  The same band fits Mandarin characters and English syllables.
* fillers per minute: ≤3 → 100, ≥15 → 0.  long pauses (≥1.5 s) per minute: ≤1 → 100, ≥6 → 0.
* pause ratio (pause time / answer span): ≤0.25 → 100, ≥0.6 → 0.
* pitch variation (F0 std/mean): ≤0.25 → 100, ≥0.6 → 0. A ratio, so a higher or lower voice does
  not change it; the band is wide because Mandarin tones vary F0 more than English does.
* loudness SD (dB over speech frames): ≤6 → 100, ≥14 → 0.

communication(speech) = 0.35 rate + 0.25 fillers + 0.2 long pauses + 0.2 pause ratio;
composure(speech) = weighted mean of the available pitch (0.4), loudness (0.3) and long-pause (0.3).
The overall score is the plain mean of the assessed indicators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from scoring.questions import INDICATOR_NAMES, INDICATORS, LocalText, Question
from scoring.rubric import SCORER_VERSION, Evidence, RubricResult
from scoring.rubric import score_answer as rubric_score

if TYPE_CHECKING:  # structural use only: text-only scoring does not need the audio stack
    from scoring.speech import SpeechFeatures

__all__ = [
    "SPEECH_SHARE",
    "AnswerScore",
    "IndicatorScore",
    "InterviewScores",
    "SpeechScores",
    "Versions",
    "combine",
    "score_answer",
    "speech_scores",
]

SPEECH_SHARE = 0.25
SPEECH_INDICATORS = ("communication", "composure")

# name -> (zero_low, full_low, full_high, zero_high); None = that side never penalises.
_BANDS: Mapping[str, tuple[float | None, float | None, float | None, float | None]] = {
    "rate": (1.5, 3.0, 5.5, 8.0),
    "fillers": (None, None, 3.0, 15.0),
    "long_pauses": (None, None, 1.0, 6.0),
    "pause_ratio": (None, None, 0.25, 0.6),
    "pitch": (None, None, 0.25, 0.6),
    "loudness": (None, None, 6.0, 14.0),
}
_COMM_WEIGHTS = {"rate": 0.35, "fillers": 0.25, "long_pauses": 0.2, "pause_ratio": 0.2}
_COMP_WEIGHTS = {"pitch": 0.4, "loudness": 0.3, "long_pauses": 0.3}
_MIN_SPAN_S = 10.0  # per-minute rates of very short answers are not meaningful below this


def _band(name: str, x: float) -> float:
    zl, fl, fh, zh = _BANDS[name]
    if fl is not None and zl is not None and x < fl:
        return 0.0 if x <= zl else 100.0 * (x - zl) / (fl - zl)
    if fh is not None and zh is not None and x > fh:
        return 0.0 if x >= zh else 100.0 * (zh - x) / (zh - fh)
    return 100.0


@dataclass(frozen=True, slots=True)
class Versions:
    rubric: str
    scorer: str
    speech: str | None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SpeechScores:
    communication: float
    composure: float | None
    parts: tuple[tuple[str, float], ...]  # each measure's 0..100
    measures: tuple[tuple[str, float], ...]  # the raw values the parts came from
    version: str


def speech_scores(f: SpeechFeatures) -> SpeechScores | None:
    """Map one answer's speech features to communication/composure sub-scores (0..100), or None
    when nothing was said."""
    if f.speech_s <= 0:
        return None
    span = f.speech_s / (1 - f.pause_ratio) if f.pause_ratio < 1 else f.duration_s
    minutes = max(span, _MIN_SPAN_S) / 60
    measures: dict[str, float] = {
        "rate": f.rate,
        "fillers": f.filler_rate,
        "long_pauses": f.long_pause_count / minutes,
        "pause_ratio": f.pause_ratio,
    }
    if f.pitch_cv is not None:
        measures["pitch"] = f.pitch_cv
    if f.loudness_sd_db is not None:
        measures["loudness"] = f.loudness_sd_db
    parts = {k: round(_band(k, v), 1) for k, v in measures.items()}
    comm = sum(w * parts[k] for k, w in _COMM_WEIGHTS.items())
    avail = {k: w for k, w in _COMP_WEIGHTS.items() if k in parts}
    comp = sum(w * parts[k] for k, w in avail.items()) / sum(avail.values()) if avail else None
    return SpeechScores(
        communication=round(comm, 1),
        composure=None if comp is None else round(comp, 1),
        parts=tuple(parts.items()),
        measures=tuple((k, round(v, 3)) for k, v in measures.items()),
        version=f.version,
    )


@dataclass(frozen=True, slots=True)
class AnswerScore:
    """One scored answer: the rubric result, the speech sub-scores and the versions behind them."""

    question: Question
    result: RubricResult
    speech: SpeechScores | None
    versions: Versions
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question.id,
            "score": self.result.score,
            "rubric": self.result.to_dict(),
            "speech": None if self.speech is None else asdict(self.speech),
            "versions": self.versions.to_dict(),
        }


def score_answer(
    question: Question,
    text: str,
    *,
    speech: SpeechFeatures | None = None,
    followup: str | None = None,
) -> AnswerScore:
    """Score one answer: its transcript against the rubric, and its speech features if given."""
    result = rubric_score(question, text, followup=followup)
    sp = speech_scores(speech) if speech is not None else None
    return AnswerScore(
        question=question,
        result=result,
        speech=sp,
        versions=Versions(
            question.bank_version, SCORER_VERSION, speech.version if speech is not None else None
        ),
        duration_s=speech.duration_s if speech is not None else 0.0,
    )


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    id: str
    name: LocalText
    score: float | None  # None: not assessed
    content: float | None
    speech: float | None
    weight: float  # accumulated measurement weight over the interview
    answers: int
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = [asdict(e) for e in self.evidence]
        return d


@dataclass(frozen=True, slots=True)
class InterviewScores:
    indicators: tuple[IndicatorScore, ...]
    overall: float | None
    versions: Versions
    answers: tuple[AnswerScore, ...]

    def get(self, indicator: str) -> IndicatorScore:
        return next(i for i in self.indicators if i.id == indicator)

    def scores(self) -> dict[str, float | None]:
        return {i.id: i.score for i in self.indicators}

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "indicators": {i.id: i.to_dict() for i in self.indicators},
            "versions": self.versions.to_dict(),
            "answers": [a.to_dict() for a in self.answers],
        }


def _joined(values: Sequence[str | None]) -> str | None:
    vs = sorted({v for v in values if v})
    return ",".join(vs) if vs else None


def _speech_evidence(a: AnswerScore, indicator: str) -> Evidence:
    assert a.speech is not None
    parts = dict(a.speech.parts)
    measures = dict(a.speech.measures)
    keys = _COMM_WEIGHTS if indicator == "communication" else [k for k in _COMP_WEIGHTS if k in parts]
    detail = "; ".join(f"{k} {measures[k]:g} → {parts[k]:g}" for k in keys)
    value = a.speech.communication if indicator == "communication" else a.speech.composure
    return Evidence("speech", indicator, a.question.id, "", f"speech {value:g} ({detail})")


def combine(answers: Sequence[AnswerScore]) -> InterviewScores:
    """Combine an interview's scored answers into the eight indicators and an overall score."""
    out: list[IndicatorScore] = []
    for ind in INDICATORS:
        num = den = 0.0
        count = 0
        evidence: list[Evidence] = []
        for a in answers:
            w = a.question.weight(ind)
            sub = a.result.subscore(ind)
            if w <= 0 or sub is None:
                continue
            num += w * sub
            den += w
            count += 1
            evidence.extend(dict(a.result.evidence).get(ind, ()))
        content = round(num / den, 1) if den > 0 else None
        speech: float | None = None
        if ind in SPEECH_INDICATORS:
            rated = [
                (a, a.speech.communication if ind == "communication" else a.speech.composure)
                for a in answers
                if a.speech is not None
            ]
            rated = [(a, v) for a, v in rated if v is not None]
            if rated:
                weights = [max(a.duration_s, 1.0) for a, _ in rated]
                speech = round(sum(w * v for w, (_, v) in zip(weights, rated, strict=True)) / sum(weights), 1)
                evidence.extend(_speech_evidence(a, ind) for a, _ in rated)
        if content is None:
            score = None
        elif speech is None:
            score = content
        else:
            score = round((1 - SPEECH_SHARE) * content + SPEECH_SHARE * speech, 1)
        out.append(
            IndicatorScore(
                ind, INDICATOR_NAMES[ind], score, content, speech, round(den, 4), count, tuple(evidence)
            )
        )
    assessed = [i.score for i in out if i.score is not None]
    overall = round(sum(assessed) / len(assessed), 1) if assessed else None
    versions = Versions(
        rubric=_joined([a.versions.rubric for a in answers]) or "",
        scorer=SCORER_VERSION,
        speech=_joined([a.versions.speech for a in answers]),
    )
    return InterviewScores(tuple(out), overall, versions, tuple(answers))
