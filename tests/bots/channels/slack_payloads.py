"""Slack requests built exactly as Slack sends them: recorded payloads (``slack/*.json``) with the
fields a test needs filled in, signed with ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``.

``text_message_request()`` is the one a benchmark imports: one signed Events API ``message.im``
request for ``POST /hooks/slack/events`` → ``(path, headers, body)``; configure the app with
``settings_env(api_base)`` (the bot token, signing secret and API base these requests expect).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent / "slack"
PATH = "/hooks/slack/events"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the sample secret of Slack's documentation
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
APP_TOKEN = "xapp-1-A0TALENT01-1764036000000-0123456789abcdef"
TEAM = "T0DEMO001"
BOT_USER = "U0TALENTBOT"

_seq = itertools.count(1)


def settings_env(api_base: str, *, socket_mode: bool = False, http: bool = True) -> dict[str, str]:
    """The TALENTBOT_SLACK_* settings for an app these requests are meant for."""
    env = {"TALENTBOT_SLACK_BOT_TOKEN": BOT_TOKEN, "TALENTBOT_SLACK_API_BASE": api_base}
    if http:
        env["TALENTBOT_SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    if socket_mode:
        env["TALENTBOT_SLACK_APP_TOKEN"] = APP_TOKEN
    return env


def load(name: str) -> dict[str, Any]:
    """A recorded payload (a fresh copy)."""
    with open(HERE / f"{name}.json", encoding="utf-8") as f:
        return copy.deepcopy(json.load(f))


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signing headers for ``body`` (``timestamp`` defaults to now)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def json_request(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> tuple[str, dict[str, str], bytes]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return PATH, {**headers, **sign(body, secret=secret, timestamp=timestamp)}, body


def _stamp() -> tuple[str, str]:
    n = next(_seq)
    return f"Ev{int(time.time() * 1000):013d}{n:05d}", f"{int(time.time())}.{n:06d}"


def message_event(
    text: str = "hello",
    *,
    user: str = "U0CAND001",
    channel: str | None = None,
    event_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``message.im`` envelope (``files``: a ``file_share`` message with these file objects)."""
    payload = load("message_im_voice" if files else "message_im")
    auto_id, ts = _stamp()
    event = payload["event"]
    event.update(user=user, channel=channel or "D" + user[1:], text=text, ts=ts, event_ts=ts)
    event.pop("blocks", None)
    if files:
        event["files"] = files
    payload["event_id"] = event_id or auto_id
    return payload


def text_message_request(
    text: str = "hello",
    *,
    user: str = "U0CAND001",
    event_id: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """One signed Events API request carrying a direct message: ``(path, headers, body)``."""
    return json_request(message_event(text, user=user, event_id=event_id), secret=secret, timestamp=timestamp)


def action_request(
    value: str,
    title: str,
    *,
    user: str = "U0CAND001",
    action_id: str = "talentbot.choice.0",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """A Block Kit button click as the interactivity request (a form with ``payload=<json>``)."""
    payload = load("block_actions")
    _, ts = _stamp()
    payload["user"].update(id=user)
    channel = "D" + user[1:]
    payload["channel"]["id"] = payload["container"]["channel_id"] = channel
    payload["trigger_id"] = f"{ts.replace('.', '')}.1764000000.{next(_seq):032x}"
    payload["actions"][0].update(action_id=action_id, value=value, action_ts=ts)
    payload["actions"][0]["text"]["text"] = title
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return PATH, {**headers, **sign(body, secret=secret, timestamp=timestamp)}, body


def voice_file(
    file_id: str, size: int, *, name: str = "audio_message.m4a", mimetype: str = "audio/mp4"
) -> dict[str, Any]:
    """The file object of a Slack voice clip (as it appears in the ``file_share`` event)."""
    file = load("message_im_voice")["event"]["files"][0]
    file.update(
        id=file_id, size=size, name=name, title=name, mimetype=mimetype, filetype=name.rsplit(".", 1)[-1]
    )
    file["url_private_download"] = f"https://files.slack.com/files-pri/{TEAM}-{file_id}/download/{name}"
    return file


def document_file(file_id: str, size: int, *, name: str = "degree-certificate.pdf") -> dict[str, Any]:
    file = load("message_im_document")["event"]["files"][0]
    file.update(id=file_id, size=size, name=name, title=name)
    file["url_private_download"] = f"https://files.slack.com/files-pri/{TEAM}-{file_id}/download/{name}"
    return file
