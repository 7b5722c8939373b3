"""The candidate's journey so far, as one pure state machine: link → consent → book / move / cancel.

Steps (``State.step``):
  ""              nothing pending
  consent_voice   waiting for yes/no to voice processing
  consent_docs    waiting for yes/no to document processing
  choose_slot     slots offered (``data.mode`` = book | move, ``data.offset`` for paging)
  confirm_move    waiting for yes/no to move to ``data.slot_id``
  confirm_cancel  waiting for yes/no to cancel
  confirm_keep    "you already have a booking — reschedule?"
  doc_kind, doc_expect   documents (flows/documents.py)
Every step keeps ``data.choices``: the payloads of the buttons last shown, so "2" means the second.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flows import decisions, demographics, documents, hr_sync, interview, linking
from flows.context import Command, Ctx, Done, Event, Said, SlotView, State, StepResult
from flows.texts import fmt_day, fmt_when
from flows.values import Choice, Effect, FileRef, Reply

PAGE = 6
MAX_MEDIA_MB = 20  # bots.channels.gateway.MAX_MEDIA_BYTES
CONSENT_CONFIDENCE = 0.8
GLOBAL_INTENTS = {"request_human", "help", "ask_progress", "goodbye"}
PAYLOAD_INTENTS = {
    "yes": "affirm",
    "no": "deny",
    "keep": "deny",
    "human": "request_human",
    "status": "ask_progress",
    "reschedule": "reschedule_interview",
    "cancel": "cancel_interview",
    "book": "schedule_interview",
    "when": "ask_interview_time",
}


def _state(step: str = "", replies: tuple[Reply, ...] = (), **data: Any) -> State:
    choices = [c.payload for r in replies for c in r.choices]
    return State(step, {**data, "choices": choices})


def _result(
    step: str,
    replies: list[Reply],
    *,
    command: Command | None = None,
    effects: tuple[Effect, ...] = (),
    **data: Any,
) -> StepResult:
    rs = tuple(replies)
    return StepResult(_state(step, rs, **data), rs, command, effects)


# ------------------------------------------------------------------ rendering helpers


def _title(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.app.position_title.get(ctx.lang) or ctx.app.position_title["zh"]


def _location(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.app.location.get(ctx.lang) or ctx.app.location["zh"]


def _slot_choices(slots: list[SlotView], ctx: Ctx) -> tuple[Choice, ...]:
    return tuple(Choice(fmt_when(s.starts_at, ctx.lang), f"slot:{s.id}") for s in slots)


def _yes_no(ctx: Ctx, yes: str = "yes_btn", no: str = "no_btn") -> tuple[Choice, ...]:
    return (Choice(ctx.t(yes), "yes"), Choice(ctx.t(no), "no"))


def _upcoming(ctx: Ctx, limit: int = 200) -> list[SlotView]:
    assert ctx.app is not None
    mine = ctx.app.id if ctx.app.round > 1 else None  # a later round: the slots HR offered
    return list(ctx.view.open_slots(ctx.app.position_id, after=ctx.now, limit=limit, application_id=mine))


def _offer(ctx: Ctx, *, mode: str, offset: int = 0, intro: str | None = None) -> StepResult:
    """Offer a page of open slots, or say there are none (and tell HR)."""
    slots = _upcoming(ctx, limit=offset + PAGE + 2)
    if ctx.booking is not None:
        slots = [s for s in slots if s.id != ctx.booking.slot.id]
    if not slots:
        assert ctx.app is not None
        return _result(
            "", [Reply(ctx.t("no_slots", contact=ctx.hr_contact))], effects=(_hr(ctx, "no_slots_left"),)
        )
    page = slots[offset : offset + PAGE] or slots[:PAGE]
    choices = _slot_choices(page, ctx)
    if len(slots) > offset + PAGE:
        choices += (Choice(ctx.t("more_slots_btn"), f"more:{offset + PAGE}"),)
    if intro is None:
        if mode == "move" and ctx.booking is not None:
            intro = ctx.t("offer_slots_move", current=fmt_when(ctx.booking.slot.starts_at, ctx.lang))
        else:
            assert ctx.app is not None
            intro = ctx.t("offer_slots", position=_title(ctx), minutes=ctx.app.minutes)
    return _result("choose_slot", [Reply(intro, choices)], mode=mode, offset=offset)


def _offer_list(ctx: Ctx, intro: str, slots: list[SlotView], mode: str) -> StepResult:
    return _result("choose_slot", [Reply(intro, _slot_choices(slots, ctx))], mode=mode, offset=0)


def _hr(ctx: Ctx, event: str, **extra: Any) -> Effect:
    assert ctx.app is not None
    return Effect(
        "notify_hr",
        {
            "event": event,
            "application_id": ctx.app.id,
            "candidate": ctx.app.name,
            "position": ctx.app.position_code,
            **extra,
        },
    )


def _booking_buttons(ctx: Ctx) -> tuple[Choice, ...]:
    return (
        Choice(ctx.t("ics_btn"), "ics"),
        Choice(ctx.t("reschedule_btn"), "reschedule"),
        Choice(ctx.t("cancel_btn"), "cancel"),
    )


# ------------------------------------------------------------------ the machine


def step(state: State, event: Said | Done | Event, ctx: Ctx) -> StepResult:
    if isinstance(event, Event):
        if event.kind in decisions.KINDS:
            return decisions.on_event(state, event, ctx, _offer, documents.checklist)
        return interview.on_event(state, event, ctx)
    if isinstance(event, Done):
        if event.command.name in demographics.COMMANDS:
            return demographics.on_done(state, event, ctx)
        if event.command.name.startswith("iv_") or event.command.name == "accommodation":
            done = interview.on_done(state, event, ctx)
            if event.command.name == "iv_complete" and event.result.get("demographics_answered") is False:
                ask = demographics.invite(ctx)
                return StepResult(ask.state, (*done.replies, *ask.replies), done.command, done.effects)
            return done
        if event.command.name in documents.COMMANDS:
            return documents.on_done(state, event, ctx)
        if event.command.name in linking.COMMANDS:
            return linking.on_done(state, event, ctx)
        return _on_done(state, event, ctx)
    intent = PAYLOAD_INTENTS.get(event.payload or "", event.intent)
    if event.media is not None and event.media.kind in ("failed", "too_large"):
        return StepResult(state, (Reply(ctx.t(f"media_{event.media.kind}", mb=MAX_MEDIA_MB)),))
    filed = documents.on_media(state, event, ctx, _reprompt)  # photos and files, even mid-interview
    if filed is not None:
        return filed
    if ctx.app is None:  # a chat nobody is linked to: a link code first, whatever it looks like
        linked = linking.on_said(state, event, intent, ctx)
        if linked is not None:
            return linked
    handled = interview.on_said(state, event, intent, ctx)
    if handled is not None:
        return handled
    declared = demographics.on_said(state, event, ctx)  # optional, for the bias audit only
    if declared is not None:
        return declared
    linked = linking.on_said(state, event, intent, ctx)  # a link code, "link another app"
    if linked is not None:
        return linked
    if _unreadable_time(event, ctx):
        return _offer(ctx, mode="move" if ctx.booking else "book", intro=ctx.t("time_unreadable"))
    if intent in GLOBAL_INTENTS:
        return _global(state, intent, ctx)
    if ctx.app is None:
        return _unlinked(event, ctx)
    code = event.entities.get("invite_code")
    if code is not None and (intent == "provide_invite_code" or not state.step):
        return StepResult(state, command=Command("link", {"code": code["value"]}))
    about_documents = documents.on_said(state, event, intent, ctx, _reprompt)
    if about_documents is not None:
        return about_documents
    sure = event.payload is not None or event.confidence >= CONSENT_CONFIDENCE
    if "voice" not in ctx.app.consents:
        return _consent(state, "voice", intent, ctx, sure=sure)
    if "documents" not in ctx.app.consents:
        return _consent(state, "documents", intent, ctx, sure=sure)
    if ctx.app.stage not in ("consented", "booked", "next_round"):
        return _progress(state, ctx)
    return _booking(state, event, intent, ctx)


def _global(state: State, intent: str, ctx: Ctx) -> StepResult:
    if intent == "request_human":
        if decisions.wants_review(ctx):  # after the interview: a person reviews the result
            return decisions.request_review(state)
        return StepResult(state, command=Command("human"))
    if intent == "goodbye":
        return _result("", [Reply(ctx.t("goodbye"))])
    if intent == "help":
        return StepResult(state, (Reply(ctx.t("help") + "\n" + ctx.t("help_more")), *_reprompt(state, ctx)))
    return _progress(state, ctx)


def _progress(state: State, ctx: Ctx) -> StepResult:
    if ctx.app is None:
        stage, nxt = ctx.t("stage_unlinked"), ctx.t("next_unlinked")
    else:
        title, s = _title(ctx), ctx.app.stage
        if s == "booked" and ctx.booking is not None:
            when = fmt_when(ctx.booking.slot.starts_at, ctx.lang)
            stage, nxt = ctx.t("stage_booked", position=title, when=when), ctx.t("next_booked")
        elif s in ("linked", "consented", "withdrawn", "interviewed", "interviewing", "shortlisted"):
            s = "interviewed" if s == "shortlisted" else s  # the pool is HR's, the candidate waits the same
            stage, nxt = ctx.t(f"stage_{s}", position=title), ctx.t(f"next_{s}")
        elif s in ("next_round", "offer", "hired", "rejected"):
            stage, nxt = ctx.t(f"stage_{s}", position=title), ctx.t(f"next_{s}")
        else:
            stage, nxt = ctx.t("stage_other", position=title, stage=s), ctx.t("next_other")
    text = ctx.t("progress", stage=stage, next=nxt)
    docs = documents.progress_line(ctx)
    text = text if docs is None else f"{text}\n{docs}"
    return StepResult(state, (Reply(text), *_reprompt(state, ctx)))


def _reprompt(state: State, ctx: Ctx) -> tuple[Reply, ...]:
    """Ask the pending question again after an interruption (help, status…)."""
    if state.step == "consent_voice":
        return (Reply(ctx.t("consent_voice_q"), _yes_no(ctx, "consent_yes_btn", "consent_no_btn")),)
    if state.step == "consent_docs":
        return (Reply(ctx.t("consent_docs_q"), _yes_no(ctx, "consent_yes_btn", "consent_no_btn")),)
    if state.step == "choose_slot" and ctx.app is not None:
        return _offer(ctx, mode=state.data.get("mode", "book"), offset=state.data.get("offset", 0)).replies
    return documents.reprompt(state, ctx)


def _unlinked(event: Said, ctx: Ctx) -> StepResult:
    code = event.entities.get("invite_code")
    if code is not None:
        return StepResult(State(), command=Command("link", {"code": code["value"]}))
    if event.intent == "greet" or not event.text.strip():
        return _result("", [Reply(ctx.t("welcome_ask_code"))])
    return _result("", [Reply(ctx.t("ask_code_again"), (Choice(ctx.t("human_btn"), "human"),))])


def _consent(state: State, kind: str, intent: str, ctx: Ctx, *, sure: bool = True) -> StepResult:
    """Ask for one consent, or record the answer. A typed answer must be a clear yes or no: consent
    is never inferred from a message the classifier is unsure about."""
    step_name = "consent_voice" if kind == "voice" else "consent_docs"
    if state.step == step_name and intent in ("affirm", "deny") and sure:
        return StepResult(state, command=Command("consent", {"kind": kind, "granted": intent == "affirm"}))
    question = ctx.t("consent_voice_q" if kind == "voice" else "consent_docs_q")
    intro = [] if state.step != step_name else [Reply(ctx.t("consent_unclear"))]
    return _result(step_name, [*intro, Reply(question, _yes_no(ctx, "consent_yes_btn", "consent_no_btn"))])


def _booking(state: State, event: Said, intent: str, ctx: Ctx) -> StepResult:
    payload = event.payload or ""
    booking = ctx.booking
    mode = "move" if booking is not None else "book"
    if payload == "ics":
        if booking is None:
            return _offer(ctx, mode="book", intro=ctx.t("not_booked_yet"))
        f = FileRef("interview.ics", "text/calendar", booking.ics_url)
        return _result("", [Reply(ctx.t("ics_reply"), files=(f,))])
    if payload.startswith("slot:"):
        slot_id = int(payload.split(":", 1)[1])
        return _chosen(state, slot_id, ctx)
    if payload.startswith("more:"):
        return _offer(ctx, mode=state.data.get("mode", mode), offset=int(payload.split(":", 1)[1]))

    step_ = state.step
    if step_ == "confirm_move" and intent in ("affirm", "deny"):
        if intent == "affirm":
            return StepResult(state, command=Command("move", {"slot_id": state.data["slot_id"]}))
        return _kept(ctx)
    if step_ == "confirm_cancel" and intent in ("affirm", "deny"):
        return StepResult(state, command=Command("cancel")) if intent == "affirm" else _kept(ctx)
    if step_ == "confirm_keep" and intent in ("affirm", "deny"):
        return _offer(ctx, mode="move") if intent == "affirm" else _kept(ctx)

    time = event.entities.get("time")
    if intent == "cancel_interview":
        if booking is None:
            return _offer(ctx, mode="book", intro=ctx.t("nothing_to_cancel") + "\n" + _offer_intro(ctx))
        when = fmt_when(booking.slot.starts_at, ctx.lang)
        return _result("confirm_cancel", [Reply(ctx.t("confirm_cancel", when=when), _yes_no(ctx))])
    if intent == "ask_interview_time":
        if booking is None:
            return _offer(ctx, mode="book", intro=ctx.t("not_booked_yet") + "\n" + _offer_intro(ctx))
        text = ctx.t(
            "interview_time", when=fmt_when(booking.slot.starts_at, ctx.lang), location=_location(ctx)
        )
        return _result("", [Reply(text, _booking_buttons(ctx))])
    if time is not None and (
        intent in ("schedule_interview", "reschedule_interview")
        or (step_ == "choose_slot" or intent in ("nlu_fallback", "ask_interview_time"))
        and _mostly_time(event.text, time)
    ):
        return _at_time(time, mode, ctx)
    if intent == "reschedule_interview":
        if booking is None:
            return _offer(ctx, mode="book", intro=ctx.t("not_booked_yet") + "\n" + _offer_intro(ctx))
        return _offer(ctx, mode="move")
    if intent == "schedule_interview":
        if booking is not None:
            when = fmt_when(booking.slot.starts_at, ctx.lang)
            choices = (Choice(ctx.t("reschedule_btn"), "yes"), Choice(ctx.t("keep_btn"), "no"))
            return _result("confirm_keep", [Reply(ctx.t("already_booked", when=when), choices)])
        if _looks_like_time(event.text):
            return _offer(ctx, mode=mode, intro=ctx.t("time_unreadable"))
        return _offer(ctx, mode="book")
    if step_ == "choose_slot" and _looks_like_time(event.text):
        return _offer(ctx, mode=state.data.get("mode", mode), intro=ctx.t("time_unreadable"))
    if intent == "greet":
        assert ctx.app is not None
        greet = Reply(ctx.t("greet_linked", name=ctx.app.name))
        if booking is None:
            offered = _offer(ctx, mode="book")
            return StepResult(offered.state, (greet, *offered.replies), effects=offered.effects)
        return _result("", [greet])
    if intent in ("affirm", "deny") and not step_:
        if booking is None:
            return _offer(ctx, mode="book")
        return _result("", [Reply(ctx.t("kept", when=fmt_when(booking.slot.starts_at, ctx.lang)))])
    return StepResult(state, (Reply(ctx.t("fallback")), *_reprompt(state, ctx)))


def _offer_intro(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.t("offer_slots", position=_title(ctx), minutes=ctx.app.minutes)


def _kept(ctx: Ctx) -> StepResult:
    if ctx.booking is None:
        return _result("", [Reply(ctx.t("nothing_to_cancel"))])
    return _result("", [Reply(ctx.t("kept", when=fmt_when(ctx.booking.slot.starts_at, ctx.lang)))])


def _chosen(state: State, slot_id: int, ctx: Ctx) -> StepResult:
    if ctx.booking is None:
        return StepResult(state, command=Command("book", {"slot_id": slot_id}))
    if ctx.booking.slot.id == slot_id:
        return _kept(ctx)
    slot = next((s for s in _upcoming(ctx) if s.id == slot_id), None)
    if slot is None:
        return _offer(ctx, mode="move", intro=ctx.t("slot_taken"))
    old, new = fmt_when(ctx.booking.slot.starts_at, ctx.lang), fmt_when(slot.starts_at, ctx.lang)
    return _result(
        "confirm_move", [Reply(ctx.t("confirm_move", old=old, new=new), _yes_no(ctx))], slot_id=slot_id
    )


def _at_time(entity: Any, mode: str, ctx: Ctx) -> StepResult:
    """The candidate wrote a time: book it if a slot starts then, else offer the nearest ones."""
    value = datetime.fromisoformat(entity["value"]).astimezone(ctx.tz)
    by_day = entity.get("grain") == "day"
    when = fmt_day(value.date(), ctx.lang) if by_day else fmt_when(value, ctx.lang)
    if (by_day and value.date() < ctx.now.date()) or (not by_day and value <= ctx.now):
        return _offer(ctx, mode=mode, intro=ctx.t("time_past", when=when))
    slots = _upcoming(ctx)
    if by_day:
        same_day = [s for s in slots if s.starts_at.date() == value.date()]
        if same_day:
            return _offer_list(ctx, ctx.t("day_slots", day=when), same_day[:PAGE], mode)
        value = value + timedelta(hours=12)
    else:
        exact = next((s for s in slots if s.starts_at == value), None)
        if exact is not None:
            return _chosen(State("choose_slot", {"mode": mode}), exact.id, ctx)
    if not slots:
        return _offer(ctx, mode=mode)
    nearest = sorted(
        sorted(slots, key=lambda s: abs((s.starts_at - value).total_seconds()))[:3], key=lambda s: s.starts_at
    )
    return _offer_list(ctx, ctx.t("time_no_slot", when=when), nearest, mode)


_FILLER = " \t,.!?;:，。！？；：、的吧呢啊呀吗可以行好就在那请麻烦我想要约定"


def _mostly_time(text: str, entity: Any) -> bool:
    """A message that is little more than a time ("周五下午3点吧", "Friday 9:30 please")."""
    rest = (text[: entity["start"]] + text[entity["end"] :]).lower()
    for w in (
        "please",
        "how about",
        "what about",
        "maybe",
        "ok",
        "at",
        "on",
        "is",
        "fine",
        "works",
        "for me",
    ):
        rest = rest.replace(w, " ")
    return len(rest.strip(_FILLER)) <= 6


_DATE_LIKE = re.compile(
    r"\d\s*(?:点|點|号|號|日|月|时|:\d|am\b|pm\b|a\.m|p\.m)"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*\d",
    re.IGNORECASE,
)


def _unreadable_time(event: Said, ctx: Ctx) -> bool:
    """A date or time written but not understood ("2月30日", "Feb 30 at 10am") while booking: say so,
    instead of answering whatever else the words resembled."""
    booking_phase = ctx.app is not None and {"voice", "documents"} <= set(ctx.app.consents)
    return (
        booking_phase
        and event.payload is None
        and "time" not in event.entities
        and _DATE_LIKE.search(event.text) is not None
    )


def _looks_like_time(text: str) -> bool:
    lowered = text.lower()
    return any(ch.isdigit() for ch in text) or any(
        w in lowered
        for w in (
            "点",
            "号",
            "日",
            "月",
            "周",
            "星期",
            "礼拜",
            "am",
            "pm",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "tomorrow",
            "next",
        )
    )


# ------------------------------------------------------------------ results of commands


def _on_done(state: State, event: Done, ctx: Ctx) -> StepResult:
    name, r = event.command.name, event.result
    status = r.get("status")
    if name == "human":
        effects = (
            (_hr(ctx, "human_requested"),)
            if ctx.app is not None
            else (Effect("notify_hr", {"event": "human_requested", "application_id": None}),)
        )
        return StepResult(
            state, (Reply(ctx.t("human", contact=ctx.hr_contact)), *_reprompt(state, ctx)), effects=effects
        )
    if name == "review":
        done = decisions.on_review_done(state, str(status), ctx)
        if status == "ok":
            return StepResult(done.state, done.replies, effects=(_hr(ctx, "review_requested"),))
        return done
    if name == "link":
        return _linked(status, r, ctx)
    if name == "consent":
        return _consented(event, ctx)
    if name in ("book", "move"):
        return _booked(name, status, r, ctx)
    if name == "cancel":
        if status != "ok":
            return _result("", [Reply(ctx.t("nothing_to_cancel"))])
        when = fmt_when(datetime.fromisoformat(r["starts_at"]).astimezone(ctx.tz), ctx.lang)
        effects = (
            _hr(ctx, "booking_cancelled", slot=r["starts_at"]),
            Effect("cancel_reminders", {"booking_id": r["booking_id"]}),
            hr_sync.stage_changed(ctx),
        )
        return _result(
            "",
            [Reply(ctx.t("cancelled", when=when), (Choice(ctx.t("book_again_btn"), "book"),))],
            effects=effects,
        )
    raise ValueError(f"unknown command {name}")


def _linked(status: str | None, r: Any, ctx: Ctx) -> StepResult:
    if status in ("unknown", "used"):
        key = "code_unknown" if status == "unknown" else "code_used"
        return _result("", [Reply(ctx.t(key, code=r.get("code", "")))])
    if status in ("expired", "withdrawn"):
        return _result("", [Reply(ctx.t(f"code_{status}", contact=ctx.hr_contact))])
    assert ctx.app is not None
    synced: tuple[Effect, ...] = ()
    if status == "already_linked":
        head = [Reply(ctx.t("already_linked", position=_title(ctx)))]
    else:
        synced = (hr_sync.stage_changed(ctx),)
        head = [
            Reply(ctx.t("linked", name=ctx.app.name, position=_title(ctx))),
            Reply(ctx.t("privacy_notice", url=ctx.privacy_url)),
        ]
    if "voice" not in ctx.app.consents:
        nxt = _consent(State(), "voice", "", ctx)
    elif "documents" not in ctx.app.consents:
        nxt = _consent(State(), "documents", "", ctx)
    elif ctx.booking is None:
        nxt = _offer(ctx, mode="book")
    else:
        nxt = _result("", [])
    return StepResult(nxt.state, (*head, *nxt.replies), effects=synced + nxt.effects)


def _consented(event: Done, ctx: Ctx) -> StepResult:
    kind, granted = event.command.args["kind"], event.command.args["granted"]
    head: list[Reply] = []
    effects: tuple[Effect, ...] = ()
    if not granted:
        head.append(
            Reply(ctx.t(f"consent_{'voice' if kind == 'voice' else 'docs'}_declined", contact=ctx.hr_contact))
        )
        effects = (_hr(ctx, f"consent_declined_{kind}"),)
    if kind == "voice":
        nxt = _consent(State(), "documents", "", ctx)
        return StepResult(nxt.state, (*head, *nxt.replies), effects=effects)
    if ctx.app is not None and ctx.app.stage == "consented":  # both answered: the stage moved on
        effects += (hr_sync.stage_changed(ctx),)
    head.append(Reply(ctx.t("consent_done")))
    if ctx.app is not None and ctx.app.interview_mode == "anytime" and interview.can_open(ctx)[0]:
        return StepResult(State(), tuple(head), interview.open_command(ctx, start=False), effects)
    offered = _offer(ctx, mode="book")
    return StepResult(offered.state, (*head, *offered.replies), effects=effects + offered.effects)


def _booked(name: str, status: str | None, r: Any, ctx: Ctx) -> StepResult:
    mode = "move" if name == "move" else "book"
    if status == "full" or status == "missing":
        return _offer(ctx, mode=mode, intro=ctx.t("slot_taken"))
    if status == "past":
        return _offer(ctx, mode=mode, intro=ctx.t("slot_past"))
    if status == "already_booked" and ctx.booking is not None:
        when = fmt_when(ctx.booking.slot.starts_at, ctx.lang)
        choices = (Choice(ctx.t("reschedule_btn"), "yes"), Choice(ctx.t("keep_btn"), "no"))
        return _result("confirm_keep", [Reply(ctx.t("already_booked", when=when), choices)])
    assert ctx.booking is not None
    when = fmt_when(ctx.booking.slot.starts_at, ctx.lang)
    effects = [
        _hr(
            ctx,
            "booking_moved" if name == "move" else "booking_created",
            slot=ctx.booking.slot.starts_at.isoformat(),
        ),
        Effect("schedule_reminders", {"booking_id": ctx.booking.id}),
    ]
    if name == "move" and r.get("old_booking_id"):
        effects.insert(1, Effect("cancel_reminders", {"booking_id": r["old_booking_id"]}))
    if name == "book":
        effects.append(hr_sync.stage_changed(ctx))
    key = "moved" if name == "move" else "booked"
    text = ctx.t(key, when=when, location=_location(ctx))
    return _result("", [Reply(text, _booking_buttons(ctx))], effects=tuple(effects))
