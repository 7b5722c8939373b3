"""HR in the web chat over real HTTP: link with the code from `talentbot user add`, send an offer, and
the candidate fetches the letter by the link in their chat (a capability URL that can't be forged)."""

from __future__ import annotations

import time

import httpx
from pypdf import PdfReader

from bots.runtime import Runtime
from tests.flows.hr_fixtures import candidate


def _say(
    client: httpx.Client, base: str, user: str, text: str | None = None, payload: str | None = None
) -> list:
    r = client.post(f"{base}/webchat/api/messages", json={"user": user, "text": text, "payload": payload})
    assert r.status_code == 200, r.text
    return r.json()["replies"]


def _updates(client: httpx.Client, base: str, user: str, rt: Runtime) -> list:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rt.relay.drain()
        got = client.get(f"{base}/webchat/api/updates", params={"user": user, "after": 0}).json()
        if got.get("replies") or got.get("messages") or got.get("updates"):
            return got.get("replies") or got.get("messages") or got.get("updates")
        time.sleep(0.1)
    return []


def test_hr_sends_an_offer_from_the_web_chat_and_the_candidate_downloads_it(rt, server, capsys) -> None:  # type: ignore[no-untyped-def]
    import os

    from bots.cli import main

    os.environ["TALENTBOT_DATABASE_URL"] = rt.settings.database_url
    try:
        assert main(["user", "add", "--role", "hr", "--name", "周红", "--scope", "TELLER"]) == 0
    finally:
        del os.environ["TALENTBOT_DATABASE_URL"]
    code = capsys.readouterr().out.strip().splitlines()[-1]
    candidate(
        rt, name="张三", overall=80.0, chat="web-cand", salary=9500, stage="next_round", platform="webchat"
    )
    with httpx.Client(timeout=20) as client:
        replies = _say(client, server, "web-hr", code)
        assert "周红" in replies[0]["text"] and "HR" in replies[0]["text"]
        replies = _say(client, server, "web-hr", "给张三发offer")
        assert "9,500" in replies[-1]["text"]
        pdf = next(c["payload"] for c in replies[-1]["choices"] if "PDF" in c["title"])
        replies = _say(client, server, "web-hr", None, pdf)
        assert "已发送给 张三" in replies[-1]["text"]
        got = _updates(client, server, "web-cand", rt)
        assert got, "the candidate got nothing"
        [f] = got[-1]["files"]
        r = client.get(f["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(__import__("io").BytesIO(r.content)).pages)
        assert "张三" in text and "9,500" in text
        forged = f["url"].replace(f["url"].split("/")[-2], "0" * 32)
        assert client.get(forged).status_code == 404
