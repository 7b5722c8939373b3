"""A fake DingTalk on 127.0.0.1: the OpenAPI the robot calls, temporary download URLs, the old-style
media upload, and the stream-mode gateway (``connections/open`` + a websocket). It stands in for the
platform only; tests script its failures and read what it was sent."""

from __future__ import annotations

import asyncio
import collections
import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

APP_KEY = "dingfaketestkey0001"
APP_SECRET = "fake-app-secret-RKx7f0Wd2m4Q9sL1p8Zb3vN6"
ROBOT_CODE = APP_KEY  # an internal app's robot code is its app key


@dataclass
class Failure:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    skip: int = 0  # calls that pass before this one fails


class FakeDingTalk:
    def __init__(self) -> None:
        self.url = ""
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.sent: list[dict[str, Any]] = []  # robot messages, msgParam decoded
        self.calls: list[str] = []  # every path called, in order
        self.failures: dict[str, collections.deque[Failure]] = collections.defaultdict(collections.deque)
        self.files: dict[str, tuple[bytes, str]] = {}  # downloadCode → (bytes, content type)
        self.file_failures: collections.deque[Failure] = collections.deque()
        self.uploads: list[dict[str, Any]] = []
        self.unknown_users: set[str] = set()
        # stream mode
        self.stream_opens: list[dict[str, Any]] = []
        self.ws_outbox: collections.deque[dict[str, Any]] = collections.deque()
        self.ws_received: list[dict[str, Any]] = []
        self.ws_connections = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ scripting

    def fail(self, path: str, status: int, body: dict[str, Any] | None = None, **kw: Any) -> None:
        """The next call of ``path`` answers ``status`` (queue several for several calls)."""
        self.failures[path].append(Failure(status, body or {}, **kw))

    def add_file(self, code: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.files[code] = (data, content_type)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def push(self, frame: dict[str, Any]) -> None:
        """Send a frame to the connected stream client."""
        self.ws_outbox.append(frame)

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"fake dingtalk: timed out waiting for {what}")

    def texts(self) -> list[str]:
        """What the robot said, as text (markdown included), in order."""
        out = []
        for m in self.sent:
            p = m["msgParam"]
            out.append(p.get("content") or p.get("text") or p.get("fileName") or p.get("photoURL") or "")
        return out

    # ------------------------------------------------------------------ the app

    async def _failure(self, path: str) -> Response | None:
        with self._lock:
            queue = self.failures.get(path)
            failure = queue[0] if queue else None
            if failure is not None and failure.skip:
                failure.skip -= 1
                failure = None
            elif queue:
                queue.popleft()
        if failure is None:
            return None
        if failure.delay:
            await asyncio.sleep(failure.delay)
        return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)

    async def _authorised(self, request: Request) -> bool:
        return request.headers.get("x-acs-dingtalk-access-token") in self.tokens

    async def access_token(self, request: Request) -> Response:
        self.calls.append("/v1.0/oauth2/accessToken")
        if (f := await self._failure("/v1.0/oauth2/accessToken")) is not None:
            return f
        body = await request.json()
        if body.get("appKey") != APP_KEY or body.get("appSecret") != APP_SECRET:
            return JSONResponse({"code": "invalidClientIdOrSecret", "message": "无效的应用"}, status_code=400)
        self.token_requests += 1
        token = f"tok-{next(self._ids)}"
        self.tokens.add(token)
        return JSONResponse({"accessToken": token, "expireIn": 7200})

    async def _robot(self, request: Request, path: str) -> Response | dict[str, Any]:
        self.calls.append(path)
        if not await self._authorised(request):
            return JSONResponse(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status_code=401
            )
        if (f := await self._failure(path)) is not None:
            return f
        body: dict[str, Any] = await request.json()
        if body.get("robotCode") != ROBOT_CODE:
            return JSONResponse({"code": "invalidParameter", "message": "robotCode"}, status_code=400)
        return body

    async def batch_send(self, request: Request) -> Response:
        body = await self._robot(request, "/v1.0/robot/oToMessages/batchSend")
        if isinstance(body, Response):
            return body
        invalid = [u for u in body["userIds"] if u in self.unknown_users]
        if not invalid:
            self.sent.append({**body, "msgParam": json.loads(body["msgParam"]), "to": body["userIds"][0]})
        return JSONResponse(
            {
                "processQueryKey": f"pqk-{next(self._ids)}",
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": [],
            }
        )

    async def group_send(self, request: Request) -> Response:
        body = await self._robot(request, "/v1.0/robot/groupMessages/send")
        if isinstance(body, Response):
            return body
        self.sent.append({**body, "msgParam": json.loads(body["msgParam"]), "to": body["openConversationId"]})
        return JSONResponse({"processQueryKey": f"pqk-{next(self._ids)}"})

    async def message_files(self, request: Request) -> Response:
        body = await self._robot(request, "/v1.0/robot/messageFiles/download")
        if isinstance(body, Response):
            return body
        code = body.get("downloadCode")
        if code not in self.files:
            return JSONResponse({"code": "resource.not.found", "message": "downloadCode"}, status_code=400)
        return JSONResponse({"downloadUrl": f"{self.url}/oss/{next(self._ids)}/{_token(code)}"})

    async def oss(self, request: Request) -> Response:
        self.calls.append("/oss")
        with self._lock:
            failure = self.file_failures.popleft() if self.file_failures else None
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            return Response(b"<Error>fake</Error>", status_code=failure.status)
        token = request.path_params["token"]
        for code, (data, ctype) in self.files.items():
            if _token(code) == token:
                return Response(data, media_type=ctype)
        return Response(b"<Error>NoSuchKey</Error>", status_code=404)

    async def media_upload(self, request: Request) -> Response:
        self.calls.append("/media/upload")
        if (f := await self._failure("/media/upload")) is not None:
            return f
        if request.query_params.get("access_token") not in self.tokens:
            return JSONResponse({"errcode": 40014, "errmsg": "不合法的access_token"})
        raw = await request.body()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + raw
        )
        fields = {part.get_param("name", header="content-disposition"): part for part in msg.iter_parts()}
        media = fields["media"]
        media_id = f"@lAfake{next(self._ids)}"
        self.uploads.append(
            {
                "type": fields["type"].get_content().strip(),
                "filename": media.get_filename(),
                "mime": media.get_content_type(),
                "data": media.get_payload(decode=True),
                "media_id": media_id,
            }
        )
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "media_id": media_id, "type": "file", "created_at": 1}
        )

    async def open_connection(self, request: Request) -> Response:
        body = await request.json()
        self.stream_opens.append(body)
        if (f := await self._failure("/v1.0/gateway/connections/open")) is not None:
            return f
        if body.get("clientId") != APP_KEY or body.get("clientSecret") != APP_SECRET:
            return JSONResponse({"code": "invalidClient", "message": "bad client"}, status_code=401)
        ws = self.url.replace("http://", "ws://")
        return JSONResponse({"endpoint": f"{ws}/gateway", "ticket": f"ticket+{len(self.stream_opens)}/="})

    async def gateway(self, websocket: WebSocket) -> None:
        if websocket.query_params.get("ticket") != f"ticket+{len(self.stream_opens)}/=":
            await websocket.close(code=4401)
            return
        await websocket.accept()
        self.ws_connections += 1

        async def receive() -> None:
            while True:
                self.ws_received.append(json.loads(await websocket.receive_text()))

        receiver = asyncio.create_task(receive())
        try:
            while not receiver.done():
                while self.ws_outbox:
                    frame = self.ws_outbox.popleft()
                    if frame.get("close"):
                        await websocket.close()
                        return
                    await websocket.send_text(json.dumps(frame))
                await asyncio.sleep(0.01)
        except WebSocketDisconnect:
            pass
        finally:
            receiver.cancel()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1.0/oauth2/accessToken", self.access_token, methods=["POST"]),
                Route("/v1.0/robot/oToMessages/batchSend", self.batch_send, methods=["POST"]),
                Route("/v1.0/robot/groupMessages/send", self.group_send, methods=["POST"]),
                Route("/v1.0/robot/messageFiles/download", self.message_files, methods=["POST"]),
                Route("/oss/{n}/{token}", self.oss),
                Route("/media/upload", self.media_upload, methods=["POST"]),
                Route("/v1.0/gateway/connections/open", self.open_connection, methods=["POST"]),
                WebSocketRoute("/gateway", self.gateway),
            ]
        )


def _token(code: str) -> str:
    import hashlib

    return hashlib.sha256(code.encode()).hexdigest()[:32]


class Served:
    """Run an ASGI app under uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        host, port = self.sock.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="fake-dingtalk", daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake DingTalk did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
