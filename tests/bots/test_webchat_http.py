"""The web chat over real HTTP (uvicorn on 127.0.0.1, httpx as the client), as the page uses it."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Booking, Conversation, Identity, ProcessedMessage
from tests.conftest import invite

ICS_URL = re.compile(r"/calendar/(\d+)/([0-9a-f]+)\.ics$")
CJK = re.compile(r"[\u4e00-\u9fff]")


class WebUser:
    """One person on the web chat: sends what the page sends, keeps the last replies."""

    def __init__(self, client: httpx.Client, user: str) -> None:
        self.client, self.user = client, user
        self.replies: list[dict[str, Any]] = []  # the replies to the last message
        self.history: list[dict[str, Any]] = []  # everything the page shows, oldest first

    def post(
        self, text: str | None, *, payload: str | None = None, message_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"user": self.user, "text": text, "payload": payload}
        if message_id is not None:
            body["message_id"] = message_id
        r = self.client.post("/webchat/api/messages", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        data = r.json()
        _check_shape(data)
        self.replies = data["replies"]
        self.history += data["replies"]
        return data

    def say(self, text: str | None) -> list[dict[str, Any]]:
        return self.post(text)["replies"]

    def press(self, title: str) -> list[dict[str, Any]]:
        """Press the newest button on the page whose title contains ``title`` (the page keeps
        earlier buttons clickable), sending its title and payload as the page does."""
        for r in reversed(self.history):
            for c in r["choices"]:
                if title in c["title"]:
                    return self.post(c["title"], payload=c["payload"])["replies"]
        raise AssertionError(f"no button {title!r} in {self.choices}")

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    @property
    def choices(self) -> list[str]:
        return [c["title"] for r in self.replies for c in r["choices"]]

    def ics_url(self) -> str:
        """Press the calendar button and return the file's URL."""
        self.press(".ics")
        files = [f for r in self.replies for f in r.get("files", [])]
        assert len(files) == 1, self.replies
        assert files[0]["name"] == "interview.ics" and files[0]["mime"] == "text/calendar"
        return files[0]["url"]


def _check_shape(data: dict[str, Any]) -> None:
    assert isinstance(data["replies"], list) and data["replies"], data
    for r in data["replies"]:
        assert isinstance(r["text"], str) and r["text"].strip()
        assert isinstance(r["choices"], list)
        for c in r["choices"]:
            assert set(c) == {"title", "payload"}
            assert (
                isinstance(c["title"], str) and c["title"] and isinstance(c["payload"], str) and c["payload"]
            )
        for f in r.get("files", []):
            assert set(f) == {"name", "mime", "url"}


@pytest.fixture
def client(server: str):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def _linked(
    rt: Runtime, client: httpx.Client, user: str, *, lang: str = "zh", position: str = "TELLER"
) -> WebUser:
    """A web chat user who has linked an invitation and agreed to both consents; slots are offered."""
    u = WebUser(client, user)
    code = invite(rt, position=position, name="张三" if lang == "zh" else "Alex Chen")
    u.say(f"我的邀请码是 {code}" if lang == "zh" else f"my code is {code}")
    agree = "同意" if lang == "zh" else "I agree"
    u.press(agree)
    u.press(agree)
    assert ("请选择面试时间" if lang == "zh" else "Please choose an interview time") in u.text
    return u


def _booking_id(url: str) -> int:
    m = ICS_URL.search(url)
    assert m, url
    return int(m.group(1))


def _active_bookings(rt: Runtime) -> list[Booking]:
    with rt.sessions() as s:
        return list(s.scalars(select(Booking).where(Booking.status == "active")))


def _wait_for_jobs(rt: Runtime, expected: set[str], timeout: float = 6.0) -> set[str]:
    """The outbox relay in the server schedules reminders shortly after the reply is committed."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = {j for j, _ in rt.reminders.jobs() if j.startswith("reminder:")}
        if jobs == expected or time.monotonic() > deadline:
            return jobs
        time.sleep(0.05)


def _ics(client: httpx.Client, url: str) -> httpx.Response:
    assert url.startswith(str(client.base_url).rstrip("/") + "/calendar/"), url
    return client.get(url)


# ------------------------------------------------------------------ whole journeys


def test_zh_journey_link_consent_book_calendar_status(rt: Runtime, client: httpx.Client, server: str) -> None:
    u = WebUser(client, "web-zh-1")
    u.say("你好")
    assert "邀请码" in u.text and "AI" in u.text and u.choices == []

    code = invite(rt, name="张三")
    u.say(f"我的邀请码是{code}")
    assert "张三" in u.text and "综合柜员" in u.text and "AI 助手" in u.text
    privacy = re.search(r"https?://\S+/privacy", u.text)
    assert privacy and privacy.group(0) == f"{server}/privacy", u.text
    page = client.get(privacy.group(0))
    assert page.status_code == 200 and "隐私说明" in page.text and "Privacy notice" in page.text
    assert "语音" in u.replies[-1]["text"] and u.choices == ["同意", "不同意"]
    assert [c["payload"] for c in u.replies[-1]["choices"]] == ["yes", "no"]

    u.press("同意")
    assert "材料" in u.replies[-1]["text"] and u.choices == ["同意", "不同意"]
    u.press("同意")
    assert "请选择面试时间" in u.text
    assert u.choices[0] == "11月26日（周四）09:30"
    assert all(c["payload"].startswith(("slot:", "more:")) for r in u.replies for c in r["choices"])

    u.say("下周三下午两点")
    assert "已为您预约面试：12月2日（周三）14:00" in u.text and "世纪大道" in u.text
    assert u.choices == ["添加到日历 (.ics)", "改期", "取消面试"]

    url = u.ics_url()
    r = _ics(client, url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    assert (
        "attachment" in r.headers["content-disposition"]
        and "interview.ics" in r.headers["content-disposition"]
    )
    ics = r.text
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.rstrip().endswith("END:VCALENDAR")
    assert "DTSTART:20261202T060000Z" in ics  # 14:00 in Shanghai
    assert "DTEND:20261202T063000Z" in ics  # a teller interview is 30 minutes
    assert "TRIGGER:-PT24H" in ics and "TRIGGER:-PT1H" in ics
    assert ics.count("BEGIN:VALARM") == 2

    bid = _booking_id(url)
    assert _wait_for_jobs(rt, {f"reminder:{bid}:24h", f"reminder:{bid}:1h"}) == {
        f"reminder:{bid}:24h",
        f"reminder:{bid}:1h",
    }

    u.say("我的进度")
    assert "已预约面试（12月2日（周三）14:00）" in u.text


def test_en_journey_alternatives_reschedule_and_cancel(
    rt: Runtime, client: httpx.Client, server: str
) -> None:
    u = WebUser(client, "web-en-1")
    u.say("hello")
    assert "invitation code" in u.text
    code = invite(rt, name="Alex Chen")
    u.say(f"hi, my code is {code.lower()}")
    assert "Alex Chen" in u.text and "Bank Teller" in u.text and "AI assistant" in u.text
    assert f"{server}/privacy" in u.text
    assert u.choices == ["I agree", "I don't agree"]
    u.press("I agree")
    u.press("I agree")
    assert "Please choose an interview time" in u.text

    u.say("next Tuesday 3pm")
    assert "There's no interview time open at Tue 1 Dec, 15:00" in u.text
    assert u.choices == ["Tue 1 Dec, 10:30", "Tue 1 Dec, 14:00", "Tue 1 Dec, 15:30"]
    u.press("15:30")
    assert "Your interview is booked: Tue 1 Dec, 15:30" in u.text
    assert u.choices == ["Add to calendar (.ics)", "Reschedule", "Cancel the interview"]
    first_url = u.ics_url()
    first = _ics(client, first_url)
    assert first.status_code == 200 and "DTSTART:20261201T073000Z" in first.text

    u.press("Reschedule")
    assert "Your interview is now at Tue 1 Dec, 15:30" in u.text
    u.press("Thu 26 Nov, 09:30")
    assert "Move your interview from Tue 1 Dec, 15:30 to Thu 26 Nov, 09:30?" in u.text
    u.press("Yes")
    assert "Rescheduled: your interview is now Thu 26 Nov, 09:30" in u.text
    assert _ics(client, first_url).status_code == 410  # the old invitation is gone
    moved_url = u.ics_url()
    assert moved_url != first_url
    moved = _ics(client, moved_url)
    assert moved.status_code == 200 and "DTSTART:20261126T013000Z" in moved.text
    new_id = _booking_id(moved_url)
    # 24 h before 09:30 tomorrow has already passed (it is 10:00): only the 1 h reminder is left.
    assert _wait_for_jobs(rt, {f"reminder:{new_id}:1h"}) == {f"reminder:{new_id}:1h"}

    u.press("Cancel the interview")
    assert "Cancel your interview on Thu 26 Nov, 09:30?" in u.text
    u.press("Yes")
    assert "Your interview on Thu 26 Nov, 09:30 is cancelled" in u.text
    gone = _ics(client, moved_url)
    assert gone.status_code == 410 and "no longer active" in gone.text and "已取消" in gone.text
    assert _wait_for_jobs(rt, set()) == set()
    u.say("what's my status")
    assert "interview booked" not in u.text and "Bank Teller" in u.text


def test_a_wrong_calendar_token_is_not_found(rt: Runtime, client: httpx.Client) -> None:
    u = _linked(rt, client, "web-ics")
    u.press("11月26日")
    url = u.ics_url()
    assert _ics(client, url).status_code == 200
    bid, token = ICS_URL.search(url).groups()  # type: ignore[union-attr]
    wrong = url.replace(token, ("0" if token[0] != "0" else "1") + token[1:])
    assert _ics(client, wrong).status_code == 404
    other_booking = url.replace(f"/calendar/{bid}/", f"/calendar/{int(bid) + 1}/")
    assert _ics(client, other_booking).status_code == 404  # a token opens one booking only
    assert client.get(f"/calendar/abc/{token}.ics").status_code == 404


# ------------------------------------------------------------------ bad requests


BAD_REQUESTS: list[tuple[str, bytes | dict[str, Any], int, str]] = [
    ("malformed JSON", b'{"user": "u1", "text": ', 400, "bad_json"),
    ("not UTF-8", b"\xff\xfe\xfa", 400, "bad_json"),
    ("a list", b'[{"user": "u1", "text": "hi"}]', 400, "bad_json"),
    ("a string", b'"hi"', 400, "bad_json"),
    ("missing user", {"text": "你好"}, 400, "bad_user"),
    ("empty user", {"user": "", "text": "你好"}, 400, "bad_user"),
    ("blank user", {"user": "   ", "text": "你好"}, 400, "bad_user"),
    ("numeric user", {"user": 42, "text": "你好"}, 400, "bad_user"),
    ("very long user", {"user": "u" * 201, "text": "你好"}, 400, "bad_user"),
    ("numeric text", {"user": "u1", "text": 5}, 400, "bad_text"),
    ("list text", {"user": "u1", "text": ["你好"]}, 400, "bad_text"),
    ("numeric payload", {"user": "u1", "text": "同意", "payload": 1}, 400, "bad_payload"),
    ("list payload", {"user": "u1", "text": "同意", "payload": ["yes"]}, 400, "bad_payload"),
    ("numeric message id", {"user": "u1", "text": "你好", "message_id": 7}, 400, "bad_message_id"),
    ("100 KB", {"user": "u1", "text": "a" * 100_000}, 413, "too_large"),
]


def test_bad_requests_get_a_bilingual_json_error_and_nothing_is_stored(
    rt: Runtime, client: httpx.Client
) -> None:
    for name, body, status, code in BAD_REQUESTS:
        if isinstance(body, bytes):
            r = client.post(
                "/webchat/api/messages", content=body, headers={"content-type": "application/json"}
            )
        else:
            r = client.post("/webchat/api/messages", json=body)
        assert r.status_code == status, (name, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json"), name
        err = r.json()
        assert err["error"] == code, (name, err)
        assert CJK.search(err["message"]["zh"]), (name, err)
        assert re.search(r"[A-Za-z]{3,}", err["message"]["en"]) and not CJK.search(err["message"]["en"]), name
    r = client.get("/webchat/api/updates", params={"after": 0})
    assert r.status_code == 400 and r.json()["error"] == "bad_user"
    assert set(r.json()["message"]) == {"zh", "en"}
    with rt.sessions() as s:
        for model in (ProcessedMessage, Conversation, Identity):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_empty_and_huge_texts_get_a_polite_reply(client: httpx.Client) -> None:
    u = WebUser(client, "web-edge")
    u.say("")
    assert "没有收到文字" in u.text
    u.say(None)
    assert "没有收到文字" in u.text
    u.say("   \n ")
    assert "没有收到文字" in u.text
    u.say("预约" * 5000)
    assert "10000 个字符" in u.text and "太长" in u.text
    u.say("a" * 10_000)
    assert "10000 characters" in u.text and "too long" in u.text
    u.say("你好")  # and the conversation goes on
    assert "邀请码" in u.text


# ------------------------------------------------------------------ retries


def test_the_same_message_id_twice_gets_the_same_replies_and_books_once(
    rt: Runtime, client: httpx.Client
) -> None:
    u = _linked(rt, client, "web-dup")
    first = u.post("下周三下午两点", message_id="dup-1")
    again = u.post("下周三下午两点", message_id="dup-1")
    assert "已为您预约面试：12月2日（周三）14:00" in first["replies"][0]["text"]
    assert again["replies"] == first["replies"]
    assert not first["duplicate"] and again["duplicate"]
    assert len(_active_bookings(rt)) == 1

    # A retry that arrives while the first request is still being handled (the page retries after
    # a dropped connection) is answered the same way, once.
    v = _linked(rt, client, "web-dup-2")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: v.post("后天下午3点半", message_id="dup-2"), range(2)))
    assert results[0]["replies"] == results[1]["replies"]
    assert "已为您预约面试：11月27日（周五）15:30" in results[0]["replies"][0]["text"]
    assert sorted(r["duplicate"] for r in results) == [False, True]
    assert len(_active_bookings(rt)) == 2


# ------------------------------------------------------------------ proactive messages


def _updates(client: httpx.Client, user: str, after: int = 0) -> dict[str, Any]:
    r = client.get("/webchat/api/updates", params={"user": user, "after": after})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_reminder_reaches_only_its_user_through_updates(rt: Runtime, client: httpx.Client) -> None:
    a = _linked(rt, client, "web-a")
    a.press("11月26日（周四）09:30")
    a_booking = _booking_id(a.ics_url())
    b = _linked(rt, client, "web-b", lang="en", position="RM")
    b.press("Thu 26 Nov, 10:00")
    b_booking = _booking_id(b.ics_url())
    assert _updates(client, "web-a") == {"messages": [], "last": 0}

    assert rt.reminders.send(a_booking, "24h")
    got = _updates(client, "web-a")
    [m] = got["messages"]
    assert m["text"].startswith("提醒：您的综合柜员面试在明天 11月26日（周四）09:30")
    assert "世纪大道100号" in m["text"]
    assert [c["title"] for c in m["choices"]] == ["改期", "取消面试"]
    assert got["last"] == m["id"]
    assert _updates(client, "web-b") == {"messages": [], "last": 0}
    assert _updates(client, "web-a", after=got["last"]) == {"messages": [], "last": got["last"]}
    assert _updates(client, "someone-else")["messages"] == []

    assert rt.reminders.send(a_booking, "1h")
    later = _updates(client, "web-a", after=got["last"])
    [one_hour] = later["messages"]
    assert one_hour["text"].startswith("提醒：您的综合柜员面试将在 1 小时后（11月26日（周四）09:30）开始")
    assert [x["id"] for x in _updates(client, "web-a")["messages"]] == [m["id"], later["last"]]

    assert rt.reminders.send(b_booking, "24h")
    [bm] = _updates(client, "web-b")["messages"]
    assert bm["text"].startswith(
        "Reminder: your Relationship Manager interview is tomorrow, Thu 26 Nov, 10:00"
    )
    assert _updates(client, "web-a", after=later["last"])["messages"] == []

    # The reminder's buttons work like any other.
    a.history.append(m)
    a.press("改期")
    assert "您现在预约的是 11月26日（周四）09:30" in a.text

    # No reminder for a cancelled interview.
    b.say("please cancel my interview")
    b.press("Yes")
    assert "is cancelled" in b.text
    assert not rt.reminders.send(b_booking, "1h")
    assert len(_updates(client, "web-b")["messages"]) == 1


# ------------------------------------------------------------------ pages


def test_privacy_notice_and_the_chat_page(client: httpx.Client) -> None:
    r = client.get("/privacy")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for words in (
        "隐私说明",
        "人工智能",
        "6 个月",
        "撤回同意",
        "Privacy notice",
        "AI software",
        "6 months",
        "withdraw consent",
        "recruit@demobank.example",
    ):
        assert words in r.text, words
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "AI 招聘助手" in page.text and "/webchat/api/messages" in page.text
    assert client.get("/healthz").json() == {"ok": True}
