"""Reading an employee's leave balance and payslips from the bank's HR system (read-only).

Employees ask "我还有几天年假" or "my payslip for October"; when an HR-system API is configured the bot
answers from it, otherwise the flow says where to look (``HrApiSettings.portal_url``). Every call
returns a value — the data, :class:`NotFound` or :class:`Unavailable` — and never raises for anything
the HR system or the network does, so a flow only matches on the result.

The contract with the HR system (ours to define; the fake in ``tests/actions/hr_api_fake.py`` follows
it). Every request carries ``Authorization: Bearer <TALENTBOT_HRAPI_TOKEN>``; ``{ref}`` is the
employee reference, percent-encoded as one path segment (``/``, ``?``, ``#``, ``%``, spaces and
non-ASCII all escaped; a ref of only dots has its dots escaped too, so that no client or proxy
collapses it as a ``..`` segment)::

    GET {url}/employees/{ref}/leave-balance
    200 {"annual_days": 7.5, "annual_total": 15, "sick_days": 5, "other": {"marriage": 3},
         "as_of": "2026-11-26"}

    GET {url}/employees/{ref}/payslips/{YYYY-MM}
    200 {"gross": "18000.00", "net": "14210.35",
         "deductions": {"social_insurance": "1890.00", "housing_fund": "1260.00", "income_tax": "639.65"},
         "currency": "CNY", "pay_date": "2026-10-10", "download_url": "https://..."}

Fields: ``annual_days`` (number) and ``as_of`` (ISO date) are required for a leave balance;
``annual_total`` and ``sick_days`` may be null or absent, ``other`` is an object of leave kind → days
(absent: none). ``gross`` and ``net`` are required for a payslip: money is a decimal string (best) or
a JSON number, and is read exactly as :class:`~decimal.Decimal` — never through a float;
``deductions`` is an object of name → money, shown in the HR system's order; ``currency`` is an ISO
4217 code (absent: CNY); ``pay_date`` (ISO date) and ``download_url`` (http(s)) may be null or
absent — a download URL of any other scheme is dropped.

Answers: 200 with such a body — the data; 404 — :class:`NotFound` (``employee``; for a payslip the
body ``{"not_found": "employee"}`` says the employee is unknown, any other 404 that there is no
payslip for that month); 401/403 — ``Unavailable("unauthorized")``; 5xx, any other status, redirects
(not followed) and network errors — ``Unavailable("error")``; timeouts — ``Unavailable("timeout")``;
a body that is not JSON, not an object, lacks a required field or has one of the wrong type (or is
larger than 256 KiB) — ``Unavailable("bad_response")``. A GET is safe to repeat, so a connect error,
a connection the server dropped before answering, or a 5xx is tried once more after a short pause;
the whole call, both tries and the pause, stays within two timeouts.

Privacy: the log says which call was made for which employee reference and how it ended, never an
amount, a balance or a body. The formatting helpers are for the employee's own conversation only.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import httpx

from actions.plain_text import MONTHS_EN
from scoring.questions import LocalText

__all__ = [
    "DEDUCTION_NAMES",
    "LEAVE_NAMES",
    "REASONS",
    "TEXTS",
    "HrApi",
    "HrApiSettings",
    "LeaveBalance",
    "NotFound",
    "Payslip",
    "Unavailable",
    "format_leave",
    "format_payslip",
]

log = logging.getLogger("talentbot.hrapi")

REASONS = ("not_configured", "timeout", "error", "unauthorized", "bad_response")
RETRY_PAUSE = 0.25  # seconds before the second try (at most a quarter of the timeout)
MAX_BODY = 256 * 1024
USER_AGENT = "talentbot-hrapi/1"
_MONEY = re.compile(r"[+-]?\d{1,15}(?:\.\d{1,8})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces: what a header value can carry
_CENT = Decimal("0.01")
_MONEY_LIMIT = Decimal(10) ** 15  # what _MONEY lets through: formatting to the cent stays exact


# ------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True, slots=True)
class HrApiSettings:
    """Where the HR system's API is and how to reach it; without ``url`` and ``token`` the feature is
    off and the chat points employees at ``portal_url`` (the HR portal they can look at themselves)."""

    url: str | None  # TALENTBOT_HRAPI_URL, e.g. https://hr.bank.example/api (no trailing slash)
    token: str | None  # TALENTBOT_HRAPI_TOKEN, sent as a Bearer token
    timeout: float = 5.0  # TALENTBOT_HRAPI_TIMEOUT, seconds per try; a call takes at most twice this
    portal_url: str | None = None  # TALENTBOT_HR_PORTAL_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HrApiSettings:
        url = _opt(env, "TALENTBOT_HRAPI_URL")
        token = _opt(env, "TALENTBOT_HRAPI_TOKEN")
        portal = _opt(env, "TALENTBOT_HR_PORTAL_URL")
        raw_timeout = _opt(env, "TALENTBOT_HRAPI_TIMEOUT")
        try:
            timeout = 5.0 if raw_timeout is None else float(raw_timeout)
        except ValueError:
            raise ValueError(
                f"TALENTBOT_HRAPI_TIMEOUT must be a number of seconds, not {raw_timeout!r}"
            ) from None
        if not (math.isfinite(timeout) and 0 < timeout <= 120):
            raise ValueError("TALENTBOT_HRAPI_TIMEOUT must be more than 0 and at most 120 seconds")
        if url is not None:
            _check_url("TALENTBOT_HRAPI_URL", url, api=True)
            url = url.rstrip("/")
            if token is None:
                raise ValueError("TALENTBOT_HRAPI_TOKEN is required with TALENTBOT_HRAPI_URL")
        if token is not None and not _TOKEN.fullmatch(token):
            raise ValueError("TALENTBOT_HRAPI_TOKEN must be printable ASCII without spaces or line breaks")
        if portal is not None:
            _check_url("TALENTBOT_HR_PORTAL_URL", portal, api=False)
        return cls(url=url, token=token, timeout=timeout, portal_url=portal)

    @property
    def configured(self) -> bool:
        return bool(self.url) and bool(self.token)


def _opt(env: Mapping[str, str], name: str) -> str | None:
    return (env.get(name) or "").strip() or None


def _check_url(name: str, url: str, *, api: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL such as https://hr.bank.example/api")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{name} must not carry credentials (the token goes in TALENTBOT_HRAPI_TOKEN)")
    if api and (parts.query or parts.fragment):
        raise ValueError(f"{name} must not have a query or fragment: paths are appended to it")


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True)
class LeaveBalance:
    annual_days: float  # annual leave left
    annual_total: float | None  # annual leave granted this year
    sick_days: float | None
    other: Mapping[str, float]  # other leave kinds (marriage, compensatory…) → days left
    as_of: date


@dataclass(frozen=True, slots=True)
class Payslip:
    year: int
    month: int
    gross: Decimal
    net: Decimal
    deductions: Mapping[str, Decimal]  # in the HR system's order
    currency: str
    pay_date: date | None
    download_url: str | None


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The HR system could not answer: ``reason`` is one of :data:`REASONS`."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotFound:
    """The HR system does not know the ``employee``, or has no ``payslip`` for that month."""

    what: str


class _Bad(ValueError):
    """A body that breaks the contract; the message names the field, never its value."""


class _Deadline(Exception):
    """The body was still arriving when the call's time was up."""


# ------------------------------------------------------------------------------------------ client
class HrApi:
    """The HR system's read API (see the module docstring). Synchronous, like the actions that call it;
    safe to share between threads. A ``client`` passed in is used as is and left open by
    :meth:`close`; otherwise one is made on first use and closed by :meth:`close`."""

    def __init__(self, settings: HrApiSettings, *, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def close(self) -> None:
        with self._lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> HrApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def leave_balance(self, employee_ref: str) -> LeaveBalance | NotFound | Unavailable:
        """The employee's leave balance. Raises only for an empty ``employee_ref`` (a caller's bug)."""
        _check_ref(employee_ref)
        got = self._get("leave balance", employee_ref, "leave-balance", missing="employee")
        if not isinstance(got, dict):
            return got
        try:
            return _leave(got)
        except _Bad as exc:
            return self._bad("leave balance", employee_ref, exc)

    def payslip(self, employee_ref: str, year: int, month: int) -> Payslip | NotFound | Unavailable:
        """The employee's payslip for ``year``-``month``. Raises only for an empty ``employee_ref`` or a
        month that cannot exist (a caller's bug)."""
        _check_ref(employee_ref)
        if not (1 <= month <= 12 and 1900 <= year <= 9999):
            raise ValueError(f"no such month: {year}-{month}")
        period = f"{year:04d}-{month:02d}"
        got = self._get("payslip " + period, employee_ref, f"payslips/{period}", missing="payslip")
        if not isinstance(got, dict):
            return got
        try:
            return _payslip(got, year, month)
        except _Bad as exc:
            return self._bad("payslip " + period, employee_ref, exc)

    # ---------------------------------------------------------------------------- the HTTP side
    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT})
            return self._client

    def _bad(self, what: str, ref: str, exc: _Bad) -> Unavailable:
        log.warning("HR API %s for employee %r: bad response: %s", what, ref, exc)
        return Unavailable("bad_response")

    def _get(
        self, what: str, ref: str, tail: str, *, missing: str
    ) -> dict[str, Any] | NotFound | Unavailable:
        """One GET with at most one retry: the parsed JSON object of a 200, or the outcome."""
        s = self.settings
        if not s.configured or s.url is None or s.token is None:
            return Unavailable("not_configured")
        url = f"{s.url}/employees/{_segment(ref)}/{tail}"
        headers = {"Authorization": f"Bearer {s.token}", "Accept": "application/json"}
        started = time.monotonic()
        deadline = started + 2 * s.timeout
        pause = min(RETRY_PAUSE, s.timeout / 4)
        attempt = 0
        while True:
            attempt += 1
            try:
                status, raw = self._once(url, headers, min(s.timeout, deadline - time.monotonic()), deadline)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
                detail = type(exc).__name__  # the request never reached the HR system, or got no answer
            except (httpx.TimeoutException, _Deadline) as exc:
                return self._fail(what, ref, "timeout", type(exc).__name__, started)
            except httpx.HTTPError as exc:
                return self._fail(what, ref, "error", type(exc).__name__, started)
            except _Bad as exc:
                return self._bad(what, ref, exc)
            else:
                if status == 200:
                    try:
                        doc = _json_object(raw)
                    except _Bad as exc:
                        return self._bad(what, ref, exc)
                    ms = (time.monotonic() - started) * 1000
                    log.info("HR API %s for employee %r: ok (%.0f ms)", what, ref, ms)
                    return doc
                if status == 404:
                    found = _not_found(raw, missing)
                    log.info("HR API %s for employee %r: not found (%s)", what, ref, found.what)
                    return found
                if status in (401, 403):
                    return self._fail(what, ref, "unauthorized", f"HTTP {status}", started)
                if status < 500:
                    return self._fail(what, ref, "error", f"HTTP {status}", started)
                reason, detail = "error", f"HTTP {status}"
            if attempt > 1 or deadline - time.monotonic() - pause < s.timeout / 4:
                return self._fail(what, ref, reason, detail, started)
            log.info("HR API %s for employee %r: %s; trying once more", what, ref, detail)
            time.sleep(pause)

    def _once(
        self, url: str, headers: Mapping[str, str], budget: float, deadline: float
    ) -> tuple[int, bytes]:
        """The status and (for 200 and 404) the body; a body still arriving at ``deadline`` or larger
        than :data:`MAX_BODY` ends the call."""
        with self._http().stream(
            "GET", url, headers=dict(headers), timeout=httpx.Timeout(budget), follow_redirects=False
        ) as r:
            if r.status_code not in (200, 404):
                return r.status_code, b""
            chunks: list[bytes] = []
            size = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY:
                    raise _Bad(f"the body is larger than {MAX_BODY // 1024} KiB")
                if time.monotonic() > deadline:
                    raise _Deadline
                chunks.append(chunk)
            return r.status_code, b"".join(chunks)

    def _fail(self, what: str, ref: str, reason: str, detail: str, started: float) -> Unavailable:
        log.warning(
            "HR API %s for employee %r: %s (%s, after %.0f ms)",
            what,
            ref,
            reason,
            detail,
            (time.monotonic() - started) * 1000,
        )
        return Unavailable(reason)


def _check_ref(ref: str) -> None:
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("employee_ref must be a non-empty string")


def _segment(ref: str) -> str:
    """``ref`` as one path segment: everything but unreserved characters escaped, and a ref of only
    dots (``.``, ``..``) escaped as well, since URL normalisation would otherwise collapse it."""
    quoted = quote(ref, safe="")
    return quoted.replace(".", "%2E") if set(ref) == {"."} else quoted


def _not_found(raw: bytes, missing: str) -> NotFound:
    try:
        doc = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc.get("not_found") in ("employee", "payslip"):
        return NotFound(doc["not_found"])
    return NotFound(missing)


# ------------------------------------------------------------------------------------------ parsing
def _reject_constant(name: str) -> NoReturn:
    raise _Bad(f"the body has a {name} number")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise _Bad("the body is not UTF-8") from None
    except RecursionError:
        raise _Bad("the body is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise _Bad(f"the body is not JSON ({exc.msg} at {exc.pos})") from None
    except ValueError:  # e.g. an integer of thousands of digits
        raise _Bad("the body is not JSON that can be read") from None
    if not isinstance(doc, dict):
        raise _Bad(f"the body is a JSON {type(doc).__name__}, not an object")
    return doc


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _number(value: Any, field: str, *, required: bool) -> float | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Bad(f"{field!r} must be a number, not {_type(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _Bad(f"{field!r} is not a finite number") from None
    if not math.isfinite(number):
        raise _Bad(f"{field!r} is not a finite number")
    return number


def _money(value: Any, field: str) -> Decimal:
    if isinstance(value, str):
        if not _MONEY.fullmatch(value.strip()):
            raise _Bad(f'{field!r} must be a decimal amount such as "1234.56"')
        return Decimal(value.strip())
    if isinstance(value, int | Decimal) and not isinstance(value, bool):  # JSON numbers, read exactly
        amount = Decimal(value)
        if not amount.is_finite() or abs(amount) >= _MONEY_LIMIT:
            raise _Bad(f"{field!r} is not a plausible amount")
        return amount
    raise _Bad(f"{field!r} must be a decimal string or number, not {_type(value)}")


def _date(doc: Mapping[str, Any], field: str, *, required: bool) -> date | None:
    value = doc.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field!r} must be an ISO date string, not {_type(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{field!r} is not an ISO date (YYYY-MM-DD)") from None


def _object(doc: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = doc.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"{field!r} must be an object, not {_type(value)}")
    return value


def _leave(doc: Mapping[str, Any]) -> LeaveBalance:
    annual = _number(doc.get("annual_days"), "annual_days", required=True)
    as_of = _date(doc, "as_of", required=True)
    other: dict[str, float] = {}
    for kind, days in _object(doc, "other").items():
        value = _number(days, f"other.{kind}", required=True)
        assert value is not None
        other[kind] = value
    assert annual is not None and as_of is not None
    return LeaveBalance(
        annual_days=annual,
        annual_total=_number(doc.get("annual_total"), "annual_total", required=False),
        sick_days=_number(doc.get("sick_days"), "sick_days", required=False),
        other=MappingProxyType(other),
        as_of=as_of,
    )


def _payslip(doc: Mapping[str, Any], year: int, month: int) -> Payslip:
    for field in ("gross", "net"):
        if doc.get(field) is None:
            raise _Bad(f"{field!r} is missing")
    deductions = {name: _money(v, f"deductions.{name}") for name, v in _object(doc, "deductions").items()}
    currency = doc.get("currency")
    if currency is None:
        currency = "CNY"
    elif not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise _Bad("'currency' must be an ISO 4217 code such as \"CNY\"")
    download = doc.get("download_url")
    if download is not None:
        if not isinstance(download, str):
            raise _Bad(f"'download_url' must be a string, not {_type(download)}")
        parts = urlsplit(download)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            log.warning("HR API payslip %04d-%02d: dropped a download_url that is not http(s)", year, month)
            download = None
    return Payslip(
        year=year,
        month=month,
        gross=_money(doc["gross"], "gross"),
        net=_money(doc["net"], "net"),
        deductions=MappingProxyType(deductions),
        currency=currency,
        pay_date=_date(doc, "pay_date", required=False),
        download_url=download,
    )


# ------------------------------------------------------------------------------------------ texts
# The catalog of this module's texts (zh/en templates); callers may pass their own to the formatters.
TEXTS: Mapping[str, LocalText] = MappingProxyType(
    {
        "leave.annual": LocalText(
            "截至{as_of}，您的年假还剩 {annual} 天{total}。",
            "As of {as_of}, you have {annual} of annual leave left{total}.",
        ),
        "leave.total": LocalText("（本年度共 {total} 天）", " (of {total} this year)"),
        "leave.sick": LocalText("病假还剩 {sick} 天。", "Sick leave: {sick} left."),
        "leave.other": LocalText("其他假期：{items}。", "Other leave: {items}."),
        "leave.other_item": LocalText("{name} {days} 天", "{name} {days}"),
        "payslip.head": LocalText("{year}年{month}月工资条：", "Payslip for {month} {year}: "),
        "payslip.amounts": LocalText("应发 {gross}，实发 {net}", "gross {gross}, net {net}"),
        "payslip.deductions": LocalText("；扣除：{items}", "; deductions: {items}"),
        "payslip.pay_date": LocalText("发薪日 {date}。", "Paid on {date}."),
        "payslip.download": LocalText("下载：{url}", "Download: {url}"),
    }
)
DEDUCTION_NAMES: Mapping[str, LocalText] = MappingProxyType(
    {
        "social_insurance": LocalText("社保", "social insurance"),
        "pension": LocalText("养老保险", "pension insurance"),
        "medical_insurance": LocalText("医疗保险", "medical insurance"),
        "unemployment_insurance": LocalText("失业保险", "unemployment insurance"),
        "housing_fund": LocalText("公积金", "housing fund"),
        "income_tax": LocalText("个税", "income tax"),
        "enterprise_annuity": LocalText("企业年金", "enterprise annuity"),
        "union_fee": LocalText("工会会费", "union fee"),
    }
)
LEAVE_NAMES: Mapping[str, LocalText] = MappingProxyType(
    {
        "marriage": LocalText("婚假", "marriage leave"),
        "maternity": LocalText("产假", "maternity leave"),
        "paternity": LocalText("陪产假", "paternity leave"),
        "parental": LocalText("育儿假", "parental leave"),
        "bereavement": LocalText("丧假", "bereavement leave"),
        "compensatory": LocalText("调休", "time off in lieu"),
        "personal": LocalText("事假", "personal leave"),
        "home_visit": LocalText("探亲假", "home leave"),
    }
)
_CURRENCY_ZH = {"CNY": "元", "USD": "美元", "HKD": "港元", "EUR": "欧元", "GBP": "英镑", "JPY": "日元"}


def _zh(lang: str) -> bool:
    return lang.startswith("zh")


def _name(names: Mapping[str, LocalText], key: str, lang: str) -> str:
    known = names.get(key)
    return known.get(lang) if known is not None else key.replace("_", " ")


def _days(value: float) -> str:
    return f"{round(value, 2) + 0.0:g}"


def _days_en(value: float) -> str:
    return f"{_days(value)} {'day' if value == 1 else 'days'}"


def _amount(value: Decimal) -> str:
    """18000 → "18,000.00"; rounded half up to the cent."""
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def _with_currency(value: Decimal, currency: str, lang: str) -> str:
    if _zh(lang):
        return f"{_amount(value)} {_CURRENCY_ZH.get(currency, currency)}"
    return f"{currency} {_amount(value)}"


def _day(d: date, lang: str, *, year: bool = True) -> str:
    if _zh(lang):
        return f"{d.year}年{d.month}月{d.day}日" if year else f"{d.month}月{d.day}日"
    return f"{d.day} {MONTHS_EN[d.month - 1]}" + (f" {d.year}" if year else "")


def format_leave(b: LeaveBalance, lang: str, *, texts: Mapping[str, LocalText] = TEXTS) -> str:
    """The balance as one message: "截至2026年11月26日，您的年假还剩 7.5 天（本年度共 15 天）。…"."""
    zh = _zh(lang)

    def t(key: str, **kw: str) -> str:
        return texts[key].get(lang).format(**kw)

    days = _days if zh else _days_en
    total = "" if b.annual_total is None else t("leave.total", total=_days(b.annual_total))
    parts = [t("leave.annual", as_of=_day(b.as_of, lang), annual=days(b.annual_days), total=total)]
    if b.sick_days is not None:
        parts.append(t("leave.sick", sick=days(b.sick_days)))
    if b.other:
        items = [
            t("leave.other_item", name=_name(LEAVE_NAMES, kind, lang), days=days(v))
            for kind, v in b.other.items()
        ]
        parts.append(t("leave.other", items=("、" if zh else ", ").join(items)))
    return ("" if zh else " ").join(parts)


def format_payslip(p: Payslip, lang: str, *, texts: Mapping[str, LocalText] = TEXTS) -> str:
    """The payslip as one message, e.g. "2026年10月工资条：应发 18,000.00 元，实发 14,210.35 元；扣除：
    社保 1,890.00、公积金 1,260.00、个税 639.65。发薪日 10月10日。" — for the employee's own chat only."""
    zh = _zh(lang)

    def t(key: str, **kw: str) -> str:
        return texts[key].get(lang).format(**kw)

    month = str(p.month) if zh else MONTHS_EN[p.month - 1]
    text = t("payslip.head", year=str(p.year), month=month)
    text += t(
        "payslip.amounts",
        gross=_with_currency(p.gross, p.currency, lang),
        net=_with_currency(p.net, p.currency, lang),
    )
    if p.deductions:
        items = [f"{_name(DEDUCTION_NAMES, k, lang)} {_amount(v)}" for k, v in p.deductions.items()]
        text += t("payslip.deductions", items=("、" if zh else ", ").join(items))
    text += "。" if zh else "."
    tail = []
    if p.pay_date is not None:
        tail.append(t("payslip.pay_date", date=_day(p.pay_date, lang, year=p.pay_date.year != p.year)))
    if p.download_url is not None:
        tail.append(t("payslip.download", url=p.download_url))
    if tail:
        text += ("" if zh else " ") + ("" if zh else " ").join(tail)
    return text
