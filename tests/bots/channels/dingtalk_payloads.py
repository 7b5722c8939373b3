"""Signed DingTalk robot callbacks, built exactly as DingTalk builds them (for tests and benchmarks).

path, headers, body = text_message(app_secret=SECRET, text="你好")
httpx.post(base_url + path, headers=headers, content=body)
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bots.channels.dingtalk_sign import signature

PATH = "/hooks/dingtalk/"
SAMPLES = Path(__file__).resolve().parent / "dingtalk"
_lock = threading.Lock()
_state = {"last": 0}


def fresh_timestamp() -> int:
    """Now in ms, and never the same twice: the server binds each signed timestamp to one message (the
    signature does not cover the body), as DingTalk's own callbacks, each stamped when sent, allow."""
    with _lock:
        _state["last"] = max(int(time.time() * 1000), _state["last"] + 1)
        return _state["last"]


def sample(name: str) -> dict[str, Any]:
    """A recorded robot message from ``dingtalk/<name>.json`` (a fresh copy)."""
    with open(SAMPLES / f"{name}.json", encoding="utf-8") as f:
        return copy.deepcopy(json.load(f))


def signed_headers(app_secret: str, *, timestamp_ms: int | None = None) -> dict[str, str]:
    ts = str(timestamp_ms if timestamp_ms is not None else fresh_timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        "timestamp": ts,
        "sign": signature(ts, app_secret),
    }


def request(
    message: dict[str, Any], *, app_secret: str, timestamp_ms: int | None = None
) -> tuple[str, dict[str, str], bytes]:
    """Any robot message as a signed callback: (path, headers, body)."""
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return PATH, signed_headers(app_secret, timestamp_ms=timestamp_ms), body


def text_message(
    *,
    app_secret: str,
    text: str,
    staff_id: str = "manager4220",
    msg_id: str | None = None,
    timestamp_ms: int | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """One signed one-to-one text message from ``staff_id``: (path, headers, body bytes)."""
    message = sample("text")
    message["text"] = {"content": text}
    message["senderStaffId"] = staff_id
    message["msgId"] = msg_id or f"msg{uuid.uuid4().hex}"
    if timestamp_ms is not None:
        message["createAt"] = timestamp_ms
    return request(message, app_secret=app_secret, timestamp_ms=timestamp_ms)
