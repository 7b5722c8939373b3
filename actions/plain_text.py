"""Text put into letters and messages: visible characters only, and the English month names."""

from __future__ import annotations

import re
import unicodedata

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SPACING_CONTROLS = frozenset("\t\n\r\v\f\x85")
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def visible_text(value: str) -> str:
    """Visible text only, for a name or title put into a letter or message: control, bidi-override and
    zero-width characters dropped (line breaks and tabs become spaces), whitespace runs collapsed."""
    kept = (
        " " if c in _SPACING_CONTROLS else c
        for c in value
        if c in _SPACING_CONTROLS or (unicodedata.category(c) not in ("Cc", "Cs") and not _INVISIBLE.match(c))
    )
    return " ".join("".join(kept).split())
