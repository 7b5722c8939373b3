"""A real HTTP server for the web chat tests: ``create_app(rt)`` under uvicorn on 127.0.0.1.

The listening socket is bound (port 0, so the kernel picks a free port) *before* the runtime is
built, so the runtime's ``public_url`` — which the bot puts into privacy and calendar links — is the
address of the real server, and uvicorn is handed that very socket: no window in which another
process could take the port.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bots.app import create_app
from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock
from storage.seed import seed
from tests.conftest import NOW, TZ

STARTUP_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 15.0


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def base_url(listener: socket.socket) -> str:
    host, port = listener.getsockname()
    return f"http://{host}:{port}"


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock, base_url: str) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    """Like the top-level ``rt``, but links in replies point at the real server."""
    runtime = build(dataclasses.replace(settings, public_url=base_url), nlu=nlu, clock=clock, migrate=False)
    with runtime.sessions.begin() as s:
        seed(s, content_dir=runtime.settings.content_dir, now=clock(), tz=TZ)
    yield runtime
    # Normally the app's lifespan has stopped all of this already; these calls are idempotent.
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    runtime.engine.dispose()


@pytest.fixture
def server(rt: Runtime, listener: socket.socket, base_url: str) -> Iterator[str]:
    """Serve ``create_app(rt)`` in a background thread; yields the base URL."""
    config = uvicorn.Config(
        create_app(rt), log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(
        target=srv.run, kwargs={"sockets": [listener]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if not thread.is_alive():
            pytest.fail("the web server stopped during start-up (see the log above)")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).json() == {"ok": True}:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            srv.should_exit = True
            pytest.fail(f"the web server did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")
        time.sleep(0.05)
    # The scheduler fires jobs on the wall clock while this runtime lives on the fake clock, so a
    # job could fire at an arbitrary moment of a test; tests deliver reminders explicitly instead
    # (``rt.reminders.send``). Jobs are still added and can be inspected.
    rt.reminders.scheduler.pause()
    try:
        yield base_url
    finally:
        srv.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        assert not thread.is_alive(), f"the web server did not shut down within {SHUTDOWN_TIMEOUT:.0f} s"
        assert not rt.reminders.scheduler.running, "the app's lifespan did not stop the reminder scheduler"


@pytest.fixture
def cli_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The database ``talentbot`` commands run on in-process (``bots.cli.main(argv)``): the demo bank
    seeded, the environment pointing at it and nothing else."""
    from storage.db import make_engine, session_factory

    for key in list(os.environ):
        if key.startswith("TALENTBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TALENTBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("TALENTBOT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TALENTBOT_TIMEZONE", "Asia/Shanghai")
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with factory.begin() as s:
        seed(s, content_dir=Path(__file__).resolve().parents[2] / "content", now=NOW, tz=TZ)
    yield factory
    engine.dispose()
