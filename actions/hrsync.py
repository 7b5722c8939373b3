"""HR-system sync: each ``hr_sync`` outbox row is POSTed to the bank's HR system, signed, at least once.

The row is written in the transaction of the change (``flows/hr_sync.py``); the relay hands it here.
The request is JSON ``{"event", "application_id", "occurred_at", "data", "idempotency_key"}`` with
``X-Talentbot-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``, ``X-Talentbot-Timestamp`` (unix
seconds of this try) and ``Idempotency-Key`` (the outbox id and the event: the same on every retry, so
the HR system can drop a repeat).

Answers: 2xx — delivered; 409 — the HR system has it already: delivered; 408, 429, 5xx, timeouts and
network errors — tried again after ``backoff · 2^(tries-1)`` seconds (at most ``max_backoff``, at least
a 429's or 503's ``Retry-After``), later rows waiting behind it so that they arrive in order; any other
answer (401 wrong signature, 400, 404, a redirect…) — dead at once. A dead row (refused, or still
failing after ``max_attempts`` tries) is written to the audit log and HR is told (``hr_sync_dead``).

Without ``TALENTBOT_HRSYNC_URL`` the feature is off: rows are marked done and nothing is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from actions.relay import Consumer, GiveUp, Item, Retry
from storage import repo
from storage.models import Application, OutboxItem

log = logging.getLogger("talentbot.hrsync")

KIND = "hr_sync"
SIGNATURE_HEADER = "X-Talentbot-Signature"
TIMESTAMP_HEADER = "X-Talentbot-Timestamp"
RETRYABLE = frozenset({408, 429})
_ENVELOPE = ("event", "application_id", "at")


@dataclass(frozen=True, slots=True)
class HrSyncSettings:
    url: str | None = None  # None: the feature is off
    secret: str = ""
    max_attempts: int = 20  # ≈ 6 h of retries (10 s doubling to 30 min): an afternoon's outage
    timeout: float = 10.0  # seconds per request (connect, read, write each)
    backoff: float = 10.0  # seconds before the second try; doubles with each failure
    max_backoff: float = 1800.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HrSyncSettings:
        url = (env.get("TALENTBOT_HRSYNC_URL") or "").strip() or None
        secret = env.get("TALENTBOT_HRSYNC_SECRET") or ""
        s = cls(
            url=url,
            secret=secret,
            max_attempts=int(env.get("TALENTBOT_HRSYNC_MAX_ATTEMPTS") or 20),
            timeout=float(env.get("TALENTBOT_HRSYNC_TIMEOUT") or 10),
            backoff=float(env.get("TALENTBOT_HRSYNC_BACKOFF") or 10),
        )
        if url is not None:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise ValueError("TALENTBOT_HRSYNC_URL must be an http(s) URL")
            if not secret:
                raise ValueError("TALENTBOT_HRSYNC_SECRET is required with TALENTBOT_HRSYNC_URL")
        if s.max_attempts < 1 or s.timeout <= 0 or s.backoff < 0:
            raise ValueError("TALENTBOT_HRSYNC_MAX_ATTEMPTS ≥ 1, TIMEOUT > 0 and BACKOFF ≥ 0, please")
        return s


def sign(secret: str, body: bytes) -> str:
    """The ``X-Talentbot-Signature`` value of a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """What the HR system checks (in constant time) before it trusts a body."""
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)


def idempotency_key(item: Item) -> str:
    return f"{item.id}:{item.payload.get('event')}"


def body(item: Item) -> bytes:
    """The request body: the envelope and the changed facts (everything else in the payload)."""
    p = item.payload
    if not p.get("event") or p.get("application_id") is None:
        raise GiveUp(f"hr_sync item {item.id} has no event or application")
    occurred = p.get("at") or item.created_at.isoformat()
    doc = {
        "event": p["event"],
        "application_id": p["application_id"],
        "occurred_at": occurred,
        "data": {k: v for k, v in p.items() if k not in _ENVELOPE},
        "idempotency_key": idempotency_key(item),
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class HrSync:
    """The relay's consumer of ``hr_sync`` rows (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: HrSyncSettings,
        clock: Callable[[], datetime],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings, self._clock = settings, clock
        self._client: httpx.Client | None = None
        self._transport = transport

    @property
    def enabled(self) -> bool:
        return self.settings.url is not None

    def consumer(self) -> Consumer:
        return Consumer(
            handle=self.handle,
            max_attempts=self.settings.max_attempts,
            on_dead=self.on_dead,
            blocking=self.enabled,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.settings.timeout,
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": "talentbot-hrsync/1"},
            )
        return self._client

    def handle(self, item: Item) -> None:
        s = self.settings
        if s.url is None:
            log.debug(
                "HR-system sync is off: outbox item %s (%s) not sent", item.id, item.payload.get("event")
            )
            return
        raw = body(item)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(s.secret, raw),
            TIMESTAMP_HEADER: str(int(self._clock().timestamp())),
            "Idempotency-Key": idempotency_key(item),
        }
        wait = min(s.max_backoff, s.backoff * 2**item.attempts)
        try:
            r = self._http().post(s.url, content=raw, headers=headers)
        except httpx.TimeoutException as exc:
            raise Retry(f"timed out after {s.timeout:g} s ({type(exc).__name__})", after=wait) from exc
        except httpx.TransportError as exc:
            raise Retry(f"network error: {type(exc).__name__}: {exc}", after=wait) from exc
        code = r.status_code
        if 200 <= code < 300 or code == 409:
            log.info("HR system has outbox item %s (%s): HTTP %s", item.id, item.payload["event"], code)
            return
        reason = f"HTTP {code}: {r.text[:200]}"
        if code >= 500 or code in RETRYABLE:
            raise Retry(reason, after=max(wait, min(_retry_after(r), s.max_backoff)))
        raise GiveUp(reason)

    def on_dead(self, s: Session, item: Item, error: str) -> None:
        """A dead letter: an audit row and a notice to HR, in the transaction that marks it dead."""
        now = self._clock()
        app_id = item.payload.get("application_id")
        app = s.get(Application, app_id) if isinstance(app_id, int) else None
        event = item.payload.get("event")
        repo.audit(
            s,
            now=now,
            actor="system:hrsync",
            action="hr_sync.dead",
            subject=f"application:{app_id}",
            details={"outbox_id": item.id, "event": event, "attempts": item.attempts, "error": error[:500]},
        )
        notice: dict[str, Any] = {
            "event": "hr_sync_dead",
            "application_id": app_id,
            "candidate": app.candidate_name if app is not None else None,
            "position": item.payload.get("position"),
            "hr_event": event,
            "outbox_id": item.id,
            "attempts": item.attempts,
            "error": error[:500],
            "at": now.isoformat(),
        }
        s.add(OutboxItem(kind="notify_hr", payload=notice, status="pending", attempts=0, created_at=now))


def _retry_after(r: httpx.Response) -> float:
    value = r.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 0.0  # an HTTP date: the backoff decides
