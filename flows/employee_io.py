"""The employee flow's commands, run in the message's transaction: the employee's own data only (the
row is found by the chat's user, never by anything the message says), the pure rules of
``flows.growth`` applied to it, the answer rendered in the person's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows import employee_career as career
from flows import employee_courses as courses
from flows.context import Command
from flows.employee import EmpCtx
from flows.employee_common import (
    EmpEnv,
    checklist_text,
)
from flows.texts import fmt_day
from storage import employees as store
from storage.models import Employee


def execute(s: Session, cmd: Command, *, ctx: EmpCtx, env: EmpEnv, now: datetime) -> dict[str, Any]:
    emp = store.by_user(s, ctx.user_id)
    if emp is None:
        return {"status": "not_employee"}
    fn = _COMMANDS.get(cmd.name)
    if fn is None:
        raise ValueError(f"unknown employee command {cmd.name}")
    return fn(s, emp, dict(cmd.args), ctx, env, now)


COMMANDS_PREFIX = "emp_"


# ------------------------------------------------------------------ onboarding


def home(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    pos = env.growth.positions.get(emp.position_code)
    title = pos.name(ctx.lang) if pos else emp.position_code
    welcome = ctx.t("emp_welcome", name=emp.name, position=title, start=fmt_day(emp.start_date, ctx.lang))
    mentor = None
    if emp.mentor_id is not None and emp.mentor_reason:
        mentor = str(emp.mentor_reason.get(ctx.lang) or emp.mentor_reason.get("zh"))
    text, _ = checklist_text(s, emp, ctx)
    return {
        "welcome": welcome,
        "mentor": mentor,
        "profile": dict(emp.profile or {}),
        "profile_confirmed": emp.profile_confirmed_at is not None,
        "checklist": text,
    }


def profile_set(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    field, value = str(a.get("field") or ""), str(a.get("value") or "")
    status = store.update_profile(s, emp, field, value, now=now)
    return {
        "status": status,
        "field": field,
        "value": value.strip()[:200],
        "profile": dict(emp.profile or {}),
    }


def profile_confirm(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    status = store.confirm_profile(s, emp, now=now)
    text, choices = checklist_text(s, emp, ctx)
    effects = []
    if status == "ok":
        effects.append(
            {
                "kind": "notify_hr",
                "data": {
                    "event": "onboarding_form_confirmed",
                    "employee_id": emp.id,
                    "candidate": emp.name,
                    "application_id": emp.application_id,
                },
            }
        )
    return {"status": status, "checklist": text, "choices": choices, "effects": effects}


def checklist(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    text, choices = checklist_text(s, emp, ctx)
    return {"text": text, "choices": choices}


def item_done(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    status = store.complete_item(s, emp, str(a.get("item")), now=now)
    text, choices = checklist_text(s, emp, ctx)
    head = ctx.t(f"emp_item_{status}")
    return {"text": f"{head}\n{text}", "choices": choices}


_COMMANDS: dict[
    str, Callable[[Session, Employee, dict[str, Any], EmpCtx, EmpEnv, datetime], dict[str, Any]]
] = {
    "emp_home": home,
    "emp_profile_set": profile_set,
    "emp_profile_confirm": profile_confirm,
    "emp_checklist": checklist,
    "emp_item_done": item_done,
    "emp_recommend": courses.recommend,
    "emp_enrol": courses.enrol,
    "emp_progress": courses.progress,
    "emp_courses": courses.courses,
    "emp_promotion": career.promotion,
    "emp_eligible": career.eligible,
    "emp_growth": career.growth,
    "emp_mentor": career.mentor,
    "emp_training": career.training,
    "emp_leave": career.leave,
    "emp_payslip": career.payslip,
}
COMMANDS = frozenset(_COMMANDS)
