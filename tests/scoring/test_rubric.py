"""Rubric scoring of one answer, and the indicator roll-up over an interview."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace

import pytest

from scoring.indicators import SPEECH_SHARE, AnswerScore, combine, score_answer, speech_scores
from scoring.questions import INDICATORS, Bank, Question, load_bank
from scoring.rubric import PROBE_CREDIT, SCORER_VERSION, RubricResult, extract_numbers, missed_main_key_point
from scoring.rubric import score_answer as rubric
from scoring.speech import SpeechFeatures


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


# --------------------------------------------------------------------------- strong vs weak
STRONG_WEAK = {
    ("beh-pressure", "zh"): (
        "当时是月末，我在实习的网点同时要做报表和接待客户，时间非常紧。我的任务是两天内交出对账报表。"
        "我先深呼吸让自己冷静下来，然后把事情按轻重缓急列了一个清单，先处理最紧急的客户业务，晚上再做报表。"
        "结果我按时完成了报表，主管还表扬了我。",
        "那次压力很大，我很着急，也不知道怎么办，后来就熬夜做，反正最后也算弄完了吧。",
    ),
    ("beh-pressure", "en"): (
        "The situation was month-end at my internship branch and I had to finish a reconciliation report in two "
        "days while serving customers. I took a deep breath and stayed calm, then I made a to-do list and "
        "prioritized the most urgent customer work first. As a result I met the deadline and my manager praised "
        "the report.",
        "It was stressful. I just worked late and got it done somehow.",
    ),
    ("sit-skip-kyc", "zh"): (
        "首先我不会跳过这个步骤，必须按流程核实客户身份。其次我会跟同事解释，这是反洗钱和合规的要求，出了问题风险很大。"
        "如果同事坚持，我会报告主管。",
        "既然同事说就这一次，那就跳过吧，先办了再说，客户也着急。",
    ),
    ("sit-skip-kyc", "en"): (
        "First, I would refuse to skip it; we must verify the customer's identity and follow the procedure. "
        "Then I would explain that KYC is an anti-money laundering and compliance requirement. If my colleague "
        "insists, I would escalate to my supervisor.",
        "If it's just once I would let it slide and fill it in later, the customer is in a hurry.",
    ),
    ("sit-angry-customer", "zh"): (
        "我会先向客户道歉，说让您久等了，理解您的心情，请客户喝杯水消消气。然后解释一下今天排队久的原因。"
        "最后尽快办理业务，如果是简单业务就引导客户去自助设备办理。",
        "我会让客户自己等着，大家都在排队，我也没办法。",
    ),
    ("sit-angry-customer", "en"): (
        "I would apologize first and say I understand your frustration, then explain the reason for the long "
        "wait and how long it will take. Finally I would serve the customer right away or guide them to "
        "self-service.",
        "I'd tell them everyone has to wait and it's not my problem.",
    ),
    ("kn-deposit-insurance", "zh"): (
        "存款保险保障的是存款的本金和利息，最高偿付限额是50万元，同一存款人在同一家银行的存款合并计算。",
        "存款保险就是银行的一种保险吧，具体多少我不太记得了。",
    ),
    ("kn-deposit-insurance", "en"): (
        "Deposit insurance covers principal and interest, up to 500,000 yuan per depositor per bank; all "
        "deposits at the same bank are combined.",
        "It's some kind of insurance for banks, I don't remember the amount.",
    ),
    ("sit-elderly-transfer", "zh"): (
        "首先我会请老人家坐下，耐心解释：公安机关不会让人把钱转到安全账户，这很可能是冒充公检法的电信诈骗。"
        "然后我会暂缓办理这笔转账。最后我会报告主管、联系客户家属，必要时拨打110报警。",
        "客户的钱客户做主，我会按客户要求办理，尽快帮客户转过去。",
    ),
    ("sit-elderly-transfer", "en"): (
        "First I would hold the transfer and talk gently with the customer. This is almost certainly a scam: the "
        "police never ask anyone to move money to a safe account. Then I would tell my supervisor, contact the "
        "customer's family and call the police if needed.",
        "It's their money, their choice, so I would just process the transfer as they asked.",
    ),
}


@pytest.mark.parametrize(("qid", "lang"), sorted(STRONG_WEAK))
def test_strong_answer_beats_weak_on_every_indicator(bank: Bank, qid: str, lang: str) -> None:
    q = bank.get(qid)
    strong, weak = (rubric(q, t) for t in STRONG_WEAK[qid, lang])
    for ind, _ in q.indicators:
        assert strong.subscore(ind) > weak.subscore(ind) + 30, (ind, strong.subscores, weak.subscores)
    assert strong.score >= 80 and weak.score <= 20
    assert not strong.main_missed and weak.main_missed


def test_subscores_cover_exactly_the_question_indicators(bank: Bank) -> None:
    for q in bank.questions:
        r = rubric(q, "")
        assert [i for i, _ in r.subscores] == [i for i, _ in q.indicators]
        assert all(v == 0 for _, v in r.subscores), q.id
        assert r.versions == (("rubric", bank.version), ("scorer", SCORER_VERSION))


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "answer",
    [
        "利息是1750元",
        "一千七百五十元",
        "1,750",
        "1.75千",
        "１，７５０元",
        "利息一共是一千七百五十块钱。",
        "10万乘以3.5%再乘以6除以12，所以利息是1750元",
        "100000 × 3.5% × 6 ÷ 12 = 1750",
        "The interest is 1,750 yuan.",
        "It comes to one thousand seven hundred and fifty yuan",
        "about 1.75k",
    ],
)
def test_numeric_check_accepts_1750_in_any_form(bank: Bank, answer: str) -> None:
    r = rubric(bank.get("num-deposit-interest"), answer)
    assert r.numeric is not None and r.numeric.correct, (answer, r.numeric)
    assert r.numeric.given == pytest.approx(1750)
    assert not missed_main_key_point(r)
    assert r.subscore("numeracy") >= 80


@pytest.mark.parametrize(
    "answer", ["利息是1700元", "1700", "一千七百元", "1.7千", "我算出来是3500元", "It's 1,700 yuan."]
)
def test_numeric_check_rejects_wrong_numbers(bank: Bank, answer: str) -> None:
    r = rubric(bank.get("num-deposit-interest"), answer)
    assert r.numeric is not None and not r.numeric.correct and r.numeric.given is not None
    assert missed_main_key_point(r)
    assert r.subscore("numeracy") < 30


def test_numeric_check_with_no_number(bank: Bank) -> None:
    r = rubric(bank.get("num-deposit-interest"), "我不太会算这个。")
    assert r.numeric is not None and r.numeric.given is None and not r.numeric.correct
    assert r.main_missed


@pytest.mark.parametrize(("answer", "ok"), [("增长了15%", True), ("百分之十五", True), ("It grew 15 percent", True),
                                            ("增长率是0.15", True), ("增长了180笔，是百分之十八", False), ("18%", False)])  # fmt: skip
def test_percentages(bank: Bank, answer: str, ok: bool) -> None:
    r = rubric(bank.get("num-growth-rate"), answer)
    assert r.numeric is not None and r.numeric.correct is ok, (answer, r.numeric)


@pytest.mark.parametrize(
    ("answer", "ok"),
    [("最多赔五十万", True), ("80万里只能赔50万元，上限是50万", True), ("half a million", True),
     ("Up to 500,000 yuan per depositor per bank", True), ("全部80万都能赔", False)],
)  # fmt: skip
def test_deposit_insurance_cap(bank: Bank, answer: str, ok: bool) -> None:
    r = rubric(bank.get("num-insurance-cover"), answer)
    assert r.numeric is not None and r.numeric.correct is ok, (answer, r.numeric)


def test_the_final_stated_answer_counts_even_when_it_equals_an_input(bank: Bank) -> None:
    q = bank.get("num-fee-cap")
    assert rubric(q, "20000乘0.5%是100元，超过了最高50元的上限，所以收50元。").numeric.correct  # type: ignore[union-attr]
    assert rubric(q, "手续费50元").numeric.correct  # type: ignore[union-attr]
    assert not rubric(q, "20000乘0.5%，手续费是100元。").numeric.correct  # type: ignore[union-attr]


def test_generated_numeric_items_accept_their_answer_and_reject_near_misses(bank: Bank) -> None:
    for tid in ("simple_interest", "percent_change", "ratio_split", "compound_2y", "equal_principal_first"):
        for seed in range(25):
            q = bank.generate(tid, seed)
            assert q.numeric is not None
            v = q.numeric.value
            shown = f"{v:.2f}".rstrip("0").rstrip(".")
            assert rubric(q, f"答案是{shown}").numeric.correct, (q.id, shown)  # type: ignore[union-attr]
            assert rubric(q, f"The answer is {shown}.").numeric.correct, (q.id, shown)  # type: ignore[union-attr]
            off = round(v * 1.03 + 1, 2)
            assert not rubric(q, f"答案是{off}").numeric.correct, (q.id, off)  # type: ignore[union-attr]


def test_extract_numbers_units_and_ordinals() -> None:
    vals = [
        (m.value, m.percent)
        for m in extract_numbers("第一，年利率三点五，百分之五，2万，一万二，3.5%，十分重要，一定")
    ]
    assert vals == [(3.5, False), (5.0, True), (20000.0, False), (12000.0, False), (3.5, True)]


# --------------------------------------------------------------------------- key points & evidence
def test_key_point_evidence_points_at_the_right_sentence(bank: Bank) -> None:
    q = bank.get("sit-elderly-transfer")
    text = "客户看起来很着急。我会先耐心解释，暂缓办理。同时我会报告主管并联系家属！这明显是诈骗。"
    r = rubric(q, text)
    hits = {k.id: k.hit for k in r.key_points}
    assert hits["pause"] is not None and hits["pause"].sentence == 1
    assert hits["pause"].passage == "我会先耐心解释，暂缓办理"
    assert hits["escalate"] is not None and hits["escalate"].passage == "同时我会报告主管并联系家属"
    assert text[hits["escalate"].start : hits["escalate"].end] == "报告主管"
    assert hits["identify_fraud"] is not None and hits["identify_fraud"].sentence == 3
    ev = dict(r.evidence)["risk"]
    assert any(
        e.kind == "key_point" and e.ref == "escalate" and e.passage == "同时我会报告主管并联系家属"
        for e in ev
    )

    en = "The customer is upset. I would pause the transfer. Then I'd call the police and contact family members."
    r = rubric(q, en)
    hits = {k.id: k.hit for k in r.key_points}
    assert hits["pause"] is not None and hits["pause"].passage == "I would pause the transfer"
    assert hits["escalate"] is not None and hits["escalate"].sentence == 2


def test_chinese_without_spaces_full_width_and_english_inflection(bank: Bank) -> None:
    q = bank.get("kn-deposit-insurance")
    for text in (
        "最高赔付５０万元",
        "最高赔付 50 万元",
        "最高赔付伍拾万",
        "UP TO 500,000 YUAN",
        "half a million",
    ):
        assert {k.id for k in rubric(q, text).key_points if k.matched} >= {"limit"}, text
    kyc = bank.get("kn-kyc")
    for text in (
        "I VERIFIED the customer's identity with a passport",
        "Verifying identity",
        "we verify identities",
    ):
        assert rubric(kyc, text).key_points[0].matched, text
    calm = bank.get("beh-pressure")
    for text in ("I stayed calm", "Staying calm helped", "I KEPT CALM", "I calmly explained"):
        assert rubric(calm, text).key_points[0].matched, text


def test_negation_is_recognised(bank: Bank) -> None:
    elderly = bank.get("sit-elderly-transfer")
    r = rubric(elderly, "我不会报警，也不会联系家属。")
    esc = next(k for k in r.key_points if k.id == "escalate")
    assert not esc.matched and "报警" in esc.negated
    r = rubric(elderly, "我绝对不会直接转，会先报警。")
    assert not r.red_flags and next(k for k in r.key_points if k.id == "escalate").matched
    kyc = bank.get("sit-skip-kyc")
    assert not rubric(kyc, "I would never let it slide.").red_flags
    assert [f.id for f in rubric(kyc, "I would let it slide this time.").red_flags] == ["skip"]
    assert rubric(kyc, "我不会跳过，必须核实。").key_points[0].matched
    assert rubric(kyc, "我不仅要按流程核实，还要报告主管。").key_points[0].matched  # 不仅 is not a negation


def test_red_flags_lower_only_their_indicators(bank: Bank) -> None:
    q = bank.get("sit-cash-shortage")
    clean = rubric(q, "我会立即报告主管，然后重新清点、查监控，按长短款制度登记。")
    flagged = rubric(q, "我会立即报告主管，然后重新清点、查监控，按长短款制度登记。实在查不到就自己补上。")
    assert flagged.subscore("risk") < clean.subscore("risk")
    assert flagged.subscore("composure") == clean.subscore("composure")
    assert any(e.kind == "red_flag" for e in dict(flagged.evidence)["risk"])


def test_structure_markers(bank: Bank) -> None:
    q = bank.get("beh-teamwork")
    r = rubric(q, "当时我们要办一个活动。我的任务是联系赞助。我决定先列名单。结果拉到了三家赞助。")
    assert {m.category for m in r.markers} == {"situation", "task", "action", "result"}
    r = rubric(
        q,
        "First, the situation was a class project. Then I took charge of the slides. Finally, as a result, we won.",
    )
    cats = {m.category for m in r.markers}
    assert {"sequence", "situation", "result"} <= cats
    assert {m.marker for m in r.markers if m.category == "sequence"} == {"first", "then", "finally"}
    assert not rubric(q, "第一次参加比赛的时候。").markers


# --------------------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("answer", "chosen"),
    [
        ("我选B，因为纸条上的电话很可能是诈骗。", "B"),
        ("B。只能打官方客服电话。", "B"),
        ("I'd go with option b, the note is probably a scam.", "B"),
        ("My answer is B because that number could be fake.", "B"),
        ("我不会选A，我选C。", "C"),
        ("应该选第二个。", "B"),
        ("A customer in that situation needs help, so I would call the official number.", None),
        ("我会帮客户处理好。", None),
    ],
)
def test_option_choice(bank: Bank, answer: str, chosen: str | None) -> None:
    q = bank.get("rj-atm-helper")
    r = rubric(q, answer)
    assert r.option is not None and r.option.chosen == chosen
    assert r.main_missed is (chosen is None)


def test_best_option_scores_above_partial_and_wrong(bank: Bank) -> None:
    q = bank.get("rj-atm-helper")
    best, partial, wrong = (rubric(q, f"我选{x}。").subscore("risk") for x in "BCA")
    assert best > partial > wrong  # type: ignore[operator]


# --------------------------------------------------------------------------- probe
def test_follow_up_earns_partial_credit_and_keeps_main_missed(bank: Bank) -> None:
    q = bank.get("beh-pressure")
    main = "当时任务很多。我把事情按轻重缓急排了顺序，结果按时完成了。"
    first = rubric(q, main)
    assert missed_main_key_point(first) and first.main_key_point == "stay_calm"
    again = rubric(q, main, followup="我会深呼吸，让自己冷静下来。")
    calm = next(k for k in again.key_points if k.id == "stay_calm")
    assert calm.matched and calm.credit == PROBE_CREDIT and calm.hit is not None and calm.hit.in_followup
    full = rubric(q, main + "我先深呼吸让自己冷静。")
    assert first.subscore("composure") < again.subscore("composure") < full.subscore("composure")  # type: ignore[operator]
    assert again.main_missed and again.probed


# --------------------------------------------------------------------------- determinism
def test_scoring_is_deterministic_including_order(bank: Bank) -> None:
    answers = [(qid, t) for (qid, _), pair in STRONG_WEAK.items() for t in pair]
    first = [json.dumps(rubric(bank.get(qid), t).to_dict(), ensure_ascii=False) for qid, t in answers]
    for qid, t in reversed(answers):  # warm caches in a different order
        rubric(bank.get(qid), t)
    again = [json.dumps(rubric(bank.get(qid), t).to_dict(), ensure_ascii=False) for qid, t in answers]
    assert first == again
    fresh = load_bank()
    assert [
        json.dumps(rubric(fresh.get(qid), t).to_dict(), ensure_ascii=False) for qid, t in answers
    ] == first


# --------------------------------------------------------------------------- invariance
_SWAP_ZH = {"张伟": "李娜", "他": "她", "北京": "成都", "清华大学": "某职业学院"}
_SWAP_EN = {"John": "Maria", "he": "she", "He": "She", "his": "her", "London": "Manchester",
            "Tsinghua University": "a vocational college"}  # fmt: skip


def _swap(text: str) -> str:
    table = {
        **_SWAP_ZH,
        **{v: k for k, v in _SWAP_ZH.items()},
        **_SWAP_EN,
        **{v: k for k, v in _SWAP_EN.items()},
    }
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile("|".join(rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w) for w in words))
    return pattern.sub(lambda m: table[m.group()], text)


def _fingerprint(r: RubricResult) -> tuple[object, ...]:
    return (
        r.subscores,
        r.components,
        tuple((k.id, k.matched, k.credit, k.negated) for k in r.key_points),
        tuple(f.id for f in r.red_flags),
        tuple((m.category, m.marker) for m in r.markers),
        None if r.numeric is None else (r.numeric.given, r.numeric.correct, r.numeric.mentioned),
        None if r.option is None else (r.option.chosen, r.option.credit),
        r.main_missed,
    )


def _answer_zh(q: Question) -> str:
    parts = ["当时我和同事张伟在北京的支行实习，他是清华大学毕业的。"]
    for i, kp in enumerate(q.key_points):
        phrase = kp.synonyms.zh[i % len(kp.synonyms.zh)].replace("…", "")
        parts.append(f"张伟建议，我就{phrase}，他说北京的客户都认可。")
    if q.numeric is not None:
        parts.append(f"张伟算的是{q.numeric.value + 100:g}，但我算出来答案是{q.numeric.value:g}。")
    if q.options:
        parts.append("他选A，我选" + next(o.id for o in q.options if o.correct) + "。")
    parts.append("最后他从清华大学回北京了。")
    return "".join(parts)


def _answer_en(q: Question) -> str:
    parts = ["When I was at a branch in London, John, who studied at Tsinghua University, worked with me."]
    for i, kp in enumerate(q.key_points):
        parts.append(f"John said he agreed, so I would {kp.synonyms.en[i % len(kp.synonyms.en)]} in London.")
    if q.numeric is not None:
        parts.append(f"He got {q.numeric.value + 100:g}, but the answer is {q.numeric.value:g}.")
    if q.options:
        parts.append(f"He picked A, but I choose {next(o.id for o in q.options if o.correct)}.")
    parts.append("Finally his manager in London thanked him.")
    return " ".join(parts)


def test_swapping_names_pronouns_places_and_schools_changes_no_score(bank: Bank) -> None:
    questions = list(bank.questions) + [bank.generate(t, s) for t in bank.templates for s in range(3)]
    checked = 0
    for q in questions:
        for text in (_answer_zh(q), _answer_en(q)):
            swapped = _swap(text)
            assert swapped != text
            assert _swap(swapped) == text
            a, b = rubric(q, text), rubric(q, swapped)
            assert _fingerprint(a) == _fingerprint(b), (q.id, text, swapped)
            checked += 1
    assert checked >= 2 * 60


def test_swaps_change_no_interview_score(bank: Bank) -> None:
    qs = [
        bank.get(x)
        for x in ("beh-ethics", "sit-elderly-transfer", "kn-kyc", "num-deposit-interest", "rj-atm-helper")
    ]
    texts = [
        "当时我在北京实习，同事张伟让我跳过客户身份核实，他说就这一次。我拒绝了，坚持原则按规定办理，"
        "并向他解释这样做违规，有反洗钱风险。我在清华大学学过合规课程。最后我报告了主管。",
        "First, I would pause the transfer. He was told by fake police in London to move money; this is a scam. "
        "Then I'd contact his family and tell my supervisor, like John did.",
        "KYC就是核实身份，要看身份证原件，了解开户目的和资金来源。张伟在清华大学的老师也这么讲。",
        "张伟说是1700元，他算错了，我在北京算出来利息是1750元。",
        "I choose B. John, who studied at Tsinghua University, says that note is a scam.",
    ]
    before = combine([score_answer(q, t) for q, t in zip(qs, texts, strict=True)])
    after = combine([score_answer(q, _swap(t)) for q, t in zip(qs, texts, strict=True)])
    assert before.scores() == after.scores() and before.overall == after.overall


# --------------------------------------------------------------------------- indicators & speech
def _speech(**kw: float | int | None) -> SpeechFeatures:
    base: dict[str, object] = {
        "duration_s": 60.0, "speech_s": 45.0, "rate": 4.2, "pause_count": 10, "long_pause_count": 0,
        "pause_ratio": 0.2, "filler_count": 1, "filler_rate": 1.0, "pitch_cv": 0.18, "loudness_sd_db": 4.0,
        "version": "speech-test",
    }  # fmt: skip
    base.update(kw)
    return SpeechFeatures(**base)  # type: ignore[arg-type]


def test_combine_weights_answers_by_indicator_weight_and_leaves_gaps_unassessed(bank: Bank) -> None:
    a = score_answer(bank.get("kn-deposit-insurance"), STRONG_WEAK["kn-deposit-insurance", "zh"][0])
    b = score_answer(bank.get("kn-kyc"), "要核实身份证。")
    report = combine([a, b])
    wa, wb = a.question.weight("finance"), b.question.weight("finance")
    expected = (wa * a.result.subscore("finance") + wb * b.result.subscore("finance")) / (wa + wb)  # type: ignore[operator]
    assert report.get("finance").score == pytest.approx(expected, abs=0.05)
    assert report.get("finance").weight == pytest.approx(wa + wb)
    for ind in ("numeracy", "composure", "learning", "customer", "logic"):
        assert report.get(ind).score is None  # not measured: not assessed, never 0
    assessed = [i.score for i in report.indicators if i.score is not None]
    assert report.overall == pytest.approx(sum(assessed) / len(assessed), abs=0.05)
    assert [i.id for i in report.indicators] == list(INDICATORS)
    json.dumps(report.to_dict(), ensure_ascii=False)


def test_speech_feeds_only_communication_and_composure_and_is_capped(bank: Bank) -> None:
    q = bank.get("beh-pressure")
    text = STRONG_WEAK["beh-pressure", "zh"][0]
    plain = combine([score_answer(q, text)])
    bad = _speech(
        rate=0.8, long_pause_count=40, pause_ratio=0.7, filler_rate=30.0, pitch_cv=0.9, loudness_sd_db=20.0
    )
    worst = combine([score_answer(q, text, speech=bad)])
    for ind in INDICATORS:
        if ind not in ("communication", "composure"):
            assert worst.get(ind).score == plain.get(ind).score
    for ind in ("communication", "composure"):
        p, w = plain.get(ind), worst.get(ind)
        assert w.speech == 0 and w.content == p.score
        assert w.score == pytest.approx((1 - SPEECH_SHARE) * p.score)  # type: ignore[operator]
        assert any(e.kind == "speech" for e in w.evidence)
    good = combine([score_answer(q, text, speech=_speech())])
    assert good.get("communication").score == plain.get("communication").score == 100


def test_speech_never_creates_a_score_for_an_unmeasured_indicator(bank: Bank) -> None:
    r = combine([score_answer(bank.get("kn-kyc"), "核实身份证", speech=_speech())])
    assert r.get("composure").score is None and r.get("composure").speech is not None


def test_speech_mappings_are_monotone() -> None:
    def comm(**kw: float | int | None) -> float:
        s = speech_scores(_speech(**kw))
        assert s is not None
        return s.communication

    def comp(**kw: float | int | None) -> float:
        s = speech_scores(_speech(**kw))
        assert s is not None and s.composure is not None
        return s.composure

    fillers = [comm(filler_rate=x) for x in (0, 2, 4, 8, 12, 16, 30)]
    assert fillers == sorted(fillers, reverse=True) and fillers[0] > fillers[-1]
    pauses = [comm(long_pause_count=n) for n in range(0, 12)]
    assert pauses == sorted(pauses, reverse=True) and pauses[0] > pauses[-1]
    slow = [comm(rate=r) for r in (0.5, 1.5, 2.0, 2.5, 3.0)]
    fast = [comm(rate=r) for r in (5.5, 6.0, 7.0, 8.0, 9.0)]
    assert slow == sorted(slow) and fast == sorted(fast, reverse=True)
    assert comm(rate=3.5) == comm(rate=5.0) == max(slow)
    pitch = [comp(pitch_cv=x) for x in (0.1, 0.25, 0.3, 0.4, 0.5, 0.7)]
    assert pitch == sorted(pitch, reverse=True) and pitch[0] > pitch[-1]
    loud = [comp(loudness_sd_db=x) for x in (3, 6, 8, 10, 14, 20)]
    assert loud == sorted(loud, reverse=True) and loud[0] > loud[-1]
    assert comp(pitch_cv=None, loudness_sd_db=None) == 100.0  # falls back to the pause measure
    assert speech_scores(_speech(speech_s=0.0)) is None


def test_every_score_record_carries_versions(bank: Bank) -> None:
    q = bank.get("sit-angry-customer")
    a = score_answer(q, "我会先道歉。", speech=_speech())
    assert a.versions.rubric == bank.version and a.versions.scorer == SCORER_VERSION
    assert a.versions.speech == "speech-test"
    assert score_answer(q, "我会先道歉。").versions.speech is None
    report = combine([a, score_answer(bank.get("kn-kyc"), "核实身份")])
    assert report.versions.to_dict() == {
        "rubric": bank.version,
        "scorer": SCORER_VERSION,
        "speech": "speech-test",
    }
    assert a.to_dict()["versions"]["rubric"] == bank.version


def test_answer_score_takes_no_candidate_attributes() -> None:
    import inspect

    for fn in (score_answer, rubric, combine):
        params = set(inspect.signature(fn).parameters)
        assert not params & {"name", "gender", "age", "region", "school", "candidate", "application"}
    assert set(AnswerScore.__dataclass_fields__) == {"question", "result", "speech", "versions", "duration_s"}


def test_scoring_is_fast(bank: Bank) -> None:
    jobs = [(bank.get(qid), t) for (qid, _), pair in STRONG_WEAK.items() for t in pair]
    jobs += [(bank.generate("simple_interest", s), f"10万乘3.5%，所以答案是{s}元") for s in range(20)]
    rubric(*jobs[0])
    start = time.perf_counter()
    for q, t in jobs * 5:
        rubric(q, t)
    per_answer_ms = (time.perf_counter() - start) * 1000 / (len(jobs) * 5)
    assert per_answer_ms < 50, per_answer_ms


def test_replace_keeps_result_frozen(bank: Bank) -> None:
    r = rubric(bank.get("kn-kyc"), "核实身份")
    with pytest.raises(AttributeError):
        r.question_id = "x"  # type: ignore[misc]
    assert replace(r, probed=True).probed


def test_a_traditional_character_transcript_scores_like_the_simplified_one() -> None:
    from scoring.hanzi import to_simplified
    from scoring.questions import load_bank
    from scoring.rubric import score_answer

    simplified = "首先我会耐心倾听客户的不满，安抚情绪，然后核实情况，按流程处理，最后跟进结果。"
    traditional = "首先我會耐心傾聽客戶的不滿，安撫情緒，然後核實情況，按流程處理，最後跟進結果。"
    assert to_simplified(traditional) == simplified
    q = load_bank().get("sit-angry-customer")
    a, b = score_answer(q, simplified), score_answer(q, traditional)
    assert a.subscores == b.subscores and a.score > 0
    passages = [e.passage for _, ev in b.evidence for e in ev]
    assert any("傾聽" in p for p in passages)  # evidence quotes the transcript as spoken
