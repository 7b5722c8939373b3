"""Employee self-service logic as pure functions: course recommendations with reasons in zh and en,
promotion gaps and next positions, mentor matching, nearest position names, onboarding due dates,
"my growth" — on the real content, plus a speed check with 1,000 generated courses."""

from __future__ import annotations

import statistics
import string
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from flows.growth import (
    LEVELS,
    TEXTS,
    Course,
    CourseCatalog,
    EmployeeFacts,
    Mentor,
    Message,
    Position,
    PromotionStep,
    Review,
    eligible_positions,
    find_position,
    growth_scores,
    growth_series,
    level_for,
    match_mentor,
    months_between,
    nearest_positions,
    onboarding_checklist,
    promotion_gap,
    recommend_courses,
)
from flows.growth_content import GrowthContent, default_growth
from scoring.questions import INDICATORS, LocalText

AS_OF = date(2026, 3, 1)


@pytest.fixture(scope="module")
def g() -> GrowthContent:
    return default_growth()


def _facts(g: GrowthContent, eid: str, as_of: date = AS_OF) -> EmployeeFacts:
    return g.employees[eid].facts(as_of)


def _step(g: GrowthContent, from_code: str, to_code: str) -> PromotionStep:
    step = g.step(from_code, to_code)
    assert step is not None
    return step


# ------------------------------------------------------------------------------------ the catalog
def test_every_text_has_both_languages_with_the_same_fields() -> None:
    fields = string.Formatter()
    for key, text in TEXTS.items():
        assert text.zh and text.en, key
        zh = {f for _, f, _, _ in fields.parse(text.zh) if f}
        en = {f for _, f, _, _ in fields.parse(text.en) if f}
        assert zh == en, key


def test_message_renders_local_values_per_language() -> None:
    m = Message("crit.course", (("course", LocalText("反洗钱基础", "AML Essentials")),))
    assert m.text("zh") == "完成课程《反洗钱基础》"
    assert m.text("en") == "Complete the course “AML Essentials”"
    custom = {"crit.course": LocalText("课程：{course}", "Course: {course}")}
    assert m.text("en", custom) == "Course: AML Essentials"


# ---------------------------------------------------------------------------------- recommendations
@pytest.mark.parametrize(
    ("score", "level"),
    [(None, "beginner"), (0, "beginner"), (59.9, "beginner"), (60, "intermediate"), (75, "intermediate"),
     (75.1, "advanced"), (100, "advanced")],
)  # fmt: skip
def test_level_from_score(score: float | None, level: str) -> None:
    assert level_for(score) == level


def test_new_hire_gets_courses_for_the_weakest_interview_indicators(g: GrowthContent) -> None:
    e = g.employees["E005"]  # interview: finance 48, risk 62, numeracy 66 …
    scores, source, year = growth_scores(e.interview, e.reviews)
    assert (source, year) == ("interview", None)
    recs = recommend_courses(scores, courses=g.courses, completed=e.completed, enrolled=e.enrolled)
    assert [(r.indicator, r.level) for r in recs] == [
        ("finance", "beginner"),
        ("risk", "intermediate"),
        ("numeracy", "intermediate"),
    ]
    assert [r.course.id for r in recs] == ["deposits-payments", "compliance-cases", "sql-reporting"]
    first = recs[0]
    assert first.source == "interview" and first.score == 48
    assert first.reason("zh") == "您的面试中“金融知识”得分较低（48分），推荐此入门课程"
    assert first.reason("en") == (
        "Your interview showed room to grow in financial knowledge (48/100); this beginner course helps"
    )
    assert all(r.course.level == r.level for r in recs)


def test_completed_and_enrolled_courses_are_skipped(g: GrowthContent) -> None:
    weak = {"finance": 40.0}
    all_ = [r.course.id for r in recommend_courses(weak, courses=g.courses, limit=50)]
    assert all_[:3] == ["deposits-payments", "banking-basics", "banking-arithmetic"]
    recs = recommend_courses(
        weak, courses=g.courses, completed={"deposits-payments"}, enrolled={"banking-basics"}, limit=50
    )
    ids = [r.course.id for r in recs]
    assert "deposits-payments" not in ids and "banking-basics" not in ids
    assert ids == [c for c in all_ if c not in {"deposits-payments", "banking-basics"}]
    # beginner finance used up: the next level up is offered, marked by the course's own level
    assert [r.course.level for r in recs][:2] == ["beginner", "intermediate"]
    assert all(r.level == "beginner" for r in recs)


def test_round_robin_over_indicators_with_room_to_grow(g: GrowthContent) -> None:
    weak = {"finance": 50, "logic": 70, "customer": 90, "risk": None, "charisma": 10}
    recs = recommend_courses(weak, courses=g.courses, limit=4)
    assert [r.indicator for r in recs] == ["finance", "logic", "finance", "logic"]
    assert len({r.course.id for r in recs}) == 4


def test_strong_profile_gets_advanced_courses_for_its_weakest_indicator(g: GrowthContent) -> None:
    weak = dict.fromkeys(INDICATORS, 90.0) | {"numeracy": 80.0}
    recs = recommend_courses(weak, courses=g.courses, limit=2)
    assert {r.indicator for r in recs} == {"numeracy"}
    assert recs[0].level == "advanced" and recs[0].course.level == "advanced"
    assert recs[0].reason("zh") == "您的面试中“数值分析”已有不错的基础（80分），推荐此高阶课程更进一步"
    assert "solid base in numerical analysis" in recs[0].reason("en")


def test_employee_without_interview_uses_the_latest_review(g: GrowthContent) -> None:
    e = g.employees["E001"]
    assert not e.interview
    scores, source, year = growth_scores(e.interview, e.reviews)
    assert (source, year) == ("review", 2025)
    recs = recommend_courses(scores, courses=g.courses, completed=e.completed, source=source, year=year)
    assert [r.indicator for r in recs] == ["logic", "finance", "risk"]  # 68, 68 (INDICATORS order), 70
    assert recs[0].reason("zh") == "您2025年度考核中“逻辑思维”得分较低（68分），推荐此进阶课程"
    assert recs[0].reason("en").startswith("Your 2025 annual review showed room to grow in logical reasoning")
    assert not {r.course.id for r in recs} & e.completed


def test_the_skill_the_person_asked_about(g: GrowthContent) -> None:
    recs = recommend_courses({}, courses=g.courses, indicator="communication")
    assert [r.course.id for r in recs] == [
        "business-writing",
        "customer-communication",
        "presentation-skills",
    ]
    assert all(r.indicator == "communication" and r.source == "asked" for r in recs)
    assert recs[0].reason("zh") == "您希望提升“沟通表达”，推荐此入门课程"
    assert recs[0].reason("en") == "You asked to grow your communication; this is a beginner course for it"
    assert recs[2].reason("zh") == "您希望提升“沟通表达”，推荐此进阶课程"
    # a known score sets the level; an explicit level is kept to strictly
    assert (
        recommend_courses({"communication": 80}, courses=g.courses, indicator="communication")[0].level
        == "advanced"
    )
    adv = recommend_courses({}, courses=g.courses, indicator="composure", level="advanced", limit=5)
    assert [r.course.id for r in adv] == ["crisis-communication", "resilient-leadership"]
    assert (
        recommend_courses(
            {},
            courses=g.courses,
            indicator="composure",
            level="advanced",
            completed={c.course.id for c in adv},
        )
        == []
    )


def test_recommendation_edge_cases(g: GrowthContent) -> None:
    assert recommend_courses({}, courses=g.courses) == []
    assert recommend_courses(dict.fromkeys(INDICATORS), courses=g.courses) == []
    assert recommend_courses({"finance": 40}, courses=g.courses, limit=0) == []
    as_list = recommend_courses({"finance": 40}, courses=list(g.courses.courses))
    assert as_list == recommend_courses({"finance": 40}, courses=g.courses)
    for bad in ({"indicator": "charm"}, {"level": "expert"}, {"source": "survey"}):
        with pytest.raises(ValueError):
            recommend_courses({"finance": 40}, courses=g.courses, **bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- promotion
def test_months_between() -> None:
    assert months_between(date(2024, 3, 4), date(2026, 3, 1)) == 23
    assert months_between(date(2024, 3, 4), date(2026, 3, 4)) == 24
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 0
    assert months_between(date(2026, 5, 1), date(2026, 3, 1)) == 0


def test_facts_as_of_a_day(g: GrowthContent) -> None:
    e = g.employees["E007"]
    assert e.facts(AS_OF).review_year == 2025
    assert e.facts(date(2025, 12, 31)).review_year == 2025
    mid = e.facts(date(2024, 6, 1))  # reviews of later years are not known yet
    assert mid.review_year == 2024 and [r.year for r in mid.reviews] == [2023, 2024]
    assert mid.tenure_months == 22


def test_gap_all_met(g: GrowthContent) -> None:
    gap = promotion_gap(_facts(g, "E001"), _step(g, "TELLER", "SENIOR_TELLER"))
    assert gap.met and gap.n_missing == 0 and gap.current
    kinds = [c.kind for c in gap.criteria]
    assert kinds == [
        "tenure",
        "projects",
        "excellent_reviews",
        "course",
        "course",
        "course",
        "indicator",
        "indicator",
    ]
    tenure = gap.criteria[0]
    assert (tenure.required, tenure.actual, tenure.shortfall) == (24, 55, 0)
    assert tenure.text("zh") == "现岗位任职满24个月（目前55个月）"
    assert tenure.text("en") == "24 months in the current position (you have 55)"
    risk = gap.criteria[-2]  # indicators in INDICATORS order
    assert (risk.subject, risk.actual, risk.source) == ("risk", 70, "review")


def test_gap_missing_by_how_much(g: GrowthContent) -> None:
    gap = promotion_gap(_facts(g, "E007"), _step(g, "RISK", "SENIOR_RISK"))
    assert not gap.met and gap.n_missing == 2
    course, numeracy = gap.missing
    assert (course.kind, course.subject, course.shortfall) == ("course", "sql-reporting", 1)
    assert course.text("zh") == "完成课程《SQL 与业务数据报表》"
    assert (numeracy.subject, numeracy.required, numeracy.actual, numeracy.shortfall) == (
        "numeracy",
        75,
        73,
        2,
    )
    assert numeracy.text("zh") == "“数值分析”达到75分（目前73分，来自年度考核）"
    assert numeracy.text("en") == "numerical analysis of at least 75 (you have 73, from your annual review)"


def test_gap_of_a_new_hire(g: GrowthContent) -> None:
    gap = promotion_gap(_facts(g, "E005"), _step(g, "RM", "SENIOR_RM"))
    missing = {(c.kind, c.subject): c for c in gap.missing}
    assert missing[("tenure", None)].shortfall == 13  # 23 of 36 months
    assert missing[("projects", None)].shortfall == 2
    assert missing[("excellent_reviews", None)].text("zh") == "近3年年度考核获评“优秀”2次（目前0次）"
    assert (
        missing[("course", "corporate-lending")].text("en")
        == "Complete the course “Corporate Lending” (in progress)"
    )
    assert missing[("indicator", "finance")].actual == 61
    assert ("indicator", "communication") not in missing
    assert not [c for c in gap.criteria if c.kind == "course" and c.met]


def test_indicator_standing_falls_back_to_the_interview() -> None:
    course = Course("c1", LocalText("课", "Course"), ("finance",), "beginner", 1, 1, LocalText("d", "d"))
    step = PromotionStep(
        ladder="x",
        from_position=Position("A", LocalText("甲", "A"), "部"),
        to_position=Position("B", LocalText("乙", "B"), "部"),
        min_tenure_months=6,
        min_projects=0,
        excellent_reviews=1,
        review_years=2,
        courses=(course,),
        indicators=(("logic", 70.0), ("finance", 60.0), ("customer", 50.0)),
    )
    facts = EmployeeFacts(
        id="N1",
        department="部",
        position="B",
        tenure_months=7,
        projects=0,
        interview={"logic": 72, "finance": 55, "customer": None},
        completed=frozenset({"c1"}),
    )
    gap = promotion_gap(facts, step)
    assert not gap.current
    by = {c.subject: c for c in gap.criteria if c.kind == "indicator"}
    assert (by["logic"].met, by["logic"].source) == (True, "interview")
    assert by["logic"].text("zh") == "“逻辑思维”达到70分（目前72分，来自面试）"
    assert (by["finance"].met, by["finance"].shortfall) == (False, 5)
    assert by["customer"].actual is None and not by["customer"].met
    assert by["customer"].text("en") == "customer orientation of at least 50 (no score yet)"
    assert [c.kind for c in gap.missing] == ["excellent_reviews", "indicator", "indicator"]
    # reviews, once there are any, win over the interview; only the last `review_years` count
    reviews = (
        Review(2022, "excellent", dict.fromkeys(INDICATORS, 80.0)),
        Review(2024, "good", dict.fromkeys(INDICATORS, 65.0)),
        Review(2025, "excellent", dict.fromkeys(INDICATORS, 65.0)),
    )
    gap2 = promotion_gap(replace(facts, reviews=reviews, review_year=2025), step)
    assert [(c.kind, c.subject) for c in gap2.missing] == [("indicator", "logic")]
    assert gap2.criteria[2].actual == 1  # 2022 is outside the last two years
    assert promotion_gap(replace(facts, reviews=reviews, review_year=2023), step).criteria[2].actual == 1


def test_eligible_positions(g: GrowthContent) -> None:
    (e1,) = eligible_positions(_facts(g, "E001"), g.ladders)
    assert e1.position.code == "SENIOR_TELLER" and e1.eligible
    (e2,) = eligible_positions(_facts(g, "E002"), g.ladders)  # wealth manager is 3 criteria away
    assert e2.position.code == "LOBBY_MANAGER" and not e2.eligible and e2.gap.n_missing == 1
    both = eligible_positions(_facts(g, "E002"), g.ladders, max_missing=3)
    assert [e.position.code for e in both] == ["LOBBY_MANAGER", "WEALTH_MANAGER"]
    (e7,) = eligible_positions(_facts(g, "E007"), g.ladders)
    assert e7.position.code == "SENIOR_RISK" and e7.gap.n_missing == 2
    assert eligible_positions(_facts(g, "E005"), g.ladders) == []  # far from it
    assert eligible_positions(_facts(g, "E006"), g.ladders) == []  # top of the ladder
    (e4,) = eligible_positions(_facts(g, "E004"), g.ladders)
    assert e4.position.title.en == "Relationship Team Lead"
    assert [c.subject for c in e4.gap.missing] == ["composure"]


def test_eligible_positions_sorted_by_fewest_missing_then_smallest_shortfall(g: GrowthContent) -> None:
    facts = replace(_facts(g, "E002"), completed=_facts(g, "E002").completed | {"customer-needs"})
    base = [e.position.code for e in eligible_positions(facts, g.ladders, max_missing=5)]
    assert base == ["LOBBY_MANAGER", "WEALTH_MANAGER"]
    # wealth manager nearer than lobby manager: lobby now misses two criteria, wealth one
    strong = replace(
        facts,
        completed=facts.completed - {"customer-needs", "complaint-handling"}
        | {"banking-arithmetic", "wealth-products"},
        reviews=(
            *facts.reviews[:-1],
            replace(facts.reviews[-1], scores={**facts.reviews[-1].scores, "finance": 80}),
        ),
    )
    ordered = eligible_positions(strong, g.ladders)
    assert [(e.position.code, e.gap.n_missing) for e in ordered] == [
        ("WEALTH_MANAGER", 0),
        ("LOBBY_MANAGER", 2),
    ]


# ------------------------------------------------------------------------------------------ mentors
def _mentor(mid: str, dept: str, strengths: tuple[str, ...], capacity: int = 2, mentees: int = 0) -> Mentor:
    return Mentor(
        mid,
        LocalText(mid, mid),
        dept,
        LocalText(dept, f"{dept} dept"),
        LocalText("职", "Job"),
        strengths,
        capacity,
        mentees,
    )


def test_mentor_in_the_same_department_complementing_the_weakest(g: GrowthContent) -> None:
    m = match_mentor({"numeracy": 58, "risk": 90, "logic": 75, "customer": 70}, "风险管理部", g.mentors)
    assert m is not None and m.mentor.id == "E007" and m.same_department and m.best_full is None
    assert m.matched == ("numeracy",)
    assert m.reason("zh") == (
        "为您匹配的导师是孙悦（风险管理部·风险管理岗），擅长数值分析、学习能力，正好补足您在面试中相对薄弱的数值分析。"
    )
    assert m.reason("en").startswith("Your mentor is Sun Yue (Risk Analyst, Risk Management Department)")
    risk = match_mentor({"risk": 50, "logic": 60, "numeracy": 90}, "风险管理部", g.mentors)
    assert risk is not None and risk.mentor.id == "E006" and risk.matched == ("risk", "logic")


def test_mentor_at_capacity_is_skipped_and_the_result_says_so(g: GrowthContent) -> None:
    m = match_mentor({"customer": 55, "composure": 58, "finance": 70}, "零售银行部", g.mentors)
    assert m is not None
    assert m.mentor.id == "E003" and m.best_full is not None and m.best_full.id == "E002"
    assert m.matched == ("finance",)
    assert m.reason("zh").endswith("最契合的导师王芳带教名额已满（2/2）。")
    assert m.reason("en").endswith("The closest match, Wang Fang, has no free mentee place (2/2).")
    plain = match_mentor({"finance": 50}, "零售银行部", g.mentors)
    assert plain is not None and plain.mentor.id == "E003" and plain.best_full is None
    assert "名额已满" not in plain.reason("zh")


def test_mentor_from_another_department_when_none_is_free() -> None:
    mentors = [
        _mentor("A", "零售银行部", ("customer",), capacity=1, mentees=1),
        _mentor("B", "公司银行部", ("communication", "customer")),
        _mentor("C", "风险管理部", ("customer", "finance")),
    ]
    m = match_mentor({"customer": 40, "finance": 45, "communication": 80}, "零售银行部", mentors)
    assert m is not None and m.mentor.id == "C" and not m.same_department
    assert m.matched == ("customer", "finance") and m.best_full is not None and m.best_full.id == "A"
    assert "本部门暂时没有可带教的导师，因此从风险管理部为您匹配。" in m.reason("zh")
    assert "this one is from the 风险管理部 dept" in m.reason("en")
    unknown = match_mentor({"customer": 40}, "运营管理部", mentors)
    assert unknown is not None and unknown.mentor.id in {"B", "C"} and unknown.best_full is None


def test_mentor_tie_break_and_no_scores() -> None:
    mentors = [
        _mentor("M2", "零售银行部", ("logic",), capacity=3, mentees=1),
        _mentor("M1", "零售银行部", ("logic",), capacity=3, mentees=1),
        _mentor("M3", "零售银行部", ("risk",), capacity=3, mentees=0),
    ]
    first = match_mentor({"logic": 50}, "零售银行部", mentors)
    assert first is not None and first.mentor.id == "M1"  # same fit and free places: by id
    assert match_mentor({"logic": 50}, "零售银行部", list(reversed(mentors))) == first
    none = match_mentor({"logic": None}, "零售银行部", mentors)
    assert none is not None and none.mentor.id == "M3" and none.matched == ()  # most free places
    assert none.reason("zh") == "为您匹配的导师是M3（零售银行部·职），擅长风险意识。"


def test_no_mentor_with_a_free_place() -> None:
    assert match_mentor({"logic": 50}, "零售银行部", [_mentor("A", "零售银行部", ("logic",), 1, 1)]) is None
    assert match_mentor({"logic": 50}, "零售银行部", []) is None


# ------------------------------------------------------------------------------------ position names
@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("客护经理", "zh", ["客户经理", "高级客户经理"]),
        ("风险管里岗", "zh", ["风险管理岗"]),
        ("高级柜元", "zh", ["高级柜员"]),
        ("风控经理", "zh", ["风险经理"]),
        ("柜员", "zh", ["综合柜员", "高级柜员"]),
        ("客户经理", "zh", ["客户经理", "高级客户经理"]),
        ("Teler", "en", ["Bank Teller"]),
        ("relationship manger", "en", ["Relationship Manager", "Senior Relationship Manager"]),
        ("risk manger", "en", ["Risk Manager", "Risk Analyst"]),
        ("Lobby manger", "zh", ["大堂经理"]),
        ("senior rm", "en", ["Senior Relationship Manager"]),
        ("loan officer", "en", []),
        ("", "en", []),
    ],
)
def test_nearest_position_names(g: GrowthContent, query: str, lang: str, expected: list[str]) -> None:
    assert nearest_positions(query, g.positions.values(), lang) == expected


def test_nearest_positions_partial_and_limit(g: GrowthContent) -> None:
    managers = nearest_positions("经理", g.positions.values(), "zh")
    assert len(managers) == 5 and set(managers) <= {
        "客户经理",
        "大堂经理",
        "理财经理",
        "风险经理",
        "高级客户经理",
    }
    assert nearest_positions("经理", g.positions.values(), "zh", limit=2) == managers[:2]


def test_find_position_exact(g: GrowthContent) -> None:
    ps = list(g.positions.values())
    assert find_position("高级客户经理", ps) == g.positions["SENIOR_RM"]
    assert find_position("senior relationship manager", ps) == g.positions["SENIOR_RM"]
    assert find_position("senior_rm", ps) == g.positions["SENIOR_RM"]
    assert find_position("客户经理助理", ps) is None


# --------------------------------------------------------------------------------------- onboarding
def test_checklist_due_dates(g: GrowthContent) -> None:
    start = date(2026, 3, 2)  # a Monday
    items = onboarding_checklist(g.onboarding["零售银行部"], start)
    due = {i.id: i.due for i in items}
    assert due["contract"] == start
    assert due["meet-mentor"] == date(2026, 3, 5)
    assert due["aml"] == date(2026, 3, 9)
    assert due["first-month-review"] == date(2026, 4, 1)
    assert [i.due for i in items] == sorted(i.due for i in items)
    assert [i.id for i in items][:4] == ["contract", "salary-account", "system-accounts", "meet-mentor"]
    mentor = next(i for i in items if i.mentor)
    assert (mentor.kind, mentor.title.zh, mentor.title.en) == ("meeting", "与导师见面", "Meet your mentor")
    aml = next(i for i in items if i.id == "aml")
    assert (aml.kind, aml.course) == ("training", "aml-basics")


def test_checklist_due_dates_move_off_weekends(g: GrowthContent) -> None:
    start = date(2026, 3, 6)  # a Friday: day 1 is Saturday, day 2 Sunday
    items = {i.id: i for i in onboarding_checklist(g.onboarding["风险管理部"], start)}
    assert items["contract"].due == start and items["confidentiality"].due == start
    assert items["salary-account"].due == date(2026, 3, 9) == items["system-accounts"].due
    assert all(i.due.weekday() < 5 for i in items.values())
    calendar = {
        i.id: i.due for i in onboarding_checklist(g.onboarding["风险管理部"], start, roll_weekends=False)
    }
    assert calendar["salary-account"] == date(2026, 3, 7)


# ---------------------------------------------------------------------------------------- my growth
def test_growth_series_interview_beside_latest_review(g: GrowthContent) -> None:
    e = g.employees["E007"]
    s = growth_series(e.interview, e.reviews)
    assert (s.years, s.latest_year, s.latest_rating) == ((2023, 2024, 2025), 2025, "good")
    assert [r.indicator for r in s.rows] == list(INDICATORS)
    numeracy = next(r for r in s.rows if r.indicator == "numeracy")
    assert (numeracy.interview, numeracy.review, numeracy.delta) == (78, 73, -5)
    assert numeracy.history == ((2023, 70), (2024, 72), (2025, 73))
    assert numeracy.name.zh == "数值分析"
    assert s.improved == ("customer", "communication", "finance", "composure")  # +4, +3, +3, +1
    assert s.declined == ("numeracy", "logic", "risk")


def test_growth_series_without_interview_or_reviews(g: GrowthContent) -> None:
    e = g.employees["E001"]
    s = growth_series(None, e.reviews)
    assert all(r.interview is None and r.delta is None and r.review is not None for r in s.rows)
    assert s.improved == () and s.declined == ()
    empty = growth_series({"logic": 70}, [])
    assert empty.latest_year is None and empty.rows[1].interview == 70 and empty.rows[1].review is None


# -------------------------------------------------------------------------------------------- speed
def _p95(fn: Callable[[], object], runs: int = 300) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.quantiles(times, n=20)[18] * 1000


def test_speed_with_a_thousand_courses() -> None:
    courses = [
        Course(
            id=f"gen-{i}",
            title=LocalText(f"课程{i}", f"Course {i}"),
            indicators=(INDICATORS[i % 8],) if i % 3 else (INDICATORS[i % 8], INDICATORS[(i + 3) % 8]),
            level=LEVELS[(i // 8) % 3],
            hours=float(1 + i % 17),
            chapters=1 + i % 12,
            description=LocalText("说明", "About"),
        )
        for i in range(1000)
    ]
    catalog = CourseCatalog.build(courses)
    completed = {f"gen-{i}" for i in range(0, 1000, 2)}
    weak = {k: 40.0 + 7 * n for n, k in enumerate(INDICATORS)}
    rec_ms = _p95(lambda: recommend_courses(weak, courses=catalog, completed=completed, limit=5))
    step = PromotionStep(
        ladder="gen",
        from_position=Position("A", LocalText("甲", "A"), "部"),
        to_position=Position("B", LocalText("乙", "B"), "部"),
        min_tenure_months=24,
        min_projects=3,
        excellent_reviews=2,
        review_years=3,
        courses=tuple(courses[:20]),
        indicators=tuple((k, 70.0) for k in INDICATORS),
    )
    facts = EmployeeFacts(
        id="P",
        department="部",
        position="A",
        tenure_months=30,
        projects=4,
        reviews=tuple(Review(y, "excellent", dict.fromkeys(INDICATORS, 72.0)) for y in range(2016, 2026)),
        completed=frozenset(completed),
    )
    gap_ms = _p95(lambda: promotion_gap(facts, step))
    print(f"p95 recommend_courses {rec_ms:.3f} ms, promotion_gap {gap_ms:.3f} ms (1,000 courses)")
    assert rec_ms <= 20 and gap_ms <= 20
