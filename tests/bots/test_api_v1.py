"""The HR system's read API over real HTTP (uvicorn on 127.0.0.1 serving the /api/v1 routes): tokens
and scopes, scope leaks answered as 404, keyset pagination, each endpoint's body, the audit rows, what
never leaves (names, demographics, transcripts), and the OpenAPI document against the routes."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Route

from actions import funnel as funnels
from bots import api_v1
from bots.runtime import Runtime
from bots.testing import FakeClock
from flows.documents import DocumentRules
from scoring.questions import INDICATORS, load_bank
from storage import accounts
from storage.db import make_engine, session_factory
from storage.demographics import record_demographics
from storage.models import Application, AuditEntry, Interview, User
from storage.seed import seed
from tests import hr_data as hd
from tests.conftest import NOW, TZ, linked_bot
from tests.flows.test_interview import GOOD_ZH, _answer_all

ROOT = Path(__file__).resolve().parents[2]
ALL_SCOPES = ("profiles:read", "reports:read", "funnel:read")
CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------- the server


def serve(app: Starlette, listener: socket.socket, base_url: str) -> Iterator[str]:
    """Serve ``app`` with uvicorn on the bound socket until the generator is closed."""
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{base_url}/api/v1/openapi.json", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            srv.should_exit = True
            pytest.fail("the API server did not start")
        time.sleep(0.05)
    try:
        yield base_url
    finally:
        srv.should_exit = True
        thread.join(15)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    factory = session_factory(engine)
    with factory.begin() as s:
        seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ)
    yield factory
    engine.dispose()


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: FakeClock) -> api_v1.ApiV1:
    """The API over explicit dependencies (no runtime): what most tests need."""
    return api_v1.ApiV1(
        sessions=sessions,
        clock=clock,
        tz=TZ,
        bank=load_bank(ROOT / "content" / "questions"),
        documents=DocumentRules.load(ROOT / "content"),
        default_language="zh",
    )


@pytest.fixture
def api(service: api_v1.ApiV1, listener: socket.socket, base_url: str) -> Iterator[str]:
    yield from serve(Starlette(routes=service.routes()), listener, base_url)


@pytest.fixture
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=60.0) as c:
        yield c


def hr(
    sessions: sessionmaker[Session],
    scope: list[str],
    *,
    scopes: tuple[str, ...] = ALL_SCOPES,
    days: int | None = 90,
    issued: timedelta = timedelta(0),
    language: str = "zh",
) -> tuple[int, int, str]:
    """An HR user and a token; (user id, token id, token)."""
    with sessions.begin() as s:
        user = accounts.create_hr_user(s, name="王经理", scope=scope, language=language, now=NOW)
        token = accounts.issue_token(
            s, user=user, name="hr-system", scopes=scopes, days=days, now=NOW - issued
        )
        found = accounts.verify_token(s, token, now=NOW - issued)
        assert found is not None
        return user.id, found[1].id, token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def audits(sessions: sessionmaker[Session], prefix: str = "api.") -> list[AuditEntry]:
    with sessions() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
        return list(rows)


def error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


# --------------------------------------------------------------------------- the data


def build(sessions: sessionmaker[Session]) -> dict[str, int]:
    """TELLER (threshold 60): two interviewed, five only invited (two updated at the same moment);
    RM: one hire. The first TELLER candidate declared demographics (which must never leave)."""
    with sessions.begin() as s:
        teller = hd.position(s, "TELLER", threshold=60)
        rm = hd.position(s, "RM")
        day = NOW - timedelta(days=3)
        t1 = hd.application(
            s,
            teller,
            created=day,
            updated=NOW - timedelta(hours=30),
            reached=["booked", "interviewed", "shortlisted"],
            name="张三",
            priority=True,
        )
        scores: dict[str, float | None] = {k: 70.0 + i for i, k in enumerate(INDICATORS)}
        scores[INDICATORS[-1]] = None
        hd.interview(s, t1, overall=61.5, round=1, scores={k: 10.0 for k in INDICATORS})
        hd.interview(s, t1, overall=72.5, round=2, scores=scores)
        hd.interview(s, t1, overall=None, round=3, status="active")
        for kind in ("id_card", "degree", "cv"):
            hd.document(s, t1, kind, at=day)
        hd.decision(
            s,
            t1,
            "shortlisted",
            at=day + timedelta(hours=4),
            actor="system:automation",
            data={"threshold": 60, "score": 72.5},
        )
        hd.decision(
            s,
            t1,
            "priority",
            at=day + timedelta(hours=5),
            actor="user:9",
            reason="strong numeracy",
            data={"priority": True},
        )
        user = User(display_name="张三", role="candidate", created_at=day)
        s.add(user)
        s.flush()
        t1.user_id = user.id
        record_demographics(s, app=t1, sex="female", age_band="25_34", region="上海", now=day)
        t1.updated_at = NOW - timedelta(hours=30)
        t2 = hd.application(
            s,
            teller,
            created=day,
            updated=NOW - timedelta(hours=20),
            reached=["booked", "interviewed"],
            score=55,
            override=65,
            name="李四",
            review_requested_at=NOW - timedelta(hours=21),
        )
        hd.document(s, t2, "id_card", at=day)
        hd.document(s, t2, "degree", at=day, status="replaced")
        hd.decision(
            s,
            t2,
            "override_score",
            at=NOW - timedelta(hours=20),
            reason="re-marked",
            data={"original": 55, "new": 65},
        )
        same = NOW - timedelta(hours=10)
        invited = [
            hd.application(s, teller, created=day, updated=u, name=f"王{i}")
            for i, u in enumerate([NOW - timedelta(hours=40), same, same, NOW - timedelta(hours=5), NOW])
        ]
        r1 = hd.application(
            s,
            rm,
            created=day,
            updated=NOW - timedelta(hours=25),
            reached=["booked", "interviewed", "next_round", "offer", "hired"],
            score=90,
            name="赵六",
        )
        return {"t1": t1.id, "t2": t2.id, "rm": r1.id, "first": invited[0].id, "last": invited[-1].id}


def teller_order(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as s:
        rows = s.execute(
            select(Application.id)
            .where(Application.position_id == hd.position(s, "TELLER").id)
            .order_by(Application.updated_at, Application.id)
        )
        return [r[0] for r in rows]


# --------------------------------------------------------------------------- tokens and scopes


def test_tokens_scopes_and_the_error_shape(sessions: sessionmaker[Session], client: httpx.Client) -> None:
    ids = build(sessions)
    urls = [
        "/api/v1/profiles",
        f"/api/v1/profiles/{ids['t1']}",
        f"/api/v1/reports/{ids['t1']}",
        "/api/v1/funnels/TELLER",
    ]
    for url in urls:
        e = error(client.get(url), 401, "unauthorized")
        r = client.get(url)
        assert r.headers["www-authenticate"] == 'Bearer realm="talentbot"'
        assert not CJK.search(e["message"])
    # Chinese when the client prefers it
    zh = error(client.get(urls[0], headers={"accept-language": "zh-CN,zh;q=0.9"}), 401, "unauthorized")
    assert CJK.search(zh["message"])
    error(client.get(urls[0], headers={"authorization": "Basic eDp5"}), 401, "unauthorized")
    r = client.get(urls[0], headers=bearer("tb_not-a-token"))
    error(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == 'Bearer realm="talentbot", error="invalid_token"'
    error(client.get(urls[0], headers=bearer("x" * 500)), 401, "invalid_token")
    # expired (issued 91 days ago, valid 90) and revoked
    _, _, expired = hr(sessions, ["*"], issued=timedelta(days=91))
    error(client.get(urls[0], headers=bearer(expired)), 401, "invalid_token")
    _, revoked_id, revoked = hr(sessions, ["*"])
    assert client.get(urls[0], headers=bearer(revoked)).status_code == 200
    with sessions.begin() as s:
        accounts.revoke_token(s, token_id=revoked_id, now=NOW)
    for url in urls:
        error(client.get(url, headers=bearer(revoked)), 401, "invalid_token")
    # a live token without the endpoint's scope: 403, and it says which scope
    scoped = {scope: hr(sessions, ["*"], scopes=(scope,))[2] for scope in ALL_SCOPES}
    needs = ["profiles:read", "profiles:read", "reports:read", "funnel:read"]
    before = len(audits(sessions))
    for url, need in zip(urls, needs, strict=True):
        for scope, token in scoped.items():
            r = client.get(url, headers=bearer(token))
            if scope == need:
                assert r.status_code == 200, (url, r.text)
            else:
                assert error(r, 403, "insufficient_scope")["message"].endswith(need + ".")
                assert r.headers["www-authenticate"] == (
                    f'Bearer realm="talentbot", error="insufficient_scope", scope="{need}"'
                )
    # a token of a user who is not HR
    with sessions.begin() as s:
        other = User(display_name="x", role="employee", created_at=NOW)
        s.add(other)
        s.flush()
        token = accounts.issue_token(s, user=other, name="t", scopes=ALL_SCOPES, now=NOW)
    error(client.get(urls[0], headers=bearer(token)), 403, "forbidden")
    # unknown paths and methods under /api/v1 answer in JSON too
    _, _, good = hr(sessions, ["*"])
    error(client.get("/api/v1/nothing", headers=bearer(good)), 404, "not_found")
    r = client.post("/api/v1/profiles", headers=bearer(good))
    error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"
    # failures read nothing, so only the four successful reads were audited
    assert [a.action for a in audits(sessions)[before:]] == [
        "api.profile.list",
        "api.profile.read",
        "api.report.read",
        "api.funnel.read",
    ]


def test_a_token_scoped_to_teller_cannot_see_rm(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    ids = build(sessions)
    _, _, token = hr(sessions, ["TELLER"])
    h = bearer(token)
    missing = client.get("/api/v1/profiles/987654", headers=h)
    error(missing, 404, "not_found")
    for url in (
        f"/api/v1/profiles/{ids['rm']}",
        f"/api/v1/reports/{ids['rm']}",
        "/api/v1/funnels/RM",
        "/api/v1/funnels/NOPE",
        "/api/v1/profiles?position=RM",
        "/api/v1/profiles?position=NOPE",
        "/api/v1/profiles/abc",
        "/api/v1/profiles/99999999999",
    ):
        r = client.get(url, headers=h)
        error(r, 404, "not_found")
        assert r.content == missing.content  # exactly as missing
    listed = client.get("/api/v1/profiles?limit=200", headers=h).json()["data"]
    assert {p["position"] for p in listed} == {"TELLER"} and ids["rm"] not in {p["id"] for p in listed}
    # a department works as a scope as well as a code
    _, _, dept = hr(sessions, ["公司银行部"])
    assert client.get(f"/api/v1/profiles/{ids['rm']}", headers=bearer(dept)).status_code == 200
    error(client.get(f"/api/v1/profiles/{ids['t1']}", headers=bearer(dept)), 404, "not_found")
    assert [a.subject for a in audits(sessions, "api.profile.read")] == [f"application:{ids['rm']}"]


# --------------------------------------------------------------------------- profiles


def test_profiles_are_keyset_paginated_and_each_page_is_audited(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    build(sessions)
    user_id, token_id, token = hr(sessions, ["TELLER"])
    h = bearer(token)
    expected = teller_order(sessions)
    assert len(expected) == 7
    seen: list[int] = []
    pages: list[list[int]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/api/v1/profiles", params=params, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["limit"] == 3 and len(body["data"]) <= 3
        pages.append([p["id"] for p in body["data"]])
        seen += pages[-1]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and [len(p) for p in pages] == [3, 3, 1]
    # the two invitations updated at the same moment are split across pages by id, none lost
    rows = audits(sessions, "api.profile.list")
    assert [a.details["ids"] for a in rows] == pages
    for a in rows:
        assert a.actor == f"token:{token_id}" and a.subject == "applications"
        assert a.details["user_id"] == user_id and a.details["token"] == "hr-system"
    # a page that ends exactly at the end says so
    r = client.get("/api/v1/profiles", params={"limit": 7}, headers=h).json()
    assert len(r["data"]) == 7 and r["next_cursor"] is None
    assert client.get("/api/v1/profiles", headers=h).json()["limit"] == 50


def test_profile_filters_and_bad_parameters(sessions: sessionmaker[Session], client: httpx.Client) -> None:
    ids = build(sessions)
    _, _, token = hr(sessions, ["*"])
    h = bearer(token)

    def listed(**params: Any) -> list[int]:
        r = client.get("/api/v1/profiles", params={"limit": 200, **params}, headers=h)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["data"]]

    assert len(listed()) == 8
    assert set(listed(position="teller")) == set(teller_order(sessions))
    assert listed(position="RM") == [ids["rm"]]
    assert listed(stage="hired") == [ids["rm"]]
    assert listed(stage="interviewed") == [ids["t2"]]
    assert listed(stage="offer") == []
    # updated_since: a moment with its offset (an unencoded "+" arrives as a space), or a day
    since = (NOW - timedelta(hours=6)).isoformat()
    assert (
        listed(updated_since=since)
        == listed(updated_since=since.replace("+", " "))
        == [
            ids["last"] - 1,
            ids["last"],
        ]
    )
    assert (
        listed(updated_since=(NOW - timedelta(hours=6)).astimezone(TZ).replace(tzinfo=None).isoformat() + "Z")
        == []
    )
    assert len(listed(updated_since=NOW.date().isoformat())) == 4  # since midnight in Shanghai
    assert listed(position="TELLER", stage="booked") == []
    for params, name in (
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "MjAyNi0xMS0yNVQxMDowMDowMHwx"}, "cursor"),  # a naive time inside
        ({"cursor": ""}, "cursor"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-11-25T10:00:00"}, "updated_since"),  # no offset
        ({"stage": "hiredd"}, "stage"),
    ):
        e = error(client.get("/api/v1/profiles", params=params, headers=h), 400, "invalid_parameter")
        assert e["parameter"] == name and name in e["message"], e
    # a valid cursor is opaque but works with other filters
    first = client.get("/api/v1/profiles", params={"limit": 1, "position": "RM"}, headers=h).json()
    assert first["next_cursor"] is None
    assert audits(sessions, "api.profile.list")[1].subject == "position:TELLER"


def test_one_profile_with_its_decisions_and_nothing_it_must_not_carry(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    ids = build(sessions)
    _, token_id, token = hr(sessions, ["TELLER"])
    r = client.get(f"/api/v1/profiles/{ids['t1']}", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    p = r.json()
    assert p["id"] == ids["t1"] and p["position"] == "TELLER" and p["stage"] == "shortlisted"
    assert p["priority"] is True and p["round"] == 1
    # the latest completed interview (round 2), not round 1 nor the open round 3
    assert p["overall"] == 72.5 and p["effective_score"] == 72.5 and p["score_override"] is None
    assert p["interview"]["round"] == 2 and p["interview"]["versions"]["rubric"] == "test-rubric/1"
    assert list(p["indicators"]) == list(INDICATORS) and p["indicators"][INDICATORS[0]] == 70.0
    assert p["indicators"][INDICATORS[-1]] is None
    assert p["documents_complete"] is True and p["documents_missing"] == []
    assert set(p["milestones"]) == {
        "booked",
        "interviewed",
        "shortlisted",
        "next_round",
        "offer",
        "hired",
        "rejected",
    }
    assert p["milestones"]["booked"] is not None and p["milestones"]["hired"] is None
    assert [(d["kind"], d["actor"], d["reason"]) for d in p["decisions"]] == [
        ("shortlisted", "system:automation", None),
        ("priority", "user:9", "strong numeracy"),
    ]
    assert p["decisions"][0]["data"] == {"threshold": 60, "score": 72.5}
    # never a name, demographics, a user id or a document's file
    text = r.text
    for needle in ("张三", "female", "25_34", "上海", "candidate_name", "user_id", "sha256", "filename"):
        assert needle not in text, needle

    p2 = client.get(f"/api/v1/profiles/{ids['t2']}", headers=bearer(token)).json()
    assert (p2["overall"], p2["score_override"], p2["effective_score"]) == (55, 65, 65)
    assert p2["documents_complete"] is False and p2["documents_missing"] == ["degree", "cv"]
    assert p2["review_requested_at"] is not None
    assert p2["decisions"][0]["data"] == {"original": 55, "new": 65}
    p3 = client.get(f"/api/v1/profiles/{ids['first']}", headers=bearer(token)).json()
    assert p3["overall"] is None and p3["indicators"] is None and p3["interview"] is None
    assert p3["decisions"] == [] and p3["stage"] == "invited"

    rows = audits(sessions, "api.profile.read")
    assert [(a.actor, a.subject) for a in rows] == [
        (f"token:{token_id}", f"application:{ids['t1']}"),
        (f"token:{token_id}", f"application:{ids['t2']}"),
        (f"token:{token_id}", f"application:{ids['first']}"),
    ]
    assert rows[0].input_versions == {"rubric": "test-rubric/1", "scorer": "test-scorer/1"}
    assert rows[0].details["decisions"] == 2


# --------------------------------------------------------------------------- reports


@pytest.fixture
def interview(rt: Runtime) -> Iterator[Interview]:
    """A completed RISK interview with typed answers, scored by the runtime's worker."""
    rt.jobs.start()
    try:
        bot = linked_bot(rt, position="RISK")
        bot.press("开始面试")
        _answer_all(bot, GOOD_ZH)
        with rt.sessions() as s:
            iv = s.scalars(select(Interview)).one()
        assert iv.status == "completed" and iv.overall is not None
        yield iv
    finally:
        rt.jobs.stop()


@pytest.fixture
def rt_client(rt: Runtime, listener: socket.socket, base_url: str) -> Iterator[httpx.Client]:
    """The API as ``bots.app`` mounts it: ``routes(rt)`` over a whole runtime."""
    for url in serve(Starlette(routes=api_v1.routes(rt)), listener, base_url):
        with httpx.Client(base_url=url, timeout=60.0) as c:
            yield c


def test_the_interview_report_without_name_or_transcripts(
    rt: Runtime, rt_client: httpx.Client, interview: Interview
) -> None:
    client = rt_client
    app_id = interview.application_id
    _, _, teller = hr(rt.sessions, ["TELLER"])
    error(client.get(f"/api/v1/reports/{app_id}", headers=bearer(teller)), 404, "not_found")
    _, token_id, token = hr(rt.sessions, ["RISK"])
    h = bearer(token)
    r = client.get(f"/api/v1/reports/{app_id}", headers=h)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["overall"]["score"] == interview.overall and data["language"] == "zh"
    assert {i["id"]: i["score"] for i in data["indicators"]} == interview.scores
    assert data["interview"] == {"status": "completed", "mismatches": []}
    assert data["versions"]["rubric"] == interview.versions["rubric"]
    assert "candidate" not in data and "transcripts" not in data
    assert all("passage" not in e for i in data["indicators"] for e in i["evidence"])
    assert any(i["evidence"] for i in data["indicators"])
    assert "张三" not in r.text and GOOD_ZH[:12] not in r.text  # no name, no answer text
    en = client.get(f"/api/v1/reports/{app_id}?lang=en", headers=h).json()
    assert en["language"] == "en"
    e = error(client.get(f"/api/v1/reports/{app_id}?lang=fr", headers=h), 400, "invalid_parameter")
    assert e["parameter"] == "lang"
    # an application without an interview has no report
    with rt.sessions.begin() as s:
        bare = hd.application(s, hd.position(s, "RISK"), created=NOW)
        bare_id = bare.id
    error(client.get(f"/api/v1/reports/{bare_id}", headers=h), 404, "not_found")
    rows = audits(rt.sessions, "api.report.read")
    assert [(a.actor, a.subject, a.details["language"]) for a in rows] == [
        (f"token:{token_id}", f"application:{app_id}", "zh"),
        (f"token:{token_id}", f"application:{app_id}", "en"),
    ]
    assert rows[0].input_versions["rubric"] == interview.versions["rubric"]


# --------------------------------------------------------------------------- funnels


def test_the_funnel_of_a_position(sessions: sessionmaker[Session], client: httpx.Client) -> None:
    build(sessions)
    _, token_id, token = hr(sessions, ["TELLER"])
    h = bearer(token)
    today = NOW.date()
    r = client.get(f"/api/v1/funnels/teller?since={today - timedelta(days=7)}&until={today}", headers=h)
    assert r.status_code == 200, r.text
    data = r.json()
    with sessions() as s:
        expected = funnels.funnel(
            s, positions=[hd.position(s, "TELLER")], since=today - timedelta(days=7), until=today, tz=TZ
        )
    assert data == funnels.to_json(expected)
    steps = {st["step"]: st["count"] for st in data["steps"]}
    assert steps["invited"] == 7 and steps["interviewed"] == 2 and steps["above_threshold"] == 2
    assert data["positions"] == [{"code": "TELLER", "threshold": 60}]
    assert data["suggestion"]["status"] == "too_few_hired"
    # no period: all time; a period before everything: zeros
    assert client.get("/api/v1/funnels/TELLER", headers=h).json()["steps"][0]["count"] == 7
    old = client.get("/api/v1/funnels/TELLER?until=2020-01-01", headers=h).json()
    assert old["steps"][0]["count"] == 0 and old["steps"][1]["rate"] is None
    for query, name in (
        ("since=2026-13-01", "since"),
        ("until=25/11/2026", "until"),
        ("since=2026-11-25T00:00:00", "since"),
        (f"since={today}&until={today - timedelta(days=1)}", "since"),
    ):
        e = error(client.get(f"/api/v1/funnels/TELLER?{query}", headers=h), 400, "invalid_parameter")
        assert e["parameter"] == name
    rows = audits(sessions, "api.funnel.read")
    assert len(rows) == 3 and rows[0].subject == "position:TELLER" and rows[0].actor == f"token:{token_id}"
    assert rows[0].details["invited"] == 7 and rows[0].details["since"] == str(today - timedelta(days=7))
    assert rows[0].input_versions["method"] == funnels.METHOD


# --------------------------------------------------------------------------- the OpenAPI document


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_the_openapi_document_lists_every_route_and_its_security(
    sessions: sessionmaker[Session], service: api_v1.ApiV1, client: httpx.Client
) -> None:
    r = client.get("/api/v1/openapi.json")  # no token needed
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"]
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    routes = [
        rt_.path for rt_ in service.routes() if isinstance(rt_, Route) and "{rest:path}" not in rt_.path
    ]
    assert sorted(doc["paths"]) == sorted(routes)
    wanted = {
        "/api/v1/openapi.json": None,
        "/api/v1/profiles": "profiles:read",
        "/api/v1/profiles/{application_id}": "profiles:read",
        "/api/v1/reports/{application_id}": "reports:read",
        "/api/v1/funnels/{position_code}": "funnel:read",
        "/api/v1/applications/{application_id}/hire": "hires:write",
    }
    assert set(wanted) == set(doc["paths"])
    for path, scope in wanted.items():
        ops = doc["paths"][path]
        method = "post" if path.endswith("/hire") else "get"
        assert list(ops) == [method], path
        op = ops[method]
        assert op["operationId"] and "200" in op["responses"]
        if scope is None:
            assert op["security"] == []
            continue
        assert op["security"] == [{"bearer": [scope]}], path
        for status in ("401", "403", "404"):
            assert status in op["responses"], (path, status)
        # every path parameter in the template is described
        declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
    assert {p["name"] for p in doc["paths"]["/api/v1/profiles"]["get"]["parameters"]} == {
        "position",
        "stage",
        "updated_since",
        "cursor",
        "limit",
    }
    assert "400" in doc["paths"]["/api/v1/profiles"]["get"]["responses"]
    unauthorized = doc["components"]["responses"]["Unauthorized"]
    assert "WWW-Authenticate" in unauthorized["headers"]
    # a validator, where one is installed, agrees (the project does not depend on one)
    try:
        from openapi_spec_validator import validate
    except ImportError:
        pass
    else:
        validate(doc)
    # every reference resolves
    for ref in set(_refs(doc)):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref
    # the profile schema describes every field a profile has
    ids = build(sessions)
    _, _, token = hr(sessions, ["*"])
    profile = client.get(f"/api/v1/profiles/{ids['t1']}", headers=bearer(token)).json()
    props = doc["components"]["schemas"]["Profile"]["properties"]
    assert set(profile) - {"decisions"} == set(props)
    assert set(profile["decisions"][0]) == set(doc["components"]["schemas"]["Decision"]["properties"])
