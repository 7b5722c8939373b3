"""The Celery application for ``talentbot worker``: one task, ``talentbot.run_job(name, payload)``.

Delivery is at least once. A job is acknowledged after it ran (``task_acks_late``), and a message a
worker received but never acknowledged goes back to the queue: at once when a pool child dies
(``task_reject_on_worker_lost``); on Redis, when a whole worker process dies, once it is
``visibility_timeout`` seconds old, found by a worker that starts or by a running worker's periodic
check (kombu runs it about every 100 s). The visibility timeout must exceed the longest job, or a job
still running is handed out a second time. Hence: handlers are idempotent.

A job that raises is logged and acknowledged, not retried. Payloads travel as JSON only.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import celery
from celery import bootsteps

from actions.jobs import QUEUE, TASK_NAME, Handler

log = logging.getLogger("talentbot.jobs")

DEFAULT_VISIBILITY_TIMEOUT = 3600.0


def load_factory(ref: str) -> Callable[[], Mapping[str, Handler]]:
    """``"package.module:function"`` → the function."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a handlers factory is 'module:function', not {ref!r}")
    fn = getattr(importlib.import_module(module), attr, None)
    if not callable(fn):
        raise ValueError(f"{ref!r} is not a function")
    return fn  # type: ignore[no-any-return]


class _HandlerCache:
    """The handlers, built once per process on first use (a forked pool child builds its own:
    database engines must not cross a fork)."""

    def __init__(self, factory: str) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._handlers: Mapping[str, Handler] = {}

    def get(self) -> Mapping[str, Handler]:
        with self._lock:
            if self._pid != os.getpid():
                self._handlers = dict(load_factory(self._factory)())
                self._pid = os.getpid()
            return self._handlers


def make_celery(
    broker_url: str,
    *,
    handlers_factory: str = "bots.worker:job_handlers",
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
) -> celery.Celery:
    """A Celery app on ``broker_url`` (Redis or RabbitMQ) whose workers run the handlers that
    ``handlers_factory`` (no arguments; it reads its own settings) returns.

    ``visibility_timeout`` (Redis and SQS only): seconds after which a received, unacknowledged job
    is handed out again."""
    if visibility_timeout <= 0:
        raise ValueError("visibility_timeout must be positive")
    app = celery.Celery("talentbot", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout},
    )
    cache = _HandlerCache(handlers_factory)

    class BuildHandlers(bootsteps.StartStopStep):  # type: ignore[misc]
        """Builds the handlers as the worker starts, so a bad factory or setting stops it there
        rather than failing every job."""

        def start(self, worker: Any) -> None:
            names = ", ".join(sorted(cache.get())) or "(none)"
            log.info("jobs: %s", names)

    app.steps["worker"].add(BuildHandlers)

    def run_job(name: str, payload: dict[str, Any]) -> None:
        handler = cache.get().get(name)
        if handler is None:
            log.error("unknown job %s; payload %r (known: %s)", name, payload, ", ".join(sorted(cache.get())))
            return
        try:
            handler(payload)
        except Exception:
            # Celery logs the traceback and acknowledges; this line names the job and its payload.
            log.error("job %s failed; payload %r", name, payload)
            raise

    app.task(name=TASK_NAME, shared=False, ignore_result=True)(run_job)
    return app
