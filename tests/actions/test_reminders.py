"""Reminders 24 h and 1 h before the slot: scheduled on booking, moved, removed, kept across restarts."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bots.runtime import build, now_utc
from bots.testing import TestBot
from storage import repo
from storage.models import Booking, Delivery, Position, Slot
from tests.conftest import TZ, invite, linked_bot


def _active(rt) -> Booking:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalars(select(Booking).where(Booking.status == "active")).one()


def _slot_start(rt, booking: Booking) -> datetime:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.get(Slot, booking.slot_id).starts_at


def _job_times(rt, prefix: str = "reminder:") -> dict[str, datetime]:  # type: ignore[no-untyped-def]
    return {job_id: when for job_id, when in rt.reminders.jobs() if job_id.startswith(prefix)}


def test_booking_schedules_both_reminders_and_moving_moves_them(rt) -> None:
    rt.reminders.start(paused=True)
    bot = linked_bot(rt)
    bot.say("下周三下午两点")
    rt.relay.drain()
    b = _active(rt)
    start = _slot_start(rt, b)
    assert _job_times(rt) == {
        f"reminder:{b.id}:24h": start - timedelta(hours=24),
        f"reminder:{b.id}:1h": start - timedelta(hours=1),
    }
    # and the interview opens in the chat when the slot starts
    assert _job_times(rt, "interview:") == {f"interview:{b.id}": start}
    bot.say("改期")
    bot.say("下周四上午9点半")
    bot.press("确认")
    rt.relay.drain()
    moved = _active(rt)
    new_start = _slot_start(rt, moved)
    assert new_start.astimezone(TZ) == datetime(2026, 12, 3, 9, 30, tzinfo=TZ)
    assert _job_times(rt) == {
        f"reminder:{moved.id}:24h": new_start - timedelta(hours=24),
        f"reminder:{moved.id}:1h": new_start - timedelta(hours=1),
    }
    assert _job_times(rt, "interview:") == {f"interview:{moved.id}": new_start}
    bot.say("取消面试")
    bot.press("确认")
    rt.relay.drain()
    assert _job_times(rt) == {}
    assert _job_times(rt, "interview:") == {}


def test_a_booking_inside_24_hours_gets_only_the_1h_reminder(rt) -> None:
    rt.reminders.start(paused=True)
    bot = linked_bot(rt)
    bot.say("明天下午2点")  # 28 h ahead: both
    rt.relay.drain()
    assert len(_job_times(rt)) == 2
    bot2 = linked_bot(rt, user="c-late", position="TELLER")
    bot2.say("明天上午9点半")  # 23.5 h ahead: the 24 h one would be in the past
    rt.relay.drain()
    assert sorted(k.rsplit(":", 1)[1] for k in _job_times(rt)) == ["1h", "1h", "24h"]
    assert bot2.replies and "已为您预约" in bot2.text


def test_reminders_survive_a_restart(rt, settings, nlu, clock) -> None:
    rt.reminders.start(paused=True)
    linked_bot(rt).say("下周三下午两点")
    rt.relay.drain()
    before = _job_times(rt)
    rt.reminders.shutdown()
    again = build(settings, nlu=nlu, clock=clock, migrate=False, name="after-restart")
    try:
        again.reminders.start(paused=True)
        assert _job_times(again) == before
        # A crash between commit and relay loses nothing: reconcile rebuilds the jobs from bookings.
        again.reminders.scheduler.remove_all_jobs()
        assert again.reminders.reconcile() == 3  # 24 h, 1 h and the interview opening
        assert _job_times(again) == before
    finally:
        again.reminders.shutdown()
        again.engine.dispose()


def test_reminder_goes_to_the_user_in_their_language_and_not_after_cancel(rt) -> None:
    rt.reminders.start(paused=True)
    bot = linked_bot(rt, user="alex", lang="en")
    bot.say("next Wednesday 2pm")
    b = _active(rt)
    assert rt.reminders.send(b.id, "24h")
    with rt.sessions() as s:
        [d] = s.scalars(select(Delivery)).all()
    assert d.platform == "test" and d.conversation_id == "alex"
    assert d.body["text"].startswith("Reminder: your Bank Teller interview is tomorrow, Wed 2 Dec, 14:00")
    bot.say("cancel my interview")
    bot.press("Yes")
    assert not rt.reminders.send(b.id, "1h")
    with rt.sessions() as s:
        assert len(s.scalars(select(Delivery)).all()) == 1


def test_a_due_reminder_really_fires_from_the_job_store(settings, nlu) -> None:
    """Real clock, real scheduler: a slot 1 h and 2 s away gets its 1 h reminder about 2 s later."""
    rt = build(
        replace(settings, public_url="http://testserver"),
        nlu=nlu,
        clock=now_utc,
        migrate=False,
        name="real-clock",
    )
    try:
        now = datetime.now(UTC)
        with rt.sessions.begin() as s:
            pos = Position(
                code="OPS",
                title_zh="运营岗",
                title_en="Operations",
                department="运营部",
                location_zh="总行",
                location_en="Head office",
                interview_minutes=30,
                active=True,
            )
            s.add(pos)
            s.flush()
            s.add(
                Slot(
                    position_id=pos.id,
                    starts_at=now + timedelta(hours=1, seconds=2),
                    ends_at=now + timedelta(hours=1, minutes=30),
                    capacity=1,
                    booked=0,
                )
            )
        rt.reminders.start()
        bot = TestBot(rt, user="soon")
        bot.say(invite(rt, position="OPS", now=now))
        bot.press("同意")
        bot.press("同意")
        bot.say("1")
        assert "已为您预约" in bot.text
        rt.relay.drain()
        deadline = time.monotonic() + 15
        texts: list[str] = []
        while time.monotonic() < deadline and not texts:
            time.sleep(0.2)
            with rt.sessions() as s:
                texts = [
                    d.body["text"]
                    for d in repo.pending_deliveries(s, platform="test", conversation_id="soon")
                ]
        assert texts and texts[0].startswith("提醒：您的运营岗面试将在 1 小时后")
    finally:
        rt.reminders.shutdown()
        rt.engine.dispose()


def test_hr_is_told_of_each_change_by_an_outbox_row_and_a_log_line(rt, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    bot = linked_bot(rt)
    bot.say("下周三下午两点")
    bot.say("取消面试")
    bot.press("确认")
    with caplog.at_level(logging.INFO, logger="talentbot.hr"):
        # two notices, schedule and cancel of the reminders, and four hr_sync stage changes (linked,
        # consented, booked, consented again) that are marked done unsent: HR-system sync is off
        assert rt.relay.drain() == 8
    notices = [r.getMessage() for r in caplog.records if r.name == "talentbot.hr"]
    assert len(notices) == 2
    assert (
        "booking_created" in notices[0] and "candidate=张三" in notices[0] and "position=TELLER" in notices[0]
    )
    assert "booking_cancelled" in notices[1]
    assert rt.relay.drain() == 0  # each item is relayed once
