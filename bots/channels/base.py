"""What every chat platform adapter provides, and the errors it raises.

A platform is one module in ``bots/channels/`` with a ``create(ctx) -> Channel | None`` (None when its
credentials are not configured: the platform is off) and one line in ``bots/channels/__init__.py``.
The adapter only translates: webhook requests into ``Inbound`` values handed to ``ctx.accept``, and
``Reply`` values into the platform's messages. It never opens a database session; the gateway does
the rest (media download, the engine, ordered and rate-limited sending with retries).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from starlette.routing import BaseRoute

from flows.values import Inbound, MediaRef, Reply


class SendError(Exception):
    """A send the platform refused or that did not arrive. ``retryable``: a 5xx, a timeout, a
    network error or a rate-limit answer (then ``retry_after`` seconds, if the platform said)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class MediaError(Exception):
    """Media could not be fetched (expired id, platform error, timeout). ``retryable`` as above."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class MediaTooLarge(MediaError):
    """The platform says (a header, file info) the media is larger than the gateway takes: the person
    is told so without the bytes being downloaded."""

    def __init__(self, message: str = "too large") -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` sends per ``seconds``, per conversation (``per="conversation"``) or for the
    whole platform (``per="platform"``)."""

    count: int
    seconds: float
    per: str = "conversation"


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    mime: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class ChannelContext:
    """What ``create`` gets: configuration (environment merged over the config file), the public URL,
    a clock, and ``accept`` — hand it each verified Inbound; it returns at once (the work is queued)."""

    env: Mapping[str, str]
    public_url: str
    clock: Callable[[], datetime]
    accept: Callable[[Inbound], Awaitable[bool]]  # False: a duplicate already seen


class Channel(Protocol):
    name: str  # the platform key: Inbound.platform, the /hooks/<name> path, deliveries.platform
    limits: Sequence[RateLimit]

    def routes(self) -> Sequence[BaseRoute]:
        """Mounted under ``/hooks/<name>``."""
        ...

    async def start(self) -> None:
        """Background receiving (polling, stream mode), if any."""
        ...

    async def stop(self) -> None: ...

    async def send(self, conversation_id: str, reply: Reply) -> None:
        """Send one reply (buttons where the platform has them, numbered text otherwise); raise
        :class:`SendError`."""
        ...

    async def fetch_media(self, media: MediaRef) -> Fetched:
        """The bytes of an inbound voice message, image or file; raise :class:`MediaError`."""
        ...
