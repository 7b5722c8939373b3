"""Employee self-service, as pure functions: courses, promotion gaps, mentors, onboarding, growth.

Everything here is a function of frozen values (the content is loaded and validated once by
``flows.growth_content``): no I/O, no clock — the caller passes the date — so a flow calls these and
a test is a function call.

Texts a person reads are not built here: results carry a :class:`Message` (a catalog key and its
parameters) that renders itself in zh or en from :data:`TEXTS`, so a flow may keep the data and
render late, and a catalog may override the wording without touching the logic.

Scores are the eight interview indicators (``scoring.questions.INDICATORS``), 0–100, ``None`` where
an indicator was not measured. A score below 60 calls for beginner courses, 60–75 for intermediate,
above 75 for advanced.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from scoring.questions import INDICATOR_NAMES, INDICATORS, LocalText

__all__ = [
    "GROW_UP_TO",
    "ITEM_KINDS",
    "LEVELS",
    "LEVEL_NAMES",
    "RATINGS",
    "RATING_NAMES",
    "TEXTS",
    "ChecklistItem",
    "Course",
    "CourseCatalog",
    "Criterion",
    "Eligibility",
    "Employee",
    "EmployeeFacts",
    "GrowthRow",
    "GrowthSeries",
    "Ladder",
    "Mentor",
    "MentorMatch",
    "Message",
    "OnboardingItem",
    "OnboardingTemplate",
    "Position",
    "PromotionGap",
    "PromotionStep",
    "Recommendation",
    "Review",
    "eligible_positions",
    "find_position",
    "growth_scores",
    "growth_series",
    "level_for",
    "match_mentor",
    "months_between",
    "nearest_positions",
    "onboarding_checklist",
    "promotion_gap",
    "recommend_courses",
]

LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
RATINGS: tuple[str, ...] = ("excellent", "good", "fair")
ITEM_KINDS: tuple[str, ...] = ("document", "account", "training", "meeting")
GROW_UP_TO = 75.0  # indicators at or below this are "room to grow"; above it only the weakest is used
LEVEL_NAMES: Mapping[str, LocalText] = MappingProxyType(
    {
        "beginner": LocalText("入门", "beginner"),
        "intermediate": LocalText("进阶", "intermediate"),
        "advanced": LocalText("高阶", "advanced"),
    }
)
RATING_NAMES: Mapping[str, LocalText] = MappingProxyType(
    {
        "excellent": LocalText("优秀", "excellent"),
        "good": LocalText("良好", "good"),
        "fair": LocalText("合格", "fair"),
    }
)
_SOURCE_NAMES = {
    "review": LocalText("年度考核", "annual review"),
    "interview": LocalText("面试", "interview"),
}

# The catalog of this module's texts: {key: zh/en template}; parameters are rendered per language.
TEXTS: Mapping[str, LocalText] = MappingProxyType(
    {
        "course.interview": LocalText(
            "您的面试中“{indicator}”得分较低（{score}分），推荐此{level}课程",
            "Your interview showed room to grow in {indicator} ({score}/100); this {level} course helps",
        ),
        "course.interview_strong": LocalText(
            "您的面试中“{indicator}”已有不错的基础（{score}分），推荐此{level}课程更进一步",
            "Your interview showed a solid base in {indicator} ({score}/100); this {level} course takes it further",
        ),
        "course.review": LocalText(
            "您{year}年度考核中“{indicator}”得分较低（{score}分），推荐此{level}课程",
            "Your {year} annual review showed room to grow in {indicator} ({score}/100); this {level} course helps",
        ),
        "course.review_strong": LocalText(
            "您{year}年度考核中“{indicator}”已有不错的基础（{score}分），推荐此{level}课程更进一步",
            "Your {year} annual review showed a solid base in {indicator} ({score}/100); "
            "this {level} course takes it further",
        ),
        "course.asked": LocalText(
            "您希望提升“{indicator}”，推荐此{level}课程",
            "You asked to grow your {indicator}; this is a {level} course for it",
        ),
        "crit.tenure": LocalText(
            "现岗位任职满{required}个月（目前{actual}个月）",
            "{required} months in the current position (you have {actual})",
        ),
        "crit.projects": LocalText(
            "完成项目{required}个（目前{actual}个）",
            "{required} completed projects (you have {actual})",
        ),
        "crit.excellent_reviews": LocalText(
            "近{years}年年度考核获评“优秀”{required}次（目前{actual}次）",
            "{required} “excellent” annual review ratings in the last {years} years (you have {actual})",
        ),
        "crit.course": LocalText("完成课程《{course}》", "Complete the course “{course}”"),
        "crit.course_done": LocalText(
            "完成课程《{course}》（已完成）", "Complete the course “{course}” (done)"
        ),
        "crit.course_enrolled": LocalText(
            "完成课程《{course}》（学习中）", "Complete the course “{course}” (in progress)"
        ),
        "crit.indicator": LocalText(
            "“{indicator}”达到{required}分（目前{actual}分，来自{source}）",
            "{indicator} of at least {required} (you have {actual}, from your {source})",
        ),
        "crit.indicator_none": LocalText(
            "“{indicator}”达到{required}分（暂无评分）",
            "{indicator} of at least {required} (no score yet)",
        ),
        "mentor.match": LocalText(
            "为您匹配的导师是{name}（{department}·{position}），擅长{strengths}，"
            "正好补足您在面试中相对薄弱的{matched}。",
            "Your mentor is {name} ({position}, {department}), strong in {strengths} — "
            "the areas where your interview showed the most room to grow: {matched}.",
        ),
        "mentor.general": LocalText(
            "为您匹配的导师是{name}（{department}·{position}），擅长{strengths}。",
            "Your mentor is {name} ({position}, {department}), strong in {strengths}.",
        ),
        "mentor.other_department": LocalText(
            "本部门暂时没有可带教的导师，因此从{department}为您匹配。",
            "No mentor in your department has a free place, so this one is from the {department}.",
        ),
        "mentor.best_full": LocalText(
            "最契合的导师{name}带教名额已满（{mentees}/{capacity}）。",
            "The closest match, {name}, has no free mentee place ({mentees}/{capacity}).",
        ),
    }
)


def _render(value: Any, lang: str) -> str:
    if isinstance(value, LocalText):
        return value.get(lang)
    if isinstance(value, tuple):
        return ("、" if lang.startswith("zh") else ", ").join(_render(v, lang) for v in value)
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    return str(value)


@dataclass(frozen=True, slots=True)
class Message:
    """A text to show, as data: a key of :data:`TEXTS` and its parameters (LocalText values and
    tuples of them are rendered in the reader's language)."""

    key: str
    params: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: str, texts: Mapping[str, LocalText] = TEXTS) -> str:
        return texts[self.key].get(lang).format(**{k: _render(v, lang) for k, v in self.params})


def _msg(key: str, **params: Any) -> Message:
    return Message(key, tuple(params.items()))


def _indicator_order(indicator: str) -> int:
    return INDICATORS.index(indicator) if indicator in INDICATORS else len(INDICATORS)


# ------------------------------------------------------------------------------------------ courses
@dataclass(frozen=True, slots=True)
class Course:
    """A course; ``indicators`` are the one or two it addresses, the main one first."""

    id: str
    title: LocalText
    indicators: tuple[str, ...]
    level: str
    hours: float
    chapters: int
    description: LocalText
    mandatory_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CourseCatalog:
    """The courses, indexed once by id and by (indicator, level); each slot best-first: courses whose
    main indicator it is, then shorter ones, then by id."""

    courses: tuple[Course, ...]
    by_id: Mapping[str, Course]
    slots: Mapping[tuple[str, str], tuple[Course, ...]]

    @classmethod
    def build(cls, courses: Iterable[Course]) -> CourseCatalog:
        all_ = tuple(courses)
        slots: dict[tuple[str, str], list[Course]] = {}
        for c in all_:
            for ind in c.indicators:
                slots.setdefault((ind, c.level), []).append(c)

        def best_first(indicator: str) -> Callable[[Course], tuple[bool, float, str]]:
            return lambda c: (c.indicators[0] != indicator, c.hours, c.id)

        ordered = {k: tuple(sorted(v, key=best_first(k[0]))) for k, v in slots.items()}
        return cls(all_, MappingProxyType({c.id: c for c in all_}), MappingProxyType(ordered))

    def __len__(self) -> int:
        return len(self.courses)

    def __contains__(self, course_id: object) -> bool:
        return course_id in self.by_id

    def get(self, course_id: str) -> Course | None:
        return self.by_id.get(course_id)

    def at(self, indicator: str, level: str) -> tuple[Course, ...]:
        return self.slots.get((indicator, level), ())

    def mandatory(self, department: str) -> tuple[Course, ...]:
        return tuple(c for c in self.courses if department in c.mandatory_for)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A course for a person. ``level`` is what their score called for (the course's own is
    ``course.level``: a neighbouring level is offered when theirs has nothing left)."""

    course: Course
    indicator: str
    score: float | None
    level: str
    source: str  # interview | review | asked
    why: Message

    def reason(self, lang: str) -> str:
        return self.why.text(lang)


def level_for(score: float | None) -> str:
    """< 60 beginner, 60–75 intermediate, > 75 advanced; no score: beginner."""
    if score is None or score < 60:
        return "beginner"
    return "intermediate" if score <= 75 else "advanced"


def _level_chain(level: str, strict: bool) -> tuple[str, ...]:
    if strict:
        return (level,)
    i = LEVELS.index(level)
    return (level, *LEVELS[i + 1 :], *reversed(LEVELS[:i]))  # then harder, then easier


def _walk(catalog: CourseCatalog, indicator: str, levels: tuple[str, ...]) -> Iterator[Course]:
    for lv in levels:
        yield from catalog.at(indicator, lv)


def recommend_courses(
    weak: Mapping[str, float | None],
    *,
    courses: CourseCatalog | Iterable[Course],
    completed: Iterable[str] = (),
    enrolled: Iterable[str] = (),
    indicator: str | None = None,
    level: str | None = None,
    limit: int = 3,
    source: str = "interview",
    year: int | None = None,
) -> list[Recommendation]:
    """Courses for the weakest indicators of ``weak``, or for ``indicator`` when the person asked
    about one (its score in ``weak``, if any, sets the level).

    ``weak`` holds interview scores (``source="interview"``) or, for someone without an interview,
    the latest annual review's (``source="review"``, ``year`` = its year; see :func:`growth_scores`).
    The indicators at or below 75 are served round-robin, weakest first (ties in INDICATORS order);
    when every score is above 75 only the weakest one is. The level comes from the score unless
    ``level`` is given (then only that level is offered); completed and enrolled courses are skipped,
    and a course is offered once. Pass a :class:`CourseCatalog` (indexed once) for speed.
    """
    if source not in ("interview", "review"):
        raise ValueError(f"source must be 'interview' or 'review', not {source!r}")
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    if indicator is not None and indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r} (known: {', '.join(INDICATORS)})")
    if limit <= 0:
        return []
    catalog = courses if isinstance(courses, CourseCatalog) else CourseCatalog.build(courses)
    if indicator is not None:
        targets = [indicator]
    else:
        known = sorted(
            (float(s), _indicator_order(k), k) for k, s in weak.items() if s is not None and k in INDICATORS
        )
        if not known:
            return []
        targets = [k for s, _, k in known if s <= GROW_UP_TO][:limit] or [known[0][2]]
    taken = set(completed) | set(enrolled)
    queues: dict[str, tuple[str, Iterator[Course]]] = {}
    for t in targets:
        lv = level or level_for(weak.get(t))
        queues[t] = (lv, _walk(catalog, t, _level_chain(lv, strict=level is not None)))
    out: list[Recommendation] = []
    while queues and len(out) < limit:
        for t in list(queues):
            lv, it = queues[t]
            course = next((c for c in it if c.id not in taken), None)
            if course is None:
                del queues[t]
                continue
            taken.add(course.id)
            out.append(_recommendation(course, t, weak.get(t), lv, "asked" if indicator else source, year))
            if len(out) == limit:
                break
    return out


def _recommendation(
    course: Course, indicator: str, score: float | None, level: str, source: str, year: int | None
) -> Recommendation:
    name, lvname = INDICATOR_NAMES[indicator], LEVEL_NAMES[course.level]
    if source == "asked":
        why = _msg("course.asked", indicator=name, level=lvname)
    else:
        key = f"course.{source}_strong" if score is not None and score > GROW_UP_TO else f"course.{source}"
        why = _msg(key, indicator=name, score=float(score or 0), level=lvname, year=year or "")
    return Recommendation(course, indicator, None if score is None else float(score), level, source, why)


# ------------------------------------------------------------------------------ people and reviews
@dataclass(frozen=True, slots=True)
class Review:
    year: int
    rating: str  # excellent | good | fair
    scores: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Mentor:
    id: str
    name: LocalText
    department: str
    department_name: LocalText
    position: LocalText
    strengths: tuple[str, ...]
    capacity: int
    mentees: int
    language: str = "zh"

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.mentees)


@dataclass(frozen=True, slots=True)
class EmployeeFacts:
    """What promotion rules are judged on, as of one day. ``tenure_months`` is time in the current
    position; ``review_year`` the latest review cycle (the "last N years" count back from it)."""

    id: str
    department: str
    position: str
    tenure_months: int
    projects: int
    reviews: tuple[Review, ...] = ()
    interview: Mapping[str, float | None] = field(default_factory=dict)
    completed: frozenset[str] = frozenset()
    enrolled: frozenset[str] = frozenset()
    review_year: int | None = None

    @property
    def latest_review(self) -> Review | None:
        return max(self.reviews, key=lambda r: r.year, default=None)

    def standing(self, indicator: str) -> tuple[float | None, str | None]:
        """The score and its source: the latest annual review's, else the interview's."""
        latest = self.latest_review
        if latest is not None and latest.scores.get(indicator) is not None:
            return float(latest.scores[indicator]), "review"
        score = self.interview.get(indicator)
        return (None, None) if score is None else (float(score), "interview")

    def excellent_in(self, years: int) -> int:
        last = (
            self.review_year
            if self.review_year is not None
            else max((r.year for r in self.reviews), default=0)
        )
        return sum(1 for r in self.reviews if last - years < r.year <= last and r.rating == "excellent")


def months_between(since: date, as_of: date) -> int:
    """Whole months from ``since`` to ``as_of`` (0 if ``as_of`` is earlier)."""
    months = (as_of.year - since.year) * 12 + as_of.month - since.month - (as_of.day < since.day)
    return max(0, months)


@dataclass(frozen=True, slots=True)
class Employee:
    """An employee as the HR system knows them (content/employees.yml)."""

    id: str
    name: LocalText
    department: str
    position: str
    start_date: date
    position_since: date
    projects: int
    reviews: tuple[Review, ...]
    interview: Mapping[str, float | None]
    completed: frozenset[str]
    enrolled: frozenset[str]
    language: str
    mentor: Mentor | None = None

    def facts(self, as_of: date) -> EmployeeFacts:
        year = as_of.year if any(r.year == as_of.year for r in self.reviews) else as_of.year - 1
        return EmployeeFacts(
            id=self.id,
            department=self.department,
            position=self.position,
            tenure_months=months_between(self.position_since, as_of),
            projects=self.projects,
            reviews=tuple(r for r in self.reviews if r.year <= year),
            interview=self.interview,
            completed=self.completed,
            enrolled=self.enrolled,
            review_year=year,
        )


def growth_scores(
    interview: Mapping[str, float | None] | None, reviews: Sequence[Review]
) -> tuple[Mapping[str, float | None], str, int | None]:
    """The scores to recommend from: ``(scores, source, year)`` — the interview's when there is one,
    else the latest annual review's, else nothing (``({}, "interview", None)``)."""
    if interview and any(v is not None for v in interview.values()):
        return interview, "interview", None
    latest = max(reviews, key=lambda r: r.year, default=None)
    if latest is not None:
        return latest.scores, "review", latest.year
    return {}, "interview", None


# --------------------------------------------------------------------------------------- promotion
@dataclass(frozen=True, slots=True)
class Position:
    code: str
    title: LocalText
    department: str

    def name(self, lang: str) -> str:
        return self.title.get(lang)


@dataclass(frozen=True, slots=True)
class PromotionStep:
    ladder: str
    from_position: Position
    to_position: Position
    min_tenure_months: int
    min_projects: int
    excellent_reviews: int
    review_years: int
    courses: tuple[Course, ...]
    indicators: tuple[tuple[str, float], ...]  # (indicator, minimum), INDICATORS order


@dataclass(frozen=True, slots=True)
class Ladder:
    id: str
    title: LocalText
    department: str
    steps: tuple[PromotionStep, ...]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One requirement of a step and where the employee stands. ``shortfall`` is how much is missing
    (months, projects, ratings, points; 1 for a course)."""

    kind: str  # tenure | projects | excellent_reviews | course | indicator
    subject: str | None  # the course id or indicator
    required: float
    actual: float | None
    met: bool
    label: Message
    source: str | None = None  # for indicators: review | interview

    @property
    def shortfall(self) -> float:
        return 0.0 if self.met else self.required - (self.actual or 0.0)

    def text(self, lang: str) -> str:
        return self.label.text(lang)


@dataclass(frozen=True, slots=True)
class PromotionGap:
    step: PromotionStep
    criteria: tuple[Criterion, ...]
    current: bool  # whether the employee holds the step's from-position now

    @property
    def met(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def missing(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.met)

    @property
    def n_missing(self) -> int:
        return sum(1 for c in self.criteria if not c.met)


def promotion_gap(employee: EmployeeFacts, rule: PromotionStep) -> PromotionGap:
    """Every criterion of ``rule``: what is required, where the employee stands, met or by how much
    not. Indicator standings come from the latest review, else the interview (see ``standing``)."""
    crit: list[Criterion] = []

    def count(kind: str, required: int, actual: int, **extra: Any) -> None:
        label = _msg(f"crit.{kind}", required=required, actual=actual, **extra)
        crit.append(Criterion(kind, None, float(required), float(actual), actual >= required, label))

    count("tenure", rule.min_tenure_months, employee.tenure_months)
    count("projects", rule.min_projects, employee.projects)
    if rule.excellent_reviews:
        n = employee.excellent_in(rule.review_years)
        count("excellent_reviews", rule.excellent_reviews, n, years=rule.review_years)
    for c in rule.courses:
        done = c.id in employee.completed
        key = (
            "crit.course_done"
            if done
            else "crit.course_enrolled"
            if c.id in employee.enrolled
            else "crit.course"
        )
        crit.append(Criterion("course", c.id, 1.0, float(done), done, _msg(key, course=c.title)))
    for ind, minimum in rule.indicators:
        score, source = employee.standing(ind)
        name = INDICATOR_NAMES[ind]
        if score is None:
            label = _msg("crit.indicator_none", indicator=name, required=minimum)
        else:
            label = _msg(
                "crit.indicator",
                indicator=name,
                required=minimum,
                actual=score,
                source=_SOURCE_NAMES[source or "review"],
            )
        crit.append(
            Criterion("indicator", ind, minimum, score, score is not None and score >= minimum, label, source)
        )
    return PromotionGap(rule, tuple(crit), employee.position == rule.from_position.code)


@dataclass(frozen=True, slots=True)
class Eligibility:
    step: PromotionStep
    gap: PromotionGap

    @property
    def position(self) -> Position:
        return self.step.to_position

    @property
    def eligible(self) -> bool:
        return self.gap.met


def eligible_positions(
    employee: EmployeeFacts, ladders: Iterable[Ladder], *, max_missing: int = 2
) -> list[Eligibility]:
    """The next positions from the employee's current one that they qualify for or nearly do (at most
    ``max_missing`` criteria missing): fewest missing first, then the smallest relative shortfall,
    then content order."""
    found: list[tuple[tuple[int, float, int], Eligibility]] = []
    order = 0
    for ladder in ladders:
        for step in ladder.steps:
            order += 1
            if step.from_position.code != employee.position:
                continue
            gap = promotion_gap(employee, step)
            if gap.n_missing > max_missing:
                continue
            relative = sum(c.shortfall / c.required for c in gap.missing if c.required)
            found.append(((gap.n_missing, round(relative, 6), order), Eligibility(step, gap)))
    return [e for _, e in sorted(found, key=lambda kv: kv[0])]


# ------------------------------------------------------------------------------- position names
_NON_WORD = re.compile(r"[\W_]+")


def _norm(s: str) -> str:
    return _NON_WORD.sub("", s.casefold())


def _similarity(query: str, name: str) -> float:
    if not query or not name:
        return 0.0
    if query == name:
        return 1.0
    short, long = sorted((query, name), key=len)
    if short in long and len(short) >= (3 if short.isascii() else 2):
        return 0.75 + 0.25 * len(short) / len(long)
    return difflib.SequenceMatcher(None, query, name, autojunk=False).ratio()


def find_position(query: str, positions: Iterable[Position]) -> Position | None:
    """The position whose code or zh/en title is ``query`` (ignoring case, spaces and punctuation)."""
    q = _norm(query)
    return next((p for p in positions if q in {_norm(p.code), _norm(p.title.zh), _norm(p.title.en)}), None)


def nearest_positions(
    query: str,
    positions: Iterable[Position],
    lang: str,
    *,
    limit: int = 5,
    cutoff: float | None = None,
    margin: float = 0.2,
) -> list[str]:
    """Position titles (in ``lang``) nearest to ``query``, best first — for "no such position, did you
    mean …". Compares with the zh and en titles and the code: an exact name first, then names that
    contain the query or are contained in it ("客户经理" → 客户经理, 高级客户经理), then close
    spellings by difflib ratio. Kept: at least ``cutoff`` (default 0.5 for a query with Chinese
    characters, each of which carries meaning, 0.6 for Latin letters) and within ``margin`` of the
    best, so one clear match is not padded with weak ones."""
    q = _norm(query)
    if cutoff is None:
        cutoff = 0.6 if q.isascii() else 0.5
    scored: list[tuple[float, int, str]] = []
    for i, p in enumerate(positions):
        best = max(_similarity(q, _norm(n)) for n in (p.title.zh, p.title.en, p.code))
        if best >= cutoff:
            scored.append((-best, i, p.name(lang)))
    scored.sort()
    out: list[str] = []
    for neg, _, name in scored:
        if -neg >= -scored[0][0] - margin and name not in out:
            out.append(name)
    return out[:limit]


# ----------------------------------------------------------------------------------------- mentors
@dataclass(frozen=True, slots=True)
class MentorMatch:
    mentor: Mentor
    same_department: bool
    matched: tuple[str, ...]  # the new hire's weak indicators the mentor is strong in, weakest first
    best_full: Mentor | None  # a better-fitting mentor who had no free place
    why: tuple[Message, ...]

    def reason(self, lang: str) -> str:
        return ("" if lang.startswith("zh") else " ").join(m.text(lang) for m in self.why)


def match_mentor(
    newhire_gaps: Mapping[str, float | None], department: str, mentors: Sequence[Mentor], *, weakest: int = 3
) -> MentorMatch | None:
    """A mentor for a new hire: the same department first; then the one whose strengths cover most of
    the new hire's ``weakest`` lowest-scoring indicators (weighted by how low); then the most free
    places; then the id. Mentors at capacity are skipped — if the best fit overall was one, the result
    says so. ``None`` when no mentor has a free place."""
    known = sorted(
        (float(s), _indicator_order(k), k)
        for k, s in newhire_gaps.items()
        if s is not None and k in INDICATORS
    )[:weakest]
    need = {k: 100.0 - s for s, _, k in known}

    def rank(m: Mentor) -> tuple[bool, float, int, str]:
        fit = sum(need.get(s, 0.0) for s in set(m.strengths))
        return (m.department != department, -fit, -m.free, m.id)

    ranked = sorted(mentors, key=rank)
    chosen = next((m for m in ranked if m.free > 0), None)
    if chosen is None:
        return None
    best = ranked[0]
    best_full = best if best.free <= 0 and rank(best)[:2] < rank(chosen)[:2] else None
    matched = tuple(k for _, _, k in known if k in chosen.strengths)
    strengths = tuple(INDICATOR_NAMES[s] for s in chosen.strengths)
    common = {
        "name": chosen.name,
        "department": chosen.department_name,
        "position": chosen.position,
        "strengths": strengths,
    }
    why: list[Message] = []
    if matched:
        why.append(_msg("mentor.match", matched=tuple(INDICATOR_NAMES[k] for k in matched), **common))
    else:
        why.append(_msg("mentor.general", **common))
    same = chosen.department == department
    if not same:
        why.append(_msg("mentor.other_department", department=chosen.department_name))
    if best_full is not None:
        why.append(
            _msg(
                "mentor.best_full",
                name=best_full.name,
                mentees=best_full.mentees,
                capacity=best_full.capacity,
            )
        )
    return MentorMatch(chosen, same, matched, best_full, tuple(why))


# -------------------------------------------------------------------------------------- onboarding
@dataclass(frozen=True, slots=True)
class OnboardingItem:
    id: str
    title: LocalText
    kind: str  # document | account | training | meeting
    due_days: int
    course: str | None = None
    mentor: bool = False  # the meeting with the matched mentor


@dataclass(frozen=True, slots=True)
class OnboardingTemplate:
    department: str
    department_name: LocalText
    items: tuple[OnboardingItem, ...]


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    title: LocalText
    kind: str
    due: date
    course: str | None = None
    mentor: bool = False


def onboarding_checklist(
    template: OnboardingTemplate, start_date: date, *, roll_weekends: bool = True
) -> list[ChecklistItem]:
    """The new hire's checklist: each item due ``due_days`` calendar days after ``start_date``, moved
    to the Monday when that falls on a weekend (``roll_weekends``); sorted by due date, then template
    order."""
    out: list[tuple[date, int, ChecklistItem]] = []
    for i, item in enumerate(template.items):
        due = start_date + timedelta(days=item.due_days)
        if roll_weekends and due.weekday() >= 5:
            due += timedelta(days=7 - due.weekday())
        out.append((due, i, ChecklistItem(item.id, item.title, item.kind, due, item.course, item.mentor)))
    return [c for _, _, c in sorted(out, key=lambda t: (t[0], t[1]))]


# ---------------------------------------------------------------------------------------- my growth
@dataclass(frozen=True, slots=True)
class GrowthRow:
    indicator: str
    name: LocalText
    interview: float | None
    review: float | None  # the latest annual review
    delta: float | None  # review - interview, when both exist
    history: tuple[tuple[int, float], ...]  # (year, score) from every review, oldest first


@dataclass(frozen=True, slots=True)
class GrowthSeries:
    """ "我的成长": the interview profile beside the latest annual review, indicator by indicator (in
    INDICATORS order, ready for a radar or bar chart)."""

    rows: tuple[GrowthRow, ...]
    years: tuple[int, ...]
    latest_year: int | None
    latest_rating: str | None

    @property
    def improved(self) -> tuple[str, ...]:
        """Indicators that rose since the interview, most first."""
        up = [r for r in self.rows if r.delta is not None and r.delta > 0]
        return tuple(
            r.indicator for r in sorted(up, key=lambda r: (-(r.delta or 0), _indicator_order(r.indicator)))
        )

    @property
    def declined(self) -> tuple[str, ...]:
        down = [r for r in self.rows if r.delta is not None and r.delta < 0]
        return tuple(
            r.indicator for r in sorted(down, key=lambda r: ((r.delta or 0), _indicator_order(r.indicator)))
        )


def growth_series(
    interview_scores: Mapping[str, float | None] | None, reviews: Sequence[Review]
) -> GrowthSeries:
    ordered = sorted(reviews, key=lambda r: r.year)
    latest = ordered[-1] if ordered else None
    interview = interview_scores or {}
    rows = []
    for ind in INDICATORS:
        iv = interview.get(ind)
        rv = latest.scores.get(ind) if latest is not None else None
        iv_f = None if iv is None else float(iv)
        rv_f = None if rv is None else float(rv)
        delta = None if iv_f is None or rv_f is None else round(rv_f - iv_f, 1)
        history = tuple((r.year, float(r.scores[ind])) for r in ordered if r.scores.get(ind) is not None)
        rows.append(GrowthRow(ind, INDICATOR_NAMES[ind], iv_f, rv_f, delta, history))
    return GrowthSeries(
        tuple(rows),
        tuple(r.year for r in ordered),
        latest.year if latest else None,
        latest.rating if latest else None,
    )
