"""The interview question bank: hand-written items and seeded templates, loaded from ``content/questions``.

Every ``*.yml`` file under the directory may hold a ``questions:`` list (hand-written items) and a
``templates:`` list (generators for numeric-reasoning and risk-judgement items). Loading validates
everything and raises one :class:`BankError` listing every problem as ``file: item 'id': message``.

The content is data; the arithmetic of each template is code (``_COMPUTE`` below), so a template's
exact answer never depends on a formula written in YAML. A generated item is a pure function of
``(template_id, seed)`` and its id is ``gen-<template>-<seed>``, so storing the id is enough to
recreate it. ``bank_version`` is the sha256 over the content files: every score records it.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "INDICATORS",
    "INDICATOR_NAMES",
    "KINDS",
    "Bank",
    "BankError",
    "KeyPoint",
    "LocalText",
    "NumericAnswer",
    "Option",
    "Question",
    "RedFlag",
    "Synonyms",
    "Template",
    "bank_version",
    "default_bank",
    "generate",
    "load_bank",
    "questions_for",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "content" / "questions"
POSITIONS_FILE = ROOT / "content" / "positions.yml"

INDICATORS: tuple[str, ...] = (
    "communication",
    "logic",
    "numeracy",
    "risk",
    "composure",
    "learning",
    "finance",
    "customer",
)
KINDS: tuple[str, ...] = ("behavioural", "situational", "knowledge", "numeric", "risk_judgement")
GEN_PREFIX = "gen-"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_TEMPLATE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_GEN_ID_RE = re.compile(r"^gen-([a-z0-9_]+)-(\d+)$")
# Synonyms must not mention a person's gender: swapping 他/她 or he/she must never change a score.
_PROTECTED_ZH = ("他", "她")
_PROTECTED_EN = frozenset({"he", "she", "him", "her", "his", "hers", "himself", "herself", "mr", "mrs", "ms"})
_LETTERS = "ABCDEF"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


@dataclass(frozen=True, slots=True)
class LocalText:
    zh: str
    en: str

    def get(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


INDICATOR_NAMES: Mapping[str, LocalText] = {
    "communication": LocalText("沟通表达", "communication"),
    "logic": LocalText("逻辑思维", "logical reasoning"),
    "numeracy": LocalText("数值分析", "numerical analysis"),
    "risk": LocalText("风险意识", "risk awareness"),
    "composure": LocalText("情绪稳定", "composure"),
    "learning": LocalText("学习能力", "learning agility"),
    "finance": LocalText("金融知识", "financial knowledge"),
    "customer": LocalText("客户导向", "customer orientation"),
}


@dataclass(frozen=True, slots=True)
class Synonyms:
    zh: tuple[str, ...]
    en: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """A rubric point. ``indicators`` narrows which of the question's indicators it counts for
    (empty: all of them)."""

    id: str
    weight: float
    label: LocalText
    synonyms: Synonyms
    probe: LocalText
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RedFlag:
    """Something a good answer must not do (e.g. "just skip the check"); subtracts ``penalty``."""

    id: str
    penalty: float
    label: LocalText
    synonyms: Synonyms
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NumericAnswer:
    """The exact answer of a numeric item. ``inputs`` are the numbers given in the question (an
    answer that only repeats them is not taken as the result); ``absolute`` compares magnitudes."""

    value: float
    tolerance: float
    unit: str
    percent: bool
    inputs: tuple[float, ...]
    probe: LocalText
    absolute: bool = False


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    text: LocalText
    credit: float
    correct: bool


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: str
    text: LocalText
    indicators: tuple[tuple[str, float], ...]
    difficulty: int
    time_limit_s: int
    key_points: tuple[KeyPoint, ...]
    positions: tuple[str, ...]
    main_key_point: str | None = None
    red_flags: tuple[RedFlag, ...] = ()
    numeric: NumericAnswer | None = None
    options: tuple[Option, ...] = ()
    option_probe: LocalText | None = None
    template: str | None = None
    seed: int | None = None
    bank_version: str = ""

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.indicators)

    def weight(self, indicator: str) -> float:
        return self.weights.get(indicator, 0.0)

    @property
    def main_point(self) -> KeyPoint | None:
        """The key point whose absence triggers the follow-up probe. Numeric and risk-judgement
        items have the answer (or the chosen option) as their main point unless one is named."""
        if self.main_key_point:
            return next(k for k in self.key_points if k.id == self.main_key_point)
        if self.kind in ("numeric", "risk_judgement") or not self.key_points:
            return None
        return self.key_points[0]

    @property
    def main_probe(self) -> LocalText | None:
        kp = self.main_point
        if kp is not None:
            return kp.probe
        if self.numeric is not None:
            return self.numeric.probe
        return self.option_probe

    def prompt(self, language: str) -> str:
        """The text put to the candidate: the stem plus lettered options, if any."""
        lines = [self.text.get(language)]
        lines += [f"{o.id}. {o.text.get(language)}" for o in self.options]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    kind: str
    compute: str
    positions: tuple[str, ...]
    indicators: tuple[tuple[str, float], ...]
    difficulty: int
    time_limit_s: int
    text: LocalText
    params: tuple[tuple[str, tuple[Any, ...]], ...]
    key_points: tuple[KeyPoint, ...]
    unit: str = ""
    tolerance_abs: float = 0.0
    tolerance_rel: float = 0.0
    answer_probe: LocalText | None = None
    scenarios: tuple[Mapping[str, Any], ...] = ()
    option_probe: LocalText | None = None
    source: str = ""


class BankError(ValueError):
    """The question bank is invalid; the message lists each problem with its file and item."""


# --------------------------------------------------------------------------- template arithmetic
_Computed = tuple[dict[str, Any], float, tuple[float, ...]]


def _pick(rng: random.Random, params: Mapping[str, tuple[Any, ...]], name: str) -> Any:
    return rng.choice(params[name])


def simple_interest(principal: float, rate_pct: float, months: int) -> float:
    return round(principal * rate_pct / 100 * months / 12, 2)


def percent_change(old: float, new: float) -> float:
    return round((new - old) / old * 100, 4)


def ratio_share(total: float, a: int, b: int) -> float:
    return round(total * a / (a + b), 2)


def compound_total(principal: float, rate_pct: float, years: int) -> float:
    return round(principal * (1 + rate_pct / 100) ** years, 2)


def equal_principal_first_payment(loan: float, rate_pct: float, months: int) -> float:
    return round(loan / months + loan * rate_pct / 100 / 12, 2)


def _c_simple_interest(rng: random.Random, p: Mapping[str, tuple[Any, ...]]) -> _Computed:
    principal, rate, months = _pick(rng, p, "principal"), _pick(rng, p, "rate"), _pick(rng, p, "months")
    values = {"principal": principal, "rate": rate, "months": months}
    return values, simple_interest(principal, rate, months), (principal, rate, months, 12)


def _c_percent_change(rng: random.Random, p: Mapping[str, tuple[Any, ...]]) -> _Computed:
    old, pct, up = _pick(rng, p, "old"), _pick(rng, p, "pct"), _pick(rng, p, "direction") == "up"
    new = old * (1 + pct / 100) if up else old * (1 - pct / 100)
    new = round(new, 2)
    values = {
        "old": old,
        "new": int(new) if float(new).is_integer() else new,
        "direction_zh": "增长" if up else "下降",
        "direction_en": "increase" if up else "decrease",
    }
    return values, abs(percent_change(old, new)), (old, new, 100)


def _c_ratio_split(rng: random.Random, p: Mapping[str, tuple[Any, ...]]) -> _Computed:
    a, b = _pick(rng, p, "ratio")
    unit = _pick(rng, p, "unit")
    total = unit * (a + b)
    return {"total": total, "a": a, "b": b}, ratio_share(total, a, b), (total, a, b)


def _c_compound_2y(rng: random.Random, p: Mapping[str, tuple[Any, ...]]) -> _Computed:
    principal, rate = _pick(rng, p, "principal"), _pick(rng, p, "rate")
    values = {"principal": principal, "rate": rate, "years": 2}
    return values, compound_total(principal, rate, 2), (principal, rate, 2)


def _c_equal_principal(rng: random.Random, p: Mapping[str, tuple[Any, ...]]) -> _Computed:
    loan, rate, months = _pick(rng, p, "loan"), _pick(rng, p, "rate"), _pick(rng, p, "months")
    values = {"loan": loan, "rate": rate, "months": months, "years": months // 12}
    return values, equal_principal_first_payment(loan, rate, months), (loan, rate, months, months // 12, 12)


_COMPUTE: Mapping[str, Callable[[random.Random, Mapping[str, tuple[Any, ...]]], _Computed]] = {
    "simple_interest": _c_simple_interest,
    "percent_change": _c_percent_change,
    "ratio_split": _c_ratio_split,
    "compound_2y": _c_compound_2y,
    "equal_principal_first": _c_equal_principal,
}
_SJT = "situational_judgement"


def _fmt(value: Any, language: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        n = int(value)
        if language == "zh" and n >= 10000 and n % 10000 == 0:
            return f"{n // 10000}万"
        return f"{n:,}" if language == "en" and n >= 10000 else str(n)
    return f"{value:g}"


def _rng(template_id: str, seed: int) -> random.Random:
    # str seeds hash through sha512: identical across processes and PYTHONHASHSEED values.
    return random.Random(f"{template_id}:{seed}")


def _generate(t: Template, seed: int, version: str) -> Question:
    rng = _rng(t.id, seed)
    params = dict(t.params)
    qid = f"{GEN_PREFIX}{t.id}-{seed}"
    common: dict[str, Any] = {
        "id": qid,
        "kind": t.kind,
        "indicators": t.indicators,
        "difficulty": t.difficulty,
        "time_limit_s": t.time_limit_s,
        "positions": t.positions,
        "template": t.id,
        "seed": seed,
        "bank_version": version,
    }
    if t.compute == _SJT:
        sc = t.scenarios[rng.randrange(len(t.scenarios))]
        opts = list(sc["options"])
        rng.shuffle(opts)
        options = tuple(Option(_LETTERS[i], o["text"], o["credit"], o["correct"]) for i, o in enumerate(opts))
        return Question(
            text=sc["text"],
            key_points=sc["key_points"],
            red_flags=(),
            options=options,
            option_probe=t.option_probe,
            **common,
        )
    values, answer, inputs = _COMPUTE[t.compute](rng, params)
    text = LocalText(
        t.text.zh.format_map({k: _fmt(v, "zh") for k, v in values.items()}),
        t.text.en.format_map({k: _fmt(v, "en") for k, v in values.items()}),
    )
    tol = max(t.tolerance_abs, t.tolerance_rel * abs(answer))
    assert t.answer_probe is not None
    numeric = NumericAnswer(
        value=answer,
        tolerance=tol,
        unit=t.unit,
        percent=t.unit == "%",
        inputs=tuple(float(x) for x in inputs),
        probe=t.answer_probe,
        absolute=t.unit == "%",
    )
    return Question(text=text, key_points=t.key_points, numeric=numeric, **common)


# --------------------------------------------------------------------------- the bank
@dataclass(frozen=True, slots=True)
class Bank:
    questions: tuple[Question, ...]
    templates: Mapping[str, Template]
    version: str
    directory: Path

    def get(self, question_id: str) -> Question:
        """A hand-written item by id, or a generated one recreated from its ``gen-`` id."""
        m = _GEN_ID_RE.match(question_id)
        if m:
            return self.generate(m.group(1), int(m.group(2)))
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"unknown question id {question_id!r}")

    def generate(self, template_id: str, seed: int) -> Question:
        if template_id not in self.templates:
            raise KeyError(f"unknown template {template_id!r}; known: {', '.join(sorted(self.templates))}")
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        return _generate(self.templates[template_id], int(seed), self.version)

    def questions_for(self, position_code: str) -> tuple[Question, ...]:
        """Hand-written items suited to a position, in bank order."""
        return tuple(q for q in self.questions if position_code in q.positions)

    def templates_for(self, position_code: str) -> tuple[Template, ...]:
        return tuple(t for t in self.templates.values() if position_code in t.positions)


def bank_version(directory: Path = DEFAULT_DIR) -> str:
    """sha256 over the content files (relative path and bytes), in path order."""
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.yml")):
        h.update(path.relative_to(directory).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _known_positions(path: Path) -> frozenset[str] | None:
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(p["code"]) for p in data.get("positions", []) if isinstance(p, dict) and "code" in p)


def load_bank(directory: Path = DEFAULT_DIR, *, positions: Iterable[str] | None = None) -> Bank:
    """Load and validate every ``*.yml`` under ``directory``. ``positions`` are the valid position
    codes (default: those in ``content/positions.yml``, when it exists)."""
    if not directory.is_dir():
        raise BankError(f"{directory}: question bank directory not found")
    known = frozenset(positions) if positions is not None else _known_positions(POSITIONS_FILE)
    version = bank_version(directory)
    v = _Validator(known)
    questions: list[Question] = []
    templates: dict[str, Template] = {}
    files = sorted(directory.rglob("*.yml"))
    if not files:
        raise BankError(f"{directory}: no *.yml files")
    for path in files:
        v.file = (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).as_posix()
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except yaml.YAMLError as e:
            v.errors.append(f"{v.file}: not valid YAML: {e}")
            continue
        if not isinstance(data, dict) or not (set(data) <= {"questions", "templates"}) or not data:
            v.errors.append(f"{v.file}: expected a mapping with 'questions' and/or 'templates' lists")
            continue
        for raw in data.get("questions") or []:
            q = v.question(raw, version)
            if q is not None:
                questions.append(q)
        for raw in data.get("templates") or []:
            t = v.template(raw)
            if t is not None:
                templates[t.id] = t
    if v.errors:
        raise BankError("invalid question bank:\n  " + "\n  ".join(v.errors))
    bank = Bank(tuple(questions), templates, version, directory)
    for t in templates.values():  # a template must produce valid items; try a few seeds
        for seed in range(5):
            try:
                q = bank.generate(t.id, seed)
                if q.numeric is not None and not math.isfinite(q.numeric.value):
                    raise ValueError("answer is not finite")
            except (KeyError, ValueError, IndexError, ZeroDivisionError) as e:
                v.errors.append(f"{t.source}: template '{t.id}': seed {seed} fails: {e}")
                break
    if v.errors:
        raise BankError("invalid question bank:\n  " + "\n  ".join(v.errors))
    return bank


@functools.cache
def default_bank() -> Bank:
    """The bank in ``content/questions`` (loaded once per process; pass a ``Bank`` to override)."""
    return load_bank()


def generate(template_id: str, seed: int, bank: Bank | None = None) -> Question:
    return (bank or default_bank()).generate(template_id, seed)


def questions_for(position_code: str, bank: Bank | None = None) -> tuple[Question, ...]:
    return (bank or default_bank()).questions_for(position_code)


# --------------------------------------------------------------------------- validation
_Q_KEYS = {
    "id", "kind", "positions", "difficulty", "time_limit_s", "text", "indicators", "key_points",
    "main_key_point", "red_flags", "numeric", "options", "option_probe",
}  # fmt: skip
_T_KEYS = {
    "id", "kind", "compute", "positions", "difficulty", "time_limit_s", "text", "indicators",
    "key_points", "params", "unit", "tolerance", "answer_probe", "scenarios", "option_probe",
}  # fmt: skip
_KP_KEYS = {"id", "weight", "label", "synonyms", "probe", "indicators"}
_RF_KEYS = {"id", "penalty", "label", "synonyms", "indicators"}


class _Validator:
    def __init__(self, positions: frozenset[str] | None) -> None:
        self.positions = positions
        self.errors: list[str] = []
        self.file = ""
        self.item = ""
        self.ids: dict[str, str] = {}

    def err(self, msg: str) -> None:
        self.errors.append(f"{self.file}: item '{self.item}': {msg}")

    def text(self, raw: Any, what: str) -> LocalText:
        if not isinstance(raw, dict) or set(raw) != {"zh", "en"}:
            self.err(f"{what} must have exactly 'zh' and 'en'")
            return LocalText("", "")
        for lang in ("zh", "en"):
            if not isinstance(raw[lang], str) or not raw[lang].strip():
                self.err(f"{what}.{lang} must be a non-empty string")
        return LocalText(str(raw["zh"]).strip(), str(raw["en"]).strip())

    def synonyms(self, raw: Any, what: str, minimum: int) -> Synonyms:
        if not isinstance(raw, dict) or set(raw) != {"zh", "en"}:
            self.err(f"{what}.synonyms must have exactly 'zh' and 'en' lists")
            return Synonyms((), ())
        out: dict[str, tuple[str, ...]] = {}
        for lang in ("zh", "en"):
            items = raw[lang]
            if not isinstance(items, list) or len(items) < minimum:
                self.err(f"{what}.synonyms.{lang} needs at least {minimum} phrasings")
                out[lang] = ()
                continue
            good: list[str] = []
            for s in items:
                if not isinstance(s, str | int | float) or not str(s).strip():
                    self.err(f"{what}.synonyms.{lang} has an empty entry")
                    continue
                s = str(s).strip()
                words = set(re.findall(r"[a-z]+", s.lower()))
                if any(c in s for c in _PROTECTED_ZH) or words & _PROTECTED_EN:
                    self.err(f"{what}.synonyms.{lang} {s!r} mentions a gendered pronoun or title")
                good.append(s)
            if len(set(good)) != len(good):
                self.err(f"{what}.synonyms.{lang} has duplicates")
            out[lang] = tuple(good)
        return Synonyms(out["zh"], out["en"])

    def indicators(self, raw: Any) -> tuple[tuple[str, float], ...]:
        if not isinstance(raw, dict) or not raw:
            self.err("indicators must be a non-empty mapping {indicator_id: weight}")
            return ()
        out: list[tuple[str, float]] = []
        for k, w in raw.items():
            if k not in INDICATORS:
                self.err(f"unknown indicator {k!r} (known: {', '.join(INDICATORS)})")
                continue
            if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
                self.err(f"indicator weight for {k} must be a positive number")
                continue
            out.append((k, float(w)))
        total = sum(w for _, w in out)
        if out and abs(total - 1) > 1e-6:
            self.err(f"indicator weights sum to {total:g}, expected 1")
        return tuple(sorted(out, key=lambda kv: INDICATORS.index(kv[0])))

    def key_points(self, raw: Any, indicators: Iterable[str], required: bool) -> tuple[KeyPoint, ...]:
        inds = set(indicators)
        if raw is None:
            raw = []
        if not isinstance(raw, list) or (required and not raw):
            self.err("key_points must be a non-empty list")
            return ()
        out: list[KeyPoint] = []
        for i, k in enumerate(raw):
            what = f"key_points[{i}]"
            if not isinstance(k, dict):
                self.err(f"{what} must be a mapping")
                continue
            if set(k) - _KP_KEYS:
                self.err(f"{what} has unknown keys {sorted(set(k) - _KP_KEYS)}")
            kid = k.get("id")
            if not isinstance(kid, str) or not _ID_RE.match(kid):
                self.err(f"{what}.id must be a lowercase identifier")
                kid = f"kp{i}"
            what = f"key point '{kid}'"
            w = k.get("weight")
            if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
                self.err(f"{what}: weight must be a positive number")
                w = 0.0
            ki = tuple(k.get("indicators") or ())
            if not set(ki) <= inds:
                self.err(f"{what}: indicators {sorted(set(ki) - inds)} are not measured by the question")
            out.append(
                KeyPoint(
                    id=kid,
                    weight=float(w),
                    label=self.text(k.get("label"), f"{what}.label"),
                    synonyms=self.synonyms(k.get("synonyms"), what, 2),
                    probe=self.text(k.get("probe"), f"{what}.probe"),
                    indicators=ki,
                )
            )
        if len({k.id for k in out}) != len(out):
            self.err("key point ids must be unique")
        total = sum(k.weight for k in out)
        if out and abs(total - 1) > 1e-6:
            self.err(f"key point weights sum to {total:g}, expected 1")
        return tuple(out)

    def red_flags(self, raw: Any, indicators: Iterable[str]) -> tuple[RedFlag, ...]:
        inds = set(indicators)
        out: list[RedFlag] = []
        for i, r in enumerate(raw or []):
            if not isinstance(r, dict) or set(r) - _RF_KEYS:
                self.err(f"red_flags[{i}] must be a mapping with keys {sorted(_RF_KEYS)}")
                continue
            rid = str(r.get("id", f"rf{i}"))
            p = r.get("penalty")
            if not isinstance(p, int | float) or not 0 < p <= 1:
                self.err(f"red flag '{rid}': penalty must be in (0, 1]")
                p = 0.0
            ri = tuple(r.get("indicators") or ())
            if not set(ri) <= inds:
                self.err(f"red flag '{rid}': indicators {sorted(set(ri) - inds)} are not measured")
            out.append(
                RedFlag(
                    rid,
                    float(p),
                    self.text(r.get("label"), f"red flag '{rid}'.label"),
                    self.synonyms(r.get("synonyms"), f"red flag '{rid}'", 1),
                    ri,
                )
            )
        return tuple(out)

    def common(self, raw: dict[str, Any]) -> dict[str, Any]:
        kind = raw.get("kind")
        if kind not in KINDS:
            self.err(f"kind {kind!r} must be one of {', '.join(KINDS)}")
        d = raw.get("difficulty")
        if d not in (1, 2, 3):
            self.err("difficulty must be 1, 2 or 3")
        tl = raw.get("time_limit_s")
        if not isinstance(tl, int) or isinstance(tl, bool) or not 15 <= tl <= 600:
            self.err("time_limit_s must be an integer between 15 and 600")
        pos = raw.get("positions")
        if not isinstance(pos, list) or not pos or not all(isinstance(p, str) for p in pos):
            self.err("positions must be a non-empty list of position codes")
            pos = []
        elif self.positions is not None and set(pos) - self.positions:
            self.err(f"unknown positions {sorted(set(pos) - self.positions)}")
        return {
            "kind": kind,
            "difficulty": d if isinstance(d, int) else 1,
            "time_limit_s": tl if isinstance(tl, int) else 60,
            "positions": tuple(pos),
            "indicators": self.indicators(raw.get("indicators")),
        }

    def options(self, raw: Any) -> tuple[Option, ...]:
        if not isinstance(raw, list) or not 2 <= len(raw) <= len(_LETTERS):
            self.err(f"options must be a list of 2 to {len(_LETTERS)} choices")
            return ()
        out = []
        for i, o in enumerate(raw):
            if not isinstance(o, dict) or set(o) - {"text", "credit", "correct"}:
                self.err(f"options[{i}] must have text, credit and optional correct")
                continue
            c = o.get("credit")
            if not isinstance(c, int | float) or not 0 <= c <= 1:
                self.err(f"options[{i}].credit must be in [0, 1]")
                c = 0.0
            out.append(
                Option(
                    _LETTERS[i],
                    self.text(o.get("text"), f"options[{i}].text"),
                    float(c),
                    bool(o.get("correct")),
                )
            )
        right = [o for o in out if o.correct]
        if len(right) != 1:
            self.err("exactly one option must be flagged correct: true")
        elif right[0].credit != 1 or any(o.credit >= 1 for o in out if not o.correct):
            self.err("the correct option must have credit 1 and every other option less")
        return tuple(out)

    def question(self, raw: Any, version: str) -> Question | None:
        self.item = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
        if not isinstance(raw, dict):
            self.err("must be a mapping")
            return None
        n = len(self.errors)
        if set(raw) - _Q_KEYS:
            self.err(f"unknown keys {sorted(set(raw) - _Q_KEYS)}")
        qid = raw.get("id")
        if not isinstance(qid, str) or not _ID_RE.match(qid) or qid.startswith(GEN_PREFIX):
            self.err("id must be a lowercase identifier not starting with 'gen-'")
            qid = "?"
        elif qid in self.ids:
            self.err(f"duplicate id (also in {self.ids[qid]})")
        self.ids[str(qid)] = self.file
        c = self.common(raw)
        kind = c["kind"]
        inds = [k for k, _ in c["indicators"]]
        kps = self.key_points(raw.get("key_points"), inds, required=kind not in ("numeric", "risk_judgement"))
        main = raw.get("main_key_point")
        if main is not None and main not in {k.id for k in kps}:
            self.err(f"main_key_point {main!r} is not one of the key points")
        numeric = None
        if kind == "numeric":
            numeric = self.numeric(raw.get("numeric"))
        elif "numeric" in raw:
            self.err("only numeric items have a 'numeric' answer")
        options: tuple[Option, ...] = ()
        option_probe = None
        if kind == "risk_judgement":
            options = self.options(raw.get("options"))
            option_probe = self.text(raw.get("option_probe"), "option_probe")
        elif "options" in raw:
            self.err("only risk_judgement items have options")
        q = Question(
            id=str(qid),
            text=self.text(raw.get("text"), "text"),
            key_points=kps,
            main_key_point=main,
            red_flags=self.red_flags(raw.get("red_flags"), inds),
            numeric=numeric,
            options=options,
            option_probe=option_probe,
            bank_version=version,
            **c,
        )
        return q if len(self.errors) == n else None

    def numeric(self, raw: Any) -> NumericAnswer | None:
        keys = {"answer", "tolerance", "unit", "inputs", "probe"}
        if not isinstance(raw, dict) or set(raw) - keys or "answer" not in raw:
            self.err(f"numeric must be a mapping with keys {sorted(keys)} (answer required)")
            return None
        ans, tol = raw.get("answer"), raw.get("tolerance", 0)
        if not isinstance(ans, int | float) or not isinstance(tol, int | float) or tol < 0:
            self.err("numeric.answer must be a number and numeric.tolerance a non-negative number")
            return None
        unit = str(raw.get("unit", ""))
        return NumericAnswer(
            value=float(ans),
            tolerance=float(tol),
            unit=unit,
            percent=unit == "%",
            inputs=tuple(float(x) for x in raw.get("inputs") or ()),
            probe=self.text(raw.get("probe"), "numeric.probe"),
            absolute=unit == "%",
        )

    def template(self, raw: Any) -> Template | None:
        self.item = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
        if not isinstance(raw, dict):
            self.err("template must be a mapping")
            return None
        n = len(self.errors)
        if set(raw) - _T_KEYS:
            self.err(f"unknown keys {sorted(set(raw) - _T_KEYS)}")
        tid = raw.get("id")
        if not isinstance(tid, str) or not _TEMPLATE_ID_RE.match(tid):
            self.err("template id must be lowercase letters, digits and '_'")
            tid = "?"
        c = self.common(raw)
        inds = [k for k, _ in c["indicators"]]
        compute = raw.get("compute")
        scenarios: list[Mapping[str, Any]] = []
        if compute == _SJT:
            if c["kind"] != "risk_judgement":
                self.err(f"compute {_SJT} needs kind risk_judgement")
            for j, sc in enumerate(raw.get("scenarios") or []):
                self.item = f"{tid}/scenarios[{j}]"
                if not isinstance(sc, dict) or set(sc) - {"text", "options", "key_points"}:
                    self.err("a scenario is a mapping with text, options and key_points")
                    continue
                scenarios.append(
                    {
                        "text": self.text(sc.get("text"), "text"),
                        "options": [
                            {"text": o.text, "credit": o.credit, "correct": o.correct}
                            for o in self.options(sc.get("options"))
                        ],
                        "key_points": self.key_points(sc.get("key_points"), inds, required=True),
                    }
                )
            self.item = str(tid)
            if not scenarios:
                self.err("a situational-judgement template needs scenarios")
            text = LocalText("", "")
        else:
            if compute not in _COMPUTE:
                self.err(f"compute {compute!r} must be one of {', '.join([*_COMPUTE, _SJT])}")
            if c["kind"] != "numeric":
                self.err("numeric templates need kind numeric")
            text = self.text(raw.get("text"), "text")
        params = raw.get("params") or {}
        if compute in _COMPUTE and (
            not isinstance(params, dict) or not all(isinstance(v, list) and v for v in params.values())
        ):
            self.err("params must map each name to a non-empty list of values")
            params = {}
        tol = raw.get("tolerance") or {}
        t = Template(
            id=str(tid),
            compute=str(compute),
            text=text,
            params=tuple(
                (k, tuple(tuple(x) if isinstance(x, list) else x for x in v)) for k, v in params.items()
            ),
            key_points=self.key_points(raw.get("key_points"), inds, required=False),
            unit=str(raw.get("unit", "")),
            tolerance_abs=float(tol.get("absolute", 0)),
            tolerance_rel=float(tol.get("relative", 0)),
            answer_probe=self.text(raw.get("answer_probe"), "answer_probe") if compute in _COMPUTE else None,
            scenarios=tuple(scenarios),
            option_probe=self.text(raw.get("option_probe"), "option_probe") if compute == _SJT else None,
            source=self.file,
            **c,
        )
        return t if len(self.errors) == n else None
