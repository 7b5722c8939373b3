"""Held-out accuracy and parse latency of the intent classifier.

Run as ``.venv/bin/python bench/nlu.py``. Trains from ``content/nlu/<lang>/nlu.yml`` exactly as the bot
does at start-up, evaluates on ``content/nlu/heldout/<lang>.yml`` and times ``NLU.parse``. Exit status
is 1 when a target is missed (≥ 95 % per language, ≤ 2 ms median).

Then the same for the HR users' model (``nlu/hr.py``): trained from ``content/nlu/hr/<lang>/nlu.yml``,
evaluated on ``content/nlu/hr/heldout/<lang>.yml``, timing ``HrNLU.parse`` (classification plus all
entity rules). Targets: ≥ 90 % per language, ≤ 3 ms median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nlu.classifier import Example, load_nlu_dir, load_nlu_yml  # noqa: E402
from nlu.hr import HrNLU  # noqa: E402
from nlu.parse import DEFAULT_THRESHOLD, FALLBACK, NLU  # noqa: E402

TARGET_ACCURACY = 0.95
TARGET_MEDIAN_MS = 2.0
HR_TARGET_ACCURACY = 0.90
HR_TARGET_MEDIAN_MS = 3.0
MIN_TIMINGS = 2000
OUT_OF_SCOPE = "out_of_scope"  # a trained intent for chit-chat; the bot answers it as it does a fallback
NOW = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _heldout(data_dir: Path) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {}
    for path in sorted((data_dir / "heldout").glob("*.yml")):
        out[path.stem] = load_nlu_yml(path, path.stem)
    return out


def _evaluate(nlu: NLU, examples: list[Example]) -> tuple[float, float, float, list[str]]:
    """Return (in-scope accuracy, out-of-scope rejection rate, language-detection accuracy, misses)."""
    hits = total = rejected = oos = lang_ok = 0
    misses: list[str] = []
    for ex in examples:
        p = nlu.parse(ex.text, now=NOW)
        lang_ok += p.language == ex.language
        if ex.intent in (FALLBACK, OUT_OF_SCOPE):
            oos += 1
            rejected += p.intent in (FALLBACK, OUT_OF_SCOPE)
            if p.intent not in (FALLBACK, OUT_OF_SCOPE):
                misses.append(f"  [out-of-scope] {ex.text!r} -> {p.intent} ({p.confidence:.2f})")
            continue
        total += 1
        if p.intent == ex.intent:
            hits += 1
        else:
            best = p.ranking[1] if p.intent == FALLBACK and len(p.ranking) > 1 else p.ranking[0]
            misses.append(f"  [{ex.intent}] {ex.text!r} -> {p.intent} (best {best[0]} {best[1]:.2f})")
    n = len(examples)
    return hits / max(total, 1), rejected / max(oos, 1), lang_ok / max(n, 1), misses


def _timings(nlu: NLU | HrNLU, texts: list[str]) -> list[float]:
    for text in texts[:50]:  # warm caches
        nlu.parse(text, now=NOW)
    out: list[float] = []
    while len(out) < MIN_TIMINGS:
        for text in texts:
            t0 = time.perf_counter_ns()
            nlu.parse(text, now=NOW)
            out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def _evaluate_hr(hr: HrNLU, examples: list[Example]) -> tuple[float, float, list[str]]:
    """Return (in-scope accuracy, out-of-scope rejection rate, misses) of the HR model."""
    hits = total = rejected = oos = 0
    misses: list[str] = []
    for ex in examples:
        p = hr.parse(ex.text, now=NOW)
        if ex.intent == FALLBACK:
            oos += 1
            rejected += p.intent == FALLBACK
            if p.intent != FALLBACK:
                misses.append(f"  [out-of-scope] {ex.text!r} -> {p.intent} ({p.confidence:.2f})")
            continue
        total += 1
        hits += p.intent == ex.intent
        if p.intent != ex.intent:
            misses.append(f"  [{ex.intent}] {ex.text!r} -> {p.intent} ({p.confidence:.2f})")
    return hits / max(total, 1), rejected / max(oos, 1), misses


def _bench_hr(data: Path) -> bool:
    """The HR users' model: held-out accuracy per language and median ``HrNLU.parse`` time."""
    t0 = time.perf_counter()
    hr = HrNLU.load(data, tz=ZoneInfo("Asia/Shanghai"))
    train_s = time.perf_counter() - t0
    counts = Counter(ex.language for ex in load_nlu_dir(data))
    print(
        f"HR: trained in {train_s:.2f} s on {dict(counts)} examples, {len(hr.nlu.classifier.intents)} intents"
    )
    ok = train_s < 2.0
    texts: list[str] = []
    for lang, examples in _heldout(data).items():
        acc, reject, misses = _evaluate_hr(hr, examples)
        n_in = sum(ex.intent != FALLBACK for ex in examples)
        print(
            f"HR {lang}: accuracy {acc:.1%} on {n_in} held-out,"
            f" out-of-scope rejected {reject:.0%} of {len(examples) - n_in}"
        )
        for line in misses:
            print(line)
        ok &= acc >= HR_TARGET_ACCURACY
        texts.extend(ex.text for ex in examples)
    ms = sorted(_timings(hr, texts))
    median = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"HR parse time over {len(ms)} calls: median {median:.3f} ms, p99 {p99:.3f} ms")
    return ok and median <= HR_TARGET_MEDIAN_MS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "content" / "nlu")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--per-language", action="store_true", help="one model per language")
    ap.add_argument("--hr-data", type=Path, default=ROOT / "content" / "nlu" / "hr")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    nlu = NLU.load(
        args.data, tz=ZoneInfo("Asia/Shanghai"), threshold=args.threshold, per_language=args.per_language
    )
    train_s = time.perf_counter() - t0
    counts = Counter(ex.language for ex in load_nlu_dir(args.data))
    print(f"trained in {train_s:.2f} s on {dict(counts)} examples, {len(nlu.classifier.intents)} intents")

    ok = train_s < 2.0
    texts: list[str] = []
    for lang, examples in _heldout(args.data).items():
        acc, reject, lang_acc, misses = _evaluate(nlu, examples)
        n_in = sum(ex.intent not in (FALLBACK, OUT_OF_SCOPE) for ex in examples)
        print(
            f"{lang}: accuracy {acc:.1%} on {n_in} held-out, out-of-scope rejected {reject:.0%}"
            f" of {len(examples) - n_in}, language detected {lang_acc:.0%}"
        )
        for line in misses:
            print(line)
        ok &= acc >= TARGET_ACCURACY
        texts.extend(ex.text for ex in examples)

    ms = sorted(_timings(nlu, texts))
    median = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"parse time over {len(ms)} calls: median {median:.3f} ms, p99 {p99:.3f} ms")
    ok &= median <= TARGET_MEDIAN_MS
    ok &= _bench_hr(args.hr_data)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
