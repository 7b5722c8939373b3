"""The DingTalk channel on its own (no database) against the fake DingTalk on 127.0.0.1: what it sends
for each kind of reply, how it maps the platform's errors, how it downloads media — and the pieces
(signature, translator) against recorded payloads."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bots.channels.base import ChannelContext, MediaError, SendError
from bots.channels.dingtalk import DingTalkChannel, DingTalkConfig, create
from bots.channels.dingtalk_sign import SignatureGuard, check, signature
from bots.channels.dingtalk_translate import Malformed, translate
from bots.channels.gateway import MAX_MEDIA_BYTES
from flows.values import Choice, FileRef, Inbound, MediaRef, Reply
from tests.bots.channels.dingtalk.fake import APP_KEY, APP_SECRET, ROBOT_CODE, Failure, FakeDingTalk, Served
from tests.bots.channels.dingtalk_payloads import sample

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    f = FakeDingTalk()
    with Served(f.app()) as served:
        f.url = served.url
        yield f


def _env(fake: FakeDingTalk, **extra: str) -> dict[str, str]:
    return {
        "TALENTBOT_DINGTALK_APP_KEY": APP_KEY,
        "TALENTBOT_DINGTALK_APP_SECRET": APP_SECRET,
        "TALENTBOT_DINGTALK_ROBOT_CODE": ROBOT_CODE,
        "TALENTBOT_DINGTALK_API_BASE": fake.url,
        "TALENTBOT_DINGTALK_OAPI_BASE": fake.url,
        **extra,
    }


def _channel(fake: FakeDingTalk, **extra: str) -> DingTalkChannel:
    config = DingTalkConfig.from_env(_env(fake, **extra))
    assert config is not None

    async def accept(inbound: Inbound) -> bool:
        return True

    return DingTalkChannel(config=config, accept=accept, clock=lambda: NOW)


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# ------------------------------------------------------------------ configuration


def test_the_platform_is_off_without_all_three_credentials() -> None:
    async def accept(inbound: Inbound) -> bool:
        return True

    full = {
        "TALENTBOT_DINGTALK_APP_KEY": "k",
        "TALENTBOT_DINGTALK_APP_SECRET": "s",
        "TALENTBOT_DINGTALK_ROBOT_CODE": "r",
    }
    for missing in full:
        env = {k: v for k, v in full.items() if k != missing}
        assert create(ChannelContext(env=env, public_url="", clock=lambda: NOW, accept=accept)) is None
    channel = create(ChannelContext(env=full, public_url="", clock=lambda: NOW, accept=accept))
    assert channel is not None and channel.config.mode == "http" and len(channel.routes()) == 1
    assert channel.config.api_base == "https://api.dingtalk.com"
    stream = create(
        ChannelContext(
            env={**full, "TALENTBOT_DINGTALK_MODE": "stream"}, public_url="", clock=lambda: NOW, accept=accept
        )
    )
    assert stream is not None and list(stream.routes()) == []  # nothing to post to in stream mode
    with pytest.raises(ValueError, match="http or stream"):
        DingTalkConfig.from_env({**full, "TALENTBOT_DINGTALK_MODE": "websocket"})


# ------------------------------------------------------------------ signature and translation


def test_the_signature_is_dingtalks() -> None:
    # The documented algorithm, spelled out: base64(HmacSHA256(secret, timestamp + "\n" + secret)).
    import base64
    import hmac

    ts = "1577262236757"
    expected = base64.b64encode(
        hmac.new(b"secret", f"{ts}\nsecret".encode(), hashlib.sha256).digest()
    ).decode()
    assert signature(ts, "secret") == expected
    good = signature(str(NOW_MS), APP_SECRET)
    assert check(str(NOW_MS), good, app_secret=APP_SECRET, now_ms=NOW_MS) is None
    assert check(str(NOW_MS), good, app_secret="other", now_ms=NOW_MS) == "signature mismatch"
    assert check(None, good, app_secret=APP_SECRET, now_ms=NOW_MS) is not None
    assert check("12ab", good, app_secret=APP_SECRET, now_ms=NOW_MS) is not None
    old = str(NOW_MS - 3600 * 1000 - 1)
    assert "older" in (check(old, signature(old, APP_SECRET), app_secret=APP_SECRET, now_ms=NOW_MS) or "")
    soon = str(NOW_MS + 10 * 60 * 1000)
    assert "future" in (check(soon, signature(soon, APP_SECRET), app_secret=APP_SECRET, now_ms=NOW_MS) or "")
    # within the hour and a little ahead is fine
    for ts_ok in (str(NOW_MS - 3500 * 1000), str(NOW_MS + 60 * 1000)):
        assert check(ts_ok, signature(ts_ok, APP_SECRET), app_secret=APP_SECRET, now_ms=NOW_MS) is None


def test_a_signature_carries_one_message_only() -> None:
    guard = SignatureGuard()
    assert guard.admit("1000", "m1", now_ms=1000)
    assert guard.admit("1000", "m1", now_ms=1000)  # DingTalk delivering the same message again
    assert not guard.admit("1000", "m2", now_ms=1000)  # the same headers on another body
    assert guard.admit("1001", "m2", now_ms=1001)
    guard.admit("5", "old", now_ms=5)
    assert guard.admit("5", "other", now_ms=5 + 2 * 3600 * 1000)  # long expired: forgotten


def test_recorded_messages_translate() -> None:
    text = translate(sample("text"))
    assert text == Inbound(
        platform="dingtalk",
        conversation_id="user:manager4220",
        user_ref="manager4220",
        message_id="msgHbE5ZkX3p0fHq8Cj2Qv1yRtw==",
        text="你好",
    )
    group = translate(sample("group_text"))
    assert group is not None
    assert group.conversation_id == "group:cidGr0up9XyZ1mN2bV3cX4zQ==" and group.user_ref == "staff0815"
    assert group.text == "我的进度"  # the space left where the @mention was is gone
    audio = translate(sample("audio"))
    assert audio is not None and audio.text is None and audio.media is not None
    assert audio.media.kind == "voice" and audio.media.ref.startswith("mIofN681")
    picture = translate(sample("picture"))
    assert picture is not None and picture.media == MediaRef(
        "image", "pIc7ureDl0wnL0adC0de4Xq2Zr8Tv1mIofN681YE3f", None
    )
    document = translate(sample("file"))
    assert document is not None and document.media is not None
    assert (document.media.kind, document.media.name, document.media.mime) == (
        "file",
        "学历证明.pdf",
        "application/pdf",
    )
    rich = translate(sample("richText"))
    assert rich is not None and rich.text == "这是我的身份证照片"
    assert rich.media is not None and rich.media.kind == "image"
    assert translate(sample("chatRecord")) is None  # unknown types are ignored
    outsider = sample("text")
    del outsider["senderStaffId"]  # not in the organisation: the robot cannot write back
    assert translate(outsider) is None


@pytest.mark.parametrize(
    "change",
    [
        {"msgtype": None},
        {"msgId": None},
        {"msgId": ""},
        {"conversationType": "3"},
        {"text": "hello"},
        {"text": {"content": 5}},
    ],
)
def test_malformed_messages_are_refused(change: dict[str, object]) -> None:
    body = {**sample("text"), **change}
    with pytest.raises(Malformed):
        translate({k: v for k, v in body.items() if v is not None})


def test_media_without_a_download_code_is_malformed() -> None:
    body = sample("audio")
    body["content"] = {"duration": 3000}
    with pytest.raises(Malformed):
        translate(body)
    body["content"] = '{"downloadCode": "abc"}'  # JSON-encoded content is accepted
    inbound = translate(body)
    assert inbound is not None and inbound.media is not None and inbound.media.ref == "abc"


# ------------------------------------------------------------------ sending


def test_text_and_choices_are_rendered(fake: FakeDingTalk) -> None:
    ch = _channel(fake)

    async def go() -> None:
        await ch.send("user:manager4220", Reply("您好！"))
        await ch.send(
            "user:manager4220",
            Reply(
                "是否同意我们处理您的语音回答？\n第二行", (Choice("同意", "yes"), Choice("不[同]意", "no"))
            ),
        )
        await ch.send("group:cidGr0up==", Reply("请选择：", (Choice("同意", "yes"), Choice("不同意", "no"))))
        await ch.stop()

    _run(go())
    one, two, group = fake.sent
    assert one["msgKey"] == "sampleText" and one["msgParam"] == {"content": "您好！"}
    assert one["userIds"] == ["manager4220"] and one["robotCode"] == ROBOT_CODE
    assert two["msgKey"] == "sampleMarkdown"
    md = two["msgParam"]["text"]
    assert md.startswith("是否同意我们处理您的语音回答？  \n第二行")
    assert "1. [同意](dtmd://dingtalkclient/sendMessage?content=1)" in md
    assert "2. [不［同］意](dtmd://dingtalkclient/sendMessage?content=2)" in md
    assert two["msgParam"]["title"].startswith("是否同意")
    # groups: a tapped link would not @ the robot, so plain numbered text
    assert group["openConversationId"] == "cidGr0up==" and group["msgKey"] == "sampleText"
    assert group["msgParam"]["content"] == "请选择：\n\n1. 同意\n2. 不同意"
    assert fake.token_requests == 1  # one token for all three
    with pytest.raises(SendError) as bad:
        _run(ch.send("manager4220", Reply("?")))
    assert not bad.value.retryable


def test_files_are_uploaded_then_sent(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    fake.add_file("ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    fake.add_file("png", b"\x89PNG\r\n\x1a\nfake", "image/png")

    async def go() -> None:
        ics_url = await ch.api.download_url("ics")  # any URL serving the bytes will do
        png_url = await ch.api.download_url("png")
        await ch.send(
            "user:manager4220",
            Reply(
                "这是您的面试日历邀请：",
                files=(
                    FileRef("interview.ics", "text/calendar", ics_url),
                    FileRef("radar.png", "image/png", png_url),
                    FileRef("gone.pdf", "application/pdf", f"{fake.url}/oss/1/missing"),
                ),
            ),
        )
        await ch.stop()

    _run(go())
    assert [u["filename"] for u in fake.uploads] == ["interview.ics", "radar.png"]
    assert fake.uploads[0]["data"].startswith(b"BEGIN:VCALENDAR") and fake.uploads[0]["type"] == "file"
    assert fake.uploads[1]["type"] == "image"
    text, ics, png, gone = fake.sent
    assert text["msgParam"] == {"content": "这是您的面试日历邀请："}
    assert ics["msgKey"] == "sampleFile"
    assert ics["msgParam"] == {
        "mediaId": fake.uploads[0]["media_id"],
        "fileName": "interview.ics",
        "fileType": "ics",
    }
    assert png["msgKey"] == "sampleImageMsg" and png["msgParam"] == {"photoURL": fake.uploads[1]["media_id"]}
    assert gone["msgParam"]["content"].startswith("gone.pdf: http")  # a dead link is still shown


def test_a_file_that_cannot_be_uploaded_is_sent_as_its_link(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    fake.add_file("ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    fake.fail("/media/upload", 200, {"errcode": 40035, "errmsg": "不合法的参数"})
    fake.fail("/media/upload", 200, {"errcode": -1, "errmsg": "系统繁忙"})

    async def go() -> SendError:
        url = await ch.api.download_url("ics")
        reply = Reply("日历：", files=(FileRef("interview.ics", "text/calendar", url),))
        await ch.send("user:u1", reply)  # refused for good: the link instead
        with pytest.raises(SendError) as busy:  # busy: tried again later, nothing sent yet
            await ch.send("user:u2", reply)
        await ch.stop()
        return busy.value

    busy = _run(go())
    assert busy.retryable
    assert [m["to"] for m in fake.sent] == ["u1", "u1"]
    assert fake.sent[1]["msgParam"]["content"].startswith("interview.ics: http")


def test_platform_errors_map_to_retryable_or_not(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    path = "/v1.0/robot/oToMessages/batchSend"

    async def attempt() -> SendError | None:
        try:
            await ch.send("user:manager4220", Reply("hi"))
        except SendError as exc:
            return exc
        return None

    async def go() -> list[SendError | None]:
        out = []
        fake.fail(path, 429, {"code": "Throttling", "message": "slow down"}, headers={"Retry-After": "7"})
        out.append(await attempt())
        fake.fail(path, 403, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"})
        out.append(await attempt())
        fake.fail(path, 503, {"code": "ServiceUnavailable", "message": "busy"})
        out.append(await attempt())
        fake.fail(path, 400, {"code": "invalidParameter", "message": "msgParam"})
        out.append(await attempt())
        fake.unknown_users.add("manager4220")
        out.append(await attempt())
        fake.unknown_users.clear()
        fake.fail(path, 200, {}, delay=1.0)  # answered too late
        ch.api.timeout = 0.3
        out.append(await attempt())
        ch.api.timeout = 15.0
        out.append(await attempt())
        await ch.stop()
        return out

    throttled, qps, busy, bad, unknown, slow, ok = _run(go())
    assert throttled is not None and throttled.retryable and throttled.retry_after == 7.0
    assert qps is not None and qps.retryable
    assert busy is not None and busy.retryable
    assert bad is not None and not bad.retryable and "invalidParameter" in str(bad)
    assert unknown is not None and not unknown.retryable and "not found" in str(unknown)
    assert slow is not None and slow.retryable and "timed out" in str(slow)
    assert ok is None and len(fake.sent) == 1


def test_network_errors_are_retryable() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    fake = FakeDingTalk()
    fake.url = f"http://127.0.0.1:{port}"
    ch = _channel(fake)
    with pytest.raises(SendError) as err:
        _run(ch.send("user:u1", Reply("hi")))
    assert err.value.retryable
    with pytest.raises(MediaError) as merr:
        _run(ch.fetch_media(MediaRef("voice", "code")))
    assert merr.value.retryable


def test_an_expired_token_is_renewed_once(fake: FakeDingTalk) -> None:
    ch = _channel(fake)

    async def go() -> None:
        await ch.send("user:u1", Reply("one"))
        fake.expire_tokens()  # DingTalk revoked it early (the cache still thinks it is good)
        await ch.send("user:u1", Reply("two"))
        await ch.stop()

    _run(go())
    assert [m["msgParam"]["content"] for m in fake.sent] == ["one", "two"]
    assert fake.token_requests == 2
    assert fake.calls.count("/v1.0/robot/oToMessages/batchSend") == 3  # one refused, then sent


def test_a_bad_secret_is_not_retried(fake: FakeDingTalk) -> None:
    ch = _channel(fake, TALENTBOT_DINGTALK_APP_SECRET="wrong")
    with pytest.raises(SendError) as err:
        _run(ch.send("user:u1", Reply("hi")))
    assert not err.value.retryable and "accessToken" in str(err.value)
    fake.fail("/v1.0/oauth2/accessToken", 502, {})
    with pytest.raises(SendError) as err:
        _run(_channel(fake).send("user:u1", Reply("hi")))
    assert err.value.retryable


def test_a_retry_after_a_partial_send_does_not_repeat(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    fake.add_file("ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")

    async def go() -> None:
        url = await ch.api.download_url("ics")
        reply = Reply("日历：", files=(FileRef("interview.ics", "text/calendar", url),))
        # the text goes through, the file message after it is throttled
        fake.fail("/v1.0/robot/oToMessages/batchSend", 429, {"code": "Throttling"}, skip=1)
        with pytest.raises(SendError) as err:
            await ch.send("user:u1", reply)
        assert err.value.retryable
        await ch.send("user:u1", reply)  # the gateway's retry
        await ch.stop()

    _run(go())
    assert [m["msgKey"] for m in fake.sent] == ["sampleText", "sampleFile"]  # the text only once


# ------------------------------------------------------------------ media


def test_media_is_downloaded_by_its_code(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    fake.add_file("voice-1", b"#!AMR\n" + b"\x00" * 100, "audio/amr")
    fake.add_file("doc-1", b"%PDF-1.4 fake", "application/octet-stream")

    async def go() -> tuple:  # type: ignore[type-arg]
        voice = await ch.fetch_media(MediaRef("voice", "voice-1"))
        doc = await ch.fetch_media(MediaRef("file", "doc-1", "application/pdf", None, "cv.pdf"))
        with pytest.raises(MediaError) as expired:
            await ch.fetch_media(MediaRef("file", "no-such-code"))
        fake.file_failures.append(Failure(500))
        with pytest.raises(MediaError) as oss_down:
            await ch.fetch_media(MediaRef("voice", "voice-1"))
        await ch.stop()
        return voice, doc, expired.value, oss_down.value

    voice, doc, expired, oss_down = _run(go())
    assert voice.data.startswith(b"#!AMR") and voice.mime == "audio/amr"
    assert doc.data == b"%PDF-1.4 fake" and doc.mime is None and doc.filename == "cv.pdf"
    assert not expired.retryable  # the code itself is bad: asking again will not help
    assert oss_down.retryable  # the next try gets a fresh URL


def test_a_download_is_cut_off_past_the_size_limit(fake: FakeDingTalk) -> None:
    ch = _channel(fake)
    fake.add_file("big", b"\0" * (25 * 2**20))

    async def go():  # type: ignore[no-untyped-def]
        got = await ch.fetch_media(MediaRef("file", "big", None, None, "scan.pdf"))
        await ch.stop()
        return got

    got = _run(go())
    assert len(got.data) == MAX_MEDIA_BYTES + 1  # enough for the gateway to say "too large"
