"""A small async client for the four WeCom server APIs the adapter needs: ``gettoken``,
``message/send``, ``media/get`` and ``media/upload``.

The access token is cached and fetched again shortly before it expires, and at once when WeCom says
it is invalid or expired (40014, 42001, then the call is repeated once). Every failure is an
:class:`APIError` that says whether trying again later can help: WeCom's "system busy" (-1), its
rate limits (45009, 45033), HTTP 5xx/429, timeouts and network errors can; anything else (60111
"user not found", 81013 "no valid recipient", 40007 "invalid media_id"…) cannot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

log = logging.getLogger("talentbot.wecom")

DEFAULT_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001, 41001})  # invalid, expired, missing access_token
RETRY_AFTER = {-1: 2.0, 45009: 60.0, 45033: 5.0}  # system busy; API frequency and concurrency limits
REFRESH_MARGIN = timedelta(minutes=5)  # a token is renewed this long before WeCom says it expires
TOO_LARGE = 830002  # media/get: a file over 20 MB must be fetched with Range requests
RANGE_PART = 20 * 2**20  # … of at most 20 MB each


class APIError(Exception):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        errcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.errcode = errcode


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    mime: str | None
    filename: str | None
    truncated: bool  # the download stopped at the size cap


def errcode_error(where: str, payload: Mapping[str, Any]) -> APIError:
    code = int(payload.get("errcode", -1))
    msg = f"{where}: errcode {code} {payload.get('errmsg', '')}".strip()
    if code in RETRY_AFTER:
        return APIError(msg, retryable=True, retry_after=RETRY_AFTER[code], errcode=code)
    if code in TOKEN_ERRORS:
        return APIError(msg, retryable=True, errcode=code)
    return APIError(msg, retryable=False, errcode=code)


def status_error(where: str, response: httpx.Response) -> APIError:
    code = response.status_code
    retryable = code >= 500 or code == 429
    retry_after = None
    header = response.headers.get("retry-after")
    if header and header.strip().isdigit():
        retry_after = float(header.strip())
    return APIError(f"{where}: HTTP {code}", retryable=retryable, retry_after=retry_after)


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    m = re.search(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)", disposition)
    if m:
        return unquote(m.group(1).strip())
    m = re.search(r'filename\s*=\s*"([^"]*)"', disposition) or re.search(
        r"filename\s*=\s*([^;]+)", disposition
    )
    if m is None:
        return None
    return m.group(1).strip() or None


class WeComAPI:
    """One corp's self-built app. ``clock`` (timezone-aware) decides when the token is stale."""

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        base_url: str = DEFAULT_BASE,
        timeout: float = 10.0,
        clock: Callable[[], datetime],
    ) -> None:
        self.corp_id, self._secret, self.agent_id = corp_id, secret, agent_id
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._token_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ plumbing

    def client(self) -> httpx.AsyncClient:
        """The connection pool, made on (and for) the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), follow_redirects=False)
            self._client_loop = loop
            self._token_lock = None
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._client_loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client, self._client_loop = None, None

    async def _request(self, where: str, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            return await self.client().request(method, url, **kw)
        except httpx.TimeoutException as exc:
            raise APIError(f"{where}: timed out ({type(exc).__name__})", retryable=True) from None
        except httpx.HTTPError as exc:
            raise APIError(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from None

    @staticmethod
    def _json(where: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code != 200:
            raise status_error(where, response)
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise APIError(f"{where}: not JSON", retryable=True) from None
        if not isinstance(payload, dict):
            raise APIError(f"{where}: unexpected answer", retryable=True)
        return payload

    # ------------------------------------------------------------------ token

    async def token(self, *, rejected: str | None = None) -> str:
        """The cached token, or a new one when it is near its end or is ``rejected`` (unless another
        call has already replaced the rejected one)."""
        self.client()  # binds the lock and the pool to this loop
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            now = self._clock()
            fresh = self._token is not None and self._expires_at is not None and now < self._expires_at
            if fresh and (rejected is None or rejected != self._token):
                assert self._token is not None
                return self._token
            params = {"corpid": self.corp_id, "corpsecret": self._secret}
            r = await self._request("gettoken", "GET", f"{self.base_url}/cgi-bin/gettoken", params=params)
            payload = self._json("gettoken", r)
            if payload.get("errcode", 0) != 0 or not payload.get("access_token"):
                err = errcode_error("gettoken", payload)
                if not err.retryable:
                    log.error("WeCom refused the corp id or app secret: %s", err)
                raise err
            self._token = str(payload["access_token"])
            lifetime = timedelta(seconds=int(payload.get("expires_in", 7200)))
            self._expires_at = now + max(lifetime - REFRESH_MARGIN, lifetime / 2)
            return self._token

    async def _with_token(self, where: str, call: Callable[[str], Any]) -> Any:
        """Run ``call(token)``; on an invalid/expired token answer get a new token and run it once more."""
        token = await self.token()
        try:
            return await call(token)
        except APIError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("%s: access token rejected (%s); fetching a new one", where, exc.errcode)
        return await call(await self.token(rejected=token))

    # ------------------------------------------------------------------ calls

    async def send(self, touser: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """``message/send`` to one member; ``message`` holds ``msgtype`` and its part."""
        body = {"touser": touser, "agentid": self.agent_id, **message}

        async def call(token: str) -> dict[str, Any]:
            r = await self._request(
                "message/send",
                "POST",
                f"{self.base_url}/cgi-bin/message/send",
                params={"access_token": token},
                content=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            payload = self._json("message/send", r)
            if payload.get("errcode", 0) != 0:
                raise errcode_error("message/send", payload)
            invalid = [u for u in str(payload.get("invaliduser") or "").split("|") if u]
            invalid += [u for u in str(payload.get("unlicenseduser") or "").split("|") if u]
            if invalid:
                raise APIError(f"message/send: recipient not reachable: {'|'.join(invalid)}", retryable=False)
            return payload

        result: dict[str, Any] = await self._with_token("message/send", call)
        return result

    async def upload(self, kind: str, *, filename: str, mime: str, data: bytes) -> str:
        """``media/upload`` (``kind``: image, voice, video, file); the ``media_id`` (valid 3 days)."""

        async def call(token: str) -> str:
            r = await self._request(
                "media/upload",
                "POST",
                f"{self.base_url}/cgi-bin/media/upload",
                params={"access_token": token, "type": kind},
                files={"media": (filename, data, mime)},
            )
            payload = self._json("media/upload", r)
            if payload.get("errcode", 0) != 0 or not payload.get("media_id"):
                raise errcode_error("media/upload", payload)
            return str(payload["media_id"])

        media_id: str = await self._with_token("media/upload", call)
        return media_id

    async def media(self, media_id: str, *, max_bytes: int) -> Media:
        """``media/get``: the bytes, streamed and cut off after ``max_bytes + 1`` (the caller refuses
        anything longer than ``max_bytes``). WeCom answers JSON with an errcode on failure."""

        url = f"{self.base_url}/cgi-bin/media/get"

        async def call(token: str) -> Media:
            params = {"access_token": token, "media_id": media_id}
            got = await self._download("media/get", url, params, max_bytes)
            if got.errcode == TOO_LARGE:
                return await self._ranged(url, params, max_bytes)
            if got.error is not None:
                raise got.error
            assert got.media is not None
            return got.media

        media: Media = await self._with_token("media/get", call)
        return media

    async def _ranged(self, url: str, params: Mapping[str, str], max_bytes: int) -> Media:
        """A file WeCom serves only in Range parts (over 20 MB, at most 20 MB a part): its first
        ``max_bytes + 1`` bytes, enough for the caller to see it is too large."""
        data = b""
        first: Media | None = None
        while len(data) <= max_bytes:
            start = len(data)
            end = min(start + RANGE_PART - 1, max_bytes)
            headers = {"Range": f"bytes={start}-{end}"}
            got = await self._download("media/get", url, params, end - start + 1, headers=headers)
            if got.error is not None:
                raise got.error
            assert got.media is not None
            first = first or got.media
            if not got.media.data:
                break
            data += got.media.data[: end - start + 1]
        assert first is not None
        return Media(data=data, mime=first.mime, filename=first.filename, truncated=len(data) > max_bytes)

    async def fetch(self, url: str, *, max_bytes: int) -> Media:
        """A file from our own server (a calendar file, a chart) to upload to WeCom."""
        got = await self._download("fetch", url, None, max_bytes)
        if got.error is not None:
            raise got.error
        assert got.media is not None
        return got.media

    async def _download(
        self,
        where: str,
        url: str,
        params: Mapping[str, str] | None,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
    ) -> _Download:
        try:
            async with self.client().stream("GET", url, params=params, headers=headers) as r:
                if r.status_code not in (200, 206):
                    await r.aread()
                    return _Download(error=status_error(where, r))
                mime = (r.headers.get("content-type") or "").split(";")[0].strip().lower() or None
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in r.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        truncated = True
                        break
                data = b"".join(chunks)[: max_bytes + 1]
                error = _json_error(where, mime, data)
                if error is not None:
                    return _Download(error=error, errcode=error.errcode)
                name = _filename(r.headers.get("content-disposition"))
                return _Download(media=Media(data=data, mime=mime, filename=name, truncated=truncated))
        except httpx.TimeoutException as exc:
            return _Download(error=APIError(f"{where}: timed out ({type(exc).__name__})", retryable=True))
        except httpx.HTTPError as exc:
            return _Download(error=APIError(f"{where}: {type(exc).__name__}: {exc}", retryable=True))


@dataclass(slots=True)
class _Download:
    media: Media | None = None
    error: APIError | None = None
    errcode: int | None = None


def _json_error(where: str, mime: str | None, data: bytes) -> APIError | None:
    """WeCom's error answer to a download: a small JSON object with an errcode (a real text or JSON
    file without ``errcode`` is data)."""
    if len(data) > 4096 or not data.lstrip().startswith(b"{"):
        return None
    if mime is not None and "json" not in mime and not mime.startswith("text/"):
        return None
    try:
        payload = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or "errcode" not in payload or payload.get("errcode") == 0:
        return None
    return errcode_error(where, payload)
