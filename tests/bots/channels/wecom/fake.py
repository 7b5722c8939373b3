"""A fake WeCom server API on 127.0.0.1 for the adapter tests (aiohttp, in its own thread and loop).

It answers the four calls the adapter makes the way ``qyapi.weixin.qq.com`` does: ``GET
/cgi-bin/gettoken`` (an access token valid ``expires_in`` seconds), ``POST /cgi-bin/message/send``
(checks the body as WeCom documents it: recipient, agent id, text ≤ 2048 bytes, a button card with
1–6 distinct keys and a unique task id), ``GET /cgi-bin/media/get`` (the bytes with Content-Type and
Content-Disposition, or JSON ``{"errcode": 40007}``; over 20 MB only by Range, as WeCom) and ``POST
/cgi-bin/media/upload`` (multipart field ``media``). Errors are always HTTP 200 with an ``errcode``,
as WeCom's are. Every call is recorded; failures and delays can be queued per call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.bots.channels.wecom_payloads import AGENT_ID, CORP_ID, SECRET

RANGE_MAX = 20 * 2**20  # media/get: files over 20 MB only in Range parts of at most 20 MB
TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)
    token: str | None = None

    @property
    def ok(self) -> bool:
        return int(self.answer.get("errcode", 0)) == 0

    @property
    def text(self) -> str:
        """What the member reads: a text message's content or a card's text and button titles."""
        if self.body.get("msgtype") == "text":
            return str(self.body["text"]["content"])
        card = self.body.get("template_card") or {}
        return "\n".join(
            [card.get("main_title", {}).get("title", ""), card.get("sub_title_text", "")]
            + [b["text"] for b in card.get("button_list", [])]
        ).strip()

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return list((self.body.get("template_card") or {}).get("button_list", []))


@dataclass
class Stored:
    data: bytes
    mime: str
    filename: str


class FakeWeCom:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.media: dict[str, Stored] = {}
        self.uploads: dict[str, tuple[str, Stored]] = {}  # media_id → (type, file)
        self.expires_in = 7200
        self.media_delay: dict[str, float] = {}  # media_id → seconds before answering
        self.static: dict[str, tuple[bytes, str]] = {}  # served at /static/<name> (stands in for our files)
        self._valid: set[str] = set()
        self._task_ids: set[str] = set()
        self._queued: dict[str, deque[dict[str, Any] | int]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        host, port = self._sock.getsockname()
        self.url = f"http://{host}:{port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ scripting

    def fail(self, call: str, answer: dict[str, Any] | int, *, times: int = 1) -> None:
        """The next ``times`` calls of ``call`` ("message/send", "media/get"…) answer ``answer``: a
        JSON errcode object (HTTP 200, as WeCom) or an HTTP status."""
        with self._lock:
            self._queued[call].extend([answer] * times)

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (calls with it answer 42001)."""
        with self._lock:
            self._valid.clear()

    def add_media(self, media_id: str, data: bytes, mime: str, filename: str) -> None:
        self.media[media_id] = Stored(data, mime, filename)

    def sent(self, user: str | None = None) -> list[Call]:
        """Accepted message/send calls (to ``user``)."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.path == "message/send" and c.ok and (user is None or c.body.get("touser") == user)
        ]

    def of(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def wait(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                seen = [(c.path, c.answer.get("errcode")) for c in self.calls]
                raise AssertionError(f"timed out waiting for {what}; calls: {seen}")
            time.sleep(0.02)

    def wait_text(self, user: str, needle: str, *, after: int = 0, timeout: float = 20.0) -> Call:
        """The first message to ``user`` (from the ``after``-th on) whose text contains ``needle``."""

        def found() -> Call | None:
            return next((c for c in self.sent(user)[after:] if needle in c.text), None)

        call: Call = self.wait(found, timeout, f"a message to {user} containing {needle!r}")
        return call

    # ------------------------------------------------------------------ the server

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            app = web.Application(client_max_size=64 * 2**20)
            app.router.add_get("/cgi-bin/gettoken", self._gettoken)
            app.router.add_post("/cgi-bin/message/send", self._send)
            app.router.add_get("/cgi-bin/media/get", self._media_get)
            app.router.add_post("/cgi-bin/media/upload", self._upload)
            app.router.add_get("/static/{name}", self._static)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            self._runner = runner
            loop.run_until_complete(runner.setup())
            site = web.SockSite(runner, self._sock)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-wecom", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake WeCom server did not start")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._sock.close()

    # ------------------------------------------------------------------ handlers

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _scripted(self, path: str) -> dict[str, Any] | int | None:
        with self._lock:
            queue = self._queued.get(path)
            return queue.popleft() if queue else None

    def _answer(self, call: Call, answer: dict[str, Any] | int) -> web.Response:
        if isinstance(answer, int):
            call.answer = {"errcode": -1, "http": answer}
            self._record(call)
            return web.Response(status=answer, text="upstream error")
        call.answer = answer
        self._record(call)
        return web.json_response(answer)

    def _token_error(self, token: str | None) -> dict[str, Any] | None:
        with self._lock:
            if token in self._valid:
                return None
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        return {"errcode": 42001, "errmsg": "access_token expired"}

    async def _gettoken(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        call = Call("gettoken", q)
        if q.get("corpid") != CORP_ID:
            return self._answer(call, {"errcode": 40013, "errmsg": "invalid corpid"})
        if q.get("corpsecret") != SECRET:
            return self._answer(call, {"errcode": 40001, "errmsg": "invalid credential"})
        scripted = self._scripted("gettoken")
        if scripted is not None:
            return self._answer(call, scripted)
        token = f"tok-{next(self._ids)}"
        with self._lock:
            self._valid.add(token)
        return self._answer(
            call, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    async def _send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._answer(Call("message/send", dict(request.query), token=token), {"errcode": 47001})
        call = Call("message/send", dict(request.query), body, token=token)
        error = self._token_error(token)
        if error is not None:
            return self._answer(call, error)
        scripted = self._scripted("message/send")
        if scripted is not None:
            return self._answer(call, scripted)
        problem = self._check_message(body)
        if problem is not None:
            return self._answer(call, {"errcode": 40058, "errmsg": f"invalid parameter: {problem}"})
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{next(self._ids)}"}
        if body.get("msgtype") == "template_card":
            answer["response_code"] = f"rc-{next(self._ids)}"
        return self._answer(call, answer)

    def _check_message(self, body: dict[str, Any]) -> str | None:
        if not body.get("touser") or "|" in body["touser"]:
            return "touser"
        if body.get("agentid") != AGENT_ID:
            return "agentid"
        kind = body.get("msgtype")
        if kind == "text":
            content = body.get("text", {}).get("content", "")
            if not content or len(content.encode()) > 2048:
                return "text.content"
            return None
        if kind in ("image", "file"):
            media_id = body.get(kind, {}).get("media_id")
            with self._lock:
                known = media_id in self.uploads and self.uploads[media_id][0] == kind
            return None if known else f"{kind}.media_id"
        if kind == "template_card":
            card = body.get("template_card", {})
            if card.get("card_type") != "button_interaction":
                return "card_type"
            task = str(card.get("task_id", ""))
            with self._lock:
                if not TASK_ID.match(task) or task in self._task_ids:
                    return "task_id"
                self._task_ids.add(task)
            if not card.get("sub_title_text") and not card.get("main_title", {}).get("title"):
                return "main_title.title or sub_title_text"
            buttons = card.get("button_list", [])
            keys = [b.get("key", "") for b in buttons]
            if not 1 <= len(buttons) <= 6 or len(set(keys)) != len(keys):
                return "button_list"
            if any(
                not k or len(k.encode()) > 1024 or not b.get("text")
                for k, b in zip(keys, buttons, strict=True)
            ):
                return "button_list.key"
            return None
        return "msgtype"

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token")
        media_id = request.query.get("media_id", "")
        call = Call("media/get", dict(request.query), {"range": request.headers.get("Range")}, token=token)
        delay = self.media_delay.get(media_id)
        if delay:
            await asyncio.sleep(delay)
        error = self._token_error(token)
        if error is not None:
            return self._answer(call, error)
        scripted = self._scripted("media/get")
        if scripted is not None:
            return self._answer(call, scripted)
        stored = self.media.get(media_id)
        if stored is None:
            return self._answer(call, {"errcode": 40007, "errmsg": "invalid media_id"})
        headers = {
            "Content-Type": stored.mime,
            "Content-Disposition": f'attachment; filename="{stored.filename}"',
        }
        rng = request.headers.get("Range")
        if rng is None:
            if len(stored.data) > RANGE_MAX:
                return self._answer(call, {"errcode": 830002, "errmsg": "file too big, use Range"})
            call.answer = {"errcode": 0, "bytes": len(stored.data)}
            self._record(call)
            return web.Response(body=stored.data, headers=headers)
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng)
        if m is None:
            return self._answer(call, {"errcode": 40058, "errmsg": "invalid Range"})
        start, end = int(m.group(1)), min(int(m.group(2)), len(stored.data) - 1)
        if end - start + 1 > RANGE_MAX:
            return self._answer(call, {"errcode": 830002, "errmsg": "Range part over 20 MB"})
        part = stored.data[start : end + 1]
        call.answer = {"errcode": 0, "bytes": len(part)}
        self._record(call)
        headers["Content-Range"] = f"bytes {start}-{end}/{len(stored.data)}"
        return web.Response(status=206, body=part, headers=headers)

    async def _static(self, request: web.Request) -> web.Response:
        found = self.static.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=found[0], content_type=found[1])

    async def _upload(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token")
        kind = request.query.get("type", "")
        call = Call("media/upload", dict(request.query), token=token)
        error = self._token_error(token)
        if error is not None:
            return self._answer(call, error)
        scripted = self._scripted("media/upload")
        if scripted is not None:
            return self._answer(call, scripted)
        if kind not in ("image", "voice", "video", "file"):
            return self._answer(call, {"errcode": 40004, "errmsg": "invalid media type"})
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "media":
            return self._answer(call, {"errcode": 41006, "errmsg": "media data missing"})
        data = await part.read()  # type: ignore[union-attr]
        filename = part.filename or ""  # type: ignore[union-attr]
        mime = part.headers.get("Content-Type", "application/octet-stream")
        if len(data) < 5:
            return self._answer(call, {"errcode": 40006, "errmsg": "invalid media size"})
        media_id = f"up-{next(self._ids)}"
        call.body = {"filename": filename, "mime": mime, "size": len(data)}
        with self._lock:
            self.uploads[media_id] = (kind, Stored(bytes(data), mime, filename))
        return self._answer(
            call, {"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id, "created_at": "1"}
        )


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    server = FakeWeCom()
    server.start()
    yield server
    server.stop()
