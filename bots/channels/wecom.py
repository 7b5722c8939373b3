"""WeCom (企业微信) self-built app in callback mode.

Inbound: WeCom calls ``/hooks/wecom/`` — a GET with ``echostr`` when the admin saves the callback URL
(answer the decrypted echostr), then a POST per message or event, signed (``msg_signature``) and
AES-encrypted. A verified message is handed to the gateway and answered with an empty 200 at once
(WeCom waits 5 s, then retries three times); the replies go out through ``message/send``. Requests
older than :data:`REPLAY_WINDOW` are refused, and a redelivery (same ``MsgId``) is handled once.

Outbound: text, ``button_interaction`` template cards for choices (see ``wecom_render``), and files —
fetched from their URL on our own server, uploaded with ``media/upload`` and sent as a file or image
message; when our own URL cannot be fetched the link is sent as text instead, so the candidate still
gets it. WeCom drops silently what exceeds 30 messages a minute to one member, so besides the
gateway's limits the adapter counts the messages it actually sends (a long reply with buttons is two)
and asks the gateway to wait rather than lose one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bots.channels.base import Channel, ChannelContext, Fetched, MediaError, RateLimit, SendError
from bots.channels.gateway import MAX_MEDIA_BYTES
from bots.channels.wecom_api import DEFAULT_BASE, APIError, WeComAPI
from bots.channels.wecom_crypto import CryptoError, WeComCrypto, XMLError, parse_xml
from bots.channels.wecom_render import render
from flows.values import FileRef, Inbound, MediaRef, Reply

log = logging.getLogger("talentbot.wecom")

NAME = "wecom"
REQUIRED = {
    "TALENTBOT_WECOM_CORP_ID": "corp_id",
    "TALENTBOT_WECOM_AGENT_ID": "agent_id",
    "TALENTBOT_WECOM_SECRET": "secret",
    "TALENTBOT_WECOM_TOKEN": "token",
    "TALENTBOT_WECOM_AES_KEY": "aes_key",
}
REPLAY_WINDOW = timedelta(minutes=5)
MAX_BODY_BYTES = 64 * 1024
IMAGE_UPLOAD_MAX = 10 * 2**20  # media/upload: images up to 10 MB (JPG, PNG); files up to 20 MB
MEMBER_WINDOWS = ((30, 60.0), (1000, 3600.0))  # WeCom: per member 30 messages a minute, 1000 an hour
PROGRESS_TTL = 900.0  # seconds a partly sent reply's progress is remembered for the gateway's retry
VOICE_MIME = {"amr": "audio/amr", "speex": "audio/speex", "silk": "audio/silk"}


def create(ctx: ChannelContext) -> Channel | None:
    """The WeCom channel when all five settings are there; None (off) otherwise."""
    values = {key: (ctx.env.get(key) or "").strip() for key in REQUIRED}
    missing = [key for key, value in values.items() if not value]
    if len(missing) == len(REQUIRED):
        return None
    if missing:
        log.warning("WeCom stays off: %s not set (all five are needed)", ", ".join(missing))
        return None
    try:
        agent_id = int(values["TALENTBOT_WECOM_AGENT_ID"])
    except ValueError:
        raise ValueError("TALENTBOT_WECOM_AGENT_ID must be the app's numeric AgentId") from None
    try:
        timeout = float(ctx.env.get("TALENTBOT_WECOM_TIMEOUT") or 10.0)
    except ValueError:
        raise ValueError("TALENTBOT_WECOM_TIMEOUT must be a number of seconds") from None
    try:
        crypto = WeComCrypto(
            token=values["TALENTBOT_WECOM_TOKEN"],
            aes_key=values["TALENTBOT_WECOM_AES_KEY"],
            corp_id=values["TALENTBOT_WECOM_CORP_ID"],
        )
    except ValueError as exc:
        raise ValueError(f"TALENTBOT_WECOM_AES_KEY: {exc}") from None
    api = WeComAPI(
        corp_id=values["TALENTBOT_WECOM_CORP_ID"],
        secret=values["TALENTBOT_WECOM_SECRET"],
        agent_id=agent_id,
        base_url=(ctx.env.get("TALENTBOT_WECOM_API_BASE") or DEFAULT_BASE).strip(),
        timeout=timeout,
        clock=ctx.clock,
    )
    return WeComChannel(ctx=ctx, crypto=crypto, api=api)


def translate(msg: Mapping[str, str]) -> Inbound | None:
    """A decrypted WeCom message as an Inbound; None for what the bot does not handle (menu-less
    events such as enter_agent or subscribe, locations, links)."""
    user = msg.get("FromUserName", "")
    if not user:
        return None
    kind = msg.get("MsgType", "").lower()
    msg_id = msg.get("MsgId") or f"{user}:{msg.get('CreateTime', '')}"

    def inbound(text: str | None, media: MediaRef | None = None, payload: str | None = None) -> Inbound:
        return Inbound(NAME, user, user, msg_id, text, media, payload)

    media_id = msg.get("MediaId", "")
    if kind == "text":
        return inbound(msg.get("Content", ""))
    if kind == "voice" and media_id:
        fmt = msg.get("Format", "amr").lower() or "amr"
        return inbound(None, MediaRef("voice", media_id, VOICE_MIME.get(fmt, f"audio/{fmt}")))
    if kind == "image" and media_id:
        return inbound(None, MediaRef("image", media_id))
    if kind == "file" and media_id:
        return inbound(None, MediaRef("file", media_id, name=msg.get("FileName") or msg.get("Title") or None))
    if kind == "video" and media_id:
        return inbound(None, MediaRef("file", media_id, "video/mp4"))
    if kind == "event":
        event = msg.get("Event", "").lower()
        key = msg.get("EventKey", "")
        if event in ("template_card_event", "click") and key:
            # Events have no MsgId: WeCom's advice is FromUserName + CreateTime; the card and key make
            # two clicks within one second distinct (a redelivery carries the same values).
            eid = f"evt:{user}:{msg.get('CreateTime', '')}:{msg.get('TaskId', '')}:{key}"
            return Inbound(NAME, user, user, eid, None, None, key)
    return None


class WeComChannel:
    name = NAME
    limits: Sequence[RateLimit] = (RateLimit(30, 60, "conversation"), RateLimit(1000, 3600, "conversation"))

    def __init__(
        self,
        *,
        ctx: ChannelContext,
        crypto: WeComCrypto,
        api: WeComAPI,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx, self._crypto, self.api = ctx, crypto, api
        self._monotonic = monotonic
        self._sent: dict[str, deque[float]] = {}
        self._progress: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/", self.callback, methods=["GET", "POST"])]

    async def start(self) -> None:
        self.api.client()

    async def stop(self) -> None:
        await self.api.aclose()

    # ------------------------------------------------------------------ inbound

    async def callback(self, request: Request) -> Response:
        q = request.query_params
        sig, ts, nonce = q.get("msg_signature"), q.get("timestamp"), q.get("nonce")
        if not sig or not ts or not nonce:
            return PlainTextResponse("missing msg_signature, timestamp or nonce", status_code=400)
        if request.method in ("GET", "HEAD"):
            return self._verify_url(sig, ts, nonce, q.get("echostr"))
        body = await _read_capped(request, MAX_BODY_BYTES)
        if body is None:
            return PlainTextResponse("too large", status_code=413)
        try:
            encrypt = parse_xml(body).get("Encrypt", "")
        except XMLError as exc:
            log.warning("WeCom callback: malformed XML (%s)", exc)
            return PlainTextResponse("malformed XML", status_code=400)
        if not encrypt:
            return PlainTextResponse("no Encrypt element", status_code=400)
        refused = self._refused(sig, ts, nonce, encrypt)
        if refused is not None:
            return refused
        try:
            msg = parse_xml(self._crypto.decrypt(encrypt).encode())
        except (CryptoError, XMLError) as exc:
            log.warning("WeCom callback: cannot read the encrypted message (%s)", exc)
            return PlainTextResponse("cannot decrypt", status_code=400)
        agent = msg.get("AgentID", "")
        if agent and agent != str(self.api.agent_id):
            log.info("WeCom callback for agent %s ignored (this app is %s)", agent, self.api.agent_id)
            return Response(b"", status_code=200)
        inbound = translate(msg)
        if inbound is None:
            log.debug("WeCom %s/%s ignored", msg.get("MsgType"), msg.get("Event"))
        elif not await self._ctx.accept(inbound):
            log.info("WeCom message %s redelivered; handled once", inbound.message_id)
        return Response(b"", status_code=200)

    def _verify_url(self, sig: str, ts: str, nonce: str, echostr: str | None) -> Response:
        if not echostr:
            return PlainTextResponse("missing echostr", status_code=400)
        echostr = echostr.replace(" ", "+")  # a "+" that arrived unencoded was read as a space
        refused = self._refused(sig, ts, nonce, echostr)
        if refused is not None:
            return refused
        try:
            plain = self._crypto.decrypt(echostr)
        except CryptoError as exc:
            log.warning("WeCom URL check: cannot decrypt echostr (%s)", exc)
            return PlainTextResponse("cannot decrypt", status_code=400)
        log.info("WeCom callback URL verified")
        return PlainTextResponse(plain)

    def _refused(self, sig: str, ts: str, nonce: str, encrypt: str) -> Response | None:
        if not self._crypto.verify(sig, ts, nonce, encrypt):
            log.warning("WeCom callback with a wrong msg_signature refused")
            return PlainTextResponse("bad signature", status_code=403)
        try:
            at = int(ts)
        except ValueError:
            return PlainTextResponse("bad timestamp", status_code=403)
        age = self._ctx.clock().timestamp() - at
        if abs(age) > REPLAY_WINDOW.total_seconds():
            log.warning("WeCom callback with a stale timestamp (%.0f s) refused", age)
            return PlainTextResponse("stale timestamp", status_code=403)
        return None

    # ------------------------------------------------------------------ media

    async def fetch_media(self, media: MediaRef) -> Fetched:
        try:
            got = await self.api.media(media.ref, max_bytes=MAX_MEDIA_BYTES)
        except APIError as exc:
            raise MediaError(str(exc), retryable=exc.retryable) from None
        filename = media.name or got.filename
        mime = got.mime if got.mime and got.mime != "application/octet-stream" else media.mime
        if media.kind == "voice" and media.mime:
            mime = media.mime  # the callback said what the recording is (AMR); trust it over the label
        if mime is None and filename:
            mime = mimetypes.guess_type(filename)[0]
        return Fetched(got.data, mime=mime, filename=filename)

    # ------------------------------------------------------------------ outbound

    async def send(self, conversation_id: str, reply: Reply) -> None:
        parts: list[dict[str, Any] | FileRef] = [*render(reply), *reply.files]
        key = _progress_key(conversation_id, reply)
        done = self._resume(key)
        for i, part in enumerate(parts):
            if i < done:
                continue
            try:
                self._member_guard(conversation_id)
                if isinstance(part, FileRef):
                    await self._send_file(conversation_id, part)
                else:
                    await self.api.send(conversation_id, part)
            except (APIError, SendError) as exc:
                if exc.retryable and i:
                    self._progress[key] = (i, self._monotonic())
                else:
                    self._progress.pop(key, None)
                if isinstance(exc, SendError):
                    raise
                raise SendError(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from None
            self._sent.setdefault(conversation_id, deque()).append(self._monotonic())
        self._progress.pop(key, None)

    async def _send_file(self, user: str, f: FileRef) -> None:
        try:
            got = await self.api.fetch(f.url, max_bytes=MAX_MEDIA_BYTES)
        except APIError as exc:
            log.warning("file %s for WeCom could not be fetched (%s); sending its link", f.url, exc)
            got = None
        if got is None or got.truncated or len(got.data) < 5:
            await self.api.send(user, {"msgtype": "text", "text": {"content": f"{f.name}: {f.url}"}})
            return
        mime = f.mime or got.mime or "application/octet-stream"
        kind = (
            "image" if mime in ("image/png", "image/jpeg") and len(got.data) <= IMAGE_UPLOAD_MAX else "file"
        )
        media_id = await self.api.upload(kind, filename=f.name, mime=mime, data=got.data)
        await self.api.send(user, {"msgtype": kind, kind: {"media_id": media_id}})

    def _member_guard(self, user: str) -> None:
        """Refuse (retryably) a message WeCom would drop: over 30 a minute or 1000 an hour to one member."""
        now = self._monotonic()
        longest = max(seconds for _, seconds in MEMBER_WINDOWS)
        if len(self._sent) > 512:  # members quiet for an hour are forgotten
            for member in [m for m, times in self._sent.items() if not times or now - times[-1] > longest]:
                del self._sent[member]
        sent = self._sent.get(user, deque())
        while sent and now - sent[0] > longest:
            sent.popleft()
        for count, seconds in MEMBER_WINDOWS:
            recent = [t for t in sent if now - t < seconds]
            if len(recent) >= count:
                wait = seconds - (now - recent[-count])
                raise SendError(
                    f"WeCom allows {count} messages per {seconds:.0f} s to one member",
                    retryable=True,
                    retry_after=max(wait, 1.0),
                )

    def _resume(self, key: str) -> int:
        now = self._monotonic()
        while self._progress:
            oldest, (_, at) = next(iter(self._progress.items()))
            if now - at <= PROGRESS_TTL:
                break
            self._progress.pop(oldest)
        done, _ = self._progress.get(key, (0, now))
        return done


def _progress_key(conversation_id: str, reply: Reply) -> str:
    """Identifies a reply between the gateway's attempts, so a retry does not repeat the parts of a
    reply that already went out (a text before its card, a card before its file)."""
    raw = json.dumps([conversation_id, reply.to_json()], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


async def _read_capped(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
