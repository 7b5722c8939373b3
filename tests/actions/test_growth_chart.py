"""“我的成长” chart: a PNG of the right size in zh and en, the same bytes for the same series (also in a
fresh process), gaps for missing scores, and interview-only and review-only series."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

import scoring.report as rpt
from actions.growth_chart import CHART_SIZE, render_growth_png, series_labels
from flows.growth import GrowthSeries, Review, growth_series
from scoring.report import FontMissing

PNG = b"\x89PNG\r\n\x1a\n"
INTERVIEW = {
    "communication": 72,
    "logic": 80,
    "numeracy": 78,
    "risk": None,
    "composure": 65,
    "learning": 88,
    "finance": 70,
    "customer": 61.5,
}
REVIEWS = [
    Review(2024, "good", {"communication": 70, "logic": 75}),
    Review(
        2025,
        "good",
        {
            "communication": 75,
            "logic": 77,
            "numeracy": 73,
            "risk": 82,
            "composure": 66,
            "finance": 73,
            "customer": 90,
        },
    ),
]


@pytest.fixture(scope="module")
def both() -> GrowthSeries:
    return growth_series(INTERVIEW, REVIEWS)


def _image(png: bytes) -> Image.Image:
    assert png.startswith(PNG)
    img = Image.open(io.BytesIO(png))
    img.load()
    assert img.format == "PNG"
    return img


def require_zh_font() -> None:
    try:
        rpt._zh_font()
    except FontMissing as exc:
        pytest.fail(f"{exc} (the zh growth chart needs it)", pytrace=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_png_of_the_phone_size(both: GrowthSeries, lang: str) -> None:
    if lang == "zh":
        require_zh_font()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font would warn
        png = render_growth_png(both, lang)
    img = _image(png)
    assert img.size == CHART_SIZE == (800, 600)
    assert "Software" not in img.info and not any("date" in k.lower() for k in img.info)
    colours = {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert (0x1F, 0x5F, 0xA8) in colours and (0xE0, 0x7B, 0x00) in colours  # both series are drawn


def test_the_same_series_gives_the_same_bytes(both: GrowthSeries) -> None:
    first = render_growth_png(both, "zh")
    render_growth_png(growth_series(None, REVIEWS), "en")  # nothing carries over between renders
    assert render_growth_png(both, "zh") == first
    assert render_growth_png(growth_series(dict(INTERVIEW), list(REVIEWS)), "zh") == first
    assert render_growth_png(both, "en") != first


def test_the_same_bytes_in_a_fresh_process(both: GrowthSeries) -> None:
    script = (
        "import pickle, sys\n"
        "from actions.growth_chart import render_growth_png\n"
        "sys.stdout.buffer.write(render_growth_png(pickle.load(sys.stdin.buffer), 'zh'))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(both), capture_output=True, cwd=root, check=True
    ).stdout
    assert out == render_growth_png(both, "zh")


def test_legend_names_the_interview_and_the_review_year(both: GrowthSeries) -> None:
    assert series_labels(both, "zh") == ("面试", "2025年度考核")
    assert series_labels(both, "en") == ("Interview", "2025 review")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_interview_only_and_review_only(lang: str) -> None:
    interview_only = growth_series(INTERVIEW, [])
    review_only = growth_series(None, REVIEWS)
    assert series_labels(interview_only, lang) == (("面试",) if lang == "zh" else ("Interview",))
    assert series_labels(review_only, lang) == (("2025年度考核",) if lang == "zh" else ("2025 review",))
    a, b = render_growth_png(interview_only, lang), render_growth_png(review_only, lang)
    assert _image(a).size == _image(b).size == CHART_SIZE
    assert a != b
    colours_a = {c for _, c in _image(a).convert("RGB").getcolors(maxcolors=1 << 20) or []}
    colours_b = {c for _, c in _image(b).convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert (0xE0, 0x7B, 0x00) not in colours_a and (0x1F, 0x5F, 0xA8) in colours_a
    assert (0x1F, 0x5F, 0xA8) not in colours_b and (0xE0, 0x7B, 0x00) in colours_b


def test_a_missing_score_is_a_gap_not_a_zero() -> None:
    gap = growth_series({**INTERVIEW, "logic": None}, REVIEWS)
    zero = growth_series({**INTERVIEW, "logic": 0}, REVIEWS)
    assert render_growth_png(gap, "en") != render_growth_png(zero, "en")


def test_nothing_to_draw_and_other_languages_are_refused(both: GrowthSeries) -> None:
    with pytest.raises(ValueError, match="no score"):
        render_growth_png(growth_series(None, []), "zh")
    assert series_labels(growth_series(None, []), "zh") == ()
    with pytest.raises(ValueError, match="lang"):
        render_growth_png(both, "fr")


def test_missing_zh_font_raises_font_missing(both: GrowthSeries, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpt, "ZH_FONT", "No Such Font Family")
    monkeypatch.setattr(rpt, "ZH_FONT_FILES", ("no-such-font.ttc",))
    with pytest.raises(FontMissing, match="apt-get install -y fonts-wqy-zenhei"):
        render_growth_png(both, "zh")
    assert render_growth_png(both, "en").startswith(PNG)  # en needs no CJK font
