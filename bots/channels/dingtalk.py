"""DingTalk (钉钉): an enterprise internal app's robot, by HTTP callback or stream mode.

Receiving: ``POST /hooks/dingtalk/`` checks DingTalk's ``timestamp``/``sign`` headers (at most an hour
old, a few minutes ahead at most), translates the JSON (``dingtalk_translate``), hands it to the
gateway and answers ``{}`` at once. In stream mode (``TALENTBOT_DINGTALK_MODE=stream``) the same
translator is fed from the websocket (``dingtalk_stream``) and no route is mounted.

Sending: the robot API with the app's access token (``dingtalk_api``) — ``oToMessages/batchSend`` for
``user:<staffId>`` conversations, ``groupMessages/send`` for ``group:<openConversationId>``; choices as
numbered markdown links (``dingtalk_render`` says why); files uploaded and sent after the text.

Settings: ``TALENTBOT_DINGTALK_APP_KEY`` (client id), ``_APP_SECRET``, ``_ROBOT_CODE`` (all three, or
the platform is off), ``_MODE`` (http | stream), ``_API_BASE``, ``_OAPI_BASE``, ``_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bots.channels.base import ChannelContext, Fetched, MediaError, RateLimit, SendError
from bots.channels.dingtalk_api import APIError, DingTalkAPI
from bots.channels.dingtalk_render import Message, file_message, link_text, render_text
from bots.channels.dingtalk_sign import SignatureGuard, check
from bots.channels.dingtalk_translate import GROUP_PREFIX, PLATFORM, USER_PREFIX, Malformed, translate
from bots.channels.gateway import MAX_MEDIA_BYTES
from flows.values import FileRef, Inbound, MediaRef, Reply

log = logging.getLogger("talentbot.dingtalk")

MAX_BODY = 1 * 2**20  # a robot message is a few KB; media come by downloadCode
GENERIC_MIME = {"application/octet-stream", "binary/octet-stream", "application/download"}
PROGRESS_SIZE = 256
API_BASE = "https://api.dingtalk.com"
OAPI_BASE = "https://oapi.dingtalk.com"


@dataclass(frozen=True, slots=True)
class DingTalkConfig:
    app_key: str
    app_secret: str
    robot_code: str
    mode: str = "http"
    api_base: str = API_BASE
    oapi_base: str = OAPI_BASE
    timeout: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DingTalkConfig | None:
        """None when the app key, secret or robot code is missing (the platform is off)."""
        key, secret, robot = (
            env.get(f"TALENTBOT_DINGTALK_{n}", "").strip() for n in ("APP_KEY", "APP_SECRET", "ROBOT_CODE")
        )
        if not (key and secret and robot):
            return None
        mode = env.get("TALENTBOT_DINGTALK_MODE", "http").strip().lower() or "http"
        if mode not in ("http", "stream"):
            raise ValueError(f"TALENTBOT_DINGTALK_MODE must be http or stream, not {mode!r}")
        try:
            timeout = float(env.get("TALENTBOT_DINGTALK_TIMEOUT") or 15.0)
        except ValueError as exc:
            raise ValueError("TALENTBOT_DINGTALK_TIMEOUT must be a number of seconds") from exc
        return cls(
            app_key=key,
            app_secret=secret,
            robot_code=robot,
            mode=mode,
            api_base=(env.get("TALENTBOT_DINGTALK_API_BASE") or API_BASE).rstrip("/"),
            oapi_base=(env.get("TALENTBOT_DINGTALK_OAPI_BASE") or OAPI_BASE).rstrip("/"),
            timeout=timeout,
        )


def create(ctx: ChannelContext) -> DingTalkChannel | None:
    config = DingTalkConfig.from_env(ctx.env)
    if config is None:
        return None
    return DingTalkChannel(config=config, accept=ctx.accept, clock=ctx.clock)


class DingTalkChannel:
    name = PLATFORM
    limits: Sequence[RateLimit] = (RateLimit(20, 60, "conversation"),)

    def __init__(
        self,
        *,
        config: DingTalkConfig,
        accept: Callable[[Inbound], Awaitable[bool]],
        clock: Callable[[], datetime],
    ) -> None:
        self.config, self._accept, self._clock = config, accept, clock
        self.api = DingTalkAPI(
            app_key=config.app_key,
            app_secret=config.app_secret,
            robot_code=config.robot_code,
            api_base=config.api_base,
            oapi_base=config.oapi_base,
            timeout=config.timeout,
        )
        self._guard = SignatureGuard()
        self._progress: OrderedDict[tuple[str, str], int] = OrderedDict()
        self.stream: Any = None  # dingtalk_stream.StreamConnection in stream mode, once started
        self._stream_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ receiving

    def routes(self) -> Sequence[BaseRoute]:
        if self.config.mode != "http":
            return []
        return [Route("/", self.callback, methods=["POST"])]

    async def callback(self, request: Request) -> Response:
        now_ms = int(self._clock().timestamp() * 1000)
        timestamp, sign = request.headers.get("timestamp"), request.headers.get("sign")
        why = check(timestamp, sign, app_secret=self.config.app_secret, now_ms=now_ms)
        if why is not None:
            log.warning("dingtalk callback refused: %s", why)
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        assert timestamp is not None
        raw = await _body(request)
        if raw is None:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise Malformed("not a JSON object")
            inbound = translate(body)
        except ValueError as exc:  # JSON errors and Malformed
            log.warning("dingtalk callback: bad request: %s", exc)
            return JSONResponse({"error": "malformed message"}, status_code=400)
        if inbound is None:
            return JSONResponse({})
        if not self._guard.admit(timestamp, inbound.message_id, now_ms=now_ms):
            log.warning("dingtalk callback refused: signature of another message re-used")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        await self._accept(inbound)
        return JSONResponse({})

    async def _on_stream_message(self, data: Mapping[str, Any]) -> None:
        inbound = translate(data)  # Malformed (a ValueError) is ACKed and dropped by the stream
        if inbound is not None:
            await self._accept(inbound)

    async def start(self) -> None:
        if self.config.mode != "stream" or self._stream_task is not None:
            return
        from bots.channels.dingtalk_stream import StreamConnection  # the SDK only when it is used

        self.stream = StreamConnection(
            app_key=self.config.app_key,
            app_secret=self.config.app_secret,
            api_base=self.config.api_base,
            on_message=self._on_stream_message,
            timeout=self.config.timeout,
        )
        self._stream_task = asyncio.create_task(self.stream.run(), name="dingtalk-stream")

    async def stop(self) -> None:
        task, self._stream_task = self._stream_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.api.close()

    # ------------------------------------------------------------------ sending

    async def send(self, conversation_id: str, reply: Reply) -> None:
        if conversation_id.startswith(GROUP_PREFIX):
            group, target = True, conversation_id[len(GROUP_PREFIX) :]
        elif conversation_id.startswith(USER_PREFIX):
            group, target = False, conversation_id[len(USER_PREFIX) :]
        else:
            raise SendError(f"not a DingTalk conversation id: {conversation_id!r}", retryable=False)
        try:
            messages: list[Message] = []
            text = render_text(reply, group=group)
            if text is not None:
                messages.append(text)
            for f in reply.files:  # uploaded before anything is sent: a failure here repeats nothing
                messages.append(await self._file_message(f))
            await self._send_all(conversation_id, reply, group, target, messages)
        except APIError as exc:
            raise SendError(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from exc

    async def _send_all(
        self, conversation_id: str, reply: Reply, group: bool, target: str, messages: list[Message]
    ) -> None:
        """A reply may be several messages; after a failure, a retry resumes where it stopped."""
        key = (
            conversation_id,
            hashlib.sha256(json.dumps(reply.to_json(), sort_keys=True).encode()).hexdigest(),
        )
        done = self._progress.pop(key, 0)
        for i, m in enumerate(messages[done:], done):
            try:
                if group:
                    await self.api.send_to_group(target, m.key, m.param)
                else:
                    await self.api.send_to_user(target, m.key, m.param)
            except APIError:
                if i:
                    self._progress[key] = i
                    while len(self._progress) > PROGRESS_SIZE:
                        self._progress.popitem(last=False)
                raise

    async def _file_message(self, f: FileRef) -> Message:
        try:
            data, _ = await self.api.fetch(f.url, cap=MAX_MEDIA_BYTES)
        except APIError as exc:
            if exc.retryable:
                raise
            log.warning("dingtalk: %s could not be fetched (%s); sending its link", f.url, exc)
            return link_text(f.name, f.url)
        try:
            media_id = await self.api.upload(f.name, f.mime, data)
        except APIError as exc:
            if exc.retryable:
                raise
            log.warning("dingtalk: %s could not be uploaded (%s); sending its link", f.name, exc)
            return link_text(f.name, f.url)
        return file_message(media_id=media_id, name=f.name, mime=f.mime)

    # ------------------------------------------------------------------ media

    async def fetch_media(self, media: MediaRef) -> Fetched:
        try:
            url = await self.api.download_url(media.ref)
        except APIError as exc:
            raise MediaError(f"dingtalk messageFiles/download: {exc}", retryable=exc.retryable) from exc
        try:
            data, content_type = await self.api.fetch(url, cap=MAX_MEDIA_BYTES + 1)
        except APIError as exc:  # the next try asks for a fresh downloadUrl
            raise MediaError(f"dingtalk download: {exc}", retryable=True) from exc
        mime = (content_type or "").split(";")[0].strip().lower() or None
        return Fetched(data, mime=None if mime in GENERIC_MIME else mime, filename=media.name)


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than :data:`MAX_BODY`."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
