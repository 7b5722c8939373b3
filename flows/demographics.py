"""The optional demographics question (for the bias audit only), asked once after the interview, apart
from everything else and under its own consent: declining changes nothing; each field may stay
unanswered; "删除我的人口信息" / "delete my demographic data" withdraws it and erases what was given.
The answers go to ``storage.demographics`` and nowhere else (scoring never reads them).

Steps: demo_ask (yes / no) → demo_sex → demo_age → demo_region (typed, or skip) → recorded.
"""

from __future__ import annotations

import re
from typing import Any

from flows.context import Command, Ctx, Done, Said, State, StepResult
from flows.values import Choice, Reply

SEXES = ("female", "male", "other")
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_plus")
COMMANDS = frozenset({"demographics", "demographics_withdraw", "demographics_decline"})
STEPS = frozenset({"demo_ask", "demo_sex", "demo_age", "demo_region"})
_WITHDRAW = re.compile(
    r"删除.{0,4}人口信息|撤回.{0,4}人口信息|(delete|withdraw|erase).{0,12}demographic", re.I
)
_START = re.compile(r"(填写|补填).{0,4}人口信息|(fill in|declare|give).{0,12}demographic", re.I)
_SKIP = ("skip", "跳过", "不愿透露", "不想说", "prefer not to say", "不填")


def _state(step: str, replies: tuple[Reply, ...], **data: Any) -> State:
    return State(step, {**data, "choices": [c.payload for r in replies for c in r.choices]})


def _r(step: str, reply: Reply, **data: Any) -> StepResult:
    return StepResult(_state(step, (reply,), **data), (reply,))


def invite(ctx: Ctx) -> StepResult:
    """The question, once the interview is done (the caller checks it was never answered)."""
    reply = Reply(
        ctx.t("demo_invite"),
        (Choice(ctx.t("demo_yes_btn"), "demo_yes"), Choice(ctx.t("demo_no_btn"), "demo_no")),
    )
    return _r("demo_ask", reply)


def _sex(ctx: Ctx) -> StepResult:
    choices = tuple(Choice(ctx.t(f"demo_sex_{s}"), f"dsex:{s}") for s in SEXES)
    return _r("demo_sex", Reply(ctx.t("demo_sex_q"), (*choices, Choice(ctx.t("demo_skip_btn"), "dsex:"))))


def _age(ctx: Ctx, **data: Any) -> StepResult:
    choices = tuple(Choice(ctx.t(f"demo_age_{a}"), f"dage:{a}") for a in AGE_BANDS)
    return _r(
        "demo_age", Reply(ctx.t("demo_age_q"), (*choices, Choice(ctx.t("demo_skip_btn"), "dage:"))), **data
    )


def on_said(state: State, event: Said, ctx: Ctx) -> StepResult | None:
    """Handles the demographics steps, a withdrawal and an explicit "fill in" at any time."""
    text = (event.text or "").strip()
    payload = event.payload or ""
    if ctx.app is None:
        return None
    if _WITHDRAW.search(text) and not payload:
        return StepResult(State(), command=Command("demographics_withdraw"))
    if _START.search(text) and not payload:
        return _sex(ctx)
    if state.step not in STEPS:
        return None
    if state.step == "demo_ask":
        if payload == "demo_yes" or event.intent == "affirm":
            return _sex(ctx)
        if payload == "demo_no" or event.intent == "deny":
            return StepResult(State(), command=Command("demographics_decline"))
        return None  # anything else: the candidate moved on; the question simply lapses
    if state.step == "demo_sex" and payload.startswith("dsex:"):
        value = payload[5:] or None
        return _age(ctx, sex=value if value in SEXES else None)
    if state.step == "demo_age" and payload.startswith("dage:"):
        value = payload[5:] or None
        reply = Reply(ctx.t("demo_region_q"), (Choice(ctx.t("demo_skip_btn"), "dregion:"),))
        return _r(
            "demo_region", reply, sex=state.data.get("sex"), age_band=value if value in AGE_BANDS else None
        )
    if state.step == "demo_region":
        region = None if payload == "dregion:" or text.lower() in _SKIP else text[:50] or None
        if payload and payload != "dregion:":
            return None
        args = {"sex": state.data.get("sex"), "age_band": state.data.get("age_band"), "region": region}
        return StepResult(State(), command=Command("demographics", args))
    return None


def on_done(state: State, event: Done, ctx: Ctx) -> StepResult:
    name, status = event.command.name, event.result.get("status")
    if name == "demographics":
        key = "demo_thanks" if status == "ok" else "demo_failed"
    elif name == "demographics_decline":
        key = "demo_declined"
    else:
        key = "demo_erased" if status == "ok" else "demo_nothing"
    return StepResult(State(), (Reply(ctx.t(key)),))
