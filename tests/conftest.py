"""Fixtures: a migrated database per test (SQLite always; PostgreSQL too when
TALENTBOT_TEST_DATABASE_URL names one), a fake clock, a runtime and a TestBot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bots.runtime import Runtime, build
from bots.settings import ROOT, Settings
from bots.testing import FakeClock, TestBot
from storage import repo
from storage.db import make_engine, upgrade
from storage.seed import seed

TZ = ZoneInfo("Asia/Shanghai")
# A Wednesday morning: 下周三 is 2026-12-02, 后天 2026-11-27.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
PG_URL = os.environ.get("TALENTBOT_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def nlu():  # type: ignore[no-untyped-def]
    from nlu import NLU

    return NLU.load(ROOT / "content" / "nlu", tz=TZ)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_ready() -> str | None:
    if not PG_URL:
        return None
    upgrade(PG_URL)
    return PG_URL


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "talentbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_ready")
        _truncate_pg(url)
        yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=db_url,
        var_dir=tmp_path / "var",
        secret_key="test-secret",
        public_url="http://testserver",
    )


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    runtime = build(settings, nlu=nlu, clock=clock, migrate=False)
    with runtime.sessions.begin() as s:
        seed(s, content_dir=settings.content_dir, now=clock(), tz=TZ)
    runtime.jobs.start()
    yield runtime
    runtime.jobs.stop()
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    runtime.engine.dispose()


def invite(
    rt: Runtime, *, position: str = "TELLER", name: str = "张三", days: int = 14, now: datetime | None = None
) -> str:
    with rt.sessions.begin() as s:
        pos = repo.position_by_code(s, position)
        assert pos is not None
        _, code = repo.create_application(s, position=pos, name=name, now=now or NOW, valid_days=days)
    return repo.format_code(code)


@pytest.fixture
def bot(rt: Runtime) -> TestBot:
    return TestBot(rt, user="cand-1")


def linked_bot(rt: Runtime, *, user: str = "cand-1", lang: str = "zh", position: str = "TELLER") -> TestBot:
    """A candidate who has linked the code and consented to both, with slots offered."""
    b = TestBot(rt, user=user)
    code = invite(rt, position=position, name="张三" if lang == "zh" else "Alex Chen")
    b.say(f"我的邀请码是 {code}" if lang == "zh" else f"my code is {code}")
    b.press("同意" if lang == "zh" else "I agree")
    b.press("同意" if lang == "zh" else "I agree")
    return b
