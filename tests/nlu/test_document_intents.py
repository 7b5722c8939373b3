"""Documents and app-linking intents: sending documents (``submit_material``), asking which documents
are needed (``ask_required_materials``) and linking another chat app (``link_other_app``).

The phrases below are not in the training data (checked by ``test_cases_are_not_training_data``). The
near-misses pin the borders with older intents: "resume" is still the interview's, "绑定账号" with an
invitation code is still ``provide_invite_code``, asking whether HR read the CV is still progress.
"""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlu import NLU, Parse
from nlu.classifier import load_nlu_dir, load_nlu_yml

DATA = Path(__file__).resolve().parents[2] / "content" / "nlu"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
NEW_INTENTS = ("submit_material", "ask_required_materials", "link_other_app")

CASES = {
    "submit_material": {
        "zh": ["把简历发给你", "我现在上传毕业证", "重新上传身份证", "材料我要怎么给你们"],
        "en": [
            "can I send you my diploma",
            "I want to replace my CV",
            "where do I send the scans",
            "I want to upload a new ID photo",
        ],
    },
    "ask_required_materials": {
        "zh": ["我该准备些什么证件", "还差哪些", "我的材料交齐了没有", "面试需要带哪些材料"],
        "en": [
            "which documents are required",
            "what do I still need to send",
            "do you need anything else from me besides my CV",
            "what documents must I prepare",
        ],
    },
    "link_other_app": {
        "zh": ["我想在企业微信上继续聊", "我换个软件找你", "我想用钉钉面试", "帮我把Slack也绑上"],
        "en": [
            "give me the code to link my DingTalk",
            "how can I use this bot in Slack",
            "I'd rather chat on Telegram from now on",
            "link one more app",
        ],
    },
}

NEAR_MISSES = [
    ("resume", "resume_interview"),  # the interview's, not a CV
    ("let's resume the interview", "resume_interview"),
    ("我想绑定账号", "provide_invite_code"),
    ("link my account", "provide_invite_code"),
    ("简历筛选结果出来了吗", "ask_progress"),
    ("have you reviewed my resume", "ask_progress"),
    ("我的进度", "ask_progress"),
    ("我想预约面试", "schedule_interview"),
    ("我想改约面试时间", "reschedule_interview"),
    ("转人工", "request_human"),
    ("我需要帮助", "help"),
    ("I need help", "help"),
    ("继续", "affirm"),
]


@pytest.fixture(scope="module")
def nlu() -> NLU:
    return NLU.load(DATA, tz=TZ)


def parse(nlu: NLU, text: str) -> Parse:
    return nlu.parse(text, now=NOW)


@pytest.mark.parametrize(
    ("intent", "language", "text"),
    [(i, lang, t) for i, by_lang in CASES.items() for lang, texts in by_lang.items() for t in texts],
)
def test_document_and_linking_intent(nlu: NLU, intent: str, language: str, text: str) -> None:
    p = parse(nlu, text)
    assert p.language == language
    assert p.intent == intent, p.ranking[:3]
    assert p.confidence >= nlu.threshold


@pytest.mark.parametrize(("text", "intent"), NEAR_MISSES)
def test_near_miss_keeps_old_intent(nlu: NLU, text: str, intent: str) -> None:
    p = parse(nlu, text)
    assert p.intent == intent, p.ranking[:3]


def test_a_bare_link_code_is_no_intent(nlu: NLU) -> None:
    """A code is matched by flows/linking.py; the classifier must not read a command into it."""
    for code in ("K7M2QX", "k7m-2qx", "2HX9QA"):
        p = parse(nlu, code)
        assert p.intent == "nlu_fallback", (code, p.ranking[:3])
        assert [e.entity for e in p.entities] == []  # not an invitation code, not a number pick


def test_new_intents_are_trained(nlu: NLU) -> None:
    assert set(NEW_INTENTS) <= set(nlu.classifier.intents)


def test_cases_are_not_training_data() -> None:
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    train = {norm(e.text) for e in load_nlu_dir(DATA)}
    cases = [t for by_lang in CASES.values() for texts in by_lang.values() for t in texts]
    assert [t for t in cases if norm(t) in train] == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_new_intents_data_volume(language: str) -> None:
    train = load_nlu_yml(DATA / language / "nlu.yml", language)
    heldout = load_nlu_yml(DATA / "heldout" / f"{language}.yml", language)
    held = {e.text for e in heldout}
    for intent in NEW_INTENTS:
        examples = [e.text for e in train if e.intent == intent]
        assert len(examples) >= 48, (intent, len(examples))
        assert len(set(examples)) == len(examples), intent  # no duplicates
        assert sum(e.intent == intent for e in heldout) >= 10, intent
        assert not held & set(examples), intent  # held-out lines are not training lines
