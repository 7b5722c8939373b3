"""“我的成长” as a picture: the interview scores beside the latest annual review, indicator by indicator.

:func:`render_growth_png` draws a :class:`flows.growth.GrowthSeries` as grouped horizontal bars — one
row per indicator (in INDICATORS order, top to bottom), the interview bar above the review bar, each
with its score at the end. Bars rather than a radar with two polygons: on a phone (the PNG is
``CHART_SIZE``, 800×600) the names stay horizontal and readable, two overlapping polygons are hard to
tell apart, and a missing score is simply an empty slot labelled "未评估 / not assessed" — never a
zero-length bar that reads as a score of 0. A series with no score at all (no interview, or no review
yet) is left out, with its legend entry, and the other one gets the whole row.

Drawn like the interview report's radar (:mod:`scoring.report`): matplotlib's Agg canvas on a bare
``Figure`` (no pyplot, no global backend), a fixed size, dpi and style, the process-wide render lock
(rcParams are global while a figure draws), and no software or time metadata in the PNG, so the same
series and language always give the same bytes. Chinese needs "WenQuanYi Zen Hei"
(``apt-get install -y fonts-wqy-zenhei``); without it :class:`scoring.report.FontMissing` is raised.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING

from scoring.questions import LocalText
from scoring.report import LANGUAGES, FontMissing, chart, chart_weights, png_bytes

if TYPE_CHECKING:  # flows sits above actions: the series is only read, never imported at run time
    from flows.growth import GrowthSeries

__all__ = ["CHART_DPI", "CHART_INCHES", "CHART_SIZE", "FontMissing", "render_growth_png", "series_labels"]

CHART_INCHES = (8.0, 6.0)
CHART_DPI = 100
CHART_SIZE = (round(CHART_INCHES[0] * CHART_DPI), round(CHART_INCHES[1] * CHART_DPI))  # (width, height) px

_INTERVIEW = "#1f5fa8"  # the report radar's blue
_REVIEW = "#e07b00"  # orange: tells apart from the blue for every common colour-vision deficiency
_GRID = "#c9d1dc"
_MUTED = "#8a94a3"
_TEXT = "#1d2633"

_L: Mapping[str, LocalText] = {
    "title": LocalText("我的成长", "My growth"),
    "title_both": LocalText("我的成长：面试与年度考核", "My growth: interview and annual review"),
    "interview": LocalText("面试", "Interview"),
    "review": LocalText("{year}年度考核", "{year} review"),
    "review_undated": LocalText("年度考核", "Annual review"),
    "missing": LocalText("未评估", "not assessed"),
}


def series_labels(series: GrowthSeries, lang: str) -> tuple[str, ...]:
    """The legend, in drawing order: "面试" / "Interview" if the interview has any score, then
    "2025年度考核" / "2025 review" if the latest review has any."""
    out = []
    if any(r.interview is not None for r in series.rows):
        out.append(_L["interview"].get(lang))
    if any(r.review is not None for r in series.rows):
        year = series.latest_year
        out.append(
            _L["review_undated"].get(lang) if year is None else _L["review"].get(lang).format(year=year)
        )
    return tuple(out)


def _score(value: float) -> str:
    return f"{round(value, 1) + 0.0:g}"


def _name(text: str, lang: str) -> str:
    return text if lang == "zh" else "\n".join(textwrap.wrap(text, 12, break_long_words=False))


def render_growth_png(series: GrowthSeries, lang: str) -> bytes:
    """The series as a PNG of ``CHART_SIZE`` pixels, labelled in ``lang`` (zh or en). Raises
    ValueError for another language or a series without a single score (nothing to compare: the flow
    says so in words instead), and FontMissing without the Chinese font."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    rows = series.rows
    shown = [
        (key, colour)
        for key, colour in (("interview", _INTERVIEW), ("review", _REVIEW))
        if any(getattr(r, key) is not None for r in rows)
    ]
    if not shown:
        raise ValueError("the growth series has no score to draw")
    labels = series_labels(series, lang)

    from matplotlib.patches import Patch

    _, title_weight = chart_weights(lang)
    n, k = len(rows), len(shown)
    height = 0.74 / k  # of each bar; a group fills 0.74 of its row
    with chart(lang, inches=CHART_INCHES, dpi=CHART_DPI) as fig:
        left = 0.15 if lang == "zh" else 0.23
        ax = fig.add_axes((left, 0.06, 0.97 - left, 0.78))
        ax.set_xlim(0, 112)
        ax.set_ylim(n - 0.5, -0.5)  # the first indicator on top
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.tick_params(axis="x", labelsize=11, colors=_MUTED, length=0)
        ax.tick_params(axis="y", labelsize=14, colors=_TEXT, length=0, pad=8)
        ax.set_yticks(range(n), [_name(r.name.get(lang), lang) for r in rows])
        ax.grid(axis="x", color=_GRID, lw=0.7)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(_GRID)

        for i, row in enumerate(rows):
            if i % 2 == 1:  # a faint band on every other row guides the eye across
                ax.axhspan(i - 0.5, i + 0.5, color="#f3f5f8", lw=0, zorder=0)
            for j, (key, colour) in enumerate(shown):
                y = i + (j - (k - 1) / 2) * height
                value = getattr(row, key)
                if value is None:
                    ax.text(
                        1.5, y, _L["missing"].get(lang), va="center", ha="left", fontsize=10, color=_MUTED
                    )
                    continue
                ax.barh(y, max(0.0, min(100.0, value)), height=height * 0.9, color=colour, lw=0, zorder=2)
                ax.text(
                    max(0.0, min(100.0, value)) + 1.2,
                    y,
                    _score(value),
                    va="center",
                    ha="left",
                    fontsize=11,
                    color=_TEXT,
                    zorder=3,
                )

        fig.text(
            0.5,
            0.975,
            _L["title_both" if k == 2 else "title"].get(lang),
            ha="center",
            va="top",
            fontsize=16,
            color=_TEXT,
            weight=title_weight,
        )
        handles = [Patch(color=colour, label=label) for (_, colour), label in zip(shown, labels, strict=True)]
        fig.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.925),
            ncol=len(handles),
            frameon=False,
            fontsize=13,
            handlelength=1.4,
            columnspacing=2.0,
        )

        return png_bytes(fig, dpi=CHART_DPI)
