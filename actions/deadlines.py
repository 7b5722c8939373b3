"""Reminders before deadlines, on the scheduler: a course due within 3 days and not finished, an
onboarding item due today or overdue and not done — each reminded once, in the employee's own chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.growth_content import GrowthContent
from flows.texts import Catalog, fmt_day
from storage.models import Employee, Enrolment, OnboardingItem, User

COURSE_NOTICE = timedelta(days=3)


def due(
    sessions: sessionmaker[Session], *, catalog: Catalog, growth: GrowthContent, now: datetime, tz: Any
) -> list[tuple[int, str, str]]:
    """(user_id, event key, text) for each reminder due now; marks them reminded."""
    today = now.astimezone(tz).date()
    out: list[tuple[int, str, str]] = []
    with sessions.begin() as s:
        rows = s.execute(
            select(Enrolment, Employee.user_id, User.language)
            .join(Employee, Employee.id == Enrolment.employee_id)
            .join(User, User.id == Employee.user_id)
            .where(
                Enrolment.status == "enrolled",
                Enrolment.reminded_at.is_(None),
                Enrolment.deadline.is_not(None),
                Enrolment.deadline <= today + COURSE_NOTICE,
            )
            .limit(1000)
        ).all()
        for e, user_id, lang in rows:
            course = growth.courses.get(e.course_id)
            if course is None:
                continue
            lang = lang or "zh"
            title = course.title.get(lang)
            key = "emp_deadline_course_past" if e.deadline < today else "emp_deadline_course"
            text = catalog.t(lang, key, title=title, due=fmt_day(e.deadline, lang), progress=e.progress)
            e.reminded_at = now
            out.append((user_id, f"deadline:course:{e.id}", text))
        items = s.execute(
            select(OnboardingItem, Employee.user_id, User.language)
            .join(Employee, Employee.id == OnboardingItem.employee_id)
            .join(User, User.id == Employee.user_id)
            .where(
                OnboardingItem.done_at.is_(None),
                OnboardingItem.reminded_at.is_(None),
                OnboardingItem.course_id.is_(None),  # trainings are reminded as courses
                OnboardingItem.due_date <= today,
            )
            .limit(1000)
        ).all()
        for item, user_id, lang in items:
            lang = lang or "zh"
            title = item.title_zh if lang == "zh" else item.title_en
            text = catalog.t(lang, "emp_deadline_item", title=title, due=fmt_day(item.due_date, lang))
            item.reminded_at = now
            out.append((user_id, f"deadline:item:{item.id}", text))
    return out


def remind(
    sessions: sessionmaker[Session],
    *,
    catalog: Catalog,
    growth: GrowthContent,
    now: datetime,
    tz: Any,
    post: Callable[[str, str, int, dict[str, Any]], None],
) -> int:
    found = due(sessions, catalog=catalog, growth=growth, now=now, tz=tz)
    for user_id, key, text in found:
        post("deadline", key, 0, {"user_id": user_id, "text": text})
    return len(found)
