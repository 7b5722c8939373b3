"""The interview in chat, with typed answers (the RISK position allows them): fast, no ASR model.

Voice answers through the real Whisper model are in tests/flows/test_interview_voice.py.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bots.testing import TestBot
from storage.models import Answer, AnswerScore, Application, AuditEntry, Interview
from tests.conftest import linked_bot

GOOD_ZH = (
    "我会先核实客户身份，按照反洗钱和了解你的客户的规定检查交易背景，发现可疑情况及时上报合规部门，"
    "同时耐心向客户解释原因，保持礼貌，站在客户角度考虑，最后记录并总结经验，学习相关制度。"
    "比如去年我在实习时遇到一笔大额转账，我先询问用途，核对证件，发现疑点后按流程上报，结果避免了风险。"
    "利息按本金乘以年利率乘以期限计算。"
)


def _interview(rt) -> Interview:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalars(select(Interview)).one()


def _answer_all(bot: TestBot, text: str, limit: int = 20) -> list[str]:
    """Answer every prompt with ``text`` until the interview completes; the prompts seen."""
    prompts = []
    for _ in range(limit):
        prompt = bot.text
        prompts.append(prompt)
        bot.say(text)
        assert "收到您的回答" in bot.text or "Got your answer" in bot.text, bot.text
        bot.settle()
        if "面试完成" in bot.text or "end of the interview" in bot.text:
            return prompts
    raise AssertionError("the interview never completed:\n" + "\n---\n".join(prompts[-3:]))


def test_anytime_interview_by_typed_answers_end_to_end(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    # after the second consent the interview of an "any time" position opens at once
    assert "语音面试现在可以开始了" in bot.text and "共 6 道题" in bot.text
    assert "开始面试" in bot.choices
    bot.press("开始面试")
    assert "第 1/6 题" in bot.text
    prompts = _answer_all(bot, GOOD_ZH)
    assert sum("题：" in p and "/6" in p for p in prompts) == 6
    done = bot.text
    assert "面试完成" in done and "初步反馈" in done and "下一步" in done
    assert not any(ch.isdigit() for ch in done.split("初步反馈")[1].split("下一步")[0]), (
        "no numbers in feedback"
    )
    iv = _interview(rt)
    assert iv.status == "completed" and iv.overall is not None
    assert set(iv.scores or {}) >= {"communication", "risk", "finance"}
    assert iv.versions["rubric"] and iv.versions["scorer"]
    assert len([r for r in iv.sequence if not r["is_probe"]]) == 6
    assert all(r["reason_zh"] and r["reason_en"] for r in iv.sequence)
    with rt.sessions() as s:
        app = s.get(Application, iv.application_id)
        assert app is not None and app.stage == "interviewed"
        scored = s.scalars(select(AnswerScore)).all()
        assert len(scored) == len(iv.sequence)
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "interview.scored")).one()
        assert audit.input_versions["rubric"] == iv.versions["rubric"]
    bot.say("我的进度")
    assert "复核" in bot.text


def test_english_interview_follows_the_language(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK", lang="en")
    assert "voice interview for Risk Analyst can start now" in bot.text
    bot.press("Start interview")
    assert "Question 1 of 6" in bot.text
    bot.say(
        "First I would verify the customer's identity and follow the KYC and anti-money laundering "
        "procedure, report the suspicious transfer to compliance, and explain politely to the customer."
    )
    assert "Got your answer" in bot.text
    nxt = bot.settle()
    assert nxt and ("Question 2 of 6" in bot.text or "Follow-up" in bot.text)


def test_pause_and_resume_within_the_window(rt, clock) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    first = bot.text
    bot.say("暂停一下")
    assert "面试已暂停" in bot.text
    assert _interview(rt).status == "paused"
    bot.say("今天天气不错")
    assert "继续面试" in bot.text and _interview(rt).status == "paused"
    clock.advance(hours=20)
    bot.say("继续面试")
    assert "欢迎回来" in bot.text
    assert first.split("\n")[1] in bot.text  # the same question again
    assert _interview(rt).status == "active"


def test_the_interview_expires_after_its_window(rt, clock) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    clock.advance(days=3, minutes=1)
    bot.say(GOOD_ZH)
    assert "面试窗口已经关闭" in bot.text
    assert _interview(rt).status == "expired"
    with rt.sessions() as s:
        assert s.scalars(select(Answer)).all() == []  # nothing taken after the window


def test_an_answer_while_one_is_being_scored_is_kept_but_not_scored_twice(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    bot.say(GOOD_ZH)
    bot.say(
        "补充一点：处理完之后我还会主动回访客户，了解他对处理结果是否满意，并记录在案。"
    )  # before scoring
    assert "还在处理中" in bot.text
    bot.settle()
    with rt.sessions() as s:
        answers = s.scalars(select(Answer).order_by(Answer.id)).all()
    assert [a.status for a in answers] == ["scored", "extra"]
    assert answers[1].text.startswith("补充一点")
    assert "第 2/6 题" in bot.text or "追问" in bot.text


def test_typed_answers_need_permission_on_voice_only_positions(rt, clock) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.say("下周三下午两点")
    assert "已为您预约" in bot.text
    bot.say("开始面试")
    assert "开放" in bot.text  # not yet: opens at the slot
    clock.now = clock.now.replace(day=2, month=12, hour=14, minute=0)
    bot.say("开始面试")
    assert "第 1/6 题" in bot.text
    bot.say(GOOD_ZH)
    assert "请用语音回答" in bot.text
    bot.press("申请文字作答")
    assert "转告招聘专员" in bot.text
    with rt.sessions() as s:
        assert s.scalars(select(Answer)).all() == []
        app = s.scalars(select(Application)).one()
        assert app.needs_human


def test_slot_interview_opens_by_itself_when_the_slot_starts(rt, clock) -> None:  # type: ignore[no-untyped-def]
    rt.reminders.start(paused=True)
    bot = linked_bot(rt, position="TELLER")
    bot.say("下周三下午两点")
    rt.relay.drain()
    assert any(j.startswith("interview:") for j, _ in rt.reminders.jobs())
    clock.now = clock.now.replace(day=2, month=12, hour=14, minute=0)
    booking_id = int(next(j for j, _ in rt.reminders.jobs() if j.startswith("interview:")).split(":")[1])
    assert rt.reminders.open_interview(booking_id)
    assert "语音面试现在可以开始了" in bot.settle()[0].text
    iv = _interview(rt)
    assert iv.status == "open" and iv.expires_at - iv.opens_at == timedelta(hours=24)
    # a second firing (a restart) opens nothing twice
    assert rt.reminders.open_interview(booking_id)
    assert bot.settle() == []


def test_a_voice_message_without_an_interview_is_answered_politely(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.voice(b"RIFF....WAVEfmt ", mime="audio/wav")
    assert "没有进行中的面试题目" in bot.text and "语音已保存" in bot.text


def test_the_report_rebuilds_the_scores_that_were_stored(rt, clock) -> None:  # type: ignore[no-untyped-def]
    from actions.interview_report import load_report
    from scoring.report import to_html, to_json

    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    _answer_all(bot, GOOD_ZH)
    iv = _interview(rt)
    with rt.sessions() as s:
        loaded = load_report(s, iv.application_id, language="zh", bank=rt.deps.bank, now=clock())
    assert loaded is not None and loaded.status == "completed" and loaded.mismatches == ()
    data = to_json(loaded.report)
    assert data["overall"]["score"] == iv.overall
    assert {i["id"]: i["score"] for i in data["indicators"]} == iv.scores
    assert len(data["transcripts"]) == 6 and all(t["text"] == GOOD_ZH for t in data["transcripts"])
    assert [r["question_id"] for r in data["sequence"]] == [r["question_id"] for r in iv.sequence]
    html = to_html(loaded.report, radar_url=None)
    assert "张三" in html and "风险管理岗" in html


def test_an_anytime_position_needs_no_booking(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    bot.say("我想预约面试")
    assert "不需要预约时间" in bot.text and "开始面试" in bot.choices
    bot.say("1")  # the numbered pick of the first button
    assert "第 1/6 题" in bot.text
    bot.say("我的进度")
    assert "正在进行风险管理岗岗位的语音面试" in bot.text or "面试进度" in bot.text


def test_an_answer_after_the_time_limit_is_kept_and_marked_late(rt, clock) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    iv = _interview(rt)
    limit = rt.deps.bank.get(iv.question_id).time_limit_s
    clock.advance(seconds=limit + 5)  # within the grace: not late
    bot.say(GOOD_ZH)
    assert "收到您的回答，正在处理" in bot.text
    bot.settle()
    clock.advance(seconds=limit + 120)  # the next prompt, answered well after its limit
    bot.say(GOOD_ZH)
    assert "已超出建议时长" in bot.text and "招聘人员会看到用时" in bot.text
    bot.settle()
    with rt.sessions() as s:
        answers = s.scalars(select(Answer).order_by(Answer.id)).all()
    assert [a.late for a in answers] == [False, True]
    assert all(a.status == "scored" for a in answers)  # scored as usual; HR sees the flag
    from actions.interview_report import load_report
    from scoring.report import to_html, to_json

    iv = _interview(rt)
    with rt.sessions() as s:
        loaded = load_report(s, iv.application_id, language="zh", bank=rt.deps.bank, now=clock())
    assert loaded is not None
    assert [r["late"] for r in to_json(loaded.report)["sequence"]][:2] == [False, True]
    assert to_html(loaded.report, radar_url=None).count("超时作答") == 1


def test_english_commands_may_be_longer_than_chinese_ones(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK", lang="en")
    bot.say("let's start the interview")
    assert "Question 1 of 6" in bot.text
    bot.say("can we pause the interview for now")
    assert "paused" in bot.text
