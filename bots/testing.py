"""An in-process test harness that drives whole conversations, as Errbot's TestBot does::

bot = TestBot(runtime, user="u1")
bot.say("下周三下午两点")
assert "已为您预约" in bot.last.text
bot.press("确认")          # a button, by (part of) its title
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bots.runtime import Runtime
from flows.engine import handle, handle_sync
from flows.values import Inbound, MediaRef, Outcome, Reply
from storage import repo

_ids = itertools.count(1)


class FakeClock:
    """A settable clock for tests (timezone-aware)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now = self.now + timedelta(**kw)


class TestBot:
    __test__ = False  # not a pytest class

    def __init__(self, rt: Runtime, *, user: str = "u1", platform: str = "test") -> None:
        self.rt, self.user, self.platform = rt, user, platform
        self.transcript: list[tuple[str, str]] = []
        self.replies: list[Reply] = []
        self._seen_delivery = 0

    def inbound(
        self, text: str | None, *, payload: str | None = None, message_id: str | None = None
    ) -> Inbound:
        return Inbound(
            platform=self.platform,
            conversation_id=self.user,
            user_ref=self.user,
            message_id=message_id or f"m{next(_ids)}",
            text=text,
            payload=payload,
        )

    def send(self, text: str | None, *, payload: str | None = None, message_id: str | None = None) -> Outcome:
        outcome = handle_sync(self.inbound(text, payload=payload, message_id=message_id), self.rt.deps)
        self.transcript.append(("user", text or f"[{payload}]"))
        for r in outcome.replies:
            self.transcript.append(("bot", r.text))
        self.replies = list(outcome.replies)
        return outcome

    def voice(self, data: bytes, *, mime: str = "audio/wav", message_id: str | None = None) -> list[Reply]:
        """Send a voice message: the bytes go to the file store, as an adapter does, then to the engine."""
        assert self.rt.deps.files is not None
        stored = self.rt.deps.files.put(data)
        inbound = Inbound(
            platform=self.platform,
            conversation_id=self.user,
            user_ref=self.user,
            message_id=message_id or f"m{next(_ids)}",
            text=None,
            media=MediaRef("voice", stored.sha256, mime, stored.size),
        )
        outcome = handle_sync(inbound, self.rt.deps)
        self.transcript.append(("user", f"[voice {len(data)} bytes]"))
        self.transcript += [("bot", r.text) for r in outcome.replies]
        self.replies = list(outcome.replies)
        return self.replies

    def file(
        self,
        data: bytes,
        *,
        name: str | None,
        mime: str | None,
        kind: str = "file",
        text: str | None = None,
        message_id: str | None = None,
    ) -> list[Reply]:
        """Send a photo (``kind="image"``) or a file, optionally with a caption: the bytes go to the file
        store, as the gateway does, then to the engine."""
        assert self.rt.deps.files is not None
        stored = self.rt.deps.files.put(data)
        inbound = Inbound(
            platform=self.platform,
            conversation_id=self.user,
            user_ref=self.user,
            message_id=message_id or f"m{next(_ids)}",
            text=text,
            media=MediaRef(kind, stored.sha256, mime, stored.size, name),
        )
        outcome = handle_sync(inbound, self.rt.deps)
        self.transcript.append(("user", f"[{kind} {name or ''} {len(data)} bytes]"))
        self.transcript += [("bot", r.text) for r in outcome.replies]
        self.replies = list(outcome.replies)
        return self.replies

    def settle(self, timeout: float = 120.0) -> list[Reply]:
        """Run what happens after the reply — the outbox relay and the worker's jobs — until nothing
        is left, then take the proactive messages sent to this chat since the last call (they become
        ``replies``, so ``press`` works on their buttons)."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.rt.relay.drain()
            idle = self.rt.jobs.wait_idle(max(0.1, deadline - time.monotonic()))
            if not idle:
                raise AssertionError("the worker did not finish in time")
            if done == 0 and self.rt.relay.drain() == 0 and self.rt.jobs.wait_idle(0.1):
                break
            if time.monotonic() > deadline:
                raise AssertionError("side effects did not settle")
        with self.rt.sessions() as s:
            rows = repo.pending_deliveries(
                s, platform=self.platform, conversation_id=self.user, after=self._seen_delivery
            )
            bodies = [(d.id, d.body) for d in rows]
        if bodies:
            self._seen_delivery = bodies[-1][0]
            from flows.engine import reply_from_json

            self.replies = [reply_from_json(b) for _, b in bodies]
            self.transcript += [("bot", r.text) for r in self.replies]
            return self.replies
        return []

    def say(self, text: str | None, *, message_id: str | None = None) -> list[Reply]:
        return list(self.send(text, message_id=message_id).replies)

    async def say_async(self, text: str, *, message_id: str | None = None) -> Outcome:
        return await handle(self.inbound(text, message_id=message_id), self.rt.deps)

    def press(self, title: str | Callable[[str], bool]) -> list[Reply]:
        """Press the first button of the last replies whose title contains ``title``."""
        for r in reversed(self.replies):
            for c in r.choices:
                if title(c.title) if callable(title) else title in c.title:
                    return list(self.send(c.title, payload=c.payload).replies)
        raise AssertionError(f"no button {title!r} in {[c.title for r in self.replies for c in r.choices]}")

    @property
    def last(self) -> Reply:
        assert self.replies, "the bot said nothing"
        return self.replies[-1]

    @property
    def text(self) -> str:
        """All replies to the last message, joined."""
        return "\n".join(r.text for r in self.replies)

    @property
    def choices(self) -> list[str]:
        return [c.title for r in self.replies for c in r.choices]
