"""The ASGI app: web chat, calendar files, the privacy notice and a health check."""

from __future__ import annotations

import contextlib
import hmac
import mimetypes
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from actions.ics import interview_ics
from bots.api_v1 import routes as api_routes
from bots.hr_web import mount as hr_mount
from bots.runtime import Runtime, file_token
from bots.webchat import WebChat
from storage.models import Application, Booking, Position, Slot

PRIVACY_HTML = """<!doctype html><html lang="zh"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>隐私说明 Privacy notice</title>
<body style="font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;line-height:1.6;padding:0 1rem">
<h1>隐私说明</h1>
<p>本招聘助手是人工智能软件。我们仅为本次招聘处理您的信息：姓名、联系方式、面试预约，以及在您单独同意后处理的语音回答和提交的材料。
面试评分由软件辅助，最终决定由招聘人员做出；您可随时要求人工处理。信息保存至招聘结束后 6 个月，您可随时要求查阅、复制、更正或删除，
并可随时撤回同意（不影响撤回前的处理）。联系方式：recruit@demobank.example。</p>
<h1 lang="en">Privacy notice</h1>
<p lang="en">This recruiting assistant is AI software. We process your information only for this recruitment: your
name, contact details and interview booking, and — only with your separate consent — your voice answers and the
documents you submit. Software assists the assessment; people make the decisions, and you can ask for a person at
any time. We keep your information for 6 months after the recruitment ends; you can ask to see, copy, correct or
delete it, and withdraw consent at any time (this does not affect processing before). Contact:
recruit@demobank.example.</p></body></html>"""


def platform_routes(name: str, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """A platform's routes under ``/hooks/<name>``. A route at the platform's root answers both with
    and without the trailing slash: consoles differ in what they keep, and a redirect is not followed
    by every platform's callback client."""
    out: list[BaseRoute] = []
    for r in routes:
        if isinstance(r, Route):
            path = f"/hooks/{name}{r.path}"
            methods = sorted(r.methods or ()) or None
            out.append(Route(path, r.endpoint, methods=methods, name=r.name))
            if r.path == "/":
                out.append(Route(path.rstrip("/"), r.endpoint, methods=methods))
        else:
            out.append(Mount(f"/hooks/{name}", routes=[r]))
    return out


def create_app(rt: Runtime) -> Starlette:
    chat = WebChat(rt.deps)

    async def ics(request: Request) -> Response:
        try:
            bid = int(request.path_params["booking_id"])
        except ValueError:
            return PlainTextResponse("not found", status_code=404)
        token = request.path_params["token"]
        if not hmac.compare_digest(token, rt.ics_token(bid)):
            return PlainTextResponse("not found", status_code=404)
        with rt.sessions() as s:
            b = s.get(Booking, bid)
            if b is None or b.status != "active":
                return PlainTextResponse(
                    "this booking is no longer active / 该预约已取消或改期", status_code=410
                )
            slot, app = s.get(Slot, b.slot_id), s.get(Application, b.application_id)
            assert slot is not None and app is not None
            pos = s.get(Position, app.position_id)
            assert pos is not None
            body = interview_ics(
                uid=f"booking-{b.id}@talentbot",
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                summary=f"面试 Interview: {pos.title_zh} {pos.title_en}",
                location=f"{pos.location_zh} / {pos.location_en}",
                description="示范银行面试 / Demo Bank interview",
                stamp=datetime.now(UTC),
            )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="interview.ics"'},
        )

    async def generated_file(request: Request) -> Response:
        """An offer letter or a chart the bot sent in chat, by its capability link (runtime.file_url)."""
        sha, name = request.path_params["sha"], request.path_params["name"]
        try:
            expires = int(request.path_params["expires"])
        except ValueError:
            return PlainTextResponse("not found", status_code=404)
        token = file_token(rt.settings.secret_key, sha, expires)
        files = rt.deps.files
        if files is None or not hmac.compare_digest(request.path_params["token"], token):
            return PlainTextResponse("not found", status_code=404)
        if expires < datetime.now(UTC).timestamp():
            return PlainTextResponse("this link has expired / 链接已过期", status_code=410)
        if not files.exists(sha):
            return PlainTextResponse("not found", status_code=404)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(
            files.read(sha),
            media_type=mime,
            headers={
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
                "Cache-Control": "private",
            },
        )

    async def privacy(request: Request) -> Response:
        return HTMLResponse(PRIVACY_HTML)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    routes = [
        Route("/", chat.page),
        Route("/webchat/api/messages", chat.messages, methods=["POST"]),
        Route("/webchat/api/file", chat.file, methods=["POST"]),
        Route("/webchat/api/voice", chat.voice, methods=["POST"]),
        Route("/webchat/api/updates", chat.updates),
        Route("/calendar/{booking_id}/{token}.ics", ics),
        Route("/files/{sha}/{expires}/{token}/{name}", generated_file),
        Route("/privacy", privacy),
        Route("/healthz", health),
        *api_routes(rt),
        hr_mount(rt),
        *(r for name, ch in rt.gateway.channels.items() for r in platform_routes(name, ch.routes())),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
