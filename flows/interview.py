"""The voice interview inside the candidate's conversation, as pure functions of (state, event, ctx).

The interview row is the source of truth (what was asked, what it waits for); this module decides
what to say and which command changes the row. The order of things:

  open (intro + "start" button) → start → ask question 1 → answer (voice, or text when allowed)
  → acknowledged, the worker scores it → ``answer_processed`` event → probe / next question /
  another attempt / skip → … → complete (thanks, plain-words feedback, next step).

Pause and resume work until the window closes; after it the interview expires and HR is told.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flows import hr_sync
from flows.context import Command, Ctx, Done, Event, InterviewView, Said, State, StepResult
from flows.texts import fmt_when
from flows.values import Choice, Effect, Reply
from scoring.questions import INDICATOR_NAMES
from scoring.replay import feedback, next_choice

_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_ATTEMPTS = 3  # unusable recordings of one prompt before it is skipped
LATE_GRACE = timedelta(seconds=60)  # beyond a question's time limit before an answer is marked late
EARLY_START = timedelta(minutes=10)  # a booked interview may start this much before its slot
CONTROL_CONFIDENCE = 0.7
CONTROL_MAX_CHARS = 24  # a longer typed message during a question is an answer, not a command …
CONTROL_MAX_CHARS_LATIN = 40  # … (in a language without CJK characters, words are longer)
CONTROL_INTENTS = {
    "start_interview",
    "pause_interview",
    "resume_interview",
    "request_accommodation",
    "request_human",
    "help",
    "ask_progress",
}
PAYLOADS = {
    "iv_start": "start_interview",
    "iv_pause": "pause_interview",
    "iv_resume": "resume_interview",
    "iv_accommodation": "request_accommodation",
    "human": "request_human",
    "status": "ask_progress",
}


def _same(state: State, replies: list[Reply], **kw: Any) -> StepResult:
    """Replies without a step change; the buttons shown become what "1", "2"… pick."""
    if replies:
        state = State(state.step, {**state.data, "choices": [c.payload for r in replies for c in r.choices]})
    return StepResult(state, tuple(replies), **kw)


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


def _title(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.app.position_title.get(ctx.lang) or ctx.app.position_title["zh"]


# ------------------------------------------------------------------ opening


def can_open(ctx: Ctx) -> tuple[bool, str | None]:
    """(may the interview open now, the reason it may not: a message key)."""
    app = ctx.app
    if app is None or {"voice", "documents"} - set(app.consents):
        return False, None
    if not app.consents.get("voice") and not app.text_answers:
        return False, "iv_needs_voice_consent"
    if app.interview_mode == "anytime":
        return app.stage in ("consented", "booked"), None
    if ctx.booking is None:
        return False, "iv_book_first"
    starts = ctx.booking.slot.starts_at
    if ctx.now < starts - EARLY_START:
        return False, "iv_not_yet"
    if ctx.now >= starts + timedelta(hours=app.window_hours):
        return False, "iv_slot_passed"
    return True, None


def open_command(ctx: Ctx, *, start: bool) -> Command:
    assert ctx.app is not None
    if ctx.app.interview_mode == "anytime":
        opens, expires, booking = ctx.now, ctx.now + timedelta(days=ctx.app.window_days), None
    else:
        assert ctx.booking is not None
        opens = ctx.booking.slot.starts_at
        expires = opens + timedelta(hours=ctx.app.window_hours)
        booking = ctx.booking.id
    return Command(
        "iv_open",
        {
            "booking_id": booking,
            "opens_at": opens.isoformat(),
            "expires_at": expires.isoformat(),
            "language": ctx.lang,
            "max_questions": ctx.app.question_count,
            "text_answers": ctx.app.text_answers,
            "start": start,
        },
    )


def intro(ctx: Ctx, iv: InterviewView) -> Reply:
    assert ctx.app is not None
    limits = sorted(q.time_limit_s for q in ctx.bank.questions_for(ctx.app.position_code)) if ctx.bank else []
    minutes = max(1, round(limits[len(limits) // 2] / 60)) if limits else 3
    text = ctx.t(
        "iv_intro",
        position=_title(ctx),
        n=iv.max_questions,
        minutes=minutes,
        until=fmt_when(iv.expires_at.astimezone(ctx.tz), ctx.lang),
    )
    choices = [Choice(ctx.t("iv_start_btn"), "iv_start")]
    if not iv.text_answers:
        choices.append(Choice(ctx.t("iv_accommodation_btn"), "iv_accommodation"))
    choices.append(Choice(ctx.t("human_btn"), "human"))
    return Reply(text, tuple(choices))


# ------------------------------------------------------------------ messages


def on_said(state: State, event: Said, intent: str, ctx: Ctx) -> StepResult | None:
    """Handle a message that concerns the interview; None lets the rest of the journey answer."""
    iv = ctx.interview
    intent = PAYLOADS.get(event.payload or "", intent)
    voice = event.media is not None and event.media.kind in ("voice", "audio")
    if iv is None or not iv.live:
        if voice:
            return _no_question(state, ctx)
        if intent == "start_interview":
            ok, why = can_open(ctx)
            if ok:
                return StepResult(state, command=open_command(ctx, start=True))
            if iv is not None and iv.status == "completed":
                return _same(state, [Reply(ctx.t("iv_already_done"))])
            return _same(state, [Reply(_why_not(ctx, why))])
        if intent == "request_accommodation" and ctx.app is not None:
            return StepResult(state, command=Command("accommodation"))
        return None
    if ctx.now >= iv.expires_at:
        return StepResult(state, command=Command("iv_expire", {"turn": iv.turn}))
    control = _control(event, intent)
    if control == "request_accommodation":
        return StepResult(state, command=Command("accommodation"))
    if control == "request_human":
        return None  # the journey's "human" (HR told, contact given) — the interview waits
    if iv.status == "open":
        if control in ("start_interview", "resume_interview") or intent == "affirm":
            return StepResult(state, command=Command("iv_start"))
        anytime = ctx.app is not None and ctx.app.interview_mode == "anytime"
        if intent in ("schedule_interview", "ask_interview_time") and anytime:
            until = fmt_when(iv.expires_at.astimezone(ctx.tz), ctx.lang)
            return _same(state, [Reply(ctx.t("iv_anytime", until=until)), intro(ctx, iv)])
        if voice:
            return _same(state, [Reply(ctx.t("iv_press_start")), intro(ctx, iv)])
        if control == "help":
            return _same(state, [Reply(ctx.t("iv_help")), intro(ctx, iv)])
        return None
    if iv.status == "paused":
        if control in ("start_interview", "resume_interview") or voice or intent == "affirm":
            return StepResult(state, command=Command("iv_resume"))
        if control in ("help", "ask_progress"):
            return _same(state, [Reply(_progress_text(ctx, iv)), _paused_reply(ctx, iv)])
        return _same(state, [_paused_reply(ctx, iv)])
    # active
    if control == "pause_interview":
        return StepResult(state, command=Command("iv_pause"))
    if control in ("help", "ask_progress"):
        head = ctx.t("iv_help") if control == "help" else _progress_text(ctx, iv)
        return _same(state, [Reply(head), *_current(ctx, iv)])
    if control in ("start_interview", "resume_interview"):
        return _same(state, [Reply(ctx.t("iv_already_started")), *_current(ctx, iv)])
    text = (event.text or "").strip()
    if not voice and not text:
        return None
    if iv.awaiting != "answer":
        return StepResult(state, (Reply(ctx.t("iv_still_scoring")),), command=_extra(event, iv))
    if not voice and not iv.text_answers:
        return _same(state, [Reply(ctx.t("iv_voice_please"), _voice_please_choices(ctx))])
    return StepResult(state, command=_answer(event, iv, ctx))


def _control(event: Said, intent: str) -> str | None:
    """A command word, not an answer: a button, or a short message the classifier is sure about."""
    if intent not in CONTROL_INTENTS:
        return None
    if event.payload is not None:
        return intent
    text = (event.text or "").strip()
    limit = CONTROL_MAX_CHARS if _CJK.search(text) else CONTROL_MAX_CHARS_LATIN
    if event.media is not None or len(text) > limit or event.confidence < CONTROL_CONFIDENCE:
        return None
    return intent


def _answer(event: Said, iv: InterviewView, ctx: Ctx) -> Command:
    late = False
    if iv.asked_at is not None and ctx.bank is not None and iv.question_id is not None:
        limit = timedelta(seconds=ctx.bank.get(iv.question_id).time_limit_s)
        late = ctx.now > iv.asked_at + limit + LATE_GRACE
    media = event.media
    return Command(
        "iv_answer",
        {
            "turn": iv.turn,
            "kind": "voice" if media is not None else "text",
            "media_ref": media.ref if media is not None else None,
            "media_mime": media.mime if media is not None else None,
            "text": None if media is not None else event.text.strip(),
            "late": late,
        },
    )


def _extra(event: Said, iv: InterviewView) -> Command:
    media = event.media
    return Command(
        "iv_extra",
        {
            "kind": "voice" if media is not None else "text",
            "media_ref": media.ref if media is not None else None,
            "media_mime": media.mime if media is not None else None,
            "text": None if media is not None else event.text.strip(),
        },
    )


def _voice_please_choices(ctx: Ctx) -> tuple[Choice, ...]:
    return (
        Choice(ctx.t("iv_accommodation_btn"), "iv_accommodation"),
        Choice(ctx.t("iv_pause_btn"), "iv_pause"),
    )


def _no_question(state: State, ctx: Ctx) -> StepResult:
    if ctx.app is None:
        return _same(state, [Reply(ctx.t("iv_voice_unlinked"))])
    iv = ctx.interview
    if iv is not None and iv.status == "completed":
        return _same(state, [Reply(ctx.t("iv_already_done"))])
    if iv is not None and iv.status == "expired":
        return _same(state, [Reply(ctx.t("iv_expired_already", contact=ctx.hr_contact))])
    ok, why = can_open(ctx)
    if ok:
        return _same(state, [Reply(ctx.t("iv_voice_before_start")), Reply(ctx.t("iv_say_start"))])
    return _same(state, [Reply(ctx.t("iv_no_question") + "\n" + _why_not(ctx, why))])


def _why_not(ctx: Ctx, why: str | None) -> str:
    if why == "iv_not_yet" and ctx.booking is not None:
        return ctx.t("iv_not_yet", when=fmt_when(ctx.booking.slot.starts_at, ctx.lang))
    if why in ("iv_slot_passed", "iv_needs_voice_consent"):
        return ctx.t(why, contact=ctx.hr_contact)
    if why == "iv_book_first":
        return ctx.t("iv_book_first")
    return ctx.t("iv_not_available")


def _paused_reply(ctx: Ctx, iv: InterviewView) -> Reply:
    until = fmt_when(iv.expires_at.astimezone(ctx.tz), ctx.lang)
    return Reply(ctx.t("iv_paused", until=until), (Choice(ctx.t("iv_resume_btn"), "iv_resume"),))


def _asked_count(ctx: Ctx, iv: InterviewView) -> int:
    """Questions put so far (probes not counted): the number of the current one."""
    _, seq = _history(ctx, iv)
    return sum(1 for r in seq if not r.get("is_probe"))


def _history(ctx: Ctx, iv: InterviewView) -> Any:
    assert ctx.app is not None
    return ctx.view.interview_history(iv, ctx.app.position_code)


def _progress_text(ctx: Ctx, iv: InterviewView) -> str:
    h, _ = _history(ctx, iv)
    return ctx.t("iv_progress", done=h.answered, asked=_asked_count(ctx, iv), n=iv.max_questions)


def _current(ctx: Ctx, iv: InterviewView) -> tuple[Reply, ...]:
    """The prompt waiting for an answer, put again."""
    if iv.question_id is None or ctx.bank is None:
        return ()
    if iv.awaiting != "answer":
        return (Reply(ctx.t("iv_scoring_wait")),)
    return (_question_reply(ctx, iv, iv.question_id, iv.is_probe, _asked_count(ctx, iv)),)


def _question_reply(ctx: Ctx, iv: InterviewView, question_id: str, is_probe: bool, number: int) -> Reply:
    assert ctx.bank is not None
    q = ctx.bank.get(question_id)
    minutes = max(1, round(q.time_limit_s / 60))
    how = ctx.t("iv_how_text" if iv.text_answers else "iv_how_voice", minutes=minutes)
    if is_probe:
        probe = q.main_probe
        text = ctx.t("iv_probe", probe=probe.get(ctx.lang) if probe else "", how=how)
    else:
        text = ctx.t("iv_question", n=number, total=iv.max_questions, question=q.prompt(ctx.lang), how=how)
    return Reply(text, (Choice(ctx.t("iv_pause_btn"), "iv_pause"),))


# ------------------------------------------------------------------ what happened outside the chat


def on_event(state: State, event: Event, ctx: Ctx) -> StepResult:
    iv = ctx.interview
    if event.kind == "interview_due":
        if ctx.booking is None or ctx.booking.id != event.data.get("booking_id"):
            return StepResult(state)
        if iv is not None and iv.status not in ("cancelled",):
            return StepResult(state)
        ok, _ = can_open(ctx)
        return StepResult(state, command=open_command(ctx, start=False)) if ok else StepResult(state)
    if event.kind == "text_allowed":
        return _same(state, [Reply(ctx.t("iv_text_allowed"))])
    if event.kind == "expire":
        if iv is not None and iv.live and ctx.now >= iv.expires_at:
            return StepResult(state, command=Command("iv_expire", {"turn": iv.turn}))
        return StepResult(state)
    if event.kind != "answer_processed" or iv is None or not iv.live:
        return StepResult(state)
    d = event.data
    if d.get("turn") != iv.turn or iv.awaiting != "scoring" or d.get("status") in ("extra", "pending"):
        return StepResult(state)  # stale (a re-run, or an extra answer): nothing to say
    if d["status"] == "scored":
        return _advance(state, ctx, iv)
    if d["status"] == "failed":
        return _same(
            state,
            [Reply(ctx.t("iv_technical"))],
            command=Command("iv_retry", {"turn": iv.turn, "count": False}),
            effects=(_hr(ctx, "scoring_failed", problem=d.get("problem")),),
        )
    problem = d.get("problem") or "unreadable"
    if iv.attempts + 1 < MAX_ATTEMPTS:
        return StepResult(
            state,
            (Reply(ctx.t(f"iv_problem_{problem}") + " " + ctx.t("iv_try_again")),),
            command=Command("iv_retry", {"turn": iv.turn, "count": True}),
        )
    return StepResult(
        state,
        (Reply(ctx.t(f"iv_problem_{problem}") + " " + ctx.t("iv_skipping")),),
        command=Command("iv_skip", {"turn": iv.turn}),
        effects=(_hr(ctx, "question_skipped", question=iv.question_id, problem=problem),),
    )


def _advance(state: State, ctx: Ctx, iv: InterviewView) -> StepResult:
    """The next probe or question, or the end."""
    h, _ = _history(ctx, iv)
    choice = next_choice(h, seed=iv.seed, max_questions=iv.max_questions)
    if choice is None:
        scores = h.scores()
        return StepResult(
            state,
            command=Command(
                "iv_complete",
                {
                    "overall": scores.overall,
                    "scores": scores.scores(),
                    "versions": scores.versions.to_dict(),
                    "answered": h.answered,
                },
            ),
        )
    return StepResult(
        state,
        command=Command(
            "iv_ask",
            {
                "turn": iv.turn,
                "question_id": choice.question.id,
                "is_probe": choice.is_probe,
                "record": choice.record(),
            },
        ),
    )


# ------------------------------------------------------------------ results of commands


def on_done(state: State, event: Done, ctx: Ctx) -> StepResult:
    name, r = event.command.name, event.result
    iv = ctx.interview
    ok = r.get("status") == "ok"
    if name == "accommodation":
        return _same(
            state,
            [Reply(ctx.t("iv_accommodation_sent", contact=ctx.hr_contact))],
            effects=(_hr(ctx, "accommodation_requested"),),
        )
    if iv is None:
        return _same(state, [Reply(ctx.t("iv_not_available"))])
    if name == "iv_open":
        if not event.command.args.get("start"):
            return _same(state, [intro(ctx, iv)], effects=(_hr(ctx, "interview_opened"),))
        if iv.status == "open":
            return _same(state, [intro(ctx, iv)], command=Command("iv_start"))
        return _same(state, [*_current(ctx, iv)])
    if name == "iv_start":
        if not ok:
            return _same(state, [*_current(ctx, iv)])
        started = _advance(state, ctx, iv)
        return StepResult(
            started.state,
            started.replies,
            started.command,
            (*started.effects, hr_sync.stage_changed(ctx)),
        )
    if name == "iv_ask":
        if not ok:
            return StepResult(state)
        number = _asked_count(ctx, iv)
        assert iv.question_id is not None
        head: list[Reply] = []
        if number == 1 and not iv.is_probe:
            head.append(Reply(ctx.t("iv_first")))
        reply = _question_reply(ctx, iv, iv.question_id, iv.is_probe, number)
        if iv.status == "paused":
            return _same(state, [Reply(ctx.t("iv_saved_while_paused")), _paused_reply(ctx, iv)])
        return _same(state, [*head, reply])
    if name == "iv_answer":
        if not ok:
            return _same(state, [Reply(ctx.t("iv_still_scoring"))])
        key = "iv_ack_late" if event.command.args.get("late") else "iv_ack"
        return _same(
            state, [Reply(ctx.t(key))], effects=(Effect("score_answer", {"answer_id": r["answer_id"]}),)
        )
    if name == "iv_extra":
        return StepResult(state)
    if name == "iv_retry":
        return _same(state, [*_current(ctx, iv)]) if ok else StepResult(state)
    if name == "iv_skip":
        return _advance(state, ctx, iv) if ok else StepResult(state)
    if name == "iv_pause":
        return _same(state, [_paused_reply(ctx, iv)]) if ok else _same(state, [*_current(ctx, iv)])
    if name == "iv_resume":
        return _same(state, [Reply(ctx.t("iv_resumed")), *_current(ctx, iv)])
    if name == "iv_expire":
        if not ok:
            return StepResult(state)
        return _same(
            state,
            [Reply(ctx.t("iv_expired", contact=ctx.hr_contact))],
            effects=(_hr(ctx, "interview_expired"),),
        )
    if name == "iv_complete":
        if not ok:
            return StepResult(state)
        return _completed(state, ctx, iv)
    raise ValueError(f"unknown interview command {name}")


def _completed(state: State, ctx: Ctx, iv: InterviewView) -> StepResult:
    h, _ = _history(ctx, iv)
    scores = h.scores()
    strengths, relative, work_on = feedback(scores)
    lines = [ctx.t("iv_thanks")]
    if strengths:
        names = (ctx.t("list_sep")).join(INDICATOR_NAMES[i].get(ctx.lang) for i in strengths)
        lines.append(ctx.t("iv_strengths_relative" if relative else "iv_strengths", names=names))
    if work_on is not None:
        lines.append(ctx.t(f"iv_work_on_{work_on}"))
    lines.append(ctx.t("iv_next_step"))
    return _same(
        state,
        [
            Reply(
                "\n".join(lines), (Choice(ctx.t("status_btn"), "status"), Choice(ctx.t("human_btn"), "human"))
            )
        ],
        effects=(
            _hr(ctx, "interview_completed", answered=h.answered),
            hr_sync.stage_changed(ctx),
            hr_sync.interview_scored(
                ctx,
                overall=scores.overall,
                scores=scores.scores(),
                versions=scores.versions.to_dict(),
                answered=h.answered,
            ),
        ),
    )
