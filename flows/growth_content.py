"""The employee self-service content, loaded and validated once: courses, onboarding checklists,
promotion ladders and the demo employees (``content/*.yml``), against the positions and departments
of ``content/positions.yml`` and the eight interview indicators.

Loading checks everything and raises one :class:`GrowthContentError` listing every problem as
``file: item 'id': message`` — unknown course ids, indicators, positions or departments, duplicate
ids, missing zh/en text, out-of-range numbers — so a content author fixes them in one pass.
``version`` is the sha256 over the files, for logs of decisions made from them.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from flows.growth import (
    ITEM_KINDS,
    LEVELS,
    RATINGS,
    Course,
    CourseCatalog,
    Employee,
    Ladder,
    Mentor,
    OnboardingItem,
    OnboardingTemplate,
    Position,
    PromotionStep,
    Review,
)
from scoring.questions import INDICATORS, LocalText

__all__ = ["FILES", "GrowthContent", "GrowthContentError", "default_growth", "load_growth"]

CONTENT_DIR = Path(__file__).resolve().parents[1] / "content"
FILES = ("positions.yml", "courses.yml", "onboarding.yml", "promotion.yml", "employees.yml")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COURSE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_LANGS = ("zh", "en")


class GrowthContentError(ValueError):
    """The growth content is invalid; ``errors`` lists each problem with its file and item."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("invalid growth content:\n  " + "\n  ".join(self.errors))


@dataclass(frozen=True, slots=True)
class GrowthContent:
    courses: CourseCatalog
    onboarding: Mapping[str, OnboardingTemplate]  # by department
    positions: Mapping[str, Position]  # by code: the entry positions and those promoted into
    departments: Mapping[str, LocalText]
    ladders: tuple[Ladder, ...]
    employees: Mapping[str, Employee]
    mentors: tuple[Mentor, ...]
    version: str

    def steps_from(self, position_code: str) -> tuple[PromotionStep, ...]:
        return tuple(s for lad in self.ladders for s in lad.steps if s.from_position.code == position_code)

    def step(self, from_code: str, to_code: str) -> PromotionStep | None:
        return next((s for s in self.steps_from(from_code) if s.to_position.code == to_code), None)


class _V:
    """Collects errors as ``file: item 'id': message`` while reading one file after another."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.file = ""
        self.item = ""
        self.broken: set[str] = set()  # files that did not load: references into them are not checked

    def err(self, msg: str) -> None:
        where = f"item '{self.item}': " if self.item else ""
        self.errors.append(f"{self.file}: {where}{msg}")

    def keys(self, raw: dict[str, Any], required: set[str], optional: Iterable[str] = ()) -> None:
        if missing := required - set(raw):
            self.err(f"missing {', '.join(sorted(missing))}")
        if unknown := set(raw) - required - set(optional):
            self.err(f"unknown keys {', '.join(sorted(map(str, unknown)))}")

    def text(self, raw: dict[str, Any], stem: str) -> LocalText:
        out = []
        for lang in _LANGS:
            v = raw.get(f"{stem}_{lang}")
            if not isinstance(v, str) or not v.strip():
                self.err(f"{stem}_{lang} must be a non-empty string")
                v = ""
            out.append(v.strip())
        return LocalText(out[0], out[1])

    def int_(self, raw: Any, what: str, lo: int, hi: int) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool) or not lo <= raw <= hi:
            self.err(f"{what} must be an integer from {lo} to {hi}, not {raw!r}")
            return lo
        return raw

    def score(self, raw: Any, what: str) -> float:
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not 0 <= raw <= 100:
            self.err(f"{what} must be a number from 0 to 100, not {raw!r}")
            return 0.0
        return float(raw)

    def indicator(self, raw: Any, what: str = "indicator") -> bool:
        if raw not in INDICATORS:
            self.err(f"unknown {what} {raw!r} (known: {', '.join(INDICATORS)})")
            return False
        return True

    def list_(self, raw: Any, what: str, *, empty: bool = True) -> list[Any]:
        if raw is None and empty:
            return []
        if not isinstance(raw, list) or (not empty and not raw):
            self.err(f"{what} must be a {'' if empty else 'non-empty '}list")
            return []
        return raw

    def unique(self, seen: dict[str, str], key: str, what: str = "id") -> None:
        if key in seen:
            self.err(f"duplicate {what} {key!r} (also {seen[key]})")
        else:
            seen[key] = f"in {self.file}"

    def scores(self, raw: Any, what: str, *, complete: bool) -> dict[str, float | None]:
        if not isinstance(raw, dict):
            self.err(f"{what} must be a mapping {{indicator: 0–100}}")
            return {}
        out: dict[str, float | None] = {}
        for k, v in raw.items():
            if self.indicator(k, f"indicator in {what}"):
                out[k] = None if v is None and not complete else self.score(v, f"{what}.{k}")
        if complete and (missing := [i for i in INDICATORS if i not in raw]):
            self.err(f"{what} lacks {', '.join(missing)}")
        return out


def _read(directory: Path, name: str, v: _V, *tops: str) -> list[list[Any]]:
    """The ``tops`` lists of one file (empty lists, and the file marked broken, when it fails)."""
    v.file, v.item = f"{directory.name}/{name}", ""
    path = directory / name
    problem = None
    data: Any = None
    if not path.is_file():
        problem = "file not found"
    else:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except yaml.YAMLError as e:
            problem = f"not valid YAML: {e}"
        else:
            if not isinstance(data, dict) or not all(isinstance(data.get(t), list) for t in tops):
                problem = f"expected a mapping with {' and '.join(repr(t) for t in tops)} lists"
    if problem is not None:
        v.err(problem)
        v.broken.add(name)
        return [[] for _ in tops]
    return [data[t] for t in tops]


def _rows(v: _V, raw: list[Any], id_key: str = "id") -> Iterable[dict[str, Any]]:
    for i, row in enumerate(raw):
        v.item = str(row.get(id_key, f"#{i + 1}")) if isinstance(row, dict) else f"#{i + 1}"
        if not isinstance(row, dict):
            v.err("must be a mapping")
            continue
        yield row
    v.item = ""


def _positions(directory: Path, v: _V) -> dict[str, Position]:
    out: dict[str, Position] = {}
    for row in _rows(v, _read(directory, "positions.yml", v, "positions")[0], "code"):
        code = row.get("code")
        if not isinstance(code, str) or not isinstance(row.get("department"), str):
            v.err("needs a code and a department")
            continue
        out[code] = Position(code, v.text(row, "title"), row["department"])
    return out


def _courses(directory: Path, v: _V, departments: set[str]) -> dict[str, Course]:
    out: dict[str, Course] = {}
    seen: dict[str, str] = {}
    for row in _rows(v, _read(directory, "courses.yml", v, "courses")[0]):
        n = len(v.errors)
        v.keys(
            row,
            {
                "id",
                "title_zh",
                "title_en",
                "indicators",
                "level",
                "hours",
                "chapters",
                "description_zh",
                "description_en",
            },
            {"mandatory_for"},
        )
        cid = row.get("id")
        if not isinstance(cid, str) or not _COURSE_ID.match(cid):
            v.err("id must be lowercase letters, digits and '-'")
            continue
        v.unique(seen, cid)
        inds = v.list_(row.get("indicators"), "indicators", empty=False)
        if not 1 <= len(inds) <= 2 or len(set(inds)) != len(inds):
            v.err("indicators must name one or two different indicators")
        inds = [i for i in inds if v.indicator(i)]
        level = row.get("level")
        if level not in LEVELS:
            v.err(f"level {level!r} must be one of {', '.join(LEVELS)}")
        hours = row.get("hours")
        if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 200:
            v.err(f"hours must be a number above 0 (at most 200), not {hours!r}")
            hours = 0
        chapters = v.int_(row.get("chapters"), "chapters", 1, 100)
        mandatory = v.list_(row.get("mandatory_for"), "mandatory_for")
        for d in mandatory:
            if d not in departments:
                v.err(
                    f"mandatory_for names unknown department {d!r} (known: {', '.join(sorted(departments))})"
                )
        course = Course(
            id=cid,
            title=v.text(row, "title"),
            indicators=tuple(inds),
            level=str(level),
            hours=float(hours),
            chapters=chapters,
            description=v.text(row, "description"),
            mandatory_for=tuple(mandatory),
        )
        if len(v.errors) == n:
            out[cid] = course
    return out


def _course_ref(v: _V, courses: Mapping[str, Course], cid: Any, what: str) -> Course | None:
    c = courses.get(cid) if isinstance(cid, str) else None
    if c is None and "courses.yml" not in v.broken:
        v.err(f"{what} names unknown course {cid!r}")
    return c


def _onboarding(
    directory: Path, v: _V, courses: Mapping[str, Course], departments: set[str]
) -> dict[str, OnboardingTemplate]:
    out: dict[str, OnboardingTemplate] = {}
    for row in _rows(v, _read(directory, "onboarding.yml", v, "templates")[0], "department"):
        v.keys(row, {"department", "department_en", "items"})
        dept = row.get("department")
        if dept not in departments:
            v.err(f"unknown department {dept!r} (known: {', '.join(sorted(departments))})")
            continue
        if dept in out:
            v.err("duplicate template for this department")
            continue
        name_en = row.get("department_en")
        if not isinstance(name_en, str) or not name_en.strip():
            v.err("department_en must be a non-empty string")
            name_en = dept
        items: list[OnboardingItem] = []
        ids: dict[str, str] = {}
        for i, it in enumerate(v.list_(row.get("items"), "items", empty=False)):
            iid = it.get("id") if isinstance(it, dict) else None
            v.item = f"{dept}/{iid or f'#{i + 1}'}"
            if not isinstance(it, dict) or not isinstance(iid, str) or not _ITEM_ID.match(iid):
                v.err("an item is a mapping with a lowercase id")
                continue
            v.unique(ids, iid)
            v.keys(it, {"id", "kind", "due_days"}, {"title_zh", "title_en", "course", "mentor"})
            kind = it.get("kind")
            if kind not in ITEM_KINDS:
                v.err(f"kind {kind!r} must be one of {', '.join(ITEM_KINDS)}")
            due = v.int_(it.get("due_days"), "due_days", 0, 365)
            course = None
            if kind == "training":
                course = _course_ref(v, courses, it.get("course"), "training")
            elif "course" in it:
                v.err("only a training names a course")
            mentor = it.get("mentor", False) is True
            if mentor and kind != "meeting":
                v.err("the mentor item must be a meeting")
            if "title_zh" in it or "title_en" in it or kind != "training":
                title = v.text(it, "title")
            elif course is not None:
                title = LocalText(f"完成《{course.title.zh}》学习", f"Complete “{course.title.en}”")
            else:
                title = LocalText(str(it.get("course")), str(it.get("course")))
            items.append(OnboardingItem(iid, title, str(kind), due, course.id if course else None, mentor))
        v.item = dept
        if not 8 <= len(items) <= 12:
            v.err(f"has {len(items)} items; a checklist has 8 to 12")
        if sum(i.mentor for i in items) != 1:
            v.err("needs exactly one 'mentor: true' meeting")
        trained = {i.course for i in items}
        for c in courses.values():
            if dept in c.mandatory_for and c.id not in trained:
                v.err(f"course {c.id!r} is mandatory for {dept} but is not one of its trainings")
        out[dept] = OnboardingTemplate(dept, LocalText(dept, name_en.strip()), tuple(items))
    v.item = ""
    for d in sorted(departments - set(out)) if "onboarding.yml" not in v.broken else ():
        v.err(f"no onboarding template for department {d!r}")
    return out


def _promotion(
    directory: Path,
    v: _V,
    courses: Mapping[str, Course],
    positions: dict[str, Position],
    departments: set[str],
) -> list[Ladder]:
    new_positions, raw_ladders = _read(directory, "promotion.yml", v, "positions", "ladders")
    for row in _rows(v, new_positions, "code"):
        v.keys(row, {"code", "title_zh", "title_en", "department"})
        code = row.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            v.err("code must be upper-case letters, digits and '_'")
            continue
        if code in positions:
            v.err(f"duplicate position code {code!r}")
            continue
        if row.get("department") not in departments:
            v.err(f"unknown department {row.get('department')!r} (known: {', '.join(sorted(departments))})")
        positions[code] = Position(code, v.text(row, "title"), str(row.get("department")))
    ladders: list[Ladder] = []
    ladder_ids: dict[str, str] = {}
    pairs: dict[str, str] = {}
    for row in _rows(v, raw_ladders):
        v.keys(row, {"id", "title_zh", "title_en", "department", "steps"})
        lid = str(row.get("id"))
        v.unique(ladder_ids, lid)
        if row.get("department") not in departments:
            v.err(f"unknown department {row.get('department')!r}")
        title = v.text(row, "title")
        steps: list[PromotionStep] = []
        for step in v.list_(row.get("steps"), "steps", empty=False):
            step_ = _step(v, lid, step, courses, positions, pairs)
            if step_ is not None:
                steps.append(step_)
        v.item = lid
        ladders.append(Ladder(lid, title, str(row.get("department")), tuple(steps)))
    v.item = ""
    return ladders


def _step(
    v: _V,
    lid: str,
    raw: Any,
    courses: Mapping[str, Course],
    positions: Mapping[str, Position],
    pairs: dict[str, str],
) -> PromotionStep | None:
    if not isinstance(raw, dict):
        v.item = lid
        v.err("a step is a mapping with from, to and rules")
        return None
    src, dst = str(raw.get("from")), str(raw.get("to"))
    v.item = f"{lid}: {src} → {dst}"
    n = len(v.errors)
    v.keys(raw, {"from", "to", "rules"})
    for code in (src, dst):
        if code not in positions:
            v.err(f"unknown position {code!r} (known: {', '.join(positions)})")
    if src == dst:
        v.err("a step must lead to another position")
    v.unique(pairs, f"{src}→{dst}", "step")
    rules = raw.get("rules")
    if not isinstance(rules, dict):
        v.err("rules must be a mapping")
        return None
    v.keys(rules, {"min_tenure_months", "projects"}, {"excellent_reviews", "courses", "indicators"})
    tenure = v.int_(rules.get("min_tenure_months"), "min_tenure_months", 0, 600)
    projects = v.int_(rules.get("projects"), "projects", 0, 100)
    count, years = 0, 1
    exc = rules.get("excellent_reviews")
    if exc is not None:
        if not isinstance(exc, dict) or set(exc) != {"count", "years"}:
            v.err("excellent_reviews must be {count, years}")
        else:
            years = v.int_(exc["years"], "excellent_reviews.years", 1, 10)
            count = v.int_(exc["count"], "excellent_reviews.count", 0, years)
    required: list[Course] = []
    for cid in v.list_(rules.get("courses"), "courses"):
        c = _course_ref(v, courses, cid, "courses")
        if c is not None:
            required.append(c)
    if len({c.id for c in required}) != len(required):
        v.err("courses lists a course twice")
    inds: list[tuple[str, float]] = []
    raw_inds = rules.get("indicators") or {}
    if not isinstance(raw_inds, dict):
        v.err("indicators must be a mapping {indicator: minimum}")
        raw_inds = {}
    for k, m in raw_inds.items():
        if v.indicator(k):
            inds.append((k, v.score(m, f"indicators.{k}")))
    inds.sort(key=lambda kv: INDICATORS.index(kv[0]))
    if len(v.errors) != n:
        return None
    return PromotionStep(
        ladder=lid,
        from_position=positions[src],
        to_position=positions[dst],
        min_tenure_months=tenure,
        min_projects=projects,
        excellent_reviews=count,
        review_years=years,
        courses=tuple(required),
        indicators=tuple(inds),
    )


def _date(v: _V, raw: Any, what: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        v.err(f"{what} must be a date YYYY-MM-DD, not {raw!r}")
        return date(1970, 1, 1)


def _employees(
    directory: Path,
    v: _V,
    courses: Mapping[str, Course],
    positions: Mapping[str, Position],
    departments: Mapping[str, LocalText],
) -> dict[str, Employee]:
    out: dict[str, Employee] = {}
    seen: dict[str, str] = {}
    mentor_keys = {"capacity", "mentees", "strengths"}
    for row in _rows(v, _read(directory, "employees.yml", v, "employees")[0]):
        n = len(v.errors)
        v.keys(
            row,
            {"id", "name_zh", "name_en", "department", "position", "start_date", "position_since", "projects",
             "language", "reviews", "mentor"},
            {"completed", "enrolled", "interview"} | mentor_keys,
        )  # fmt: skip
        eid = str(row.get("id"))
        if not _EMPLOYEE_ID.match(eid):
            v.err("id must be letters, digits, '-' and '_'")
        v.unique(seen, eid)
        dept, pos = str(row.get("department")), str(row.get("position"))
        if dept not in departments:
            v.err(f"unknown department {dept!r} (known: {', '.join(departments)})")
        if pos not in positions:
            if "promotion.yml" not in v.broken:
                v.err(f"unknown position {pos!r} (known: {', '.join(positions)})")
        elif positions[pos].department != dept:
            v.err(f"position {pos} belongs to {positions[pos].department}, not {dept}")
        start = _date(v, row.get("start_date"), "start_date")
        since = _date(v, row.get("position_since"), "position_since")
        if since < start:
            v.err("position_since is before start_date")
        lang = row.get("language")
        if lang not in _LANGS:
            v.err(f"language must be zh or en, not {lang!r}")
        done = v.list_(row.get("completed"), "completed")
        enrolled = v.list_(row.get("enrolled"), "enrolled")
        for cid in [*done, *enrolled]:
            _course_ref(v, courses, cid, "completed/enrolled")
        if set(done) & set(enrolled):
            v.err(f"courses both completed and enrolled: {', '.join(sorted(set(done) & set(enrolled)))}")
        interview = v.scores(row["interview"], "interview", complete=False) if "interview" in row else {}
        reviews: list[Review] = []
        years: dict[str, str] = {}
        for i, r in enumerate(v.list_(row.get("reviews"), "reviews")):
            if not isinstance(r, dict) or set(r) != {"year", "rating", "scores"}:
                v.err(f"reviews[{i}] must have year, rating and scores")
                continue
            year = v.int_(r["year"], f"reviews[{i}].year", 1990, 2100)
            v.unique(years, str(year), "review year")
            if r["rating"] not in RATINGS:
                v.err(f"reviews[{i}].rating {r['rating']!r} must be one of {', '.join(RATINGS)}")
            scores = v.scores(r["scores"], f"reviews {year} scores", complete=True)
            known = {k: x for k, x in scores.items() if x is not None}
            reviews.append(Review(year, str(r["rating"]), MappingProxyType(known)))
        name = v.text(row, "name")
        projects = v.int_(row.get("projects"), "projects", 0, 1000)
        mentor = None
        if row.get("mentor") is True:
            if missing := mentor_keys - set(row):
                v.err(f"a mentor needs {', '.join(sorted(missing))}")
            cap = v.int_(row.get("capacity"), "capacity", 1, 20)
            mentees = v.int_(row.get("mentees"), "mentees", 0, cap)
            strengths = v.list_(row.get("strengths"), "strengths", empty=False)
            strengths = [s for s in strengths if v.indicator(s, "strength")]
            if dept in departments and pos in positions:
                mentor = Mentor(
                    eid,
                    name,
                    dept,
                    departments[dept],
                    positions[pos].title,
                    tuple(strengths),
                    cap,
                    mentees,
                    str(lang),
                )
        elif row.get("mentor") is not False:
            v.err("mentor must be true or false")
        elif set(row) & mentor_keys:
            v.err(f"{', '.join(sorted(set(row) & mentor_keys))} only apply to a mentor")
        if len(v.errors) == n:
            out[eid] = Employee(
                id=eid,
                name=name,
                department=dept,
                position=pos,
                start_date=start,
                position_since=since,
                projects=projects,
                reviews=tuple(sorted(reviews, key=lambda r: r.year)),
                interview=MappingProxyType(interview),
                completed=frozenset(done),
                enrolled=frozenset(enrolled),
                language=str(lang),
                mentor=mentor,
            )
    return out


def _version(directory: Path) -> str:
    h = hashlib.sha256()
    for name in FILES:
        path = directory / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return h.hexdigest()


def load_growth(directory: Path = CONTENT_DIR) -> GrowthContent:
    """Load and validate :data:`FILES` in ``directory``; one :class:`GrowthContentError` lists every
    problem."""
    v = _V()
    positions = _positions(directory, v)
    if "positions.yml" in v.broken:  # everything else refers to it
        raise GrowthContentError(v.errors)
    dept_codes = {p.department for p in positions.values()}
    courses = _courses(directory, v, dept_codes)
    onboarding = _onboarding(directory, v, courses, dept_codes)
    departments = {d: t.department_name for d, t in onboarding.items()}
    for d in dept_codes - set(departments):
        departments[d] = LocalText(d, d)
    ladders = _promotion(directory, v, courses, positions, dept_codes)
    employees = _employees(directory, v, courses, positions, departments)
    if v.errors:
        raise GrowthContentError(v.errors)
    return GrowthContent(
        courses=CourseCatalog.build(courses.values()),
        onboarding=MappingProxyType(onboarding),
        positions=MappingProxyType(positions),
        departments=MappingProxyType(departments),
        ladders=tuple(ladders),
        employees=MappingProxyType(employees),
        mentors=tuple(e.mentor for e in employees.values() if e.mentor is not None),
        version=_version(directory),
    )


@functools.cache
def default_growth() -> GrowthContent:
    """The content in ``content/`` (loaded once per process; pass a ``GrowthContent`` to override)."""
    return load_growth()
