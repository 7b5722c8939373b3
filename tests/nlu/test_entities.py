from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import nlu.entities
from nlu.entities import extract_entities, find_choice, find_invite_codes
from nlu.language import fold

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # a Wednesday


def codes(text: str) -> list[str]:
    return [code for _, _, code in find_invite_codes(fold(text))]


@pytest.mark.parametrize(
    "text",
    [
        "K7M2-9QXP",
        "k7m2-9qxp",
        "K7M29QXP",
        "k7m29qxp",
        "我的邀请码是K7M2-9QXP谢谢",
        "my code is K7M2–9QXP.",  # en dash
        "Ｋ７Ｍ２－９ＱＸＰ",  # full width
        "K7M2 9QXP",
        "code:K7M2-9QXP",
        "(K7M2-9QXP)",
        "my code is K7M2-9QXP. thanks",
    ],
)
def test_invite_code_forms(text: str) -> None:
    assert codes(text) == ["K7M29QXP"]


@pytest.mark.parametrize(
    "text",
    [
        "schedule",
        "tomorrow",
        "password",
        "SCHEDULE",
        "interview",
        "ABCD-EFGH",  # no digit
        "2345-6789",  # no letter
        "K7M2-9QXP-ABCD",  # part of a longer run
        "XK7M2-9QXP",
        "K7M2-9QXPZ",
        "CASE 2345",  # space-separated halves need a digit each
        "K1M2-9QXP",  # 1 is not in the alphabet
        "KOM2-9QXP",  # neither is O
        "K7M2-9QX",  # too short
        "I have 3 years",
        "abc2defg@example.com",
        "mail me at x@abc2defg.com",
        "https://example.com/abc2defg",
        "www.abc2defg.com",
    ],
)
def test_not_invite_codes(text: str) -> None:
    assert codes(text) == []


def test_invite_code_span_indexes_original_text() -> None:
    text = "邀请码：ｋ７ｍ２－９ｑｘｐ，谢谢"
    (entity,) = extract_entities(text, fold(text), now=NOW)
    assert entity.entity == "invite_code"
    assert entity.value == "K7M29QXP"
    assert text[entity.start : entity.end] == "ｋ７ｍ２－９ｑｘｐ"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2),
        ("2.", 2),
        ("第二个", 2),
        ("第2个", 2),
        ("我选第三个吧", 3),
        ("选3", 3),
        ("就第一个吧", 1),
        ("选项2", 2),
        ("第十一个", 11),
        ("the second one", 2),
        ("option 2", 2),
        ("Option 2 please", 2),
        ("#3", 3),
        ("I'll take 3", 3),
        ("the 2nd one", 2),
        ("one", 1),
    ],
)
def test_choice(text: str, value: int) -> None:
    found = find_choice(fold(text))
    assert found is not None
    start, end, got = found
    assert got == value
    assert text[start:end]


@pytest.mark.parametrize(
    "text",
    [
        "I have 3 years of experience",
        "3pm",
        "两个",
        "三个人",
        "88",  # bye-bye in Chinese chat
        "886",
        "3号",
        "我想约下周三下午两点",
        "two people",
        "",
    ],
)
def test_not_choice(text: str) -> None:
    assert find_choice(fold(text)) is None


def test_time_entity() -> None:
    text = "我想约下周三下午两点"
    (entity,) = extract_entities(text, fold(text), now=NOW)
    assert entity.entity == "time"
    assert text[entity.start : entity.end] == "下周三下午两点"
    assert entity.value == "2026-12-02T14:00:00+08:00"
    assert entity.extra["grain"] == "hour"
    assert entity.to_rasa()["grain"] == "hour"


def test_english_time_entity() -> None:
    text = "can we do tomorrow at 10am?"
    (entity,) = extract_entities(text, fold(text), now=NOW)
    assert entity.value == "2026-11-26T10:00:00+08:00"
    assert entity.extra["grain"] == "hour"


def test_code_and_time_together_sorted() -> None:
    text = "明天下午3点，邀请码 K7M2-9QXP"
    entities = extract_entities(text, fold(text), now=NOW)
    assert [e.entity for e in entities] == ["time", "invite_code"]


def test_time_parser_failure_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str, *, now: datetime) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(nlu.entities, "find_times", broken)
    text = "K7M2-9QXP 明天"
    entities = extract_entities(text, fold(text), now=NOW)
    assert [e.entity for e in entities] == ["invite_code"]
