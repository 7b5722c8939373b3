"""scoring.audio: every platform format decodes to 16 kHz mono, bad bytes give typed errors, and the
quality gate catches silence, too-short and clipped recordings."""

from __future__ import annotations

import random
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from scoring.audio import (
    SAMPLE_RATE,
    Audio,
    AudioError,
    AudioTooLong,
    UnreadableAudio,
    decode,
    quality,
    sniff,
)
from tests.scoring.conftest import FORMATS, Voice, run

FIRST = "Good morning. I have worked in retail banking for many years."
SECOND = "I enjoy helping customers solve their problems."
SNIFFED = {"amr": "amr", "ogg": "ogg", "webm": "webm", "m4a": "mp4", "mp3": "mp3", "wav": "wav"}


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-12)))


def two_sentences(voice: Voice) -> Path:
    """Two sentences with a 2 s pause between them (WAV, 22.05 kHz), made inside the test so that a
    missing tool FAILS it rather than erroring its setup."""
    return voice.joined(voice.en(FIRST), voice.en(SECOND), pause=2.0)


# --- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_16k_mono(voice: Voice, fmt: str) -> None:
    answer = two_sentences(voice)
    data = voice.encode(answer, fmt).read_bytes()
    audio = decode(data)
    assert sniff(data) == SNIFFED[fmt]
    assert audio.source_format == SNIFFED[fmt]
    assert audio.sample_rate == SAMPLE_RATE == 16000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration == pytest.approx(audio.samples.size / 16000)
    assert abs(audio.duration - wav_seconds(answer)) <= 0.1, (fmt, audio.duration, wav_seconds(answer))
    assert float(np.abs(audio.samples).max()) <= 1.0
    assert quality(audio).ok
    assert np.array_equal(decode(data).samples, audio.samples)  # repeatable (sox would dither)


def test_amr_goes_through_sox_and_keeps_its_pauses(voice: Voice) -> None:
    """ffmpeg's AMR decoder drops silence-descriptor frames (12.2 s came out 9.6 s here)."""
    answer = two_sentences(voice)
    audio = decode(voice.encode(answer, "amr").read_bytes())
    assert abs(audio.duration - wav_seconds(answer)) <= 0.1
    pause_start = wav_seconds(voice.en(FIRST)) + 0.2
    pause = audio.samples[int(pause_start * 16000) : int((pause_start + 1.6) * 16000)]
    assert dbfs(pause) < -45
    speech = audio.samples[: int(pause_start * 16000)]
    assert dbfs(speech) > -35


def test_stereo_44k_is_mixed_down_and_resampled(voice: Voice) -> None:
    path = voice.sox("stereo44.wav", "synth", "2.5", "sine", "440", "vol", "0.3", rate=44100, channels=2)
    audio = decode(path.read_bytes())
    assert audio.duration == pytest.approx(2.5, abs=0.01)
    assert audio.samples.size == pytest.approx(2.5 * 16000, abs=2)
    # a 440 Hz tone survives resampling with its frequency
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert np.argmax(spectrum) * 16000 / audio.samples.size == pytest.approx(440, abs=2)


def test_mp3_without_id3_tag_is_found_by_frame_sync(voice: Voice, tmp_path: Path) -> None:
    out = tmp_path / "bare.mp3"
    run(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-i", voice.en(SECOND),
        "-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0", out,
    )  # fmt: skip
    data = out.read_bytes()
    assert data[:3] != b"ID3" and data[0] == 0xFF
    assert sniff(data) == "mp3"
    assert decode(data).duration == pytest.approx(wav_seconds(voice.en(SECOND)), abs=0.1)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#!AMR\n<\x95", "amr"),
        (b"#!AMR-WB\n", "amr-wb"),
        (b"OggS\x00\x02\x00\x00", "ogg"),
        (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\x82\x84webmB\x87", "webm"),
        (b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\x82\x88matroska", "matroska"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00#", "mp3"),
        (b"\xff\xfb\x90d\x00\x00", "mp3"),
        (b"\xff\xf1P\x80\x02\x1f", "aac"),
        (b"RIFF$\x00\x00\x00WAVEfmt ", "wav"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"", None),
        (b"#!AMR", None),
        (b"this is a text file, not audio\n", None),
        (b'{"voice": "answer.amr"}', None),
        (b"RIFF$\x00\x00\x00AVI LIST", None),
        (b"\xff\xff\xff\xff\xff\xff", None),
        (b"\x89PNG\r\n\x1a\n", None),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head + bytes(64)) == expected


# --- bad input -----------------------------------------------------------------------------------


def test_empty_file_is_unreadable() -> None:
    with pytest.raises(UnreadableAudio, match="empty"):
        decode(b"")


def test_text_file_named_amr_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "answer.amr"
    path.write_text("嗯，我觉得这个问题……\nthis was supposed to be a voice message\n")
    with pytest.raises(UnreadableAudio, match="not a recognised audio format"):
        decode(path.read_bytes())


@pytest.mark.parametrize("keep", [30, 200, 0.5, -7])
def test_truncated_ogg_is_unreadable(voice: Voice, keep: float) -> None:
    answer = two_sentences(voice)
    data = voice.encode(answer, "ogg").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    with pytest.raises(UnreadableAudio):
        decode(data[:cut])


def test_corrupt_ogg_is_unreadable(voice: Voice) -> None:
    answer = two_sentences(voice)
    data = bytearray(voice.encode(answer, "ogg").read_bytes())
    rng = random.Random(1)
    for i in range(3000, min(len(data) - 1000, 20000)):
        data[i] = rng.randrange(256)
    with pytest.raises(UnreadableAudio, match="decoder failed"):
        decode(bytes(data))


def test_renamed_magic_is_unreadable(voice: Voice) -> None:
    answer = two_sentences(voice)
    data = voice.encode(answer, "ogg").read_bytes()
    with pytest.raises(UnreadableAudio):
        decode(b"Xggs" + data[4:])


@pytest.mark.parametrize(
    "magic",
    [
        b"#!AMR\n",
        b"#!AMR-WB\n",
        b"OggS",
        b"\x1aE\xdf\xa3",
        b"\x00\x00\x00\x1cftypM4A ",
        b"ID3\x04\x00",
        b"\xff\xfb\x90d",
        b"RIFF\xff\xff\xff\x7fWAVE",
        b"fLaC",
    ],
)
def test_garbage_behind_magic_raises_only_audio_errors(magic: bytes) -> None:
    rng = random.Random(magic)
    for size in (0, 17, 4096):
        data = magic + rng.randbytes(size)
        started = time.perf_counter()
        try:
            audio = decode(data)
        except AudioError:
            pass
        else:
            assert isinstance(audio, Audio) and audio.duration <= 180.0
        assert time.perf_counter() - started < 5.0, "a decoder hung on garbage"


@pytest.mark.parametrize(
    "data",
    [
        b"#!AMR\n" + b"\x4c" * 100,
        b"#!AMR-WB\n" + b"\x5c\x00\x00\x00\x00\x00" * 100,
        b"#!AMR\n" + b"\x84" * 130,
    ],
    ids=["nb-type-9", "wb-type-11", "padding-bit"],
)
def test_amr_frames_sox_would_hang_on_are_refused(data: bytes) -> None:
    """sox loops forever on AMR frame types it has no size for; they never reach it."""
    started = time.perf_counter()
    with pytest.raises(UnreadableAudio, match="corrupt AMR frame"):
        decode(data)
    assert time.perf_counter() - started < 1.0


def test_amr_cut_inside_the_last_frame_still_decodes(voice: Voice) -> None:
    answer = two_sentences(voice)
    data = voice.encode(answer, "amr").read_bytes()
    full = decode(data).duration
    for cut in (7, 20, len(data) // 2 + 5):  # the tail is 1-byte no-data frames (DTX), the middle speech
        assert full - (cut + 31) * 0.02 <= decode(data[:-cut]).duration < full
    with pytest.raises(UnreadableAudio):
        decode(data[:10])


def test_decoder_timeout_is_unreadable(voice: Voice) -> None:
    answer = two_sentences(voice)
    with pytest.raises(UnreadableAudio, match="timed out"):
        decode(voice.encode(answer, "m4a").read_bytes(), timeout=0.001)


# --- too long ------------------------------------------------------------------------------------


def _thirty_minutes(voice: Voice, fmt: str, tmp_path: Path) -> bytes:
    """A 30-minute file built from 10 s of sox-synthesised tone and noise, repeated frame by frame."""
    ten = voice.sox("ten.wav", "synth", "10", "sine", "300", "whitenoise", "vol", "0.2", rate=8000)
    if fmt == "amr":
        body = voice.encode(ten, "amr").read_bytes()[len(b"#!AMR\n") :]
        return b"#!AMR\n" + body * 180
    if fmt == "mp3":
        out = tmp_path / "ten.mp3"
        run("ffmpeg", "-nostdin", "-loglevel", "error", "-i", ten, "-b:a", "32k", "-id3v2_version", "0",
            "-write_xing", "0", out)  # fmt: skip
        return out.read_bytes() * 180
    assert fmt == "wav"
    with wave.open(str(ten), "rb") as w:
        pcm = w.readframes(w.getnframes())
    out = tmp_path / "long.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm * 180)
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["amr", "mp3", "wav"])
def test_thirty_minute_recording_is_refused_quickly(voice: Voice, tmp_path: Path, fmt: str) -> None:
    data = _thirty_minutes(voice, fmt, tmp_path)
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as info:
        decode(data)
    assert time.perf_counter() - started < 5.0  # only max_seconds + 1 s is decoded
    assert info.value.max_seconds == 180.0


def test_max_seconds_is_the_limit(voice: Voice) -> None:
    answer = two_sentences(voice)
    data = voice.encode(answer, "ogg").read_bytes()
    with pytest.raises(AudioTooLong):
        decode(data, max_seconds=5.0)
    assert decode(data, max_seconds=wav_seconds(answer) + 0.5).duration > 5.0


# --- quality gate --------------------------------------------------------------------------------


def _audio(path: Path) -> Audio:
    return decode(path.read_bytes())


def test_speech_passes(voice: Voice) -> None:
    answer = two_sentences(voice)
    report = quality(_audio(voice.encode(answer, "amr")))
    assert report.ok and report.problem is None
    assert 4.0 < report.speech_seconds < 10.5
    assert -35 < report.rms_dbfs < -10
    assert report.clipped_fraction < 0.001


def test_digital_silence_is_silent(voice: Voice) -> None:
    report = quality(_audio(voice.sox("zeros.wav", "trim", "0", "3")))
    assert (report.ok, report.problem, report.speech_seconds, report.rms_dbfs) == (
        False,
        "silent",
        0.0,
        -120.0,
    )


def test_faint_room_noise_is_silent(voice: Voice) -> None:
    report = quality(_audio(voice.sox("hiss.wav", "synth", "4", "pinknoise", "vol", "0.004")))
    assert report.problem == "silent"
    assert report.rms_dbfs < -45


def test_codec_silence_is_silent(voice: Voice) -> None:
    """AMR turns digital silence into comfort noise: still silent."""
    report = quality(_audio(voice.encode(voice.sox("zeros5.wav", "trim", "0", "5"), "amr")))
    assert report.problem == "silent"


def test_short_clip_is_too_short(voice: Voice) -> None:
    audio = _audio(voice.encode(voice.en("Yes."), "ogg"))
    assert audio.duration < 1.0
    assert quality(audio).problem == "too_short"


def test_a_blip_in_a_long_silence_is_too_short(voice: Voice) -> None:
    blip = voice.sox("blip.wav", "synth", "0.3", "sine", "300", "vol", "0.3", "pad", "1", "3")
    report = quality(_audio(blip))
    assert report.problem == "too_short"
    assert 0.2 <= report.speech_seconds < 0.6


def test_clipped_speech_is_clipped(voice: Voice, tmp_path: Path) -> None:
    loud = tmp_path / "loud.wav"
    run("sox", "-V1", voice.en(FIRST), loud, "gain", "18")
    report = quality(_audio(loud))
    assert report.problem == "clipped"
    assert report.clipped_fraction > 0.02


def test_normalised_speech_is_not_clipped(voice: Voice, tmp_path: Path) -> None:
    peak = tmp_path / "peak.wav"
    run("sox", voice.en(FIRST), peak, "gain", "-n", "0")
    report = quality(_audio(peak))
    assert report.ok, report
    assert report.clipped_fraction < 0.001


def test_digital_silence_is_left_out_of_the_statistics(voice: Voice, tmp_path: Path) -> None:
    speech = _audio(voice.en(FIRST))
    padded = tmp_path / "padded.wav"
    run("sox", voice.en(FIRST), padded, "pad", "0", "30")
    report, reference = quality(_audio(padded)), quality(speech)
    assert report.ok
    assert report.rms_dbfs == pytest.approx(reference.rms_dbfs, abs=0.5)
    assert report.speech_seconds == pytest.approx(reference.speech_seconds, abs=0.1)

    clipped = tmp_path / "clipped_padded.wav"
    run("sox", "-V1", voice.en(FIRST), clipped, "gain", "18", "pad", "0", "60")
    assert quality(_audio(clipped)).problem == "clipped"


def test_quality_of_tiny_inputs_does_not_crash() -> None:
    for n in (0, 1, 100):
        audio = Audio(
            samples=np.zeros(n, np.float32), sample_rate=16000, duration=n / 16000, source_format="wav"
        )
        assert quality(audio).problem == "too_short"


def test_ffmpeg_is_not_used_for_amr(voice: Voice, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = two_sentences(voice)
    amr, ogg = voice.encode(answer, "amr").read_bytes(), voice.encode(answer, "ogg").read_bytes()
    seen: list[str] = []
    real_run = subprocess.run

    def spy(cmd: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        seen.append(Path(cmd[0]).name)
        return real_run(cmd, *args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr("scoring.audio.subprocess.run", spy)
    decode(amr)
    decode(ogg)
    assert seen == ["sox", "ffmpeg"]
