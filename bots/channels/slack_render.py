"""Replies out: a ``Reply`` as ``chat.postMessage`` arguments — Block Kit sections for the text,
buttons for the choices (``value`` = the choice's payload), links for files — and a plain-text
``text`` that carries everything (notifications, screen readers, clients without blocks).

Slack's limits shape it: a section's text ≤ 3000 characters, a button's label ≤ 75 and value ≤ 2000,
at most 50 blocks a message. Choices go in rows of five buttons; a reply with more choices than
fit in five rows, or a payload too long for a button, falls back to numbered text (typing "2" works).
"""

from __future__ import annotations

from typing import Any

from bots.channels.slack_inbound import ACTION_PREFIX
from flows.values import Choice, Reply

SECTION_CHARS = 3000
BUTTON_LABEL = 75
BUTTON_VALUE = 2000
BUTTONS_PER_ROW = 5
MAX_ROWS = 5  # 25 buttons; more choices read better as a numbered list
MAX_BLOCKS = 50
FALLBACK_CHARS = 4000  # Slack truncates ``text`` far later; notifications show much less


def escape(text: str) -> str:
    """The three characters Slack's markup reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chunks(text: str, size: int = SECTION_CHARS) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut at line ends or spaces when possible."""
    out: list[str] = []
    rest = text
    while len(rest) > size:
        cut = rest.rfind("\n", 0, size)
        if cut < size // 2:
            cut = rest.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not out:
        out.append(rest)
    return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _label(title: str) -> str:
    return title if len(title) <= BUTTON_LABEL else title[: BUTTON_LABEL - 1] + "…"


def render(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for ``chat.postMessage`` (without ``channel``)."""
    rows = [reply.choices[i : i + BUTTONS_PER_ROW] for i in range(0, len(reply.choices), BUTTONS_PER_ROW)]
    buttons = (
        bool(rows)
        and len(rows) <= MAX_ROWS
        and all(0 < len(c.payload) <= BUTTON_VALUE for c in reply.choices)
    )
    body = reply.text if buttons else reply.as_numbered_text()
    blocks = [_section(escape(part)) for part in chunks(body, SECTION_CHARS - 100) if part.strip()]
    tail: list[dict[str, Any]] = []
    links = [f"<{escape(f.url)}|{escape(f.name)}>" for f in reply.files if f.url]
    if links:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)[:3000]}]})
    if buttons:
        tail += [_actions(r, row) for r, row in enumerate(rows)]
    blocks = blocks[: MAX_BLOCKS - len(tail)] + tail
    fallback = reply.as_numbered_text()
    if reply.files:
        fallback += "\n" + "\n".join(f"{f.name}: {f.url}" for f in reply.files)
    fallback = escape(fallback.strip())
    if len(fallback) > FALLBACK_CHARS:
        fallback = fallback[: FALLBACK_CHARS - 1] + "…"
    out: dict[str, Any] = {"text": fallback or " ", "unfurl_links": False, "unfurl_media": False}
    if blocks:
        out["blocks"] = blocks
    return out


def _actions(row_index: int, row: tuple[Choice, ...]) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"talentbot.choices.{row_index}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}{row_index * BUTTONS_PER_ROW + i}",
                "text": {"type": "plain_text", "text": _label(c.title), "emoji": True},
                "value": c.payload,
            }
            for i, c in enumerate(row)
        ],
    }
