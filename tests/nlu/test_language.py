import pytest

from nlu.language import detect_language, fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想预约面试", "zh"),
        ("when is my interview", "en"),
        ("我想约 next Monday", "zh"),
        ("cancel 我的面试", "zh"),
        ("Can I talk to 王经理?", "en"),
        ("ｈｅｌｌｏ ｔｈｅｒｅ", "en"),
        ("OK 好", "zh"),
        ("my code is K7M2-9QXP", "en"),
        ("邀请码 K7M2-9QXP", "zh"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "123", "K7M2-9QXP", "？？", "👍", "3pm"])
def test_no_words_gives_default(text: str) -> None:
    assert detect_language(text) == "zh"
    assert detect_language(text, default="en") == "en"


def test_fold_keeps_offsets() -> None:
    text = "ＨＥＬＬＯ，我的码是Ｋ７Ｍ２－９ＱＸＰ　ﬁ İ"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded.startswith("hello,我的码是k7m2-9qxp ")
