"""The HR flow's commands, run with the ORM inside the message's transaction: scoped reads (each
audited), decisions (``storage.hr_actions``), generated feedback, offer letters and charts.

Results are JSON-able dicts; ``events`` in a result are messages for candidates (posted through
their own chat after the commit, idempotent by key), ``sync`` items go to the HR system.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows import hr_analytics, hr_decide
from flows.context import Command
from flows.hr import HrCtx
from flows.hr_common import (
    HrEnv,
    app_in_scope,
    log,
    named_position,
    scope_of,
    store_file,
    title_of,
    unknown_position,
)
from storage import hr_actions as act
from storage import hr_queries as q
from storage.models import Application


def execute(s: Session, cmd: Command, *, ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    fn = _COMMANDS.get(cmd.name)
    if fn is None:
        raise ValueError(f"unknown HR command {cmd.name}")
    return fn(s, dict(cmd.args), ctx, env, now)


# ------------------------------------------------------------------ helpers


def resolve(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    hits = q.find(
        s, scope_of(ctx), ids=[int(i) for i in a.get("ids") or []], names=list(a.get("names") or [])
    )
    return {
        "hits": [
            {
                "id": h.id,
                "name": h.name,
                "position": h.position_code,
                "title": dict(h.title),
                "stage": h.stage,
            }
            for h in hits
        ]
    }


def status_dict(st: q.Status, env: HrEnv, lang: str, now: datetime) -> dict[str, Any]:
    required = env.documents.required_for(st.position_code)
    docs = [{"kind": k.id, "title": k.name(lang), "have": k.id in st.documents} for k in required]
    overdue = None
    unanswered = st.interview is None or st.interview.status != "completed"
    if (
        st.booking_at is not None
        and st.stage in ("booked", "interviewing")
        and st.round == 1
        and st.booking_at + q.MISSED_GRACE < now
        and unanswered
    ):
        overdue = "missed_interview"
    iv = st.interview
    return {
        "id": st.id,
        "name": st.name,
        "position": st.position_code,
        "title": dict(st.title),
        "stage": st.stage,
        "priority": st.priority,
        "round": st.round,
        "booking_at": st.booking_at.isoformat() if st.booking_at else None,
        "interview": None
        if iv is None
        else {
            "status": iv.status,
            "turn": iv.turn,
            "max_questions": iv.max_questions,
            "overall": iv.overall,
            "scores": dict(iv.scores),
        },
        "score_override": st.score_override,
        "effective": st.effective,
        "threshold": st.threshold,
        "evidence": [list(x) for x in st.evidence],
        "documents": {
            "required": docs,
            "complete": all(d["have"] for d in docs),
            "due_at": None,
        },
        "review_requested": st.review_requested_at is not None,
        "needs_human": st.needs_human,
        "late_answers": st.late_answers,
        "overdue": overdue,
        "offer": list(st.offer) if st.offer else None,
    }


def status(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    st = q.status(s, scope_of(ctx), int(a["id"]))
    if st is None:
        return {"status": "missing"}
    act.audit_read(s, user_id=ctx.user_id, what="status", ids=[st.id], now=now)
    d = status_dict(st, env, ctx.lang, now)
    app = s.get(Application, st.id)
    from storage.models import Employee, OnboardingItem

    emp = s.scalar(select(Employee).where(Employee.application_id == st.id))
    if emp is not None:  # hired: HR follows the onboarding
        items = list(s.scalars(select(OnboardingItem).where(OnboardingItem.employee_id == emp.id)))
        today = now.astimezone(ctx.tz).date()
        d["onboarding"] = {
            "start": emp.start_date.isoformat(),
            "done": sum(1 for i in items if i.done_at is not None),
            "total": len(items),
            "late": sum(1 for i in items if i.done_at is None and i.due_date < today),
            "form": emp.profile_confirmed_at is not None,
            "mentor": s.get(Employee, emp.mentor_id).name if emp.mentor_id else None,
        }
    if app is not None and app.documents_due_at is not None:
        d["documents"]["due_at"] = app.documents_due_at.isoformat()
        if not d["documents"]["complete"] and app.documents_due_at < now and d["overdue"] is None:
            d["overdue"] = "documents_missing"
    return {"status": "ok", "s": d}


def listing(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    pos, every = named_position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return unknown_position(a["position"], every, ctx)
    where = f"{title_of(pos, ctx.lang)} " if pos else ""
    states = [x for x in a.get("states") or [] if x in q.STATES]
    scope = scope_of(ctx)
    ids = [pos.id] if pos else []
    if not states:
        summary: dict[str, int] = {}
        for state in ("pending", "completed", "shortlisted", "overdue", "priority", "review"):
            _, n = (
                q.list_by_state(s, scope, state=state, position_ids=ids, now=now, limit=0)
                if state != "overdue"
                else (
                    None,
                    len(q.overdue(s, scope, position_ids=ids, now=now, required=env.documents.required)),
                )
            )
            summary[state] = n
        act.audit_read(s, user_id=ctx.user_id, what="summary", ids=[], now=now)
        return {"summary": summary, "where": where}
    state = states[0]
    if state == "overdue":
        every_row = q.overdue(s, scope, position_ids=ids, now=now, required=env.documents.required)
        rows, total = every_row[: q.LIST_LIMIT], len(every_row)
    else:
        rows, total = q.list_by_state(s, scope, state=state, position_ids=ids, now=now)
    act.audit_read(s, user_id=ctx.user_id, what=f"list.{state}", ids=[r.id for r in rows], now=now)
    return {
        "state": state,
        "where": where,
        "total": total,
        "items": [
            {
                "id": r.id,
                "name": r.name,
                "position": r.position_code,
                "stage": r.stage,
                "priority": r.priority,
                "score": r.score,
                "why": r.why,
            }
            for r in rows
        ],
    }


def overdue(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    pos, every = named_position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return unknown_position(a["position"], every, ctx)
    rows = q.overdue(
        s, scope_of(ctx), position_ids=[pos.id] if pos else [], now=now, required=env.documents.required
    )
    act.audit_read(s, user_id=ctx.user_id, what="list.overdue", ids=[r.id for r in rows], now=now)
    return {"items": [{"id": r.id, "name": r.name, "why": r.why} for r in rows]}


def report(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = app_in_scope(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    from actions.interview_report import load_report
    from scoring.report import radar_png

    assert env.bank is not None
    loaded = load_report(s, app.id, language=ctx.lang, bank=env.bank, now=now)
    if loaded is None:
        return {"status": "no_report", "name": app.candidate_name}
    act.audit_read(s, user_id=ctx.user_id, what="report", ids=[app.id], now=now)
    files = []
    try:
        png = radar_png(loaded.report.scores, language=ctx.lang)
        files.append(store_file(env, png, f"radar-{app.id}.png", "image/png"))
    except Exception as exc:  # the link still works without the chart (e.g. no Chinese font)
        log.warning("radar for application %s failed: %s", app.id, exc)
    return {"status": "ok", "name": app.candidate_name, "url": env.report_url(app.id), "files": files}


# ------------------------------------------------------------------ decisions


_COMMANDS: dict[str, Callable[[Session, dict[str, Any], HrCtx, HrEnv, datetime], dict[str, Any]]] = {
    "hr_resolve": resolve,
    "hr_status": status,
    "hr_list": listing,
    "hr_overdue": overdue,
    "hr_remind": hr_decide.remind,
    "hr_priority": hr_decide.priority,
    "hr_next_round": hr_decide.next_round,
    "hr_feedback": hr_decide.feedback,
    "hr_reject": hr_decide.reject,
    "hr_offer_draft": hr_decide.offer_draft,
    "hr_offer_send": hr_decide.offer_send,
    "hr_report": report,
    "hr_override": hr_decide.override,
    "hr_hired": hr_decide.hired,
    "hr_training": hr_decide.training_decision,
    "hr_funnel": hr_analytics.funnel,
    "hr_bias": hr_analytics.bias_audit,
}
COMMANDS = frozenset(_COMMANDS)
