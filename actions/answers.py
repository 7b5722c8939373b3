"""The worker job for one interview answer: decode, check, transcribe, measure, score, store — then
tell the conversation (``on_processed``), which puts the next question or asks for another attempt.

Idempotent: the result is stored by a conditional update on an answer still ``pending``; a re-run
(a worker that died after storing, a redelivered job) finds it processed and only repeats the
notification, which the conversation side deduplicates by the answer id. The raw audio stays in the
file store, so a job can always be run again from it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scoring.asr import ASRUnavailable, ModelMissing, Transcript
from scoring.audio import Audio, AudioError, AudioTooLong, DecoderMissing, decode, quality
from scoring.indicators import score_answer
from scoring.questions import Bank, Question
from scoring.replay import speech_from_dict
from scoring.speech import measure
from storage import interviews as ivs
from storage import repo
from storage.files import FileStore
from storage.models import Answer, Application, Interview, Position

log = logging.getLogger("talentbot.answers")

MAX_ANSWER_SECONDS = 600.0  # a recording longer than this is refused, not transcribed
SUSPECT_LOGPROB = -1.5  # below this the forced-language transcript is likely not that language (seen: English
# speech forced to zh -1.9; poor synthetic Mandarin -0.7 to -1.2)
SUSPECT_COMPRESSION = 2.4  # Whisper's own hallucination threshold
WRONG_LANGUAGE_PROB = 0.5
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


class ASR(Protocol):
    name: str

    def transcribe(self, audio: Audio, *, language: str) -> Transcript: ...


class Unavailable(RuntimeError):
    """The pipeline cannot run here (no decoder, no model, ASR service down): retry later."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # scored | rejected | failed | skipped (already processed)
    problem: str | None = None


class AnswerProcessor:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        files: FileStore,
        bank: Bank,
        asr: Callable[[], ASR],
        clock: Callable[[], datetime],
        on_processed: Callable[[int], None],
    ) -> None:
        self._sessions, self._files, self._bank = sessions, files, bank
        self._asr_factory, self._clock, self._on_processed = asr, clock, on_processed
        self._asr: ASR | None = None

    def asr(self) -> ASR:
        if self._asr is None:
            self._asr = self._asr_factory()
        return self._asr

    def __call__(self, payload: dict[str, Any]) -> None:
        """The job entry point (job name ``score_answer``, payload ``{"answer_id": N}``)."""
        self.process(int(payload["answer_id"]))

    def process(self, answer_id: int) -> Outcome:
        with self._sessions() as s:
            row = s.execute(
                select(Answer, Interview.language, Position.code)
                .join(Interview, Interview.id == Answer.interview_id)
                .join(Application, Application.id == Interview.application_id)
                .join(Position, Position.id == Application.position_id)
                .where(Answer.id == answer_id)
            ).first()
            if row is None:
                log.warning("answer %s does not exist", answer_id)
                return Outcome("skipped")
            answer, language, _position = row
            a = {c: getattr(answer, c) for c in ("status", "kind", "text", "media_ref", "question_id")}
            a |= {"is_probe": answer.is_probe, "interview_id": answer.interview_id, "turn": answer.turn}
            main = None
            if answer.is_probe:
                main = s.scalar(
                    select(Answer)
                    .where(
                        Answer.interview_id == answer.interview_id,
                        Answer.question_id == answer.question_id,
                        Answer.is_probe.is_(False),
                        Answer.status == "scored",
                    )
                    .order_by(Answer.turn.desc())
                    .limit(1)
                )
            main_text = main.text if main is not None else None
            main_features = None
            if main is not None:
                sc = repo.answer_score(s, main.id)
                main_features = (sc.result or {}).get("features") if sc is not None else None
        if a["status"] != "pending":
            self._on_processed(answer_id)  # stored before; the notice may not have gone out
            return Outcome("skipped")
        try:
            result = self._work(a, language, main_text, main_features)
        except Unavailable as exc:
            log.error("answer %s cannot be processed now: %s", answer_id, exc)
            self._store(answer_id, status="failed", problem=_unavailable_problem(exc), text=None)
            self._on_processed(answer_id)
            return Outcome("failed", _unavailable_problem(exc))
        self._store(answer_id, **result)
        self._on_processed(answer_id)
        return Outcome(result["status"], result.get("problem"))

    # ---------------------------------------------------------------- the pipeline

    def _work(
        self,
        a: dict[str, Any],
        language: str,
        main_text: str | None,
        main_features: dict[str, Any] | None,
    ) -> dict[str, Any]:
        data = None
        if a["kind"] != "text":
            try:
                data = self._files.read(a["media_ref"])
            except (OSError, ValueError):
                return _rejected("unreadable")
        return evaluate(
            question=self._bank.get(a["question_id"]),
            language=language,
            text=a["text"] if a["kind"] == "text" else None,
            audio_data=data,
            asr=self.asr,
            is_probe=a["is_probe"],
            main_text=main_text,
            main_features=main_features,
        )

    def _store(
        self,
        answer_id: int,
        *,
        status: str,
        problem: str | None,
        text: str | None,
        transcript: dict[str, Any] | None = None,
        score: dict[str, Any] | None = None,
    ) -> None:
        now = self._clock()
        with self._sessions.begin() as s:
            if not ivs.save_result(
                s,
                answer_id=answer_id,
                status=status,
                problem=problem,
                text=text,
                transcript=transcript,
                score=score,
                now=now,
            ):
                return
            versions = {}
            if score is not None:
                versions = {k: score[k] for k in ("rubric_version", "scorer_version", "speech_version")}
                versions["asr_model"] = score["asr_model"]
            repo.audit(
                s,
                now=now,
                actor="system:scoring",
                action=f"answer.{status}",
                subject=f"answer:{answer_id}",
                details={"problem": problem, "score": None if score is None else score["score"]},
                input_versions=versions,
            )


def evaluate(
    *,
    question: Question,
    language: str,
    text: str | None,
    audio_data: bytes | None,
    asr: Callable[[], ASR],
    is_probe: bool = False,
    main_text: str | None = None,
    main_features: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The pipeline for one answer, without the store: decode → quality gate → transcribe → language
    check → speech measures → rubric. Returns what ``_store`` keeps (status, problem, text,
    transcript, score). Raises :class:`Unavailable` when this machine cannot run it."""
    transcript: Transcript | None = None
    features = None
    if audio_data is None:
        text = (text or "").strip()
    else:
        try:
            audio = decode(audio_data, max_seconds=MAX_ANSWER_SECONDS)
        except AudioTooLong:
            return _rejected("too_long")
        except AudioError:
            return _rejected("unreadable")
        except DecoderMissing as exc:
            raise Unavailable(str(exc)) from exc
        q = quality(audio)
        if not q.ok:
            return _rejected(q.problem or "unreadable")
        try:
            backend = asr()
            transcript = backend.transcribe(audio, language=language)
        except (ModelMissing, ASRUnavailable) as exc:
            raise Unavailable(str(exc)) from exc
        if wrong_language(backend, audio, transcript, language):
            return _rejected("wrong_language", transcript=transcript)
        text = transcript.text
        if not text.strip():
            return _rejected("silent", transcript=transcript)
        sf = measure(
            audio.samples,
            audio.sample_rate,
            transcript=text,
            language=language,
            words=[(w.start, w.end, w.word) for w in transcript.words] or None,
        )
        features = asdict(sf)
    if not text:
        return _rejected("empty")
    if is_probe and main_text is not None:
        scored = score_answer(question, main_text, speech=speech_from_dict(main_features), followup=text)
    else:
        scored = score_answer(question, text, speech=speech_from_dict(features))
    return {
        "status": "scored",
        "problem": None,
        "text": text,
        "transcript": None if transcript is None else transcript.to_json(),
        "score": {
            "score": scored.result.score,
            "result": {"answer": scored.to_dict(), "features": features},
            "rubric_version": scored.versions.rubric,
            "scorer_version": scored.versions.scorer,
            "speech_version": scored.versions.speech,
            "asr_model": None if transcript is None else transcript.model,
        },
    }


def wrong_language(backend: ASR, audio: Audio, t: Transcript, language: str) -> bool:
    """Cheap signs first (script, decoder confidence, repetition); Whisper's own language guess —
    an extra encoder pass — only when one of them looks wrong."""
    cjk, latin = len(_CJK.findall(t.text)), len(_LATIN.findall(t.text))
    suspicious = (
        (language == "zh" and latin > 3 * max(cjk, 1))
        or (language == "en" and cjk > latin)
        or (t.avg_logprob is not None and t.avg_logprob < SUSPECT_LOGPROB)
        or (t.compression_ratio is not None and t.compression_ratio > SUSPECT_COMPRESSION)
    )
    detect = getattr(backend, "detect_language", None)
    if not suspicious or detect is None:
        return False
    guess, probability = detect(audio)
    return bool(guess != language and probability >= WRONG_LANGUAGE_PROB)


def _rejected(problem: str, *, transcript: Transcript | None = None) -> dict[str, Any]:
    return {
        "status": "rejected",
        "problem": problem,
        "text": None if transcript is None else transcript.text,
        "transcript": None if transcript is None else transcript.to_json(),
    }


def _unavailable_problem(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, ModelMissing):
        return "model_missing"
    if isinstance(cause, DecoderMissing):
        return "decoder_missing"
    return "asr_unavailable"
