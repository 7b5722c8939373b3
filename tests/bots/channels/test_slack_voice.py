"""A Slack voice clip through the whole interview: a RISK candidate links their code in a DM, presses
the Block Kit buttons (interactivity requests built from the blocks the fake received), records an
answer (espeak-ng speech as Slack's m4a voice clip), and the answer is downloaded with the bot token,
stored, acknowledged, transcribed by the real Whisper model and scored — and the next question is
posted by itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from bots.settings import Settings
from bots.testing import FakeClock
from storage.models import Answer
from tests.bots.channels.slack.fake import FakeSlack
from tests.bots.channels.slack.fixtures import (  # noqa: F401 — fixtures
    Candidate,
    fake_fixture,
    http_fixture,
    make_runtime,
    send,
    settings_fixture,
    slack_env_fixture,
    wait,
)
from tests.bots.channels.slack_payloads import message_event, voice_file
from tests.conftest import invite
from tests.scoring.conftest import Models, Voice, models, voice  # noqa: F401 — fixtures

ANSWER_EN = (
    "First I would stay calm and verify the customer's identity. Then I would check the transfer "
    "against our anti money laundering rules, report the suspicious transaction to compliance, and "
    "explain politely to the customer why we need to check."
)


@pytest.fixture
def rt(
    settings: Settings,
    nlu: Any,
    clock: FakeClock,
    base_url: str,
    models: Models,  # noqa: F811 — the fixture
) -> Iterator[Runtime]:
    yield from make_runtime(settings, nlu, clock, base_url, asr=models.backend)


def _answers(rt: Runtime) -> list[Answer]:
    with rt.sessions() as s:
        return list(s.scalars(select(Answer).order_by(Answer.id)))


@pytest.mark.parametrize(("fmt", "mime"), [("m4a", "audio/mp4"), ("webm", "audio/webm")])
def test_a_voice_clip_answers_the_interview_question(
    http,
    fake: FakeSlack,
    rt: Runtime,
    voice: Voice,  # noqa: F811 — the fixture
    fmt: str,
    mime: str,
) -> None:
    me = Candidate(http, fake)
    code = invite(rt, position="RISK", name="Alex Chen")
    send(http, message_event(f"my code is {code}"))
    me.expect("I agree")
    me.press("I agree")
    me.expect("2 of 2")
    me.press("I agree")
    me.expect("Start interview")
    me.press("Start interview")
    me.expect("Question 1 of 6")

    clip = voice.encode(voice.en(ANSWER_EN), fmt).read_bytes()
    name = f"audio_message.{fmt}"
    fake.add_file("F0VOICE0001", clip, name=name, mimetype=mime, subtype="slack_audio")
    send(http, message_event("", files=[voice_file("F0VOICE0001", len(clip), name=name, mimetype=mime)]))
    me.expect("Got your answer")

    [answer] = _answers(rt)
    assert answer.platform == "slack" and answer.kind == "voice" and answer.media_mime == mime
    assert rt.deps.files is not None and rt.deps.files.read(answer.media_ref or "") == clip
    assert fake.downloads == ["F0VOICE0001"]

    # scored by the worker, then the next prompt arrives as a proactive message (a probe counts too)
    wait(
        lambda: [p for p in me.new_posts() if "Question 2 of 6" in p["text"] or "Follow-up" in p["text"]],
        timeout=120,
        what="the next prompt after scoring",
    )
    [answer] = _answers(rt)
    assert answer.status == "scored", answer.problem
    assert "money laundering" in (answer.text or "").lower()
