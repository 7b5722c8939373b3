"""A ``Reply`` as WeCom app messages (the ``msgtype`` part of ``message/send`` bodies).

Choices become a ``template_card`` of type ``button_interaction`` (at most 6 buttons; a button's
``key`` comes back as the click event's ``EventKey``, which the adapter hands on as the payload). A
card holds little text, so a long reply is split: the text goes first as a text message and the card
carries its last line or sentence (the question) with the buttons. More than 6 choices, duplicate or
over-long keys, or a last sentence too long for a card: numbered text, answered by typing "1", "2"…
Text messages are cut to WeCom's 2048 bytes at line (or character) boundaries.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flows.values import Reply

TEXT_MAX_BYTES = 2048
CARD_TEXT_MAX = 160  # sub_title_text: "建议不超过160个字"
MAX_BUTTONS = 6
KEY_MAX_BYTES = 1024
_SENTENCE_END = re.compile(r"[.!?。！？]+[\"'”’)）]*\s*")


def render(reply: Reply) -> list[dict[str, Any]]:
    """The messages for ``reply``'s text and choices, in order (files are sent by the adapter)."""
    text = reply.text.strip()
    if not reply.choices:
        return [text_message(part) for part in split_text(text)]
    if not buttons_fit(reply):
        return [text_message(part) for part in split_text(reply.as_numbered_text().strip())]
    if len(text) <= CARD_TEXT_MAX:
        return [card_message(text, reply)]
    split = split_prompt(text)
    if split is None:
        return [text_message(part) for part in split_text(reply.as_numbered_text().strip())]
    body, prompt = split
    return [*(text_message(part) for part in split_text(body)), card_message(prompt, reply)]


def buttons_fit(reply: Reply) -> bool:
    keys = [c.payload for c in reply.choices]
    return (
        0 < len(keys) <= MAX_BUTTONS
        and len(set(keys)) == len(keys)
        and all(k and len(k.encode()) <= KEY_MAX_BYTES for k in keys)
        and all(c.title.strip() for c in reply.choices)
    )


def split_prompt(text: str) -> tuple[str, str] | None:
    """``(body, prompt)``: the last line, or else the last sentence, short enough for a card."""
    head, sep, last = text.rpartition("\n")
    last = last.strip()
    if sep and head.strip() and 0 < len(last) <= CARD_TEXT_MAX:
        return head.rstrip(), last
    ends = [m.end() for m in _SENTENCE_END.finditer(last) if m.end() < len(last.rstrip())]
    if not ends:
        return None
    cut = ends[-1]
    prompt = last[cut:].strip()
    body = (head + sep + last[:cut]).strip()
    if not body or not prompt or len(prompt) > CARD_TEXT_MAX:
        return None
    return body, prompt


def card_message(text: str, reply: Reply) -> dict[str, Any]:
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "task_id": f"tb-{uuid.uuid4().hex}",  # unique per app, [0-9A-Za-z_-@], ≤ 128 bytes
        "button_list": [{"text": c.title, "style": 1, "key": c.payload} for c in reply.choices],
    }
    if text:
        card["sub_title_text"] = text
    else:
        card["main_title"] = {"title": reply.choices[0].title}
    return {"msgtype": "template_card", "template_card": card}


def text_message(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def split_text(text: str, limit: int = TEXT_MAX_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, broken at newlines where possible."""
    if not text:
        return []
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        while len(line.encode()) > limit:
            cut = _cut(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        pieces.append(current)
    return pieces


def _cut(line: str, limit: int) -> int:
    """The longest prefix of ``line`` within ``limit`` bytes, preferring to end after a space."""
    size, cut = 0, 0
    for i, ch in enumerate(line):
        size += len(ch.encode())
        if size > limit:
            break
        cut = i + 1
    space = line.rfind(" ", 0, cut)
    return space + 1 if space > cut // 2 else max(cut, 1)
