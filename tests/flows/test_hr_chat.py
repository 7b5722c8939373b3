"""HR in chat, end to end through the engine (SQLite and PostgreSQL): an HR user links their chat with a
code, then reads and acts on candidates in scope; candidates hear of HR's decisions in their own chat;
every read and decision is audited; nothing out of scope is visible."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bots.testing import TestBot
from storage.models import AuditEntry, Decision, Interview, Offer, OutboxItem, Position, Slot
from tests.flows.hr_fixtures import app_row, candidate, hr_bot, rows


def _audits(rt, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return rows(rt, AuditEntry, action=action)


def _outbox(rt, kind: str) -> list[OutboxItem]:  # type: ignore[no-untyped-def]
    return rows(rt, OutboxItem, kind=kind)


def test_hr_links_by_code_and_reads_a_status_by_name_and_by_id(rt) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="张三", overall=78.0)
    hr, uid = hr_bot(rt, scope="TELLER")
    assert "已关联到您的 HR 账号" in hr.text
    hr.say("张三现在什么状态")
    text = hr.text
    assert f"张三（#{app_id}）" in text and "综合柜员" in text
    assert "综合得分 78" in text and "达到门槛 65" in text
    assert "数值分析 86" in text  # indicators, strongest first
    assert "材料：" in text and "✗" in text
    reads = _audits(rt, "hr.read.status")
    assert [(a.actor, a.subject) for a in reads] == [(f"user:{uid}", f"application:{app_id}")]
    hr.say(f"status {app_id}")
    assert f"(#{app_id})" in hr.text and "overall 78" in hr.text  # the reply follows the language
    hr.say(f"/status {app_id}")
    assert f"#{app_id}" in hr.text


def test_out_of_scope_and_unknown_candidates_look_the_same_and_are_not_read(rt) -> None:  # type: ignore[no-untyped-def]
    rm = candidate(rt, position="RM", name="李娜", overall=80.0)
    hr, _ = hr_bot(rt, scope="TELLER")
    hr.say(f"{rm}号候选人进展如何")
    assert "没有找到" in hr.text and "李娜" not in hr.text
    hr.say("李娜现在什么状态")
    assert "没有找到" in hr.text
    hr.say("status 999999")
    assert "没有找到" in hr.text or "couldn't find" in hr.text
    assert not _audits(rt, "hr.read.status")
    # a department in scope works as well as a code
    hr2, _ = hr_bot(rt, scope="公司银行部")
    hr2.say("李娜现在什么状态")
    assert "李娜" in hr2.text and "综合得分 80" in hr2.text


def test_two_candidates_with_one_name_are_told_apart(rt) -> None:  # type: ignore[no-untyped-def]
    a = candidate(rt, name="张伟", overall=70.0)
    b = candidate(rt, name="张伟")
    hr, _ = hr_bot(rt)
    hr.say("张伟现在什么状态")
    assert "有 2 位候选人叫“张伟”" in hr.text
    assert any(f"#{a}" in c for c in hr.choices) and any(f"#{b}" in c for c in hr.choices)
    hr.press(f"#{b}")
    assert f"张伟（#{b}）" in hr.text
    hr.say("9")  # a number picks from the buttons last shown (report, remind): out of range
    assert "9" in hr.text and not rows(rt, Decision)


def test_a_candidate_cannot_read_anyone_else(rt) -> None:  # type: ignore[no-untyped-def]
    candidate(rt, name="李娜", overall=91.0)
    candidate(rt, name="张三", chat="cand-x")
    bot = TestBot(rt, user="cand-x")
    bot.say("李娜现在什么状态")
    assert "李娜" not in bot.text and "91" not in bot.text
    bot.say("/status 1")
    assert "李娜" not in bot.text


def test_reminding_everyone_overdue_asks_first_then_nudges_each_in_their_own_chat(rt, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import linked_bot

    cand = linked_bot(rt, position="TELLER")
    cand.press(cand.choices[0].split()[0])  # the first slot offered
    assert "已为您预约" in cand.text
    hr, _ = hr_bot(rt)
    hr.say("提醒所有逾期的候选人")
    assert "没有逾期" in hr.text
    [slot_start] = [s.starts_at for s in rows(rt, Slot) if s.booked]
    clock.now = slot_start + timedelta(hours=2)
    hr.say("谁逾期了")
    assert "错过了面试时间" in hr.text
    hr.say("提醒所有逾期的候选人")
    assert "1 位候选人逾期" in hr.text and "张三" in hr.text
    hr.press("发送")
    assert "已提醒 1 位" in hr.text
    nudges = cand.settle()
    assert nudges and "已经过了" in nudges[0].text
    assert cand.choices  # new times to pick, right there
    hr.say("提醒所有逾期的候选人")
    hr.press("发送")
    assert "24 小时内已提醒过" in hr.text  # at most one nudge a day
    assert len(rows(rt, Decision, kind="reminded")) == 1


def test_reject_previews_respectful_feedback_then_tells_the_candidate(rt) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="张三", overall=60.0, chat="cand-r")
    cand = TestBot(rt, user="cand-r")
    hr, uid = hr_bot(rt)
    hr.say("婉拒张三")
    preview = hr.text
    assert "预览" in preview and "数值分析" in preview and "提升空间" in preview
    assert app_row(rt, app_id).stage == "interviewed"  # nothing happens before HR confirms
    hr.press("取消")
    assert "已取消" in hr.text and app_row(rt, app_id).stage == "interviewed"
    hr.say("婉拒张三")
    hr.press("发送")
    assert "已将结果和反馈发送给 张三" in hr.text
    app = app_row(rt, app_id)
    assert app.stage == "rejected" and app.rejected_at is not None
    got = cand.settle()
    assert got and "数值分析" in got[0].text and "复核" in got[0].text
    d = rows(rt, Decision, kind="reject")[0]
    assert d.actor == f"user:{uid}" and "提升空间" in d.data["feedback"]
    assert d.input_versions["rubric"] == "r-test"
    assert any(
        o.payload["event"] == "stage_changed" and o.payload["stage"] == "rejected"
        for o in _outbox(rt, "hr_sync")
    )
    hr.say("婉拒张三")
    assert "不能这样操作" in hr.text  # rejecting twice


def test_offer_letter_from_the_expectation_then_sent_as_pdf(rt) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="张三", overall=82.0, chat="cand-o", salary=10_000, stage="next_round")
    cand = TestBot(rt, user="cand-o")
    hr, _ = hr_bot(rt)
    hr.say("给张三发offer")
    assert "录用通知预览" in hr.text and "10,000" in hr.text
    assert {"发送 PDF", "发送 Word", "取消"} <= set(hr.choices)
    hr.press("发送 PDF")
    assert "录用通知（PDF）已发送给 张三" in hr.text
    offer = rows(rt, Offer, application_id=app_id)[-1]
    assert offer.status == "sent" and offer.salary == 10_000 and offer.file_sha256
    assert app_row(rt, app_id).stage == "offer"
    got = cand.settle()
    assert got and "恭喜" in got[0].text and got[0].files and got[0].files[0].name.endswith(".pdf")
    assert "/files/" in got[0].files[0].url


def test_an_offer_without_a_salary_expectation_asks_hr_and_checks_the_band(rt) -> None:  # type: ignore[no-untyped-def]
    candidate(rt, name="李雷", overall=75.0, stage="next_round")
    hr, _ = hr_bot(rt)
    hr.say("给李雷发录用通知")
    assert "没有填写期望薪资" in hr.text and "8,000–12,000" in hr.text
    hr.say("月薪 15000")
    assert "录用通知预览" in hr.text and "高于岗位薪级范围" in hr.text
    hr.say("取消")
    assert "已取消" in hr.text


def test_override_needs_a_reason_keeps_the_original_and_reapplies_the_threshold(rt) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="张三", overall=78.0, stage="shortlisted")
    hr, uid = hr_bot(rt)
    hr.say("把张三的分数改成60")
    assert "需要写明原因" in hr.text
    hr.say("录音噪声很大，现场复试表现一般")
    assert "由 78.0 改为 60.0" in hr.text
    app = app_row(rt, app_id)
    assert app.score_override == 60.0 and app.stage == "interviewed"  # below 65 again: a person decides
    d = rows(rt, Decision, kind="override_score")[0]
    assert d.data["original"] == 78.0 and d.reason and "噪声" in d.reason and d.actor == f"user:{uid}"
    with rt.sessions() as s:
        assert s.scalars(select(Interview.overall)).one() == 78.0  # the original stays
    hr.say(f"/override {app_id} 90 复试优秀")
    assert app_row(rt, app_id).stage == "shortlisted"
    hr.say(f"/override {app_id} hold 等背景调查")
    assert "暂缓" in hr.text and app_row(rt, app_id).stage == "interviewed"
    assert rows(rt, Decision, kind="override_decision")[0].reason == "等背景调查"


def test_next_round_offers_hr_times_and_the_candidate_books_one(rt, clock) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="张三", overall=80.0, chat="cand-n", stage="shortlisted")
    cand = TestBot(rt, user="cand-n")
    hr, _ = hr_bot(rt)
    hr.say("邀请张三进入下一轮")
    assert "下一轮面试可选的时间" in hr.text
    hr.say("下周一上午十点，下周二下午两点")
    assert "第 2 轮" in hr.text
    app = app_row(rt, app_id)
    assert app.stage == "next_round" and app.round == 2
    got = cand.settle()
    assert got and "下一轮" in got[0].text and len(cand.choices) == 2
    cand.press(cand.choices[0])
    assert "已为您预约" in cand.text
    app = app_row(rt, app_id)
    assert app.stage == "next_round" and app.booked_at is not None
    assert len(rows(rt, Interview)) == 1  # no voice interview for an in-person round


def test_priority_lists_and_the_summary(rt) -> None:  # type: ignore[no-untyped-def]
    a = candidate(rt, name="张三", overall=78.0)
    candidate(rt, name="王五")
    hr, _ = hr_bot(rt)
    hr.say("把张三标为重点")
    assert "标为重点" in hr.text and app_row(rt, a).priority
    hr.say("把张三标为重点")
    assert "已经是重点" in hr.text
    hr.say("列出重点候选人")
    assert "★" in hr.text and "张三" in hr.text and "王五" not in hr.text
    hr.say("列出已完成面试的候选人")
    assert "张三" in hr.text and "王五" not in hr.text
    hr.say("/list completed")  # a slash command keeps the chat's language
    assert "已完成面试：共 1 人" in hr.text
    hr.say("列出候选人")
    assert "概况" in hr.text
    assert _audits(rt, "hr.read.list.priority")


def test_report_link_and_radar_in_chat(rt) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import linked_bot
    from tests.flows.test_interview import GOOD_ZH, _answer_all

    cand = linked_bot(rt, position="RISK")
    cand.press("开始面试")
    _answer_all(cand, GOOD_ZH)
    hr, _ = hr_bot(rt, scope="RISK")
    hr.say("看看张三的报告")
    assert "/hr/reports/" in hr.text
    assert hr.last.files and hr.last.files[0].mime == "image/png"
    assert _audits(rt, "hr.read.report")


def test_threshold_automation_shortlists_and_tells_hr_but_never_rejects(rt) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import linked_bot
    from tests.flows.test_interview import GOOD_ZH, _answer_all

    hr, _ = hr_bot(rt, scope="RISK")
    with rt.sessions.begin() as s:
        s.execute(update(Position).where(Position.code == "RISK").values(threshold=1.0))
    cand = linked_bot(rt, position="RISK")
    cand.press("开始面试")
    _answer_all(cand, GOOD_ZH)
    [app] = [a for a in rows(rt, __import__("storage.models", fromlist=["Application"]).Application)]
    assert app.stage == "shortlisted" and app.shortlisted_at is not None
    d = rows(rt, Decision, kind="shortlisted")[0]
    assert (
        d.actor == "system:automation" and d.input_versions["threshold"] == 1.0 and d.input_versions["rubric"]
    )
    notices = hr.settle()
    assert any("完成了语音面试" in r.text and "下一轮候选池" in r.text for r in notices)
    # the candidate may ask a person to review the result; HR sees the request
    cand.say("我要求人工复核")
    assert "人工复核申请" in cand.text
    assert app_row(rt, app.id).review_requested_at is not None
    assert any("人工复核" in r.text for r in hr.settle())
    hr.say("列出申请人工复核的候选人")
    assert "张三" in hr.text


def test_below_the_threshold_nobody_is_rejected_automatically(rt) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import linked_bot
    from tests.flows.test_interview import GOOD_ZH, _answer_all

    with rt.sessions.begin() as s:
        s.execute(update(Position).where(Position.code == "RISK").values(threshold=100.0))
    cand = linked_bot(rt, position="RISK")
    cand.press("开始面试")
    _answer_all(cand, GOOD_ZH)
    from storage.models import Application

    [app] = rows(rt, Application)
    assert app.stage == "interviewed" and app.rejected_at is None
    assert not rows(rt, Decision, kind="reject") and not rows(rt, Decision, kind="shortlisted")


def test_english_hr_hired_and_slash_commands(rt) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="Alex Chen", overall=84.0, chat="cand-e", lang="en", stage="offer")
    cand = TestBot(rt, user="cand-e")
    hr, _ = hr_bot(rt, lang="en", name="Mia")
    assert "linked to your HR account" in hr.text
    hr.say("how is Alex Chen doing")
    assert f"Alex Chen (#{app_id})" in hr.text and "overall 84" in hr.text
    hr.say(f"/hired {app_id}")
    assert "marked as hired" in hr.text and app_row(rt, app_id).stage == "hired"
    got = cand.settle()
    assert got and "Welcome aboard" in got[0].text
    hr.say("/frobnicate 12")
    assert "/help" in hr.text
    hr.say("help")
    assert "/status" in hr.text and "/funnel" in hr.text


def test_overdue_documents_past_the_deadline(rt, clock) -> None:  # type: ignore[no-untyped-def]
    app_id = candidate(rt, name="赵六", chat="cand-d")
    hr, _ = hr_bot(rt)
    hr.say("列出逾期的候选人")
    assert "没有" in hr.text
    clock.advance(days=8)
    hr.say("列出逾期的候选人")
    assert "赵六" in hr.text and "材料逾期" in hr.text
    hr.say(f"提醒 {app_id}")
    assert "已提醒 1 位" in hr.text
    got = TestBot(rt, user="cand-d").settle()
    assert got and "提交" in got[0].text


def test_hr_messages_are_never_treated_as_a_candidates(rt) -> None:  # type: ignore[no-untyped-def]
    hr, _ = hr_bot(rt)
    hr.say("下周三下午两点")  # a candidate's booking phrase: not for HR
    assert "已为您预约" not in hr.text
    hr.say("")
    assert hr.text


def test_funnel_and_bias_audit_in_chat_with_charts(rt) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        candidate(rt, name=f"候选{i}", overall=60.0 + i * 5)
    hr, uid = hr_bot(rt, scope="TELLER,RM")
    hr.say("柜员岗的招聘漏斗")
    assert "招聘漏斗 · TELLER" in hr.text and "达到阈值（≥65 分） 5" in hr.text
    assert "数据太少" in hr.text  # no threshold suggestion without hired candidates
    assert hr.last.files and hr.last.files[0].mime == "image/png"
    hr.say("funnel for the whole bank")  # no position named: every position in scope
    assert "Funnel · RM, TELLER" in hr.text
    hr.say("风险管理岗的招聘漏斗")  # RISK is not in this HR user's scope
    assert "没有找到岗位" in hr.text and "TELLER" in hr.text and "RISK" not in hr.text
    hr.say("对柜员岗做一次偏差审计")
    assert "偏差审计" in hr.text and "TELLER" in hr.text and "== " not in hr.text
    assert {f.mime for f in hr.last.files} == {"text/csv", "image/png"}
    assert [a.actor for a in _audits(rt, "bias_audit.run")] == [f"user:{uid}"]


def test_demographics_are_asked_once_after_the_interview_kept_apart_and_erasable(rt) -> None:  # type: ignore[no-untyped-def]
    from storage.models import Consent, Demographic
    from tests.conftest import linked_bot
    from tests.flows.test_interview import GOOD_ZH, _answer_all

    cand = linked_bot(rt, position="RISK")
    cand.press("开始面试")
    _answer_all(cand, GOOD_ZH)
    assert "可选问题" in cand.text and "绝不用于评分" in cand.text
    [app] = rows(rt, __import__("storage.models", fromlist=["Application"]).Application)
    overall_before = rows(rt, Interview)[0].overall
    cand.press("愿意填写")
    cand.press("女")
    cand.press("25–34")
    cand.say("江苏")
    assert "谢谢" in cand.text
    [d] = rows(rt, Demographic)
    assert (d.sex, d.age_band, d.region, d.application_id) == ("female", "25_34", "江苏", app.id)
    assert rows(rt, Interview)[0].overall == overall_before  # nothing scored again, nothing changed
    cand.say("删除我的人口信息")
    assert "已删除" in cand.text and not rows(rt, Demographic)
    assert [c.granted for c in rows(rt, Consent, kind="demographics")] == [True, False]


def test_declining_demographics_changes_nothing_and_is_not_asked_again(rt) -> None:  # type: ignore[no-untyped-def]
    from storage.models import Consent, Demographic
    from tests.conftest import linked_bot
    from tests.flows.test_interview import GOOD_ZH, _answer_all

    cand = linked_bot(rt, position="RISK")
    cand.press("开始面试")
    _answer_all(cand, GOOD_ZH)
    cand.press("不填写")
    assert "不影响任何结果" in cand.text
    assert not rows(rt, Demographic) and [c.granted for c in rows(rt, Consent, kind="demographics")] == [
        False
    ]
    cand.say("我的进度")
    assert "可选问题" not in cand.text
