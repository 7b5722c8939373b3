"""The question bank: validation, coverage, generated items and their answers (recomputed here
independently from the question text, not from the generator's code)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from scoring.questions import (
    DEFAULT_DIR,
    INDICATORS,
    KINDS,
    Bank,
    BankError,
    Question,
    bank_version,
    default_bank,
    generate,
    load_bank,
    questions_for,
)

POSITIONS = ("TELLER", "RM", "RISK")
CJK = re.compile(r"[\u4e00-\u9fff]")
SEEDS = range(60)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def test_bank_has_at_least_40_hand_written_items_across_kinds_and_positions(bank: Bank) -> None:
    assert len(bank.questions) >= 40
    kinds = Counter(q.kind for q in bank.questions)
    assert set(kinds) == set(KINDS)
    for kind in ("behavioural", "situational", "knowledge"):
        assert kinds[kind] >= 10, kinds
    for pos in POSITIONS:
        items = bank.questions_for(pos)
        assert len(items) >= 25, (pos, len(items))
        assert {q.kind for q in items} == set(KINDS), pos
        measured = {i for q in items for i, _ in q.indicators}
        assert measured == set(INDICATORS), (pos, set(INDICATORS) - measured)


def test_every_item_is_bilingual_and_well_formed(bank: Bank) -> None:
    for q in bank.questions:
        assert CJK.search(q.text.zh) and not CJK.search(q.text.en), q.id
        assert abs(sum(w for _, w in q.indicators) - 1) < 1e-9, q.id
        assert 1 <= q.difficulty <= 3 and 15 <= q.time_limit_s <= 600, q.id
        assert q.main_probe is not None and q.main_probe.zh and q.main_probe.en, q.id
        if q.kind in ("behavioural", "situational", "knowledge"):
            assert len(q.key_points) >= 2, q.id
        for kp in q.key_points:
            assert len(kp.synonyms.zh) >= 2 and len(kp.synonyms.en) >= 2, (q.id, kp.id)
            assert CJK.search(kp.probe.zh) and kp.probe.en, (q.id, kp.id)
            assert kp.label.zh and kp.label.en
        if q.key_points:
            assert abs(sum(k.weight for k in q.key_points) - 1) < 1e-9, q.id
        if q.kind == "numeric":
            assert q.numeric is not None
        if q.kind == "risk_judgement":
            assert sum(o.correct for o in q.options) == 1 and len(q.options) >= 3


def test_ids_are_unique_and_main_key_point_defaults_to_the_first(bank: Bank) -> None:
    ids = [q.id for q in bank.questions]
    assert len(ids) == len(set(ids))
    q = bank.get("beh-pressure")
    assert q.main_point is not None and q.main_point.id == q.key_points[0].id
    assert bank.get("num-deposit-interest").main_point is None  # the number itself is the main point


def test_questions_for_and_default_bank(bank: Bank) -> None:
    teller = questions_for("TELLER")
    assert teller == default_bank().questions_for("TELLER")
    assert all("TELLER" in q.positions for q in teller)
    assert "kn-capital-adequacy" not in {q.id for q in teller}
    assert "kn-capital-adequacy" in {q.id for q in bank.questions_for("RISK")}
    assert questions_for("NOPE") == ()


def test_bank_version_is_sha256_of_the_content_and_changes_with_it(bank: Bank, tmp_path: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", bank.version)
    assert bank.version == bank_version(DEFAULT_DIR)
    assert all(q.bank_version == bank.version for q in bank.questions)
    copy = tmp_path / "questions"
    shutil.copytree(DEFAULT_DIR, copy)
    assert bank_version(copy) == bank.version
    f = copy / "knowledge.yml"
    f.write_text(f.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert bank_version(copy) != bank.version


def _corrupt(tmp_path: Path, old: str, new: str, file: str = "behavioural.yml") -> str:
    copy = tmp_path / "questions"
    shutil.copytree(DEFAULT_DIR, copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(BankError) as err:
        load_bank(copy)
    return str(err.value)


def test_validation_names_the_file_and_item(tmp_path: Path) -> None:
    msg = _corrupt(
        tmp_path, "indicators: {composure: 0.5, logic: 0.25", "indicators: {composure: 0.4, logic: 0.25"
    )
    assert "behavioural.yml" in msg and "item 'beh-pressure'" in msg and "sum to 0.9" in msg


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("indicators: {learning: 0.6", "indicators: {charisma: 0.6", "unknown indicator 'charisma'"),
        (
            "kind: behavioural\n    positions: [TELLER, RM, RISK]\n    difficulty: 1",
            "kind: essay\n    positions: [TELLER, RM, RISK]\n    difficulty: 1",
            "kind 'essay'",
        ),
        ("difficulty: 2", "difficulty: 5", "difficulty must be 1, 2 or 3"),
        ("positions: [RM, TELLER]", "positions: [RM, JANITOR]", "unknown positions ['JANITOR']"),
        ("- id: beh-teamwork", "- id: beh-pressure", "duplicate id"),
        ("zh: [冷静, 镇定,", "zh: [他很冷静, 镇定,", "gendered pronoun"),
        (
            "    key_points:\n      - id: stay_calm\n        weight: 0.4",
            "    key_points:\n      - id: stay_calm\n        weight: 0.5",
            "key point weights sum to 1.1",
        ),
    ],
)
def test_validation_catches_mistakes(tmp_path: Path, old: str, new: str, expect: str) -> None:
    msg = _corrupt(tmp_path, old, new)
    assert expect in msg and "behavioural.yml" in msg


def test_validation_catches_missing_language_and_bad_options(tmp_path: Path) -> None:
    msg = _corrupt(
        tmp_path,
        "      en: Tell me about a time you completed a task as part of a team. What was your role?\n",
        "",
    )
    assert "item 'beh-teamwork'" in msg and "text must have exactly 'zh' and 'en'" in msg
    msg = _corrupt(
        tmp_path / "b",
        "        credit: 1\n        correct: true\n",
        "        credit: 1\n",
        file="reasoning.yml",
    )
    assert "reasoning.yml" in msg and "exactly one option must be flagged correct" in msg


def test_generated_items_are_reproducible_and_have_stable_ids(bank: Bank) -> None:
    for tid in bank.templates:
        for seed in (0, 1, 7, 12345):
            q = generate(tid, seed, bank)
            assert q.id == f"gen-{tid}-{seed}"
            assert q == bank.generate(tid, seed) == bank.get(q.id)
            assert q.template == tid and q.seed == seed and q.bank_version == bank.version
        variants = {bank.generate(tid, s).prompt("en") for s in SEEDS}
        assert len(variants) >= 5, tid  # seeds really vary the item


def test_unknown_template_and_bad_ids_fail_clearly(bank: Bank) -> None:
    with pytest.raises(KeyError, match="unknown template"):
        bank.generate("nope", 1)
    with pytest.raises(KeyError, match="unknown question id"):
        bank.get("no-such-question")


# --------------------------------------------------------------------------- independent answers
def _nums(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def _check(q: Question, expected: float) -> None:
    assert q.numeric is not None
    assert abs(q.numeric.value - expected) < 0.006, (q.id, q.text.en, q.numeric.value, expected)
    assert 0 < q.numeric.tolerance <= max(1.0, abs(expected) * 0.002), q.id


def test_simple_interest_answers_are_right(bank: Bank) -> None:
    for s in SEEDS:
        q = bank.generate("simple_interest", s)
        principal, rate, months = _nums(q.text.en)
        _check(q, principal * rate / 100 / 12 * months)


def test_percent_change_answers_are_right(bank: Bank) -> None:
    for s in SEEDS:
        q = bank.generate("percent_change", s)
        old, new = _nums(q.text.en)
        _check(q, abs(new - old) / old * 100)
        assert ("increase" in q.text.en) == (new > old)


def test_ratio_split_answers_are_right(bank: Bank) -> None:
    for s in SEEDS:
        q = bank.generate("ratio_split", s)
        total, a, b = _nums(q.text.en)
        _check(q, total / (a + b) * a)


def test_compound_interest_answers_are_right(bank: Bank) -> None:
    for s in SEEDS:
        q = bank.generate("compound_2y", s)
        principal, rate, years = _nums(q.text.en)
        amount = principal
        for _ in range(int(years)):
            amount += amount * rate / 100
        _check(q, amount)


def test_equal_principal_first_month_answers_are_right(bank: Bank) -> None:
    for s in SEEDS:
        q = bank.generate("equal_principal_first", s)
        loan, rate, months = _nums(q.text.en)
        _check(q, loan / months + loan * (rate / 100 / 12))


def test_zh_and_en_generated_texts_state_the_same_numbers(bank: Bank) -> None:
    for tid in ("simple_interest", "ratio_split", "compound_2y", "equal_principal_first"):
        for s in range(20):
            q = bank.generate(tid, s)
            zh = [
                float(x) * (10000 if unit else 1)
                for x, unit in re.findall(r"(\d+(?:\.\d+)?)(万?)", q.text.zh)
            ]
            assert sorted(zh) == sorted(_nums(q.text.en)), (q.id, q.text.zh, q.text.en)


def test_situational_judgement_items_flag_exactly_one_best_option(bank: Bank) -> None:
    seen_correct_letters = set()
    for s in SEEDS:
        q = bank.generate("risk_sjt", s)
        assert q.kind == "risk_judgement" and [o.id for o in q.options] == list("ABCD")
        right = [o for o in q.options if o.correct]
        assert len(right) == 1 and right[0].credit == 1
        assert all(o.credit < 1 for o in q.options if not o.correct)
        seen_correct_letters.add(right[0].id)
        prompt = q.prompt("zh")
        assert all(f"{o.id}. {o.text.zh}" in prompt for o in q.options)
        assert q.option_probe is not None and q.main_probe == q.option_probe
    assert len(seen_correct_letters) >= 3  # the shuffle moves the right answer around
