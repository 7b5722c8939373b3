import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlu import NLU, Parse
from nlu.classifier import load_nlu_dir, load_nlu_yml
from nlu.parse import FALLBACK, MAX_CHARS

DATA = Path(__file__).resolve().parents[2] / "content" / "nlu"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # a Wednesday
INTENTS = {
    "greet",
    "goodbye",
    "help",
    "affirm",
    "deny",
    "request_human",
    "provide_invite_code",
    "out_of_scope",
    "schedule_interview",
    "reschedule_interview",
    "cancel_interview",
    "ask_interview_time",
    "ask_progress",
    "start_interview",
    "pause_interview",
    "resume_interview",
    "request_accommodation",
    "submit_material",
    "ask_required_materials",
    "link_other_app",
}


@pytest.fixture(scope="module")
def nlu() -> NLU:
    return NLU.load(DATA, tz=TZ)


def parse(nlu: NLU, text: str) -> Parse:
    return nlu.parse(text, now=NOW)


# --- output shape ----------------------------------------------------------------------------------
def test_rasa_shape(nlu: NLU) -> None:
    p = parse(nlu, "我想约下周三下午两点，邀请码 K7M2-9QXP")
    out = p.to_rasa()
    assert set(out) == {"text", "intent", "intent_ranking", "entities", "language"}
    assert out["text"] == "我想约下周三下午两点，邀请码 K7M2-9QXP"
    assert out["language"] == "zh"
    assert set(out["intent"]) == {"name", "confidence"}
    assert isinstance(out["intent"]["confidence"], float)
    ranking = out["intent_ranking"]
    assert 1 < len(ranking) <= 10
    assert ranking[0] == out["intent"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    for e in out["entities"]:
        assert {"entity", "value", "start", "end", "extractor"} <= set(e)
        assert out["text"][e["start"] : e["end"]]
    time_entity = next(e for e in out["entities"] if e["entity"] == "time")
    assert time_entity["value"] == "2026-12-02T14:00:00+08:00"
    assert time_entity["grain"] == "hour"
    json.dumps(out, ensure_ascii=False)  # serialisable as is


def test_entity_accessor(nlu: NLU) -> None:
    p = parse(nlu, "my code is k7m2-9qxp")
    code = p.entity("invite_code")
    assert code is not None and code.value == "K7M29QXP"
    assert p.entity("time") is None


def test_intents_come_from_the_data(nlu: NLU) -> None:
    assert set(nlu.classifier.intents) == INTENTS


# --- intents ---------------------------------------------------------------------------------------
CASES = {
    "greet": ["您好", "hi there!", "早上好，我是王芳", "Hello, good morning"],
    "out_of_scope": [
        "明天会下雨吗",
        "is it going to be sunny tomorrow",
        "你喜欢看什么电影",
        "do you like pizza",
    ],
    "goodbye": ["好的谢谢，拜拜", "thanks, bye!", "再见啦", "ok that's all, see you"],
    "help": ["你能帮我做什么？", "how does this work?", "不知道怎么操作", "what can you do"],
    "affirm": ["好的", "yes", "我同意", "sure, sounds good"],
    "deny": ["不同意", "no thanks", "不要", "I don't agree"],
    "request_human": ["转人工", "I want to talk to a human", "我要找真人客服", "can I speak to a recruiter?"],
    "provide_invite_code": [
        "我的邀请码是 K7M2-9QXP",
        "my code is K7M2-9QXP",
        "邀请码：h3tr8w2n",
        "invite code k7m2-9qxp",
    ],
    "schedule_interview": [
        "我想预约面试",
        "I'd like to book an interview for next Tuesday 3pm",
        "下周三下午两点可以吗",
        "can I schedule an interview?",
    ],
    "reschedule_interview": [
        "我想把面试改到周五",
        "can I reschedule my interview?",
        "面试时间能换一下吗",
        "I need to move my interview to Thursday",
    ],
    "cancel_interview": [
        "取消面试",
        "please cancel my interview",
        "我不去面试了",
        "I can't come anymore, sorry",
    ],
    "ask_interview_time": [
        "我的面试是几点",
        "when is my interview?",
        "面试在哪天来着",
        "what time is my interview",
    ],
    "ask_progress": [
        "我的申请进度怎么样",
        "any update on my application?",
        "面试结果出来了吗",
        "did I pass?",
    ],
    "start_interview": ["我准备好了，现在开始面试吧", "I'm ready, let's start the interview"],
    "pause_interview": ["先暂停一下，我马上回来", "can we pause the interview for a minute?"],
    "resume_interview": ["我回来了，接着面试吧", "I'm back, let's carry on with the interview"],
    "request_accommodation": ["我没有麦克风，能打字回答吗", "can I type my answers instead of speaking?"],
    "submit_material": ["我想把学历证书交给你们", "how can I send you my papers?"],
    "ask_required_materials": ["应聘需要交哪些材料？", "what documents should I get ready?"],
    "link_other_app": ["我想在企业微信里也能用", "can I link my Telegram too?"],
}


@pytest.mark.parametrize(("intent", "text"), [(i, t) for i, texts in CASES.items() for t in texts])
def test_intent(nlu: NLU, intent: str, text: str) -> None:
    p = parse(nlu, text)
    assert p.intent == intent, p.ranking[:3]
    assert p.confidence >= nlu.threshold


def test_every_intent_has_cases() -> None:
    assert set(CASES) == INTENTS


@pytest.mark.parametrize("text", ["K7M2-9QXP", "k7m2-9qxp", "K7M29QXP", " k7m29qxp。", "Ｋ７Ｍ２－９ＱＸＰ"])
def test_code_only_message(nlu: NLU, text: str) -> None:
    p = parse(nlu, text)
    assert p.intent == "provide_invite_code"
    assert p.confidence >= 0.95
    assert [e.value for e in p.entities if e.entity == "invite_code"] == ["K7M29QXP"]
    assert len(p.ranking) > 1  # the other candidates are still listed


# --- fallback --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "\n\t", "？？", "..."])
def test_empty_is_fallback_with_zero_confidence(nlu: NLU, text: str) -> None:
    p = parse(nlu, text)
    assert (p.intent, p.confidence, p.ranking, p.entities) == (FALLBACK, 0.0, (), ())


@pytest.mark.parametrize(
    "text", ["asdfgh qwerty", "zxcv asdf qwer", "啊啊啊啊啊", "哈哈哈哈哈哈", "阿斯顿发生的"]
)
def test_gibberish_is_fallback(nlu: NLU, text: str) -> None:
    # Gibberish, not chit-chat: "随便说点什么吧天气不错" is made of ordinary words and still gets
    # its nearest intent (help). An out_of_scope intent in the data would be the fix for that.
    p = parse(nlu, text)
    assert p.intent == FALLBACK
    assert p.ranking[0] == (FALLBACK, p.confidence)
    assert {name for name, _ in p.ranking[1:]} <= INTENTS
    assert len(p.ranking) > 1


def test_threshold(nlu: NLU) -> None:
    strict = NLU(classifier=nlu.classifier, tz=TZ, threshold=0.999999999)
    p = strict.parse("面试能不能改一下", now=NOW)
    assert p.intent == FALLBACK
    assert p.confidence == pytest.approx(0.999999999)
    assert p.ranking[1][0] == "reschedule_interview"


@pytest.mark.parametrize(("text", "value"), [("2", 2), ("第二个", 2), ("选3", 3), ("the second one", 2)])
def test_choice_is_left_to_the_flow(nlu: NLU, text: str, value: int) -> None:
    p = parse(nlu, text)
    number = p.entity("number")
    assert number is not None and number.value == value
    assert p.intent == FALLBACK  # "2" must never read as affirm/deny


def test_number_only_for_choices(nlu: NLU) -> None:
    assert parse(nlu, "I have 3 years of banking experience").entity("number") is None
    assert parse(nlu, "我有3年工作经验").entity("number") is None


# --- languages -------------------------------------------------------------------------------------
def test_mixed_language(nlu: NLU) -> None:
    p = parse(nlu, "我想约 next Monday 下午3点")
    assert (p.language, p.intent) == ("zh", "schedule_interview")
    assert p.entity("time") is not None
    p = parse(nlu, "can I 改个时间")
    assert p.intent == "reschedule_interview"
    p = parse(nlu, "cancel 我的面试")
    assert p.intent == "cancel_interview"


def test_full_width_and_case(nlu: NLU) -> None:
    assert parse(nlu, "ＣＡＮＣＥＬ ＭＹ ＩＮＴＥＲＶＩＥＷ").intent == "cancel_interview"
    assert parse(nlu, "WHEN IS MY INTERVIEW").intent == "ask_interview_time"


def test_language_reported(nlu: NLU) -> None:
    assert parse(nlu, "取消面试").language == "zh"
    assert parse(nlu, "cancel my interview").language == "en"


# --- robustness ------------------------------------------------------------------------------------
def test_long_input(nlu: NLU) -> None:
    text = "我想预约面试，邀请码 K7M2-9QXP。" + "啊" * 10_000
    t0 = time.perf_counter()
    p = parse(nlu, text)
    assert time.perf_counter() - t0 < 1.0
    assert p.text == text
    assert p.entity("invite_code") is not None
    assert all(e.end <= MAX_CHARS for e in p.entities)
    code_late = "x " * 1500 + "K7M2-9QXP"  # beyond the first 2,000 characters: not looked at
    assert parse(nlu, code_late).entity("invite_code") is None


@pytest.mark.parametrize("text", ["\x00\x01", "🙂" * 3000, "a" * 10_000, "\u202e取消", "<script>", "\ud800"])
def test_odd_input_never_raises(nlu: NLU, text: str) -> None:
    p = parse(nlu, text)
    assert p.intent in INTENTS | {FALLBACK}
    json.dumps(p.to_rasa(), ensure_ascii=False)


def test_naive_now_uses_bot_timezone(nlu: NLU) -> None:
    p = nlu.parse("明天上午10点", now=datetime(2026, 11, 25, 10, 0))
    time_entity = p.entity("time")
    assert time_entity is not None and time_entity.value == "2026-11-26T10:00:00+08:00"


def test_default_now(nlu: NLU) -> None:
    time_entity = nlu.parse("tomorrow at 10am").entity("time")
    assert time_entity is not None and time_entity.value.endswith("+08:00")


def test_parse_is_fast(nlu: NLU) -> None:
    texts = ["我想预约面试", "when is my interview?", "K7M2-9QXP", "改到下周三下午两点", "thanks, bye"] * 40
    t0 = time.perf_counter()
    for text in texts:
        parse(nlu, text)
    assert (time.perf_counter() - t0) / len(texts) < 0.01  # generous: the bench checks 2 ms median


# --- data ------------------------------------------------------------------------------------------
def test_load_trains_on_any_intent_set(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: ask_salary\n  examples: |\n    - what is the salary\n    - how much does it pay\n"
        "- intent: greet\n  examples: |\n    - hello\n    - hi there\n",
        encoding="utf-8",
    )
    small = NLU.load(tmp_path, tz=TZ)
    assert set(small.classifier.intents) == {"ask_salary", "greet"}
    assert small.parse("what's the salary?").ranking[0][0] == "ask_salary"


def test_training_data_volume() -> None:
    examples = load_nlu_dir(DATA)
    for lang in ("zh", "en"):
        per_intent = {i: sum(1 for e in examples if e.language == lang and e.intent == i) for i in INTENTS}
        assert min(per_intent.values()) >= 30, (lang, per_intent)
        heldout = load_nlu_yml(DATA / "heldout" / f"{lang}.yml", lang)
        for intent in INTENTS:
            assert sum(1 for e in heldout if e.intent == intent) >= 12, (lang, intent)


def test_heldout_not_in_training() -> None:
    def norm(s: str) -> str:
        return "".join(ch for ch in s.lower() if ch.isalnum())

    train = {norm(e.text) for e in load_nlu_dir(DATA)}
    for lang in ("zh", "en"):
        leaked = [
            e.text for e in load_nlu_yml(DATA / "heldout" / f"{lang}.yml", lang) if norm(e.text) in train
        ]
        assert not leaked


def test_annotations_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: schedule_interview\n  examples: |\n'
        "    - 我想约[下周三下午两点](time)\n"
        '    - book [Friday 3pm]{"entity": "time"}\n'
        "- synonym: hr\n  examples: |\n    - HR\n",
        encoding="utf-8",
    )
    assert [e.text for e in load_nlu_yml(path, "zh")] == ["我想约下周三下午两点", "book Friday 3pm"]


def test_small_talk_with_a_date_is_not_a_booking(nlu: NLU) -> None:
    for text in ("明天会下雨吗", "周末会不会降温", "is it going to be sunny tomorrow"):
        p = nlu.parse(text)
        assert p.intent not in ("schedule_interview", "reschedule_interview"), (text, p.intent)
