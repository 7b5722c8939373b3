"""Rejection feedback: what it names (strengths best first, gaps weakest first, never an unassessed
indicator), what it never says (numbers, other indicators), and its wording in both languages."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flows.feedback import (
    GAP_BELOW,
    MAX_ITEMS,
    STRENGTH_AT,
    Feedback,
    join_items,
    load_feedback_catalog,
    rejection_feedback,
)
from scoring.questions import INDICATOR_NAMES, INDICATORS

CONTACT = {"zh": "招聘专员 王老师，recruit@demobank.example", "en": "Ms Wang, recruit@demobank.example"}
BANK = {"zh": "示范银行", "en": "Demo Bank"}
POSITION = {"zh": "综合柜员", "en": "Bank Teller"}
NAME = {"zh": "张伟", "en": "Zhang Wei"}
LANGS = ("zh", "en")
CATALOG = load_feedback_catalog()


def fb(scores: dict[str, float | None], lang: str) -> Feedback:
    texts = "zh" if lang.startswith("zh") else "en"
    return rejection_feedback(
        scores,
        lang=lang,
        name=NAME[texts],
        position_title=POSITION[texts],
        bank_name=BANK[texts],
        contact=CONTACT[texts],
    )


def phrase(key: str, lang: str) -> str:
    return CATALOG.indicators[key][lang]


def mentioned(text: str, lang: str) -> set[str]:
    """The indicators a text names (by their phrase or their plain name)."""
    return {
        k
        for k in INDICATORS
        if phrase(k, lang).lower() in text.lower() or INDICATOR_NAMES[k].get(lang).lower() in text.lower()
    }


def assert_common(f: Feedback, lang: str) -> None:
    """What every message does: greets, thanks, decides kindly, retention, human review, contact,
    wishes well; and never shows a digit."""
    assert not any(c.isdigit() for c in f.text), f.text
    assert CONTACT[lang] in f.text and BANK[lang] in f.text and POSITION[lang] in f.text
    if lang == "zh":
        assert f.text.startswith("张伟，您好：")
        for part in ("感谢", "很遗憾", "这次我们将不再推进", "六个月", "查阅、复制或删除", "复核", "祝您"):
            assert part in f.text, part
    else:
        assert f.text.startswith("Dear Zhang Wei,")
        for part in (
            "Thank you",
            "this time we will not move forward",
            "six months",
            "see, copy or delete",
            "review",
            "We wish you",
        ):
            assert part in f.text, part
    # at most two strengths and two gaps named, nothing else
    assert mentioned(f.text, lang) == set(f.strengths) | set(f.gaps)


@pytest.mark.parametrize("lang", LANGS)
def test_strengths_and_gaps_best_and_weakest_first(lang: str) -> None:
    scores: dict[str, float | None] = {
        "communication": 45,
        "logic": 52,
        "numeracy": 88,
        "risk": 74,
        "composure": 81,
        "learning": 65,
        "finance": 30,
        "customer": None,
    }
    f = fb(scores, lang)
    assert f.strengths == ("numeracy", "composure")
    assert f.gaps == ("finance", "communication")
    assert_common(f, lang)
    joiner = "和" if lang == "zh" else " and "
    assert phrase("numeracy", lang) + joiner + phrase("composure", lang) in f.text
    assert phrase("finance", lang) + joiner + phrase("communication", lang) in f.text
    # strengths come before the areas to develop
    assert f.text.index(phrase("numeracy", lang)) < f.text.index(phrase("finance", lang))
    if lang == "zh":
        assert "都符合岗位要求" in f.text and "还有提升空间" in f.text and "这两方面" in f.text
    else:
        assert "both met what the role asks for" in f.text and "as areas to develop" in f.text


def test_the_example_from_the_brief() -> None:
    f = fb({"numeracy": 80, "communication": 50}, "zh")
    assert "您的数值分析能力符合岗位要求" in f.text
    assert "您的沟通表达能力还有提升空间" in f.text
    f = fb({"numeracy": 80, "communication": 50}, "en")
    assert "your numerical analysis met what the role asks for" in f.text
    assert "We see communication skills as an area to develop" in f.text


@pytest.mark.parametrize("lang", LANGS)
def test_one_item_reads_differently_from_two(lang: str) -> None:
    one = fb({"risk": 90, "logic": 40}, lang)
    two = fb({"risk": 90, "customer": 85, "logic": 40, "learning": 41}, lang)
    assert (one.strengths, one.gaps) == (("risk",), ("logic",))
    assert (two.strengths, two.gaps) == (("risk", "customer"), ("logic", "learning"))
    if lang == "zh":
        assert "都符合" not in one.text and "这方面" in one.text
        assert "都符合" in two.text and "这两方面" in two.text
    else:
        assert "both" not in one.text and "an area to develop" in one.text
        assert "both met" in two.text and "areas to develop" in two.text
    assert_common(one, lang)
    assert_common(two, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_only_strengths(lang: str) -> None:
    f = fb({"communication": 95, "customer": 72, "finance": 71, "logic": 66}, lang)
    assert f.strengths == ("communication", "customer")  # finance is the third: not named
    assert f.gaps == ()
    assert_common(f, lang)
    assert ("还有提升空间" if lang == "zh" else "to develop") not in f.text


@pytest.mark.parametrize("lang", LANGS)
def test_only_gaps(lang: str) -> None:
    f = fb({"composure": 20, "learning": 55, "numeracy": 64}, lang)
    assert f.strengths == ()
    assert f.gaps == ("composure", "learning")
    assert_common(f, lang)
    assert ("符合岗位要求" if lang == "zh" else "met what the role") not in f.text
    # still opens the assessment on a warm note
    assert ("感谢您在面试中认真作答" if lang == "zh" else "Thank you for the thought") in f.text


@pytest.mark.parametrize("lang", LANGS)
def test_assessed_but_nothing_stands_out(lang: str) -> None:
    f = fb({"logic": 65, "risk": 60, "finance": 69.9}, lang)
    assert (f.strengths, f.gaps) == ((), ())
    assert_common(f, lang)
    assert ("参加面试" if lang == "zh" else "the interview") in f.text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scores", [{}, dict.fromkeys(INDICATORS)], ids=["empty", "all-none"])
def test_nothing_assessed_gives_a_general_message(lang: str, scores: dict[str, float | None]) -> None:
    f = fb(scores, lang)
    assert (f.strengths, f.gaps) == ((), ())
    assert_common(f, lang)
    assert mentioned(f.text, lang) == set()
    # no claim about an interview that did not happen
    if lang == "zh":
        assert "面试" not in f.text
    else:
        assert "interview" not in f.text.lower()


@pytest.mark.parametrize("lang", LANGS)
def test_boundaries(lang: str) -> None:
    f = fb({"communication": STRENGTH_AT, "logic": GAP_BELOW, "numeracy": 69.99, "risk": 59.99}, lang)
    assert f.strengths == ("communication",)  # 70 is a strength
    assert f.gaps == ("risk",)  # 60 is not a gap, 59.99 is
    assert_common(f, lang)
    assert mentioned(f.text, lang) == {"communication", "risk"}
    f = fb({"communication": 100, "logic": 0}, lang)
    assert (f.strengths, f.gaps) == (("communication",), ("logic",))


def test_ties_follow_the_indicator_order() -> None:
    f = fb(dict.fromkeys(INDICATORS, 80.0), "zh")
    assert f.strengths == INDICATORS[:MAX_ITEMS]
    f = fb(dict.fromkeys(reversed(INDICATORS), 10.0), "en")
    assert f.gaps == INDICATORS[:MAX_ITEMS]


@pytest.mark.parametrize("lang", LANGS)
def test_unassessed_indicators_are_never_mentioned(lang: str) -> None:
    for i, key in enumerate(INDICATORS):
        for value in (95.0, 65.0, 15.0):
            scores: dict[str, float | None] = dict.fromkeys(INDICATORS)
            scores[key] = value
            neighbour = INDICATORS[(i + 1) % len(INDICATORS)]
            scores[neighbour] = 100.0 - value
            f = fb(scores, lang)
            assert mentioned(f.text, lang) <= {key, neighbour}
            assert set(f.strengths) | set(f.gaps) <= {key, neighbour}
            assert not any(c.isdigit() for c in f.text)


@pytest.mark.parametrize("lang", LANGS)
def test_never_a_digit_whatever_the_scores(lang: str) -> None:
    for n in range(50):
        scores = {k: float((n * 37 + j * 53) % 101) for j, k in enumerate(INDICATORS)}
        f = fb(scores, lang)
        assert not any(c.isdigit() for c in f.text), f.text
        assert "%" not in f.text and "分" not in f.text.replace("分析", "")


def test_nan_is_not_assessed_and_unknown_keys_are_refused() -> None:
    f = fb({"numeracy": math.nan, "logic": 80}, "en")
    assert f.strengths == ("logic",) and "numerical" not in f.text
    with pytest.raises(ValueError, match="unknown indicator"):
        fb({"charisma": 90}, "zh")
    with pytest.raises(ValueError, match="lang"):
        fb({}, "fr")


def test_deterministic_and_zh_cn_reads_as_zh() -> None:
    scores: dict[str, float | None] = {"risk": 77, "communication": 41, "finance": None}
    assert fb(scores, "zh") == fb(scores, "zh")
    assert fb(scores, "zh-CN").text == fb(scores, "zh").text


def test_join_items() -> None:
    assert join_items([], "zh") == ""
    assert join_items(["甲"], "zh") == "甲"
    assert join_items(["甲", "乙"], "zh") == "甲和乙"
    assert join_items(["甲", "乙", "丙"], "zh") == "甲、乙和丙"
    assert join_items(["a", "b"], "en") == "a and b"
    assert join_items(["a", "b", "c"], "en") == "a, b and c"


def test_names_are_cleaned_and_a_missing_name_still_greets() -> None:
    f = rejection_feedback(
        {"logic": 80},
        lang="zh",
        name="张\u202e伟\x00\n",
        position_title="综合柜员",
        bank_name="示范银行",
        contact="recruit@demobank.example",
    )
    assert f.text.startswith("张伟，您好：")
    f = rejection_feedback(
        {}, lang="en", name=" \x07 ", position_title="Bank Teller", bank_name="Demo Bank", contact="HR"
    )
    assert f.text.startswith("Hello,\n")


def test_catalog_phrases_name_each_indicator() -> None:
    for key in INDICATORS:
        for lang in LANGS:
            assert INDICATOR_NAMES[key].get(lang).lower() in phrase(key, lang).lower()


def test_a_bad_catalog_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "feedback.yml"
    bad.write_text(
        "indicators:\n  communication: {zh: 表达, en: communication}\n"
        "texts:\n  greeting: {zh: '{nom}，您好', en: 'Dear {name}, 1'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as e:
        load_feedback_catalog(bad)
    msg = str(e.value)
    assert "indicators.communication.zh" in msg  # does not name 沟通表达
    assert "indicators.logic: no zh phrase" in msg
    assert "unknown placeholder" in msg and "contains a digit" in msg
    assert "texts.closing: no zh text" in msg
