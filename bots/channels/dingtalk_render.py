"""A :class:`Reply` → DingTalk robot messages (``msgKey`` + ``msgParam``).

Choices. DingTalk's ActionCard buttons (``sampleActionCard2…6``) can only open an ``actionURL``; they
cannot hand a payload back to the robot, and interactive cards need a template built in DingTalk's card
designer plus a separate callback route. What does return to the robot is a markdown link of the form
``dtmd://dingtalkclient/sendMessage?content=…``: tapping it sends ``content`` into the chat as the
user's own message. So in one-to-one chats choices become a ``sampleMarkdown`` message whose numbered
lines are such links, each sending its *number* — exactly what the flows accept when a number is typed
("1", "2"), so a tap and typing behave the same. In groups a tapped link would not @ the robot (and the
robot only hears @-messages there), so groups get plain numbered text and people answer "@robot 2".

Files (calendar invitations, reports, charts) are uploaded by the channel and sent as ``sampleFile`` /
``sampleImageMsg`` after the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flows.values import Reply

TITLE_CHARS = 24  # the markdown title shows in the chat list and the notification
SEND_LINK = "dtmd://dingtalkclient/sendMessage?content="


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    param: Mapping[str, Any]


def render_text(reply: Reply, *, group: bool) -> Message | None:
    """The text part of a reply (None when it has neither text nor choices)."""
    if reply.choices and not group:
        return Message("sampleMarkdown", {"title": _title(reply.text), "text": choices_markdown(reply)})
    text = reply.as_numbered_text()
    if not text.strip():
        return None
    return Message("sampleText", {"content": text})


def choices_markdown(reply: Reply) -> str:
    body = "  \n".join(reply.text.split("\n")).strip()  # DingTalk needs two spaces for a line break
    links = [
        f"{i}. [{_md_label(c.title)}]({SEND_LINK}{quote(str(i))})" for i, c in enumerate(reply.choices, 1)
    ]
    return (body + "\n\n" if body else "") + "\n".join(links)


def file_message(*, media_id: str, name: str, mime: str) -> Message:
    if mime.startswith("image/"):
        return Message("sampleImageMsg", {"photoURL": media_id})
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "file"
    return Message("sampleFile", {"mediaId": media_id, "fileName": name, "fileType": ext})


def link_text(name: str, url: str) -> Message:
    """When a file cannot be uploaded for good (our own link is gone), at least the link."""
    return Message("sampleText", {"content": f"{name}: {url}"})


def _title(text: str) -> str:
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return (first[: TITLE_CHARS - 1] + "…") if len(first) > TITLE_CHARS else (first or "talentbot")


def _md_label(title: str) -> str:
    return title.replace("[", "［").replace("]", "］").replace("\n", " ")
