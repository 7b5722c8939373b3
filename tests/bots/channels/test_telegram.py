"""The Telegram adapter end to end: webhook requests (as Telegram makes them, from the recorded updates in
``telegram/``) into the real server, the gateway and the engine; replies, files and errors through
python-telegram-bot against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import bots.channels.gateway
from bots.channels.base import RateLimit
from bots.runtime import Runtime
from bots.settings import Settings
from bots.testing import FakeClock
from flows.values import Inbound, MediaRef
from storage.models import AuditEntry, Delivery, Document, OutboxItem, ProcessedMessage
from tests.actions.test_doccheck import make_pdf
from tests.bots.channels import telegram_payloads as tp
from tests.bots.channels.telegram.fake import Call, FakeTelegram, fake  # noqa: F401 — the fixture
from tests.conftest import invite

# PTB 22 warns inside its own RetryAfter that retry_after will become a timedelta (the adapter reads both)
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
CHAT = 7001001


def telegram_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:  # noqa: F811
    return {
        "TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN,
        "TALENTBOT_TELEGRAM_SECRET": tp.SECRET,
        "TALENTBOT_TELEGRAM_API_BASE": fake.url,
        "TALENTBOT_TELEGRAM_TIMEOUT": "5",
        **extra,
    }


@pytest.fixture
def telegram_extra() -> dict[str, str]:
    """More TALENTBOT_TELEGRAM_* settings for one test (``@pytest.mark.parametrize`` overrides it)."""
    return {}


@pytest.fixture
def settings(settings: Settings, fake: FakeTelegram, telegram_extra: dict[str, str]) -> Settings:  # noqa: F811
    return dataclasses.replace(settings, env={**settings.env, **telegram_env(fake, **telegram_extra)})


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def post(client: httpx.Client, data: dict[str, Any] | bytes) -> httpx.Response:
    """A webhook delivery with the right secret: an update, or raw bytes as the body."""
    if isinstance(data, bytes):
        path, headers, body = tp.request({})
        body = data
    else:
        path, headers, body = tp.request(data)
    return client.post(path, headers=headers, content=body)


def idle(rt: Runtime) -> None:
    """Wait until the gateway has handled what it accepted (it runs on the server's loop)."""
    loop = rt._loop
    assert loop is not None
    asyncio.run_coroutine_threadsafe(rt.gateway.idle(), loop).result(timeout=60)


def processed(rt: Runtime) -> int:
    with rt.sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(ProcessedMessage)
                .where(ProcessedMessage.platform == "telegram")
            )
            or 0
        )


def deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.platform == "telegram").order_by(Delivery.id)))


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Inbound]:
    """Every Inbound the gateway hands to the engine, after its media went to the file store."""
    calls: list[Inbound] = []
    real = bots.channels.gateway.handle

    async def spy(inbound: Inbound, deps: Any) -> Any:
        calls.append(inbound)
        return await real(inbound, deps)

    monkeypatch.setattr(bots.channels.gateway, "handle", spy)
    return calls


def texts(fake: FakeTelegram, start: int = 0) -> list[str]:  # noqa: F811
    return [c.params["text"] for c in fake.sent()[start:]]


def say(rt: Runtime, fake: FakeTelegram, client: httpx.Client, text: str) -> list[Call]:  # noqa: F811
    """A text message; waits for the bot's replies to it (at least one)."""
    before = len(fake.sent())
    assert post(client, tp.update("text_message", chat_id=CHAT, text=text)).status_code == 200
    idle(rt)
    fake.wait(lambda: all(d.status != "pending" for d in deliveries(rt)), what=f"replies to {text!r}")
    return fake.sent()[before:]


def document(
    file_id: str, data: bytes, *, name: str = "学历证明.pdf", size: int | None = None
) -> dict[str, Any]:
    return tp.update(
        "document_message",
        chat_id=CHAT,
        document={
            "file_name": name,
            "mime_type": "application/pdf",
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data) if size is None else size,
        },
    )


# ------------------------------------------------------------------ the webhook


def test_a_text_message_is_answered_through_send_message(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
    server: str,
) -> None:
    data = tp.update("text_message", chat_id=CHAT, text="你好")
    r = post(client, data)
    assert r.status_code == 200, r.text
    [call] = fake.wait_sent(1)
    assert call.params["chat_id"] == str(CHAT)
    assert "邀请码" in call.params["text"]
    idle(rt)
    assert seen == [
        Inbound(
            platform="telegram",
            conversation_id=str(CHAT),
            user_ref=str(CHAT),
            message_id=f"{CHAT}:{data['message']['message_id']}",
            text="你好",
        )
    ]
    assert processed(rt) == 1
    fake.wait(lambda: [d.status for d in deliveries(rt)] == ["sent"], what="the delivery marked sent")
    # start() registered the webhook: our public URL, the secret, the two update types we handle
    [hook] = fake.sent("setWebhook")
    assert hook.params["url"] == f"{server}/hooks/telegram/"
    assert hook.params["secret_token"] == tp.SECRET
    assert hook.params["allowed_updates"] == ["message", "callback_query"]


def test_the_benchmark_helper_builds_an_accepted_request(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
) -> None:
    path, headers, body = tp.text_message_request("hello", chat_id=CHAT)
    assert client.post(path, headers=headers, content=body).status_code == 200
    fake.wait_sent(1)
    assert "invitation code" in fake.sent()[0].params["text"]


@pytest.mark.parametrize(
    "header",
    [None, "", "wrong-secret", tp.SECRET + "x", tp.SECRET[:-1], "é".encode("latin-1")],
    ids=["missing", "empty", "wrong", "longer", "shorter", "non-ascii"],
)
def test_a_wrong_secret_is_refused_and_nothing_is_processed(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    header: str | bytes | None,
) -> None:
    path, headers, body = tp.request(tp.update("text_message", chat_id=CHAT, text="你好"))
    del headers["X-Telegram-Bot-Api-Secret-Token"]
    if header is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = header  # type: ignore[assignment]
    r = client.post(path, headers=headers, content=body)
    assert r.status_code == 403
    idle(rt)
    assert processed(rt) == 0 and fake.sent() == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        "不是 JSON".encode(),
        b"\xff\xfe\x00",
        b"[]",
        b'"update"',
        b'{"message": {"text": "no update_id"}}',
        b'{"update_id": "12", "message": {}}',
        b'{"update_id": 12, "message": "hello"}',
        b'{"update_id": 12, "message": {"message_id": 1, "text": "no chat, no date"}}',
    ],
)
def test_malformed_updates_are_400_and_nothing_is_processed(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    body: bytes,
) -> None:
    r = post(client, body)
    assert r.status_code == 400, r.text
    idle(rt)
    assert processed(rt) == 0 and fake.sent() == []


def test_an_oversized_body_and_other_methods_are_refused(
    rt: Runtime,
    client: httpx.Client,
) -> None:
    huge = b'{"update_id": 1, "message": {"text": "' + b"x" * (2 << 20) + b'"}}'
    assert post(client, huge).status_code == 413
    assert client.get(tp.PATH).status_code == 405
    assert processed(rt) == 0


def test_unknown_update_types_are_acknowledged_and_ignored(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    for name in ("edited_message", "my_chat_member", "group_message", "pinned_message"):
        assert post(client, tp.update(name, chat_id=CHAT)).status_code == 200, name
    reactions = {
        "update_id": 912399998,
        "message_reaction_count": {
            "chat": {"id": -1001987654321, "title": "招聘交流群", "type": "supergroup"},
            "message_id": 2201,
            "date": 1795487400,
            "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 3}],
        },
    }
    future = {"update_id": 912399999, "some_future_update": {"chat": {"id": CHAT}}}
    for data in (reactions, future):
        assert post(client, data).status_code == 200
    idle(rt)
    assert seen == [] and processed(rt) == 0 and fake.sent() == []


def test_a_replayed_update_is_processed_once(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    data = tp.update("text_message", chat_id=CHAT, text="你好")
    for _ in range(3):  # Telegram retrying a delivery it thinks failed
        assert post(client, data).status_code == 200
    # the same message under another update_id (e.g. after switching from polling to the webhook)
    assert post(client, dict(data, update_id=data["update_id"] + 7)).status_code == 200
    idle(rt)
    fake.wait_sent(1)
    idle(rt)
    assert len(seen) == 1 and processed(rt) == 1
    fake.wait(lambda: all(d.status == "sent" for d in deliveries(rt)), what="the reply sent")
    assert len(fake.sent()) == 1 and len(deliveries(rt)) == 1


# ------------------------------------------------------------------ buttons, files out


def test_choices_are_inline_buttons_and_a_press_comes_back_as_the_payload(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    code = invite(rt, position="TELLER")
    replies = say(rt, fake, client, f"我的邀请码是 {code}")
    consent = next(c for c in replies if c.keyboard)
    assert [(b["text"], b["callback_data"]) for b in consent.keyboard] == [("同意", "yes"), ("不同意", "no")]
    assert "1. 同意" not in consent.params["text"]  # buttons, not the numbered fallback

    press = tp.update("callback_query", chat_id=CHAT, data="yes")
    press["callback_query"]["message"]["reply_markup"] = consent.params["reply_markup"]
    before = len(fake.sent())
    assert post(client, press).status_code == 200
    fake.wait_sent(1, "answerCallbackQuery")
    idle(rt)
    assert seen[-1].payload == "yes" and seen[-1].text == "同意"
    assert seen[-1].message_id == f"cb:{press['callback_query']['id']}"
    fake.wait(lambda: len(fake.sent()) > before, what="the next consent question")
    assert "材料" in texts(fake, before)[0]


def test_a_booking_sends_the_calendar_file_as_a_document(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
) -> None:
    code = invite(rt, position="TELLER")
    say(rt, fake, client, f"我的邀请码是 {code}")
    say(rt, fake, client, "同意")
    say(rt, fake, client, "同意")
    booked = say(rt, fake, client, "下周三下午两点")
    assert any("已为您预约面试" in c.params["text"] for c in booked)
    ics = next(b for c in booked for b in c.keyboard if ".ics" in b["text"])
    press = tp.update("callback_query", chat_id=CHAT, data=ics["callback_data"])
    assert post(client, press).status_code == 200
    idle(rt)
    [doc] = fake.wait_sent(1, "sendDocument")
    assert doc.params["chat_id"] == str(CHAT)
    [(filename, data)] = doc.files.values()
    assert filename == "interview.ics" and data.startswith(b"BEGIN:VCALENDAR")
    fake.wait(lambda: all(d.status == "sent" for d in deliveries(rt)), what="all deliveries sent")


# ------------------------------------------------------------------ media in


def test_a_document_lands_in_the_file_store_and_is_answered(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
    fake.add_file("BQACdoc-1", pdf, "documents/file_3.pdf")
    assert post(client, document("BQACdoc-1", pdf)).status_code == 200
    idle(rt)
    digest = hashlib.sha256(pdf).hexdigest()
    assert rt.deps.files is not None and rt.deps.files.read(digest) == pdf
    [inbound] = seen
    assert inbound.media == MediaRef("file", digest, "application/pdf", len(pdf), "学历证明.pdf")
    assert inbound.text == "我的学历证明"  # the caption
    fake.wait_sent(1)
    assert [c.params["file_id"] for c in fake.sent("getFile")] == ["BQACdoc-1"]


def test_a_cv_sent_as_a_document_is_filed_and_the_checklist_comes_back(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
) -> None:
    # Telegram's one message a second per chat would make the linking crawl (the adapter tests check it)
    rt.gateway.channels["telegram"].limits = (
        RateLimit(30, 1.0, "platform"),
        RateLimit(50, 1.0, "conversation"),
    )
    code = invite(rt, position="TELLER")
    say(rt, fake, client, f"我的邀请码是 {code}")
    for question in ("单独同意事项 1/2", "单独同意事项 2/2"):  # both consents, by their inline buttons
        ask = next(c for c in reversed(fake.sent()) if question in c.params["text"])
        assert ("同意", "yes") in [(b["text"], b["callback_data"]) for b in ask.keyboard]
        press = tp.update("callback_query", chat_id=CHAT, data="yes")
        press["callback_query"]["message"]["reply_markup"] = ask.params["reply_markup"]
        assert post(client, press).status_code == 200
        idle(rt)
        fake.wait(lambda: all(d.status != "pending" for d in deliveries(rt)), what="the consent answered")
    cv = make_pdf("Zhang San CV")
    fake.add_file("BQACcv-1", cv, "documents/file_7.pdf")
    data = document("BQACcv-1", cv, name="简历.pdf")
    del data["message"]["caption"]  # no caption: the file name says what it is
    before = len(fake.sent())
    assert post(client, data).status_code == 200
    idle(rt)
    fake.wait(lambda: all(d.status != "pending" for d in deliveries(rt)), what="the reply to the CV")
    [reply] = [t for t in texts(fake, before) if "已收到：简历" in t]
    assert "已收到您的简历（简历.pdf）" in reply and "已收到：简历；还差：身份证、学历证书" in reply
    with rt.sessions() as s:
        [doc] = s.scalars(select(Document)).all()
    assert (doc.kind, doc.status, doc.sha256) == ("cv", "current", hashlib.sha256(cv).hexdigest())
    assert (doc.mime, doc.filename, doc.platform, doc.message_id) == (
        "application/pdf",
        "简历.pdf",
        "telegram",
        f"{CHAT}:{data['message']['message_id']}",
    )


def test_a_25_mb_file_is_refused_politely_without_downloading(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    fake.add_file("BQACbig", b"%PDF-1.4 (not really 25 MB)", "documents/file_9.pdf")
    fake.reported_sizes["BQACbig"] = 25 * 2**20
    assert post(client, document("BQACbig", b"", size=25 * 2**20)).status_code == 200
    idle(rt)
    [reply] = fake.wait_sent(1)
    assert "文件太大了" in reply.params["text"] and "20 MB" in reply.params["text"]
    assert seen[0].media is not None and seen[0].media.kind == "too_large"
    assert fake.sent("getFile", ok_only=False) == [] and fake.sent("download") == []


def test_a_file_whose_size_only_get_file_tells_is_refused_as_too_large(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    fake.add_file("BQAChuge", b"%PDF-1.4 (not really 25 MB)", "documents/file_10.pdf")
    fake.reported_sizes["BQAChuge"] = 25 * 2**20  # the update said little; getFile knows better
    assert post(client, document("BQAChuge", b"", size=1000)).status_code == 200
    idle(rt)
    [reply] = fake.wait_sent(1)
    assert "文件太大了" in reply.params["text"]
    assert fake.sent("download") == [] and len(fake.sent("getFile", ok_only=False)) == 1  # not retried


def test_get_file_failing_then_succeeding_is_retried(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    pdf = b"%PDF-1.4 retried\n"
    fake.add_file("BQACflaky", pdf, "documents/file_4.pdf")
    fake.fail("getFile", status=500, description="Internal Server Error")
    fake.fail("getFile", status=429, description="Too Many Requests: retry after 1", retry_after=1)
    assert post(client, document("BQACflaky", pdf)).status_code == 200
    idle(rt)
    assert [c.status for c in fake.sent("getFile", ok_only=False)] == [500, 429, 200]
    assert seen[0].media is not None and seen[0].media.ref == hashlib.sha256(pdf).hexdigest()
    assert rt.deps.files is not None and rt.deps.files.read(seen[0].media.ref) == pdf


def test_a_download_that_keeps_failing_asks_the_user_to_resend(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    pdf = b"%PDF-1.4 never arrives\n"
    fake.add_file("BQACgone", pdf, "documents/file_5.pdf")
    fake.download_failures = 3
    assert post(client, document("BQACgone", pdf)).status_code == 200
    idle(rt)
    assert len(fake.sent("download")) == 3 and len(fake.sent("getFile")) == 3
    assert seen[0].media is not None and seen[0].media.kind == "failed"
    [reply] = fake.wait_sent(1)
    assert "重新发送" in reply.params["text"]
    # sent again, it arrives
    assert post(client, document("BQACgone", pdf)).status_code == 200
    idle(rt)
    assert seen[-1].media is not None and seen[-1].media.ref == hashlib.sha256(pdf).hexdigest()


@pytest.mark.parametrize("telegram_extra", [{"TALENTBOT_TELEGRAM_TIMEOUT": "0.4"}])
def test_a_download_that_times_out_is_retried_then_the_user_is_asked_to_resend(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    seen: list[Inbound],
) -> None:
    pdf = b"%PDF-1.4 slow\n"
    fake.add_file("BQACslow", pdf, "documents/file_6.pdf")
    fake.download_delay = 2.0
    assert post(client, document("BQACslow", pdf)).status_code == 200
    idle(rt)
    assert len(fake.sent("download")) == 3
    assert seen[0].media is not None and seen[0].media.kind == "failed"
    assert "重新发送" in fake.wait_sent(1)[0].params["text"]


# ------------------------------------------------------------------ sending errors


def test_a_rate_limit_answer_is_retried_after_what_telegram_said(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    clock: FakeClock,
) -> None:
    fake.fail("sendMessage", status=429, description="Too Many Requests: retry after 7", retry_after=7)
    assert post(client, tp.update("text_message", chat_id=CHAT, text="你好")).status_code == 200
    fake.wait(lambda: fake.sent(ok_only=False), what="the refused send")
    [d] = fake.wait(
        lambda: [d for d in deliveries(rt) if d.attempts == 1], what="the delivery scheduled again"
    )
    assert d.status == "pending" and "7" in (d.last_error or "")
    assert d.next_attempt_at == clock() + timedelta(seconds=7)
    clock.advance(seconds=6)
    rt.gateway.wake()
    time.sleep(0.5)
    assert fake.sent() == []  # not before the 7 seconds are up
    clock.advance(seconds=1)
    rt.gateway.wake()
    [sent] = fake.wait_sent(1)
    assert "邀请码" in sent.params["text"]
    fake.wait(lambda: [d.status for d in deliveries(rt)] == ["sent"], what="the delivery marked sent")


def test_a_blocked_bot_fails_the_delivery_for_good_and_tells_hr(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
) -> None:
    fake.fail("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    assert post(client, tp.update("text_message", chat_id=CHAT, text="你好")).status_code == 200
    [d] = fake.wait(lambda: [d for d in deliveries(rt) if d.status == "failed"], what="the failed delivery")
    assert d.attempts == 1 and "blocked" in (d.last_error or "")
    with rt.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed")).all()
        notices = [o.payload for o in s.scalars(select(OutboxItem).where(OutboxItem.kind == "notify_hr"))]
    assert [a.subject for a in audit] == [f"telegram:{CHAT}"]
    assert [(n["event"], n["platform"], n["delivery_id"]) for n in notices] == [
        ("delivery_failed", "telegram", d.id)
    ]
