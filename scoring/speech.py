"""Prosodic / fluency features of a spoken answer (praat-parselmouth).

``measure`` turns one voice answer (mono samples + its transcript) into a small, deterministic
:class:`SpeechFeatures` record: speaking rate, pauses, fillers, pitch variation and loudness
variation.  Everything acoustic comes from Praat (via parselmouth); everything lexical comes from
the transcript.

Definitions (all times in seconds):

* ``duration_s``  – length of the clip as given.
* *answer span*   – first to last sounding stretch (Praat "To TextGrid (silences)"), or first word
  start to last word end when word timestamps are given.  Leading and trailing silence (the
  candidate reaching for the button) is outside the span and counts neither as speech nor as pause.
* pauses          – silent stretches inside the span lasting ≥ ``PAUSE_MIN_S`` (0.3 s); "long"
  pauses last ≥ ``LONG_PAUSE_S`` (1.5 s).  Shorter gaps count as speech time.
* ``speech_s``    – span minus pause time.
* ``pause_ratio`` – pause time / span (i.e. pause / (speech + pause)); 0 when nothing was said.
* ``rate``        – transcript syllables / ``speech_s`` (CJK characters count one syllable each,
  Latin words by a vowel-group heuristic, digits one each); 0 when ``speech_s`` is 0.
* ``filler_rate`` – fillers per minute of answer span; 0 when the span is 0.
* ``pitch_cv``    – std/mean of F0 (Hz) over voiced frames (To Pitch (ac), 75–500 Hz); ``None``
  with fewer than ``MIN_VOICED_FRAMES`` voiced frames.
* ``loudness_sd_db`` – population standard deviation of intensity (dB) over speech frames: frames
  above the silence floor (peak − 25 dB, never below ``MIN_FLOOR_DB``), digital-silence frames
  (−300 dB) excluded; ``None`` with fewer than ``MIN_LOUD_FRAMES`` such frames.  A clip whose
  loudest frame is below ``AUDIBLE_PEAK_DB`` counts as silence.

Audio above 16 kHz is resampled to 16 kHz (scipy ``resample_poly``) before analysis: F0 ≤ 500 Hz
and intensity lose nothing, and Praat's pitch tracker runs about twice as fast.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # imported lazily so SpeechFeatures is importable without praat-parselmouth
    import parselmouth

__all__ = ["SPEECH_VERSION", "SpeechFeatures", "count_fillers", "count_syllables", "measure"]

log = logging.getLogger(__name__)

SPEECH_VERSION = "speech-1"


@dataclass(frozen=True, slots=True)
class SpeechFeatures:
    duration_s: float
    speech_s: float
    rate: float  # syllables per second of speech (zh: characters; en: syllables)
    pause_count: int  # pauses >= 0.3 s
    long_pause_count: int  # pauses >= 1.5 s
    pause_ratio: float  # pause time / answer span (speech + pauses; outer silence excluded)
    filler_count: int
    filler_rate: float  # per minute (嗯/那个/就是/um/uh/like…)
    pitch_cv: float | None  # std/mean of F0 over voiced frames
    loudness_sd_db: float | None
    version: str


# --- thresholds --------------------------------------------------------------------------------
PAUSE_MIN_S = 0.3  # a silent stretch at least this long is a pause
LONG_PAUSE_S = 1.5  # ... and at least this long a long pause
MIN_SOUNDING_S = 0.1  # sounding bursts shorter than this (clicks, breaths) count as silence
SILENCE_REL_DB = 25.0  # silence floor: this far below the clip's intensity peak ...
MIN_FLOOR_DB = 20.0  # ... but never below this (Praat dB re 2e-5 Pa; a full-scale sine is ≈ 91 dB)
AUDIBLE_PEAK_DB = 35.0  # a clip whose loudest frame is below this (≈ −56 dBFS) holds nothing audible
DIGITAL_SILENCE_DB = -250.0  # Praat reports exact zeros as −300 dB; anything below this is that
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 500.0
INTENSITY_MIN_PITCH_HZ = 100.0  # To Intensity window ≈ 3.2 / this = 32 ms
TIME_STEP_S = 0.01
MIN_VOICED_FRAMES = 10  # 0.1 s of voicing before pitch_cv means anything
MIN_LOUD_FRAMES = 10
ANALYSIS_SR = 16_000  # higher sample rates are resampled down to this before analysis
# To Intensity needs 6.4 / min_pitch seconds, To Pitch 3 / floor; keep a margin.
MIN_ANALYSIS_S = 0.1

_Floats = npt.NDArray[np.float64]


# --- public API --------------------------------------------------------------------------------
def measure(
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    transcript: str,
    language: str,
    words: Sequence[tuple[float, float, str]] | None = None,
) -> SpeechFeatures:
    """Measure fluency/prosody features of one spoken answer.

    ``samples`` is mono audio (float32 in [-1, 1] expected; integer PCM is scaled, a 2-D array is
    mixed down, NaN/inf become 0).  ``words`` are optional ``(start, end, text)`` word timestamps
    from the recogniser; when given, pauses and the answer span come from the gaps between words
    instead of from the audio.  Never raises on silent, empty or very short audio; raises
    ``ValueError`` only for a non-positive ``sample_rate``.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    x = _as_mono_float64(samples)
    duration = x.size / float(sample_rate)

    if not transcript.strip() and words:
        transcript = _join_words(words, language)
    syllables = count_syllables(transcript)
    fillers = count_fillers(transcript, language)

    analysis = _analyse(x, sample_rate) if duration >= MIN_ANALYSIS_S else None

    # Span and pauses.
    if words:
        span, pauses = _pauses_from_words(words)
    elif analysis is not None:
        span, pauses = _pauses_from_intensity(analysis.intensity, analysis.peak_db, analysis.floor_db)
        span = min(span, duration)  # resampling can stretch the analysed clip by a sample
    else:
        span, pauses = 0.0, []
    pause_s = float(sum(pauses))
    speech_s = max(span - pause_s, 0.0)

    pitch_cv: float | None = None
    loudness_sd: float | None = None
    if analysis is not None:
        pitch_cv = _pitch_cv(analysis.sound)
        loudness_sd = _loudness_sd(analysis.intensity, analysis.floor_db)

    return SpeechFeatures(
        duration_s=_r(duration),
        speech_s=_r(speech_s),
        rate=_r(syllables / speech_s) if speech_s > 0 else 0.0,
        pause_count=len(pauses),
        long_pause_count=sum(1 for p in pauses if p >= LONG_PAUSE_S),
        pause_ratio=_r(pause_s / span) if span > 0 else 0.0,
        filler_count=fillers,
        filler_rate=_r(fillers * 60.0 / span) if span > 0 else 0.0,
        pitch_cv=None if pitch_cv is None else _r(pitch_cv),
        loudness_sd_db=None if loudness_sd is None else _r(loudness_sd),
        version=SPEECH_VERSION,
    )


# --- acoustic helpers --------------------------------------------------------------------------
def _parselmouth() -> ModuleType:
    try:
        import parselmouth
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "scoring.speech.measure needs praat-parselmouth (pip install praat-parselmouth)"
        ) from exc
    return parselmouth


def _r(v: float) -> float:
    """Round to 6 decimals: stable output, no spurious float noise in stored features."""
    return round(float(v), 6)


def _as_mono_float64(samples: npt.ArrayLike) -> _Floats:
    a = np.asarray(samples)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim > 1:
        a = np.squeeze(a)
        if a.ndim > 1:  # (frames, channels) or (channels, frames): channels is the short axis
            a = a.mean(axis=int(np.argmin(a.shape[:2])))
            a = a.reshape(-1)
    if a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        half = (int(info.max) + 1) / 2.0  # unsigned PCM (8-bit WAV) is centred on half its range
        offset, scale = (0.0, float(-int(info.min))) if a.dtype.kind == "i" else (half, half)
        out = (a.astype(np.float64) - offset) / scale
    else:
        out = a.astype(np.float64, copy=True)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True, slots=True)
class _Analysis:
    sound: parselmouth.Sound
    intensity: parselmouth.Intensity
    peak_db: float  # loudest intensity frame
    floor_db: float  # silence floor: frames below it are silence


def _analyse(x: _Floats, sample_rate: int) -> _Analysis | None:
    """Praat Sound + Intensity, or None when the clip holds nothing audible."""
    if not np.any(x):
        return None
    parselmouth = _parselmouth()
    if sample_rate > ANALYSIS_SR and float(sample_rate).is_integer():
        from scipy.signal import resample_poly  # scipy comes with scikit-learn

        g = math.gcd(ANALYSIS_SR, int(sample_rate))
        x = resample_poly(x, ANALYSIS_SR // g, int(sample_rate) // g)
        sample_rate = ANALYSIS_SR
    try:
        sound = parselmouth.Sound(x, sampling_frequency=float(sample_rate))
        intensity = sound.to_intensity(
            minimum_pitch=INTENSITY_MIN_PITCH_HZ, time_step=TIME_STEP_S, subtract_mean=True
        )
    except parselmouth.PraatError:  # pragma: no cover - defensive; guarded by MIN_ANALYSIS_S
        log.warning("praat intensity analysis failed", exc_info=True)
        return None
    db = intensity.values[0]
    real = db[db > DIGITAL_SILENCE_DB]
    if real.size == 0:
        return None
    peak = float(real.max())
    if peak < AUDIBLE_PEAK_DB:
        return None
    return _Analysis(sound, intensity, peak, max(peak - SILENCE_REL_DB, MIN_FLOOR_DB))


def _pauses_from_intensity(
    intensity: parselmouth.Intensity, peak_db: float, floor_db: float
) -> tuple[float, list[float]]:
    """Answer span and internal pause durations from Praat's silence detector."""
    lowest = float(intensity.values[0].min())
    if lowest >= floor_db or peak_db - lowest < 10.0:
        # Nothing below the floor, or a flat signal (a hum, a tone) that Praat would only warn
        # about: the whole clip is sounding.
        return float(intensity.xmax - intensity.xmin), []
    call = _parselmouth().praat.call
    tg = call(
        intensity,
        "To TextGrid (silences)",
        floor_db - peak_db,
        PAUSE_MIN_S,
        MIN_SOUNDING_S,
        "silent",
        "sounding",
    )
    n = int(call(tg, "Get number of intervals", 1))
    intervals: list[tuple[float, float, bool]] = []
    for i in range(1, n + 1):
        label = call(tg, "Get label of interval", 1, i)
        start = float(call(tg, "Get start time of interval", 1, i))
        end = float(call(tg, "Get end time of interval", 1, i))
        intervals.append((start, end, label == "sounding"))
    sounding = [k for k, iv in enumerate(intervals) if iv[2]]
    if not sounding:
        return 0.0, []
    first, last = sounding[0], sounding[-1]
    span = intervals[last][1] - intervals[first][0]
    pauses = [
        e - s
        for s, e, is_sound in intervals[first : last + 1]
        if not is_sound and e - s >= PAUSE_MIN_S - 1e-9
    ]
    return span, pauses


def _pauses_from_words(words: Sequence[tuple[float, float, str]]) -> tuple[float, list[float]]:
    """Answer span and pauses (gaps ≥ PAUSE_MIN_S between consecutive words)."""
    spans = sorted(
        (float(s), max(float(s), float(e)))
        for s, e, _ in words
        if math.isfinite(float(s)) and math.isfinite(float(e))
    )
    if not spans:
        return 0.0, []
    pauses: list[float] = []
    reached = spans[0][1]
    for start, end in spans[1:]:
        gap = start - reached
        if gap >= PAUSE_MIN_S - 1e-9:
            pauses.append(gap)
        reached = max(reached, end)
    return reached - spans[0][0], pauses


def _pitch_cv(sound: parselmouth.Sound) -> float | None:
    parselmouth = _parselmouth()
    try:
        pitch = sound.to_pitch_ac(
            time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
        )
    except parselmouth.PraatError:  # pragma: no cover - defensive
        log.warning("praat pitch analysis failed", exc_info=True)
        return None
    f0 = pitch.selected_array["frequency"]
    f0 = f0[np.isfinite(f0) & (f0 > 0)]
    if f0.size < MIN_VOICED_FRAMES:
        return None
    mean = float(f0.mean())
    return float(f0.std()) / mean if mean > 0 else None


def _loudness_sd(intensity: parselmouth.Intensity, floor_db: float) -> float | None:
    db = intensity.values[0]
    frames = db[(db > DIGITAL_SILENCE_DB) & (db >= floor_db)]
    if frames.size < MIN_LOUD_FRAMES:
        return None
    return float(frames.std())


# --- transcript helpers ------------------------------------------------------------------------
_CJK = (
    "\u3400-\u4dbf"  # Extension A
    "\u4e00-\u9fff"  # Unified Ideographs
    "\uf900-\ufaff"  # Compatibility Ideographs
    "\U00020000-\U0002ebef"  # Extensions B–F
)
_CJK_RE = re.compile(f"[{_CJK}]")
_LATIN_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")
_DIGIT_RE = re.compile(r"[0-9]")
_VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")


def _is_zh(language: str) -> bool:
    lang = language.strip().lower().replace("_", "-")
    return lang.startswith(("zh", "cmn", "yue", "wuu")) or lang in {"chinese", "mandarin", "cantonese"}


def _is_en(language: str) -> bool:
    lang = language.strip().lower().replace("_", "-")
    return lang.startswith("en") or lang == "english"


def _join_words(words: Sequence[tuple[float, float, str]], language: str) -> str:
    sep = "" if _is_zh(language) else " "
    return sep.join(str(w[2]).strip() for w in words)


def _english_syllables(word: str) -> int:
    """Vowel-group heuristic: one syllable per vowel group, minus a few silent-e patterns."""
    w = word.replace("'", "")
    if not w:
        return 0
    n = len(_VOWEL_GROUP_RE.findall(w))
    if n > 1:
        if w.endswith("e") and not w.endswith(("le", "ee", "ye")):
            n -= 1  # make, there, nice; but table, see, bye
        elif w.endswith("ed") and not w.endswith(("ted", "ded")):
            n -= 1  # jumped, planned; but wanted, needed
        elif w.endswith("es") and not w.endswith(("ses", "xes", "zes", "ches", "shes", "ges", "ces")):
            n -= 1  # makes, times; but boxes, changes
    return max(n, 1)


def count_syllables(text: str) -> int:
    """Spoken syllables in a transcript: CJK characters 1 each, Latin words by a vowel-group
    heuristic, digits 1 each.  Works for mixed zh/en text; punctuation counts nothing."""
    lower = text.lower()
    n = len(_CJK_RE.findall(lower)) + len(_DIGIT_RE.findall(lower))
    n += sum(_english_syllables(w) for w in _LATIN_WORD_RE.findall(lower))
    return n


# zh fillers.  The four families use disjoint characters, so their matches can never overlap and
# nothing is counted twice.
#  * 就是说 – every occurrence (bare 就是 is too often a plain copula to count).
#  * 然后 repeated – "然后然后" counts 1, "然后然后然后" counts 2 (each extra repetition).
#  * 那个 – only when it does not introduce a noun: followed by punctuation/space/end, by another
#    那个 or by a pronoun / hesitation (那个，, 那个我觉得, 那个那个, 那个嗯).  "那个项目" is not a filler.
#  * 嗯 / 呃 – interjection-only characters: every run (嗯嗯 = 1) counts wherever it appears.
#    啊 – also a sentence-final particle (好啊), so a run of only 啊 counts when standalone, i.e.
#    delimited by punctuation/space/start/end on both sides.
_ZH_PUNCT = ",.;:!?()[]\"'…—-，。、；：！？（）【】「」『』《》“”‘’～~·"
_ZH_BOUNDARY = f"\\s{re.escape(_ZH_PUNCT)}"
_ZH_JIUSHISHUO_RE = re.compile("就是说")
_ZH_RANHOU_RUN_RE = re.compile("(?:然后){2,}")
_ZH_NAGE_RE = re.compile(f"那个(?=$|[{_ZH_BOUNDARY}]|那个|[我你他她咱嗯呃啊])")
_ZH_INTERJ_RUN_RE = re.compile("[嗯呃啊]+")


def _zh_boundary(ch: str) -> bool:
    return ch == "" or ch.isspace() or ch in _ZH_PUNCT


def _zh_fillers(text: str) -> int:
    n = len(_ZH_JIUSHISHUO_RE.findall(text))
    n += sum(len(m.group()) // 2 - 1 for m in _ZH_RANHOU_RUN_RE.finditer(text))
    n += len(_ZH_NAGE_RE.findall(text))
    for m in _ZH_INTERJ_RUN_RE.finditer(text):
        interjection_only = "嗯" in m.group() or "呃" in m.group()
        standalone = _zh_boundary(text[m.start() - 1 : m.start()]) and _zh_boundary(
            text[m.end() : m.end() + 1]
        )
        n += interjection_only or standalone
    return n


# en fillers, counted over word/punctuation tokens of the lower-cased transcript.
#  * um/umm/uhm/uh/uhh/er/erm/hmm – every occurrence.
#  * "you know" – when followed by , ; … — . or end of text and not a question ("do you know",
#    "if you know", "you know?").
#  * "like" – when followed by , … — (as in "I like, you know"), when next to an um/uh-type
#    hesitation, or the first of "like like".  "I like it", "looks like rain", "like I said" are not
#    counted.
_EN_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|[,;.…—!?]")
_EN_HES_RE = re.compile(r"(?:u+m+|u+h+m*|e+r+m*|h+m+)")
_EN_YOUKNOW_END = frozenset({",", ";", "…", "—", ".", ""})
_EN_NOT_FILLER_BEFORE_YOUKNOW = frozenset({"do", "does", "did", "don't", "if", "whether"})
_EN_LIKE_NEXT = frozenset({",", "…", "—"})


def _en_fillers(text: str) -> int:
    t = text.lower().replace("\u2019", "'").replace("...", "…").replace("--", "—")
    tokens = _EN_TOKEN_RE.findall(t)

    def at(i: int) -> str:
        return tokens[i] if 0 <= i < len(tokens) else ""

    def hesitation(tok: str) -> bool:
        return bool(tok) and _EN_HES_RE.fullmatch(tok) is not None

    n = 0
    for i, tok in enumerate(tokens):
        if hesitation(tok):
            n += 1
        elif tok == "you" and at(i + 1) == "know":
            if at(i + 2) in _EN_YOUKNOW_END and at(i - 1) not in _EN_NOT_FILLER_BEFORE_YOUKNOW:
                n += 1
        elif tok == "like":
            prev = at(i - 2) if at(i - 1) == "," else at(i - 1)
            nxt = at(i + 1)
            nxt2 = at(i + 2) if nxt == "," else nxt
            if nxt in _EN_LIKE_NEXT or nxt == "like" or hesitation(prev) or hesitation(nxt2):
                n += 1
    return n


def _en_hesitations(text: str) -> int:
    return sum(1 for tok in _EN_TOKEN_RE.findall(text.lower()) if _EN_HES_RE.fullmatch(tok))


def count_fillers(transcript: str, language: str) -> int:
    """Filler words in a transcript.  ``zh*`` → Chinese fillers (plus um/uh-type hesitations, which
    recognisers sometimes emit in Latin letters); ``en*`` → English fillers; anything else → both."""
    if _is_zh(language):
        return _zh_fillers(transcript) + _en_hesitations(transcript)
    if _is_en(language):
        return _en_fillers(transcript)
    return _zh_fillers(transcript) + _en_fillers(transcript)
