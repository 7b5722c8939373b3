"""Telegram webhook requests built from the recorded updates in ``telegram/``.

Telegram authenticates a webhook delivery with one header, ``X-Telegram-Bot-Api-Secret-Token``, equal to
the ``secret_token`` given to setWebhook; the body is the JSON Update. So building a request is: take a
recorded update, give it fresh ids, add the header.

``text_message_request()`` is the one a benchmark imports::

    path, headers, body = text_message_request("你好", secret=SECRET)
    httpx.post(base_url + path, headers=headers, content=body)
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "telegram"
PATH = "/hooks/telegram/"
TOKEN = "123456789:AAHtestTOKEN-talentbot_0123456789abcd"
SECRET = "talentbot-test_secret-0123456789"

# fresh ids per process (update ids and message ids are what the adapter deduplicates on)
_ids = itertools.count(secrets.randbelow(1 << 20) * 1000 + 1)


def sample(name: str) -> dict[str, Any]:
    """A recorded update, e.g. ``sample("voice_message")``."""
    with open(SAMPLES / f"{name}.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def update(
    name: str,
    *,
    chat_id: int | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A recorded update with new ids (or the given ones); ``fields`` replace keys of its message or
    callback query (``text="同意"``, ``data="iv_start"``, ``voice={...}``)."""
    data = copy.deepcopy(sample(name))
    data["update_id"] = update_id if update_id is not None else next(_ids)
    kind = next(k for k in data if k != "update_id")
    body = data[kind]
    if kind == "callback_query":
        body["id"] = str(next(_ids))
        target = body.get("message")
    else:
        target = body
    if target is not None:
        target["message_id"] = message_id if message_id is not None else next(_ids)
        if chat_id is not None and target["chat"]["type"] == "private":
            target["chat"]["id"] = chat_id
    if chat_id is not None:
        sender = body.get("from")
        if sender is not None and not sender.get("is_bot"):
            sender["id"] = chat_id  # in a private chat, the chat id is the user id
    body.update(fields)
    return data


def request(data: dict[str, Any], *, secret: str = SECRET) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of the webhook POST Telegram would make for ``data``."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    return PATH, headers, json.dumps(data, ensure_ascii=False).encode("utf-8")


def text_message_request(
    text: str = "你好",
    *,
    secret: str = SECRET,
    chat_id: int = 7001001,
    update_id: int | None = None,
    message_id: int | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """One inbound private text message for ``POST /hooks/telegram/``: (path, headers, body bytes)."""
    data = update("text_message", chat_id=chat_id, update_id=update_id, message_id=message_id, text=text)
    return request(data, secret=secret)
