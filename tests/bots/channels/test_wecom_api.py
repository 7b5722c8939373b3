"""The WeCom channel and its API client against the fake WeCom API, without the rest of the app:
configuration, the token's life, how each kind of failure is classified, WeCom's per-member limit,
resuming a partly sent reply, files, and Tencent's sample vectors through the webhook route."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from bots.channels.base import ChannelContext, SendError
from bots.channels.wecom import WeComChannel, create
from bots.channels.wecom_api import APIError, WeComAPI
from bots.testing import FakeClock
from flows.values import Choice, FileRef, Inbound, Reply
from tests.bots.channels import wecom_payloads as wp
from tests.bots.channels.wecom.fake import FakeWeCom
from tests.bots.channels.wecom.fake import fake as fake  # noqa: F401 — the fixture

T = TypeVar("T")
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


class Ticker:
    """A monotonic clock for the per-member limit."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def context(
    env: dict[str, str], clock: Callable[[], datetime], seen: list[Inbound] | None = None
) -> ChannelContext:
    async def accept(inbound: Inbound) -> bool:
        if seen is not None:
            seen.append(inbound)
        return True

    return ChannelContext(env=env, public_url="http://127.0.0.1:1", clock=clock, accept=accept)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def channel(fake: FakeWeCom, clock: FakeClock, ticker: Ticker) -> Iterator[WeComChannel]:
    made = create(context(wp.env(fake.url, TALENTBOT_WECOM_TIMEOUT="1"), clock))
    assert isinstance(made, WeComChannel)
    yield WeComChannel(ctx=made._ctx, crypto=made._crypto, api=made.api, monotonic=ticker)


def api_for(fake: FakeWeCom, clock: FakeClock, **kw: Any) -> WeComAPI:
    args: dict[str, Any] = {
        "corp_id": wp.CORP_ID,
        "secret": wp.SECRET,
        "agent_id": wp.AGENT_ID,
        "base_url": fake.url,
        "timeout": 1.0,
        "clock": clock,
    }
    return WeComAPI(**{**args, **kw})


# ------------------------------------------------------------------ configuration


def test_the_platform_is_off_without_settings_and_says_which_are_missing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert create(context({}, clock)) is None
    partial = {k: v for k, v in wp.env("http://x").items() if k != "TALENTBOT_WECOM_SECRET"}
    partial["TALENTBOT_WECOM_TOKEN"] = "  "
    with caplog.at_level(logging.WARNING, logger="talentbot.wecom"):
        assert create(context(partial, clock)) is None
    assert "TALENTBOT_WECOM_SECRET" in caplog.text and "TALENTBOT_WECOM_TOKEN" in caplog.text
    assert "TALENTBOT_WECOM_CORP_ID" not in caplog.text
    with pytest.raises(ValueError, match="AGENT_ID"):
        create(context({**wp.env("http://x"), "TALENTBOT_WECOM_AGENT_ID": "abc"}, clock))
    with pytest.raises(ValueError, match="AES_KEY"):
        create(context({**wp.env("http://x"), "TALENTBOT_WECOM_AES_KEY": "tooshort"}, clock))
    on = create(context(wp.env("http://x"), clock))
    assert on is not None and on.name == "wecom"
    assert [(lim.count, lim.seconds, lim.per) for lim in on.limits][0] == (30, 60, "conversation")


# ------------------------------------------------------------------ the token


def test_the_token_is_cached_renewed_before_expiry_and_when_rejected(
    fake: FakeWeCom, clock: FakeClock
) -> None:
    api = api_for(fake, clock)

    async def go() -> None:
        await api.send("u1", {"msgtype": "text", "text": {"content": "1"}})
        await api.send("u1", {"msgtype": "text", "text": {"content": "2"}})
        assert len(fake.of("gettoken")) == 1
        clock.advance(seconds=7200 - 299)  # within five minutes of WeCom's expiry: renewed first
        await api.send("u1", {"msgtype": "text", "text": {"content": "3"}})
        assert len(fake.of("gettoken")) == 2
        fake.expire_tokens()
        await api.send("u1", {"msgtype": "text", "text": {"content": "4"}})
        assert len(fake.of("gettoken")) == 3
        await api.aclose()

    run(go)
    assert [c.body["text"]["content"] for c in fake.sent("u1")] == ["1", "2", "3", "4"]
    assert [c.answer["errcode"] for c in fake.of("message/send")] == [0, 0, 0, 42001, 0]
    tokens = [c.token for c in fake.of("message/send")]
    assert tokens[0] == tokens[1] != tokens[2] == tokens[3] != tokens[4]


def test_wrong_app_credentials_are_not_worth_retrying(
    fake: FakeWeCom,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = api_for(fake, clock, secret="wrong")
    with caplog.at_level(logging.ERROR, logger="talentbot.wecom"), pytest.raises(APIError) as err:
        run(lambda: api.send("u1", {"msgtype": "text", "text": {"content": "x"}}))
    assert not err.value.retryable and err.value.errcode == 40001
    assert "refused the corp id or app secret" in caplog.text


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("answer", "retryable", "retry_after"),
    [
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, True, 60.0),
        ({"errcode": 45033, "errmsg": "api concurrent out of limit"}, True, 5.0),
        ({"errcode": -1, "errmsg": "system busy"}, True, 2.0),
        ({"errcode": 60111, "errmsg": "userid not found"}, False, None),
        ({"errcode": 81013, "errmsg": "user & party & tag all invalid"}, False, None),
        ({"errcode": 0, "errmsg": "ok", "invaliduser": "u1"}, False, None),
        (500, True, None),
        (502, True, None),
        (429, True, None),
        (404, False, None),
    ],
)
def test_send_failures_are_classified(
    channel: WeComChannel,
    fake: FakeWeCom,
    answer: dict[str, Any] | int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake.fail("message/send", answer)
    with pytest.raises(SendError) as err:
        run(lambda: channel.send("u1", Reply("你好")))
    assert err.value.retryable is retryable and err.value.retry_after == retry_after


def test_network_errors_and_timeouts_are_retryable(clock: FakeClock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    api = WeComAPI(
        corp_id=wp.CORP_ID,
        secret=wp.SECRET,
        agent_id=wp.AGENT_ID,
        base_url=f"http://127.0.0.1:{port}",
        clock=clock,
    )
    with pytest.raises(APIError) as err:
        run(lambda: api.send("u1", {"msgtype": "text", "text": {"content": "x"}}))
    assert err.value.retryable and "ConnectError" in str(err.value)

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        slow = WeComAPI(
            corp_id=wp.CORP_ID,
            secret=wp.SECRET,
            agent_id=wp.AGENT_ID,
            base_url=base,
            timeout=0.3,
            clock=clock,
        )
        with pytest.raises(APIError) as err:
            run(lambda: slow.media("M1", max_bytes=1000))
    assert err.value.retryable and "timed out" in str(err.value)


def test_media_errors_say_whether_to_retry(fake: FakeWeCom, clock: FakeClock) -> None:
    api = api_for(fake, clock)
    fake.add_media("M1", b"#!AMR\n" + b"\x00" * 100, "audio/amr", "M1.amr")
    fake.add_media(
        "J1", b'{"errcode": 7, "note": "a JSON document someone sent"}', "application/json", "d.json"
    )

    async def go() -> list[Any]:
        out: list[Any] = []
        for media_id in ("M1", "nope", "J1"):
            try:
                out.append(await api.media(media_id, max_bytes=1000))
            except APIError as exc:
                out.append(exc)
        fake.fail("media/get", {"errcode": 45009, "errmsg": "freq"})
        try:
            await api.media("M1", max_bytes=1000)
        except APIError as exc:
            out.append(exc)
        small = await api.media("M1", max_bytes=10)
        out.append(small)
        await api.aclose()
        return out

    ok, missing, json_doc, limited, small = run(go)
    assert ok.data.startswith(b"#!AMR") and ok.mime == "audio/amr" and ok.filename == "M1.amr"
    assert isinstance(missing, APIError) and not missing.retryable and missing.errcode == 40007
    assert isinstance(limited, APIError) and limited.retryable and limited.retry_after == 60.0
    # an error is a small JSON with errcode… but a JSON document whose errcode the sender wrote is data
    assert isinstance(json_doc, APIError)  # indistinguishable from WeCom's own error: refused
    assert small.truncated and len(small.data) == 11


# ------------------------------------------------------------------ sending


def test_wecom_drops_what_exceeds_30_a_minute_so_the_adapter_waits_instead(
    channel: WeComChannel,
    fake: FakeWeCom,
    ticker: Ticker,
) -> None:
    async def go() -> SendError:
        for i in range(30):
            ticker.t += 0.5
            await channel.send("u1", Reply(f"消息 {i}"))
        await channel.send("u2", Reply("another member is not held up"))
        try:
            await channel.send("u1", Reply("one too many"))
        except SendError as exc:
            return exc
        finally:
            await channel.stop()
        raise AssertionError("the 31st message within a minute was sent")

    err = run(go)
    assert err.retryable and err.retry_after is not None and 44 <= err.retry_after <= 46
    assert len(fake.sent("u1")) == 30 and len(fake.sent("u2")) == 1
    ticker.t += 46
    run(lambda: channel.send("u1", Reply("now it may go")))
    assert fake.sent("u1")[-1].text == "now it may go"


def test_a_retry_resumes_a_partly_sent_reply(channel: WeComChannel, fake: FakeWeCom) -> None:
    long = "\n".join(f"第 {i} 条说明：请认真阅读。" for i in range(12)) + "\n准备好了吗？"
    reply = Reply(long, (Choice("开始", "iv_start"), Choice("人工", "human")))
    fake.fail("message/send", {"errcode": -1, "errmsg": "system busy"})

    async def go() -> None:
        await channel.send("u1", Reply("先发一条"))
        fake.fail("message/send", {"errcode": -1, "errmsg": "system busy"})
        with pytest.raises(SendError):
            await channel.send("u1", reply)  # the text went out, then the card failed
        await channel.send("u1", reply)  # the gateway's retry: only the card
        await channel.send("u1", reply)  # the same reply again later: all of it
        await channel.stop()

    with pytest.raises(SendError):  # the very first attempt failed as scripted
        run(lambda: channel.send("u1", Reply("先发一条")))
    run(go)
    kinds = [c.body["msgtype"] for c in fake.sent("u1")]
    assert kinds == ["text", "text", "template_card", "text", "template_card"]
    assert fake.sent("u1")[2].text.startswith("准备好了吗？")


def test_files_are_uploaded_or_sent_as_a_link(channel: WeComChannel, fake: FakeWeCom) -> None:
    fake.static["chart.png"] = (PNG, "image/png")
    fake.static["interview.ics"] = (ICS, "text/calendar")
    reply = Reply(
        "您的材料：",
        files=(
            FileRef("interview.ics", "text/calendar", f"{fake.url}/static/interview.ics"),
            FileRef("radar.png", "image/png", f"{fake.url}/static/chart.png"),
            FileRef("gone.pdf", "application/pdf", f"{fake.url}/static/gone.pdf"),
        ),
    )

    async def go() -> None:
        await channel.send("u1", reply)
        await channel.stop()

    run(go)
    sent = fake.sent("u1")
    assert [c.body["msgtype"] for c in sent] == ["text", "file", "image", "text"]
    assert fake.uploads[sent[1].body["file"]["media_id"]][1].data == ICS
    kind, image = fake.uploads[sent[2].body["image"]["media_id"]]
    assert kind == "image" and image.data == PNG and image.filename == "radar.png"
    assert sent[3].text == f"gone.pdf: {fake.url}/static/gone.pdf"  # our own URL failed: the link


# ------------------------------------------------------------------ the official vectors through the route


def test_the_official_sample_requests_through_the_webhook_route() -> None:
    v = json.loads((Path(__file__).parent / "wecom" / "official_vectors.json").read_text("utf-8"))[
        "wecom_2016"
    ]
    env = {
        "TALENTBOT_WECOM_CORP_ID": v["corp_id"],
        "TALENTBOT_WECOM_AGENT_ID": "1000002",
        "TALENTBOT_WECOM_SECRET": "unused",
        "TALENTBOT_WECOM_TOKEN": v["token"],
        "TALENTBOT_WECOM_AES_KEY": v["aes_key"],
    }
    seen: list[Inbound] = []
    at = {"now": datetime.fromtimestamp(int(v["message"]["timestamp"]) + 2, UTC)}
    channel = create(context(env, lambda: at["now"], seen))
    assert channel is not None
    app = Starlette(routes=[Mount("/hooks/wecom", routes=list(channel.routes()))])
    with TestClient(app) as c:
        url = v["verify_url"]
        at["now"] = datetime.fromtimestamp(int(url["timestamp"]), UTC)
        query = {k: url[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
        r = c.get(f"/hooks/wecom/?{urlencode(query)}")
        assert r.status_code == 200 and r.text == url["plain"]
        msg = v["message"]
        at["now"] = datetime.fromtimestamp(int(msg["timestamp"]) + 2, UTC)
        query = {k: msg[k] for k in ("msg_signature", "timestamp", "nonce")}
        r = c.post(f"/hooks/wecom/?{urlencode(query)}", content=msg["body"].encode())
        assert r.status_code == 200 and r.content == b""
        at["now"] += timedelta(minutes=6)  # the same request once it is stale
        assert c.post(f"/hooks/wecom/?{urlencode(query)}", content=msg["body"].encode()).status_code == 403
    [inbound] = seen
    assert (inbound.user_ref, inbound.text, inbound.message_id) == ("ChenJiaShun", "你好", "1456453720")


def test_a_real_http_client_is_used_not_a_stub(fake: FakeWeCom, clock: FakeClock) -> None:
    api = api_for(fake, clock)

    async def go() -> httpx.AsyncClient:
        client = api.client()
        await api.send("u1", {"msgtype": "text", "text": {"content": "x"}})
        await api.aclose()
        return client

    assert isinstance(run(go), httpx.AsyncClient)
