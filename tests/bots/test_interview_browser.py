"""A candidate answers an interview question by voice in the web chat page: headless Chromium with a
fake microphone playing synthesised speech, the real server, the in-process worker and the real
Whisper model — the next question arrives in the page by itself."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright
from sqlalchemy import select

from bots.runtime import Runtime
from bots.settings import Settings
from storage.models import Answer, AnswerScore
from tests.bots.test_webchat_browser import ARGS, CHROMIUM
from tests.conftest import invite
from tests.scoring.conftest import Models, models  # noqa: F401 — fixture

SPEECH = (
    "I would verify the customer's identity, check the transfer against the anti money laundering "
    "rules, and report the suspicious transaction to compliance."
)


@pytest.fixture
def settings(settings: Settings, models: Models) -> Settings:  # noqa: F811
    """The server transcribes with the test model (already assembled), not a fresh copy in tmp."""
    return dataclasses.replace(settings, asr_model=str(models.model_dir()))


@pytest.fixture(scope="module")
def answer_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("answer")
    raw, wav = d / "espeak.wav", d / "answer.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), SPEECH], check=True)
    # 16-bit PCM 16 kHz mono, then 2 s of silence so the looping fake microphone has a gap
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            "16000",
            "-b",
            "16",
            "-c",
            "1",
            "-e",
            "signed-integer",
            str(wav),
            "pad",
            "0",
            "2",
        ],
        check=True,
    )
    return wav


@pytest.fixture(scope="module")
def browser(answer_wav: Path) -> Iterator[Callable[[], Browser]]:
    launched: list[Browser] = []
    args = [
        *ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={answer_wav}",
    ]
    with sync_playwright() as p:

        def get() -> Browser:
            if not launched:
                if not CHROMIUM.is_file():
                    pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
                try:
                    launched.append(
                        p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
                    )
                except Error as exc:
                    pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}")
            return launched[0]

        yield get
        for b in launched:
            b.close()


def _say(page: Page, text: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator(".msg.me").last).to_have_text(text)


def _press(page: Page, bubble: str, button: str) -> None:
    b = page.locator(".msg.bot").filter(has_text=bubble).last.get_by_role("button", name=button, exact=True)
    expect(b).to_be_enabled()
    b.click()


def test_a_question_answered_by_voice_in_the_browser(
    rt: Runtime, server: str, browser: Callable[[], Browser], tmp_path: Path
) -> None:
    code = invite(rt, position="RISK", name="Alex Chen")
    ctx = browser().new_context(locale="en-US", viewport={"width": 480, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.goto(server + "/")
    page.wait_for_function("() => window.talentbot && window.talentbot.user")

    _say(page, f"my code is {code}")
    _press(page, "voice", "I agree")
    _press(page, "documents", "I agree")
    _press(page, "can start now", "Start interview")
    expect(page.locator(".msg.bot").filter(has_text="Question 1 of 6")).to_be_visible()

    page.get_by_role("button", name="Record a voice answer").click()
    stop = page.get_by_role("button", name="Stop recording and send")
    page.wait_for_timeout(9_000)
    stop.click()
    expect(page.locator(".msg.me").last).to_have_text(re.compile(r"^🎤 Voice 0:(0[89]|1\d)$"))
    expect(page.locator(".msg.bot").filter(has_text="Got your answer")).to_be_visible()
    # scored by the worker, then pushed: the page shows the next prompt without the candidate asking
    nxt = page.locator(".msg.bot").filter(has_text=re.compile(r"Question 2 of 6|Follow-up"))
    expect(nxt).to_be_visible(timeout=60_000)
    page.screenshot(path=str(tmp_path / "interview.png"), full_page=True)
    ctx.close()

    with rt.sessions() as s:
        [a] = s.scalars(select(Answer)).all()
        sc = s.scalars(select(AnswerScore)).one()
    assert a.status == "scored" and a.media_mime == "audio/webm"
    # the fake microphone loops the clip from wherever it happens to be: some of its words, not all
    words = {"verify", "identity", "customer", "transfer", "money", "laundering", "suspicious", "compliance"}
    assert len(words & set(re.findall(r"[a-z]+", (a.text or "").lower()))) >= 2, a.text
    assert sc.speech_version and sc.asr_model
    assert errors == []
