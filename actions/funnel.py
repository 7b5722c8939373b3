"""The recruiting funnel of a position — or of every position an HR user looks after — for a period.

Applications created in the period (``[since, until]``, whole days in the bank's time zone) pass the
steps invited → booked → interviewed → above threshold → next round → offer → hired. A step counts
the applications that reached it *or a later one* (the milestone columns of migration 0005; an
``anytime`` position books no slot, so its interviewed candidates count as booked), and a milestone
stays set after a later rejection, so the whole funnel is one aggregate.

* **above threshold**: interviewed, with an effective score (``score_override`` when HR set one, else
  the ``overall`` of the latest completed interview) at or above the position's *current* threshold.
  A position without a threshold has no such step ("not set"); over several positions where only
  some have one, the step covers those (``threshold_status == "partial"``) and next round is then
  measured against interviewed. HR may invite a candidate below the threshold to the next round, so
  next round can exceed above threshold: ``next_round_below_threshold`` says by how many.
* **step rate**: the step's count ÷ the previous step's; **conversion**: the step's count ÷ invited.
* **distribution**: the effective scores of the interviewed, hired vs not hired ("not hired" includes
  candidates still in the process), in 10-point bins (90–100 is the last).
* **threshold suggestion**: the highest whole-number threshold that still keeps at least
  :attr:`FunnelParams.keep_hired` (90 %) of the hired candidates with a score — so it passes as few of
  the not hired as that allows — with the counts it rests on and the same counts at the current
  threshold. With fewer than :attr:`FunnelParams.min_hired` (5) hired candidates with a score there
  is no suggestion, and the report says so instead of a number.

:func:`load_counts` is the one database read: one aggregate query grouped by (whole score point,
hired), at most 2 × 102 rows whatever the number of applications; everything after it is a pure
function of those rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from storage.accounts import in_scope
from storage.models import Application, Interview, Position, User

__all__ = [
    "METHOD",
    "SCHEMA",
    "STEPS",
    "Bin",
    "Funnel",
    "FunnelCounts",
    "FunnelParams",
    "Step",
    "Suggestion",
    "compute",
    "funnel",
    "load_counts",
    "period_bounds",
    "positions_for",
    "render_png",
    "render_text",
    "to_csv",
    "to_json",
    "to_json_bytes",
]

METHOD = "funnel/1"
SCHEMA = "talentbot.funnel/1"
STEPS = ("invited", "booked", "interviewed", "above_threshold", "next_round", "offer", "hired")
BIN_WIDTH = 10
LANGUAGES = ("zh", "en")


@dataclass(frozen=True, slots=True)
class FunnelParams:
    keep_hired: Fraction = Fraction(9, 10)  # share of the hired a suggested threshold must keep
    min_hired: int = 5  # hired candidates with a score needed before suggesting anything

    def to_dict(self) -> dict[str, Any]:
        return {"keep_hired": float(self.keep_hired), "min_hired": self.min_hired, "bin_width": BIN_WIDTH}


@dataclass(frozen=True, slots=True)
class FunnelCounts:
    """What :func:`load_counts` reads: the counts of the period's applications and, per whole score
    point (0–100) of the interviewed, how many were hired and how many not."""

    invited: int = 0
    booked: int = 0
    interviewed: int = 0
    thresholded: int = 0  # interviewed, at a position with a threshold
    above: int = 0
    next_round: int = 0
    next_round_below: int = 0  # reached the next round with no score or one below the threshold
    offer: int = 0
    hired: int = 0
    rejected: int = 0
    withdrawn: int = 0
    hired_above: int = 0  # hired and above the threshold
    points: Mapping[int, tuple[int, int]] = field(default_factory=dict)  # point → (hired, not hired)

    @property
    def scored(self) -> int:
        return sum(h + n for h, n in self.points.values())


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # one of STEPS
    count: int | None  # None: not computed (no threshold set)
    rate: Fraction | None  # of the previous step (None: not computed, or the previous step is 0)
    conversion: Fraction | None  # of invited


@dataclass(frozen=True, slots=True)
class Bin:
    low: int  # 0, 10, … 90
    hired: int
    not_hired: int

    @property
    def high(self) -> int:
        return 100 if self.low == 100 - BIN_WIDTH else self.low + BIN_WIDTH - 1

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}"


@dataclass(frozen=True, slots=True)
class Suggestion:
    status: str  # ok | too_few_hired
    hired: int  # hired candidates with a score
    not_hired: int  # interviewed, not hired, with a score
    needed: int  # hired candidates the suggestion must keep
    threshold: int | None = None
    hired_kept: int | None = None
    not_hired_passed: int | None = None
    current: float | None = None  # the position's threshold (one position, or one shared by all)
    current_hired_kept: int | None = None  # at the current threshold(s); None when not every one is set
    current_not_hired_passed: int | None = None


@dataclass(frozen=True, slots=True)
class Funnel:
    positions: tuple[str, ...]
    thresholds: tuple[tuple[str, float | None], ...]  # (position code, its threshold) per position
    since: date | None
    until: date | None
    params: FunnelParams
    steps: tuple[Step, ...]
    rejected: int
    withdrawn: int
    scored: int  # interviewed with an effective score
    next_round_below_threshold: int
    bins: tuple[Bin, ...]
    suggestion: Suggestion
    method: str = METHOD

    @property
    def threshold_status(self) -> str:
        """set (every position has a threshold) | not_set (none has) | partial."""
        have = [t is not None for _, t in self.thresholds]
        if have and all(have):
            return "set"
        return "partial" if any(have) else "not_set"

    @property
    def unset(self) -> tuple[str, ...]:
        return tuple(code for code, t in self.thresholds if t is None)

    def step(self, key: str) -> Step:
        return self.steps[STEPS.index(key)]

    def counts(self) -> dict[str, Any]:
        """The inputs' counts, for the audit log."""
        return {
            **{s.key: s.count for s in self.steps},
            "rejected": self.rejected,
            "withdrawn": self.withdrawn,
            "scored": self.scored,
            "suggested_threshold": self.suggestion.threshold,
        }


# --------------------------------------------------------------------------- the read
_a = Application.__table__
_p = Position.__table__
_i = Interview.__table__


def _latest_completed() -> Any:
    """(application_id, overall) of each application's latest completed interview."""
    iv, later = _i.alias("iv"), _i.alias("later")
    newer = (
        select(later.c.id)
        .where(
            later.c.application_id == iv.c.application_id,
            later.c.status == "completed",
            later.c.round > iv.c.round,
        )
        .exists()
    )
    return select(iv.c.application_id, iv.c.overall).where(iv.c.status == "completed", ~newer).subquery()


def _floor(x: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    # SQLite's CAST truncates (the floor of a non-negative score); PostgreSQL's rounds, so floor first
    return cast(x, Integer) if dialect == "sqlite" else cast(func.floor(x), Integer)


def _any_set(*cols: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(*(c.is_not(None) for c in cols))


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return case((cond, 1), else_=0)


def statement(
    position_ids: Sequence[int], *, start: datetime | None, end: datetime | None, dialect: str
) -> Any:
    """The aggregate: one row per (whole score point or NULL, hired 0/1) with every step's count."""
    latest = _latest_completed()
    eff = func.coalesce(_a.c.score_override, latest.c.overall)
    thr = _p.c.threshold
    hired = _a.c.hired_at.is_not(None)
    offer = _any_set(_a.c.offer_at, _a.c.hired_at)
    next_round = _any_set(_a.c.next_round_at, _a.c.offer_at, _a.c.hired_at)
    interviewed = _any_set(
        _a.c.interviewed_at, _a.c.shortlisted_at, _a.c.next_round_at, _a.c.offer_at, _a.c.hired_at
    )
    booked = or_(_a.c.booked_at.is_not(None), interviewed)
    above = and_(interviewed, thr.is_not(None), eff >= thr)
    rows = (
        select(
            case((and_(interviewed, eff.is_not(None)), _floor(eff, dialect)), else_=None).label("point"),
            _flag(hired).label("hired"),
            _flag(booked).label("booked"),
            _flag(interviewed).label("interviewed"),
            _flag(and_(interviewed, thr.is_not(None))).label("thresholded"),
            _flag(above).label("above"),
            _flag(next_round).label("next_round"),
            _flag(and_(next_round, thr.is_not(None), or_(eff.is_(None), eff < thr))).label("nr_below"),
            _flag(offer).label("offer"),
            _flag(_a.c.rejected_at.is_not(None)).label("rejected"),
            _flag(_a.c.stage == "withdrawn").label("withdrawn"),
        )
        .select_from(
            _a.join(_p, _p.c.id == _a.c.position_id).outerjoin(latest, latest.c.application_id == _a.c.id)
        )
        .where(_a.c.position_id.in_(list(position_ids)))
    )
    if start is not None:
        rows = rows.where(_a.c.created_at >= start)
    if end is not None:
        rows = rows.where(_a.c.created_at < end)
    r = rows.subquery("r")
    sums = [
        func.sum(r.c[name])
        for name in (
            "booked",
            "interviewed",
            "thresholded",
            "above",
            "next_round",
            "nr_below",
            "offer",
            "rejected",
            "withdrawn",
        )
    ]
    return select(r.c.point, r.c.hired, func.count(), *sums).group_by(r.c.point, r.c.hired)


def load_counts(
    s: Session, *, position_ids: Sequence[int], start: datetime | None = None, end: datetime | None = None
) -> FunnelCounts:
    """The counts of the applications to ``position_ids`` created in ``[start, end)``."""
    dialect = s.get_bind().dialect.name
    totals = dict.fromkeys(
        (
            "invited",
            "booked",
            "interviewed",
            "thresholded",
            "above",
            "next_round",
            "next_round_below",
            "offer",
            "hired",
            "rejected",
            "withdrawn",
            "hired_above",
        ),
        0,
    )
    points: dict[int, list[int]] = {}
    stmt = statement(position_ids, start=start, end=end, dialect=dialect)
    for point, hired, n, *rest in s.execute(stmt):
        booked, interviewed, thresholded, above, nr, nr_below, offer, rejected, withdrawn = (
            int(x or 0) for x in rest
        )
        totals["invited"] += n
        totals["booked"] += booked
        totals["interviewed"] += interviewed
        totals["thresholded"] += thresholded
        totals["above"] += above
        totals["next_round"] += nr
        totals["next_round_below"] += nr_below
        totals["offer"] += offer
        totals["rejected"] += rejected
        totals["withdrawn"] += withdrawn
        if hired:
            totals["hired"] += n
            totals["hired_above"] += above
        if point is not None:
            cell = points.setdefault(max(0, min(100, int(point))), [0, 0])
            cell[0 if hired else 1] += n
    return FunnelCounts(**totals, points={p: (h, x) for p, (h, x) in sorted(points.items())})


# --------------------------------------------------------------------------- computing
def _ratio(num: int | None, den: int | None) -> Fraction | None:
    if num is None or not den:
        return None
    return Fraction(num, den)


def _suggest(
    counts: FunnelCounts, params: FunnelParams, thresholds: Sequence[float | None], all_set: bool
) -> Suggestion:
    hired = sum(h for h, _ in counts.points.values())
    not_hired = sum(n for _, n in counts.points.values())
    k = params.keep_hired
    needed = -(-k.numerator * hired // k.denominator)  # ceil(keep × hired)
    distinct = {t for t in thresholds if t is not None}
    current = next(iter(distinct)) if len(distinct) == 1 and all_set else None
    cur_kept = counts.hired_above if all_set else None
    cur_passed = counts.above - counts.hired_above if all_set else None
    base = Suggestion(
        status="too_few_hired",
        hired=hired,
        not_hired=not_hired,
        needed=needed,
        current=current,
        current_hired_kept=cur_kept,
        current_not_hired_passed=cur_passed,
    )
    if hired < params.min_hired:
        return base
    kept = 0
    best = 0
    for point in sorted(counts.points, reverse=True):
        kept += counts.points[point][0]
        if kept >= needed:
            best = point
            break
    passed = sum(n for p, (_, n) in counts.points.items() if p >= best)
    return replace(base, status="ok", threshold=best, hired_kept=kept, not_hired_passed=passed)


def compute(
    counts: FunnelCounts,
    *,
    positions: Sequence[tuple[str, float | None]],
    since: date | None = None,
    until: date | None = None,
    params: FunnelParams | None = None,
) -> Funnel:
    """The funnel of ``counts`` read for ``positions`` ((code, threshold) each) over the period."""
    params = params or FunnelParams()
    thresholds = tuple((code, t) for code, t in positions)
    have = [t is not None for _, t in thresholds]
    all_set = bool(have) and all(have)
    any_set = any(have)
    c = counts
    above = c.above if any_set else None
    values: dict[str, int | None] = {
        "invited": c.invited,
        "booked": c.booked,
        "interviewed": c.interviewed,
        "above_threshold": above,
        "next_round": c.next_round,
        "offer": c.offer,
        "hired": c.hired,
    }
    bases: dict[str, int | None] = {
        "invited": None,
        "booked": c.invited,
        "interviewed": c.booked,
        "above_threshold": c.thresholded if any_set else None,
        "next_round": c.above if all_set else c.interviewed,
        "offer": c.next_round,
        "hired": c.offer,
    }
    steps = tuple(
        Step(
            key=key,
            count=values[key],
            rate=_ratio(values[key], bases[key]),
            conversion=_ratio(values[key], c.invited),
        )
        for key in STEPS
    )
    bins = []
    for low in range(0, 100, BIN_WIDTH):
        cells = [v for p, v in c.points.items() if min(p, 99) // BIN_WIDTH * BIN_WIDTH == low]
        bins.append(Bin(low, sum(h for h, _ in cells), sum(n for _, n in cells)))
    return Funnel(
        positions=tuple(code for code, _ in thresholds),
        thresholds=thresholds,
        since=since,
        until=until,
        params=params,
        steps=steps,
        rejected=c.rejected,
        withdrawn=c.withdrawn,
        scored=c.scored,
        next_round_below_threshold=c.next_round_below if any_set else 0,
        bins=tuple(bins),
        suggestion=_suggest(c, params, [t for _, t in thresholds], all_set),
    )


def period_bounds(
    since: date | None, until: date | None, tz: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` (whole days, both included, in ``tz``) as a half-open ``[start, end)``."""
    if since is not None and until is not None and since > until:
        raise ValueError("since must not be after until")
    start = datetime.combine(since, time.min, tzinfo=tz) if since is not None else None
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz) if until is not None else None
    return start, end


def positions_for(s: Session, user: User) -> list[Position]:
    """Every position (active or not) in ``user``'s scope, by code."""
    return [p for p in s.scalars(select(Position).order_by(Position.code)) if in_scope(user, p)]


def funnel(
    s: Session,
    *,
    positions: Iterable[Position],
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo,
    params: FunnelParams | None = None,
) -> Funnel:
    """Read and compute the funnel of ``positions`` (one, or e.g. :func:`positions_for` a user)."""
    chosen = sorted(positions, key=lambda p: p.code)
    start, end = period_bounds(since, until, tz)
    counts = load_counts(s, position_ids=[p.id for p in chosen], start=start, end=end)
    return compute(
        counts, positions=[(p.code, p.threshold) for p in chosen], since=since, until=until, params=params
    )


# --------------------------------------------------------------------------- labels
_L: Mapping[str, tuple[str, str]] = {
    "title": ("招聘漏斗 · {pos} · {period}", "Funnel · {pos} · {period}"),
    "positions": ("{n} 个岗位", "{n} positions"),
    "all_time": ("全部时间", "all time"),
    "to": ("至", "to"),
    "invited": ("邀请", "Invited"),
    "booked": ("已预约", "Booked"),
    "interviewed": ("已面试", "Interviewed"),
    "above_threshold": ("达到阈值", "Above threshold"),
    "above_threshold_at": ("达到阈值（≥{t} 分）", "Above threshold (≥ {t})"),
    "next_round": ("进入下一轮", "Next round"),
    "offer": ("录用通知", "Offer"),
    "hired": ("入职", "Hired"),
    "not_set": ("未设置阈值", "no threshold set"),
    "not_set_for": ("未设阈值的岗位：{codes}，不计入", "not set for {codes}: not counted"),
    "below_picked": ("其中 {n} 人低于阈值，由 HR 选入", "{n} of them below the threshold, picked by HR"),
    "conversion": (
        "总转化率 {c}（入职 ÷ 邀请）；已拒绝 {r}，已撤回 {w}。",
        "Overall conversion {c} (hired ÷ invited); rejected {r}, withdrawn {w}.",
    ),
    "distribution": ("面试得分分布（入职/未入职）：", "Scores of the interviewed (hired/not hired): "),
    "no_scores": ("暂无面试得分。", "No interview scores yet."),
    "bin": ("{label} 分 {h}/{n}", "{label}: {h}/{n}"),
    "suggest": (
        "建议阈值 {t} 分：能保留至少 {k} 已入职者的最高分数线——保留 {kept}/{hired} 名入职者（{kr}），"
        "通过 {passed}/{nh} 名未入职者（{pr}）。",
        "Suggested threshold {t}: the highest that keeps at least {k} of the hired — it keeps {kept} of "
        "{hired} hired ({kr}) and passes {passed} of {nh} not hired ({pr}).",
    ),
    "current": (
        "当前阈值 {t} 分：保留 {kept}/{hired} 名入职者，通过 {passed}/{nh} 名未入职者。",
        "At the current threshold {t}: {kept} of {hired} hired kept, {passed} of {nh} not hired passed.",
    ),
    "current_many": (
        "按各岗位当前阈值：保留 {kept}/{hired} 名入职者，通过 {passed}/{nh} 名未入职者。",
        "At the positions' current thresholds: {kept} of {hired} hired kept, {passed} of {nh} not hired "
        "passed.",
    ),
    "too_few": (
        "已入职且有得分者仅 {n} 人（至少需 {m} 人），数据太少，暂不建议阈值。",
        "Too few hired candidates to suggest a threshold ({n} with a score; {m} needed).",
    ),
    "chart_funnel": ("漏斗", "Funnel"),
    "chart_scores": ("面试得分分布", "Interview scores"),
    "chart_hired": ("入职", "hired"),
    "chart_not_hired": ("未入职", "not hired"),
    "chart_current": ("当前阈值 {t}", "current threshold {t}"),
    "chart_suggested": ("建议阈值 {t}", "suggested {t}"),
    "chart_count": ("人数", "candidates"),
    "chart_score": ("得分", "score"),
}


def _t(key: str, lang: str, **values: object) -> str:
    zh, en = _L[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")


def _pct(x: Fraction | None) -> str:
    return "—" if x is None else f"{float(x) * 100:.1f}%"


def _num(x: float) -> str:
    return f"{x:g}"


def _label(result: Funnel, lang: str) -> str:
    if len(result.positions) <= 4:
        return ", ".join(result.positions) or "—"
    return _t("positions", lang, n=len(result.positions))


def _period(result: Funnel, lang: str) -> str:
    if result.since is None and result.until is None:
        return _t("all_time", lang)
    a = result.since.isoformat() if result.since else "…"
    b = result.until.isoformat() if result.until else "…"
    return f"{a} {_t('to', lang)} {b}"


def _step_name(result: Funnel, key: str, lang: str) -> str:
    if (
        key == "above_threshold"
        and result.threshold_status == "set"
        and result.suggestion.current is not None
    ):
        return _t("above_threshold_at", lang, t=_num(result.suggestion.current))
    return _t(key, lang)


# --------------------------------------------------------------------------- text
def render_text(result: Funnel, lang: str) -> str:
    """A short chat reply: one line per step with its rate, the conversion, the score distribution
    (non-empty bins only) and the threshold suggestion with the numbers behind it."""
    _check_language(lang)
    zh = lang == "zh"
    lines = [_t("title", lang, pos=_label(result, lang), period=_period(result, lang))]
    for i, step in enumerate(result.steps):
        name = _step_name(result, step.key, lang)
        arrow = "" if i == 0 else "→ "
        if step.count is None:
            lines.append(
                f"{arrow}{name}：{_t('not_set', lang)}" if zh else f"{arrow}{name}: {_t('not_set', lang)}"
            )
            continue
        notes = [] if i == 0 else [_pct(step.rate)]
        if step.key == "above_threshold" and result.threshold_status == "partial":
            notes.append(_t("not_set_for", lang, codes=("、" if zh else ", ").join(result.unset)))
        if step.key == "next_round" and result.next_round_below_threshold:
            notes.append(_t("below_picked", lang, n=result.next_round_below_threshold))
        note = ("（" + "；".join(notes) + "）" if zh else " (" + "; ".join(notes) + ")") if notes else ""
        lines.append(f"{arrow}{name} {step.count}{note}")
    lines.append(
        _t(
            "conversion",
            lang,
            c=_pct(result.step("hired").conversion),
            r=result.rejected,
            w=result.withdrawn,
        )
    )
    shown = [b for b in result.bins if b.hired or b.not_hired]
    if shown:
        sep = "；" if zh else "; "
        lines.append(
            _t("distribution", lang)
            + sep.join(_t("bin", lang, label=b.label, h=b.hired, n=b.not_hired) for b in shown)
        )
    else:
        lines.append(_t("no_scores", lang))
    sg = result.suggestion
    if sg.status == "ok":
        lines.append(
            _t(
                "suggest",
                lang,
                t=sg.threshold,
                k=_pct(result.params.keep_hired).replace(".0%", "%"),
                kept=sg.hired_kept,
                hired=sg.hired,
                kr=_pct(_ratio(sg.hired_kept, sg.hired)),
                passed=sg.not_hired_passed,
                nh=sg.not_hired,
                pr=_pct(_ratio(sg.not_hired_passed, sg.not_hired)),
            )
        )
    else:
        lines.append(_t("too_few", lang, n=sg.hired, m=result.params.min_hired))
    if sg.current_hired_kept is not None and sg.current_not_hired_passed is not None:
        values = {
            "kept": sg.current_hired_kept,
            "hired": sg.hired,
            "passed": sg.current_not_hired_passed,
            "nh": sg.not_hired,
        }
        if sg.current is not None:
            lines.append(_t("current", lang, t=_num(sg.current), **values))
        else:
            lines.append(_t("current_many", lang, **values))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- csv and json
CSV_COLUMNS = (
    "positions",
    "period_start",
    "period_end",
    "section",
    "item",
    "count",
    "rate",
    "conversion",
    "hired",
    "not_hired",
    "value",
    "status",
)


def _f(x: Fraction | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _csv_rows(result: Funnel) -> Iterable[dict[str, Any]]:
    base = {
        "positions": " ".join(result.positions),
        "period_start": result.since.isoformat() if result.since else "",
        "period_end": result.until.isoformat() if result.until else "",
    }
    for step in result.steps:
        status = result.threshold_status if step.key == "above_threshold" else "ok"
        yield {
            **base,
            "section": "step",
            "item": step.key,
            "count": step.count,
            "rate": _f(step.rate),
            "conversion": _f(step.conversion),
            "status": status,
        }
    for item, n in (
        ("rejected", result.rejected),
        ("withdrawn", result.withdrawn),
        ("scored", result.scored),
        ("next_round_below_threshold", result.next_round_below_threshold),
    ):
        yield {**base, "section": "outcome", "item": item, "count": n}
    for code, t in result.thresholds:
        yield {
            **base,
            "section": "threshold",
            "item": code,
            "value": t,
            "status": "set" if t is not None else "not_set",
        }
    for b in result.bins:
        yield {
            **base,
            "section": "score_bin",
            "item": f"{b.low}-{b.high}",
            "hired": b.hired,
            "not_hired": b.not_hired,
        }
    sg = result.suggestion
    yield {
        **base,
        "section": "suggestion",
        "item": "suggested_threshold",
        "value": sg.threshold,
        "hired": sg.hired_kept,
        "not_hired": sg.not_hired_passed,
        "status": sg.status,
    }
    yield {
        **base,
        "section": "suggestion",
        "item": "current_threshold",
        "value": sg.current,
        "hired": sg.current_hired_kept,
        "not_hired": sg.current_not_hired_passed,
        "status": result.threshold_status,
    }
    yield {
        **base,
        "section": "suggestion",
        "item": "scored_total",
        "hired": sg.hired,
        "not_hired": sg.not_hired,
        "status": "ok",
    }


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def to_csv(result: Funnel) -> bytes:
    """Long format, columns :data:`CSV_COLUMNS`: the steps, the outcomes, each position's threshold,
    the score bins and the suggestion; UTF-8 with a BOM so that Excel reads it right. Empty cells mean
    "not computed"; ``status`` says why."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n", restval="")
    w.writeheader()
    for row in _csv_rows(result):
        w.writerow({k: _cell(v) for k, v in row.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_json(result: Funnel) -> dict[str, Any]:
    """A JSON-ready dict (the API's funnel document)."""
    sg = result.suggestion
    return {
        "schema": SCHEMA,
        "method": result.method,
        "positions": [{"code": code, "threshold": t} for code, t in result.thresholds],
        "period": {
            "since": result.since.isoformat() if result.since else None,
            "until": result.until.isoformat() if result.until else None,
        },
        "params": result.params.to_dict(),
        "threshold_status": result.threshold_status,
        "steps": [
            {"step": s.key, "count": s.count, "rate": _f(s.rate), "conversion": _f(s.conversion)}
            for s in result.steps
        ],
        "outcomes": {
            "rejected": result.rejected,
            "withdrawn": result.withdrawn,
            "scored": result.scored,
            "next_round_below_threshold": result.next_round_below_threshold,
        },
        "distribution": {
            "bin_width": BIN_WIDTH,
            "bins": [
                {"low": b.low, "high": b.high, "hired": b.hired, "not_hired": b.not_hired}
                for b in result.bins
            ],
        },
        "suggestion": {
            "status": sg.status,
            "threshold": sg.threshold,
            "keep_hired": float(result.params.keep_hired),
            "hired_scored": sg.hired,
            "not_hired_scored": sg.not_hired,
            "hired_needed": sg.needed,
            "hired_kept": sg.hired_kept,
            "not_hired_passed": sg.not_hired_passed,
            "current": {
                "threshold": sg.current,
                "hired_kept": sg.current_hired_kept,
                "not_hired_passed": sg.current_not_hired_passed,
            },
        },
    }


def to_json_bytes(result: Funnel) -> bytes:
    return json.dumps(to_json(result), ensure_ascii=False, indent=2).encode("utf-8")


# --------------------------------------------------------------------------- chart
_BAR = "#1f5fa8"
_OTHER = "#b8c2cf"
_FLAG = "#c0392b"
_GOOD = "#2e8b57"
_TEXT = "#1d2633"
CHART_SIZE = (10.0, 4.4)
CHART_DPI = 120


def render_png(result: Funnel, lang: str) -> bytes:
    """The funnel as horizontal bars (count and step rate on each) beside the histogram of the
    interviewed's scores, hired vs not hired, with the current and the suggested threshold marked.
    Chinese labels need the report module's font (:class:`scoring.report.FontMissing` otherwise). The
    same funnel always gives the same bytes."""
    _check_language(lang)
    from matplotlib.ticker import MaxNLocator

    from scoring.report import chart, chart_weights, png_bytes

    weight, title_weight = chart_weights(lang)
    steps = result.steps
    rc = {"axes.titleweight": weight, "axes.labelweight": weight}
    with chart(lang, inches=CHART_SIZE, dpi=CHART_DPI, rc=rc) as fig:
        fig.text(
            0.5,
            0.97,
            _t("title", lang, pos=_label(result, lang), period=_period(result, lang)),
            ha="center",
            va="top",
            fontsize=12,
            color=_TEXT,
            fontweight=title_weight,
        )
        # the funnel
        ax = fig.add_axes((0.17, 0.12, 0.33, 0.72))
        ys = list(range(len(steps)))[::-1]
        top = max([s.count or 0 for s in steps] + [1])
        ax.barh(ys, [s.count or 0 for s in steps], color=_BAR, height=0.62, zorder=3)
        for y, s in zip(ys, steps, strict=True):
            text = _t("not_set", lang) if s.count is None else str(s.count)
            if s.count is not None and s.key != "invited" and s.rate is not None:
                text += f"  {_pct(s.rate)}"
            ax.text((s.count or 0) + top * 0.02, y, text, va="center", fontsize=8, color=_TEXT, zorder=5)
        ax.set_yticks(ys, [_step_name(result, s.key, lang) for s in steps], fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, top * 1.45)
        ax.set_ylim(-0.7, len(steps) - 0.3)
        ax.set_title(_t("chart_funnel", lang), fontsize=10, color=_TEXT)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#e3e8ef", lw=0.6, zorder=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        # the histogram
        hx = fig.add_axes((0.59, 0.12, 0.38, 0.72))
        lows = [b.low for b in result.bins]
        width = BIN_WIDTH * 0.4
        hx.bar(
            [x + BIN_WIDTH * 0.3 for x in lows],
            [b.hired for b in result.bins],
            width=width,
            color=_BAR,
            label=_t("chart_hired", lang),
            zorder=3,
        )
        hx.bar(
            [x + BIN_WIDTH * 0.7 for x in lows],
            [b.not_hired for b in result.bins],
            width=width,
            color=_OTHER,
            label=_t("chart_not_hired", lang),
            zorder=3,
        )
        sg = result.suggestion
        if sg.current is not None:
            hx.axvline(
                sg.current,
                color=_FLAG,
                ls=(0, (4, 3)),
                lw=1.2,
                zorder=4,
                label=_t("chart_current", lang, t=_num(sg.current)),
            )
        if sg.threshold is not None:
            hx.axvline(
                sg.threshold,
                color=_GOOD,
                ls=(0, (1, 2)),
                lw=1.6,
                zorder=4,
                label=_t("chart_suggested", lang, t=sg.threshold),
            )
        hx.yaxis.set_major_locator(MaxNLocator(integer=True))
        hx.set_xlim(0, 100)
        hx.set_xticks(list(range(0, 101, 10)))
        hx.set_xlabel(_t("chart_score", lang), fontsize=8)
        hx.set_ylabel(_t("chart_count", lang), fontsize=8)
        hx.tick_params(labelsize=8)
        hx.set_title(_t("chart_scores", lang), fontsize=10, color=_TEXT)
        hx.legend(fontsize=7, frameon=False, loc="upper left")
        hx.grid(axis="y", color="#e3e8ef", lw=0.6, zorder=0)
        for side in ("top", "right"):
            hx.spines[side].set_visible(False)
        return png_bytes(fig, dpi=CHART_DPI)
