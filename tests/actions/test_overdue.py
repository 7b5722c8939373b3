"""Overdue detection on the scheduler: flagged once per reason, HR in scope told in chat."""

from __future__ import annotations

from bots.testing import TestBot
from storage.models import Decision, OutboxItem
from tests.conftest import linked_bot
from tests.flows.hr_fixtures import candidate, hr_bot, rows


def test_a_missed_slot_is_flagged_once_and_hr_in_scope_hears_of_it(rt, clock) -> None:  # type: ignore[no-untyped-def]
    cand = linked_bot(rt, position="TELLER")
    cand.press(cand.choices[0])
    assert "已为您预约" in cand.text
    teller_hr, _ = hr_bot(rt, scope="TELLER")
    rm_hr, _ = hr_bot(rt, scope="RM")
    assert rt.reminders.flag_overdue() == 0
    clock.advance(days=15)
    assert rt.reminders.flag_overdue() == 1
    assert rt.reminders.flag_overdue() == 0  # once per application and reason
    [d] = rows(rt, Decision, kind="overdue_flagged")
    assert d.actor == "system:scheduler" and d.data == {"why": "missed_interview"}
    assert [
        o.payload["why"] for o in rows(rt, OutboxItem, kind="notify_hr") if o.payload["event"] == "overdue"
    ] == ["missed_interview"]
    got = teller_hr.settle()
    assert any("逾期" in r.text and "错过了面试时间" in r.text and "张三" in r.text for r in got)
    assert not rm_hr.settle()  # out of scope: not told


def test_documents_past_their_deadline_are_flagged_but_unlinked_candidates_are_not(rt, clock) -> None:  # type: ignore[no-untyped-def]
    candidate(rt, name="赵六", chat="cand-d")
    candidate(rt, name="钱七")  # never linked a chat: not overdue on documents
    clock.advance(days=8)
    assert rt.reminders.flag_overdue() == 1
    [d] = rows(rt, Decision, kind="overdue_flagged")
    assert d.data == {"why": "documents_missing"}
    assert TestBot(rt, user="cand-d").settle() == []  # HR decides whether to nudge
