"""The recruiting funnel: counts and rates on a built dataset (SQLite, and PostgreSQL when set), the
period, score overrides, positions without a threshold, the threshold suggestion and its guard, and
the renderings (zh/en text, CSV, JSON, PNG)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from actions.funnel import (
    STEPS,
    Funnel,
    FunnelCounts,
    FunnelParams,
    compute,
    funnel,
    period_bounds,
    positions_for,
    render_png,
    render_text,
    to_csv,
    to_json,
    to_json_bytes,
)
from storage import accounts
from storage.db import make_engine, session_factory
from storage.models import Application, User
from storage.seed import seed
from tests import hr_data as hd
from tests.conftest import NOW, TZ

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
TODAY = NOW.date()
SINCE = TODAY - timedelta(days=10)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with factory.begin() as s:
        seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ)
    yield factory
    engine.dispose()


def build_teller(s: Session) -> dict[str, int]:
    """TELLER, threshold 60, fourteen applications five days ago (see each line), one older hire and
    one RM hire that must not count. Returns a few application ids by name."""
    pos = hd.position(s, "TELLER", threshold=60)
    at = NOW - timedelta(days=5)
    for _ in range(4):
        hd.application(s, pos, created=at)  # invited only
    for _ in range(2):
        hd.application(s, pos, created=at, reached=["booked"])
    hd.application(s, pos, created=at, reached=["booked", "interviewed", "rejected"], score=45)
    # an "anytime" interview: no slot booked, still counts as booked
    anytime = hd.application(s, pos, created=at, reached=["interviewed"], score=55)
    hd.application(
        s,
        pos,
        created=at,
        reached=["booked", "interviewed", "shortlisted", "next_round", "rejected"],
        score=65,
    )
    hd.application(
        s,
        pos,
        created=at,
        reached=["booked", "interviewed", "shortlisted", "next_round", "offer", "hired"],
        score=72,
    )
    # the latest *completed* interview counts: round 2 (88), not round 1 (50) nor the open round 3
    two_rounds = hd.application(
        s, pos, created=at, reached=["booked", "interviewed", "shortlisted", "next_round", "offer", "hired"]
    )
    hd.interview(s, two_rounds, overall=50, round=1)
    hd.interview(s, two_rounds, overall=88, round=2)
    hd.interview(s, two_rounds, overall=None, round=3, status="active")
    # HR's own pick below the threshold, later rejected: the milestones stay set
    picked = hd.application(
        s, pos, created=at, reached=["booked", "interviewed", "next_round", "rejected"], score=58
    )
    hd.application(
        s, pos, created=at, reached=["booked", "interviewed", "shortlisted"], stage="withdrawn", score=75
    )
    # interviewed, but nothing could be assessed: no score
    unscored = hd.application(s, pos, created=at, reached=["booked", "interviewed"])
    hd.interview(s, unscored, overall=None)
    # outside the period, and another position
    hd.application(
        s,
        pos,
        created=NOW - timedelta(days=40),
        reached=["booked", "interviewed", "next_round", "offer", "hired"],
        score=90,
    )
    rm = hd.position(s, "RM", threshold=None)
    hd.application(
        s, rm, created=at, reached=["booked", "interviewed", "next_round", "offer", "hired"], score=91
    )
    return {"anytime": anytime.id, "picked": picked.id, "teller": pos.id}


def teller(s: Session, **kw: object) -> Funnel:
    pos = hd.position(s, "TELLER", threshold=60)
    return funnel(s, positions=[pos], tz=TZ, **kw)  # type: ignore[arg-type]


def counts(result: Funnel) -> dict[str, int | None]:
    return {s.key: s.count for s in result.steps}


# --------------------------------------------------------------------------- counts and rates


def test_counts_rates_and_conversion_on_a_built_dataset(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        build_teller(s)
    with sessions() as s:
        result = teller(s, since=SINCE, until=TODAY)
    assert result.positions == ("TELLER",) and result.threshold_status == "set"
    assert counts(result) == {
        "invited": 14,
        "booked": 10,
        "interviewed": 8,
        "above_threshold": 4,  # 65, 72, 88 (latest round), 75
        "next_round": 4,
        "offer": 2,
        "hired": 2,
    }
    rates = {s.key: s.rate for s in result.steps}
    assert rates == {
        "invited": None,
        "booked": Fraction(10, 14),
        "interviewed": Fraction(8, 10),
        "above_threshold": Fraction(4, 8),
        "next_round": Fraction(4, 4),
        "offer": Fraction(2, 4),
        "hired": Fraction(2, 2),
    }
    assert result.step("hired").conversion == Fraction(2, 14)
    assert result.step("interviewed").conversion == Fraction(8, 14)
    assert (result.rejected, result.withdrawn, result.scored) == (3, 1, 7)
    assert result.next_round_below_threshold == 1
    bins = {b.label: (b.hired, b.not_hired) for b in result.bins if b.hired or b.not_hired}
    assert bins == {"40–49": (0, 1), "50–59": (0, 2), "60–69": (0, 1), "70–79": (1, 1), "80–89": (1, 0)}
    assert [b.low for b in result.bins] == list(range(0, 100, 10)) and result.bins[-1].high == 100
    sg = result.suggestion
    assert sg.status == "too_few_hired" and sg.threshold is None and sg.hired == 2 and sg.not_hired == 5
    assert (sg.current, sg.current_hired_kept, sg.current_not_hired_passed) == (60, 2, 2)


def test_the_period_filter_takes_whole_days_in_the_banks_time_zone(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        build_teller(s)
        pos = hd.position(s, "TELLER", threshold=60)
        # 23:30 in Shanghai on the last day is in; 00:00 the next day is out
        last = TODAY - timedelta(days=1)
        hd.application(s, pos, created=NOW.replace(hour=23, minute=30) - timedelta(days=1))
        hd.application(s, pos, created=NOW.replace(hour=0, minute=0))
    with sessions() as s:
        assert counts(teller(s))["invited"] == 17  # all time
        assert counts(teller(s))["hired"] == 3
        assert counts(teller(s, since=SINCE, until=TODAY))["invited"] == 16
        assert counts(teller(s, since=SINCE, until=last))["invited"] == 15
        old = teller(s, until=TODAY - timedelta(days=30))
        assert counts(old)["invited"] == 1 and counts(old)["hired"] == 1 and old.since is None
        empty = teller(s, since=TODAY + timedelta(days=1))
        assert counts(empty)["invited"] == 0
        assert all(step.rate is None and step.conversion is None for step in empty.steps)
        assert "—" in render_text(empty, "en")
    with pytest.raises(ValueError, match="since must not be after until"):
        period_bounds(TODAY, SINCE, TZ)


def test_a_score_override_changes_the_above_threshold_count(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        ids = build_teller(s)
    with sessions() as s:
        before = teller(s, since=SINCE)
    with sessions.begin() as s:
        anytime, picked = s.get(Application, ids["anytime"]), s.get(Application, ids["picked"])
        assert anytime is not None and picked is not None
        anytime.score_override = 62  # 55 → 62: now above
        picked.score_override = 60  # 58 → exactly the threshold: above
    with sessions() as s:
        after = teller(s, since=SINCE)
    assert counts(before)["above_threshold"] == 4 and counts(after)["above_threshold"] == 6
    assert after.next_round_below_threshold == 0  # the pick is no longer below
    bins = {b.label: (b.hired, b.not_hired) for b in after.bins}
    assert bins["60–69"] == (0, 3) and bins["50–59"] == (0, 0)
    with sessions.begin() as s:
        hd.position(s, "TELLER", threshold=61)
    with sessions() as s:
        pos = hd.position(s, "TELLER", threshold=61)
        assert (
            counts(funnel(s, positions=[pos], since=SINCE, tz=TZ))["above_threshold"] == 5
        )  # 60 falls, 62 stays


def test_a_position_without_a_threshold(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        rm = hd.position(s, "RM", threshold=None)
        at = NOW - timedelta(days=2)
        hd.scored_group(s, rm, [70, 80], created=at, hired=False)
        hd.scored_group(s, rm, [85], created=at, hired=True)
    with sessions() as s:
        result = funnel(s, positions=[hd.position(s, "RM")], tz=TZ)
    assert result.threshold_status == "not_set" and result.unset == ("RM",)
    above = result.step("above_threshold")
    assert above.count is None and above.rate is None and above.conversion is None
    assert result.step("next_round").rate == Fraction(1, 3)  # of the interviewed
    assert result.suggestion.current is None and result.suggestion.current_hired_kept is None
    assert "Above threshold: no threshold set" in render_text(result, "en")
    assert "达到阈值：未设置阈值" in render_text(result, "zh")
    data = to_json(result)
    assert data["threshold_status"] == "not_set" and data["positions"] == [{"code": "RM", "threshold": None}]
    assert [s for s in data["steps"] if s["step"] == "above_threshold"] == [
        {"step": "above_threshold", "count": None, "rate": None, "conversion": None}
    ]


def test_all_positions_in_an_hr_users_scope(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        build_teller(s)
        user_id = accounts.create_hr_user(s, name="王经理", scope=["TELLER", "公司银行部"], now=NOW).id
    with sessions() as s:
        user = s.get(User, user_id)
        assert user is not None
        chosen = positions_for(s, user)
        assert [p.code for p in chosen] == ["RM", "TELLER"]
        result = funnel(s, positions=chosen, since=SINCE, tz=TZ)
    assert result.positions == ("RM", "TELLER") and result.threshold_status == "partial"
    assert counts(result)["invited"] == 15 and counts(result)["hired"] == 3
    assert counts(result)["above_threshold"] == 4  # only TELLER has a threshold
    assert result.step("above_threshold").rate == Fraction(4, 8)  # of TELLER's interviewed
    assert result.step("next_round").rate == Fraction(5, 9)  # of everyone interviewed
    assert result.suggestion.current_hired_kept is None  # RM has no threshold to compare with
    assert "not set for RM: not counted" in render_text(result, "en")


# --------------------------------------------------------------------------- the suggestion


HIRED = [50, 66.4, 70, 72, 75, 80, 82, 85, 90, 95]
NOT_HIRED = [40, 45, 55, 60, 65, 66.2, 68, 71, 74, 92]


def test_the_suggestion_keeps_ninety_percent_of_the_hired(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        pos = hd.position(s, "RISK", threshold=60)
        at = NOW - timedelta(days=3)
        hd.scored_group(s, pos, HIRED, created=at, hired=True)
        hd.scored_group(s, pos, NOT_HIRED, created=at, hired=False)
    with sessions() as s:
        result = funnel(s, positions=[hd.position(s, "RISK")], tz=TZ)
    sg = result.suggestion
    # 9 of 10 hired must stay: the 9th best hired score is 66.4, so 66 (whole points) keeps them
    assert (sg.status, sg.threshold, sg.needed, sg.hired_kept, sg.hired) == ("ok", 66, 9, 9, 10)
    assert (sg.not_hired_passed, sg.not_hired) == (5, 10)  # 66.2 (≥ 66), 68, 71, 74, 92
    # at the current 60: every hire but the 50 kept, 60 … 92 of the not hired passed
    assert (sg.current, sg.current_hired_kept, sg.current_not_hired_passed) == (60, 9, 7)
    text = render_text(result, "en")
    assert "Suggested threshold 66" in text and "keeps 9 of 10 hired (90.0%)" in text
    assert "passes 5 of 10 not hired (50.0%)" in text and "At the current threshold 60" in text
    zh = render_text(result, "zh")
    assert "建议阈值 66 分" in zh and "保留 9/10 名入职者" in zh and "当前阈值 60 分" in zh


def test_a_stricter_keep_share_and_the_pure_computation() -> None:
    points = {50: (1, 0), 66: (1, 1), 70: (1, 0), 72: (1, 0), 75: (1, 0), 80: (1, 2), 95: (4, 0)}
    c = FunnelCounts(invited=40, booked=30, interviewed=20, thresholded=20, hired=10, points=points)
    all_ = compute(c, positions=[("RISK", None)], params=FunnelParams(keep_hired=Fraction(1)))
    assert all_.suggestion.threshold == 50 and all_.suggestion.not_hired_passed == 3
    half = compute(c, positions=[("RISK", None)], params=FunnelParams(keep_hired=Fraction(1, 2)))
    assert half.suggestion.threshold == 80 and half.suggestion.hired_kept == 5
    assert half.suggestion.not_hired_passed == 2
    few = compute(c, positions=[("RISK", None)], params=FunnelParams(min_hired=11))
    assert few.suggestion.status == "too_few_hired"


def test_thin_data_gives_no_suggestion(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        pos = hd.position(s, "RISK", threshold=70)
        at = NOW - timedelta(days=3)
        hd.scored_group(s, pos, [71, 80, 85, 90], created=at, hired=True)
        hd.scored_group(s, pos, [50, 60, 75], created=at, hired=False)
        # a fifth hire without a score does not make the data thick enough
        hd.application(s, pos, created=at, reached=["booked", "interviewed", "next_round", "offer", "hired"])
    with sessions() as s:
        result = funnel(s, positions=[hd.position(s, "RISK")], tz=TZ)
    assert result.step("hired").count == 5
    sg = result.suggestion
    assert sg.status == "too_few_hired" and sg.threshold is None and sg.hired == 4
    assert "Too few hired candidates to suggest a threshold (4 with a score; 5 needed)." in render_text(
        result, "en"
    )
    assert "数据太少，暂不建议阈值" in render_text(result, "zh")
    assert to_json(result)["suggestion"]["threshold"] is None


# --------------------------------------------------------------------------- renderings


@pytest.fixture
def sample(sessions: sessionmaker[Session]) -> Funnel:
    with sessions.begin() as s:
        build_teller(s)
        pos = hd.position(s, "TELLER", threshold=60)
        hd.scored_group(s, pos, [62, 68, 77, 81], created=NOW - timedelta(days=1), hired=True)
    with sessions() as s:
        return teller(s, since=SINCE, until=TODAY)


def test_text_in_chinese_and_english(sample: Funnel) -> None:
    zh = render_text(sample, "zh")
    en = render_text(sample, "en")
    assert zh.splitlines()[0] == f"招聘漏斗 · TELLER · {SINCE.isoformat()} 至 {TODAY.isoformat()}"
    assert en.splitlines()[0] == f"Funnel · TELLER · {SINCE.isoformat()} to {TODAY.isoformat()}"
    assert "邀请 18" in zh and "→ 已预约 14（77.8%）" in zh and "→ 达到阈值（≥60 分） 8（66.7%）" in zh
    assert "→ 入职 6（100.0%）" in zh and "总转化率 33.3%" in zh and "已拒绝 3，已撤回 1" in zh
    assert "→ 进入下一轮 8（100.0%；其中 1 人低于阈值，由 HR 选入）" in zh
    assert "Invited 18" in en and "→ Booked 14 (77.8%)" in en and "→ Above threshold (≥ 60) 8 (66.7%)" in en
    assert "→ Next round 8 (100.0%; 1 of them below the threshold, picked by HR)" in en
    assert "Overall conversion 33.3% (hired ÷ invited); rejected 3, withdrawn 1." in en
    assert "Scores of the interviewed (hired/not hired): 40–49: 0/1; 50–59: 0/2; 60–69: 2/1" in en
    assert "Suggested threshold 62" in en  # 6 hired: ⌈5.4⌉ = 6 must stay → the lowest, 62
    assert len(en.splitlines()) <= 14 and len(zh.splitlines()) <= 14  # a chat reply, not a report
    with pytest.raises(ValueError, match="language"):
        render_text(sample, "fr")


def test_csv_json_and_png(sample: Funnel) -> None:
    raw = to_csv(sample)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    steps = [r for r in rows if r["section"] == "step"]
    assert [r["item"] for r in steps] == list(STEPS)
    assert steps[0]["count"] == "18" and steps[0]["rate"] == "" and steps[1]["rate"] == "0.7778"
    assert [r["item"] for r in rows if r["section"] == "score_bin"][-1] == "90-100"
    [suggested] = [r for r in rows if r["item"] == "suggested_threshold"]
    assert suggested["value"] == "62" and suggested["status"] == "ok"
    [thr] = [r for r in rows if r["section"] == "threshold"]
    assert thr["item"] == "TELLER" and float(thr["value"]) == 60
    data = json.loads(to_json_bytes(sample))
    assert data["schema"] == "talentbot.funnel/1" and data["period"] == {
        "since": SINCE.isoformat(),
        "until": TODAY.isoformat(),
    }
    assert [s["step"] for s in data["steps"]] == list(STEPS)
    assert data["suggestion"]["threshold"] == 62 and data["suggestion"]["current"]["threshold"] == 60
    assert len(data["distribution"]["bins"]) == 10
    for lang in ("zh", "en"):
        png = render_png(sample, lang)
        assert png.startswith(PNG) and png == render_png(sample, lang)
        from PIL import Image

        img = Image.open(io.BytesIO(png))
        assert img.width == 1200 and img.height == 528
    empty = compute(FunnelCounts(), positions=[("RM", None)], since=date(2026, 1, 1))
    assert render_png(empty, "en").startswith(PNG)
    assert "No interview scores yet." in render_text(empty, "en")
