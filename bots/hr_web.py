"""HR's web pages: interview reports and answer recordings, behind a per-person token.

GET  /hr/login                      a bilingual page with a token field
POST /hr/login                      token=… → an HttpOnly, SameSite=Strict cookie, then a redirect
POST /hr/logout                     forgets the cookie
GET  /hr/                           who is signed in, a box to open a report
GET  /hr/reports/{id}[.html]        the report page (?lang=zh|en; default the HR user's language)
GET  /hr/reports/{id}.json          the report as JSON
GET  /hr/reports/{id}.png           the radar chart
GET  /hr/audio/{answer_id}          a voice answer's recording, from the file store

API clients send ``Authorization: Bearer <token>`` instead of the cookie. A missing, unknown, expired
or revoked token is 401 (a browser asking for a page is sent to the login page). An application
outside the HR user's scope answers exactly as one that does not exist (404), so a token cannot be
used to learn which applications exist. Every successful read is audited with the versions of the
report's inputs; the audit row is written before a byte of the report is sent.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actions.interview_report import LoadedReport, load_report
from bots.runtime import Runtime
from scoring.report import FontMissing, radar_data_url, radar_png, to_html, to_json
from storage import repo
from storage.accounts import READ_REPORTS, in_scope, verify_token
from storage.models import Answer, ApiToken, Application, Interview, Position, User

log = logging.getLogger("talentbot.hr")

COOKIE = "talentbot_hr"
COOKIE_MAX_AGE = 8 * 3600  # a working day; the token's own expiry still applies
MAX_FORM = 4096
LANGUAGES = ("zh", "en")
_REF = re.compile(r"(\d{1,9})(?:\.(html|json|png))?")  # 9 digits: fits every backend's integer
_AUDIO_MIME = re.compile(r"audio/[a-z0-9.+-]{1,60}")

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # the report page is self-contained: inline styles, a data: radar, recordings from this site
    "content-security-policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; media-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

_MESSAGES: dict[str, tuple[str, str]] = {
    "unauthorized": (
        "请先登录：需要有效的访问令牌。",
        "Please sign in: a valid access token is needed.",
    ),
    "bad_token": ("令牌无效、已过期或已撤销。", "The token is invalid, expired or revoked."),
    "forbidden": (
        "抱歉，此令牌无权查看面试报告。如需权限，请联系系统管理员。",
        "Sorry, this token may not read interview reports. Please ask your administrator for access.",
    ),
    "not_found": (
        "抱歉，没有找到该申请的面试报告：申请不存在、尚未面试，或不在您的负责范围内。",
        "Sorry, there is no interview report for this application: it does not exist, has no "
        "interview yet, or is outside the positions you look after.",
    ),
    "audio_not_found": (
        "抱歉，没有找到该录音：回答不存在、不是语音回答，或不在您的负责范围内。",
        "Sorry, there is no such recording: the answer does not exist, was not a voice answer, or is "
        "outside the positions you look after.",
    ),
    "bad_lang": ("lang 只能是 zh 或 en。", '"lang" must be zh or en.'),
    "bad_form": ("请求格式有误。", "The request is malformed."),
    "bad_origin": ("请从本站页面提交。", "Please submit this from this site's own page."),
    "font_missing": (
        "服务器缺少中文字体，暂时无法绘制雷达图。",
        "The server lacks the Chinese font, so the radar chart cannot be drawn right now.",
    ),
}

_NOT_FINISHED = (
    "面试尚未完成（状态：{status}）：本报告只包含已经评分的回答。",
    "The interview is not finished (status: {status}): this report covers the answers scored so far.",
)
_MISMATCH = (
    "有 {n} 个回答存储时的分数与现在按题库重新计算的不同（题库可能已更新）；此处显示重新计算的分数。",
    "{n} answer(s) were scored differently when stored than when re-derived now (the question bank "
    "may have changed since); the scores shown are the re-derived ones.",
)


# ------------------------------------------------------------------ rendering (shared with the CLI)


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str
    versions: dict[str, str | None]  # of the report's inputs, for the audit row


def report_versions(loaded: LoadedReport) -> dict[str, str | None]:
    return {**loaded.report.scores.versions.to_dict(), "asr_model": loaded.report.asr_model}


def _banner(loaded: LoadedReport) -> str:
    zh = loaded.report.language == "zh"
    notes = []
    if loaded.status != "completed":
        notes.append(_NOT_FINISHED[0 if zh else 1].format(status=loaded.status))
    if loaded.mismatches:
        notes.append(_MISMATCH[0 if zh else 1].format(n=len(loaded.mismatches)))
    return "".join(f'<aside class="note">{html.escape(n)}</aside>' for n in notes)


def render_report(loaded: LoadedReport, fmt: str) -> Rendered:
    """The report as ``html``, ``json`` or ``png`` bytes. CPU work (matplotlib, re-scoring happened in
    ``load_report``): call it off the event loop. The JSON and the page also say when the interview
    is unfinished or a stored score differs from the re-derived one."""
    report = loaded.report
    versions = report_versions(loaded)
    if fmt == "json":
        data = to_json(report)
        data["interview"] = {"status": loaded.status, "mismatches": list(loaded.mismatches)}
        body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        return Rendered(body, "application/json", versions)
    if fmt == "png":
        return Rendered(radar_png(report.scores, language=report.language), "image/png", versions)
    try:
        radar: str | None = radar_data_url(radar_png(report.scores, language=report.language))
    except FontMissing:
        log.warning("report %s without its radar: the Chinese font is missing", report.application_id)
        radar = None
    page = to_html(report, radar_url=radar)
    banner = _banner(loaded)
    if banner:
        marker = '<main class="report">' if '<main class="report">' in page else "<body>"
        page = page.replace(marker, marker + banner, 1)
    return Rendered(page.encode("utf-8"), "text/html; charset=utf-8", versions)


# ------------------------------------------------------------------ pages


def _page(title: str, body: str, *, lang: str = "zh") -> str:
    return f"""<!doctype html><html lang="{lang}"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>{html.escape(title)}</title>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;line-height:1.6;padding:0 1rem">
{body}</body></html>"""


def _message_html(code: str) -> str:
    zh, en = _MESSAGES[code]
    return f'<p>{html.escape(zh)}</p><p lang="en">{html.escape(en)}</p>'


def login_page(*, next_path: str, error: str | None = None) -> str:
    err = f'<div role="alert" style="color:#a1461b">{_message_html(error)}</div>' if error else ""
    return _page(
        "登录 Sign in · talentbot HR",
        f"""<h1>招聘专员登录 <span lang="en">HR sign-in</span></h1>{err}
<form method="post" action="/hr/login">
<label for="token">访问令牌 <span lang="en">Access token</span></label><br>
<input id="token" name="token" type="password" autocomplete="off" required maxlength="200"
 style="width:100%;padding:.4rem;font:inherit">
<input type="hidden" name="next" value="{html.escape(next_path)}">
<p><button type="submit">登录 <span lang="en">Sign in</span></button></p></form>
<p style="color:#6b7684">令牌由管理员用 <code>talentbot user add</code> 生成，只显示一次。<br>
<span lang="en">Your administrator creates the token with <code>talentbot user add</code>; it is shown once.</span></p>""",
    )


def _index_page(user: User) -> str:
    scope = ", ".join(user.scope or []) or "—"
    return _page(
        "talentbot HR",
        f"""<h1>talentbot HR</h1>
<p>已登录：<strong>{html.escape(user.display_name)}</strong>（负责范围 <span lang="en">scope</span>：{html.escape(scope)}）</p>
<form method="get" action="/hr/reports">
<label for="application">申请编号 <span lang="en">Application id</span></label>
<input id="application" name="application" inputmode="numeric" pattern="[0-9]+" required>
<button type="submit">查看报告 <span lang="en">Open report</span></button></form>
<form method="post" action="/hr/logout"><p><button type="submit">退出登录 <span lang="en">Sign out</span></button></p></form>""",
    )


def _safe_next(value: str | None) -> str:
    """Only a path on this site's HR pages: never an address elsewhere (no open redirect)."""
    if value and value.startswith("/hr/") and "//" not in value and "\\" not in value and len(value) < 300:
        return value
    return "/hr/"


# ------------------------------------------------------------------ the routes


def _token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and "authorization" not in request.headers


def _error(request: Request, code: str, status: int, *, html_ok: bool = True) -> Response:
    zh, en = _MESSAGES[code]
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="talentbot"' + (
            ', error="invalid_token"' if _token(request) else ""
        )
    if html_ok and _wants_html(request):
        return HTMLResponse(
            _page("talentbot HR", _message_html(code) + '<p><a href="/hr/">/hr/</a></p>'),
            status_code=status,
            headers=headers,
        )
    return JSONResponse({"error": code, "message": {"zh": zh, "en": en}}, status_code=status, headers=headers)


class _Denied(Exception):
    def __init__(self, code: str, status: int) -> None:
        self.code, self.status = code, status


def _authorise(s: Any, token: str, now: datetime) -> tuple[User, ApiToken]:
    found = verify_token(s, token, now=now)
    if found is None:
        raise _Denied("bad_token", 401)
    user, row = found
    if user.role != "hr" or READ_REPORTS not in (row.scopes or []):
        raise _Denied("forbidden", 403)
    return user, row


class HRWeb:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.readers = rt.deps.readers or rt.sessions
        self.clock: Callable[[], datetime] = rt.deps.clock
        self.secure = rt.settings.public_url.lower().startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/reports", self.open_report),
            Route("/reports/{ref}", self.report),
            Route("/audio/{answer_id}", self.audio),
        ]

    # ---- helpers

    async def _write(self, fn: Callable[[], Any]) -> Any:
        """A short write: on the loop's thread for embedded SQLite (one writer, as the engine does),
        on the runtime's pool otherwise."""
        if self.rt.deps.executor is None:
            return fn()
        return await asyncio.get_running_loop().run_in_executor(self.rt.deps.executor, fn)

    async def _audit(self, **kw: Any) -> None:
        def write() -> None:
            with self.rt.sessions.begin() as s:
                repo.audit(s, now=self.clock(), **kw)

        await self._write(write)

    def _unauthorised(self, request: Request, *, page: bool) -> Response:
        if page and _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            resp: Response = RedirectResponse(f"/hr/login?next={quote(target, safe='')}", status_code=303)
            if request.cookies.get(COOKIE):
                resp.delete_cookie(COOKIE, path="/hr", secure=self.secure, httponly=True, samesite="strict")
            return resp
        return _error(request, "bad_token" if _token(request) else "unauthorized", 401, html_ok=False)

    def _same_origin(self, request: Request) -> bool:
        """A form post must come from this site (login CSRF); clients that send no Origin pass."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        own = {f"{request.url.scheme}://{request.url.netloc}", self.rt.settings.public_url.rstrip("/")}
        return origin.rstrip("/") in own

    # ---- sign-in

    async def login_form(self, request: Request) -> Response:
        return HTMLResponse(login_page(next_path=_safe_next(request.query_params.get("next"))))

    async def login(self, request: Request) -> Response:
        if not self._same_origin(request):
            return _error(request, "bad_origin", 403)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return _error(request, "bad_form", 413)
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            return _error(request, "bad_form", 400)
        token = (form.get("token") or [""])[0].strip()
        next_path = _safe_next((form.get("next") or [None])[0])
        now = self.clock()

        def check() -> tuple[int, str, datetime | None] | str:
            with self.readers() as s:
                try:
                    user, row = _authorise(s, token, now)
                except _Denied as d:
                    return d.code
                return user.id, row.name, row.expires_at

        result = await asyncio.to_thread(check)
        if isinstance(result, str):
            status = 401 if result == "bad_token" else 403
            return HTMLResponse(login_page(next_path=next_path, error=result), status_code=status)
        user_id, token_name, expires_at = result
        await self._audit(
            actor=f"hr:{user_id}", action="hr.login", subject=f"user:{user_id}", details={"token": token_name}
        )
        max_age = COOKIE_MAX_AGE
        if expires_at is not None:
            max_age = max(1, min(max_age, int((expires_at - now).total_seconds())))
        resp = RedirectResponse(next_path, status_code=303)
        resp.set_cookie(
            COOKIE,
            token,
            max_age=max_age,
            path="/hr",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return resp

    async def logout(self, request: Request) -> Response:
        if not self._same_origin(request):
            return _error(request, "bad_origin", 403)
        resp = RedirectResponse("/hr/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/hr", secure=self.secure, httponly=True, samesite="strict")
        return resp

    async def index(self, request: Request) -> Response:
        token = _token(request)
        if token is None:
            return self._unauthorised(request, page=True)
        now = self.clock()

        def who() -> User | _Denied:
            with self.readers() as s:
                try:
                    return _authorise(s, token, now)[0]
                except _Denied as d:
                    return d

        user = await asyncio.to_thread(who)
        if isinstance(user, _Denied):
            if user.status == 401:
                return self._unauthorised(request, page=True)
            return _error(request, user.code, user.status)
        return HTMLResponse(_index_page(user))

    async def open_report(self, request: Request) -> Response:
        ref = request.query_params.get("application", "").strip()
        if not _REF.fullmatch(ref):
            return _error(request, "not_found", 404)
        return RedirectResponse(f"/hr/reports/{ref}", status_code=303)

    # ---- reads

    async def report(self, request: Request) -> Response:
        m = _REF.fullmatch(request.path_params["ref"])
        fmt = (m[2] if m else None) or "html"
        page = fmt == "html"
        lang = request.query_params.get("lang")
        if lang is not None and lang not in LANGUAGES:
            return _error(request, "bad_lang", 400, html_ok=page)
        token = _token(request)
        if token is None:
            return self._unauthorised(request, page=page)
        now = self.clock()
        app_id = int(m[1]) if m else None

        def build() -> tuple[Rendered, int, str] | _Denied:
            with self.readers() as s:
                try:
                    user, row = _authorise(s, token, now)
                except _Denied as d:
                    return d
                app = s.get(Application, app_id) if app_id is not None else None
                pos = s.get(Position, app.position_id) if app is not None else None
                # Out of scope looks exactly like missing (404, same message): a token must not tell
                # which applications exist.
                if app is None or pos is None or not in_scope(user, pos):
                    return _Denied("not_found", 404)
                loaded = load_report(
                    s,
                    app.id,
                    language=lang or user.language or self.rt.settings.default_language,
                    bank=self.rt.deps.bank,  # type: ignore[arg-type]
                    now=now,
                    audio_url=lambda answer_id: f"/hr/audio/{answer_id}",
                )
                if loaded is None:
                    return _Denied("not_found", 404)
                user_id, token_name = user.id, row.name
            return render_report(loaded, fmt), user_id, token_name

        try:
            result = await asyncio.to_thread(build)
        except FontMissing:
            return _error(request, "font_missing", 503, html_ok=page)
        if isinstance(result, _Denied):
            if result.status == 401:
                return self._unauthorised(request, page=page)
            return _error(request, result.code, result.status, html_ok=page)
        rendered, user_id, token_name = result
        await self._audit(
            actor=f"hr:{user_id}",
            action="report.read",
            subject=f"application:{app_id}",
            details={"format": fmt, "token": token_name, "language": lang},
            input_versions=rendered.versions,
        )
        return Response(rendered.body, media_type=rendered.media_type)

    async def audio(self, request: Request) -> Response:
        raw = request.path_params["answer_id"]
        token = _token(request)
        if token is None:
            return self._unauthorised(request, page=False)
        answer_id = int(raw) if raw.isdigit() and len(raw) <= 9 else None
        files = self.rt.deps.files
        now = self.clock()

        def find() -> tuple[Any, str, int, int, str, dict[str, str | None]] | _Denied:
            with self.readers() as s:
                try:
                    user, row = _authorise(s, token, now)
                except _Denied as d:
                    return d
                missing = _Denied("audio_not_found", 404)
                ans = s.get(Answer, answer_id) if answer_id is not None else None
                if ans is None or ans.kind != "voice" or not ans.media_ref or files is None:
                    return missing
                iv = s.get(Interview, ans.interview_id)
                app = s.get(Application, iv.application_id) if iv is not None else None
                pos = s.get(Position, app.position_id) if app is not None else None
                # out of scope answers as missing does (see ``report``)
                if app is None or pos is None or not in_scope(user, pos) or not files.exists(ans.media_ref):
                    return missing
                sc = repo.answer_score(s, ans.id)
                versions: dict[str, str | None] = (
                    {}
                    if sc is None
                    else {
                        "rubric": sc.rubric_version,
                        "scorer": sc.scorer_version,
                        "speech": sc.speech_version,
                        "asr_model": sc.asr_model,
                    }
                )
                mime = (ans.media_mime or "").lower()
                if not _AUDIO_MIME.fullmatch(mime):
                    mime = "application/octet-stream"
                return files.path(ans.media_ref), mime, user.id, app.id, row.name, versions

        found = await asyncio.to_thread(find)
        if isinstance(found, _Denied):
            if found.status == 401:
                return self._unauthorised(request, page=False)
            return _error(request, found.code, found.status, html_ok=False)
        path, mime, user_id, app_id, token_name, versions = found
        await self._audit(
            actor=f"hr:{user_id}",
            action="audio.read",
            subject=f"application:{app_id}",
            details={"format": "audio", "answer_id": answer_id, "mime": mime, "token": token_name},
            input_versions=versions,
        )
        return FileResponse(path, media_type=mime)


class SecurityHeaders:
    """Every response under /hr (errors and redirects too) is private and not to be sniffed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_hardened)


def mount(rt: Runtime) -> Mount:
    """The HR pages under /hr (one line in ``bots.app``)."""
    return Mount("/hr", routes=HRWeb(rt).routes(), middleware=[Middleware(SecurityHeaders)])
