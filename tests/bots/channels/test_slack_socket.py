"""Slack in Socket Mode: with an app-level token and no signing secret, nothing is mounted over HTTP;
the app opens a WebSocket (``apps.connections.open`` with the ``xapp-`` token, then the URL it
returns) and receives envelopes there, each acknowledged by its ``envelope_id``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bots.runtime import Runtime
from bots.settings import Settings
from bots.testing import FakeClock
from tests.bots.channels.slack.fake import FakeSlack
from tests.bots.channels.slack.fixtures import (  # noqa: F401 — fixtures
    Candidate,
    buttons,
    fake_fixture,
    http_fixture,
    make_runtime,
    processed,
    settings_fixture,
    wait,
)
from tests.bots.channels.slack_payloads import (
    APP_TOKEN,
    load,
    message_event,
    settings_env,
    text_message_request,
)
from tests.conftest import invite


@pytest.fixture(name="slack_env")
def socket_mode_env(fake: FakeSlack) -> dict[str, str]:
    """A bot token and an app-level token, no signing secret: Socket Mode only."""
    return settings_env(fake.api_base, socket_mode=True, http=False)


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock, base_url: str) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    yield from make_runtime(settings, nlu, clock, base_url)


def _envelope(
    kind: str, payload: dict[str, Any], *, retry: int = 0, envelope_id: str | None = None
) -> dict[str, Any]:
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
    }


def _acked(fake: FakeSlack, envelope_id: str) -> bool:
    return any(a.get("envelope_id") == envelope_id for a in fake.acks)


def test_socket_mode_receives_acknowledges_and_answers(http, fake: FakeSlack, rt: Runtime) -> None:
    wait(lambda: fake.socket_connections == 1, what="the Socket Mode connection")
    opened = [c for c in fake.calls if c.method == "apps.connections.open"]
    assert opened and opened[0].token == APP_TOKEN
    # no HTTP endpoint without a signing secret
    path, headers, body = text_message_request("hello")
    assert http.post(path, headers=headers, content=body).status_code == 404

    me = Candidate(http, fake)
    code = invite(rt, position="TELLER", name="Alex Chen")
    hello = _envelope("events_api", message_event(f"my code is {code}", event_id="Ev0SOCKET001"))
    fake.push(hello)
    wait(lambda: _acked(fake, hello["envelope_id"]), what="the ack")
    posts = me.expect("I agree")
    # a redelivery after a reconnect: acknowledged again, handled once
    again = _envelope("events_api", hello["payload"], retry=1)
    fake.push(again)
    wait(lambda: _acked(fake, again["envelope_id"]), what="the second ack")

    # a button pressed: the interactive envelope
    button = next(b for p in posts for b in buttons(p) if "I agree" in b["text"]["text"])
    action = load("block_actions")
    action["actions"][0].update(
        action_id=button["action_id"], value=button["value"], action_ts="1764036999.000001"
    )
    click = _envelope("interactive", action)
    fake.push(click)
    wait(lambda: _acked(fake, click["envelope_id"]), what="the button's ack")
    me.expect("2 of 2")

    # unknown event types are acknowledged too (else Slack keeps redelivering them)
    other = _envelope("events_api", load("reaction_added"))
    fake.push(other)
    wait(lambda: _acked(fake, other["envelope_id"]), what="the unknown event's ack")
    assert processed(rt)[0] == "Ev0SOCKET001" and processed(rt).count("Ev0SOCKET001") == 1
    assert len(processed(rt)) == 2  # the message and the button press
    assert json.dumps(fake.acks)  # acks are plain JSON objects
