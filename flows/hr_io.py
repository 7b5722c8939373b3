"""The HR flow's commands, run with the ORM inside the message's transaction: scoped reads (each
audited), decisions (``storage.hr_actions``), generated feedback, offer letters and charts.

Results are JSON-able dicts; ``events`` in a result are messages for candidates (posted through
their own chat after the commit, idempotent by key), ``sync`` items go to the HR system.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.context import Command
from flows.documents import DocumentRules
from flows.hr import HrCtx
from scoring.questions import Bank
from storage import hr_actions as act
from storage import hr_queries as q
from storage.files import FileStore
from storage.models import Application, Offer, Position, User

log = logging.getLogger("talentbot.hr")


@dataclass(frozen=True, slots=True)
class HrEnv:
    """What the HR commands need besides the session."""

    files: FileStore | None
    documents: DocumentRules
    bank: Bank | None
    bank_info: Mapping[str, Any]  # content/positions.yml "bank": name_zh/en, hr_contact_zh/en
    file_url: Callable[[str, str], str]  # (sha256, file name) -> a capability URL
    report_url: Callable[[int], str]  # application id -> the HR report page
    growth: Any = None  # flows.growth_content.GrowthContent: onboarding templates, mentors (hiring)


def _scope(ctx: HrCtx) -> q.Scope:
    return q.Scope(ctx.user_id, tuple(ctx.scope))


def execute(s: Session, cmd: Command, *, ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    fn = _COMMANDS.get(cmd.name)
    if fn is None:
        raise ValueError(f"unknown HR command {cmd.name}")
    return fn(s, dict(cmd.args), ctx, env, now)


# ------------------------------------------------------------------ helpers


def _app(s: Session, ctx: HrCtx, app_id: int) -> Application | None:
    """The application when it is in the HR user's scope (else None: same as nonexistent)."""
    row = s.execute(
        select(Application).join(Position).where(Application.id == int(app_id), _scope(ctx).clause())
    ).scalar_one_or_none()
    if row is None:
        log.info("HR user %s asked for application %s: not in scope or missing", ctx.user_id, app_id)
    return row


def _title(pos: Position, lang: str) -> str:
    return pos.title_zh if lang == "zh" else pos.title_en


def _candidate_lang(s: Session, app: Application) -> str:
    user = s.get(User, app.user_id) if app.user_id is not None else None
    return (user.language if user is not None else None) or "zh"


def _event(kind: str, app: Application, key: str, **data: Any) -> dict[str, Any]:
    return {"kind": kind, "application_id": app.id, "key": key, "data": data}


def _sync(app: Application, pos: Position, event: str = "stage_changed", **facts: Any) -> dict[str, Any]:
    return {"event": event, "application_id": app.id, "position": pos.code, "stage": app.stage, **facts}


def _position(s: Session, ctx: HrCtx, text: str | None) -> tuple[Position | None, list[Position]]:
    """The position HR named ("柜员", "TELLER", "Relationship Manager"), among those in scope."""
    every = q.positions_in_scope(s, _scope(ctx))
    if not text:
        return None, every
    t = text.strip().casefold()
    for p in every:
        if t in (p.code.casefold(), p.title_zh.casefold(), p.title_en.casefold()):
            return p, every
    partial = [
        p for p in every if t in p.title_zh.casefold() or t in p.title_en.casefold() or t in p.department
    ]
    if len(partial) == 1:
        return partial[0], every
    return None, every


def _period(value: Any) -> tuple[date | None, date | None]:
    if not value:
        return None, None
    a, b = value
    return date.fromisoformat(str(a)[:10]), date.fromisoformat(str(b)[:10])


def _bounds(since: date | None, until: date | None, ctx: HrCtx) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(since, time(), ctx.tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), ctx.tz) if until else None
    return start, end


def _unknown_position(named: str, every: Sequence[Position], ctx: HrCtx) -> dict[str, Any]:
    params = {"position": named, "known": _known(every, ctx.lang)}
    return {"status": "bad_request", "why": "position", "params": params}


def _known(every: Sequence[Position], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(f"{_title(p, lang)} ({p.code})" for p in every)


def _store(env: HrEnv, data: bytes, name: str, mime: str) -> dict[str, str]:
    assert env.files is not None, "HR files need the file store"
    stored = env.files.put(data)
    return {"name": name, "mime": mime, "url": env.file_url(stored.sha256, name), "sha256": stored.sha256}


# ------------------------------------------------------------------ reads


def resolve(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    hits = q.find(s, _scope(ctx), ids=[int(i) for i in a.get("ids") or []], names=list(a.get("names") or []))
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
    st = q.status(s, _scope(ctx), int(a["id"]))
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
    pos, every = _position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return {
            "status": "bad_request",
            "why": "position",
            "params": {"position": a["position"], "known": _known(every, ctx.lang)},
        }
    where = f"{_title(pos, ctx.lang)} " if pos else ""
    states = [x for x in a.get("states") or [] if x in q.STATES]
    scope = _scope(ctx)
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
    pos, every = _position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return {
            "status": "bad_request",
            "why": "position",
            "params": {"position": a["position"], "known": _known(every, ctx.lang)},
        }
    rows = q.overdue(
        s, _scope(ctx), position_ids=[pos.id] if pos else [], now=now, required=env.documents.required
    )
    act.audit_read(s, user_id=ctx.user_id, what="list.overdue", ids=[r.id for r in rows], now=now)
    return {"items": [{"id": r.id, "name": r.name, "why": r.why} for r in rows]}


def report(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
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
        files.append(_store(env, png, f"radar-{app.id}.png", "image/png"))
    except Exception as exc:  # the link still works without the chart (e.g. no Chinese font)
        log.warning("radar for application %s failed: %s", app.id, exc)
    return {"status": "ok", "name": app.candidate_name, "url": env.report_url(app.id), "files": files}


# ------------------------------------------------------------------ decisions


def remind(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    reminded, skipped, events = [], [], []
    overdue_why = {
        r.id: r.why
        for r in q.overdue(s, _scope(ctx), now=now, required=env.documents.required)
        if r.id in {int(i) for i in a.get("ids") or []}
    }
    for app_id in [int(i) for i in a.get("ids") or []][:200]:
        app = _app(s, ctx, app_id)
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
        events.append(_event("hr_nudge", app, f"nudge:{app.id}:{now:%Y%m%d%H%M%S}", why=why))
    return {"reminded": reminded, "skipped": skipped, "events": events}


def priority(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    r = act.mark_priority(s, app, on=bool(a.get("on", True)), user_id=ctx.user_id, now=now)
    return {"status": r.status, "name": app.candidate_name, "id": app.id}


def next_round(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    pos = s.get(Position, app.position_id)
    assert pos is not None
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
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    assert r.data is not None
    when = "、".join(t.astimezone(ctx.tz).strftime("%m-%d %H:%M") for t in sorted(times) if t > now)
    return {
        "status": "ok",
        "name": app.candidate_name,
        "id": app.id,
        "round": r.data["round"],
        "when": when,
        "events": [
            _event("next_round", app, f"next_round:{app.id}:{r.data['round']}", round=r.data["round"])
        ],
        "sync": [_sync(app, pos)],
    }


def feedback(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    if app.stage in ("rejected", "hired", "withdrawn"):
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    from flows.feedback import rejection_feedback

    pos = s.get(Position, app.position_id)
    assert pos is not None
    lang = _candidate_lang(s, app)
    iv = act.latest_interview(s, app.id)
    scores = dict(iv.scores or {}) if iv is not None else {}
    fb = rejection_feedback(
        scores,
        lang=lang,
        name=app.candidate_name,
        position_title=_title(pos, lang),
        bank_name=env.bank_info.get(f"name_{lang}", ""),
        contact=env.bank_info.get(f"hr_contact_{lang}", ""),
    )
    act.audit_read(s, user_id=ctx.user_id, what="feedback", ids=[app.id], now=now)
    return {"status": "ok", "name": app.candidate_name, "text": fb.text}


def reject(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    pos = s.get(Position, app.position_id)
    assert pos is not None
    text = str(a.get("text") or "")[:3000]
    r = act.reject(s, app, feedback=text, user_id=ctx.user_id, now=now)
    if r.status != "ok":
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    return {
        "status": "ok",
        "name": app.candidate_name,
        "id": app.id,
        "events": [_event("rejected", app, f"rejected:{app.id}", text=text)],
        "sync": [_sync(app, pos)],
    }


def _band(pos: Position) -> str:
    if pos.salary_min is None and pos.salary_max is None:
        return ""
    return f"{pos.salary_min or 0:,}–{pos.salary_max or 0:,}"


def offer_draft(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    if app.stage in ("rejected", "hired", "withdrawn"):
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    from actions.offer_letter import advise_salary, preview_text

    pos = s.get(Position, app.position_id)
    assert pos is not None
    hr_salary = int(a["salary"]) if a.get("salary") else None
    advice = advise_salary(app.salary_expectation, pos.salary_min, pos.salary_max, hr_salary=hr_salary)
    if advice.proposed is None:
        return {"status": "missing_salary", "name": app.candidate_name, "band": _band(pos)}
    lang = _candidate_lang(s, app)
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
        position_title=_title(pos, lang),
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
    app = _app(s, ctx, a["id"])
    offer = s.get(Offer, int(a["offer_id"]))
    if app is None or offer is None or offer.application_id != app.id:
        return {"status": "missing"}
    from actions.offer_letter import render

    pos = s.get(Position, app.position_id)
    assert pos is not None
    fmt = "docx" if a.get("fmt") == "docx" else "pdf"
    offer.file_format = fmt
    data, mime, name = render(_terms(app, pos, offer, env, now), fmt)
    f = _store(env, data, name, mime)
    r = act.send_offer(s, app, offer, sha256=f["sha256"], user_id=ctx.user_id, now=now)
    if r.status != "ok":
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    return {
        "status": "ok",
        "name": app.candidate_name,
        "id": app.id,
        "fmt": fmt.upper(),
        "events": [
            _event("offer_sent", app, f"offer:{offer.id}", file={k: f[k] for k in ("name", "mime", "url")})
        ],
        "sync": [_sync(app, pos, "offer_sent", salary=offer.salary, grade=offer.grade, offer_id=offer.id)],
    }


def override(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    pos = s.get(Position, app.position_id)
    assert pos is not None
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
            "sync": [_sync(app, pos, "score_overridden", original=r.data["original"], new=score)],
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

    return {
        "status": "ok",
        "name": app.candidate_name,
        "id": app.id,
        "original": named(before),
        "new": ctx.t(f"hr_decision_{decision}"),
        "stage": app.stage,
        "sync": [_sync(app, pos)] if before != app.stage else [],
    }


def hired(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    app = _app(s, ctx, a["id"])
    if app is None:
        return {"status": "missing"}
    pos = s.get(Position, app.position_id)
    assert pos is not None
    r = act.mark_hired(s, app, user_id=ctx.user_id, now=now)
    if r.status == "conflict":
        return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}
    out: dict[str, Any] = {
        "status": r.status,
        "name": app.candidate_name,
        "id": app.id,
        "start": "—",
        "mentor": "—",
    }
    if r.status == "ok":
        out["events"] = [_event("hired", app, f"hired:{app.id}")]
        out["sync"] = [_sync(app, pos)]
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
                            "position": _title(pos, "zh"),
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


def funnel(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    """The funnel of the position named, or of every position in scope when none is."""
    pos, every = _position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return _unknown_position(a["position"], every, ctx)
    chosen = [pos] if pos is not None else every
    if not chosen:
        return {"status": "no_position", "position": "", "known": ""}
    from actions import funnel as fn

    since, until = _period(a.get("period"))
    result = fn.funnel(s, positions=chosen, since=since, until=until, tz=ctx.tz)
    act.audit_read(s, user_id=ctx.user_id, what="funnel", ids=[], now=now)
    files = []
    try:
        name = f"funnel-{pos.code if pos else 'all'}.png"
        files.append(_store(env, fn.render_png(result, ctx.lang), name, "image/png"))
    except Exception as exc:  # the text is the answer; the chart is a courtesy
        log.warning("funnel chart failed: %s", exc)
    return {"status": "ok", "text": fn.render_text(result, ctx.lang), "files": files}


def bias_audit(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    pos, every = _position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return _unknown_position(a["position"], every, ctx)
    if pos is None and len(every) != 1:  # an audit is of one position: ask which
        return {"status": "no_position", "position": "", "known": _known(every, ctx.lang)}
    pos = pos or every[0]
    from actions import bias

    since, until = _period(a.get("period"))
    start, end = _bounds(since, until, ctx)
    rows = bias.load_rows(s, position_id=pos.id, start=start, end=end)
    result = bias.compute(rows, position=pos.code, since=since, until=until)
    full = bias.to_text(result, language=ctx.lang)
    # in chat: the summary and the flags; every table is in the attached CSV (and the chart)
    text = full.split("\n== ", 1)[0].rstrip() + "\n" + ctx.t("hr_bias_attached")
    files = [_store(env, bias.to_csv(result), f"bias-{pos.code}.csv", "text/csv")]
    try:
        files.append(_store(env, bias.to_png(result, language=ctx.lang), f"bias-{pos.code}.png", "image/png"))

    except Exception as exc:  # the text is the audit; the chart is a courtesy
        log.warning("bias chart failed: %s", exc)
    from storage.repo import audit

    audit(
        s,
        now=now,
        actor=f"user:{ctx.user_id}",
        action="bias_audit.run",
        subject=f"position:{pos.code}",
        details={"candidates": result.candidates, "since": str(since), "until": str(until), "via": "chat"},
    )
    return {"status": "ok", "text": text, "files": files}


_COMMANDS: dict[str, Callable[[Session, dict[str, Any], HrCtx, HrEnv, datetime], dict[str, Any]]] = {
    "hr_resolve": resolve,
    "hr_status": status,
    "hr_list": listing,
    "hr_overdue": overdue,
    "hr_remind": remind,
    "hr_priority": priority,
    "hr_next_round": next_round,
    "hr_feedback": feedback,
    "hr_reject": reject,
    "hr_offer_draft": offer_draft,
    "hr_offer_send": offer_send,
    "hr_report": report,
    "hr_override": override,
    "hr_hired": hired,
    "hr_training": training_decision,
    "hr_funnel": funnel,
    "hr_bias": bias_audit,
}
COMMANDS = frozenset(_COMMANDS)
