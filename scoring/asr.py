"""Speech to text behind one small protocol.

Two backends: :class:`FasterWhisperBackend` runs Whisper (CTranslate2) in this process from a local
model directory and never downloads anything; :class:`HTTPBackend` calls an OpenAI-compatible
``/v1/audio/transcriptions`` server (a hosted API or a self-hosted faster-whisper server) for sites
that want the GPU elsewhere. Both return the same frozen :class:`Transcript`.

Transcription is CPU work: call it from a worker, never on the event loop.
"""

from __future__ import annotations

import io
import os
import threading
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np

from scoring.audio import Audio

MODEL_SETTING = "TALENTBOT_ASR_MODEL"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


class ModelMissing(Exception):
    """No usable Whisper model; the message names the setting to fix and what was looked for."""


class ASRUnavailable(Exception):
    """The remote ASR service failed (HTTP error, timeout, unreachable, unreadable answer)."""


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    word: str
    probability: float | None = None  # None when the backend does not say


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    duration: float
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    model: str
    avg_logprob: float | None = None  # duration-weighted over segments (low: the decoder was guessing)
    compression_ratio: float | None = None  # the highest over segments (high: repetition, hallucination)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "duration": self.duration,
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
            "model": self.model,
        }


class ASRBackend(Protocol):
    name: str

    def transcribe(self, audio: Audio, *, language: str) -> Transcript: ...


def missing_model_files(model_dir: Path) -> list[str]:
    return [name for name in MODEL_FILES if not (model_dir / name).is_file()]


def normalise_language(language: str) -> str:
    """``zh-CN`` / ``zh_TW`` / ``EN`` → Whisper's two-letter code."""
    return language.strip().replace("_", "-").split("-")[0].lower()


class FasterWhisperBackend:
    """Whisper via faster-whisper, loaded lazily once per instance (thread-safe).

    Greedy or 2-beam search at temperature 0 with no fallback, no VAD (its model would be
    downloaded) and no conditioning on previous text: the same audio gives the same transcript.
    """

    def __init__(
        self, model_dir: Path, *, compute_type: str = "int8", cpu_threads: int = 2, beam_size: int = 1
    ) -> None:
        self.model_dir = Path(model_dir)
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.name = f"faster-whisper:{self.model_dir.name}:{compute_type}"
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """Load the model now (e.g. at worker start) instead of on the first answer."""
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self) -> Any:
        missing = missing_model_files(self.model_dir) if self.model_dir.is_dir() else list(MODEL_FILES)
        if missing:
            raise ModelMissing(
                f"Whisper model directory {self.model_dir} lacks {', '.join(missing)}; set {MODEL_SETTING} "
                f"to 'base' or to a CTranslate2 model directory with {', '.join(MODEL_FILES)}"
            )
        os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported: never reach a hub
        from faster_whisper import WhisperModel

        try:
            return WhisperModel(
                str(self.model_dir),
                device="cpu",
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                num_workers=1,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelMissing(
                f"could not load the Whisper model in {self.model_dir} ({exc}); set {MODEL_SETTING} "
                "to 'base' or to an intact CTranslate2 model directory"
            ) from exc

    def transcribe(self, audio: Audio, *, language: str) -> Transcript:
        model = self._model if self._model is not None else self.load()
        raw_segments, info = model.transcribe(
            audio.samples,
            language=normalise_language(language),
            beam_size=self.beam_size,
            temperature=0.0,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        segments: list[Segment] = []
        words: list[Word] = []
        texts: list[str] = []
        logprob_sum = span_sum = 0.0
        compression = 0.0
        for seg in raw_segments:
            texts.append(seg.text)
            span = max(float(seg.end) - float(seg.start), 0.01)
            logprob_sum += float(seg.avg_logprob) * span
            span_sum += span
            compression = max(compression, float(seg.compression_ratio))
            segments.append(
                Segment(start=round(float(seg.start), 3), end=round(float(seg.end), 3), text=seg.text.strip())
            )
            for w in seg.words or ():
                words.append(
                    Word(
                        start=round(float(w.start), 3),
                        end=round(float(w.end), 3),
                        word=w.word,
                        probability=round(float(w.probability), 4),
                    )
                )
        return Transcript(
            text="".join(texts).strip(),
            language=info.language,
            duration=round(float(info.duration), 3),
            segments=tuple(segments),
            words=tuple(words),
            model=self.name,
            avg_logprob=round(logprob_sum / span_sum, 3) if span_sum else None,
            compression_ratio=round(compression, 3) if span_sum else None,
        )

    def detect_language(self, audio: Audio) -> tuple[str, float]:
        """Whisper's language guess on the first 30 s and its probability (one extra encoder pass)."""
        model = self._model if self._model is not None else self.load()
        language, probability, _ = model.detect_language(audio.samples)
        return str(language), float(probability)


_LANGUAGE_NAMES = {"english": "en", "chinese": "zh", "mandarin": "zh", "cantonese": "yue"}


class HTTPBackend:
    """An OpenAI-compatible transcription server (``response_format=verbose_json``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        model: str,
        timeout: float,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/v1/audio/transcriptions"
        self.model = model
        self.timeout = timeout
        self.name = f"http:{model}"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def transcribe(self, audio: Audio, *, language: str) -> Transcript:
        lang = normalise_language(language)
        try:
            resp = self._client.post(
                self.url,
                headers=self._headers,
                files={"file": ("answer.wav", to_wav(audio), "audio/wav")},
                data={
                    "model": self.model,
                    "language": lang,
                    "response_format": "verbose_json",
                    "timestamp_granularities[]": ["segment", "word"],
                },
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise ASRUnavailable(f"{self.url} did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise ASRUnavailable(f"{self.url} unreachable: {exc}") from exc
        if resp.status_code >= 400:
            raise ASRUnavailable(f"{self.url} answered HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            body = resp.json()
            return self._parse(body, lang, audio.duration)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ASRUnavailable(f"{self.url} gave an unreadable answer: {exc}") from exc

    def _parse(self, body: Mapping[str, Any], lang: str, duration: float) -> Transcript:
        text = body["text"]
        if not isinstance(text, str):
            raise TypeError("'text' is not a string")
        raw_segments = body.get("segments") or []
        segments = tuple(
            Segment(start=float(s["start"]), end=float(s["end"]), text=str(s["text"]).strip())
            for s in raw_segments
        )
        raw_words: Iterable[Mapping[str, Any]] = body.get("words") or [
            w for s in raw_segments for w in (s.get("words") or [])
        ]
        words = tuple(
            Word(
                start=float(w["start"]),
                end=float(w["end"]),
                word=str(w["word"]),
                probability=float(w["probability"]) if w.get("probability") is not None else None,
            )
            for w in raw_words
        )
        said = str(body.get("language") or lang).lower()
        language = said if len(said) <= 3 else _LANGUAGE_NAMES.get(said, lang)
        return Transcript(
            text=text.strip(),
            language=language,
            duration=float(body.get("duration") or duration),
            segments=segments,
            words=words,
            model=self.name,
        )


def to_wav(audio: Audio) -> bytes:
    """16-bit PCM WAV of the decoded samples (what every transcription server accepts)."""
    pcm = (np.clip(audio.samples, -1.0, 32767 / 32768) * 32768.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
