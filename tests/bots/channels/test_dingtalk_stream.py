"""DingTalk stream mode end to end: the server's channel opens a connection through the fake gateway
(``connections/open`` + a websocket on 127.0.0.1), receives robot messages as the SDK's frames, ACKs
each one, and answers through the robot API; pings, redeliveries, odd frames, a server-requested
reconnect and stopping with one cancel."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime
from bots.settings import Settings
from storage.models import Delivery, ProcessedMessage
from tests.bots.channels import dingtalk_payloads as dp
from tests.bots.channels.dingtalk.fake import APP_KEY, APP_SECRET, ROBOT_CODE, FakeDingTalk, Served

TOPIC = "/v1.0/im/bot/messages/get"


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


@pytest.fixture
def settings(settings: Settings, fake: FakeDingTalk) -> Settings:
    env = {
        "TALENTBOT_DINGTALK_APP_KEY": APP_KEY,
        "TALENTBOT_DINGTALK_APP_SECRET": APP_SECRET,
        "TALENTBOT_DINGTALK_ROBOT_CODE": ROBOT_CODE,
        "TALENTBOT_DINGTALK_MODE": "stream",
        "TALENTBOT_DINGTALK_API_BASE": fake.url,
        "TALENTBOT_DINGTALK_OAPI_BASE": fake.url,
        "TALENTBOT_DINGTALK_TIMEOUT": "5",
    }
    return dataclasses.replace(settings, env={**settings.env, **env})


def callback(data: dict[str, Any] | str, *, frame_id: str | None = None) -> dict[str, Any]:
    frame = dp.sample("stream_callback")
    frame["headers"]["messageId"] = frame_id or str(uuid.uuid4())
    frame["data"] = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return frame


def robot_text(content: str) -> dict[str, Any]:
    m = dp.sample("text")
    m["msgId"] = f"msg{uuid.uuid4().hex}"
    m["text"] = {"content": content}
    return m


def ack(fake: FakeDingTalk, frame_id: str) -> dict[str, Any]:
    return fake.wait(
        lambda: next((a for a in fake.ws_received if a["headers"].get("messageId") == frame_id), None),
        what=f"the ACK of {frame_id}",
    )


def processed(rt: Runtime) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(ProcessedMessage)) or 0


def all_sent(rt: Runtime) -> bool:
    with rt.sessions() as s:
        return all(d.status == "sent" for d in s.scalars(select(Delivery)))


def test_robot_messages_arrive_over_the_stream_and_are_acked(
    server: str, rt: Runtime, fake: FakeDingTalk
) -> None:
    fake.wait(lambda: fake.ws_connections == 1, what="the stream connection")
    opened = fake.stream_opens[0]
    assert opened["clientId"] == APP_KEY and opened["clientSecret"] == APP_SECRET
    assert opened["subscriptions"] == [{"type": "CALLBACK", "topic": TOPIC}]
    assert opened["localIp"] == ""  # no UDP probe of 8.8.8.8

    fake.push(
        {
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": {
                "messageId": "ping-1",
                "topic": "ping",
                "contentType": "application/json",
                "time": "1",
            },
            "data": json.dumps({"opaque": "o-1"}),
        }
    )
    pong = ack(fake, "ping-1")
    assert pong["code"] == 200 and json.loads(pong["data"]) == {"opaque": "o-1"}

    message = robot_text("你好")
    fake.push(callback(message, frame_id="frame-1"))
    got = ack(fake, "frame-1")
    assert got["code"] == 200 and json.loads(got["data"]) == {"response": "OK"}
    fake.wait(lambda: processed(rt) == 1 and fake.sent and all_sent(rt), what="the reply")
    assert fake.sent[0]["userIds"] == ["manager4220"]
    replies = len(fake.sent)

    fake.push(callback(message, frame_id="frame-2"))  # redelivered after a reconnect
    assert ack(fake, "frame-2")["code"] == 200
    unknown = dp.sample("chatRecord")
    fake.push(callback(unknown, frame_id="frame-3"))
    assert ack(fake, "frame-3")["code"] == 200
    broken = robot_text("坏的")
    del broken["msgId"]
    fake.push(callback(broken, frame_id="frame-4"))
    assert json.loads(ack(fake, "frame-4")["data"]) == {"response": "ignored"}
    fake.push(callback("{not json", frame_id="frame-5"))  # dropped, and the connection stays up
    fake.push(
        {
            "specVersion": "1.0",
            "type": "EVENT",
            "headers": {"messageId": "event-1", "topic": "chat_update"},
            "data": "{}",
        }
    )
    ack(fake, "event-1")
    assert processed(rt) == 1 and len(fake.sent) == replies and fake.ws_connections == 1

    # media through the stream: the same downloadCode route as the HTTP callback
    data = b"%PDF-1.4 over the stream"
    fake.add_file("stream-doc", data)
    doc = dp.sample("file")
    doc["msgId"] = f"msg{uuid.uuid4().hex}"
    doc["content"]["downloadCode"] = "stream-doc"
    fake.push(callback(doc, frame_id="frame-6"))
    assert ack(fake, "frame-6")["code"] == 200
    fake.wait(lambda: processed(rt) == 2, what="the document")
    assert rt.deps.files is not None and rt.deps.files.exists(hashlib.sha256(data).hexdigest())


def test_the_stream_reconnects_when_asked_and_stops_with_one_cancel(
    server: str, rt: Runtime, fake: FakeDingTalk
) -> None:
    fake.wait(lambda: fake.ws_connections == 1, what="the stream connection")
    fake.push(
        {
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": {"messageId": "bye-1", "topic": "disconnect"},
            "data": "{}",
        }
    )
    fake.wait(lambda: fake.ws_connections == 2, what="a new connection")
    assert len(fake.stream_opens) == 2  # with a fresh ticket
    fake.push(callback(robot_text("你好"), frame_id="after-reconnect"))
    assert ack(fake, "after-reconnect")["code"] == 200
    fake.wait(lambda: processed(rt) == 1)

    channel = rt.gateway.channels["dingtalk"]
    task = channel._stream_task
    assert task is not None and not task.done()
    loop = rt._loop
    assert loop is not None
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(channel.stop(), 5), loop).result(timeout=10)
    assert task.done() and channel._stream_task is None


def test_a_failed_open_is_retried(server: str, rt: Runtime, fake: FakeDingTalk) -> None:
    # the first open (made as the server started) may already have gone; fail the next ones
    fake.wait(lambda: fake.ws_connections == 1, what="the stream connection")
    fake.fail("/v1.0/gateway/connections/open", 503, {"code": "ServiceUnavailable"})
    fake.push({"close": True})  # the gateway drops the socket
    fake.wait(lambda: fake.ws_connections == 2, timeout=20, what="a connection after the failed open")
    assert len(fake.stream_opens) == 3
