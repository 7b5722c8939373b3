"""The web chat channel: a page at ``/`` and a JSON API.

POST /webchat/api/file?user=U&name=N  (the file as the body) → {"replies": [...]}
POST /webchat/api/messages  {"user", "text", "payload", "message_id"?} → {"replies": [...]}
POST /webchat/api/voice?user=U&message_id=M  raw audio body (Content-Type audio/* or
     application/octet-stream, at most 10 MB) → {"replies": [...]}; the bytes go to the file store
     and the flow gets ``Inbound(text=None, media=MediaRef(kind="voice", ref=<sha256>, ...))``.
GET  /webchat/api/updates?user=U&after=N → proactive messages (reminders) since N, for polling.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from flows.engine import Deps, handle
from flows.values import Inbound, MediaRef
from storage import repo

PLATFORM = "webchat"
MAX_BODY = 64 * 1024
MAX_VOICE = 10 * 1024 * 1024  # about 10 minutes of Opus at browser bit rates
MAX_FILE = 20 * 1024 * 1024  # documents (degree certificate, ID card photo, CV …)
_SIMPLE_TYPES = {"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"}
PAGE = Path(__file__).with_name("static") / "webchat.html"

_ERRORS = {
    "bad_json": ("请求格式有误：需要 JSON 对象。", "The request must be a JSON object."),
    "bad_user": ("缺少 user（1–200 个字符的字符串）。", '"user" must be a string of 1–200 characters.'),
    "bad_text": ("text 必须是字符串或 null。", '"text" must be a string or null.'),
    "bad_payload": ("payload 必须是字符串、对象或 null。", '"payload" must be a string, an object or null.'),
    "bad_message_id": (
        "message_id 必须是 1–200 个字符的字符串。",
        '"message_id" must be a string of 1–200 characters.',
    ),
    "too_large": ("消息太大了（上限 64 KB）。", "The message is too large (64 KB at most)."),
    "empty_voice": ("录音是空的，请重新录制。", "The recording is empty — please record again."),
    "voice_too_large": (
        "录音太大了（上限 10 MB，约 10 分钟），请分段录制或直接输入文字。",
        "The recording is too large (10 MB, about 10 minutes, at most) — please record a shorter "
        "answer or type it.",
    ),
    "bad_voice_type": (
        "录音的 Content-Type 需为 audio/*（或 application/octet-stream）。",
        "Send the recording with Content-Type audio/* (or application/octet-stream).",
    ),
    "empty_file": ("文件是空的，请重新选择。", "The file is empty — please choose it again."),
    "file_too_large": (
        "文件太大了（上限 20 MB），请压缩或拍照后重新发送。",
        "The file is too large (20 MB at most) — please compress it or send a photo of it.",
    ),
    "bad_file_type": (
        "请以文件本身的 Content-Type 上传（例如 application/pdf、image/jpeg 或 application/octet-stream）。",
        "Upload the file with its own Content-Type (e.g. application/pdf, image/jpeg or "
        "application/octet-stream).",
    ),
    "bad_file_name": ("文件名需为 1–200 个字符。", "The file name must be 1–200 characters."),
    "voice_unavailable": (
        "暂时无法接收语音，请直接输入文字回答。",
        "Voice messages can't be received right now — please type your answer.",
    ),
}


def _error(code: str, status: int = 400) -> JSONResponse:
    zh, en = _ERRORS[code]
    return JSONResponse({"error": code, "message": {"zh": zh, "en": en}}, status_code=status)


def parse_message(body: bytes) -> Inbound | JSONResponse:
    """Validate and translate one API request into an Inbound (the adapter's ``parse`` side)."""
    if len(body) > MAX_BODY:
        return _error("too_large", 413)
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error("bad_json")
    if not isinstance(data, dict):
        return _error("bad_json")
    user = data.get("user")
    if not isinstance(user, str) or not 0 < len(user.strip()) <= 200:
        return _error("bad_user")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        return _error("bad_text")
    payload = data.get("payload")
    if payload is not None and not isinstance(payload, str | dict):
        return _error("bad_payload")
    mid = data.get("message_id")
    if mid is None:
        mid = uuid.uuid4().hex
    if not isinstance(mid, str) or not 0 < len(mid) <= 200:
        return _error("bad_message_id")
    user = user.strip()
    return Inbound(
        platform=PLATFORM, conversation_id=user, user_ref=user, message_id=mid, text=text, payload=payload
    )


def parse_voice_params(user: str | None, message_id: str | None) -> tuple[str, str] | JSONResponse:
    """The (user, message_id) of a voice upload, by the same rules as a text message."""
    user = (user or "").strip()
    if not 0 < len(user) <= 200:
        return _error("bad_user")
    mid = uuid.uuid4().hex if message_id is None else message_id
    if not 0 < len(mid) <= 200:
        return _error("bad_message_id")
    return user, mid


def voice_mime(content_type: str | None) -> str | None:
    """The media type without parameters, lowercased; None unless it is audio/* or octet-stream.

    A missing or form-like type is refused on purpose: neither audio/* nor octet-stream is a type a
    cross-site page can send without a CORS preflight (which this server does not answer).
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == "application/octet-stream" or (mime.startswith("audio/") and len(mime) > len("audio/")):
        return mime
    return None


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` (never buffering more than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class WebChat:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def page(self, request: Request) -> Response:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    async def messages(self, request: Request) -> Response:
        body = await _read_capped(request, MAX_BODY)
        if body is None:
            return _error("too_large", 413)
        inbound = parse_message(body)
        if isinstance(inbound, JSONResponse):
            return inbound
        outcome = await handle(inbound, self.deps)
        return JSONResponse(
            {"replies": [r.to_json() for r in outcome.replies], "duplicate": outcome.duplicate}
        )

    async def voice(self, request: Request) -> Response:
        """One recorded answer: stored by its sha256, then handled like any message.

        The audio is not decoded or judged here; the flow (and its worker) does that, and answers a
        file that is not usable audio politely.
        """
        q = request.query_params
        params = parse_voice_params(q.get("user"), q.get("message_id"))
        if isinstance(params, JSONResponse):
            return params
        user, mid = params
        mime = voice_mime(request.headers.get("content-type"))
        if mime is None:
            return _error("bad_voice_type", 415)
        files = self.deps.files
        if files is None:
            return _error("voice_unavailable", 503)
        body = await _read_capped(request, MAX_VOICE)
        if body is None:
            return _error("voice_too_large", 413)
        if not body:
            return _error("empty_voice")
        return await self._media(user, mid, body, kind="voice", mime=mime, limit=MAX_VOICE)

    async def file(self, request: Request) -> Response:
        """A document or photo: stored by its sha256, then handled (the flow checks what it is)."""
        q = request.query_params
        params = parse_voice_params(q.get("user"), q.get("message_id"))
        if isinstance(params, JSONResponse):
            return params
        user, mid = params
        name = (q.get("name") or "").strip().replace("/", "_").replace("\\", "_")
        if not 0 < len(name) <= 200:
            return _error("bad_file_name")
        mime = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if not mime or "/" not in mime or mime in _SIMPLE_TYPES:  # simple types could come cross-site
            return _error("bad_file_type", 415)
        files = self.deps.files
        if files is None:
            return _error("voice_unavailable", 503)
        body = await _read_capped(request, MAX_FILE)
        if body is None:
            return _error("file_too_large", 413)
        if not body:
            return _error("empty_file")
        kind = "image" if mime.startswith("image/") else "file"
        return await self._media(user, mid, body, kind=kind, mime=mime, limit=MAX_FILE, name=name)

    async def _media(
        self, user: str, mid: str, body: bytes, *, kind: str, mime: str, limit: int, name: str | None = None
    ) -> Response:
        """Store an upload by its sha256 (off the loop: it fsyncs), then handle it as a message."""
        assert self.deps.files is not None
        stored = await asyncio.to_thread(self.deps.files.put, body, max_bytes=limit)
        media = MediaRef(kind=kind, ref=stored.sha256, mime=mime, size=stored.size, name=name)
        inbound = Inbound(
            platform=PLATFORM, conversation_id=user, user_ref=user, message_id=mid, text=None, media=media
        )
        outcome = await handle(inbound, self.deps)
        return JSONResponse(
            {"replies": [r.to_json() for r in outcome.replies], "duplicate": outcome.duplicate}
        )

    async def updates(self, request: Request) -> Response:
        user = request.query_params.get("user", "").strip()
        if not 0 < len(user) <= 200:
            return _error("bad_user")
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            after = 0

        def fetch() -> list[dict[str, Any]]:
            with (self.deps.readers or self.deps.sessions)() as s:
                rows = repo.pending_deliveries(s, platform=PLATFORM, conversation_id=user, after=after)
                return [{"id": d.id, **d.body} for d in rows]

        msgs = await asyncio.get_running_loop().run_in_executor(self.deps.executor, fetch)
        last = msgs[-1]["id"] if msgs else after
        return JSONResponse({"messages": msgs, "last": last})
