"""HR users' NLU: ``HrNLU.load(content/nlu/hr, tz=...)`` then ``hr.parse(text)`` → :class:`HrParse`.

HR staff query and act on candidates in chat ("张三现在什么状态", "remind all overdue", "/offer 1024
15k"). Their messages go through this parser; candidates keep the model in ``content/nlu``.

* **Intent**: the classifier of :class:`nlu.parse.NLU`, trained from ``content/nlu/hr/<lang>/nlu.yml``.
  Candidate names are replaced by one canonical training name before classification, so an unseen
  name is not mistaken for unfamiliar text. The training data has a hidden ``out_of_scope`` intent
  (chit-chat); it is reported as ``nlu_fallback``. A message that is nothing but a candidate reference
  ("1024", "张三", "#2048号") reads as ``hr_candidate_status`` (at least the fallback threshold).
* **Slash commands** (``/status 1024``, full-width ``／`` too, ``@botname`` suffix allowed) bypass the
  classifier: confidence 1.0 and ``slash=True``; an unknown command gives ``nlu_fallback``, confidence
  1.0, ``slash=True`` (the flow answers with ``/help``). Text of only punctuation, symbols or emoji
  is ``nlu_fallback`` with confidence 0, so "👍" never confirms a pending action.
* **Entities** are rules, not learned; precision over recall (the flow asks "which candidate?" when
  nothing is found). Text after a reason marker ("原因：", "because", "reason:") is only the ``reason``:
  no other entity is read from it.

Numbers: explicit ids ("#1024", "1024号", "编号1024", "id 1024", "候选人1024", "candidate 1024") are ids
whatever the intent. A bare number is read in order as part of a period ("最近30天", "Q3", "2026年10月"),
a salary ("15k", "1.5万", "15000元"), a time of day ("10点", "at 10", "3pm"), a score of an override
("改成75", "to 80"), then as an id -- but only for intents that take a candidate (funnel, bias and list
queries take none; there "2026" is a year). "N号" with N ≤ 31 is a day ("10号上午9点") unless the
message names no other candidate, then it is candidate N ("邀请8号 下周三下午3点").

Periods are inclusive calendar ranges resolved against ``now``: a month or quarter without a year is
the most recent one that has begun ("10月" in November 2026 is October 2026, in January it is the
previous October); "since X" runs to today; "最近30天" / "last 30 days" ends today and has 30 days.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import cn2an

from nlu.classifier import load_nlu_dir
from nlu.language import detect_language, fold
from nlu.parse import DEFAULT_THRESHOLD, FALLBACK, MAX_CHARS, NLU
from nlu.timeparse import TimeMatch, find_times
from storage import hr_queries

__all__ = [
    "FALLBACK",
    "INTENTS",
    "SLASH_COMMANDS",
    "STATES",
    "HrNLU",
    "HrParse",
    "position_code",
]

INTENTS = (
    "hr_candidate_status",
    "hr_list_candidates",
    "hr_remind_candidates",
    "hr_mark_priority",
    "hr_invite_next_round",
    "hr_reject_candidate",
    "hr_send_offer",
    "hr_candidate_report",
    "hr_override_score",
    "hr_funnel_stats",
    "hr_bias_audit",
    "hr_hired",
    "help",
    "affirm",
    "deny",
    "greet",
    "goodbye",
)
STATES = hr_queries.STATES  # the list filters HR can ask for, as the store lists them
SLASH_COMMANDS = {
    "status": "hr_candidate_status",
    "list": "hr_list_candidates",
    "remind": "hr_remind_candidates",
    "priority": "hr_mark_priority",
    "next": "hr_invite_next_round",
    "reject": "hr_reject_candidate",
    "offer": "hr_send_offer",
    "report": "hr_candidate_report",
    "override": "hr_override_score",
    "funnel": "hr_funnel_stats",
    "bias": "hr_bias_audit",
    "hired": "hr_hired",
    "help": "help",
}
OUT_OF_SCOPE = "out_of_scope"  # trained (chit-chat), reported as FALLBACK
STATUS = "hr_candidate_status"
LIST = "hr_list_candidates"
REMIND = "hr_remind_candidates"
PRIORITY = "hr_mark_priority"
NEXT_ROUND = "hr_invite_next_round"
OFFER = "hr_send_offer"
OVERRIDE = "hr_override_score"
# Intents whose bare numbers are candidate ids (explicit ids count everywhere).
_TAKES_CANDIDATE = frozenset(
    {
        STATUS,
        REMIND,
        PRIORITY,
        NEXT_ROUND,
        "hr_reject_candidate",
        OFFER,
        "hr_candidate_report",
        OVERRIDE,
        "hr_hired",
        "affirm",
        "deny",
        FALLBACK,
    }
)
_STATE_INTENTS = frozenset({LIST, REMIND, FALLBACK})
_YEAR_INTENTS = frozenset({LIST, "hr_funnel_stats", "hr_bias_audit"})
# Stand-ins for names when classifying: names that occur under many intents in the training data.
_ZH_STAND_IN = "张三"
_EN_STAND_IN = "Li Na"
_MIN_SALARY, _MAX_SALARY = 500, 1_000_000  # monthly CNY; outside is a misread, not a salary
_MAX_ID = 999_999_999

Span = tuple[int, int]
Period = tuple[date, date]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class HrParse:
    text: str
    language: str  # "zh" | "en"
    intent: str  # one of INTENTS, or "nlu_fallback"
    confidence: float
    candidate_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    position: str | None = None  # as written: "柜员", "TELLER", "Risk Analyst"; see position_code()
    states: tuple[str, ...] = ()  # list filters, from STATES
    period: Period | None = None  # inclusive
    all: bool = False
    negate: bool = False  # un-marking a priority
    score: float | None = None  # an override's new score, 0-100
    decision: str | None = None  # an override's new decision: next_round | reject | hold
    reason: str | None = None
    salary: int | None = None  # monthly CNY
    times: tuple[datetime, ...] = ()  # next-round slots, aware, in the bot's timezone
    slash: bool = False


# =========================================================================== small helpers


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _overlaps(spans: Iterable[Span], start: int, end: int) -> bool:
    return any(start < b and a < end for a, b in spans)


def _is_blank(text: str) -> bool:
    """Only spaces, punctuation, symbols or emoji: never an intent (a "👍" must not confirm an offer)."""
    return all(c.isspace() or unicodedata.category(c)[0] in "PSZC" for c in text)


def _dedupe(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


_EN_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
    "sixty": 60, "ninety": 90, "a": 1, "an": 1,
}  # fmt: skip


def _number(s: str) -> float | None:
    """Arabic ("15,000", "1.5"), Chinese ("一万五", "三十", "两") or small English numbers."""
    s = s.strip().replace(",", "")
    if not s:
        return None
    if s in _EN_NUMBER_WORDS:
        return float(_EN_NUMBER_WORDS[s])
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return float(cn2an.cn2an(s, "smart"))
    except Exception:  # cn2an raises ValueError and friends on anything it cannot read
        return None


# =========================================================================== periods

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ZH_N = r"(?:\d+|[零〇一二两三四五六七八九十百]+)"
_ZH_MONTH_N = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_EN_N = r"(?:\d+|" + "|".join(w for w in _EN_NUMBER_WORDS if len(w) > 2) + ")"


def _month_range(y: int, m: int) -> Period:
    nxt = date(y + m // 12, m % 12 + 1, 1)
    return date(y, m, 1), nxt - timedelta(days=1)


def _quarter_range(y: int, q: int) -> Period:
    return date(y, 3 * q - 2, 1), _month_range(y, 3 * q)[1]


def _year_range(y: int) -> Period:
    return date(y, 1, 1), date(y, 12, 31)


def _shift_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    last = _month_range(d.year + y, m + 1)[1].day
    return date(d.year + y, m + 1, min(d.day, last))


def _recent_year(today: date, month: int) -> int:
    """The year of the most recent month ``month`` that has begun."""
    return today.year if month <= today.month else today.year - 1


def _week(today: date, weeks_back: int) -> Period:
    monday = today - timedelta(days=today.weekday() + 7 * weeks_back)
    return monday, monday + timedelta(days=6)


def _quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def _relative(kind: str, back: int, today: date) -> Period:
    if kind == "week":
        return _week(today, back)
    if kind == "month":
        first = _shift_months(today.replace(day=1), -back)
        return _month_range(first.year, first.month)
    if kind == "quarter":
        first = _shift_months(date(today.year, 3 * _quarter_of(today) - 2, 1), -3 * back)
        return _quarter_range(first.year, _quarter_of(first))
    return _year_range(today.year - back)


def _last_n(n: float | None, unit: str, today: date) -> Period | None:
    if n is None or not 1 <= n <= 3650 or n != int(n):
        return None
    k = int(n)
    if unit in ("天", "日", "day"):
        start = today - timedelta(days=k - 1)
    elif unit in ("周", "星期", "礼拜", "week"):
        start = today - timedelta(days=7 * k - 1)
    elif unit in ("月", "month"):
        start = _shift_months(today, -k) + timedelta(days=1)
    else:
        start = _shift_months(today, -12 * k) + timedelta(days=1)
    return start, today


def _date_rx(p: str) -> str:
    return (
        rf"(?:(?P<{p}d1>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?(?P<{p}m1>{_MON})(?![a-z])\.?"
        rf"|(?P<{p}m2>{_MON})(?![a-z])\.?\s*(?P<{p}d2>\d{{1,2}})(?:st|nd|rd|th)?(?!\d))"
        rf"(?:\s*,?\s*(?P<{p}y>(?:19|20)\d{{2}})(?!\d))?"
        rf"|(?P<{p}iy>(?:19|20)\d{{2}})[-/.](?P<{p}im>\d{{1,2}})[-/.](?P<{p}id>\d{{1,2}})(?!\d)"
        rf"|(?:(?P<{p}zy>(?:19|20)\d{{2}})\s*年\s*)?(?P<{p}zm>\d{{1,2}})\s*月\s*(?P<{p}zd>\d{{1,2}})\s*[日号]?"
    )


def _date_from(m: re.Match[str], p: str, today: date) -> date | None:
    """A day written in ``m`` (groups prefixed ``p``); without a year, the most recent one up to today."""
    g = m.groupdict()
    year: str | None
    if g.get(p + "iy"):
        year, month, day = g[p + "iy"], int(g[p + "im"]), int(g[p + "id"])
    elif g.get(p + "zm"):
        year, month, day = g[p + "zy"], int(g[p + "zm"]), int(g[p + "zd"])
    else:
        mon = g.get(p + "m1") or g.get(p + "m2")
        if not mon:
            return None
        year, month, day = g[p + "y"], _MONTHS[mon[:3]], int(g.get(p + "d1") or g[p + "d2"])
    try:
        if year:
            return date(int(year), month, day)
        d = date(today.year, month, day)
        return d if d <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


_PeriodRule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Period | None]]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _p_range(m: re.Match[str], today: date) -> Period | None:
    a, b = _date_from(m, "a", today), _date_from(m, "b", today)
    if a is None or b is None:
        return None
    if b < a and not (m["by"] or m["biy"] or m["bzy"]):
        b = b.replace(year=b.year + 1) if (b.month, b.day) != (2, 29) else b
    return (a, b) if a <= b else None


def _p_since_date(m: re.Match[str], today: date) -> Period | None:
    d = _date_from(m, "a", today)
    return (d, today) if d is not None and d <= today else None


def _g(m: re.Match[str], *names: str) -> str | None:
    """The first of the alternative groups ``names`` that took part in the match."""
    return next((v for n in names if (v := m.groupdict().get(n))), None)


def _p_since_month(m: re.Match[str], today: date) -> Period | None:
    mon = _g(m, "mon")
    month = _MONTHS[mon[:3]] if mon else int(_number(_g(m, "zm") or "") or 0)
    if not 1 <= month <= 12:
        return None
    y = _g(m, "y")
    start = date(int(y) if y else _recent_year(today, month), month, 1)
    return (start, today) if start <= today else None


def _p_since_year(m: re.Match[str], today: date) -> Period | None:
    start = date(int(m["y"]), 1, 1)
    return (start, today) if start <= today else None


def _written_year(m: re.Match[str], today: date, *names: str) -> int | None:
    """A year written as digits (any of the groups ``names``) or as 今年 / 去年 (group ``ry``)."""
    if y := _g(m, *names):
        return int(y)
    rel = _g(m, "ry")
    return None if rel is None else today.year - (rel == "去年")


def _p_zh_month(m: re.Match[str], today: date) -> Period | None:
    month = int(_number(m["m"]) or 0)
    if not 1 <= month <= 12:
        return None
    year = _written_year(m, today, "y")
    return _month_range(year if year is not None else _recent_year(today, month), month)


def _p_en_month(m: re.Match[str], today: date) -> Period | None:
    if m["mon"] == "may" and not (m["pre"] or m["y"]):
        return None  # "may" is a verb
    month = _MONTHS[m["mon"][:3]]
    return _month_range(int(m["y"]) if m["y"] else _recent_year(today, month), month)


def _p_quarter(m: re.Match[str], today: date) -> Period | None:
    q = int(_number(_g(m, "q", "q2") or "") or 0)
    y = _written_year(m, today, "y", "y2", "y3")
    if not 1 <= q <= 4:
        return None
    if y is not None:
        return _quarter_range(y, q)
    return _quarter_range(today.year if q <= _quarter_of(today) else today.year - 1, q)


def _p_half(m: re.Match[str], today: date) -> Period:
    y = _written_year(m, today, "y", "y2")
    year = y if y is not None else today.year
    if _g(m, "h", "h2") in ("上", "1"):
        return date(year, 1, 1), date(year, 6, 30)
    return date(year, 7, 1), date(year, 12, 31)


def _p_year(m: re.Match[str], today: date) -> Period:
    return _year_range(int(_g(m, "y", "y2") or today.year))


_REL_WORDS = (
    ("week", 0, r"本周|这周|这个?星期|这个?礼拜|本星期|this\s+week|current\s+week"),
    ("week", 1, r"上周|上个?星期|上个?礼拜|last\s+week|previous\s+week"),
    ("month", 0, r"本月份?|这个?月|当月|this\s+month|current\s+month"),
    ("month", 1, r"上个?月份?|last\s+month|previous\s+month"),
    ("quarter", 0, r"本季度?|这个?季度|当季度?|this\s+quarter|current\s+quarter"),
    ("quarter", 1, r"上个?季度|上一季度?|上季|last\s+quarter|previous\s+quarter"),
    ("year", 0, r"今年|本年度?|this\s+year|current\s+year|year\s+to\s+date|ytd"),
    ("year", 1, r"去年|上一?年度|last\s+year|previous\s+year"),
)


def _p_relative(m: re.Match[str], today: date) -> Period:
    i = next(i for i in range(len(_REL_WORDS)) if m[f"r{i}"])
    kind, back, _ = _REL_WORDS[i]
    return _relative(kind, back, today)


def _p_last_n(m: re.Match[str], today: date) -> Period | None:
    n = _g(m, "n", "n2")
    unit = (_g(m, "u", "u2") or "").rstrip("s")
    return _last_n(_number(n) if n else 1.0, unit, today)


_SINCE_TAIL = r"(?:起|以来|开始|至今|到现在|到今天)"
_PERIOD_RULES: tuple[_PeriodRule, ...] = (
    (
        _rx(
            rf"(?:(?:from|between)\s+|从|自)?(?:{_date_rx('a')})\s*(?:-|–|—|~|to|until|till|through|and|到|至)\s*"
            rf"(?:{_date_rx('b')})"
        ),
        _p_range,
    ),
    (_rx(rf"(?<![a-z])since\s+(?:{_date_rx('a')})"), _p_since_date),
    (_rx(rf"(?:从|自)\s*(?:{_date_rx('a')})\s*{_SINCE_TAIL}?"), _p_since_date),
    (_rx(rf"(?:{_date_rx('a')})\s*(?:{_SINCE_TAIL}|之后|以后)"), _p_since_date),
    (
        _rx(rf"(?<![a-z])since\s+(?P<mon>{_MON})(?![a-z])\.?(?:\s*,?\s*(?P<y>(?:19|20)\d{{2}})(?!\d))?"),
        _p_since_month,
    ),
    (
        _rx(
            rf"(?:从|自)\s*(?:(?P<y>(?:19|20)\d{{2}})\s*年\s*)?(?P<zm>{_ZH_MONTH_N})\s*月份?"
            rf"(?!\s*\d)\s*{_SINCE_TAIL}?"
        ),
        _p_since_month,
    ),
    (_rx(r"(?<![a-z])since\s+(?P<y>(?:19|20)\d{2})(?!\d)"), _p_since_year),
    (
        _rx(
            rf"(?:(?:(?P<y>(?:19|20)\d{{2}})\s*年|(?P<ry>今年|去年))\s*(?:的\s*)?)?(?<![\d个])(?P<m>{_ZH_MONTH_N})\s*月份?"
            rf"(?!\s*(?:\d|[一二三四五六七八九十]))(?![日号底初中])"
        ),
        _p_zh_month,
    ),
    (
        _rx(
            rf"(?<![a-z0-9])(?P<pre>(?:in|for|during|of)\s+)?(?P<mon>{_MON})(?![a-z])\.?"
            rf"(?:\s*,?\s*(?P<y>(?:19|20)\d{{2}})(?!\d))?(?!\s*\d)"
        ),
        _p_en_month,
    ),
    (
        _rx(
            r"(?:(?:(?P<y>(?:19|20)\d{2})\s*年|(?P<ry>今年|去年))\s*(?:的\s*)?)?(?:第\s*)?(?P<q>[1-4一二三四])\s*季度"
            r"|(?<![a-z0-9])(?:(?P<y2>(?:19|20)\d{2})\s*(?:年\s*)?)?q(?P<q2>[1-4])(?![a-z0-9])"
            r"(?:\s*(?P<y3>(?:19|20)\d{2})(?!\d))?"
        ),
        _p_quarter,
    ),
    (
        _rx(
            r"(?:(?:(?P<y>(?:19|20)\d{2})\s*年|(?P<ry>今年|去年))\s*(?:的\s*)?)?(?P<h>上|下)半年"
            r"|(?<![a-z0-9])(?:(?P<y2>(?:19|20)\d{2})\s*)?h(?P<h2>[12])(?![a-z0-9])"
        ),
        _p_half,
    ),
    (
        _rx(
            "(?:"
            + "|".join(f"(?P<r{i}>{rx})" for i, (_, _, rx) in enumerate(_REL_WORDS))
            + r")(?![一二三四五六日天末1-7])"
        ),
        _p_relative,
    ),
    (
        _rx(
            rf"(?:最近|近|过去|前)\s*(?P<n>{_ZH_N})\s*(?:个)?\s*(?P<u>天|日|周|星期|礼拜|月|年)"
            rf"|(?<![a-z])(?:(?:in|over|during|for)\s+)?(?:the\s+)?(?:last|past|previous)\s+"
            rf"(?P<n2>{_EN_N}\s+)?(?P<u2>days?|weeks?|months?|years?)(?![a-z])"
        ),
        _p_last_n,
    ),
    (
        _rx(
            r"(?P<y>(?:19|20)\d{2})\s*(?:年度?|全年)(?!\s*\d{1,2}\s*月)"
            r"|(?<![a-z0-9])(?:in|for|during|of|year|fy)\s+(?P<y2>(?:19|20)\d{2})(?![\d年/.-])"
        ),
        _p_year,
    ),
)


def _find_periods(folded: str, today: date) -> list[tuple[int, int, Period | None]]:
    """Every period expression, leftmost-longest, non-overlapping; an impossible one has ``None``."""
    cands: list[tuple[int, int, Period | None]] = []
    for pattern, handler in _PERIOD_RULES:
        for m in pattern.finditer(folded):
            if m.end() <= m.start() or not folded[m.start() : m.end()].strip():
                continue
            try:
                value = handler(m, today)
            except (ValueError, OverflowError):
                value = None
            cands.append((m.start(), m.end(), value))
    cands.sort(key=lambda c: (c[0], c[0] - c[1], c[2] is None))
    out: list[tuple[int, int, Period | None]] = []
    until = 0
    for start, end, value in cands:
        if start >= until:
            out.append((start, end, value))
            until = end
    return out


def _valid_periods(folded: str, today: date) -> tuple[Period | None, list[Span]]:
    found = [(s, e, v) for s, e, v in _find_periods(folded, today) if v is not None]
    return (found[0][2] if found else None), [(s, e) for s, e, _ in found]


# =========================================================================== reason

_REASON = _rx(
    r"(?:原因|理由)\s*(?:是|为|如下)?\s*[:：]?|因为|由于"
    r"|(?<![a-z])(?:reasons?\s*(?:is|was|being)?\s*[:：-]?|because(?:\s+of)?|due\s+to)(?![a-z])"
)
_EDGE = " \t\r\n,，.。;；:：!！?？、-—–~"


def _split_reason(head: str, folded: str) -> tuple[int, str | None]:
    """``(end of the body, reason)``: the reason is what follows the first reason marker."""
    m = _REASON.search(folded)
    if m is None:
        return len(head), None
    return m.start(), head[m.end() :].strip(_EDGE) or None


# =========================================================================== salary

_SALARY = _rx(
    r"(?:(?<![a-z])(?P<pre>(?P<annual>年薪|年收入|年包|annual(?:\s+salary)?)|税前月薪|月薪|月工资|月收入|薪资|薪水"
    r"|薪酬|工资|待遇|底薪|每个?月|salary|pay|base|monthly)(?![a-z])\s*[:：=]?\s*(?:为|是|按|of|at|is)?\s*)?"
    r"(?P<cur0>[¥$]|rmb|cny)?\s*"
    r"(?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万点]*)"
    r"\s*(?P<unit>万|w(?![a-z])|千|k(?![a-z]))?"
    r"(?:\s*(?P<cur>元|块|rmb|cny|yuan)(?![a-z])(?!\s*\d))?"
    r"(?:\s*(?:/|每|一个|per|a|an)\s*(?P<per>月|年|month|mo|year|yr|annum)(?![a-z])"
    r"|\s*(?P<per2>monthly|annually|annual|p\.?a\.?)(?![a-z]))?"
)
_ZH_MULT = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000}


def _salary_value(m: re.Match[str]) -> int | None:
    n = _number(m["num"].replace("点", "."))
    if n is None:
        return None
    n *= _ZH_MULT.get(m["unit"] or "", 1)
    if (
        m["annual"]
        or (m["per"] or "") in ("年", "year", "yr", "annum")
        or m["per2"] in ("annually", "annual")
    ):
        n /= 12
    if m["per2"] and m["per2"].startswith("p"):
        n /= 12
    value = round(n)
    return value if _MIN_SALARY <= value <= _MAX_SALARY else None


def _find_salaries(
    folded: str, taken: list[Span], *, bare: bool = False
) -> list[tuple[int, int, int | None]]:
    """Money amounts ``(start, end, monthly CNY or None)``; without ``bare`` a marker is required
    (月薪 / salary / ¥ before, or 万 / k / 元 / "a month" after)."""
    out: list[tuple[int, int, int | None]] = []
    for m in _SALARY.finditer(folded):
        start = m.start("pre") if m["pre"] else m.start("num") if not m["cur0"] else m.start("cur0")
        if _overlaps(taken, start, m.end()) or _glued(folded, m.start("num"), m.end("num")):
            continue
        zh_numeral = not m["num"][0].isdigit()
        marked = bool(m["pre"] or m["cur0"] or m["unit"] or m["cur"] or m["per"] or m["per2"])
        if zh_numeral and not (m["pre"] or "万" in m["num"] or "千" in m["num"] or m["cur"]):
            continue
        if marked or bare:
            out.append((start, m.end(), _salary_value(m)))
    return out


def _glued(folded: str, start: int, end: int) -> bool:
    """A digit run that is part of a longer token ("k7m2", "v2.1", "id1024x")."""
    before = folded[start - 1] if start > 0 else " "
    after = folded[end] if end < len(folded) else " "
    return (before.isascii() and before.isalpha() and folded[start].isdigit()) or (
        after.isascii() and after.isalpha() and after not in "kw"
    )


# =========================================================================== override: score, decision

_ZH_SCORE_N = r"[零一二两三四五六七八九十百]+(?:点[零一二三四五六七八九]+)?"
_SCORE = _rx(
    r"(?:改成|改为|改到|调成|调为|调到|调整为|调整到|调整成|调高到|调低到|调高为|设为|设成|设置为|定为|覆盖为|覆盖成"
    r"|修改为|修正为|更正为|打为|打成|提到|提高到|降到|降低到|降为|改|为|成|到|[:：=])\s*"
    rf"(?P<n>\d+(?:\.\d+)?|{_ZH_SCORE_N}(?=\s*分))\s*分?(?![\d.]|\s*(?:万|千|元|块|k|号|%))"
    r"|(?<![a-z])(?:to|as|at|is|be|it|score|scored|scoring)\s*[:=]?\s*(?P<n2>\d+(?:\.\d+)?)"
    r"(?:\s*(?:points?|pts|/\s*100))?(?![\d.]|\s*(?:k|%|am|pm|:))"
    r"|(?P<n3>\d+(?:\.\d+)?)\s*(?:分(?![钟数之])|points?(?![a-z])|pts(?![a-z])|/\s*100)"
)
_OLD_SCORE = _rx(r"(?:从|由|(?<![a-z])from)\s*\d+(?:\.\d+)?\s*分?")
_DECISIONS = (
    (
        "reject",
        r"不通过|未通过|不进入?下一?轮|拒绝|婉拒|淘汰|不录用|(?<![a-z])(?:reject(?:ed)?|fail(?:ed)?|decline[d]?)(?![a-z])",
    ),
    (
        "next_round",
        r"下一轮|下轮|复试|二面|终面|晋级|改[为成判]?通过|(?<![a-z])(?:next[\s_-]*round|round\s*(?:2|two)|advance|proceed)(?![a-z])",
    ),
    ("hold", r"待定|暂缓|搁置|保留|观察|(?<![a-z])(?:on\s+hold|hold)(?![a-z])"),
)


def _find_score(folded: str, taken: list[Span]) -> tuple[float | None, bool, list[Span]]:
    """``(score, found, spans)``: the last new score written; out of 0-100 gives ``(None, True, ...)``."""
    spans = [m.span() for m in _OLD_SCORE.finditer(folded) if not _overlaps(taken, *m.span())]
    best: re.Match[str] | None = None
    for m in _SCORE.finditer(folded):
        group = next(g for g in ("n", "n2", "n3") if m[g])
        if not _overlaps(taken + spans, m.start(group), m.end(group)):
            best = m
    if best is None:
        return None, False, spans
    group = next(g for g in ("n", "n2", "n3") if best[g])
    value = _number(best[group])
    spans.append(best.span(group))
    return (value if value is not None and 0 <= value <= 100 else None), True, spans


def _find_decision(folded: str) -> str | None:
    for decision, pattern in _DECISIONS:
        if re.search(pattern, folded):
            return decision
    return None


# =========================================================================== candidate ids

_ID_EXPLICIT = _rx(
    r"#\s*(?P<a>\d{1,9})(?!\d)"
    r"|(?:编号|序号|候选人|应聘者|申请人|(?<![a-z])(?:id|no\.?|number|candidate|applicant|application)(?![a-z]))"
    r"\s*[#:：.]?\s*(?P<b>\d{1,9})(?![\d%]|[.,]\d|\s*(?:分|元|万|k|点|天|月|年|[:：]\d))"
    r"|(?<![\d月.])(?P<c>\d{1,9})\s*号(?P<who>\s*(?:候选人|应聘者))?(?![楼线院室房门座层栋位])"
)
_BARE_NUMBER = re.compile(
    r"(?<![A-Za-z0-9._/#$¥+\-])(?<!\d,)(?P<n>\d{1,9})(?![\d]|[.:]\d|,\d{3}(?!\d))"
    r"(?!\s*(?:%|分(?!数)|元|块|万|千|天|周|个|月|年|日|号|点|岁|人|次|名|位|轮|k(?![a-z])|w(?![a-z])"
    r"|st(?![a-z])|nd(?![a-z])|rd(?![a-z])|th(?![a-z])|am(?![a-z])|pm(?![a-z])))",
    re.IGNORECASE,
)
_NOT_ID_BEFORE = _rx(
    r"(?:(?<![a-z])(?:top|first|last|past|around|about|over|under|above|below)|前|第|排名|最近|近|高于|低于|超过)\s*$"
)


def _explicit_ids(
    folded: str, taken: list[Span]
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """``(ids, days)``: ids written as ids, and "N号" (N ≤ 31) that may be a day of the month."""
    ids: list[tuple[int, int, int]] = []
    days: list[tuple[int, int, int]] = []
    for m in _ID_EXPLICIT.finditer(folded):
        if _overlaps(taken, *m.span()):
            continue
        digits = m["a"] or m["b"] or m["c"]
        value = int(digits)
        if not 0 < value <= _MAX_ID:
            continue
        if m["c"] and value <= 31 and not m["who"]:
            days.append((m.start(), m.end(), value))
        else:
            ids.append((m.start(), m.end(), value))
    return ids, days


def _bare_numbers(folded: str, taken: list[Span]) -> list[tuple[int, int, int]]:
    out = []
    for m in _BARE_NUMBER.finditer(folded):
        if _overlaps(taken, *m.span()) or _NOT_ID_BEFORE.search(folded, max(0, m.start() - 8), m.start()):
            continue
        value = int(m["n"])
        if 0 < value <= _MAX_ID:
            out.append((m.start(), m.end(), value))
    return out


# =========================================================================== names

_ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋叶杜苏魏程吕丁沈任姚卢傅钟"
    "姜崔谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛闫阎雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤庞樊兰殷施洪翟颜"
    "倪牛葛伍鲁俞柳岳梅庄涂祁耿詹苗靳盛甄霍翁隋柯阮桂闵左卓蓝童凌邢裴毕欧温齐章聂焦"
)
_ZH_COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐",
    "端木", "南宫", "西门", "独孤", "轩辕", "呼延", "澹台", "公冶", "太史", "申屠", "闻人", "万俟", "钟离", "宗政",
    "濮阳", "淳于", "单于", "仲孙", "赫连", "拓跋", "东郭", "左丘", "司空", "百里",
)  # fmt: skip
# surname + next character that make an ordinary word, not a name ("周一", "马上", "雷达")
_ZH_SURNAME_WORDS = _words(
    "王国 王者 王牌 李子 张贴 张开 刘海 陈述 陈列 陈旧 黄金 黄色 周一 周二 周三 周四 周五 周六 周日 周天 周末 周期 周报 周年 周边 周围 周转 周到 周内 周刊 孙子 马上 马虎 马路 胡说 "
    "胡乱 何时 何地 何种 何况 何必 何处 何等 高分 高于 高的 高级 高二 高三 高管 高中 高校 高考 高兴 高层 高效 高度 高手 高优 高薪 高端 高质 高估 高峰 高达 高新 高些 高一 高出 罗列 郑重 谢谢 "
    "谢了 谢啦 谢绝 谢意 宋体 唐突 许多 许可 许久 韩国 曾经 曾用 萧条 田野 董事 叶子 杜绝 程序 程度 丁点 任何 任务 任职 任意 任命 任期 钟头 钟点 钟表 陆续 陆地 范围 范例 范本 金额 "
    "金融 金牌 金卡 金色 石头 夏天 夏季 方案 方面 方式 方法 方便 方向 方针 方可 方能 方才 白天 白色 白班 江湖 雷达 雷同 侯选 龙头 史上 黎明 贺卡 贺信 顾问 顾客 顾及 顾虑 毛病 毛利 "
    "万一 万元 万能 万分 钱包 严格 严重 严肃 严谨 武器 莫非 莫名 庞大 施工 施行 洪水 颜色 颜值 鲁莽 梅花 庄重 涂改 苗头 盛大 甄别 甄选 左边 左右 卓越 蓝色 童年 凌晨 凌乱 毕业 毕竟 "
    "欧洲 欧元 温馨 温度 温和 温暖 齐全 齐了 章程 焦点 焦虑 焦急 东方 司空 百里 上官"
)
# character before + surname that make a word ("本周", "最高", "关于")
_ZH_LEFT_WORDS = _words(
    "本周 上周 下周 每周 一周 两周 这周 几周 提高 最高 较高 很高 偏高 调高 太高 更高 升高 过高 身高 现金 奖金 资金 基金 薪金 黄金 关于 对于 由于 等于 高于 低于 大于 小于 位于 属于 "
    "在于 至于 终于 如何 任何 为何 流程 进程 过程 课程 日程 工程 章程 行程 全程 也许 允许 或许 少许 担任 责任 信任 主任 胜任 对方 双方 各方 地方 官方 一方 中文 英文 论文 原文 全文 "
    "正文 明白 空白 坦白 历史 照顾 回顾 不顾 兼顾 健康 祝贺 庆贺 恭贺 体温 气温 整齐 一齐 文章 规章 盖章 思路 道路 一路 线路 价钱 工钱 紧张 主张 扩张 夸张 行李 国王 感谢 多谢 致谢 "
    "不谢 东方 西方 南方 北方 比较 计较"
)
_ZH_HONORIFICS = (
    "经理", "老师", "总监", "总", "主任", "主管", "行长", "科长", "处长", "部长", "局长", "院长", "校长", "董事", "董",
    "工", "先生", "女士", "小姐", "同学", "师傅", "阿姨", "叔叔", "大姐", "大哥", "姐", "哥", "博士", "教授", "律师",
    "医生", "会计", "助理", "专员", "秘书", "总裁", "家", "氏",
)  # fmt: skip
# characters that are (almost) never part of a given name: particles, pronouns, verbs, numerals
_ZH_STOP = frozenset(
    "的了在是和与跟及也都还已被把给对发吗呢吧啊呀么哦嘛们这那有没要能会就才又再不很太最更说做去来到让请将从于为以或而"
    "个号岗位年日周点分元块次之其该各每某此哪谁啥怎什现目今昨后前上下里内外进入出标设改调加取移删撤看查问催提通告约"
    "邀拒淘录确报面交签接着过得地所并但即便因由等当比向同列置放升降拿开关找叫算按照写送推拉打走选用讲派排定减"
    "想带第零〇两百千万、，。！？：；（）「」“”‘’"
)
# words that may follow a name: a name's last character is never their first
_ZH_RIGHT_WORDS = (
    "现在", "目前", "最近", "今天", "明天", "后天", "昨天", "下周", "本周", "这周", "上周", "下午", "上午", "晚上",
    "中午", "早上", "已经", "确认", "入职", "报到", "到岗", "进展", "进度", "状态", "情况", "怎么", "什么", "面试",
    "材料", "申请", "同学", "候选", "分数", "得分", "评分", "报告", "雷达", "成绩", "结果", "通过", "安排", "可以",
    "还是", "还没", "没有", "是否", "一下", "上传", "预约", "参加", "进入", "晋级", "发送", "提醒", "标记", "设为",
    "改为", "改成", "完成", "置顶", "接受", "签约", "正式", "今日", "明日", "淘汰", "婉拒", "落选", "录用", "录取",
    "拒绝", "推进", "复试", "二面", "终面", "优先", "重点", "星标", "能力", "简历", "学历", "身份", "合同", "offer",
)  # fmt: skip
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_SURNAME_AT = re.compile(
    "(?:" + "|".join(_ZH_COMPOUND_SURNAMES) + "|[" + "".join(sorted(_ZH_SURNAMES)) + "])"
)
_QUOTED = re.compile(r"[「『“\"‘]\s*([^」』”\"’\n]{1,20}?)\s*[」』”\"’]")


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _given_ok(text: str, i: int) -> bool:
    """Whether ``text[i]`` can be a given-name character (not a particle, verb or the start of a word
    that usually follows a name)."""
    return (
        i < len(text)
        and _is_cjk(text[i])
        and text[i] not in _ZH_STOP
        and not text.startswith(_ZH_RIGHT_WORDS, i)
    )


def _name_ends(text: str, i: int) -> bool:
    """Whether a name may end right before ``text[i]``."""
    return (
        i >= len(text) or not _is_cjk(text[i]) or text[i] in _ZH_STOP or text.startswith(_ZH_RIGHT_WORDS, i)
    )


def _zh_name_at(text: str, m: re.Match[str], taken: list[Span]) -> tuple[int, int] | None:
    start, g1 = m.start(), m.end()
    before = text[start - 1] if start > 0 else ""
    if before and (before in "小老阿" or before.isdigit() or before in "零〇一二两三四五六七八九十百千万"):
        return None
    if before + text[start] in _ZH_LEFT_WORDS or text[start : g1 + 1] in _ZH_SURNAME_WORDS:
        return None
    if text.startswith(_ZH_HONORIFICS, g1) or not _given_ok(text, g1) or _overlaps(taken, g1, g1 + 1):
        return None
    if _given_ok(text, g1 + 1) and _name_ends(text, g1 + 2) and not _overlaps(taken, g1 + 1, g1 + 2):
        return start, g1 + 2
    return start, g1 + 1


def _zh_names(text: str, taken: list[Span]) -> list[tuple[int, int]]:
    """Chinese names: a 百家姓 surname and one or two given-name characters."""
    out: list[tuple[int, int]] = []
    pos = 0
    while (m := _ZH_SURNAME_AT.search(text, pos)) is not None:
        span = None if _overlaps(taken + out, m.start(), m.end()) else _zh_name_at(text, m, taken)
        if span is None:
            pos = m.start() + 1
            continue
        out.append(span)
        pos = span[1]
    return out


_EN_TOKEN = re.compile(r"(?<![A-Za-z0-9'’])(?:O'|Mc|Mac)?[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?(?![A-Za-z0-9])")
_EN_STOP = _words(
    "a an the this that these those it its i me my mine we us our you your he him his she her they them their "
    "who whom whose what which where when why how is are was were be been being am do does did done has have "
    "had can could would should will shall may might must please pls plz thanks thank sorry hi hello hey dear "
    "yes no ok okay sure also and or but so then now just any all every everyone everybody anyone someone "
    "each both mr mrs ms miss dr prof sir madam candidate candidates applicant applicants people person "
    "status list show remind nudge ping chase follow mark flag star unmark unflag unstar set make put take "
    "add remove drop clear cancel invite move advance schedule book bring send draft prepare issue extend "
    "offer offers reject decline turn fail let tell give get report reports radar transcript score scores "
    "override change update adjust bump lower raise correct revise funnel bias audit fairness hired hire help "
    "next round reason because due since from to until in on at for of by with about after before today "
    "tomorrow yesterday tonight morning afternoon evening week month year quarter monday tuesday wednesday "
    "thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun january february march april "
    "may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov "
    "dec bank teller tellers relationship manager managers risk analyst analysts rm hr pdf cv id q1 q2 q3 q4 "
    "yet still again not dont please priority pending overdue completed shortlisted shortlist rejected "
    "review approve confirm great good fine cool nice perfect right wrong well oh ah um hmm yeah yep nope nah"
)
_EN_SURNAMES = _words(
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song "
    "tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang ye du su wei cheng lyu lv ding shen "
    "ren yao lu fu zhong cui tan fan jin shi liao jia xia fang bai zou meng xiong qin qiu hou yin xue yan lei "
    "long duan qian tao mo kong ou ouyang situ shangguan zhuge murong"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？\n]\s*)$")


def _en_names(text: str, taken: list[Span], stop: frozenset[str]) -> list[tuple[int, int]]:
    """Runs of one to three capitalised words that are not command words, positions or dates."""
    runs: list[list[re.Match[str]]] = []
    for m in _EN_TOKEN.finditer(text):
        if m[0].lower() in stop or _overlaps(taken, *m.span()):
            runs.append([])
            continue
        if runs and runs[-1] and text[runs[-1][-1].end() : m.start()] == " ":
            runs[-1].append(m)
        else:
            runs.append([m])
    out: list[tuple[int, int]] = []
    for run in runs:
        if not 1 <= len(run) <= 3:
            continue
        lone = len(run) == 1 and _SENTENCE_START.search(text, 0, run[0].start())
        if lone and run[0][0].lower() not in _EN_SURNAMES:
            continue  # "Smith status": a capitalised first word is too often not a name
        out.append((run[0].start(), run[-1].end()))
    return out


def _quoted_names(text: str, taken: list[Span]) -> list[tuple[int, int]]:
    out = []
    for m in _QUOTED.finditer(text):
        inner = m[1]
        if re.search(r"[A-Za-z\u4e00-\u9fff]", inner) and not _overlaps(taken, *m.span(1)):
            out.append(m.span(1))
    return out


# =========================================================================== positions, states, flags

_POSITIONS = (
    ("TELLER", r"综合柜员|柜员|柜台|(?<![a-z])(?:bank\s+)?teller(?=s?(?![a-z]))"),
    ("RM", r"客户经理|(?<![a-z])(?:relationship\s+manager|rm)(?=s?(?![a-z]))"),
    ("RISK", r"风险管理岗|风险管理|风险岗|风控|(?<![a-z])(?:risk\s+analyst|risk)(?=s?(?![a-z]))"),
)
_POSITION_RX = _rx("|".join(f"(?P<{code}>{rx})" for code, rx in _POSITIONS))


def position_code(position: str | None) -> str | None:
    """The position code ("TELLER", "RM", "RISK") for a position as HR wrote it, or ``None``."""
    if not position:
        return None
    m = _POSITION_RX.search(fold(position))
    return m.lastgroup if m else None


def _find_position(folded: str, taken: list[Span]) -> tuple[int, int] | None:
    for m in _POSITION_RX.finditer(folded):
        if not _overlaps(taken, *m.span()):
            return m.span()
    return None


_W = r"(?<![a-z])"
_E = r"(?![a-z])"
_STATE_RULES: tuple[tuple[str | None, re.Pattern[str]], ...] = tuple(
    (state, _rx(rx))
    for state, rx in (
        (None, rf"未入职|没入职|还没入职|尚未入职|{_W}not\s+(?:yet\s+)?(?:hired|onboarded|joined){_E}"),
        (
            "pending",
            r"未完成|没完成|还没完成|尚未完成|没有完成|未面试|没面试|还没面试|没有面试|待面试|等面试|待处理|未开始|没开始"
            r"|还没开始|没约|未预约|没预约|还没约|进行中|流程中|在流程|还在等|在等"
            rf"|{_W}(?:pending|incomplete|outstanding|waiting|in\s+progress|open|yet\s+to){_E}"
            rf"|{_W}not\s+(?:yet\s+)?(?:completed|finished|interviewed|started|booked){_E}"
            rf"|{_W}(?:haven'?t|hasn'?t|have\s+not|has\s+not|didn'?t)\s+(?:yet\s+)?"
            rf"(?:interviewed|finished|completed|started|booked|done){_E}",
        ),
        (
            "overdue",
            r"逾期|超时|过期|超期|延误|拖延|超过截止|过了截止|错过"
            rf"|{_W}(?:overdue|late|expired|past\s+(?:the\s+)?deadline){_E}"
            rf"|{_W}missed\s+(?:the|their|his|her)\s+(?:deadline|interview){_E}",
        ),
        ("review", rf"复核|复审|人工审核|待审核|申诉|{_W}(?:reviews?|appeals?){_E}"),
        (
            "rejected",
            r"淘汰|被拒|拒绝|婉拒|不通过|未通过|没通过|没过|落选"
            rf"|{_W}(?:rejected|declined|turned\s+down|unsuccessful|rejections?){_E}",
        ),
        (
            "shortlisted",
            r"入围|短名单|过线|达标|超过了?门槛|高于门槛|高于分数线"
            rf"|{_W}(?:shortlist(?:ed)?|above\s+the\s+(?:threshold|cutoff|bar)|passed\s+the\s+(?:threshold|cutoff)){_E}",
        ),
        (
            "next_round",
            r"下一轮|下轮|复试|二面|终面|第二轮"
            rf"|{_W}(?:next[\s_-]+round|next_round|second\s+round|round\s+(?:2|two)|final\s+round){_E}",
        ),
        ("offer", rf"录用通知|录取通知|聘用通知|录用函|{_W}offers?{_E}"),
        ("hired", rf"入职|报到|到岗|{_W}(?:hired|onboarded|joined){_E}"),
        (
            "completed",
            r"已完成|完成了?(?:语音)?面试|面完|面试完|已面试|做完"
            rf"|{_W}(?:completed|finished|interviewed|done){_E}",
        ),
        (
            "priority",
            rf"重点|优先|星标|{_W}(?:priority|priorities|prioriti[sz]ed|flagged|starred|key\s+candidates?){_E}",
        ),
    )
)
_ALL = _rx(rf"所有|全部|全体|每个|每位|每一位|一键|批量|{_W}(?:all|everyone|everybody|every|bulk){_E}")
_ALL_WEAK = re.compile("都")  # "逾期的都催一遍"; but "张三和李四都…" names its candidates
_NEGATE = _rx(
    r"取消|去掉|撤销|撤掉|撤回|移除|移出|删除|删掉|拿掉|不再|不用|不要|不必|无需"
    rf"|{_W}(?:un-?(?:mark|flag|star|prioriti[sz]e)|deprioriti[sz]e|remove|no\s+longer|not\s+(?:a\s+)?priority"
    rf"|off|drop|clear|cancel|take|don'?t){_E}"
)


def _find_states(folded: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    masked = folded
    for state, pattern in _STATE_RULES:
        for m in pattern.finditer(masked):
            if state is not None:
                found.append((m.start(), state))
        masked = pattern.sub(lambda m: " " * len(m[0]), masked)
    return _dedupe(state for _, state in sorted(found))


# =========================================================================== slash commands

_SLASH = re.compile(r"\s*/(?P<cmd>[^\s/@]+)(?:@\S*)?(?P<args>.*)\Z", re.DOTALL)
_SLASH_ID = re.compile(
    r"(?:#|id\s*[:#]?\s*|no\.?\s*|编号\s*|候选人\s*)?(?P<n>\d{1,9})\s*号?(?=\s|$|[,，、])", re.I
)
_SLASH_TOKEN = re.compile(r"\S+")
_LATIN_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’.\-]*")
_SLASH_KEYWORDS = _words(
    "off on all everyone hold reject rejected fail next next_round nextround round because reason at by today "
    "tomorrow tonight this morning afternoon evening noon monday tuesday wednesday thursday friday saturday "
    "sunday mon tue tues wed thu thur thurs fri sat sun january february march april may june july august "
    "september october november december jan feb mar apr jun jul aug sep sept oct nov dec"
)
_OFF_WORDS = frozenset(
    {"off", "remove", "unset", "no", "false", "un", "unmark", "clear", "-", "取消", "关", "关闭", "去掉"}
)
_ALL_WORDS = frozenset({"all", "everyone", "everybody", "所有", "全部", "所有人", "全体"})
_DECISION_WORDS = {
    "next_round": "next_round", "next": "next_round", "nextround": "next_round", "next-round": "next_round",
    "advance": "next_round", "pass": "next_round", "下一轮": "next_round", "进入下一轮": "next_round",
    "复试": "next_round", "通过": "next_round", "reject": "reject", "rejected": "reject", "fail": "reject",
    "拒绝": "reject", "淘汰": "reject", "不通过": "reject", "婉拒": "reject", "hold": "hold", "on_hold": "hold",
    "onhold": "hold", "待定": "hold", "暂缓": "hold",
}  # fmt: skip
_LEADING_REASON = _rx(
    r"^\s*(?:(?:原因|理由)\s*(?:是|为)?\s*[:：]?|因为|由于|reasons?\s*[:：-]?|because(?:\s+of)?|due\s+to)\s*"
)
_SCORE_TOKEN = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:分|points?|pts|/100)?", re.I)


def _slash_ref(args: str) -> tuple[tuple[int, ...], tuple[str, ...], str]:
    """The candidate a slash command is about: ``(ids, names, rest of the arguments)``."""
    s = args.strip()
    if not s:
        return (), (), ""
    if m := _SLASH_ID.match(fold(s)):
        return (int(m["n"]),), (), s[m.end() :]
    if (m := _QUOTED.match(s)) and m[1].strip():
        return (), (m[1].strip(),), s[m.end() :]
    first = _SLASH_TOKEN.match(s)
    assert first is not None
    if _CJK.search(first[0]):
        return _slash_zh_ref(s, first)
    words: list[re.Match[str]] = []
    for token in _SLASH_TOKEN.finditer(s):
        bare = token[0].rstrip(",，")
        if len(words) == 3 or not _LATIN_NAME_TOKEN.fullmatch(bare) or bare.lower() in _SLASH_KEYWORDS:
            break
        words.append(token)
        if bare != token[0]:
            break
    if not words:
        return (), (), s
    return (), (s[words[0].start() : words[-1].end()].rstrip(",，"),), s[words[-1].end() :]


def _slash_zh_ref(s: str, first: re.Match[str]) -> tuple[tuple[int, ...], tuple[str, ...], str]:
    token = first[0].rstrip(",，、")
    if len(token) <= 4 or "·" in token:
        return (), (token,), s[first.end() :]
    found = _zh_names(token, [])
    if found and found[0][0] == 0:
        end = found[0][1]
        return (), (token[:end],), s[end:]
    return (), (token,), s[first.end() :]


def _reason_text(rest: str) -> str | None:
    return _LEADING_REASON.sub("", rest).strip(_EDGE) or None


# =========================================================================== the parser


@dataclass(slots=True)
class _Found:
    """Entities found so far in one message body, with the spans they use up."""

    taken: list[Span] = field(default_factory=list)
    ids: list[tuple[int, int, int]] = field(default_factory=list)
    names: list[tuple[int, int]] = field(default_factory=list)
    period: Period | None = None
    salary: int | None = None
    position: Span | None = None
    times: list[TimeMatch] = field(default_factory=list)
    days: list[tuple[int, int, int]] = field(default_factory=list)

    def take(self, spans: Iterable[Span]) -> None:
        self.taken.extend(spans)


class HrNLU:
    """Intent and entities of HR staff's messages (see the module docstring)."""

    def __init__(self, *, nlu: NLU, stop_words: frozenset[str], default_language: str = "zh") -> None:
        self.nlu = nlu
        self.stop_words = stop_words
        self.default_language = default_language

    @classmethod
    def load(cls, data_dir: Path, *, tz: ZoneInfo, default_language: str = "zh") -> HrNLU:
        """Train from ``data_dir/<language>/nlu.yml`` (``data_dir`` is ``content/nlu/hr``)."""
        data_dir = Path(data_dir)
        nlu = NLU.load(data_dir, tz=tz, default_language=default_language)
        # Lower-case words of the training data are vocabulary, so never names ("Mark", "Show", "Please").
        vocab = {
            w
            for ex in load_nlu_dir(data_dir)
            for w in re.findall(r"(?<![A-Za-z])[a-z]+(?![A-Za-z])", ex.text)
        }
        return cls(nlu=nlu, stop_words=_EN_STOP | frozenset(vocab), default_language=default_language)

    @property
    def tz(self) -> ZoneInfo:
        return self.nlu.tz

    def parse(self, text: str, *, now: datetime | None = None) -> HrParse:
        """Parse one message. Never raises on odd input; only the first ``MAX_CHARS`` are looked at."""
        if now is None:
            now = datetime.now(self.tz)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=self.tz)
        head = text[:MAX_CHARS]
        if _is_blank(head):
            return HrParse(text, detect_language(head, self.default_language), FALLBACK, 0.0)
        if (m := _SLASH.match(fold(head))) is not None:
            return self._slash(text, m["cmd"], head[m.start("args") :], now)
        return self._free_text(text, head, now)

    # ------------------------------------------------------------------------------- slash commands
    def _slash(self, text: str, cmd: str, args: str, now: datetime) -> HrParse:
        language = detect_language(args, self.default_language)
        intent = SLASH_COMMANDS.get(cmd.lower())
        if intent is None:
            return HrParse(text, language, FALLBACK, 1.0, slash=True)
        base = HrParse(text, language, intent, 1.0, slash=True)
        if intent in ("hr_list_candidates", "hr_funnel_stats", "hr_bias_audit"):
            return self._slash_query(base, args, now)
        if intent == REMIND and (group := self._slash_group(args)) is not None:
            return _replace(base, all=True, states=group)
        if intent == "help":
            return base
        ids, names, rest = _slash_ref(args)
        base = _replace(base, candidate_ids=ids, names=names)
        return self._slash_rest(base, rest, now)

    @staticmethod
    def _slash_group(args: str) -> tuple[str, ...] | None:
        """``/remind all [state]`` or ``/remind overdue``: the states of a group reminder, else ``None``."""
        first = args.split(maxsplit=1)
        if not first:
            return None
        states = _find_states(fold(args))
        return states if fold(first[0]) in _ALL_WORDS or _find_states(fold(first[0])) else None

    def _slash_query(self, base: HrParse, args: str, now: datetime) -> HrParse:
        folded = fold(args)
        period, spans = _valid_periods(folded, now.date())
        if period is None and (y := re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", folded)):
            period = _year_range(int(y[1]))
        pos = _find_position(folded, spans)
        states = _find_states(folded) if base.intent == LIST else ()
        return _replace(
            base,
            period=period,
            position=args[pos[0] : pos[1]] if pos else None,
            states=states,
            all=bool(_ALL.search(folded)),
        )

    def _slash_rest(self, base: HrParse, rest: str, now: datetime) -> HrParse:
        intent = base.intent
        tokens = rest.split()
        if intent == PRIORITY:
            return _replace(base, negate=any(t.lower() in _OFF_WORDS for t in tokens))
        if intent == NEXT_ROUND:
            times = tuple(t.value for t in _safe_times(rest, now))
            return _replace(base, times=times)
        if intent == OFFER:
            found = _find_salaries(fold(rest), [], bare=True)
            return _replace(base, salary=found[0][2] if found else None)
        if intent == OVERRIDE:
            return self._slash_override(base, rest)
        if intent == "hr_reject_candidate":
            return _replace(base, reason=_reason_text(rest))
        return base

    def _slash_override(self, base: HrParse, rest: str) -> HrParse:
        s = rest.strip()
        first = _SLASH_TOKEN.match(s)
        if first is None:
            return base
        word = fold(first[0]).rstrip(",，")
        if m := _SCORE_TOKEN.fullmatch(word):
            value = float(m["n"])
            score = value if 0 <= value <= 100 else None
            return _replace(base, score=score, reason=_reason_text(s[first.end() :]))
        if word in _DECISION_WORDS:
            return _replace(base, decision=_DECISION_WORDS[word], reason=_reason_text(s[first.end() :]))
        return _replace(base, reason=_reason_text(s))

    # ------------------------------------------------------------------------------- free text
    def _free_text(self, text: str, head: str, now: datetime) -> HrParse:
        language = detect_language(head, self.default_language)
        folded = fold(head)
        body_end, reason = _split_reason(head, folded)
        body, fbody = head[:body_end], folded[:body_end]
        found = self._entities(body, fbody, now)
        intent, confidence = self._classify(head, found.names)
        if intent != STATUS and _only_reference(fbody, found):
            intent, confidence = STATUS, max(DEFAULT_THRESHOLD, confidence if intent == STATUS else 0.0)
        parse = HrParse(
            text,
            language,
            intent,
            confidence,
            names=_dedupe(body[s:e].strip() for s, e in found.names),
            position=body[found.position[0] : found.position[1]] if found.position else None,
            period=found.period,
            salary=found.salary,
            reason=reason,
        )
        return self._by_intent(parse, fbody, found)

    def _entities(self, body: str, fbody: str, now: datetime) -> _Found:
        """Entities that do not depend on the intent, in an order where earlier readings win."""
        f = _Found()
        f.period, spans = _valid_periods(fbody, now.date())
        f.take(spans)
        salaries = _find_salaries(fbody, f.taken)
        f.take((s, e) for s, e, _ in salaries)
        f.salary = next((v for _, _, v in salaries if v is not None), None)
        f.ids, f.days = _explicit_ids(fbody, f.taken)
        f.take((s, e) for s, e, _ in f.ids)
        f.times = [t for t in _safe_times(body, now) if not _overlaps(f.taken, t.start, t.end)]
        f.take((t.start, t.end) for t in f.times)
        f.position = _find_position(fbody, f.taken)
        if f.position:
            f.take([f.position])
        f.names = _quoted_names(body, f.taken)
        f.take(f.names)
        f.names += _zh_names(body, f.taken)
        f.names += _en_names(body, f.taken + f.names, self.stop_words)
        f.names.sort()
        f.take(f.names)
        return f

    def _classify(self, head: str, names: list[Span]) -> tuple[str, float]:
        parts: list[str] = []
        pos = 0
        for start, end in names:
            parts += [head[pos:start], _ZH_STAND_IN if _CJK.search(head[start:end]) else _EN_STAND_IN]
            pos = end
        p = self.nlu.parse("".join(parts) + head[pos:])
        if p.intent == OUT_OF_SCOPE:
            return FALLBACK, p.confidence
        return p.intent, p.confidence

    def _by_intent(self, parse: HrParse, fbody: str, f: _Found) -> HrParse:
        """Entities whose reading depends on the intent: scores, bare numbers, states, times."""
        intent = parse.intent
        changes: dict[str, object] = {}
        score: float | None = None
        if intent == OVERRIDE:
            score, has_score, spans = _find_score(fbody, f.taken)
            f.take(spans)
            changes["decision"] = _find_decision(fbody)
        else:
            has_score = False
        ids = list(f.ids)
        self._day_or_id(f, ids)
        bare = _bare_numbers(fbody, f.taken)
        if intent in _YEAR_INTENTS and f.period is None:
            years = [b for b in bare if 1990 <= b[2] <= 2100]
            if years:
                changes["period"] = _year_range(years[0][2])
                bare = [b for b in bare if b is not years[0]]
        if intent == OFFER and parse.salary is None:
            bare, changes["salary"] = _salary_from_bare(fbody, bare, bool(ids or f.names))
        if intent == OVERRIDE and not has_score:
            bare, score = _score_from_bare(bare, bool(ids or f.names))
        if intent in _TAKES_CANDIDATE:
            ids += bare
        ids.sort()
        changes["candidate_ids"] = _dedupe(v for _, _, v in ids)
        changes["score"] = score
        if intent in _STATE_INTENTS:
            changes["states"] = _find_states(fbody)
        named = bool(changes["candidate_ids"] or f.names)
        changes["all"] = bool(_ALL.search(fbody) or (not named and _ALL_WEAK.search(fbody)))
        changes["negate"] = intent == PRIORITY and bool(_NEGATE.search(fbody))
        with_days = intent == NEXT_ROUND
        changes["times"] = tuple(t.value for t in f.times if t.has_time or with_days)
        return _replace(parse, **changes)

    @staticmethod
    def _day_or_id(f: _Found, ids: list[tuple[int, int, int]]) -> None:
        """ "N号" (N ≤ 31) is candidate N when the message names no other candidate, else a day."""
        if not f.days:
            return
        if ids or f.names:
            return
        ids.extend(f.days)
        f.take((s, e) for s, e, _ in f.days)
        f.times = [t for t in f.times if not _overlaps([(s, e) for s, e, _ in f.days], t.start, t.end)]


def _salary_from_bare(
    fbody: str, bare: list[tuple[int, int, int]], has_reference: bool
) -> tuple[list[tuple[int, int, int]], int | None]:
    """In an offer, a bare amount after "at"/"for"/"of", or the last of several numbers, is the salary."""
    for b in bare:
        if re.search(r"(?<![a-z])(?:at|of|with|salary|pay)\s*$", fbody[max(0, b[0] - 8) : b[0]]):
            return [x for x in bare if x is not b], _bounded_salary(b[2])
    plausible = [b for b in bare if 1000 <= b[2] <= _MAX_SALARY]
    if plausible and (has_reference or len(bare) >= 2):
        last = plausible[-1]
        return [x for x in bare if x is not last], last[2]
    return bare, None


def _bounded_salary(value: int) -> int | None:
    return value if _MIN_SALARY <= value <= _MAX_SALARY else None


def _score_from_bare(
    bare: list[tuple[int, int, int]], has_reference: bool
) -> tuple[list[tuple[int, int, int]], float | None]:
    """In an override without "改成 N" / "to N": the last small number once the candidate is known."""
    if bare and (has_reference or len(bare) >= 2):
        last = bare[-1]
        if last[2] <= 100 or len(bare) >= 2:
            return bare[:-1], float(last[2]) if last[2] <= 100 else None
    return bare, None


_REFERENCE_FILLER = _rx(
    r"[\s#号呢吗?？!！.。,，、:：~]|候选人|应聘者|编号|(?<![a-z])(?:candidate|id|no|status)(?![a-z])"
)


def _only_reference(fbody: str, f: _Found) -> bool:
    """Whether the message is nothing but candidate references ("1024", "张三", "#2048号")."""
    spans = (
        [(s, e) for s, e, _ in f.ids + f.days] + f.names + [m.span() for m in _BARE_NUMBER.finditer(fbody)]
    )
    if not spans:
        return False
    rest = "".join(" " if _overlaps(spans, i, i + 1) else c for i, c in enumerate(fbody))
    return not _REFERENCE_FILLER.sub("", rest)


def _safe_times(text: str, now: datetime) -> list[TimeMatch]:
    try:
        return find_times(text, now=now)
    except Exception:  # a time-parser bug must not take the whole message down
        return []


def _replace(parse: HrParse, **changes: Any) -> HrParse:
    return replace(parse, **changes)
