"""A fake Telegram Bot API on 127.0.0.1 for the adapter tests (aiohttp, in its own thread and loop).

It speaks the Bot API the way python-telegram-bot uses it: ``POST /bot<token>/<method>`` with form or
multipart bodies (PTB JSON-encodes non-string values), answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code", "description", "parameters"}``, serves files at
``/file/bot<token>/<file_path>``, and attachments we send at ``/static/<name>``. Every call is recorded;
failures can be queued per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.bots.channels.telegram_payloads import TOKEN

JSON_FIELDS = ("reply_markup", "allowed_updates")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)
    status: int = 200

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """The inline buttons of a sendMessage, flattened."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, bytes)
        self.reported_sizes: dict[str, int] = {}  # file_id → file_size getFile reports instead
        self.updates: list[dict[str, Any]] = []  # for getUpdates
        self.attachments: dict[str, bytes] = {}  # served at /static/<name>
        self.static_errors: dict[str, int] = {}  # /static/<name> → an HTTP status instead
        self.delays: dict[str, float] = {}  # method → seconds before answering
        self.download_delay = 0.0
        self.download_failures = 0  # the next N downloads answer 500
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        host, port = self._sock.getsockname()
        self.url = f"http://{host}:{port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ scripting

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` answer this error."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        with self._lock:
            self._failures[method].extend([(status, body)] * times)

    def add_file(self, file_id: str, data: bytes, path: str) -> None:
        self.files[file_id] = (path, data)

    def sent(self, method: str = "sendMessage", *, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; calls: {[c.method for c in self.calls]}")
            time.sleep(0.02)

    def wait_sent(self, count: int, method: str = "sendMessage", timeout: float = 15.0) -> list[Call]:
        return self.wait(
            lambda: (s := self.sent(method)) and len(s) >= count and s,
            timeout,
            f"{count} × {method}",
        )

    # ------------------------------------------------------------------ the server

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            app = web.Application(client_max_size=100 * 2**20)
            app.router.add_route("*", "/bot{token}/{method}", self._api)
            app.router.add_get("/file/bot{token}/{path:.+}", self._file)
            app.router.add_get("/static/{name}", self._static)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.SockSite(runner, self._sock).start())
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)  # requests still being answered (delays, long polls)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the fake Telegram did not start"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._sock.close()

    async def _params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str | None, bytes]]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[str | None, bytes]] = {}
        ctype = request.content_type
        if ctype == "application/json":
            params.update(await request.json())
        elif request.method == "POST" and request.can_read_body:
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = (value.filename, value.file.read())
                else:
                    params[name] = value
        for name in JSON_FIELDS:
            if isinstance(params.get(name), str):
                params[name] = json.loads(params[name])
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params, files = await self._params(request)
        with self._lock:
            failure = self._failures[method].popleft() if self._failures[method] else None
            call = Call(method, params, files, status=failure[0] if failure else 200)
            self.calls.append(call)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if failure is not None:
            return web.json_response(failure[1], status=failure[0])
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        result = await handler(params, files)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        return {
            "message_id": next(self._ids),
            "from": {"id": 5550001, "is_bot": True, "first_name": "TalentBot", "username": "talent_test_bot"},
            "chat": {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 1, "type": "private"},
            "date": int(time.time()),
            **extra,
        }

    async def _m_getMe(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return {"id": 5550001, "is_bot": True, "first_name": "TalentBot", "username": "talent_test_bot"}

    async def _m_sendMessage(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        if int(params.get("chat_id", 0)) == 404404:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
            )
        return self._message(params, text=params.get("text", ""))

    async def _m_sendDocument(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        doc = {"file_id": f"doc-{next(self._ids)}", "file_unique_id": "u", "file_name": "f"}
        return self._message(params, document=doc)

    async def _m_sendPhoto(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        photo = [{"file_id": f"ph-{next(self._ids)}", "file_unique_id": "u", "width": 1, "height": 1}]
        return self._message(params, photo=photo)

    async def _m_getFile(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        file_id = params.get("file_id", "")
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400
            )
        path, data = self.files[file_id]
        size = self.reported_sizes.get(file_id, len(data))
        if size > 20 * 2**20:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}, status=400
            )
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size, "file_path": path}

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_setWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_getUpdates(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 0.3)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or time.monotonic() >= deadline:
                return pending[: int(params.get("limit") or 100)]
            await asyncio.sleep(0.02)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        with self._lock:
            self.calls.append(Call("download", {"path": path}))
            failing = self.download_failures > 0
            if failing:
                self.download_failures -= 1
        if self.download_delay:
            await asyncio.sleep(self.download_delay)
        if failing:
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
            )
        for stored_path, data in self.files.values():
            if stored_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.static_errors:
            return web.Response(status=self.static_errors.pop(name))
        if name not in self.attachments:
            return web.Response(status=404)
        return web.Response(body=self.attachments[name], content_type="application/octet-stream")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()
