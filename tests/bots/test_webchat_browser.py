"""The web chat page in a real browser (headless Chromium through Playwright), against the real server.

Chromium comes from the system (Debian's ``chromium`` package; scripts/setup.sh installs it) — this
test fails, it does not skip, when it is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect, sync_playwright

from bots.runtime import Runtime
from bots.testing import FakeClock
from tests.conftest import TZ, invite

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ICS_HREF = re.compile(r"^(http://127\.0\.0\.1:\d+)/calendar/(\d+)/[0-9a-f]+\.ics$")
POLL_WAIT_MS = 6_000  # the page polls for updates every 3 s


@pytest.fixture(scope="module")
def chromium() -> Iterator[Callable[[], Browser]]:
    """Launches Chromium on first use, inside the test, so that a missing browser FAILS the test."""
    launched: list[Browser] = []
    with sync_playwright() as p:

        def get() -> Browser:
            if not launched:
                if not CHROMIUM.is_file():
                    pytest.fail(
                        f"Chromium is not installed at {CHROMIUM}; the web chat browser test needs it "
                        "(apt-get install chromium, or run scripts/setup.sh)",
                        pytrace=False,
                    )
                try:
                    launched.append(
                        p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
                    )
                except Error as exc:
                    pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
            return launched[0]

        yield get
        for b in launched:
            b.close()


@pytest.fixture
def context_for(chromium: Callable[[], Browser]) -> Iterator[Callable[[str], BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(locale: str) -> BrowserContext:
        ctx = chromium().new_context(locale=locale, viewport={"width": 480, "height": 900})
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx

    yield make
    for c in contexts:
        c.close()


def _open(ctx: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url)
    return page, errors


def _type(page: Page, text: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    expect(page.locator(".msg.me").last).to_have_text(text)
    expect(page.locator("#text")).to_have_value("")


def _bubble(page: Page, text: str):  # type: ignore[no-untyped-def]
    """The newest bot bubble containing ``text`` (waits for it)."""
    loc = page.locator(".msg.bot").filter(has_text=text).last
    expect(loc).to_be_visible()
    return loc


def _click(page: Page, bubble_text: str, button: str, *, exact: bool = True) -> None:
    b = _bubble(page, bubble_text).get_by_role("button", name=button, exact=exact)
    expect(b).to_be_enabled()
    b.click()
    expect(b).to_be_disabled()  # a pressed set of buttons is spent
    expect(page.locator(".msg.me").last).to_have_text(b.inner_text())


def _expect_scrolled_to_bottom(page: Page) -> None:
    """The newest message, its buttons included, is in view."""
    page.wait_for_function(
        "() => { const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 2; }",
        timeout=2_000,
    )
    last = page.locator(".msg").last.locator("button, a").last
    if last.count():
        box, log = last.bounding_box(), page.locator("#log").bounding_box()
        assert box and log and box["y"] + box["height"] <= log["y"] + log["height"], (box, log)


def test_zh_candidate_books_downloads_the_calendar_and_gets_a_reminder(
    rt: Runtime, server: str, clock: FakeClock, context_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code = invite(rt, name="张三")
    ctx = context_for("zh-CN")
    page, errors = _open(ctx, server + "/")
    expect(page.locator("header h1")).to_have_text("示范银行 · AI 招聘助手")
    expect(page.locator(".msg.bot").first).to_contain_text("请发送 HR 给您的面试邀请码")
    expect(page.locator("#send")).to_have_text("发送")

    _type(page, code)
    _bubble(page, "已确认：张三，您申请的是综合柜员岗位")
    _bubble(page, "我是 AI 助手")
    notice = _bubble(page, "隐私说明")
    with ctx.expect_page() as opened:
        notice.get_by_role("link", name=f"{server}/privacy").click()
    expect(opened.value.locator("h1").first).to_have_text("隐私说明")
    expect(opened.value.locator("body")).to_contain_text("Privacy notice")
    opened.value.close()
    _click(page, "单独同意事项 1/2", "同意")
    _click(page, "单独同意事项 2/2", "同意")

    slots = _bubble(page, "请选择面试时间").get_by_role("button")
    expect(slots.first).to_have_text("11月26日（周四）09:30")
    assert slots.count() >= 6
    _click(page, "请选择面试时间", "11月26日（周四）09:30")
    _bubble(page, "已为您预约面试：11月26日（周四）09:30")

    _click(page, "已为您预约面试", "添加到日历 (.ics)")
    link = _bubble(page, "这是您的面试日历邀请").locator("a.file")
    expect(link).to_have_text("📎 interview.ics")
    href = link.get_attribute("href") or ""
    m = ICS_HREF.match(href)
    assert m and m.group(1) == server, href
    booking_id = int(m.group(2))
    with page.expect_download() as dl:
        link.click()
    assert dl.value.suggested_filename == "interview.ics"
    ics = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VCALENDAR" in ics and "DTSTART:20261126T013000Z" in ics and "TRIGGER:-PT1H" in ics
    fetched = ctx.request.get(href)
    assert fetched.ok and fetched.headers["content-type"].startswith("text/calendar")

    _type(page, "我的进度")
    _bubble(page, "当前进度：综合柜员岗位，已预约面试（11月26日（周四）09:30）")

    clock.now = datetime(2026, 11, 26, 8, 30, tzinfo=TZ)  # an hour before the interview
    assert rt.reminders.send(booking_id, "1h")
    reminder = page.locator(".msg.bot").filter(has_text="提醒：您的综合柜员面试将在 1 小时后")
    expect(reminder).to_be_visible(timeout=POLL_WAIT_MS)
    expect(reminder).to_contain_text("11月26日（周四）09:30")
    expect(reminder.get_by_role("button")).to_have_text(["改期", "取消面试"])
    _expect_scrolled_to_bottom(page)
    page.wait_for_timeout(3_500)  # one more poll: the reminder is shown once
    expect(reminder).to_have_count(1)

    page.screenshot(path=str(tmp_path / "webchat-zh.png"), full_page=True)
    assert errors == []


def test_en_candidate_writes_a_time_and_picks_an_alternative(
    rt: Runtime, server: str, clock: FakeClock, context_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code = invite(rt, name="Alex Chen")
    ctx = context_for("en-US")
    page, errors = _open(ctx, server + "/")
    expect(page.locator("header h1")).to_have_text("Demo Bank · AI recruiting assistant")
    expect(page.locator(".msg.bot").first).to_contain_text("Please send the invitation code HR gave you")
    expect(page.locator("#text")).to_have_attribute("placeholder", re.compile("^Type a message"))

    _type(page, code)
    _bubble(page, "Confirmed: Alex Chen, your application is for Bank Teller")
    _click(page, "Separate consent 1 of 2", "I agree")
    _click(page, "Separate consent 2 of 2", "I agree")
    _bubble(page, "Please choose an interview time")

    _type(page, "next Tuesday 3pm")
    alternatives = _bubble(page, "There's no interview time open at Tue 1 Dec, 15:00").get_by_role("button")
    expect(alternatives).to_have_text(["Tue 1 Dec, 10:30", "Tue 1 Dec, 14:00", "Tue 1 Dec, 15:30"])
    _click(page, "There's no interview time open", "Tue 1 Dec, 14:00")
    booked = _bubble(page, "Your interview is booked: Tue 1 Dec, 14:00")
    expect(booked.get_by_role("button")).to_have_text(
        ["Add to calendar (.ics)", "Reschedule", "Cancel the interview"]
    )
    _click(page, "Your interview is booked", "Add to calendar (.ics)")
    href = _bubble(page, "Here is your calendar invitation").locator("a.file").get_attribute("href") or ""
    m = ICS_HREF.match(href)
    assert m, href
    ics = ctx.request.get(href)
    assert ics.ok and "DTSTART:20261201T060000Z" in ics.text()

    clock.now = datetime(2026, 11, 30, 14, 0, tzinfo=TZ)  # the day before
    assert rt.reminders.send(int(m.group(2)), "24h")
    reminder = page.locator(".msg.bot").filter(has_text="Reminder: your Bank Teller interview is tomorrow")
    expect(reminder).to_be_visible(timeout=POLL_WAIT_MS)
    expect(reminder).to_contain_text("Tue 1 Dec, 14:00")
    _click(page, "Reminder: your Bank Teller interview", "Reschedule")
    _bubble(page, "Your interview is now at Tue 1 Dec, 14:00. Please choose a new time")
    _expect_scrolled_to_bottom(page)

    page.screenshot(path=str(tmp_path / "webchat-en.png"), full_page=True)
    assert errors == []
