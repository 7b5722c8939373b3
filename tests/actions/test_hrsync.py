"""HR-system sync: profile changes reach a fake HR system on 127.0.0.1, signed, once, in order, with
backoff when it fails and a dead letter (audit row + HR notice) when it refuses or stays down."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from actions.hrsync import HrSync, HrSyncSettings, body, sign, verify
from actions.relay import GiveUp, Item, Retry
from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock, TestBot
from flows.engine import handle
from storage.models import AuditEntry, Interview, OutboxItem
from storage.seed import seed
from tests.actions.hrsync_fake import FakeHR
from tests.conftest import TZ, invite, linked_bot
from tests.flows.test_interview import GOOD_ZH, _answer_all

SECRET = "hr-shared-secret"


@pytest.fixture
def fake() -> Iterator[FakeHR]:
    hr = FakeHR(SECRET).start()
    yield hr
    hr.stop()


def _runtime(settings: Settings, nlu, clock: FakeClock, env: dict[str, str]) -> Runtime:  # type: ignore[no-untyped-def]
    runtime = build(
        dataclasses.replace(settings, env={**settings.env, **env}), nlu=nlu, clock=clock, migrate=False
    )
    with runtime.sessions.begin() as s:
        seed(s, content_dir=settings.content_dir, now=clock(), tz=TZ)
    runtime.jobs.start()
    return runtime


def _close(runtime: Runtime) -> None:
    runtime.jobs.stop()
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    if runtime.hrsync is not None:
        runtime.hrsync.close()
    runtime.engine.dispose()


@pytest.fixture
def hr_env(fake: FakeHR) -> dict[str, str]:
    return {
        "TALENTBOT_HRSYNC_URL": fake.url,
        "TALENTBOT_HRSYNC_SECRET": SECRET,
        "TALENTBOT_HRSYNC_TIMEOUT": "0.5",
    }


@pytest.fixture
def hrt(settings: Settings, nlu, clock: FakeClock, hr_env: dict[str, str]) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    """A runtime whose HR-system sync points at the fake."""
    runtime = _runtime(settings, nlu, clock, hr_env)
    yield runtime
    _close(runtime)


def _items(rt: Runtime, kind: str = "hr_sync") -> list[OutboxItem]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)))


def _audit(rt: Runtime, action: str) -> list[AuditEntry]:
    with rt.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# ------------------------------------------------------------------ what is sent


def test_a_scored_interview_is_delivered_with_scores_and_versions_and_no_transcript(hrt, fake) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(hrt, position="RISK")
    bot.press("开始面试")
    _answer_all(bot, GOOD_ZH)  # settles: the relay runs after each answer
    hrt.relay.drain()
    assert fake.events() == [
        "stage_changed",  # linked
        "stage_changed",  # consented
        "stage_changed",  # interviewing
        "stage_changed",  # interviewed
        "interview_scored",
    ]
    assert [b["data"]["stage"] for b in fake.accepted] == [
        "linked",
        "consented",
        "interviewing",
        "interviewed",
        "interviewed",
    ]
    scored = fake.accepted[-1]
    with hrt.sessions() as s:
        iv = s.scalars(select(Interview)).one()
    assert scored["application_id"] == iv.application_id
    assert scored["data"]["position"] == "RISK"
    assert scored["data"]["overall"] == iv.overall and scored["data"]["scores"] == iv.scores
    assert scored["data"]["versions"] == iv.versions and scored["data"]["versions"]["rubric"]
    assert scored["data"]["answered"] == 6
    assert datetime.fromisoformat(scored["occurred_at"]).tzinfo is not None
    item = _items(hrt)[-1]
    assert scored["idempotency_key"] == f"{item.id}:interview_scored" and item.status == "done"
    assert all(r.signature_ok and r.status == 200 for r in fake.requests)
    assert [r.key for r in fake.requests] == [b["idempotency_key"] for b in fake.accepted]
    sent = json.dumps(fake.accepted, ensure_ascii=False)
    assert GOOD_ZH[:12] not in sent and "反洗钱" not in sent, "no transcript"
    assert "张三" not in sent, "no name"


def test_stage_changes_are_delivered_in_order(hrt, fake) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(hrt)
    bot.say("下周三下午两点")
    assert "已为您预约" in bot.text
    bot.say("取消面试")
    bot.press("确认")
    assert hrt.relay.drain() >= 4
    assert fake.events() == ["stage_changed"] * 4
    assert [b["data"] for b in fake.accepted] == [
        {"position": "TELLER", "stage": "linked"},
        {"position": "TELLER", "stage": "consented"},
        {"position": "TELLER", "stage": "booked"},
        {"position": "TELLER", "stage": "consented"},  # cancelled
    ]
    assert len({b["idempotency_key"] for b in fake.accepted}) == 4
    assert all(b["application_id"] == fake.accepted[0]["application_id"] for b in fake.accepted)


def test_a_complete_document_set_sends_the_kinds(hrt, fake) -> None:  # type: ignore[no-untyped-def]
    from tests.flows.test_documents import make_pdf

    bot = linked_bot(hrt, position="RM")
    for name in ("身份证.pdf", "学历证书.pdf", "简历.pdf", "资格证书.pdf"):
        bot.file(make_pdf(f"secret contents of {name}"), name=name, mime="application/pdf")
    hrt.relay.drain()
    [complete] = [b for b in fake.accepted if b["event"] == "documents_complete"]
    assert complete["data"]["kinds"] == ["id_card", "degree", "cv", "qualification"]
    assert "secret contents" not in json.dumps(fake.accepted) and ".pdf" not in json.dumps(fake.accepted)


# ------------------------------------------------------------------ when the HR system fails


def test_500s_then_recovery_is_delivered_once_after_backoff_with_one_key(hrt, fake, clock) -> None:  # type: ignore[no-untyped-def]
    fake.fail(3, status=500)
    linked_bot(hrt)  # linked, consented
    hrt.relay.drain()
    first, second = _items(hrt)
    assert [r.status for r in fake.requests] == [500]  # the second waits behind the first, in order
    assert _items(hrt)[0].attempts == 1 and _items(hrt)[0].status == "pending"
    hrt.relay.drain()
    assert len(fake.requests) == 1, "not before the backoff"
    for wait in (10, 20, 40):  # 10 s, then doubling
        clock.advance(seconds=wait - 1)
        hrt.relay.drain()
        clock.advance(seconds=1)
        hrt.relay.drain()
    assert [r.status for r in fake.requests] == [500, 500, 500, 200, 200]
    assert {r.key for r in fake.requests[:4]} == {f"{first.id}:stage_changed"}
    assert fake.events() == ["stage_changed", "stage_changed"]
    assert [(i.status, i.attempts) for i in _items(hrt)] == [("done", 4), ("done", 1)]
    assert not _audit(hrt, "hr_sync.dead")


def test_a_timeout_is_retried_and_the_duplicate_answer_counts_as_delivered(hrt, fake, clock) -> None:  # type: ignore[no-untyped-def]
    fake.slow(1, seconds=1.5)  # longer than the client's 0.5 s; the HR system still takes the body
    linked_bot(hrt)
    started = time.monotonic()
    hrt.relay.drain()
    assert time.monotonic() - started < 1.4
    item = _items(hrt)[0]
    assert item.status == "pending" and "timed out" in (item.last_error or "")
    time.sleep(1.2)  # the slow request completes on the fake's side
    clock.advance(seconds=10)
    hrt.relay.drain()
    assert [r.status for r in fake.requests] == [200, 409, 200]
    assert [i.status for i in _items(hrt)] == ["done", "done"]
    assert len(fake.accepted) == 2


def test_429_waits_at_least_its_retry_after(hrt, fake, clock) -> None:  # type: ignore[no-untyped-def]
    fake.fail(1, status=429, headers={"Retry-After": "120"})
    linked_bot(hrt)
    hrt.relay.drain()
    clock.advance(seconds=60)
    hrt.relay.drain()
    assert len(fake.requests) == 1
    clock.advance(seconds=61)
    hrt.relay.drain()
    assert [r.status for r in fake.requests] == [429, 200, 200]


def test_always_failing_is_dead_after_max_attempts_with_an_audit_row_and_an_hr_notice(  # type: ignore[no-untyped-def]
    hrt, fake, clock, caplog
) -> None:
    fake.fail(100, status=503)
    linked_bot(hrt)
    for i in range(20):  # an outage of an hour is survived: 20 tries span about 6 hours
        clock.advance(seconds=1800 if i else 0)
        hrt.relay.drain()
        if i == 7:
            assert _items(hrt)[0].status == "pending"
    first = _items(hrt)[0]
    assert first.status == "dead" and first.attempts == 20 and "HTTP 503" in (first.last_error or "")
    assert {r.key for r in fake.requests[:20]} == {f"{first.id}:stage_changed"}
    [audit] = _audit(hrt, "hr_sync.dead")
    assert audit.details["outbox_id"] == first.id and audit.details["attempts"] == 20
    assert audit.subject == f"application:{first.payload['application_id']}"
    [notice] = [o for o in _items(hrt, "notify_hr") if o.payload["event"] == "hr_sync_dead"]
    assert notice.payload["hr_event"] == "stage_changed" and notice.payload["outbox_id"] == first.id
    assert notice.payload["candidate"] == "张三" and notice.payload["position"] == "TELLER"
    with caplog.at_level(logging.INFO, logger="talentbot.hr"):
        hrt.relay.drain()
    assert any("hr_sync_dead" in r.getMessage() for r in caplog.records if r.name == "talentbot.hr")
    second = _items(hrt)[1]  # next in line: tried once the first was dead, and waiting
    assert (second.status, second.attempts) == ("pending", 1) and len(fake.requests) == 21


def test_a_dead_update_is_listed_and_sent_again_by_the_cli(hrt, fake, clock, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bots.cli import main

    fake.fail(1000, status=503)
    linked_bot(hrt)
    for i in range(25):
        clock.advance(seconds=1800 if i else 0)
        hrt.relay.drain()
    dead = [i for i in _items(hrt) if i.status == "dead"]
    assert dead
    monkeypatch.setenv("TALENTBOT_DATABASE_URL", hrt.settings.database_url)
    assert main(["hrsync"]) == 0
    assert f"{dead[0].id}\tstage_changed" in capsys.readouterr().out
    assert main(["hrsync", "--retry", "999999"]) == 2
    assert main(["hrsync", "--retry-dead"]) == 0
    assert "queued again" in capsys.readouterr().out
    with fake._lock:  # the HR system is back
        fake._answers.clear()
    clock.advance(seconds=1800)  # the next try of the kind (at most the longest backoff away)
    hrt.relay.drain()
    assert all(i.status == "done" for i in _items(hrt)), [(i.id, i.status) for i in _items(hrt)]
    assert _audit(hrt, "hr_sync.retry")


def test_a_refusal_is_dead_at_once(settings, nlu, clock, fake, hr_env) -> None:  # type: ignore[no-untyped-def]
    """The HR system holds another secret: every request is 401, and nothing is retried."""
    rt = _runtime(settings, nlu, clock, {**hr_env, "TALENTBOT_HRSYNC_SECRET": "forged"})
    try:
        linked_bot(rt)
        rt.relay.drain()
        assert [(i.status, i.attempts) for i in _items(rt)] == [("dead", 1), ("dead", 1)]
        assert [r.status for r in fake.requests] == [401, 401] and not fake.accepted
        assert len(_audit(rt, "hr_sync.dead")) == 2
        events = [o.payload["event"] for o in _items(rt, "notify_hr")]
        assert events.count("hr_sync_dead") == 2
    finally:
        _close(rt)


def test_off_without_a_url(rt, caplog) -> None:  # type: ignore[no-untyped-def]
    assert rt.hrsync is not None and not rt.hrsync.enabled
    bot = linked_bot(rt)
    bot.say("下周三下午两点")
    with caplog.at_level(logging.DEBUG, logger="talentbot.hrsync"):
        rt.relay.drain()
    items = _items(rt)
    assert [i.payload["stage"] for i in items] == ["linked", "consented", "booked"]
    assert all(i.status == "done" and i.attempts == 1 for i in items)
    assert sum("not sent" in r.getMessage() for r in caplog.records) == 3


def test_the_relay_sends_within_a_second_of_the_commit(hrt, fake) -> None:  # type: ignore[no-untyped-def]
    """The running relay wakes on the commit: the first try is not delayed by any backoff."""
    code = invite(hrt)
    bot = TestBot(hrt, user="live")

    async def main() -> float:
        hrt.relay.start()
        try:
            started = time.monotonic()
            await handle(bot.inbound(f"我的邀请码是 {code}"), hrt.deps)
            while not fake.accepted and time.monotonic() - started < 10:
                await asyncio.sleep(0.01)
            return time.monotonic() - started
        finally:
            await hrt.relay.stop()

    took = asyncio.run(main())
    assert fake.events() == ["stage_changed"] and took < 1.0, took


# ------------------------------------------------------------------ units


def _item(payload: dict, attempts: int = 0) -> Item:  # type: ignore[type-arg]
    return Item(7, "hr_sync", payload, attempts, datetime(2026, 11, 25, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, None),
        (202, None),
        (204, None),
        (409, None),
        (408, Retry),
        (429, Retry),
        (500, Retry),
        (502, Retry),
        (503, Retry),
        (301, GiveUp),
        (400, GiveUp),
        (401, GiveUp),
        (403, GiveUp),
        (404, GiveUp),
        (422, GiveUp),
    ],
)
def test_answers_are_delivered_retried_or_refused(status: int, outcome: type[Exception] | None) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text="{}")

    settings = HrSyncSettings(url="https://hr.example/events", secret="s", backoff=10, max_backoff=100)
    sync = HrSync(
        settings=settings,
        clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        transport=httpx.MockTransport(answer),
    )
    item = _item(
        {"event": "stage_changed", "application_id": 3, "stage": "booked", "at": "2026-11-25T10:00:00+08:00"},
        attempts=3,
    )
    if outcome is None:
        sync.handle(item)
    else:
        with pytest.raises(outcome) as info:
            sync.handle(item)
        if outcome is Retry:
            assert info.value.after == 80  # 10 · 2³
    [request] = seen
    raw = request.content
    assert verify("s", raw, request.headers["X-Talentbot-Signature"])
    assert request.headers["Idempotency-Key"] == "7:stage_changed"
    assert request.headers["X-Talentbot-Timestamp"] == str(
        int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())
    )
    assert json.loads(raw) == {
        "event": "stage_changed",
        "application_id": 3,
        "occurred_at": "2026-11-25T10:00:00+08:00",
        "data": {"stage": "booked"},
        "idempotency_key": "7:stage_changed",
    }


def test_network_errors_are_retried_and_the_backoff_is_capped() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    settings = HrSyncSettings(url="https://hr.example/events", secret="s", backoff=10, max_backoff=100)
    sync = HrSync(settings=settings, clock=lambda: datetime.now(UTC), transport=httpx.MockTransport(down))
    with pytest.raises(Retry) as info:
        sync.handle(_item({"event": "stage_changed", "application_id": 3}, attempts=6))
    assert info.value.after == 100 and "ConnectError" in str(info.value)


def test_signature_and_settings() -> None:
    raw = body(_item({"event": "documents_complete", "application_id": 1, "kinds": ["cv"]}))
    assert sign("k", raw).startswith("sha256=") and len(sign("k", raw)) == 7 + 64
    assert verify("k", raw, sign("k", raw)) and not verify("other", raw, sign("k", raw))
    assert not verify("k", raw + b" ", sign("k", raw)) and not verify("k", raw, None)
    assert HrSyncSettings.from_env({}).url is None
    with pytest.raises(ValueError, match="SECRET"):
        HrSyncSettings.from_env({"TALENTBOT_HRSYNC_URL": "https://hr.example/x"})
    with pytest.raises(ValueError, match="http"):
        HrSyncSettings.from_env({"TALENTBOT_HRSYNC_URL": "hr.example", "TALENTBOT_HRSYNC_SECRET": "s"})
    s = HrSyncSettings.from_env(
        {
            "TALENTBOT_HRSYNC_URL": "https://hr.example/x",
            "TALENTBOT_HRSYNC_SECRET": "s",
            "TALENTBOT_HRSYNC_MAX_ATTEMPTS": "3",
        }
    )
    assert s.max_attempts == 3 and s.timeout == 10 and s.backoff == 10
    with pytest.raises(GiveUp):
        body(_item({"stage": "booked"}))


def test_a_restart_keeps_waiting_before_the_next_try(settings, nlu, clock, fake, hr_env) -> None:  # type: ignore[no-untyped-def]
    """The wait of a failed update is kept with it: a restarted server does not hammer the HR system
    at once, and sends when the wait is over."""
    fake.fail(1, status=503)
    first = _runtime(settings, nlu, clock, hr_env)
    try:
        linked_bot(first)
        first.relay.drain()
        assert [r.status for r in fake.requests] == [503]
        waiting = _items(first)[0]
        assert waiting.status == "pending" and waiting.next_attempt_at is not None
    finally:
        _close(first)
    again = _runtime(settings, nlu, clock, hr_env)  # the restart
    try:
        again.relay.drain()
        assert len(fake.requests) == 1  # still waiting
        clock.advance(seconds=11)
        again.relay.drain()
        assert [r.status for r in fake.requests] == [503, 200, 200]
        assert all(i.status == "done" for i in _items(again))
    finally:
        _close(again)
