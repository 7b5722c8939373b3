"""``Reply`` → Telegram messages, and Telegram errors → ``SendError``/``MediaError``: the pure half of
sending.

A reply becomes one or more parts: its text (split at Telegram's 4096 UTF-16 units, the buttons on the
last piece) and then one part per file. Choices become an inline keyboard, one button per row, whose
``callback_data`` is the choice's payload — when every payload fits Telegram's 64 bytes; otherwise the
whole reply falls back to numbered text (the flows understand a typed "1"/"2").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bots.channels.base import MediaError, MediaTooLarge, SendError
from flows.values import FileRef, Reply

MAX_TEXT_UNITS = 4096  # sendMessage text, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
MAX_PHOTO_BYTES = 10 * 2**20  # sendPhoto; larger images go as documents
MAX_UPLOAD_BYTES = 50 * 2**20  # sendDocument


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True, slots=True)
class FilePart:
    file: FileRef


Part = TextPart | FilePart


def render(reply: Reply) -> list[Part]:
    """The messages that carry ``reply``, in order."""
    keyboard = keyboard_for(reply)
    text = reply.text if keyboard is not None or not reply.choices else reply.as_numbered_text()
    pieces = split_text(text) if text.strip() else []
    parts: list[Part] = [TextPart(p) for p in pieces]
    if keyboard is not None:
        if not parts:  # buttons need a message to hang on
            parts.append(TextPart("…"))
        parts[-1] = TextPart(parts[-1].text, keyboard)  # type: ignore[union-attr]
    parts += [FilePart(f) for f in reply.files]
    return parts


def keyboard_for(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    if any(
        not c.payload or len(c.payload.encode("utf-8")) > MAX_CALLBACK_DATA or not c.title.strip()
        for c in reply.choices
    ):
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.title, callback_data=c.payload)] for c in reply.choices]
    )


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units, cut after a newline where possible."""
    pieces: list[str] = []
    rest = text
    while sum(_units(c) for c in rest) > limit:
        used, cut = 0, 0
        for i, ch in enumerate(rest):
            used += _units(ch)
            if used > limit:
                break
            cut = i + 1
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def send_error(exc: Exception) -> SendError:
    """Rate limits, 5xx, timeouts and network errors are retryable; a refusal (bot blocked, chat not
    found, bad token, message rejected) is not."""
    if isinstance(exc, RetryAfter):
        return SendError(f"telegram: {exc}", retryable=True, retry_after=retry_after_seconds(exc))
    if isinstance(exc, BadRequest | Forbidden | InvalidToken | ChatMigrated | Conflict):
        return SendError(f"telegram: {exc}", retryable=False)
    if isinstance(exc, NetworkError | TelegramError):  # TimedOut, 5xx and other HTTP errors
        return SendError(f"telegram: {exc}", retryable=True)
    if isinstance(exc, httpx.HTTPStatusError):  # fetching a file we attach (our own server)
        code = exc.response.status_code
        return SendError(f"attachment {exc.request.url}: HTTP {code}", retryable=code >= 500 or code == 429)
    if isinstance(exc, httpx.HTTPError):
        return SendError(f"attachment: {exc!r}", retryable=True)
    return SendError(repr(exc), retryable=True)


def media_error(exc: TelegramError, file_id: str, *, downloading: bool) -> MediaError:
    """getFile answers 400 for a file over 20 MB or an unknown id (not worth retrying), except
    "temporarily unavailable"; a bad token will not mend itself either. A failed download is retried
    (the next try asks getFile for a fresh path)."""
    text = f"telegram {'download' if downloading else 'getFile'} {file_id}: {exc}"
    if downloading:
        return MediaError(text, retryable=True)
    if isinstance(exc, BadRequest):
        if "too big" in str(exc).lower():  # Telegram's "file is too big": over the 20 MB it serves
            return MediaTooLarge(text)
        return MediaError(text, retryable="temporarily" in str(exc).lower())
    if isinstance(exc, InvalidToken | Forbidden):
        return MediaError(text, retryable=False)
    return MediaError(text, retryable=True)
