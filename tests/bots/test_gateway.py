"""The gateway between platform adapters and the engine, with a stand-in platform that records what
it is asked to send and fails on request: replies in order, rate limits, retries with backoff, a
final failure recorded and told to HR, media downloaded into the file store or a polite request to
send it again."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from bots.channels.base import Fetched, MediaError, RateLimit, SendError
from bots.channels.gateway import SEND_ATTEMPTS, Gateway, Limiter
from bots.runtime import Runtime
from flows.values import Inbound, MediaRef, Reply
from storage.models import Answer, AuditEntry, Delivery, OutboxItem
from tests.conftest import invite


class Platform:
    """Stands in for a chat platform's API (the outside world we cannot reach)."""

    name = "fake"

    def __init__(self, limits: Sequence[RateLimit] = ()) -> None:
        self.limits = tuple(limits)
        self.sent: list[tuple[str, Reply]] = []
        self.fail_sends: list[SendError] = []
        self.media: dict[str, bytes] = {}
        self.media_failures = 0

    def routes(self) -> list[Any]:
        return []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, conversation_id: str, reply: Reply) -> None:
        if self.fail_sends:
            raise self.fail_sends.pop(0)
        self.sent.append((conversation_id, reply))

    async def fetch_media(self, media: MediaRef) -> Fetched:
        if self.media_failures:
            self.media_failures -= 1
            raise MediaError("media id expired", retryable=True)
        return Fetched(self.media[media.ref], mime="audio/amr")


_n = iter(range(1, 10**6))


def _in(
    text: str | None = None, *, user: str = "u1", media: MediaRef | None = None, payload: str | None = None
) -> Inbound:
    return Inbound("fake", user, user, f"fake-{next(_n)}", text, media, payload)


def _gateway(rt: Runtime, platform: Platform) -> Gateway:
    deps = dataclasses.replace(rt.deps, push_platforms=frozenset({"fake"}))
    gw = Gateway(deps=deps, channels={"fake": platform}, clock=rt.deps.clock)
    return gw


async def _say(gw: Gateway, *inbounds: Inbound) -> None:
    for i in inbounds:
        assert await gw.accept(i)
        await gw.idle()
    await gw.send_due()


def _deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def test_replies_are_written_in_the_transaction_and_sent_in_order(rt: Runtime) -> None:
    platform = Platform()
    gw = _gateway(rt, platform)
    code = invite(rt)

    async def run() -> None:
        gw._loop = asyncio.get_running_loop()
        await _say(gw, _in(f"我的邀请码是 {code}"))

    asyncio.run(run())
    texts = [r.text for _, r in platform.sent]
    assert texts[0].startswith("已确认：张三") and "隐私说明" in texts[1] and "单独同意事项 1/2" in texts[2]
    assert platform.sent[2][1].choices  # buttons reach the adapter as choices
    assert [d.status for d in _deliveries(rt)] == ["sent"] * 3


def test_an_immediate_redelivery_is_dropped_and_a_later_one_answered_once(rt: Runtime) -> None:
    platform = Platform()
    gw = _gateway(rt, platform)
    first = _in("你好")

    async def run() -> None:
        assert await gw.accept(first)
        assert not await gw.accept(first)  # the platform's retry moments later
        await gw.idle()
        fresh = _gateway(rt, platform)  # after a restart the memory is gone; the store still knows
        assert await fresh.accept(first)
        await fresh.idle()
        await gw.send_due()

    asyncio.run(run())
    assert len(platform.sent) == 1 and len(_deliveries(rt)) == 1


def test_a_failing_send_is_retried_with_backoff_then_recorded_and_told_to_hr(rt: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    platform = Platform()
    gw = _gateway(rt, platform)
    platform.fail_sends = [SendError("HTTP 502", retryable=True)] * SEND_ATTEMPTS

    async def run() -> None:
        await _say(gw, _in("你好"), _in("帮助"))
        for _ in range(SEND_ATTEMPTS - 1):
            clock.advance(seconds=400)
            await gw.send_due()

    asyncio.run(run())
    first, second = _deliveries(rt)
    assert first.status == "failed" and first.attempts == SEND_ATTEMPTS and "502" in (first.last_error or "")
    assert second.status == "pending"  # held back while the first was retried: the order is kept
    assert platform.sent == []
    asyncio.run(gw.send_due())  # the first is given up (and recorded); the next one goes
    assert [r.text for _, r in platform.sent] == [second.body["text"]]
    with rt.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed")).one()
        notice = s.scalars(select(OutboxItem).where(OutboxItem.kind == "notify_hr")).all()[-1]
    assert notice.payload["event"] == "delivery_failed" and notice.payload["delivery_id"] == first.id


def test_a_rate_limit_answer_waits_as_told_and_then_sends(rt: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    platform = Platform()
    gw = _gateway(rt, platform)
    platform.fail_sends = [SendError("429", retryable=True, retry_after=30)]

    async def run() -> None:
        await _say(gw, _in("你好"))
        assert platform.sent == []
        clock.advance(seconds=10)
        await gw.send_due()
        assert platform.sent == []  # not yet: the platform said 30 s
        clock.advance(seconds=25)
        await gw.send_due()

    asyncio.run(run())
    assert len(platform.sent) == 1 and _deliveries(rt)[0].status == "sent"


def test_a_refused_send_fails_at_once(rt: Runtime) -> None:
    platform = Platform()
    gw = _gateway(rt, platform)
    platform.fail_sends = [SendError("user not found", retryable=False)]
    asyncio.run(_say(gw, _in("你好")))
    [d] = _deliveries(rt)
    assert d.status == "failed" and d.attempts == 1


def test_per_conversation_limits_queue_the_excess() -> None:
    now = [0.0]
    lim = Limiter(clock=lambda: now[0])
    limits = (RateLimit(30, 60.0, "conversation"),)
    assert all(lim.take("wecom", "u1", limits) == 0 for _ in range(30))
    wait = lim.take("wecom", "u1", limits)
    assert 1.9 < wait <= 2.0  # one token every 2 s
    assert lim.take("wecom", "u2", limits) == 0  # another member is not affected
    now[0] += 2.0
    assert lim.take("wecom", "u1", limits) == 0
    glob = (RateLimit(2, 1.0, "platform"),)
    assert lim.take("tg", "a", glob) == 0 and lim.take("tg", "b", glob) == 0
    assert lim.take("tg", "c", glob) > 0


def test_media_is_downloaded_into_the_file_store_and_reaches_the_interview(
    rt: Runtime, voice_bytes: bytes
) -> None:
    platform = Platform()
    gw = _gateway(rt, platform)
    code = invite(rt, position="RISK")
    platform.media["MEDIA-1"] = voice_bytes
    platform.media_failures = 1  # the first download fails; the gateway tries again

    async def run() -> None:
        await _say(gw, _in(f"我的邀请码是 {code}"), _in("同意", payload="yes"), _in("同意", payload="yes"))
        await _say(gw, _in("开始面试", payload="iv_start"))
        await _say(gw, _in(None, media=MediaRef("voice", "MEDIA-1", "audio/amr")))

    asyncio.run(run())
    assert platform.sent[-1][1].text.startswith("收到您的回答")
    with rt.sessions() as s:
        [a] = s.scalars(select(Answer)).all()
    assert rt.deps.files is not None and rt.deps.files.read(a.media_ref or "") == voice_bytes


def test_media_that_cannot_be_fetched_asks_to_send_again(rt: Runtime) -> None:
    platform = Platform()
    gw = _gateway(rt, platform)
    platform.media_failures = 99

    async def run() -> None:
        await _say(gw, _in(None, media=MediaRef("file", "gone", "application/pdf")))
        await _say(gw, _in(None, media=MediaRef("file", "big", "application/pdf", size=25 * 2**20)))

    asyncio.run(run())
    assert "重新发送" in platform.sent[0][1].text
    assert "文件太大了" in platform.sent[1][1].text and "20 MB" in platform.sent[1][1].text


import pytest  # noqa: E402


@pytest.fixture
def voice_bytes(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    import subprocess

    wav, amr = tmp_path / "a.wav", tmp_path / "a.amr"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "hello, this is my answer"], check=True)
    subprocess.run(
        ["sox", str(wav), "-r", "8000", "-c", "1", "-C", "7", "-t", "amr-nb", str(amr)], check=True
    )
    return amr.read_bytes()
