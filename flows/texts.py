"""The message catalog (content/messages.yml) and the way times are written in each language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("zh", "en")
_WEEKDAY_ZH = "一二三四五六日"
_WEEKDAY_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Catalog:
    messages: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        """``messages.yml`` and its siblings ``messages.<part>.yml`` (HR, employees) as one catalog."""
        data: dict[str, Any] = {}
        for p in [path, *sorted(path.parent.glob(f"{path.stem}.*{path.suffix}"))]:
            with open(p, encoding="utf-8") as f:
                part = yaml.safe_load(f) or {}
            clash = set(part) & set(data)
            if clash:
                raise ValueError(f"{p.name} repeats messages {sorted(clash)[:5]}")
            data.update(part)
        for key, texts in data.items():
            missing = set(LANGUAGES) - set(texts)
            if missing:
                raise ValueError(f"message {key!r} lacks {sorted(missing)}")
        return cls(data)

    def t(self, lang: str, key: str, **kw: Any) -> str:
        texts = self.messages[key]
        text = texts.get(lang) or texts["zh"]
        return text.format(**kw) if kw else text


def fmt_day(d: date, lang: str) -> str:
    if lang == "zh":
        return f"{d.month}月{d.day}日（周{_WEEKDAY_ZH[d.weekday()]}）"
    return f"{_WEEKDAY_EN[d.weekday()]} {d.day} {_MONTH_EN[d.month - 1]}"


def fmt_when(dt: datetime, lang: str) -> str:
    """A slot time as people read it: 12月2日（周三）14:00 / Wed 2 Dec, 14:00."""
    sep = "" if lang == "zh" else ", "
    return f"{fmt_day(dt.date(), lang)}{sep}{dt:%H:%M}"
