"""``talentbot audit export`` and ``talentbot bias-audit``, run in-process (``bots.cli.main(argv)``)
against the test's database with their settings from the environment; data is put in with the ORM."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bots.cli import _operator, main
from storage import repo
from storage.demographics import record_demographics
from storage.models import Application, AuditEntry, Interview, User
from tests.conftest import NOW, TZ

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def sessions(cli_db: sessionmaker[Session]) -> sessionmaker[Session]:
    return cli_db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audits(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- audit export


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def logged(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as s:
        for entry in s.scalars(select(AuditEntry)):  # the seed's own rows, if any
            s.delete(entry)
    with sessions.begin() as s:
        repo.audit(
            s,
            now=_local(1, 10),
            actor="user:7",
            action="consent.voice",
            subject="application:12",
            details={"granted": True, "备注": "同意录音"},
            input_versions={"notice": "privacy-2026-11"},
        )
        repo.audit(
            s, now=_local(2, 23, 30), actor="system", action="interview.scored", subject="application:13"
        )
        # 00:30 on the 3rd in Shanghai is still the 2nd in UTC: --until 2026-01-02 must leave it out
        repo.audit(
            s,
            now=_local(3, 0, 30),
            actor="cli:hr",
            action="report.read",
            subject="application:12",
            details={},
        )
        repo.audit(
            s, now=_local(4, 9), actor="=cmd|' /C calc'!A0", action="odd.actor", subject="application:14"
        )
    return sessions


def test_audit_export_csv_to_a_file(
    logged: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "audit.csv"
    code, out, err = run(capsys, "audit", "export", "--format", "csv", "--output", str(out_file))
    assert code == 0, err
    assert out == "" and f"4 audit rows (csv) written to {out_file}" in err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "actor", "action", "subject", "details", "input_versions"]
    body = rows[1:]
    assert [r[3] for r in body] == ["consent.voice", "interview.scored", "report.read", "odd.actor"]
    first = body[0]
    assert first[1] == "2026-01-01T02:00:00+00:00" and first[2] == "user:7" and first[4] == "application:12"
    assert json.loads(first[5]) == {"granted": True, "备注": "同意录音"} and "同意录音" in first[5]
    assert json.loads(first[6]) == {"notice": "privacy-2026-11"}
    assert body[3][2] == "'=cmd|' /C calc'!A0"  # never a live formula
    [export] = audits(logged, "audit.export")
    assert export.actor == _operator() and export.subject == "audit_log"
    assert export.details == {
        "format": "csv",
        "since": None,
        "until": None,
        "subject": None,
        "output": str(out_file),
        "rows": 4,
    }


def test_audit_export_json_lines_filtered_by_day_and_subject(
    logged: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "audit", "export", "--format", "json", "--since", "2026-01-01", "--until", "2026-01-02"
    )
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["action"] for x in lines] == ["consent.voice", "interview.scored"]
    assert list(lines[0]) == ["id", "at", "actor", "action", "subject", "details", "input_versions"]
    assert lines[0]["details"] == {"granted": True, "备注": "同意录音"}

    code, out, err = run(capsys, "audit", "export", "--format", "json", "--subject", "application:12")
    assert code == 0, err
    assert [json.loads(x)["action"] for x in out.splitlines()] == ["consent.voice", "report.read"]

    code, out, err = run(capsys, "audit", "export", "--format", "json", "--since", "2026-01-03")
    # the first export's own row is dated today, so it is in a later export but never in its own
    assert [json.loads(x)["action"] for x in out.splitlines()] == [
        "report.read",
        "odd.actor",
        "audit.export",
        "audit.export",
    ]
    exports = audits(logged, "audit.export")
    assert [e.details["rows"] for e in exports] == [2, 2, 4]
    assert exports[1].details["subject"] == "application:12"
    assert all(e.actor == _operator() for e in exports)


def test_audit_export_refuses_bad_input(
    logged: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "audit", "export", "--format", "csv", "--since", "2026-02-01", "--until", "2026-01-01"
    )
    assert code == 2 and "--since must not be after --until" in err
    with pytest.raises(SystemExit) as exc:
        main(["audit", "export", "--format", "csv", "--since", "yesterday"])
    assert exc.value.code == 2 and "not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "export", "--format", "xml"])
    capsys.readouterr()
    assert audits(logged, "audit.export") == []


# --------------------------------------------------------------------------- bias audit


def _candidates(sessions: sessionmaker[Session]) -> None:
    """RM: 20 women (8 selected), 20 men (6 selected: ratio 0.75), 5 undeclared; one application of
    last year and one TELLER application that must not count."""
    plan = (
        [("female", "25_34", "上海", k < 8, 80.0 if k < 10 else 60.0) for k in range(20)]
        + [("male", "35_44", "北京", k < 6, 80.0 if k < 6 else 60.0) for k in range(20)]
        + [(None, None, None, k < 1, None) for k in range(5)]
    )
    with sessions.begin() as s:
        rm, teller = repo.position_by_code(s, "RM"), repo.position_by_code(s, "TELLER")
        extra = [(rm, NOW - timedelta(days=365), ("female", None, None, True, 99.0))]
        extra.append((teller, NOW, ("male", None, None, True, 99.0)))
        for pos, when, (sex, age, region, selected, overall) in [(rm, NOW, p) for p in plan] + extra:
            app, _ = repo.create_application(s, position=pos, name="候选人", now=when)
            user = User(display_name="候选人", role="candidate", created_at=when)
            s.add(user)
            s.flush()
            app.user_id, app.stage = user.id, ("next_round" if selected else "interviewed")
            if sex is not None:
                record_demographics(s, app=app, sex=sex, age_band=age, region=region, now=when)
            if overall is not None:
                s.add(
                    Interview(
                        application_id=app.id,
                        round=1,
                        status="completed",
                        language="zh",
                        seed=1,
                        max_questions=6,
                        opens_at=when,
                        expires_at=when + timedelta(days=3),
                        overall=overall,
                        updated_at=when,
                    )
                )
        s.add(
            Application(
                position_id=rm.id, candidate_name="未接受", stage="invited", created_at=NOW, updated_at=NOW
            )
        )


def test_bias_audit_json_and_its_audit_row(
    sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    _candidates(sessions)
    day = NOW.date().isoformat()
    code, out, err = run(
        capsys, "bias-audit", "--position", "rm", "--since", day, "--until", day, "--format", "json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["position"] == "RM" and result["period"] == {"start": day, "end": day}
    assert result["counts"] == {
        "candidates": 45,
        "excluded": 1,
        "declared": 40,
        "selected": 15,
        "scored": 40,
        "flagged": result["counts"]["flagged"],
    }
    sex = result["dimensions"][0]
    assert (sex["metric"], sex["dimension"], sex["declared"]) == ("selection", "sex", 40)
    assert [(c["category"], c["rate"], c["impact_ratio"], c["flagged"]) for c in sex["categories"]] == [
        ("female", 0.4, 1.0, False),
        ("male", 0.3, 0.75, True),
    ]
    assert sex["unknown"] == {"candidates": 5, "hits": 1, "rate": 0.2}
    # 40 scores, 24 × 60 and 16 × 80: median 60; women 10/20 above, men 6/20 → 0.6
    scoring = [d for d in result["dimensions"] if d["metric"] == "scoring" and d["dimension"] == "sex"][0]
    assert result["median_overall"] == 60.0
    assert [c["impact_ratio"] for c in scoring["categories"]] == [1.0, 0.6]
    [row] = audits(sessions, "bias_audit.run")
    assert row.actor == _operator() and row.subject == "position:RM"
    assert row.details == {
        "candidates": 45,
        "excluded": 1,
        "declared": 40,
        "selected": 15,
        "scored": 40,
        "flagged": result["counts"]["flagged"],
        "since": day,
        "until": day,
        "format": "json",
        "language": "zh",
        "output": "stdout",
    }
    assert row.input_versions["method"] == "nyc-ll144/1"
    # all time: last year's application is in (and so 46 audited)
    code, out, _ = run(capsys, "bias-audit", "--position", "RM", "--format", "json")
    assert json.loads(out)["counts"]["candidates"] == 46


def test_bias_audit_text_csv_and_png(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _candidates(sessions)
    code, out, err = run(capsys, "bias-audit", "--position", "RM")
    assert code == 0, err
    assert "偏差审计" in out and "影响比" in out and "0.75  ⚠" in out and "未申报" in out
    assert "申报人数不足 30" not in out.split("== 评分率")[0]  # 40 declared: every selection ratio computed
    code, out, err = run(capsys, "bias-audit", "--position", "RM", "--language", "en")
    assert code == 0 and "Bias audit (NYC Local Law 144 method)" in out

    csv_file, png_file = tmp_path / "bias.csv", tmp_path / "bias.png"
    code, _, err = run(capsys, "bias-audit", "--position", "RM", "--format", "csv", "--output", str(csv_file))
    assert code == 0, err
    raw = csv_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and stat.S_IMODE(csv_file.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {"×".join((r["dimension"], r["category"])) for r in rows if r["metric"] == "selection"} >= {
        "sex×female",
        "sex×male",
        "sex×unknown",
        "region×上海",
        "sex×region×male×北京",
    }
    code, _, err = run(capsys, "bias-audit", "--position", "RM", "--format", "png", "--output", str(png_file))
    assert code == 0, err
    assert png_file.read_bytes().startswith(PNG)
    assert [r.details["format"] for r in audits(sessions, "bias_audit.run")] == ["text", "text", "csv", "png"]


def test_bias_audit_refuses_an_unknown_position(
    sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "bias-audit", "--position", "JANITOR")
    assert code == 2 and "JANITOR" in err and "RM" in err
    assert audits(sessions, "bias_audit.run") == []
