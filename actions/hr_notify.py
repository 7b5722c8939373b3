"""HR notices in chat: an outbox ``notify_hr`` item becomes a message to every HR user whose scope
covers the application's position, on the chat app they used last (a delivery row, sent like any
proactive message). Without a linked HR user, or for routine events, a log line is all there is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.texts import Catalog
from storage import repo
from storage.accounts import in_scope
from storage.models import Application, Identity, Position, User

log = logging.getLogger("talentbot.hr")

# what reaches HR in chat; the rest (interview opened, …) is logged only
CHAT_EVENTS = frozenset(
    {
        "human_requested",
        "review_requested",
        "interview_completed",
        "documents_complete",
        "no_slots_left",
        "scoring_failed",
        "question_skipped",
        "accommodation_requested",
        "interview_expired",
        "booking_cancelled",
        "hr_sync_dead",
        "onboarding_form_confirmed",
        "course_completed",
        "overdue",
    }
)


class HrNotifier:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        clock: Callable[[], datetime],
        on_delivery: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions, self.catalog, self.clock = sessions, catalog, clock
        self.on_delivery = on_delivery

    def __call__(self, payload: Mapping[str, Any]) -> None:
        event = str(payload.get("event") or "")
        log.info(
            "HR notice: %s application=%s candidate=%s position=%s",
            event,
            payload.get("application_id"),
            payload.get("candidate"),
            payload.get("position"),
        )
        if event not in CHAT_EVENTS:
            return
        if self.notify(payload):
            self.on_delivery()

    def training_request(self, payload: Mapping[str, Any]) -> None:
        """An employee's training request: to the HR users of their department, with approve/decline."""
        from storage import employees

        now = self.clock()
        n = 0
        with self.sessions.begin() as s:
            dept = str(payload.get("department") or "")
            codes = [p.code for p in s.scalars(select(Position).where(Position.department == dept))]
            for user in employees.department_hr(s, dept, codes):
                ident = self._identity(s, user.id)
                if ident is None:
                    continue
                lang = user.language or "zh"
                text = self.catalog.t(
                    lang,
                    "hr_notice_training_request",
                    name=payload.get("name", ""),
                    position=payload.get("position", ""),
                    detail=str(payload.get("text", ""))[:300],
                )
                rid = payload.get("request_id")
                body = {
                    "text": text,
                    "choices": [
                        {"title": self.catalog.t(lang, "hr_btn_approve"), "payload": f"train_ok:{rid}"},
                        {"title": self.catalog.t(lang, "hr_btn_decline"), "payload": f"train_no:{rid}"},
                    ],
                }
                repo.deliver(
                    s, platform=ident.platform, conversation_id=ident.conversation_id, body=body, now=now
                )
                n += 1
        log.info("training request %s sent to %d HR user(s)", payload.get("request_id"), n)
        if n:
            self.on_delivery()

    @staticmethod
    def _identity(s: Session, user_id: int) -> Identity | None:
        return s.scalar(
            select(Identity)
            .where(Identity.user_id == user_id)
            .order_by(Identity.last_seen_at.desc(), Identity.id.desc())
            .limit(1)
        )

    def notify(self, payload: Mapping[str, Any]) -> int:
        """Write the notice for each HR user in scope; how many were written."""
        now = self.clock()
        n = 0
        with self.sessions.begin() as s:
            app_id = payload.get("application_id")
            app = s.get(Application, int(app_id)) if app_id else None
            pos = s.get(Position, app.position_id) if app is not None else None
            if pos is None and payload.get("employee_id"):  # an employee who came from elsewhere
                from storage.models import Employee

                emp = s.get(Employee, int(payload["employee_id"]))
                if emp is not None:
                    pos = s.scalar(select(Position).where(Position.department == emp.department).limit(1))
            for user in s.scalars(select(User).where(User.role == "hr")):
                if pos is not None and not in_scope(user, pos):
                    continue
                if pos is None and "*" not in (user.scope or []):
                    continue  # no application: only HR with the whole bank in scope hears of it
                ident = self._identity(s, user.id)
                if ident is None:
                    continue
                text = self.text(payload, app, pos, user.language or "zh")
                body = {"text": text, "choices": []}
                if app is not None:
                    body["choices"] = [
                        {
                            "title": self.catalog.t(user.language or "zh", "hr_btn_status"),
                            "payload": f"status:{app.id}",
                        }
                    ]
                repo.deliver(
                    s, platform=ident.platform, conversation_id=ident.conversation_id, body=body, now=now
                )
                n += 1
        return n

    def text(
        self, payload: Mapping[str, Any], app: Application | None, pos: Position | None, lang: str
    ) -> str:
        event = str(payload.get("event"))
        key = f"hr_notice_{event}"
        if key not in self.catalog.messages:
            key = "hr_notice_generic"
        title = "" if pos is None else pos.title_zh if lang == "zh" else pos.title_en
        name = app.candidate_name if app is not None else str(payload.get("candidate") or "")
        params = {
            "event": event,
            "name": name,
            "id": app.id if app is not None else "",
            "position": title,
            "stage": app.stage if app is not None else "",
            "detail": str(payload.get("problem") or payload.get("error") or payload.get("hr_event") or ""),
        }
        why_key = f"hr_overdue_{payload.get('why')}"
        if event == "overdue" and why_key in self.catalog.messages:
            params["detail"] = self.catalog.t(lang, why_key)
        text = self.catalog.t(lang, key, **params)
        if event == "interview_completed" and app is not None and app.stage == "shortlisted":
            text += "\n" + self.catalog.t(lang, "hr_notice_shortlisted_note")
        return text
