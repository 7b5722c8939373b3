"""The job registry and ``talentbot worker``: the ping job in-process (SQLite and PostgreSQL), then
real worker processes on the machine's Redis (a database of its own, flushed), killed mid-job.

Redis is ``TALENTBOT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/9``). Without it the Redis
tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import select

from actions.jobs import CeleryJobs, InProcessJobs
from bots.settings import Settings
from bots.worker import celery_app, handlers_for, visibility_timeout
from storage import repo
from storage.db import make_engine, session_factory
from storage.models import AnswerScore, AuditEntry
from tests.conftest import NOW

REDIS_URL = os.environ.get("TALENTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
VISIBILITY_TIMEOUT = 3.0  # seconds; production default 3600
ROW_TIMEOUT = 30.0


def _pings(db_url: str, subject: str) -> list[dict[str, object]]:
    engine = make_engine(db_url, immediate=False)
    try:
        with session_factory(engine)() as s:
            q = select(AuditEntry).where(AuditEntry.action == "job.ping", AuditEntry.subject == subject)
            return [dict(r.details) | {"actor": r.actor} for r in s.scalars(q.order_by(AuditEntry.id))]
    finally:
        engine.dispose()


# ---------------------------------------------------------------- in-process


def test_ping_writes_one_audit_row_per_key(db_url: str, settings: Settings) -> None:
    engine = make_engine(db_url)
    jobs = InProcessJobs(
        handlers=handlers_for(settings, sessions=session_factory(engine), clock=lambda: NOW), workers=2
    )
    jobs.start()
    try:
        for key in ("a", "a", "b", "a"):
            jobs.submit("ping", {"key": key, "subject": "application:1"})
        jobs.submit("ping", {"key": "a", "subject": "application:2"})  # same key, another subject
        assert jobs.wait_idle(10)
    finally:
        jobs.stop()
        engine.dispose()
    rows = _pings(db_url, "application:1")
    assert sorted(str(r["key"]) for r in rows) == ["a", "b"]
    assert rows[0] == {"key": rows[0]["key"], "subject": "application:1", "actor": "worker"}
    assert len(_pings(db_url, "application:2")) == 1


def test_registry_has_ping_and_test_jobs_only_on_request(settings: Settings) -> None:
    sessions = session_factory(make_engine(settings.database_url))
    assert set(handlers_for(settings, sessions=sessions)) == {"ping"}
    assert set(handlers_for(settings, sessions=sessions, test_jobs=True)) == {"ping", "sleep_then_ping"}


def test_visibility_timeout_from_the_environment() -> None:
    assert visibility_timeout({}) == 3600
    assert visibility_timeout({"TALENTBOT_BROKER_VISIBILITY_TIMEOUT": "5"}) == 5
    for bad in ("soon", "0", "-1"):
        with pytest.raises(ValueError, match="TALENTBOT_BROKER_VISIBILITY_TIMEOUT"):
            visibility_timeout({"TALENTBOT_BROKER_VISIBILITY_TIMEOUT": bad})


# ---------------------------------------------------------------- real workers on Redis


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTBOT_")}
    env.update(
        TALENTBOT_VAR_DIR=str(tmp_path / "var"),
        TALENTBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'talentbot.db'}",
        PYTHONIOENCODING="utf-8",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def test_worker_without_a_broker_says_so_and_exits_2(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bots.cli", "worker"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "TALENTBOT_BROKER_URL" in out.stderr and "talentbot serve" in out.stderr


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def broker_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = f"Redis at {REDIS_URL} is unreachable ({exc}); set TALENTBOT_TEST_REDIS_URL"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def worker_env(tmp_path: Path, broker_url: str) -> dict[str, str]:
    env = _env(
        tmp_path,
        TALENTBOT_BROKER_URL=broker_url,
        TALENTBOT_BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        TALENTBOT_TEST_JOBS="1",
    )
    up = subprocess.run(
        [sys.executable, "-m", "bots.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode == 0, up.stderr
    return env


@pytest.fixture
def start_worker(
    tmp_path: Path, worker_env: dict[str, str]
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts ``talentbot worker`` processes (output in tmp_path/worker-N.log); stops them all after."""
    procs: list[tuple[subprocess.Popen[bytes], Path, IO[bytes]]] = []

    def start() -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"worker-{len(procs) + 1}.log"
        log = open(log_path, "wb")  # noqa: SIM115 — closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "worker"],
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append((proc, log_path, log))
        return proc

    yield start
    for proc, log_path, log in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()
        sys.stderr.write(
            f"--- {log_path.name} (exit {proc.returncode})\n{log_path.read_text(errors='replace')}"
        )


def _wait_for(what: str, check: Callable[[], bool], timeout: float = ROW_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (worker logs below)")
        time.sleep(0.1)


def test_a_worker_process_runs_jobs_sent_through_redis(
    tmp_path: Path, worker_env: dict[str, str], start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    db_url = worker_env["TALENTBOT_DATABASE_URL"]
    jobs = CeleryJobs(app=celery_app(Settings.from_env(worker_env), worker_env))
    jobs.start()
    try:
        # Queued before any worker runs: they wait in Redis.
        jobs.submit("no_such_job", {"key": "x"})
        jobs.submit("ping", {"subject": "no key"})  # fails in the worker, which goes on
        for key in ("k1", "k1", "k2"):
            jobs.submit("ping", {"key": key, "subject": "celery"})
        proc = start_worker()
        _wait_for("the k2 ping", lambda: any(r["key"] == "k2" for r in _pings(db_url, "celery")))
    finally:
        jobs.stop()
    assert proc.poll() is None
    assert [r["key"] for r in _pings(db_url, "celery")] == ["k1", "k2"]  # one queue, run in order
    log = (tmp_path / "worker-1.log").read_text(errors="replace")
    assert "unknown job no_such_job" in log
    assert "job ping failed; payload {'subject': 'no key'}" in log


def test_a_job_whose_worker_is_killed_mid_job_is_redelivered_to_the_next_worker(
    tmp_path: Path, worker_env: dict[str, str], start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    db_url = worker_env["TALENTBOT_DATABASE_URL"]
    marks = tmp_path / "var" / "test-jobs"
    jobs = CeleryJobs(app=celery_app(Settings.from_env(worker_env), worker_env))
    jobs.start()
    try:
        first = start_worker()
        jobs.submit("sleep_then_ping", {"key": "crash-1", "subject": "crash", "seconds": 2.0})
        _wait_for("the first worker to start the job", lambda: marks.is_dir() and any(marks.iterdir()))
        first.kill()  # SIGKILL mid-job: the message was received, never acknowledged
        first.wait(10)
        [mark] = list(marks.iterdir())
        assert mark.name == f"{first.pid}.started"
        assert _pings(db_url, "crash") == []
        # Redis hands an unacknowledged message out again once it is visibility_timeout old; a
        # starting worker looks for such messages at once.
        time.sleep(max(0.0, mark.stat().st_mtime + VISIBILITY_TIMEOUT + 0.3 - time.time()))
        second = start_worker()
        _wait_for("the redelivered job's ping", lambda: len(_pings(db_url, "crash")) > 0)
    finally:
        jobs.stop()
    assert sorted(p.name for p in marks.iterdir()) == sorted(
        [f"{first.pid}.started", f"{second.pid}.started"]
    )
    assert [r["key"] for r in _pings(db_url, "crash")] == ["crash-1"]


def test_a_voice_answer_is_scored_by_a_worker_process_and_the_next_question_follows(
    tmp_path: Path,
    worker_env: dict[str, str],
    start_worker: Callable[[], subprocess.Popen[bytes]],
    nlu,  # type: ignore[no-untyped-def]
) -> None:
    """The interview's job through Celery on Redis: serve side queues it, a `talentbot worker` process
    transcribes and scores it with the real model and puts the next question in the chat."""
    from bots.runtime import build
    from bots.testing import TestBot
    from storage.seed import seed
    from tests.conftest import TZ, linked_bot
    from tests.scoring.conftest import MODEL_CACHE, Models

    worker_env["TALENTBOT_ASR_MODEL"] = str(Models(MODEL_CACHE).model_dir())
    worker_env["TALENTBOT_BROKER_VISIBILITY_TIMEOUT"] = "600"  # longer than any job here
    settings = Settings.from_env(worker_env)
    rt = build(settings, nlu=nlu, migrate=False)
    try:
        with rt.sessions.begin() as s:
            seed(s, content_dir=settings.content_dir, now=datetime.now(UTC), tz=TZ)
        assert type(rt.jobs).__name__ == "CeleryJobs"
        start_worker()
        bot: TestBot = linked_bot(rt, position="RISK", lang="en")
        bot.press("Start interview")
        wav = tmp_path / "answer.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                "en-us",
                "-w",
                str(wav),
                "I would verify the identity of the customer and report the suspicious transfer to compliance.",
            ],
            check=True,
        )
        bot.voice(wav.read_bytes())
        assert "Got your answer" in bot.text
        rt.relay.drain()  # → Redis
        got: list[str] = []

        def next_question() -> bool:
            with rt.sessions() as s:
                got[:] = [
                    d.body["text"]
                    for d in repo.pending_deliveries(s, platform="test", conversation_id=bot.user)
                ]
            return any("Question 2 of 6" in t or "Follow-up" in t for t in got)

        _wait_for("the next question from the worker", next_question, timeout=90)
        with rt.sessions() as s:
            sc = s.scalars(select(AnswerScore)).one()
        assert sc.asr_model and "faster-whisper" in sc.asr_model
    finally:
        rt.jobs.stop()
        rt.reminders.shutdown()
        rt.engine.dispose()
