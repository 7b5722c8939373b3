"""The employee flow's commands, run in the message's transaction: the employee's own data only (the
row is found by the chat's user, never by anything the message says), the pure rules of
``flows.growth`` applied to it, the answer rendered in the person's language."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows import growth as g
from flows.context import Command
from flows.employee import EmpCtx
from flows.growth_content import GrowthContent
from flows.texts import fmt_day
from scoring.questions import INDICATOR_NAMES
from storage import employees as store
from storage.files import FileStore
from storage.models import Employee, User

log = logging.getLogger("talentbot.employee")


@dataclass(frozen=True, slots=True)
class EmpEnv:
    growth: GrowthContent
    files: FileStore | None
    file_url: Callable[[str, str], str]
    hr_api: Any = None  # actions.hr_api.HrApi, or None when no HR-system API is configured
    portal_url: str | None = None  # where employees look up leave and payslips themselves


def execute(s: Session, cmd: Command, *, ctx: EmpCtx, env: EmpEnv, now: datetime) -> dict[str, Any]:
    emp = store.by_user(s, ctx.user_id)
    if emp is None:
        return {"status": "not_employee"}
    fn = _COMMANDS.get(cmd.name)
    if fn is None:
        raise ValueError(f"unknown employee command {cmd.name}")
    return fn(s, emp, dict(cmd.args), ctx, env, now)


COMMANDS_PREFIX = "emp_"


# ------------------------------------------------------------------ helpers


def _sep(lang: str) -> str:
    return "、" if lang == "zh" else ", "


def _course_title(c: g.Course, lang: str) -> str:
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


def _checklist_text(s: Session, emp: Employee, ctx: EmpCtx) -> tuple[str, list[dict[str, str]]]:
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


def _weak(s: Session, emp: Employee, ctx: EmpCtx) -> tuple[Mapping[str, float | None], str, int | None]:
    facts = store.facts(s, emp, ctx.now.astimezone(ctx.tz).date())
    # the latest annual review is fresher than the hiring interview; a new hire has only the interview
    return g.growth_scores(None if facts.reviews else (facts.interview or None), list(facts.reviews))


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
    text, _ = _checklist_text(s, emp, ctx)
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
    text, choices = _checklist_text(s, emp, ctx)
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
    text, choices = _checklist_text(s, emp, ctx)
    return {"text": text, "choices": choices}


def item_done(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    status = store.complete_item(s, emp, str(a.get("item")), now=now)
    text, choices = _checklist_text(s, emp, ctx)
    head = ctx.t(f"emp_item_{status}")
    return {"text": f"{head}\n{text}", "choices": choices}


# ------------------------------------------------------------------ courses


def recommend(
    s: Session, emp: Employee, a: dict[str, Any], ctx: EmpCtx, env: EmpEnv, now: datetime
) -> dict[str, Any]:
    weak, source, year = _weak(s, emp, ctx)
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
                title=_course_title(c, ctx.lang),
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
                    {"title": _course_title(c, ctx.lang), "payload": f"enrol:{c.id}"} for c in suggestions
                ],
            }
        return {
            "text": ctx.t("emp_course_unknown", named=a.get("course") or ""),
            "choices": [{"title": ctx.t("emp_btn_recommend"), "payload": "recommend"}],
        }
    status, row = store.enrol(s, emp, course, now=now, tz=ctx.tz)
    title = _course_title(course, ctx.lang)
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
    title = _course_title(course, ctx.lang)
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
            ctx.t("emp_courses_line", title=_course_title(c, ctx.lang), bar=bar, progress=e.progress, due=due)
        )
    if done:
        names = [_course_title(c, ctx.lang) for e in done if (c := env.growth.courses.get(e.course_id))]
        lines.append(
            ctx.t("emp_courses_done", items=_sep(ctx.lang).join(names[:8]) + ("…" if len(names) > 8 else ""))
        )
    return {"text": "\n".join(lines)}


# ------------------------------------------------------------------ promotion and growth


def _position_name(env: EmpEnv, code: str, lang: str) -> str:
    p = env.growth.positions.get(code)
    return p.name(lang) if p else code


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
                    "text": ctx.t("emp_promo_no_such", named=a["position"], near=_sep(ctx.lang).join(near)),
                    "choices": [
                        {"title": _position_name(env, c, ctx.lang), "payload": f"promo:{c}"} for c in codes
                    ],
                }
            return {"text": ctx.t("emp_promo_no_such_at_all", named=a["position"])}
    steps = env.growth.steps_from(emp.position_code)
    if target is None:
        if not steps:
            return {"text": ctx.t("emp_promo_top", position=_position_name(env, emp.position_code, ctx.lang))}
        if len(steps) > 1:
            return {
                "text": ctx.t("emp_promo_which", position=_position_name(env, emp.position_code, ctx.lang)),
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
            return {"text": ctx.t("emp_promo_top", position=_position_name(env, emp.position_code, ctx.lang))}
        return {
            "text": ctx.t("emp_eligible_none"),
            "choices": [
                {"title": st.to_position.name(ctx.lang), "payload": f"promo:{st.to_position.code}"}
                for st in steps
            ],
        }
    lines = [ctx.t("emp_eligible_head")]
    for x in found:
        missing = _sep(ctx.lang).join(c.text(ctx.lang) for c in x.gap.missing)
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
                items=_sep(ctx.lang).join(INDICATOR_NAMES[k].get(ctx.lang) for k in series.improved[:3]),
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
            "emp_mentor", name=m.name, position=_position_name(env, m.position_code, ctx.lang), reason=reason
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
    store_audit(s, emp, "hrapi.leave", now)
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
    store_audit(s, emp, "hrapi.payslip", now)
    if isinstance(got, Payslip):
        return {"text": format_payslip(got, ctx.lang)}
    if isinstance(got, NotFound):
        return {"text": ctx.t("emp_payslip_none", year=year, month=month)}
    return {"text": ctx.t("emp_hrapi_unavailable", where=env.portal_url or ctx.t("emp_portal_default"))}


def store_audit(s: Session, emp: Employee, action: str, now: datetime) -> None:
    from storage.repo import audit

    audit(s, now=now, actor=f"user:{emp.user_id}", action=action, subject=f"employee:{emp.id}")


def user_language(s: Session, user_id: int) -> str | None:
    u = s.get(User, user_id)
    return u.language if u else None


_COMMANDS: dict[
    str, Callable[[Session, Employee, dict[str, Any], EmpCtx, EmpEnv, datetime], dict[str, Any]]
] = {
    "emp_home": home,
    "emp_profile_set": profile_set,
    "emp_profile_confirm": profile_confirm,
    "emp_checklist": checklist,
    "emp_item_done": item_done,
    "emp_recommend": recommend,
    "emp_enrol": enrol,
    "emp_progress": progress,
    "emp_courses": courses,
    "emp_promotion": promotion,
    "emp_eligible": eligible,
    "emp_growth": growth,
    "emp_mentor": mentor,
    "emp_training": training,
    "emp_leave": leave,
    "emp_payslip": payslip,
}
COMMANDS = frozenset(_COMMANDS)
