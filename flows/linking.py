"""One person, several chat apps: a linked candidate asks for a one-time code and sends it from the
other app, whose chat identity then belongs to the same person (pure functions of state, event, ctx).

"绑定其他应用" / "link another app" → ``link_code`` (a 6-character code, 10 minutes, only its sha256
kept) → on the other platform an unknown chat sending the code → ``link_app`` → linked, or a polite
refusal (unknown, used, expired, too many tries; a chat linked to somebody else is never moved).
Proactive messages then go to whichever app the person wrote from last (``Identity.last_seen_at``).

A bare code carries no language of its own: the replies then use the language of the person the code
belongs to (the engine keeps it for the new chat too).
"""

from __future__ import annotations

import dataclasses
import re

from flows.context import Command, Ctx, Done, Said, State, StepResult
from flows.values import Choice, Reply

COMMANDS = frozenset({"link_code", "link_app"})
INTENT = "link_other_app"
TTL_MINUTES = 10  # storage.documents.LINK_CODE_TTL
_C = "[A-HJKMNP-Za-hjkmnp-z2-9]"  # no 0/O, 1/I/L
CODE = re.compile(rf"(?<![A-Za-z0-9-])({_C}{{3}})-?({_C}{{3}})(?![A-Za-z0-9]|-[A-Za-z0-9])")
_DIGIT = re.compile("[2-9]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_FILLER = " \t\r\n,.:;!?'\"，。：；！？、“”‘’()（）[]【】"


def find_code(text: str | None) -> str | None:
    """The first link code in ``text`` ("K7M2QX", "k7m-2qx"), upper case without the dash."""
    if not text or len(text) > 200:
        return None
    for m in CODE.finditer(text):
        if _is_code(m):
            return (m.group(1) + m.group(2)).upper()
    return None


def _is_code(m: re.Match[str]) -> bool:
    code = m.group(1) + m.group(2)
    digits = len(_DIGIT.findall(code))
    return digits >= 2 and len(code) - digits >= 2


def strip_codes(text: str) -> str:
    """``text`` without its link codes (a six-letter word such as "status" or "resume" is not one)."""
    return CODE.sub(lambda m: " " if _is_code(m) else m.group(0), text)


def has_words(text: str | None) -> bool:
    """Whether a message says anything in a language besides a link code."""
    rest = strip_codes(text or "")
    return bool(_CJK.search(rest) or _LATIN_WORD.search(rest))


def _only_code(text: str) -> bool:
    return find_code(text) is not None and not strip_codes(text).strip(_FILLER)


# ------------------------------------------------------------------ messages


def on_said(state: State, event: Said, intent: str, ctx: Ctx) -> StepResult | None:
    """A link code, or "link another app". In a chat nobody is linked to, a code anywhere in the message
    links it; in a linked chat only a message that is just a code is one (it gets "send it from the
    other app")."""
    text = event.text or ""
    code = find_code(text) if event.payload is None and "invite_code" not in event.entities else None
    if code is not None and (ctx.app is None or _only_code(text)):
        return StepResult(state, command=Command("link_app", {"code": code, "worded": has_words(text)}))
    if intent != INTENT or event.payload is not None:
        return None
    if ctx.app is None:
        return StepResult(state, (Reply(ctx.t("link_first_invite")),))
    return StepResult(state, command=Command("link_code"))


# ------------------------------------------------------------------ results of commands


def on_done(state: State, event: Done, ctx: Ctx) -> StepResult:
    r = event.result
    status = r.get("status")
    if event.command.name == "link_code":
        if status != "ok":
            return StepResult(state, (Reply(ctx.t("link_first_invite")),))
        text = ctx.t("link_code_issued", code=r["code"], minutes=TTL_MINUTES)
        return StepResult(state, (Reply(text),))
    language = r.get("language")
    if not event.command.args.get("worded") and language in ("zh", "en"):
        ctx = dataclasses.replace(ctx, lang=language)
    if status == "ok" and ctx.app is not None:
        title = ctx.app.position_title.get(ctx.lang) or ctx.app.position_title["zh"]
        text = ctx.t("link_ok", name=ctx.app.name, position=title)
        return StepResult(State(), (Reply(text, (Choice(ctx.t("status_btn"), "status"),)),))
    if status == "already_linked":
        return StepResult(state, (Reply(ctx.t("link_already")),))
    if status in ("other_user", "too_many", "expired", "used"):
        return StepResult(state, (Reply(ctx.t(f"link_{status}", contact=ctx.hr_contact)),))
    return StepResult(state, (Reply(ctx.t("link_unknown"), (Choice(ctx.t("human_btn"), "human"),)),))


__all__ = ["CODE", "COMMANDS", "INTENT", "find_code", "has_words", "on_done", "on_said", "strip_codes"]
