"""Fixtures and helpers shared by the Slack tests (imported into each ``test_slack*.py``; the
fixtures are named ``*_fixture`` and registered under their short names): the fake Slack, settings
that switch the platform on against it, an HTTP client for the real server, and a candidate's view
of the conversation as the fake saw it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bots.channels.base import RateLimit
from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock
from storage.models import Delivery, ProcessedMessage
from storage.seed import seed
from tests.bots.channels.slack.fake import FakeSlack, serve
from tests.bots.channels.slack_payloads import action_request, json_request, settings_env
from tests.conftest import TZ

Request = tuple[str, dict[str, str], bytes]
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(name="fake")
def fake_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    # slack_sdk's aiohttp path honours HTTPS_PROXY but not NO_PROXY: loopback must not go to a proxy
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    yield from serve(FakeSlack())


@pytest.fixture(name="slack_env")
def slack_env_fixture(fake: FakeSlack) -> dict[str, str]:
    return settings_env(fake.api_base)


@pytest.fixture(name="settings")
def settings_fixture(settings: Settings, slack_env: dict[str, str]) -> Settings:
    return dataclasses.replace(settings, env={**settings.env, **slack_env})


def make_runtime(
    settings: Settings, nlu: Any, clock: FakeClock, base_url: str, asr: Any = None, *, fast: bool = True
) -> Iterator[Runtime]:
    """The runtime behind the real server. ``fast``: Slack's 1 message/s per conversation is relaxed
    so conversations in tests do not crawl (the Block Kit test puts it back and measures it)."""
    runtime = build(
        dataclasses.replace(settings, public_url=base_url), nlu=nlu, clock=clock, migrate=False, asr=asr
    )
    with runtime.sessions.begin() as s:
        seed(s, content_dir=runtime.settings.content_dir, now=clock(), tz=TZ)
    if fast and "slack" in runtime.gateway.channels:
        runtime.gateway.channels["slack"].limits = (RateLimit(50, 1.0, "conversation"),)
    yield runtime
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    runtime.engine.dispose()


@pytest.fixture(name="http")
def http_fixture(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def post(http: httpx.Client, request: Request, **headers: str) -> httpx.Response:
    path, base, body = request
    return http.post(path, headers={**base, **headers}, content=body)


def send(http: httpx.Client, payload: dict[str, Any], **headers: str) -> httpx.Response:
    resp = post(http, json_request(payload), **headers)
    assert resp.status_code == 200, resp.text
    return resp


def processed(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(ProcessedMessage.message_id)
                .where(ProcessedMessage.platform == "slack")
                .order_by(ProcessedMessage.id)
            )
        )


def deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.platform == "slack").order_by(Delivery.id)))


def wait(check: Callable[[], Any], timeout: float = 20.0, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        el
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for el in block["elements"]
        if el.get("type") == "button"
    ]


def block_text(message: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") == "section" and "text" in b
    )


class Candidate:
    """One Slack user talking to the bot over the real webhook, reading what the fake received."""

    def __init__(self, http: httpx.Client, fake: FakeSlack, user: str = "U0CAND001") -> None:
        self.http, self.fake, self.user = http, fake, user
        self.seen = 0
        self.last: list[dict[str, Any]] = []

    def new_posts(self) -> list[dict[str, Any]]:
        return self.fake.posted(self.user)[self.seen :]

    def expect(self, text: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait for a new message to this user containing ``text``; return the new messages."""

        def found() -> list[dict[str, Any]] | None:
            posts = self.new_posts()
            return posts if any(text in block_text(p) or text in p.get("text", "") for p in posts) else None

        try:
            posts = wait(found, timeout, f"{text!r} posted to {self.user}")
        except AssertionError:
            raise AssertionError(
                f"{text!r} never posted to {self.user}; new: {[p.get('text') for p in self.new_posts()]}"
            ) from None
        self.seen += len(posts)
        self.last = posts
        return posts

    def press(self, title: str) -> httpx.Response:
        """Click the button whose label contains ``title`` on the latest message that has one."""
        for message in reversed(self.fake.posted(self.user)):
            for b in buttons(message):
                if title in b["text"]["text"]:
                    resp = post(
                        self.http,
                        action_request(
                            b["value"], b["text"]["text"], user=self.user, action_id=b["action_id"]
                        ),
                    )
                    assert resp.status_code == 200, resp.text
                    return resp
        raise AssertionError(f"no button {title!r} in the messages to {self.user}")
