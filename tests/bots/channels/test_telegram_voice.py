"""A Telegram voice message reaches the voice interview: a RISK candidate links and consents by text
messages, starts with the inline "开始面试" button (a callback query), and answers with an OGG/Opus voice
message made by ffmpeg from espeak-ng speech. The answer is stored, acknowledged through sendMessage,
transcribed by the real Whisper model, and the next prompt arrives as a proactive Telegram message."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from bots.settings import Settings
from storage.models import Answer
from tests.bots.channels import telegram_payloads as tp
from tests.bots.channels.telegram.fake import FakeTelegram, fake  # noqa: F401 — the fixture
from tests.bots.channels.test_telegram import idle, post, processed, telegram_env
from tests.conftest import invite
from tests.scoring.conftest import Models, Voice, models, voice  # noqa: F401 — fixtures

CHAT = 7002002
ANSWER_ZH = (
    "首先我会核实客户身份，然后按照反洗钱规定检查这笔转账，把可疑交易报告给合规部门，并耐心向客户解释原因。"
)


@pytest.fixture
def settings(settings: Settings, fake: FakeTelegram, models: Models) -> Settings:  # noqa: F811
    return dataclasses.replace(
        settings, env={**settings.env, **telegram_env(fake)}, asr_model=str(models.model_dir())
    )


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def say(rt: Runtime, fake: FakeTelegram, client: httpx.Client, text: str) -> None:  # noqa: F811
    before = len(fake.sent())
    assert post(client, tp.update("text_message", chat_id=CHAT, text=text)).status_code == 200
    idle(rt)
    fake.wait(lambda: len(fake.sent()) > before, what=f"a reply to {text!r}")


def test_a_voice_message_answers_the_interview_question(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
    voice: Voice,  # noqa: F811
) -> None:
    code = invite(rt, position="RISK")
    say(rt, fake, client, f"我的邀请码是 {code}")
    say(rt, fake, client, "同意")
    say(rt, fake, client, "同意")
    intro = fake.wait(
        lambda: [c for c in fake.sent() if any(b["text"] == "开始面试" for b in c.keyboard)],
        what="the interview introduction with its 开始面试 button",
    )[-1]
    start = next(b for b in intro.keyboard if b["text"] == "开始面试")

    # press it: a callback query on that very message
    press = tp.update("callback_query", chat_id=CHAT, data=start["callback_data"])
    press["callback_query"]["message"]["reply_markup"] = intro.params["reply_markup"]
    assert post(client, press).status_code == 200
    question = fake.wait(
        lambda: [c for c in fake.sent() if "第 1/6 题" in c.params["text"]], what="question 1"
    )
    [answered] = fake.wait_sent(1, "answerCallbackQuery")
    assert answered.params["callback_query_id"] == press["callback_query"]["id"]

    # Telegram re-sends the same callback query under a new update_id: processed once
    again = dict(press, update_id=press["update_id"] + 1)
    before = processed(rt)
    assert post(client, again).status_code == 200
    idle(rt)
    assert processed(rt) == before
    assert len([c for c in fake.sent() if "第 1/6 题" in c.params["text"]]) == len(question) == 1

    ogg = voice.encode(voice.zh(ANSWER_ZH), "ogg").read_bytes()
    assert ogg[:4] == b"OggS"
    fake.add_file("AwACAgUAAxkBvoice-1", ogg, "voice/file_1.oga")
    sent_before = len(fake.sent())
    msg = tp.update(
        "voice_message",
        chat_id=CHAT,
        voice={
            "duration": 12,
            "mime_type": "audio/ogg",
            "file_id": "AwACAgUAAxkBvoice-1",
            "file_unique_id": "AgADvoice1",
            "file_size": len(ogg),
        },
    )
    assert post(client, msg).status_code == 200
    ack = fake.wait(
        lambda: [c for c in fake.sent()[sent_before:] if "收到您的回答" in c.params["text"]], what="the ack"
    )
    assert ack[0].params["chat_id"] == str(CHAT)
    assert [c.params["file_id"] for c in fake.sent("getFile")] == ["AwACAgUAAxkBvoice-1"]

    with rt.sessions() as s:
        [a] = s.scalars(select(Answer)).all()
    assert a.kind == "voice" and a.media_mime == "audio/ogg" and a.turn == 1
    assert rt.deps.files is not None and rt.deps.files.read(a.media_ref or "") == ogg

    # the worker transcribes and scores it; what it says next arrives as a proactive message
    def done() -> Answer | None:
        with rt.sessions() as s:
            row = s.get(Answer, a.id)
            return row if row is not None and row.status != "pending" else None

    scored = fake.wait(done, timeout=120, what="the answer to be processed")
    assert scored.status in ("scored", "rejected"), (scored.status, scored.problem)
    after_ack = fake.sent().index(ack[0]) + 1
    nxt = fake.wait(lambda: fake.sent()[after_ack:], timeout=30, what="the next prompt")
    assert all(c.params["chat_id"] == str(CHAT) for c in nxt)
    prompt = nxt[-1].params["text"]
    if scored.status == "scored":  # the follow-up probe or question 2
        assert "追问" in prompt or "第 2/6 题" in prompt, prompt
    else:  # espeak's Mandarin is poor: a rejected recording is asked for again
        assert "再录一次" in prompt or "重新" in prompt, prompt
