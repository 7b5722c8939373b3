"""Platform webhook routes: verified-and-queued inbound messages per second and p99 time to the 200.

Run as ``.venv/bin/python bench/webhooks.py [--n 4000] [--concurrency 32] [--platforms wecom,dingtalk]``.

The server is one ``talentbot serve``-like process (uvicorn, the app of ``bots.app.create_app``, a
fresh SQLite store) started as a subprocess, with each benchmarked platform configured against an
API address nothing listens on. The client is another process sending requests signed/encrypted
exactly as the platform does (built beforehand by the tests' payload helpers, so the client's crypto
is not timed), over keep-alive HTTP/1.1 connections, ``--concurrency`` at a time.

Two runs per platform:

* ``route``: what the webhook does before it answers — verify (signature, timestamp window), decrypt,
  parse, drop duplicates, queue. The queued messages are not processed (the engine's own rate is
  ``bench/pipeline.py``). Targets: ≥ 500 msg/s for WeCom, p99 ≤ 50 ms.
* ``full``: the same, and every queued message is handled by the engine in the same process (the
  replies are written to the store; the platform send is a no-op): messages per second until all are
  handled. For information.

Prints a table and, last, one JSON line. Exit status 1 when the WeCom route misses a target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATE = 500.0
TARGET_P99_MS = 50.0
NOWHERE = "http://127.0.0.1:9"  # no platform API: nothing is sent in these runs
DINGTALK_SECRET = "bench-dingtalk-secret"


def platform_env(name: str) -> dict[str, str]:
    if name == "wecom":
        from tests.bots.channels.wecom_payloads import env

        return env(NOWHERE)
    if name == "dingtalk":
        return {
            "TALENTBOT_DINGTALK_APP_KEY": "bench-key",
            "TALENTBOT_DINGTALK_APP_SECRET": DINGTALK_SECRET,
            "TALENTBOT_DINGTALK_ROBOT_CODE": "bench-robot",
            "TALENTBOT_DINGTALK_API_BASE": NOWHERE,
            "TALENTBOT_DINGTALK_OAPI_BASE": NOWHERE,
        }
    if name == "slack":
        from tests.bots.channels.slack_payloads import settings_env

        return settings_env(NOWHERE + "/api/")
    if name == "telegram":
        from tests.bots.channels.telegram_payloads import SECRET, TOKEN

        return {
            "TALENTBOT_TELEGRAM_TOKEN": TOKEN,
            "TALENTBOT_TELEGRAM_SECRET": SECRET,
            "TALENTBOT_TELEGRAM_API_BASE": NOWHERE,
        }
    raise ValueError(name)


def build_requests(name: str, n: int) -> list[tuple[str, dict[str, str], bytes]]:
    users = [f"bench{i % 500}" for i in range(n)]
    if name == "wecom":
        from tests.bots.channels.wecom_payloads import text_message_request

        return [text_message_request("你好", user=u) for u in users]
    if name == "dingtalk":
        from tests.bots.channels.dingtalk_payloads import text_message

        return [text_message(app_secret=DINGTALK_SECRET, text="你好", staff_id=u) for u in users]
    if name == "slack":
        from tests.bots.channels.slack_payloads import text_message_request as slack_text

        return [slack_text("你好", user=u.upper()) for u in users]
    if name == "telegram":
        from tests.bots.channels.telegram_payloads import text_message_request as tg_text

        return [tg_text("你好", chat_id=7000000 + i % 500) for i in range(n)]
    raise ValueError(name)


# ------------------------------------------------------------------ the server process


def serve(port: int, platform: str, mode: str, workdir: str) -> None:
    import uvicorn

    from bots.app import create_app
    from bots.runtime import build
    from bots.settings import Settings
    from storage.seed import seed

    env = {**platform_env(platform), "TALENTBOT_VAR_DIR": workdir}
    if platform == "slack":  # Bolt checks its token (auth.test) before the first event: a fake answers
        from tests.bots.channels.slack.fake import FakeSlack
        from tests.bots.channels.slack.fake import serve as serve_fake
        from tests.bots.channels.slack_payloads import settings_env

        running = serve_fake(FakeSlack())  # kept: closing the generator stops the fake
        fake = next(running)
        env = {**settings_env(fake.api_base), "TALENTBOT_VAR_DIR": workdir}
    settings = Settings.from_env(
        env, database_url=f"sqlite:///{workdir}/bench.db", public_url=f"http://127.0.0.1:{port}"
    )
    rt = build(settings)
    with rt.sessions.begin() as s:
        from datetime import UTC, datetime

        seed(s, content_dir=settings.content_dir, now=datetime.now(UTC), tz=settings.tz)
    gw = rt.gateway
    assert platform in gw.channels, f"{platform} is not configured"
    handled = {"n": 0}
    if mode == "route":

        async def queued_only(inbound: Any) -> None:
            handled["n"] += 1

        gw._process = queued_only  # the bench measures the route: queued, not processed
    else:
        real = gw._process

        async def counted(inbound: Any) -> None:
            await real(inbound)
            handled["n"] += 1

        gw._process = counted

        async def no_send(conversation_id: str, reply: Any) -> None:
            return None

        gw.channels[platform].send = no_send  # type: ignore[method-assign]
    app = create_app(rt)
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"handled": handled["n"]})

    app.router.routes.append(Route("/bench/handled", count))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


# ------------------------------------------------------------------ the client


def _raw(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (
            int(v)
            for k, _, v in (ln.partition(":") for ln in lines[1:])
            if k.strip().lower() == "content-length"
        ),
        0,
    )
    await reader.readexactly(length)
    return int(lines[0].split(" ", 2)[1])


async def _drive(
    port: int, reqs: list[tuple[str, dict[str, str], bytes]], concurrency: int
) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 on asyncio streams, the requests serialised beforehand: httpx costs the client
    ~1 ms of CPU per request, which on two cores would measure the client, not the server."""
    raw = [_raw(port, *r) for r in reqs]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    it = iter(raw)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for data in it:
                t0 = time.perf_counter()
                writer.write(data)
                status = await _response(reader)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(reqs),
        "seconds": round(elapsed, 3),
        "rate": round(len(reqs) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "statuses": statuses,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(platform: str, mode: str, n: int, concurrency: int) -> dict[str, Any]:
    import httpx

    reqs = build_requests(platform, n + 200)
    warm, reqs = reqs[:200], reqs[200:]
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="talentbot-bench-hooks-") as workdir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTBOT_")}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), platform, mode, workdir], env=env, cwd=ROOT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the bench server did not start")
                time.sleep(0.2)
            asyncio.run(_drive(port, warm, concurrency))
            before = httpx.get(f"{base}/bench/handled").json()["handled"]
            t0 = time.perf_counter()
            out = asyncio.run(_drive(port, reqs, concurrency))
            out["queued"] = httpx.get(f"{base}/bench/handled").json()["handled"] - before
            if mode == "full":
                while httpx.get(f"{base}/bench/handled").json()["handled"] < before + n:
                    if time.perf_counter() - t0 > 600:
                        raise RuntimeError("messages were not all handled")
                    time.sleep(0.05)
                out["handled_rate"] = round(n / (time.perf_counter() - t0), 1)
            return out
        finally:
            proc.terminate()
            proc.wait(15)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--platforms", default="wecom,dingtalk,slack,telegram")
    ap.add_argument(
        "--full", action="store_true", help="also the full run (the engine handles every message)"
    )
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for platform in args.platforms.split(","):
        try:
            build_requests(platform, 1)
        except (ImportError, AttributeError) as exc:
            print(f"{platform}: no payload helper yet ({exc}); skipped")
            continue
        results[platform] = {"route": run(platform, "route", args.n, args.concurrency)}
        r = results[platform]["route"]
        print(
            f"{platform:9} route: {r['rate']:8.1f} msg/s, p50 {r['p50_ms']:6.2f} ms, p99 {r['p99_ms']:6.2f} ms, "
            f"answers {r['statuses']}, queued {r['queued']}"
        )
        if args.full:
            f = run(platform, "full", min(args.n, 2000), args.concurrency)
            results[platform]["full"] = f
            print(
                f"{platform:9} full:  {f['handled_rate']:8.1f} msg/s handled; route answered at {f['rate']:.1f}/s, "
                f"p99 {f['p99_ms']:.2f} ms"
            )
    wecom = results.get("wecom", {}).get("route")
    ok = wecom is not None and wecom["rate"] >= TARGET_RATE and wecom["p99_ms"] <= TARGET_P99_MS
    print(json.dumps({"bench": "webhooks", "results": results, "targets": {"wecom_rate": TARGET_RATE, "p99_ms": TARGET_P99_MS}, "ok": ok}))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
