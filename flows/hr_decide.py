"""HR's decisions in chat: reminders, priority, the next round, rejection with feedback, offers,
overrides, hires, training requests — each through ``storage.hr_actions`` (decisions + audit)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.hr import HrCtx
from flows.hr_common import (
    CLOSED,
    HrEnv,
    app_in_scope,
    candidate,
    candidate_lang,
    conflict,
    event_for,
    ok,
    scope_of,
    store_file,
    sync_item,
    title_of,
)
from storage import hr_actions as act
from storage import hr_queries as q
from storage.models import Application, Offer, Position


def remind(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    reminded, skipped, events = [], [], []
    overdue_why = {
        r.id: r.why
        for r in q.overdue(s, scope_of(ctx), now=now, required=env.documents.required)
        if r.id in {int(i) for i in a.get("ids") or []}
    }
    for app_id in [int(i) for i in a.get("ids") or []][:200]:
        app = app_in_scope(s, ctx, app_id)
        if app is None:
            continue
        if app.user_id is None:
            skipped.append({"id": app.id, "name": app.candidate_name, "why": "not_linked"})
            continue
        if app.stage in q.CLOSED_STAGES:
            skipped.append({"id": app.id, "name": app.candidate_name, "why": "closed"})
            continue
        if not act.can_remind(s, app, now):
            skipped.append({"id": app.id, "name": app.candidate_name, "why": "too_soon"})
            continue
        why = overdue_why.get(app.id) or "general"
        act.record_reminder(s, app, why=why, user_id=ctx.user_id, now=now)
        reminded.append(app.id)
        events.append(event_for("hr_nudge", app, f"nudge:{app.id}:{now:%Y%m%d%H%M%S}", why=why))
    return {"reminded": reminded, "skipped": skipped, "events": events}


def priority(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = app_in_scope(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    r = act.mark_priority(s, app, on=bool(a.get("on", True)), user_id=ctx.user_id, now=now)
    return {"status": r.status, "name": app.candidate_name, "id": app.id}


def next_round(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    found = candidate(s, ctx, a["id"])
    if isinstance(found, dict):
        return found
    app, pos = found
    times = [datetime.fromisoformat(str(t)) for t in a.get("times") or []]
    times = [t if t.tzinfo else t.replace(tzinfo=ctx.tz) for t in times]
    r = act.invite_next_round(
        s,
        app,
        times=times,
        minutes=pos.interview_minutes,
        user_id=ctx.user_id,
        now=now,
        reason=a.get("reason"),
    )
    if r.status == "missing":
        return {"status": "bad_request", "why": "times", "params": {}}
    if r.status != "ok":
        return conflict(app)
    assert r.data is not None
    when = "、".join(t.astimezone(ctx.tz).strftime("%m-%d %H:%M") for t in sorted(times) if t > now)
    return ok(
        app,
        round=r.data["round"],
        when=when,
        events=[
            event_for("next_round", app, f"next_round:{app.id}:{r.data['round']}", round=r.data["round"])
        ],
        sync=[sync_item(app, pos)],
    )


def feedback(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    from flows.feedback import rejection_feedback

    found = candidate(s, ctx, a["id"], closed=CLOSED)
    if isinstance(found, dict):
        return found
    app, pos = found
    lang = candidate_lang(s, app)
    iv = act.latest_interview(s, app.id)
    scores = dict(iv.scores or {}) if iv is not None else {}
    fb = rejection_feedback(
        scores,
        lang=lang,
        name=app.candidate_name,
        position_title=title_of(pos, lang),
        bank_name=env.bank_info.get(f"name_{lang}", ""),
        contact=env.bank_info.get(f"hr_contact_{lang}", ""),
    )
    act.audit_read(s, user_id=ctx.user_id, what="feedback", ids=[app.id], now=now)
    return {"status": "ok", "name": app.candidate_name, "text": fb.text}


def reject(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    found = candidate(s, ctx, a["id"])
    if isinstance(found, dict):
        return found
    app, pos = found
    text = str(a.get("text") or "")[:3000]
    r = act.reject(s, app, feedback=text, user_id=ctx.user_id, now=now)
    if r.status != "ok":
        return conflict(app)
    return ok(
        app,
        events=[event_for("rejected", app, f"rejected:{app.id}", text=text)],
        sync=[sync_item(app, pos)],
    )


def _band(pos: Position) -> str:
    if pos.salary_min is None and pos.salary_max is None:
        return ""
    return f"{pos.salary_min or 0:,}–{pos.salary_max or 0:,}"


def offer_draft(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    from actions.offer_letter import advise_salary, preview_text

    found = candidate(s, ctx, a["id"], closed=CLOSED)
    if isinstance(found, dict):
        return found
    app, pos = found
    hr_salary = int(a["salary"]) if a.get("salary") else None
    advice = advise_salary(app.salary_expectation, pos.salary_min, pos.salary_max, hr_salary=hr_salary)
    if advice.proposed is None:
        return {"status": "missing_salary", "name": app.candidate_name, "band": _band(pos)}
    lang = candidate_lang(s, app)
    offer = act.draft_offer(
        s,
        app,
        salary=advice.proposed,
        grade=pos.grade,
        start_date=None,
        language=lang,
        file_format="pdf",
        user_id=ctx.user_id,
        now=now,
    )
    terms = _terms(app, pos, offer, env, now)
    notes = {"above_band": "above", "below_band": "below"}
    return {
        "status": "ok",
        "name": app.candidate_name,
        "offer_id": offer.id,
        "preview": preview_text(terms),
        "advice": notes.get(advice.status, "from_expectation" if hr_salary is None else ""),
        "band": _band(pos),
    }


def _terms(app: Application, pos: Position, offer: Offer, env: HrEnv, now: datetime) -> Any:
    from actions.offer_letter import OfferTerms

    lang = offer.language
    return OfferTerms(
        candidate_name=app.candidate_name,
        position_title=title_of(pos, lang),
        department=pos.department,
        grade=offer.grade,
        salary=offer.salary,
        start_date=date.fromisoformat(offer.start_date) if offer.start_date else None,
        reply_by=(now + timedelta(days=7)).date(),
        bank_name=env.bank_info.get(f"name_{lang}", ""),
        location=pos.location_zh if lang == "zh" else pos.location_en,
        hr_contact=env.bank_info.get(f"hr_contact_{lang}", ""),
        language=lang,
        reference=f"OFFER-{offer.created_at:%Y}-{offer.id:06d}",
    )


def offer_send(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = app_in_scope(s, ctx, a["id"])
    offer = s.get(Offer, int(a["offer_id"]))
    if app is None or offer is None or offer.application_id != app.id:
        return {"status": "missing"}
    from actions.offer_letter import render

    pos = s.get(Position, app.position_id)
    assert pos is not None
    fmt = "docx" if a.get("fmt") == "docx" else "pdf"
    offer.file_format = fmt
    data, mime, name = render(_terms(app, pos, offer, env, now), fmt)
    f = store_file(env, data, name, mime)
    r = act.send_offer(s, app, offer, sha256=f["sha256"], user_id=ctx.user_id, now=now)
    if r.status != "ok":
        return conflict(app)
    return ok(
        app,
        fmt=fmt.upper(),
        events=[
            event_for("offer_sent", app, f"offer:{offer.id}", file={k: f[k] for k in ("name", "mime", "url")})
        ],
        sync=[sync_item(app, pos, "offer_sent", salary=offer.salary, grade=offer.grade, offer_id=offer.id)],
    )


def override(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    found = candidate(s, ctx, a["id"])
    if isinstance(found, dict):
        return found
    app, pos = found
    reason = str(a.get("reason") or "").strip()[:500]
    if a.get("score") is not None:
        score = float(a["score"])
        if not 0 <= score <= 100:
            return {"status": "bad_request", "why": "score", "params": {}}
        r = act.override_score(s, app, score=score, reason=reason, user_id=ctx.user_id, now=now)
        if r.status != "ok":
            return {"status": "no_interview", "name": app.candidate_name}
        assert r.data is not None
        return {
            "status": "ok",
            "name": app.candidate_name,
            "id": app.id,
            "original": "—" if r.data["original"] is None else f"{r.data['original']:.1f}",
            "new": f"{score:.1f}",
            "stage": app.stage,
            "sync": [sync_item(app, pos, "score_overridden", original=r.data["original"], new=score)],
        }
    decision = str(a.get("decision") or "")
    if decision not in ("next_round", "reject", "hold"):
        return {"status": "bad_request", "why": "decision", "params": {}}
    before = app.stage
    act.decide(
        s,
        app,
        kind="override_decision",
        actor=f"user:{ctx.user_id}",
        now=now,
        reason=reason,
        data={"original_stage": before, "decision": decision},
    )
    if decision == "hold" and app.stage == "shortlisted":
        act.set_stage(app, "interviewed", now)
    elif decision == "next_round" and app.stage in ("interviewed", "rejected"):
        act.set_stage(app, "shortlisted", now)
    elif decision == "reject":
        return {"status": "use_reject", "name": app.candidate_name}

    def named(stage: str) -> str:
        key = f"hr_stage_{stage}"
        return ctx.t(key) if key in ctx.catalog.messages else stage

    return ok(
        app,
        original=named(before),
        new=ctx.t(f"hr_decision_{decision}"),
        stage=app.stage,
        sync=[sync_item(app, pos)] if before != app.stage else [],
    )


def hired(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    found = candidate(s, ctx, a["id"])
    if isinstance(found, dict):
        return found
    app, pos = found
    r = act.mark_hired(s, app, user_id=ctx.user_id, now=now)
    if r.status == "conflict":
        return conflict(app)
    out: dict[str, Any] = {
        "status": r.status,
        "name": app.candidate_name,
        "id": app.id,
        "start": "—",
        "mentor": "—",
    }
    if r.status == "ok":
        out["events"] = [event_for("hired", app, f"hired:{app.id}")]
        out["sync"] = [sync_item(app, pos)]
        if env.growth is not None:
            from storage import employees

            hired = employees.hire(
                s, app, content=env.growth, now=now, tz=ctx.tz, actor=f"user:{ctx.user_id}"
            )
            emp = hired.employee
            out["start"] = emp.start_date.isoformat()
            out["mentor"] = hired.mentor.name if hired.mentor is not None else "—"
            if hired.mentor is not None:
                out["events"].append(
                    {
                        "kind": "mentee_assigned",
                        "application_id": app.id,
                        "key": f"mentee:{emp.id}",
                        "data": {
                            "user_id": hired.mentor.user_id,
                            "name": emp.name,
                            "position": title_of(pos, "zh"),
                            "start": emp.start_date.isoformat(),
                        },
                    }
                )
    return out


def training_decision(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    """HR approves or declines an employee's training request (buttons on the notice)."""
    from storage import employees
    from storage.models import Employee, TrainingRequest

    req = s.get(TrainingRequest, int(a["id"]))
    emp = s.get(Employee, req.employee_id) if req is not None else None
    if req is None or emp is None:
        return {"status": "missing"}
    codes = [p.code for p in s.scalars(select(Position).where(Position.department == emp.department))]
    if ctx.user_id not in {u.id for u in employees.department_hr(s, emp.department, codes)}:
        return {"status": "missing"}  # not this HR user's department
    status, _ = employees.decide_training(
        s, req.id, approve=bool(a.get("approve")), user_id=ctx.user_id, now=now
    )
    if status != "ok":
        return {"status": "conflict", "name": emp.name, "stage": req.status}
    event = {
        "kind": "training_decided",
        "application_id": emp.application_id or 0,
        "key": f"training:{req.id}",
        "data": {"user_id": emp.user_id, "approved": req.status == "approved", "text": req.text[:200]},
    }
    key = "hr_training_approved" if req.status == "approved" else "hr_training_declined"
    return {"status": "ok", "name": emp.name, "done": key, "events": [event]}


# ------------------------------------------------------------------ analytics
