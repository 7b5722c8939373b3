"""Overdue detection on the scheduler: a first-round slot passed without an interview, an "any time"
interview expired unfinished, documents still missing past their deadline. Each application is flagged
once per reason (a ``decisions`` row by ``system:scheduler``) and HR in scope is told in chat; HR then
reminds one or all from the chat ("提醒所有逾期的候选人")."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import hr_actions, hr_queries
from storage.models import Application, Decision, OutboxItem, Position

log = logging.getLogger("talentbot.overdue")
ACTOR = "system:scheduler"


def flag(
    sessions: sessionmaker[Session], *, now: datetime, required: Mapping[str, Sequence[str]] | None
) -> int:
    """Flag what became overdue since the last sweep; how many were flagged."""
    n = 0
    with sessions.begin() as s:
        every = hr_queries.overdue(s, hr_queries.Scope(0, ("*",)), now=now, required=required)
        if not every:
            return 0
        ids = [r.id for r in every]
        seen = {
            (a, (d or {}).get("why"))
            for a, d in s.execute(
                select(Decision.application_id, Decision.data).where(
                    Decision.kind == "overdue_flagged", Decision.application_id.in_(ids)
                )
            )
        }
        for r in every:
            if (r.id, r.why) in seen:
                continue
            app = s.get(Application, r.id)
            if app is None:
                continue
            pos = s.get(Position, app.position_id)
            hr_actions.decide(s, app, kind="overdue_flagged", actor=ACTOR, now=now, data={"why": r.why})
            s.add(
                OutboxItem(
                    kind="notify_hr",
                    payload={
                        "event": "overdue",
                        "application_id": app.id,
                        "candidate": app.candidate_name,
                        "position": pos.code if pos else None,
                        "why": r.why,
                        "at": now.isoformat(),
                    },
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
            n += 1
    if n:
        log.info("flagged %d overdue application(s)", n)
    return n
