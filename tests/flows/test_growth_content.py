"""The employee self-service content (courses, onboarding, promotion ladders, demo employees): the real
files load and hold what the product needs, and a broken file is reported by file and item."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.growth import LEVELS
from flows.growth_content import CONTENT_DIR, FILES, GrowthContentError, default_growth, load_growth
from scoring.questions import INDICATORS

DEMO_DEPARTMENTS = {"零售银行部", "公司银行部", "风险管理部"}


# ------------------------------------------------------------------------------ the real content
def test_real_content_loads_once() -> None:
    g = default_growth()
    assert default_growth() is g
    assert len(g.version) == 64
    assert load_growth().version == g.version


def test_course_catalogue() -> None:
    g = default_growth()
    assert len(g.courses) >= 36
    for c in g.courses.courses:
        assert c.title.zh and c.title.en and c.description.zh and c.description.en
        assert 1 <= len(c.indicators) <= 2 and set(c.indicators) <= set(INDICATORS)
        assert c.level in LEVELS and c.hours > 0 and c.chapters > 0
    for ind in INDICATORS:
        levels = {lv for lv in LEVELS if g.courses.at(ind, lv)}
        assert len(levels) >= 2, ind
    titles = {c.title.zh for c in g.courses.courses}
    assert {"银行基础业务知识", "客户沟通技巧", "信贷风险识别", "Excel 数据分析", "高效沟通技巧"} <= titles
    assert {"反洗钱基础", "消费者权益保护", "信息安全与数据保护"} <= titles
    for dept in DEMO_DEPARTMENTS:
        mandatory = {c.id for c in g.courses.mandatory(dept)}
        assert {"aml-basics", "information-security"} <= mandatory


def test_onboarding_templates() -> None:
    g = default_growth()
    assert set(g.onboarding) == DEMO_DEPARTMENTS
    for dept, t in g.onboarding.items():
        assert 8 <= len(t.items) <= 12
        assert t.department_name.zh == dept and t.department_name.en.endswith("Department")
        assert [i.id for i in t.items if i.mentor] == ["meet-mentor"]
        assert {i.kind for i in t.items} == {"document", "account", "training", "meeting"}
        trainings = {i.course for i in t.items if i.kind == "training"}
        assert {c.id for c in g.courses.mandatory(dept)} <= trainings
        for i in t.items:
            assert i.title.zh and i.title.en
            assert (i.course is not None) == (i.kind == "training")
    aml = next(i for i in g.onboarding["零售银行部"].items if i.course == "aml-basics")
    assert aml.title.zh == "完成《反洗钱基础》学习"
    assert aml.title.en == "Complete “Anti-Money Laundering Essentials”"


def test_promotion_ladders() -> None:
    g = default_growth()
    for code in ("TELLER", "RM", "RISK"):
        assert g.steps_from(code), code
    assert g.positions["SENIOR_RM"].title.zh == "高级客户经理"
    assert g.positions["TEAM_LEAD"].department == "公司银行部"
    assert {s.to_position.code for s in g.steps_from("SENIOR_TELLER")} == {"LOBBY_MANAGER", "WEALTH_MANAGER"}
    step = g.step("RM", "SENIOR_RM")
    assert step is not None
    assert (step.min_projects, step.excellent_reviews, step.review_years) == (3, 2, 3)
    assert [c.id for c in step.courses] == [
        "corporate-lending",
        "financial-statements",
        "credit-risk-identification",
    ]
    assert dict(step.indicators) == {"communication": 70, "finance": 75, "customer": 75}
    assert g.step("RM", "TEAM_LEAD") is None


def test_demo_employees_and_mentors() -> None:
    g = default_growth()
    assert 6 <= len(g.employees) <= 10
    for e in g.employees.values():
        assert e.position in g.positions and g.positions[e.position].department == e.department
        assert e.reviews and all(set(r.scores) == set(INDICATORS) for r in e.reviews)
        assert {r.year for r in e.reviews} <= {2023, 2024, 2025}
        assert e.completed <= set(g.courses.by_id)
    assert {e.language for e in g.employees.values()} == {"zh", "en"}
    assert any(not e.interview for e in g.employees.values())
    assert any(e.interview for e in g.employees.values())
    assert {m.department for m in g.mentors} == DEMO_DEPARTMENTS
    assert len({m.strengths for m in g.mentors}) == len(g.mentors)
    full = [m for m in g.mentors if m.free == 0]
    assert [m.id for m in full] == ["E002"]
    assert g.employees["E002"].mentor is full[0]
    assert full[0].position.zh == "高级柜员" and full[0].department_name.en == "Retail Banking Department"


# ------------------------------------------------------------------------------ broken content
@pytest.fixture
def content(tmp_path: Path) -> Path:
    d = tmp_path / "content"
    d.mkdir()
    for name in FILES:
        shutil.copy(CONTENT_DIR / name, d / name)
    return d


def _edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _errors(directory: Path) -> tuple[str, ...]:
    with pytest.raises(GrowthContentError) as e:
        load_growth(directory)
    assert str(e.value).startswith("invalid growth content:")
    return e.value.errors


def _course(data: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in data["courses"] if c["id"] == cid)


def test_a_copy_of_the_real_content_loads(content: Path) -> None:
    g = load_growth(content)
    assert g.version == default_growth().version


def test_unknown_indicator_in_a_course(content: Path) -> None:
    _edit(content, "courses.yml", lambda d: _course(d, "banking-basics").update(indicators=["finanse"]))
    errors = _errors(content)
    assert any(
        e.startswith("content/courses.yml: item 'banking-basics': unknown indicator 'finanse'")
        for e in errors
    )


def test_duplicate_course_id(content: Path) -> None:
    def dup(d: dict[str, Any]) -> None:
        d["courses"].append(dict(_course(d, "aml-basics")))

    _edit(content, "courses.yml", dup)
    assert any("courses.yml: item 'aml-basics': duplicate id 'aml-basics'" in e for e in _errors(content))


def test_unknown_course_in_a_promotion_rule(content: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        d["ladders"][0]["steps"][0]["rules"]["courses"].append("banking-basic")

    _edit(content, "promotion.yml", bad)
    errors = _errors(content)
    assert errors == (
        "content/promotion.yml: item 'retail: TELLER → SENIOR_TELLER': courses names unknown course 'banking-basic'",
    )


def test_unknown_position_and_indicator_in_a_ladder(content: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        step = d["ladders"][1]["steps"][0]
        step["to"] = "SENIOR_RN"
        step["rules"]["indicators"]["charisma"] = 70

    _edit(content, "promotion.yml", bad)
    errors = _errors(content)
    assert any("item 'corporate: RM → SENIOR_RN': unknown position 'SENIOR_RN'" in e for e in errors)
    assert any("item 'corporate: RM → SENIOR_RN': unknown indicator 'charisma'" in e for e in errors)


def test_duplicate_position_code(content: Path) -> None:
    def dup(d: dict[str, Any]) -> None:
        d["positions"].append(
            {"code": "RM", "title_zh": "客户经理", "title_en": "RM", "department": "公司银行部"}
        )

    _edit(content, "promotion.yml", dup)
    assert any("promotion.yml: item 'RM': duplicate position code 'RM'" in e for e in _errors(content))


def test_unknown_course_in_onboarding_and_missing_mandatory_training(content: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        aml = next(i for i in d["templates"][2]["items"] if i.get("course") == "aml-basics")
        aml["course"] = "aml-basic"

    _edit(content, "onboarding.yml", bad)
    errors = _errors(content)
    assert (
        "content/onboarding.yml: item '风险管理部/aml': training names unknown course 'aml-basic'" in errors
    )
    assert any(
        "item '风险管理部': course 'aml-basics' is mandatory for 风险管理部 but is not one of its trainings"
        in e
        for e in errors
    )


def test_missing_english_text_and_bad_level(content: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        c = _course(d, "excel-data-analysis")
        del c["title_en"]
        c["level"] = "expert"

    _edit(content, "courses.yml", bad)
    errors = _errors(content)
    assert any("item 'excel-data-analysis': missing title_en" in e for e in errors)
    assert any("item 'excel-data-analysis': title_en must be a non-empty string" in e for e in errors)
    assert any("item 'excel-data-analysis': level 'expert' must be one of" in e for e in errors)


def test_employee_errors_name_the_employee(content: Path) -> None:
    def bad(d: dict[str, Any]) -> None:
        e1, e2 = d["employees"][0], d["employees"][1]
        e1["position"] = "CASHIER"
        e1["completed"].append("no-such-course")
        e1["reviews"][0]["rating"] = "outstanding"
        del e1["reviews"][1]["scores"]["customer"]
        e2["strengths"] = ["customer", "patience"]
        d["employees"][2]["id"] = "E001"

    _edit(content, "employees.yml", bad)
    errors = _errors(content)
    assert any("employees.yml: item 'E001': unknown position 'CASHIER'" in e for e in errors)
    assert any("item 'E001': completed/enrolled names unknown course 'no-such-course'" in e for e in errors)
    assert any("item 'E001': reviews[0].rating 'outstanding'" in e for e in errors)
    assert any("item 'E001': reviews 2024 scores lacks customer" in e for e in errors)
    assert any("item 'E002': unknown strength 'patience'" in e for e in errors)
    assert any("item 'E001': duplicate id 'E001'" in e for e in errors)


def test_every_problem_at_once(content: Path) -> None:
    _edit(content, "courses.yml", lambda d: _course(d, "banking-basics").update(hours=-1))
    _edit(content, "employees.yml", lambda d: d["employees"][0].update(department="运营部"))
    errors = _errors(content)
    assert any(e.startswith("content/courses.yml: item 'banking-basics': hours") for e in errors)
    assert any(
        e.startswith("content/employees.yml: item 'E001': unknown department '运营部'") for e in errors
    )


def test_invalid_yaml_and_missing_file(content: Path) -> None:
    (content / "courses.yml").write_text("courses: [\n  - id: x\n", encoding="utf-8")
    (content / "onboarding.yml").unlink()
    errors = _errors(content)
    assert any(e.startswith("content/courses.yml: not valid YAML") for e in errors)
    assert "content/onboarding.yml: file not found" in errors


@pytest.mark.parametrize("name", FILES)
def test_a_broken_file_is_one_error_not_a_cascade(content: Path, name: str) -> None:
    (content / name).write_text("oops: [\n", encoding="utf-8")
    (error,) = _errors(content)
    assert error.startswith(f"content/{name}: not valid YAML")


def test_wrong_top_level_shape(content: Path) -> None:
    (content / "employees.yml").write_text("people: []\n", encoding="utf-8")
    assert "content/employees.yml: expected a mapping with 'employees' lists" in _errors(content)
