"""The HR commands of the CLI, run in-process: thresholds, the funnel, link codes for chat, token scopes."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage import repo
from storage.models import Interview, Position
from tests.bots.test_cli_audit import PNG, audits, run
from tests.conftest import NOW


def _scored(s: Session, code: str, overall: float, *, hired: bool = False) -> None:
    pos = repo.position_by_code(s, code)
    assert pos is not None
    app, _ = repo.create_application(s, position=pos, name="候选人", now=NOW)
    done = NOW + timedelta(hours=1)
    s.add(
        Interview(
            application_id=app.id,
            status="completed",
            language="zh",
            seed=1,
            max_questions=6,
            opens_at=NOW,
            expires_at=done,
            completed_at=done,
            overall=overall,
            scores={},
            versions={},
            updated_at=done,
        )
    )
    app.booked_at = app.interviewed_at = done
    app.stage = "interviewed"
    if hired:
        app.next_round_at = app.offer_at = app.hired_at = done
        app.stage = "hired"


def test_threshold_set_cleared_and_refused(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "threshold", "TELLER", "72.5")
    assert code == 0 and "threshold 72.5 (was 65.0)" in out
    with cli_db() as s:
        assert s.get(Position, repo.position_by_code(s, "TELLER").id).threshold == 72.5  # type: ignore[union-attr]
    assert run(capsys, "threshold", "TELLER", "off")[0] == 0
    code, _, err = run(capsys, "threshold", "TELLER", "101")
    assert code == 2 and "0 to 100" in err
    code, _, err = run(capsys, "threshold", "NOPE", "50")
    assert code == 2 and "unknown position" in err and "TELLER" in err
    assert [a.details["after"] for a in audits(cli_db, "position.threshold")] == [72.5, None]


def test_funnel_text_csv_json_png_and_audited(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    with cli_db.begin() as s:
        for i, score in enumerate([55, 62, 68, 71, 75, 80, 84, 90]):
            _scored(s, "TELLER", score, hired=i >= 2)
    code, out, _ = run(capsys, "funnel", "--position", "TELLER", "--language", "en")
    assert code == 0 and "Funnel · TELLER" in out and "Hired 6" in out and "Suggested threshold" in out
    code, out, _ = run(capsys, "funnel", "--position", "teller", "--format", "json")
    steps = {x["step"]: x["count"] for x in json.loads(out)["steps"]}
    assert code == 0 and steps["hired"] == 6 and steps["interviewed"] == 8
    code, out, _ = run(capsys, "funnel", "--format", "csv")  # every position
    assert code == 0 and list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    target = tmp_path / "funnel.png"
    assert run(capsys, "funnel", "--position", "TELLER", "--format", "png", "--output", str(target))[0] == 0
    assert target.read_bytes().startswith(PNG)
    code, _, err = run(capsys, "funnel", "--position", "NOPE")
    assert code == 2 and "unknown position" in err
    assert len(audits(cli_db, "funnel.run")) == 4


def test_user_add_prints_a_chat_link_code_and_tokens_take_scopes(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "user", "add", "--role", "hr", "--name", "周红", "--scope", "TELLER")
    assert code == 0 and "send this code to the bot" in out
    link = out.strip().splitlines()[-1]
    assert len(link) == 6
    user_id = int(out.split("user ", 1)[1].split(":", 1)[0])
    code, out, _ = run(capsys, "user", "link-code", str(user_id))
    assert code == 0 and out.strip().splitlines()[-1] != link  # a new one; the old one stops working
    code, out, _ = run(
        capsys, "token", "create", "--user", str(user_id), "--scopes", "profiles:read,hires:write"
    )
    assert code == 0 and "profiles:read, hires:write" in out
    code, _, err = run(capsys, "token", "create", "--user", str(user_id), "--scopes", "everything")
    assert code == 2 and "unknown scope" in err
