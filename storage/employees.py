"""Employees in the store: hiring a candidate (onboarding checklist, mentor, role change), the facts
promotion rules are judged on, courses and their progress, training requests — in the caller's
transaction, each change audited. The rules themselves are pure (``flows.growth``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows import growth as g
from flows.growth_content import GrowthContent
from scoring.questions import LocalText
from storage.models import (
    Application,
    Employee,
    Enrolment,
    Interview,
    OnboardingItem,
    Position,
    Review,
    TrainingRequest,
    User,
)
from storage.repo import audit

COURSE_DAYS = 30  # a course's deadline after enrolling, unless it is an onboarding training with its own
PROFILE_FIELDS = ("name", "school", "major", "degree", "experience")


def by_user(s: Session, user_id: int) -> Employee | None:
    return s.scalar(select(Employee).where(Employee.user_id == user_id))


def reviews(s: Session, employee_id: int) -> list[g.Review]:
    rows = s.scalars(select(Review).where(Review.employee_id == employee_id).order_by(Review.year))
    return [g.Review(r.year, r.rating, {k: float(v) for k, v in (r.scores or {}).items()}) for r in rows]


def course_ids(s: Session, employee_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """(completed, enrolled-and-not-completed) course ids."""
    done, doing = set(), set()
    for cid, status in s.execute(
        select(Enrolment.course_id, Enrolment.status).where(Enrolment.employee_id == employee_id)
    ):
        (done if status == "completed" else doing).add(cid)
    return frozenset(done), frozenset(doing)


def facts(s: Session, emp: Employee, as_of: date) -> g.EmployeeFacts:
    revs = reviews(s, emp.id)
    done, doing = course_ids(s, emp.id)
    year = as_of.year if any(r.year == as_of.year for r in revs) else as_of.year - 1
    return g.EmployeeFacts(
        id=str(emp.id),
        department=emp.department,
        position=emp.position_code,
        tenure_months=g.months_between(emp.position_since, as_of),
        projects=emp.projects,
        reviews=tuple(r for r in revs if r.year <= year),
        interview={k: (None if v is None else float(v)) for k, v in (emp.interview or {}).items()},
        completed=done,
        enrolled=doing,
        review_year=year,
    )


def mentors(s: Session, content: GrowthContent) -> list[g.Mentor]:
    """Every mentor with their current load: the HR system's count plus the new hires matched here."""
    mine = dict(
        s.execute(
            select(Employee.mentor_id, func.count(Employee.id))
            .where(Employee.mentor_id.is_not(None))
            .group_by(Employee.mentor_id)
        ).all()
    )
    out = []
    for m in s.scalars(select(Employee).where(Employee.is_mentor.is_(True)).order_by(Employee.id)):
        pos = content.positions.get(m.position_code)
        out.append(
            g.Mentor(
                id=str(m.id),
                name=LocalText(m.name, m.name),
                department=m.department,
                department_name=content.departments.get(m.department, LocalText(m.department, m.department)),
                position=pos.title if pos else LocalText(m.position_code, m.position_code),
                strengths=tuple(m.mentor_strengths or ()),
                capacity=m.mentor_capacity,
                mentees=m.mentor_load + int(mine.get(m.id, 0)),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Hired:
    employee: Employee
    mentor: Employee | None
    reason: Mapping[str, str] | None  # zh / en
    checklist: int  # items created


def _start_date(now: datetime, tz: Any) -> date:
    """The next Monday (a week from today at the earliest when today is Monday)."""
    today = now.astimezone(tz).date()
    return today + timedelta(days=(7 - today.weekday()) or 7)


def hire(
    s: Session,
    app: Application,
    *,
    content: GrowthContent,
    now: datetime,
    tz: Any,
    start: date | None = None,
    actor: str = "system",
) -> Hired:
    """The application's person becomes an employee on the same user and chat identities: the onboarding
    form prefilled from the application, the department's checklist with due dates, a mentor matched
    (department, strengths against the interview's weakest indicators, capacity). Idempotent."""
    pos = s.get(Position, app.position_id)
    assert pos is not None
    if app.user_id is None:  # hired without ever linking a chat: the HR system's person all the same
        user = User(display_name=app.candidate_name, role="employee", language="zh", created_at=now)
        s.add(user)
        s.flush()
        app.user_id = user.id
    user = s.get(User, app.user_id)
    assert user is not None
    existing = by_user(s, user.id)
    if existing is not None:
        return Hired(existing, s.get(Employee, existing.mentor_id) if existing.mentor_id else None, None, 0)
    user.role = "employee"
    iv = s.scalar(
        select(Interview)
        .where(Interview.application_id == app.id, Interview.status == "completed", Interview.round == 1)
        .order_by(Interview.id.desc())
        .limit(1)
    )
    start = start or _start_date(now, tz)
    profile = {
        "name": app.candidate_name,
        **{k: v for k, v in (app.profile or {}).items() if k in PROFILE_FIELDS},
    }
    emp = Employee(
        user_id=user.id,
        application_id=app.id,
        name=app.candidate_name,
        department=pos.department,
        position_code=pos.code,
        start_date=start,
        position_since=start,
        projects=0,
        interview=dict(iv.scores) if iv is not None and iv.scores else None,
        profile=profile,
        created_at=now,
    )
    s.add(emp)
    s.flush()
    n = 0
    template = content.onboarding.get(pos.department)
    if template is not None:
        for item in g.onboarding_checklist(template, start):
            s.add(
                OnboardingItem(
                    employee_id=emp.id,
                    item_id=item.id,
                    title_zh=item.title.zh,
                    title_en=item.title.en,
                    kind=item.kind,
                    due_date=item.due,
                    course_id=item.course,
                )
            )
            n += 1
            if item.course:  # an onboarding training is an enrolment with the item's due date
                s.add(
                    Enrolment(
                        employee_id=emp.id,
                        course_id=item.course,
                        status="enrolled",
                        enrolled_at=now,
                        deadline=item.due,
                    )
                )
    match = g.match_mentor(emp.interview or {}, pos.department, mentors(s, content))
    mentor = None
    reason = None
    if match is not None:
        mentor = s.get(Employee, int(match.mentor.id))
        emp.mentor_id = mentor.id if mentor else None
        reason = {"zh": match.reason("zh"), "en": match.reason("en")}
        emp.mentor_reason = reason
    s.flush()
    audit(
        s,
        now=now,
        actor=actor,
        action="employee.hire",
        subject=f"application:{app.id}",
        details={
            "employee_id": emp.id,
            "department": emp.department,
            "position": emp.position_code,
            "start_date": start.isoformat(),
            "mentor_id": emp.mentor_id,
            "checklist_items": n,
        },
        input_versions={"growth_content": content.version},
    )
    return Hired(emp, mentor, reason, n)


# ------------------------------------------------------------------ onboarding


def checklist(s: Session, employee_id: int) -> list[OnboardingItem]:
    return list(
        s.scalars(
            select(OnboardingItem)
            .where(OnboardingItem.employee_id == employee_id)
            .order_by(OnboardingItem.due_date, OnboardingItem.id)
        )
    )


def complete_item(s: Session, emp: Employee, item_id: str, *, now: datetime) -> str:
    """ok | already | missing"""
    item = s.scalar(
        select(OnboardingItem).where(OnboardingItem.employee_id == emp.id, OnboardingItem.item_id == item_id)
    )
    if item is None:
        return "missing"
    if item.done_at is not None:
        return "already"
    item.done_at = now
    audit(
        s,
        now=now,
        actor=f"user:{emp.user_id}",
        action="onboarding.done",
        subject=f"employee:{emp.id}",
        details={"item": item_id},
    )
    return "ok"


def update_profile(s: Session, emp: Employee, field: str, value: str, *, now: datetime) -> str:
    if field not in PROFILE_FIELDS and field not in ("phone", "email"):
        return "unknown_field"
    value = value.strip()[:200]
    if not value:
        return "empty"
    before = (emp.profile or {}).get(field)
    emp.profile = {**(emp.profile or {}), field: value}
    audit(
        s,
        now=now,
        actor=f"user:{emp.user_id}",
        action="profile.update",
        subject=f"employee:{emp.id}",
        details={"field": field, "changed": before != value},
    )
    return "ok"


def confirm_profile(s: Session, emp: Employee, *, now: datetime) -> str:
    if emp.profile_confirmed_at is not None:
        return "already"
    emp.profile_confirmed_at = now
    audit(s, now=now, actor=f"user:{emp.user_id}", action="profile.confirm", subject=f"employee:{emp.id}")
    return "ok"


# ------------------------------------------------------------------ courses


def enrolment(s: Session, emp: Employee, course_id: str) -> Enrolment | None:
    return s.scalar(
        select(Enrolment).where(Enrolment.employee_id == emp.id, Enrolment.course_id == course_id)
    )


def enrol(s: Session, emp: Employee, course: g.Course, *, now: datetime, tz: Any) -> tuple[str, Enrolment]:
    """ok | already (enrolled) | completed"""
    row = enrolment(s, emp, course.id)
    if row is not None:
        return ("completed" if row.status == "completed" else "already"), row
    deadline = now.astimezone(tz).date() + timedelta(days=COURSE_DAYS)
    row = Enrolment(
        employee_id=emp.id, course_id=course.id, status="enrolled", enrolled_at=now, deadline=deadline
    )
    s.add(row)
    s.flush()
    audit(
        s,
        now=now,
        actor=f"user:{emp.user_id}",
        action="course.enrol",
        subject=f"employee:{emp.id}",
        details={"course": course.id, "deadline": deadline.isoformat()},
    )
    return "ok", row


def report_progress(
    s: Session,
    emp: Employee,
    course: g.Course,
    *,
    now: datetime,
    chapter: int | None = None,
    percent: int | None = None,
    completed: bool = False,
) -> tuple[str, Enrolment | None]:
    """ok | done (just completed) | not_enrolled | bad_percent | bad_chapter | already_done"""
    row = enrolment(s, emp, course.id)
    if row is None:
        return "not_enrolled", None
    if row.status == "completed":
        return "already_done", row
    if percent is not None and not 0 <= percent <= 100:
        return "bad_percent", row
    if chapter is not None and not 1 <= chapter <= course.chapters:
        return "bad_chapter", row
    if completed:
        progress = 100
    elif chapter is not None:
        row.chapters_done = max(row.chapters_done, chapter)
        progress = round(100 * row.chapters_done / max(course.chapters, 1))
    else:
        progress = int(percent or 0)
    row.progress = max(row.progress, progress)
    status = "ok"
    if row.progress >= 100:
        row.progress, row.status, row.completed_at = 100, "completed", now
        row.chapters_done = course.chapters
        status = "done"
        for item in s.scalars(
            select(OnboardingItem).where(
                OnboardingItem.employee_id == emp.id,
                OnboardingItem.course_id == course.id,
                OnboardingItem.done_at.is_(None),
            )
        ):
            item.done_at = now
    audit(
        s,
        now=now,
        actor=f"user:{emp.user_id}",
        action="course.progress",
        subject=f"employee:{emp.id}",
        details={"course": course.id, "progress": row.progress, "status": row.status},
    )
    return status, row


def enrolments(s: Session, employee_id: int) -> list[Enrolment]:
    return list(
        s.scalars(
            select(Enrolment)
            .where(Enrolment.employee_id == employee_id)
            .order_by(Enrolment.enrolled_at, Enrolment.id)
        )
    )


# ------------------------------------------------------------------ training requests


def request_training(s: Session, emp: Employee, text: str, *, now: datetime) -> TrainingRequest:
    row = TrainingRequest(employee_id=emp.id, text=text.strip()[:1000], status="pending", created_at=now)
    s.add(row)
    s.flush()
    audit(
        s,
        now=now,
        actor=f"user:{emp.user_id}",
        action="training.request",
        subject=f"employee:{emp.id}",
        details={"request_id": row.id},
    )
    return row


def decide_training(
    s: Session, request_id: int, *, approve: bool, user_id: int, now: datetime, note: str | None = None
) -> tuple[str, TrainingRequest | None]:
    """ok | already | missing"""
    row = s.get(TrainingRequest, request_id)
    if row is None:
        return "missing", None
    if row.status != "pending":
        return "already", row
    row.status = "approved" if approve else "declined"
    row.decided_by, row.decided_at, row.note = user_id, now, note
    audit(
        s,
        now=now,
        actor=f"user:{user_id}",
        action=f"training.{row.status}",
        subject=f"employee:{row.employee_id}",
        details={"request_id": row.id},
    )
    return "ok", row


# ------------------------------------------------------------------ demo / HR-system hand-over


def seed_employees(s: Session, content: GrowthContent, *, now: datetime) -> int:
    """The HR system's employees (content/employees.yml in the demo) with their reviews and completed
    courses; idempotent by the HR system's number. Returns how many were added."""
    added = 0
    for e in content.employees.values():
        if s.scalar(select(Employee.id).where(Employee.external_ref == e.id)) is not None:
            continue
        user = User(display_name=e.name.get(e.language), role="employee", language=e.language, created_at=now)
        s.add(user)
        s.flush()
        emp = Employee(
            user_id=user.id,
            external_ref=e.id,
            name=e.name.get(e.language),
            department=e.department,
            position_code=e.position,
            start_date=e.start_date,
            position_since=e.position_since,
            projects=e.projects,
            interview=dict(e.interview) or None,
            profile={"name": e.name.get(e.language)},
            profile_confirmed_at=now,
            is_mentor=e.mentor is not None,
            mentor_capacity=e.mentor.capacity if e.mentor else 0,
            mentor_load=e.mentor.mentees if e.mentor else 0,
            mentor_strengths=list(e.mentor.strengths) if e.mentor else [],
            created_at=now,
        )
        s.add(emp)
        s.flush()
        for r in e.reviews:
            s.add(Review(employee_id=emp.id, year=r.year, rating=r.rating, scores=dict(r.scores)))
        for cid in sorted(e.completed):
            s.add(
                Enrolment(
                    employee_id=emp.id,
                    course_id=cid,
                    status="completed",
                    progress=100,
                    enrolled_at=now,
                    completed_at=now,
                )
            )
        for cid in sorted(e.enrolled):
            s.add(
                Enrolment(
                    employee_id=emp.id,
                    course_id=cid,
                    status="enrolled",
                    enrolled_at=now,
                    deadline=now.date() + timedelta(days=COURSE_DAYS),
                )
            )
        added += 1
    return added


def department_hr(s: Session, department: str, codes: Sequence[str]) -> list[User]:
    """HR users whose scope covers the department (or one of its position codes)."""
    out = []
    for u in s.scalars(select(User).where(User.role == "hr")):
        scope = {str(x).casefold() for x in (u.scope or [])}
        if "*" in scope or department.casefold() in scope or any(c.casefold() in scope for c in codes):
            out.append(u)
    return out
