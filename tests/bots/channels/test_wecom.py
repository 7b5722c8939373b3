"""The WeCom adapter end to end: callbacks encrypted and signed as WeCom does (from the recorded messages
in ``wecom/``) into the real server, the gateway and the engine; replies, cards, files and errors
through the adapter's API client against the fake WeCom API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import bots.channels.gateway
from bots.runtime import Runtime
from bots.settings import Settings
from bots.testing import FakeClock
from flows.values import Inbound
from storage.models import AuditEntry, Delivery, Document, OutboxItem, ProcessedMessage
from tests.actions.test_doccheck import make_pdf
from tests.bots.channels import wecom_payloads as wp
from tests.bots.channels.wecom.fake import FakeWeCom
from tests.bots.channels.wecom.fake import fake as fake  # noqa: F401 — the fixture
from tests.conftest import invite

USER = "zhangsan"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def settings(settings: Settings, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    env = wp.env(fake.url, TALENTBOT_WECOM_TIMEOUT="1")
    return dataclasses.replace(settings, env={**settings.env, **env})


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0, trust_env=False) as c:
        yield c


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Inbound]:
    """Every Inbound the gateway hands to the engine (after media went into the file store)."""
    calls: list[Inbound] = []
    real = bots.channels.gateway.handle

    async def spy(inbound: Inbound, deps: Any) -> Any:
        calls.append(inbound)
        return await real(inbound, deps)

    monkeypatch.setattr(bots.channels.gateway, "handle", spy)
    return calls


def now(clock: FakeClock) -> int:
    return int(clock().timestamp())


def post(client: httpx.Client, clock: FakeClock, plain: str, *, skew: int = 0) -> httpx.Response:
    path, headers, body = wp.callback_request(plain, timestamp=now(clock) + skew)
    return client.post(path, headers=headers, content=body)


def say(client: httpx.Client, clock: FakeClock, text: str, *, user: str = USER) -> httpx.Response:
    r = post(client, clock, wp.message("text", user=user, content=text, create_time=now(clock)))
    assert r.status_code == 200 and r.content == b"", r.text
    return r


def click(client: httpx.Client, clock: FakeClock, key: str, *, user: str = USER) -> httpx.Response:
    r = post(client, clock, wp.message("template_card_event", user=user, key=key, create_time=now(clock)))
    assert r.status_code == 200 and r.content == b"", r.text
    return r


def send_media(client: httpx.Client, clock: FakeClock, kind: str, media_id: str, **fields: Any) -> str:
    msg_id = wp.next_id()
    plain = wp.message(kind, user=USER, media_id=media_id, msg_id=msg_id, create_time=now(clock), **fields)
    r = post(client, clock, plain)
    assert r.status_code == 200 and r.content == b"", r.text
    return str(msg_id)


def idle(rt: Runtime) -> None:
    """Wait until the gateway has handled what it accepted (it runs on the server's loop)."""
    loop = rt._loop
    assert loop is not None
    asyncio.run_coroutine_threadsafe(rt.gateway.idle(), loop).result(timeout=60)


def processed(rt: Runtime) -> int:
    with rt.sessions() as s:
        q = select(func.count()).select_from(ProcessedMessage).where(ProcessedMessage.platform == "wecom")
        return s.scalar(q) or 0


def deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.platform == "wecom").order_by(Delivery.id)))


def stored(rt: Runtime, sha256: str) -> bytes:
    assert rt.deps.files is not None and rt.deps.files.exists(sha256)
    return next(p.read_bytes() for p in rt.deps.files.root.rglob(sha256))


def linked(client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeWeCom, position: str) -> None:
    """A candidate who linked the invitation and pressed 同意 twice on the consent cards."""
    code = invite(rt, position=position)
    say(client, clock, f"我的邀请码是 {code}")
    card = fake.wait_text(USER, "单独同意事项 1/2")
    assert [b["key"] for b in card.buttons] == ["yes", "no"]
    click(client, clock, card.buttons[0]["key"])
    card = fake.wait_text(USER, "单独同意事项 2/2")
    click(client, clock, "yes")


# ------------------------------------------------------------------ the callback URL


def test_the_url_check_answers_the_decrypted_echostr(client: httpx.Client, clock: FakeClock) -> None:
    path, plain = wp.url_check_request(timestamp=now(clock))
    r = client.get(path)
    assert r.status_code == 200 and r.text == plain
    assert client.get(path.replace("/hooks/wecom/", "/hooks/wecom")).status_code in (200, 307)
    forged, _ = wp.url_check_request(timestamp=now(clock), token="not-the-token")
    assert client.get(forged).status_code == 403
    stale, _ = wp.url_check_request(timestamp=now(clock) - 301)
    assert client.get(stale).status_code == 403
    assert client.get(path.split("&echostr=")[0]).status_code == 400
    assert client.get("/hooks/wecom/").status_code == 400


# ------------------------------------------------------------------ a conversation


def test_linking_consents_by_card_buttons_and_booking_with_a_calendar_file(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    linked(client, clock, rt, fake, "TELLER")
    # seven choices (six slots and "more") do not fit a card's six buttons: numbered text
    offer = fake.wait_text(USER, "请选择面试时间")
    assert offer.body["msgtype"] == "text" and "\n1. " in offer.text and "\n7. " in offer.text
    booked_at = len(fake.sent(USER))
    say(client, clock, "1")
    confirm = fake.wait(
        lambda: next(
            (c for c in fake.sent(USER)[booked_at:] if any(b["key"] == "ics" for b in c.buttons)), None
        ),
        what="the booking confirmation with its buttons",
    )
    assert {b["key"] for b in confirm.buttons} >= {"ics", "reschedule", "cancel"}
    click(client, clock, "ics")
    sent_file = fake.wait(
        lambda: next((c for c in fake.sent(USER) if c.body.get("msgtype") == "file"), None), what="the .ics"
    )
    kind, upload = fake.uploads[sent_file.body["file"]["media_id"]]
    assert kind == "file" and upload.filename == "interview.ics" and upload.mime == "text/calendar"
    assert upload.data.startswith(b"BEGIN:VCALENDAR")
    # every reply went to this member from this app; the clicks arrived as payloads
    assert all(c.body["agentid"] == wp.AGENT_ID for c in fake.sent())
    assert [i.payload for i in seen if i.payload] == ["yes", "yes", "ics"]
    fake.wait(lambda: all(d.status == "sent" for d in deliveries(rt)), what="every delivery marked sent")


def test_typed_answers_work_without_buttons_and_the_interview_starts_by_text(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    code = invite(rt, position="RISK")
    say(client, clock, f"我的邀请码是 {code}")
    fake.wait_text(USER, "单独同意事项 1/2")
    say(client, clock, "1")  # the first choice, typed
    fake.wait_text(USER, "单独同意事项 2/2")
    say(client, clock, "同意")
    intro = fake.wait_text(USER, "准备好了请点“开始面试”")
    assert "iv_start" in [b["key"] for b in intro.buttons]
    say(client, clock, "开始面试")
    fake.wait_text(USER, "第 1/6 题")
    say(client, clock, "我会先核实客户身份，按照反洗钱规定检查交易背景，发现可疑情况及时上报合规部门。")
    fake.wait_text(USER, "收到您的回答")


# ------------------------------------------------------------------ bad input


def test_forged_stale_and_replayed_callbacks(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    plain = wp.message("text", user=USER, content="你好", create_time=now(clock))
    path, headers, body = wp.callback_request(plain, timestamp=now(clock), token="guessed-token")
    assert client.post(path, headers=headers, content=body).status_code == 403
    tampered_path, headers, body = wp.callback_request(plain, timestamp=now(clock))
    assert (
        client.post(
            tampered_path,
            headers=headers,
            content=body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[A"),
        ).status_code
        == 403
    )
    assert post(client, clock, plain, skew=-301).status_code == 403  # older than five minutes
    assert post(client, clock, plain, skew=+301).status_code == 403  # from the future
    idle(rt)
    assert processed(rt) == 0 and fake.sent() == []

    path, headers, body = wp.callback_request(plain, timestamp=now(clock))
    for _ in range(3):  # WeCom retries after 5 s; an attacker may replay within the window
        assert client.post(path, headers=headers, content=body).status_code == 200
        idle(rt)
    clock.advance(seconds=30)
    path2, headers2, body2 = wp.callback_request(plain, timestamp=now(clock))  # same MsgId, new envelope
    assert client.post(path2, headers=headers2, content=body2).status_code == 200
    idle(rt)
    fake.wait(lambda: fake.sent(USER), what="the welcome")
    assert processed(rt) == 1
    assert len(deliveries(rt)) == len(fake.sent(USER))  # one answer, sent once


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Encrypt>abc",
        b"not xml",
        b"",
        b'<!DOCTYPE x [<!ENTITY e "e">]><xml><Encrypt>&e;</Encrypt></xml>',
        b"<xml><ToUserName>ww</ToUserName></xml>",
        b'{"Encrypt": "abc"}',
    ],
)
def test_malformed_bodies_are_400_and_never_processed(
    rt: Runtime, client: httpx.Client, clock: FakeClock, body: bytes
) -> None:
    path, headers, _ = wp.text_message_request("你好", timestamp=now(clock))
    assert client.post(path, headers=headers, content=body).status_code == 400
    idle(rt)
    assert processed(rt) == 0


def test_other_refusals(rt: Runtime, client: httpx.Client, clock: FakeClock) -> None:
    path, headers, body = wp.text_message_request("你好", timestamp=now(clock))
    assert client.post("/hooks/wecom/", headers=headers, content=body).status_code == 400  # no signature
    assert client.post(path, headers=headers, content=b"<xml>" + b" " * 70000 + b"</xml>").status_code == 413
    # correctly signed, but not something our key decrypts
    from bots.channels.wecom_crypto import signature

    ts, nonce, junk = str(now(clock)), "42", "SGVsbG8gd29ybGQhIFRoaXMgaXMgbm90IGEgV2VDb20gbWVzc2FnZSE="
    sig = signature(wp.TOKEN, ts, nonce, junk)
    r = client.post(
        f"/hooks/wecom/?msg_signature={sig}&timestamp={ts}&nonce={nonce}",
        content=f"<xml><Encrypt><![CDATA[{junk}]]></Encrypt></xml>".encode(),
    )
    assert r.status_code == 400
    idle(rt)
    assert processed(rt) == 0


def test_unknown_and_uninteresting_events_are_acknowledged_and_ignored(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    for name in ("enter_agent", "location"):
        assert post(client, clock, wp.message(name, user=USER, create_time=now(clock))).status_code == 200
    odd = wp.message("enter_agent", user=USER, create_time=now(clock)).replace(
        "enter_agent", "kf_msg_or_event"
    )
    assert post(client, clock, odd).status_code == 200
    unknown_type = wp.message("text", user=USER, content="x", create_time=now(clock)).replace(
        "<MsgType><![CDATA[text]]>", "<MsgType><![CDATA[hologram]]>"
    )
    assert post(client, clock, unknown_type).status_code == 200
    other_app = wp.message("text", user=USER, content="hi", create_time=now(clock)).replace(
        f"<AgentID>{wp.AGENT_ID}</AgentID>", "<AgentID>999</AgentID>"
    )
    assert post(client, clock, other_app).status_code == 200
    idle(rt)
    assert processed(rt) == 0 and fake.sent() == []


# ------------------------------------------------------------------ media


def test_a_file_and_a_photo_reach_the_engine_with_their_bytes_in_the_file_store(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    linked(client, clock, rt, fake, "TELLER")
    before = len(fake.sent(USER))
    fake.add_media("M-pdf", PDF, "application/pdf", "M-pdf.pdf")
    msg_id = send_media(client, clock, "file", "M-pdf", file_name="学历证书.pdf")
    idle(rt)
    [doc] = [i for i in seen if i.message_id == msg_id]
    assert doc.media is not None and doc.media.kind == "file" and doc.media.name == "学历证书.pdf"
    assert doc.media.mime == "application/pdf" and doc.media.ref == hashlib.sha256(PDF).hexdigest()
    assert stored(rt, doc.media.ref) == PDF
    fake.wait(lambda: len(fake.sent(USER)) > before, what="a reply to the document")

    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
    fake.add_media("M-jpg", jpeg, "image/jpeg", "M-jpg.jpg")
    before = len(fake.sent(USER))
    msg_id = send_media(client, clock, "image", "M-jpg")
    idle(rt)
    [photo] = [i for i in seen if i.message_id == msg_id]
    assert photo.media is not None and photo.media.kind == "image" and photo.media.mime == "image/jpeg"
    assert stored(rt, photo.media.ref) == jpeg
    fake.wait(lambda: len(fake.sent(USER)) > before, what="a reply to the photo")


def test_a_cv_sent_as_a_file_is_filed_and_the_checklist_comes_back(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    linked(client, clock, rt, fake, "TELLER")
    cv = make_pdf("Zhang San CV")
    fake.add_media("M-cv", cv, "application/pdf", "cv.pdf")
    after = len(fake.sent(USER))
    msg_id = send_media(client, clock, "file", "M-cv", file_name="简历.pdf")  # the name says what it is
    reply = fake.wait_text(USER, "已收到：简历", after=after)
    assert reply.body["msgtype"] == "text"
    assert "已收到您的简历（简历.pdf）" in reply.text and "已收到：简历；还差：身份证、学历证书" in reply.text
    with rt.sessions() as s:
        [doc] = s.scalars(select(Document)).all()
    assert (doc.kind, doc.status, doc.sha256) == ("cv", "current", hashlib.sha256(cv).hexdigest())
    assert (doc.mime, doc.filename, doc.platform, doc.message_id) == (
        "application/pdf",
        "简历.pdf",
        "wecom",
        msg_id,
    )


def test_a_25_mb_file_is_refused_politely(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    big = bytes(range(256)) * (25 * 2**20 // 256)
    fake.add_media("M-big", big, "application/pdf", "scan.pdf")
    msg_id = send_media(client, clock, "file", "M-big", file_name="scan.pdf")
    fake.wait_text(USER, "文件太大了（上限 20 MB）")
    [inbound] = [i for i in seen if i.message_id == msg_id]
    assert inbound.media is not None and inbound.media.kind == "too_large"
    # WeCom serves files over 20 MB only in Range parts; no part over 20 MB was asked for
    ranges = [c.body["range"] for c in fake.of("media/get") if c.body.get("range")]
    assert ranges == [f"bytes=0-{20 * 2**20 - 1}", f"bytes={20 * 2**20}-{20 * 2**20}"]
    assert rt.deps.files is not None and not rt.deps.files.exists(hashlib.sha256(big).hexdigest())


def test_a_media_download_failing_then_succeeding_is_retried(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    fake.add_media("M-flaky", PDF, "application/pdf", "a.pdf")
    fake.fail("media/get", {"errcode": -1, "errmsg": "system busy"})
    fake.fail("media/get", 502)
    msg_id = send_media(client, clock, "file", "M-flaky", file_name="a.pdf")
    idle(rt)
    [inbound] = [i for i in seen if i.message_id == msg_id]
    assert inbound.media is not None and inbound.media.kind == "file"
    assert stored(rt, inbound.media.ref) == PDF
    assert [c.answer.get("errcode") for c in fake.of("media/get")] == [-1, -1, 0]


def test_a_media_download_that_times_out_is_retried_then_the_user_is_asked_to_resend(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    fake.add_media("M-slow", PDF, "application/pdf", "slow.pdf")
    fake.media_delay["M-slow"] = 3.0  # the adapter gives up after TALENTBOT_WECOM_TIMEOUT=1 s
    send_media(client, clock, "file", "M-slow", file_name="slow.pdf")
    fake.wait_text(USER, "没能接收到您发送的文件或语音", timeout=30)
    assert len(fake.of("media/get")) == 3
    assert [i.media.kind for i in seen if i.media is not None] == ["failed"]


def test_an_expired_media_id_is_not_retried_and_the_user_is_asked_to_resend(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    seen: list[Inbound],
) -> None:
    send_media(client, clock, "voice", "M-expired")  # unknown to WeCom: 40007, not worth retrying
    fake.wait_text(USER, "没能接收到您发送的文件或语音", timeout=5)
    assert [c.answer.get("errcode") for c in fake.of("media/get")] == [40007]
    assert [i.media.kind for i in seen if i.media is not None] == ["failed"]


# ------------------------------------------------------------------ sending


def test_an_expired_token_is_renewed_and_the_message_still_arrives(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    say(client, clock, "你好")
    fake.wait(lambda: fake.sent(USER), what="the first reply")
    assert len(fake.of("gettoken")) == 1
    fake.expire_tokens()  # WeCom revoked it early (another process fetched a new one, say)
    n = len(fake.sent(USER))
    say(client, clock, "我的进度")
    fake.wait(lambda: len(fake.sent(USER)) > n, what="the reply after the token expired")
    assert len(fake.of("gettoken")) == 2
    assert any(c.answer.get("errcode") == 42001 for c in fake.of("message/send"))
    # and a token near its end is renewed before WeCom has to say so
    clock.advance(seconds=fake.expires_in - 200)
    n, errors = len(fake.sent(USER)), len([c for c in fake.of("message/send") if not c.ok])
    say(client, clock, "帮助")
    fake.wait(lambda: len(fake.sent(USER)) > n, what="the reply with a renewed token")
    assert len(fake.of("gettoken")) == 3
    assert len([c for c in fake.of("message/send") if not c.ok]) == errors


def test_a_rate_limit_answer_is_retried_by_the_gateway(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    fake.fail("message/send", {"errcode": 45009, "errmsg": "api freq out of limit"})
    say(client, clock, "你好")
    fake.wait(lambda: deliveries(rt) and deliveries(rt)[0].attempts == 1, what="the first attempt")
    [d] = deliveries(rt)
    assert d.status == "pending" and "45009" in (d.last_error or "")
    assert d.next_attempt_at is not None
    assert fake.sent(USER) == []
    clock.advance(seconds=61)  # retry_after: WeCom's limits are per minute
    rt.gateway.wake()
    fake.wait(lambda: fake.sent(USER), what="the retried message")
    [d] = deliveries(rt)
    assert d.status == "sent" and d.attempts == 1


def test_a_server_error_is_retried_and_a_missing_member_fails_for_good_and_hr_is_told(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.fail("message/send", 503)
    say(client, clock, "你好")
    fake.wait(lambda: deliveries(rt) and deliveries(rt)[0].attempts == 1, what="the first attempt")
    clock.advance(seconds=3)
    rt.gateway.wake()
    fake.wait(lambda: fake.sent(USER), what="the retried message")

    fake.fail("message/send", {"errcode": 60111, "errmsg": "userid not found"})
    with caplog.at_level(logging.ERROR, logger="talentbot.gateway"):
        say(client, clock, "我的进度", user="gone-user")
        fake.wait(lambda: any(d.status == "failed" for d in deliveries(rt)), what="the failed delivery")
    [failed] = [d for d in deliveries(rt) if d.status == "failed"]
    assert (
        failed.conversation_id == "gone-user"
        and failed.attempts == 1
        and "60111" in (failed.last_error or "")
    )
    with rt.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed")).one()
        assert audit.subject == "wecom:gone-user"
        notices = [o.payload for o in s.scalars(select(OutboxItem)) if o.kind == "notify_hr"]
    assert any(n["event"] == "delivery_failed" and n["platform"] == "wecom" for n in notices)
    assert fake.sent("gone-user") == []


def test_a_reply_after_the_clock_moved_keeps_the_replay_window_on_the_servers_clock(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
) -> None:
    clock.advance(days=1)
    say(client, clock, "你好")  # WeCom's timestamp is "now" on the server's clock
    fake.wait(lambda: fake.sent(USER), what="a reply")
    path, headers, body = wp.text_message_request("你好", timestamp=now(clock) - 86400)  # yesterday's
    assert client.post(path, headers=headers, content=body).status_code == 403
