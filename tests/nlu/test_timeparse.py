"""Tests for nlu.timeparse.find_times (fixed `now`: Wednesday 2026-11-25 10:00 Asia/Shanghai)."""

from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from nlu.timeparse import TimeMatch, find_times

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=SH)  # a Wednesday
YEAR_END = datetime(2026, 12, 31, 20, 0, tzinfo=SH)  # a Thursday
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def dt(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def only(text: str, now: datetime = NOW) -> TimeMatch:
    matches = find_times(text, now=now)
    assert len(matches) == 1, f"{text!r} -> {matches}"
    return matches[0]


def check_whole(text: str, expected: datetime, grain: str, now: datetime = NOW) -> None:
    m = only(text, now)
    assert (m.start, m.end, m.text) == (0, len(text), text)
    assert m.value == expected
    assert m.value.utcoffset() == expected.utcoffset()
    assert m.grain == grain
    assert m.has_time is (grain != "day")


# --------------------------------------------------------------------------- headline cases


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("下周三下午两点", dt(2026, 12, 2, 14), "hour"),
        ("后天下午3点半", dt(2026, 11, 27, 15, 30), "minute"),
        ("下下周一", dt(2026, 12, 7), "day"),
        ("tomorrow 10am", dt(2026, 11, 26, 10), "hour"),
        ("next Tuesday 3pm", dt(2026, 12, 1, 15), "hour"),
        ("Friday 9:30", dt(2026, 11, 27, 9, 30), "minute"),
    ],
)
def test_headline(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain)
    assert only(text).value.isoformat().endswith("+08:00")


# --------------------------------------------------------------------------- Chinese dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", dt(2026, 11, 25)),
        ("今日", dt(2026, 11, 25)),
        ("明天", dt(2026, 11, 26)),
        ("明日", dt(2026, 11, 26)),
        ("后天", dt(2026, 11, 27)),
        ("大后天", dt(2026, 11, 28)),
        # bare weekday: upcoming occurrence, today included
        ("周一", dt(2026, 11, 30)),
        ("周三", dt(2026, 11, 25)),
        ("周四", dt(2026, 11, 26)),
        ("周日", dt(2026, 11, 29)),
        ("周天", dt(2026, 11, 29)),
        ("星期一", dt(2026, 11, 30)),
        ("星期二", dt(2026, 12, 1)),
        ("星期日", dt(2026, 11, 29)),
        ("星期天", dt(2026, 11, 29)),
        ("礼拜一", dt(2026, 11, 30)),
        ("礼拜六", dt(2026, 11, 28)),
        ("礼拜天", dt(2026, 11, 29)),
        ("周5", dt(2026, 11, 27)),
        ("周末", dt(2026, 11, 28)),
        # this calendar week, even if already past
        ("这周一", dt(2026, 11, 23)),
        ("这周五", dt(2026, 11, 27)),
        ("本周五", dt(2026, 11, 27)),
        ("本周日", dt(2026, 11, 29)),
        # next calendar week (weeks start Monday)
        ("下周一", dt(2026, 11, 30)),
        ("下周三", dt(2026, 12, 2)),
        ("下周日", dt(2026, 12, 6)),
        ("下个星期五", dt(2026, 12, 4)),
        ("下星期二", dt(2026, 12, 1)),
        ("下礼拜二", dt(2026, 12, 1)),
        ("下个礼拜天", dt(2026, 12, 6)),
        ("下下周一", dt(2026, 12, 7)),
        ("下下周五", dt(2026, 12, 11)),
        ("下周", dt(2026, 11, 30)),
        ("下周末", dt(2026, 12, 5)),
        # month/day
        ("12月3日", dt(2026, 12, 3)),
        ("12月3号", dt(2026, 12, 3)),
        ("十二月三日", dt(2026, 12, 3)),
        ("1月5日", dt(2027, 1, 5)),  # already past this year -> next year
        ("11月25日", dt(2026, 11, 25)),  # today
        ("3号", dt(2026, 12, 3)),  # past this month -> next month
        ("3日", dt(2026, 12, 3)),
        ("30号", dt(2026, 11, 30)),
        ("25号", dt(2026, 11, 25)),  # today counts as not past
        ("二十号", dt(2026, 12, 20)),
        ("三十日", dt(2026, 11, 30)),
        ("下个月3号", dt(2026, 12, 3)),
        ("2026年12月3日", dt(2026, 12, 3)),
        ("2027年1月15号", dt(2027, 1, 15)),
        ("二〇二六年十二月三日", dt(2026, 12, 3)),
        ("2026-12-03", dt(2026, 12, 3)),
        ("2026/12/03", dt(2026, 12, 3)),
    ],
)
def test_chinese_dates(text: str, expected: datetime) -> None:
    check_whole(text, expected, "day")


# --------------------------------------------------------------------------- Chinese times


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("下午两点", dt(2026, 11, 25, 14), "hour"),
        ("下午3点", dt(2026, 11, 25, 15), "hour"),
        ("下午3点半", dt(2026, 11, 25, 15, 30), "minute"),
        ("下午3点一刻", dt(2026, 11, 25, 15, 15), "minute"),
        ("下午三点三刻", dt(2026, 11, 25, 15, 45), "minute"),
        ("下午3点15分", dt(2026, 11, 25, 15, 15), "minute"),
        ("下午3点15", dt(2026, 11, 25, 15, 15), "minute"),
        ("下午三点十五分", dt(2026, 11, 25, 15, 15), "minute"),
        ("下午三点三十分", dt(2026, 11, 25, 15, 30), "minute"),
        ("下午三点零五", dt(2026, 11, 25, 15, 5), "minute"),
        ("下午3:30", dt(2026, 11, 25, 15, 30), "minute"),
        ("下午3时", dt(2026, 11, 25, 15), "hour"),
        ("下午 3点", dt(2026, 11, 25, 15), "hour"),
        ("中午12点", dt(2026, 11, 25, 12), "hour"),
        ("中午1点", dt(2026, 11, 25, 13), "hour"),
        ("晚上8点", dt(2026, 11, 25, 20), "hour"),
        ("晚8点", dt(2026, 11, 25, 20), "hour"),
        ("傍晚6点", dt(2026, 11, 25, 18), "hour"),
        ("晚上12点", dt(2026, 11, 26, 0), "hour"),  # midnight = start of next day
        ("上午11点", dt(2026, 11, 25, 11), "hour"),
        ("上午十一点", dt(2026, 11, 25, 11), "hour"),
        ("早上8点", dt(2026, 11, 26, 8), "hour"),  # 08:00 already past -> tomorrow
        ("早8点半", dt(2026, 11, 26, 8, 30), "minute"),
        ("凌晨2点", dt(2026, 11, 26, 2), "hour"),
        ("8时30分", dt(2026, 11, 26, 8, 30), "minute"),
        ("3点", dt(2026, 11, 25, 15), "hour"),  # office-hours bias: 1-6 -> afternoon
        ("6点", dt(2026, 11, 25, 18), "hour"),
        ("7点", dt(2026, 11, 26, 7), "hour"),  # 7-12 as written
        ("10点", dt(2026, 11, 26, 10), "hour"),  # == now, not in the future -> tomorrow
        ("11点", dt(2026, 11, 25, 11), "hour"),
        ("十一点", dt(2026, 11, 25, 11), "hour"),
        ("十二点", dt(2026, 11, 25, 12), "hour"),
        ("两点", dt(2026, 11, 25, 14), "hour"),
        ("一点半", dt(2026, 11, 25, 13, 30), "minute"),
        ("三点钟", dt(2026, 11, 25, 15), "hour"),
        ("15:30", dt(2026, 11, 25, 15, 30), "minute"),
        ("１０：３０", dt(2026, 11, 25, 10, 30), "minute"),  # fullwidth digits and colon
    ],
)
def test_chinese_times(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain)


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("明天 10:00", dt(2026, 11, 26, 10), "minute"),
        ("明天10点", dt(2026, 11, 26, 10), "hour"),
        ("明天3点", dt(2026, 11, 26, 15), "hour"),
        ("明天一点", dt(2026, 11, 26, 13), "hour"),
        ("明天上午9点", dt(2026, 11, 26, 9), "hour"),
        ("明天早上8点半", dt(2026, 11, 26, 8, 30), "minute"),
        ("明天下午 3 点", dt(2026, 11, 26, 15), "hour"),
        ("今天下午3点", dt(2026, 11, 25, 15), "hour"),
        ("今天上午9点", dt(2026, 11, 25, 9), "hour"),  # explicit date: kept even if past
        ("今晚8点", dt(2026, 11, 25, 20), "hour"),
        ("明早9点", dt(2026, 11, 26, 9), "hour"),
        ("周五下午3点", dt(2026, 11, 27, 15), "hour"),
        ("周五的下午3点", dt(2026, 11, 27, 15), "hour"),
        ("周五9:30", dt(2026, 11, 27, 9, 30), "minute"),
        ("星期五晚上7点", dt(2026, 11, 27, 19), "hour"),
        ("下周一上午10点半", dt(2026, 11, 30, 10, 30), "minute"),
        ("下个礼拜三下午两点", dt(2026, 12, 2, 14), "hour"),
        ("3号下午2点", dt(2026, 12, 3, 14), "hour"),
        ("12月3日上午10点", dt(2026, 12, 3, 10), "hour"),
        ("2026-12-03 14:00", dt(2026, 12, 3, 14), "minute"),
        ("2026-12-03T10:00", dt(2026, 12, 3, 10), "minute"),
        ("明天３pm", dt(2026, 11, 26, 15), "hour"),
        # a date followed by a period of day but no time stays a date
        ("明天下午", dt(2026, 11, 26), "day"),
        ("礼拜三下午", dt(2026, 11, 25), "day"),
    ],
)
def test_chinese_date_and_time_is_one_match(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain)


# --------------------------------------------------------------------------- English


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", dt(2026, 11, 25)),
        ("Today", dt(2026, 11, 25)),
        ("tomorrow", dt(2026, 11, 26)),
        ("TOMORROW", dt(2026, 11, 26)),
        ("tmrw", dt(2026, 11, 26)),
        ("the day after tomorrow", dt(2026, 11, 27)),
        ("day after tomorrow", dt(2026, 11, 27)),
        ("tonight", dt(2026, 11, 25)),
        ("monday", dt(2026, 11, 30)),
        ("Tuesday", dt(2026, 12, 1)),
        ("wednesday", dt(2026, 11, 25)),  # today
        ("Thursday", dt(2026, 11, 26)),
        ("friday", dt(2026, 11, 27)),
        ("Saturday", dt(2026, 11, 28)),
        ("Sunday", dt(2026, 11, 29)),
        ("mon", dt(2026, 11, 30)),
        ("tue", dt(2026, 12, 1)),
        ("tues", dt(2026, 12, 1)),
        ("wed", dt(2026, 11, 25)),
        ("thu", dt(2026, 11, 26)),
        ("thur", dt(2026, 11, 26)),
        ("thurs", dt(2026, 11, 26)),
        ("fri", dt(2026, 11, 27)),
        ("Sat", dt(2026, 11, 28)),
        ("Sun", dt(2026, 11, 29)),
        ("this Monday", dt(2026, 11, 23)),  # this calendar week, even if past
        ("this friday", dt(2026, 11, 27)),
        ("next Monday", dt(2026, 11, 30)),
        ("next tuesday", dt(2026, 12, 1)),
        ("next Friday", dt(2026, 12, 4)),  # Friday of next calendar week, like 下周五
        ("next Wednesday", dt(2026, 12, 2)),
        ("Friday next week", dt(2026, 12, 4)),
        ("next week Tuesday", dt(2026, 12, 1)),
        ("next week", dt(2026, 11, 30)),
        ("this sat", dt(2026, 11, 28)),
        ("Dec 3", dt(2026, 12, 3)),
        ("dec 3", dt(2026, 12, 3)),
        ("Dec. 3rd", dt(2026, 12, 3)),
        ("December 3rd", dt(2026, 12, 3)),
        ("December 3, 2026", dt(2026, 12, 3)),
        ("3 December", dt(2026, 12, 3)),
        ("3rd of December", dt(2026, 12, 3)),
        ("the 3rd of December", dt(2026, 12, 3)),
        ("Jan 5", dt(2027, 1, 5)),  # past this year -> next year
        ("May 3", dt(2027, 5, 3)),
        ("12/03", dt(2026, 12, 3)),
        ("12/3", dt(2026, 12, 3)),
        ("1/15", dt(2027, 1, 15)),
        ("12/03/2026", dt(2026, 12, 3)),
        ("2026-12-03", dt(2026, 12, 3)),
    ],
)
def test_english_dates(text: str, expected: datetime) -> None:
    check_whole(text, expected, "day")


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("3pm", dt(2026, 11, 25, 15), "hour"),
        ("3 pm", dt(2026, 11, 25, 15), "hour"),
        ("3PM", dt(2026, 11, 25, 15), "hour"),
        ("3 p.m.", dt(2026, 11, 25, 15), "hour"),
        ("3:30pm", dt(2026, 11, 25, 15, 30), "minute"),
        ("9:30 am", dt(2026, 11, 26, 9, 30), "minute"),
        ("10am", dt(2026, 11, 26, 10), "hour"),  # == now -> tomorrow
        ("11am", dt(2026, 11, 25, 11), "hour"),
        ("12am", dt(2026, 11, 26, 0), "hour"),
        ("12pm", dt(2026, 11, 25, 12), "hour"),
        ("ten pm", dt(2026, 11, 25, 22), "hour"),
        ("15:30", dt(2026, 11, 25, 15, 30), "minute"),
        ("9:30", dt(2026, 11, 26, 9, 30), "minute"),  # bias: 9 -> morning, past -> tomorrow
        ("3:30", dt(2026, 11, 25, 15, 30), "minute"),  # bias: 3 -> afternoon
        ("03:00", dt(2026, 11, 26, 3), "minute"),  # zero-padded: literal 24h clock
        ("noon", dt(2026, 11, 25, 12), "hour"),
        ("12 noon", dt(2026, 11, 25, 12), "hour"),
        ("midnight", dt(2026, 11, 26, 0), "hour"),
        ("at 10", dt(2026, 11, 26, 10), "hour"),
        ("at 11", dt(2026, 11, 25, 11), "hour"),
        ("at 2", dt(2026, 11, 25, 14), "hour"),
        ("10 o'clock", dt(2026, 11, 26, 10), "hour"),
        ("two o'clock", dt(2026, 11, 25, 14), "hour"),
        ("half past 2", dt(2026, 11, 25, 14, 30), "minute"),  # afternoon bias
        ("half past ten", dt(2026, 11, 25, 10, 30), "minute"),
        ("quarter past 3", dt(2026, 11, 25, 15, 15), "minute"),
        ("quarter to 4", dt(2026, 11, 25, 15, 45), "minute"),
        ("3 in the afternoon", dt(2026, 11, 25, 15), "hour"),
        ("at 10 in the morning", dt(2026, 11, 26, 10), "hour"),
        ("at 8 tonight", dt(2026, 11, 25, 20), "hour"),
    ],
)
def test_english_times(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain)


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("tomorrow 10am", dt(2026, 11, 26, 10), "hour"),
        ("tomorrow at 3pm", dt(2026, 11, 26, 15), "hour"),
        ("Tomorrow, 3pm", dt(2026, 11, 26, 15), "hour"),
        ("tomorrow @ 3pm", dt(2026, 11, 26, 15), "hour"),
        ("3pm tomorrow", dt(2026, 11, 26, 15), "hour"),
        ("at 10 tomorrow", dt(2026, 11, 26, 10), "hour"),
        ("tomorrow at 10", dt(2026, 11, 26, 10), "hour"),
        ("today at 9", dt(2026, 11, 25, 9), "hour"),  # explicit date kept even if past
        ("next Tuesday 3pm", dt(2026, 12, 1, 15), "hour"),
        ("next tuesday at 3:30 pm", dt(2026, 12, 1, 15, 30), "minute"),
        ("Tuesday 3pm next week", dt(2026, 12, 1, 15), "hour"),
        ("Friday 9:30", dt(2026, 11, 27, 9, 30), "minute"),
        ("Friday at 9:30", dt(2026, 11, 27, 9, 30), "minute"),
        ("friday 3pm", dt(2026, 11, 27, 15), "hour"),
        ("FRIDAY 3PM", dt(2026, 11, 27, 15), "hour"),
        ("thurs 2pm", dt(2026, 11, 26, 14), "hour"),
        ("sat 10am", dt(2026, 11, 28, 10), "hour"),
        ("2pm on Friday", dt(2026, 11, 27, 14), "hour"),
        ("10:30 on Dec 3", dt(2026, 12, 3, 10, 30), "minute"),
        ("Dec 3 at 10:30", dt(2026, 12, 3, 10, 30), "minute"),
        ("December 3, 2026 at 3:30 pm", dt(2026, 12, 3, 15, 30), "minute"),
        ("3 December 10am", dt(2026, 12, 3, 10), "hour"),
        ("12/03 3pm", dt(2026, 12, 3, 15), "hour"),
        ("tonight at 8", dt(2026, 11, 25, 20), "hour"),
        ("this afternoon at 3", dt(2026, 11, 25, 15), "hour"),
        ("tomorrow morning at 10", dt(2026, 11, 26, 10), "hour"),
        ("tomorrow evening at 7", dt(2026, 11, 26, 19), "hour"),
        ("at 3 tomorrow afternoon", dt(2026, 11, 26, 15), "hour"),
        ("the day after tomorrow at noon", dt(2026, 11, 27, 12), "hour"),
        ("next week Tuesday at 2", dt(2026, 12, 1, 14), "hour"),
        ("tomorrow morning", dt(2026, 11, 26), "day"),
    ],
)
def test_english_date_and_time_is_one_match(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain)


# --------------------------------------------------------------------------- offsets


def test_offsets_inside_sentence_chinese() -> None:
    text = "您好，我想约下周三下午两点，谢谢"
    m = only(text)
    assert (m.start, m.end, m.text) == (6, 13, "下周三下午两点")
    assert text[m.start : m.end] == m.text


def test_offsets_on_dec_3_excludes_leading_on() -> None:
    m = only("Can we do it on Dec 3 at 10:30?")
    assert (m.start, m.end, m.text) == (16, 30, "Dec 3 at 10:30")
    assert m.value == dt(2026, 12, 3, 10, 30)


def test_multiple_matches_left_to_right() -> None:
    text = "明天上午10点或者后天下午3点半都可以"
    ms = find_times(text, now=NOW)
    assert [(m.start, m.end, m.text) for m in ms] == [(0, 7, "明天上午10点"), (9, 16, "后天下午3点半")]
    assert [m.value for m in ms] == [dt(2026, 11, 26, 10), dt(2026, 11, 27, 15, 30)]


def test_multiple_matches_english() -> None:
    text = "How about next Tuesday 3pm or Friday 9:30?"
    ms = find_times(text, now=NOW)
    assert [m.text for m in ms] == ["next Tuesday 3pm", "Friday 9:30"]
    assert [(m.start, m.end) for m in ms] == [(10, 26), (30, 41)]


def test_ranges_give_two_matches() -> None:
    ms = find_times("下午2点到4点", now=NOW)
    assert [(m.text, m.value) for m in ms] == [
        ("下午2点", dt(2026, 11, 25, 14)),
        ("4点", dt(2026, 11, 25, 16)),
    ]
    ms = find_times("10:30-11:30", now=NOW)
    assert [(m.start, m.end) for m in ms] == [(0, 5), (6, 11)]


def test_fullwidth_text_keeps_original_characters() -> None:
    m = only("好的 明天１０：３０ 见")
    assert (m.start, m.end, m.text) == (3, 10, "明天１０：３０")
    assert m.value == dt(2026, 11, 26, 10, 30)


def test_longest_match_wins() -> None:
    assert only("大后天").value == dt(2026, 11, 28)  # not 后天
    assert only("下下周一").text == "下下周一"  # not 下周一
    assert only("the day after tomorrow").value == dt(2026, 11, 27)


# --------------------------------------------------------------------------- no matches


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "2",
        "第2个",
        "我选第3个",
        "选3",
        "1",
        "K7M2-9QXP",
        "7KM29QXP",
        "my code is K3PM-2AM7",
        "13800138000",
        "电话 138-0013-8000",
        "+86 21 6888 8888",
        "I have 3 years experience",
        "top 10",
        "3 slots",
        "I'd like one of the 3 slots",
        "at 10 people",
        "GPA 3.8",
        "1/2",
        "选1/2都可以",
        "早一点",
        "晚一点可以吗",
        "差一点",
        "有两点要说",
        "第三点",
        "一周一次",
        "两个星期",
        "下周期",
        "然后天气不错",
        "这周天气不错",
        "3号楼",
        "1号线",
        "三日内回复",
        "I sat the exam",
        "see you sun",
        "option 3 may work",
        "c'mon",
        "the 3rd option",
        "version 2.1.3",
        "您好，请问面试地点在哪里？",
    ],
)
def test_no_match(text: str) -> None:
    assert find_times(text, now=NOW) == []


# --------------------------------------------------------------------------- impossible dates


@pytest.mark.parametrize(
    "text",
    [
        "2月30日",
        "2月30号",
        "2027年2月29日",
        "13月1日",
        "32号",
        "Feb 30",
        "February 30th",
        "30 Feb",
        "Dec 32",
        "13/03",
        "2026-02-30",
        "2026-13-01",
        "25点",
        "24点",
        "下午25点",
        "上午15点",
        "3点60分",
        "13:75",
        "25:00",
        "13pm",
        "0am",
        "2月30日下午3点",
        "Feb 30 at 3pm",
    ],
)
def test_impossible_dates_give_no_match(text: str) -> None:
    assert find_times(text, now=NOW) == []


def test_impossible_date_does_not_swallow_neighbours() -> None:
    ms = find_times("2月30日不行，12月3日可以", now=NOW)
    assert [(m.text, m.value) for m in ms] == [("12月3日", dt(2026, 12, 3))]


def test_leap_day_when_it_exists() -> None:
    check_whole("2028年2月29日", dt(2028, 2, 29), "day")


# --------------------------------------------------------------------------- other `now`s


@pytest.mark.parametrize(
    ("text", "expected", "grain"),
    [
        ("明天上午9点", dt(2027, 1, 1, 9), "hour"),
        ("tomorrow 9am", dt(2027, 1, 1, 9), "hour"),
        ("9点", dt(2027, 1, 1, 9), "hour"),  # past today -> tomorrow, across the year
        ("今晚11点", dt(2026, 12, 31, 23), "hour"),
        ("晚上12点", dt(2027, 1, 1, 0), "hour"),
        ("midnight", dt(2027, 1, 1, 0), "hour"),
        ("下周一", dt(2027, 1, 4), "day"),
        ("3号", dt(2027, 1, 3), "day"),
        ("1月2日", dt(2027, 1, 2), "day"),
        ("Jan 2", dt(2027, 1, 2), "day"),
        ("周五", dt(2027, 1, 1), "day"),
        ("后天下午两点", dt(2027, 1, 2, 14), "hour"),
    ],
)
def test_year_end(text: str, expected: datetime, grain: str) -> None:
    check_whole(text, expected, grain, now=YEAR_END)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("周一", dt(2026, 11, 23)),
        ("monday", dt(2026, 11, 23)),
        ("this monday", dt(2026, 11, 23)),
        ("这周一", dt(2026, 11, 23)),
        ("next monday", dt(2026, 11, 30)),
        ("下周一", dt(2026, 11, 30)),
        ("下周二", dt(2026, 12, 1)),  # not tomorrow: next calendar week
        ("周二", dt(2026, 11, 24)),
        ("next week", dt(2026, 11, 30)),
    ],
)
def test_weekday_when_today_is_monday(text: str, expected: datetime) -> None:
    check_whole(text, expected, "day", now=MONDAY)


def test_values_use_now_timezone() -> None:
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    m = only("tomorrow 10am", now)
    assert m.value == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert m.value.tzinfo is UTC


def test_time_match_is_frozen() -> None:
    m = only("明天")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.start = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- robustness / speed


SAMPLES = [
    "下周三下午两点可以吗？",
    "后天下午3点半",
    "tomorrow 10am works for me",
    "How about next Tuesday 3pm or Friday 9:30?",
    "好的，我选第2个",
    "My invitation code is K7M2-9QXP",
    "明天 10:00 或者 周五下午",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_matches_are_sorted_non_overlapping_and_consistent(text: str) -> None:
    ms = find_times(text, now=NOW)
    for a, b in zip(ms, ms[1:], strict=False):
        assert a.end <= b.start
    for m in ms:
        assert text[m.start : m.end] == m.text
        assert m.value.tzinfo is NOW.tzinfo
        assert m.grain in ("day", "hour", "minute")
        assert m.has_time is (m.grain != "day")
        if m.grain == "day":
            assert (m.value.hour, m.value.minute) == (0, 0)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 10_000,
        " " * 10_000,
        "点" * 10_000,
        "一" * 10_000,
        "下" * 10_000,
        "下午" * 5_000,
        "at " * 3_333,
        "12:" * 3_333,
        "2026-" * 2_000,
        "next " * 2_000,
        "1/" * 5_000,
        ("明天下午3点 " * 1_500)[:10_000],
        ("Dec 3 at 10:30, " * 700)[:10_000],
    ],
)
def test_long_inputs_are_fast(text: str) -> None:
    t0 = time.perf_counter()
    ms = find_times(text, now=NOW)
    assert time.perf_counter() - t0 < 1.0
    assert all(text[m.start : m.end] == m.text for m in ms)


def test_long_input_matches_everything() -> None:
    text = "明天下午3点 " * 1_000
    ms = find_times(text, now=NOW)
    assert len(ms) == 1_000
    assert {m.value for m in ms} == {dt(2026, 11, 26, 15)}


def test_median_parse_time_under_0_2_ms() -> None:
    for text in SAMPLES:  # warm up
        find_times(text, now=NOW)
    timings = []
    for _ in range(200):
        for text in SAMPLES:
            t0 = time.perf_counter()
            find_times(text, now=NOW)
            timings.append(time.perf_counter() - t0)
    assert statistics.median(timings) < 0.2e-3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昨天下午3点", datetime(2026, 11, 24, 15, 0, tzinfo=SH)),
        ("前天", datetime(2026, 11, 23, tzinfo=SH)),
        ("yesterday 3pm", datetime(2026, 11, 24, 15, 0, tzinfo=SH)),
    ],
)
def test_past_days_are_recognised_so_they_can_be_refused(text: str, expected: datetime) -> None:
    [m] = find_times(text, now=NOW)
    assert m.value == expected and m.text == text
