"""Standardised rejection feedback from an interview's indicator scores (pure; no I/O after loading).

HR rejects a candidate in chat; the candidate receives one short, respectful message that says the
decision clearly and kindly, names at most two strengths (score ≥ :data:`STRENGTH_AT`) and at most two
areas to develop (score < :data:`GAP_BELOW`), tells them how long their data is kept, that a person
made the decision and can review it, and how to reach HR.

What it never does: show a number, rank the indicators aloud, compare the candidate with anyone else,
mention a personal attribute, or mention an indicator that was not assessed (``None``). The wording is
in ``content/feedback.yml`` (loaded once per process; pass a :class:`FeedbackCatalog` to override).
The same scores always give the same text: ties are broken by the order of
:data:`scoring.questions.INDICATORS`, and the sentence for one item differs from the one for two.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

import yaml

from actions.plain_text import visible_text
from scoring.questions import INDICATOR_NAMES, INDICATORS

__all__ = [
    "CATALOG_PATH",
    "GAP_BELOW",
    "LANGUAGES",
    "MAX_ITEMS",
    "STRENGTH_AT",
    "Feedback",
    "FeedbackCatalog",
    "join_items",
    "load_feedback_catalog",
    "rejection_feedback",
]

ROOT = Path(__file__).resolve().parents[1]
CATALOG_PATH = ROOT / "content" / "feedback.yml"
LANGUAGES = ("zh", "en")
STRENGTH_AT = 70.0  # a score at or above this is a strength
GAP_BELOW = 60.0  # a score below this is an area to develop
MAX_ITEMS = 2  # at most this many strengths and this many gaps are named

# every text the message is built from, with the placeholders each must use (no others)
_TEXT_FIELDS: Mapping[str, frozenset[str]] = {
    "greeting": frozenset({"name"}),
    "greeting_anonymous": frozenset(),
    "intro_interviewed": frozenset({"bank", "position"}),
    "intro_general": frozenset({"bank", "position"}),
    "strengths_one": frozenset({"items"}),
    "strengths_two": frozenset({"items"}),
    "answers_thanks": frozenset(),
    "gaps_one": frozenset({"items"}),
    "gaps_two": frozenset({"items"}),
    "outlook": frozenset(),
    "retention": frozenset(),
    "review_interviewed": frozenset({"contact"}),
    "review_general": frozenset({"contact"}),
    "closing": frozenset(),
    "signature": frozenset({"bank"}),
}


@dataclass(frozen=True, slots=True)
class Feedback:
    """The message for the candidate and what it named. ``strengths``: indicator keys, best first;
    ``gaps``: indicator keys, weakest first (at most :data:`MAX_ITEMS` each)."""

    strengths: tuple[str, ...]
    gaps: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class FeedbackCatalog:
    """The wording: ``indicators[key][lang]`` (the indicator inside a sentence) and
    ``texts[name][lang]`` (the sentence templates of ``content/feedback.yml``)."""

    indicators: Mapping[str, Mapping[str, str]]
    texts: Mapping[str, Mapping[str, str]]

    def text(self, key: str, lang: str, /, **values: str) -> str:
        return self.texts[key][lang].format(**values)


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


def load_feedback_catalog(path: Path = CATALOG_PATH) -> FeedbackCatalog:
    """Read and check a feedback catalog; one ValueError lists every problem."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    errors: list[str] = []
    raw_ind = data.get("indicators") or {}
    raw_texts = data.get("texts") or {}
    indicators: dict[str, dict[str, str]] = {}
    for key in INDICATORS:
        entry = raw_ind.get(key) or {}
        for lang in LANGUAGES:
            phrase = entry.get(lang)
            if not isinstance(phrase, str) or not phrase.strip():
                errors.append(f"indicators.{key}: no {lang} phrase")
            elif INDICATOR_NAMES[key].get(lang).lower() not in phrase.lower():
                errors.append(
                    f"indicators.{key}.{lang}: {phrase!r} does not name {INDICATOR_NAMES[key].get(lang)!r}"
                )
            elif any(c.isdigit() for c in phrase):
                errors.append(f"indicators.{key}.{lang}: contains a digit")
        indicators[key] = {lang: str(entry.get(lang, "")) for lang in LANGUAGES}
    errors.extend(f"indicators.{key}: not an interview indicator" for key in raw_ind if key not in INDICATORS)
    texts: dict[str, dict[str, str]] = {}
    for name, allowed in _TEXT_FIELDS.items():
        entry = raw_texts.get(name) or {}
        for lang in LANGUAGES:
            template = entry.get(lang)
            if not isinstance(template, str) or not template.strip():
                errors.append(f"texts.{name}: no {lang} text")
                continue
            try:
                used = _placeholders(template)
            except ValueError as e:
                errors.append(f"texts.{name}.{lang}: {e}")
                continue
            if used - allowed:
                errors.append(f"texts.{name}.{lang}: unknown placeholder(s) {sorted(used - allowed)}")
            if any(c.isdigit() for c in template):
                errors.append(f"texts.{name}.{lang}: contains a digit")
        texts[name] = {lang: str(entry.get(lang, "")) for lang in LANGUAGES}
    errors.extend(f"texts.{name}: unknown text" for name in raw_texts if name not in _TEXT_FIELDS)
    if errors:
        raise ValueError(f"invalid feedback catalog {path}:\n  " + "\n  ".join(errors))
    return FeedbackCatalog(indicators, texts)


@functools.cache
def _default_catalog() -> FeedbackCatalog:
    return load_feedback_catalog()


def join_items(items: Sequence[str], lang: str) -> str:
    """A list as a sentence lists it: 甲 / 甲和乙 / 甲、乙和丙; A / A and B / A, B and C."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if lang == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _language(lang: str) -> str:
    if lang.startswith("zh"):
        return "zh"
    if lang.startswith("en"):
        return "en"
    raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")


def _assessed(scores: Mapping[str, float | None]) -> list[tuple[str, float]]:
    unknown = sorted(set(scores) - set(INDICATORS))
    if unknown:
        raise ValueError(f"unknown indicator(s): {', '.join(unknown)}")
    out = []
    for key in INDICATORS:
        value = scores.get(key)
        if value is not None and not math.isnan(value):  # NaN: treated as not assessed
            out.append((key, float(value)))
    return out


def _pick(assessed: list[tuple[str, float]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    order = {key: i for i, key in enumerate(INDICATORS)}
    best = sorted((kv for kv in assessed if kv[1] >= STRENGTH_AT), key=lambda kv: (-kv[1], order[kv[0]]))
    weakest = sorted((kv for kv in assessed if kv[1] < GAP_BELOW), key=lambda kv: (kv[1], order[kv[0]]))
    return tuple(k for k, _ in best[:MAX_ITEMS]), tuple(k for k, _ in weakest[:MAX_ITEMS])


def rejection_feedback(
    scores: Mapping[str, float | None],
    *,
    lang: str,
    name: str,
    position_title: str,
    bank_name: str,
    contact: str,
    catalog: FeedbackCatalog | None = None,
) -> Feedback:
    """The rejection message for one candidate in ``lang`` ("zh" or "en"; "zh-CN" reads as "zh").

    ``scores`` maps indicator keys of :data:`scoring.questions.INDICATORS` to 0–100 scores, ``None``
    (or NaN) meaning not assessed; an empty mapping or all ``None`` (no interview) gives a general
    message with no claim about any indicator. Unknown keys raise ValueError. The candidate's name
    and the other caller-supplied strings are stripped of control characters; they are the only way
    a digit can reach the text."""
    language = _language(lang)
    cat = catalog or _default_catalog()
    assessed = _assessed(scores)
    strengths, gaps = _pick(assessed)
    sep = "" if language == "zh" else " "

    def t(key: str, **values: str) -> str:
        return cat.text(key, language, **values)

    def items(keys: tuple[str, ...]) -> str:
        return join_items([cat.indicators[k][language] for k in keys], language)

    who = visible_text(name)
    bank = visible_text(bank_name)
    position = visible_text(position_title)
    greeting = t("greeting", name=who) if who else t("greeting_anonymous")
    if assessed:
        intro = t("intro_interviewed", bank=bank, position=position)
        sentences = []
        if strengths:
            sentences.append(
                t("strengths_one" if len(strengths) == 1 else "strengths_two", items=items(strengths))
            )
        else:
            sentences.append(t("answers_thanks"))
        if gaps:
            sentences.append(t("gaps_one" if len(gaps) == 1 else "gaps_two", items=items(gaps)))
        sentences.append(t("outlook"))
        body = [intro, sep.join(sentences)]
    else:
        body = [sep.join([t("intro_general", bank=bank, position=position), t("outlook")])]
    review = "review_interviewed" if assessed else "review_general"
    privacy = sep.join([t("retention"), t(review, contact=visible_text(contact))])
    farewell = t("closing") + "\n" + t("signature", bank=bank)
    text = "\n\n".join([greeting, *body, privacy, farewell])
    return Feedback(strengths=strengths, gaps=gaps, text=text)
