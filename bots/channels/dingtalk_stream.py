"""DingTalk stream mode: the robot opens an outbound websocket instead of exposing a callback URL.

The ``dingtalk-stream`` SDK supplies the frame types, the robot topic, the callback handler and the
ACK protocol (``route_message`` answers every frame on the socket). Its connection loop is replaced:
the SDK's ``start`` swallows cancellation (stopping would take repeated cancels), opens the connection
with blocking ``requests`` on the event loop, resolves its local IP with a UDP connect to 8.8.8.8 and
reads its endpoint from ``DINGTALK_OPENAPI_ENDPOINT`` at import. Here the connection is opened with
httpx against the configured API base, frames are routed one at a time (so one person's messages keep
their order), reconnects back off, and one ``cancel`` stops it.

Messages go through the same translator as the HTTP callback. DingTalk may redeliver a frame after a
reconnect; ``accept`` and the engine's processed-message record make that harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform as _platform
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

import httpx
import websockets
from dingtalk_stream import (
    AckMessage,
    CallbackHandler,
    CallbackMessage,
    ChatbotMessage,
    Credential,
    SystemMessage,
)
from dingtalk_stream import DingTalkStreamClient as _SDKClient
from dingtalk_stream.version import VERSION_STRING

log = logging.getLogger("talentbot.dingtalk.stream")

BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
TOPIC = ChatbotMessage.TOPIC  # '/v1.0/im/bot/messages/get'

OnMessage = Callable[[Mapping[str, Any]], Awaitable[None]]


class _RobotHandler(CallbackHandler):
    """ACKs each robot message once it has been handed over (the work itself is queued)."""

    def __init__(self, on_message: OnMessage) -> None:
        super().__init__()
        self.logger = log
        self._on_message = on_message

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        data = message.data if isinstance(message.data, Mapping) else {}
        try:
            await self._on_message(data)
        except ValueError as exc:  # malformed: a redelivery would not fix it
            log.warning("dingtalk stream: message %s refused: %s", message.headers.message_id, exc)
            return AckMessage.STATUS_OK, "ignored"
        except Exception:  # noqa: BLE001 — not ACKed as OK, so DingTalk delivers it again
            log.exception("dingtalk stream: message %s failed", message.headers.message_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "error"
        return AckMessage.STATUS_OK, "OK"


class _Client(_SDKClient):
    def get_host_ip(self) -> str:
        return ""  # the SDK would connect a UDP socket to 8.8.8.8 to find it; it is informational


class StreamConnection:
    """Keeps one stream connection up until cancelled."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        api_base: str,
        on_message: OnMessage,
        timeout: float = 15.0,
    ) -> None:
        self._key, self._secret = app_key, app_secret
        self._open_url = api_base.rstrip("/") + "/v1.0/gateway/connections/open"
        self._timeout = timeout
        self._client = _Client(Credential(app_key, app_secret), logger=log)
        self._client.register_callback_handler(TOPIC, _RobotHandler(on_message))
        self.connections = 0  # how many times a socket was opened (tests, diagnostics)
        self._connected = False

    async def run(self) -> None:
        failures = 0
        while True:
            self._connected = False
            try:
                endpoint = await self._open()
                asked = await self._serve(endpoint)
                # DingTalk's "disconnect" (it moves us to another node): reconnect at once; a socket
                # that just closed: after a pause, so a failing gateway is not hammered
                failures = 0 if asked else 1
            except (OSError, httpx.HTTPError, websockets.exceptions.WebSocketException, ValueError) as exc:
                log.warning("dingtalk stream: %s; reconnecting", exc)
                failures = 1 if self._connected else failures + 1
            except Exception:  # noqa: BLE001 — keep the robot reachable
                log.exception("dingtalk stream: unexpected error; reconnecting")
                failures = 1 if self._connected else failures + 1
            if failures:
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF)) - 1])

    async def _open(self) -> str:
        body = {
            "clientId": self._key,
            "clientSecret": self._secret,
            "subscriptions": [{"type": "CALLBACK", "topic": TOPIC}],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union talentbot",
            "localIp": self._client.get_host_ip(),
        }
        headers = {
            "Accept": "application/json",
            "User-Agent": f"DingTalkStream/1.0 SDK/{VERSION_STRING} Python/{_platform.python_version()}",
        }
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            resp = await http.post(self._open_url, json=body, headers=headers)
        if resp.status_code != 200:
            raise ValueError(f"connections/open: HTTP {resp.status_code} {resp.text[:200]}")
        data = resp.json()
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str):
            raise ValueError("connections/open: no endpoint or ticket")
        return f"{endpoint}?ticket={quote_plus(ticket)}"

    async def _serve(self, uri: str) -> bool:
        """Route frames until the socket closes; True when DingTalk asked us to reconnect."""
        async with websockets.connect(uri, open_timeout=self._timeout, max_size=4 * 2**20) as ws:
            self.connections += 1
            self._connected = True  # a working connection resets the backoff
            self._client.websocket = ws
            log.info("dingtalk stream: connected")
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("dingtalk stream: a frame that is not JSON was dropped")
                    continue
                if not isinstance(frame, dict):
                    continue
                try:
                    if _is_ping(frame):  # the SDK would ACK it too, with a warning each time
                        ack = await self._client.system_handler.raw_process(SystemMessage.from_dict(frame))
                        await ws.send(json.dumps(ack.to_dict()))
                        continue
                    result = await self._client.route_message(frame)  # ACKs on the socket
                except websockets.exceptions.WebSocketException:
                    raise
                except Exception:  # noqa: BLE001 — one odd frame must not drop the connection
                    log.exception("dingtalk stream: frame %.200s could not be handled", raw)
                    continue
                if result == _SDKClient.TAG_DISCONNECT:
                    log.info("dingtalk stream: the server asked to reconnect")
                    return True
        log.warning("dingtalk stream: the connection was closed")
        return False


def _is_ping(frame: Mapping[str, Any]) -> bool:
    headers = frame.get("headers")
    return (
        frame.get("type") == SystemMessage.TYPE
        and isinstance(headers, Mapping)
        and headers.get("topic") == "ping"
    )
