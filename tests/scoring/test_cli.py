"""``talentbot transcribe`` and ``talentbot score`` as a person runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.scoring.conftest import MODEL_CACHE, Models, Voice

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "TALENTBOT_VAR_DIR": str(MODEL_CACHE.parent), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_transcribe_prints_text_language_duration_and_segments(
    tmp_path: Path, voice: Voice, models: Models
) -> None:
    models.model_dir()  # assembled once for the whole suite
    clip = voice.encode(voice.en("I would check the customer's identity before the transfer."), "ogg")
    r = _run(tmp_path, "transcribe", str(clip), "--language", "en")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "identity" in out["text"].lower() and out["language"] == "en"
    assert 2.0 < out["duration"] < 8.0
    starts = [s["start"] for s in out["segments"]]
    assert starts == sorted(starts) and all(s["end"] > s["start"] for s in out["segments"])


def test_transcribe_explains_a_missing_model_and_unreadable_audio(tmp_path: Path) -> None:
    bogus = tmp_path / "answer.amr"
    bogus.write_text("this is not audio")
    r = _run(tmp_path, "transcribe", str(bogus))
    assert r.returncode == 2 and "cannot transcribe" in r.stderr and "Traceback" not in r.stderr
    wav = tmp_path / "a.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(wav), "synth", "2", "sine", "300"], check=True
    )
    r = _run(tmp_path, "transcribe", str(wav), env={"TALENTBOT_ASR_MODEL": str(tmp_path / "no-such-model")})
    assert r.returncode == 2 and "TALENTBOT_ASR_MODEL" in r.stderr and "Traceback" not in r.stderr


def test_score_a_typed_answer_prints_eight_indicators_with_evidence(tmp_path: Path) -> None:
    strong = "首先我会耐心倾听客户的不满，安抚情绪，然后核实情况，按流程处理，最后跟进结果。"
    r = _run(tmp_path, "score", "--question", "sit-angry-customer", "--text", strong)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["indicators"]) == {
        "communication",
        "logic",
        "numeracy",
        "risk",
        "composure",
        "learning",
        "finance",
        "customer",
    }
    assessed = {k: v for k, v in out["indicators"].items() if v["score"] is not None}
    assert assessed and all(v["evidence"] for v in assessed.values())
    assert out["versions"]["rubric"] and out["versions"]["scorer"]
    weak = _run(tmp_path, "score", "--question", "sit-angry-customer", "--text", "不知道。")
    assert json.loads(weak.stdout)["overall"] < out["overall"]
    r = _run(tmp_path, "score", "--question", "no-such-question", "--text", "x")
    assert r.returncode == 2 and "unknown question" in r.stderr
