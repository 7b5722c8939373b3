"""Races: the last seat, the same message twice at once, a second message while the first is handled."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select

from bots.testing import TestBot
from flows.engine import handle_sync
from storage.models import Booking, ProcessedMessage, Slot
from tests.conftest import linked_bot


def test_two_candidates_race_for_the_last_seat_exactly_one_wins(rt) -> None:
    a = linked_bot(rt, user="a", position="RM")
    b = linked_bot(rt, user="b", position="RM")
    payload = next(
        c.payload for r in a.replies for c in r.choices if c.title.startswith("11月26日（周四）10:00")
    )
    barrier = threading.Barrier(2)
    outcomes = {}

    def go(bot: TestBot) -> None:
        barrier.wait()
        outcomes[bot.user] = handle_sync(bot.inbound("1", payload=payload), rt.deps)

    threads = [threading.Thread(target=go, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = sorted(" ".join(r.text for r in o.replies) for o in outcomes.values())
    assert sum("已为您预约" in t for t in texts) == 1
    assert sum("刚刚被约满" in t for t in texts) == 1
    with rt.sessions() as s:
        slot_id = int(payload.split(":")[1])
        assert s.get(Slot, slot_id).booked == 1
        assert len(list(s.scalars(select(Booking).where(Booking.status == "active")))) == 1


def test_same_message_delivered_twice_concurrently(rt) -> None:
    bot = linked_bot(rt)
    results = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(handle_sync(bot.inbound("下周三下午两点", message_id="same-id"), rt.deps))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in results) == [False, True]
    assert [r.text for r in results[0].replies] == [r.text for r in results[1].replies]
    with rt.sessions() as s:
        assert len(list(s.scalars(select(Booking)))) == 1
        assert (
            len(list(s.scalars(select(ProcessedMessage).where(ProcessedMessage.message_id == "same-id"))))
            == 1
        )


def test_second_message_while_first_is_handled_is_queued_not_lost(rt) -> None:
    bot = linked_bot(rt)

    async def both():  # type: ignore[no-untyped-def]
        return await asyncio.gather(bot.say_async("下周三下午两点"), bot.say_async("我的进度"))

    booked, status = asyncio.run(both())
    assert "已为您预约" in " ".join(r.text for r in booked.replies)
    assert "已预约面试（12月2日（周三）14:00）" in " ".join(r.text for r in status.replies)
