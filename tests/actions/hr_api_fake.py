"""A fake of the bank HR system's read API on 127.0.0.1 for the ``actions.hr_api`` tests (Starlette
under uvicorn, in a thread). It serves ``{prefix}/employees/{ref}/leave-balance`` and
``{prefix}/employees/{ref}/payslips/{YYYY-MM}`` from the dicts ``leave`` and ``payslips``, decoding the
raw request path one segment at a time as a real server would (so a ref quoted wrongly lands on the
wrong route or the wrong employee), checks the bearer token (401 otherwise), records every request as
it arrives, and can be told what to do with the next requests: answer a status (``fail``), wait first
(``hang``), or send a raw body as a 200 (``malformed``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import LocalServer


@dataclass(frozen=True)
class Seen:
    raw_path: str  # as sent, percent-encoding and all
    segments: tuple[str, ...]  # after the prefix, each one decoded
    authorized: bool


@dataclass(frozen=True)
class _Plan:
    delay: float = 0.0
    status: int | None = None  # answer this instead of the data
    body: bytes | None = None  # answer 200 with this raw body instead of the data


class FakeHrApi:
    def __init__(self, token: str, *, prefix: str = "/api") -> None:
        self.token = token
        self.prefix = prefix
        self.leave: dict[str, dict[str, Any]] = {}  # ref → leave-balance body
        self.payslips: dict[tuple[str, str], dict[str, Any]] = {}  # (ref, "YYYY-MM") → payslip body
        self.requests: list[Seen] = []
        self._plans: deque[_Plan] = deque()
        self._lock = threading.Lock()
        self._http = LocalServer(
            Starlette(routes=[Route("/{rest:path}", self._any, methods=["GET"])]), name="fake HR API"
        )
        self.url = f"{self._http.base}{prefix}"

    # ------------------------------------------------------------------ control

    def fail(self, times: int = 1, status: int = 500, *, delay: float = 0.0) -> None:
        """The next ``times`` requests are answered ``status`` (after ``delay`` seconds)."""
        self._plan(times, _Plan(delay=delay, status=status))

    def hang(self, times: int = 1, seconds: float = 2.0) -> None:
        """The next ``times`` requests wait ``seconds`` before they are answered as usual."""
        self._plan(times, _Plan(delay=seconds))

    def malformed(self, body: bytes | str, times: int = 1) -> None:
        """The next ``times`` authorized requests get ``200`` with ``body`` as it is."""
        self._plan(times, _Plan(body=body.encode() if isinstance(body, str) else body))

    def reset(self) -> None:
        """Forget the data, the requests and the plans (one server can serve many tests)."""
        with self._lock:
            self.leave.clear()
            self.payslips.clear()
            self.requests.clear()
            self._plans.clear()

    def _plan(self, times: int, plan: _Plan) -> None:
        with self._lock:
            self._plans.extend([plan] * times)

    def start(self) -> FakeHrApi:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    # ------------------------------------------------------------------ the endpoint

    async def _any(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path", b"").decode("ascii")
        auth = request.headers.get("Authorization", "")
        authorized = hmac.compare_digest(auth.encode(), f"Bearer {self.token}".encode())
        segments: tuple[str, ...] = ()
        if raw_path.startswith(self.prefix + "/"):
            segments = tuple(unquote(s) for s in raw_path[len(self.prefix) + 1 :].split("/"))
        with self._lock:
            self.requests.append(Seen(raw_path, segments, authorized))
            plan = self._plans.popleft() if self._plans else _Plan()
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if not authorized:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if plan.status is not None:
            return JSONResponse({"error": "told to fail"}, status_code=plan.status)
        if plan.body is not None:
            return Response(plan.body, media_type="application/json")
        return self._data(segments)

    def _data(self, segments: tuple[str, ...]) -> Response:
        match segments:
            case ("employees", ref, "leave-balance"):
                if ref not in self.leave:
                    return JSONResponse({"not_found": "employee"}, status_code=404)
                return _json(self.leave[ref])
            case ("employees", ref, "payslips", period):
                if ref not in self.leave and not any(r == ref for r, _ in self.payslips):
                    return JSONResponse({"not_found": "employee"}, status_code=404)
                if (ref, period) not in self.payslips:
                    return JSONResponse({"not_found": "payslip"}, status_code=404)
                return _json(self.payslips[ref, period])
        return JSONResponse({"error": "no such route"}, status_code=404)


def _json(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), media_type="application/json")
