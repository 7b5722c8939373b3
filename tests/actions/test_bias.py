"""The bias audit (NYC Local Law 144 method) on hand-computed examples, its renderings, the one
database read, the demographics repository, and the wall between demographic data and scoring."""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from fractions import Fraction
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import select

from actions.bias import (
    AuditParams,
    BiasAudit,
    CandidateRow,
    compute,
    load_rows,
    to_csv,
    to_json,
    to_png,
    to_text,
)
from storage import repo
from storage.db import make_engine, session_factory
from storage.demographics import demographics_of, record_demographics, withdraw_demographics
from storage.models import Application, AuditEntry, Consent, Demographic, Interview, User
from storage.seed import seed
from tests.conftest import NOW, TZ

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
_ids = count(1)


def group(
    n: int,
    *,
    selected: int = 0,
    sex: str | None = None,
    age_band: str | None = None,
    region: str | None = None,
    scores: list[float] | None = None,
    stage: str = "interviewed",
) -> list[CandidateRow]:
    """``n`` candidates of one category, the first ``selected`` of them moved to the next round."""
    scores = scores if scores is not None else [None] * n  # type: ignore[list-item]
    assert len(scores) == n
    return [
        CandidateRow(
            application_id=next(_ids),
            stage="next_round" if k < selected else stage,
            overall=scores[k],
            sex=sex,
            age_band=age_band,
            region=region,
        )
        for k in range(n)
    ]


def dim(audit: BiasAudit, metric: str, name: str):  # type: ignore[no-untyped-def]
    [d] = [d for d in audit.dimensions if d.metric == metric and d.name == name]
    return d


def cats(d) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"×".join(c.category): c for c in d.categories}


# --------------------------------------------------------------------------- selection rate


def test_a_ratio_of_three_quarters_is_flagged_and_the_best_category_is_the_reference() -> None:
    rows = group(40, selected=16, sex="female") + group(40, selected=12, sex="male")
    audit = compute(rows, position="RM")
    sex = dim(audit, "selection", "sex")
    assert sex.status == "ok" and sex.declared == 80 and sex.unknown == 0 and sex.reference == ("female",)
    f, m = cats(sex)["female"], cats(sex)["male"]
    assert (f.rate, f.ratio, f.flagged) == (Fraction(2, 5), 1, False)  # 16/40
    assert (m.rate, m.ratio, m.flagged) == (Fraction(3, 10), Fraction(3, 4), True)  # 12/40 ÷ 16/40
    assert m.impact_ratio == 0.75
    assert audit.selected == 28 and audit.candidates == 80
    assert [(d.metric, d.name, c.category) for d, c in audit.flagged] == [("selection", "sex", ("male",))]


def test_exactly_four_fifths_is_not_flagged() -> None:
    rows = group(40, selected=20, sex="female") + group(40, selected=16, sex="male")  # 0.4 ÷ 0.5
    m = cats(dim(compute(rows, position="RM"), "selection", "sex"))["male"]
    assert m.ratio == Fraction(4, 5) and not m.flagged


def test_a_category_under_two_percent_is_reported_but_takes_no_part_in_the_ratios() -> None:
    # 300 declared: "other" is 5 of them (1.7 %) and all 5 selected — it would be the reference at 1.0
    rows = (
        group(150, selected=60, sex="female")
        + group(145, selected=58, sex="male")
        + group(5, selected=5, sex="other")
    )
    sex = dim(compute(rows, position="RM"), "selection", "sex")
    c = cats(sex)
    other = c["other"]
    assert other.share == Fraction(5, 300) and other.status == "under_2_percent"
    assert (other.candidates, other.hits, other.rate, other.ratio, other.flagged) == (5, 5, 1, None, False)
    assert sex.reference == ("female",)  # 60/150 = 0.4 beats 58/145 = 0.4 only in order: equal rates
    assert c["female"].ratio == 1 and c["male"].ratio == 1 and not sex.flagged
    # without the exclusion the same data would flag both big categories at 0.4
    strict = compute(rows, position="RM", params=AuditParams(small_share=Fraction(0)))
    assert {"×".join(x.category) for _, x in strict.flagged if x.category[0] != "other"} >= {"female", "male"}


def test_a_small_category_gets_no_ratio_and_sets_no_reference() -> None:
    rows = (
        group(20, selected=8, region="上海")
        + group(16, selected=4, region="北京")
        + group(4, selected=4, region="深圳")  # 10 % of those declared, but only 4 people
    )
    region = dim(compute(rows, position="RM"), "selection", "region")
    c = cats(region)
    assert c["深圳"].status == "category_too_small" and c["深圳"].ratio is None and c["深圳"].rate == 1
    assert region.reference == ("上海",)
    assert c["北京"].ratio == Fraction(1, 4) / Fraction(2, 5) and c["北京"].flagged  # 0.625


def test_too_few_declared_says_so_instead_of_ratios() -> None:
    rows = group(15, selected=9, sex="female") + group(14, selected=2, sex="male") + group(30, selected=3)
    audit = compute(rows, position="RM")
    sex = dim(audit, "selection", "sex")
    assert sex.declared == 29 and sex.unknown == 30 and sex.status == "too_few_declared"
    assert all(c.ratio is None and not c.flagged and c.status == "too_few_declared" for c in sex.categories)
    assert audit.flagged == ()
    text = to_text(audit, language="en")
    assert "fewer than 30 declared: no impact ratios" in text
    assert "申报人数不足 30，不计算影响比" in to_text(audit, language="zh")
    # rates are still shown: 9 of 15
    assert "60.0%" in text


def test_unknown_is_reported_apart_and_never_becomes_the_reference() -> None:
    rows = (
        group(20, selected=5, sex="female", age_band="25_34")
        + group(20, selected=4, sex="male", age_band="35_44")
        + group(10, selected=10)  # not declared, all selected
    )
    audit = compute(rows, position="RM")
    sex = dim(audit, "selection", "sex")
    assert (sex.declared, sex.unknown, sex.unknown_hits, sex.unknown_rate) == (40, 10, 10, 1)
    assert set(cats(sex)) == {"female", "male"}
    assert sex.reference == ("female",) and cats(sex)["male"].ratio == Fraction(4, 5)
    assert audit.declared == 40 and audit.candidates == 50 and audit.selected == 19
    [unknown_row] = [
        r
        for r in json.loads(json.dumps(to_json(audit)))["dimensions"]
        if r["dimension"] == "sex" and r["metric"] == "selection"
    ]
    assert unknown_row["unknown"] == {"candidates": 10, "hits": 10, "rate": 1.0}


def test_intersections_need_both_halves_declared() -> None:
    rows = (
        group(10, selected=5, sex="female", age_band="25_34", region="上海")
        + group(10, selected=3, sex="female", age_band="35_44", region="上海")
        + group(10, selected=4, sex="male", age_band="25_34", region="北京")
        + group(6, selected=1, sex="male", age_band="35_44")  # region not declared
        + group(4, selected=4, sex="male")  # age band and region not declared
    )
    audit = compute(rows, position="RM")
    sa = dim(audit, "selection", "sex×age_band")
    assert (sa.declared, sa.unknown, sa.unknown_hits) == (36, 4, 4)
    c = cats(sa)
    assert list(c) == ["female×25_34", "female×35_44", "male×25_34", "male×35_44"]  # declared order
    assert [(x.candidates, x.hits) for x in c.values()] == [(10, 5), (10, 3), (10, 4), (6, 1)]
    assert sa.reference == ("female", "25_34")
    assert [x.ratio for x in c.values()] == [1, Fraction(3, 5), Fraction(4, 5), Fraction(1, 3)]
    assert [x.flagged for x in c.values()] == [False, True, False, True]
    sr = dim(audit, "selection", "sex×region")
    assert (sr.declared, sr.unknown) == (30, 10)
    assert {k: (x.candidates, x.hits) for k, x in cats(sr).items()} == {
        "female×上海": (20, 8),
        "male×北京": (10, 4),
    }
    assert cats(sr)["male×北京"].ratio == 1  # 0.4 each
    assert dim(audit, "selection", "sex").declared == 40
    # labels: "女 × 25–34 岁" in Chinese, "female × 25–34" in English
    assert "女 × 25–34 岁" in to_text(audit, language="zh") and "male × 35–44" in to_text(
        audit, language="en"
    )


def test_excluded_stages_are_counted_but_not_audited_and_selected_stages_are_configurable() -> None:
    rows = (
        group(20, selected=10, sex="female")
        + group(20, selected=10, sex="male")
        + group(3, sex="male", stage="withdrawn")
        + group(2, sex="female", stage="invited")
        + group(20, sex="male", stage="offer")
    )
    audit = compute(rows, position="RM")
    assert (audit.candidates, audit.excluded, audit.selected) == (60, 5, 40)
    m = cats(dim(audit, "selection", "sex"))["male"]
    assert (m.candidates, m.hits) == (40, 30)
    only_offers = compute(rows, position="RM", params=AuditParams(selected_stages=frozenset({"offer"})))
    sex = dim(only_offers, "selection", "sex")
    assert cats(sex)["female"].hits == 0 and cats(sex)["male"].hits == 20
    assert cats(sex)["female"].ratio == 0 and cats(sex)["female"].flagged


def test_no_one_selected_gives_no_reference() -> None:
    audit = compute(group(20, sex="female") + group(20, sex="male"), position="RM")
    sex = dim(audit, "selection", "sex")
    assert sex.status == "no_reference" and all(c.ratio is None for c in sex.categories)
    assert "no one selected in the compared categories" in to_text(audit, language="en")


# --------------------------------------------------------------------------- scoring rate


def test_scoring_rate_is_the_share_strictly_above_the_median_of_everyone_scored() -> None:
    rows = (
        group(20, sex="female", scores=[80.0] * 10 + [60.0] * 10)
        + group(20, sex="male", scores=[80.0] * 6 + [60.0] * 14)
        + group(1, scores=[70.0])  # not declared: counts in the median, reported apart
        + group(5, sex="male", scores=[None] * 5)  # not scored: not in the scoring rate
    )
    audit = compute(rows, position="RM")
    # 41 scores: 24 × 60, 1 × 70, 16 × 80 → the 21st is 60; "above" is strictly above
    assert audit.scored == 41 and audit.median == 60.0
    sex = dim(audit, "scoring", "sex")
    f, m = cats(sex)["female"], cats(sex)["male"]
    assert (f.candidates, f.hits, f.rate) == (20, 10, Fraction(1, 2))
    assert (m.candidates, m.hits, m.rate) == (20, 6, Fraction(3, 10))
    assert m.ratio == Fraction(3, 5) and m.flagged
    assert (sex.declared, sex.unknown, sex.unknown_hits) == (40, 1, 1)
    assert dim(audit, "selection", "sex").declared == 45  # the unscored still count for selection
    assert "评分率" in to_text(audit, language="zh")


def test_no_scores_at_all() -> None:
    audit = compute(group(40, selected=4, sex="female"), position="RM")
    assert audit.scored == 0 and audit.median is None
    assert all(d.declared == 0 and d.status == "too_few_declared" for d in audit.scoring)
    assert "(no interview scores)" in to_text(audit, language="en")


# --------------------------------------------------------------------------- renderings


@pytest.fixture(scope="module")
def sample() -> BiasAudit:
    rows = (
        group(
            40, selected=16, sex="female", age_band="25_34", region="上海", scores=[70.0] * 20 + [90.0] * 20
        )
        + group(
            40,
            selected=12,
            sex="male",
            age_band="25_34",
            region="=HYPERLINK(1)",
            scores=[70.0] * 30 + [90.0] * 10,
        )
        + group(6, selected=1)
    )
    return compute(rows, position="RM", since=date(2026, 1, 1), until=date(2026, 6, 30))


def test_text_in_both_languages(sample: BiasAudit) -> None:
    zh, en = to_text(sample, language="zh"), to_text(sample, language="en")
    assert "偏差审计" in zh and "2026-01-01 至 2026-06-30" in zh and "未申报" in zh and "⚠" in zh
    assert "Bias audit" in en and "2026-01-01 to 2026-06-30" in en and "not declared" in en
    assert "0.75  ⚠" in en and "Categories with an impact ratio below 0.80:" in en
    with pytest.raises(ValueError):
        to_text(sample, language="fr")


def test_csv_has_a_bom_a_header_and_one_row_per_category(sample: BiasAudit) -> None:
    body = to_csv(sample)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0]) == [
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
    ]
    male = [
        r for r in rows if r["metric"] == "selection" and r["dimension"] == "sex" and r["category"] == "male"
    ]
    assert male == [
        {
            "position": "RM",
            "period_start": "2026-01-01",
            "period_end": "2026-06-30",
            "metric": "selection",
            "dimension": "sex",
            "category": "male",
            "candidates": "40",
            "hits": "12",
            "rate": "0.3",
            "impact_ratio": "0.75",
            "share_of_declared": "0.5",
            "status": "ratio",
            "flagged": "true",
        }
    ]
    unknown = [r for r in rows if r["category"] == "unknown" and r["dimension"] == "sex"]
    assert [(r["metric"], r["candidates"], r["status"], r["impact_ratio"]) for r in unknown] == [
        ("selection", "6", "not_declared", ""),
    ]
    # a declared region is free text: never a live formula in Excel
    assert {r["category"] for r in rows if r["dimension"] == "region"} >= {"上海", "'=HYPERLINK(1)"}
    assert len(rows) == len([c for d in sample.dimensions for c in d.categories]) + sum(
        1 for d in sample.dimensions if d.unknown
    )


def test_json_is_complete_and_serialisable(sample: BiasAudit) -> None:
    out = json.loads(json.dumps(to_json(sample), ensure_ascii=False))
    assert out["schema"] == "talentbot.bias-audit/1" and out["method"] == "nyc-ll144/1"
    assert out["period"] == {"start": "2026-01-01", "end": "2026-06-30"}
    assert out["counts"] == {
        "candidates": 86,
        "excluded": 0,
        "declared": 80,
        "selected": 29,
        "scored": 80,
        "flagged": sum(len(d.flagged) for d in sample.dimensions),
    }
    assert out["params"]["flag_below"] == 0.8 and out["params"]["selected_stages"] == [
        "hired",
        "next_round",
        "offer",
    ]
    assert len(out["dimensions"]) == 10
    sex = out["dimensions"][0]
    assert sex["metric"] == "selection" and sex["dimension"] == "sex" and sex["reference"] == "female"
    assert [c["impact_ratio"] for c in sex["categories"]] == [1.0, 0.75]
    scoring_sex = [d for d in out["dimensions"] if d["metric"] == "scoring" and d["dimension"] == "sex"][0]
    # median 70 (80 scores: 50 × 70, 30 × 90): female 20/40 above, male 10/40 → 0.5
    assert out["median_overall"] == 70.0 and [c["impact_ratio"] for c in scoring_sex["categories"]] == [
        1.0,
        0.5,
    ]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_png_bar_chart_is_deterministic(sample: BiasAudit, language: str) -> None:
    png = to_png(sample, language=language)
    assert png.startswith(PNG) and png == to_png(sample, language=language)
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.width == 960 and img.height > 400
    empty = to_png(compute(group(3, sex="female"), position="RM"), language=language)
    assert empty.startswith(PNG) and empty != png


# --------------------------------------------------------------------------- storage


@pytest.fixture
def sessions(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with factory.begin() as s:
        seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ)
    yield factory
    engine.dispose()


def _linked_app(s, *, position: str = "RM", name: str = "张三", now=NOW) -> Application:  # type: ignore[no-untyped-def]
    pos = repo.position_by_code(s, position)
    app, _ = repo.create_application(s, position=pos, name=name, now=now)
    user = User(display_name=name, role="candidate", created_at=now)
    s.add(user)
    s.flush()
    app.user_id, app.stage = user.id, "interviewed"
    return app


def test_record_and_withdraw_demographics(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        app = _linked_app(s)
        app_id = app.id
        with pytest.raises(ValueError, match="sex must be one of"):
            record_demographics(s, app=app, sex="x", age_band=None, region=None, now=NOW)
        with pytest.raises(ValueError, match="age_band"):
            record_demographics(s, app=app, sex=None, age_band="40s", region=None, now=NOW)
        record_demographics(s, app=app, sex=" Female ", age_band="25_34", region=" 上海 ", now=NOW)
    with sessions.begin() as s:
        row = demographics_of(s, app_id)
        assert (row.sex, row.age_band, row.region) == ("female", "25_34", "上海")
        app = s.get(Application, app_id)
        record_demographics(s, app=app, sex=None, age_band="35_44", region="", now=NOW + timedelta(days=1))
    with sessions.begin() as s:
        rows = s.scalars(select(Demographic)).all()
        assert [(r.sex, r.age_band, r.region) for r in rows] == [(None, "35_44", None)]
        consents = s.scalars(select(Consent).where(Consent.kind == "demographics")).all()
        assert [c.granted for c in consents] == [True, True]
        assert repo.latest_consents(s, app_id)["demographics"] is True
        declared = s.scalars(select(AuditEntry).where(AuditEntry.action == "demographics.declare")).all()
        assert [e.details for e in declared] == [
            {"declared": ["sex", "age_band", "region"]},
            {"declared": ["age_band"]},
        ]
        # the audit log never holds the values
        dump = json.dumps([e.details for e in s.scalars(select(AuditEntry))], ensure_ascii=False)
        assert "female" not in dump and "上海" not in dump and "35_44" not in dump
        assert withdraw_demographics(s, app=s.get(Application, app_id), now=NOW + timedelta(days=2)) is True
    with sessions() as s:
        assert demographics_of(s, app_id) is None
        assert repo.latest_consents(s, app_id)["demographics"] is False


def test_an_unlinked_application_cannot_declare(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        pos = repo.position_by_code(s, "RM")
        app, _ = repo.create_application(s, position=pos, name="李四", now=NOW)
        with pytest.raises(ValueError, match="no linked person"):
            record_demographics(s, app=app, sex="male", age_band=None, region=None, now=NOW)


def test_load_rows_joins_round_one_scores_and_declarations_within_the_period(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        a = _linked_app(s, name="甲")
        b = _linked_app(s, name="乙")
        late = _linked_app(s, name="丙", now=NOW + timedelta(days=30))
        other = _linked_app(s, position="TELLER", name="丁")
        record_demographics(s, app=a, sex="female", age_band=None, region="上海", now=NOW)
        for app, overall, rnd in ((a, 81.5, 1), (a, 10.0, 2), (late, 50.0, 1), (other, 70.0, 1)):
            s.add(
                Interview(
                    application_id=app.id,
                    round=rnd,
                    status="completed",
                    language="zh",
                    seed=1,
                    max_questions=6,
                    opens_at=NOW,
                    expires_at=NOW + timedelta(days=3),
                    overall=overall,
                    updated_at=NOW,
                )
            )
        ids = a.id, b.id, late.id
        pos_id = a.position_id
    with sessions() as s:
        rows = load_rows(s, position_id=pos_id)
        assert rows == [
            CandidateRow(ids[0], "interviewed", 81.5, "female", None, "上海", advanced=False),
            CandidateRow(ids[1], "interviewed", None, None, None, None, advanced=False),
            CandidateRow(ids[2], "interviewed", 50.0, None, None, None, advanced=False),
        ]
        start = NOW - timedelta(days=1)
        assert [
            r.application_id
            for r in load_rows(s, position_id=pos_id, start=start, end=NOW + timedelta(days=1))
        ] == list(ids[:2])
        assert [
            r.application_id for r in load_rows(s, position_id=pos_id, start=NOW + timedelta(days=1))
        ] == [ids[2]]


def test_a_candidate_rejected_after_the_next_round_was_still_selected(sessions) -> None:  # type: ignore[no-untyped-def]
    """Selection is the step the audit measures: reaching the next round counts even when a later round
    ended in a rejection (the milestone stays; the stage does not)."""
    with sessions.begin() as s:
        a = _linked_app(s, name="甲")
        b = _linked_app(s, name="乙")
        a.stage, a.next_round_at, a.rejected_at = "rejected", NOW, NOW + timedelta(days=5)
        b.stage, b.rejected_at = "rejected", NOW
        pos_id = a.position_id
    with sessions() as s:
        rows = load_rows(s, position_id=pos_id)
    assert [r.advanced for r in rows] == [True, False]
    audit = compute(rows, position="RM")
    assert audit.selected == 1


# --------------------------------------------------------------------------- the wall


PROTECTED_PARAMS = {"sex", "gender", "age", "age_band", "birth", "birthday", "region", "ethnicity", "race"}


def _scoring_sources() -> list[Path]:
    files = sorted((ROOT / "scoring").rglob("*.py"))
    assert len(files) > 5
    return files


def test_nothing_under_scoring_imports_or_queries_demographics() -> None:
    for path in _scoring_sources():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            else:
                continue
            for name in names:
                assert "demographic" not in name.casefold(), f"{path.relative_to(ROOT)}: {name!r}"
        # raw SQL or a reflected table name would show up as plain text too
        code_only = "\n".join(line.split("#")[0] for line in source.splitlines())
        assert "demographics" not in code_only.casefold(), path


def test_scoring_functions_take_no_demographic_input() -> None:
    seen = 0
    for path in _scoring_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                a = node.args
                params = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                params += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
                seen += 1
                bad = {p.casefold() for p in params} & PROTECTED_PARAMS
                assert not bad, f"{path.relative_to(ROOT)}:{node.lineno} takes {bad}"
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                # dataclass fields: the inputs scoring is given
                assert node.target.id.casefold() not in PROTECTED_PARAMS, (
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                )
    assert seen > 50


def test_importing_every_scoring_module_does_not_load_the_demographics_module() -> None:
    code = (
        "import importlib, pkgutil, sys, scoring\n"
        "for m in pkgutil.walk_packages(scoring.__path__, 'scoring.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if 'demographic' in k))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
