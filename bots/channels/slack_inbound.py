"""Slack requests in: signature check, body parsing, and translation of Events API and Block Kit
payloads into ``Inbound`` values. Pure functions — the Bolt wiring lives in ``slack.py``.

Every conversation is keyed by the Slack **user id** (``conversation_id == user_ref``): replies go to
the app's direct message with that person (``chat.postMessage`` accepts a user id as ``channel``), so
a mention in a public channel is answered privately and a candidate who writes both in a DM and by
mention keeps one conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from flows.values import Inbound, MediaRef

PLATFORM = "slack"
ACTION_PREFIX = "talentbot.choice."  # action_id of our buttons: talentbot.choice.<n>
TOLERATED_SUBTYPES = frozenset({None, "file_share"})
MAX_SKEW_SECONDS = 300

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^<>|]*)?(?:\|([^<>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^<>]*))?>")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_SPACES = re.compile(r"[ \t]{2,}")


class BadRequest(ValueError):
    """A body that is not the JSON (or form-encoded JSON) Slack sends."""


def signature_ok(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: Callable[[], float] = time.time,
) -> bool:
    """``X-Slack-Signature`` is ``v0=`` + HMAC-SHA256(signing secret, ``v0:{ts}:{raw body}``); a
    timestamp more than 5 minutes from now (either way), missing or not a number is refused. The raw
    bytes are signed as they came, so a body is verified before anything reads it."""
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs(now() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={mac.hexdigest()}".encode(), signature.encode("utf-8", "replace"))


def parse_body(body: bytes, content_type: str | None = None) -> dict[str, Any]:
    """The request as Bolt will read it: a JSON object (Events API) or a form whose ``payload`` is
    one (interactivity); other forms (``ssl_check``) as a flat mapping. Raises :class:`BadRequest`."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    if not text.strip():
        raise BadRequest("empty body")
    try:
        if media_type == "application/json" or text.startswith("{"):
            data = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            data = json.loads(form["payload"]) if "payload" in form else form
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body is not a JSON object")
    return data


def plain_text(text: str, *, bot_user_id: str | None = None) -> str:
    """Slack's message markup as the person typed it: our own mention removed, other mentions and
    channels as ``@U…``/``#name``, links as their label (or the URL), ``&amp;``-escapes undone."""

    def mention(m: re.Match[str]) -> str:
        return "" if m.group(1) == bot_user_id else f"@{m.group(1)}"

    text = _MENTION.sub(mention, text)
    text = _SPECIAL.sub(lambda m: m.group(2) or f"@{m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def media_ref(file: Mapping[str, Any]) -> MediaRef | None:
    """A shared file as media to fetch later (``files.info`` with its id). Slack's voice clips are
    ``subtype: slack_audio`` (m4a from the mobile apps, webm from the desktop)."""
    file_id = file.get("id")
    if not isinstance(file_id, str) or not file_id:
        return None
    mime = file.get("mimetype") if isinstance(file.get("mimetype"), str) else None
    if file.get("subtype") == "slack_audio" or (mime or "").startswith("audio/"):
        kind = "voice"
    elif (mime or "").startswith("image/"):
        kind = "image"
    else:
        kind = "file"
    size = file.get("size")
    name = file.get("name") or file.get("title")
    return MediaRef(
        kind=kind,
        ref=file_id,
        mime=mime or None,
        size=size if isinstance(size, int) and size >= 0 else None,
        name=name if isinstance(name, str) else None,
    )


def message_inbounds(body: Mapping[str, Any], *, bot_user_id: str | None) -> list[Inbound]:
    """An ``event_callback`` with a ``message`` in a DM or an ``app_mention`` → one Inbound per file
    (or one for the text). Bot messages, our own, edits, joins and other subtypes give nothing.
    ``message_id`` is the envelope's ``event_id`` — the same on every retry of the delivery."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return []
    kind, channel = event.get("type"), event.get("channel")
    if not isinstance(channel, str):
        return []
    if kind == "message":
        if event.get("channel_type") != "im":
            return []  # channels are heard through app_mention only: one event per message
    elif kind == "app_mention":
        if channel.startswith("D"):
            return []  # a DM arrives as message.im already
    else:
        return []
    if event.get("bot_id") or event.get("subtype") not in TOLERATED_SUBTYPES:
        return []
    user = event.get("user")
    if not isinstance(user, str) or not user or user == bot_user_id:
        return []
    event_id = body.get("event_id")
    message_id = event_id if isinstance(event_id, str) and event_id else f"{channel}:{event.get('ts')}"
    raw = event.get("text")
    text = plain_text(raw, bot_user_id=bot_user_id) if isinstance(raw, str) else ""
    files = [m for f in event.get("files") or [] if isinstance(f, Mapping) and (m := media_ref(f))]
    if not files:
        return [_inbound(user, message_id, text or None)]
    return [
        _inbound(user, message_id if i == 0 else f"{message_id}/{i}", (text or None) if i == 0 else None, m)
        for i, m in enumerate(files)
    ]


def action_inbounds(body: Mapping[str, Any]) -> list[Inbound]:
    """A ``block_actions`` payload: each of our buttons pressed → an Inbound whose ``payload`` is the
    button's value (the choice) and whose text is its title."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    if not isinstance(user_id, str) or not user_id:
        return []
    out = []
    for action in body.get("actions") or []:
        if not isinstance(action, Mapping) or action.get("type") != "button":
            continue
        action_id, value = action.get("action_id"), action.get("value")
        if (
            not isinstance(action_id, str)
            or not action_id.startswith(ACTION_PREFIX)
            or not isinstance(value, str)
        ):
            continue
        label = action.get("text")
        title = label.get("text") if isinstance(label, Mapping) else None
        stamp = action.get("action_ts") or body.get("trigger_id") or ""
        out.append(
            Inbound(
                platform=PLATFORM,
                conversation_id=user_id,
                user_ref=user_id,
                message_id=f"action:{user_id}:{stamp}:{action_id}",
                text=title if isinstance(title, str) else None,
                payload=value,
            )
        )
    return out


def _inbound(user: str, message_id: str, text: str | None, media: MediaRef | None = None) -> Inbound:
    return Inbound(
        platform=PLATFORM,
        conversation_id=user,
        user_ref=user,
        message_id=message_id,
        text=text,
        media=media,
    )
