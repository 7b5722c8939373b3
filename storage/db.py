"""Engine and session set-up, and migrations (Alembic, run programmatically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str, *, immediate: bool = True, autocheckpoint: bool = True, **kw: Any) -> Engine:
    """An engine with the house settings: SQLite in WAL mode with a busy timeout; psycopg 3 for
    PostgreSQL (a plain ``postgresql://`` URL is taken to mean psycopg 3).

    ``immediate``: SQLite transactions take the write lock at BEGIN (for read-then-write work such as
    handling a message). An engine for reads and single-statement writes passes False: WAL readers
    then never wait for, or hold up, the writer.

    ``autocheckpoint=False``: the committing connection never copies the WAL back into the database
    (a checkpoint fsyncs and can take 100 ms); the owner runs ``checkpoint()`` from another thread."""
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if u.get_backend_name() == "sqlite":
        kw.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(u, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so transactions are real (pysqlite's default
            # defers BEGIN and breaks SELECT-then-UPDATE atomicity).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if not autocheckpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kw.setdefault("pool_pre_ping", True)
    return create_engine(u, **kw)


def checkpoint(engine: Engine) -> None:
    """Copy committed WAL frames into the SQLite database without blocking writers (PASSIVE)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Safe to run on every start."""
    from alembic import command

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
