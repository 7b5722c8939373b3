"""Voice messages in, 16 kHz mono float32 out, plus a quality gate.

Formats are recognised by their magic bytes, never by a file name: chat platforms lie about names
(WeCom sends ``.amr`` for everything, a user can rename anything). AMR goes through ``sox`` because
ffmpeg's AMR decoder drops silence-descriptor frames and so shortens pauses (a 19.1 s WeCom file came
out 16.6 s); everything else goes through ``ffmpeg``. Decoders run as subprocesses with a timeout so a
hostile or broken file cannot hang or crash the worker, and output is capped at ``max_seconds + 1``
so a 30-minute upload is refused after decoding about three minutes of it.

Checks of our own sit in front of the decoders: AMR frame headers are walked before sox runs (sox
loops forever on frame types it has no size for, and the frame count refuses an over-long AMR file
without decoding it); a cut-off Ogg file must end in a complete page (ffmpeg decodes the first half
without a word). Any error a decoder prints (CRC mismatch, invalid data) makes the file unreadable:
a garbled answer would only be scored as garbled.

Every failure on bad bytes is an :class:`AudioError` (:class:`UnreadableAudio` or
:class:`AudioTooLong`); callers can ask the candidate to send the recording again.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000

# ffmpeg demuxer per sniffed format (pinning the demuxer stops ffmpeg from probing into playlists etc.).
_FFMPEG_DEMUXER = {
    "ogg": "ogg",
    "webm": "matroska",
    "matroska": "matroska",
    "mp4": "mov",
    "mp3": "mp3",
    "wav": "wav",
    "aac": "aac",
    "flac": "flac",
}
_SOX_TYPE = {"amr": "amr-nb", "amr-wb": "amr-wb"}
_AMR_MAGIC = {"amr": b"#!AMR\n", "amr-wb": b"#!AMR-WB\n"}
# Bytes per AMR storage-format frame (header included) by frame type, as sox reads them; 0 marks the
# types sox cannot step over: it loops forever on them, so such files are refused before sox runs.
_AMR_FRAME_BYTES = {
    "amr": (13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1),
    "amr-wb": (18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 6, 0, 0, 0, 1, 1),
}
AMR_FRAME_SECONDS = 0.02
_FFMPEG_QUIET = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "error")


class AudioError(Exception):
    """Base of the errors :func:`decode` raises for bad input."""


class UnreadableAudio(AudioError):
    """Empty, not audio, corrupt, or the decoder failed. ``reason`` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AudioTooLong(AudioError):
    def __init__(self, max_seconds: float) -> None:
        super().__init__(f"recording is longer than {max_seconds:g} s")
        self.max_seconds = max_seconds


class DecoderMissing(RuntimeError):
    """sox or ffmpeg is not installed: a deployment problem, not bad bytes."""


@dataclass(frozen=True, slots=True)
class Audio:
    samples: npt.NDArray[np.float32]  # mono, SAMPLE_RATE, in [-1, 1)
    sample_rate: int
    duration: float
    source_format: str


def sniff(data: bytes) -> str | None:
    """The container/codec of ``data`` by magic bytes, or None when it is not a format we decode."""
    head = data[:64]
    if head.startswith(b"#!AMR-WB\n"):
        return "amr-wb"
    if head.startswith(b"#!AMR\n"):
        return "amr"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head else "matroska"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        if head[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS: 12-bit sync, layer 00
        version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
        bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
        if version != 0b01 and layer != 0 and bitrate not in (0, 0xF) and rate != 0b11:
            return "mp3"  # MPEG audio frame sync without an ID3 tag
    return None


def decode(data: bytes, *, max_seconds: float = 180.0, timeout: float = 30.0) -> Audio:
    """Decode a voice message to 16 kHz mono float32.

    Raises :class:`UnreadableAudio` (empty, unknown magic, corrupt, decoder failure or timeout) or
    :class:`AudioTooLong` (more than ``max_seconds``); nothing else for bad bytes.
    """
    if not data:
        raise UnreadableAudio("empty file")
    fmt = sniff(data)
    if fmt is None:
        raise UnreadableAudio("not a recognised audio format")
    if fmt == "ogg" and not _ogg_last_page_complete(data):
        raise UnreadableAudio("truncated ogg stream")
    if fmt in _AMR_MAGIC:
        data, frames = _amr_whole_frames(data, fmt)
        if frames * AMR_FRAME_SECONDS > max_seconds:
            raise AudioTooLong(max_seconds)
    limit = f"{max_seconds + 1.0:.3f}"
    with tempfile.NamedTemporaryFile(prefix="talentbot-audio-", suffix=f".{fmt}") as tmp:
        tmp.write(data)
        tmp.flush()
        if fmt in _SOX_TYPE:
            # -D: sox dithers with a random seed by default; the same bytes must give the same samples.
            out = f"-t raw -e signed-integer -b 16 -c 1 -r {SAMPLE_RATE} - trim 0 {limit}"
            cmd = [_tool("sox"), "-q", "-V1", "-D", "-t", _SOX_TYPE[fmt], tmp.name, *out.split()]
        else:
            demux = f"-protocol_whitelist file -f {_FFMPEG_DEMUXER[fmt]}"
            out = f"-map 0:a:0 -t {limit} -ac 1 -ar {SAMPLE_RATE} -c:a pcm_s16le -f s16le pipe:1"
            cmd = [_tool("ffmpeg"), *_FFMPEG_QUIET, *demux.split(), "-i", tmp.name, *out.split()]
        raw = _run(cmd, timeout=timeout)
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    if samples.size == 0:
        raise UnreadableAudio("no audio in the file")
    duration = samples.size / SAMPLE_RATE
    if duration > max_seconds:
        raise AudioTooLong(max_seconds)
    return Audio(samples=samples, sample_rate=SAMPLE_RATE, duration=duration, source_format=fmt)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DecoderMissing(f"{name} is not installed: apt-get install -y sox libsox-fmt-all ffmpeg")
    return path


def _run(cmd: list[str], *, timeout: float) -> bytes:
    try:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise UnreadableAudio(f"decoder timed out after {timeout:g} s") from exc
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or err:
        # -loglevel error / sox -V1 print only errors: any output means a corrupt or unreadable stream.
        first = err.splitlines()[0][:200] if err else f"exit status {proc.returncode}"
        raise UnreadableAudio(f"decoder failed: {first}")
    return proc.stdout


def _amr_whole_frames(data: bytes, fmt: str) -> tuple[bytes, int]:
    """Check every AMR frame header; drop a cut-off last frame. Returns (data, frame count)."""
    sizes = _AMR_FRAME_BYTES[fmt]
    pos, frames = len(_AMR_MAGIC[fmt]), 0
    while pos < len(data):
        header = data[pos]
        size = sizes[(header >> 3) & 0x0F]
        if size == 0 or header & 0x83:
            raise UnreadableAudio(f"corrupt AMR frame header at byte {pos}")
        if pos + size > len(data):
            break
        pos += size
        frames += 1
    if frames == 0:
        raise UnreadableAudio("no audio in the file")
    return data[:pos], frames


def _ogg_last_page_complete(data: bytes) -> bool:
    """ffmpeg decodes a cut-off Ogg file without a word; a cut almost always lands inside a page."""
    idx = data.rfind(b"OggS")
    if idx < 0 or len(data) < idx + 27:
        return False
    nsegs = data[idx + 26]
    table = data[idx + 27 : idx + 27 + nsegs]
    return len(table) == nsegs and idx + 27 + nsegs + sum(table) == len(data)


# --- quality gate -------------------------------------------------------------------------------

FRAME_SECONDS = 0.03
MIN_DURATION_S = 1.0  # shorter than this is a mis-tap, not an answer
MIN_SPEECH_S = 0.6  # less speech than this cannot be scored
DIGITAL_SILENCE_DBFS = -90.0  # frames below this are padding/muted input: left out of every statistic
SPEECH_FLOOR_DBFS = -45.0  # a frame quieter than this is never speech (whisper-level room noise)
SPEECH_SURE_DBFS = -35.0  # a frame louder than this always counts (continuous speech has no pauses)
NOISE_MARGIN_DB = 6.0  # between the two, a frame must stand this far above the noise floor
CLIP_LEVEL = 0.99
MAX_CLIPPED_FRACTION = 0.02


@dataclass(frozen=True, slots=True)
class QualityReport:
    ok: bool
    problem: str | None  # "too_short" | "silent" | "clipped" | None
    speech_seconds: float
    rms_dbfs: float  # over non-digital-silence frames; -120.0 when there are none
    clipped_fraction: float  # of non-digital-silence samples at |x| >= CLIP_LEVEL


def quality(audio: Audio) -> QualityReport:
    """Is this recording worth transcribing? A recording check, not a voice-activity detector.

    Frames of 30 ms are measured in dBFS. Digital silence (below -90 dBFS: muted microphones, codec
    padding) is left out. The noise floor is the 10th percentile of the remaining frames; a frame is
    speech when it is above ``max(-45, min(floor + 6, -35))`` dBFS. Problems, first match wins:
    ``too_short`` (< 1.0 s of audio), ``silent`` (no speech frame), ``clipped`` (> 2 % of the
    non-silent samples at |x| >= 0.99), ``too_short`` (< 0.6 s of speech).
    """
    x = audio.samples.astype(np.float64, copy=False)
    n = int(round(FRAME_SECONDS * audio.sample_rate))
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    frames = x[: x.size // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    level = 20.0 * np.log10(np.maximum(rms, 1e-12))
    live = level > DIGITAL_SILENCE_DBFS
    live_frames = frames[live]
    if live_frames.size:
        floor = float(np.percentile(level[live], 10))
        threshold = max(SPEECH_FLOOR_DBFS, min(floor + NOISE_MARGIN_DB, SPEECH_SURE_DBFS))
        speech_seconds = float(np.count_nonzero(level[live] > threshold)) * n / audio.sample_rate
        rms_dbfs = float(20.0 * np.log10(max(float(np.sqrt(np.mean(live_frames**2))), 1e-6)))
        clipped = float(np.count_nonzero(np.abs(live_frames) >= CLIP_LEVEL)) / live_frames.size
    else:
        speech_seconds, rms_dbfs, clipped = 0.0, -120.0, 0.0

    problem: str | None = None
    if audio.duration < MIN_DURATION_S:
        problem = "too_short"
    elif speech_seconds == 0.0:
        problem = "silent"
    elif clipped > MAX_CLIPPED_FRACTION:
        problem = "clipped"
    elif speech_seconds < MIN_SPEECH_S:
        problem = "too_short"
    return QualityReport(
        ok=problem is None,
        problem=problem,
        speech_seconds=round(speech_seconds, 3),
        rms_dbfs=round(rms_dbfs, 2),
        clipped_fraction=round(clipped, 5),
    )
