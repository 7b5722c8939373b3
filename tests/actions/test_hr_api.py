"""Leave balances and payslips from the HR system's read API: against a fake HR system on 127.0.0.1 —
both calls, every way they can fail (each a value, never an exception), the settings, URL quoting of
odd employee references, exact money, and the messages in zh and en."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from actions.hr_api import (
    HrApi,
    HrApiSettings,
    LeaveBalance,
    NotFound,
    Payslip,
    Unavailable,
    format_leave,
    format_payslip,
)
from tests.actions.hr_api_fake import FakeHrApi

TOKEN = "hr-api-token-123"
TIMEOUT = 0.4
SLACK = 0.3  # scheduling on a busy CI machine
LEAVE = {
    "annual_days": 7.5,
    "annual_total": 15,
    "sick_days": 5,
    "other": {"marriage": 3},
    "as_of": "2026-11-26",
}
SLIP = {
    "gross": "18000.00",
    "net": "14210.35",
    "deductions": {"social_insurance": "1890.00", "housing_fund": "1260.00", "income_tax": "639.65"},
    "currency": "CNY",
    "pay_date": "2026-10-10",
    "download_url": "https://hr.bank.example/payslips/E001/2026-10.pdf",
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeHrApi]:
    hr = FakeHrApi(TOKEN).start()
    yield hr
    hr.stop()


@pytest.fixture
def fake(server: FakeHrApi) -> FakeHrApi:
    server.reset()
    server.leave["E001"] = dict(LEAVE)
    server.payslips["E001", "2026-10"] = dict(SLIP)
    return server


@pytest.fixture
def api(fake: FakeHrApi) -> Iterator[HrApi]:
    with HrApi(HrApiSettings(url=fake.url, token=TOKEN, timeout=TIMEOUT)) as a:
        yield a


def _slip(p: Payslip | NotFound | Unavailable) -> Payslip:
    assert isinstance(p, Payslip), p
    return p


def _leave(b: LeaveBalance | NotFound | Unavailable) -> LeaveBalance:
    assert isinstance(b, LeaveBalance), b
    return b


# ---------------------------------------------------------------------------------------- success
def test_leave_balance(api: HrApi, fake: FakeHrApi) -> None:
    b = _leave(api.leave_balance("E001"))
    assert b == LeaveBalance(7.5, 15.0, 5.0, {"marriage": 3.0}, date(2026, 11, 26))
    assert isinstance(b.annual_total, float) and isinstance(b.other["marriage"], float)
    (seen,) = fake.requests
    assert seen.authorized and seen.raw_path == "/api/employees/E001/leave-balance"


def test_leave_balance_optional_fields_may_be_null_or_absent(api: HrApi, fake: FakeHrApi) -> None:
    fake.leave["E002"] = {"annual_days": 0, "annual_total": None, "as_of": "2026-01-05"}
    b = _leave(api.leave_balance("E002"))
    assert (b.annual_days, b.annual_total, b.sick_days, dict(b.other)) == (0.0, None, None, {})


def test_payslip(api: HrApi, fake: FakeHrApi) -> None:
    p = _slip(api.payslip("E001", 2026, 10))
    assert (p.year, p.month, p.currency, p.pay_date) == (2026, 10, "CNY", date(2026, 10, 10))
    assert p.gross == Decimal("18000.00") and p.net == Decimal("14210.35")
    assert list(p.deductions.items()) == [
        ("social_insurance", Decimal("1890.00")),
        ("housing_fund", Decimal("1260.00")),
        ("income_tax", Decimal("639.65")),
    ]
    assert p.download_url == SLIP["download_url"]
    assert fake.requests[-1].raw_path == "/api/employees/E001/payslips/2026-10"
    assert fake.requests[-1].authorized


def test_payslip_month_is_zero_padded(api: HrApi, fake: FakeHrApi) -> None:
    fake.payslips["E001", "2027-01"] = {"gross": "1.00", "net": "1.00"}
    p = _slip(api.payslip("E001", 2027, 1))
    assert p.currency == "CNY" and p.deductions == {} and p.pay_date is None and p.download_url is None


def test_money_is_exact_decimal(api: HrApi, fake: FakeHrApi) -> None:
    """JSON numbers are read as Decimal straight from their digits (never through a float), and
    strings keep every digit they have."""
    fake.malformed(
        '{"gross": 18000.10, "net": 0.3, "deductions": {"a": 0.1, "b": 0.2, "c": "0.000001"},'
        ' "currency": "CNY"}'
    )
    p = _slip(api.payslip("E001", 2026, 10))
    assert all(type(v) is Decimal for v in (p.gross, p.net, *p.deductions.values()))
    assert p.gross == Decimal("18000.10") and str(p.gross) == "18000.10"
    assert p.deductions["a"] + p.deductions["b"] == p.net == Decimal("0.3")  # 0.1 + 0.2 != 0.3 as floats
    assert p.deductions["c"] == Decimal("0.000001")
    fake.payslips["E003", "2026-10"] = {"gross": "123456789012.34", "net": "99999999999.99"}
    big = _slip(api.payslip("E003", 2026, 10))
    assert big.gross == Decimal("123456789012.34") and big.net == Decimal("99999999999.99")


def test_a_client_passed_in_is_used_and_left_open(fake: FakeHrApi) -> None:
    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}) as client:
        api = HrApi(HrApiSettings(url=fake.url, token=TOKEN, timeout=TIMEOUT), client=client)
        assert isinstance(api.leave_balance("E001"), LeaveBalance)
        api.close()
        assert not client.is_closed
        assert seen == ["/api/employees/E001/leave-balance"]


# ---------------------------------------------------------------------------------------- quoting
@pytest.mark.parametrize(
    ("ref", "raw"),
    [
        ("E 001/x?y#z", "E%20001%2Fx%3Fy%23z"),
        ("张三", "%E5%BC%A0%E4%B8%89"),
        ("50%", "50%25"),
        ("..", "%2E%2E"),
        ("a.b-c_d~e", "a.b-c_d~e"),
        ("a+b&c=d;e", "a%2Bb%26c%3Dd%3Be"),
    ],
)
def test_odd_employee_refs_are_one_quoted_segment(api: HrApi, fake: FakeHrApi, ref: str, raw: str) -> None:
    fake.leave[ref] = dict(LEAVE, annual_days=1)
    fake.payslips[ref, "2026-10"] = dict(SLIP, net="1.00")
    assert _leave(api.leave_balance(ref)).annual_days == 1.0
    assert _slip(api.payslip(ref, 2026, 10)).net == Decimal("1.00")
    leave, slip = fake.requests
    assert leave.raw_path == f"/api/employees/{raw}/leave-balance"
    assert leave.segments == ("employees", ref, "leave-balance")
    assert slip.segments == ("employees", ref, "payslips", "2026-10")


def test_bad_arguments_are_the_callers_bug(api: HrApi) -> None:
    with pytest.raises(ValueError):
        api.leave_balance("  ")
    with pytest.raises(ValueError):
        api.payslip("E001", 2026, 13)


# ---------------------------------------------------------------------------------------- not found
def test_not_found(api: HrApi, fake: FakeHrApi) -> None:
    assert api.leave_balance("E404") == NotFound("employee")
    assert api.payslip("E404", 2026, 10) == NotFound("employee")
    assert api.payslip("E001", 2026, 9) == NotFound("payslip")
    fake.fail(1, 404)  # a 404 that says nothing: for a payslip, no payslip that month
    assert api.payslip("E001", 2026, 10) == NotFound("payslip")
    assert len(fake.requests) == 4  # a 404 is an answer: no retry


# ---------------------------------------------------------------------------------------- failures
def test_not_configured() -> None:
    for settings in (
        HrApiSettings(url=None, token=None),
        HrApiSettings(url="http://127.0.0.1:9/api", token=None),
        HrApiSettings(url=None, token=TOKEN),
    ):
        api = HrApi(settings)
        assert not api.configured
        assert api.leave_balance("E001") == Unavailable("not_configured")
        assert api.payslip("E001", 2026, 10) == Unavailable("not_configured")


def test_wrong_token_is_unauthorized(fake: FakeHrApi) -> None:
    with HrApi(HrApiSettings(url=fake.url, token="wrong", timeout=TIMEOUT)) as api:
        assert api.leave_balance("E001") == Unavailable("unauthorized")
        assert api.payslip("E001", 2026, 10) == Unavailable("unauthorized")
    assert [r.authorized for r in fake.requests] == [False, False]  # no retry


def test_forbidden_is_unauthorized(api: HrApi, fake: FakeHrApi) -> None:
    fake.fail(1, 403)
    assert api.payslip("E001", 2026, 10) == Unavailable("unauthorized")
    assert len(fake.requests) == 1


def test_a_5xx_is_tried_once_more(api: HrApi, fake: FakeHrApi) -> None:
    fake.fail(1, 500)
    assert isinstance(api.payslip("E001", 2026, 10), Payslip)
    assert len(fake.requests) == 2


def test_a_5xx_twice_is_an_error(api: HrApi, fake: FakeHrApi) -> None:
    fake.fail(2, 503)
    assert api.leave_balance("E001") == Unavailable("error")
    assert len(fake.requests) == 2
    fake.fail(3, 500)
    assert api.payslip("E001", 2026, 10) == Unavailable("error")
    assert len(fake.requests) == 4  # never a third try


@pytest.mark.parametrize("status", [400, 302, 409, 429])
def test_other_statuses_are_errors_without_retry(api: HrApi, fake: FakeHrApi, status: int) -> None:
    fake.fail(1, status)
    assert api.leave_balance("E001") == Unavailable("error")
    assert len(fake.requests) == 1


def test_a_hang_is_a_timeout(api: HrApi, fake: FakeHrApi) -> None:
    fake.hang(1, TIMEOUT * 4)
    t = time.monotonic()
    assert api.leave_balance("E001") == Unavailable("timeout")
    assert time.monotonic() - t < 2 * TIMEOUT  # one try: about one timeout, well under two
    assert len(fake.requests) == 1  # a read timeout is not retried: the time is spent


def test_the_whole_call_stays_within_two_timeouts(api: HrApi, fake: FakeHrApi) -> None:
    fake.fail(1, 500, delay=TIMEOUT * 0.7)  # a slow 5xx, then a hang
    fake.hang(1, TIMEOUT * 4)
    t = time.monotonic()
    assert api.payslip("E001", 2026, 10) == Unavailable("timeout")
    elapsed = time.monotonic() - t
    assert len(fake.requests) == 2
    assert elapsed < 2 * TIMEOUT + SLACK, elapsed


def test_a_slow_5xx_still_leaves_time_for_the_retry(api: HrApi, fake: FakeHrApi) -> None:
    fake.fail(1, 502, delay=TIMEOUT * 0.9)
    t = time.monotonic()
    assert isinstance(api.leave_balance("E001"), LeaveBalance)
    assert time.monotonic() - t < 2 * TIMEOUT + SLACK
    assert len(fake.requests) == 2


def test_connection_refused_is_an_error_after_one_retry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the call: nothing listens there
    with HrApi(HrApiSettings(url=f"http://127.0.0.1:{port}/api", token=TOKEN, timeout=TIMEOUT)) as api:
        t = time.monotonic()
        assert api.leave_balance("E001") == Unavailable("error")
        assert api.payslip("E001", 2026, 10) == Unavailable("error")
        assert time.monotonic() - t < 4 * TIMEOUT


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"annual_days": 7.5, "as_of": ',
        "[1, 2, 3]",
        '"a string"',
        "",
        b"\xff\xfe{}",
        '{"annual_days": NaN, "as_of": "2026-11-26"}',
        '{"annual_days": "7.5", "as_of": "2026-11-26"}',
        '{"annual_days": true, "as_of": "2026-11-26"}',
        '{"annual_days": 7.5}',
        '{"annual_days": 7.5, "as_of": "26/11/2026"}',
        '{"annual_days": 7.5, "as_of": 20261126}',
        '{"annual_days": 7.5, "as_of": "2026-11-26", "other": [3]}',
        '{"annual_days": 7.5, "as_of": "2026-11-26", "other": {"marriage": "3"}}',
        '{"annual_days": 7.5, "as_of": "2026-11-26", "sick_days": "five"}',
        '{"annual_days": 1e999, "as_of": "2026-11-26"}',
        '{"annual_days": 1' + "0" * 400 + ', "as_of": "2026-11-26"}',
        '{"annual_days": 1' + "0" * 5000 + ', "as_of": "2026-11-26"}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_malformed_leave_balances_are_bad_responses(api: HrApi, fake: FakeHrApi, body: str | bytes) -> None:
    fake.malformed(body)
    assert api.leave_balance("E001") == Unavailable("bad_response")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "doc",
    [
        {"net": "1.00"},
        {"gross": "18,000.00", "net": "1.00"},
        {"gross": "18000.00", "net": "1.00 CNY"},
        {"gross": "Infinity", "net": "1.00"},
        {"gross": "1e3", "net": "1.00"},
        {"gross": True, "net": "1.00"},
        {"gross": "1.00", "net": None},
        {"gross": "1.00", "net": "1.00", "deductions": ["tax"]},
        {"gross": "1.00", "net": "1.00", "deductions": {"tax": None}},
        {"gross": "1.00", "net": "1.00", "currency": "rmb"},
        {"gross": "1.00", "net": "1.00", "currency": 156},
        {"gross": "1.00", "net": "1.00", "pay_date": "next Friday"},
        {"gross": "1.00", "net": "1.00", "download_url": 42},
        {"gross": 1e30, "net": "1.00"},
        {"gross": 10**20, "net": "1.00"},
        {"gross": "1234567890123456.00", "net": "1.00"},
    ],
)
def test_malformed_payslips_are_bad_responses(api: HrApi, fake: FakeHrApi, doc: dict[str, Any]) -> None:
    fake.payslips["E001", "2026-11"] = doc
    assert api.payslip("E001", 2026, 11) == Unavailable("bad_response")


def test_a_huge_body_is_a_bad_response(api: HrApi, fake: FakeHrApi) -> None:
    fake.malformed('{"annual_days": 1, "as_of": "2026-11-26", "pad": "' + "x" * 300_000 + '"}')
    assert api.leave_balance("E001") == Unavailable("bad_response")


def test_a_download_url_that_is_not_http_is_dropped(api: HrApi, fake: FakeHrApi) -> None:
    fake.payslips["E001", "2026-11"] = dict(SLIP, download_url="javascript:alert(1)")
    p = _slip(api.payslip("E001", 2026, 11))
    assert p.download_url is None and p.net == Decimal("14210.35")


def test_the_log_never_shows_amounts(api: HrApi, fake: FakeHrApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert isinstance(api.payslip("E001", 2026, 10), Payslip)
    assert isinstance(api.leave_balance("E001"), LeaveBalance)
    fake.payslips["E001", "2026-11"] = dict(SLIP, gross="18,000.00")
    assert api.payslip("E001", 2026, 11) == Unavailable("bad_response")
    fake.fail(1, 500)
    assert isinstance(api.payslip("E001", 2026, 10), Payslip)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "talentbot.hrapi")
    assert "E001" in ours and "bad response" in ours
    for secret in ("18000", "18,000", "14210", "1890", "1260", "639", "7.5", TOKEN):
        assert secret not in ours, secret
    for secret in ("18000.00", "14210.35", "1890.00", "639.65", TOKEN):  # nor anyone else's (httpx…)
        assert secret not in caplog.text, secret


# ---------------------------------------------------------------------------------------- settings
def test_settings_from_env() -> None:
    s = HrApiSettings.from_env(
        {
            "TALENTBOT_HRAPI_URL": " https://hr.bank.example/api/ ",
            "TALENTBOT_HRAPI_TOKEN": TOKEN,
            "TALENTBOT_HRAPI_TIMEOUT": "2.5",
            "TALENTBOT_HR_PORTAL_URL": "https://hr.bank.example/self-service",
        }
    )
    assert s == HrApiSettings(
        "https://hr.bank.example/api", TOKEN, 2.5, "https://hr.bank.example/self-service"
    )
    assert s.configured
    off = HrApiSettings.from_env({"TALENTBOT_HR_PORTAL_URL": "https://hr.bank.example/"})
    assert off == HrApiSettings(None, None, 5.0, "https://hr.bank.example/") and not off.configured
    assert HrApiSettings.from_env({}) == HrApiSettings(None, None)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"TALENTBOT_HRAPI_URL": "ftp://hr.bank.example/api"}, "TALENTBOT_HRAPI_URL"),
        ({"TALENTBOT_HRAPI_URL": "hr.bank.example/api"}, "TALENTBOT_HRAPI_URL"),
        ({"TALENTBOT_HRAPI_URL": "https:///api"}, "TALENTBOT_HRAPI_URL"),
        ({"TALENTBOT_HRAPI_URL": "https://u:p@hr.bank.example/api"}, "TALENTBOT_HRAPI_URL"),
        ({"TALENTBOT_HRAPI_URL": "https://hr.bank.example/api?x=1"}, "TALENTBOT_HRAPI_URL"),
        ({"TALENTBOT_HRAPI_URL": "https://hr.bank.example/api"}, "TALENTBOT_HRAPI_TOKEN"),
        ({"TALENTBOT_HRAPI_TOKEN": "two words"}, "TALENTBOT_HRAPI_TOKEN"),
        ({"TALENTBOT_HRAPI_TIMEOUT": "abc"}, "TALENTBOT_HRAPI_TIMEOUT"),
        ({"TALENTBOT_HRAPI_TIMEOUT": "0"}, "TALENTBOT_HRAPI_TIMEOUT"),
        ({"TALENTBOT_HRAPI_TIMEOUT": "-1"}, "TALENTBOT_HRAPI_TIMEOUT"),
        ({"TALENTBOT_HRAPI_TIMEOUT": "nan"}, "TALENTBOT_HRAPI_TIMEOUT"),
        ({"TALENTBOT_HR_PORTAL_URL": "javascript:alert(1)"}, "TALENTBOT_HR_PORTAL_URL"),
    ],
)
def test_bad_settings_say_which(env: dict[str, str], names: str) -> None:
    with pytest.raises(ValueError, match=names) as err:
        HrApiSettings.from_env(env)
    assert "two words" not in str(err.value)  # a token is never echoed


# ---------------------------------------------------------------------------------------- messages
BALANCE = LeaveBalance(7.5, 15.0, 5.0, {"marriage": 3.0, "compensatory": 1.5}, date(2026, 11, 26))
PAYSLIP = Payslip(
    2026,
    10,
    Decimal("18000.00"),
    Decimal("14210.35"),
    {
        "social_insurance": Decimal("1890.00"),
        "housing_fund": Decimal("1260.00"),
        "income_tax": Decimal("639.65"),
    },
    "CNY",
    date(2026, 10, 10),
    None,
)


def test_format_leave() -> None:
    assert format_leave(BALANCE, "zh") == (
        "截至2026年11月26日，您的年假还剩 7.5 天（本年度共 15 天）。病假还剩 5 天。"
        "其他假期：婚假 3 天、调休 1.5 天。"
    )
    assert format_leave(BALANCE, "en") == (
        "As of 26 November 2026, you have 7.5 days of annual leave left (of 15 this year). "
        "Sick leave: 5 days left. Other leave: marriage leave 3 days, time off in lieu 1.5 days."
    )
    bare = LeaveBalance(1.0, None, None, {"sabbatical_leave": 2.0}, date(2026, 1, 2))
    assert (
        format_leave(bare, "zh") == "截至2026年1月2日，您的年假还剩 1 天。其他假期：sabbatical leave 2 天。"
    )
    assert format_leave(bare, "en") == (
        "As of 2 January 2026, you have 1 day of annual leave left. Other leave: sabbatical leave 2 days."
    )


def test_format_payslip() -> None:
    assert format_payslip(PAYSLIP, "zh") == (
        "2026年10月工资条：应发 18,000.00 元，实发 14,210.35 元；"
        "扣除：社保 1,890.00、公积金 1,260.00、个税 639.65。发薪日 10月10日。"
    )
    assert format_payslip(PAYSLIP, "en") == (
        "Payslip for October 2026: gross CNY 18,000.00, net CNY 14,210.35; deductions: social insurance "
        "1,890.00, housing fund 1,260.00, income tax 639.65. Paid on 10 October."
    )


def test_format_payslip_other_cases() -> None:
    december = Payslip(
        2026,
        12,
        Decimal("1234567.005"),
        Decimal("0.125"),
        {},
        "USD",
        date(2027, 1, 8),
        "https://hr.bank.example/p.pdf",
    )
    assert format_payslip(december, "zh") == (
        "2026年12月工资条：应发 1,234,567.01 美元，实发 0.13 美元。发薪日 2027年1月8日。"
        "下载：https://hr.bank.example/p.pdf"
    )
    assert format_payslip(december, "en") == (
        "Payslip for December 2026: gross USD 1,234,567.01, net USD 0.13. Paid on 8 January 2027. "
        "Download: https://hr.bank.example/p.pdf"
    )
    odd = Payslip(2026, 3, Decimal(5000), Decimal(4900), {"parking": Decimal("100")}, "CHF", None, None)
    assert (
        format_payslip(odd, "zh")
        == "2026年3月工资条：应发 5,000.00 CHF，实发 4,900.00 CHF；扣除：parking 100.00。"
    )


def test_formatting_from_the_fake_end_to_end(api: HrApi) -> None:
    assert format_payslip(_slip(api.payslip("E001", 2026, 10)), "zh").endswith(
        "发薪日 10月10日。下载：https://hr.bank.example/payslips/E001/2026-10.pdf"
    )
    assert format_leave(_leave(api.leave_balance("E001")), "zh").startswith(
        "截至2026年11月26日，您的年假还剩 7.5 天"
    )
