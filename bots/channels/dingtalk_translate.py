"""A DingTalk robot message (the HTTP callback body, or a stream-mode callback's ``data``: the same
JSON) → one :class:`Inbound`. Shared by both receiving modes.

Conversation ids carry the send route: ``user:<staffId>`` for a one-to-one chat (replies go through
``oToMessages/batchSend``), ``group:<openConversationId>`` for a group (``groupMessages/send``).
Media keep DingTalk's ``downloadCode`` in ``MediaRef.ref``; the channel turns it into bytes later.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Mapping
from typing import Any

from flows.values import Inbound, MediaRef

PLATFORM = "dingtalk"
USER_PREFIX = "user:"
GROUP_PREFIX = "group:"

log = logging.getLogger("talentbot.dingtalk")


class Malformed(ValueError):
    """The JSON is not a robot message we can trust the shape of (answer 400)."""


def translate(body: Mapping[str, Any]) -> Inbound | None:
    """The Inbound for a robot message; None for message types we do not handle (ignored, 200)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str):
        raise Malformed("msgtype missing")
    handler = _TYPES.get(msgtype)
    if handler is None:
        log.info("dingtalk: ignoring msgtype %r", msgtype)
        return None
    message_id = _str(body, "msgId")
    kind = body.get("conversationType")
    if str(kind) not in ("1", "2"):
        raise Malformed("conversationType must be 1 or 2")
    staff = body.get("senderStaffId")
    staff = staff if isinstance(staff, str) and staff else None
    if str(kind) == "1":
        if staff is None:
            # Someone outside the organisation: the robot API can only write to staff ids.
            log.warning("dingtalk: one-to-one message %s without senderStaffId ignored", message_id)
            return None
        conversation, user = USER_PREFIX + staff, staff
    else:
        conversation = GROUP_PREFIX + _str(body, "conversationId")
        user = staff or _str(body, "senderId")
    text, media = handler(body)
    return Inbound(
        platform=PLATFORM,
        conversation_id=conversation,
        user_ref=user,
        message_id=message_id,
        text=text,
        media=media,
    )


def _str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{key} missing")
    return value


def _content(body: Mapping[str, Any]) -> Mapping[str, Any]:
    content = body.get("content")
    if isinstance(content, str):  # some clients send it JSON-encoded
        try:
            content = json.loads(content)
        except ValueError as exc:
            raise Malformed("content is not JSON") from exc
    if not isinstance(content, Mapping):
        raise Malformed("content missing")
    return content


def _code(content: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = content.get(key)
        if isinstance(value, str) and value:
            return value
    raise Malformed("downloadCode missing")


def _size(content: Mapping[str, Any]) -> int | None:
    value = content.get("fileSize", content.get("size"))
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    text = body.get("text")
    content = text.get("content") if isinstance(text, Mapping) else None
    if not isinstance(content, str):
        raise Malformed("text.content missing")
    return content.strip(), None


def _audio(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    content = _content(body)
    fmt = content.get("format")
    mime = f"audio/{fmt}" if isinstance(fmt, str) and fmt.isalnum() else None
    return None, MediaRef("voice", _code(content, "downloadCode"), mime, _size(content))


def _picture(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    content = _content(body)
    return None, MediaRef("image", _code(content, "downloadCode", "pictureDownloadCode"), None)


def _file(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    content = _content(body)
    name = content.get("fileName")
    name = name if isinstance(name, str) and name else None
    mime = mimetypes.guess_type(name)[0] if name else None
    return None, MediaRef("file", _code(content, "downloadCode"), mime, _size(content), name)


def _video(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    content = _content(body)
    ext = content.get("videoType")
    ext = ext.lower() if isinstance(ext, str) and ext.isalnum() and len(ext) <= 8 else "mp4"
    return None, MediaRef(
        "file", _code(content, "downloadCode"), f"video/{ext}", _size(content), f"video.{ext}"
    )


def _rich_text(body: Mapping[str, Any]) -> tuple[str | None, MediaRef | None]:
    items = _content(body).get("richText")
    if not isinstance(items, list):
        raise Malformed("content.richText missing")
    texts: list[str] = []
    media: MediaRef | None = None
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif media is None and (item.get("downloadCode") or item.get("pictureDownloadCode")):
            media = MediaRef("image", _code(item, "downloadCode", "pictureDownloadCode"), None)
    text = "".join(texts).strip()
    return (text or None), media


_TYPES = {
    "text": _text,
    "audio": _audio,
    "picture": _picture,
    "file": _file,
    "video": _video,
    "richText": _rich_text,
}
