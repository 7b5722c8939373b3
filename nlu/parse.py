"""Public NLU API: ``NLU.load(content/nlu, tz=...)`` then ``nlu.parse(text)`` → :class:`Parse`.

The output mirrors Rasa's ``/model/parse`` (``intent``, ``intent_ranking``, ``entities``) so flows can
also be fed by a real Rasa server.

The intent is Rasa's ``nlu_fallback`` when

* the best confidence is below ``threshold``;
* the message shares almost nothing with the training data (gibberish, see
  ``IntentClassifier.familiar``);
* the message is only a pick from a list ("2", "第二个", "option 3"): it then carries a ``number``
  entity, and only the flow that offered the options knows what it means (so "2" never reads as
  ``affirm``).

Its confidence is then ``max(threshold, best)`` -- the threshold, as in Rasa's ``FallbackClassifier``,
in the common case -- and the real candidates follow it in the ranking. Empty or punctuation-only text
gives ``nlu_fallback`` with confidence 0 and an empty ranking. A message that is nothing but an
invitation code is ``provide_invite_code`` with confidence ≥ 0.95.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from nlu.classifier import CODE_TOKEN, TIME_TOKEN, IntentClassifier, load_nlu_dir, mask
from nlu.entities import Entity, extract_entities
from nlu.language import detect_language, fold

__all__ = ["FALLBACK", "MAX_CHARS", "NLU", "Entity", "Parse"]

FALLBACK = "nlu_fallback"
INVITE_INTENT = "provide_invite_code"
MAX_CHARS = 2000
RANKING_SIZE = 10
DEFAULT_THRESHOLD = 0.45
# Training texts are masked with times parsed relative to a fixed instant, so training is reproducible.
_TRAINING_NOW = datetime(2024, 1, 1, 9, 0)
_NOT_WORD = re.compile(r"[\W_]*")


@dataclass(frozen=True, slots=True)
class Parse:
    text: str
    language: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]  # best first, at most RANKING_SIZE
    entities: tuple[Entity, ...]

    def entity(self, name: str) -> Entity | None:
        """The first entity called ``name`` (in text order), if any."""
        return next((e for e in self.entities if e.entity == name), None)

    def to_rasa(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in self.ranking],
            "entities": [e.to_rasa() for e in self.entities],
            "language": self.language,
        }


class NLU:
    """Language detection, entity extraction and intent classification for one message at a time."""

    def __init__(
        self,
        *,
        classifier: IntentClassifier,
        tz: ZoneInfo,
        threshold: float = DEFAULT_THRESHOLD,
        default_language: str = "zh",
    ) -> None:
        self.classifier = classifier
        self.tz = tz
        self.threshold = threshold
        self.default_language = default_language

    @classmethod
    def load(
        cls,
        data_dir: Path,
        *,
        tz: ZoneInfo,
        threshold: float = DEFAULT_THRESHOLD,
        per_language: bool = False,
        default_language: str = "zh",
    ) -> NLU:
        """Train from ``data_dir/<language>/nlu.yml`` (``data_dir`` is ``content/nlu``)."""
        examples = load_nlu_dir(Path(data_dir))
        if not examples:
            raise FileNotFoundError(f"no <language>/nlu.yml training data under {data_dir}")
        now = _TRAINING_NOW.replace(tzinfo=tz)
        triples = []
        for ex in examples:
            folded = fold(ex.text)
            triples.append(
                (_masked(folded, extract_entities(ex.text, folded, now=now)), ex.intent, ex.language)
            )
        classifier = IntentClassifier.train(triples, per_language=per_language)
        return cls(classifier=classifier, tz=tz, threshold=threshold, default_language=default_language)

    def parse(self, text: str, *, now: datetime | None = None) -> Parse:
        """Parse one message. Never raises on odd input; only the first ``MAX_CHARS`` are looked at."""
        if now is None:
            now = datetime.now(self.tz)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=self.tz)
        head = text[:MAX_CHARS]
        language = detect_language(head, self.default_language)
        if _is_blank(head):
            return Parse(text, language, FALLBACK, 0.0, (), ())
        folded = fold(head)
        entities = extract_entities(head, folded, now=now)
        masked = _masked(folded, entities)
        ranking = self.classifier.rank(masked, language)
        codes = [e for e in entities if e.entity == "invite_code"]
        if codes and INVITE_INTENT in self.classifier.intents and _only_codes(folded, codes):
            ranking = _boost(ranking, INVITE_INTENT)
        ranking = ranking[:RANKING_SIZE]
        intent, confidence = ranking[0]
        unsure = confidence < self.threshold or (
            intent != INVITE_INTENT and not self.classifier.familiar(masked)
        )
        if unsure or any(e.entity == "number" for e in entities):
            intent, confidence = FALLBACK, max(self.threshold, confidence)
            ranking = [(intent, confidence), *ranking[: RANKING_SIZE - 1]]
        return Parse(text, language, intent, confidence, tuple(ranking), entities)


def _masked(folded: str, entities: tuple[Entity, ...]) -> str:
    # A date alone ("今天", "tomorrow") stays as words: "今天天气怎么样" is small talk, not a booking.
    spans = [
        (e.start, e.end, CODE_TOKEN if e.entity == "invite_code" else TIME_TOKEN)
        for e in entities
        if e.entity == "invite_code" or (e.entity == "time" and e.extra.get("grain") != "day")
    ]
    return mask(folded, spans)


def _is_blank(text: str) -> bool:
    """Empty, whitespace or punctuation only ("", "  ", "？？", "...")."""
    return all(c.isspace() or unicodedata.category(c).startswith("P") for c in text)


def _only_codes(folded: str, codes: list[Entity]) -> bool:
    rest = mask(folded, [(e.start, e.end, "") for e in codes])
    return _NOT_WORD.fullmatch(rest) is not None


def _boost(ranking: list[tuple[str, float]], intent: str) -> list[tuple[str, float]]:
    """Put ``intent`` first with confidence ≥ 0.95, keeping the others (scaled) as candidates."""
    boosted = [(n, 0.95 * (n == intent) + 0.05 * p) for n, p in ranking]
    return sorted(boosted, key=lambda item: -item[1])
