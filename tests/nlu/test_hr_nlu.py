"""The HR users' NLU (nlu/hr.py): intents on held-out data, entities, slash commands, odd input."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlu.classifier import load_nlu_dir, load_nlu_yml
from nlu.hr import INTENTS, SLASH_COMMANDS, STATES, HrNLU, HrParse, position_code
from nlu.parse import FALLBACK, MAX_CHARS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "content" / "nlu" / "hr"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # a Wednesday
HR_INTENTS = [i for i in INTENTS if i.startswith("hr_")]


@pytest.fixture(scope="module")
def hr() -> HrNLU:
    return HrNLU.load(DATA, tz=TZ)


def parse(hr: HrNLU, text: str, now: datetime = NOW) -> HrParse:
    return hr.parse(text, now=now)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# --- data -------------------------------------------------------------------------------------------
def test_training_data_covers_every_intent_with_40_to_80_examples() -> None:
    counts = Counter((ex.language, ex.intent) for ex in load_nlu_dir(DATA))
    for lang in ("zh", "en"):
        for intent in INTENTS:
            assert counts[(lang, intent)] >= 15, (lang, intent)
        for intent in HR_INTENTS:
            assert 40 <= counts[(lang, intent)] <= 80, (lang, intent, counts[(lang, intent)])


def test_candidate_model_does_not_see_hr_data() -> None:
    intents = {ex.intent for ex in load_nlu_dir(ROOT / "content" / "nlu")}
    assert not intents & set(HR_INTENTS)
    assert not (DATA / "heldout" / "nlu.yml").exists()


def test_heldout_is_separate_and_covers_every_intent() -> None:
    train = {(ex.language, ex.text.strip().lower()) for ex in load_nlu_dir(DATA)}
    for lang in ("zh", "en"):
        heldout = load_nlu_yml(DATA / "heldout" / f"{lang}.yml", lang)
        assert not [ex.text for ex in heldout if (lang, ex.text.strip().lower()) in train]
        counts = Counter(ex.intent for ex in heldout)
        for intent in HR_INTENTS:
            assert counts[intent] >= 10, (lang, intent)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_heldout_accuracy_at_least_90_percent(hr: HrNLU, lang: str) -> None:
    examples = [ex for ex in load_nlu_yml(DATA / "heldout" / f"{lang}.yml", lang) if ex.intent != FALLBACK]
    misses = [(ex.text, ex.intent, parse(hr, ex.text).intent) for ex in examples]
    misses = [m for m in misses if m[1] != m[2]]
    accuracy = 1 - len(misses) / len(examples)
    assert accuracy >= 0.90, misses


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("张三现在什么状态", "hr_candidate_status"),
        ("status 1024", "hr_candidate_status"),
        ("1024号候选人进展如何", "hr_candidate_status"),
        ("how is Li Na doing", "hr_candidate_status"),
        ("列出柜员岗已完成面试的候选人", "hr_list_candidates"),
        ("谁逾期了", "hr_list_candidates"),
        ("show pending candidates for RM", "hr_list_candidates"),
        ("提醒所有逾期的候选人", "hr_remind_candidates"),
        ("nudge everyone overdue", "hr_remind_candidates"),
        ("取消张三的重点标记", "hr_mark_priority"),
        ("mark 1024 as priority", "hr_mark_priority"),
        ("invite 1024 to the next round", "hr_invite_next_round"),
        ("婉拒张三", "hr_reject_candidate"),
        ("reject 1024", "hr_reject_candidate"),
        ("draft an offer for 1024 at 15000", "hr_send_offer"),
        ("发录用通知书给李娜", "hr_send_offer"),
        ("把李娜的雷达图发我", "hr_candidate_report"),
        ("override 1024 score to 80 because the recording was noisy", "hr_override_score"),
        ("funnel for RM this month", "hr_funnel_stats"),
        ("门槛应该设多少", "hr_funnel_stats"),
        ("adverse impact report", "hr_bias_audit"),
        ("李娜确认入职了，下周一报到", "hr_hired"),
        ("有哪些命令", "help"),
        ("send it", "affirm"),
        ("不发了", "deny"),
    ],
)
def test_brief_examples(hr: HrNLU, text: str, intent: str) -> None:
    p = parse(hr, text)
    assert (p.intent, p.slash) == (intent, False)
    assert 0.0 <= p.confidence <= 1.0


def test_an_unseen_name_does_not_make_a_message_unfamiliar(hr: HrNLU) -> None:
    assert parse(hr, "给上官云霓发offer").intent == "hr_send_offer"
    assert parse(hr, "send Xiaoqing Ouyang an offer").intent == "hr_send_offer"


def test_a_question_about_an_action_is_a_status_query(hr: HrNLU) -> None:
    assert parse(hr, "张三入职了吗").intent == "hr_candidate_status"
    assert parse(hr, "张三已入职").intent == "hr_hired"


def test_chit_chat_is_fallback(hr: HrNLU) -> None:
    assert parse(hr, "what should I have for dinner").intent == FALLBACK
    assert parse(hr, "asdfgh qwerty zxcvb").intent == FALLBACK


# --- candidate ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("status 1024", (1024,)),
        ("#1024 什么情况", (1024,)),
        ("1024号候选人进展如何", (1024,)),
        ("编号1024的情况", (1024,)),
        ("编号：517 的情况", (517,)),
        ("id 1024 status", (1024,)),
        ("候选人1024的报告", (1024,)),
        ("check candidate #77", (77,)),
        ("remind 6021 and 7788", (6021, 7788)),
        ("提醒1024和2048", (1024, 2048)),
        ("remind 1024, 2048", (1024, 2048)),
        ("10号候选人进展", (10,)),
        ("给10号发offer", (10,)),
        ("mark 1024 as hired", (1024,)),
    ],
)
def test_candidate_ids(hr: HrNLU, text: str, ids: tuple[int, ...]) -> None:
    assert parse(hr, text).candidate_ids == ids


def test_an_id_is_not_a_time(hr: HrNLU) -> None:
    for text in ("status 1024", "1024", "remind 1024", "1024号"):
        p = parse(hr, text)
        assert p.candidate_ids == (1024,) and p.times == (), text


def test_a_bare_number_goes_to_the_reading_that_fits(hr: HrNLU) -> None:
    p = parse(hr, "邀请8号 下周三下午3点")  # no other candidate: 8号 is candidate 8
    assert (p.candidate_ids, p.times) == ((8,), (at(12, 2, 15),))
    p = parse(hr, "邀请张三 10号上午9点")  # a candidate is named: 10号 is a day
    assert (p.names, p.candidate_ids, p.times) == (("张三",), (), (at(12, 10, 9),))
    p = parse(hr, "invite 1024 to the next round at 3")
    assert (p.candidate_ids, p.times) == ((1024,), (at(11, 25, 15),))
    p = parse(hr, "remind 1024 at 10")
    assert (p.candidate_ids, p.times) == ((1024,), (at(11, 26, 10),))


def test_numbers_that_are_not_ids(hr: HrNLU) -> None:
    assert parse(hr, "柜员岗排名前10的候选人").candidate_ids == ()
    assert parse(hr, "list the top 10 candidates for teller").candidate_ids == ()
    assert parse(hr, "最近30天的招聘漏斗").candidate_ids == ()
    assert parse(hr, "what happens if we set the threshold to 70").candidate_ids == ()
    p = parse(hr, "run the bias audit for RISK for 2026")
    assert p.candidate_ids == () and p.period == (date(2026, 1, 1), date(2026, 12, 31))
    p = parse(hr, "柜员岗 2025 的漏斗")
    assert p.candidate_ids == () and p.period == (date(2025, 1, 1), date(2025, 12, 31))


# --- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("张三现在什么状态", ("张三",)),
        ("催一下张三", ("张三",)),
        ("王小明到哪一步了", ("王小明",)),
        ("把王小明加入重点关注", ("王小明",)),
        ("欧阳娜娜面试了吗", ("欧阳娜娜",)),
        ("上官婉儿约终面，下周一下午", ("上官婉儿",)),
        ("司马磊什么情况了", ("司马磊",)),
        ("李娜确认入职了，下周一报到", ("李娜",)),
        ("给张三发offer，月薪1.5万", ("张三",)),
        ("把张三标为重点", ("张三",)),
        ("黄蕾置顶为重点候选人", ("黄蕾",)),
        ("谢晨完成语音面试没", ("谢晨",)),
        ("提醒李娜明天下午三点面试", ("李娜",)),
        ("给黄蕾和林峰各发一条提醒", ("黄蕾", "林峰")),
        ("「王二小」的状态", ("王二小",)),
        ("how is Li Na doing", ("Li Na",)),
        ("send John Smith a rejection", ("John Smith",)),
        ("Is Grace Lin still pending?", ("Grace Lin",)),
        ("Wang status", ("Wang",)),
        ("mark Mr Wang as priority", ("Wang",)),
        ("show me Li Na's report", ("Li Na",)),
        ("给John Smith发offer", ("John Smith",)),
        ('"Li Na" status', ("Li Na",)),
    ],
)
def test_names(hr: HrNLU, text: str, names: tuple[str, ...]) -> None:
    assert parse(hr, text).names == names


@pytest.mark.parametrize(
    "text",
    [
        "李经理说这个人不错",
        "王老师好",
        "小王的报告",
        "老张那边怎么样",
        "张总让我问一下进度",
        "雷达图发我",
        "列出面试分数最高的几个人",
        "目前在流程中的候选人",
        "下周一上午十点可以吗",
        "马上发",
        "方案怎么样",
        "给我看看风险管理岗的重点候选人",
        "Smith status",
        "show pending candidates for Bank Teller",
        "list Risk Analyst candidates for October",
        "invite 1024 on Monday 10am",
        "Thanks, Please remind 1024",
    ],
)
def test_not_names(hr: HrNLU, text: str) -> None:
    assert parse(hr, text).names == ()


# --- positions, states, flags -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "position", "code"),
    [
        ("列出柜员岗已完成面试的候选人", "柜员", "TELLER"),
        ("综合柜员岗的候选人名单", "综合柜员", "TELLER"),
        ("pending interviews for TELLER", "TELLER", "TELLER"),
        ("show overdue candidates for Bank Teller", "Bank Teller", "TELLER"),
        ("list tellers who completed the interview", "teller", "TELLER"),
        ("客户经理岗的不利影响分析", "客户经理", "RM"),
        ("show pending candidates for RM", "RM", "RM"),
        ("conversion for Relationship Manager", "Relationship Manager", "RM"),
        ("风险管理岗有哪些人进入了下一轮", "风险管理岗", "RISK"),
        ("run the bias audit for RISK for 2026", "RISK", "RISK"),
        ("adverse impact ratio for Risk Analyst", "Risk Analyst", "RISK"),
        ("谁逾期了", None, None),
    ],
)
def test_positions(hr: HrNLU, text: str, position: str | None, code: str | None) -> None:
    p = parse(hr, text)
    assert p.position == position
    assert position_code(p.position) == code


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("列出柜员岗已完成面试的候选人", ("completed",)),
        ("有哪些人还没完成面试", ("pending",)),
        ("谁逾期了", ("overdue",)),
        ("列一下重点候选人", ("priority",)),
        ("入围的候选人有谁", ("shortlisted",)),
        ("风险管理岗有哪些人进入了下一轮", ("next_round",)),
        ("看看所有已发offer的人", ("offer",)),
        ("哪些人已经入职了", ("hired",)),
        ("列出上个月被淘汰的候选人", ("rejected",)),
        ("需要人工复核的有哪些", ("review",)),
        ("show pending candidates for RM", ("pending",)),
        ("which candidates haven't interviewed yet", ("pending",)),
        ("show overdue candidates for Bank Teller", ("overdue",)),
        ("list shortlisted candidates for Risk Analyst", ("shortlisted",)),
        ("who's been hired so far", ("hired",)),
        ("show all rejected candidates", ("rejected",)),
        ("list candidates waiting for review", ("pending", "review")),
        ("提醒所有逾期的候选人", ("overdue",)),
    ],
)
def test_states(hr: HrNLU, text: str, states: tuple[str, ...]) -> None:
    p = parse(hr, text)
    assert p.states == states
    assert set(p.states) <= set(STATES)


def test_states_only_filter_lists_and_reminders(hr: HrNLU) -> None:
    assert parse(hr, "邀请张三进入下一轮").states == ()


@pytest.mark.parametrize(
    ("text", "all_"),
    [
        ("提醒所有逾期的候选人", True),
        ("逾期的都催一遍", True),
        ("nudge everyone overdue", True),
        ("remind all pending candidates", True),
        ("催一下张三", False),
        ("张三和李四都标为重点", False),
    ],
)
def test_all(hr: HrNLU, text: str, all_: bool) -> None:
    assert parse(hr, text).all is all_


@pytest.mark.parametrize(
    ("text", "negate"),
    [
        ("取消张三的重点标记", True),
        ("马丽不再是重点了", True),
        ("unmark 2048", True),
        ("remove priority from Wang Fang", True),
        ("take Liu Yang off the priority list", True),
        ("把张三标为重点", False),
        ("mark 1024 as priority", False),
        ("取消", False),  # deny, not un-marking
    ],
)
def test_negate(hr: HrNLU, text: str, negate: bool) -> None:
    assert parse(hr, text).negate is negate


# --- periods ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("本月柜员岗的漏斗", (date(2026, 11, 1), date(2026, 11, 30))),
        ("上个月的招聘数据", (date(2026, 10, 1), date(2026, 10, 31))),
        ("2026年10月的漏斗", (date(2026, 10, 1), date(2026, 10, 31))),
        ("10月面试的候选人", (date(2026, 10, 1), date(2026, 10, 31))),
        ("12月的漏斗", (date(2025, 12, 1), date(2025, 12, 31))),  # the most recent December begun
        ("今年的偏差审计", (date(2026, 1, 1), date(2026, 12, 31))),
        ("去年的漏斗", (date(2025, 1, 1), date(2025, 12, 31))),
        ("最近30天的招聘漏斗", (date(2026, 10, 27), date(2026, 11, 25))),
        ("近三个月的漏斗", (date(2026, 8, 26), date(2026, 11, 25))),
        ("Q3的漏斗数据", (date(2026, 7, 1), date(2026, 9, 30))),
        ("第三季度的招聘漏斗", (date(2026, 7, 1), date(2026, 9, 30))),
        ("Q4 funnel", (date(2026, 10, 1), date(2026, 12, 31))),
        ("上个季度的偏差分析", (date(2026, 7, 1), date(2026, 9, 30))),
        ("上半年的招聘漏斗", (date(2026, 1, 1), date(2026, 6, 30))),
        ("今年第二季度客户经理岗的漏斗", (date(2026, 4, 1), date(2026, 6, 30))),
        ("去年12月的漏斗", (date(2025, 12, 1), date(2025, 12, 31))),
        ("2026年Q2风控岗的偏差审计", (date(2026, 4, 1), date(2026, 6, 30))),
        ("本周数据看一下", (date(2026, 11, 23), date(2026, 11, 29))),
        ("上周逾期的人", (date(2026, 11, 16), date(2026, 11, 22))),
        ("funnel for RM this month", (date(2026, 11, 1), date(2026, 11, 30))),
        ("funnel stats for Risk Analyst last month", (date(2026, 10, 1), date(2026, 10, 31))),
        ("funnel for TELLER in the last 30 days", (date(2026, 10, 27), date(2026, 11, 25))),
        ("candidates who interviewed since 1 Nov", (date(2026, 11, 1), date(2026, 11, 25))),
        ("since October", (date(2026, 10, 1), date(2026, 11, 25))),
        ("run the bias audit for RISK for 2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("pipeline numbers in 2025", (date(2025, 1, 1), date(2025, 12, 31))),
        ("recruiting stats for Q3 2025", (date(2025, 7, 1), date(2025, 9, 30))),
        ("numbers for October", (date(2026, 10, 1), date(2026, 10, 31))),
        ("show completed interviews in Oct 2025", (date(2025, 10, 1), date(2025, 10, 31))),
        ("从10月1日到10月31日的漏斗", (date(2026, 10, 1), date(2026, 10, 31))),
        ("funnel from Oct 1 to Oct 31", (date(2026, 10, 1), date(2026, 10, 31))),
        ("funnel between 2026-09-01 and 2026-09-30", (date(2026, 9, 1), date(2026, 9, 30))),
        ("10月1日以来的通过率", (date(2026, 10, 1), date(2026, 11, 25))),
        ("谁逾期了", None),
    ],
)
def test_periods(hr: HrNLU, text: str, period: tuple[date, date] | None) -> None:
    assert parse(hr, text).period == period


@pytest.mark.parametrize(
    ("now", "text", "period"),
    [
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "上个月的漏斗", (date(2026, 12, 1), date(2026, 12, 31))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "last quarter funnel", (date(2026, 10, 1), date(2026, 12, 31))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "Q4的漏斗", (date(2026, 10, 1), date(2026, 12, 31))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "Q1的漏斗", (date(2027, 1, 1), date(2027, 3, 31))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "11月的漏斗", (date(2026, 11, 1), date(2026, 11, 30))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "since 1 Dec", (date(2026, 12, 1), date(2027, 1, 15))),
        (datetime(2027, 1, 15, 9, tzinfo=TZ), "last week funnel", (date(2027, 1, 4), date(2027, 1, 10))),
        (datetime(2028, 3, 10, 9, tzinfo=TZ), "2月的漏斗", (date(2028, 2, 1), date(2028, 2, 29))),
        (datetime(2027, 3, 10, 9, tzinfo=TZ), "last month", (date(2027, 2, 1), date(2027, 2, 28))),
        (datetime(2027, 3, 31, 9, tzinfo=TZ), "最近一个月", (date(2027, 3, 1), date(2027, 3, 31))),
        (datetime(2026, 12, 31, 23, tzinfo=TZ), "this quarter", (date(2026, 10, 1), date(2026, 12, 31))),
    ],
)
def test_period_boundaries(hr: HrNLU, now: datetime, text: str, period: tuple[date, date]) -> None:
    assert parse(hr, text, now).period == period


def test_last_n_days_is_inclusive(hr: HrNLU) -> None:
    start, end = parse(hr, "last 30 days funnel").period or (None, None)
    assert start is not None and end is not None
    assert (end - start).days + 1 == 30 and end == NOW.date()


# --- salary, score, decision, reason ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "salary"),
    [
        ("给张三发offer，月薪1.5万", 15000),
        ("王小明录用，发offer，月薪12000元", 12000),
        ("给李娜发offer 15000元", 15000),
        ("刘洋可以发offer了，薪资15k", 15000),
        ("offer Li Na 15K", 15000),
        ("给欧阳娜娜出offer，年薪24万", 20000),
        ("给徐婷发offer，年薪25万", 20833),
        ("起草陈静的录用函，月薪一万八", 18000),
        ("给黄蕾发录取通知，待遇一万五", 15000),
        ("马丽的offer，月薪9千", 9000),
        ("给4096出录用通知，薪资1.6万/月", 16000),
        ("draft an offer for 1024 at 15000", 15000),
        ("make John Smith an offer, 18k a month", 18000),
        ("offer Li Na 12,000 a month", 12000),
        ("offer 1024 RMB 19,000 per month", 19000),
        ("draft offer for Sarah Johnson with 240k a year", 20000),
        ("James Wong offer, 300k annual", 25000),
        ("extend John Smith an offer of ¥15000", 15000),
        ("给1024发offer 18000", 18000),
        ("给张三发offer", None),
        ("给张三发offer，月薪15", None),  # 15 CNY a month is a misread, not a salary
    ],
)
def test_salary(hr: HrNLU, text: str, salary: int | None) -> None:
    p = parse(hr, text)
    assert p.intent == "hr_send_offer"
    assert p.salary == salary


def test_salary_amount_is_not_an_id(hr: HrNLU) -> None:
    assert parse(hr, "draft an offer for 1024 at 15000").candidate_ids == (1024,)
    assert parse(hr, "offer 1024 RMB 19,000 per month").candidate_ids == (1024,)


@pytest.mark.parametrize(
    ("text", "score", "ids"),
    [
        ("把张三的分数改成75，原因：现场面试表现好", 75.0, ()),
        ("override 1024 score to 80 because the recording was noisy", 80.0, (1024,)),
        ("把1024的分数改为75", 75.0, (1024,)),
        ("李娜的分数调整为82分，理由是录音有噪音", 82.0, ()),
        ("把张三分数调到82.5", 82.5, ()),
        ("把张伟的分数改成八十分", 80.0, ()),
        ("把张伟的分数改为七十五点五分", 75.5, ()),
        ("把张伟的分数改成一百二十分", None, ()),
        ("黄蕾的分数从58改到66，原因：评分标准调整", 66.0, ()),
        ("change Li Na's score from 58 to 66", 66.0, ()),
        ("修改胡斌的分数：74，理由：复核", 74.0, ()),
        ("override 1024 80 noisy recording", 80.0, (1024,)),
        ("把张三的分数改成0分", 0.0, ()),
        ("把张三的分数改成100", 100.0, ()),
        ("把张三的分数改成120分", None, ()),
        ("4410分数改为120", None, (4410,)),
        ("override 1024 score to 150", None, (1024,)),
        ("把1024的决定改为进入下一轮", None, (1024,)),
    ],
)
def test_override_score(hr: HrNLU, text: str, score: float | None, ids: tuple[int, ...]) -> None:
    p = parse(hr, text)
    assert p.intent == "hr_override_score"
    assert (p.score, p.candidate_ids) == (score, ids)


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("把1024的决定改为进入下一轮，原因：业务部门特批", "next_round"),
        ("3071的决定改为不通过，原因：背景调查有问题", "reject"),
        ("郑凯改为暂缓，理由是等岗位编制", "hold"),
        ("override Li Na to reject because she withdrew", "reject"),
        ("override David Liu's result to hold, pending headcount", "hold"),
        ("override 2048 to next round, reason: business unit request", "next_round"),
        ("把张三的分数改成75，原因：可以进入下一轮", None),  # in the reason only
        ("override 1024 score to 80", None),
    ],
)
def test_override_decision(hr: HrNLU, text: str, decision: str | None) -> None:
    assert parse(hr, text).decision == decision


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("把张三的分数改成75，原因：现场面试表现好", "现场面试表现好"),
        ("李娜的分数调整为82分，理由是录音有噪音", "录音有噪音"),
        ("王小明的得分改为68，因为系统转写有误", "系统转写有误"),
        ("override 1024 score to 80 because the recording was noisy", "the recording was noisy"),
        ("change Li Na's score to 75, reason: strong onsite interview", "strong onsite interview"),
        ("1536号淘汰，原因：专业知识不足", "专业知识不足"),
        ("adjust Wang Fang's score to 68", None),
    ],
)
def test_reason(hr: HrNLU, text: str, reason: str | None) -> None:
    assert parse(hr, text).reason == reason


def test_reason_text_is_not_read_for_other_entities(hr: HrNLU) -> None:
    p = parse(hr, "把张三的分数改成75，原因：李娜说1024号在12月3日下午两点录音有噪音")
    assert p.names == ("张三",) and p.candidate_ids == () and p.times == () and p.score == 75.0


# --- times --------------------------------------------------------------------------------------------
def test_next_round_times(hr: HrNLU) -> None:
    p = parse(hr, "邀请张三进入下一轮，时间下周一上午十点或周二下午两点")
    assert p.intent == "hr_invite_next_round" and p.names == ("张三",)
    assert p.times == (at(11, 30, 10), at(12, 1, 14))
    assert all(t.tzinfo is not None and t.utcoffset() == NOW.utcoffset() for t in p.times)
    p = parse(hr, "invite 1024 to the next round, 1 Dec 10am or 2 Dec 3pm")
    assert (p.candidate_ids, p.times) == ((1024,), (at(12, 1, 10), at(12, 2, 15)))
    p = parse(hr, "安排周杰下一轮面试，12月3日14:00")
    assert p.times == (at(12, 3, 14),)


def test_a_date_without_a_time_is_a_slot_day_only_for_next_round(hr: HrNLU) -> None:
    assert parse(hr, "invite 1024 to the next round next Tuesday").times == (at(12, 1, 0),)
    assert parse(hr, "李娜确认入职了，下周一报到").times == ()


# --- slash commands -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/status 1024", {"intent": "hr_candidate_status", "candidate_ids": (1024,)}),
        ("／status 1024", {"intent": "hr_candidate_status", "candidate_ids": (1024,)}),
        ("/STATUS #1024", {"intent": "hr_candidate_status", "candidate_ids": (1024,)}),
        ("  /Status 张三", {"intent": "hr_candidate_status", "names": ("张三",)}),
        ("/status Li Na", {"intent": "hr_candidate_status", "names": ("Li Na",)}),
        ("/status@TalentBot 1024", {"intent": "hr_candidate_status", "candidate_ids": (1024,)}),
        (
            "/list overdue teller",
            {"intent": "hr_list_candidates", "states": ("overdue",), "position": "teller"},
        ),
        (
            "/list completed next_round RM 本月",
            {
                "intent": "hr_list_candidates",
                "states": ("completed", "next_round"),
                "position": "RM",
                "period": (date(2026, 11, 1), date(2026, 11, 30)),
            },
        ),
        ("/list", {"intent": "hr_list_candidates", "states": ()}),
        ("/remind all", {"intent": "hr_remind_candidates", "all": True}),
        ("/remind overdue", {"intent": "hr_remind_candidates", "all": True, "states": ("overdue",)}),
        ("/remind 1024", {"intent": "hr_remind_candidates", "candidate_ids": (1024,), "all": False}),
        ("/priority 1024", {"intent": "hr_mark_priority", "candidate_ids": (1024,), "negate": False}),
        ("/priority 1024 off", {"intent": "hr_mark_priority", "candidate_ids": (1024,), "negate": True}),
        ("/priority Li Na off", {"intent": "hr_mark_priority", "names": ("Li Na",), "negate": True}),
        (
            "/next 1024 下周一上午十点 周二下午两点",
            {
                "intent": "hr_invite_next_round",
                "candidate_ids": (1024,),
                "times": (at(11, 30, 10), at(12, 1, 14)),
            },
        ),
        (
            "/next Li Na next monday 10am, tuesday 3pm",
            {"intent": "hr_invite_next_round", "names": ("Li Na",), "times": (at(11, 30, 10), at(12, 1, 15))},
        ),
        ("/reject 1024", {"intent": "hr_reject_candidate", "candidate_ids": (1024,)}),
        ("/offer 1024 15k", {"intent": "hr_send_offer", "candidate_ids": (1024,), "salary": 15000}),
        ("/offer 张三 1.5万", {"intent": "hr_send_offer", "names": ("张三",), "salary": 15000}),
        ("/offer 1024 15000", {"intent": "hr_send_offer", "salary": 15000}),
        ("/offer 1024", {"intent": "hr_send_offer", "salary": None}),
        ("/report 1024", {"intent": "hr_candidate_report", "candidate_ids": (1024,)}),
        (
            "/override 1024 75 录音有噪音",
            {"intent": "hr_override_score", "candidate_ids": (1024,), "score": 75.0, "reason": "录音有噪音"},
        ),
        (
            "/override 张三 next_round 业务部门特批",
            {
                "intent": "hr_override_score",
                "names": ("张三",),
                "decision": "next_round",
                "reason": "业务部门特批",
            },
        ),
        (
            "/override Li Na hold because waiting for headcount",
            {"intent": "hr_override_score", "decision": "hold", "reason": "waiting for headcount"},
        ),
        ("/override 1024 150 typo", {"intent": "hr_override_score", "score": None, "reason": "typo"}),
        (
            "/funnel teller 2026",
            {
                "intent": "hr_funnel_stats",
                "position": "teller",
                "period": (date(2026, 1, 1), date(2026, 12, 31)),
            },
        ),
        (
            "/bias RISK Q3",
            {"intent": "hr_bias_audit", "position": "RISK", "period": (date(2026, 7, 1), date(2026, 9, 30))},
        ),
        ("/hired 1024", {"intent": "hr_hired", "candidate_ids": (1024,)}),
        ("/help", {"intent": "help"}),
        ("/HELP", {"intent": "help"}),
    ],
)
def test_slash_commands(hr: HrNLU, text: str, expected: dict[str, object]) -> None:
    p = parse(hr, text)
    assert (p.slash, p.confidence) == (True, 1.0)
    assert {k: getattr(p, k) for k in expected} == expected


@pytest.mark.parametrize("text", ["/foo 1024", "/状态 1024", "/statuss 1024", "／unknown"])
def test_unknown_slash_command_is_fallback(hr: HrNLU, text: str) -> None:
    p = parse(hr, text)
    assert (p.intent, p.slash, p.candidate_ids) == (FALLBACK, True, ())


def test_every_slash_command_maps_to_an_intent() -> None:
    assert set(SLASH_COMMANDS.values()) <= set(INTENTS)
    assert set(SLASH_COMMANDS) == {
        "status", "list", "remind", "priority", "next", "reject", "offer", "report", "override", "funnel",
        "bias", "hired", "help",
    }  # fmt: skip


# --- odd input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "？？？",
        "🙂",
        "👍👍👍",
        "1024",
        "0",
        "99999999999999999999",
        "3.14159",
        "#",
        "号",
        "/",
        "/ ",
        "／",
        "\x00\x01\u200b",
        "张" * 3000,
        "1024 " * 600,
        "给张三发offer，月薪1.5万。" * 200,
        "/status " + "Li " * 1000,
        "/next 1024 " + "明天 " * 800,
        "原因：",
        "because",
        "2026年13月的漏斗",
        "2月30日以来",
        "Q5 funnel",
        "月薪一万万万万",
        "override 1024 score to 1e9999",
    ],
)
def test_odd_input_never_raises(hr: HrNLU, text: str) -> None:
    p = parse(hr, text)
    assert p.text == text
    assert p.language in ("zh", "en")
    assert p.intent in (*INTENTS, FALLBACK)
    assert 0.0 <= p.confidence <= 1.0
    assert all(isinstance(i, int) for i in p.candidate_ids)
    assert p.score is None or 0 <= p.score <= 100


def test_blank_is_fallback_with_zero_confidence(hr: HrNLU) -> None:
    for text in ("", "   ", "？？", "👍", "🙂🙂", "$$$"):  # an emoji never confirms a pending action
        p = parse(hr, text)
        assert (p.intent, p.confidence, p.slash) == (FALLBACK, 0.0, False)


def test_only_digits_is_a_candidate_reference(hr: HrNLU) -> None:
    p = parse(hr, "1024")
    assert (p.intent, p.candidate_ids, p.times) == ("hr_candidate_status", (1024,), ())
    assert parse(hr, "张三").names == ("张三",)


def test_long_input_is_cut(hr: HrNLU) -> None:
    text = "提醒1024" + "。" * MAX_CHARS + "提醒2048"
    p = parse(hr, text)
    assert p.text == text and p.candidate_ids == (1024,)


def test_naive_now_is_taken_in_the_bot_timezone(hr: HrNLU) -> None:
    p = hr.parse("邀请张三进入下一轮，明天上午十点", now=datetime(2026, 11, 25, 10, 0))
    assert p.times == (at(11, 26, 10),)
