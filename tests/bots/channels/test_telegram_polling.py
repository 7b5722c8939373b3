"""Polling mode (development without a public URL): ``talentbot serve`` deletes the webhook, long-polls
getUpdates on the fake, hands each update on once, and confirms it by moving the offset past it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from bots.runtime import Runtime
from bots.settings import Settings
from tests.bots.channels import telegram_payloads as tp
from tests.bots.channels.telegram.fake import FakeTelegram, fake  # noqa: F401 — the fixture
from tests.bots.channels.test_telegram import idle, processed

CHAT = 7003003
TEXT = tp.update("text_message", chat_id=CHAT, update_id=500001, text="你好")
PRESS = tp.update("callback_query", chat_id=CHAT, update_id=500002, data="human")


@pytest.fixture
def settings(settings: Settings, fake: FakeTelegram) -> Settings:  # noqa: F811
    fake.updates += [TEXT, PRESS]
    fake.fail("getUpdates", status=502, description="Bad Gateway")  # the first poll fails: polled again
    env = {
        "TALENTBOT_TELEGRAM_TOKEN": tp.TOKEN,
        "TALENTBOT_TELEGRAM_MODE": "polling",
        "TALENTBOT_TELEGRAM_API_BASE": fake.url,
    }
    return dataclasses.replace(settings, env={**settings.env, **env})


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def test_polling_receives_updates_and_answers_them(
    rt: Runtime,
    fake: FakeTelegram,  # noqa: F811
    client: httpx.Client,
) -> None:
    [reply] = fake.wait_sent(1)
    assert reply.params["chat_id"] == str(CHAT) and "邀请码" in reply.params["text"]
    [answered] = fake.wait_sent(1, "answerCallbackQuery")
    assert answered.params["callback_query_id"] == PRESS["callback_query"]["id"]
    # the offset moved past both updates: each was taken once, however often getUpdates ran
    fake.wait(
        lambda: [c for c in fake.sent("getUpdates") if c.params.get("offset") == "500003"],
        what="a poll confirming both updates",
    )
    idle(rt)
    assert processed(rt) == 2
    calls = [c.method for c in fake.calls]
    assert calls.index("deleteWebhook") < calls.index("getUpdates")
    assert "setWebhook" not in calls
    polls = fake.sent("getUpdates", ok_only=False)
    assert polls[0].status == 502 and polls[1].status == 200
    assert polls[1].params["allowed_updates"] == ["message", "callback_query"]
    assert int(polls[1].params["timeout"]) > 0  # long polling
    # no webhook in polling mode without a secret
    assert client.post(tp.PATH, content=b"{}").status_code == 404
