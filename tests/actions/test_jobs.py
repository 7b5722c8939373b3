"""The job runners: in-process threads, and the Celery side (on kombu's in-memory broker here; the
real Redis worker is tested in tests/bots/test_worker.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from actions.celery_app import load_factory, make_celery
from actions.jobs import QUEUE, TASK_NAME, CeleryJobs, InProcessJobs, Jobs

BUILT: list[int] = []
SEEN: list[dict[str, Any]] = []


def factory() -> dict[str, Any]:
    """A handlers factory for ``make_celery`` (by reference, as a worker imports it)."""
    BUILT.append(1)

    def boom(payload: Mapping[str, Any]) -> None:
        raise RuntimeError("boom")

    return {"echo": lambda p: SEEN.append(dict(p)), "boom": boom}


@pytest.fixture
def jobs() -> Iterator[InProcessJobs]:
    calls: list[Any] = []
    j = InProcessJobs(handlers={"record": calls.append}, workers=2)
    j.start()
    yield j
    j.stop()


def _in_process(handlers: Mapping[str, Any], workers: int = 1) -> InProcessJobs:
    j = InProcessJobs(handlers=handlers, workers=workers)
    j.start()
    return j


def test_in_process_jobs_run_on_a_worker_thread_not_the_callers() -> None:
    ran: list[tuple[str, dict[str, Any]]] = []
    j = _in_process({"record": lambda p: ran.append((threading.current_thread().name, dict(p)))})
    try:
        j.submit("record", {"n": 1, "pair": (1, 2)})
        assert j.wait_idle(5)
    finally:
        j.stop()
    [(thread, payload)] = ran
    assert thread.startswith("talentbot-worker") and thread != threading.current_thread().name
    assert payload == {"n": 1, "pair": [1, 2]}  # what a worker process would see: JSON


def test_submit_returns_before_the_job_finishes() -> None:
    release = threading.Event()
    j = _in_process({"wait": lambda p: release.wait(5)})
    try:
        t0 = time.monotonic()
        j.submit("wait", {})
        assert time.monotonic() - t0 < 0.5
        assert not j.wait_idle(0.1)  # still running
        release.set()
        assert j.wait_idle(5)
    finally:
        release.set()
        j.stop()


def test_a_failing_job_is_logged_with_name_and_payload_and_the_runner_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[int] = []

    def boom(payload: Mapping[str, Any]) -> None:
        raise RuntimeError("disk on fire")

    j = _in_process({"boom": boom, "ok": lambda p: ran.append(p["n"])})
    try:
        with caplog.at_level(logging.ERROR, logger="talentbot.jobs"):
            j.submit("boom", {"answer_id": 42})  # does not raise here
            j.submit("ok", {"n": 1})
            assert j.wait_idle(5)
    finally:
        j.stop()
    assert ran == [1]
    [rec] = [r for r in caplog.records if r.name == "talentbot.jobs"]
    assert rec.levelno == logging.ERROR
    assert "boom" in rec.getMessage() and "'answer_id': 42" in rec.getMessage()
    assert rec.exc_info is not None and "disk on fire" in str(rec.exc_info[1])


def test_unknown_job_names_and_non_json_payloads_are_refused_at_submit(jobs: InProcessJobs) -> None:
    with pytest.raises(ValueError, match="unknown job 'nope'; known: record"):
        jobs.submit("nope", {})
    with pytest.raises(TypeError):
        jobs.submit("record", {"when": object()})
    with pytest.raises(ValueError):
        jobs.submit("record", {"x": float("nan")})
    assert jobs.wait_idle(1)


def test_stop_waits_for_running_and_queued_jobs_then_refuses_more() -> None:
    done: list[int] = []
    started = threading.Event()

    def slow(payload: Mapping[str, Any]) -> None:
        started.set()
        time.sleep(0.3)
        done.append(payload["n"])

    j = _in_process({"slow": slow})
    j.submit("slow", {"n": 1})
    j.submit("slow", {"n": 2})
    assert started.wait(5)
    j.stop()
    assert done == [1, 2]
    with pytest.raises(RuntimeError, match="start"):
        j.submit("slow", {"n": 3})
    j.start()  # restartable
    j.submit("slow", {"n": 3})
    j.stop()
    assert done == [1, 2, 3]


def test_the_runners_satisfy_the_protocol() -> None:
    def use(j: Jobs) -> None:
        j.start()
        j.stop()

    use(InProcessJobs(handlers={}))
    use(CeleryJobs(app=make_celery("memory://")))


# ---------------------------------------------------------------- Celery


def test_celery_jobs_send_one_json_task_to_the_talentbot_queue() -> None:
    app = make_celery("memory://")
    jobs = CeleryJobs(app=app)
    try:
        jobs.submit("ping", {"key": "k1", "pair": (1, 2)})
        with pytest.raises(TypeError):
            jobs.submit("ping", {"when": object()})
        with app.connection_for_read() as conn, conn.SimpleQueue(QUEUE) as q:
            msg = q.get(timeout=5)
            msg.ack()
            assert q.qsize() == 0
    finally:
        jobs.stop()
    assert msg.content_type == "application/json"
    assert msg.headers["task"] == TASK_NAME
    args, kwargs, _ = msg.payload
    assert args == ["ping", {"key": "k1", "pair": [1, 2]}] and kwargs == {}


def test_celery_app_settings() -> None:
    app = make_celery("memory://", visibility_timeout=7)
    c = app.conf
    assert (c.task_serializer, c.accept_content, c.task_default_queue) == ("json", ["json"], "talentbot")
    assert c.task_acks_late and c.task_reject_on_worker_lost and c.task_ignore_result
    assert c.worker_prefetch_multiplier == 1 and c.broker_connection_retry_on_startup
    assert c.broker_transport_options == {"visibility_timeout": 7}
    with pytest.raises(ValueError):
        make_celery("memory://", visibility_timeout=0)


def test_the_task_builds_handlers_once_and_logs_unknown_and_failing_jobs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    BUILT.clear()
    SEEN.clear()
    app = make_celery("memory://", handlers_factory=f"{__name__}:factory")
    task = app.tasks[TASK_NAME]
    with caplog.at_level(logging.INFO, logger="talentbot.jobs"):
        task("echo", {"n": 1})
        task("echo", {"n": 2})
        task("nope", {"n": 3})  # logged, not raised: retrying would not help
        with pytest.raises(RuntimeError, match="boom"):
            task("boom", {"n": 4})  # raised for Celery to log and acknowledge
    assert SEEN == [{"n": 1}, {"n": 2}] and BUILT == [1]
    messages = [r.getMessage() for r in caplog.records if r.name == "talentbot.jobs"]
    assert any("unknown job nope" in m and "'n': 3" in m for m in messages)
    assert any("job boom failed" in m and "'n': 4" in m for m in messages)


def test_load_factory_wants_module_colon_function() -> None:
    assert load_factory(f"{__name__}:factory") is factory
    for bad in ("bots.worker", "bots.worker:", ":job_handlers", f"{__name__}:BUILT"):
        with pytest.raises(ValueError):
            load_factory(bad)
