"""The Slack adapter's parts on their own: configuration, Slack's signature (the documented test
vector), translation of recorded payloads, Block Kit rendering, and how Web API and download
failures become the gateway's errors — against the fake Slack, through the real slack_sdk client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bots.channels.base import ChannelContext, MediaError, MediaTooLarge, SendError
from bots.channels.slack import SlackChannel, SlackConfig, create
from bots.channels.slack_inbound import (
    BadRequest,
    action_inbounds,
    media_ref,
    message_inbounds,
    parse_body,
    plain_text,
    signature_ok,
)
from bots.channels.slack_render import render
from flows.values import Choice, FileRef, Inbound, Reply
from tests.bots.channels.slack.fake import FakeSlack, Scripted
from tests.bots.channels.slack.fixtures import fake_fixture  # noqa: F401 — the fake fixture
from tests.bots.channels.slack_payloads import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    load,
    settings_env,
)

# Slack's documented example ("Verifying requests from Slack"): secret, timestamp, body, signature.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TS = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def _ctx(env: dict[str, str]) -> ChannelContext:
    async def accept(inbound: Inbound) -> bool:
        return True

    return ChannelContext(env=env, public_url="http://x", clock=lambda: datetime.now(UTC), accept=accept)


# ------------------------------------------------------------------ configuration


def test_the_platform_is_off_without_a_bot_token_and_a_way_to_receive() -> None:
    assert create(_ctx({})) is None
    assert create(_ctx({"TALENTBOT_SLACK_SIGNING_SECRET": "s"})) is None
    assert create(_ctx({"TALENTBOT_SLACK_BOT_TOKEN": "xoxb-1"})) is None
    http = create(_ctx({"TALENTBOT_SLACK_BOT_TOKEN": "xoxb-1", "TALENTBOT_SLACK_SIGNING_SECRET": "s"}))
    assert isinstance(http, SlackChannel) and [r.path for r in http.routes()] == ["/events"]  # type: ignore[attr-defined]
    socket_only = create(_ctx({"TALENTBOT_SLACK_BOT_TOKEN": "xoxb-1", "TALENTBOT_SLACK_APP_TOKEN": "xapp-1"}))
    assert isinstance(socket_only, SlackChannel) and list(socket_only.routes()) == []
    config = SlackConfig.from_env(
        {"TALENTBOT_SLACK_BOT_TOKEN": "xoxb-1", "TALENTBOT_SLACK_SIGNING_SECRET": "s"}
    )
    assert config is not None and config.api_base == "https://slack.com/api/"
    assert [(lim.count, lim.seconds, lim.per) for lim in http.limits] == [(1, 1.0, "conversation")]


# ------------------------------------------------------------------ inbound


def test_signatures_match_slacks_documented_example() -> None:
    at = float(DOC_TS)
    assert signature_ok(DOC_SECRET, DOC_BODY, DOC_TS, DOC_SIG, now=lambda: at)
    assert signature_ok(DOC_SECRET, DOC_BODY, DOC_TS, DOC_SIG, now=lambda: at + 300)
    assert not signature_ok(DOC_SECRET, DOC_BODY, DOC_TS, DOC_SIG, now=lambda: at + 301)  # stale
    assert not signature_ok(DOC_SECRET, DOC_BODY, DOC_TS, DOC_SIG, now=lambda: at - 301)
    assert not signature_ok("another-secret", DOC_BODY, DOC_TS, DOC_SIG, now=lambda: at)
    assert not signature_ok(DOC_SECRET, DOC_BODY + b"x", DOC_TS, DOC_SIG, now=lambda: at)
    assert not signature_ok(DOC_SECRET, DOC_BODY, DOC_TS, DOC_SIG.upper(), now=lambda: at)
    for ts, sig in ((None, DOC_SIG), (DOC_TS, None), ("", DOC_SIG), ("-1", DOC_SIG), ("１２", DOC_SIG)):
        assert not signature_ok(DOC_SECRET, DOC_BODY, ts, sig, now=lambda: at)


def test_bodies_are_read_as_bolt_reads_them() -> None:
    assert parse_body(b'{"type":"url_verification"}', "application/json") == {"type": "url_verification"}
    assert parse_body(b"payload=%7B%22type%22%3A%22block_actions%22%7D")["type"] == "block_actions"
    assert parse_body(b"ssl_check=1&token=x") == {"ssl_check": "1", "token": "x"}
    for bad, ctype in ((b"[1]", "application/json"), (b"{", None), (b"payload=%7Bx", None), (b"", None)):
        with pytest.raises(BadRequest):
            parse_body(bad, ctype)


def test_slack_markup_becomes_what_the_person_typed() -> None:
    text = "<@U0TALENTBOT> next Tuesday 3pm &amp; see <https://x.example/cv|my CV> in <#C0CAREERS1|careers> <!here>"
    assert plain_text(text, bot_user_id="U0TALENTBOT") == "next Tuesday 3pm & see my CV in #careers @here"
    assert plain_text("ask <@U0HR00001> about &lt;3 <mailto:a@b.example|a@b.example>") == (
        "ask @U0HR00001 about <3 a@b.example"
    )
    assert plain_text("下周三下午两点") == "下周三下午两点"


def test_recorded_payloads_translate_to_inbound_values() -> None:
    [dm] = message_inbounds(load("message_im"), bot_user_id=BOT_USER)
    assert dm == Inbound("slack", "U0CAND001", "U0CAND001", "Ev0MSG000001", "hello")
    [mention] = message_inbounds(load("app_mention"), bot_user_id=BOT_USER)
    assert (mention.conversation_id, mention.text) == ("U0CAND002", "what is the status of my application?")
    [voice] = message_inbounds(load("message_im_voice"), bot_user_id=BOT_USER)
    assert voice.media is not None and voice.text is None
    assert (voice.media.kind, voice.media.ref, voice.media.mime) == ("voice", "F0VOICE0001", "audio/mp4")
    [doc] = message_inbounds(load("message_im_document"), bot_user_id=BOT_USER)
    assert doc.media is not None and (doc.media.kind, doc.media.name) == ("file", "degree-certificate.pdf")
    assert doc.text == "my degree certificate" and doc.media.size == 1530
    for ignored in ("message_changed", "bot_message", "reaction_added"):
        assert message_inbounds(load(ignored), bot_user_id=BOT_USER) == []
    own = load("message_im")
    own["event"]["user"] = BOT_USER
    assert message_inbounds(own, bot_user_id=BOT_USER) == []
    in_channel = load("message_im")
    in_channel["event"].update(channel="C0CAREERS1", channel_type="channel")
    assert message_inbounds(in_channel, bot_user_id=BOT_USER) == []  # heard through app_mention only
    two = load("message_im_document")
    two["event"]["files"].append({**two["event"]["files"][0], "id": "F0PHOTO0001", "mimetype": "image/jpeg"})
    first, second = message_inbounds(two, bot_user_id=BOT_USER)
    assert (first.message_id, second.message_id) == ("Ev0DOC000001", "Ev0DOC000001/1")
    assert second.media is not None and second.media.kind == "image" and second.text is None


def test_media_kinds() -> None:
    assert media_ref({"id": "F1", "mimetype": "video/mp4", "subtype": "slack_audio"}).kind == "voice"  # type: ignore[union-attr]
    assert media_ref({"id": "F1", "mimetype": "audio/webm"}).kind == "voice"  # type: ignore[union-attr]
    assert media_ref({"id": "F1", "mimetype": "image/png"}).kind == "image"  # type: ignore[union-attr]
    assert media_ref({"id": "F1", "mimetype": "application/pdf", "size": -1}).size is None  # type: ignore[union-attr]
    assert media_ref({"id": "F1"}).kind == "file"  # type: ignore[union-attr]
    assert media_ref({"name": "no id"}) is None


def test_a_button_press_becomes_its_payload() -> None:
    [pressed] = action_inbounds(load("block_actions"))
    assert (pressed.payload, pressed.text, pressed.conversation_id) == ("yes", "I agree", "U0CAND001")
    assert pressed.message_id == "action:U0CAND001:1764036005.400000:talentbot.choice.0"
    other = load("block_actions")
    other["actions"][0]["action_id"] = "another.apps.button"
    assert action_inbounds(other) == []


# ------------------------------------------------------------------ rendering


def test_choices_render_as_buttons_with_the_payload_as_value() -> None:
    out = render(Reply("Do you agree? <yes> & more", (Choice("I agree", "yes"), Choice("I don't", "no"))))
    assert out["blocks"][0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Do you agree? &lt;yes&gt; &amp; more"},
    }
    [row] = [b for b in out["blocks"] if b["type"] == "actions"]
    assert [(e["text"]["text"], e["value"], e["action_id"]) for e in row["elements"]] == [
        ("I agree", "yes", "talentbot.choice.0"),
        ("I don't", "no", "talentbot.choice.1"),
    ]
    assert out["text"] == "Do you agree? &lt;yes&gt; &amp; more\n\n1. I agree\n2. I don't"


def test_many_choices_split_into_rows_then_fall_back_to_numbers() -> None:
    seven = render(Reply("Pick a slot", tuple(Choice(f"Slot {i}", f"slot:{i}") for i in range(7))))
    rows = [b for b in seven["blocks"] if b["type"] == "actions"]
    assert [len(r["elements"]) for r in rows] == [5, 2]
    ids = [e["action_id"] for r in rows for e in r["elements"]]
    assert len(set(ids)) == 7
    thirty = render(Reply("Pick", tuple(Choice(f"Option {i}", str(i)) for i in range(30))))
    assert not [b for b in thirty["blocks"] if b["type"] == "actions"]
    assert "30. Option 29" in thirty["blocks"][-1]["text"]["text"]
    huge = render(Reply("Pick", (Choice("A", "x" * 2001),)))
    assert (
        not [b for b in huge["blocks"] if b["type"] == "actions"]
        and "1. A" in huge["blocks"][0]["text"]["text"]
    )
    label = render(Reply("Pick", (Choice("L" * 100, "p"),)))["blocks"][-1]["elements"][0]["text"]["text"]
    assert len(label) == 75 and label.endswith("…")


def test_long_text_files_and_empty_replies() -> None:
    long = render(Reply("word " * 2000))
    assert len(long["blocks"]) == 4 and all(len(b["text"]["text"]) <= 3000 for b in long["blocks"])
    assert len(long["text"]) <= 4000
    ics = render(
        Reply("Booked.", files=(FileRef("interview.ics", "text/calendar", "http://h/calendar/1/t.ics"),))
    )
    assert ics["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "<http://h/calendar/1/t.ics|interview.ics>"}],
    }
    assert "interview.ics: http://h/calendar/1/t.ics" in ics["text"]
    empty = render(Reply(""))
    assert "blocks" not in empty and empty["text"].strip() == ""


# ------------------------------------------------------------------ sending and downloads


@pytest.fixture
def channel(fake: FakeSlack) -> Iterator[SlackChannel]:
    config = SlackConfig.from_env(settings_env(fake.api_base))
    assert config is not None and config.signing_secret == SIGNING_SECRET

    async def accept(inbound: Inbound) -> bool:
        return True

    yield SlackChannel(config=config, accept=accept, api_timeout=1.0, download_timeout=0.5)


def _send_error(channel: SlackChannel, conversation: str = "U0CAND001") -> SendError:
    with pytest.raises(SendError) as err:
        asyncio.run(channel.send(conversation, Reply("hi")))
    return err.value


@pytest.mark.parametrize(
    ("answer", "retryable", "retry_after"),
    [
        (
            Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "7"}),
            True,
            7.0,
        ),
        (Scripted(body={"ok": False, "error": "ratelimited"}), True, None),
        (Scripted(status=500, raw=b"<html>oops</html>", headers={"content-type": "text/html"}), True, None),
        (Scripted(status=503, raw=b"upstream down", headers={"content-type": "text/plain"}), True, None),
        (Scripted(body={"ok": False, "error": "internal_error"}), True, None),
        (Scripted(status=200, body={"ok": True}, delay=1.5), True, None),  # longer than the timeout
        (Scripted(body={"ok": False, "error": "channel_not_found"}), False, None),
        (Scripted(body={"ok": False, "error": "not_in_channel"}), False, None),
        (Scripted(body={"ok": False, "error": "invalid_auth"}), False, None),
    ],
)
def test_api_failures_become_send_errors(
    channel: SlackChannel,
    fake: FakeSlack,
    answer: Scripted,
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake.fail("chat.postMessage", answer)
    err = _send_error(channel)
    assert (err.retryable, err.retry_after) == (retryable, retry_after), str(err)
    assert str(err).startswith("chat.postMessage")


def test_a_network_error_is_retryable(channel: SlackChannel) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    channel.client.base_url = f"http://127.0.0.1:{port}/api/"
    err = _send_error(channel)
    assert err.retryable and "network" in str(err)


def test_a_send_goes_with_the_bot_token(channel: SlackChannel, fake: FakeSlack) -> None:
    asyncio.run(channel.send("U0CAND001", Reply("hi", (Choice("Yes", "y"),))))
    [call] = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert call.token == BOT_TOKEN and call.args["channel"] == "U0CAND001"
    assert call.args["blocks"][-1]["elements"][0]["value"] == "y"


def _media_error(channel: SlackChannel, file_id: str) -> MediaError:
    with pytest.raises(MediaError) as err:
        asyncio.run(channel.files.fetch(file_id))
    return err.value


def test_download_failures(channel: SlackChannel, fake: FakeSlack) -> None:
    data = b"RIFF....WAVEfmt " * 100
    fake.add_file("F0OK0000001", data, name="a.wav", mimetype="audio/wav")
    fetched = asyncio.run(channel.files.fetch("F0OK0000001"))
    assert (fetched.data, fetched.mime, fetched.filename) == (data, "audio/wav", "a.wav")
    # gone on Slack
    assert not _media_error(channel, "F0MISSING01").retryable
    # 5xx and timeouts: retryable; 404: not
    fake.fail("download", Scripted(status=502))
    assert _media_error(channel, "F0OK0000001").retryable
    fake.fail("download", Scripted(status=200, delay=1.0))
    err = _media_error(channel, "F0OK0000001")
    assert err.retryable and "timed out" in str(err)
    fake.fail("download", Scripted(status=404))
    assert not _media_error(channel, "F0OK0000001").retryable
    # files.info rate-limited: retryable
    fake.fail(
        "files.info",
        Scripted(status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "3"}),
    )
    assert _media_error(channel, "F0OK0000001").retryable


def test_a_token_without_files_read_gets_slacks_sign_in_page(channel: SlackChannel, fake: FakeSlack) -> None:
    fake.add_file("F0OK0000002", b"%PDF-1.4", name="cv.pdf", mimetype="application/pdf")
    channel.files._token = "xoxb-some-other-token"  # files.info still works with the client's token
    err = _media_error(channel, "F0OK0000002")
    assert not err.retryable and "files:read" in str(err)


def test_the_token_is_never_sent_off_slack(channel: SlackChannel, fake: FakeSlack) -> None:
    info = fake.add_file("F0EVIL00001", b"x", name="x.pdf", mimetype="application/pdf")
    info["url_private_download"] = "http://203.0.113.9/steal/x.pdf"
    err = _media_error(channel, "F0EVIL00001")
    assert not err.retryable and fake.downloads == []
    info["url_private_download"] = "https://files.slack.com.evil.example/x.pdf"
    assert not _media_error(channel, "F0EVIL00001").retryable


def test_a_file_larger_than_the_limit_is_too_large_without_downloading_it(
    channel: SlackChannel,
    fake: FakeSlack,
) -> None:
    channel.files.max_bytes = 1000
    fake.add_file("F0BIG000002", b"x" * 1500, name="big.pdf", mimetype="application/pdf")
    with pytest.raises(MediaTooLarge):
        asyncio.run(channel.files.fetch("F0BIG000002"))
    assert fake.downloads == []
    fake.files["F0BIG000002"][0]["size"] = 10  # Slack under-reported it: the download stops at the limit
    with pytest.raises(MediaTooLarge):
        asyncio.run(channel.files.fetch("F0BIG000002"))
    assert fake.downloads == ["F0BIG000002"]
