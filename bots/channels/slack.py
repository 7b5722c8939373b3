"""Slack: a Bolt ``AsyncApp`` behind ``POST /hooks/slack/events`` (Events API and interactivity) and,
with an app-level token, Socket Mode; ``chat.postMessage`` with Block Kit out; files through
``files.info`` + ``url_private_download``.

Settings (environment or config file): ``TALENTBOT_SLACK_BOT_TOKEN`` (``xoxb-``) and either
``TALENTBOT_SLACK_SIGNING_SECRET`` (HTTP mode) or ``TALENTBOT_SLACK_APP_TOKEN`` (``xapp-``, Socket
Mode) — without them the platform is off; ``TALENTBOT_SLACK_API_BASE`` (default
``https://slack.com/api/``) points the Web API client elsewhere (tests: a fake on 127.0.0.1).

Requests are acknowledged as soon as they are verified and handed to ``ctx.accept`` (which only
queues), well inside Slack's 3 seconds; ``process_before_response`` makes that order explicit, so a
request we failed to queue answers 500 and Slack delivers it again. A retried delivery (header
``X-Slack-Retry-Num``) carries the same ``event_id``, which is the message id: it is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bots.channels.base import Channel, ChannelContext, Fetched, RateLimit
from bots.channels.slack_client import SlackFiles, send_error
from bots.channels.slack_inbound import (
    ACTION_PREFIX,
    BadRequest,
    action_inbounds,
    message_inbounds,
    parse_body,
    signature_ok,
)
from bots.channels.slack_render import render
from flows.values import Inbound, MediaRef, Reply

log = logging.getLogger("talentbot.slack")

DEFAULT_API_BASE = "https://slack.com/api/"
MAX_REQUEST_BYTES = 1 * 2**20  # Slack's event and interaction payloads are a few kB
API_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SlackConfig:
    bot_token: str
    signing_secret: str | None
    app_token: str | None
    api_base: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackConfig | None:
        """None (the platform is off) unless a bot token and a way to receive are configured."""
        token = (env.get("TALENTBOT_SLACK_BOT_TOKEN") or "").strip()
        secret = (env.get("TALENTBOT_SLACK_SIGNING_SECRET") or "").strip() or None
        app_token = (env.get("TALENTBOT_SLACK_APP_TOKEN") or "").strip() or None
        if not token:
            if secret or app_token:
                log.warning("Slack stays off: TALENTBOT_SLACK_BOT_TOKEN is not set")
            return None
        if not secret and not app_token:
            log.warning(
                "Slack stays off: set TALENTBOT_SLACK_SIGNING_SECRET (Events API over HTTP) "
                "or TALENTBOT_SLACK_APP_TOKEN (Socket Mode)"
            )
            return None
        base = (env.get("TALENTBOT_SLACK_API_BASE") or DEFAULT_API_BASE).strip()
        return cls(token, secret, app_token, base if base.endswith("/") else base + "/")


def create(ctx: ChannelContext) -> Channel | None:
    config = SlackConfig.from_env(ctx.env)
    if config is None:
        return None
    return SlackChannel(config=config, accept=ctx.accept)


class SlackChannel:
    """One Slack workspace (a single-team app with a bot token)."""

    name = "slack"
    limits: Sequence[RateLimit] = (RateLimit(1, 1.0, "conversation"),)  # chat.postMessage ≈ 1/s/channel

    def __init__(
        self,
        *,
        config: SlackConfig,
        accept: Callable[[Inbound], Awaitable[bool]],
        api_timeout: float = API_TIMEOUT,
        download_timeout: float = 30.0,
    ) -> None:
        self.config = config
        self._accept = accept
        # retry_handlers=[]: the gateway owns retries (with backoff, recorded), the SDK does not add its own
        self.client = AsyncWebClient(
            token=config.bot_token,
            base_url=config.api_base,
            timeout=max(1, round(api_timeout)),
            retry_handlers=[],
        )
        self.files = SlackFiles(client=self.client, token=config.bot_token, timeout=download_timeout)
        # Socket Mode only: no HTTP route is mounted; a random secret keeps Bolt's verifier meaningful.
        self._secret = config.signing_secret or secrets.token_hex(32)
        self.app = AsyncApp(
            name="talentbot",
            signing_secret=self._secret,
            client=self.client,
            process_before_response=True,
            logger=log,
        )
        self._register(self.app)
        self._http = AsyncSlackRequestHandler(self.app)
        self._socket: Any = None  # AsyncSocketModeHandler, made on the event loop in start()
        self._connecting: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ receiving

    def _register(self, app: AsyncApp) -> None:
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_message)
        app.event(re.compile(".*"))(self._ignore)  # every other event type: acknowledged, ignored
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        app.action(re.compile(".*"))(self._ack_only)  # buttons of messages we did not send
        app.view(re.compile(".*"))(self._ack_only)
        app.shortcut(re.compile(".*"))(self._ack_only)

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        for inbound in message_inbounds(body, bot_user_id=context.bot_user_id):
            await self._hand_over(inbound)

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        for inbound in action_inbounds(body):
            await self._hand_over(inbound)

    async def _ignore(self, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        log.debug("ignored Slack event %s", event.get("type") if isinstance(event, dict) else None)

    async def _ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def _hand_over(self, inbound: Inbound) -> None:
        if not await self._accept(inbound):
            log.info("Slack delivery %s seen already: ignored", inbound.message_id)

    async def _events(self, request: Request) -> Response:
        """The Request URL for Event Subscriptions and Interactivity. Order of checks: size, signature
        (401, never parsed), body (400, never processed), then Bolt (which verifies again)."""
        headers = request.headers
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        if not signature_ok(
            self._secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        ):
            log.warning("Slack request with a bad or stale signature refused")
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            data = parse_body(body, headers.get("content-type"))
        except BadRequest as exc:
            log.warning("malformed Slack request refused: %s", exc)
            return JSONResponse({"error": str(exc)}, status_code=400)
        retry = headers.get("x-slack-retry-num")
        if retry is not None:
            log.info(
                "Slack retry %s (%s) of %s",
                retry,
                headers.get("x-slack-retry-reason", "?"),
                data.get("event_id"),
            )
        response = await self._http.handle(request)
        if response.status_code == 404:  # Bolt's "unhandled request": a payload type we do not use
            return Response(status_code=200)
        return response

    def routes(self) -> Sequence[BaseRoute]:
        if self.config.signing_secret is None:
            return []
        return [Route("/events", self._events, methods=["POST"])]

    async def start(self) -> None:
        if self.config.app_token is None:
            return
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # Its own client: apps.connections.open takes the app-level token, not the bot token.
        web = AsyncWebClient(base_url=self.config.api_base, timeout=int(API_TIMEOUT))
        self._socket = AsyncSocketModeHandler(self.app, self.config.app_token, web_client=web)
        # Connecting retries until Slack answers: in the background, so serving starts regardless.
        self._connecting = asyncio.create_task(self._socket.connect_async())

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
            self._connecting = None
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()
            self._socket = None

    # ------------------------------------------------------------------ sending

    async def send(self, conversation_id: str, reply: Reply) -> None:
        try:
            await self.client.chat_postMessage(channel=conversation_id, **render(reply))
        except Exception as exc:  # noqa: BLE001 — every failure becomes a SendError the gateway records
            raise send_error(exc, "chat.postMessage") from exc

    async def fetch_media(self, media: MediaRef) -> Fetched:
        return await self.files.fetch(media.ref)
