"""Slack's Web API failures as the gateway's errors, and file downloads.

Retryable: HTTP 429 (with ``Retry-After``), 5xx, ``ratelimited``/``internal_error``-style errors,
network errors and timeouts. Not retryable: the rest (``channel_not_found``, ``not_in_channel``,
``invalid_auth``…) — retrying cannot help, so the gateway records the failure and tells HR at once.

Downloads: ``files.info`` for the file's private URL (never a URL taken from the event itself), then
a GET with the bot token as Bearer — only to Slack's own hosts or the configured API host, so the
token cannot be sent elsewhere. Slack answers a token without ``files:read`` with its HTML sign-in
page and status 200: that is an error, not the file.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.channels.base import Fetched, MediaError, MediaTooLarge, SendError
from bots.channels.gateway import MAX_MEDIA_BYTES

log = logging.getLogger("talentbot.slack")

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
SLACK_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def api_failure(exc: BaseException) -> tuple[str, bool, float | None]:
    """(message, retryable, retry_after) for any exception of a Web API call."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", None) or 0
        data = getattr(resp, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        message = f"HTTP {status}: {error or 'no error code'}"
        if status == 429 or error in ("ratelimited", "rate_limited"):
            return message, True, _retry_after(getattr(resp, "headers", None))
        return message, status >= 500 or error in RETRYABLE_ERRORS, None
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return f"network: {type(exc).__name__}: {exc}", True, None
    # An answer the SDK could not read (a proxy's HTML page, a plain-text 502…): try again later.
    return f"unexpected: {type(exc).__name__}: {exc}", True, None


def send_error(exc: BaseException, method: str) -> SendError:
    message, retryable, retry_after = api_failure(exc)
    return SendError(f"{method}: {message}", retryable=retryable, retry_after=retry_after)


class SlackFiles:
    """Fetches a shared file by its id; raises MediaError (MediaTooLarge past ``max_bytes``)."""

    def __init__(
        self, *, client: AsyncWebClient, token: str, timeout: float, max_bytes: int = MAX_MEDIA_BYTES
    ) -> None:
        self.client, self._token, self.timeout, self.max_bytes = client, token, timeout, max_bytes

    async def fetch(self, file_id: str) -> Fetched:
        try:
            info = await self.client.files_info(file=file_id)
        except Exception as exc:  # noqa: BLE001 — classified below
            message, retryable, _ = api_failure(exc)  # file_not_found, file_deleted…: not retryable
            raise MediaError(f"files.info {file_id}: {message}", retryable=retryable) from exc
        file = info.get("file") if isinstance(info.data, dict) else None
        if not isinstance(file, dict):
            raise MediaError(f"files.info {file_id}: no file in the answer", retryable=True)
        url = file.get("url_private_download") or file.get("url_private")
        if not isinstance(url, str) or not self._trusted(url):
            raise MediaError(f"file {file_id} has no downloadable URL on Slack ({url!r})", retryable=False)
        mime = file.get("mimetype") if isinstance(file.get("mimetype"), str) else None
        name = file.get("name") if isinstance(file.get("name"), str) else None
        size = file.get("size")
        if isinstance(size, int) and size > self.max_bytes:
            raise MediaTooLarge(f"file {file_id} is {size} bytes")
        data = await self._download(file_id, url, mime)
        return Fetched(data=data, mime=mime, filename=name)

    def _trusted(self, url: str) -> bool:
        parts, api = urlsplit(url), urlsplit(str(self.client.base_url))
        host = (parts.hostname or "").lower()
        if parts.scheme == api.scheme and host == (api.hostname or "").lower() and parts.port == api.port:
            return True
        return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in SLACK_HOSTS)

    async def _download(self, file_id: str, url: str, mime: str | None) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as http,
                http.stream("GET", url, headers=headers) as resp,
            ):
                if resp.status_code != 200:
                    retryable = resp.status_code == 429 or resp.status_code >= 500 or resp.status_code == 408
                    raise MediaError(f"download of {file_id}: HTTP {resp.status_code}", retryable=retryable)
                ctype = resp.headers.get("content-type", "")
                if ctype.startswith("text/html") and not (mime or "").startswith("text/html"):
                    raise MediaError(
                        f"download of {file_id}: Slack answered with a web page "
                        "(does the bot token have the files:read scope?)",
                        retryable=False,
                    )
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > self.max_bytes:  # Slack's size was wrong: stop, the rest is not needed
                        raise MediaTooLarge(f"download of {file_id} passed {self.max_bytes} bytes")
                return b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise MediaError(
                f"download of {file_id} timed out after {self.timeout:g} s", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise MediaError(f"download of {file_id}: {type(exc).__name__}: {exc}", retryable=True) from exc
