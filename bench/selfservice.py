"""Employee self-service on PostgreSQL at scale: what "有什么课推荐给我" and "晋升高级柜员需要什么条件"
cost end to end, over 10,000 employees and a catalog of 1,000 courses.

Run as ``.venv/bin/python bench/selfservice.py [--reuse] [--database-url postgresql://…] [--explain]
[--try-indexes]``.

The data lives in a database of its own, ``talentbot_selfservice_bench`` on the local server (created
from the ``postgres`` maintenance database when missing; ``--database-url`` names another — its name
must contain "bench", and never ``test`` or ``talentbot_bench``, the HR benchmark's), its schema
brought to head on every run (``storage.db.upgrade``). Unless ``--reuse`` finds a dataset of the asked
size there (``--employees`` rows in ``employees``, every enrolled course in the catalog), every table
is emptied and the employees generated and loaded with ``COPY`` (psycopg ``cursor.copy``; foreign-key
triggers off for the load — the rows are consistent by construction), then ``VACUUM ANALYZE``.

The course catalog is content/courses.yml's 43 courses plus generated ones up to ``--courses``
(one or two of the eight indicators, the main one first; a level; hours and chapters in range; the
same seed gives the same catalog, so ``--reuse`` finds it again), and the rules see all of it:
``dataclasses.replace(load_growth(), courses=CourseCatalog.build(all_courses))``.

The employees are spread over the demo departments and positions of content/promotion.yml (the
entry positions of content/positions.yml and those promoted into; entry positions most common, the
retail bank the largest department):

* ~95 % tenured (handed over by the HR system): three annual reviews (the last three cycles; a
  rating and a 0–100 score per indicator, drifting up a little each year), an interview profile for
  ~15 %, time in position and projects to match the position, ~15 enrolments (10–20: the
  department's mandatory courses, done; some of the next step's required courses; the rest from the
  whole catalog), ~65 % of the others completed; the rest in progress with a deadline;
* ~5 % the newest hires (started within the last ten weeks, or starting next week): an entry
  position, the interview profile, no annual review yet, the department's onboarding checklist
  (content/onboarding.yml, as ``storage.employees.hire`` lays it out; items past due mostly done),
  its trainings as enrolments, a few courses of their own, a mentor;
* rows in the order a live system writes them: reviews cycle by cycle, enrolments as people enrol —
  one employee's rows are spread over the tables, not side by side.

Measured, each call on a random employee, in a session and transaction of its own (as a chat message
is handled), after two warm-up calls: ``flows.employee_io.execute`` with ``emp_recommend`` ("有什么课
推荐给我"), ``emp_promotion`` without a target ("晋升需要什么条件") and with a target title
("晋升高级柜员需要什么条件") — the employee's row, the reviews and enrolments
(``storage.employees``), the pure rules (``flows.growth``) and the rendering in the person's
language. Target: p95 ≤ 20 ms each. For comparison (no target): the database reads alone
(``by_user``, ``facts``, ``course_ids`` in a session), a session's bare round trip (``SELECT 1`` in a
transaction: the pool's checkout and ping, BEGIN, COMMIT) and the pure parts alone (``growth_scores``
+ ``recommend_courses``; ``promotion_gap``) on facts read beforehand.

When a target is missed (or with ``--explain``), the operation runs once more on its slowest argument
with its SQL statements logged and timed (engine events), and every statement is run under
``EXPLAIN (ANALYZE, BUFFERS)``. ``--try-indexes`` then creates the candidate indexes of
:data:`TRIAL_INDEXES` by hand in the bench database (nothing in ``storage/`` or the migrations
changes), measures again, prints before and after and drops them (``--keep-indexes`` leaves them).
The exit status is about the schema as migrated.

Prints the figures and, last, one JSON line. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# bench/nlu.py would shadow the nlu package: the repository root goes first, this folder not at all.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench")]

import psycopg  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench import pgbench_common as common  # noqa: E402
from bench.pgbench_common import Op, SqlLog, words  # noqa: E402
from flows import growth as g  # noqa: E402
from flows.context import Command  # noqa: E402
from flows.employee import EmpCtx  # noqa: E402
from flows.employee_io import EmpEnv, execute  # noqa: E402
from flows.growth_content import GrowthContent, load_growth  # noqa: E402
from flows.texts import Catalog  # noqa: E402
from scoring.questions import INDICATOR_NAMES, INDICATORS, LocalText  # noqa: E402
from storage import employees as store  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/talentbot_selfservice_bench"
NEVER = ("test", "talentbot_bench")  # the tests' database and the HR benchmark's
CONTENT = ROOT / "content"
TZ = ZoneInfo("Asia/Shanghai")

TARGET_P95_MS = 20.0  # recommend, promotion (with and without a target)

# Indexes to try by hand (--try-indexes): (name, SQL, why). Created in the bench database only,
# measured, dropped again. Every read of a chat call is already an index scan on employee_id (the
# migration's ix_enrolments_employee_id, ix_reviews_employee_id, uq_employees_user_id); an employee's
# ~15 enrolments sit on ~15 heap pages, so a covering index answers course_ids() from the index alone.
TRIAL_INDEXES: tuple[common.TrialIndex, ...] = (
    (
        "bench_try_enrolments_employee_cover",
        "CREATE INDEX IF NOT EXISTS bench_try_enrolments_employee_cover"
        " ON enrolments (employee_id) INCLUDE (course_id, status)",
        "course_ids: an index-only scan instead of one heap page per enrolment",
    ),
)


# =========================================================================== people and courses
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚婷子梓浩宇轩欣怡雨涵思佳俊博文晨睿嘉一天晓志建国华海玉兰春丹琳慧瑶鑫鹏飞凯龙雪颖悦诗萱然泽航妍琪昊宁安乐哲彤"
SCHOOLS = words(
    "复旦大学 上海财经大学 同济大学 华东师范大学 南京大学 浙江大学 厦门大学 中南财经政法大学 西南财经大学"
)
MAJORS = words("金融学 会计学 经济学 统计学 计算机科学与技术 法学 工商管理 数学与应用数学")
DEGREES = words("本科 本科 本科 硕士 硕士 博士")
# the share of employees by department (the retail bank the largest) and by rung of the ladder
DEPARTMENT_WEIGHT = {"零售银行部": 2.5, "公司银行部": 1.5, "风险管理部": 1.0}
RUNG_WEIGHT = (10.0, 4.0, 1.5)
# generated course titles: (zh, en)
FORMATS: tuple[tuple[str, str], ...] = (
    ("网点实务", "Branch Practice"),
    ("案例精讲", "Case Studies"),
    ("工作坊", "Workshop"),
    ("线上微课", "Micro-course"),
    ("实战训练营", "Bootcamp"),
    ("专题研修", "Seminar"),
    ("情景演练", "Role-play Lab"),
    ("读书会", "Reading Circle"),
    ("认证辅导", "Certification Prep"),
    ("跨部门轮训", "Cross-department Rotation"),
)
_COURSE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def build_courses(real: Iterable[g.Course], n: int, seed: int) -> list[g.Course]:
    """The content's courses, then generated ones up to ``n`` (deterministic for a seed), each as
    content/courses.yml would accept it (checked here the way ``flows.growth_content`` checks)."""
    rng = random.Random(seed)
    out = list(real)
    k = 0
    while len(out) < n:
        k += 1
        main = rng.choice(INDICATORS)
        inds = (main,) if rng.random() < 0.45 else (main, rng.choice([i for i in INDICATORS if i != main]))
        level = rng.choices(g.LEVELS, weights=(4, 4, 2))[0]
        fzh, fen = rng.choice(FORMATS)
        name, lv = INDICATOR_NAMES[main], g.LEVEL_NAMES[level]
        out.append(
            g.Course(
                id=f"gen-{k:04d}-{main}-{level}",
                title=LocalText(
                    f"{name.zh}{lv.zh}·{fzh}（{k:04d}）", f"{name.en.capitalize()}, {lv.en}: {fen} ({k:04d})"
                ),
                indicators=inds,
                level=level,
                hours=float(rng.choice((1.5, 2, 3, 4, 6, 8, 12, 16))),
                chapters=rng.randint(3, 12),
                description=LocalText(
                    f"围绕“{name.zh}”的{lv.zh}{fzh}课程，结合本行真实业务场景。",
                    f"A {lv.en} {fen.lower()} on {name.en}, built on the bank's own cases.",
                ),
            )
        )
    problems = []
    seen: set[str] = set()
    for c in out:
        if not _COURSE_ID.match(c.id) or len(c.id) > 60 or c.id in seen:
            problems.append(f"{c.id}: bad or duplicate id")
        seen.add(c.id)
        if not 1 <= len(c.indicators) <= 2 or len(set(c.indicators)) != len(c.indicators):
            problems.append(f"{c.id}: one or two different indicators")
        if any(i not in INDICATORS for i in c.indicators) or c.level not in g.LEVELS:
            problems.append(f"{c.id}: unknown indicator or level")
        if not 0 < c.hours <= 200 or not 1 <= c.chapters <= 100:
            problems.append(f"{c.id}: hours or chapters out of range")
    if problems:
        raise SystemExit("generated courses are invalid:\n  " + "\n  ".join(problems[:10]))
    return out


def growth_with(courses: Sequence[g.Course]) -> GrowthContent:
    return dataclasses.replace(load_growth(), courses=g.CourseCatalog.build(courses))


def rungs(growth: GrowthContent) -> dict[str, int]:
    """Every position on a ladder and its rung: 0 for an entry position, 1 for the step above …"""
    steps = [s for lad in growth.ladders for s in lad.steps]
    into = {s.to_position.code for s in steps}
    out = {s.from_position.code: 0 for s in steps if s.from_position.code not in into}
    for _ in steps:
        for s in steps:
            if s.from_position.code in out and s.to_position.code not in out:
                out[s.to_position.code] = out[s.from_position.code] + 1
    return out


# =========================================================================== database set-up
def unknown_courses(engine: Engine, catalog: g.CourseCatalog) -> list[str]:
    """Enrolled course ids the catalog does not have (a dataset generated with another catalog)."""
    with engine.connect() as conn:
        ids = conn.scalars(text("SELECT DISTINCT course_id FROM enrolments")).all()
    return sorted(c for c in ids if c not in catalog)


# =========================================================================== generation
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": words("id display_name role scope language created_at"),
    "employees": words(
        "id user_id application_id external_ref name department position_code start_date position_since projects interview profile profile_confirmed_at is_mentor mentor_capacity mentor_load mentor_strengths mentor_id mentor_reason created_at"
    ),
    "reviews": words("id employee_id year rating scores"),
    "enrolments": words(
        "id employee_id course_id status progress chapters_done enrolled_at deadline completed_at reminded_at"
    ),
    "onboarding_items": words(
        "id employee_id item_id title_zh title_en kind due_date course_id done_at reminded_at"
    ),
}


def jdump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def at_office(day: date, rng: random.Random) -> datetime:
    """A moment of office hours on ``day`` in the bank's timezone, as UTC."""
    t = datetime.combine(day, dtime(9, 0), tzinfo=TZ) + timedelta(minutes=rng.uniform(0, 540))
    return t.astimezone(UTC)


class Generator:
    """The bank's employees as the HR system would hand them over, and the newest hires (module doc)."""

    def __init__(self, rng: random.Random, now: datetime, growth: GrowthContent, n: int, new_share: float):
        self.rng = rng
        self.now = now
        self.today = now.astimezone(TZ).date()
        self.growth = growth
        self.n = n
        self.n_new = round(n * new_share)
        self.rung = rungs(growth)
        codes = [c for c in growth.positions if c in self.rung]
        self.positions = codes
        self.weights = [
            RUNG_WEIGHT[min(self.rung[c], len(RUNG_WEIGHT) - 1)]
            * DEPARTMENT_WEIGHT.get(growth.positions[c].department, 1.0)
            for c in codes
        ]
        self.entry = [c for c in codes if self.rung[c] == 0]
        self.entry_weights = [w for c, w in zip(codes, self.weights, strict=True) if self.rung[c] == 0]
        self.catalog = growth.courses
        self.course_ids = [c.id for c in self.catalog.courses]
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.enrolments: list[tuple[Any, ...]] = []  # without ids: numbered in enrolment order
        self.reviews: list[tuple[Any, ...]] = []  # without ids: numbered cycle by cycle
        self.mentors: dict[str, list[tuple[int, str]]] = {}  # department → [(employee id, name)]
        self.review_years = tuple(range(self.today.year - 3, self.today.year))
        self.stats: dict[str, int] = {}

    def count(self, key: str, k: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + k

    def name(self) -> str:
        rng = self.rng
        surname = rng.choices(SURNAMES, weights=[1 / (i + 4) for i in range(len(SURNAMES))])[0]
        return surname + "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))

    def scores(self, base: float, spread: float) -> dict[str, float]:
        return {i: float(round(min(99, max(30, self.rng.gauss(base, spread))))) for i in INDICATORS}

    def run(self) -> None:
        for i in range(1, self.n + 1):
            self.employee(i, new=i > self.n - self.n_new)
        for n, row in enumerate(sorted(self.reviews, key=lambda r: (r[1], r[0])), 1):
            self.rows["reviews"].append((n, *row))
        for n, row in enumerate(sorted(self.enrolments, key=lambda r: r[5]), 1):
            self.rows["enrolments"].append((n, *row))
        self.reviews.clear()
        self.enrolments.clear()

    def employee(self, i: int, *, new: bool) -> None:
        rng, today = self.rng, self.today
        code = rng.choices(
            self.entry if new else self.positions, self.entry_weights if new else self.weights
        )[0]
        pos = self.growth.positions[code]
        rung = self.rung[code]
        name = self.name()
        lang = "en" if rng.random() < 0.08 else "zh"
        interview: dict[str, Any] | None = None
        mentor_id = mentor_reason = None
        is_mentor, capacity, load, strengths = False, 0, 0, []
        profile: dict[str, Any] = {"name": name}
        if new:
            start = today + timedelta(days=rng.randint(-70, 7))
            since = start
            projects = 0
            created = at_office(start - timedelta(days=rng.randint(7, 21)), rng)
            if rng.random() < 0.9:  # hired through the AI interview
                interview = self.scores(68, 11)
                for k in rng.sample(INDICATORS, rng.choice((0, 0, 0, 1, 2))):
                    interview[k] = None
                profile |= {
                    "school": rng.choice(SCHOOLS),
                    "major": rng.choice(MAJORS),
                    "degree": rng.choice(DEGREES),
                }
            confirmed = at_office(start, rng) if start <= today and rng.random() < 0.8 else None
            choices = self.mentors.get(pos.department)
            if choices:
                mentor_id, mentor_name = rng.choice(choices)
                mentor_reason = {
                    "zh": f"为您匹配的导师是{mentor_name}（{pos.department}），擅长沟通表达、客户导向。",
                    "en": f"Your mentor is {mentor_name} ({pos.department}), strong in communication and customer focus.",
                }
            self.count("new hires")
        else:
            years = rng.uniform(3.2, 25.0)
            start = today - timedelta(days=int(years * 365.25))
            months = rng.randint(4, min(150, int(years * 12)))
            since = max(start, today - timedelta(days=int(months * 30.44)))
            projects = max(0, int(rng.gauss(1.5 + 1.8 * rung + months / 30, 1.5)))
            # handed over by the HR system when the bot went live
            created = self.now - timedelta(days=rng.uniform(200, 240))
            confirmed = created
            if rng.random() < 0.15:
                interview = self.scores(70, 10)
            if rung >= 1 and rng.random() < 0.12:
                is_mentor = True
                capacity = rng.randint(1, 3)
                load = rng.randint(0, capacity)
                strengths = rng.sample(INDICATORS, 2)
                self.mentors.setdefault(pos.department, []).append((i, name))
                self.count("mentors")
            self.review_rows(i, rung)
            self.count("tenured")
        self.rows["users"].append((i, name, "employee", "[]", lang, created))
        self.rows["employees"].append(
            (
                i,
                i,
                None,
                f"HR{i:06d}",
                name,
                pos.department,
                code,
                start,
                since,
                projects,
                None if interview is None else jdump(interview),
                jdump(profile),
                confirmed,
                is_mentor,
                capacity,
                load,
                jdump(strengths),
                mentor_id,
                None if mentor_reason is None else jdump(mentor_reason),
                created,
            )
        )
        if new:
            self.onboarding(i, pos.department, start, created)
        else:
            self.courses(i, pos.department, code, start)

    def review_rows(self, emp_id: int, rung: int) -> None:
        rng = self.rng
        level = {i: rng.gauss(68 + 3 * rung, 7) for i in INDICATORS}
        for year in self.review_years:
            for k in level:
                level[k] += rng.gauss(1.5, 3)
            scores = {k: float(round(min(99, max(30, v + rng.gauss(0, 3))))) for k, v in level.items()}
            mean = sum(scores.values()) / len(scores)
            r = rng.random()
            if mean >= 78:
                rating = "excellent" if r < 0.7 else "good"
            elif mean >= 70:
                rating = "excellent" if r < 0.2 else "good" if r < 0.9 else "fair"
            else:
                rating = "good" if r < 0.5 else "fair"
            self.reviews.append((emp_id, year, rating, jdump(scores)))
            self.count("reviews")

    def enrol(self, emp_id: int, cid: str, at: datetime, *, done: bool, deadline: date | None = None) -> None:
        rng = self.rng
        course = self.catalog.get(cid)
        assert course is not None
        if done:
            finished = min(at + timedelta(days=rng.uniform(2, 45)), self.now - timedelta(hours=1))
            row = (emp_id, cid, "completed", 100, course.chapters, at, deadline, finished, None)
            self.count("completed")
        else:
            progress = rng.choice((0, 0, 10, 20, 25, 40, 50, 60, 75, 80, 90))
            due = deadline or (at.astimezone(TZ).date() + timedelta(days=store.COURSE_DAYS))
            reminded = at + timedelta(days=store.COURSE_DAYS - 3) if due < self.today else None
            row = (
                emp_id,
                cid,
                "enrolled",
                progress,
                progress * course.chapters // 100,
                at,
                due,
                None,
                reminded,
            )
            self.count("in progress")
        self.enrolments.append(row)
        self.count("enrolments")

    def courses(self, emp_id: int, department: str, code: str, start: date) -> None:
        """~15 enrolments: the mandatory ones (done), some of the next step's, the rest anywhere."""
        rng = self.rng
        want = rng.randint(10, 20)
        taken: set[str] = set()
        first = max(start, self.today - timedelta(days=730))
        span = max(1, (self.today - first).days)

        def when() -> datetime:
            return at_office(first + timedelta(days=rng.randrange(span)), rng)

        for c in self.catalog.mandatory(department):
            taken.add(c.id)
            self.enrol(emp_id, c.id, when(), done=True)
        for step in self.growth.steps_from(code):
            for c in step.courses:
                if c.id not in taken and len(taken) < want and rng.random() < 0.6:
                    taken.add(c.id)
                    self.enrol(emp_id, c.id, when(), done=rng.random() < 0.7)
        while len(taken) < want:
            cid = rng.choice(self.course_ids)
            if cid not in taken:
                taken.add(cid)
                self.enrol(emp_id, cid, when(), done=rng.random() < 0.65)

    def onboarding(self, emp_id: int, department: str, start: date, hired: datetime) -> None:
        """The department's checklist (``storage.employees.hire``), its trainings as enrolments."""
        rng, today = self.rng, self.today
        template = self.growth.onboarding.get(department)
        taken: set[str] = set()
        if template is not None:
            for n, item in enumerate(g.onboarding_checklist(template, start)):
                done = (item.due < today and rng.random() < 0.8) or (item.due == today and rng.random() < 0.3)
                done_at = at_office(min(item.due, today), rng) if done else None
                if done_at is not None and done_at > self.now:
                    done_at = self.now - timedelta(minutes=5)
                self.rows["onboarding_items"].append(
                    (
                        None,  # numbered by load()
                        emp_id,
                        item.id,
                        item.title.zh,
                        item.title.en,
                        item.kind,
                        item.due,
                        item.course,
                        done_at,
                        None if done or item.due >= today else at_office(item.due, rng),
                    )
                )
                self.count("onboarding items")
                if item.course and item.course not in taken:
                    taken.add(item.course)
                    self.enrol(
                        emp_id, item.course, hired + timedelta(seconds=n), done=done, deadline=item.due
                    )
        for _ in range(rng.choice((0, 1, 2, 3))):
            cid = rng.choice(self.course_ids)
            if cid not in taken:
                taken.add(cid)
                self.enrol(emp_id, cid, min(self.now, hired + timedelta(days=rng.uniform(7, 40))), done=False)


def load(url: str, gen: Generator) -> dict[str, int]:
    """COPY everything in one transaction, foreign-key triggers off; then the sequences."""
    items = gen.rows["onboarding_items"]
    gen.rows["onboarding_items"] = [(n, *row[1:]) for n, row in enumerate(items, 1)]
    counts: dict[str, int] = {}
    with psycopg.connect(common.conninfo(url)) as conn:
        cur = conn.cursor()
        common.triggers_off(cur)
        for table, rows in gen.rows.items():
            counts[table] = common.copy_rows(cur, table, COLUMNS[table], rows)
            rows.clear()
        common.reset_sequences(cur)
        conn.commit()
    return counts


def generate(
    engine: Engine, url: str, growth: GrowthContent, n: int, new_share: float, seed: int
) -> dict[str, Any]:
    """Empty the bench database, generate and load a fresh dataset. Returns timings and figures."""
    t0 = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    common.truncate_all(engine)
    gen = Generator(random.Random(seed), now, growth, n, new_share)
    gen.run()
    return {**common.load_timed(url, t0, lambda: load(url, gen)), "figures": gen.stats}


# =========================================================================== measuring
@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    employee_id: int
    name: str
    language: str
    position: str
    interview: bool


OUTCOMES = (
    "emp_recommend_head",
    "emp_recommend_ask",
    "emp_recommend_none",
    "emp_promo_not_next",
    "emp_promo_head",
    "emp_promo_top",
    "emp_promo_which",
    "emp_promo_same",
    "emp_promo_entry",
    "emp_promo_no_such",
    "emp_promo_no_such_at_all",
)


def outcome(result: dict[str, Any], catalog: Catalog, lang: str) -> str:
    """What the answer was: the catalog message it starts with (``recommend_head``, ``promo_top`` …)."""
    if result.get("status"):
        return str(result["status"])
    answer = str(result.get("text") or "")
    for key in OUTCOMES:
        parts = re.split(r"\{\w+\}", catalog.t(lang, key))
        if re.match("[^\n]*?".join(re.escape(x) for x in parts), answer):
            return key.removeprefix("emp_")
    return "other"


def build_ops(
    engine: Engine, growth: GrowthContent, catalog: Catalog, n: int, rng: random.Random
) -> tuple[list[Op], list[Op], dict[str, Any]]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    env = EmpEnv(growth=growth, files=None, file_url=lambda *a: "")
    with sessions() as s:
        people = [
            Person(*row)
            for row in s.execute(
                text(
                    "SELECT u.id, e.id, u.display_name, coalesce(u.language, 'zh'), e.position_code,"
                    " e.interview IS NOT NULL FROM employees e JOIN users u ON u.id = e.user_id ORDER BY e.id"
                )
            )
        ]
    ladder_targets = sorted({st.to_position.code for lad in growth.ladders for st in lad.steps})
    entries = sorted(
        {st.from_position.code for lad in growth.ladders for st in lad.steps} - set(ladder_targets)
    )

    def target(p: Person) -> tuple[str, str]:
        """A title to ask about: mostly a next step's, else another rung anywhere (kind, title)."""
        nxt = [st.to_position.code for st in growth.steps_from(p.position)]
        r = rng.random()
        if nxt and r < 0.7:
            code, kind = rng.choice(nxt), "next step"
        elif r < 0.9:
            code = rng.choice(ladder_targets)
            kind = "next step" if code in nxt else "same" if code == p.position else "not next"
        else:
            code = rng.choice(entries)
            kind = "same" if code == p.position else "entry"
        return kind, growth.positions[code].name(p.language)

    def ctx(p: Person) -> EmpCtx:
        return EmpCtx(now=now, tz=TZ, lang=p.language, catalog=catalog, user_id=p.user_id, name=p.name)

    def answer(name: str, arg: tuple[Person, dict[str, Any]]) -> dict[str, Any]:
        p, cargs = arg
        with sessions() as s, s.begin():
            return execute(s, Command(name, cargs), ctx=ctx(p), env=env, now=now)

    def chat(name: str) -> Callable[[Any], str]:
        return lambda arg: outcome(answer(name, arg), catalog, arg[0].language)

    def show(name: str) -> Callable[[Any], str]:
        def text_of(arg: tuple[Person, dict[str, Any]]) -> str:
            r = answer(name, arg)
            buttons = " ".join(f"[{c['title']}]" for c in r.get("choices") or [])
            return str(r.get("text") or r) + (f"\n{buttons}" if buttons else "")

        return text_of

    def reads(p: Person) -> str:
        with sessions() as s, s.begin():
            emp = store.by_user(s, p.user_id)
            assert emp is not None
            store.facts(s, emp, now.astimezone(TZ).date())
            store.course_ids(s, emp.id)
        return "read"

    def bare(p: Person) -> str:
        with sessions() as s, s.begin():
            s.execute(text("SELECT 1"))
        return "round trip"

    def steps(p: Person) -> str:
        n_steps = len(growth.steps_from(p.position))
        return "top of ladder" if n_steps == 0 else "one step up" if n_steps == 1 else "two steps up"

    pick = [rng.choice(people) for _ in range(n)]
    ops = [
        Op(
            "recommend",
            TARGET_P95_MS,
            [("interview" if p.interview else "review", (p, {})) for p in pick],
            chat("emp_recommend"),
            show("emp_recommend"),
        ),
        Op(
            "promotion",
            TARGET_P95_MS,
            [(steps(p), (p, {})) for p in (rng.choice(people) for _ in range(n))],
            chat("emp_promotion"),
            show("emp_promotion"),
        ),
        Op(
            "promotion_to",
            TARGET_P95_MS,
            [
                (kind, (p, {"position": title}))
                for p in (rng.choice(people) for _ in range(n))
                for kind, title in [target(p)]
            ],
            chat("emp_promotion"),
            show("emp_promotion"),
        ),
        Op("db_reads", None, [("read", p) for p in (rng.choice(people) for _ in range(n))], reads),
        Op("session_only", None, [("bare", p) for p in people[:n]], bare),
    ]

    # the pure parts, on facts read beforehand (the same calls the commands make)
    as_of = now.astimezone(TZ).date()
    with sessions() as s:
        facts = []
        for p in (rng.choice(people) for _ in range(n)):
            emp = store.by_user(s, p.user_id)
            assert emp is not None
            facts.append(store.facts(s, emp, as_of))
    all_steps = [st for lad in growth.ladders for st in lad.steps]

    def pure_recommend(f: g.EmployeeFacts) -> str:
        weak, source, year = g.growth_scores(f.interview or None, list(f.reviews))
        recs = g.recommend_courses(
            weak, courses=growth.courses, completed=f.completed, enrolled=f.enrolled, source=source, year=year
        )
        return f"{len(recs)} courses"

    def pure_gap(f: g.EmployeeFacts) -> str:
        mine = growth.steps_from(f.position)
        step = mine[0] if mine else next(st for st in all_steps if st.to_position.code == f.position)
        gap = g.promotion_gap(f, step)
        return "met" if gap.met else f"{gap.n_missing} missing"

    pure = [
        Op("recommend_courses", None, [("pure", f) for f in facts], pure_recommend),
        Op("promotion_gap", None, [("pure", f) for f in facts], pure_gap),
    ]
    slots = [len(v) for v in growth.courses.slots.values()]
    with engine.connect() as conn:
        sizes = {
            t: round(int(conn.scalar(text(f"SELECT pg_total_relation_size('{t}')")) or 0) / 2**20, 1)
            for t in ("employees", "reviews", "enrolments", "onboarding_items")
        }
    info = {
        "employees_listed": len(people),
        "courses": len(growth.courses),
        "catalog_slots": len(slots),
        "courses_per_slot": {"min": min(slots), "max": max(slots), "mean": round(sum(slots) / len(slots), 1)},
        "table_mb": sizes,
    }
    return ops, pure, info


class Stats(common.Stats):
    """This benchmark's layout of the figures: wider names, the kinds in order of name, figures below
    1 ms (the pure rules) with three decimals (four in the JSON), before → after with two."""

    NAME_WIDTH = 18
    KIND_WIDTH = 14
    SORT_KINDS = True
    FINE = True
    CHANGE_DIGITS = 2


def explain(engine: Engine, log: SqlLog, op: Op, st: common.Stats) -> list[str]:
    """The statements of one run of ``op`` on its slowest argument, and the plan of each."""
    run = common.rerun_worst(log, op, st)
    if run is None:
        return []
    kind, arg, entries = run
    p = arg[0] if isinstance(arg, tuple) else arg
    out = [f"  {op.name} ({kind}, user {p.user_id}): {len(entries)} statements"]
    out += [common.statement_line(stmt, ms, 2) for stmt, _, ms in entries]
    seen: set[str] = set()
    with engine.connect() as conn:
        for stmt, params, _ in entries:
            if stmt in seen or not stmt.lstrip().upper().startswith("SELECT") or stmt.strip() == "SELECT 1":
                continue
            seen.add(stmt)
            plan = common.explain_plan(conn, stmt, params)
            out.append(f"    EXPLAIN (ANALYZE, BUFFERS) {common.one_line(stmt, 110)}")
            out += plan
    return out


def samples(ops: Sequence[Op]) -> list[str]:
    """One answer of each chat command, as the employee reads it."""
    out = []
    for op in ops:
        if op.show is None:
            continue
        kind, arg = op.args[0]
        p, cargs = arg
        head = f"  {op.name} — {p.name}, {p.position}, {p.language}{' ' + json.dumps(cargs, ensure_ascii=False) if cargs else ''}:"
        out.append(head)
        out += [f"      {line}" for line in op.show(arg).splitlines()]
    return out


# =========================================================================== main
def main() -> int:
    ap = common.parser(__doc__, DEFAULT_URL)
    ap.add_argument("--employees", type=int, default=10_000)
    ap.add_argument("--courses", type=int, default=1_000)
    ap.add_argument("--new-share", type=float, default=0.05, help="the share of newest hires (onboarding)")
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--n", type=int, default=300, help="calls per operation")
    common.add_explain_options(ap)
    args = ap.parse_args()

    dbname = common.check_url(args.database_url, "bench/selfservice.py", NEVER)
    real = load_growth()
    if args.courses < len(real.courses):
        raise SystemExit(f"--courses must be at least the content's {len(real.courses)}")
    growth = growth_with(build_courses(real.courses.courses, args.courses, args.seed))
    catalog = Catalog.load(CONTENT / "messages.yml")
    with common.bench_database(args.database_url) as engine:
        counts = common.table_counts(engine)
        reused = bool(
            args.reuse
            and counts.get("employees") == args.employees
            and counts.get("enrolments")
            and not unknown_courses(engine, growth.courses)
        )
        generation: dict[str, Any] | None = None
        if reused:
            print(
                f"reusing the dataset in {dbname}: {counts['employees']:,} employees, {counts['reviews']:,} reviews,"
                f" {counts['enrolments']:,} enrolments, {counts['onboarding_items']:,} onboarding items"
            )
        else:
            print(
                f"generating {args.employees:,} employees over {len(growth.courses):,} courses in {dbname} …",
                flush=True,
            )
            generation = generate(
                engine, args.database_url, growth, args.employees, args.new_share, args.seed
            )
            common.print_generation(generation)
            print("  " + ", ".join(f"{k} {v:,}" for k, v in generation["figures"].items()))
            counts = common.table_counts(engine)
        if TRIAL_INDEXES:  # a previous --keep-indexes run: measure the schema as migrated
            common.try_indexes(args.database_url, TRIAL_INDEXES, create=False)

        rng = random.Random(args.seed + 1)
        ops, pure, info = build_ops(engine, growth, catalog, args.n, rng)
        info["enrolments_per_employee"] = round(counts["enrolments"] / max(1, counts["employees"]), 1)
        log = SqlLog(engine)

        def explain_op(op: Op, st: common.Stats) -> list[str]:
            return explain(engine, log, op, st)

        print(
            f"{info['courses']:,} courses in {info['catalog_slots']} (indicator, level) slots,"
            f" {info['courses_per_slot']['mean']} per slot ({info['courses_per_slot']['min']}–"
            f"{info['courses_per_slot']['max']}); {info['enrolments_per_employee']} enrolments per employee;"
            " MB with indexes: " + ", ".join(f"{t} {mb}" for t, mb in info["table_mb"].items())
        )
        print("a chat message each, end to end (session, reads, rules, rendering) — schema as migrated:")
        before = common.measure(ops, Stats)
        print("sample answers:")
        print("\n".join(samples(ops)))
        print("the pure rules alone, on facts read beforehand:")
        pure_stats = common.measure(pure, Stats)
        missed = common.explain_misses(ops, before, explain_op, args.explain)

        tried = common.trial(
            args, TRIAL_INDEXES, ops, before, explain_op, analyze="VACUUM (ANALYZE) enrolments", stats=Stats
        )

        return common.report(
            "selfservice",
            dbname,
            {
                "employees": counts.get("employees"),
                "reviews": counts.get("reviews"),
                "enrolments": counts.get("enrolments"),
                "onboarding_items": counts.get("onboarding_items"),
                "courses": len(growth.courses),
                "reused": reused,
                "generation": generation,
                "setup": info,
                "results": common.results(before),
                "pure": common.results(pure_stats),
                "trial_indexes": tried,
            },
            missed,
        )


if __name__ == "__main__":
    sys.exit(main())
