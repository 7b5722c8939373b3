"""A fake Slack on 127.0.0.1 for the adapter's tests: the Web API methods the adapter and Bolt call
(``auth.test``, ``chat.postMessage``, ``files.info``, ``apps.connections.open``), private file
downloads, and a Socket Mode WebSocket. It runs under uvicorn in its own thread.

It behaves like Slack where the adapter depends on it: tokens are checked (``invalid_auth``), a
download without the right Bearer token gets Slack's HTML sign-in page with status 200, and scripted
answers (``fail``) stand in for rate limits, 5xx, errors and slow downloads.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.bots.channels.slack_payloads import APP_TOKEN, BOT_TOKEN, BOT_USER, TEAM

SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class Scripted:
    """One answer to the next call of a method (or download): status, JSON body, headers, delay."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float


class FakeSlack:
    def __init__(self) -> None:
        self.base_url = ""
        self.calls: list[Call] = []
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.downloads: list[str] = []
        self.acks: list[dict[str, Any]] = []
        self.socket_connections = 0
        self._script: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        self._outbox: list[dict[str, Any]] = []
        self._ts = 0

    # ------------------------------------------------------------------ test side

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/"

    def fail(self, method: str, *answers: Scripted) -> None:
        """The next calls of ``method`` (``download`` for file downloads) get these answers."""
        with self._lock:
            self._script.setdefault(method, []).extend(answers)

    def add_file(
        self, file_id: str, data: bytes, *, name: str, mimetype: str, **extra: Any
    ) -> dict[str, Any]:
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(data),
            "mode": "hosted",
            "user": extra.pop("user", "U0CAND001"),
            "url_private": f"{self.base_url}/files-pri/{TEAM}-{file_id}/{name}",
            "url_private_download": f"{self.base_url}/files-pri/{TEAM}-{file_id}/download/{name}",
            **extra,
        }
        self.files[file_id] = (info, data)
        return info

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                c.args
                for c in self.calls
                if c.method == "chat.postMessage" and (channel is None or c.args.get("channel") == channel)
            ]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "the fake Slack") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: {self.methods()}")
            time.sleep(0.02)

    def wait_posts(self, n: int, channel: str | None = None, timeout: float = 20.0) -> list[dict[str, Any]]:
        return self.wait(
            lambda: (p := self.posted(channel)) and len(p) >= n and p, timeout, f"{n} chat.postMessage"
        )

    def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected client."""
        with self._lock:
            self._outbox.append(envelope)

    # ------------------------------------------------------------------ server side

    def _next(self, method: str) -> Scripted | None:
        with self._lock:
            queue = self._script.get(method)
            return queue.pop(0) if queue else None

    async def _args(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            args.update(json.loads(raw or b"{}"))
        else:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        return args

    async def api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await self._args(request)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        with self._lock:
            self.calls.append(Call(method, args, token, time.monotonic()))
        scripted = self._next(method)
        if scripted is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            if scripted.raw is not None:
                return Response(scripted.raw, status_code=scripted.status, headers=scripted.headers)
            return JSONResponse(scripted.body, status_code=scripted.status, headers=scripted.headers)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://demobank.slack.com/",
                    "team": "Demo Bank",
                    "user": "talentbot",
                    "team_id": TEAM,
                    "user_id": BOT_USER,
                    "bot_id": "B0TALENT01",
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            channel = args.get("channel", "")
            if not channel:
                return JSONResponse({"ok": False, "error": "channel_not_found"})
            self._ts += 1
            ts = f"{int(time.time())}.{self._ts:06d}"
            return JSONResponse({"ok": True, "channel": "D" + channel[1:], "ts": ts, "message": {"ts": ts}})
        if method == "files.info":
            entry = self.files.get(args.get("file", ""))
            if entry is None:
                return JSONResponse({"ok": False, "error": "file_not_found"})
            return JSONResponse({"ok": True, "file": entry[0], "comments": [], "response_metadata": {}})
        if method == "apps.connections.open":
            host = self.base_url.removeprefix("http://")
            return JSONResponse(
                {"ok": True, "url": f"ws://{host}/link/?ticket=fake-ticket&app_id=A0TALENT01"}
            )
        return JSONResponse({"ok": False, "error": "unknown_method"})

    async def download(self, request: Request) -> Response:
        file_id = request.path_params["ref"].split("-", 1)[-1]
        with self._lock:
            self.downloads.append(file_id)
        scripted = self._next("download")
        if scripted is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            return Response(scripted.raw or b"", status_code=scripted.status, headers=scripted.headers)
        entry = self.files.get(file_id)
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return Response(SIGN_IN_PAGE, media_type="text/html; charset=utf-8")  # what Slack does
        if entry is None:
            return Response(b"not found", status_code=404)
        return Response(entry[1], media_type=entry[0]["mimetype"])

    async def socket(self, ws: WebSocket) -> None:
        await ws.accept()
        with self._lock:
            self.socket_connections += 1
        await ws.send_text(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TALENT01"}})
        )

        async def sender() -> None:
            while True:
                with self._lock:
                    pending, self._outbox[:] = list(self._outbox), []
                for envelope in pending:
                    await ws.send_text(json.dumps(envelope))
                await asyncio.sleep(0.02)

        task = asyncio.create_task(sender())
        try:
            while True:
                text = await ws.receive_text()
                with self._lock:
                    self.acks.append(json.loads(text))
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self.api, methods=["GET", "POST"]),
                Route("/files-pri/{ref}/download/{name}", self.download),
                Route("/files-pri/{ref}/{name}", self.download),
                WebSocketRoute("/link/", self.socket),
            ]
        )


def serve(fake: FakeSlack) -> Iterator[FakeSlack]:
    """Run ``fake`` on a free port of 127.0.0.1 until the generator is closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    fake.base_url = f"http://{host}:{port}"
    config = uvicorn.Config(
        fake.app(), log_level="warning", access_log=False, lifespan="off", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-slack", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Slack did not start")
        time.sleep(0.01)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
