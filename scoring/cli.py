"""``talentbot transcribe`` and ``talentbot score``: the voice-answer pipeline from the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

from scoring.asr import ASRUnavailable, ModelMissing
from scoring.audio import AudioError, DecoderMissing, decode, quality
from scoring.indicators import combine, score_answer
from scoring.questions import BankError, load_bank


def _asr(var_dir: Path) -> Any:
    from scoring.asr import FasterWhisperBackend
    from scoring.whisper_model import ensure_model

    model_dir = ensure_model(var_dir / "models", os.environ.get("TALENTBOT_ASR_MODEL"))
    return FasterWhisperBackend(model_dir)


def transcribe_command(path: Path, *, language: str, var_dir: Path, stdout: TextIO, stderr: TextIO) -> int:
    try:
        audio = decode(path.read_bytes())
        transcript = _asr(var_dir).transcribe(audio, language=language)
    except (OSError, AudioError, DecoderMissing, ModelMissing, ASRUnavailable) as exc:
        print(f"cannot transcribe {path}: {exc}", file=stderr)
        return 2
    print(json.dumps(transcript.to_json(), ensure_ascii=False, indent=2), file=stdout)
    return 0


def score_command(
    question_id: str,
    *,
    text: str | None,
    audio_path: Path | None,
    language: str,
    content_dir: Path,
    var_dir: Path,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Score one answer (typed, or spoken in an audio file) and print the per-indicator JSON."""
    try:
        bank = load_bank(content_dir / "questions")
        question = bank.get(question_id)
    except (BankError, KeyError, LookupError) as exc:
        print(f"unknown question {question_id!r}: {exc}", file=stderr)
        return 2
    speech = None
    out: dict[str, Any] = {}
    if audio_path is not None:
        from scoring.speech import measure

        try:
            audio = decode(audio_path.read_bytes())
            q = quality(audio)
            if not q.ok:
                print(f"the recording is not usable: {q.problem}", file=stderr)
                return 3
            transcript = _asr(var_dir).transcribe(audio, language=language)
        except (OSError, AudioError, DecoderMissing, ModelMissing, ASRUnavailable) as exc:
            print(f"cannot score {audio_path}: {exc}", file=stderr)
            return 2
        text = transcript.text
        speech = measure(
            audio.samples,
            audio.sample_rate,
            transcript=text,
            language=language,
            words=[(w.start, w.end, w.word) for w in transcript.words] or None,
        )
        out["transcript"] = transcript.to_json()
    assert text is not None
    scores = combine([score_answer(question, text, speech=speech)])
    out.update(scores.to_dict())
    out["question"] = question_id
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str), file=stdout)
    return 0
