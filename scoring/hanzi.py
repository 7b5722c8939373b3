"""Traditional → simplified Chinese, character by character.

Whisper returns traditional characters for some Mandarin ("我會耐心傾聽"), while the rubric's synonyms
are simplified; matching is done on simplified text. Character-level (not phrase-level) conversion
keeps every offset, so evidence passages still point at the transcript as spoken. The table is
OpenCC's TSCharacters list (from opencc-python-reimplemented), first candidate of each entry.
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def _table() -> dict[int, str]:
    text = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        trad, _, simp = line.partition("\t")
        first = simp.split(" ")[0] if simp else ""
        if len(trad) == 1 and len(first) == 1 and trad != first:
            table[ord(trad)] = first
    return table


def to_simplified(text: str) -> str:
    """The same text with traditional characters replaced by simplified ones (same length)."""
    return text.translate(_table())
