"""Telegram: updates in by webhook (or long polling, for development), Bot API calls out, through
python-telegram-bot's ``Bot`` (its Update parsing, its httpx transport and its error classes).

Settings (environment over the config file):

- ``TALENTBOT_TELEGRAM_TOKEN`` — the token from @BotFather; without it the platform is off.
- ``TALENTBOT_TELEGRAM_SECRET`` — the ``secret_token`` given to setWebhook (1–256 of ``A-Z a-z 0-9 _ -``);
  Telegram sends it back in ``X-Telegram-Bot-Api-Secret-Token``. Required in webhook mode (off without).
- ``TALENTBOT_TELEGRAM_MODE`` — ``webhook`` (default) or ``polling`` (getUpdates; no public URL needed).
- ``TALENTBOT_TELEGRAM_API_BASE`` — default ``https://api.telegram.org`` (a local Bot API server, a fake).
- ``TALENTBOT_TELEGRAM_TIMEOUT`` — seconds per Bot API request (default 20).

In webhook mode ``start()`` registers ``{TALENTBOT_PUBLIC_URL}/hooks/telegram/`` with setWebhook (it logs,
and the platform keeps working, if Telegram refuses — e.g. a public URL that is not https). In polling
mode it deletes any webhook first (Telegram refuses getUpdates while one is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bots.channels.base import (
    Channel,
    ChannelContext,
    Fetched,
    MediaError,
    MediaTooLarge,
    RateLimit,
    SendError,
)
from bots.channels.telegram_inbound import ALLOWED_UPDATES, PLATFORM, translate
from bots.channels.telegram_outbound import (
    MAX_PHOTO_BYTES,
    MAX_UPLOAD_BYTES,
    FilePart,
    Part,
    TextPart,
    media_error,
    render,
    send_error,
)
from flows.values import FileRef, Inbound, MediaRef, Reply

log = logging.getLogger("talentbot.telegram")

DEFAULT_API_BASE = "https://api.telegram.org"
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
MAX_UPDATE_BYTES = 1 << 20  # an update is a few KB; anything near this is not from Telegram
MAX_DOWNLOAD_BYTES = 20 * 2**20  # getFile serves files up to 20 MB
POLL_SECONDS = 25  # long-poll timeout for getUpdates
RECENT_UPDATES = 4096
PROGRESS_KEPT = 1024
HEADER = "x-telegram-bot-api-secret-token"


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    secret: str | None = None
    mode: str = "webhook"
    api_base: str = DEFAULT_API_BASE
    timeout: float = 20.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelegramConfig | None:
        """None (off) without a token, or without the secret in webhook mode (with a warning);
        ValueError for values that cannot work."""
        token = (env.get("TALENTBOT_TELEGRAM_TOKEN") or "").strip()
        if not token:
            return None
        mode = (env.get("TALENTBOT_TELEGRAM_MODE") or "webhook").strip().lower()
        if mode not in ("webhook", "polling"):
            raise ValueError("TALENTBOT_TELEGRAM_MODE must be webhook or polling")
        secret = (env.get("TALENTBOT_TELEGRAM_SECRET") or "").strip() or None
        if secret is not None and not SECRET_RE.fullmatch(secret):
            raise ValueError("TALENTBOT_TELEGRAM_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        if mode == "webhook" and secret is None:
            log.warning(
                "Telegram stays off: TALENTBOT_TELEGRAM_SECRET is not set (in webhook mode it proves an "
                "update comes from Telegram); set it, or TALENTBOT_TELEGRAM_MODE=polling"
            )
            return None
        try:
            timeout = float(env.get("TALENTBOT_TELEGRAM_TIMEOUT") or 20.0)
        except ValueError:
            raise ValueError("TALENTBOT_TELEGRAM_TIMEOUT must be a number of seconds") from None
        if timeout <= 0:
            raise ValueError("TALENTBOT_TELEGRAM_TIMEOUT must be positive")
        api_base = (env.get("TALENTBOT_TELEGRAM_API_BASE") or DEFAULT_API_BASE).strip().rstrip("/")
        return cls(token=token, secret=secret, mode=mode, api_base=api_base, timeout=timeout)


def create(ctx: ChannelContext) -> Channel | None:
    config = TelegramConfig.from_env(ctx.env)
    if config is None:
        return None
    return TelegramChannel(config=config, accept=ctx.accept, public_url=ctx.public_url)


class TelegramChannel:
    """One bot. ``routes()`` is the webhook; ``start()``/``stop()`` run polling or webhook registration."""

    name = PLATFORM
    limits: Sequence[RateLimit] = (RateLimit(30, 1.0, "platform"), RateLimit(1, 1.0, "conversation"))

    def __init__(
        self,
        *,
        config: TelegramConfig,
        accept: Callable[[Inbound], Awaitable[bool]],
        public_url: str,
    ) -> None:
        self.config, self._accept, self._public_url = config, accept, public_url.rstrip("/")
        t = config.timeout
        self._requests = (
            HTTPXRequest(
                connection_pool_size=32,
                read_timeout=t,
                write_timeout=t,
                connect_timeout=t,
                pool_timeout=t,
                media_write_timeout=3 * t,
            ),
            HTTPXRequest(connection_pool_size=2, read_timeout=t, write_timeout=t, connect_timeout=t),
        )
        self.bot = Bot(
            config.token,
            base_url=f"{config.api_base}/bot",
            base_file_url=f"{config.api_base}/file/bot",
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._progress: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def webhook_url(self) -> str:
        return f"{self._public_url}/hooks/{PLATFORM}/"

    # ------------------------------------------------------------------ lifecycle

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/", self.webhook, methods=["POST"])] if self.config.secret else []

    async def start(self) -> None:
        if self.config.mode == "polling":
            self._spawn(self._poll())
        else:
            self._spawn(self._register_webhook())

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for request in self._requests:
            await request.shutdown()  # reopened on use: the gateway flushes due sends after stop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open(self) -> None:
        for request in self._requests:
            await request.initialize()

    # ------------------------------------------------------------------ inbound

    async def webhook(self, request: Request) -> Response:
        """POST /hooks/telegram/: 403 without the right secret, 400 for what is not an update, else 200
        (also for update types we do not handle, so Telegram does not retry them)."""
        secret = self.config.secret
        given = request.headers.get(HEADER)
        if secret is None or given is None or not hmac.compare_digest(given.encode(), secret.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPDATE_BYTES:
                return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(bytes(body))
        except ValueError:
            return PlainTextResponse("malformed JSON", status_code=400)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return PlainTextResponse("not an update", status_code=400)
        kind = next((k for k in ALLOWED_UPDATES if k in data), None)
        if kind is None:  # an update type we do not handle (or one newer than PTB): not even parsed
            log.debug("telegram update %s ignored: %s", data["update_id"], ", ".join(data)[:200])
            return Response(status_code=200)
        try:
            update = Update.de_json({"update_id": data["update_id"], kind: data[kind]}, self.bot)
        except Exception:  # noqa: BLE001 — PTB raises whatever a malformed field makes it raise
            log.warning("malformed telegram update %s", data.get("update_id"), exc_info=True)
            return PlainTextResponse("malformed update", status_code=400)
        await self.dispatch(update)
        return Response(status_code=200)

    async def dispatch(self, update: Update) -> bool:
        """Hand one update on (once per update_id); True when a message went to the gateway."""
        if update.update_id in self._seen:
            return False
        self._seen[update.update_id] = None
        if len(self._seen) > RECENT_UPDATES:
            self._seen.popitem(last=False)
        incoming = translate(update)
        if incoming.callback_query_id is not None:
            self._spawn(self._answer_callback(incoming.callback_query_id))
        if incoming.inbound is None:
            log.debug("telegram update %s ignored", update.update_id)
            return False
        return await self._accept(incoming.inbound)

    async def _answer_callback(self, callback_query_id: str) -> None:
        try:
            await self._open()
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:  # too old, already answered: the button just stops spinning later
            log.info("answerCallbackQuery %s: %s", callback_query_id, exc)

    async def _register_webhook(self) -> None:
        try:
            await self._open()
            await self.bot.set_webhook(
                url=self.webhook_url, secret_token=self.config.secret, allowed_updates=list(ALLOWED_UPDATES)
            )
            log.info("telegram webhook set to %s", self.webhook_url)
        except TelegramError as exc:
            log.warning(
                "telegram setWebhook(%s) failed: %s — set TALENTBOT_PUBLIC_URL to the server's https "
                "address, or register the webhook by hand (see the README)",
                self.webhook_url,
                exc,
            )

    async def _poll(self) -> None:
        offset: int | None = None
        delay = 1.0
        cleared = False
        while True:
            try:
                await self._open()
                if not cleared:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    cleared = True
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_SECONDS, allowed_updates=list(ALLOWED_UPDATES)
                )
            except Exception as exc:  # noqa: BLE001 — network trouble, a conflict: wait and poll again
                log.warning("telegram getUpdates: %s; again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            delay = 1.0
            for update in updates:
                offset = update.update_id + 1
                try:
                    await self.dispatch(update)
                except Exception:  # noqa: BLE001 — one bad update must not stop polling
                    log.exception("telegram update %s failed", update.update_id)

    # ------------------------------------------------------------------ outbound

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Send ``reply``'s parts in order. A retry after a partial failure skips the parts that
        already went out (remembered in memory for the reply that failed)."""
        parts = render(reply)
        key = (
            conversation_id,
            hashlib.sha256(json.dumps(reply.to_json(), sort_keys=True).encode()).hexdigest(),
        )
        done = self._progress.pop(key, 0)
        for i, part in enumerate(parts):
            if i < done:
                continue
            try:
                await self._open()
                await self._send_part(conversation_id, part)
            except SendError:
                self._remember(key, i)
                raise
            except Exception as exc:  # noqa: BLE001 — every failure becomes a SendError for the gateway
                self._remember(key, i)
                raise send_error(exc) from exc

    def _remember(self, key: tuple[str, str], done: int) -> None:
        if done > 0:
            self._progress[key] = done
            if len(self._progress) > PROGRESS_KEPT:
                self._progress.popitem(last=False)

    async def _send_part(self, chat_id: str, part: Part) -> None:
        if isinstance(part, TextPart):
            await self.bot.send_message(chat_id=chat_id, text=part.text, reply_markup=part.keyboard)
            return
        assert isinstance(part, FilePart)
        f = part.file
        data = await self._attachment(f)
        if data is None:  # cannot be uploaded: the link, so nothing is lost
            await self.bot.send_message(chat_id=chat_id, text=f"📎 {f.name}\n{f.url}")
        elif f.mime in ("image/png", "image/jpeg") and len(data) <= MAX_PHOTO_BYTES:
            await self.bot.send_photo(chat_id=chat_id, photo=data, filename=f.name)
        else:
            await self.bot.send_document(chat_id=chat_id, document=data, filename=f.name)

    async def _attachment(self, f: FileRef) -> bytes | None:
        """The file's bytes, to upload: Telegram fetches documents by URL only for PDF, ZIP and GIF, and
        only from public addresses, so we fetch them (usually from this server) ourselves. None when
        this server will not hand it out (a 4xx: behind a login, gone) or it is over Telegram's 50 MB;
        5xx, timeouts and network errors raise (the send is retried)."""
        async with (
            httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=True) as client,
            client.stream("GET", f.url) as response,
        ):
            code = response.status_code
            if 400 <= code < 500 and code not in (408, 429):
                log.warning("attachment %s answered %d: sending its link instead", f.url, code)
                return None
            response.raise_for_status()
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_UPLOAD_BYTES:
                    log.warning("attachment %s is over 50 MB: sending its link instead", f.url)
                    return None
        return bytes(data)

    async def fetch_media(self, media: MediaRef) -> Fetched:
        """getFile, then the file URL. Over 20 MB (Telegram will not serve it) is not retried; an
        unknown or expired id neither; network trouble, 5xx and timeouts are."""
        try:
            async with asyncio.timeout(6 * self.config.timeout):
                return await self._fetch(media)
        except TimeoutError as exc:
            raise MediaError(f"telegram file {media.ref}: timed out", retryable=True) from exc
        except MediaError:
            raise
        except Exception as exc:  # noqa: BLE001 — the gateway only understands MediaError
            raise MediaError(f"telegram file {media.ref}: {exc!r}", retryable=True) from exc

    async def _fetch(self, media: MediaRef) -> Fetched:
        await self._open()
        try:
            file = await self.bot.get_file(media.ref)
        except TelegramError as exc:
            raise media_error(exc, media.ref, downloading=False) from exc
        if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
            raise MediaTooLarge(f"telegram file {media.ref}: {file.file_size} bytes, over 20 MB")
        if not file.file_path:
            raise MediaError(f"telegram file {media.ref}: no file_path", retryable=True)
        try:
            data = await file.download_as_bytearray()
        except TelegramError as exc:
            raise media_error(exc, media.ref, downloading=True) from exc
        return Fetched(bytes(data), mime=media.mime, filename=media.name)
