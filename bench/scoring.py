"""Scoring latency without ASR: per answer, and from the last answer to the finished report.

Run as ``.venv/bin/python bench/scoring.py [--answers N] [--interviews M] [--seed S]``.

1. Per answer: ``scoring.indicators.score_answer`` (rubric + speech mapping) over N answers built from
   the bank's own rubrics — hand-written items and items generated from every template with fresh
   seeds, in Chinese and English, strong / partial / weak / rambling (a long unpunctuated transcript,
   the way ASR often returns Chinese), each with synthetic speech features. Target ≤ 50 ms.
2. Per interview: M simulated 10-question interviews driven by ``scoring.adaptive.choose_next`` (with
   probes). Timed from the moment the last answer's transcript exists to the finished per-indicator
   report (score the last answer, confirm no probe is due, combine, serialise to JSON). Target ≤ 5 s.

3. Through the product: K 10-question interviews in the chat on a SQLite store (typed answers, so
   no ASR), each answer through the engine, the outbox, the in-process worker and the event that puts
   the next prompt. Timed from sending the last answer to the interview marked complete with the
   thanks and feedback delivered, plus loading the report from the store and rendering it (HTML with
   the radar chart). Target ≤ 5 s.

Prints the figures and, last, one JSON line. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.adaptive import Turn, choose_next, interview_pool  # noqa: E402
from scoring.indicators import AnswerScore, combine, score_answer  # noqa: E402
from scoring.questions import Bank, Question, load_bank  # noqa: E402
from scoring.speech import SpeechFeatures  # noqa: E402

TARGET_ANSWER_MS = 50.0
TARGET_REPORT_S = 5.0
POSITIONS = ("TELLER", "RM", "RISK")
FILLER_ZH = "嗯那个就是说我觉得这个事情其实还是要看具体情况然后"
FILLER_EN = "well um I think it really depends on the situation you know and then"


def _phrase(q: Question, rng: random.Random, lang: str, keep: float) -> list[str]:
    out = []
    for kp in q.key_points:
        if rng.random() < keep:
            syns = kp.synonyms.zh if lang == "zh" else kp.synonyms.en
            out.append(rng.choice(syns).replace("…", "一下"))
    return out


def make_answer(q: Question, rng: random.Random) -> str:
    lang = rng.choice(("zh", "en"))
    style = rng.choice(("strong", "partial", "weak", "rambling"))
    keep = {"strong": 1.0, "partial": 0.5, "weak": 0.0, "rambling": 0.7}[style]
    phrases = _phrase(q, rng, lang, keep)
    if lang == "zh":
        body = [f"{('首先', '然后', '其次', '最后')[i % 4]}我会{p}" for i, p in enumerate(phrases)]
        if q.numeric is not None:
            body.append(f"所以答案是{q.numeric.value if style != 'weak' else q.numeric.value * 1.1:g}元")
        if q.options:
            body.append(f"我选{rng.choice(q.options).id}")
        if style == "rambling":
            return FILLER_ZH * 8 + "".join(body) + FILLER_ZH * 8
        return "当时情况比较复杂。" + "。".join(body or ["这个我不太清楚"]) + "。"
    body = [f"{('First', 'Then', 'Next', 'Finally')[i % 4]}, I would {p}" for i, p in enumerate(phrases)]
    if q.numeric is not None:
        body.append(f"so the answer is {q.numeric.value if style != 'weak' else q.numeric.value * 1.1:g}")
    if q.options:
        body.append(f"I choose {rng.choice(q.options).id}")
    if style == "rambling":
        return " ".join([FILLER_EN * 5, *body, FILLER_EN * 5])
    return "The situation was tricky. " + ". ".join(body or ["I am not sure about this"]) + "."


def make_speech(rng: random.Random) -> SpeechFeatures:
    duration = rng.uniform(20, 150)
    ratio = rng.uniform(0.05, 0.5)
    return SpeechFeatures(
        duration_s=duration,
        speech_s=duration * (1 - ratio),
        rate=rng.uniform(2.0, 7.0),
        pause_count=rng.randint(0, 30),
        long_pause_count=rng.randint(0, 8),
        pause_ratio=ratio,
        filler_count=rng.randint(0, 20),
        filler_rate=rng.uniform(0, 15),
        pitch_cv=rng.choice((None, rng.uniform(0.1, 0.6))),
        loudness_sd_db=rng.uniform(3, 15),
        version="bench",
    )


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))]


def bench_answers(bank: Bank, n: int, rng: random.Random) -> dict[str, float]:
    items: list[Question] = list(bank.questions)
    jobs = []
    for i in range(n):
        if i % 3 == 0:
            tid = rng.choice(sorted(bank.templates))
            q = bank.generate(tid, rng.randrange(1_000_000))
        else:
            q = items[i % len(items)]
        jobs.append((q, make_answer(q, rng), make_speech(rng)))
    for q, text, sp in jobs[:50]:  # warm-up (regex and synonym caches)
        score_answer(q, text, speech=sp)
    times: list[float] = []
    chars = 0
    for q, text, sp in jobs:
        t0 = time.perf_counter()
        score_answer(q, text, speech=sp)
        times.append((time.perf_counter() - t0) * 1000)
        chars += len(text)
    return {
        "answers": len(times),
        "mean_chars": round(chars / len(times), 1),
        "mean_ms": round(statistics.fmean(times), 3),
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(_pct(times, 0.95), 3),
        "p99_ms": round(_pct(times, 0.99), 3),
        "max_ms": round(max(times), 3),
    }


def bench_interviews(bank: Bank, m: int, rng: random.Random) -> dict[str, float]:
    report_times: list[float] = []
    whole: list[float] = []
    probes = 0
    for k in range(m):
        position = POSITIONS[k % len(POSITIONS)]
        seed = rng.randrange(1_000_000)
        pool = interview_pool(bank, position, seed)
        history: list[Turn] = []
        scored: dict[str, AnswerScore] = {}
        texts: dict[str, str] = {}
        t_start = time.perf_counter()
        last_text: tuple[Question, str, SpeechFeatures] | None = None
        while True:
            c = choose_next(pool, history, seed=seed)
            if c is None:
                break
            q = c.question
            if c.is_probe:
                probes += 1
                a = score_answer(q, texts[q.id], followup=make_answer(q, rng), speech=make_speech(rng))
                history.append(Turn(q.id, a.result, probed=True))
                scored[q.id] = a
                continue
            texts[q.id] = make_answer(q, rng)
            sp = make_speech(rng)
            if len({t.question_id for t in history}) == 9:  # the tenth question: time it separately
                last_text = (q, texts[q.id], sp)
                break
            a = score_answer(q, texts[q.id], speech=sp)
            history.append(Turn(q.id, a.result))
            scored[q.id] = a
        assert last_text is not None
        q, text, sp = last_text
        t0 = time.perf_counter()  # the last transcript exists: score it and finish the report
        a = score_answer(q, text, speech=sp)
        history.append(Turn(q.id, a.result))
        scored[q.id] = a
        nxt = choose_next(pool, history, seed=seed)
        if nxt is None or not nxt.is_probe:
            report = combine(list(scored.values()))
            payload = json.dumps(report.to_dict(), ensure_ascii=False)
            assert payload and all(i.score is not None for i in report.indicators)
        report_times.append((time.perf_counter() - t0) * 1000)
        whole.append((time.perf_counter() - t_start) * 1000)
    return {
        "interviews": m,
        "probes": probes,
        "report_median_ms": round(statistics.median(report_times), 3),
        "report_max_ms": round(max(report_times), 3),
        "interview_total_median_ms": round(statistics.median(whole), 3),
    }


def bench_product(k: int) -> dict[str, float]:
    """Whole 10-question interviews through the chat, on a fresh SQLite store in a temp dir."""
    import tempfile
    from datetime import UTC, datetime

    from sqlalchemy import update

    from actions.interview_report import load_report
    from bots.runtime import build
    from bots.settings import Settings
    from bots.testing import FakeClock, TestBot
    from nlu import NLU
    from scoring.report import radar_data_url, radar_png, to_html
    from storage import repo
    from storage.models import Position
    from storage.seed import seed

    done_ms: list[float] = []
    report_ms: list[float] = []
    per_answer_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, var_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        clock = FakeClock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
        rt = build(settings, nlu=NLU.load(settings.content_dir / "nlu", tz=settings.tz), clock=clock)
        with rt.sessions.begin() as s:
            seed(s, content_dir=settings.content_dir, now=clock(), tz=settings.tz)
            s.execute(update(Position).where(Position.code == "RISK").values(question_count=10))
        rt.jobs.start()
        answer = (
            "我会先核实客户身份，按照反洗钱规定检查交易背景，发现可疑情况及时上报合规部门，同时耐心向客户解释原因。"
            "比如实习时遇到一笔大额转账，我先询问用途，核对证件，按流程上报，结果避免了风险。利息等于本金乘以利率乘以期限。"
        )
        for i in range(k):
            with rt.sessions.begin() as s:
                pos = repo.position_by_code(s, "RISK")
                assert pos is not None
                app, code = repo.create_application(s, position=pos, name=f"候选人{i}", now=clock())
                s.flush()
                app_id = app.id
            bot = TestBot(rt, user=f"bench-{i}")
            bot.say(f"我的邀请码是 {repo.format_code(code)}")
            bot.press("同意")
            bot.press("同意")
            bot.press("开始面试")
            while True:
                t0 = time.perf_counter()
                bot.say(answer)
                bot.settle()
                elapsed = (time.perf_counter() - t0) * 1000
                if "面试完成" in bot.text:
                    with rt.sessions() as s:
                        loaded = load_report(s, app_id, language="zh", bank=rt.deps.bank, now=clock())
                    assert loaded is not None and loaded.status == "completed"
                    html = to_html(
                        loaded.report,
                        radar_url=radar_data_url(radar_png(loaded.report.scores, language="zh")),
                    )
                    assert "候选人" in html
                    total = (time.perf_counter() - t0) * 1000
                    done_ms.append(elapsed)
                    report_ms.append(total)
                    break
                per_answer_ms.append(elapsed)
        rt.jobs.stop()
        rt.reminders.shutdown()
        rt.engine.dispose()
    return {
        "interviews": k,
        "answer_to_next_prompt_median_ms": round(statistics.median(per_answer_ms), 1),
        "answer_to_next_prompt_p95_ms": round(_pct(per_answer_ms, 95), 1),
        "last_answer_to_complete_median_ms": round(statistics.median(done_ms), 1),
        "last_answer_to_report_median_ms": round(statistics.median(report_ms), 1),
        "last_answer_to_report_max_ms": round(max(report_ms), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--answers", type=int, default=5000)
    ap.add_argument("--interviews", type=int, default=60)
    ap.add_argument("--product-interviews", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    bank = load_bank()
    load_ms = (time.perf_counter() - t0) * 1000
    print(
        f"bank: {len(bank.questions)} hand-written items, {len(bank.templates)} templates, loaded in {load_ms:.1f} ms"
    )

    per = bench_answers(bank, args.answers, rng)
    print(
        f"per answer (rubric + speech mapping, no ASR), {per['answers']} answers of {per['mean_chars']:.0f} chars: "
        f"mean {per['mean_ms']:.3f} ms, median {per['median_ms']:.3f}, p95 {per['p95_ms']:.3f}, "
        f"p99 {per['p99_ms']:.3f}, max {per['max_ms']:.3f} (target ≤ {TARGET_ANSWER_MS:g} ms)"
    )
    inter = bench_interviews(bank, args.interviews, rng)
    print(
        f"10-question interview, last answer → finished report: median {inter['report_median_ms']:.3f} ms, "
        f"max {inter['report_max_ms']:.3f} ms over {inter['interviews']} interviews ({inter['probes']} probes); "
        f"whole interview scoring median {inter['interview_total_median_ms']:.3f} ms (target ≤ {TARGET_REPORT_S:g} s)"
    )
    prod = bench_product(args.product_interviews)
    print(
        f"through the chat (SQLite, in-process worker, typed answers), {prod['interviews']} 10-question interviews: "
        f"answer → next prompt median {prod['answer_to_next_prompt_median_ms']:.1f} ms "
        f"(p95 {prod['answer_to_next_prompt_p95_ms']:.1f}); last answer → interview complete "
        f"{prod['last_answer_to_complete_median_ms']:.1f} ms, → HTML report with radar median "
        f"{prod['last_answer_to_report_median_ms']:.1f} ms, max {prod['last_answer_to_report_max_ms']:.1f} ms "
        f"(target ≤ {TARGET_REPORT_S:g} s)"
    )
    ok = (
        per["p99_ms"] <= TARGET_ANSWER_MS
        and inter["report_max_ms"] <= TARGET_REPORT_S * 1000
        and prod["last_answer_to_report_max_ms"] <= TARGET_REPORT_S * 1000
    )
    print(json.dumps({"bench": "scoring", "bank_load_ms": round(load_ms, 1), "per_answer": per, "interview": inter, "product": prod,
                      "targets": {"answer_ms": TARGET_ANSWER_MS, "report_s": TARGET_REPORT_S}, "ok": ok}))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
