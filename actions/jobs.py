"""Jobs: CPU work (transcribing, scoring) taken off the request path.

A job is a name and a JSON payload; a ``Handler`` does the work. Two runners share one contract:

- ``InProcessJobs`` (the embedded default): a pool of threads inside the server process. Nothing
  survives a crash of that process.
- ``CeleryJobs``: the job goes to a broker (``TALENTBOT_BROKER_URL``) and a ``talentbot worker``
  process runs it (see ``actions/celery_app.py``). Acknowledged after it ran, so a worker that dies
  mid-job gets the job redelivered to another one.

Either way a job may run more than once: handlers must be idempotent (key the effect on something in
the payload). A failing job is logged (``talentbot.jobs``) with its name and payload; it is not
retried and never raises into the caller of ``submit``. ``submit`` itself raises for a caller's
mistake: an unknown name (in-process) or a payload that is not JSON.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import celery

log = logging.getLogger("talentbot.jobs")

Handler = Callable[[Mapping[str, Any]], None]

TASK_NAME = "talentbot.run_job"
QUEUE = "talentbot"


class Jobs(Protocol):
    def submit(self, name: str, payload: Mapping[str, Any]) -> None:
        """Queue job ``name``; returns at once. The payload must be JSON (dicts, lists, str, numbers,
        bools, None); ``TypeError``/``ValueError`` otherwise."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def json_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as a worker process sees it (a JSON round trip): tuples become lists, keys
    strings. Raises ``TypeError``/``ValueError`` for anything JSON cannot carry, so a job that works
    in-process does not fail only once it runs on a broker."""
    if not isinstance(payload, Mapping):
        raise TypeError(f"a job payload is a mapping, not {type(payload).__name__}")
    out: dict[str, Any] = json.loads(json.dumps(dict(payload), allow_nan=False))
    return out


class InProcessJobs:
    """Runs jobs on a thread pool (threads named ``talentbot-worker-N``) in this process.

    ``start()`` before ``submit``; ``stop()`` lets queued and running jobs finish, then returns.
    Restartable. Thread-safe."""

    def __init__(self, *, handlers: Mapping[str, Handler], workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._handlers = dict(handlers)
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0  # queued or running

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="talentbot-worker"
                )

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def submit(self, name: str, payload: Mapping[str, Any]) -> None:
        handler = self._handlers.get(name)
        if handler is None:
            known = ", ".join(sorted(self._handlers)) or "(none)"
            raise ValueError(f"unknown job {name!r}; known: {known}")
        data = json_payload(payload)
        with self._lock:
            if self._pool is None:
                raise RuntimeError("InProcessJobs is not running: call start() first")
            with self._idle:
                self._pending += 1
            try:
                self._pool.submit(self._run, name, handler, data)
            except BaseException:
                self._done()
                raise

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; False if ``timeout`` seconds passed first.
        For tests and the CLI."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self, name: str, handler: Handler, payload: dict[str, Any]) -> None:
        try:
            handler(payload)
        except Exception:
            log.exception("job %s failed; payload %r", name, payload)
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()


class CeleryJobs:
    """Sends jobs to the ``talentbot`` queue of a Celery broker, for ``talentbot worker`` to run.

    Which names exist is known to the workers only: an unknown name is logged there, not raised
    here. ``submit`` talks to the broker, so it blocks while the broker is slow and raises when it
    is unreachable (after Celery's publish retries)."""

    def __init__(self, *, app: celery.Celery) -> None:
        self._app = app

    def start(self) -> None:
        """Nothing to start: the broker connection is made on the first ``submit``."""

    def stop(self) -> None:
        self._app.close()

    def submit(self, name: str, payload: Mapping[str, Any]) -> None:
        self._app.send_task(TASK_NAME, args=[name, json_payload(payload)], queue=QUEUE)
