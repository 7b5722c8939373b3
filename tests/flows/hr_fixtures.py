"""Building blocks for the HR-in-chat tests: an HR user linked to a chat, candidates with interviews."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from bots.testing import TestBot
from storage import accounts, repo
from storage.documents import issue_link_code
from storage.models import Application, Consent, Identity, Interview, User
from tests.conftest import NOW

_n = itertools.count(1)
SCORES = {
    "communication": 58.0,
    "logic": 74.0,
    "numeracy": 86.0,
    "risk": 70.0,
    "composure": 66.0,
    "learning": 72.0,
    "finance": 55.0,
    "customer": 68.0,
}


def hr_bot(
    rt: Runtime, *, scope: str = "TELLER", name: str = "王敏", lang: str = "zh", user: str | None = None
) -> tuple[TestBot, int]:
    """An HR user scoped to ``scope`` (comma-separated) whose chat sent their link code."""
    with rt.sessions.begin() as s:
        u = accounts.create_hr_user(s, name=name, scope=scope.split(","), language=lang, now=NOW)
        code, _ = issue_link_code(s, user_id=u.id, now=NOW, ttl=timedelta(days=7))
        uid = u.id
    bot = TestBot(rt, user=user or f"hr-{next(_n)}")
    bot.say(code)
    return bot, uid


def candidate(
    rt: Runtime,
    *,
    position: str = "TELLER",
    name: str = "张三",
    overall: float | None = None,
    scores: dict[str, float] | None = None,
    stage: str | None = None,
    salary: int | None = None,
    chat: str | None = None,
    lang: str = "zh",
    created: datetime | None = None,
    platform: str = "test",
) -> int:
    """An application; with ``chat`` a linked chat identity; with ``overall`` a completed interview."""
    now = created or NOW
    with rt.sessions.begin() as s:
        pos = repo.position_by_code(s, position)
        assert pos is not None
        app, _ = repo.create_application(s, position=pos, name=name, now=now, salary_expectation=salary)
        if chat is not None:
            user = User(display_name=name, role="candidate", language=lang, created_at=now)
            s.add(user)
            s.flush()
            app.user_id = user.id
            s.add(
                Identity(
                    user_id=user.id,
                    platform=platform,
                    external_id=chat,
                    conversation_id=chat,
                    last_seen_at=now,
                )
            )
            for kind in ("voice", "documents"):
                s.add(
                    Consent(
                        user_id=user.id,
                        application_id=app.id,
                        kind=kind,
                        granted=True,
                        notice_version="test",
                        at=now,
                    )
                )
            app.stage = "consented"
        if overall is not None:
            s.add(
                Interview(
                    application_id=app.id,
                    status="completed",
                    language=lang,
                    seed=1,
                    max_questions=6,
                    opens_at=now,
                    expires_at=now + timedelta(days=3),
                    started_at=now,
                    completed_at=now + timedelta(minutes=20),
                    turn=6,
                    overall=overall,
                    scores=scores or dict(SCORES),
                    versions={"rubric": "r-test", "scorer": "s-test"},
                    updated_at=now,
                )
            )
            app.stage = "interviewed"
            app.interviewed_at = now + timedelta(minutes=20)
        if stage is not None:
            app.stage = stage
        s.flush()
        return app.id


def app_row(rt: Runtime, app_id: int) -> Application:
    with rt.sessions() as s:
        app = s.get(Application, app_id)
        assert app is not None
        s.expunge(app)
        return app


def rows(rt: Runtime, model: Any, **where: Any) -> list[Any]:
    with rt.sessions() as s:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        out = list(s.scalars(q))
        for o in out:
            s.expunge(o)
        return out
