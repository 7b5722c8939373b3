"""Load the demo bank from content/: positions and slots over the next two weeks. Idempotent."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Position, Slot


def load_bank(content_dir: Path) -> dict[str, Any]:
    with open(content_dir / "positions.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def seed(s: Session, *, content_dir: Path, now: datetime, tz: ZoneInfo, days: int = 14) -> dict[str, int]:
    bank = load_bank(content_dir)
    added_positions = added_slots = 0
    for p in bank["positions"]:
        pos = s.scalar(select(Position).where(Position.code == p["code"]))
        fields = {
            k: p[k]
            for k in ("title_zh", "title_en", "department", "location_zh", "location_en", "interview_minutes")
        }
        iv = p.get("interview") or {}
        fields.update(
            interview_mode=iv.get("mode", "slot"),
            interview_window_days=int(iv.get("window_days", 3)),
            interview_window_hours=int(iv.get("window_hours", 24)),
            question_count=int(iv.get("questions", 6)),
            text_answers=bool(iv.get("text_answers", False)),
        )
        hiring = p.get("hiring") or {}
        if pos is None:
            pos = Position(code=p["code"], active=True, **fields)
            s.add(pos)
            s.flush()
            added_positions += 1
        else:
            for k, v in fields.items():
                setattr(pos, k, v)
        # HR may change these (talentbot positions threshold): the content only fills what is unset
        for k in ("threshold", "grade", "salary_min", "salary_max"):
            if getattr(pos, k) is None and hiring.get(k) is not None:
                setattr(pos, k, hiring[k])
        if hiring.get("documents_days"):
            pos.documents_days = int(hiring["documents_days"])
        existing = set(s.scalars(select(Slot.starts_at).where(Slot.position_id == pos.id)))
        today = now.astimezone(tz).date()
        for d in range(1, days + 1):
            day = today + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for hhmm in p["slots"]["times"]:
                hh, mm = (int(x) for x in hhmm.split(":"))
                start = datetime.combine(day, time(hh, mm), tzinfo=tz)
                if start in existing:
                    continue
                s.add(
                    Slot(
                        position_id=pos.id,
                        starts_at=start,
                        ends_at=start + timedelta(minutes=pos.interview_minutes),
                        capacity=int(p["slots"]["capacity"]),
                        booked=0,
                    )
                )
                added_slots += 1
    return {"positions": added_positions, "slots": added_slots}
