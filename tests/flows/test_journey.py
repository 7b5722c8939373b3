"""Whole conversations through handle(), as a candidate would have them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bots.testing import TestBot
from storage.models import AuditEntry, Booking, Consent, OutboxItem, Slot
from tests.conftest import NOW, invite, linked_bot


def _outbox(rt, kind=None):  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        q = select(OutboxItem).order_by(OutboxItem.id)
        if kind:
            q = q.where(OutboxItem.kind == kind)
        return list(s.scalars(q))


def _active_bookings(rt) -> list[Booking]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return list(s.scalars(select(Booking).where(Booking.status == "active")))


def test_zh_journey_link_consent_book_status(rt, bot: TestBot) -> None:
    bot.say("你好")
    assert "邀请码" in bot.text and "AI" in bot.text
    code = invite(rt, name="张三")
    bot.say(f"我的邀请码是{code}")
    assert "张三" in bot.text and "综合柜员" in bot.text
    assert "AI 助手" in bot.text and "隐私说明" in bot.text and "/privacy" in bot.text
    assert "语音" in bot.last.text and bot.choices == ["同意", "不同意"]
    bot.press("同意")
    assert "材料" in bot.last.text and bot.choices == ["同意", "不同意"]
    bot.press("同意")
    assert "请选择面试时间" in bot.text
    assert bot.choices[0].startswith("11月26日（周四）09:30")
    bot.say("下周三下午两点")
    assert "已为您预约面试：12月2日（周三）14:00" in bot.text
    assert "世纪大道" in bot.text
    assert [c for c in bot.choices if ".ics" in c]
    events = [o.payload["event"] for o in _outbox(rt, "notify_hr")]
    assert events == ["booking_created"]
    assert [o.payload["booking_id"] for o in _outbox(rt, "schedule_reminders")] == [
        _active_bookings(rt)[0].id
    ]
    bot.say("我的进度")
    assert "已预约面试（12月2日（周三）14:00）" in bot.text
    bot.say("我的面试是几点")
    assert "12月2日（周三）14:00" in bot.text
    bot.press(".ics")
    f = bot.last.files[0]
    assert f.name == "interview.ics" and f.url.startswith("http://testserver/calendar/")


def test_en_journey_nearest_alternatives_then_numbered_choice(rt) -> None:
    bot = TestBot(rt, user="alex")
    bot.say("hello")
    assert "invitation code" in bot.text
    code = invite(rt, name="Alex Chen")
    bot.say(f"hi, my code is {code.lower()}")
    assert "Alex Chen" in bot.text and "Bank Teller" in bot.text and "AI assistant" in bot.text
    bot.press("I agree")
    bot.press("I agree")
    assert "Please choose an interview time" in bot.text
    bot.say("next Tuesday 3pm")
    assert "There's no interview time open at Tue 1 Dec, 15:00" in bot.text
    assert bot.choices == ["Tue 1 Dec, 10:30", "Tue 1 Dec, 14:00", "Tue 1 Dec, 15:30"]
    bot.say("3")
    assert "Your interview is booked: Tue 1 Dec, 15:30" in bot.text
    bot.say("what's my status")
    assert "interview booked (Tue 1 Dec, 15:30)" in bot.text


def test_declining_voice_consent_is_recorded_and_offers_a_person(rt) -> None:
    bot = TestBot(rt, user="c2")
    bot.say(invite(rt))
    bot.press("不同意")
    assert "不同意语音处理" in bot.text and "021-5555-0100" in bot.text
    assert "材料" in bot.last.text
    bot.press("同意")
    assert "请选择面试时间" in bot.text  # a person can still interview at the booked time
    with rt.sessions() as s:
        consents = [(c.kind, c.granted) for c in s.scalars(select(Consent).order_by(Consent.id))]
        assert consents == [("voice", False), ("documents", True)]
        assert s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "consent.voice")
        )
    assert [o.payload["event"] for o in _outbox(rt, "notify_hr")] == ["consent_declined_voice"]


def test_reschedule_needs_confirmation_and_moves_reminders(rt) -> None:
    bot = linked_bot(rt)
    bot.press("11月26日")
    first = _active_bookings(rt)[0]
    bot.say("我想改个时间")
    assert "您现在预约的是 11月26日（周四）09:30" in bot.text
    bot.say("后天下午3点半")
    assert "确认把面试从 11月26日（周四）09:30 改到 11月27日（周五）15:30 吗" in bot.text
    bot.press("确认")
    assert "已改期：面试时间现为 11月27日（周五）15:30" in bot.text
    [now_active] = _active_bookings(rt)
    assert now_active.id != first.id
    with rt.sessions() as s:
        assert s.get(Slot, first.slot_id).booked == 0
        assert s.get(Slot, now_active.slot_id).booked == 1
    assert [o.payload["booking_id"] for o in _outbox(rt, "cancel_reminders")] == [first.id]
    assert [o.payload["event"] for o in _outbox(rt, "notify_hr")] == ["booking_created", "booking_moved"]


def test_cancel_asks_first_and_no_keeps_the_booking(rt) -> None:
    bot = linked_bot(rt, lang="en")
    bot.press(lambda t: True)
    bot.say("I need to cancel my interview")
    assert "Cancel your interview on Thu 26 Nov, 09:30?" in bot.text
    bot.press("No")
    assert "stays at Thu 26 Nov, 09:30" in bot.text
    assert len(_active_bookings(rt)) == 1
    bot.say("please cancel the interview")
    bot.press("Yes")
    assert "is cancelled" in bot.text
    assert _active_bookings(rt) == []
    assert [o.payload["event"] for o in _outbox(rt, "notify_hr")] == ["booking_created", "booking_cancelled"]
    bot.press("Book again")
    assert "Please choose an interview time" in bot.text


def test_help_human_and_unknown_are_handled_at_any_point(rt) -> None:
    bot = TestBot(rt, user="c3")
    bot.say("帮助")
    assert "预约、改期或取消面试" in bot.text
    bot.say("转人工")
    assert "招聘专员" in bot.text and "021-5555-0100" in bot.text
    bot.say(invite(rt))
    bot.say("talk to a person")
    assert "recruiting team" in bot.text
    assert "Do you agree that we record" in bot.last.text  # the pending question comes back
    bot.say("asdf qwer zxcv")
    assert "Please answer" in bot.text
    bot.press("I agree")
    bot.press("I agree")
    bot.say("the weather is lovely today, isn't it")
    assert "didn't understand" in bot.text or "couldn't read" in bot.text
    events = [o.payload["event"] for o in _outbox(rt, "notify_hr")]
    assert events.count("human_requested") == 2


def test_progress_before_linking(bot: TestBot) -> None:
    bot.say("我的进度")
    assert "尚未关联申请" in bot.text and "邀请码" in bot.text


# ------------------------------------------------------------------ bad input


def test_wrong_reused_expired_and_withdrawn_codes(rt, clock) -> None:
    bot = TestBot(rt, user="c4")
    bot.say("我的邀请码是 ABCD-2345")
    assert "邀请码 ABCD-2345 无效" in bot.text
    code = invite(rt)
    TestBot(rt, user="someone-else").say(code)
    bot.say(code)
    assert "已经被使用过" in bot.text
    expired = invite(rt, days=1)
    clock.advance(days=2)
    bot.say(f"my invitation code is {expired}")
    assert "expired" in bot.text and "recruit@demobank.example" in bot.text
    withdrawn = invite(rt)
    with rt.sessions.begin() as s:
        from storage.models import Application

        s.execute(Application.__table__.update().where(Application.id == 3).values(stage="withdrawn"))
    bot.say(withdrawn)  # a bare code keeps the conversation's language (English here)
    assert "has been withdrawn" in bot.text


def test_time_in_the_past_impossible_date_and_unreadable(rt) -> None:
    bot = linked_bot(rt)
    bot.say("今天上午9点")
    assert "已经过去了" in bot.text and bot.choices
    bot.say("预约2月30日下午3点")
    assert "没看懂这个时间" in bot.text and bot.choices
    assert _active_bookings(rt) == []


def test_booking_while_booked_offers_reschedule(rt) -> None:
    bot = linked_bot(rt)
    bot.press("11月26日")
    bot.say("我想预约面试")
    assert "您已经预约了 11月26日（周四）09:30 的面试。需要改期吗" in bot.text
    bot.press("保持不变")
    assert len(_active_bookings(rt)) == 1


def test_slot_filled_meanwhile(rt) -> None:
    a = linked_bot(rt, user="a", position="RM")
    b = linked_bot(rt, user="b", position="RM")
    a.press("11月26日（周四）10:00")
    b.press("11月26日（周四）10:00")  # b still sees the old list
    assert "刚刚被约满" in b.text
    assert "11月26日（周四）10:00" not in b.choices
    assert len(_active_bookings(rt)) == 1


def test_empty_and_huge_messages(rt, bot: TestBot) -> None:
    bot.say("")
    assert "没有收到文字" in bot.text
    bot.say("   ")
    assert "没有收到文字" in bot.text
    bot.say("预约" * 5000)
    assert "10000 个字符" in bot.text
    bot.say("a" * 10000)
    assert "too long" in bot.text


def test_same_message_id_twice_is_processed_once(rt) -> None:
    bot = linked_bot(rt)
    first = bot.send("下周三下午两点", message_id="dup-1")
    again = bot.send("下周三下午两点", message_id="dup-1")
    assert again.duplicate and [r.text for r in again.replies] == [r.text for r in first.replies]
    assert len(_active_bookings(rt)) == 1
    assert len(_outbox(rt, "schedule_reminders")) == 1


def test_out_of_range_number(rt) -> None:
    bot = linked_bot(rt)
    bot.say("9")
    assert "没有第 9 个选项" in bot.text


def test_slots_in_the_past_are_never_offered(rt, clock) -> None:
    bot = linked_bot(rt)
    clock.advance(days=1, hours=5)  # Thursday 15:00
    bot.say("预约面试")
    assert not any(c.startswith("11月26日（周四）14:00") for c in bot.choices)
    assert bot.choices[0] == "11月26日（周四）15:30"
    assert NOW + timedelta(days=1, hours=5) == clock()


def test_consent_is_never_inferred_from_an_unclear_message(rt) -> None:
    bot = TestBot(rt, user="c9")
    bot.say(invite(rt))
    for unclear in ("阿斯顿发生的", "这是什么意思", "what?"):
        bot.say(unclear)
        assert "1/2" in bot.last.text or "1 of 2" in bot.last.text  # the same question again
    with rt.sessions() as s:
        assert s.scalars(select(Consent)).all() == []
    bot.say("好的，我同意")
    assert "2/2" in bot.last.text


def test_yesterday_and_an_impossible_english_date_are_refused_politely(rt) -> None:
    bot = linked_bot(rt, lang="en")
    bot.say("yesterday 3pm")
    assert "is already in the past" in bot.text and bot.choices
    bot.say("Feb 30 at 10am")
    assert "couldn't read that time" in bot.text and bot.choices
    bot.say("昨天下午3点")
    assert "已经过去了" in bot.text
    assert _active_bookings(rt) == []
