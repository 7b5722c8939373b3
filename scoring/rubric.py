"""Score one answer text against one question's rubric: key points, red flags, structure markers,
the numeric answer (numeric items) and the chosen option (risk-judgement items).

Pure and deterministic: the result depends only on the question and the text (plus an optional
follow-up answer to the probe). Nothing about the candidate is an input. Features are chosen so that
swapping a name, pronoun, place or school in the text cannot change a score:

* key points match synonyms *within a clause* (zh: substring, "A…B" = A then B in the same clause;
  en: stemmed words in order, at most ``EN_MAX_GAP`` words apart). No feature counts characters or
  answer length, so a longer school name cannot move a score.
* negation ("不会跳过", "would not skip") is recognised only from a fixed list of function words
  right before the phrase (``_NEG_ZH``), never from the words around it.
* synonyms may not contain 他/她/he/she (the bank validator enforces it).

A key point first found in the follow-up answer earns ``PROBE_CREDIT`` of its weight: the probe
gave a hint. Each indicator's sub-score blends content (key points, minus red flags), structure,
the numeric check and the option credit; ``_BLEND`` documents the shares.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cn2an

from scoring.hanzi import to_simplified
from scoring.questions import KeyPoint, LocalText, Question, RedFlag

__all__ = [
    "PROBE_CREDIT",
    "SCORER_VERSION",
    "Evidence",
    "Hit",
    "KeyPointResult",
    "MarkerHit",
    "NumberMention",
    "NumericCheck",
    "OptionCheck",
    "RedFlagResult",
    "RubricResult",
    "extract_numbers",
    "missed_main_key_point",
    "score_answer",
]

# Bump when rubric.py or indicators.py changes how scores are computed.
SCORER_VERSION = "scorer-1.0"
PROBE_CREDIT = 0.6
EN_MAX_GAP = 3
PASSAGE_MAX = 140  # longer sentences (unpunctuated ASR output) are cut to a window around the match
PASSAGE_CONTEXT = 50

# content, structure, numeric, option shares per indicator, by question kind.
_BLEND: Mapping[str, Mapping[str, tuple[float, float, float, float]]] = {
    "numeric": {
        "numeracy": (0.2, 0.0, 0.8, 0.0),
        "logic": (0.2, 0.2, 0.6, 0.0),
        "*": (0.4, 0.0, 0.6, 0.0),
    },
    "risk_judgement": {
        "communication": (0.5, 0.2, 0.0, 0.3),
        "*": (0.3, 0.0, 0.0, 0.7),
    },
    "knowledge": {
        "logic": (0.8, 0.2, 0.0, 0.0),
        "communication": (0.8, 0.2, 0.0, 0.0),
        "*": (1.0, 0.0, 0.0, 0.0),
    },
    "*": {
        "logic": (0.6, 0.4, 0.0, 0.0),
        "communication": (0.65, 0.35, 0.0, 0.0),
        "*": (0.85, 0.15, 0.0, 0.0),
    },
}


# --------------------------------------------------------------------------- result values
@dataclass(frozen=True, slots=True)
class Hit:
    """Where a phrase matched: ``start``/``end`` index the answer text (the follow-up text when
    ``in_followup``); ``passage`` is the sentence around it."""

    phrase: str
    sentence: int
    passage: str
    start: int
    end: int
    in_followup: bool = False


@dataclass(frozen=True, slots=True)
class KeyPointResult:
    id: str
    weight: float
    label: LocalText
    matched: bool
    credit: float  # 1, PROBE_CREDIT (found only in the follow-up) or 0
    hit: Hit | None
    negated: tuple[str, ...] = ()  # phrases found but negated ("不核实")


@dataclass(frozen=True, slots=True)
class RedFlagResult:
    id: str
    penalty: float
    label: LocalText
    hit: Hit


@dataclass(frozen=True, slots=True)
class MarkerHit:
    category: str  # sequence | situation | task | action | result
    marker: str
    hit: Hit


@dataclass(frozen=True, slots=True)
class NumberMention:
    value: float
    percent: bool
    text: str
    start: int
    end: int
    cue: int  # 0 none, 1 weak ("是", "is"), 2 strong ("所以", "答案是", "the answer is")


@dataclass(frozen=True, slots=True)
class NumericCheck:
    expected: float
    tolerance: float
    unit: str
    given: float | None
    correct: bool
    credit: float
    passage: str
    mentioned: tuple[float, ...]
    in_followup: bool = False


@dataclass(frozen=True, slots=True)
class OptionCheck:
    chosen: str | None
    correct_option: str
    credit: float
    passage: str
    in_followup: bool = False


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason behind a sub-score: what matched, where in the transcript, and why it counts."""

    kind: str  # key_point | red_flag | structure | numeric | option | speech
    ref: str
    question_id: str
    passage: str
    detail: str
    label: LocalText | None = None


@dataclass(frozen=True, slots=True)
class RubricResult:
    question_id: str
    kind: str
    weights: tuple[tuple[str, float], ...]
    key_points: tuple[KeyPointResult, ...]
    red_flags: tuple[RedFlagResult, ...]
    markers: tuple[MarkerHit, ...]
    numeric: NumericCheck | None
    option: OptionCheck | None
    components: tuple[tuple[str, float], ...]
    subscores: tuple[tuple[str, float], ...]  # indicator -> 0..100
    evidence: tuple[tuple[str, tuple[Evidence, ...]], ...]
    main_key_point: str | None
    main_missed: bool
    probed: bool
    versions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def score(self) -> float:
        """Overall score of this answer: sub-scores weighted by the question's indicator weights."""
        w = dict(self.weights)
        return round(sum(w[k] * v for k, v in self.subscores), 1)

    def subscore(self, indicator: str) -> float | None:
        return dict(self.subscores).get(indicator)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights"] = dict(self.weights)
        d["components"] = dict(self.components)
        d["subscores"] = dict(self.subscores)
        d["evidence"] = {k: [asdict(e) for e in v] for k, v in self.evidence}
        d["versions"] = dict(self.versions)
        d["score"] = self.score
        return d


def missed_main_key_point(result: RubricResult) -> bool:
    """True when the main answer missed the question's main point (its main key point, the right
    number, or any option choice) — the trigger for the one follow-up probe."""
    return result.main_missed


# --------------------------------------------------------------------------- text analysis
_SENT_END = frozenset("。!?;\n…")
_CLAUSE_END = frozenset(",、:")
_WS = re.compile(r"\s+")
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CONTRACTIONS = {"'d": "would", "'ll": "will", "'m": "am", "'re": "are", "'ve": "have", "'s": ""}
_NEG_BASE = {"wo": "will", "ca": "can", "sha": "shall"}


def _norm_char(c: str) -> str:
    if c.isascii():
        return c.lower()
    if c in "’‘`´":
        return "'"
    return to_simplified(unicodedata.normalize("NFKC", c).lower())


def _stem(w: str) -> str:
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif (w.endswith("ed") and len(w) >= 5) or (
        w.endswith("es") and w[:-2].endswith(("s", "x", "z", "ch", "sh"))
    ):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in "aeiou":
        w = w[:-1]
    return w


def _words(text: str) -> list[tuple[str, int, int]]:
    """(raw word, start, end) with contractions expanded: "won't" -> will, not."""
    out: list[tuple[str, int, int]] = []
    for m in _EN_WORD.finditer(text):
        w, s, e = m.group(), m.start(), m.end()
        if w.endswith("n't"):
            base = w[:-3]
            out.append((_NEG_BASE.get(base, base), s, e))
            out.append(("not", s, e))
            continue
        i = w.find("'")
        if i > 0:
            out.append((w[:i], s, e))
            extra = _CONTRACTIONS.get(w[i:], "")
            if extra:
                out.append((extra, s, e))
            continue
        out.append((w, s, e))
    return out


@dataclass(slots=True)
class _Clause:
    sentence: int
    zh: str  # normalised, no whitespace, no thousands separators
    zh_map: list[int]  # index in zh -> index in the original text
    raw: list[str]  # English words (unstemmed) for negation
    stems: list[str]
    spans: list[tuple[int, int]]  # original spans of the words
    text: str  # normalised clause text (with spaces) for regex markers
    tmap: list[int]  # index in text -> index in the original text


@dataclass(slots=True)
class _Doc:
    text: str
    sentences: list[tuple[int, int]]
    clauses: list[_Clause]
    norm: str
    nmap: list[int]
    followup: bool = False


def _analyse(text: str, followup: bool = False) -> _Doc:
    chars: list[str] = []
    nmap: list[int] = []
    for i, c in enumerate(text):
        n = _norm_char(c)
        for ch in n:
            chars.append(ch)
            nmap.append(i)
    norm = "".join(chars)
    sentences: list[tuple[int, int]] = []
    clauses: list[_Clause] = []
    n = len(norm)
    start = 0
    sent_start = 0

    def close_clause(a: int, b: int) -> None:
        if a >= b:
            return
        seg = norm[a:b]
        zh_chars: list[str] = []
        zh_map: list[int] = []
        for j, ch in enumerate(seg):
            if ch.isspace():
                continue
            if ch == "," and j > 0 and seg[j - 1].isdigit() and seg[j + 1 : j + 4].isdigit():
                continue
            zh_chars.append(ch)
            zh_map.append(nmap[a + j])
        words = _words(seg)
        clauses.append(
            _Clause(
                sentence=len(sentences),
                zh="".join(zh_chars),
                zh_map=zh_map,
                raw=[w for w, _, _ in words],
                stems=[_stem(w) for w, _, _ in words],
                spans=[(nmap[a + s], nmap[a + e - 1] + 1) for _, s, e in words],
                text=seg,
                tmap=nmap[a:b],
            )
        )

    i = 0
    while i < n:
        ch = norm[i]
        end_sentence = ch in _SENT_END or (
            ch == "." and (i + 1 >= n or norm[i + 1].isspace()) and not (i > 0 and norm[i - 1] == ".")
        )
        end_clause = ch in _CLAUSE_END and not (
            ch == "," and 0 < i < n - 1 and norm[i - 1].isdigit() and norm[i + 1].isdigit()
        )
        if end_sentence or end_clause:
            close_clause(start, i)
            start = i + 1
            if end_sentence:
                if any(not c.isspace() for c in norm[sent_start:i]):
                    sentences.append((nmap[sent_start], nmap[i - 1] + 1 if i > 0 else 0))
                sent_start = i + 1
        i += 1
    close_clause(start, n)
    if any(not c.isspace() for c in norm[sent_start:n]):
        sentences.append((nmap[sent_start], nmap[n - 1] + 1))
    # clause.sentence was assigned as "number of sentences closed so far", which is its index.
    clauses = [c for c in clauses if c.zh]
    return _Doc(text, sentences, clauses, norm, nmap, followup)


def _passage(doc: _Doc, sentence: int, start: int, end: int) -> str:
    if not doc.sentences:
        return doc.text.strip()
    s, e = doc.sentences[min(sentence, len(doc.sentences) - 1)]
    text = doc.text[s:e].strip()
    if len(text) <= PASSAGE_MAX:
        return text
    a = max(s, start - PASSAGE_CONTEXT)
    b = min(e, end + PASSAGE_CONTEXT)
    return ("…" if a > s else "") + doc.text[a:b].strip() + ("…" if b < e else "")


# --------------------------------------------------------------------------- phrase matching
_NEG_ZH = re.compile(
    r"(?:不|没|没有|未|别|勿|无需|无须|不要|不会|不能|不可|不可以|不得|不应|不应该|不该|不用|不必|"
    r"绝不|决不|从不|从没|千万别|切勿|并不|并没有)"
    r"(?:要|会|能|可以|应该|该|去|再|敢|想|得|直接|就)?"
    r"(?:让|给|帮|替|把|被|叫|听|跟|和)?"
    r"(?:客户|他|她|对方|同事|人家|他们|她们|老人|老人家|您|你|我|大家)?"
    r"(?:直接|就|马上|立即|随便|轻易|再|都|也|自己|去)?$"
)
_NEG_START = ("不", "没", "未", "别", "勿", "无", "绝不", "决不", "从不", "千万别", "切勿", "并不")
_NEG_EN = frozenset({"not", "no", "never", "without", "nor", "neither"})


@dataclass(frozen=True, slots=True)
class _Phrase:
    source: str
    zh_parts: tuple[str, ...]
    en_stems: tuple[str, ...]
    negative: bool  # the phrase itself is negative ("不能跳过", "never skip"): no negation check


def _norm_phrase(s: str) -> str:
    t = "".join(_norm_char(c) for c in s)
    t = re.sub(r"(\d),(\d{3})", r"\1\2", t)
    return t.replace("...", "…")


@functools.lru_cache(maxsize=8192)
def _compile(zh: tuple[str, ...], en: tuple[str, ...]) -> tuple[_Phrase, ...]:
    out: list[_Phrase] = []
    for s in zh:
        t = _WS.sub("", _norm_phrase(s))
        parts = tuple(p for p in t.split("…") if p)
        if parts:
            out.append(_Phrase(s, parts, (), parts[0].startswith(_NEG_START)))
    for s in en:
        words = [w for w, _, _ in _words(_norm_phrase(s).replace("…", " "))]
        if words:
            out.append(_Phrase(s, (), tuple(_stem(w) for w in words), any(w in _NEG_EN for w in words)))
    return tuple(out)


def _find_zh(c: _Clause, parts: tuple[str, ...]) -> tuple[int, int] | None:
    pos = c.zh.find(parts[0])
    while pos >= 0:
        start, cur = pos, pos + len(parts[0])
        ok = True
        for p in parts[1:]:
            j = c.zh.find(p, cur)
            if j < 0:
                ok = False
                break
            cur = j + len(p)
        if ok:
            return start, cur
        pos = c.zh.find(parts[0], pos + 1)
    return None


def _find_en(c: _Clause, stems: tuple[str, ...]) -> tuple[int, int] | None:
    toks = c.stems
    n = len(toks)
    for i in range(n):
        if toks[i] != stems[0]:
            continue
        cur, ok = i, True
        for s in stems[1:]:
            for j in range(cur + 1, min(n, cur + 2 + EN_MAX_GAP)):
                if toks[j] == s:
                    cur = j
                    break
            else:
                ok = False
                break
        if ok:
            return i, cur
    return None


def _negated_zh(c: _Clause, start: int) -> bool:
    return bool(_NEG_ZH.search(c.zh[max(0, start - 16) : start]))


def _negated_en(c: _Clause, i: int) -> bool:
    for k in range(max(0, i - EN_MAX_GAP), i):
        if c.raw[k] in _NEG_EN and not (k + 1 < len(c.raw) and c.raw[k + 1] == "only"):
            return True
    return False


def _match(docs: Sequence[_Doc], phrases: Iterable[_Phrase]) -> tuple[Hit | None, tuple[str, ...]]:
    """The earliest non-negated hit (document, clause, position, then phrase order) and the phrases
    found negated."""
    negated: list[str] = []
    best: tuple[tuple[int, int, int, int], Hit] | None = None
    for d, doc in enumerate(docs):
        for ci, c in enumerate(doc.clauses):
            for pi, ph in enumerate(phrases):
                if ph.zh_parts:
                    span = _find_zh(c, ph.zh_parts)
                    if span is None:
                        continue
                    if not ph.negative and _negated_zh(c, span[0]):
                        negated.append(ph.source)
                        continue
                    s, e = c.zh_map[span[0]], c.zh_map[span[1] - 1] + 1
                else:
                    wspan = _find_en(c, ph.en_stems)
                    if wspan is None:
                        continue
                    if not ph.negative and _negated_en(c, wspan[0]):
                        negated.append(ph.source)
                        continue
                    s, e = c.spans[wspan[0]][0], c.spans[wspan[1]][1]
                key = (d, ci, s, pi)
                if best is None or key < best[0]:
                    best = (
                        key,
                        Hit(ph.source, c.sentence, _passage(doc, c.sentence, s, e), s, e, doc.followup),
                    )
            if best is not None and best[0][:2] == (d, ci):
                return best[1], tuple(dict.fromkeys(negated))
    return (best[1] if best else None), tuple(dict.fromkeys(negated))


# --------------------------------------------------------------------------- structure markers
_MARKERS_ZH: tuple[tuple[str, str], ...] = (
    (
        "sequence",
        r"首先|其次|然后|接着|再者|最后|总之|总的来说|综上|第一(?![次天个年周时])|第二(?![次天个年周])|第三(?![次天个年周])|另外|此外",
    ),
    ("situation", r"当时|那时候|那时|有一次|背景是|当年"),
    ("task", r"我的任务|任务是|我负责|目标是|需要我|我要负责|我的职责"),
    ("action", r"我采取|我决定|于是我|我就|我先|我主动|我马上|我立刻|我做了"),
    ("result", r"结果|最终|最后|后来|效果|最后的结果"),
)
_MARKERS_EN: tuple[tuple[str, str], ...] = (
    (
        "sequence",
        r"\b(?:first(?:ly)?(?! time)|second(?:ly)?|third(?:ly)?|then|next|after that|finally|lastly|in short|in summary|to sum up|overall)\b",
    ),
    ("situation", r"\b(?:situation|at the time|there was a time|back when|when i was|once when)\b"),
    ("task", r"\b(?:my task|the task|my job was|i was responsible|my goal|the goal|i needed to|i had to)\b"),
    ("action", r"\b(?:i decided|so i|i took|i made|my action|i started|i immediately|what i did)\b"),
    ("result", r"\b(?:result|in the end|outcome|eventually|as a result|finally)\b"),
)
_MARKER_RE = tuple(
    (cat, re.compile(zh), re.compile(en)) for (cat, zh), (_, en) in zip(_MARKERS_ZH, _MARKERS_EN, strict=True)
)
STAR = ("situation", "task", "action", "result")


def _markers(doc: _Doc) -> tuple[MarkerHit, ...]:
    out: list[MarkerHit] = []
    seen: set[tuple[str, str]] = set()
    for c in doc.clauses:
        for cat, rz, re_en in _MARKER_RE:
            for m in rz.finditer(c.zh):
                key = (cat, m.group())
                if key not in seen:
                    seen.add(key)
                    s, e = c.zh_map[m.start()], c.zh_map[m.end() - 1] + 1
                    out.append(
                        MarkerHit(
                            cat, m.group(), Hit(m.group(), c.sentence, _passage(doc, c.sentence, s, e), s, e)
                        )
                    )
            for m in re_en.finditer(c.text):
                key = (cat, m.group())
                if key not in seen:
                    seen.add(key)
                    s, e = c.tmap[m.start()], c.tmap[m.end() - 1] + 1
                    out.append(
                        MarkerHit(
                            cat, m.group(), Hit(m.group(), c.sentence, _passage(doc, c.sentence, s, e), s, e)
                        )
                    )
    return tuple(out)


def _structure(kind: str, markers: Sequence[MarkerHit]) -> float:
    seq = min(len({m.marker for m in markers if m.category == "sequence"}), 3) / 3
    if kind != "behavioural":
        return seq
    star = len({m.category for m in markers if m.category in STAR}) / 4
    return max(star, seq)


# --------------------------------------------------------------------------- numbers
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿点壹贰叁肆伍陆柒捌玖拾佰仟"
_NUM_RE = re.compile(
    r"(?P<pct_zh>百分之)?"
    rf"(?P<run>(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|[0-9{_CN_DIGITS}]|\.(?=\d))+)"
    r"(?P<mult>\s*(?:thousand|million|billion|k\b|grand))?"
    r"(?P<pct>\s*(?:%|percent\b|per\s*cent\b|个百分点))?"
)
_EN_UNITS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_EN_TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_NUMWORD = "|".join([*_EN_UNITS, *_EN_TENS, *_EN_SCALES, "point"])
_EN_NUM_RE = re.compile(
    r"(?P<half>\bhalf\s+(?:a\s+)?)?"
    rf"\b(?:{_EN_NUMWORD})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_EN_NUMWORD}))*\b"
    r"(?P<pct>\s*(?:percent\b|per\s*cent\b|%))?"
)
_UNIT_AFTER = set("元块万千百个年月日天%岁倍成号笔户份期")
_SKIP_RUNS = frozenset({"一点", "万一", "千万", "一一", "百万分", "点"})
_STRONG_CUE = re.compile(
    r"(?:答案是|答案为|结果是|结果为|所以|因此|因而|最终|最后|一共|总共|合计|总计|共计|算下来|算出来|应收|应还|应付|"
    r"\bthe answer is|\banswer is|\bso it'?s|\bso|\btherefore|\bin total|\btotal of|\bcomes to|\bit'?s|\bthat'?s)"
    r"\s*(?:是|为|等于|就是|应该是|大概是|约|大约|大概|差不多|about|around|roughly|approximately|is|be|would be|of)?"
    r"\s*(?:人民币|rmb|¥|￥|\$|yuan)?\s*$"
)
_WEAK_CUE = re.compile(
    r"(?:是|为|等于|得|得到|约|大约|大概|就是|应该是|=|:|：|\bis|\bequals?|\bbe|\bget|\bgets|\babout|\baround|\broughly|\bapproximately|\bpay|\breceive|\breceives)"
    r"\s*(?:人民币|rmb|¥|￥|\$|yuan)?\s*$"
)


def _cn_value(run: str) -> float | None:
    run = run.replace(",", "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(cn2an.cn2an(run, "smart"))
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    for unit, mult in (("亿", 1e8), ("万", 1e4), ("千", 1e3), ("百", 1e2)):
        if run.endswith(unit) and len(run) > 1:
            inner = _cn_value(run[:-1])
            return None if inner is None else inner * mult
    return None


def _en_value(words: list[str]) -> float | None:
    total, current, frac, in_frac, scale_seen = 0.0, 0.0, "", False, False
    for w in words:
        if w == "and":
            continue
        if w == "point":
            in_frac = True
            continue
        if in_frac:
            if w not in _EN_UNITS or _EN_UNITS[w] > 9:
                return None
            frac += str(_EN_UNITS[w])
            continue
        if w in _EN_UNITS:
            current += _EN_UNITS[w]
        elif w in _EN_TENS:
            current += _EN_TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _EN_SCALES[w]
            current, scale_seen = 0.0, True
    value = total + current
    if frac:
        value += float("0." + frac)
    if not scale_seen and not frac and value == 0 and "zero" not in words:
        return None
    return value


def _cue(prefix: str) -> int:
    tail = prefix[-20:]
    if _STRONG_CUE.search(tail):
        return 2
    return 1 if _WEAK_CUE.search(tail) else 0


def extract_numbers(text: str) -> tuple[NumberMention, ...]:
    """Every number said in ``text``: Arabic (1,750 / 1.75千 / 3.5% / 2万), Chinese numerals via cn2an
    (一千七百五十 / 百分之五 / 一万二) and English words (one thousand seven hundred and fifty)."""
    norm_chars: list[str] = []
    nmap: list[int] = []
    for i, c in enumerate(text):
        for ch in _norm_char(c):
            norm_chars.append(ch)
            nmap.append(i)
    norm = "".join(norm_chars).replace("−", "-")
    out: list[NumberMention] = []
    for m in _NUM_RE.finditer(norm):
        run = m.group("run").strip(".")
        while run and run[-1] == "点":
            run = run[:-1]
        if not run or run in _SKIP_RUNS or run[0] in "百千万亿点":
            continue
        s, e = m.start(), m.end()
        pct = bool(m.group("pct_zh") or m.group("pct"))
        if not any(ch.isdigit() for ch in run) and len(run) == 1 and not pct:
            nxt = norm[m.end("run")] if m.end("run") < len(norm) else ""
            if nxt and nxt not in _UNIT_AFTER and (nxt.isalnum() or "\u4e00" <= nxt <= "\u9fff"):
                continue
        if s > 0 and norm[s - 1] == "第":
            continue
        value = _cn_value(run)
        if value is None:
            continue
        mult = (m.group("mult") or "").strip()
        if mult:
            value *= {"thousand": 1e3, "k": 1e3, "grand": 1e3, "million": 1e6, "billion": 1e9}[mult]
        out.append(
            NumberMention(
                value, pct, text[nmap[s] : nmap[e - 1] + 1].strip(), nmap[s], nmap[e - 1] + 1, _cue(norm[:s])
            )
        )
    for m in _EN_NUM_RE.finditer(norm):
        words = re.findall(r"[a-z]+", m.group().split("percent")[0].split("per")[0])
        value = _en_value([w for w in words if w not in ("half", "a")])
        if value is None:
            continue
        if m.group("half"):
            value /= 2
        s, e = m.start(), m.end()
        out.append(
            NumberMention(
                value,
                bool(m.group("pct")),
                text[nmap[s] : nmap[e - 1] + 1].strip(),
                nmap[s],
                nmap[e - 1] + 1,
                _cue(norm[:s]),
            )
        )
    out.sort(key=lambda x: (x.start, x.end))
    return tuple(out)


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol + 1e-9 * max(1.0, abs(b))


def _pick_answer(mentions: Sequence[NumberMention], inputs: Sequence[float]) -> NumberMention | None:
    if not mentions:
        return None
    fresh = [m for m in mentions if not any(_close(m.value, x, 0) for x in inputs)]
    for pool in (
        [m for m in fresh if m.cue == 2],
        [m for m in fresh if m.cue == 1],
        fresh,
        [m for m in mentions if m.cue == 2],
        [m for m in mentions if m.cue],
        list(mentions),
    ):
        if pool:
            return pool[-1]
    return None


def _numeric(q: Question, doc: _Doc) -> tuple[float | None, bool, NumberMention | None, tuple[float, ...]]:
    assert q.numeric is not None
    spec = q.numeric
    mentions = extract_numbers(doc.text)
    pick = _pick_answer(mentions, spec.inputs)
    if pick is None:
        return None, False, None, ()
    given = pick.value
    candidates = [given]
    if spec.percent and not pick.percent and abs(given) < 1:
        candidates.append(given * 100)
    if spec.absolute:
        candidates = [abs(c) for c in candidates]
    correct = any(
        _close(c, abs(spec.value) if spec.absolute else spec.value, spec.tolerance) for c in candidates
    )
    return given, correct, pick, tuple(m.value for m in mentions)


def _numeric_check(q: Question, docs: Sequence[_Doc]) -> NumericCheck:
    assert q.numeric is not None
    spec = q.numeric
    given, correct, pick, mentioned = _numeric(q, docs[0])
    passage, in_followup, credit = "", False, 1.0 if correct else 0.0
    doc = docs[0]
    if not correct and len(docs) > 1:
        g2, c2, p2, m2 = _numeric(q, docs[1])
        if p2 is not None:
            given, correct, pick, mentioned, doc, in_followup = g2, c2, p2, mentioned + m2, docs[1], True
            credit = PROBE_CREDIT if c2 else 0.0
    if pick is not None:
        sent = _sentence_of(doc, pick.start)
        passage = _passage(doc, sent, pick.start, pick.end)
    return NumericCheck(
        spec.value, spec.tolerance, spec.unit, given, correct, credit, passage, mentioned, in_followup
    )


def _sentence_of(doc: _Doc, pos: int) -> int:
    for i, (s, e) in enumerate(doc.sentences):
        if s <= pos < e:
            return i
    return max(0, len(doc.sentences) - 1)


# --------------------------------------------------------------------------- options
_LETTER = r"([A-F])(?![A-Za-z])"
_OPT_PATTERNS = (
    re.compile(r"(?:选项|选择|我选|选|答案是|答案|应该是)\s*[:：]?\s*([A-Fa-f])(?![A-Za-z])"),
    re.compile(r"(?i:option|choice)\s*[:(]?\s*([A-Fa-f])(?![A-Za-z])"),
    re.compile(
        r"(?i:choose|chose|pick|picked|select|selected|go with|going with|answer is|answer|i'd say|i would say)\s*[:(]?\s*"
        + _LETTER
    ),
)
_ORD_ZH = re.compile(r"(?:选|选择)?第\s*([一二三四五六1-6])\s*(?:个|项|种)")
_ORD_EN = re.compile(r"(?i)\bthe (first|second|third|fourth|fifth|sixth) (?:one|option|choice)\b")
_LEAD = re.compile(r"^\s*[\"'“(（]?([A-F])\s*(?:[.、:：,，)）。]|$)")
_OPT_NEG = re.compile(
    r"(?:不|没|别|不会|不能|不要|不应该|不该|not|never|n't|wouldn't|won't)\s*(?:会|能|要|应该|去)?\s*(?:\w+\s+)?$",
    re.I,
)
_ORD_VAL = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
}


def _chosen_option(text: str, letters: str) -> tuple[str | None, int, int]:
    norm = unicodedata.normalize("NFKC", text)
    picks: list[tuple[int, int, str]] = []
    m = _LEAD.match(norm)
    if m and m.group(1) in letters:
        picks.append((m.start(1), m.end(1), m.group(1)))
    for pat in _OPT_PATTERNS:
        for m in pat.finditer(norm):
            letter = m.group(1).upper()
            if letter in letters and not _OPT_NEG.search(norm[max(0, m.start() - 12) : m.start()]):
                picks.append((m.start(), m.end(), letter))
    for pat in (_ORD_ZH, _ORD_EN):
        for m in pat.finditer(norm):
            k = m.group(1).lower()
            idx = int(k) if k.isdigit() else _ORD_VAL[k]
            if 1 <= idx <= len(letters) and not _OPT_NEG.search(norm[max(0, m.start() - 12) : m.start()]):
                picks.append((m.start(), m.end(), letters[idx - 1]))
    if not picks:
        return None, 0, 0
    s, e, letter = max(picks)
    return letter, s, e


def _option_check(q: Question, docs: Sequence[_Doc]) -> OptionCheck:
    letters = "".join(o.id for o in q.options)
    right = next(o for o in q.options if o.correct)
    for doc in docs:
        letter, s, e = _chosen_option(doc.text, letters)
        if letter is not None:
            credit = next(o.credit for o in q.options if o.id == letter)
            sent = _sentence_of(doc, s)
            return OptionCheck(letter, right.id, credit, _passage(doc, sent, s, e), doc.followup)
    return OptionCheck(None, right.id, 0.0, "", False)


# --------------------------------------------------------------------------- scoring
def _kp_result(kp: KeyPoint, docs: Sequence[_Doc]) -> KeyPointResult:
    hit, negated = _match(docs, _compile(kp.synonyms.zh, kp.synonyms.en))
    if hit is None:
        return KeyPointResult(kp.id, kp.weight, kp.label, False, 0.0, None, negated)
    return KeyPointResult(
        kp.id, kp.weight, kp.label, True, PROBE_CREDIT if hit.in_followup else 1.0, hit, negated
    )


def _rf_result(rf: RedFlag, docs: Sequence[_Doc]) -> RedFlagResult | None:
    hit, _ = _match(docs, _compile(rf.synonyms.zh, rf.synonyms.en))
    return None if hit is None else RedFlagResult(rf.id, rf.penalty, rf.label, hit)


def _content(
    q: Question, kps: Sequence[KeyPointResult], rfs: Sequence[RedFlagResult], ind: str | None
) -> float | None:
    """Weighted share of the key points that count for ``ind`` (None: all), minus red flags."""
    if not q.key_points:
        return None
    relevant = [
        (k, r)
        for k, r in zip(q.key_points, kps, strict=True)
        if ind is None or not k.indicators or ind in k.indicators
    ]
    if not relevant:
        relevant = list(zip(q.key_points, kps, strict=True))
    total = sum(k.weight for k, _ in relevant)
    got = sum(k.weight * r.credit for k, r in relevant) / total
    flags = {f.id: f for f in q.red_flags}
    got -= sum(
        r.penalty for r in rfs if ind is None or not flags[r.id].indicators or ind in flags[r.id].indicators
    )
    return min(1.0, max(0.0, got))


def score_answer(question: Question, text: str, *, followup: str | None = None) -> RubricResult:
    """Score ``text`` (the transcript of one answer) against ``question``. ``followup`` is the
    answer to the probe, if one was asked."""
    docs = [_analyse(text or "")]
    if followup is not None:
        docs.append(_analyse(followup, followup=True))
    kps = tuple(_kp_result(k, docs) for k in question.key_points)
    rfs = tuple(r for r in (_rf_result(f, docs) for f in question.red_flags) if r is not None)
    markers = _markers(docs[0])
    structure = _structure(question.kind, markers)
    numeric = _numeric_check(question, docs) if question.numeric is not None else None
    option = _option_check(question, docs) if question.options else None

    comp_table = _BLEND.get(question.kind, _BLEND["*"])
    subscores: list[tuple[str, float]] = []
    evidence: list[tuple[str, tuple[Evidence, ...]]] = []
    for ind, _w in question.indicators:
        c_w, s_w, n_w, o_w = comp_table.get(ind, comp_table["*"])
        content = _content(question, kps, rfs, ind)
        if content is None:  # no key points: their share goes to the answer check
            c_w, content = 0.0, 0.0
            if numeric is not None:
                n_w = 1.0 - s_w - o_w
            elif option is not None:
                o_w = 1.0 - s_w - n_w
        total = c_w + s_w + n_w + o_w
        value = c_w * content + s_w * structure
        value += n_w * (numeric.credit if numeric else 0.0) + o_w * (option.credit if option else 0.0)
        subscores.append((ind, round(100 * value / total, 1)))
        evidence.append((ind, _evidence(question, ind, kps, rfs, markers, numeric, option, s_w > 0)))

    main = question.main_point
    if main is not None:
        main_missed = not any(r.id == main.id and r.matched and not r.hit.in_followup for r in kps if r.hit)
    elif numeric is not None:
        main_missed = not (numeric.correct and not numeric.in_followup)
    elif option is not None:
        main_missed = option.chosen is None or option.in_followup
    else:
        main_missed = False
    components = [
        ("content", round(_content(question, kps, rfs, None) or 0.0, 4)),
        ("structure", round(structure, 4)),
    ]
    if numeric is not None:
        components.append(("numeric", numeric.credit))
    if option is not None:
        components.append(("option", option.credit))
    return RubricResult(
        question_id=question.id,
        kind=question.kind,
        weights=question.indicators,
        key_points=kps,
        red_flags=rfs,
        markers=markers,
        numeric=numeric,
        option=option,
        components=tuple(components),
        subscores=tuple(subscores),
        evidence=tuple(evidence),
        main_key_point=main.id if main else None,
        main_missed=main_missed,
        probed=followup is not None,
        versions=(("rubric", question.bank_version), ("scorer", SCORER_VERSION)),
    )


def _evidence(
    q: Question,
    ind: str,
    kps: Sequence[KeyPointResult],
    rfs: Sequence[RedFlagResult],
    markers: Sequence[MarkerHit],
    numeric: NumericCheck | None,
    option: OptionCheck | None,
    uses_structure: bool,
) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    for k, r in zip(q.key_points, kps, strict=True):
        if r.hit is not None and (not k.indicators or ind in k.indicators):
            note = " (after the follow-up probe)" if r.hit.in_followup else ""
            out.append(
                Evidence("key_point", k.id, q.id, r.hit.passage, f"matched {r.hit.phrase!r}{note}", k.label)
            )
    flags = {f.id: f for f in q.red_flags}
    for r in rfs:
        if not flags[r.id].indicators or ind in flags[r.id].indicators:
            out.append(
                Evidence("red_flag", r.id, q.id, r.hit.passage, f"-{r.penalty:g}: {r.hit.phrase!r}", r.label)
            )
    if uses_structure:
        for m in markers:
            out.append(Evidence("structure", m.category, q.id, m.hit.passage, f"marker {m.marker!r}"))
    if numeric is not None:
        verdict = (
            "correct" if numeric.correct else "incorrect" if numeric.given is not None else "no number given"
        )
        given = "—" if numeric.given is None else f"{numeric.given:g}"
        out.append(
            Evidence(
                "numeric",
                "answer",
                q.id,
                numeric.passage,
                f"{verdict}: said {given}, expected {numeric.expected:g}{numeric.unit} ±{numeric.tolerance:g}",
            )
        )
    if option is not None:
        out.append(
            Evidence(
                "option",
                option.chosen or "none",
                q.id,
                option.passage,
                f"chose {option.chosen or '—'} (credit {option.credit:g}); best is {option.correct_option}",
            )
        )
    return tuple(out)
