"""Promotion requirements, eligible positions, growth, the mentor, training requests, leave and
payslips — the employee's own, always."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows import growth as g
from flows.employee import EmpCtx
from flows.employee_common import (
    EmpEnv,
    audit_use,
    log,
    position_name,
    sep,
)
from scoring.questions import INDICATOR_NAMES
from storage import employees as store
from storage.models import Employee

# ------------------------------------------------------------------ promotion and growth


def _gap_text(gap: g.PromotionGap, ctx: EmpCtx, env: EmpEnv) -> str:
    lang = ctx.lang
    to = gap.step.to_position.name(lang)
    lines = [ctx.t("emp_promo_head", position=to, n=len(gap.criteria), met=len(gap.criteria) - gap.n_missing)]
    for c in gap.criteria:
        lines.append(("✓ " if c.met else "✗ ") + c.text(lang))
    lines.append(ctx.t("emp_promo_ready") if gap.met else ctx.t("emp_promo_missing", n=gap.n_missing))
    return "\n".join(lines)


def promotion(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    facts = store.facts(s, emp, now.astimezone(ctx.tz).date())
    positions = list(env.growth.positions.values())
    target: g.Position | None = None
    if a.get("code"):
        target = env.growth.positions.get(str(a["code"]))
    elif a.get("position"):
        target = g.find_position(str(a["position"]), positions)
        if target is None:
            near = g.nearest_positions(str(a["position"]), positions, ctx.lang)
            if near:
                codes = [p.code for p in positions if p.name(ctx.lang) in near][:3]
                return {
                    "text": ctx.t("emp_promo_no_such", named=a["position"], near=sep(ctx.lang).join(near)),
                    "choices": [
                        {"title": position_name(env, c, ctx.lang), "payload": f"promo:{c}"} for c in codes
                    ],
                }
            return {"text": ctx.t("emp_promo_no_such_at_all", named=a["position"])}
    steps = env.growth.steps_from(emp.position_code)
    if target is None:
        if not steps:
            return {"text": ctx.t("emp_promo_top", position=position_name(env, emp.position_code, ctx.lang))}
        if len(steps) > 1:
            return {
                "text": ctx.t("emp_promo_which", position=position_name(env, emp.position_code, ctx.lang)),
                "choices": [
                    {"title": st.to_position.name(ctx.lang), "payload": f"promo:{st.to_position.code}"}
                    for st in steps
                ],
            }
        target = steps[0].to_position
    if target.code == emp.position_code:
        return {"text": ctx.t("emp_promo_same", position=target.name(ctx.lang))}
    step = env.growth.step(emp.position_code, target.code)
    if step is None:
        # not the next step from here: find the step into the target anywhere, and say so
        into = [st for lad in env.growth.ladders for st in lad.steps if st.to_position.code == target.code]
        if not into:
            return {"text": ctx.t("emp_promo_entry", position=target.name(ctx.lang))}
        step = into[0]
        gap = g.promotion_gap(facts, step)
        head = ctx.t(
            "emp_promo_not_next", position=target.name(ctx.lang), via=step.from_position.name(ctx.lang)
        )
        return {"text": head + "\n" + _gap_text(gap, ctx, env)}
    return {"text": _gap_text(g.promotion_gap(facts, step), ctx, env)}


def eligible(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    facts = store.facts(s, emp, now.astimezone(ctx.tz).date())
    found = g.eligible_positions(facts, env.growth.ladders)
    if not found:
        steps = env.growth.steps_from(emp.position_code)
        if not steps:
            return {"text": ctx.t("emp_promo_top", position=position_name(env, emp.position_code, ctx.lang))}
        return {
            "text": ctx.t("emp_eligible_none"),
            "choices": [
                {"title": st.to_position.name(ctx.lang), "payload": f"promo:{st.to_position.code}"}
                for st in steps
            ],
        }
    lines = [ctx.t("emp_eligible_head")]
    for x in found:
        missing = sep(ctx.lang).join(c.text(ctx.lang) for c in x.gap.missing)
        key = "emp_eligible_ready" if x.gap.met else "emp_eligible_nearly"
        lines.append(ctx.t(key, position=x.gap.step.to_position.name(ctx.lang), missing=missing))
    choices = [
        {"title": x.gap.step.to_position.name(ctx.lang), "payload": f"promo:{x.gap.step.to_position.code}"}
        for x in found[:3]
    ]
    return {"text": "\n".join(lines), "choices": choices}


def growth(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    facts = store.facts(s, emp, now.astimezone(ctx.tz).date())
    series = g.growth_series(facts.interview or None, store.reviews(s, emp.id))
    if not any(r.interview is not None or r.review is not None for r in series.rows):
        return {"text": ctx.t("emp_growth_none")}
    both = any(r.interview is not None for r in series.rows) and series.latest_year is not None
    if both:
        lines = [ctx.t("emp_growth_head", year=series.latest_year)]
    elif series.latest_year is not None:
        lines = [ctx.t("emp_growth_head_review", year=series.latest_year)]
    else:
        lines = [ctx.t("emp_growth_head_interview")]
    for r in series.rows:
        if r.interview is None and r.review is None:
            continue
        iv = "—" if r.interview is None else f"{r.interview:.0f}"
        rv = "—" if r.review is None else f"{r.review:.0f}"
        if not both:
            history = " → ".join(f"{v:.0f}" for _, v in r.history) or iv
            lines.append(ctx.t("emp_growth_single", name=r.name.get(ctx.lang), value=history))
            continue
        delta = ""
        if r.delta is not None:
            delta = f" ↑{r.delta:.0f}" if r.delta > 0 else f" ↓{-r.delta:.0f}" if r.delta < 0 else " ="
        lines.append(
            ctx.t("emp_growth_line", name=r.name.get(ctx.lang), interview=iv, review=rv, delta=delta)
        )
    if series.improved:
        lines.append(
            ctx.t(
                "emp_growth_improved",
                items=sep(ctx.lang).join(INDICATOR_NAMES[k].get(ctx.lang) for k in series.improved[:3]),
            )
        )
    files = []
    if env.files is not None:
        try:
            from actions.growth_chart import render_growth_png

            stored = env.files.put(render_growth_png(series, ctx.lang))
            files.append(
                {"name": "growth.png", "mime": "image/png", "url": env.file_url(stored.sha256, "growth.png")}
            )
        except Exception as exc:  # the text is the answer; the chart is a courtesy
            log.warning("growth chart failed: %s", exc)
    return {
        "text": "\n".join(lines),
        "files": files,
        "choices": [{"title": ctx.t("emp_btn_recommend"), "payload": "recommend"}],
    }


# ------------------------------------------------------------------ mentor, training, HR system


def mentor(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    if emp.mentor_id is None:
        return {"text": ctx.t("emp_mentor_none")}
    m = s.get(Employee, emp.mentor_id)
    assert m is not None
    reason = (emp.mentor_reason or {}).get(ctx.lang) or ""
    return {
        "text": ctx.t(
            "emp_mentor", name=m.name, position=position_name(env, m.position_code, ctx.lang), reason=reason
        )
    }


def training(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    text = str(a.get("text") or "").strip()
    if len(text) < 4:
        return {"text": ctx.t("emp_training_what")}
    row = store.request_training(s, emp, text, now=now)
    effects = [
        {
            "kind": "training_request",
            "data": {
                "request_id": row.id,
                "employee_id": emp.id,
                "name": emp.name,
                "department": emp.department,
                "position": emp.position_code,
                "text": row.text,
            },
        }
    ]
    return {"text": ctx.t("emp_training_sent", id=row.id), "effects": effects}


def _not_configured(ctx: EmpCtx, env: EmpEnv, what: str) -> dict[str, Any]:
    where = env.portal_url or ctx.t("emp_portal_default")
    return {"text": ctx.t(f"emp_{what}_elsewhere", where=where)}


def leave(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    if env.hr_api is None or not emp.external_ref:
        return _not_configured(ctx, env, "leave")
    from actions.hr_api import LeaveBalance, format_leave

    got = env.hr_api.leave_balance(emp.external_ref)
    audit_use(s, emp, "hrapi.leave", now)
    if isinstance(got, LeaveBalance):
        return {"text": format_leave(got, ctx.lang)}
    return {"text": ctx.t("emp_hrapi_unavailable", where=env.portal_url or ctx.t("emp_portal_default"))}


def payslip(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    if env.hr_api is None or not emp.external_ref:
        return _not_configured(ctx, env, "payslip")
    from actions.hr_api import NotFound, Payslip, format_payslip

    today = now.astimezone(ctx.tz).date()
    if a.get("month"):
        year, month = (int(x) for x in a["month"])
    else:  # the latest paid month: last month
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    got = env.hr_api.payslip(emp.external_ref, year, month)
    audit_use(s, emp, "hrapi.payslip", now)
    if isinstance(got, Payslip):
        return {"text": format_payslip(got, ctx.lang)}
    if isinstance(got, NotFound):
        return {"text": ctx.t("emp_payslip_none", year=year, month=month)}
    return {"text": ctx.t("emp_hrapi_unavailable", where=env.portal_url or ctx.t("emp_portal_default"))}
