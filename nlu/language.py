"""Language detection and offset-preserving text folding.

Both helpers are deliberately tiny and dependency-free: they run on every inbound message.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["LANGUAGES", "detect_language", "fold"]

LANGUAGES = ("zh", "en")

# Han ideographs (basic, extension A, compatibility, extensions B+) plus kana, which only ever shows up
# here inside Chinese-speaking users' messages (emoticons, loanwords).
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# A Latin word is a run of letters; runs touching digits ("3pm", "K7M2") are codes or times, not words.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]+(?:'[A-Za-z]+)*(?![A-Za-z0-9])")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    n = unicodedata.normalize("NFKC", ch)
    if len(n) != 1:
        n = ch
    low = n.lower()
    return low if len(low) == 1 else n


def fold(text: str) -> str:
    """Lowercase and NFKC-fold (full-width → half-width) character by character.

    The result has exactly the same length as ``text``, so a span found in the folded text is the same
    span in the original; characters whose folded form would be longer or shorter are kept as they are.
    """
    if text.isascii():
        return text.lower()
    return "".join([c.lower() if c.isascii() else _fold_char(c) for c in text])


def detect_language(text: str, default: str = "zh") -> str:
    """Return ``"zh"`` or ``"en"`` for a chat message.

    Counts Chinese characters against Latin *words* (a Chinese character carries about as much as an
    English word), so "我想约 next Monday" is Chinese and "Can I talk to Mr 王?" is English. Ties go to
    Chinese; text with neither (digits, codes, punctuation, emoji) gives ``default``.
    """
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(fold(text)))
    if cjk == 0 and words == 0:
        return default
    return "zh" if cjk >= words else "en"
