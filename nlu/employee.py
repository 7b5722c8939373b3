"""Employee NLU: ``EmployeeNLU.load(content/nlu/employee, tz=...)`` then ``parse(text)`` → :class:`EmployeeParse`.

New hires and staff talk to the same bot as candidates but about other things (onboarding, courses,
promotion, leave, payslips), so their messages go through a separate intent model trained from
``content/nlu/employee/<lang>/nlu.yml``. Classification, language detection, the fallback rules and the
"pick from a list" number are :class:`nlu.parse.NLU`'s, unchanged: the intent is ``nlu_fallback`` for
unsure or unfamiliar text and for a message that is only a pick ("2", "第二个"), which then carries
``number``.

The slots are filled by rules, independently of the intent (a misclassified "不对，专业应该是金融学"
still carries ``field``/``value``); each flow reads only the slots it needs. All values are the text as
written (sliced from the original message) or plain numbers; resolving a course or position name
against the catalogue is the flow's job. What the rules understand:

* ``indicator`` -- one of the eight ability keys of ``scoring.questions.INDICATORS``, from words such
  as 沟通/表达/演讲/communication/presentation (communication), 风险/合规/risk/compliance (risk),
  金融/理财/finance (finance), 客户/服务/customer/client (customer) ...; the earliest mention wins.
  Words inside the position or the profile value never count ("晋升客户经理" is not about customer
  orientation, "专业改成金融学" not about finance); words inside the course name only when nothing
  else does.
* ``course`` -- the first name in 《…》, “…”, "…", 「…」; else the words after 报名/选修/报/enroll in/
  sign me up for; else "the … course" / "…课程学完了". Generic words ("这门课", "the next course",
  "the second one") are not names.
* ``position`` -- a job title: a known head noun (柜员, 经理, 行长, 分析师, 岗 …; teller, manager,
  analyst, RM …) with its modifiers (高级, 支行, 风险管理 …; senior, relationship, branch …). The last
  one wins: "从柜员到客户经理" → 客户经理.
* ``chapter`` -- "第3章", "第三节", "前三章", "学了两章", "chapter 2", "module three", "the third
  chapter"; the last 第…章 wins.
* ``percent`` -- "80%", "百分之八十", "八成", "三分之二" (67), "一半", "进度80", "80 percent", "eighty
  percent", "halfway", "three quarters". Not clamped: "120%" is 120 and "-5%" is -5, for the flow to
  refuse politely (only absurd Chinese numerals of 10,000 and more are dropped).
* ``completed`` -- the whole course is done: 学完/完成/结课/finished/completed/done …, not negated
  ("还没学完", "not finished"), not a question ("学完了吗"), and not about a chapter ("完成了第3章" is
  chapter 3), a partial percent ("学完一半") or a profile edit ("I finished a master's").
* ``field`` / ``value`` -- the onboarding-form field (name, school, major, degree, experience, phone,
  email) and its corrected value: "专业应该是金融学", "学校改成复旦大学", "不是X，是Y", "change my degree
  to master", "it should be finance", "use x@y.com instead". A field is reported only with a value, an
  editing word (改/错/更新/wrong/change/update …) or the ``update_profile_field`` intent; a value only
  with a field or that intent. Without a field word the field is guessed from the value (an e-mail
  address, a phone number, a degree, a school name).
* ``month`` -- ``(year, month)`` for a payslip: 这个月/上个月/上上个月, "10月", "十月份", "2024年9月",
  "去年12月", "this month", "last month", "two months ago", "October", "Oct 2024", "2024-10". A month
  without a year is the latest one not in the future (in March, "十月" is last October).
* ``number`` -- a pick from a list: the base NLU's whole-message pick, or "第二个", "第三门课", "the
  second one", "number 2", "option 3", "course 2" inside a longer message.

``parse`` never raises on odd input; like :class:`NLU` it only looks at the first ``MAX_CHARS``
characters, and a bug in a slot rule costs that message its slots, not its intent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cn2an

from nlu.language import fold
from nlu.parse import DEFAULT_THRESHOLD, MAX_CHARS, NLU, Parse

__all__ = ["FIELDS", "INDICATOR_KEYS", "EmployeeNLU", "EmployeeParse"]

_log = logging.getLogger(__name__)

# Same keys and order as scoring.questions.INDICATORS (checked by the tests; not imported, so the NLU
# does not depend on the scoring package).
INDICATOR_KEYS: tuple[str, ...] = (
    "communication",
    "logic",
    "numeracy",
    "risk",
    "composure",
    "learning",
    "finance",
    "customer",
)
FIELDS: tuple[str, ...] = ("name", "school", "major", "degree", "experience", "phone", "email")
UPDATE_INTENT = "update_profile_field"


@dataclass(frozen=True, slots=True)
class EmployeeParse:
    text: str
    language: str
    intent: str
    confidence: float
    indicator: str | None  # one of INDICATOR_KEYS
    course: str | None  # a course name as written; the flow resolves it
    position: str | None  # a target position as written ("客户经理", "senior teller")
    chapter: int | None
    percent: int | None  # may exceed 100 ("120%"); the flow refuses it politely
    completed: bool  # the whole course is finished
    field: str | None  # one of FIELDS
    value: str | None  # the new value of ``field`` as written
    month: tuple[int, int] | None  # (year, month), for payslips
    number: int | None  # a pick from a list, 1-based


class EmployeeNLU:
    """The employees' intent model (a plain :class:`NLU`) plus rule-based slot filling."""

    def __init__(self, nlu: NLU) -> None:
        self.nlu = nlu

    @classmethod
    def load(
        cls,
        data_dir: Path,
        *,
        tz: ZoneInfo,
        default_language: str = "zh",
        threshold: float = DEFAULT_THRESHOLD,
    ) -> EmployeeNLU:
        """Train from ``data_dir/<language>/nlu.yml`` (``data_dir`` is ``content/nlu/employee``)."""
        return cls(NLU.load(Path(data_dir), tz=tz, threshold=threshold, default_language=default_language))

    @property
    def intents(self) -> tuple[str, ...]:
        return self.nlu.classifier.intents

    def parse(self, text: str, *, now: datetime | None = None) -> EmployeeParse:
        """Parse one message. Never raises on odd input."""
        if now is None:
            now = datetime.now(self.nlu.tz)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=self.nlu.tz)
        base = self.nlu.parse(text, now=now)
        try:
            slots = _slots(text[:MAX_CHARS], base, now)
        except Exception:  # a slot-rule bug must not take the whole message down
            _log.exception("employee slot extraction failed on %r", text[:200])
            slots = _Slots()
        return EmployeeParse(
            text=text,
            language=base.language,
            intent=base.intent,
            confidence=base.confidence,
            indicator=slots.indicator,
            course=slots.course,
            position=slots.position,
            chapter=slots.chapter,
            percent=slots.percent,
            completed=slots.completed,
            field=slots.field,
            value=slots.value,
            month=slots.month,
            number=slots.number,
        )


@dataclass(slots=True)
class _Slots:
    indicator: str | None = None
    course: str | None = None
    position: str | None = None
    chapter: int | None = None
    percent: int | None = None
    completed: bool = False
    field: str | None = None
    value: str | None = None
    month: tuple[int, int] | None = None
    number: int | None = None


Span = tuple[int, int]


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile with ASCII ``\\b``/``\\w``: "外部的cfa培训" has a word boundary before "cfa"."""
    return re.compile(pattern, re.ASCII)


def _slots(text: str, base: Parse, now: datetime) -> _Slots:
    out = _Slots()
    if not text.strip():
        return out
    folded = fold(text)
    course_span = _course(folded)
    if course_span is not None:
        out.course = _cut(text, course_span)
    out.chapter = _chapter(folded)
    out.percent = _percent(folded)
    pick = base.entity("number")
    out.number = int(pick.value) if pick is not None else _number(folded)
    field, value_span = _field_value(folded, base.intent)
    out.field = field
    if value_span is not None:
        out.value = _cut(text, value_span)
    taken = [s for s in (course_span, value_span) if s is not None]
    position_span = _position(_blank(folded, taken))
    if position_span is not None:
        out.position = _cut(text, position_span)
        taken.append(position_span)
    out.indicator = _indicator(_blank(folded, taken))
    if out.indicator is None and course_span is not None:
        out.indicator = _indicator(_blank(folded, [s for s in taken if s != course_span]))
    out.month = _month(folded, now)
    out.completed = out.field is None and _completed(folded, out.chapter, out.percent)
    return out


def _cut(text: str, span: Span) -> str | None:
    value = text[span[0] : span[1]].strip()
    return value or None


def _blank(folded: str, spans: list[Span]) -> str:
    """``folded`` with ``spans`` replaced by spaces (offsets unchanged)."""
    chars = list(folded)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


# --- numbers ---------------------------------------------------------------------------------------
_CN_NUM = "[零〇一二两三四五六七八九十百]"
_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20,
}  # fmt: skip
_UNIT_WORDS = "|".join(sorted(_EN_UNITS, key=len, reverse=True))
_ONE_TO_NINE = "one|two|three|four|five|six|seven|eight|nine"
_EN_NUM = rf"(?:(?:a|one)[\s-]+hundred|(?:{'|'.join(_EN_TENS)})(?:[\s-]+(?:{_ONE_TO_NINE}))?|{_UNIT_WORDS})"
_EN_ORD = rf"(?:{'|'.join(sorted(_EN_ORDINALS, key=len, reverse=True))}|\d{{1,2}}(?:st|nd|rd|th))"


def _to_int(s: str) -> int | None:
    """Digits, Chinese numerals (十二, 两, 一百二十), English words (eighty, seventy-five) and ordinals."""
    s = s.strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():
        return int(s)
    if s in _EN_ORDINALS:
        return _EN_ORDINALS[s]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", s)
    if m:
        return int(m.group(1))
    if s.isascii():
        return _en_words(s)
    if s == "百":
        return 100
    try:
        value = cn2an.cn2an(s, "normal")
    except Exception:  # cn2an raises ValueError, and more, on text it does not accept
        return None
    return int(value) if float(value).is_integer() else None


def _en_words(s: str) -> int | None:
    total = 0
    for word in re.split(r"[\s-]+", s):
        if word in _EN_UNITS:
            total += _EN_UNITS[word]
        elif word in _EN_TENS:
            total += _EN_TENS[word]
        elif word == "hundred":
            total = max(total, 1) * 100
        elif word in ("a", "and"):
            continue
        else:
            return None
    return total


def _to_float(s: str) -> float | None:
    """Decimal numbers in digits or Chinese numerals (七十五点五, 百)."""
    if s == "百":
        return 100.0
    try:
        return float(s)
    except ValueError:
        pass
    try:
        return float(cn2an.cn2an(s, "normal"))
    except Exception:  # cn2an raises ValueError, and more, on text it does not accept
        return None


# --- course ----------------------------------------------------------------------------------------
_QUOTED = _rx(r"《([^《》\n]{1,60})》|“([^“”\n]{1,60})”|\"([^\"\n]{1,60})\"|「([^「」\n]{1,60})」|『([^『』\n]{1,60})』")  # fmt: skip
_ZH_ENROLL = _rx(
    r"(?:报名参加|报名|报个名|报上|选修|订阅|注册|登记|(?:^|(?<=[我要想帮给就那]))报(?![销告表到道酬税名的]))"
    r"\s*(?:一下|了)?\s*[，,:：]?\s*(?P<c>[^\s，。！？,.!?；;、](?:[^\n，。！？,.!?；;、]{0,29}[^\s，。！？,.!?；;、])?)"
)
_EN_ENROLL = _rx(
    r"\b(?:enrol{1,2}|sign(?:ed)?|register|subscribe|book|put|count)\s+(?:me\s+)?(?:up\s+|down\s+|in\s+)?"
    r"(?:in|for|into|on|onto|to)\s+(?P<c>[^,;!?\n]{1,60}?)"
    r"(?=\s*(?:$|[,;!?]|\.(?:\s|$)|\s+(?:please|thanks|thank you|for me|now|today|too|as well)\b))"
)
_EN_THE_COURSE = _rx(
    r"\b(?:the|my|this|that|a|an)\s+(?P<c>(?:(?!(?:the|my|this|that|a|an)\b)[a-z0-9][\w&+'-]*\s+){0,5}?"
    r"(?!(?:the|my|this|that|a|an)\b)[a-z0-9][\w&+'-]*)"
    r"\s+(?:course|class|training|module|workshop|program|programme|bootcamp|seminar)\b"
)
_ZH_COURSE_DONE = _rx(
    r"(?P<c>(?:(?![我你的把了是在查看这那哪啥么])[\u4e00-\u9fffa-z0-9+#() ]){2,20}?)\s*(?:这门课|那门课|课程|的课|课)"
    r"(?=\s*(?:我|已经|已|都|也|刚|终于)?\s*(?:学完|学到|学了|完成|看完|结课|结业|进度|的进度|第|还差|还剩))"
)
_ZH_LEAD = _rx(
    r"(?:(?:ok|okay)\s+|嗯+|那就|就|我的|我把|我|把|那个|这个|那门|这门|一个|一门|个|的|今天|刚刚|刚|已经|终于|"
    r"外部的|行外的|外面的|线下的|线上的|外部|行外|外面)+"
)
_ZH_TRAIL = _rx(
    r"(?:\s|这门课|那门课|这个课程|这个课|的课程|课程|的课|课|班|吧|了|呢|啊|哦|呀|嘛|的|一下|谢谢|谢啦|麻烦了)+$"
)
_ZH_NOT_COURSE = _rx(
    r"^(?:这|那|它|这个|那个|这门|那门|这节|那节|名|课|视频|网课|线上|线下|直播|必修|选修|外部|行外|外面|外训|"
    r"培训|外部培训|行外培训|外部的培训|学习计划)$|第\s*(?:\d|[一二两三四五六七八九十])|推荐|刚才|什么|哪|怎么|多少|吗|几|"
    r"岗位|职位|岗$"
)
_EN_WORD = _rx(r"([\w'-]+)\s+")
_EN_LEAD = _rx(r"(?:(?:the|a|an|my|this|that|your)\s+)+")
_EN_TRAIL = _rx(r"(?:\s+(?:course|class|training|module|workshop|program|programme|bootcamp|seminar)s?)+$")
_EN_GENERIC = frozenset({
    "it", "that", "this", "one", "ones", "next", "first", "second", "third", "fourth", "fifth", "last",
    "whole", "same", "other", "new", "current", "entire", "recommended", "online", "external", "paid",
    "free", "outside", "any", "good", "best", "right", "course", "class", "training", "option", "number",
    "item", "choice", "session", "me", "up", "mandatory", "required", "compulsory", "elective", "optional",
    "available", "all", "some", "more", "your", "internal", "these", "those", "which", "what", "another",
    "great", "nice", "interesting", "useful", "short", "offline", "in-person", "live",
})  # fmt: skip
# A "course name" with one of these is a reference or a request, not a name.
_EN_NOT_COURSE = frozenset({
    "you", "recommended", "mentioned", "suggested", "said", "listed", "just", "above", "earlier", "then",
    "process", "cost", "price", "fee", "fees", "budget", "funding", "approval", "request", "application",
})  # fmt: skip
_EN_PREPOSITIONS = frozenset(
    {"for", "of", "to", "at", "in", "on", "with", "from", "about", "by", "and", "or"}
)


def _course(folded: str) -> Span | None:
    m = _QUOTED.search(folded)
    if m:
        group = next(g for g in range(1, 6) if m.group(g) is not None)
        if m.group(group).strip():
            return m.span(group)
    for m in _ZH_ENROLL.finditer(folded):
        span = _trim_zh(folded, m.span("c"))
        if span is not None:
            return span
    for m in _EN_ENROLL.finditer(folded):
        span = _trim_en(folded, m.span("c"))
        if span is not None:
            return span
    for m in _EN_THE_COURSE.finditer(folded):
        span = _trim_en(folded, m.span("c"))
        if span is not None:
            return span
    for m in _ZH_COURSE_DONE.finditer(folded):
        span = _trim_zh(folded, m.span("c"))
        if span is not None:
            return span
    return None


def _trim_zh(folded: str, span: Span) -> Span | None:
    start, end = span
    while start < end and folded[start] == " ":
        start += 1
    lead = _ZH_LEAD.match(folded, start, end)
    if lead:
        start = lead.end()
    trail = _ZH_TRAIL.search(folded[start:end])
    if trail:
        end = start + trail.start()
    name = folded[start:end]
    if not name or _ZH_NOT_COURSE.search(name) or (len(name) == 1 and not name.isascii()):
        return None
    return start, end


def _trim_en(folded: str, span: Span) -> Span | None:
    start, end = span
    lead = _EN_LEAD.match(folded, start, end)
    if lead:
        start = lead.end()
    trail = _EN_TRAIL.search(folded[start:end])
    if trail:
        end = start + trail.start()
    while True:  # "an external leadership course" → "leadership"
        first = _EN_WORD.match(folded, start, end)
        if first is None or first.group(1) not in _EN_GENERIC or first.end() >= end:
            break
        start = first.end()
    words = folded[start:end].split()
    if not words or all(w in _EN_GENERIC for w in words) or (len(words) == 1 and re.search(r"\d", words[0])):
        return None
    if any(w in _EN_NOT_COURSE for w in words) or words[-1] in _EN_PREPOSITIONS:
        return None
    if any(w in _EN_ORDINALS for w in words) and len(words) <= 2:
        return None  # "the second one", "third course"
    if re.fullmatch(r"(?:number|no\.?|option|#|course|item|choice)\s*\d{1,2}", folded[start:end]):
        return None
    return start, end


# --- chapter ---------------------------------------------------------------------------------------
_ZH_CHAPTER = _rx(
    rf"(?:第|前)\s*(?P<n>\d{{1,3}}|{_CN_NUM}{{1,4}})\s*(?:章|节|讲|课时|课|单元|模块|部分|集|篇)"
)
_ZH_CHAPTER_COUNT = _rx(
    rf"(?<![第前哪几每\d零〇一二两三四五六七八九十百])(?P<n>\d{{1,3}}|{_CN_NUM}{{1,4}})\s*(?:章|节)(?!课)"
)
_EN_CHAPTER = _rx(
    rf"\b(?:chapter|chap|ch|module|unit|lesson|section)\.?\s*(?:#|no\.?\s*)?(?P<n>\d{{1,3}}|{_EN_NUM})\b"
    rf"|\b(?P<o>{_EN_ORD})\s+(?:chapter|module|unit|lesson|section)\b"
    rf"|\b(?:first|1st)\s+(?P<k>\d{{1,2}}|{_EN_NUM})\s+(?:chapters|modules|units|lessons|sections)\b"
)


def _chapter(folded: str) -> int | None:
    for pattern in (_ZH_CHAPTER, _EN_CHAPTER, _ZH_CHAPTER_COUNT):
        found = [m for m in pattern.finditer(folded)]
        for m in reversed(found):
            raw = next(g for g in m.groups() if g is not None)
            value = _to_int(raw)
            if value is not None and value > 0:
                return value
    return None


# --- percent ---------------------------------------------------------------------------------------
_PCT = _rx(r"(?<![\d.])(?P<n>[-\u2212]?\d{1,4}(?:\.\d+)?)\s*(?:%|percent\b|per\s*cent\b|pct\b)")
_MAX_PERCENT = 10_000  # "百分之九九九九九九九" is not a percentage
_PCT_ZH = _rx(r"百分之\s*(?P<n>\d{1,4}(?:\.\d+)?|[零〇一二两三四五六七八九十百点]{1,8})")
_PCT_CHENG = _rx(
    r"(?<![第\d零〇一二两三四五六七八九十])(?P<n>\d|[一二两三四五六七八九]|十)\s*成"
    r"(?P<x>半|[一二三四五六七八九](?![十百千万个天年章节]))?(?![为功绩员本交立熟长果就人])"
)
_FRACTION_ZH = _rx(r"(?P<d>\d{1,2}|[二两三四五六七八九十])\s*分之\s*(?P<m>\d{1,2}|[一二两三四五六七八九十])")
_HALF_ZH = _rx(r"(?<!大)一半|学了?一?半了?$|过半(?![年月天个小周])|过了一半")
_PCT_WORDS = _rx(rf"\b(?P<n>{_EN_NUM})\s*(?:percent|per\s*cent)\b")
_FRACTION_EN = _rx(
    r"\b(?P<f>half(?=[\s-]?way\b|[\s-]done\b|\s+(?:of|through)\b)"
    r"|three[\s-]quarters?|two[\s-]thirds?"
    r"|(?:a|one)[\s-]quarter(?=\s+(?:of|done|through|of the way)\b)"
    r"|(?:a|one)[\s-]third(?=\s+(?:of|done|through)\b))"
)
_EN_FRACTIONS = {"half": 50, "three": 75, "two": 67, "a quarter": 25, "one quarter": 25}
_PCT_BARE = _rx(
    r"(?:进度|完成度|完成率)\s*(?:条)?\s*(?:是|为|到了?|达到了?|已达|已经|已|有|在)?\s*[:：]?\s*"
    r"(?P<n>\d{1,3})(?![\d.%])(?!\s*(?:章|节|个|门|天|小时|分钟|课|讲|号|月|年))"
    r"|\bprogress\s*(?:is\s+|at\s+|of\s+|to\s+|now\s+|:\s*)*(?P<e>\d{1,3})\b(?!\s*(?:%|percent|chapters?|modules?|units?|lessons?|hours?|days?|courses?))"
)


def _percent(folded: str) -> int | None:
    m = _PCT.search(folded)
    if m:
        return round(float(m.group("n").replace("\u2212", "-")))  # "-5%" is kept for the flow to refuse
    m = _PCT_ZH.search(folded)
    if m:
        value = _to_float(m.group("n"))
        if value is not None and value < _MAX_PERCENT:
            return round(value)
    m = _PCT_CHENG.search(folded)
    if m:
        tens = _to_int(m.group("n"))
        if tens is not None:
            extra = m.group("x")
            return tens * 10 + (5 if extra == "半" else (_to_int(extra) or 0) if extra else 0)
    m = _FRACTION_ZH.search(folded)
    if m and not folded[max(0, m.start() - 1) : m.start()].endswith("百"):
        d, n = _to_int(m.group("d")), _to_int(m.group("m"))
        if d and n is not None:
            return round(100 * n / d)
    if _HALF_ZH.search(folded):
        return 50
    m = _PCT_WORDS.search(folded)
    if m:
        value = _en_words(m.group("n"))
        if value is not None:
            return value
    m = _FRACTION_EN.search(folded)
    if m:
        f = m.group("f")
        if f.startswith("half"):
            return 50
        if f.startswith("three"):
            return 75
        if f.startswith("two"):
            return 67
        return 25 if "quarter" in f else 33
    m = _PCT_BARE.search(folded)
    if m:
        return int(m.group("n") or m.group("e"))
    return None


# --- completed -------------------------------------------------------------------------------------
_DONE_ZH = _rx(
    r"学完|修完|看完|听完|读完|结业|结课|通关|学好了|全部完成|已完成|完成(?!率|情况|度|进度|了几|了多少|多少|的)"
)
_DONE_EN = _rx(
    r"\b(?:finished|finish|completed|complete|done|wrapped up|passed the (?:final )?(?:exam|test|quiz))\b"
)
_NEG_ZH = _rx(r"[没未差快]|不|尚未|还没|即将|马上|要")
_NEG_EN = _rx(
    r"\b(?:not|never|yet|almost|nearly|haven't|hasn't|didn't|isn't|aren't|wasn't|don't|havent|hasnt|didnt|"
    r"to|left|going|gonna|will|about)\b"
    r"|n't\b"
)
_QUESTION_ZH = _rx(r"[?？]|吗|么|几|多少|哪|什么|啥|了没|没有$|没$|是否|怎么|如何")
_QUESTION_EN = _rx(
    r"\?|^\s*(?:what|which|how|when|where|who|why|did|do|does|have|has|had|is|are|am|was|were|can|could|"
    r"should|will|would)\b"
)


def _completed(folded: str, chapter: int | None, percent: int | None) -> bool:
    if chapter is not None or (percent is not None and percent < 100):
        return False
    if _QUESTION_ZH.search(folded) or _QUESTION_EN.search(folded):
        return False
    for m in _DONE_ZH.finditer(folded):
        if not _NEG_ZH.search(folded[max(0, m.start() - 6) : m.start()]):
            return True
    for m in _DONE_EN.finditer(folded):
        if not _NEG_EN.search(folded[max(0, m.start() - 20) : m.start()]):
            return True
    return False


# --- profile field and value -----------------------------------------------------------------------
_FIELD_WORDS: tuple[tuple[str, str], ...] = (
    ("name", r"姓名|名字|姓氏|full name|first name|last name|surname|\bname\b"),
    ("school", r"毕业院校|毕业学校|院校|学校|母校|alma mater|university|college|\bschool\b|institution"),
    ("major", r"专业|\bmajor\b|field of study|\bstudied\b|specialization|specialisation"),
    ("degree", r"学历|学位|文凭|\bdegree\b|education level|highest education|qualification"),
    (
        "experience",
        r"工作经历|工作经验|工作年限|实习经历|工作履历|履历|经历|经验|前雇主|"
        r"work experience|experience|work history|employment history|job history|previous employer|"
        r"\bemployer\b|internship",
    ),
    (
        "phone",
        r"手机号码|手机号|手机|电话号码|联系电话|电话|号码|phone|mobile|cell|contact number|telephone|\bnumber\b",
    ),
    ("email", r"电子邮箱|邮箱地址|邮箱|邮件地址|e-?mail|mail address"),
)
_FIELD_RE = _rx("|".join(f"(?P<{name}>{words})" for name, words in _FIELD_WORDS))
_EDIT_CUE = _rx(
    r"改|错|不对|有误|更新|更正|修改|换了|变了|变动|换号|少写|漏|补充|不全|旧的|应该|应为|不是|多了|少了|"
    r"\b(?:change[ds]?|changing|update[ds]?|wrong|incorrect|fix|edit|modify|correct (?:my|the)|misspel\w*|"
    r"spelled|typo|outdated|old|missing|not my|should|replace|new|isn't right|not right)\b"
)
_VALUE_END_ZH = r"(?P<v>[^，。！？,!?；;\n]{1,40})"
_VALUE_STRONG_ZH = _rx(
    r"(?:正确的应该是|正确的是|正确的为|应该是|应该为|应该填|应该写|应是|应为|应填|其实是|实际上是|实际是|"
    r"改成|改为|改到|改回|换成|换为|更正为|更正成|更新为|更新成|修改为|修改成|变更为|变成|"
    r"新的号码是|新号码是|新号是|新邮箱是|新的是|我叫|补充一下|补充|加上)\s*[:：]?\s*" + _VALUE_END_ZH
)
_VALUE_WEAK_ZH = _rx(r"(?<![不并没的])(?<!写的)(?<!填的)是\s*[:：]?\s*" + _VALUE_END_ZH)
_VALUE_END_EN = (
    r"(?P<v>[^,;!?\n]{1,60}?)(?=\s*(?:$|[,;!?]|\.(?:\s|$)|\s+(?:please|thanks|thank you|instead|not|"
    r"rather than|as well|either)\b))"
)
_VALUE_STRONG_EN = _rx(
    r"\b(?:change|update|set|correct|fix|switch|amend|edit|modify|make)\b[^.,;!?\n]{0,40}?\b(?:to|into)\s+"
    + _VALUE_END_EN
    + r"|\breplace\b[^.,;!?\n]{0,40}?\bwith\s+"
    + _VALUE_END_EN.replace("?P<v>", "?P<v2>")
    + r"|\b(?:should|must)\s+(?:be|read|say|show)\s+"
    + _VALUE_END_EN.replace("?P<v>", "?P<v3>")
    + r"|\buse\s+(?P<v4>\S+@\S+|\+?\d[\d -]{5,}\d)\s+instead\b"
    + r"|\bi\s+studied\s+"
    + _VALUE_END_EN.replace("?P<v>", "?P<v5>")
    + r"|\bnew\s+(?:phone|mobile|number|email|e-mail|name)(?:\s+number)?\s*(?:is|:)\s*"
    + _VALUE_END_EN.replace("?P<v>", "?P<v6>")
    + r"|:\s*"
    + _VALUE_END_EN.replace("?P<v>", "?P<v7>")
)
_VALUE_WEAK_EN = _rx(r"\b(?:it'?s|it is|that'?s|is|was)\s+" + _VALUE_END_EN)
_BAD_VALUE = _rx(
    r"^(?:旧的?|错的?|对的?|错误的|不对的?|新的?|空的?|这样的|我的)$|什么|多少|哪|啥|吗|谁"
    r"|^(?:wrong|incorrect|misspel\w*|spelled|listed|outdated|missing|not|old|out of date|a typo|right|fine|"
    r"correct|changed|different|the same|empty|blank|in|on|my|your|the (?:old|wrong)|who|what|incomplete|"
    r"partial|truncated|cut off|too (?:short|long))\b"
)
_ZH_VALUE_CUT = _rx(r"不是|而不是|并不是|，|,")
_EN_VALUE_CUT = _rx(r",|\s+(?:not|rather than|instead of)\b")
_VALUE_TRAIL_ZH = _rx(r"(?:了|吧|啊|呀|哦|哈|的|呢|嘛|谢谢|麻烦了|麻烦您了|麻烦你了|麻烦|，|\.|。)+$")
_VALUE_LEAD_EN = _rx(r"(?:a|an|the)\s+")
_EMAIL = _rx(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = _rx(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)|(?<!\d)\+?\d[\d\s-]{6,14}\d(?!\d)")
_DEGREE = _rx(
    r"硕士研究生|博士研究生|硕士|博士|本科|学士|研究生|大专|专科|\bmba\b|\bphd\b|ph\.d\.?|doctorate|"
    r"master'?s|\bmasters?\b|bachelor'?s|\bbachelors?\b|\bassociate(?:'s)?\b"
)
_SCHOOL = _rx(r"大学|学院|university|college|institute|school")


def _field_value(folded: str, intent: str) -> tuple[str | None, Span | None]:
    value = _value(folded)
    rest = _blank(folded, [value]) if value is not None else folded
    field: str | None = None
    m = _FIELD_RE.search(rest)
    if m is not None:
        field = m.lastgroup
    elif value is not None:
        field = _guess_field(folded[value[0] : value[1]])
    if field in ("degree", None) and value is None and _EDIT_CUE.search(folded):
        d = _DEGREE.search(folded)  # "I have a PhD, please update it"
        if d is not None:
            field, value = "degree", d.span()
    if value is None and field in ("email", "phone"):
        found = (_EMAIL if field == "email" else _PHONE).search(folded)
        if found is not None:
            value = found.span()
    editing = intent == UPDATE_INTENT or value is not None or _EDIT_CUE.search(folded) is not None
    if field is not None and not editing:
        field = None
    if value is not None and field is None and intent != UPDATE_INTENT:
        value = None
    return field, value


def _guess_field(value: str) -> str | None:
    if _EMAIL.search(value):
        return "email"
    if _PHONE.fullmatch(value.strip()):
        return "phone"
    if _DEGREE.fullmatch(value.strip()):
        return "degree"
    if _SCHOOL.search(value):
        return "school"
    return None


def _value(folded: str) -> Span | None:
    for pattern, zh in (
        (_VALUE_STRONG_ZH, True),
        (_VALUE_STRONG_EN, False),
        (_VALUE_WEAK_ZH, True),
        (_VALUE_WEAK_EN, False),
    ):
        if pattern is _VALUE_WEAK_EN and not _FIELD_RE.search(folded):
            continue  # "my mentor is Wang" is not a profile edit
        for m in pattern.finditer(folded):
            group = next(g for g in m.groupdict() if g.startswith("v") and m.group(g) is not None)
            span = _clean_value(folded, m.span(group), zh)
            if span is not None:
                return span
    return None


def _clean_value(folded: str, span: Span, zh: bool) -> Span | None:
    start, end = span
    cut = (_ZH_VALUE_CUT if zh else _EN_VALUE_CUT).search(folded, start, end)
    if cut is not None:
        end = cut.start()
    while start < end and folded[start] in " :：\"'“”":
        start += 1
    if not zh:
        lead = _VALUE_LEAD_EN.match(folded, start, end)
        if lead:
            start = lead.end()
    trail = _VALUE_TRAIL_ZH.search(folded[start:end])
    if trail:
        end = start + trail.start()
    while end > start and folded[end - 1] in " .\"'“”":
        end -= 1
    value = folded[start:end]
    if not value or _BAD_VALUE.search(value):
        return None
    return start, end


# --- position --------------------------------------------------------------------------------------
_ZH_MOD = (
    "高级|资深|初级|中级|首席|见习|实习|副|支行|分行|总行|零售|对公|公司|个人|私人银行|私行|网点|综合|风险管理|"
    "风险|风控|信贷|理财|财富|客户|大堂|产品|运营|合规|数据|科技|营业部|营销|柜面|管理|授信|审批|投资|市场|"
    "交易|业务|团队|部门|[一二三四五六七八九\\d]级"
)
_ZH_HEAD = "客户经理|理财经理|大堂经理|经理|柜员|行长|主管|专员|分析师|总监|主任|组长|顾问|柜长|会计|出纳|信贷员|审计师|工程师|管培生|管理培训生|负责人"  # fmt: skip
_ZH_POSITION = _rx(rf"(?<![下上这那本])(?:(?:{_ZH_MOD}){{0,3}}(?:{_ZH_HEAD})|(?:{_ZH_MOD}){{1,3}}岗位?)")
_EN_MOD = (
    "senior|junior|chief|assistant|deputy|associate|lead|principal|head|branch|relationship|wealth|risk|"
    "credit|lobby|team|financial|customer|service|teller|account|operations|compliance|loan|investment|"
    "personal|private|corporate|retail|sales|product|data|hr|bank|banking|client|vice|general|area|"
    "regional|business|audit|treasury|marketing|analyst|portfolio|trainee|management"
)
_EN_HEAD = (
    "teller|tellers|manager|managers|analyst|analysts|officer|officers|supervisor|supervisors|director|"
    "directors|advisor|advisors|adviser|advisers|banker|bankers|cashier|cashiers|accountant|accountants|"
    "auditor|auditors|trainee|trainees|consultant|consultants|clerk|clerks|underwriter|underwriters|"
    "planner|planners|rm|rms|president|vp"
)
_EN_WEAK_HEAD = "lead|leader|leaders|head|associate|executive|representative|specialist|specialists"
_EN_POSITION = _rx(
    rf"\b(?:(?:{_EN_MOD})\s+){{0,3}}(?:{_EN_HEAD})\b|\b(?:(?:{_EN_MOD})\s+){{1,3}}(?:{_EN_WEAK_HEAD})\b"
)


def _position(folded: str) -> Span | None:
    found = [m.span() for m in _ZH_POSITION.finditer(folded)]
    found += [m.span() for m in _EN_POSITION.finditer(folded)]
    return max(found, key=lambda s: (s[0], s[1])) if found else None


# --- indicator -------------------------------------------------------------------------------------
_INDICATOR_WORDS: tuple[tuple[str, str], ...] = (
    (
        "communication",
        r"沟通表达|沟通|表达|口才|演讲|汇报|表述|交流|communicat\w*|presentations?|presenting|public speaking|"
        r"\bspeaking\b|\bpresent\s+(?:better|well|myself)",
    ),
    (
        "logic",
        r"逻辑思维|逻辑|思维|推理|结构化|条理|\blogic\w*|reasoning|critical thinking|problem[- ]solving|"
        r"structured thinking|analytical thinking",
    ),
    (
        "numeracy",
        r"数值分析|数值|数据分析|数字(?!化)|计算|数理|\bexcel\b|numer\w*|\bnumbers\b|data analy\w*|"
        r"quantitative|\bmaths?\b|mathematics|statistics|calculation",
    ),
    ("risk", r"风险意识|风险|风控|合规|反洗钱|内控|\brisks?\b|compliance|\baml\b|anti-money laundering"),
    (
        "composure",
        r"情绪稳定|情绪|抗压|压力|心态|冷静|紧张|composure|\bstress\w*|pressure|emotion\w*|\bcalm\w*|resilien\w*|"
        r"nervous",
    ),
    (
        "learning",
        r"学习能力|学习力|学习方法|学习效率|自学|学得快|learning (?:agility|ability|skills|speed)|"
        r"learn(?:ing)? (?:faster|quicker|more quickly)|how (?:to|i) learn",
    ),
    (
        "finance",
        r"金融知识|金融|财务|理财|投资|财报|经济|基金|证券|信贷|\bfinanc\w*|investment|\bwealth\b|accounting|"
        r"economics|\bcfa\b|\bfrm\b|\bcredit\b",
    ),
    (
        "customer",
        r"客户导向|客户|顾客|客服|服务意识|服务|营销|销售|customer|\bclients?\b|\bservice\b|\bsales\b|selling",
    ),
)
_INDICATOR_RE = _rx("|".join(f"(?P<{key}>{words})" for key, words in _INDICATOR_WORDS))


def _indicator(folded: str) -> str | None:
    m = _INDICATOR_RE.search(folded)
    return m.lastgroup if m is not None else None


# --- month -----------------------------------------------------------------------------------------
_ZH_REL_MONTH = _rx(r"上上个?月|上一个月|上个?月|这个月|本月|当月|这月|下个?月")
_ZH_MONTH = _rx(
    r"(?:(?P<y>\d{4}|\d{2})\s*年\s*|(?P<ry>今年|去年|前年)\s*(?:的)?\s*)?"
    r"(?<![\d零〇一二两三四五六七八九十])(?P<m>1[0-2]|0?[1-9]|十[一二]|十|[一二三四五六七八九])\s*月(?!薪|饼|光|亮|球|台|子|嫂)"
)
_EN_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4,
    "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_EN_MONTH_NAMES = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_EN_REL_MONTH = _rx(
    r"\b(?:this|current)\s+month\b|\b(?:last|previous|prior)\s+month\b|\bthe\s+month\s+before\s+last\b"
    rf"|\b(?P<k>\d{{1,2}}|{_UNIT_WORDS}|a)\s+months?\s+ago\b|\bnext\s+month\b"
)
_EN_MONTH = _rx(
    rf"(?:\b(?P<y1>(?:19|20)\d{{2}})\s*[-/ ]?\s*)?\b(?P<m>{_EN_MONTH_NAMES})\b\.?"
    r"(?:\s*,?\s*(?:of\s+)?(?P<y2>(?:19|20)\d{2})\b|\s+(?:of\s+)?(?P<ly>last|this)\s+year\b)?"
)
_NUMERIC_MONTH = _rx(r"\b(?P<y>(?:19|20)\d{2})[-/.](?P<m>1[0-2]|0?[1-9])\b(?![-/.]\d)")
_MAY_CONTEXT = _rx(r"\b(?:for|in|of|from|since|last|this|during|on)\s+$")


def _shift(now: datetime, months: int) -> tuple[int, int]:
    index = now.year * 12 + now.month - 1 + months
    return index // 12, index % 12 + 1


def _latest(now: datetime, month: int) -> tuple[int, int]:
    """``month`` of this year if not in the future, else of last year."""
    return (now.year, month) if month <= now.month else (now.year - 1, month)


def _month(folded: str, now: datetime) -> tuple[int, int] | None:
    m = _ZH_REL_MONTH.search(folded)
    if m:
        word = m.group()
        if word.startswith("上上"):
            return _shift(now, -2)
        if word.startswith("上"):
            return _shift(now, -1)
        if word.startswith("下"):
            return _shift(now, 1)
        return _shift(now, 0)
    m = _ZH_MONTH.search(folded)
    if m:
        month = _to_int(m.group("m"))
        if month is not None and 1 <= month <= 12:
            if m.group("y"):
                year = int(m.group("y"))
                return (year + 2000 if year < 100 else year), month
            if m.group("ry"):
                return now.year - {"今年": 0, "去年": 1, "前年": 2}[m.group("ry")], month
            return _latest(now, month)
    m = _EN_REL_MONTH.search(folded)
    if m:
        word = m.group()
        if m.group("k"):
            k = 1 if m.group("k") == "a" else _to_int(m.group("k"))
            return _shift(now, -(k or 0))
        if "before last" in word:
            return _shift(now, -2)
        if word.startswith(("last", "previous", "prior")):
            return _shift(now, -1)
        if word.startswith("next"):
            return _shift(now, 1)
        return _shift(now, 0)
    m = _NUMERIC_MONTH.search(folded)
    if m:
        return int(m.group("y")), int(m.group("m"))
    for m in _EN_MONTH.finditer(folded):
        name = m.group("m")
        year_text = m.group("y1") or m.group("y2")
        if name == "may" and not year_text and not _MAY_CONTEXT.search(folded[: m.start()]):
            continue  # "may I see my payslip"
        month = _EN_MONTHS[name]
        if year_text:
            return int(year_text), month
        if m.group("ly") == "last":
            return now.year - 1, month
        if m.group("ly") == "this":
            return now.year, month
        return _latest(now, month)
    return None


# --- number (a pick from a list inside a longer message) -------------------------------------------
_ZH_PICK = _rx(
    r"第\s*(?P<n>\d{1,2}|[一二两三四五六七八九十]{1,3})(?![\d一二两三四五六七八九十百])\s*(?P<u>个|门|项|条|种|项)?"
)
_ZH_PICK_NOT = _rx(
    r"\s*(?:章|节|讲|课时|课|单元|模块|部分|集|篇|次|天|周|年|月|名|轮|季度|级|批|页|题|期|位|号|步|届|阶段|层|档|代|版|部|排|行|份)"
)
_EN_PICK = _rx(
    rf"\b(?P<o>{_EN_ORD})\s+(?:one|course|option|item|class|choice)\b"
    r"|(?:\bnumber|\bno\.|\boption|#|\bcourse|\bitem|\bchoice)\s*(?P<n>\d{1,2})\b(?!\s*(?:%|percent))"
)


def _number(folded: str) -> int | None:
    for m in _ZH_PICK.finditer(folded):
        if m.group("u") is None and _ZH_PICK_NOT.match(folded, m.end()):
            continue
        value = _to_int(m.group("n"))
        if value:
            return value
    m = _EN_PICK.search(folded)
    if m:
        return _to_int(m.group("o") or m.group("n")) or None
    return None
