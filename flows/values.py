"""The small frozen values that cross the seams between adapters, flows and actions.

They live in ``flows`` (not ``bots``) because imports point one way — ``bots → flows`` — and both
sides need them; ``bots`` re-exports them for adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A piece of media an adapter can fetch later (voice, image, file)."""

    kind: str  # voice | audio | image | file; failed / too_large after an unsuccessful download
    ref: str  # the platform's media id, then the file store's sha256
    mime: str | None = None
    size: int | None = None
    name: str | None = None  # the file name the sender gave (documents)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from one person on one platform, already verified and translated."""

    platform: str
    conversation_id: str
    user_ref: str
    message_id: str
    text: str | None
    media: MediaRef | None = None
    payload: Mapping[str, Any] | str | None = None

    @property
    def conversation_key(self) -> str:
        return f"{self.platform}:{self.conversation_id}"


@dataclass(frozen=True, slots=True)
class Choice:
    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class FileRef:
    name: str
    mime: str
    url: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says. Adapters render choices as buttons or fall back to numbered text."""

    text: str
    choices: tuple[Choice, ...] = ()
    files: tuple[FileRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        out["choices"] = [{"title": c.title, "payload": c.payload} for c in self.choices]
        if self.files:
            out["files"] = [{"name": f.name, "mime": f.mime, "url": f.url} for f in self.files]
        return out

    def as_numbered_text(self) -> str:
        """The fallback rendering for channels without buttons."""
        if not self.choices:
            return self.text
        lines = [self.text, ""]
        lines += [f"{i}. {c.title}" for i, c in enumerate(self.choices, 1)]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Effect:
    """A side effect as data, run by ``actions`` after the reply is committed (via the outbox)."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one inbound message produced."""

    replies: tuple[Reply, ...]
    duplicate: bool = False
    queued: int = 0  # side effects written to the outbox
