"""A small async client for the DingTalk OpenAPI the robot needs (httpx, any base URL).

- ``POST /v1.0/oauth2/accessToken`` — the app's token, cached until five minutes before it expires,
  fetched again on a 401 (once per call);
- ``POST /v1.0/robot/oToMessages/batchSend`` / ``/v1.0/robot/groupMessages/send`` — robot messages;
- ``POST /v1.0/robot/messageFiles/download`` — a ``downloadCode`` → a short-lived ``downloadUrl``;
- ``POST {oapi}/media/upload`` — files we send (calendar invitations, reports, charts) → a ``media_id``.

Every failure becomes one :class:`APIError` saying whether trying again later can help: a network
error, a timeout, a 5xx or a rate-limit answer can; anything else (a bad request, an unknown user, a
wrong secret) cannot.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

TOKEN_MARGIN = 300.0  # seconds before expiry a token is renewed
THROTTLE_CODES = ("QpsLimit", "QpmLimit", "Throttl", "FlowControl", "LimitForApi", "TooFrequent")
OAPI_TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access_token
OAPI_RETRYABLE = {-1, 90002, 90006, 90018, 90019}  # busy, rate limits


class APIError(Exception):
    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable, self.retry_after, self.status, self.code = retryable, retry_after, status, code


class DingTalkAPI:
    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        robot_code: str,
        api_base: str,
        oapi_base: str,
        timeout: float = 15.0,
    ) -> None:
        self.app_key, self._secret, self.robot_code = app_key, app_secret, robot_code
        self.api_base, self.oapi_base = api_base.rstrip("/"), oapi_base.rstrip("/")
        self.timeout = timeout
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ plumbing

    def client(self) -> httpx.AsyncClient:
        """One connection pool per event loop (the adapter is built before the server's loop runs)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), headers={"User-Agent": "talentbot-dingtalk"}
            )
            self._loop, self._lock = loop, asyncio.Lock()
        return self._http

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None and not http.is_closed and self._loop is asyncio.get_running_loop():
            await http.aclose()

    async def token(self) -> str:
        client = self.client()
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token
            resp = await _request(
                client,
                "POST",
                f"{self.api_base}/v1.0/oauth2/accessToken",
                json={"appKey": self.app_key, "appSecret": self._secret},
                timeout=self.timeout,
            )
            if resp.status_code != 200:
                raise _error(resp, "accessToken")
            data = _json(resp)
            token, expires_in = data.get("accessToken"), data.get("expireIn", 7200)
            if not isinstance(token, str) or not token:
                raise APIError("accessToken: no token in the answer", retryable=True, status=200)
            self._token = token
            self._expires = time.monotonic() + max(60.0, float(expires_in) - TOKEN_MARGIN)
            return token

    def forget_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST to the new-style API with the token header; one fresh token after a 401."""
        client = self.client()
        for attempt in (1, 2):
            token = await self.token()
            resp = await _request(
                client,
                "POST",
                f"{self.api_base}{path}",
                json=dict(body),
                headers={"x-acs-dingtalk-access-token": token},
                timeout=self.timeout,
            )
            if resp.status_code == 200:
                return _json(resp)
            err = _error(resp, path)
            if attempt == 1 and (resp.status_code == 401 or err.code == "InvalidAuthentication"):
                self.forget_token(token)
                continue
            raise err
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ robot API

    async def send_to_user(self, staff_id: str, msg_key: str, msg_param: Mapping[str, Any]) -> None:
        data = await self.post(
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.robot_code,
                "userIds": [staff_id],
                "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            },
        )
        if staff_id in (data.get("invalidStaffIdList") or []):
            raise APIError(f"user {staff_id} not found (invalidStaffIdList)", retryable=False, status=200)
        if staff_id in (data.get("flowControlledStaffIdList") or []):
            raise APIError(f"user {staff_id} is flow-controlled", retryable=True, retry_after=60.0)

    async def send_to_group(
        self, open_conversation_id: str, msg_key: str, msg_param: Mapping[str, Any]
    ) -> None:
        await self.post(
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": self.robot_code,
                "openConversationId": open_conversation_id,
                "msgKey": msg_key,
                "msgParam": json.dumps(msg_param, ensure_ascii=False),
            },
        )

    async def download_url(self, download_code: str) -> str:
        data = await self.post(
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": download_code, "robotCode": self.robot_code},
        )
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise APIError("messageFiles/download: no downloadUrl", retryable=True, status=200)
        return url

    async def fetch(self, url: str, *, cap: int) -> tuple[bytes, str | None]:
        """GET ``url`` (no credentials), reading at most ``cap`` bytes; the body and its content type."""
        client = self.client()
        try:
            async with asyncio.timeout(self.timeout * 8):
                async with client.stream("GET", url, timeout=self.timeout) as resp:
                    if resp.status_code != 200:
                        await resp.aread()
                        raise _error(resp, "download")
                    chunks, size = [], 0
                    async for chunk in resp.aiter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size >= cap:
                            break
                    return b"".join(chunks)[:cap], resp.headers.get("content-type")
        except TimeoutError as exc:
            raise APIError("download: timed out", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise _network(exc, "download") from exc

    async def upload(self, name: str, mime: str, data: bytes) -> str:
        """Upload a file for a message; its ``media_id`` (the old-style API takes the same token)."""
        client = self.client()
        kind = "image" if mime.startswith("image/") else "file"
        for attempt in (1, 2):
            token = await self.token()
            resp = await _request(
                client,
                "POST",
                f"{self.oapi_base}/media/upload",
                params={"access_token": token},
                data={"type": kind},
                files={"media": (name, data, mime)},
                timeout=self.timeout,
            )
            if resp.status_code != 200:
                raise _error(resp, "media/upload")
            body = _json(resp)
            errcode = body.get("errcode", 0)
            if errcode == 0 and isinstance(body.get("media_id"), str):
                return str(body["media_id"])
            if attempt == 1 and errcode in OAPI_TOKEN_ERRORS:
                self.forget_token(token)
                continue
            raise APIError(
                f"media/upload: {errcode} {body.get('errmsg')}",
                retryable=errcode in OAPI_RETRYABLE,
                status=200,
                code=str(errcode),
            )
        raise AssertionError("unreachable")


async def _request(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    try:
        return await client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise _network(exc, url.rsplit("/", 1)[-1]) from exc


def _network(exc: httpx.HTTPError, what: str) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return APIError(f"{what}: timed out", retryable=True)
    return APIError(f"{what}: {type(exc).__name__}: {exc}", retryable=True)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError as exc:
        raise APIError(f"HTTP {resp.status_code}: not JSON", retryable=True, status=resp.status_code) from exc
    if not isinstance(data, dict):
        raise APIError(f"HTTP {resp.status_code}: not a JSON object", retryable=True, status=resp.status_code)
    return data


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _error(resp: httpx.Response, what: str) -> APIError:
    code = message = None
    try:
        data = resp.json()
        if isinstance(data, dict):
            code = data.get("code") or data.get("errcode")
            message = data.get("message") or data.get("errmsg")
    except ValueError:
        pass
    code = None if code is None else str(code)
    status = resp.status_code
    throttled = status == 429 or (code is not None and any(t in code for t in THROTTLE_CODES))
    retryable = throttled or status >= 500
    return APIError(
        f"{what}: HTTP {status} {code or ''} {message or ''}".strip(),
        retryable=retryable,
        retry_after=_retry_after(resp.headers.get("retry-after")) if retryable else None,
        status=status,
        code=code,
    )
