"""Voice answers through the whole path: file store → engine → outbox → worker (decode, quality gate,
the real Whisper base model, speech measures, rubric) → event → the next prompt in the chat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock, TestBot
from scoring.asr import ModelMissing
from storage.models import Answer, AnswerScore, Identity, Interview, OutboxItem
from storage.seed import seed
from tests.conftest import TZ, linked_bot
from tests.scoring.conftest import Models, Voice, models, voice  # noqa: F401, F811 — fixtures

ANSWER_EN = (
    "First I would stay calm and verify the customer's identity. Then I would check the transfer "
    "against our anti money laundering rules, report the suspicious transaction to compliance, and "
    "explain politely to the customer why we need to check."
)


def _runtime(settings: Settings, nlu, clock: FakeClock, asr) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    runtime = build(settings, nlu=nlu, clock=clock, migrate=False, asr=asr)
    with runtime.sessions.begin() as s:
        seed(s, content_dir=settings.content_dir, now=clock(), tz=TZ)
    runtime.jobs.start()
    yield runtime
    runtime.jobs.stop()
    runtime.reminders.shutdown()
    runtime.engine.dispose()


@pytest.fixture
def vrt(settings, nlu, clock, models: Models) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]  # noqa: F811
    yield from _runtime(settings, nlu, clock, models.backend)


def _started(rt: Runtime, lang: str = "en", user: str = "cand-1") -> TestBot:
    bot = linked_bot(rt, position="RISK", lang=lang, user=user)
    bot.press("Start interview" if lang == "en" else "开始面试")
    assert "Question 1 of 6" in bot.text or "第 1/6 题" in bot.text
    return bot


def _answers(rt: Runtime) -> list[Answer]:
    with rt.sessions() as s:
        return list(s.scalars(select(Answer).order_by(Answer.id)))


def test_a_spoken_answer_is_transcribed_scored_and_the_next_question_follows(
    vrt: Runtime,
    voice: Voice,  # noqa: F811
) -> None:
    bot = _started(vrt)
    bot.voice(voice.encode(voice.en(ANSWER_EN), "webm").read_bytes(), mime="audio/webm")
    assert "Got your answer" in bot.text
    nxt = bot.settle()
    assert nxt and ("Question 2 of 6" in bot.text or "Follow-up" in bot.text), bot.text
    [a] = _answers(vrt)
    assert a.status == "scored" and a.kind == "voice"
    assert "money laundering" in (a.text or "").lower()
    assert a.transcript and a.transcript["segments"]
    assert vrt.deps.files is not None and vrt.deps.files.exists(a.media_ref or "")  # raw audio kept
    with vrt.sessions() as s:
        sc = s.scalars(select(AnswerScore)).one()
    assert sc.asr_model and "faster-whisper" in sc.asr_model and sc.speech_version
    assert sc.result["features"]["duration_s"] > 5
    assert sc.result["answer"]["speech"]["communication"] is not None


def test_silent_recordings_are_asked_again_then_the_question_is_skipped(
    vrt: Runtime,
    voice: Voice,  # noqa: F811
) -> None:
    bot = _started(vrt)
    first = bot.text
    silent = voice.sox("silence-4s.wav", "trim", "0", "4").read_bytes()
    for _ in (1, 2):
        bot.voice(silent)
        assert "Got your answer" in bot.text
        bot.settle()
        assert "hardly hear anything" in bot.text and "record your answer" in bot.text
        assert first.split("\n")[1] in bot.text  # the same question, put again
    bot.voice(silent)
    bot.settle()
    assert "We'll skip this question" in bot.text and "Question 2 of 6" in bot.text
    assert [a.problem for a in _answers(vrt)] == ["silent"] * 3
    with vrt.sessions() as s:
        iv = s.scalars(select(Interview)).one()
        assert iv.sequence[0]["skipped"] is True
        notices = [o.payload["event"] for o in s.scalars(select(OutboxItem)) if o.kind == "notify_hr"]
    assert "question_skipped" in notices


def test_bad_files_get_a_polite_reply_and_are_kept(vrt: Runtime, voice: Voice) -> None:  # noqa: F811
    bot = _started(vrt)
    bot.voice(b"this is a text file, not audio\n" * 10, mime="audio/amr")
    bot.settle()
    assert "couldn't read that file as a recording" in bot.text
    bot.voice(b"", mime="audio/ogg")
    bot.settle()
    assert "couldn't read that file" in bot.text
    # 30 minutes of AMR (WeCom's format): refused by its length, never transcribed
    long_amr = voice.workdir / "thirty-minutes.amr"
    if not long_amr.exists():
        wav = voice.sox("tone-30min.wav", "synth", "1800", "sine", "300", "vol", "0.3", rate=8000)
        from tests.scoring.conftest import run

        run("sox", wav, "-r", "8000", "-c", "1", "-C", "7", "-t", "amr-nb", long_amr)
    bot.voice(long_amr.read_bytes(), mime="audio/amr")
    bot.settle()
    assert "too long" in bot.text and "skip" in bot.text
    assert [a.problem for a in _answers(vrt)] == ["unreadable", "unreadable", "too_long"]
    assert all(vrt.deps.files.exists(a.media_ref or "") for a in _answers(vrt))  # type: ignore[union-attr]


def test_an_answer_in_the_wrong_language_is_asked_again(vrt: Runtime, voice: Voice) -> None:  # noqa: F811
    bot = _started(vrt, lang="zh")
    bot.voice(voice.en(ANSWER_EN).read_bytes())
    bot.settle()
    assert "听起来不是中文" in bot.text and "请再录一次" in bot.text
    [a] = _answers(vrt)
    assert a.status == "rejected" and a.problem == "wrong_language"


def test_a_missing_model_is_our_problem_not_the_candidates(
    settings,  # type: ignore[no-untyped-def]
    nlu,
    clock,
    voice: Voice,  # noqa: F811
) -> None:
    def broken() -> object:
        raise ModelMissing("TALENTBOT_ASR_MODEL='/nowhere' is neither 'base' nor an existing directory")

    for rt in _runtime(settings, nlu, clock, broken):
        bot = _started(rt)
        bot.voice(voice.en(ANSWER_EN).read_bytes())
        bot.settle()
        assert "technical problem on our side" in bot.text
        [a] = _answers(rt)
        assert a.status == "failed" and a.problem == "model_missing"
        with rt.sessions() as s:
            iv = s.scalars(select(Interview)).one()
            assert iv.awaiting == "answer" and iv.attempts == 0  # their attempt does not count
            events = [o.payload["event"] for o in s.scalars(select(OutboxItem)) if o.kind == "notify_hr"]
        assert "scoring_failed" in events


def test_the_candidate_can_switch_channel_mid_interview(vrt: Runtime, voice: Voice) -> None:  # noqa: F811
    bot = _started(vrt)
    with vrt.sessions.begin() as s:  # the same person, linked on a second platform (the channels issue)
        web = s.scalars(select(Identity)).one()
        s.add(
            Identity(
                user_id=web.user_id,
                platform="console",
                external_id="alex",
                conversation_id="alex",
                last_seen_at=datetime.now(UTC),
            )
        )
    console = TestBot(vrt, user="alex", platform="console")
    console.voice(voice.encode(voice.en(ANSWER_EN), "ogg").read_bytes(), mime="audio/ogg")
    assert "Got your answer" in console.text
    assert console.settle() and ("Question 2 of 6" in console.text or "Follow-up" in console.text)
    assert bot.settle() == []  # the next question went where they are now


def test_a_job_lost_in_a_crash_runs_again_once(
    settings,  # type: ignore[no-untyped-def]
    nlu,
    clock,
    models: Models,  # noqa: F811
    voice: Voice,  # noqa: F811
) -> None:
    from actions.jobs import InProcessJobs

    first = _runtime(settings, nlu, clock, models.backend)
    rt = next(first)
    bot = _started(rt)
    bot.voice(voice.en(ANSWER_EN).read_bytes())
    # the relay hands the job over, and the process dies before the job did anything
    rt.jobs.stop()
    rt.jobs = InProcessJobs(handlers={"score_answer": lambda payload: None})
    rt.jobs.start()
    rt.relay.drain()
    rt.jobs.stop()
    assert [a.status for a in _answers(rt)] == ["pending"]
    for _ in first:
        pass
    # the restarted process finds the pending answer and runs it from the stored audio
    for again in _runtime(settings, nlu, clock, models.backend):
        assert again.resubmit_pending() == 1
        bot = TestBot(again, user=bot.user)
        assert bot.settle()
        assert "Question 2 of 6" in bot.text or "Follow-up" in bot.text
        # the same job once more (a redelivery) changes nothing and says nothing twice
        assert again.answers is not None
        assert again.answers.process(_answers(again)[0].id).status == "skipped"
        assert bot.settle() == []
        with again.sessions() as s:
            assert len(s.scalars(select(AnswerScore)).all()) == 1
