"""The candidate's side of HR's decisions (pure): a nudge, an invitation to the next round, the
decision with its feedback, the offer letter, welcome aboard — each arrives as an ``Event`` posted
after HR's transaction committed, and becomes a message in the candidate's own chat.

Also the candidate's request for a human review of an automated result (``request_review``).
"""

from __future__ import annotations

from flows.context import Command, Ctx, Event, State, StepResult
from flows.texts import fmt_when
from flows.values import Choice, FileRef, Reply

KINDS = frozenset({"hr_nudge", "next_round", "rejected", "offer_sent", "hired"})
REVIEWABLE = frozenset({"interviewed", "shortlisted", "rejected"})


def _title(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.app.position_title.get(ctx.lang) or ctx.app.position_title["zh"]


def on_event(state: State, event: Event, ctx: Ctx, offer_slots: object, checklist: object) -> StepResult:
    """``offer_slots(ctx, mode=..., intro=...)`` and ``checklist(ctx)`` come from the candidate flow."""
    d = event.data
    if ctx.app is None:
        return StepResult(state)
    if event.kind == "next_round":
        intro = ctx.t("next_round_invite", position=_title(ctx))
        return offer_slots(ctx, mode="book", intro=intro)  # type: ignore[operator,no-any-return]
    if event.kind == "rejected":
        return StepResult(State(), (Reply(str(d.get("text") or ctx.t("decision_generic"))),))
    if event.kind == "offer_sent":
        f = d.get("file") or {}
        files = (FileRef(f["name"], f["mime"], f["url"]),) if f.get("url") else ()
        return StepResult(State(), (Reply(ctx.t("offer_sent_candidate", position=_title(ctx)), (), files),))
    if event.kind == "hired":
        return StepResult(State(), (Reply(ctx.t("hired_welcome", position=_title(ctx))),))
    # hr_nudge: a polite reminder of what is pending, by why HR's list said they were overdue
    why = d.get("why") or "general"
    if why == "missed_interview" and ctx.booking is not None:
        missed = ctx.t("nudge_missed", when=fmt_when(ctx.booking.slot.starts_at, ctx.lang))
        offered: StepResult = offer_slots(ctx, mode="move", intro=f"{missed}\n{ctx.t('nudge_pick')}")  # type: ignore[operator]
        if not any(r.choices for r in offered.replies):  # no times left: still say why we write
            return StepResult(offered.state, (Reply(missed), *offered.replies), effects=offered.effects)
        return offered
    if why == "documents_missing":
        lines = [ctx.t("nudge_documents", position=_title(ctx))]
        extra = checklist(ctx)  # type: ignore[operator]
        if extra:
            lines.append(str(extra))
        return StepResult(state, (Reply("\n".join(lines)),))
    if why == "interview_expired":
        return StepResult(state, (Reply(ctx.t("nudge_expired", contact=ctx.hr_contact)),))
    if ctx.app.stage in ("linked", "consented") and ctx.booking is None:
        return offer_slots(ctx, mode="book", intro=ctx.t("nudge_book", position=_title(ctx)))  # type: ignore[operator,no-any-return]
    return StepResult(state, (Reply(ctx.t("nudge_general", position=_title(ctx))),))


def wants_review(ctx: Ctx) -> bool:
    """ "I want a person to look at my result": after the interview, a request for a human review."""
    return ctx.app is not None and ctx.app.stage in REVIEWABLE


def request_review(state: State) -> StepResult:
    return StepResult(state, command=Command("review"))


def on_review_done(state: State, status: str, ctx: Ctx) -> StepResult:
    key = "review_requested" if status == "ok" else "review_already"
    return StepResult(
        State(), (Reply(ctx.t(key, contact=ctx.hr_contact), (Choice(ctx.t("status_btn"), "status"),)),)
    )
