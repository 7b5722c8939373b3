"""The bot after the offer, as one pure state machine: onboarding (the form prefilled from the
application, confirmed or corrected field by field; the checklist; the mentor), courses, promotion
requirements, growth, training requests, leave and payslips. Reads and writes are ``Command``s run
by ``flows/employee_io.py`` in the message's transaction; it returns rendered text for the flow to
arrange.

Steps (``State.step``):
  ""           nothing pending
  form         confirming the onboarding form: ``data.i`` is the field shown (buttons ok / edit)
  form_edit    waiting for the new value of ``data.field``
Every step keeps ``data.choices`` (the payloads of the buttons last shown), so "2" means the second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows.context import Command, Done, Event, Said, State, StepResult
from flows.texts import Catalog
from flows.values import Choice, Effect, FileRef, Reply

FORM_FIELDS = ("name", "school", "major", "degree", "experience")
SIMPLE = {
    "onboarding_status": "emp_checklist",
    "ask_course_progress": "emp_courses",
    "ask_eligible_positions": "emp_eligible",
    "ask_my_growth": "emp_growth",
    "ask_mentor": "emp_mentor",
    "ask_leave_balance": "emp_leave",
}


@dataclass(frozen=True, slots=True)
class EmpCtx:
    now: datetime
    tz: ZoneInfo
    lang: str
    catalog: Catalog
    user_id: int
    name: str

    def t(self, key: str, **kw: Any) -> str:
        return self.catalog.t(self.lang, key, **kw)


def _result(
    step: str,
    replies: Sequence[Reply],
    *,
    command: Command | None = None,
    effects: tuple[Effect, ...] = (),
    **data: Any,
) -> StepResult:
    choices = [c.payload for r in replies for c in r.choices]
    return StepResult(State(step, {**data, "choices": choices}), tuple(replies), command, effects)


def _cmd(name: str, state: State | None = None, **args: Any) -> StepResult:
    return StepResult(state or State(), command=Command(name, args))


def _say(ctx: EmpCtx, key: str, **kw: Any) -> StepResult:
    return _result("", [Reply(ctx.t(key, **kw))])


# ------------------------------------------------------------------ messages


def step(state: State, event: Said | Done | Event, ctx: EmpCtx) -> StepResult:
    if isinstance(event, Event):
        return _on_event(state, event, ctx)
    if isinstance(event, Done):
        return _on_done(state, event, ctx)
    payload = event.payload or ""
    e = event.entities
    intent = event.intent
    if payload.startswith("enrol:"):
        return _cmd("emp_enrol", course_id=payload[6:])
    if payload.startswith("done:"):
        return _cmd("emp_item_done", item=payload[5:])
    if payload.startswith("promo:"):
        return _cmd("emp_promotion", code=payload[6:])
    if payload in ("checklist", "courses", "recommend", "mentor", "growth"):
        intent = {
            "checklist": "onboarding_status",
            "courses": "ask_course_progress",
            "recommend": "ask_course_recommendation",
            "mentor": "ask_mentor",
            "growth": "ask_my_growth",
        }[payload]
    if state.step == "form":
        handled = _form_said(state, event, payload, intent, ctx)
        if handled is not None:
            return handled
    if state.step == "form_edit" and intent not in ("deny",) and (event.text or "").strip() and not payload:
        value = e.get("value") or event.text.strip()
        return _cmd(
            "emp_profile_set",
            State("form", dict(state.data)),
            field=state.data["field"],
            value=value,
            resume=True,
        )
    if intent == "update_profile_field":
        if not e.get("field"):
            return _say(ctx, "emp_which_field")
        if not e.get("value"):
            return _result(
                "form_edit",
                [Reply(ctx.t("emp_ask_value", field=_field(e["field"], ctx)))],
                field=e["field"],
                i=0,
            )
        return _cmd("emp_profile_set", field=e["field"], value=e["value"], resume=False)
    if intent == "confirm_profile":
        return _cmd("emp_profile_confirm")
    if intent in SIMPLE:
        return _cmd(SIMPLE[intent])
    if intent == "ask_payslip":
        return _cmd("emp_payslip", month=list(e["month"]) if e.get("month") else None)
    if intent == "ask_course_recommendation":
        return _cmd("emp_recommend", indicator=e.get("indicator"))
    if intent == "enroll_course":
        if not e.get("course") and e.get("number") is None:
            return _cmd("emp_recommend", indicator=e.get("indicator"), intro="emp_which_course")
        return _cmd("emp_enrol", course=e.get("course"))
    if intent == "report_course_progress":
        return _cmd(
            "emp_progress",
            course=e.get("course"),
            chapter=e.get("chapter"),
            percent=e.get("percent"),
            completed=bool(e.get("completed")),
        )
    if intent == "ask_promotion_requirements":
        return _cmd("emp_promotion", position=e.get("position") or _named_position(event.text))
    if intent == "request_training":
        return _cmd("emp_training", text=event.text)
    if intent == "help":
        return _say(ctx, "emp_help")
    if intent == "greet":
        return _result("", [Reply(ctx.t("emp_greet", name=ctx.name), _home(ctx))])
    if intent == "goodbye":
        return _say(ctx, "goodbye")
    return _result(
        state.step,
        [Reply(ctx.t("emp_not_understood"), _home(ctx))],
        **{k: v for k, v in state.data.items() if k != "choices"},
    )


_TARGET = re.compile(
    r"(?:晋升(?:为|到|成)?|升(?:为|到|职为)|当上|成为)(?!需要|要|的|有)(?P<zh>[\u4e00-\u9fff A-Za-z]{2,12}?)(?:需要|要|得|的条件|有什么|吗|？|\?|$)"
    r"|(?:promoted to|promotion to|become an?|become)\s+(?:an?\s+|the\s+)?(?P<en>[A-Za-z][A-Za-z \-]{1,40}?)(?:\?|$|,|\.)",
    re.I,
)


def _named_position(text: str | None) -> str | None:
    """The position named after 晋升/promoted to, when the intent model had no name for it (an unknown
    or misspelt one: the answer then suggests the nearest)."""
    m = _TARGET.search(text or "")
    if m is None:
        return None
    return (m.group("zh") or m.group("en") or "").strip() or None


def _home(ctx: EmpCtx) -> tuple[Choice, ...]:
    return (
        Choice(ctx.t("emp_btn_checklist"), "checklist"),
        Choice(ctx.t("emp_btn_recommend"), "recommend"),
        Choice(ctx.t("emp_btn_growth"), "growth"),
    )


def _field(field: str, ctx: EmpCtx) -> str:
    key = f"emp_field_{field}"
    return ctx.t(key) if key in ctx.catalog.messages else field


def _form_said(state: State, event: Said, payload: str, intent: str, ctx: EmpCtx) -> StepResult | None:
    i = int(state.data.get("i", 0))
    field = FORM_FIELDS[i]
    if payload == "ok" or intent in ("affirm", "confirm_profile"):
        return _form_next(state, i + 1, ctx)
    if payload == "edit" or intent == "deny":
        return _result(
            "form_edit",
            [Reply(ctx.t("emp_ask_value", field=_field(field, ctx)))],
            **{**_keep(state), "field": field},
        )
    e = event.entities
    if intent == "update_profile_field" and e.get("value"):
        return _cmd(
            "emp_profile_set",
            State("form", _keep(state)),
            field=e.get("field") or field,
            value=e["value"],
            resume=True,
        )
    if intent == "update_profile_field" or (event.text or "").strip() in ("修改", "改", "change", "edit"):
        target = e.get("field") or field  # "修改" typed instead of pressed: this field
        return _result(
            "form_edit",
            [Reply(ctx.t("emp_ask_value", field=_field(target, ctx)))],
            **{**_keep(state), "field": target},
        )
    return None


def _keep(state: State) -> dict[str, Any]:
    return {k: v for k, v in state.data.items() if k != "choices"}


def _form_next(state: State, i: int, ctx: EmpCtx) -> StepResult:
    profile = dict(state.data.get("profile") or {})
    if i >= len(FORM_FIELDS):
        return _cmd("emp_profile_confirm")
    field = FORM_FIELDS[i]
    value = profile.get(field) or ctx.t("emp_field_empty")
    text = ctx.t("emp_form_field", n=i + 1, total=len(FORM_FIELDS), field=_field(field, ctx), value=value)
    buttons = (Choice(ctx.t("emp_btn_ok"), "ok"), Choice(ctx.t("emp_btn_edit"), "edit"))
    return _result("form", [Reply(text, buttons)], i=i, profile=profile)


# ------------------------------------------------------------------ events (after HR's decisions)


def _on_event(state: State, event: Event, ctx: EmpCtx) -> StepResult:
    if event.kind == "hired":
        return _cmd("emp_home", state)
    if event.kind == "linked":  # a chat just linked: onboarding if the form is still to confirm
        return _cmd("emp_home", state, only_if_onboarding=True)
    if event.kind == "mentee_assigned":
        d = event.data
        return _result(
            state.step,
            [
                Reply(
                    ctx.t(
                        "emp_mentor_intro",
                        name=d.get("name", ""),
                        position=d.get("position", ""),
                        start=d.get("start", ""),
                    )
                )
            ],
            **_keep(state),
        )
    if event.kind == "training_decided":
        d = event.data
        key = "emp_training_approved" if d.get("approved") else "emp_training_declined"
        return _result(state.step, [Reply(ctx.t(key, text=d.get("text", "")))], **_keep(state))
    if event.kind == "deadline":
        return _result(
            state.step,
            [Reply(str(event.data.get("text", "")), (Choice(ctx.t("emp_btn_courses"), "courses"),))],
            **_keep(state),
        )
    return StepResult(state)


# ------------------------------------------------------------------ results of commands


def _files(r: Mapping[str, Any]) -> tuple[FileRef, ...]:
    return tuple(FileRef(f["name"], f["mime"], f["url"]) for f in r.get("files") or [])


def _choices(r: Mapping[str, Any]) -> tuple[Choice, ...]:
    return tuple(Choice(c["title"], c["payload"]) for c in r.get("choices") or [])


def _effects(r: Mapping[str, Any]) -> tuple[Effect, ...]:
    return tuple(Effect(x["kind"], dict(x["data"])) for x in r.get("effects") or [])


def _on_done(state: State, event: Done, ctx: EmpCtx) -> StepResult:
    name, r = event.command.name, event.result
    if r.get("status") == "not_employee":
        return _say(ctx, "emp_not_employee")
    if name == "emp_home":
        if event.command.args.get("only_if_onboarding") and r.get("profile_confirmed"):
            return StepResult(State())
        replies = [Reply(r["welcome"])]
        if r.get("mentor"):
            replies.append(Reply(r["mentor"]))
        if r.get("profile_confirmed"):
            return _result("", [*replies, Reply(r["checklist"], _home(ctx))])
        replies.append(Reply(ctx.t("emp_form_intro")))
        nxt = _form_next(State("form", {"profile": r.get("profile") or {}}), 0, ctx)
        return _result(nxt.state.step, [*replies, *nxt.replies], **_keep(nxt.state))
    if name == "emp_profile_set":
        if r.get("status") != "ok":
            return _say(ctx, f"emp_profile_{r.get('status')}")
        note = Reply(ctx.t("emp_profile_saved", field=_field(r["field"], ctx), value=r["value"]))
        if event.command.args.get("resume"):
            data = {**_keep(state), "profile": r.get("profile") or {}}
            i = int(data.get("i", 0))
            nxt = _form_next(State("form", data), i + 1, ctx)
            if nxt.command is not None:
                return StepResult(nxt.state, (note,), nxt.command)
            return _result(nxt.state.step, [note, *nxt.replies], **_keep(nxt.state))
        return _result("", [note])
    if name == "emp_profile_confirm":
        head = ctx.t("emp_profile_confirmed") if r.get("status") == "ok" else ctx.t("emp_profile_already")
        return _result(
            "", [Reply(head), Reply(r["checklist"], _choices(r) or _home(ctx))], effects=_effects(r)
        )
    text = r.get("text") or ""
    return _result("", [Reply(text, _choices(r), _files(r))], effects=_effects(r))
