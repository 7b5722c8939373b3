"""The Telegram adapter's parts without the server: settings, translating the recorded updates, rendering
replies, and python-telegram-bot against the fake Bot API for sending errors, attachments and media."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from telegram import Update

from bots.channels import telegram as tg
from bots.channels.base import ChannelContext, MediaError, SendError
from bots.channels.telegram_inbound import translate
from bots.channels.telegram_outbound import FilePart, TextPart, render, split_text
from bots.settings import Settings
from flows.values import Choice, FileRef, Inbound, MediaRef, Reply
from tests.bots.channels import telegram_payloads as tp
from tests.bots.channels.telegram.fake import FakeTelegram, fake  # noqa: F401 — the fixture

# PTB 22 warns inside its own RetryAfter that retry_after will become a timedelta (the adapter reads both)
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
T = TypeVar("T")
U = 7001001


async def accept(inbound: Inbound) -> bool:
    return True


def ctx(env: dict[str, str]) -> ChannelContext:
    return ChannelContext(
        env=env, public_url="https://bot.example", clock=lambda: datetime.now(UTC), accept=accept
    )


def channel(api_base: str, timeout: float = 5.0) -> tg.TelegramChannel:
    config = tg.TelegramConfig(token=tp.TOKEN, secret=tp.SECRET, api_base=api_base, timeout=timeout)
    return tg.TelegramChannel(config=config, accept=accept, public_url="https://bot.example")


def run(fake: FakeTelegram, work: Callable[[tg.TelegramChannel], Awaitable[T]], timeout: float = 5.0) -> T:  # noqa: F811
    """``work`` with a fresh channel on a fresh loop (httpx connections belong to one loop)."""

    async def main() -> T:
        ch = channel(fake.url, timeout)
        try:
            return await work(ch)
        finally:
            await ch.stop()

    return asyncio.run(main())


# ------------------------------------------------------------------ settings


def test_without_a_token_the_platform_is_off() -> None:
    assert tg.create(ctx({})) is None
    assert tg.create(ctx({"TALENTBOT_TELEGRAM_TOKEN": "  ", "TALENTBOT_TELEGRAM_SECRET": "s"})) is None


def test_without_the_secret_the_webhook_stays_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert tg.create(ctx({"TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN})) is None
    assert "TALENTBOT_TELEGRAM_SECRET is not set" in caplog.text


def test_settings_that_cannot_work_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="A-Z a-z 0-9"):
        tg.create(ctx({"TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN, "TALENTBOT_TELEGRAM_SECRET": "has space"}))
    with pytest.raises(ValueError, match="webhook or polling"):
        tg.create(ctx({"TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN, "TALENTBOT_TELEGRAM_MODE": "push"}))
    with pytest.raises(ValueError, match="TIMEOUT"):
        tg.create(
            ctx(
                {
                    "TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN,
                    "TALENTBOT_TELEGRAM_SECRET": "s",
                    "TALENTBOT_TELEGRAM_TIMEOUT": "x",
                }
            )
        )


def test_settings_are_read_and_polling_needs_no_secret() -> None:
    ch = tg.create(
        ctx(
            {
                "TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN,
                "TALENTBOT_TELEGRAM_SECRET": tp.SECRET,
                "TALENTBOT_TELEGRAM_API_BASE": "http://127.0.0.1:9/",
            }
        )
    )
    assert isinstance(ch, tg.TelegramChannel)
    assert ch.config == tg.TelegramConfig(token=tp.TOKEN, secret=tp.SECRET, api_base="http://127.0.0.1:9")
    assert ch.webhook_url == "https://bot.example/hooks/telegram/"
    assert ch.bot.base_url == f"http://127.0.0.1:9/bot{tp.TOKEN}"
    assert [(lim.count, lim.seconds, lim.per) for lim in ch.limits] == [
        (30, 1.0, "platform"),
        (1, 1.0, "conversation"),
    ]
    assert len(ch.routes()) == 1
    polling = tg.create(ctx({"TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN, "TALENTBOT_TELEGRAM_MODE": "polling"}))
    assert isinstance(polling, tg.TelegramChannel) and polling.config.mode == "polling"
    assert polling.routes() == []  # no secret: no webhook to accept


def test_settings_may_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "talentbot.yml"
    config.write_text(
        f"TALENTBOT_TELEGRAM_TOKEN: '{tp.TOKEN}'\nTALENTBOT_TELEGRAM_MODE: polling\n", encoding="utf-8"
    )
    settings = Settings.from_env({"TALENTBOT_CONFIG_FILE": str(config), "TALENTBOT_TELEGRAM_MODE": "webhook"})
    assert tg.create(ctx(settings.env)) is None  # the environment wins: webhook mode, and no secret
    settings = Settings.from_env({"TALENTBOT_CONFIG_FILE": str(config)})
    ch = tg.create(ctx(settings.env))
    assert isinstance(ch, tg.TelegramChannel) and ch.config.token == tp.TOKEN and ch.config.mode == "polling"


# ------------------------------------------------------------------ updates → Inbound


def parsed(data: dict[str, Any]) -> Any:
    incoming = translate(Update.de_json(data, None))
    return incoming.inbound, incoming.callback_query_id


def test_recorded_messages_translate_to_inbound_values() -> None:
    base = {"platform": "telegram", "conversation_id": str(U), "user_ref": str(U)}
    assert parsed(tp.sample("text_message")) == (Inbound(**base, message_id=f"{U}:101", text="你好"), None)
    voice = tp.sample("voice_message")["message"]["voice"]
    assert parsed(tp.sample("voice_message"))[0] == Inbound(
        **base,
        message_id=f"{U}:102",
        text=None,
        media=MediaRef("voice", voice["file_id"], "audio/ogg", 31234),
    )
    doc = tp.sample("document_message")["message"]["document"]
    assert parsed(tp.sample("document_message"))[0] == Inbound(
        **base,
        message_id=f"{U}:103",
        text="我的学历证明",
        media=MediaRef("file", doc["file_id"], "application/pdf", 48213, "学历证明.pdf"),
    )
    photo = parsed(tp.sample("photo_message"))[0]
    assert photo.media == MediaRef("image", "AgACAgUAAxkBAAIBaWZkV3s-large", "image/jpeg", 96521)
    audio = parsed(tp.sample("audio_message"))[0]
    assert audio.media == MediaRef(
        "audio", "CQACAgUAAxkBAAIBamZkV4a-audio", "audio/mp4", 254112, "answer.m4a"
    )
    sticker = parsed(tp.sample("sticker_message"))[0]  # said something, but nothing we can read
    assert sticker.text is None and sticker.media is None and sticker.message_id == f"{U}:108"


def test_a_button_press_is_its_payload_with_the_button_title() -> None:
    inbound, answer = parsed(tp.sample("callback_query"))
    assert answer == "3010455882367812345"
    assert inbound == Inbound(
        platform="telegram",
        conversation_id=str(U),
        user_ref=str(U),
        message_id="cb:3010455882367812345",
        text="开始面试",
        payload="iv_start",
    )


def test_other_updates_and_chats_are_ignored() -> None:
    for name in ("edited_message", "my_chat_member", "group_message", "pinned_message"):
        assert parsed(tp.sample(name)) == (None, None), name
    group_press = tp.sample("callback_query")
    group_press["callback_query"]["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "g"}
    assert parsed(group_press) == (None, "3010455882367812345")  # still answered, so it stops spinning


# ------------------------------------------------------------------ Reply → messages


def test_choices_become_inline_buttons_or_numbered_text() -> None:
    [part] = render(Reply("要预约吗？", (Choice("好的", "yes"), Choice("不用", "no"))))
    assert isinstance(part, TextPart) and part.text == "要预约吗？" and part.keyboard is not None
    assert [[(b.text, b.callback_data) for b in row] for row in part.keyboard.inline_keyboard] == [
        [("好的", "yes")],
        [("不用", "no")],
    ]
    long_payload = "slot:" + "预" * 20  # 65 bytes in UTF-8
    reply = Reply("请选择时间", (Choice("11月26日 09:30", long_payload), Choice("其他时间", "other")))
    [part] = render(reply)
    assert isinstance(part, TextPart) and part.keyboard is None
    assert part.text == reply.as_numbered_text() and "1. 11月26日 09:30" in part.text
    exactly = "p" * 64
    assert render(Reply("x", (Choice("ok", exactly),)))[0].keyboard is not None  # type: ignore[union-attr]


def test_long_text_is_split_and_files_follow() -> None:
    text = ("第一行\n" + "很长的一段话。" * 400 + "\n") * 3  # ≈ 8,500 characters
    ics = FileRef("interview.ics", "text/calendar", "https://bot.example/calendar/1/t.ics")
    parts = render(Reply(text, (Choice("确认", "ok"),), (ics,)))
    texts = [p for p in parts if isinstance(p, TextPart)]
    assert len(texts) == 3 and "".join(p.text for p in texts) == text
    assert all(len(p.text) <= 4096 for p in texts)
    assert [p.keyboard is not None for p in texts] == [False, False, True]
    assert parts[-1] == FilePart(ics)
    emoji = "🎤" * 3000  # two UTF-16 units each
    assert [len(p) for p in split_text(emoji)] == [2048, 952]


# ------------------------------------------------------------------ Bot API errors


@pytest.mark.parametrize(
    ("status", "description", "retry_after", "retryable", "wait"),
    [
        (429, "Too Many Requests: retry after 12", 12, True, 12.0),
        (429, "Too Many Requests", None, True, None),
        (500, "Internal Server Error", None, True, None),
        (502, "Bad Gateway", None, True, None),
        (503, "Service Unavailable", None, True, None),
        (403, "Forbidden: bot was blocked by the user", None, False, None),
        (403, "Forbidden: user is deactivated", None, False, None),
        (400, "Bad Request: chat not found", None, False, None),
        (401, "Unauthorized", None, False, None),
    ],
)
def test_bot_api_errors_become_send_errors(
    fake: FakeTelegram,  # noqa: F811
    status: int,
    description: str,
    retry_after: int | None,
    retryable: bool,
    wait: float | None,
) -> None:
    fake.fail("sendMessage", status=status, description=description, retry_after=retry_after)
    with pytest.raises(SendError) as err:
        run(fake, lambda ch: ch.send("42", Reply("你好")))
    assert err.value.retryable is retryable and err.value.retry_after == wait
    assert str(err.value).startswith("telegram: ")  # what the delivery's last_error will say
    run(fake, lambda ch: ch.send("42", Reply("你好")))  # the next try goes through
    assert [c.status for c in fake.sent(ok_only=False)] == [status, 200]


def test_chat_not_found_network_errors_and_timeouts(fake: FakeTelegram) -> None:  # noqa: F811
    with pytest.raises(SendError) as err:
        run(fake, lambda ch: ch.send("404404", Reply("你好")))
    assert err.value.retryable is False and "chat not found" in str(err.value).lower()

    async def unreachable(ch: tg.TelegramChannel) -> None:
        closed = channel("http://127.0.0.1:9", timeout=1)  # nothing listens on the discard port
        try:
            await closed.send("42", Reply("你好"))
        finally:
            await closed.stop()

    with pytest.raises(SendError) as err:
        run(fake, unreachable)
    assert err.value.retryable is True

    fake.delays["sendMessage"] = 2.0  # Telegram does not answer in time
    with pytest.raises(SendError) as err:
        run(fake, lambda ch: ch.send("42", Reply("你好")), timeout=0.5)
    assert err.value.retryable is True and "timed out" in str(err.value).lower()


def test_files_are_uploaded_and_a_retry_skips_what_already_went_out(fake: FakeTelegram) -> None:  # noqa: F811
    fake.attachments["interview.ics"] = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    fake.attachments["radar.png"] = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    reply = Reply(
        "已为您预约面试。",
        files=(
            FileRef("interview.ics", "text/calendar", f"{fake.url}/static/interview.ics"),
            FileRef("radar.png", "image/png", f"{fake.url}/static/radar.png"),
        ),
    )
    fake.fail("sendPhoto", status=502, description="Bad Gateway")

    async def twice(ch: tg.TelegramChannel) -> None:
        with pytest.raises(SendError) as err:
            await ch.send("42", reply)
        assert err.value.retryable is True
        await ch.send("42", reply)  # the gateway's retry: only the photo is sent again

    run(fake, twice)
    assert [c.method for c in fake.calls] == ["sendMessage", "sendDocument", "sendPhoto", "sendPhoto"]
    [doc] = fake.sent("sendDocument")
    assert doc.params["chat_id"] == "42"
    assert list(doc.files.values()) == [("interview.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")]
    assert list(fake.sent("sendPhoto")[0].files.values())[0][1].startswith(b"\x89PNG")


def test_an_attachment_this_server_will_not_hand_out_is_sent_as_its_link(fake: FakeTelegram) -> None:  # noqa: F811
    url = f"{fake.url}/static/report-12.html"  # e.g. behind the HR login, or gone
    run(fake, lambda ch: ch.send("42", Reply("报告", files=(FileRef("report-12.html", "text/html", url),))))
    assert [c.params["text"] for c in fake.sent()] == ["报告", f"📎 report-12.html\n{url}"]
    assert fake.sent("sendDocument", ok_only=False) == []


def test_an_attachment_this_server_fails_to_serve_is_retried(fake: FakeTelegram) -> None:  # noqa: F811
    fake.attachments["interview.ics"] = b"BEGIN:VCALENDAR\r\n"
    fake.static_errors["interview.ics"] = 503
    reply = Reply(
        "日历", files=(FileRef("interview.ics", "text/calendar", f"{fake.url}/static/interview.ics"),)
    )

    async def twice(ch: tg.TelegramChannel) -> None:
        with pytest.raises(SendError) as err:
            await ch.send("42", reply)
        assert err.value.retryable is True and "503" in str(err.value)
        await ch.send("42", reply)

    run(fake, twice)
    assert [c.method for c in fake.calls] == ["sendMessage", "sendDocument"]


# ------------------------------------------------------------------ media in


def test_fetch_media_downloads_through_get_file(fake: FakeTelegram) -> None:  # noqa: F811
    fake.add_file("voice-1", b"OggS voice", "voice/file_1.oga")
    got = run(fake, lambda ch: ch.fetch_media(MediaRef("voice", "voice-1", "audio/ogg", 10)))
    assert (got.data, got.mime, got.filename) == (b"OggS voice", "audio/ogg", None)
    assert [c.params["path"] for c in fake.sent("download")] == ["voice/file_1.oga"]


@pytest.mark.parametrize(
    ("setup", "retryable"),
    [
        (lambda f: f.fail("getFile", status=500, description="Internal Server Error"), True),
        (lambda f: f.fail("getFile", status=429, description="Too Many Requests", retry_after=3), True),
        (lambda f: f.fail("getFile", status=400, description="Bad Request: wrong file_id"), False),
        (
            lambda f: f.fail(
                "getFile",
                status=400,
                description="Bad Request: wrong file_id or the file is temporarily unavailable",
            ),
            True,
        ),
        (lambda f: f.reported_sizes.update({"doc-1": 21 * 2**20}), False),  # getFile: file is too big
        (lambda f: setattr(f, "download_failures", 1), True),
        (lambda f: setattr(f, "download_delay", 2.0), True),  # read timeout
    ],
    ids=["5xx", "429", "wrong-id", "temporarily", "too-big", "download-5xx", "download-timeout"],
)
def test_media_errors(fake: FakeTelegram, setup: Callable[[FakeTelegram], Any], retryable: bool) -> None:  # noqa: F811
    fake.add_file("doc-1", b"%PDF-1.4", "documents/file_1.pdf")
    setup(fake)
    with pytest.raises(MediaError) as err:
        run(fake, lambda ch: ch.fetch_media(MediaRef("file", "doc-1", "application/pdf")), timeout=0.5)
    assert err.value.retryable is retryable, err.value
