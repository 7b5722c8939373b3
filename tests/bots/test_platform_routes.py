"""Platform webhooks answer at /hooks/<name> with and without the trailing slash (no redirect)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bots.app import platform_routes


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.method} {request.url.path}")


def test_root_and_sub_routes_are_mounted_under_hooks() -> None:
    app = Starlette(
        routes=platform_routes(
            "demo", [Route("/", _ok, methods=["GET", "POST"]), Route("/events", _ok, methods=["POST"])]
        )
    )

    async def run() -> list[tuple[int, str]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            out = []
            for method, path in (
                ("POST", "/hooks/demo"),
                ("POST", "/hooks/demo/"),
                ("GET", "/hooks/demo"),
                ("POST", "/hooks/demo/events"),
            ):
                r = await c.request(method, path)
                out.append((r.status_code, r.text))
            r = await c.get("/hooks/demo/events")
            out.append((r.status_code, ""))
            return out

    got = asyncio.run(run())
    assert got[:4] == [
        (200, "POST /hooks/demo"),
        (200, "POST /hooks/demo/"),
        (200, "GET /hooks/demo"),
        (200, "POST /hooks/demo/events"),
    ]
    assert got[4][0] == 405
