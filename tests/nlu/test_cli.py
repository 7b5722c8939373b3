import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlu import NLU
from nlu.cli import parse_command

DATA = Path(__file__).resolve().parents[2] / "content" / "nlu"


@pytest.fixture(scope="module")
def nlu() -> NLU:
    return NLU.load(DATA, tz=ZoneInfo("Asia/Shanghai"))


def test_single_text_pretty_json(nlu: NLU) -> None:
    out = io.StringIO()
    assert parse_command(nlu, "取消面试", stdin=io.StringIO(), stdout=out) == 0
    text = out.getvalue()
    assert "取消面试" in text  # ensure_ascii=False
    assert text.startswith("{\n  ")  # indent=2
    assert json.loads(text)["intent"]["name"] == "cancel_interview"


def test_stdin_one_json_per_line(nlu: NLU) -> None:
    stdin = io.StringIO("hi\n\nmy code is K7M2-9QXP\r\n取消面试")
    out = io.StringIO()
    assert parse_command(nlu, None, stdin=stdin, stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    parsed = [json.loads(line) for line in lines]
    assert [p["text"] for p in parsed] == ["hi", "", "my code is K7M2-9QXP", "取消面试"]
    assert parsed[1]["intent"] == {"name": "nlu_fallback", "confidence": 0.0}
    assert parsed[2]["entities"][0]["value"] == "K7M29QXP"
    assert parsed[3]["intent"]["name"] == "cancel_interview"
    assert all("\n" not in line and ": " not in line for line in lines)  # compact


def test_stdin_empty(nlu: NLU) -> None:
    out = io.StringIO()
    assert parse_command(nlu, None, stdin=io.StringIO(""), stdout=out) == 0
    assert out.getvalue() == ""
