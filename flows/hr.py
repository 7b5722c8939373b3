"""HR in chat, as one pure state machine: find a candidate, read, act — every read and write a
``Command`` the engine runs (and audits) in the message's transaction (``flows/hr_io.py``).

Steps (``State.step``):
  ""              nothing pending
  pick            several candidates matched a name: ``data.todo`` waits for the pick (payload pick:<id>)
  ask_times       next round: waiting for the times to offer
  ask_salary      offer: waiting for the monthly salary (no expectation on file)
  ask_reason      override: waiting for the reason
  confirm_reject  the feedback preview is shown: send / cancel
  confirm_offer   the offer preview is shown: send PDF / send DOCX / cancel
  confirm_remind  "remind N overdue candidates?": yes / no
A candidate is named by id ("1024", "#1024") or name; out of scope and nonexistent look the same
("not found in your scope"), so HR cannot probe for candidates of other departments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows.context import Command, Done, Said, State, StepResult
from flows.texts import Catalog, fmt_day, fmt_when
from flows.values import Choice, Effect, FileRef, Reply

NEEDS_CANDIDATE = {
    "hr_candidate_status": "status",
    "hr_mark_priority": "priority",
    "hr_invite_next_round": "next_round",
    "hr_reject_candidate": "reject",
    "hr_send_offer": "offer",
    "hr_candidate_report": "report",
    "hr_override_score": "override",
    "hr_hired": "hired",
}
COMMANDS_PREFIX = "hr_"
MAX_LIST = 20
INDICATORS = ("communication", "logic", "numeracy", "risk", "composure", "learning", "finance", "customer")


@dataclass(frozen=True, slots=True)
class HrCtx:
    now: datetime
    tz: ZoneInfo
    lang: str
    catalog: Catalog
    user_id: int
    user_name: str
    scope: tuple[str, ...]

    def t(self, key: str, **kw: Any) -> str:
        return self.catalog.t(self.lang, key, **kw)


def _result(
    step: str, replies: Sequence[Reply], *, command: Command | None = None, **data: Any
) -> StepResult:
    choices = [c.payload for r in replies for c in r.choices]
    return StepResult(State(step, {**data, "choices": choices}), tuple(replies), command)


def _say(key: str, ctx: HrCtx, **kw: Any) -> StepResult:
    return _result("", [Reply(ctx.t(key, **kw))])


def _cmd(name: str, state: State | None = None, **args: Any) -> StepResult:
    return StepResult(state or State(), command=Command(name, args))


# ------------------------------------------------------------------ messages


def step(state: State, event: Said | Done, ctx: HrCtx) -> StepResult:
    if isinstance(event, Done):
        return _on_done(state, event, ctx)
    payload = event.payload or ""
    button = button_said(payload)
    if button is not None:
        event = Said(event.text, button[0], button[1], None)
        payload = ""
    e = event.entities
    if payload.startswith(("train_ok:", "train_no:")) and payload.split(":", 1)[1].isdigit():
        return _cmd("hr_training", id=int(payload.split(":", 1)[1]), approve=payload.startswith("train_ok:"))
    if payload.startswith("pick:") and state.step == "pick":
        todo = dict(state.data.get("todo") or {})
        return _act(todo, int(payload.split(":", 1)[1]), ctx)
    if state.step in ("confirm_reject", "confirm_offer", "confirm_remind"):
        return _confirm(state, event, payload, ctx)
    if state.step == "ask_times" and event.intent not in NEEDS_CANDIDATE and e.get("times"):
        return _cmd("hr_next_round", id=state.data["id"], times=list(e["times"]), reason=e.get("reason"))
    if state.step == "ask_salary" and e.get("salary") and event.intent not in ("deny",):
        return _cmd("hr_offer_draft", id=state.data["id"], salary=int(e["salary"]))
    if state.step == "ask_reason" and event.intent in ("nlu_fallback", "affirm") and event.text.strip():
        return _cmd(
            "hr_override", **{**dict(state.data.get("todo") or {}), "reason": event.text.strip()[:500]}
        )
    if state.step and event.intent == "deny":
        return _say("hr_cancelled", ctx)
    intent = event.intent
    if intent == "help":
        return _say("hr_help", ctx)
    if intent == "greet":
        return _say("hr_greet", ctx, name=ctx.user_name)
    if intent == "goodbye":
        return _say("hr_goodbye", ctx)
    if intent == "hr_list_candidates":
        return _cmd(
            "hr_list", states=list(e.get("states") or []), position=e.get("position"), period=e.get("period")
        )
    if intent == "hr_remind_candidates" and (e.get("all") or not (e.get("ids") or e.get("names"))):
        return _cmd("hr_overdue", position=e.get("position"))
    if intent == "hr_remind_candidates":
        return _cmd(
            "hr_resolve",
            ids=list(e.get("ids") or []),
            names=list(e.get("names") or []),
            todo={"do": "remind"},
        )
    if intent == "hr_funnel_stats":
        return _cmd("hr_funnel", position=e.get("position"), period=e.get("period"))
    if intent == "hr_bias_audit":
        return _cmd("hr_bias", position=e.get("position"), period=e.get("period"))
    if intent in NEEDS_CANDIDATE:
        todo = _todo(NEEDS_CANDIDATE[intent], e)
        if not (e.get("ids") or e.get("names")):
            if state.data.get("last_id") is not None and intent != "hr_candidate_status":
                return _act(todo, int(state.data["last_id"]), ctx)
            return _say("hr_which_candidate", ctx)
        return _cmd("hr_resolve", ids=list(e.get("ids") or []), names=list(e.get("names") or []), todo=todo)
    if state.step:  # something else while a question is pending: ask it again
        return _result(state.step, [Reply(ctx.t("hr_not_understood"))], **dict(state.data))
    return _say("hr_not_understood", ctx)


def _todo(do: str, e: Mapping[str, Any]) -> dict[str, Any]:
    todo: dict[str, Any] = {"do": do}
    for k in ("negate", "score", "decision", "reason", "salary", "times"):
        if e.get(k) not in (None, False, [], ()):
            todo[k] = e[k]
    return todo


def _act(todo: Mapping[str, Any], app_id: int, ctx: HrCtx) -> StepResult:
    """The one candidate is known: run what HR asked for."""
    do = todo.get("do")
    keep = State("", {"last_id": app_id})
    if do == "status":
        return _cmd("hr_status", keep, id=app_id)
    if do == "priority":
        return _cmd("hr_priority", keep, id=app_id, on=not todo.get("negate"))
    if do == "remind":
        return _cmd("hr_remind", keep, ids=[app_id])
    if do == "report":
        return _cmd("hr_report", keep, id=app_id)
    if do == "hired":
        return _cmd("hr_hired", keep, id=app_id)
    if do == "reject":
        return _cmd("hr_feedback", keep, id=app_id)
    if do == "offer":
        return _cmd("hr_offer_draft", keep, id=app_id, salary=todo.get("salary"))
    if do == "next_round":
        if not todo.get("times"):
            return _result("ask_times", [Reply(ctx.t("hr_ask_times"))], id=app_id, last_id=app_id)
        return _cmd("hr_next_round", keep, id=app_id, times=list(todo["times"]), reason=todo.get("reason"))
    if do == "override":
        if todo.get("score") is None and not todo.get("decision"):
            return _say("hr_override_what", ctx)
        args = {"id": app_id, "score": todo.get("score"), "decision": todo.get("decision")}
        if not todo.get("reason"):
            return _result("ask_reason", [Reply(ctx.t("hr_ask_reason"))], todo=args, last_id=app_id)
        return _cmd("hr_override", keep, **args, reason=str(todo["reason"])[:500])
    return _say("hr_not_understood", ctx)


def _confirm(state: State, event: Said, payload: str, ctx: HrCtx) -> StepResult:
    d = state.data
    yes = payload in ("yes", "send_pdf", "send_docx") or event.intent == "affirm"
    no = payload == "no" or event.intent == "deny"
    if state.step == "confirm_offer" and event.intent == "affirm" and not payload:
        payload = "send_" + str(d.get("fmt", "pdf"))
    if no:
        return _say("hr_cancelled", ctx)
    if not yes:
        return _result(state.step, [Reply(ctx.t("hr_confirm_again"), tuple(_choices(state)))], **dict(d))
    if state.step == "confirm_reject":
        return _cmd("hr_reject", State("", {"last_id": d["id"]}), id=d["id"], text=d["text"])
    if state.step == "confirm_offer":
        fmt = "docx" if payload == "send_docx" else "pdf"
        return _cmd(
            "hr_offer_send", State("", {"last_id": d["id"]}), id=d["id"], offer_id=d["offer_id"], fmt=fmt
        )
    return _cmd("hr_remind", ids=list(d["ids"]))


def _choices(state: State) -> list[Choice]:
    titles = state.data.get("choice_titles") or []
    return [Choice(t, p) for t, p in zip(titles, state.data.get("choices") or [], strict=False)]


# ------------------------------------------------------------------ results of commands


def _on_done(state: State, event: Done, ctx: HrCtx) -> StepResult:
    name, r = event.command.name, event.result
    if r.get("status") == "bad_request":
        return _say(f"hr_bad_{r.get('why', 'request')}", ctx, **dict(r.get("params") or {}))
    handler = _DONE.get(name)
    if handler is None:
        raise ValueError(f"unknown HR command {name}")
    return handler(state, event.command.args, r, ctx)


def _resolved(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    hits = list(r.get("hits") or [])
    todo = dict(args.get("todo") or {})
    if not hits:
        asked = "、".join([*(f"#{i}" for i in args.get("ids") or []), *(args.get("names") or [])])
        return _say("hr_not_found", ctx, who=asked or "?")
    if len(hits) == 1:
        return _act(todo, int(hits[0]["id"]), ctx)
    choices = tuple(
        Choice(
            ctx.t(
                "hr_pick_item",
                name=h["name"],
                id=h["id"],
                position=h["title"].get(ctx.lang) or h["title"]["zh"],
                stage=_stage(h["stage"], ctx),
            ),
            f"pick:{h['id']}",
        )
        for h in hits[:8]
    )
    reply = Reply(ctx.t("hr_pick", n=len(hits), name=hits[0]["name"]), choices)
    return _result("pick", [reply], todo=todo, choice_titles=[c.title for c in choices])


def _stage(stage: str, ctx: HrCtx) -> str:
    key = f"hr_stage_{stage}"
    return ctx.t(key) if key in ctx.catalog.messages else stage


def _ind(key: str, ctx: HrCtx) -> str:
    return ctx.t(f"hr_ind_{key}") if f"hr_ind_{key}" in ctx.catalog.messages else key


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def render_status(s: Mapping[str, Any], ctx: HrCtx) -> str:
    """One candidate's status for HR, from ``hr_io.status_dict``."""
    L = ctx.lang
    lines = [
        ctx.t("hr_status_head", name=s["name"], id=s["id"], position=s["title"].get(L) or s["title"]["zh"])
    ]
    stage = _stage(s["stage"], ctx)
    flags = []
    if s["priority"]:
        flags.append(ctx.t("hr_flag_priority"))
    if s["round"] > 1:
        flags.append(ctx.t("hr_flag_round", n=s["round"]))
    lines.append(ctx.t("hr_status_stage", stage=stage) + ("" if not flags else " · " + " · ".join(flags)))
    if s.get("booking_at"):
        lines.append(
            ctx.t(
                "hr_status_booking",
                when=fmt_when(datetime.fromisoformat(s["booking_at"]).astimezone(ctx.tz), L),
            )
        )
    iv = s.get("interview")
    if iv:
        if iv["status"] == "completed":
            score = ctx.t("hr_status_score", overall=_num(iv["overall"]))
            if s.get("score_override") is not None:
                score += ctx.t("hr_status_override", new=_num(s["score_override"]))
            if s.get("threshold") is not None and s.get("effective") is not None:
                ok = s["effective"] >= s["threshold"]
                score += ctx.t(
                    "hr_status_threshold_ok" if ok else "hr_status_threshold_below", t=_num(s["threshold"])
                )
            lines.append(score)
            scored = [(k, v) for k, v in (iv.get("scores") or {}).items() if v is not None]
            scored.sort(key=lambda kv: -kv[1])
            if scored:
                sep = "、" if L == "zh" else ", "
                lines.append(
                    ctx.t(
                        "hr_status_indicators", items=sep.join(f"{_ind(k, ctx)} {_num(v)}" for k, v in scored)
                    )
                )
            for ind, passage in s.get("evidence") or []:
                lines.append(ctx.t("hr_status_evidence", indicator=_ind(ind, ctx), passage=passage))
        else:
            lines.append(
                ctx.t(
                    "hr_status_interview",
                    status=_stage("iv_" + iv["status"], ctx),
                    turn=iv["turn"],
                    total=iv["max_questions"],
                )
            )
    docs = s.get("documents") or {}
    if docs.get("required"):
        marks = " ".join(f"{d['title']} {'✓' if d['have'] else '✗'}" for d in docs["required"])
        due = docs.get("due_at")
        line = ctx.t("hr_status_documents", items=marks)
        if due and not docs.get("complete"):
            line += ctx.t(
                "hr_status_due", day=fmt_day(datetime.fromisoformat(due).astimezone(ctx.tz).date(), L)
            )
        lines.append(line)
    ob = s.get("onboarding")
    if ob:
        key = "hr_status_onboarding_form" if ob["form"] else "hr_status_onboarding_noform"
        lines.append(
            ctx.t(
                key,
                start=ob["start"],
                done=ob["done"],
                total=ob["total"],
                late=ob["late"],
                mentor=ob["mentor"] or "—",
            )
        )
    notes = []
    if s.get("review_requested"):
        notes.append(ctx.t("hr_note_review"))
    if s.get("needs_human"):
        notes.append(ctx.t("hr_note_human"))
    if s.get("late_answers"):
        notes.append(ctx.t("hr_note_late", n=s["late_answers"]))
    if s.get("overdue"):
        notes.append(ctx.t(f"hr_overdue_{s['overdue']}"))
    if s.get("offer"):
        notes.append(
            ctx.t("hr_note_offer", status=_stage("offer_" + s["offer"][0], ctx), salary=f"{s['offer'][1]:,}")
        )
    if notes:
        lines.append(ctx.t("hr_status_notes", items=("；" if L == "zh" else "; ").join(notes)))
    return "\n".join(lines)


def _status_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("status") != "ok":
        return _say("hr_not_found", ctx, who=f"#{args.get('id')}")
    text = render_status(r["s"], ctx)
    app_id = int(r["s"]["id"])
    buttons = (
        Choice(ctx.t("hr_btn_report"), f"report:{app_id}"),
        Choice(ctx.t("hr_btn_remind"), f"remind:{app_id}"),
    )
    return _result("", [Reply(text, buttons)], last_id=app_id)


def _list_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("summary") is not None:
        counts = r["summary"]
        items = "\n".join(
            ctx.t("hr_summary_line", state=_stage("list_" + k, ctx), n=v) for k, v in counts.items()
        )
        return _say("hr_summary", ctx, scope=r.get("where") or "", items=items)
    rows = list(r.get("items") or [])
    what = _stage("list_" + str(r.get("state")), ctx)
    if not rows:
        return _say("hr_list_empty", ctx, what=what, where=r.get("where") or "")
    lines = [ctx.t("hr_list_head", what=what, where=r.get("where") or "", n=r.get("total", len(rows)))]
    for x in rows:
        extra = ""
        if x.get("why"):
            extra = " · " + ctx.t(f"hr_overdue_{x['why']}")
        elif x.get("score") is not None:
            extra = " · " + _num(x["score"])
        star = "★ " if x.get("priority") else ""
        lines.append(f"{star}#{x['id']} {x['name']} · {x['position']} · {_stage(x['stage'], ctx)}{extra}")
    if r.get("total", 0) > len(rows):
        lines.append(ctx.t("hr_list_more", n=r["total"] - len(rows)))
    return _say("hr_raw", ctx, text="\n".join(lines))


def _overdue_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    rows = list(r.get("items") or [])
    if not rows:
        return _say("hr_none_overdue", ctx)
    names = (
        "、".join(x["name"] for x in rows[:10])
        if ctx.lang == "zh"
        else ", ".join(x["name"] for x in rows[:10])
    )
    more = ctx.t("hr_and_more", n=len(rows) - 10) if len(rows) > 10 else ""
    buttons = (Choice(ctx.t("hr_btn_send"), "yes"), Choice(ctx.t("hr_btn_cancel"), "no"))
    reply = Reply(ctx.t("hr_remind_confirm", n=len(rows), names=names + more), buttons)
    return _result(
        "confirm_remind", [reply], ids=[x["id"] for x in rows[:200]], choice_titles=[b.title for b in buttons]
    )


def _events(r: Mapping[str, Any]) -> tuple[Effect, ...]:
    """Messages to candidates (through their own chat) and HR-system updates the command asked for."""
    out = [Effect("candidate_event", dict(ev)) for ev in r.get("events") or []]
    out += [Effect("hr_sync", dict(x)) for x in r.get("sync") or []]
    return tuple(out)


def _remind_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    sent, skipped = list(r.get("reminded") or []), list(r.get("skipped") or [])
    parts = []
    if sent:
        parts.append(ctx.t("hr_reminded", n=len(sent)))
    for x in skipped[:10]:
        parts.append(ctx.t(f"hr_remind_skip_{x['why']}", name=x["name"], id=x["id"]))
    if not parts:
        parts.append(ctx.t("hr_not_found", who=", ".join(f"#{i}" for i in args.get("ids") or [])))
    return StepResult(State("", dict(state.data)), (Reply("\n".join(parts)),), effects=_events(r))


def _simple_done(key_ok: str) -> Any:
    def done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
        st = r.get("status")
        if st not in ("ok", "unchanged"):
            return _say(
                f"hr_conflict_{st}", ctx, name=r.get("name", ""), stage=_stage(str(r.get("stage", "")), ctx)
            )
        key = key_ok if st == "ok" else key_ok + "_unchanged"
        if key not in ctx.catalog.messages:
            key = key_ok
        params = {k: v for k, v in r.items() if isinstance(v, str | int | float)}
        if isinstance(params.get("stage"), str):
            params["stage"] = _stage(str(params["stage"]), ctx)
        return StepResult(
            State("", {"last_id": args.get("id")}), (Reply(ctx.t(key, **params)),), effects=_events(r)
        )

    return done


def _priority_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    key = "hr_priority_on" if args.get("on") else "hr_priority_off"
    return _simple_done(key)(state, args, r, ctx)


def _feedback_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("status") != "ok":
        return _say(
            f"hr_conflict_{r.get('status')}",
            ctx,
            name=r.get("name", ""),
            stage=_stage(str(r.get("stage", "")), ctx),
        )
    buttons = (Choice(ctx.t("hr_btn_send"), "yes"), Choice(ctx.t("hr_btn_cancel"), "no"))
    text = ctx.t("hr_reject_preview", name=r["name"], text=r["text"])
    return _result(
        "confirm_reject",
        [Reply(text, buttons)],
        id=args["id"],
        text=r["text"],
        last_id=args["id"],
        choice_titles=[b.title for b in buttons],
    )


def _offer_draft_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    st = r.get("status")
    if st == "missing_salary":
        return _result(
            "ask_salary",
            [Reply(ctx.t("hr_ask_salary", name=r["name"], band=r.get("band", "")))],
            id=args["id"],
            last_id=args["id"],
        )
    if st != "ok":
        return _say(
            f"hr_conflict_{st}", ctx, name=r.get("name", ""), stage=_stage(str(r.get("stage", "")), ctx)
        )
    buttons = (
        Choice(ctx.t("hr_btn_send_pdf"), "send_pdf"),
        Choice(ctx.t("hr_btn_send_docx"), "send_docx"),
        Choice(ctx.t("hr_btn_cancel"), "no"),
    )
    text = r["preview"]
    if r.get("advice"):
        text = f"{text}\n\n{ctx.t('hr_salary_' + r['advice'], band=r.get('band', ''))}"
    return _result(
        "confirm_offer",
        [Reply(ctx.t("hr_offer_preview", text=text), buttons)],
        id=args["id"],
        offer_id=r["offer_id"],
        last_id=args["id"],
        choice_titles=[b.title for b in buttons],
    )


def _files_reply(text: str, r: Mapping[str, Any]) -> Reply:
    files = tuple(FileRef(f["name"], f["mime"], f["url"]) for f in r.get("files") or [])
    return Reply(text, (), files)


def _report_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("status") != "ok":
        key = "hr_no_report" if r.get("status") == "no_report" else "hr_not_found"
        return _say(key, ctx, who=f"#{args.get('id')}", name=r.get("name", ""))
    text = ctx.t("hr_report_link", name=r["name"], url=r["url"])
    return StepResult(State("", {"last_id": args.get("id")}), (_files_reply(text, r),))


def _analytics_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("status") != "ok":
        return _say("hr_no_position", ctx, position=r.get("position") or "", known=r.get("known", ""))
    return StepResult(State("", dict(state.data)), (_files_reply(r["text"], r),))


def _training_done(state: State, args: Mapping[str, Any], r: Mapping[str, Any], ctx: HrCtx) -> StepResult:
    if r.get("status") != "ok":
        key = "hr_training_already" if r.get("status") == "conflict" else "hr_conflict_missing"
        return _say(key, ctx, name=r.get("name", ""), stage=str(r.get("stage", "")))
    return StepResult(
        State("", dict(state.data)), (Reply(ctx.t(str(r["done"]), name=r["name"])),), effects=_events(r)
    )


_DONE: dict[str, Any] = {
    "hr_resolve": _resolved,
    "hr_status": _status_done,
    "hr_list": _list_done,
    "hr_overdue": _overdue_done,
    "hr_remind": _remind_done,
    "hr_priority": _priority_done,
    "hr_next_round": _simple_done("hr_next_round_sent"),
    "hr_feedback": _feedback_done,
    "hr_reject": _simple_done("hr_rejected"),
    "hr_offer_draft": _offer_draft_done,
    "hr_offer_send": _simple_done("hr_offer_sent"),
    "hr_report": _report_done,
    "hr_override": _simple_done("hr_overridden"),
    "hr_hired": _simple_done("hr_hired_done"),
    "hr_training": _training_done,
    "hr_funnel": _analytics_done,
    "hr_bias": _analytics_done,
}


def button_said(payload: str) -> tuple[str, dict[str, Any]] | None:
    """Buttons ("report:1024", "remind:1024", "status:1024") as the intent they stand for."""
    pairs = (
        ("report:", "hr_candidate_report"),
        ("remind:", "hr_remind_candidates"),
        ("status:", "hr_candidate_status"),
    )
    for prefix, intent in pairs:
        if payload.startswith(prefix) and payload[len(prefix) :].isdigit():
            return intent, {"ids": [int(payload[len(prefix) :])]}
    return None
