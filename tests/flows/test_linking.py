"""One person, several chat apps: a one-time link code from the app they use, sent from another one,
links that chat to the same person; proactive messages then follow them to the app they used last."""

from __future__ import annotations

import re

from sqlalchemy import select

from bots.testing import TestBot
from storage.documents import LINK_TRIES, link_code_hash
from storage.models import Answer, AuditEntry, Conversation, Identity, LinkCode
from tests.conftest import linked_bot

_CODE = re.compile(r"(?:绑定码：|link code: )([A-Z2-9]{6})")


def _code(bot: TestBot) -> str:
    m = _CODE.search(bot.text)
    assert m is not None, bot.text
    return m.group(1)


def _identities(rt) -> list[Identity]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return list(s.scalars(select(Identity).order_by(Identity.id)))


def test_a_code_links_another_app_to_the_same_person(rt, clock) -> None:  # type: ignore[no-untyped-def]
    web = linked_bot(rt, position="TELLER")
    web.say("绑定其他应用")
    code = _code(web)
    assert "10 分钟内有效" in web.text and "只能使用一次" in web.text
    with rt.sessions() as s:
        [row] = s.scalars(select(LinkCode)).all()
        dump = " ".join(str(getattr(row, c.key)) for c in LinkCode.__table__.columns)
    assert row.code_sha256 == link_code_hash(code) and code not in dump  # only the hash is kept
    assert (row.expires_at - clock()).total_seconds() == 600 and row.used_at is None

    tg = TestBot(rt, user="tg-42", platform="telegram")
    tg.say(code)  # a bare code: no language of its own, the person's (Chinese) is used
    assert "绑定成功" in tg.text and "综合柜员" in tg.text
    web_id, tg_id = _identities(rt)
    assert (tg_id.platform, tg_id.external_id, tg_id.user_id) == ("telegram", "tg-42", web_id.user_id)
    with rt.sessions() as s:
        assert s.get(LinkCode, row.id).used_at == clock()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "identity.link")).one()
        assert audit.details["platform"] == "telegram"
        conv = s.get(Conversation, "telegram:tg-42")
        assert conv is not None and conv.language == "zh"
    tg.say("我的进度")
    assert "综合柜员岗位，待预约面试" in tg.text  # the same application, seen from the new app

    other = TestBot(rt, user="tg-43", platform="telegram")
    other.say(code)
    assert "已经用过了" in other.text
    assert len(_identities(rt)) == 2
    web.say(code)  # sent in the app that is linked already
    assert "已经关联到您的申请" in web.text


def test_expired_unknown_and_superseded_codes_are_refused_politely(rt, clock) -> None:  # type: ignore[no-untyped-def]
    web = linked_bot(rt, position="TELLER", lang="en")
    web.say("link another app")
    first = _code(web)
    assert "within 10 minutes" in web.text
    web.say("I need a code to link another app")
    second = _code(web)
    assert second != first
    slack = TestBot(rt, user="U1", platform="slack")
    slack.say(first)  # the newer code replaced it
    assert "has expired" in slack.text  # the person's language: English
    clock.advance(minutes=10, seconds=1)
    slack.say(f"here is my code {second}")
    assert "has expired" in slack.text and "link another app" in slack.text
    ding = TestBot(rt, user="d1", platform="dingtalk")
    ding.say("绑定码 H7K9WX")
    assert "这个绑定码无效" in ding.text
    ding.say("my link code is H7K9WX")
    assert "that link code isn't valid" in ding.text
    assert len(_identities(rt)) == 1


def test_an_english_speaker_keeps_english_in_the_new_app(rt) -> None:  # type: ignore[no-untyped-def]
    web = linked_bot(rt, position="TELLER", lang="en")
    web.say("link another app")
    code = _code(web)
    wecom = TestBot(rt, user="wx-1", platform="wecom")
    wecom.say(code.lower())
    assert "Linked! This app is now connected to your application for Bank Teller" in wecom.text
    with rt.sessions() as s:
        conv = s.get(Conversation, "wecom:wx-1")
        assert conv is not None and conv.language == "en"  # though the bank's default is Chinese
    wecom.press("My progress")
    assert "Bank Teller: interview not booked yet" in wecom.text


def test_a_chat_linked_to_someone_else_is_never_moved(rt) -> None:  # type: ignore[no-untyped-def]
    alice = linked_bot(rt, user="alice", position="TELLER")
    alice.say("绑定其他应用")
    code = _code(alice)
    bob = linked_bot(rt, user="bob", position="RM")
    bob.say(code)
    assert "已经关联了另一份申请" in bob.text
    ids = {i.external_id: i.user_id for i in _identities(rt)}
    assert ids["alice"] != ids["bob"]
    stranger = TestBot(rt, user="alice-phone", platform="telegram")
    stranger.say(code)  # still unused: the right person can use it
    assert "绑定成功" in stranger.text


def test_wrong_codes_from_one_chat_are_limited(rt) -> None:  # type: ignore[no-untyped-def]
    web = linked_bot(rt, position="TELLER")
    web.say("绑定其他应用")
    code = _code(web)
    guesser = TestBot(rt, user="g", platform="telegram")
    for guess in ("A2B3C4", "D5E6F7", "G8H9J2", "K3M4N5", "P6Q7R8")[:LINK_TRIES]:
        guesser.say(guess)
        assert "无效" in guesser.text
    guesser.say(code)  # even the right code, now
    assert "错误次数太多" in guesser.text
    assert len(_identities(rt)) == 1


def test_an_unlinked_chat_asking_to_link_is_told_how(rt, bot: TestBot) -> None:  # type: ignore[no-untyped-def]
    bot.say("绑定其他应用")
    assert "还没有关联申请" in bot.text and "邀请码" in bot.text


def test_after_linking_the_next_question_goes_to_the_app_used_last(rt) -> None:  # type: ignore[no-untyped-def]
    web = linked_bot(rt, position="RISK")  # typed answers allowed
    web.say("绑定其他应用")
    code = _code(web)
    web.press("开始面试") if "开始面试" in web.choices else web.say("开始面试")
    assert "第 1/6 题" in web.text
    web.say(
        "我会先核实客户身份，按照反洗钱规定检查交易背景，发现可疑情况及时上报合规部门，同时耐心向客户解释原因。"
    )
    assert "收到您的回答" in web.text
    tg = TestBot(rt, user="tg-7", platform="telegram")
    tg.say(code)  # linked while the answer is being scored: telegram is now the app used last
    assert "绑定成功" in tg.text
    nxt = tg.settle()
    assert nxt and ("第 2/6 题" in tg.text or "追问" in tg.text)
    assert web.settle() == []  # nothing went to the web chat
    tg.say("我会先让客户冷静下来，再核对信息，按规定流程处理，并记录在案。")  # answers count from any app
    assert "收到您的回答" in tg.text
    with rt.sessions() as s:
        answers = s.scalars(select(Answer).order_by(Answer.id)).all()
    assert [a.platform for a in answers] == ["test", "telegram"]


def test_a_code_that_reads_like_words_still_links(rt) -> None:  # type: ignore[no-untyped-def]
    """Random codes sometimes look like an intent to the candidate model ("98BRBC" reads as pausing an
    interview, "HR9J9S" as asking for a person): in a chat nobody is linked to, a code is a code."""
    from datetime import timedelta

    from storage import accounts
    from storage.documents import link_code_hash
    from storage.models import LinkCode
    from tests.conftest import NOW

    for i, code in enumerate(["98BRBC", "2Z3ADY", "XN69WE", "HR9J9S", "UYEN89", "7MY6UG"]):
        with rt.sessions.begin() as s:
            user = accounts.create_hr_user(s, name=f"HR {i}", scope=["*"], now=NOW)
            s.add(
                LinkCode(
                    user_id=user.id, code_sha256=link_code_hash(code), expires_at=NOW + timedelta(days=1)
                )
            )
        bot = TestBot(rt, user=f"word-code-{i}")
        bot.say(code)
        assert "HR" in bot.text and "已关联" in bot.text, (code, bot.text)
