"""An in-process test harness that drives whole conversations, as Errbot's TestBot does::

bot = TestBot(runtime, user="u1")
bot.say("下周三下午两点")
assert "已为您预约" in bot.last.text
bot.press("确认")          # a button, by (part of) its title
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from bots.runtime import Runtime
from flows.engine import handle, handle_sync
from flows.values import Inbound, Outcome, Reply

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
