"""The ``talentbot`` command, run as a separate process the way an administrator runs it.

Every command gets its settings from the environment only (TALENTBOT_VAR_DIR, TALENTBOT_DATABASE_URL
into a temporary directory). Process starts are kept few: each one loading the NLU takes a moment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import repo
from storage.db import make_engine, session_factory
from storage.models import Invitation
from tests.conftest import TZ

CODE = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")
ISO_SHANGHAI = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")


def _env(var_dir: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTBOT_")}
    env.update(
        TALENTBOT_VAR_DIR=str(var_dir), TALENTBOT_DATABASE_URL=f"sqlite:///{db}", PYTHONIOENCODING="utf-8"
    )
    return env


def talentbot(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    return _env(home / "var", home / "talentbot.db")


@pytest.fixture(scope="module")
def seeded(env: dict[str, str], home: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """A fresh database brought up to date and loaded with the demo bank, by the CLI."""
    return {"upgrade": talentbot(env, "db", "upgrade", cwd=home), "seed": talentbot(env, "seed", cwd=home)}


@pytest.fixture(scope="module")
def teller_code(env: dict[str, str], seeded: dict) -> str:  # type: ignore[type-arg]
    r = talentbot(env, "invite", "--position", "TELLER", "--name", "张三")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_db_upgrade_and_seed(seeded: dict, home: Path) -> None:  # type: ignore[type-arg]
    up, sd = seeded["upgrade"], seeded["seed"]
    assert up.returncode == 0, up.stderr
    assert "latest revision" in up.stdout and str(home / "talentbot.db") in up.stdout
    assert sd.returncode == 0, sd.stderr
    # three positions; 10 working days in any 14 days × (4 + 3 + 3) slot times a day
    assert sd.stdout.strip() == "seeded 3 positions and 100 slots"
    assert (home / "talentbot.db").exists() and not (home / "var" / "talentbot.db").exists()


def test_positions_one_per_line_code_first(env: dict[str, str], seeded: dict) -> None:  # type: ignore[type-arg]
    r = talentbot(env, "positions")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3
    rows = {line.split("\t")[0]: line for line in lines}
    assert set(rows) == {"TELLER", "RM", "RISK"}
    assert "综合柜员" in rows["TELLER"] and "Bank Teller" in rows["TELLER"]
    assert "Relationship Manager" in rows["RM"] and "Risk Analyst" in rows["RISK"]


def test_invite_prints_the_code_last_and_rejects_an_unknown_position(
    env: dict[str, str], home: Path, teller_code: str
) -> None:
    assert CODE.match(teller_code), teller_code
    engine = make_engine(f"sqlite:///{home / 'talentbot.db'}")
    with session_factory(engine)() as s:
        inv = s.scalar(select(Invitation).where(Invitation.code_sha256 == repo.code_hash(teller_code)))
        assert inv is not None
    engine.dispose()

    bad = talentbot(env, "invite", "--position", "JANITOR", "--name", "李四")
    assert bad.returncode != 0
    assert "JANITOR" in bad.stderr
    for known in ("TELLER", "RM", "RISK"):
        assert known in bad.stderr
    assert not any(CODE.match(line) for line in bad.stdout.splitlines())


def test_invite_keeps_the_salary_expectation_and_the_profile_for_onboarding(
    env: dict[str, str],
    home: Path,
    seeded: dict,  # type: ignore[type-arg]
) -> None:
    from storage.models import Application

    r = talentbot(
        env,
        "invite",
        "--position",
        "TELLER",
        "--name",
        "王五",
        "--salary",
        "9500",
        "--school",
        "复旦大学",
        "--major",
        "金融学",
        "--degree",
        "硕士",
    )
    assert r.returncode == 0, r.stderr
    engine = make_engine(f"sqlite:///{home / 'talentbot.db'}")
    with session_factory(engine)() as s:
        app = s.scalar(select(Application).where(Application.candidate_name == "王五"))
        assert app is not None and app.salary_expectation == 9500
        assert app.profile == {"school": "复旦大学", "major": "金融学", "degree": "硕士"}
        assert app.documents_due_at is not None
    engine.dispose()
    bad = talentbot(env, "invite", "--position", "TELLER", "--name", "王六", "--salary", "-3")
    assert bad.returncode == 2 and "salary" in bad.stderr


def _next_week_wednesday_2pm() -> datetime:
    today = datetime.now(TZ).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return datetime.combine(monday + timedelta(days=2), datetime.min.time(), tzinfo=TZ).replace(hour=14)


def test_nlu_parse_prints_rasa_json(env: dict[str, str]) -> None:
    r = talentbot(env, "nlu", "parse", "下周三下午两点")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["text"] == "下周三下午两点"
    assert out["intent"]["name"] == "schedule_interview" and 0.5 < out["intent"]["confidence"] <= 1
    ranking = out["intent_ranking"]
    assert ranking[0]["name"] == "schedule_interview" and len(ranking) > 1
    assert [x["confidence"] for x in ranking] == sorted((x["confidence"] for x in ranking), reverse=True)
    [time] = [e for e in out["entities"] if e["entity"] == "time"]
    assert (time["start"], time["end"]) == (0, 7)
    assert ISO_SHANGHAI.match(time["value"]), time
    assert datetime.fromisoformat(time["value"]) == _next_week_wednesday_2pm()


def test_nlu_parse_reads_stdin_one_json_line_each(env: dict[str, str]) -> None:
    r = talentbot(env, "nlu", "parse", stdin="你好\nnext Tuesday 3pm\n我的邀请码是 K7M2-9QXP\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3
    hello, tuesday, code = (json.loads(x) for x in lines)
    assert hello["text"] == "你好" and hello["intent"]["name"] == "greet" and hello["entities"] == []
    assert tuesday["text"] == "next Tuesday 3pm"
    [t] = tuesday["entities"]
    assert t["entity"] == "time" and ISO_SHANGHAI.match(t["value"]) and t["value"][11:16] == "15:00"
    assert date.fromisoformat(t["value"][:10]).weekday() == 1
    assert code["intent"]["name"] == "provide_invite_code"
    [c] = code["entities"]
    assert c["entity"] == "invite_code" and "我的邀请码是 K7M2-9QXP"[c["start"] : c["end"]] == "K7M2-9QXP"


def test_chat_in_the_terminal_with_numbered_choices(env: dict[str, str], teller_code: str) -> None:
    # the code; "1" = 同意 (voice); "2" = 不同意 (documents); "1" = the first interview time; status
    r = talentbot(env, "chat", "--user", "u1", stdin=f"{teller_code}\n1\n2\n1\n我的进度\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "已确认：张三，您申请的是综合柜员岗位" in out
    assert "单独同意事项 1/2" in out and "\n1. 同意\n2. 不同意" in out
    assert "已记录您不同意在线处理材料" in out  # "2" picked the second choice, 不同意
    offer = out[out.index("请选择面试时间") :]
    first_slot = re.search(r"\n1\. (\d+月\d+日（周.）\d\d:\d\d)", offer)
    assert first_slot, offer
    assert f"已为您预约面试：{first_slot.group(1)}" in out
    assert f"已预约面试（{first_slot.group(1)}）" in out
    assert "Traceback" not in r.stderr


def test_demo_without_serving_prints_the_url_and_a_working_code(home: Path) -> None:
    env = _env(home / "demo-var", home / "ignored.db")
    r = talentbot(env, "demo", "--no-serve", "--port", "8123")
    assert r.returncode == 0, r.stderr
    assert "http://127.0.0.1:8123/" in r.stdout
    codes = re.findall(r"\b[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}\b", r.stdout)
    assert codes, r.stdout
    demo_db = home / "demo-var" / "demo" / "demo.db"
    assert demo_db.exists()
    engine = make_engine(f"sqlite:///{demo_db}")
    assert len(codes) == 3 and "voice interview" in r.stdout
    token = re.search(r"^  (tb_\S+)$", r.stdout, re.MULTILINE)
    assert token, r.stdout
    from storage import accounts

    with session_factory(engine)() as s:
        for code in codes:
            assert s.scalar(select(Invitation).where(Invitation.code_sha256 == repo.code_hash(code))), code
        assert accounts.verify_token(s, token.group(1), now=datetime.now(TZ)) is not None
    engine.dispose()


def test_an_interview_answered_by_voice_in_the_terminal(
    env: dict[str, str],
    seeded: dict,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    from tests.scoring.conftest import MODEL_CACHE, Models

    r = talentbot(env, "invite", "--position", "RISK", "--name", "Alex Chen")
    code = r.stdout.strip().splitlines()[-1]
    wav = tmp_path / "answer.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "en-us",
            "-w",
            str(wav),
            "I would verify the customer's identity and report the suspicious transfer to compliance.",
        ],
        check=True,
    )
    voice_env = {**env, "TALENTBOT_ASR_MODEL": str(Models(MODEL_CACHE).model_dir())}
    lines = [f"my code is {code}", "1", "1", "1", f"/voice {wav}", f"/voice {tmp_path / 'missing.wav'}"]
    r = talentbot(voice_env, "chat", "--user", "alex", stdin="\n".join(lines) + "\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Question 1 of 6" in out and "Got your answer" in out
    assert re.search(r"🔔 (Question 2 of 6|Follow-up)", out), out
    assert "cannot read the recording" in out
    assert "Traceback" not in r.stderr


def test_failed_deliveries_are_listed_and_can_be_queued_again(
    env: dict[str, str],
    seeded: dict,  # type: ignore[type-arg]
) -> None:
    from storage.models import Delivery

    engine = make_engine(env["TALENTBOT_DATABASE_URL"])
    with session_factory(engine).begin() as s:
        d = Delivery(
            platform="wecom",
            conversation_id="zhangsan",
            body={"text": "第 2/6 题：…"},
            created_at=datetime.now(TZ),
            status="failed",
            attempts=6,
            last_error="errcode 60111: userid not found",
        )
        s.add(d)
        s.flush()
        did = d.id
    r = talentbot(env, "deliveries")
    assert r.returncode == 0, r.stderr
    assert f"{did}\twecom:zhangsan" in r.stdout and "60111" in r.stdout and "6 tries" in r.stdout
    r = talentbot(env, "deliveries", "--retry", str(did))
    assert r.returncode == 0 and "queued again" in r.stdout
    assert talentbot(env, "deliveries").stdout.strip() == "no failed deliveries"
    assert talentbot(env, "deliveries", "--retry", str(did)).returncode == 2
    with session_factory(engine)() as s:
        again = s.get(Delivery, did)
        assert again is not None and again.status == "pending" and again.attempts == 0
    engine.dispose()
