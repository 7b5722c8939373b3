"""Telegram updates → ``Inbound`` values: the pure half of the Telegram adapter.

Only private chats are taken: a recruiting conversation holds invitation codes, consents and voice
answers, which do not belong in a group. A message is deduplicated by ``<chat id>:<message id>`` (stable
across webhook retries and across a switch between webhook and polling); a button press by its callback
query id, because Telegram may re-send a callback query under a new ``update_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, Update

from flows.values import Inbound, MediaRef

PLATFORM = "telegram"
# the update types we ask Telegram for (setWebhook / getUpdates); anything else is ignored with a 200
ALLOWED_UPDATES = ("message", "callback_query")


@dataclass(frozen=True, slots=True)
class Incoming:
    """What one update asks of the adapter: a message for the engine and/or a callback to answer."""

    inbound: Inbound | None = None
    callback_query_id: str | None = None  # answer it, so the pressed button stops spinning


def translate(update: Update) -> Incoming:
    """The message or button press in ``update``; an empty :class:`Incoming` for anything else
    (edits, membership changes, group chats, service messages)."""
    if update.callback_query is not None:
        return Incoming(_pressed(update.callback_query), update.callback_query.id)
    if update.message is not None:
        return Incoming(_said(update.message))
    return Incoming()


def _said(msg: Message) -> Inbound | None:
    if msg.chat.type != Chat.PRIVATE or msg.from_user is None:
        return None
    text = msg.text or msg.caption
    media = media_of(msg)
    if text is None and media is None and msg.effective_attachment is None:
        return None  # a service message (pinned, chat photo changed…), not something the person said
    return Inbound(
        platform=PLATFORM,
        conversation_id=str(msg.chat.id),
        user_ref=str(msg.from_user.id),
        message_id=f"{msg.chat.id}:{msg.message_id}",
        text=text,
        media=media,
    )


def media_of(msg: Message) -> MediaRef | None:
    """Voice → ``voice``; music files → ``audio``; photos → ``image`` (the largest size); documents and
    videos → ``file``. ``ref`` is the file id for getFile; ``size`` lets the gateway refuse what is
    too large before downloading it."""
    if msg.voice is not None:
        v = msg.voice
        return MediaRef("voice", v.file_id, v.mime_type or "audio/ogg", v.file_size)
    if msg.audio is not None:
        a = msg.audio
        return MediaRef("audio", a.file_id, a.mime_type or "audio/mpeg", a.file_size, a.file_name)
    if msg.photo:
        p = max(msg.photo, key=lambda s: (s.width * s.height, s.file_size or 0))
        return MediaRef("image", p.file_id, "image/jpeg", p.file_size)
    if msg.document is not None:
        d = msg.document
        return MediaRef("file", d.file_id, d.mime_type, d.file_size, d.file_name)
    if msg.video is not None:
        vd = msg.video
        return MediaRef("file", vd.file_id, vd.mime_type or "video/mp4", vd.file_size, vd.file_name)
    if msg.video_note is not None:
        vn = msg.video_note
        return MediaRef("file", vn.file_id, "video/mp4", vn.file_size)
    return None


def _pressed(cq: CallbackQuery) -> Inbound | None:
    if cq.data is None:
        return None  # a game button: nothing for us
    msg = cq.message
    if msg is not None and msg.chat.type != Chat.PRIVATE:
        return None
    chat_id = msg.chat.id if msg is not None else cq.from_user.id
    return Inbound(
        platform=PLATFORM,
        conversation_id=str(chat_id),
        user_ref=str(cq.from_user.id),
        message_id=f"cb:{cq.id}",
        text=_button_title(cq),
        payload=cq.data,
    )


def _button_title(cq: CallbackQuery) -> str | None:
    """The pressed button's title, as the web chat sends it with the payload (transcripts, audit)."""
    msg = cq.message
    markup = msg.reply_markup if isinstance(msg, Message) else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == cq.data:
                return button.text
    return None
