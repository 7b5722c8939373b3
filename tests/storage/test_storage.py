"""The store on SQLite and PostgreSQL: migrations, constraints the domain relies on, privacy of codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from storage import repo
from storage.db import alembic_config, current_revision, make_engine, session_factory
from storage.models import Application, Booking, Invitation, Slot
from storage.seed import seed
from tests.conftest import NOW, TZ

TABLES = {
    "users",
    "identities",
    "positions",
    "applications",
    "invitations",
    "consents",
    "slots",
    "bookings",
    "conversations",
    "processed_messages",
    "outbox",
    "deliveries",
    "audit_log",
    "interviews",
    "answers",
    "answer_scores",
    "api_tokens",
    "documents",
    "link_codes",
    "demographics",
    "decisions",
    "offers",
    "employees",
    "reviews",
    "onboarding_items",
    "enrolments",
    "training_requests",
}


def test_migrations_create_and_drop_every_table(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    assert current_revision(engine) == "0006"
    assert set(inspect(engine).get_table_names()) >= TABLES
    command.downgrade(alembic_config(db_url), "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    command.upgrade(alembic_config(db_url), "head")
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.fixture
def sessions(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with factory.begin() as s:
        from bots.settings import ROOT

        seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ)
    yield factory
    engine.dispose()


def test_seed_is_idempotent_and_lays_two_weeks_of_working_day_slots(sessions) -> None:  # type: ignore[no-untyped-def]
    from bots.settings import ROOT

    with sessions.begin() as s:
        assert seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ) == {"positions": 0, "slots": 0}
        slots = list(s.scalars(select(Slot)))
        days = {x.starts_at.astimezone(TZ).date() for x in slots}
        assert len(days) == 10 and all(d.weekday() < 5 for d in days)
        assert min(days) > NOW.date() and max(days) <= (NOW + timedelta(days=14)).date()
        assert [p.code for p in repo.positions(s)] == ["RISK", "RM", "TELLER"]


def test_invitation_codes_are_stored_only_as_hashes(sessions, db_url: str) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        pos = repo.position_by_code(s, "teller")
        _, code = repo.create_application(s, position=pos, name="张三", now=NOW)
    assert len(code) == 8 and not set(code) & set("01ILO")
    with sessions() as s:
        inv = s.scalars(select(Invitation)).one()
        assert inv.code_sha256 == repo.code_hash(code) and code not in inv.code_sha256
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM invitations")) for v in row)
        assert code not in dump


def test_one_active_booking_per_application_is_enforced_by_the_database(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        pos = repo.position_by_code(s, "TELLER")
        app, _ = repo.create_application(s, position=pos, name="张三", now=NOW)
        slot_a, slot_b = repo.open_slots(s, position_id=pos.id, after=NOW, limit=2)
        s.add(Booking(application_id=app.id, slot_id=slot_a.id, status="active", created_at=NOW))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Booking(application_id=app.id, slot_id=slot_b.id, status="active", created_at=NOW))
    with sessions.begin() as s:  # a cancelled one beside the active one is fine
        s.add(Booking(application_id=app.id, slot_id=slot_b.id, status="cancelled", created_at=NOW))


def test_times_round_trip_as_aware_utc(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s:
        slot = s.scalars(select(Slot).order_by(Slot.starts_at)).first()
        assert slot.starts_at.utcoffset() == timedelta(0)
        assert slot.starts_at.astimezone(TZ).hour == 9


def test_withdrawn_application_code_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        pos = repo.position_by_code(s, "RM")
        app, code = repo.create_application(s, position=pos, name="王五", now=NOW)
        app.stage = "withdrawn"
    with sessions.begin() as s:
        r = repo.link_invitation(
            s,
            code=code.lower(),
            platform="t",
            external_id="x",
            conversation_id="x",
            display_name=None,
            language="zh",
            now=NOW,
        )
        assert r.status == "withdrawn"
        assert s.get(Application, app.id).user_id is None
