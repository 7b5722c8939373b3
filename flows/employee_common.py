"""What the employee commands share: their environment and the texts they are built from."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows import growth as g
from flows.employee import EmpCtx
from flows.growth_content import GrowthContent
from flows.texts import fmt_day
from storage import employees as store
from storage.files import FileStore
from storage.models import Employee

log = logging.getLogger("talentbot.employee")


@dataclass(frozen=True, slots=True)
class EmpEnv:
    growth: GrowthContent
    files: FileStore | None
    file_url: Callable[[str, str], str]
    hr_api: Any = None  # actions.hr_api.HrApi, or None when no HR-system API is configured
    portal_url: str | None = None  # where employees look up leave and payslips themselves


def sep(lang: str) -> str:
    return "、" if lang == "zh" else ", "


def course_title(c: g.Course, lang: str) -> str:
    return f"《{c.title.zh}》" if lang == "zh" else f"“{c.title.en}”"


def find_course(env: EmpEnv, text: str | None) -> tuple[g.Course | None, list[g.Course]]:
    """The course named in ``text`` (its title in either language, or a near miss); else suggestions."""
    if not text:
        return None, []
    t = text.strip().strip("《》“”\"'").casefold()
    courses = env.growth.courses.courses
    for c in courses:
        if t in (c.id, c.title.zh.casefold(), c.title.en.casefold()):
            return c, []
    partial = [c for c in courses if t and (t in c.title.zh.casefold() or t in c.title.en.casefold())]
    if len(partial) == 1:
        return partial[0], []
    names = {c.title.zh.casefold(): c for c in courses} | {c.title.en.casefold(): c for c in courses}
    near = difflib.get_close_matches(t, list(names), n=3, cutoff=0.5)
    hits = partial or [names[n] for n in near]
    if len(hits) == 1 and near and difflib.SequenceMatcher(None, t, near[0]).ratio() > 0.8:
        return hits[0], []
    return None, list(dict.fromkeys(hits))[:3]


def checklist_text(s: Session, emp: Employee, ctx: EmpCtx) -> tuple[str, list[dict[str, str]]]:
    items = store.checklist(s, emp.id)
    if not items:
        return ctx.t("emp_checklist_none"), []
    done = sum(1 for i in items if i.done_at is not None)
    today = ctx.now.astimezone(ctx.tz).date()
    lines = [ctx.t("emp_checklist_head", done=done, total=len(items))]
    choices = []
    for i in items:
        title = i.title_zh if ctx.lang == "zh" else i.title_en
        if i.done_at is not None:
            mark = "✓"
        elif i.due_date < today:
            mark = "⚠"
        else:
            mark = "○"
        lines.append(ctx.t("emp_checklist_line", mark=mark, title=title, due=fmt_day(i.due_date, ctx.lang)))
        if i.done_at is None and len(choices) < 3 and i.course_id is None:
            choices.append({"title": ctx.t("emp_btn_done", title=title[:20]), "payload": f"done:{i.item_id}"})
    return "\n".join(lines), choices


def weakest(s: Session, emp: Employee, ctx: EmpCtx) -> tuple[Mapping[str, float | None], str, int | None]:
    facts = store.facts(s, emp, ctx.now.astimezone(ctx.tz).date())
    # the latest annual review is fresher than the hiring interview; a new hire has only the interview
    return g.growth_scores(None if facts.reviews else (facts.interview or None), list(facts.reviews))


def audit_use(s: Session, emp: Employee, action: str, now: datetime) -> None:
    from storage.repo import audit

    audit(s, now=now, actor=f"user:{emp.user_id}", action=action, subject=f"employee:{emp.id}")


def position_name(env: EmpEnv, code: str, lang: str) -> str:
    p = env.growth.positions.get(code)
    return p.name(lang) if p else code
