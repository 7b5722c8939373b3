"""The operator's commands for HR: users and tokens, reports, and the typed-answers accommodation.

They run in-process (``bots.cli.main(argv)``) against the test's database, with their settings from
the environment as an administrator's shell gives them; the report pages are then read over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bots.cli import _operator, main
from bots.runtime import Runtime
from bots.testing import FakeClock
from storage import repo
from storage.models import ApiToken, Application, AuditEntry, Interview, User
from tests.conftest import invite, linked_bot
from tests.flows.test_interview import GOOD_ZH, _answer_all

PNG = b"\x89PNG\r\n\x1a\n"
TOKEN = re.compile(r"^tb_[A-Za-z0-9_-]{40,}$", re.M)


@pytest.fixture
def env(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """The CLI's environment points at the test runtime's database, files and public URL."""
    for key in list(os.environ):
        if key.startswith("TALENTBOT_"):
            monkeypatch.delenv(key)
    s = rt.settings
    monkeypatch.setenv("TALENTBOT_DATABASE_URL", s.database_url)
    monkeypatch.setenv("TALENTBOT_VAR_DIR", str(s.var_dir))
    monkeypatch.setenv("TALENTBOT_SECRET_KEY", s.secret_key)
    monkeypatch.setenv("TALENTBOT_PUBLIC_URL", s.public_url)
    return rt


@pytest.fixture
def jobs(rt: Runtime) -> Iterator[Runtime]:
    rt.jobs.start()
    yield rt
    rt.jobs.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audits(rt: Runtime, action: str) -> list[AuditEntry]:
    with rt.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _completed(rt: Runtime) -> Interview:
    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    _answer_all(bot, GOOD_ZH)
    with rt.sessions() as s:
        return s.scalars(select(Interview)).one()


def test_user_add_prints_a_token_once_that_works_over_http(
    env: Runtime, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "user", "add", "--role", "hr", "--name", "李经理", "--scope", "RISK,XYZ")
    assert code == 2 and "unknown scope XYZ" in err and "RISK" in err
    with env.sessions() as s:
        assert s.scalars(select(User).where(User.role == "hr")).all() == []

    code, out, err = run(
        capsys,
        "user",
        "add",
        "--role",
        "hr",
        "--name",
        "李经理",
        "--scope",
        "RISK, 公司银行部",
        "--language",
        "en",
    )
    assert code == 0, err
    user_id = int(re.search(r"^user (\d+): 李经理", out, re.M)[1])  # type: ignore[index]
    tokens = TOKEN.findall(out)
    assert len(tokens) == 1
    assert "shown once" in out and "cannot be shown again" in out
    assert f"sign in at {server}/hr/login" in out
    with env.sessions() as s:
        user = s.get(User, user_id)
        assert user is not None and user.scope == ["RISK", "公司银行部"] and user.language == "en"
        assert tokens[0] not in str([t.token_sha256 for t in s.scalars(select(ApiToken))])
    assert audits(env, "user.create")[0].actor == _operator()

    with httpx.Client(base_url=server, timeout=30.0) as c:
        r = c.get("/hr/", headers={"authorization": f"Bearer {tokens[0]}"})
        assert r.status_code == 200 and "李经理" in r.text

        code, out, err = run(
            capsys, "token", "create", "--user", str(user_id), "--days", "7", "--name", "ipad"
        )
        assert code == 0, err
        second = TOKEN.findall(out)[0]
        token_id = int(re.search(r"^token (\d+) ", out, re.M)[1])  # type: ignore[index]
        assert c.get("/hr/", headers={"authorization": f"Bearer {second}"}).status_code == 200

        code, out, _ = run(capsys, "token", "list", "--user", str(user_id))
        assert code == 0 and "initial" in out and "ipad" in out and second not in out

        code, out, err = run(capsys, "token", "revoke", "--id", str(token_id))
        assert code == 0 and "revoked" in out, err
        assert c.get("/hr/", headers={"authorization": f"Bearer {second}"}).status_code == 401
        assert c.get("/hr/", headers={"authorization": f"Bearer {tokens[0]}"}).status_code == 200
        assert "revoked" in run(capsys, "token", "list", "--user", str(user_id))[1]

    assert run(capsys, "token", "revoke", "--id", "9999")[0] == 2
    assert run(capsys, "token", "create", "--user", "9999")[0] == 2
    assert run(capsys, "token", "create", "--user", str(user_id), "--days", "0")[0] == 2


def test_report_writes_json_html_and_png(
    env: Runtime,
    jobs: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iv = _completed(env)
    app_id = str(iv.application_id)

    code, out, err = run(capsys, "report", app_id, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["overall"]["score"] == iv.overall and data["candidate"]["name"] == "张三"
    assert data["language"] == "zh" and data["interview"]["status"] == "completed"

    page = tmp_path / "report.html"
    code, out, err = run(
        capsys, "report", app_id, "--format", "html", "--language", "en", "--output", str(page)
    )
    assert code == 0 and out == "" and "written to" in err
    text = page.read_text(encoding="utf-8")
    assert "张三" in text and "Interview assessment report" in text and "data:image/png;base64," in text
    assert stat.S_IMODE(page.stat().st_mode) == 0o600  # personal data: the owner's eyes only

    png = tmp_path / "radar.png"
    assert run(capsys, "report", app_id, "--format", "png", "--output", str(png))[0] == 0
    assert png.read_bytes().startswith(PNG)

    code, out, _ = run(capsys, "report", app_id, "--format", "html")
    assert code == 0 and out.lstrip().startswith("<!DOCTYPE html>")

    rows = audits(env, "report.read")
    assert [r.details["format"] for r in rows] == ["json", "html", "png", "html"]
    assert all(r.actor == _operator() and r.actor.startswith("cli:") for r in rows)
    assert all(r.subject == f"application:{app_id}" for r in rows)
    assert rows[0].input_versions["rubric"] == iv.versions["rubric"]

    # errors: exit 2 with a clear message, and nothing is audited
    code, _, err = run(capsys, "report", "424242", "--format", "json")
    assert code == 2 and "no application 424242" in err
    invite(env, position="TELLER", name="李四")
    with env.sessions() as s:
        fresh = max(s.scalars(select(Application.id)))
    code, out, err = run(capsys, "report", str(fresh), "--format", "json")
    assert code == 2 and "no interview yet" in err and out == ""
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    code, _, err = run(capsys, "report", app_id, "--format", "png")
    assert code == 2 and "--output" in err
    assert len(audits(env, "report.read")) == 4


def test_allow_text_flips_the_flags_and_tells_the_candidate(
    env: Runtime, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = linked_bot(env, position="TELLER")
    bot.say("下周三下午两点")
    assert "已为您预约" in bot.text
    clock.now = clock.now.replace(day=2, month=12, hour=14, minute=0)
    bot.say("开始面试")
    assert "第 1/6 题" in bot.text
    bot.say(GOOD_ZH)
    assert "请用语音回答" in bot.text
    bot.press("申请文字作答")
    with env.sessions() as s:
        app = s.scalars(select(Application)).one()
        iv = s.scalars(select(Interview)).one()
        assert app.needs_human and not app.text_answers and not iv.text_answers

    code, out, err = run(capsys, "interview", "allow-text", str(app.id))
    assert code == 0, err
    assert "may now type" in out and "told in chat" in out
    with env.sessions() as s:
        assert s.get(Application, app.id).text_answers  # type: ignore[union-attr]
        assert s.get(Interview, iv.id).text_answers  # type: ignore[union-attr]
        told = repo.pending_deliveries(s, platform="test", conversation_id="cand-1")
    assert sum("招聘专员已同意" in d.body["text"] for d in told) == 1
    grant = audits(env, "accommodation.granted")
    assert len(grant) == 1 and grant[0].actor == _operator() and grant[0].subject == f"application:{app.id}"

    bot.say(GOOD_ZH)
    assert "收到您的回答" in bot.text  # a typed answer is taken now

    # granting again changes nothing and says so; an unknown application is an error
    code, out, _ = run(capsys, "interview", "allow-text", str(app.id))
    assert code == 0 and "already" in out
    with env.sessions() as s:
        again = repo.pending_deliveries(s, platform="test", conversation_id="cand-1")
    assert sum("招聘专员已同意" in d.body["text"] for d in again) == 1
    assert len(audits(env, "accommodation.granted")) == 1
    code, _, err = run(capsys, "interview", "allow-text", "424242")
    assert code == 2 and "no application 424242" in err


def test_allow_text_before_the_interview_sets_the_application(
    env: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = linked_bot(env, position="TELLER")
    with env.sessions() as s:
        app_id = s.scalars(select(Application.id)).one()
    code, out, err = run(capsys, "interview", "allow-text", str(app_id))
    assert code == 0 and "told in chat" in out, err
    with env.sessions() as s:
        assert s.get(Application, app_id).text_answers  # type: ignore[union-attr]
        assert s.scalars(select(Interview)).all() == []
    assert "招聘专员已同意" in bot.settle()[0].text
