"""A WeCom voice message reaches the voice interview: a candidate links and consents by card buttons,
starts the interview with the card's button, answers with an AMR recording (espeak-ng speech encoded
by sox, as WeCom's clients record) that the adapter downloads with media/get; the worker transcribes
it with the real Whisper model and the next question comes back through message/send."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock
from storage.models import Answer
from storage.seed import seed
from tests.bots.channels import wecom_payloads as wp
from tests.bots.channels.test_wecom import PROXIES, USER, click, now, post, say
from tests.bots.channels.wecom.fake import FakeWeCom
from tests.bots.channels.wecom.fake import fake as fake  # noqa: F401 — the fixture
from tests.conftest import TZ, invite
from tests.scoring.conftest import Models, Voice, models, voice  # noqa: F401 — fixtures

ANSWER_EN = (
    "First I would stay calm and verify the customer's identity. Then I would check the transfer "
    "against our anti money laundering rules, report the suspicious transaction to compliance, and "
    "explain politely to the customer why we need to check."
)


@pytest.fixture
def settings(settings: Settings, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    return dataclasses.replace(settings, env={**settings.env, **wp.env(fake.url)})


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock, base_url: str, models: Models) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The server's runtime, with the session's Whisper model for the worker."""
    runtime = build(
        dataclasses.replace(settings, public_url=base_url),
        nlu=nlu,
        clock=clock,
        migrate=False,
        asr=models.backend,
    )
    with runtime.sessions.begin() as s:
        seed(s, content_dir=runtime.settings.content_dir, now=clock(), tz=TZ)
    yield runtime
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    runtime.engine.dispose()


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0, trust_env=False) as c:
        yield c


def test_a_voice_answer_over_wecom_is_scored_and_the_next_question_follows(
    rt: Runtime,
    client: httpx.Client,
    clock: FakeClock,
    fake: FakeWeCom,
    voice: Voice,  # noqa: F811
    models: Models,  # noqa: F811
) -> None:
    models.backend()  # load the model before the clock starts ticking on the answer
    code = invite(rt, position="RISK", name="Alex Chen")
    say(client, clock, f"my code is {code}")
    consent = fake.wait_text(USER, "Do you agree that we record")
    click(client, clock, consent.buttons[0]["key"])
    fake.wait_text(USER, "do you agree that we process the documents")
    click(client, clock, "yes")
    start = fake.wait_text(USER, 'Press "Start interview"')
    assert start.body["msgtype"] == "template_card" and start.buttons[0]["key"] == "iv_start"
    click(client, clock, "iv_start")
    fake.wait_text(USER, "Question 1 of 6")

    amr = voice.encode(voice.en(ANSWER_EN), "amr").read_bytes()
    assert amr.startswith(b"#!AMR\n")
    fake.add_media("M-voice-1", amr, "audio/amr", "M-voice-1.amr")
    asked = len(fake.sent(USER))
    r = post(client, clock, wp.message("voice", user=USER, media_id="M-voice-1", create_time=now(clock)))
    assert r.status_code == 200 and r.content == b""
    fake.wait_text(USER, "Got your answer", after=asked)

    nxt = fake.wait(
        lambda: next(
            (c for c in fake.sent(USER)[asked:] if "Question 2 of 6" in c.text or "Follow-up" in c.text), None
        ),
        timeout=120,
        what="the next question",
    )
    assert nxt.ok
    with rt.sessions() as s:
        [answer] = s.scalars(select(Answer)).all()
    assert answer.kind == "voice" and answer.status == "scored"
    assert answer.media_ref == hashlib.sha256(amr).hexdigest() and answer.media_mime == "audio/amr"
    assert rt.deps.files is not None and rt.deps.files.exists(answer.media_ref)
    transcript = (answer.text or "").lower()  # 8 kHz AMR-NB: the gist survives, not every word
    assert "transfer" in transcript and "compliance" in transcript
