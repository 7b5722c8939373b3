"""The bias audit, by the method of NYC Local Law 144 (DCWP rules, 6 RCNY § 5-300 ff.).

For one position and period, over the candidates' self-declared categories — sex, age band, region
and the intersections sex × age band and sex × region:

* **selection rate**: the share of a category's candidates who were selected, i.e. who reached the next
  round (the ``next_round_at`` milestone, kept after a later rejection) or whose stage is in
  :attr:`AuditParams.selected_stages` (default ``next_round``, ``offer``, ``hired``);
* **scoring rate**: the share of a category's scored candidates (round-1 ``Interview.overall``)
  strictly above the median of *all* scored candidates, declared or not;
* **impact ratio**: a category's rate divided by the highest rate among the categories that take
  part; below :attr:`AuditParams.flag_below` (0.8, the four-fifths rule) it is flagged.

Rules, as the law's rules allow or as we chose (each one shows in every rendering):

* "unknown" — a category not declared (for an intersection: either half not declared) — is reported
  on its own line and is never a category: it sets no reference rate and has no ratio. It does count
  in the median, which is over the full sample.
* A category under 2 % (:attr:`~AuditParams.small_share`) of the candidates who declared that
  dimension is reported but takes no part in the ratios (the law's optional exclusion; we apply it).
* Too few to say anything: with fewer than :attr:`~AuditParams.min_declared` (30) declared candidates
  in a dimension no ratio is computed for it; a category with fewer than
  :attr:`~AuditParams.min_category` (5) candidates gets no ratio and sets no reference. The report
  says so instead of printing a number.
* Candidates at a stage in :attr:`~AuditParams.excluded_stages` (default ``invited``: never took part;
  ``withdrawn``: left of their own accord) are not audited; their number is reported.

Everything from :func:`compute` on is a pure function of its inputs; :func:`load_rows` is the one
database read (applications, their round-1 interview and their declaration). Comparisons are made on
exact fractions, so a ratio of exactly 0.8 is not flagged whatever floating point would say.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.demographics import AGE_BANDS, SEXES
from storage.models import Application, Demographic, Interview

__all__ = [
    "DIMENSIONS",
    "METHOD",
    "AuditParams",
    "BiasAudit",
    "CandidateRow",
    "CategoryResult",
    "DimensionResult",
    "compute",
    "load_rows",
    "to_csv",
    "to_json",
    "to_png",
    "to_text",
]

METHOD = "nyc-ll144/1"
SCHEMA = "talentbot.bias-audit/1"
DIMENSIONS: tuple[tuple[str, ...], ...] = (
    ("sex",),
    ("age_band",),
    ("region",),
    ("sex", "age_band"),
    ("sex", "region"),
)
METRICS = ("selection", "scoring")
LANGUAGES = ("zh", "en")
_ORDER: Mapping[str, tuple[str, ...]] = {"sex": SEXES, "age_band": AGE_BANDS}


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """One audited application: its stage, its round-1 overall score (None: not scored) and what the
    candidate declared (None: not declared)."""

    application_id: int
    stage: str
    overall: float | None = None
    sex: str | None = None
    age_band: str | None = None
    region: str | None = None
    # reached the next round at some point (the milestone): counts as selected even if rejected later;
    # None: judge by ``stage`` alone
    advanced: bool | None = None


@dataclass(frozen=True, slots=True)
class AuditParams:
    selected_stages: frozenset[str] = frozenset({"next_round", "offer", "hired"})
    excluded_stages: frozenset[str] = frozenset({"invited", "withdrawn"})
    min_declared: int = 30
    min_category: int = 5
    small_share: Fraction = Fraction(2, 100)
    flag_below: Fraction = Fraction(4, 5)

    def to_dict(self) -> dict[str, Any]:
        return {
            "selected_stages": sorted(self.selected_stages),
            "excluded_stages": sorted(self.excluded_stages),
            "min_declared": self.min_declared,
            "min_category": self.min_category,
            "small_share": float(self.small_share),
            "flag_below": float(self.flag_below),
        }


# category status: ratio | under_2_percent | category_too_small | too_few_declared | no_reference
# dimension status: ok | too_few_declared | no_reference (no eligible category, or its best rate is 0)


@dataclass(frozen=True, slots=True)
class CategoryResult:
    category: tuple[str, ...]
    candidates: int
    hits: int  # selected, or scored above the median
    share: Fraction  # of the candidates who declared this dimension
    status: str
    ratio: Fraction | None = None
    flagged: bool = False

    @property
    def rate(self) -> Fraction:
        return Fraction(self.hits, self.candidates)

    @property
    def impact_ratio(self) -> float | None:
        return None if self.ratio is None else float(self.ratio)


@dataclass(frozen=True, slots=True)
class DimensionResult:
    metric: str  # selection | scoring
    dimension: tuple[str, ...]
    declared: int
    unknown: int
    unknown_hits: int
    status: str
    categories: tuple[CategoryResult, ...]
    reference: tuple[str, ...] | None = None  # the category with the highest rate

    @property
    def name(self) -> str:
        return "×".join(self.dimension)

    @property
    def unknown_rate(self) -> Fraction | None:
        return Fraction(self.unknown_hits, self.unknown) if self.unknown else None

    @property
    def flagged(self) -> tuple[CategoryResult, ...]:
        return tuple(c for c in self.categories if c.flagged)


@dataclass(frozen=True, slots=True)
class BiasAudit:
    position: str
    since: date | None
    until: date | None
    params: AuditParams
    candidates: int  # audited
    excluded: int  # at an excluded stage
    declared: int  # audited candidates who declared at least one field
    selected: int
    scored: int
    median: float | None
    selection: tuple[DimensionResult, ...]
    scoring: tuple[DimensionResult, ...]
    method: str = field(default=METHOD)

    @property
    def dimensions(self) -> tuple[DimensionResult, ...]:
        return self.selection + self.scoring

    @property
    def flagged(self) -> tuple[tuple[DimensionResult, CategoryResult], ...]:
        return tuple((d, c) for d in self.dimensions for c in d.flagged)

    def counts(self) -> dict[str, int]:
        """The inputs' counts, for the audit log."""
        return {
            "candidates": self.candidates,
            "excluded": self.excluded,
            "declared": self.declared,
            "selected": self.selected,
            "scored": self.scored,
            "flagged": len(self.flagged),
        }


# --------------------------------------------------------------------------- computing
def _category(row: CandidateRow, dimension: tuple[str, ...]) -> tuple[str, ...] | None:
    values = tuple(getattr(row, d) for d in dimension)
    return None if any(v is None for v in values) else values


def _sort_key(dimension: tuple[str, ...]) -> Callable[[tuple[str, ...]], tuple[Any, ...]]:
    def key(category: tuple[str, ...]) -> tuple[Any, ...]:
        out: list[Any] = []
        for d, v in zip(dimension, category, strict=True):
            order = _ORDER.get(d, ())
            out.append((order.index(v) if v in order else len(order), v))
        return tuple(out)

    return key


def _dimension(
    metric: str,
    dimension: tuple[str, ...],
    rows: Sequence[CandidateRow],
    hit: Callable[[CandidateRow], bool],
    params: AuditParams,
) -> DimensionResult:
    groups: dict[tuple[str, ...], list[int]] = {}
    unknown = unknown_hits = 0
    for row in rows:
        cat = _category(row, dimension)
        if cat is None:
            unknown += 1
            unknown_hits += hit(row)
            continue
        g = groups.setdefault(cat, [0, 0])
        g[0] += 1
        g[1] += hit(row)
    declared = sum(n for n, _ in groups.values())
    enough = declared >= params.min_declared

    def base_status(n: int) -> str:
        if Fraction(n, declared) < params.small_share:
            return "under_2_percent"
        if n < params.min_category:
            return "category_too_small"
        return "ratio"

    eligible = {c: (n, h) for c, (n, h) in groups.items() if base_status(n) == "ratio"}
    reference: tuple[str, ...] | None = None
    best = Fraction(0)
    for c in sorted(eligible, key=_sort_key(dimension)):
        n, h = eligible[c]
        if Fraction(h, n) > best:
            reference, best = c, Fraction(h, n)
    if not enough:
        status = "too_few_declared"
    elif reference is None:
        status = "no_reference"
    else:
        status = "ok"

    results: list[CategoryResult] = []
    for c in sorted(groups, key=_sort_key(dimension)):
        n, h = groups[c]
        share = Fraction(n, declared)
        cs = base_status(n)
        if cs == "ratio" and status != "ok":
            cs = status
        if cs == "ratio":
            ratio = Fraction(h, n) / best
            results.append(CategoryResult(c, n, h, share, cs, ratio, ratio < params.flag_below))
        else:
            results.append(CategoryResult(c, n, h, share, cs))
    return DimensionResult(
        metric=metric,
        dimension=dimension,
        declared=declared,
        unknown=unknown,
        unknown_hits=unknown_hits,
        status=status,
        categories=tuple(results),
        reference=reference if status == "ok" else None,
    )


def compute(
    rows: Iterable[CandidateRow],
    *,
    position: str,
    since: date | None = None,
    until: date | None = None,
    params: AuditParams | None = None,
) -> BiasAudit:
    """The audit of ``rows`` (one position, one period: the caller chose them)."""
    params = params or AuditParams()
    every = list(rows)
    audited = [r for r in every if r.stage not in params.excluded_stages]
    scored = [r for r in audited if r.overall is not None]
    median = statistics.median(r.overall for r in scored if r.overall is not None) if scored else None

    def selected(r: CandidateRow) -> bool:
        return bool(r.advanced) or r.stage in params.selected_stages

    def above(r: CandidateRow) -> bool:
        return median is not None and r.overall is not None and r.overall > median

    return BiasAudit(
        position=position,
        since=since,
        until=until,
        params=params,
        candidates=len(audited),
        excluded=len(every) - len(audited),
        declared=sum(any(getattr(r, d) is not None for d in ("sex", "age_band", "region")) for r in audited),
        selected=sum(map(selected, audited)),
        scored=len(scored),
        median=median,
        selection=tuple(_dimension("selection", d, audited, selected, params) for d in DIMENSIONS),
        scoring=tuple(_dimension("scoring", d, scored, above, params) for d in DIMENSIONS),
    )


def load_rows(
    s: Session, *, position_id: int, start: datetime | None = None, end: datetime | None = None
) -> list[CandidateRow]:
    """The applications to a position created in ``[start, end)``, each with its round-1 overall
    score and its declaration (the only reader of ``demographics``)."""
    q = (
        select(
            Application.id,
            Application.stage,
            Application.next_round_at.is_not(None),
            Interview.overall,
            Demographic.sex,
            Demographic.age_band,
            Demographic.region,
        )
        .outerjoin(Interview, and_(Interview.application_id == Application.id, Interview.round == 1))
        .outerjoin(Demographic, Demographic.application_id == Application.id)
        .where(Application.position_id == position_id)
        .order_by(Application.id)
    )
    if start is not None:
        q = q.where(Application.created_at >= start)
    if end is not None:
        q = q.where(Application.created_at < end)
    return [
        CandidateRow(application_id=i, stage=st, overall=o, sex=sx, age_band=ab, region=rg, advanced=adv)
        for i, st, adv, o, sx, ab, rg in s.execute(q)
    ]


# --------------------------------------------------------------------------- labels
_L: Mapping[str, tuple[str, str]] = {
    "title": ("偏差审计（纽约市第 144 号地方法规方法）", "Bias audit (NYC Local Law 144 method)"),
    "position": ("岗位", "Position"),
    "period": ("期间", "Period"),
    "all_time": ("全部", "all time"),
    "to": ("至", "to"),
    "summary": (
        "审计候选人 {n} 名（另有 {x} 名处于 {xs} 阶段，不计入），其中 {d} 名申报了至少一项人口信息；"
        "被选中 {s} 名（阶段：{ss}）；有面试得分 {k} 名，得分中位数 {m}。",
        "{n} candidates audited ({x} more at stage {xs}, not counted); {d} declared at least one field; "
        "{s} selected (stages: {ss}); {k} with an interview score, median {m}.",
    ),
    "rules": (
        "影响比 = 该类别比率 ÷ 最高类别比率，低于 {f} 标记 ⚠。占申报人数不足 {p} 的类别列出但不参与影响比；"
        "某维度申报人数少于 {md}、或类别人数少于 {mc} 时不计算影响比。未申报者单列，不算作类别。"
        "人口信息为候选人自愿申报，从不用于评分。",
        "Impact ratio = the category's rate ÷ the highest category's rate; below {f} flagged ⚠. A category "
        "under {p} of those who declared is listed but takes no part in the ratios; no ratios when fewer "
        "than {md} declared a dimension or a category has fewer than {mc}. Not declared is listed apart, "
        "never as a category. Demographic data is self-declared and never used in scoring.",
    ),
    "selection": ("选择率", "Selection rate"),
    "scoring": ("评分率（高于中位数的比例）", "Scoring rate (share above the median)"),
    "selection_short": ("选择率", "selection"),
    "scoring_short": ("评分率", "scoring"),
    "sex": ("性别", "sex"),
    "age_band": ("年龄段", "age band"),
    "region": ("地区", "region"),
    "declared_unknown": ("已申报 {d}，未申报 {u}", "declared {d}, not declared {u}"),
    "category": ("类别", "category"),
    "candidates": ("人数", "n"),
    "hits_selection": ("选中", "selected"),
    "hits_scoring": ("高于中位数", "above median"),
    "rate": ("比率", "rate"),
    "ratio": ("影响比", "impact ratio"),
    "unknown": ("未申报", "not declared"),
    "unknown_note": ("单列，不计入", "listed apart"),
    "under_2_percent": ("不足 2%，不计", "under 2%, excluded"),
    "category_too_small": ("人数过少，不计", "too few, no ratio"),
    "too_few_declared": (
        "申报人数不足 {md}，不计算影响比",
        "fewer than {md} declared: no impact ratios",
    ),
    "no_reference_selection": (
        "参与比较的类别中无人被选中，无法计算影响比",
        "no one selected in the compared categories: no ratios",
    ),
    "no_reference_scoring": (
        "参与比较的类别中无人高于中位数，无法计算影响比",
        "no one above the median in the compared categories: no ratios",
    ),
    "no_scores": ("（无面试得分）", "(no interview scores)"),
    "flag_summary": ("影响比低于 {f} 的类别：{n} 个", "Categories with an impact ratio below {f}: {n}"),
    "none_flagged": ("没有影响比低于 {f} 的类别。", "No category has an impact ratio below {f}."),
    "chart_title": ("影响比 — {pos}，{period}", "Impact ratios — {pos}, {period}"),
    "chart_line": ("{f}（五分之四规则）", "{f} (four-fifths rule)"),
    "chart_below": ("（低于 {f}）", " (below {f})"),
    "chart_empty": ("样本不足：没有可计算的影响比", "Too few candidates: no impact ratio to show"),
    "not_available": ("无", "n/a"),
    "female": ("女", "female"),
    "male": ("男", "male"),
    "other": ("其他", "other"),
    "under_25": ("25 岁以下", "under 25"),
    "25_34": ("25–34 岁", "25–34"),
    "35_44": ("35–44 岁", "35–44"),
    "45_54": ("45–54 岁", "45–54"),
    "55_plus": ("55 岁及以上", "55 and over"),
}


def _t(key: str, language: str, **values: object) -> str:
    zh, en = _L[key]
    text = zh if language == "zh" else en
    return text.format(**values) if values else text


def _dim_label(dimension: tuple[str, ...], language: str) -> str:
    return " × ".join(_t(d, language) for d in dimension)


def _cat_label(dimension: tuple[str, ...], category: tuple[str, ...], language: str) -> str:
    parts = [
        _t(v, language) if d in _ORDER and v in _L else v for d, v in zip(dimension, category, strict=True)
    ]
    return " × ".join(parts)


def _pct(x: Fraction | None) -> str:
    return "—" if x is None else f"{float(x) * 100:.1f}%"


def _ratio(x: Fraction | None) -> str:
    return "—" if x is None else f"{float(x):.2f}"


def _period(audit: BiasAudit, language: str) -> str:
    if audit.since is None and audit.until is None:
        return _t("all_time", language)
    a = audit.since.isoformat() if audit.since else "…"
    b = audit.until.isoformat() if audit.until else "…"
    return f"{a} {_t('to', language)} {b}"


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")


# --------------------------------------------------------------------------- text
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _note(d: DimensionResult, c: CategoryResult, language: str) -> str:
    if c.status in ("under_2_percent", "category_too_small"):
        return _t(c.status, language)
    if c.flagged:
        return "⚠"
    return ""


def to_text(audit: BiasAudit, *, language: str) -> str:
    """A plain-text report for the terminal or a chat message."""
    _check_language(language)
    p = audit.params
    L = language
    lines = [
        _t("title", L),
        f"{_t('position', L)}: {audit.position}    {_t('period', L)}: {_period(audit, L)}",
        "",
        _t(
            "summary",
            L,
            n=audit.candidates,
            x=audit.excluded,
            xs="/".join(sorted(p.excluded_stages)),
            d=audit.declared,
            s=audit.selected,
            ss="、".join(sorted(p.selected_stages)) if L == "zh" else ", ".join(sorted(p.selected_stages)),
            k=audit.scored,
            m=_t("not_available", L) if audit.median is None else f"{audit.median:.1f}",
        ),
        _t(
            "rules",
            L,
            f=f"{float(p.flag_below):.2f}",
            p=f"{float(p.small_share) * 100:g}%",
            md=p.min_declared,
            mc=p.min_category,
        ),
    ]
    flagged = audit.flagged
    lines.append(
        _t("flag_summary", L, f=f"{float(p.flag_below):.2f}", n=len(flagged))
        if flagged
        else _t("none_flagged", L, f=f"{float(p.flag_below):.2f}")
    )
    for metric, dims in (("selection", audit.selection), ("scoring", audit.scoring)):
        lines += ["", f"== {_t(metric, L)} =="]
        if metric == "scoring" and audit.scored == 0:
            lines.append(_t("no_scores", L))
            continue
        for d in dims:
            counts = _t("declared_unknown", L, d=d.declared, u=d.unknown)
            lines += [
                "",
                f"{_dim_label(d.dimension, L)}（{counts}）"
                if L == "zh"
                else f"{_dim_label(d.dimension, L)} ({counts})",
            ]
            if d.status == "too_few_declared":
                lines.append("  " + _t("too_few_declared", L, md=p.min_declared))
            elif d.status == "no_reference":
                lines.append("  " + _t(f"no_reference_{metric}", L))
            if not d.categories and not d.unknown:
                continue
            header = [
                _t("category", L),
                _t("candidates", L),
                _t(f"hits_{metric}", L),
                _t("rate", L),
                _t("ratio", L),
            ]
            table = [header]
            notes = [""]
            for c in d.categories:
                table.append(
                    [
                        _cat_label(d.dimension, c.category, L),
                        str(c.candidates),
                        str(c.hits),
                        _pct(c.rate),
                        _ratio(c.ratio),
                    ]
                )
                notes.append(_note(d, c, L))
            if d.unknown:
                table.append(
                    [_t("unknown", L), str(d.unknown), str(d.unknown_hits), _pct(d.unknown_rate), "—"]
                )
                notes.append(_t("unknown_note", L))
            widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
            for row, note in zip(table, notes, strict=True):
                cells = [_pad(row[0], widths[0])] + [
                    _pad(v, w, right=True) for v, w in zip(row[1:], widths[1:], strict=True)
                ]
                lines.append(("  " + "  ".join(cells) + ("  " + note if note else "")).rstrip())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- csv and json
CSV_COLUMNS = (
    "position",
    "period_start",
    "period_end",
    "metric",
    "dimension",
    "category",
    "candidates",
    "hits",
    "rate",
    "impact_ratio",
    "share_of_declared",
    "status",
    "flagged",
)


def _rows(audit: BiasAudit) -> Iterable[dict[str, Any]]:
    base = {
        "position": audit.position,
        "period_start": audit.since.isoformat() if audit.since else "",
        "period_end": audit.until.isoformat() if audit.until else "",
    }
    for d in audit.dimensions:
        for c in d.categories:
            yield {
                **base,
                "metric": d.metric,
                "dimension": d.name,
                "category": "×".join(c.category),
                "candidates": c.candidates,
                "hits": c.hits,
                "rate": round(float(c.rate), 4),
                "impact_ratio": None if c.ratio is None else round(float(c.ratio), 4),
                "share_of_declared": round(float(c.share), 4),
                "status": c.status,
                "flagged": c.flagged,
            }
        if d.unknown:
            yield {
                **base,
                "metric": d.metric,
                "dimension": d.name,
                "category": "unknown",
                "candidates": d.unknown,
                "hits": d.unknown_hits,
                "rate": None if d.unknown_rate is None else round(float(d.unknown_rate), 4),
                "impact_ratio": None,
                "share_of_declared": None,
                "status": "not_declared",
                "flagged": False,
            }


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value  # a declared region is free text: Excel must not run it as a formula
    return value


def to_csv(audit: BiasAudit) -> bytes:
    """One row per metric × dimension × category (and one "unknown" row per dimension that has any),
    columns :data:`CSV_COLUMNS`; UTF-8 with a BOM so that Excel reads the Chinese right. Empty cells
    mean "not computed"; ``status`` says why."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for row in _rows(audit):
        w.writerow({k: _cell(v) for k, v in row.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_json(audit: BiasAudit) -> dict[str, Any]:
    """A JSON-ready dict: the inputs' counts, the parameters and one entry per metric × dimension."""
    return {
        "schema": SCHEMA,
        "method": audit.method,
        "position": audit.position,
        "period": {
            "start": audit.since.isoformat() if audit.since else None,
            "end": audit.until.isoformat() if audit.until else None,
        },
        "params": audit.params.to_dict(),
        "counts": audit.counts(),
        "median_overall": audit.median,
        "dimensions": [
            {
                "metric": d.metric,
                "dimension": d.name,
                "declared": d.declared,
                "status": d.status,
                "reference": "×".join(d.reference) if d.reference else None,
                "unknown": {
                    "candidates": d.unknown,
                    "hits": d.unknown_hits,
                    "rate": None if d.unknown_rate is None else round(float(d.unknown_rate), 4),
                },
                "categories": [
                    {
                        "category": "×".join(c.category),
                        "candidates": c.candidates,
                        "hits": c.hits,
                        "rate": round(float(c.rate), 4),
                        "impact_ratio": None if c.ratio is None else round(float(c.ratio), 4),
                        "share_of_declared": round(float(c.share), 4),
                        "status": c.status,
                        "flagged": c.flagged,
                    }
                    for c in d.categories
                ],
            }
            for d in audit.dimensions
        ],
    }


def to_json_bytes(audit: BiasAudit) -> bytes:
    return json.dumps(to_json(audit), ensure_ascii=False, indent=2).encode("utf-8")


# --------------------------------------------------------------------------- chart
_BAR = "#1f5fa8"
_FLAG = "#c0392b"
_LINE = "#8a94a3"
_TEXT = "#1d2633"
CHART_WIDTH = 8.0
CHART_DPI = 120


def to_png(audit: BiasAudit, *, language: str) -> bytes:
    """A horizontal bar chart of every computed impact ratio (flagged ones in red) with the 0.8 line;
    labels in ``language`` (Chinese needs the report module's font: :class:`scoring.report.FontMissing`
    otherwise). The same audit always gives the same bytes."""
    _check_language(language)

    from scoring.report import chart, chart_weights, png_bytes

    bars: list[tuple[str, float, bool]] = []
    for d in audit.dimensions:
        for c in d.categories:
            if c.ratio is not None:
                label = (
                    f"{_t(d.metric + '_short', language)} · {_dim_label(d.dimension, language)} · "
                    f"{_cat_label(d.dimension, c.category, language)}"
                )
                bars.append((label, float(c.ratio), c.flagged))
    flag = float(audit.params.flag_below)
    # a region is free text: Chinese names need the Chinese font in an English chart too
    latin = all(ch.isascii() or ch in "·×–—" for label, _, _ in bars for ch in label)
    font = language if latin else "zh"
    _, title_weight = chart_weights(font)
    height = 1.2 + 0.32 * max(len(bars), 3)
    with chart(font, inches=(CHART_WIDTH, height), dpi=CHART_DPI) as fig:
        ax = fig.add_axes((0.42, 0.45 / height, 0.54, 1 - 1.1 / height))
        title = _t("chart_title", language, pos=audit.position, period=_period(audit, language))
        fig.text(
            0.5,
            1 - 0.15 / height,
            title,
            ha="center",
            va="top",
            fontsize=12,
            color=_TEXT,
            fontweight=title_weight,
        )
        ax.set_xlim(0, 1.25)
        if bars:
            ys = list(range(len(bars)))[::-1]
            ax.barh(
                ys,
                [b[1] for b in bars],
                color=[_FLAG if b[2] else _BAR for b in bars],
                height=0.62,
                zorder=3,
            )
            for y, (_, value, flagged) in zip(ys, bars, strict=True):
                note = _t("chart_below", language, f=f"{flag:.1f}") if flagged else ""
                ax.text(
                    value + 0.01,
                    y,
                    f"{value:.2f}{note}",
                    va="center",
                    fontsize=8,
                    color=_FLAG if flagged else _TEXT,
                    zorder=5,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
                )
            ax.set_yticks(ys, [b[0] for b in bars], fontsize=8)
            ax.set_ylim(-0.7, len(bars) - 0.3)
        else:
            ax.set_yticks([])
            ax.set_ylim(0, 1)
            ax.text(
                0.56,
                0.5,
                _t("chart_empty", language),
                ha="center",
                va="center",
                fontsize=11,
                color=_LINE,
                zorder=5,
                bbox={"fc": "white", "ec": "none"},
            )
        ax.axvline(flag, color=_FLAG, ls=(0, (4, 3)), lw=1.2, zorder=4)
        ax.text(
            flag,
            1.0,
            _t("chart_line", language, f=f"{flag:.1f}"),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color=_FLAG,
        )
        ax.set_xticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#e3e8ef", lw=0.6, zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return png_bytes(fig, dpi=CHART_DPI)
