"""scoring.speech on synthetic speech (espeak-ng + sox) and on transcripts.

The audio tests need the ``espeak-ng`` and ``sox`` binaries (``apt-get install -y espeak-ng sox``);
without them they fail with a message saying so rather than being skipped.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from scoring.speech import (
    LONG_PAUSE_S,
    PAUSE_MIN_S,
    SPEECH_VERSION,
    SpeechFeatures,
    count_fillers,
    count_syllables,
    measure,
)

SR = 16_000
Audio = npt.NDArray[np.float32]

TEXT = (
    "Hello, my name is Jane. I have worked in retail banking for five years, "
    "mostly with small business clients."
)
PHRASES = [
    "I have worked in retail banking.",
    "Mostly with small business clients.",
    "I enjoy solving their problems.",
]


# --- synthetic audio -------------------------------------------------------------------------
def _require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found on PATH: the speech tests synthesise their audio with "
            "espeak-ng and sox. Install them with `apt-get install -y espeak-ng sox`.",
            pytrace=False,
        )


def _run(*args: str | Path) -> None:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({proc.returncode}): {proc.stderr.strip()}")


def _read_wav(path: Path) -> Audio:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1, path
        assert w.getsampwidth() == 2, path
        assert w.getframerate() == SR, path
        frames = w.readframes(w.getnframes())
    return (np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


class Synth:
    """espeak-ng/sox clips, made on first use and cached for the module.  The tool check runs
    inside the calling test, so missing binaries show up as that test FAILING."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._made: dict[tuple[str, int, float], Path] = {}
        self._joined: dict[str, Audio] = {}

    def path(self, text: str, speed: int = 175, pad_after: float = 0.0) -> Path:
        """A 16 kHz mono 16-bit WAV of ``text`` with ``pad_after`` s of silence appended."""
        key = (text, speed, pad_after)
        if key not in self._made:
            _require_tools()
            stem = self.workdir / f"clip{len(self._made)}"
            raw, out = stem.with_suffix(".raw.wav"), stem.with_suffix(".wav")
            _run("espeak-ng", "-v", "en-us", "-s", str(speed), "-w", raw, text)
            effects = ["pad", "0", f"{pad_after}"] if pad_after else []
            _run("sox", raw, "-r", str(SR), "-c", "1", "-b", "16", out, *effects)
            self._made[key] = out
        return self._made[key]

    def clip(self, text: str = TEXT, speed: int = 175) -> Audio:
        return _read_wav(self.path(text, speed))

    def _join(self, name: str, parts: list[Path]) -> Audio:
        if name not in self._joined:
            out = self.workdir / f"{name}.wav"
            _run("sox", *parts, out)
            self._joined[name] = _read_wav(out)
        return self._joined[name]

    def continuous(self) -> Audio:
        """The three PHRASES back to back."""
        return self._join("continuous", [self.path(p) for p in PHRASES])

    def paused(self) -> Audio:
        """The same three phrases with 2 s of silence (sox pad) after the first and second."""
        parts = [self.path(PHRASES[0], pad_after=2.0), self.path(PHRASES[1], pad_after=2.0)]
        return self._join("paused", [*parts, self.path(PHRASES[2])])


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth(tmp_path_factory.mktemp("speech"))


def _en(samples: Audio, transcript: str = TEXT, **kw: object) -> SpeechFeatures:
    return measure(samples, SR, transcript=transcript, language="en", **kw)  # type: ignore[arg-type]


# --- the record ------------------------------------------------------------------------------
def test_record_shape() -> None:
    assert [f.name for f in dataclasses.fields(SpeechFeatures)] == [
        "duration_s",
        "speech_s",
        "rate",
        "pause_count",
        "long_pause_count",
        "pause_ratio",
        "filler_count",
        "filler_rate",
        "pitch_cv",
        "loudness_sd_db",
        "version",
    ]
    feats = measure(np.zeros(SR, np.float32), SR, transcript="", language="en")
    assert feats.version == SPEECH_VERSION == "speech-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        feats.rate = 1.0  # type: ignore[misc]


# --- rate ------------------------------------------------------------------------------------
def test_faster_speech_has_higher_rate(synth: Synth) -> None:
    speeds = (110, 175, 260)
    feats = [_en(synth.clip(TEXT, speed=s)) for s in speeds]
    rates = [f.rate for f in feats]
    assert rates[0] < rates[1] < rates[2], rates
    assert rates[2] > 1.6 * rates[0], rates
    for f in feats:
        assert 1.5 < f.rate < 9.0, f  # plausible English syllables per second
        assert 0 < f.speech_s <= f.duration_s
        assert f.long_pause_count == 0
        assert f.pitch_cv is not None and f.loudness_sd_db is not None


def test_rate_counts_transcript_syllables(synth: Synth) -> None:
    samples = synth.clip()
    feats = _en(samples)
    assert feats.rate == pytest.approx(count_syllables(TEXT) / feats.speech_s, rel=1e-5)
    assert _en(samples, transcript="").rate == 0.0


# --- pauses ----------------------------------------------------------------------------------
def test_two_long_pauses(synth: Synth) -> None:
    continuous, paused = synth.continuous(), synth.paused()
    text = " ".join(PHRASES)
    flowing, halting = _en(continuous, text), _en(paused, text)
    assert flowing.long_pause_count == 0, flowing
    assert halting.long_pause_count == 2, halting
    assert halting.pause_count >= 2
    assert halting.pause_ratio > flowing.pause_ratio + 0.25, (flowing, halting)
    assert halting.duration_s == pytest.approx(flowing.duration_s + 4.0, abs=0.01)
    # The silence went into pauses, not speech: speaking time and rate barely move.
    assert halting.speech_s == pytest.approx(flowing.speech_s, abs=1.0)
    assert halting.rate > flowing.rate * 0.85


def test_leading_and_trailing_silence_are_ignored(synth: Synth) -> None:
    continuous = synth.continuous()
    text = " ".join(PHRASES)
    silence = np.zeros(int(1.5 * SR), np.float32)
    base = _en(continuous, text)
    padded = _en(np.concatenate([silence, continuous, silence]), text)
    assert padded.duration_s == pytest.approx(base.duration_s + 3.0, abs=1e-6)
    assert padded.pause_count == base.pause_count
    assert padded.long_pause_count == 0
    assert padded.speech_s == pytest.approx(base.speech_s, abs=0.05)
    assert padded.pause_ratio == pytest.approx(base.pause_ratio, abs=0.02)


def test_pauses_from_word_timestamps(synth: Synth) -> None:
    continuous = synth.continuous()
    words = [
        (0.50, 0.80, "I"),
        (0.80, 1.20, "have"),
        (1.40, 1.90, "worked"),  # 0.2 s gap: not a pause
        (2.30, 2.70, "in"),  # 0.4 s pause
        (4.70, 5.20, "retail"),  # 2.0 s long pause
        (5.20, 5.80, "banking"),
    ]
    feats = measure(continuous, SR, transcript="I have worked in retail banking", language="en", words=words)
    assert feats.pause_count == 2
    assert feats.long_pause_count == 1
    span = 5.80 - 0.50
    assert feats.speech_s == pytest.approx(span - 2.4, abs=1e-6)
    assert feats.pause_ratio == pytest.approx(2.4 / span, abs=1e-6)
    assert feats.rate == pytest.approx(count_syllables("I have worked in retail banking") / (span - 2.4))
    # Word timestamps work without audio, and an empty transcript falls back to the words.
    bare = measure(np.zeros(0, np.float32), SR, transcript="", language="en", words=words)
    assert (bare.pause_count, bare.long_pause_count, bare.speech_s) == (2, 1, feats.speech_s)
    assert bare.rate == feats.rate
    assert bare.pitch_cv is None


def test_pause_thresholds() -> None:
    assert (PAUSE_MIN_S, LONG_PAUSE_S) == (0.3, 1.5)


# --- fillers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("嗯，那个，我觉得就是说……", 3),  # 嗯 + 那个 + 就是说
        ("那个项目是我负责的。", 0),  # demonstrative 那个
        ("我觉得那个，那个方案更好", 1),
        ("那个那个我", 2),
        ("嗯嗯，好的", 1),  # one hesitation run
        ("呃我觉得可以", 1),
        ("好啊，我觉得可以啊。", 0),  # sentence-final 啊
        ("啊，这个问题……", 1),  # standalone 啊
        ("然后然后我们就上线了", 1),
        ("然后然后然后", 2),
        ("然后我们上线了", 0),
        ("这就是我的答案", 0),  # bare 就是 is a copula
        ("就是说，嗯，那个我不太确定，然后然后就是说", 5),
        ("um 我觉得", 1),  # hesitation written in Latin letters
        ("", 0),
    ],
)
def test_zh_fillers(text: str, expected: int) -> None:
    assert count_fillers(text, "zh") == expected
    assert count_fillers(text, "zh-CN") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("um, so, uh, I like, you know, think", 4),  # um + uh + like + you know
        ("I like it. Do you know?", 0),
        ("Do you know, I think it works", 0),
        ("It looks like rain, like I said.", 0),
        ("like, um, yeah", 2),
        ("Umm I, uh... like like you know", 4),
        ("er, hmm, erm", 3),
        ("We serve SMEs, you know.", 1),
        ("Um", 1),
        ("umbrella, hummus, her, user", 0),  # no fillers inside words
        ("", 0),
    ],
)
def test_en_fillers(text: str, expected: int) -> None:
    assert count_fillers(text, "en") == expected
    assert count_fillers(text, "en-US") == expected


def test_filler_rate_is_per_minute_of_answer(synth: Synth) -> None:
    samples = synth.clip()
    transcript = "um, " + TEXT + " uh, you know."
    feats = _en(samples, transcript)
    assert feats.filler_count == 3
    span = feats.speech_s / (1 - feats.pause_ratio)
    assert feats.filler_rate == pytest.approx(3 * 60.0 / span, rel=1e-4)
    zh = measure(samples, SR, transcript="嗯，那个，我觉得就是说……", language="zh")
    assert zh.filler_count == 3 and zh.filler_rate > 0


def test_syllable_counts() -> None:
    assert count_syllables("我在银行工作了五年。") == 9
    assert count_syllables("我在银行工作了5年") == 9
    assert count_syllables("make boxes jumped wanted table see") == 9
    assert count_syllables("I have worked in retail banking") == 8
    assert count_syllables("我用 Excel 做报表") == 5 + 2
    assert count_syllables("，。!?") == 0


# --- pitch and loudness ----------------------------------------------------------------------
def test_monotone_sine_vs_speech(synth: Synth) -> None:
    t = np.arange(3 * SR) / SR
    sine = (0.3 * np.sin(2 * np.pi * 180.0 * t)).astype(np.float32)
    tone = _en(sine, "")
    speech = _en(synth.clip())
    assert tone.pitch_cv is not None and tone.pitch_cv < 0.01, tone
    assert speech.pitch_cv is not None and speech.pitch_cv > 0.05, speech
    assert tone.loudness_sd_db is not None and tone.loudness_sd_db < 0.5
    assert speech.loudness_sd_db is not None and speech.loudness_sd_db > 2.0
    assert (tone.pause_count, tone.speech_s) == (0, pytest.approx(3.0))


def test_digital_silence_does_not_skew_loudness(synth: Synth) -> None:
    continuous = synth.continuous()
    silence = np.zeros(SR, np.float32)
    base = _en(continuous)
    padded = _en(np.concatenate([silence, continuous, silence]))
    assert base.loudness_sd_db is not None and padded.loudness_sd_db is not None
    assert padded.loudness_sd_db == pytest.approx(base.loudness_sd_db, abs=0.3)


def test_sample_rate_and_gain_do_not_change_the_picture(synth: Synth) -> None:
    """48 kHz input (resampled internally) and a quiet recording (−40 dB) keep the pauses."""
    text = " ".join(PHRASES)
    paused = synth.paused()
    base = _en(paused, text)
    for samples, rate in [(np.repeat(paused, 3), 48_000), (paused * np.float32(0.01), SR)]:
        feats = measure(samples, rate, transcript=text, language="en")
        assert feats.duration_s == pytest.approx(base.duration_s, abs=1e-3)
        assert (feats.pause_count, feats.long_pause_count) == (base.pause_count, 2)
        assert feats.speech_s == pytest.approx(base.speech_s, abs=0.3)
        assert feats.pitch_cv == pytest.approx(base.pitch_cv, abs=0.01)


# --- degenerate input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "samples",
    [
        np.zeros(2 * SR, np.float32),
        np.zeros(0, np.float32),
        np.zeros(10, np.float32),
        (0.3 * np.sin(np.arange(200) / 5)).astype(np.float32),  # 12.5 ms of tone
        (np.random.default_rng(7).standard_normal(2 * SR) * 1e-5).astype(np.float32),  # hiss
        np.full(SR, np.nan, np.float32),
    ],
    ids=["silence", "empty", "ten-samples", "very-short", "faint-hiss", "nan"],
)
def test_silence_and_short_audio(samples: Audio) -> None:
    feats = measure(samples, SR, transcript="", language="en")
    assert feats.rate == 0.0
    assert feats.speech_s == 0.0
    assert (feats.pause_count, feats.long_pause_count, feats.pause_ratio) == (0, 0, 0.0)
    assert (feats.filler_count, feats.filler_rate) == (0, 0.0)
    assert feats.pitch_cv is None and feats.loudness_sd_db is None
    assert feats.duration_s == pytest.approx(samples.size / SR)
    # A transcript with nothing audible under it still yields no rate.
    said = measure(samples, SR, transcript="嗯，我觉得", language="zh")
    assert (said.rate, said.filler_count, said.filler_rate) == (0.0, 1, 0.0)


def test_bad_sample_rate() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        measure(np.zeros(100, np.float32), 0, transcript="", language="en")


def test_int16_and_stereo_input(synth: Synth) -> None:
    samples = synth.clip()
    as_float = _en(samples)
    as_int = _en((samples * 32768.0).astype(np.int16))  # type: ignore[arg-type]
    assert as_int == as_float
    stereo = np.stack([samples, samples], axis=1)
    assert _en(stereo) == as_float  # type: ignore[arg-type]


# --- determinism -----------------------------------------------------------------------------
def test_deterministic(synth: Synth) -> None:
    paused = synth.paused()
    text = " ".join(PHRASES)
    before = paused.copy()
    first = _en(paused, text)
    assert all(_en(paused, text) == first for _ in range(3))
    assert _en(paused.copy(), text) == first
    np.testing.assert_array_equal(paused, before)  # input untouched
