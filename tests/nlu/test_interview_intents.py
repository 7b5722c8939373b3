"""Voice-interview intents: start, pause, resume, and asking for an accommodation (typing instead of
voice, hearing / speech impairment, no microphone, noisy place, more time).

The phrases below are not in the training data (checked by ``test_cases_are_not_training_data``), so
they show how the classifier generalises. The near-misses pin the borders with the older intents:
booking a slot is not starting the interview, "有事" that moves the interview is not a pause, saying
no to voice processing is a consent answer, not an accommodation request.
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
NEW_INTENTS = ("start_interview", "pause_interview", "resume_interview", "request_accommodation")

CASES = {
    "start_interview": {
        "zh": ["好，我准备好了，开始面试吧", "可以开始面试了", "现在就开始答题吧", "我这边准备妥当，开始吧"],
        "en": [
            "let's start the interview",
            "I'm ready, start now",
            "ok, ready to begin",
            "we can start the interview now",
        ],
    },
    "pause_interview": {
        "zh": ["先暂停一下，我去开个门", "等一下，我接个电话", "我有事，先暂停面试", "能暂停一下吗"],
        "en": [
            "pause the interview please",
            "hold on, I need a quick break",
            "can we pause for a moment",
            "wait a sec, someone is at the door",
        ],
    },
    "resume_interview": {
        "zh": [
            "我回来了，继续面试吧",
            "好了，接着上次的继续",
            "继续刚才没答完的",
            "不好意思久等了，接着面试吧",
        ],
        "en": [
            "I'm back, let's continue",
            "let's resume the interview",
            "ok, carry on with the questions",
            "sorry about the wait, let's pick up where we left off",
        ],
    },
    "request_accommodation": {
        "zh": [
            "我不方便说话，能打字回答吗",
            "我有听力障碍，需要文字题目",
            "我电脑没有麦克风",
            "我听不清楚，题目能发文字吗",
            "每道题能不能多给我一点时间",
        ],
        "en": [
            "I'd rather type my answers, is that ok?",
            "I have a speech impairment, may I write my answers",
            "my laptop has no microphone",
            "I'm hard of hearing, please send text",
            "could I get more time for each question",
        ],
    },
}

# Messages close to the new intents that must keep their old meaning.
NEAR_MISSES = [
    ("我想改约面试时间", "reschedule_interview"),
    ("我下周有事，能换时间吗", "reschedule_interview"),  # 有事 that moves the booking, not a pause
    ("something came up, can we move the interview", "reschedule_interview"),
    ("can we do it another day", "reschedule_interview"),
    ("我想预约面试", "schedule_interview"),  # booking a slot is not starting the interview
    ("can I book an interview for Friday", "schedule_interview"),
    ("转人工", "request_human"),
    ("I want to talk to a human", "request_human"),
    ("好的", "affirm"),
    ("yes", "affirm"),
    # A bare "continue" stays a yes to whatever was asked (consent uses it); a paused interview
    # should read affirm as "resume" too. "let's continue", "继续面试" are resume_interview.
    ("继续", "affirm"),
    ("continue", "affirm"),
    ("不同意语音处理", "deny"),  # a consent answer, not an accommodation request
    ("不要用语音", "deny"),
    ("I don't consent to voice processing", "deny"),
    ("I'm not ready yet", "deny"),
    ("我还没有准备好", "deny"),
    ("我需要帮助", "help"),
    ("I need help", "help"),
    ("how do I get started", "help"),
    ("hey, I'm back", "greet"),
    ("我先下线了，拜拜", "goodbye"),
    ("gotta go, bye", "goodbye"),
    ("取消面试", "cancel_interview"),
    ("我不想再继续面试了", "cancel_interview"),  # negated "继续": quitting, not resuming
    ("I'm not coming to the interview", "cancel_interview"),
    ("面试结果出来了吗", "ask_progress"),
    ("when is my interview", "ask_interview_time"),
]

# Short answers to interview questions that mention pausing, waiting, going on or starting: an answer,
# not a command to the interview.
ANSWERS = [
    "我会先安抚客户，再暂停这笔转账",
    "我会请客户在休息区稍等",
    "然后继续为下一位客户办理业务",
    "我会从了解客户需求开始",
    "I would continue serving the other customers",
    "I'd start by checking the customer's ID",
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
def test_interview_intent(nlu: NLU, intent: str, language: str, text: str) -> None:
    p = parse(nlu, text)
    assert p.language == language
    assert p.intent == intent, p.ranking[:3]
    assert p.confidence >= nlu.threshold


@pytest.mark.parametrize(("text", "intent"), NEAR_MISSES)
def test_near_miss_keeps_old_intent(nlu: NLU, text: str, intent: str) -> None:
    p = parse(nlu, text)
    assert p.intent == intent, p.ranking[:3]


@pytest.mark.parametrize("text", ANSWERS)
def test_answer_is_not_an_interview_command(nlu: NLU, text: str) -> None:
    p = parse(nlu, text)
    assert p.intent not in NEW_INTENTS, p.ranking[:3]


def test_new_intents_are_trained(nlu: NLU) -> None:
    assert set(NEW_INTENTS) <= set(nlu.classifier.intents)


def test_cases_are_not_training_data() -> None:
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    train = {norm(e.text) for e in load_nlu_dir(DATA)}
    cases = [t for by_lang in CASES.values() for texts in by_lang.values() for t in texts] + ANSWERS
    assert [t for t in cases if norm(t) in train] == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_new_intents_data_volume(language: str) -> None:
    train = load_nlu_yml(DATA / language / "nlu.yml", language)
    heldout = load_nlu_yml(DATA / "heldout" / f"{language}.yml", language)
    for intent in NEW_INTENTS:
        examples = [e.text for e in train if e.intent == intent]
        assert len(examples) >= 48, (intent, len(examples))
        assert len(set(examples)) == len(examples), intent  # no duplicates
        assert sum(e.intent == intent for e in heldout) >= 10, intent
