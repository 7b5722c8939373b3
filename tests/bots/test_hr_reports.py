"""HR reads interview reports over real HTTP (uvicorn on 127.0.0.1), behind a per-person token.

The interview is produced the way a candidate produces it — typed answers to the RISK position
(which allows them) through the engine, scored by the server's own worker threads.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bots.hr_web import COOKIE, mount
from bots.runtime import Runtime
from scoring.questions import INDICATOR_NAMES
from storage import accounts
from storage.models import Answer, AuditEntry, Interview
from tests.conftest import NOW, linked_bot
from tests.flows.test_interview import GOOD_ZH, _answer_all

CJK = re.compile(r"[\u4e00-\u9fff]")
PNG = b"\x89PNG\r\n\x1a\n"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60.0, follow_redirects=False) as c:
        yield c


def hr(
    rt: Runtime,
    scope: list[str],
    *,
    language: str = "zh",
    days: int | None = 90,
    issued: timedelta = timedelta(0),
    scopes: tuple[str, ...] = ("reports:read",),
    name: str = "王经理",
) -> tuple[int, str]:
    """An HR user and a token (issued ``issued`` before NOW); (user id, token)."""
    with rt.sessions.begin() as s:
        user = accounts.create_hr_user(s, name=name, scope=scope, language=language, now=NOW)
        token = accounts.issue_token(s, user=user, name="test", scopes=scopes, days=days, now=NOW - issued)
        return user.id, token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def audits(rt: Runtime, *actions: str) -> list[AuditEntry]:
    with rt.sessions() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id))
        )


def assert_private(r: httpx.Response) -> None:
    assert r.headers["cache-control"] == "no-store", r.headers
    assert r.headers["x-content-type-options"] == "nosniff", r.headers


def assert_bilingual(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert_private(r)
    err = r.json()
    assert err["error"] == code, err
    assert CJK.search(err["message"]["zh"]) and not CJK.search(err["message"]["en"]), err


@pytest.fixture
def interview(rt: Runtime, server: str) -> Interview:
    """A completed RISK interview with typed answers, on the server's runtime."""
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    _answer_all(bot, GOOD_ZH)
    with rt.sessions() as s:
        iv = s.scalars(select(Interview)).one()
    assert iv.status == "completed" and iv.overall is not None
    return iv


def test_reports_need_a_live_token(rt: Runtime, client: httpx.Client) -> None:
    # no token: an API client gets 401, a browser the login page (with the way back)
    r = client.get("/hr/reports/1")
    assert_bilingual(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.get("/hr/reports/1", headers=HTML)
    assert (
        r.status_code == 303 and r.headers["location"] == f"/hr/login?next={quote('/hr/reports/1', safe='')}"
    )
    assert_private(r)
    assert_bilingual(client.get("/hr/reports/1.json", headers=HTML), 401, "unauthorized")
    assert_bilingual(client.get("/hr/reports/1.png"), 401, "unauthorized")
    assert_bilingual(client.get("/hr/audio/1"), 401, "unauthorized")
    # a wrong token, or one in the wrong scheme
    assert_bilingual(client.get("/hr/reports/1.json", headers=bearer("tb_not-a-token")), 401, "bad_token")
    assert_bilingual(
        client.get("/hr/reports/1.json", headers={"authorization": "Basic eDp5"}), 401, "unauthorized"
    )
    # expired (issued 91 days ago, valid 90) and revoked
    _, expired = hr(rt, ["*"], issued=timedelta(days=91))
    assert_bilingual(client.get("/hr/reports/1.json", headers=bearer(expired)), 401, "bad_token")
    _, revoked = hr(rt, ["*"])
    with rt.sessions.begin() as s:
        found = accounts.verify_token(s, revoked, now=NOW)
        assert found is not None
        accounts.revoke_token(s, token_id=found[1].id, now=NOW)
    assert_bilingual(client.get("/hr/reports/1.json", headers=bearer(revoked)), 401, "bad_token")
    assert_bilingual(client.get("/hr/audio/1", headers=bearer(revoked)), 401, "bad_token")
    # a live token without the reports scope
    _, other = hr(rt, ["*"], scopes=("sync:write",))
    assert_bilingual(client.get("/hr/reports/1.json", headers=bearer(other)), 403, "forbidden")
    # a live token: nothing there yet (no interview) — a bilingual 404, also for nonsense ids
    _, good = hr(rt, ["*"])
    assert_bilingual(client.get("/hr/reports/1.json", headers=bearer(good)), 404, "not_found")
    assert_bilingual(client.get("/hr/reports/99999999999.json", headers=bearer(good)), 404, "not_found")
    assert_bilingual(client.get("/hr/reports/abc", headers=bearer(good)), 404, "not_found")
    assert_bilingual(client.get("/hr/reports/1.json?lang=fr", headers=bearer(good)), 400, "bad_lang")
    assert audits(rt, "report.read", "audio.read") == []


def test_hr_in_scope_reads_the_report_and_every_read_is_audited(
    rt: Runtime, client: httpx.Client, interview: Interview
) -> None:
    app_id = interview.application_id
    rm_id, rm_token = hr(rt, ["RM"], name="RM HR")
    # out of scope looks exactly like missing
    missing = client.get("/hr/reports/424242", headers=bearer(rm_token) | HTML)
    for suffix in ("", ".json", ".png"):
        r = client.get(f"/hr/reports/{app_id}{suffix}", headers=bearer(rm_token) | HTML)
        assert r.status_code == 404
        if suffix == "":
            assert r.text == missing.text and CJK.search(r.text) and "Sorry" in r.text
    assert audits(rt, "report.read") == []

    user_id, token = hr(rt, ["RISK"])
    r = client.get(f"/hr/reports/{app_id}", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_private(r)
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "张三" in page and "风险管理岗" in page
    assert all(name.zh in page for name in INDICATOR_NAMES.values())
    assert 'src="data:image/png;base64,' in page
    assert "/hr/audio/" not in page  # typed answers have no recording

    r = client.get(f"/hr/reports/{app_id}.html?lang=en", headers=bearer(token))
    assert (
        r.status_code == 200 and "communication" in r.text and "沟通表达" not in r.text.split("</style>")[1]
    )

    r = client.get(f"/hr/reports/{app_id}.json", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert_private(r)
    data = r.json()
    assert data["overall"]["score"] == interview.overall
    assert {i["id"]: i["score"] for i in data["indicators"]} == interview.scores
    assert data["language"] == "zh" and data["interview"] == {"status": "completed", "mismatches": []}

    r = client.get(f"/hr/reports/{app_id}.png?lang=en", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG)
    assert_private(r)

    # a department in the scope works as well as a code
    _, dept = hr(rt, ["风险管理部"], language="en", name="Risk dept")
    r = client.get(f"/hr/reports/{app_id}.json", headers=bearer(dept))
    assert r.status_code == 200 and r.json()["language"] == "en"  # the user's language by default

    rows = audits(rt, "report.read")
    assert [(a.actor, a.details["format"]) for a in rows] == [
        (f"hr:{user_id}", "html"),
        (f"hr:{user_id}", "html"),
        (f"hr:{user_id}", "json"),
        (f"hr:{user_id}", "png"),
        (f"hr:{user_id + 1}", "json"),
    ]
    assert rm_id != user_id
    for a in rows:
        assert a.subject == f"application:{app_id}" and a.details["token"] == "test"
        assert a.input_versions["rubric"] == interview.versions["rubric"]
        assert a.input_versions["scorer"] == interview.versions["scorer"]
        assert set(a.input_versions) == {"rubric", "scorer", "speech", "asr_model"}

    # a typed answer has no recording to play
    with rt.sessions() as s:
        answer_ids = list(s.scalars(select(Answer.id).where(Answer.interview_id == interview.id)))
    assert answer_ids
    assert_bilingual(client.get(f"/hr/audio/{answer_ids[0]}", headers=bearer(token)), 404, "audio_not_found")
    assert audits(rt, "audio.read") == []


def test_voice_recordings_stream_to_hr_in_scope_only(
    rt: Runtime, client: httpx.Client, interview: Interview
) -> None:
    assert rt.deps.files is not None
    audio = b"OggS" + bytes(range(256)) * 64
    stored = rt.deps.files.put(audio)
    # The first answer becomes a voice answer (its transcript is the typed text): no ASR needed.
    with rt.sessions.begin() as s:
        ans = s.scalars(
            select(Answer).where(Answer.interview_id == interview.id).order_by(Answer.turn)
        ).first()
        assert ans is not None
        ans.kind, ans.media_ref, ans.media_mime = "voice", stored.sha256, "audio/ogg"
        answer_id = ans.id
    _, rm = hr(rt, ["RM"], name="RM HR")
    assert_bilingual(client.get(f"/hr/audio/{answer_id}", headers=bearer(rm)), 404, "audio_not_found")
    assert_bilingual(client.get("/hr/audio/987654", headers=bearer(rm)), 404, "audio_not_found")
    assert_bilingual(client.get("/hr/audio/x", headers=bearer(rm)), 404, "audio_not_found")
    user_id, token = hr(rt, ["*"])
    page = client.get(f"/hr/reports/{interview.application_id}", headers=bearer(token)).text
    assert f'src="/hr/audio/{answer_id}"' in page  # the report's player points here
    r = client.get(f"/hr/audio/{answer_id}", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.content == audio and r.headers["content-type"] == "audio/ogg"
    assert_private(r)
    r = client.get(f"/hr/audio/{answer_id}", headers=bearer(token) | {"range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == b"OggS"  # seeking in the player works
    rows = audits(rt, "audio.read")
    assert len(rows) == 2 and rows[0].actor == f"hr:{user_id}"
    assert rows[0].subject == f"application:{interview.application_id}"
    assert rows[0].details["answer_id"] == answer_id and rows[0].details["format"] == "audio"
    assert rows[0].input_versions["rubric"] == interview.versions["rubric"]


def test_the_login_form_sets_a_strict_cookie_that_works(
    rt: Runtime, client: httpx.Client, interview: Interview
) -> None:
    r = client.get("/hr/login?next=/hr/reports/7")
    assert r.status_code == 200 and 'name="token"' in r.text and 'value="/hr/reports/7"' in r.text
    assert "登录" in r.text and "Sign in" in r.text
    assert_private(r)
    _, token = hr(rt, ["RISK"])
    form = {"content-type": "application/x-www-form-urlencoded"}

    r = client.post("/hr/login", content="token=tb_wrong&next=/hr/", headers=form)
    assert r.status_code == 401 and "令牌无效" in r.text and COOKIE not in r.headers.get("set-cookie", "")

    r = client.post("/hr/login", content="token=x", headers=form | {"origin": "https://evil.example"})
    assert r.status_code == 403

    target = f"/hr/reports/{interview.application_id}"
    r = client.post("/hr/login", content=f"token={quote(token)}&next={quote(target)}", headers=form)
    assert r.status_code == 303 and r.headers["location"] == target
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/hr" in cookie and "Secure" not in cookie  # the public URL is http here
    assert client.cookies.get(COOKIE) == token

    r = client.get(target, headers=HTML)
    assert r.status_code == 200 and "张三" in r.text
    r = client.get("/hr/")
    assert r.status_code == 200 and "王经理" in r.text and "RISK" in r.text
    r = client.get("/hr/reports", params={"application": str(interview.application_id)})
    assert r.status_code == 303 and r.headers["location"] == target
    assert audits(rt, "report.read")[-1].details["format"] == "html"
    assert audits(rt, "hr.login")[0].details == {"token": "test"}

    # no open redirect through ?next=
    r = client.post("/hr/login", content=f"token={quote(token)}&next=https://evil.example/", headers=form)
    assert r.status_code == 303 and r.headers["location"] == "/hr/"
    r = client.post("/hr/login", content=f"token={quote(token)}&next=//evil.example/hr/", headers=form)
    assert r.headers["location"] == "/hr/"

    r = client.post("/hr/logout")
    assert r.status_code == 303 and r.headers["location"] == "/hr/login"
    assert client.cookies.get(COOKIE) is None
    r = client.get(target, headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/hr/login?next=")


def test_the_cookie_is_secure_behind_https(rt: Runtime) -> None:
    https = dataclasses.replace(
        rt, settings=dataclasses.replace(rt.settings, public_url="https://hr.bank.example")
    )
    _, token = hr(rt, ["*"])
    with TestClient(Starlette(routes=[mount(https)]), base_url="https://hr.bank.example") as c:
        r = c.post(
            "/hr/login",
            content=f"token={quote(token)}",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": "https://hr.bank.example",
            },
            follow_redirects=False,
        )
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
