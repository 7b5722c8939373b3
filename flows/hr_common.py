"""What the HR commands share: their environment, the HR user's scope, finding a candidate or a
position within it, and the shapes of the candidate events and HR-system updates they return."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.documents import DocumentRules
from flows.hr import HrCtx
from scoring.questions import Bank
from storage import hr_queries as q
from storage.files import FileStore
from storage.models import Application, Position, User

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


def scope_of(ctx: HrCtx) -> q.Scope:
    return q.Scope(ctx.user_id, tuple(ctx.scope))


def app_in_scope(s: Session, ctx: HrCtx, app_id: int) -> Application | None:
    """The application when it is in the HR user's scope (else None: same as nonexistent)."""
    row = s.execute(
        select(Application).join(Position).where(Application.id == int(app_id), scope_of(ctx).clause())
    ).scalar_one_or_none()
    if row is None:
        log.info("HR user %s asked for application %s: not in scope or missing", ctx.user_id, app_id)
    return row


def title_of(pos: Position, lang: str) -> str:
    return pos.title_zh if lang == "zh" else pos.title_en


def candidate_lang(s: Session, app: Application) -> str:
    user = s.get(User, app.user_id) if app.user_id is not None else None
    return (user.language if user is not None else None) or "zh"


def event_for(kind: str, app: Application, key: str, **data: Any) -> dict[str, Any]:
    return {"kind": kind, "application_id": app.id, "key": key, "data": data}


def sync_item(app: Application, pos: Position, event: str = "stage_changed", **facts: Any) -> dict[str, Any]:
    return {"event": event, "application_id": app.id, "position": pos.code, "stage": app.stage, **facts}


def named_position(s: Session, ctx: HrCtx, text: str | None) -> tuple[Position | None, list[Position]]:
    """The position HR named ("柜员", "TELLER", "Relationship Manager"), among those in scope."""
    every = q.positions_in_scope(s, scope_of(ctx))
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


def period_of(value: Any) -> tuple[date | None, date | None]:
    if not value:
        return None, None
    a, b = value
    return date.fromisoformat(str(a)[:10]), date.fromisoformat(str(b)[:10])


def bounds(since: date | None, until: date | None, ctx: HrCtx) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(since, time(), ctx.tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), ctx.tz) if until else None
    return start, end


def unknown_position(named: str, every: Sequence[Position], ctx: HrCtx) -> dict[str, Any]:
    params = {"position": named, "known": known_positions(every, ctx.lang)}
    return {"status": "bad_request", "why": "position", "params": params}


def known_positions(every: Sequence[Position], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(f"{title_of(p, lang)} ({p.code})" for p in every)


def store_file(env: HrEnv, data: bytes, name: str, mime: str) -> dict[str, str]:
    assert env.files is not None, "HR files need the file store"
    stored = env.files.put(data)
    return {"name": name, "mime": mime, "url": env.file_url(stored.sha256, name), "sha256": stored.sha256}


# ------------------------------------------------------------------ reads


CLOSED = ("rejected", "hired", "withdrawn")


def candidate(
    s: Session, ctx: HrCtx, app_id: Any, *, closed: Sequence[str] = ()
) -> tuple[Application, Position] | dict[str, Any]:
    """The application and its position when it is in scope and not at a ``closed`` stage; otherwise
    the command's answer ("missing" — out of scope looks the same — or "conflict" with the stage)."""
    app = app_in_scope(s, ctx, app_id)
    if app is None:
        return {"status": "missing"}
    if app.stage in closed:
        return conflict(app)
    pos = s.get(Position, app.position_id)
    assert pos is not None
    return app, pos


def conflict(app: Application) -> dict[str, Any]:
    """The answer when the application's stage does not allow what HR asked."""
    return {"status": "conflict", "name": app.candidate_name, "stage": app.stage}


def ok(app: Application, **more: Any) -> dict[str, Any]:
    return {"status": "ok", "name": app.candidate_name, "id": app.id, **more}
