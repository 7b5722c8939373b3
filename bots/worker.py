"""The job registry and ``talentbot worker`` (a Celery worker on ``TALENTBOT_BROKER_URL``).

``handlers_for`` is the one place jobs are registered: one dict line per job. A job's code belongs in
``actions/`` or ``scoring/``; this module only wires it to settings and sessions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import celery
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from actions.celery_app import DEFAULT_VISIBILITY_TIMEOUT, make_celery
from actions.jobs import QUEUE, Handler
from bots.settings import Settings
from storage import repo
from storage.models import AuditEntry


def _utcnow() -> datetime:
    return datetime.now(UTC)


def handlers_for(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime] = _utcnow,
    test_jobs: bool = False,
) -> dict[str, Handler]:
    """The jobs this installation runs, by name. ``test_jobs`` adds jobs that only tests use."""
    handlers: dict[str, Handler] = {
        "ping": ping_job(sessions=sessions, clock=clock),
        # "score_answer": the AnswerProcessor, added by job_handlers (it needs the whole runtime)
    }
    if test_jobs:
        handlers["sleep_then_ping"] = _sleep_then_ping(settings.var_dir, handlers["ping"])
    return handlers


def job_handlers() -> dict[str, Handler]:
    """The handlers factory of ``make_celery``: built once per worker process from the environment.
    ``TALENTBOT_TEST_JOBS=1`` adds the test-only jobs."""
    from bots.runtime import build

    settings = Settings.from_env()
    # The worker's conversation side only reacts to events (an answer scored): it never parses text.
    rt = build(settings, nlu=_EventsOnly(), migrate=False, name=f"worker-{os.getpid()}")
    handlers = handlers_for(
        settings, sessions=rt.sessions, test_jobs=os.environ.get("TALENTBOT_TEST_JOBS") == "1"
    )
    assert rt.answers is not None
    handlers["score_answer"] = rt.answers
    return handlers


class _EventsOnly:
    def parse(self, text: str, *, now: datetime | None = None) -> Any:
        raise RuntimeError("a worker does not parse chat messages")


def ping_job(*, sessions: sessionmaker[Session], clock: Callable[[], datetime] = _utcnow) -> Handler:
    """Writes one audit row ``job.ping`` per ``payload["key"]`` (for its ``subject``): a job proving
    the machinery, and the pattern for an idempotent one."""

    def ping(payload: Mapping[str, Any]) -> None:
        if "key" not in payload:
            raise ValueError("a ping job needs payload['key']")
        key = str(payload["key"])
        subject = str(payload.get("subject", ""))[:100]
        with sessions.begin() as s:
            # SQLite transactions here are BEGIN IMMEDIATE (one writer); on PostgreSQL a
            # transaction-scoped lock keeps two deliveries of one job from both inserting.
            if s.get_bind().dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"job.ping:{subject}"})
            done = s.scalars(
                select(AuditEntry.details).where(
                    AuditEntry.action == "job.ping", AuditEntry.subject == subject
                )
            )
            if any(str((d or {}).get("key")) == key for d in done):
                return
            repo.audit(
                s, now=clock(), actor="worker", action="job.ping", subject=subject, details=dict(payload)
            )

    return ping


def _sleep_then_ping(var_dir: Path, ping: Handler) -> Handler:
    """Test-only: marks ``var_dir/test-jobs/<pid>.started``, sleeps ``payload["seconds"]``, pings.
    A test kills the worker during the sleep to see the job redelivered."""

    def run(payload: Mapping[str, Any]) -> None:
        marks = var_dir / "test-jobs"
        marks.mkdir(parents=True, exist_ok=True)
        (marks / f"{os.getpid()}.started").write_text(str(payload.get("key", "")))
        time.sleep(float(payload.get("seconds", 1.0)))
        ping(payload)

    return run


def visibility_timeout(env: Mapping[str, str] | None = None) -> float:
    """``TALENTBOT_BROKER_VISIBILITY_TIMEOUT`` (seconds; default 3600): longer than the longest job."""
    raw = (os.environ if env is None else env).get("TALENTBOT_BROKER_VISIBILITY_TIMEOUT") or ""
    try:
        value = float(raw) if raw else DEFAULT_VISIBILITY_TIMEOUT
    except ValueError:
        raise ValueError("TALENTBOT_BROKER_VISIBILITY_TIMEOUT must be a number of seconds") from None
    if value <= 0:
        raise ValueError("TALENTBOT_BROKER_VISIBILITY_TIMEOUT must be positive")
    return value


def celery_app(settings: Settings, env: Mapping[str, str] | None = None) -> celery.Celery:
    """The Celery app for ``settings.broker_url``: for the worker, and for ``CeleryJobs`` in serve."""
    if not settings.broker_url:
        raise ValueError("no broker: TALENTBOT_BROKER_URL is not set")
    return make_celery(settings.broker_url, visibility_timeout=visibility_timeout(env))


def run_worker(settings: Settings, *, concurrency: int = 1) -> int:
    """Consume the ``talentbot`` queue until stopped (SIGTERM or Ctrl-C: finish the running jobs).
    One job at a time runs in the main thread (solo pool); more in threads."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    from celery.utils.nodenames import default_nodename, host_format

    # app.Worker rather than app.worker_main(argv): the latter drops the worker's exit code.
    worker = celery_app(settings).Worker(
        hostname=host_format(default_nodename(f"talentbot-{os.getpid()}@%h")),
        queues=[QUEUE],
        pool_cls="solo" if concurrency == 1 else "threads",
        concurrency=concurrency,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        loglevel="INFO",
    )
    worker.start()
    return int(worker.exitcode or 0)
