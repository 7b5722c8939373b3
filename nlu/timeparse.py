"""Find date / time-of-day expressions in Chinese and English chat messages.

Candidates book interview slots by writing things like "下周三下午两点", "后天下午3点半",
"tomorrow 10am" or "Friday 9:30".  :func:`find_times` returns every such expression,
left to right, resolved against ``now`` (timezone-aware, the bank's timezone).

How it works: a set of precompiled regexes yields *date* tokens and *time* tokens.  Every
token is then extended with an adjacent partner ("明天" + "上午9点", "3pm" + " tomorrow",
"tomorrow" + " morning" + " at 10") so that a date and a time written together become one
match.  Overlaps are resolved leftmost-longest.  Expressions that look like dates/times but are
impossible ("2月30日", "25点", "13:75") still take part in overlap resolution (so no
fragment of them matches) and are then dropped -- the function never raises on text.

Ambiguity rules (documented behaviour, covered by tests):

* Hour without am/pm or 上午/下午 ("10点", "at 10", "9:30", "half past 2") -- office-hours
  bias: 7-12 are taken as written (07:00-12:59), 1-6 as afternoon (13:00-18:59), 0 and
  13-23 literally.  A zero-padded clock time ("03:00") is taken literally.
* A time without a date is today if still in the future (strictly after ``now``), else
  tomorrow.  A date with a time is taken as written, even if already past.
* 周X / bare weekday: the upcoming occurrence, today included.  这周X/本周X/"this X": this
  calendar week (Monday start), even if past.  下周X/"next X"/"X next week": the weekday
  of the next calendar week; 下下周X: the week after that.  下周 / "next week" alone:
  Monday of next week (grain "day").  周末: Saturday.
* "X号"/"X日": this month if not yet past (today counts), otherwise next month.
  "12月3日" / "Dec 3" without a year: this year if not yet past, otherwise next year.
* Slash dates are month/day ("12/03") and only recognised away from CJK characters
  (slash forms are skipped in Chinese text); "1/2"-style forms with fewer than three
  digits are treated as fractions, not dates.
* 晚上12点 / "midnight" = 00:00 of the following day; 晚上1-4点 = early next morning;
  凌晨12点 = 00:00; 中午1点 = 13:00.
* "一点" without a period of day, minutes or a date is not a time ("早一点" = a bit
  earlier).  Lower-case "sat"/"sun"/"may" count only next to a time or with this/next/
  ordinal, since they are ordinary English words.
* grain is "minute" when minutes were written (":00", "半", "一刻", "15分"), else "hour".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["TimeMatch", "find_times"]


@dataclass(frozen=True, slots=True)
class TimeMatch:
    start: int  # char offset into the input text (inclusive)
    end: int  # char offset (exclusive); text[start:end] is the matched expression
    text: str
    value: datetime  # timezone-aware, in now.tzinfo
    grain: str  # "day" (date only, value at 00:00), "hour" or "minute"
    has_time: bool  # True if a time of day was given (grain hour/minute)


# --------------------------------------------------------------------------- internal tokens


@dataclass(slots=True)
class _Date:
    day: date | None  # None: looks like a date but is impossible
    period: str | None = None  # implied period of day ("tonight", 今晚)
    weak: bool = False  # only counts when combined with a time
    weekday: int | None = None  # bare English weekday: "Tuesday 3pm next week" may re-anchor it


@dataclass(slots=True)
class _Time:
    hour: int
    minute: int  # may be negative ("quarter to 4" = hour 4, minute -15)
    period: str | None = None  # "early" | "am" | "noon" | "pm" | "evening"
    ampm: str | None = None  # "a" | "p" when written explicitly in English
    exact: bool = False  # minutes were written
    literal: bool = False  # zero-padded 24h clock ("03:00")


@dataclass(slots=True)
class _Cand:
    start: int
    end: int
    date: _Date | None = None
    time: _Time | None = None
    period: str | None = None  # period word between date and time ("tomorrow morning at 10")


# --------------------------------------------------------------------------- vocabulary

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_NUMS = {
    w: i
    for i, w in enumerate(
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"],
        start=1,
    )
}
_PERIODS = {
    "凌晨": "early",
    "清晨": "am",
    "早上": "am",
    "早晨": "am",
    "上午": "am",
    "早": "am",
    "中午": "noon",
    "午后": "pm",
    "下午": "pm",
    "傍晚": "evening",
    "晚上": "evening",
    "夜里": "evening",
    "夜间": "evening",
    "晚间": "evening",
    "晚": "evening",
    "morning": "am",
    "afternoon": "pm",
    "evening": "evening",
    "night": "evening",
    "tonight": "evening",
}
_ZH_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_EN_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_EN_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_ZH_WEEK_PREFIX = {"这": "this", "這": "this", "本": "this", "下": "next", "下下": "next2", "上": "last"}

# Fullwidth ASCII (０-９, ：, ，, Ａ-Ｚ ...) and the ideographic space map 1:1 to ASCII,
# so offsets stay valid while the regexes only need to know ASCII forms.
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _int(s: str) -> int | None:
    """Arabic, Chinese (一..九十九, 两, 零五, 二〇二六) or English (one..twelve) number."""
    if s.isascii() and s.isdigit():
        return int(s)
    if s.lower() in _EN_NUMS:
        return _EN_NUMS[s.lower()]
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGITS.get(head) if head else 1
        ones = _CN_DIGITS.get(tail) if tail else 0
        return None if tens is None or ones is None else tens * 10 + ones
    digits = [_CN_DIGITS.get(c) for c in s]
    return None if not digits or None in digits else int("".join(map(str, digits)))


# --------------------------------------------------------------------------- regex fragments

_CN = "零〇一二两兩三四五六七八九十"
_NUM_ZH = rf"[0-9]{{1,2}}|[{_CN}]{{1,3}}"
_ENUM = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_ZH_PERIOD = "凌晨|清晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|夜里|夜间|晚间|早|晚"
_AMPM = r"(?P<ampm>[ap]m|[ap]\.m\.?)(?![A-Za-z0-9])"
_PSUF = (
    r"(?:\s{1,3}(?:in\s{1,3}the\s{1,3}(?P<psuf>morning|afternoon|evening)"
    r"|at\s{1,3}(?P<psuf2>night)|(?P<psuf3>tonight))(?![A-Za-z]))"
)
_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WD = (
    r"(?P<wd>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?"
    r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)(?![A-Za-z])"
)
# Words that may follow "at 10" for it to be a time ("at 10 tomorrow"), not "at 10 people".
_AT_FOLLOW = (
    r"(?=\s{0,3}(?:$|[^\sA-Za-z0-9%$]|(?:o'?clock|in|on|at|or|and|to|then|please|pls|if"
    r"|works?|sharp|is|would|will|ok|okay|for|tomorrow|tmrw?|today|tonight|next|this|"
    r"[a-z]*day|mon|tues?|wed|thu|thurs?|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug"
    r"|sept?|oct|nov|dec|[a-z]+(?:uary|ch|il|ust|ember|ober))(?![A-Za-z])))"
)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --------------------------------------------------------------------------- date resolution


def _ymd(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_day(today: date, mo: int, d: int, year: int | None = None) -> _Date:
    """Explicit month/day; without a year the next occurrence (this year or next)."""
    if year is not None:
        return _Date(_ymd(year, mo, d))
    day = _ymd(today.year, mo, d)
    if day is not None and day < today:
        day = _ymd(today.year + 1, mo, d)
    return _Date(day)


def _day_of_month(today: date, d: int, months_ahead: int | None = None) -> _Date:
    """ "3号": this month unless already past, then next month (or a fixed month offset)."""

    def shifted(n: int) -> date | None:
        y, m = divmod(today.month - 1 + n, 12)
        return _ymd(today.year + y, m + 1, d)

    if months_ahead is not None:
        return _Date(shifted(months_ahead))
    day = shifted(0)
    return _Date(day if day is not None and day >= today else shifted(1))


def _weekday(today: date, wd: int, mode: str) -> date:
    if mode == "upcoming":
        return today + timedelta(days=(wd - today.weekday()) % 7)
    weeks = {"this": 0, "next": 1, "next2": 2, "last": -1}[mode]
    return today - timedelta(days=today.weekday()) + timedelta(days=7 * weeks + wd)


# --------------------------------------------------------------------------- date rules

_DateHandler = Callable[[re.Match[str], date], _Date | None]

_ZH_REL_RX = _rx(
    r"(?<![然之最以随落背])(?P<rel>大后天|大後天|后天|後天|明天|明日|明晚|明早|今天|今日|今晚|今早|昨天|昨日|昨晚|前天)"
)
_ZH_REL = {
    "今天": (0, None),
    "今日": (0, None),
    "今晚": (0, "evening"),
    "今早": (0, "am"),
    "明天": (1, None),
    "明日": (1, None),
    "明晚": (1, "evening"),
    "明早": (1, "am"),
    "后天": (2, None),
    "後天": (2, None),
    "大后天": (3, None),
    "大後天": (3, None),
    # In the past, so that "昨天下午3点" is recognised (and refused as past) rather than read as "下午3点".
    "昨天": (-1, None),
    "昨日": (-1, None),
    "昨晚": (-1, "evening"),
    "前天": (-2, None),
}


def _zh_rel(m: re.Match[str], today: date) -> _Date:
    offset, period = _ZH_REL[m["rel"]]
    return _Date(today + timedelta(days=offset), period)


_ZH_WEEK_RX = _rx(
    r"(?<![一二两兩三四五六七八九十几幾每上下这這本个個0-9])"
    r"(?:(?P<pre>下下|下|这|這|本|上)(?:个|個)?\s?)?(?:周|週|星期|礼拜|禮拜)"
    r"(?P<wd>[一二三四五六日末]|天(?![气氣数數])|[1-7](?![0-9天次个個]))?"
)


def _zh_week(m: re.Match[str], today: date) -> _Date | None:
    mode = _ZH_WEEK_PREFIX.get(m["pre"] or "", "upcoming")
    wd = m["wd"]
    if wd is None:  # 下周 / 下下周 alone -> Monday of that week; 这周/周 alone is too vague
        nxt = m.string[m.end() : m.end() + 1]
        if mode not in ("next", "next2") or (nxt and nxt in "期刊报報"):
            return None
        return _Date(_weekday(today, 0, mode))
    idx = int(wd) - 1 if wd.isdigit() else _ZH_WEEKDAYS[wd]
    return _Date(_weekday(today, idx, mode))


_ZH_MD_RX = _rx(
    rf"(?:(?P<y>[0-9]{{4}}|[零〇一二三四五六七八九]{{4}})\s?年\s?)?(?<![0-9{_CN}])"
    rf"(?P<mo>{_NUM_ZH})\s?月\s?(?P<d>{_NUM_ZH})\s?(?:日|号|號)"
)


def _zh_md(m: re.Match[str], today: date) -> _Date:
    y = _int(m["y"]) if m["y"] else None
    mo, d = _int(m["mo"]), _int(m["d"])
    if mo is None or d is None:
        return _Date(None)
    return _month_day(today, mo, d, y)


_ZH_RELMONTH_RX = _rx(rf"(?P<rel>下个?月|下個月|本月|这个?月|這個?月)\s?(?P<d>{_NUM_ZH})\s?(?:日|号|號)")


def _zh_relmonth(m: re.Match[str], today: date) -> _Date:
    d = _int(m["d"])
    return _Date(None) if d is None else _day_of_month(today, d, 1 if m["rel"][0] == "下" else 0)


_ZH_DAY_RX = _rx(
    rf"(?<![0-9{_CN}第月周週期拜/.\-])(?P<d>{_NUM_ZH})(?:日|号|號)"
    r"(?![楼樓线線院室房口门門座层層栋棟位内內以间間游遊元])"
)


def _zh_day(m: re.Match[str], today: date) -> _Date:
    d = _int(m["d"])
    return _Date(None) if d is None else _day_of_month(today, d)


_ISO_RX = _rx(
    r"(?<![0-9A-Za-z\-/.])(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<mo>[0-9]{1,2})(?P=sep)"
    r"(?P<d>[0-9]{1,2})(?![0-9]|[-/.][0-9])"
)


def _iso(m: re.Match[str], today: date) -> _Date:
    return _Date(_ymd(int(m["y"]), int(m["mo"]), int(m["d"])))


_SLASH_RX = _rx(
    r"(?<![\w/.\-:])(?P<mo>[0-9]{1,2})/(?P<d>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?"
    r"(?![\w/\-:]|\.[0-9])"
)


def _slash(m: re.Match[str], today: date) -> _Date | None:
    if len(m["mo"]) + len(m["d"]) < 3:  # "1/2", "3/4": fractions or option lists
        return None
    y = m["y"] and int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    return _month_day(today, int(m["mo"]), int(m["d"]), y or None)


_EN_REL_RX = _rx(
    r"(?<![A-Za-z])(?P<rel>today|tonight|tomorrow|tomorow|tmrw|tmr|yesterday"
    r"|(?:the\s{1,3})?day\s{1,3}after\s{1,3}(?:tomorrow|tmrw?)"
    r"|this\s{1,3}(?:morning|afternoon|evening))(?![A-Za-z])"
)


def _en_rel(m: re.Match[str], today: date) -> _Date:
    rel = m["rel"].lower()
    if rel.startswith("this"):
        return _Date(today, _PERIODS[rel.split()[-1]])
    if rel == "tonight":
        return _Date(today, "evening")
    if rel == "today":
        return _Date(today)
    if rel == "yesterday":
        return _Date(today - timedelta(days=1))
    return _Date(today + timedelta(days=2 if "after" in rel else 1))


_EN_WEEKDAY_RX = _rx(
    rf"(?<![A-Za-z'])(?:(?P<pre>this\s{{1,3}}coming|this|next|coming|upcoming|last)\s{{1,3}})?{_WD}"
    r"(?:\s{1,3}(?P<post>(?:of\s{1,3})?(?:next|this)\s{1,3}week)(?![A-Za-z]))?"
)


def _en_weekday(m: re.Match[str], today: date) -> _Date:
    wd = _EN_WEEKDAYS[m["wd"][:3].lower()]
    pre = (m["pre"] or "").lower().split()
    post = (m["post"] or "").lower().split()
    if "next" in pre or "next" in post:
        mode = "next"
    elif pre == ["this"] or "this" in post:
        mode = "this"
    else:
        mode = "last" if pre == ["last"] else "upcoming"
    bare = not pre and not post
    weak = bare and m["wd"] in ("sat", "sun")
    return _Date(_weekday(today, wd, mode), weak=weak, weekday=wd if bare else None)


_EN_WEEK_RX = _rx(
    rf"(?<![A-Za-z])(?P<pre>next|this)\s{{1,3}}week(?![A-Za-z])"
    rf"(?:\s{{0,3}},?\s{{0,3}}(?:on\s{{1,3}})?{_WD})?"
)


def _en_week(m: re.Match[str], today: date) -> _Date | None:
    mode = m["pre"].lower()
    if m["wd"] is None:
        return _Date(_weekday(today, 0, "next")) if mode == "next" else None
    return _Date(_weekday(today, _EN_WEEKDAYS[m["wd"][:3].lower()], mode))


_EN_MD_RX = _rx(
    rf"(?<![A-Za-z]){_MONTH}\.?\s{{0,3}}(?:the\s{{1,3}})?(?P<d>[0-9]{{1,2}})"
    r"(?P<ord>st|nd|rd|th)?(?:,?\s{0,3}(?P<y>[0-9]{4}))?(?![A-Za-z0-9:])"
)
_EN_DM_RX = _rx(
    rf"(?<![A-Za-z0-9:./\-])(?:the\s{{1,3}})?(?P<d>[0-9]{{1,2}})(?P<ord>st|nd|rd|th)?"
    rf"\s{{0,3}}(?P<of>of\s{{1,3}})?{_MONTH}(?![A-Za-z])(?:,?\s{{0,3}}(?P<y>[0-9]{{4}}))?"
    r"(?![A-Za-z0-9])"
)


def _en_month_day(m: re.Match[str], today: date) -> _Date:
    d = _month_day(today, _EN_MONTHS[m["mon"][:3].lower()], int(m["d"]), int(m["y"]) if m["y"] else None)
    # "may" is also a verb: "option 3 may work", "you may 2 ..."
    d.weak = m["mon"] == "may" and not (m["ord"] or m["y"] or m.groupdict().get("of"))
    return d


_DATE_RULES: tuple[tuple[re.Pattern[str], _DateHandler], ...] = (
    (_ZH_REL_RX, _zh_rel),
    (_ZH_WEEK_RX, _zh_week),
    (_ZH_MD_RX, _zh_md),
    (_ZH_RELMONTH_RX, _zh_relmonth),
    (_ZH_DAY_RX, _zh_day),
    (_ISO_RX, _iso),
    (_SLASH_RX, _slash),
    (_EN_REL_RX, _en_rel),
    (_EN_WEEKDAY_RX, _en_weekday),
    (_EN_WEEK_RX, _en_week),
    (_EN_MD_RX, _en_month_day),
    (_EN_DM_RX, _en_month_day),
)

# --------------------------------------------------------------------------- time rules

_TimeHandler = Callable[[re.Match[str], bool], _Time | None]

_ZH_TIME_RX = _rx(
    rf"(?:(?P<period>{_ZH_PERIOD})\s{{0,2}})?(?<![第有这這那几幾.0-9{_CN}])(?P<h>{_NUM_ZH})\s?[点點时時]"
    r"(?P<zhong>钟|鐘)?(?:(?P<half>半)|(?P<q>[一三]刻)|(?P<m>[0-9]{1,2}(?=分)|[0-9]{2}"
    r"|[零〇][一二三四五六七八九]|[一二三四五]?十[一二三四五六七八九]?|[一二三四五六七八九](?=分))分?"
    r"|(?P<zheng>整))?(?![0-9零〇一二三四五六七八九])"
)


def _zh_time(m: re.Match[str], combined: bool) -> _Time | None:
    h = _int(m["h"])
    period = m["period"]
    if m["half"] or m["q"]:
        minute = 30 if m["half"] else (15 if m["q"][0] == "一" else 45)
    else:
        minute = _int(m["m"]) if m["m"] else 0
    exact = bool(m["half"] or m["q"] or m["m"])
    bare_one = m["h"] == "一" and not (exact or m["zhong"] or m["zheng"])
    if h is None or (bare_one and not combined and (period is None or len(period) < 2)):
        return None  # "早一点", "差一点", "一点点": "a little", not 1 o'clock
    return _Time(h, 99 if minute is None else minute, _PERIODS.get(period or ""), exact=exact)


def _suffix_period(m: re.Match[str]) -> str | None:
    g = m.groupdict()
    word = g.get("psuf") or g.get("psuf2") or g.get("psuf3")
    return _PERIODS[word.lower()] if word else None


def _ampm(m: re.Match[str]) -> str | None:
    return m["ampm"][0].lower() if m.groupdict().get("ampm") else None


_CLOCK_RX = _rx(
    rf"(?:(?P<period>{_ZH_PERIOD})\s{{0,2}})?(?<![0-9:.])(?<![A-SU-Za-su-z])(?P<h>[0-9]{{1,2}}):"
    rf"(?P<m>[0-9]{{2}})(?![0-9:]|\.[0-9])(?:\s{{0,2}}{_AMPM})?{_PSUF}?"
)


def _clock(m: re.Match[str], combined: bool) -> _Time:
    period = _PERIODS.get(m["period"] or "") or _suffix_period(m)
    literal = len(m["h"]) == 2 and m["h"][0] == "0"
    return _Time(int(m["h"]), int(m["m"]), period, _ampm(m), exact=True, literal=literal)


_AMPM_RX = _rx(rf"(?<![A-Za-z0-9:.])(?P<h>[0-9]{{1,2}}|{_ENUM})\s{{0,2}}{_AMPM}")
_AT_RX = _rx(
    rf"(?<![A-Za-z0-9])(?:at|@|around|about)\s{{0,3}}(?P<h>[0-9]{{1,2}})(?![0-9]|[:.][0-9])"
    rf"{_PSUF}?{_AT_FOLLOW}"
)
_OCLOCK_RX = _rx(
    rf"(?<![A-Za-z0-9:.])(?P<h>[0-9]{{1,2}}|{_ENUM})\s{{0,2}}o['’]?\s?clock(?![A-Za-z])"
    rf"(?:\s{{0,2}}{_AMPM})?{_PSUF}?"
)
_SUFFIXED_RX = _rx(rf"(?<![A-Za-z0-9:.])(?P<h>[0-9]{{1,2}}|{_ENUM}){_PSUF}")


def _hour_word(m: re.Match[str], combined: bool) -> _Time | None:
    h = _int(m["h"])
    return None if h is None else _Time(h, 0, _suffix_period(m), _ampm(m))


_FRACTION_RX = _rx(
    rf"(?<![A-Za-z])(?P<frac>half|quarter)\s{{1,3}}(?P<dir>past|after|to|before)"
    rf"\s{{1,3}}(?P<h>[0-9]{{1,2}}|{_ENUM})(?![A-Za-z0-9:])(?:\s{{0,2}}{_AMPM})?{_PSUF}?"
)


def _fraction(m: re.Match[str], combined: bool) -> _Time | None:
    h = _int(m["h"])
    half = m["frac"].lower() == "half"
    before = m["dir"].lower() in ("to", "before")
    if h is None or (half and before):
        return None
    minute = 30 if half else (-15 if before else 15)
    return _Time(h, minute, _suffix_period(m), _ampm(m), exact=True)


_NOON_RX = _rx(r"(?<![A-Za-z0-9])(?:12\s{0,2})?(?P<w>noon|midday|midnight)(?![A-Za-z])")


def _noon(m: re.Match[str], combined: bool) -> _Time:
    midnight = m["w"].lower() == "midnight"
    return _Time(0, 0, "evening") if midnight else _Time(12, 0, "noon")


_TIME_RULES: tuple[tuple[re.Pattern[str], _TimeHandler], ...] = (
    (_ZH_TIME_RX, _zh_time),
    (_CLOCK_RX, _clock),
    (_AMPM_RX, _hour_word),
    (_AT_RX, _hour_word),
    (_OCLOCK_RX, _hour_word),
    (_SUFFIXED_RX, _hour_word),
    (_FRACTION_RX, _fraction),
    (_NOON_RX, _noon),
)

# --------------------------------------------------------------------------- combination

_DATE_TIME_GAPS = (
    re.compile(r"\s{0,3}(?:,\s{0,3})?(?:的\s{0,2})?"),
    re.compile(r"\s{0,3}(?:,\s{0,3})?(?:at|@|around|about|by)\s{0,3}", re.IGNORECASE),
    re.compile(r"T"),
)
_TIME_DATE_GAPS = (
    re.compile(r"\s{0,3}(?:,\s{0,3})?"),
    re.compile(r"\s{0,3}(?:,\s{0,3})?(?:on|of)\s{1,3}", re.IGNORECASE),
)
_WEEK_AFTER_TIME = _rx(r"\s{1,3}(?:of\s{1,3})?(?P<pre>next|this)\s{1,3}week(?![A-Za-z])")
_PERIOD_AFTER_DATE = _rx(
    r"\s{0,2}(?:的\s{0,2})?(?:(?:in\s{1,3}the\s{1,3})?(?P<en>morning|afternoon"
    r"|evening|night)(?![A-Za-z])|(?P<zh>凌晨|清晨|早上|早晨|上午|中午|下午|傍晚"
    r"|晚上|夜里|夜间|晚间))"
)


def _time_at(text: str, pos: int) -> tuple[int, _Time] | None:
    """Longest time expression starting right after a date (after an optional connector)."""
    best: tuple[int, _Time] | None = None
    for gap in _DATE_TIME_GAPS:
        g = gap.match(text, pos)
        if g is None:
            continue
        for pattern, handler in _TIME_RULES:
            m = pattern.match(text, g.end())
            if m and (best is None or m.end() > best[0]) and (t := handler(m, True)):
                best = (m.end(), t)
    return best


def _date_at(text: str, pos: int, today: date) -> tuple[int, _Date] | None:
    best: tuple[int, _Date] | None = None
    for gap in _TIME_DATE_GAPS:
        g = gap.match(text, pos)
        if g is None:
            continue
        for pattern, handler in _DATE_RULES:
            m = pattern.match(text, g.end())
            if m and (best is None or m.end() > best[0]) and (d := handler(m, today)):
                best = (m.end(), d)
    return best


def _period_after(text: str, pos: int) -> tuple[int, str] | None:
    m = _PERIOD_AFTER_DATE.match(text, pos)
    return (m.end(), _PERIODS[(m["en"] or m["zh"]).lower()]) if m else None


def _extend(text: str, c: _Cand, today: date) -> list[_Cand]:
    """Combined candidates: date+time, date+period(+time), time+date(+period)."""
    out: list[_Cand] = []
    if c.time is None:
        if t := _time_at(text, c.end):
            out.append(_Cand(c.start, t[0], c.date, t[1]))
            wd = c.date.weekday if c.date is not None else None
            if wd is not None and (w := _WEEK_AFTER_TIME.match(text, t[0])):  # "Tuesday 3pm next week"
                out.append(_Cand(c.start, w.end(), _Date(_weekday(today, wd, w["pre"].lower())), t[1]))
        if p := _period_after(text, c.end):
            out.append(_Cand(c.start, p[0], c.date, period=p[1]))
            if t := _time_at(text, p[0]):
                out.append(_Cand(c.start, t[0], c.date, t[1], p[1]))
    elif d := _date_at(text, c.end, today):
        out.append(_Cand(c.start, d[0], d[1], c.time))
        if p := _period_after(text, d[0]):
            out.append(_Cand(c.start, p[0], d[1], c.time, p[1]))
    return out


# --------------------------------------------------------------------------- resolution


def _hour24(t: _Time, period: str | None) -> int | None:
    """Hour on the 0..28 scale (24+ = early next day), or None if impossible."""
    h = t.hour
    if t.minute > 59:
        return None
    if t.ampm:
        return h % 12 + (12 if t.ampm == "p" else 0) if 1 <= h <= 12 else None
    if h > 23:
        return None
    if h == 0:
        return 24 if period == "evening" else (0 if period in (None, "early", "am") else None)
    if h >= 13:
        return None if period in ("am", "early") else h
    if period is None:  # office-hours bias: 7..12 as written, 1..6 = afternoon
        return h if t.literal or h >= 7 else h + 12
    if period == "early":
        return h % 12
    if period == "am":
        return h
    if period == "noon":
        return h if h >= 11 else (h + 12 if h <= 3 else None)
    if period == "pm":
        return h if h == 12 else h + 12
    return 24 if h == 12 else (h + 24 if h <= 4 else h + 12)  # evening


def _resolve(c: _Cand, now: datetime) -> tuple[datetime, str] | None:
    if c.date is not None and c.date.day is None:
        return None
    day = c.date.day if c.date is not None else now.date()
    assert day is not None
    midnight = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
    if c.time is None:
        return midnight, "day"
    t = c.time
    hour = _hour24(t, t.period or c.period or (c.date.period if c.date else None))
    if hour is None:
        return None
    value = midnight + timedelta(hours=hour, minutes=t.minute)
    if c.date is None and value <= now:
        value += timedelta(days=1)
    return value, "minute" if t.exact else "hour"


def find_times(text: str, *, now: datetime) -> list[TimeMatch]:
    """All date/time expressions in text, left to right, non-overlapping, longest match wins.
    `now` is timezone-aware (the bank's timezone, e.g. Asia/Shanghai); relative expressions resolve against it."""
    if not text:
        return []
    norm = text.translate(_FULLWIDTH)
    today = now.date()
    cands: list[_Cand] = []
    for pattern, dhandler in _DATE_RULES:
        for m in pattern.finditer(norm):
            if (d := dhandler(m, today)) is not None:
                cands.append(_Cand(m.start(), m.end(), date=d))
    for pattern, thandler in _TIME_RULES:
        for m in pattern.finditer(norm):
            if (t := thandler(m, False)) is not None:
                cands.append(_Cand(m.start(), m.end(), time=t))
    cands += [x for c in cands for x in _extend(norm, c, today)]

    resolved = [
        (c, _resolve(c, now))
        for c in cands
        if not (c.time is None and c.period is None and c.date is not None and c.date.weak)
    ]
    # Leftmost-longest, like a regex scan: the earliest start wins, then the longest, then a
    # valid one.  Impossible expressions are selected too (so no fragment of them matches)
    # and only dropped from the result.
    resolved.sort(key=lambda cr: (cr[0].start, cr[0].start - cr[0].end, cr[1] is None))
    chosen: list[TimeMatch] = []
    taken_until = 0
    for c, res in resolved:
        if c.start < taken_until:
            continue
        taken_until = c.end
        if res is not None:
            value, grain = res
            chosen.append(TimeMatch(c.start, c.end, text[c.start : c.end], value, grain, grain != "day"))
    return chosen
