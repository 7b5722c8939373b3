"""Courses for an employee: recommendations with reasons, enrolment, progress, the list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows import growth as g
from flows.employee import EmpCtx
from flows.employee_common import (
    EmpEnv,
    course_title,
    find_course,
    sep,
    weakest,
)
from flows.texts import fmt_day
from scoring.questions import INDICATOR_NAMES
from storage import employees as store
from storage.models import Employee

# ------------------------------------------------------------------ courses


def recommend(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    weak, source, year = weakest(s, emp, ctx)
    done, doing = store.course_ids(s, emp.id)
    indicator = a.get("indicator") if a.get("indicator") in INDICATOR_NAMES else None
    if not weak and indicator is None:
        return {"text": ctx.t("emp_recommend_ask")}
    recs = g.recommend_courses(
        weak,
        courses=env.growth.courses,
        completed=done,
        enrolled=doing,
        indicator=indicator,
        source=source,
        year=year,
    )
    if not recs:
        return {"text": ctx.t("emp_recommend_none")}
    lines = [ctx.t(str(a.get("intro") or "emp_recommend_head"))]
    for n, r in enumerate(recs, 1):
        c = r.course
        lines.append(
            ctx.t(
                "emp_recommend_line",
                n=n,
                title=course_title(c, ctx.lang),
                hours=f"{c.hours:g}",
                reason=r.reason(ctx.lang),
            )
        )
    choices = [
        {
            "title": ctx.t(
                "emp_btn_enrol", title=(c.course.title.zh if ctx.lang == "zh" else c.course.title.en)[:24]
            ),
            "payload": f"enrol:{c.course.id}",
        }
        for c in recs
    ]
    return {"text": "\n".join(lines), "choices": choices}


def enrol(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    course = env.growth.courses.get(str(a.get("course_id") or "")) if a.get("course_id") else None
    suggestions: list[g.Course] = []
    if course is None:
        course, suggestions = find_course(env, a.get("course"))
    if course is None:
        if suggestions:
            return {
                "text": ctx.t("emp_course_did_you_mean", named=a.get("course") or ""),
                "choices": [
                    {"title": course_title(c, ctx.lang), "payload": f"enrol:{c.id}"} for c in suggestions
                ],
            }
        return {
            "text": ctx.t("emp_course_unknown", named=a.get("course") or ""),
            "choices": [{"title": ctx.t("emp_btn_recommend"), "payload": "recommend"}],
        }
    status, row = store.enrol(s, emp, course, now=now, tz=ctx.tz)
    title = course_title(course, ctx.lang)
    if status == "ok":
        text = ctx.t(
            "emp_enrolled",
            title=title,
            chapters=course.chapters,
            hours=f"{course.hours:g}",
            deadline=fmt_day(row.deadline, ctx.lang) if row.deadline else "",
        )
    elif status == "already":
        text = ctx.t("emp_enrol_already", title=title, progress=row.progress)
    else:
        text = ctx.t("emp_enrol_completed", title=title)
    return {"text": text}


def _current_course(s: Session, emp: Employee, env: EmpEnv) -> g.Course | None:
    active = [e for e in store.enrolments(s, emp.id) if e.status != "completed"]
    if len(active) == 1:
        return env.growth.courses.get(active[0].course_id)
    return None


def progress(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    course, suggestions = find_course(env, a.get("course"))
    if course is None and not a.get("course"):
        course = _current_course(s, emp, env)
        if course is None:
            return {"text": ctx.t("emp_progress_which"), "choices": _course_buttons(s, emp, env, ctx)}
    if course is None:
        return {
            "text": ctx.t("emp_course_unknown", named=a.get("course") or ""),
            "choices": _course_buttons(s, emp, env, ctx),
        }
    percent = a.get("percent")
    status, row = store.report_progress(
        s,
        emp,
        course,
        now=now,
        chapter=int(a["chapter"]) if a.get("chapter") is not None else None,
        percent=int(percent) if percent is not None else None,
        completed=bool(a.get("completed")),
    )
    title = course_title(course, ctx.lang)
    if status == "not_enrolled":
        return {
            "text": ctx.t("emp_progress_not_enrolled", title=title),
            "choices": [{"title": ctx.t("emp_btn_enrol", title=title[:24]), "payload": f"enrol:{course.id}"}],
        }
    if status == "bad_percent":
        return {"text": ctx.t("emp_progress_bad_percent", percent=percent)}
    if status == "bad_chapter":
        return {
            "text": ctx.t(
                "emp_progress_bad_chapter", title=title, chapters=course.chapters, chapter=a.get("chapter")
            )
        }
    if status == "already_done":
        return {"text": ctx.t("emp_progress_already_done", title=title)}
    assert row is not None
    if status == "done":
        effects = [
            {
                "kind": "notify_hr",
                "data": {
                    "event": "course_completed",
                    "employee_id": emp.id,
                    "candidate": emp.name,
                    "application_id": emp.application_id,
                    "problem": course.title.zh,
                },
            }
        ]
        return {"text": ctx.t("emp_progress_done", title=title), "effects": effects}
    return {
        "text": ctx.t(
            "emp_progress_saved",
            title=title,
            progress=row.progress,
            done=row.chapters_done,
            chapters=course.chapters,
        )
    }


def _course_buttons(s: Session, emp: Employee, env: EmpEnv, ctx: EmpCtx) -> list[dict[str, str]]:
    out = []
    for e in store.enrolments(s, emp.id):
        c = env.growth.courses.get(e.course_id)
        if c is not None and e.status != "completed":
            out.append({"title": (c.title.zh if ctx.lang == "zh" else c.title.en)[:24], "payload": "courses"})
    return out[:3]


def courses(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    rows = store.enrolments(s, emp.id)
    active = [e for e in rows if e.status != "completed"]
    done = [e for e in rows if e.status == "completed"]
    if not rows:
        return {
            "text": ctx.t("emp_courses_none"),
            "choices": [{"title": ctx.t("emp_btn_recommend"), "payload": "recommend"}],
        }
    lines = [ctx.t("emp_courses_head", active=len(active), done=len(done))]
    for e in active:
        c = env.growth.courses.get(e.course_id)
        if c is None:
            continue
        bar = "▓" * (e.progress // 10) + "░" * (10 - e.progress // 10)
        due = fmt_day(e.deadline, ctx.lang) if e.deadline else "—"
        lines.append(
            ctx.t("emp_courses_line", title=course_title(c, ctx.lang), bar=bar, progress=e.progress, due=due)
        )
    if done:
        names = [course_title(c, ctx.lang) for e in done if (c := env.growth.courses.get(e.course_id))]
        lines.append(
            ctx.t("emp_courses_done", items=sep(ctx.lang).join(names[:8]) + ("…" if len(names) > 8 else ""))
        )
    return {"text": "\n".join(lines)}
