"""Replies as WeCom messages: button cards, the split of long texts, numbered fallbacks."""

from __future__ import annotations

from bots.channels.wecom_render import CARD_TEXT_MAX, render, split_prompt, split_text
from flows.texts import Catalog
from flows.values import Choice, Reply
from tests.conftest import ROOT

YES_NO = (Choice("同意", "yes"), Choice("不同意", "no"))


def test_plain_text_is_one_text_message() -> None:
    assert render(Reply("您好")) == [{"msgtype": "text", "text": {"content": "您好"}}]
    assert render(Reply("  ")) == []


def test_a_short_question_with_choices_is_one_button_card() -> None:
    [card] = render(Reply("您是否同意？", YES_NO))
    assert card["msgtype"] == "template_card"
    tc = card["template_card"]
    assert tc["card_type"] == "button_interaction" and tc["sub_title_text"] == "您是否同意？"
    assert tc["button_list"] == [
        {"text": "同意", "style": 1, "key": "yes"},
        {"text": "不同意", "style": 1, "key": "no"},
    ]
    assert tc["task_id"].startswith("tb-") and len(tc["task_id"]) <= 128
    [again] = render(Reply("您是否同意？", YES_NO))
    assert again["template_card"]["task_id"] != tc["task_id"]  # WeCom refuses a repeated task id


def test_a_long_text_goes_first_and_the_card_carries_the_last_line() -> None:
    catalog = Catalog.load(ROOT / "content" / "messages.yml")
    intro = catalog.t("zh", "iv_intro", position="风险管理岗", n=6, minutes=3, until="12月2日 18:00")
    text, card = render(Reply(intro, (Choice("开始面试", "iv_start"), Choice("联系人工", "human"))))
    assert text["msgtype"] == "text" and card["msgtype"] == "template_card"
    assert card["template_card"]["sub_title_text"] == "准备好了请点“开始面试”。"
    assert text["text"]["content"] + "\n" + "准备好了请点“开始面试”。" == intro
    consent = catalog.t("en", "consent_voice_q")
    assert len(consent) > CARD_TEXT_MAX and "\n" not in consent
    text, card = render(Reply(consent, YES_NO))
    assert text["text"]["content"].startswith("Separate consent 1 of 2")
    assert card["template_card"]["sub_title_text"].startswith("Do you agree")
    assert text["text"]["content"] + " " + card["template_card"]["sub_title_text"] == consent


def test_what_cannot_be_buttons_is_numbered_text() -> None:
    many = tuple(Choice(f"12月{d}日 14:00", f"slot:{d}") for d in range(1, 9))
    [msg] = render(Reply("请选择时间：", many))
    assert msg["msgtype"] == "text"
    assert msg["text"]["content"].splitlines()[2:4] == ["1. 12月1日 14:00", "2. 12月2日 14:00"]
    [dup] = render(Reply("选一个", (Choice("A", "x"), Choice("B", "x"))))
    assert dup["msgtype"] == "text" and "2. B" in dup["text"]["content"]
    [long_key] = render(Reply("选一个", (Choice("A", "k" * 1025),)))
    assert long_key["msgtype"] == "text"
    unsplittable = "这是一句没有句号也没有换行的非常长的话" * 12
    [msg] = render(Reply(unsplittable, YES_NO))
    assert msg["msgtype"] == "text" and msg["text"]["content"].endswith("1. 同意\n2. 不同意")


def test_split_prompt_prefers_the_last_line_then_the_last_sentence() -> None:
    assert split_prompt("第一行\n第二行？") == ("第一行", "第二行？")
    assert split_prompt("One. Two? Three!") == ("One. Two?", "Three!")
    assert split_prompt("no sentence end here") is None


def test_text_is_cut_to_2048_bytes_at_line_boundaries() -> None:
    lines = [f"第{i}行：" + "很长的内容" * 20 for i in range(30)]
    parts = split_text("\n".join(lines))
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)
    assert all(p.startswith("第") for p in parts)  # never mid-line while lines fit
    one_line = "字" * 2000  # 6000 bytes
    parts = split_text(one_line)
    assert "".join(parts) == one_line and all(len(p.encode()) <= 2048 for p in parts)
    words = " ".join(["word"] * 1000)
    parts = split_text(words)
    assert all(len(p.encode()) <= 2048 for p in parts) and "".join(parts) == words
