"""Rule-based entity extraction: ``time``, ``invite_code`` and ``number`` (a pick from a list).

Entities are not learned: dates come from :mod:`nlu.timeparse`, codes and choices from the patterns
below. Spans always index the caller's original text (folding keeps offsets, see
:func:`nlu.language.fold`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from nlu.timeparse import TimeMatch, find_times

__all__ = ["Entity", "extract_entities", "find_choice", "find_invite_codes"]

_log = logging.getLogger(__name__)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity in Rasa's shape; ``extra`` holds additional keys (``grain`` for times)."""

    entity: str
    value: Any
    start: int
    end: int
    extractor: str
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def to_rasa(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "extractor": self.extractor,
        }
        out.update(self.extra)
        return out


# --- invitation codes ------------------------------------------------------------------------------
# Alphabet ABCDEFGHJKMNPQRSTUVWXYZ23456789 (no I, L, O, 0, 1), matched on folded (lowercase) text.
_C = "[a-hjkmnp-z2-9]"
_DASH = "[-\u2010-\u2015_]"
# Not inside a longer alphanumeric run, a dashed serial, an e-mail address or a URL path.
_INVITE = re.compile(
    rf"(?<![a-z0-9@/])(?<![a-z0-9]{_DASH})(?<![a-z0-9][.@])"
    rf"(?P<a>{_C}{{4}})(?P<sep>{_DASH}| )?(?P<b>{_C}{{4}})"
    rf"(?![a-z0-9])(?![-\u2010-\u2015_.@/][a-z0-9])"
)
_DIGIT = re.compile("[2-9]")
_LETTER = re.compile("[a-z]")


def find_invite_codes(folded: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, CODE)`` for each invitation code in already-folded text.

    A code has a letter and a digit (so "schedule" or "2345-6789" are not codes); when its halves are
    separated by a space rather than a dash, each half must hold a digit ("CASE 2345" is not a code).
    """
    found: list[tuple[int, int, str]] = []
    for m in _INVITE.finditer(folded):
        a, b, sep = m.group("a"), m.group("b"), m.group("sep")
        code = a + b
        if not (_DIGIT.search(code) and _LETTER.search(code)):
            continue
        if sep == " " and not (_DIGIT.search(a) and _DIGIT.search(b)):
            continue
        found.append((m.start(), m.end(), code.upper()))
    return found


# --- choices ("2", "第二个", "option 3", "the second one") ------------------------------------------
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip

_ZH_NUM = "(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_ZH_CHOICE = re.compile(
    r"(?:我|那|那就|就|那我|我就|那我就)?(?P<verb>选择|选定|选|要|挑|定|订)?"
    rf"(?P<mark>选项|方案|第|序号|编号)?\s*(?P<n>{_ZH_NUM})\s*(?P<unit>个|项|种|场|档|条|个选项|个时间|个时段)?"
    r"(?:吧|呢|啊|呀|哈|了|好了|就好|就行|就可以|可以|谢谢)*"
)
_EN_WORD_NUM = "|".join(_EN_NUMBERS)
_EN_ORD = "|".join(_EN_ORDINALS)
_EN_CHOICE = re.compile(
    r"(?:(?:ok|okay|ok,|okay,|then|hmm|um)\s+)?"
    r"(?:(?:i'?ll|i will|i'd|i would|i|let'?s|lets|let me|can i|could i)\s+)?"
    r"(?:(?:like|want|take|choose|pick|go\s+with|select|have|do|book)\s+)?"
    r"(?:(?:the|number|no\.|#|option|choice|slot|item)\s*)*"
    rf"(?P<n>[0-9]{{1,2}}(?:st|nd|rd|th)?|{_EN_ORD}|{_EN_WORD_NUM})"
    r"(?:\s*(?:one|option|choice|slot|please|pls|plz|thanks|thank you|then|is fine|works|is good))*"
)
_MAX_BARE_CHOICE = 20
_EDGE = " \t\r\n.。!！,，~～?？:：;；)）(（'\"“”"


def _zh_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if s in _ZH_DIGITS:
        return _ZH_DIGITS[s]
    if s == "十":
        return 10
    if len(s) == 2 and s[0] == "十" and s[1] in _ZH_DIGITS:
        return 10 + _ZH_DIGITS[s[1]]
    if len(s) == 2 and s[1] == "十" and s[0] in _ZH_DIGITS:
        return 10 * _ZH_DIGITS[s[0]]
    if len(s) == 3 and s[1] == "十" and s[0] in _ZH_DIGITS and s[2] in _ZH_DIGITS:
        return 10 * _ZH_DIGITS[s[0]] + _ZH_DIGITS[s[2]]
    return None


def _en_number(s: str) -> int | None:
    if s in _EN_ORDINALS:
        return _EN_ORDINALS[s]
    if s in _EN_NUMBERS:
        return _EN_NUMBERS[s]
    digits = s.rstrip("stndrh")
    return int(digits) if digits.isdigit() else None


def find_choice(folded: str) -> tuple[int, int, int] | None:
    """Return ``(start, end, value)`` when the whole message is a pick from a list, else ``None``.

    Only a message that *is* a choice counts: "2", "选3", "第二个吧", "option 2", "the second one",
    "I'll take 3" — not "I have 3 years". Values are 1-based; a bare number counts only up to 20
    ("88" is Chinese chat for bye-bye).
    """
    lead = len(folded) - len(folded.lstrip(_EDGE))
    body = folded.strip(_EDGE)
    if not body or len(body) > 40:
        return None
    m = _ZH_CHOICE.fullmatch(body)
    if m:
        # "三个" / "两个" mean a count; without 第/选/选项 only a bare numeral is a pick.
        if m.group("unit") and not (m.group("mark") or m.group("verb")):
            return None
        value = _zh_number(m.group("n"))
    else:
        m = _EN_CHOICE.fullmatch(body)
        if not m:
            return None
        value = _en_number(m.group("n"))
    bare = m.group("n") == body
    # A bare number above the length of any sensible option list is something else ("88" = bye).
    if value is None or not 1 <= value <= (_MAX_BARE_CHOICE if bare else 99):
        return None
    return lead + m.start("n"), lead + m.end("n"), value


# --- all together -----------------------------------------------------------------------------------
def extract_entities(text: str, folded: str, *, now: datetime) -> tuple[Entity, ...]:
    """Extract all entities from ``text`` (``folded`` is ``fold(text)``), sorted by position.

    Times that overlap an invitation code or a choice are dropped: "K7M2-9QXP" is not a date, and a
    message that is a pick ("2", "第三个") means the option, not two o'clock.
    """
    entities: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for start, end, code in find_invite_codes(folded):
        entities.append(Entity("invite_code", code, start, end, "regex"))
        taken.append((start, end))
    choice = find_choice(folded) if not entities else None
    if choice is not None:
        start, end, value = choice
        entities.append(Entity("number", value, start, end, "regex"))
        taken.append((start, end))
    for tm in _times(text, now):
        if any(tm.start < e and s < tm.end for s, e in taken):
            continue
        extra = MappingProxyType({"grain": tm.grain})
        entities.append(Entity("time", tm.value.isoformat(), tm.start, tm.end, "timeparse", extra))
    entities.sort(key=lambda e: (e.start, e.end))
    return tuple(entities)


def _times(text: str, now: datetime) -> list[TimeMatch]:
    try:
        return find_times(text, now=now)
    except Exception:  # a parser bug must not take the whole message down
        _log.exception("find_times failed on %r", text[:200])
        return []
