"""A fake HR system on 127.0.0.1 for the HR-system sync tests and bench (Starlette under uvicorn, in a
thread). It checks the signature with its own secret (its own HMAC code, not ours), records every
request and every accepted body, answers 409 to an idempotency key it has already accepted, and can be
told to fail (``fail(n, status)``) or to answer slowly (``slow(n, seconds)``: it still accepts the body,
as a real system whose answer got lost would).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.local_server import LocalServer


@dataclass(frozen=True)
class Request_:
    key: str | None
    status: int
    signature_ok: bool
    timestamp: str | None


class FakeHR:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[Request_] = []  # every request, in order, with our answer
        self.accepted: list[dict[str, Any]] = []  # bodies taken in (once per idempotency key)
        self._keys: set[str] = set()
        self._answers: deque[tuple[int, dict[str, str]]] = deque()
        self._slow: deque[float] = deque()
        self._lock = threading.Lock()
        self._http = LocalServer(
            Starlette(routes=[Route("/talentbot/events", self._events, methods=["POST"])]),
            name="fake HR system",
        )
        self.url = f"{self._http.base}/talentbot/events"

    # ------------------------------------------------------------------ control

    def fail(self, times: int, status: int = 500, headers: dict[str, str] | None = None) -> None:
        """The next ``times`` signed requests are answered ``status``."""
        with self._lock:
            self._answers.extend([(status, headers or {})] * times)

    def slow(self, times: int, seconds: float) -> None:
        """The next ``times`` requests wait ``seconds`` before they are handled."""
        with self._lock:
            self._slow.extend([seconds] * times)

    def events(self) -> list[str]:
        return [b["event"] for b in self.accepted]

    def start(self) -> FakeHR:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    # ------------------------------------------------------------------ the endpoint

    async def _events(self, request: Request) -> JSONResponse:
        raw = await request.body()
        with self._lock:
            delay = self._slow.popleft() if self._slow else 0.0
        if delay:
            await asyncio.sleep(delay)
        key = request.headers.get("Idempotency-Key")
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(expected, request.headers.get("X-Talentbot-Signature", ""))
        status, headers, body = self._answer(raw, key, signature_ok)
        with self._lock:
            self.requests.append(
                Request_(key, status, signature_ok, request.headers.get("X-Talentbot-Timestamp"))
            )
        return JSONResponse(body, status_code=status, headers=headers)

    def _answer(self, raw: bytes, key: str | None, signature_ok: bool) -> tuple[int, dict[str, str], Any]:
        if not signature_ok:
            return 401, {}, {"error": "bad signature"}
        with self._lock:
            if self._answers:
                status, headers = self._answers.popleft()
                return status, headers, {"error": "told to fail"}
            doc = json.loads(raw)
            if not key or key != doc.get("idempotency_key"):
                return 400, {}, {"error": "Idempotency-Key missing or not the body's"}
            if key in self._keys:
                return 409, {}, {"error": "already have it"}
            self._keys.add(key)
            self.accepted.append(doc)
        return 200, {}, {"ok": True}
