"""Demo content for HR: past applications along the whole funnel (scored interviews, next rounds,
offers, hires, rejections, self-declared demographics for some), so a fresh demo's HR chat has a
funnel, a threshold suggestion and a bias audit to show. Deterministic (a seeded generator)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questions import INDICATORS
from storage.models import Application, Decision, Demographic, Interview, Position

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "晓东",
    "雨欣",
]
REGIONS = ("上海", "江苏", "浙江", "安徽", "北京")


def seed_history(s: Session, *, now: datetime, per_position: int = 60, seed: int = 7) -> int:
    """``per_position`` past applications for each demo position that has none yet; how many added."""
    rng = random.Random(seed)
    added = 0
    for pos in s.scalars(select(Position).order_by(Position.code)):
        if s.scalar(select(Application.id).where(Application.position_id == pos.id).limit(1)) is not None:
            continue
        for i in range(per_position):
            created = now - timedelta(days=rng.randint(10, 120), hours=rng.randint(0, 23))
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            app = Application(
                position_id=pos.id,
                candidate_name=name,
                stage="invited",
                created_at=created,
                updated_at=created,
                salary_expectation=rng.choice([None, 9000, 11000, 14000, 18000, 22000]),
                documents_due_at=created + timedelta(days=pos.documents_days or 7),
            )
            s.add(app)
            s.flush()
            added += 1
            if rng.random() < 0.15:  # never answered the invitation
                continue
            app.booked_at = created + timedelta(days=1)
            app.stage = "booked"
            if rng.random() < 0.12:  # booked but did not come
                continue
            scores = {k: round(min(98.0, max(25.0, rng.gauss(68, 12))), 1) for k in INDICATORS}
            overall = round(sum(scores.values()) / len(scores), 1)
            done = created + timedelta(days=3)
            s.add(
                Interview(
                    application_id=app.id,
                    status="completed",
                    language="zh",
                    seed=i,
                    max_questions=pos.question_count,
                    opens_at=done - timedelta(minutes=30),
                    expires_at=done + timedelta(days=1),
                    started_at=done - timedelta(minutes=25),
                    completed_at=done,
                    turn=pos.question_count,
                    overall=overall,
                    scores=scores,
                    versions={"rubric": "demo", "scorer": "demo"},
                    updated_at=done,
                )
            )
            app.interviewed_at = done
            app.stage = "interviewed"
            if pos.threshold is not None and overall >= pos.threshold:
                app.shortlisted_at, app.stage = done, "shortlisted"
            # people decide: mostly the higher scores go on, with noise
            if overall + rng.gauss(0, 6) >= 70:
                app.next_round_at, app.stage = done + timedelta(days=5), "next_round"
                if overall + rng.gauss(0, 5) >= 72:
                    app.offer_at, app.stage = done + timedelta(days=12), "offer"
                    if rng.random() < 0.8:
                        app.hired_at, app.stage = done + timedelta(days=20), "hired"
            elif rng.random() < 0.6:
                app.rejected_at, app.stage = done + timedelta(days=6), "rejected"
            app.updated_at = done
            for kind in ("next_round", "offer", "hired", "reject"):
                at = getattr(app, {"reject": "rejected_at"}.get(kind, f"{kind}_at"))
                if at is not None:
                    s.add(
                        Decision(
                            application_id=app.id,
                            kind=kind,
                            actor="user:demo",
                            data={},
                            input_versions={},
                            at=at,
                        )
                    )
            if rng.random() < 0.7:
                s.add(
                    Demographic(
                        application_id=app.id,
                        sex=rng.choice(("female", "male")),
                        age_band=rng.choice(("under_25", "25_34", "25_34", "35_44")),
                        region=rng.choice(REGIONS),
                        declared_at=created,
                    )
                )
    return added
