"""Voice answers in the web chat: the upload API over real HTTP, and recording in a real browser.

The browser test records from Chromium's fake microphone fed with espeak-ng speech. The fake
microphone loops its file, and an unusable file records *silence* without any error on the page, so
the test decodes what reached the server and checks that it holds speech.
"""

from __future__ import annotations

import hashlib
import re
import select
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect, sync_playwright
from sqlalchemy import func
from sqlalchemy import select as sql_select

import bots.webchat
from bots.runtime import Runtime
from bots.webchat import MAX_VOICE
from flows.values import Inbound, MediaRef
from scoring import audio
from storage.models import Conversation, ProcessedMessage
from tests.bots.test_webchat_browser import ARGS, CHROMIUM

CJK = re.compile(r"[\u4e00-\u9fff]")
VOICE = "/webchat/api/voice"
SPEECH = (
    "First I would listen to the customer carefully and apologise for the trouble. "
    "Then I would explain what I can do today, and follow up until the problem is solved."
)


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Inbound]:
    """Every Inbound the voice endpoint hands to the engine (the real engine still handles it)."""
    calls: list[Inbound] = []
    real = bots.webchat.handle

    async def spy(inbound: Inbound, deps: Any) -> Any:
        calls.append(inbound)
        return await real(inbound, deps)

    monkeypatch.setattr(bots.webchat, "handle", spy)
    return calls


def _stored(rt: Runtime) -> dict[str, bytes]:
    """The file store's contents by name (temp files excluded)."""
    assert rt.deps.files is not None
    root = rt.deps.files.root
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def _upload(
    client: httpx.Client,
    body: bytes,
    *,
    user: str | None = "web-voice",
    mid: str | None = None,
    ctype: str | None = "audio/ogg",
) -> httpx.Response:
    params = {k: v for k, v in {"user": user, "message_id": mid}.items() if v is not None}
    headers = {"content-type": ctype} if ctype is not None else {}
    return client.post(VOICE, params=params, content=body, headers=headers)


def _bilingual_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()
    assert err["error"] == code, err
    assert CJK.search(err["message"]["zh"]), err
    assert re.search(r"[A-Za-z]{3,}", err["message"]["en"]) and not CJK.search(err["message"]["en"]), err
    return err


def _processed(rt: Runtime) -> int:
    with rt.sessions() as s:
        return s.scalar(sql_select(func.count()).select_from(ProcessedMessage)) or 0


# ------------------------------------------------------------------ the API


def test_an_upload_is_stored_by_its_sha256_and_handed_on_as_a_voice_inbound(
    rt: Runtime, client: httpx.Client, seen: list[Inbound]
) -> None:
    body = b"OggS" + bytes(range(256)) * 40  # not decoded here: any bytes are stored and passed on
    r = _upload(client, body, mid="v-1", ctype="Audio/Ogg; codecs=opus")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["duplicate"] is False
    assert data["replies"] and all(isinstance(x["text"], str) and x["text"] for x in data["replies"])
    digest = hashlib.sha256(body).hexdigest()
    assert _stored(rt) == {digest: body}
    assert rt.deps.files is not None and rt.deps.files.read(digest) == body
    assert seen == [
        Inbound(
            platform="webchat",
            conversation_id="web-voice",
            user_ref="web-voice",
            message_id="v-1",
            text=None,
            media=MediaRef(kind="voice", ref=digest, mime="audio/ogg", size=len(body)),
        )
    ]

    # A text file posted as audio is not judged here either: stored, passed on, answered.
    note = "这不是录音 / not a recording".encode()
    r = _upload(client, note, ctype="application/octet-stream")
    assert r.status_code == 200 and r.json()["replies"], r.text
    assert hashlib.sha256(note).hexdigest() in _stored(rt)
    assert seen[-1].media == MediaRef(
        kind="voice", ref=hashlib.sha256(note).hexdigest(), mime="application/octet-stream", size=len(note)
    )
    # Without a message id, one is generated for every upload.
    assert re.fullmatch(r"[0-9a-f]{32}", seen[-1].message_id)
    r = _upload(client, note, ctype="audio/webm;codecs=opus")
    assert r.status_code == 200 and r.json()["duplicate"] is False
    assert seen[-1].message_id != seen[-2].message_id and seen[-1].media.mime == "audio/webm"  # type: ignore[union-attr]
    assert _processed(rt) == 3


def test_the_same_message_id_twice_is_processed_once(
    rt: Runtime, client: httpx.Client, seen: list[Inbound]
) -> None:
    body = b"\x1a\x45\xdf\xa3webm" + b"\x01" * 5000
    first = _upload(client, body, mid="voice-dup", ctype="audio/webm;codecs=opus")
    assert first.status_code == 200, first.text
    with rt.sessions() as s:
        conv = s.get(Conversation, "webchat:web-voice")
        assert conv is not None
        version = conv.version
    again = _upload(client, body, mid="voice-dup", ctype="audio/webm;codecs=opus")
    assert again.status_code == 200, again.text
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.json()["replies"] == first.json()["replies"]
    assert _processed(rt) == 1
    with rt.sessions() as s:
        conv = s.get(Conversation, "webchat:web-voice")
        assert conv is not None and conv.version == version  # the retry changed nothing
    assert list(_stored(rt)) == [hashlib.sha256(body).hexdigest()]


def test_bad_uploads_get_a_bilingual_error_and_nothing_is_stored_or_processed(
    rt: Runtime, client: httpx.Client, seen: list[Inbound]
) -> None:
    err = _bilingual_error(_upload(client, b""), 400, "empty_voice")
    assert err["message"] == {
        "zh": "录音是空的，请重新录制。",
        "en": "The recording is empty — please record again.",
    }
    for user in (None, "", "   ", "u" * 201):
        _bilingual_error(_upload(client, b"OggS", user=user), 400, "bad_user")
    for mid in ("", "m" * 201):
        _bilingual_error(_upload(client, b"OggS", mid=mid), 400, "bad_message_id")
    for ctype in (None, "text/plain", "application/json", "multipart/form-data; boundary=x", "audio/"):
        _bilingual_error(_upload(client, b"OggS", ctype=ctype), 415, "bad_voice_type")
    err = _bilingual_error(_upload(client, b"\0" * (MAX_VOICE + 1)), 413, "voice_too_large")
    assert "10 MB" in err["message"]["zh"] and "10 MB" in err["message"]["en"]
    assert seen == [] and _stored(rt) == {} and _processed(rt) == 0

    at_the_limit = b"\0" * MAX_VOICE
    assert _upload(client, at_the_limit, mid="limit").status_code == 200
    assert list(_stored(rt)) == [hashlib.sha256(at_the_limit).hexdigest()]


def _raw_post(server: str, head: str, chunks: Iterator[bytes], *, chunked: bool) -> tuple[int, bytes, int]:
    """POST over a bare socket, sending ``chunks`` until the server answers (or stops reading).

    Returns (status, response bytes, body bytes sent). httpx sends the whole body before it reads a
    response, so it cannot show that the server answered in the middle of an upload.
    """
    host, port = server.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode("ascii"))
        sock.settimeout(2.0)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer is there
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
            try:
                sock.sendall(frame)
            except OSError:  # the server stopped reading (timeout) or closed the connection
                break
            sent += len(chunk)
        sock.settimeout(10)
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            response += part
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
    assert m, f"no answer from the server after {sent} bytes: {response[:200]!r}"
    return int(m.group(1)), response, sent


def test_a_too_large_upload_is_refused_without_reading_it_all(
    rt: Runtime, server: str, seen: list[Inbound]
) -> None:
    path = f"{VOICE}?user=web-big&message_id=big-1"
    host = server.removeprefix("http://")

    # A declared length over the cap is refused before a byte of the body is sent.
    declared = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: audio/webm\r\n"
        f"Content-Length: {MAX_VOICE + 1}\r\n\r\n"
    )
    started = time.monotonic()
    status, response, sent = _raw_post(server, declared, iter(()), chunked=False)
    assert status == 413 and b"voice_too_large" in response and sent == 0
    assert time.monotonic() - started < 5

    # A chunked upload with no declared length and no end: the server must answer while it is
    # still arriving (it could never have buffered all of it), soon after the cap.
    endless = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: audio/webm\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    cap = MAX_VOICE * 10
    chunk = b"\0" * 65536
    status, response, sent = _raw_post(
        server, endless, (chunk for _ in range(cap // len(chunk))), chunked=True
    )
    assert status == 413 and b"voice_too_large" in response
    assert MAX_VOICE < sent < cap, sent
    assert seen == [] and _stored(rt) == {} and _processed(rt) == 0


# ------------------------------------------------------------------ the page in Chromium


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """English espeak-ng speech as 16-bit PCM, 16 kHz, mono: a format Chromium's fake microphone plays."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install espeak-ng sox, or run scripts/setup.sh)")
    d = tmp_path_factory.mktemp("voice")
    raw, wav = d / "espeak.wav", d / "answer.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), SPEECH], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(raw), "-r", "16000", "-b", "16", "-c", "1", "-e", "signed-integer", str(wav)],
        check=True,
        capture_output=True,
    )
    with wave.open(str(wav)) as w:  # an unusable file would record silence, not fail
        assert (w.getsampwidth(), w.getframerate(), w.getnchannels()) == (2, 16000, 1)
        assert w.getnframes() / w.getframerate() > 4.0
    return wav


@pytest.fixture(scope="module")
def mic_browser(speech_wav: Path) -> Iterator[Callable[[], Browser]]:
    """Chromium with a fake microphone that plays ``speech_wav`` (launched on first use, so a missing
    browser fails the test instead of erroring in set-up)."""
    launched: list[Browser] = []
    args = [
        *ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech_wav}",
    ]
    with sync_playwright() as p:

        def get() -> Browser:
            if not launched:
                if not CHROMIUM.is_file():
                    pytest.fail(
                        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)", pytrace=False
                    )
                try:
                    launched.append(
                        p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
                    )
                except Error as exc:
                    pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
            return launched[0]

        yield get
        for b in launched:
            b.close()


@pytest.fixture
def page_for(mic_browser: Callable[[], Browser]) -> Iterator[Callable[..., tuple[Page, list[str]]]]:
    contexts: list[BrowserContext] = []

    def make(
        url: str, *, locale: str = "en-US", init_script: str | None = None, fake_clock: bool = False
    ) -> tuple[Page, list[str]]:
        ctx = mic_browser().new_context(locale=locale, viewport={"width": 480, "height": 900})
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        if init_script:
            page.add_init_script(init_script)
        if fake_clock:
            page.clock.install()  # the page's timers and clocks; the recorder still records in real time
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(url)
        page.wait_for_function("() => window.talentbot && window.talentbot.user")
        return page, errors

    yield make
    for c in contexts:
        c.close()


def test_a_recorded_answer_reaches_the_server_as_webm_opus_speech(
    rt: Runtime, server: str, page_for: Callable[..., tuple[Page, list[str]]], tmp_path: Path
) -> None:
    page, errors = page_for(server + "/?quiet=1")
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/webchat/api/updates" in r.url else None)
    mic = page.get_by_role("button", name="Record a voice answer")
    expect(mic).to_have_text("🎤")

    mic.focus()
    page.keyboard.press("Enter")  # keyboard works as well as a click
    stop = page.get_by_role("button", name="Stop recording and send")
    expect(stop).to_have_text(re.compile(r"^⏹ 0:0\d$"))
    expect(stop).to_have_class(re.compile(r"\brecording\b"))
    page.wait_for_timeout(3_000)
    expect(stop).to_have_text(re.compile(r"^⏹ 0:0[2-4]$"))  # the counter runs
    with page.expect_response(lambda r: VOICE in r.url) as answered:
        stop.click()
    response = answered.value
    sent_at = time.monotonic()
    assert response.status == 200, response.text()
    request = response.request
    assert request.method == "POST"
    assert request.headers["content-type"] == "audio/webm;codecs=opus"
    q = dict(p.split("=", 1) for p in request.url.split("?", 1)[1].split("&"))
    assert q["user"] == page.evaluate("window.talentbot.user") and len(q["message_id"]) >= 16

    bubble = page.locator(".msg.me").last
    expect(bubble).to_have_text(re.compile(r"^🎤 Voice 0:0[2-4]$"))
    data = response.json()
    assert data["duplicate"] is False and data["replies"]
    expect(page.locator(".msg.bot").last).to_contain_text(data["replies"][-1]["text"].splitlines()[0])
    expect(page.get_by_role("button", name="Record a voice answer")).to_be_enabled()  # ready again

    [(digest, body)] = _stored(rt).items()
    assert digest == hashlib.sha256(body).hexdigest()
    assert audio.sniff(body) == "webm" and b"A_OPUS" in body[:4096]  # Matroska codec id of Opus
    decoded = audio.decode(body)
    report = audio.quality(decoded)
    assert report.ok, report  # not the silence an unusable fake-microphone file gives
    assert 2.0 < decoded.duration < 5.0, decoded.duration
    assert report.speech_seconds > 1.0, report
    # The next question comes as a proactive message: the page now polls every second, not every 3 s.
    page.wait_for_timeout(max(0.0, 3.6 - (time.monotonic() - sent_at)) * 1000)
    before = [t for t in polls if t < sent_at]
    after = [t for t in polls if t >= sent_at]
    assert len(after) >= 3, (before, after)
    assert all(b - a > 2.5 for a, b in zip(before, before[1:], strict=False)), before
    page.screenshot(path=str(tmp_path / "webchat-voice.png"), full_page=True)
    assert errors == []


def test_recording_stops_by_itself_after_ten_minutes(
    rt: Runtime, server: str, page_for: Callable[..., tuple[Page, list[str]]]
) -> None:
    page, errors = page_for(server + "/?quiet=1", locale="zh-CN", fake_clock=True)
    expect(page.locator("#mic")).to_have_attribute("aria-label", "录制语音回答")
    page.locator("#mic").click()
    stop = page.get_by_role("button", name="停止录音并发送")
    expect(stop).to_be_visible()
    page.wait_for_timeout(1_000)
    with page.expect_response(lambda r: VOICE in r.url) as answered:
        page.clock.fast_forward("10:00")
    assert answered.value.status == 200
    expect(page.locator(".msg.me").last).to_have_text("🎤 语音 10:00")
    expect(page.get_by_role("button", name="录制语音回答")).to_be_enabled()
    assert len(_stored(rt)) == 1
    assert errors == []


@pytest.mark.parametrize(
    ("locale", "script", "expected"),
    [
        (
            "zh-CN",
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError'));",
            "无法使用麦克风",
        ),
        (
            "en-US",
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError'));",
            "The microphone isn't available",
        ),
        ("zh-CN", "delete window.MediaRecorder;", "此浏览器无法在这里录音"),
        ("en-US", "delete window.MediaRecorder;", "This browser can't record here"),
    ],
)
def test_without_a_microphone_the_page_suggests_typing_or_an_accommodation(
    rt: Runtime,
    server: str,
    page_for: Callable[..., tuple[Page, list[str]]],
    locale: str,
    script: str,
    expected: str,
) -> None:
    page, errors = page_for(server + "/?quiet=1", locale=locale, init_script=script)
    page.locator("#mic").click()
    notice = page.locator(".msg.notice").last
    expect(notice).to_contain_text(expected)
    expect(notice).to_contain_text("HR")
    expect(notice).to_contain_text("文字" if locale == "zh-CN" else "type")
    expect(page.locator("#mic")).to_be_enabled()
    expect(page.locator("#mic")).to_have_text("🎤")
    assert _stored(rt) == {} and errors == []
