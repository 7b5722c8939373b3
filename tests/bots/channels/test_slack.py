"""Slack end to end: signed Events API and interactivity requests into the real server
(``create_app`` under uvicorn), slack-bolt and slack_sdk for real, a fake Slack on 127.0.0.1 for
everything the adapter calls (auth.test, chat.postMessage, files.info, file downloads)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from bots.channels import gateway as gateway_module
from bots.channels.slack import SlackChannel
from bots.runtime import Runtime
from bots.settings import Settings
from bots.testing import FakeClock
from storage.models import AuditEntry, Document, OutboxItem
from tests.actions.test_doccheck import make_pdf
from tests.bots.channels.slack.fake import FakeSlack, Scripted
from tests.bots.channels.slack.fixtures import (  # noqa: F401 — fixtures
    Candidate,
    block_text,
    buttons,
    deliveries,
    fake_fixture,
    http_fixture,
    make_runtime,
    post,
    processed,
    send,
    settings_fixture,
    slack_env_fixture,
    wait,
)
from tests.bots.channels.slack_payloads import (
    BOT_TOKEN,
    PATH,
    document_file,
    json_request,
    load,
    message_event,
    sign,
    text_message_request,
)
from tests.conftest import invite

USER = "U0CAND001"


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock, base_url: str) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    yield from make_runtime(settings, nlu, clock, base_url)


@pytest.fixture(autouse=True)
def quick_media_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_module, "MEDIA_BACKOFF", (0.05, 0.1, 0.2))


def linked(
    http: httpx.Client, fake: FakeSlack, rt: Runtime, *, user: str = USER, position: str = "TELLER"
) -> Candidate:
    """A candidate who linked their invitation code in a DM and pressed both consent buttons."""
    me = Candidate(http, fake, user)
    code = invite(rt, position=position, name="Alex Chen")
    send(http, message_event(f"my code is {code}", user=user))
    me.expect("I agree")
    me.press("I agree")
    me.expect("2 of 2")
    me.press("I agree")
    return me


# ------------------------------------------------------------------ verification


def test_url_verification_answers_the_challenge(http, fake: FakeSlack) -> None:
    payload = load("url_verification")
    resp = post(http, json_request(payload))
    assert resp.status_code == 200
    assert resp.json() == {"challenge": payload["challenge"]}


def test_forged_and_stale_signatures_are_refused_and_never_processed(
    http, fake: FakeSlack, rt: Runtime
) -> None:
    path, headers, body = text_message_request("hello", event_id="Ev0FORGED001", secret="not-the-secret")
    assert http.post(path, headers=headers, content=body).status_code == 401
    # a correct signature over a different body
    _, good, _ = text_message_request("hello", event_id="Ev0FORGED001")
    assert http.post(path, headers=good, content=body.replace(b"hello", b"hellp")).status_code == 401
    # stale: signed correctly, but six minutes ago (and as far in the future)
    for skew in (-301, +301):
        stale = text_message_request("hello", event_id="Ev0STALE0001", timestamp=int(time.time()) + skew)
        assert post(http, stale).status_code == 401
    # no signature at all; a timestamp that is not a number
    assert http.post(PATH, headers={"Content-Type": "application/json"}, content=body).status_code == 401
    bad_ts = {**headers, "X-Slack-Request-Timestamp": "yesterday"}
    assert http.post(path, headers=bad_ts, content=body).status_code == 401
    # a real message afterwards is answered, and it is the only one processed
    send(http, message_event("hello", event_id="Ev0REAL00001"))
    Candidate(http, fake).expect("")
    assert processed(rt) == ["Ev0REAL00001"]
    assert "auth.test" in fake.methods()


def test_malformed_bodies_are_400_and_nothing_is_processed(http, fake: FakeSlack, rt: Runtime) -> None:
    bad_bodies = [
        b'{"type": "event_callback", "event": {',  # cut off
        b"[1, 2, 3]",  # JSON, not an object
        urlencode({"payload": "{not json"}).encode(),  # interactivity with a broken payload
        b"\xff\xfe{}",  # not UTF-8
        b"",
    ]
    for body in bad_bodies:
        resp = http.post(PATH, headers={"Content-Type": "application/json", **sign(body)}, content=body)
        assert resp.status_code == 400, (body, resp.status_code, resp.text)
    huge = json.dumps({**load("message_im"), "padding": "x" * 2**20}).encode()
    assert (
        http.post(PATH, headers={"Content-Type": "application/json", **sign(huge)}, content=huge).status_code
        == 413
    )
    send(http, message_event("hello", event_id="Ev0AFTERBAD1"))
    Candidate(http, fake).expect("")
    assert processed(rt) == ["Ev0AFTERBAD1"]


def test_unknown_event_types_and_other_messages_are_acknowledged_and_ignored(
    http,
    fake: FakeSlack,
    rt: Runtime,
) -> None:
    for name in ("reaction_added", "message_changed", "bot_message"):
        send(http, load(name))
    # a message of our own bot, a channel message without a mention, a new event type
    own = message_event("I am the bot", user="U0TALENTBOT")
    channel = message_event("just chatting", channel="C0CAREERS1")
    channel["event"]["channel_type"] = "channel"
    novel = load("reaction_added")
    novel["event"]["type"] = "function_executed_v9"
    for payload in (own, channel, novel):
        send(http, payload)
    # interactivity we did not ask for: a view submission, a button of someone else's message
    view = {
        "type": "view_submission",
        "user": {"id": USER},
        "team": {"id": "T0DEMO001"},
        "view": {"id": "V1"},
    }
    foreign = load("block_actions")
    foreign["actions"][0]["action_id"] = "someone.elses.button"
    for payload in (view, foreign):
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        assert http.post(PATH, headers=headers, content=body).status_code == 200
    send(http, message_event("hello", event_id="Ev0BARRIER01"))
    Candidate(http, fake).expect("")
    assert processed(rt) == ["Ev0BARRIER01"]
    assert [p["channel"] for p in fake.posted()] == [USER]  # one answer, to the real message only


def test_a_replayed_delivery_is_processed_once(http, fake: FakeSlack, rt: Runtime) -> None:
    me = Candidate(http, fake)
    payload = message_event("hello", event_id="Ev0REPLAY001")
    send(http, payload)
    first = me.expect("")
    # Slack's retries: same event_id, new signature, X-Slack-Retry-Num; one after "a restart" too
    send(http, payload, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    rt.gateway._recent.clear()  # as after a restart: only the database remembers it now
    send(http, payload, **{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"})
    send(http, message_event("hello again", event_id="Ev0REPLAY002"))
    wait(lambda: len(processed(rt)) == 2, what="the second message")
    me.expect("")
    time.sleep(0.3)
    assert processed(rt) == ["Ev0REPLAY001", "Ev0REPLAY002"]
    sent = wait(lambda: (d := deliveries(rt)) and all(x.status == "sent" for x in d) and d, what="sends")
    assert len(sent) == len(fake.posted(USER)) == 2 * len(first)  # the replies of two messages, once


def test_replies_are_block_kit_with_buttons_and_a_numbered_fallback(
    http, fake: FakeSlack, rt: Runtime
) -> None:
    rt.gateway.channels["slack"].limits = SlackChannel.limits  # Slack's own: 1 message/s per person
    me = Candidate(http, fake)
    code = invite(rt, position="TELLER", name="Alex Chen")
    send(http, message_event(f"my code is {code}"))
    posts = me.expect("I agree")
    ask = next(p for p in posts if buttons(p))
    titles = [b["text"]["text"] for b in buttons(ask)]
    assert any("I agree" in t for t in titles)
    assert "1. " in ask["text"] and "2. " in ask["text"]  # notifications / screen readers get the choices
    assert ask["unfurl_links"] is False
    call = next(c for c in fake.calls if c.method == "chat.postMessage")
    assert call.token == BOT_TOKEN
    # typing the number works as well as pressing
    send(http, message_event("1"))
    me.expect("2 of 2")
    # never faster than one message a second to one person
    times = [c.at for c in fake.calls if c.method == "chat.postMessage"]
    assert len(times) >= 3 and all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))


def test_a_conversation_in_chinese(http, fake: FakeSlack, rt: Runtime) -> None:
    me = Candidate(http, fake, "U0CAND003")
    code = invite(rt, position="TELLER", name="张三")
    send(http, message_event(f"我的邀请码是 {code}", user="U0CAND003"))
    me.expect("同意")
    me.press("同意")
    posts = me.expect("2/2")
    assert any("同意" in b["text"]["text"] for p in posts for b in buttons(p))


def test_a_mention_in_a_channel_is_answered_privately(http, fake: FakeSlack, rt: Runtime) -> None:
    send(http, load("app_mention"))
    [reply] = Candidate(http, fake, "U0CAND002").expect("")[:1]
    assert reply["channel"] == "U0CAND002"  # the app's DM with the person, not the channel
    assert processed(rt) == ["Ev0MENTION01"]


# ------------------------------------------------------------------ files


def test_a_document_reaches_the_engine_with_its_bytes_in_the_file_store(
    http,
    fake: FakeSlack,
    rt: Runtime,
) -> None:
    me = linked(http, fake, rt)
    me.expect("")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n" * 20
    fake.add_file("F0DOC000001", pdf, name="degree-certificate.pdf", mimetype="application/pdf")
    send(http, message_event("my degree certificate", files=[document_file("F0DOC000001", len(pdf))]))
    wait(lambda: fake.downloads == ["F0DOC000001"], what="the download")
    assert rt.deps.files is not None
    stored = wait(lambda: rt.deps.files.exists(_sha(pdf)), what="the file in the store")  # type: ignore[union-attr]
    assert stored and rt.deps.files.read(_sha(pdf)) == pdf
    me.expect("")  # and a reply goes back
    assert [c.args.get("file") for c in fake.calls if c.method == "files.info"] == ["F0DOC000001"]


def test_a_cv_shared_in_the_dm_is_filed_and_the_checklist_comes_back(
    http,
    fake: FakeSlack,
    rt: Runtime,
) -> None:
    me = linked(http, fake, rt)
    me.expect("")
    cv = make_pdf("Alex Chen CV")
    fake.add_file("F0CV0000001", cv, name="cv.pdf", mimetype="application/pdf")
    shared = message_event("", files=[document_file("F0CV0000001", len(cv), name="cv.pdf")])
    send(http, shared)  # no caption: the file name says what it is
    [reply] = [p for p in me.expect("Received: CV.") if "Received: CV." in p["text"]]
    assert reply["channel"] == USER
    for text in (reply["text"], block_text(reply)):
        assert "I've received your CV (cv.pdf)" in text
        assert "Received: CV. Still needed: ID card, degree certificate." in text
    assert fake.downloads == ["F0CV0000001"]
    with rt.sessions() as s:
        [doc] = s.scalars(select(Document)).all()
    assert (doc.kind, doc.status, doc.sha256) == ("cv", "current", _sha(cv))
    assert (doc.mime, doc.filename, doc.platform, doc.message_id) == (
        "application/pdf",
        "cv.pdf",
        "slack",
        shared["event_id"],
    )


def test_a_25_mb_file_is_refused_politely_without_downloading_it(http, fake: FakeSlack, rt: Runtime) -> None:
    me = linked(http, fake, rt)
    size = 25 * 2**20
    send(http, message_event("", files=[document_file("F0BIG000001", size, name="scan.pdf")]))
    me.expect("too large")
    assert fake.downloads == [] and "files.info" not in fake.methods()


def test_a_failing_download_is_retried_then_stored(http, fake: FakeSlack, rt: Runtime) -> None:
    me = linked(http, fake, rt)
    me.expect("")
    data = b"%PDF-1.4 retried\n" * 50
    fake.add_file("F0RETRY0001", data, name="cv.pdf", mimetype="application/pdf")
    fake.fail("download", Scripted(status=502), Scripted(status=200, delay=0.8))  # a 502, then too slow
    rt.gateway.channels["slack"].files.timeout = 0.3
    send(http, message_event("", files=[document_file("F0RETRY0001", len(data), name="cv.pdf")]))
    wait(lambda: rt.deps.files.exists(_sha(data)), what="the file in the store")  # type: ignore[union-attr]
    assert fake.downloads == ["F0RETRY0001"] * 3
    me.expect("")
    assert "couldn't receive" not in " ".join(p["text"] for p in fake.posted(USER))


def test_a_download_that_keeps_failing_asks_the_person_to_send_it_again(
    http,
    fake: FakeSlack,
    rt: Runtime,
) -> None:
    me = linked(http, fake, rt)
    data = b"never arrives"
    fake.add_file("F0GONE00001", data, name="id.jpg", mimetype="image/jpeg")
    fake.fail("download", *[Scripted(status=503)] * gateway_module.MEDIA_TRIES)
    send(http, message_event("", files=[document_file("F0GONE00001", len(data), name="id.jpg")]))
    me.expect("Please send it again")
    assert fake.downloads == ["F0GONE00001"] * gateway_module.MEDIA_TRIES


def test_a_file_gone_from_slack_asks_the_person_to_send_it_again(http, fake: FakeSlack, rt: Runtime) -> None:
    me = linked(http, fake, rt)
    me.expect("")
    send(
        http, message_event("", files=[document_file("F0DELETED01", 10, name="cv.pdf")])
    )  # files.info: file_not_found
    me.expect("Please send it again", timeout=2)
    assert fake.downloads == []


# ------------------------------------------------------------------ sending


def test_a_rate_limited_send_waits_for_retry_after_then_goes(
    http,
    fake: FakeSlack,
    rt: Runtime,
    clock: FakeClock,
) -> None:
    fake.fail(
        "chat.postMessage",
        Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"}),
    )
    send(http, message_event("hello"))
    pending = wait(lambda: [d for d in deliveries(rt) if d.attempts == 1], what="the first attempt")
    assert pending[0].status == "pending" and "429" in (pending[0].last_error or "")
    assert pending[0].next_attempt_at is not None
    assert (pending[0].next_attempt_at - clock()).total_seconds() == pytest.approx(30, abs=1)
    time.sleep(0.3)
    assert len(fake.posted(USER)) == 1  # the 429 only: nothing else went before Retry-After
    clock.advance(seconds=31)
    Candidate(http, fake).expect("")
    wait(lambda: all(d.status == "sent" for d in deliveries(rt)), what="the deliveries sent")


def test_a_send_slack_refuses_for_good_is_recorded_for_hr(http, fake: FakeSlack, rt: Runtime) -> None:
    fake.fail("chat.postMessage", Scripted(body={"ok": False, "error": "channel_not_found"}))
    send(http, message_event("hello"))
    failed = wait(lambda: [d for d in deliveries(rt) if d.status == "failed"], what="the failed delivery")
    assert failed[0].attempts == 1 and "channel_not_found" in (failed[0].last_error or "")
    with rt.sessions() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed")).all()
        notices = [o.payload for o in s.scalars(select(OutboxItem).where(OutboxItem.kind == "notify_hr"))]
    assert audit and any(n.get("event") == "delivery_failed" and n["platform"] == "slack" for n in notices)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
