"""The interview report for HR: JSON, a radar chart (PNG) and a printable HTML page.

Everything here presents what :mod:`scoring.indicators` and :mod:`scoring.adaptive` already decided;
nothing is re-scored. An indicator no question measured stays "not assessed": ``null`` in JSON, a gap
(dashed grey axis) in the radar, "未评估 / not assessed" in the page — never a 0.

* :func:`to_json` — a JSON-ready dict: overall and per-indicator scores with their evidence (the
  transcript passage and what it matched), transcripts, the question sequence with the reason for each
  choice, and the versions of the rubric, scorer, speech features and ASR model.
* :func:`radar_png` — the eight indicators on a 0–100 radar, drawn with matplotlib's Agg canvas
  (``FigureCanvasAgg`` on a bare ``Figure``: no pyplot, no display, no global backend switch). The
  figure size, dpi, style and fonts are fixed and the PNG carries no software/time metadata, so the
  same scores give byte-identical PNGs. Chinese labels need the "WenQuanYi Zen Hei" font
  (``apt-get install -y fonts-wqy-zenhei``); without it :class:`FontMissing` is raised.
* :func:`to_html` — one self-contained page from ``content/templates/report.html`` (``string.Template``;
  every piece of user text is HTML-escaped before it is substituted). Pass the radar as a
  ``data:`` URL (:func:`radar_data_url`) to keep the page free of outside references.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import html
import io
import math
import re
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

from scoring.indicators import AnswerScore, IndicatorScore, InterviewScores
from scoring.questions import INDICATOR_NAMES, INDICATORS, LocalText, Question
from scoring.rubric import Evidence

__all__ = [
    "LANGUAGES",
    "RADAR_DPI",
    "RADAR_INCHES",
    "RADAR_SIZE",
    "TEMPLATE_PATH",
    "ZH_FONT",
    "FontMissing",
    "ReportInput",
    "Transcript",
    "radar_data_url",
    "radar_png",
    "to_html",
    "to_json",
]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "content" / "templates" / "report.html"
SCHEMA = "talentbot.interview-report/1"
LANGUAGES = ("zh", "en")

RADAR_INCHES = (7.2, 6.0)  # wider than tall: the side labels ("numerical analysis / not assessed") need room
RADAR_DPI = 150
RADAR_SIZE = (round(RADAR_INCHES[0] * RADAR_DPI), round(RADAR_INCHES[1] * RADAR_DPI))  # (width, height) px
ZH_FONT = "WenQuanYi Zen Hei"
ZH_FONT_FILES = ("wqy-zenhei.ttc",)  # looked for among the system fonts when matplotlib's cache lacks it
ZH_FONT_APT = "fonts-wqy-zenhei"
EN_FONT = "DejaVu Sans"  # ships with matplotlib
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_COLOUR = "#1f5fa8"
_GRID = "#c9d1dc"
_MUTED = "#8a94a3"
_TEXT = "#1d2633"
_RENDER_LOCK = threading.Lock()  # rcParams are process-global while a figure draws


class FontMissing(RuntimeError):
    """The Chinese-capable font for the radar labels is not installed."""


# --------------------------------------------------------------------------- labels
_L: Mapping[str, LocalText] = {
    "title": LocalText("面试评估报告", "Interview assessment report"),
    "application": LocalText("申请编号", "Application"),
    "candidate": LocalText("候选人", "Candidate"),
    "position": LocalText("应聘岗位", "Position"),
    "generated": LocalText("生成时间", "Generated"),
    "overall": LocalText("综合得分", "Overall score"),
    "overall_basis": LocalText(
        "已评估的 {n}/{total} 项指标的平均分", "Mean of the {n} of {total} indicators assessed"
    ),
    "radar": LocalText("八项指标雷达图", "The eight indicators"),
    "radar_alt": LocalText("八项指标雷达图（0–100）", "Radar chart of the eight indicators (0–100)"),
    "radar_missing": LocalText(
        "（未附雷达图，分数见下表）", "(No chart attached; the scores are in the table below.)"
    ),
    "indicators": LocalText("各项指标与依据", "Indicators and evidence"),
    "indicator": LocalText("指标", "Indicator"),
    "score": LocalText("得分", "Score"),
    "basis": LocalText("构成", "Basis"),
    "evidence": LocalText("依据（回答原文）", "Evidence (from the answers)"),
    "content": LocalText("内容", "content"),
    "speech": LocalText("语音", "speech"),
    "answers_n": LocalText("{n} 道题", "{n} answer(s)"),
    "no_evidence": LocalText("无", "none"),
    "not_assessed": LocalText("未评估", "not assessed"),
    "not_assessed_note": LocalText(
        "本次面试没有考察该指标的题目，因此不评分，也不计入综合得分。",
        "No question in this interview measured this indicator, so it has no score and is not part of the overall.",
    ),
    "sequence": LocalText("提问顺序与选题理由", "Question sequence and why each was chosen"),
    "question": LocalText("题目", "Question"),
    "reason": LocalText("选题理由", "Reason"),
    "probe": LocalText("追问", "follow-up probe"),
    "late": LocalText("超时作答", "answered after the time limit"),
    "skipped": LocalText("已跳过（录音多次无法使用）", "skipped (recordings unusable)"),
    "difficulty": LocalText("难度 {d}（目标 {t}）", "difficulty {d} (target {t})"),
    "targets": LocalText("目标指标：{names}", "targets: {names}"),
    "no_sequence": LocalText("（无提问记录）", "(No sequence recorded.)"),
    "transcripts": LocalText("回答记录", "Transcripts"),
    "answer": LocalText("回答", "Answer"),
    "probe_answer": LocalText("追问的回答", "Answer to the probe"),
    "answer_score": LocalText("本题得分", "Score for this answer"),
    "audio": LocalText("录音", "Recording"),
    "no_transcripts": LocalText("（无回答记录）", "(No transcripts.)"),
    "empty_answer": LocalText("（无内容）", "(empty)"),
    "versions": LocalText("版本", "Versions"),
    "note": LocalText(
        "本报告中的分数只用于辅助面试官，是否录用由招聘人员综合判断后决定。"
        "评分只依据回答的内容与语音特征，与姓名、性别、年龄、地区和学校无关。",
        "The scores in this report assist the interviewers; people make the hiring decision. "
        "Scores depend only on what was answered and how it was spoken — never on name, gender, age, "
        "region or school.",
    ),
    "radar_gap_note": LocalText(
        "虚线轴：未评估（不计入综合得分）", "Dashed axis: not assessed (not in the overall)"
    ),
}

_EVIDENCE_KIND: Mapping[str, LocalText] = {
    "key_point": LocalText("要点", "key point"),
    "red_flag": LocalText("风险信号", "red flag"),
    "structure": LocalText("结构", "structure"),
    "numeric": LocalText("数值", "figure"),
    "option": LocalText("选项", "option"),
    "speech": LocalText("语音", "speech"),
}

_QUESTION_KIND: Mapping[str, LocalText] = {
    "behavioural": LocalText("行为题", "behavioural"),
    "situational": LocalText("情景题", "situational"),
    "knowledge": LocalText("知识题", "knowledge"),
    "numeric": LocalText("计算题", "numeric"),
    "risk_judgement": LocalText("风险判断题", "risk judgement"),
}


def _t(key: str, language: str, **values: object) -> str:
    text = _L[key].get(language)
    return text.format(**values) if values else text


def _num(value: float | None) -> str:
    """A score for display: 74.4 → "74.4", 100.0 → "100"."""
    return "" if value is None else f"{value:g}"


# --------------------------------------------------------------------------- input
@dataclass(frozen=True)
class Transcript:
    """One answered question as the report shows it. ``audio`` is a reference to the recording (a URL
    or a storage key); ``probe``/``probe_answer`` are the follow-up probe and its answer, if asked."""

    question_id: str
    question: LocalText
    text: str
    audio: str | None = None
    probe: LocalText | None = None
    probe_answer: str | None = None

    @classmethod
    def of(
        cls,
        question: Question,
        text: str,
        *,
        audio: str | None = None,
        probe_answer: str | None = None,
    ) -> Transcript:
        """The transcript of an answer to ``question``; a probe answer brings the question's probe."""
        probe = question.main_probe if probe_answer is not None else None
        return cls(
            question.id,
            LocalText(question.prompt("zh"), question.prompt("en")),
            text,
            audio,
            probe,
            probe_answer,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "question": {"zh": self.question.zh, "en": self.question.en},
            "text": self.text,
            "audio": self.audio,
            "probe": None if self.probe is None else {"zh": self.probe.zh, "en": self.probe.en},
            "probe_answer": self.probe_answer,
        }


@dataclass(frozen=True)
class ReportInput:
    """Everything one interview report shows. ``sequence`` holds the adaptive choices' records
    (:meth:`scoring.adaptive.Choice.record`), in the order asked; ``generated_at`` must be aware."""

    application_id: str
    candidate_name: str
    position_code: str
    position_title: LocalText
    scores: InterviewScores
    transcripts: Sequence[Transcript]
    sequence: Sequence[Mapping[str, Any]]
    generated_at: datetime
    language: str = "zh"
    asr_model: str | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        if self.generated_at.tzinfo is None or self.generated_at.utcoffset() is None:
            raise ValueError("generated_at must be a timezone-aware datetime")


# --------------------------------------------------------------------------- JSON
def _evidence_dict(e: Evidence) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "ref": e.ref,
        "question_id": e.question_id,
        "passage": e.passage,
        "matched": e.detail,
        "label": None if e.label is None else {"zh": e.label.zh, "en": e.label.en},
    }


def _status(score: float | None, language: str) -> dict[str, Any]:
    if score is None:
        return {"status": "not_assessed", "display": _t("not_assessed", language)}
    return {"status": "assessed", "display": _num(score)}


def _indicator_dict(i: IndicatorScore, language: str) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": {"zh": i.name.zh, "en": i.name.en},
        "label": i.name.get(language),
        "score": i.score,
        **_status(i.score, language),
        "content": i.content,
        "speech": i.speech,
        "weight": i.weight,
        "answers": i.answers,
        "evidence": [_evidence_dict(e) for e in i.evidence],
    }


def _answer_dict(a: AnswerScore) -> dict[str, Any]:
    return {
        "question_id": a.question.id,
        "kind": a.question.kind,
        "score": a.result.score,
        "subscores": dict(a.result.subscores),
        "probed": a.result.probed,
        "main_missed": a.result.main_missed,
        "speech": None
        if a.speech is None
        else {"communication": a.speech.communication, "composure": a.speech.composure},
    }


def _versions(report: ReportInput) -> dict[str, str | None]:
    return {**report.scores.versions.to_dict(), "asr_model": report.asr_model}


def to_json(report: ReportInput) -> dict[str, Any]:
    """The report as a JSON-ready dict (``json.dumps`` takes it as is). A not-assessed score is
    ``null`` with ``status: "not_assessed"`` and a ``display`` label in the report's language."""
    lang = report.language
    s = report.scores
    sequence = []
    for rec in report.sequence:
        r = copy.deepcopy(dict(rec))
        r["reason"] = r.get("reason_zh" if lang == "zh" else "reason_en")
        sequence.append(r)
    return {
        "schema": SCHEMA,
        "language": lang,
        "generated_at": report.generated_at.isoformat(),
        "application_id": report.application_id,
        "candidate": {"name": report.candidate_name},
        "position": {
            "code": report.position_code,
            "title": {"zh": report.position_title.zh, "en": report.position_title.en},
        },
        "overall": {
            "score": s.overall,
            **_status(s.overall, lang),
            "assessed": sum(1 for i in s.indicators if i.score is not None),
            "of": len(s.indicators),
        },
        "indicators": [_indicator_dict(i, lang) for i in s.indicators],
        "answers": [_answer_dict(a) for a in s.answers],
        "transcripts": [t.to_dict() for t in report.transcripts],
        "sequence": sequence,
        "versions": _versions(report),
        "note": _t("note", lang),
    }


# --------------------------------------------------------------------------- radar
def _zh_font() -> tuple[str, int | str]:
    """The file and weight of the "WenQuanYi Zen Hei" face, from matplotlib's font list or, if its
    cache predates the font's installation, from the system font folders."""
    from matplotlib import font_manager

    def lookup() -> tuple[str, int | str] | None:
        found = (f for f in font_manager.fontManager.ttflist if f.name == ZH_FONT)
        return next(((f.fname, f.weight) for f in found), None)

    found = lookup()
    if found is None:
        for path in font_manager.findSystemFonts():
            if Path(path).name in ZH_FONT_FILES:
                font_manager.fontManager.addfont(path)
        found = lookup()
    if found is None:
        raise FontMissing(
            f"the Chinese radar labels need the font {ZH_FONT!r}, which matplotlib cannot find: "
            f"apt-get install -y {ZH_FONT_APT}"
        )
    return found


def _font(language: str) -> tuple[str, int | str, int | str]:
    """(family, text weight, title weight) for the radar. WenQuanYi Zen Hei has one weight (500) and
    no bold face, so asking for any other would only log matplotlib's fallback warning."""
    if language == "zh":
        _, weight = _zh_font()
        return ZH_FONT, weight, weight
    return EN_FONT, "normal", "bold"


@contextlib.contextmanager
def chart(
    font_language: str, *, inches: tuple[float, float], dpi: int, rc: Mapping[str, Any] | None = None
) -> Iterator[Any]:
    """A white ``Figure`` on the Agg canvas with the font for ``font_language``, for the charts of the
    report, the funnel, the bias audit and growth. Drawing happens under one process-wide lock:
    matplotlib's settings are global while a figure draws. ``rc`` adds settings."""
    import matplotlib as mpl
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family, weight, _ = _font(font_language)
    settings = {
        "font.family": "sans-serif",
        "font.sans-serif": [family],
        "font.weight": weight,
        "axes.unicode_minus": False,
        **(rc or {}),
    }
    with _RENDER_LOCK, mpl.style.context("default"), mpl.rc_context(settings):
        fig = Figure(figsize=inches, dpi=dpi, facecolor="white")
        FigureCanvasAgg(fig)
        yield fig


def png_bytes(fig: Any, *, dpi: int) -> bytes:
    """The figure as PNG bytes, the same bytes for the same drawing (no software stamp, no optimiser
    pass). Call it inside ``chart``: the settings apply while it renders."""
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=dpi,
        facecolor="white",
        metadata={"Software": None},
        pil_kwargs={"optimize": False},
    )
    return buf.getvalue()


def chart_weights(language: str) -> tuple[int | str, int | str]:
    """(text weight, title weight) of the chart font for ``language``."""
    _, weight, title_weight = _font(language)
    return weight, title_weight


def _wrap(label: str, language: str) -> str:
    return label if language == "zh" else "\n".join(textwrap.wrap(label, 13, break_long_words=False))


def radar_png(scores: InterviewScores, *, language: str) -> bytes:
    """The eight indicators as a radar chart (PNG of ``RADAR_SIZE`` pixels, 0–100 scale), labelled in
    ``language``. A not-assessed indicator is a dashed grey axis labelled "未评估/not assessed" and
    the filled area leaves a gap there. The same scores and language always give the same bytes."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")

    _, title_weight = chart_weights(language)
    by_id = {i.id: i for i in scores.indicators}
    ids = [i for i in INDICATORS if i in by_id] + [i for i in by_id if i not in INDICATORS]
    n = len(ids)
    if n < 3:
        raise ValueError("a radar needs at least three indicators")
    values = [by_id[i].score for i in ids]
    angles = [2 * math.pi * k / n for k in range(n)]  # clockwise from the top

    def xy(angle: float, r: float) -> tuple[float, float]:
        return r * math.sin(angle), r * math.cos(angle)

    with chart(language, inches=RADAR_INCHES, dpi=RADAR_DPI) as fig:
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        half_height = 1.62
        ax.set_ylim(-half_height + 0.02, half_height + 0.02)
        ax.set_xlim(
            -half_height * RADAR_INCHES[0] / RADAR_INCHES[1], half_height * RADAR_INCHES[0] / RADAR_INCHES[1]
        )
        ax.set_aspect("equal")
        ax.axis("off")

        # grid: octagons at 20..100 and the spokes
        for ring in (0.2, 0.4, 0.6, 0.8, 1.0):
            pts = [xy(a, ring) for a in angles] + [xy(angles[0], ring)]
            ax.plot(*zip(*pts, strict=True), color=_GRID, lw=0.9 if ring == 1.0 else 0.6, zorder=1)
            # the scale along the middle of the first sector, clear of the axes and their points
            lx, ly = xy(math.pi / n, ring * math.cos(math.pi / n))
            ax.text(
                lx,
                ly,
                f"{round(ring * 100)}",
                fontsize=7,
                color=_MUTED,
                ha="center",
                va="center",
                zorder=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        for a, v in zip(angles, values, strict=True):
            x, y = xy(a, 1.0)
            if v is None:
                ax.plot([0, x], [0, y], color=_MUTED, lw=1.0, ls=(0, (4, 3)), zorder=2)
            else:
                ax.plot([0, x], [0, y], color=_GRID, lw=0.6, zorder=1)

        # the scores: one wedge per pair of neighbouring assessed axes, so a gap stays a gap
        pts_s = [None if v is None else xy(a, v / 100) for a, v in zip(angles, values, strict=True)]
        for k in range(n):
            p, q = pts_s[k], pts_s[(k + 1) % n]
            if p is not None and q is not None:
                ax.fill([0, p[0], q[0]], [0, p[1], q[1]], color=_COLOUR, alpha=0.22, lw=0, zorder=3)
                ax.plot([p[0], q[0]], [p[1], q[1]], color=_COLOUR, lw=2.0, zorder=4, solid_capstyle="round")
        for k, p in enumerate(pts_s):
            if p is None:
                continue
            before, after = pts_s[k - 1] is None, pts_s[(k + 1) % n] is None
            if before and after:  # no neighbour to join: show it as a bar along its axis
                ax.plot([0, p[0]], [0, p[1]], color=_COLOUR, lw=2.0, zorder=4, solid_capstyle="round")
            elif before or after:  # the edge of a gap: close the shape along the axis
                ax.plot([0, p[0]], [0, p[1]], color=_COLOUR, lw=0.8, alpha=0.6, zorder=4)
            ax.plot([p[0]], [p[1]], "o", color=_COLOUR, ms=5, zorder=5)

        # axis labels: the name, then the score (or "not assessed") on the line below
        for a, ind, v in zip(angles, ids, values, strict=True):
            x, y = xy(a, 1.13)
            sx, sy = math.sin(a), math.cos(a)
            ha = "center" if abs(sx) < 0.3 else ("left" if sx > 0 else "right")
            va = "center" if abs(sy) < 0.3 else ("bottom" if sy > 0 else "top")
            name = _wrap(by_id[ind].name.get(language), language)
            score = _t("not_assessed", language) if v is None else _num(v)
            colour = _MUTED if v is None else _TEXT
            ax.text(
                x,
                y,
                f"{name}\n{score}",
                ha=ha,
                va=va,
                ma="center",
                fontsize=11,
                color=colour,
                linespacing=1.25,
                zorder=6,
            )

        overall = _t("not_assessed", language) if scores.overall is None else _num(scores.overall)
        sep = "：" if language == "zh" else ": "
        ax.text(
            0,
            1.58,
            f"{_t('overall', language)}{sep}{overall}",
            ha="center",
            va="top",
            fontsize=13,
            color=_TEXT,
            fontweight=title_weight,
        )
        if any(v is None for v in values):
            ax.text(
                0, -1.57, _t("radar_gap_note", language), ha="center", va="bottom", fontsize=9, color=_MUTED
            )

        return png_bytes(fig, dpi=RADAR_DPI)


def radar_data_url(png: bytes) -> str:
    """A ``data:`` URL for a radar PNG, to embed it in the page."""
    import base64

    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --------------------------------------------------------------------------- HTML
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _safe_url(url: str, *, data_prefix: str) -> str | None:
    """``url`` if it is http(s), relative, or a ``data:`` URL of the expected type; else None."""
    url = url.strip()
    if url.startswith("data:"):
        return url if url.startswith(data_prefix) else None
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in ("", "http", "https") else None


def _default_audio_url(reference: str) -> str | None:
    """A reference that already is a URL (http(s) or a path on this site) is used as is."""
    if reference.startswith(("http://", "https://", "/", "./", "data:audio/")):
        return reference
    return None


def _header(report: ReportInput) -> str:
    lang = report.language
    rows = [
        ("candidate", f'<strong class="candidate">{_e(report.candidate_name)}</strong>'),
        (
            "position",
            f'{_e(report.position_title.get(lang))} <span class="muted">({_e(report.position_code)})</span>',
        ),
        ("application", _e(report.application_id)),
        ("generated", _e(report.generated_at.isoformat(sep=" ", timespec="minutes"))),
    ]
    items = "".join(f"<dt>{_e(_t(k, lang))}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<h1>{_e(_t("title", lang))}</h1><dl class="meta">{items}</dl>'


def _overall(report: ReportInput) -> str:
    lang = report.language
    s = report.scores
    assessed = sum(1 for i in s.indicators if i.score is not None)
    if s.overall is None:
        big = f'<span class="big na">{_e(_t("not_assessed", lang))}</span>'
    else:
        big = f'<span class="big">{_e(_num(s.overall))}</span><span class="of">/ 100</span>'
    basis = _t("overall_basis", lang, n=assessed, total=len(s.indicators))
    return f'<p class="overall">{big}</p><p class="muted">{_e(basis)}</p>'


def _radar(report: ReportInput, radar_url: str | None) -> str:
    lang = report.language
    if radar_url is None:
        return f'<p class="muted">{_e(_t("radar_missing", lang))}</p>'
    url = _safe_url(radar_url, data_prefix="data:image/png;base64,")
    if url is None:
        raise ValueError("radar_url must be an http(s) or relative URL, or a data:image/png;base64 URL")
    return (
        f'<figure class="radar"><img src="{_e(url)}" alt="{_e(_t("radar_alt", lang))}" '
        f'width="{RADAR_SIZE[0] * 2 // 3}" height="{RADAR_SIZE[1] * 2 // 3}"></figure>'
    )


_STRUCTURE_PART: Mapping[str, LocalText] = {
    "sequence": LocalText("顺序", "sequence"),
    "situation": LocalText("情境", "situation"),
    "task": LocalText("任务", "task"),
    "action": LocalText("行动", "action"),
    "result": LocalText("结果", "result"),
}
_VERDICT_ZH = {"correct": "正确", "incorrect": "不正确", "no number given": "未给出数值"}
_RE_MATCHED = re.compile(r"^matched (?P<p>'[^']*'|\"[^\"]*\")(?P<f> \(after the follow-up probe\))?$")
_RE_MARKER = re.compile(r"^marker (?P<p>'[^']*'|\"[^\"]*\")$")
_RE_FLAG = re.compile(r"^-(?P<n>[\d.]+): (?P<p>'[^']*'|\"[^\"]*\")$")
_RE_NUMERIC = re.compile(
    r"^(?P<v>correct|incorrect|no number given): said (?P<g>\S+), expected (?P<e>.+) ±(?P<t>\S+)$"
)
_RE_OPTION = re.compile(r"^chose (?P<c>\S+) \(credit (?P<k>[\d.]+)\); best is (?P<b>\S+)$")


def _unquote(literal: str) -> str:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal
    return value if isinstance(value, str) else literal


def _detail(e: Evidence, lang: str) -> str:
    """What the evidence matched, in the report's language. The rubric writes these in English;
    the zh page rewrites the known forms and shows any other as written."""
    d = e.detail
    if lang != "zh":
        return d
    if m := _RE_MATCHED.match(d):
        return f"命中「{_unquote(m['p'])}」" + ("（追问后）" if m["f"] else "")
    if m := _RE_MARKER.match(d):
        return f"结构词「{_unquote(m['p'])}」"
    if m := _RE_FLAG.match(d):
        return f"扣 {m['n']} 分：「{_unquote(m['p'])}」"
    if m := _RE_NUMERIC.match(d):
        return f"{_VERDICT_ZH[m['v']]}：回答 {m['g']}，应为 {m['e']}（允差 ±{m['t']}）"
    if m := _RE_OPTION.match(d):
        return f"选择 {m['c']}（得分 {m['k']}），最佳为 {m['b']}"
    return d


def _evidence_match(e: Evidence, lang: str) -> str:
    kind = _EVIDENCE_KIND.get(e.kind)
    tag = kind.get(lang) if kind else e.kind
    if e.kind == "structure" and e.ref in _STRUCTURE_PART:
        tag += "·" + _STRUCTURE_PART[e.ref].get(lang)
    what = f'<span class="what">{_e(e.label.get(lang))}</span> ' if e.label is not None else ""
    return (
        f'<li><span class="tag tag-{_e(e.kind)}">{_e(tag)}</span> {what}'
        f'<span class="detail">{_e(_detail(e, lang))}</span></li>'
    )


def _evidence(items: Sequence[Evidence], lang: str) -> str:
    """The evidence grouped by passage: each quote once (with its question), then what it matched."""
    groups: dict[tuple[str, str], list[Evidence]] = {}
    for e in items:
        group = groups.setdefault((e.question_id, e.passage), [])
        if e not in group:  # the same marker can be found twice in one passage
            group.append(e)
    out = []
    for (qid, passage), group in groups.items():
        quote = f"<q>{_e(passage)}</q> " if passage else ""
        matches = "".join(_evidence_match(e, lang) for e in group)
        out.append(
            f'<li class="passage">{quote}<code class="qid">{_e(qid)}</code><ul class="matches">{matches}</ul></li>'
        )
    return f'<ul class="evidence">{"".join(out)}</ul>'


def _indicators(report: ReportInput) -> str:
    lang = report.language
    rows = []
    for i in report.scores.indicators:
        name = _e(i.name.get(lang))
        if i.score is None:
            score = f'<span class="na">{_e(_t("not_assessed", lang))}</span>'
            rest = f'<td colspan="2" class="muted">{_e(_t("not_assessed_note", lang))}</td>'
        else:
            width = max(0.0, min(100.0, i.score))
            score = (
                f'<span class="score">{_e(_num(i.score))}</span>'
                f'<span class="bar"><span style="width:{width:.1f}%"></span></span>'
            )
            parts = [f"{_e(_t('content', lang))} {_e(_num(i.content))}"]
            if i.speech is not None:
                parts.append(f"{_e(_t('speech', lang))} {_e(_num(i.speech))}")
            parts.append(_e(_t("answers_n", lang, n=i.answers)))
            evidence = _evidence(i.evidence, lang) if i.evidence else _e(_t("no_evidence", lang))
            rest = f'<td class="basis">{"<br>".join(parts)}</td><td>{evidence}</td>'
        cls = ' class="not-assessed"' if i.score is None else ""
        rows.append(
            f'<tr id="ind-{_e(i.id)}"{cls}><th scope="row">{name}</th><td class="num">{score}</td>{rest}</tr>'
        )
    head = "".join(
        f'<th scope="col">{_e(_t(k, lang))}</th>' for k in ("indicator", "score", "basis", "evidence")
    )
    return f'<table class="indicators"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _question_texts(report: ReportInput) -> dict[str, LocalText]:
    texts = {t.question_id: t.question for t in report.transcripts}
    for a in report.scores.answers:
        texts.setdefault(a.question.id, a.question.text)
    return texts


def _sequence(report: ReportInput) -> str:
    lang = report.language
    if not report.sequence:
        return f'<p class="muted">{_e(_t("no_sequence", lang))}</p>'
    texts = _question_texts(report)
    items = []
    for rec in report.sequence:
        qid = str(rec.get("question_id", ""))
        reason = rec.get("reason_zh" if lang == "zh" else "reason_en") or ""
        kind = _QUESTION_KIND.get(str(rec.get("kind", "")))
        meta = [kind.get(lang) if kind else str(rec.get("kind", ""))]
        if rec.get("difficulty") is not None:
            meta.append(_t("difficulty", lang, d=rec.get("difficulty"), t=rec.get("target_difficulty", "–")))
        targets = [
            INDICATOR_NAMES[t].get(lang) if t in INDICATOR_NAMES else str(t) for t in rec.get("targets") or ()
        ]
        if targets:
            meta.append(_t("targets", lang, names=("、" if lang == "zh" else ", ").join(targets)))
        probe = f' <span class="tag tag-probe">{_e(_t("probe", lang))}</span>' if rec.get("is_probe") else ""
        for flag in ("late", "skipped"):
            if rec.get(flag):
                probe += f' <span class="tag tag-{flag}">{_e(_t(flag, lang))}</span>'
        text = texts.get(qid)
        qtext = f'<div class="qtext">{_e(text.get(lang))}</div>' if text is not None else ""
        colon = "：" if lang == "zh" else ": "
        items.append(
            f'<li><div><code>{_e(qid)}</code>{probe} <span class="muted">{_e(" · ".join(meta))}</span></div>'
            f'{qtext}<div class="reason"><span class="label">{_e(_t("reason", lang) + colon)}</span>{_e(reason)}</div>'
            "</li>"
        )
    return f'<ol class="sequence">{"".join(items)}</ol>'


def _transcripts(report: ReportInput, audio_url: Callable[[str], str | None]) -> str:
    lang = report.language
    if not report.transcripts:
        return f'<p class="muted">{_e(_t("no_transcripts", lang))}</p>'
    answer_scores = {a.question.id: a.result.score for a in report.scores.answers}
    out = []
    for n, t in enumerate(report.transcripts, start=1):
        score = answer_scores.get(t.question_id)
        score_html = (
            f'<span class="muted">{_e(_t("answer_score", lang))} {_e(_num(score))}</span>'
            if score is not None
            else ""
        )
        body = [
            f'<h3><span class="n">{n}.</span> <code>{_e(t.question_id)}</code> {score_html}</h3>',
            f'<p class="qtext">{_e(t.question.get(lang))}</p>',
            f'<div class="answer"><span class="label">{_e(_t("answer", lang))}</span>'
            f"<p>{_e(t.text) if t.text.strip() else _e(_t('empty_answer', lang))}</p></div>",
        ]
        if t.audio:
            url = audio_url(t.audio)
            safe = None if url is None else _safe_url(url, data_prefix="data:audio/")
            if safe is not None:
                body.append(
                    f'<div class="audio"><span class="label">{_e(_t("audio", lang))}</span>'
                    f'<audio controls preload="none" src="{_e(safe)}"></audio></div>'
                )
            else:
                body.append(
                    f'<div class="audio"><span class="label">{_e(_t("audio", lang))}</span>'
                    f"<code>{_e(t.audio)}</code></div>"
                )
        if t.probe is not None or t.probe_answer is not None:
            probe_q = f'<p class="qtext">{_e(t.probe.get(lang))}</p>' if t.probe is not None else ""
            probe_a = (
                t.probe_answer if t.probe_answer and t.probe_answer.strip() else _t("empty_answer", lang)
            )
            body.append(
                f'<div class="probe"><span class="label">{_e(_t("probe", lang))}</span>{probe_q}'
                f'<span class="label">{_e(_t("probe_answer", lang))}</span><p>{_e(probe_a)}</p></div>'
            )
        out.append(f'<article class="transcript" id="q-{n}">{"".join(body)}</article>')
    return "".join(out)


_VERSION_NAMES: Mapping[str, LocalText] = {
    "rubric": LocalText("题库", "question bank"),
    "scorer": LocalText("评分器", "scorer"),
    "speech": LocalText("语音特征", "speech features"),
    "asr_model": LocalText("语音识别模型", "ASR model"),
}


def _versions_html(report: ReportInput) -> str:
    lang = report.language
    parts = []
    for key, value in _versions(report).items():
        if not value:
            continue
        name = _VERSION_NAMES[key].get(lang) if key in _VERSION_NAMES else key
        long_hash = len(value) > 16 and all(c in "0123456789abcdef," for c in value)
        shown = value[:12] + "…" if long_hash else value
        parts.append(f'<span title="{_e(value)}">{_e(name)} <code>{_e(shown)}</code></span>')
    colon = "：" if lang == "zh" else ": "
    return f'<p class="versions">{_e(_t("versions", lang) + colon)}{" · ".join(parts)}</p>'


def to_html(
    report: ReportInput,
    *,
    radar_url: str | None,
    audio_url: Callable[[str], str | None] | None = None,
    template_path: Path = TEMPLATE_PATH,
) -> str:
    """The report as one printable HTML page in ``report.language``. ``radar_url`` is where the
    radar PNG is (best a ``data:`` URL from :func:`radar_data_url`; None leaves the chart out).
    ``audio_url`` maps a transcript's audio reference to a playable URL; by default a reference that
    is already an http(s) URL or a site path is used as is, and any other is shown as text."""
    lang = report.language
    values = {
        "lang": "zh-CN" if lang == "zh" else "en",
        "title": _e(f"{_t('title', lang)} · {report.candidate_name} · {report.position_title.get(lang)}"),
        "header": _header(report),
        "note": _e(_t("note", lang)),
        "h_overall": _e(_t("overall", lang)),
        "overall": _overall(report),
        "h_radar": _e(_t("radar", lang)),
        "radar": _radar(report, radar_url),
        "h_indicators": _e(_t("indicators", lang)),
        "indicators": _indicators(report),
        "h_sequence": _e(_t("sequence", lang)),
        "sequence": _sequence(report),
        "h_transcripts": _e(_t("transcripts", lang)),
        "transcripts": _transcripts(report, audio_url or _default_audio_url),
        "versions": _versions_html(report),
    }
    return Template(template_path.read_text(encoding="utf-8")).substitute(values)
