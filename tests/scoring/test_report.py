"""The interview report: JSON shape and evidence, the radar PNG (size, determinism, the zh font), the
HTML page (escaping, labels, reasons, well-formedness).

The interview is real: four items from the bank, asked in the order ``choose_next`` picks (with one
follow-up probe), answered in plain Mandarin and scored by the real rubric and ``combine``. No item in
the pool measures learning agility, so that indicator is "not assessed".

The zh radar needs the "WenQuanYi Zen Hei" font; without it the tests that draw zh labels FAIL with
what to install (never skip).
"""

from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scoring import report as rpt
from scoring.adaptive import Turn, choose_next
from scoring.indicators import AnswerScore, combine, score_answer
from scoring.questions import INDICATOR_NAMES, INDICATORS, Bank, LocalText, load_bank
from scoring.report import FontMissing, ReportInput, Transcript, radar_data_url, radar_png, to_html, to_json
from scoring.rubric import score_answer as rubric_score
from scoring.speech import SPEECH_VERSION, SpeechFeatures

TZ = ZoneInfo("Asia/Shanghai")
GENERATED = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)
EVIL_NAME = '<script>alert("x")</script> 李&雷'
AUDIO_URL = "https://talentbot.example/audio/app-42/beh-pressure.ogg"
AUDIO_KEY = "voice/app-42/sit-angry-customer.amr"
ASR_MODEL = "whisper-base-ct2-int8"
SEED = 3

# Answers in the candidate's words; sit-skip-kyc's first answer misses the main point, so the probe.
ANSWERS = {
    "beh-pressure": (
        "去年期末我同时要准备三门考试，还在银行网点实习，压力特别大。我先深呼吸让自己冷静下来，"
        "然后把所有任务列了一张清单，按轻重缓急排好顺序，每天先做最重要的。"
        "最后三门考试都顺利通过了，实习报告也按时完成了，还得到了带教老师的表扬。"
    ),
    "sit-angry-customer": (
        "我会先向客户道歉，说让您久等了，我理解您的心情。然后说明一下今天排队多的原因，"
        "告诉他大概还需要多久。同时尽快办理他的业务，简单的业务我会引导他去自助设备办理。"
    ),
    "num-deposit-interest": "用本金乘以年利率再乘以期限：10万乘以3.5%是一年3500元，存半年就是除以2，所以利息是1750元。",
    "sit-skip-kyc": "这个要看情况吧，我会先问问同事为什么这么着急。",
}
PROBE_ANSWERS = {
    "sit-skip-kyc": "不会，不能跳过，必须按流程核实客户身份，这是反洗钱和合规的要求。如果同事一直坚持，我会报告主管。",
}
AUDIO = {"beh-pressure": AUDIO_URL, "sit-angry-customer": AUDIO_KEY}
# the voice answer to beh-pressure: measured speech features (a fluent answer, a few fillers)
SPEECH = {
    "beh-pressure": SpeechFeatures(
        duration_s=48.0,
        speech_s=40.0,
        rate=4.2,
        pause_count=9,
        long_pause_count=1,
        pause_ratio=0.15,
        filler_count=3,
        filler_rate=3.8,
        pitch_cv=0.21,
        loudness_sd_db=7.5,
        version=SPEECH_VERSION,
    )
}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def interview(bank: Bank) -> tuple[list[AnswerScore], list[Transcript], list[dict[str, object]]]:
    """Run the adaptive order over the four items; score each answer (with its probe, if any)."""
    pool = tuple(bank.get(qid) for qid in ANSWERS)
    history: list[Turn] = []
    records: list[dict[str, object]] = []
    asked: list[str] = []
    for _ in range(12):
        choice = choose_next(pool, history, seed=SEED)
        if choice is None:
            break
        records.append(choice.record())
        q = choice.question
        if choice.is_probe:
            history.append(
                Turn(q.id, rubric_score(q, ANSWERS[q.id], followup=PROBE_ANSWERS[q.id]), probed=True)
            )
        else:
            asked.append(q.id)
            history.append(Turn(q.id, rubric_score(q, ANSWERS[q.id])))
    probed = {str(r["question_id"]) for r in records if r["is_probe"]}
    answers, transcripts = [], []
    for qid in asked:
        q = bank.get(qid)
        follow = PROBE_ANSWERS[qid] if qid in probed else None
        answers.append(score_answer(q, ANSWERS[qid], speech=SPEECH.get(qid), followup=follow))
        transcripts.append(Transcript.of(q, ANSWERS[qid], audio=AUDIO.get(qid), probe_answer=follow))
    return answers, transcripts, records


def make_report(bank: Bank, *, language: str = "zh", name: str = EVIL_NAME) -> ReportInput:
    answers, transcripts, records = interview(bank)
    return ReportInput(
        application_id="APP-2026-0042",
        candidate_name=name,
        position_code="TELLER",
        position_title=LocalText("综合柜员", "Bank Teller"),
        scores=combine(answers),
        transcripts=transcripts,
        sequence=records,
        generated_at=GENERATED,
        language=language,
        asr_model=ASR_MODEL,
    )


@pytest.fixture(scope="module")
def zh_report(bank: Bank) -> ReportInput:
    return make_report(bank, language="zh")


@pytest.fixture(scope="module")
def en_report(bank: Bank) -> ReportInput:
    return make_report(bank, language="en")


def require_zh_font() -> None:
    try:
        rpt._zh_font()
    except FontMissing as exc:
        pytest.fail(f"{exc} (the zh radar test needs it)", pytrace=False)


class StrictParser(HTMLParser):
    """Checks the nesting: every end tag closes the innermost open element; void elements stand alone."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            self.errors.append(f"end tag for void element </{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> StrictParser:
    p = StrictParser()
    p.feed(page)
    p.close()
    assert p.errors == [], p.errors
    assert p.stack == [], f"unclosed: {p.stack}"
    return p


# --------------------------------------------------------------------------- the interview itself
def test_interview_is_real(zh_report: ReportInput) -> None:
    s = zh_report.scores
    assert len(s.answers) == 4
    assert [r["question_id"] for r in zh_report.sequence].count("sit-skip-kyc") == 2  # asked, then probed
    assert any(r["is_probe"] for r in zh_report.sequence)
    assert s.get("learning").score is None  # no item in the pool measures it
    assert all(s.get(i).score is not None for i in INDICATORS if i != "learning")
    assert s.get("communication").speech is not None  # the voice answer's speech features count


# --------------------------------------------------------------------------- JSON
def test_json_shape(zh_report: ReportInput) -> None:
    d = to_json(zh_report)
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d
    assert d["schema"] == rpt.SCHEMA
    assert d["language"] == "zh"
    assert d["generated_at"] == "2026-11-25T15:30:00+08:00"
    assert d["application_id"] == "APP-2026-0042"
    assert d["candidate"] == {"name": EVIL_NAME}  # JSON carries the text as is; escaping is the page's job
    assert d["position"] == {"code": "TELLER", "title": {"zh": "综合柜员", "en": "Bank Teller"}}
    assert d["overall"]["score"] == zh_report.scores.overall
    assert d["overall"]["assessed"] == 7 and d["overall"]["of"] == 8
    assert [i["id"] for i in d["indicators"]] == list(INDICATORS)
    for ind in d["indicators"]:
        assert set(ind) >= {
            "id",
            "name",
            "label",
            "score",
            "status",
            "display",
            "content",
            "speech",
            "evidence",
        }
        assert ind["label"] == INDICATOR_NAMES[ind["id"]].zh
    assert d["versions"] == {
        "rubric": zh_report.scores.versions.rubric,
        "scorer": "scorer-1.0",
        "speech": SPEECH_VERSION,
        "asr_model": ASR_MODEL,
    }
    assert d["versions"]["rubric"]  # the bank version every answer recorded
    assert len(d["answers"]) == 4 and all(0 <= a["score"] <= 100 for a in d["answers"])


def test_json_not_assessed_stays_null(zh_report: ReportInput, en_report: ReportInput) -> None:
    learning = next(i for i in to_json(zh_report)["indicators"] if i["id"] == "learning")
    assert learning["score"] is None and learning["content"] is None
    assert learning["status"] == "not_assessed"
    assert learning["display"] == "未评估"
    assert learning["evidence"] == []
    en = next(i for i in to_json(en_report)["indicators"] if i["id"] == "learning")
    assert en["score"] is None and en["display"] == "not assessed"
    assessed = next(i for i in to_json(zh_report)["indicators"] if i["id"] == "risk")
    assert assessed["status"] == "assessed" and isinstance(assessed["score"], float)


def test_json_evidence_quotes_the_transcripts(zh_report: ReportInput) -> None:
    d = to_json(zh_report)
    answers = {**ANSWERS}
    texts = {qid: ANSWERS[qid] + PROBE_ANSWERS.get(qid, "") for qid in answers}
    seen_kinds = set()
    for ind in d["indicators"]:
        for e in ind["evidence"]:
            assert set(e) == {"kind", "ref", "question_id", "passage", "matched", "label"}
            seen_kinds.add(e["kind"])
            if e["kind"] == "speech":
                assert e["passage"] == "" and e["matched"].startswith("speech ")
                continue
            assert e["passage"], e
            assert e["passage"] in texts[e["question_id"]], e  # a real passage of that answer
            assert e["matched"]
    assert {"key_point", "structure", "numeric", "speech"} <= seen_kinds
    comp = next(i for i in d["indicators"] if i["id"] == "composure")
    calm = [e for e in comp["evidence"] if e["ref"] == "stay_calm"]
    assert calm and "深呼吸" in calm[0]["passage"] and calm[0]["label"]["zh"] == "稳定情绪、保持冷静"
    numeracy = next(i for i in d["indicators"] if i["id"] == "numeracy")
    assert any(e["kind"] == "numeric" and "1750" in e["passage"] for e in numeracy["evidence"])
    risk = next(i for i in d["indicators"] if i["id"] == "risk")
    assert any("报告主管" in e["passage"] for e in risk["evidence"])  # found in the probe answer


def test_json_transcripts_and_sequence(zh_report: ReportInput, en_report: ReportInput) -> None:
    d = to_json(zh_report)
    by_id = {t["question_id"]: t for t in d["transcripts"]}
    assert set(by_id) == set(ANSWERS)
    assert by_id["beh-pressure"]["audio"] == AUDIO_URL
    assert by_id["num-deposit-interest"]["audio"] is None
    kyc = by_id["sit-skip-kyc"]
    assert kyc["probe"]["zh"] == "那你最后会不会跳过这一步？"
    assert kyc["probe_answer"] == PROBE_ANSWERS["sit-skip-kyc"]
    assert by_id["beh-pressure"]["probe"] is None and by_id["beh-pressure"]["probe_answer"] is None
    assert "请讲一次你在很大压力下" in by_id["beh-pressure"]["question"]["zh"]
    assert len(d["sequence"]) == 5
    for rec, orig in zip(d["sequence"], zh_report.sequence, strict=True):
        assert rec["reason"] == orig["reason_zh"] and rec["reason"]
        assert rec["reason_en"] == orig["reason_en"]
    assert [r["reason"] for r in to_json(en_report)["sequence"]] == [
        r["reason_en"] for r in en_report.sequence
    ]
    assert "追问" in next(r["reason"] for r in d["sequence"] if r["is_probe"])


def test_json_does_not_alias_the_input(zh_report: ReportInput) -> None:
    d = to_json(zh_report)
    d["sequence"][0]["targets"].append("x")
    assert "x" not in zh_report.sequence[0]["targets"]


# --------------------------------------------------------------------------- input checks
def test_input_validation(zh_report: ReportInput) -> None:
    fields = {f: getattr(zh_report, f) for f in zh_report.__dataclass_fields__}
    with pytest.raises(ValueError, match="aware"):
        ReportInput(**{**fields, "generated_at": datetime(2026, 11, 25, 15, 30)})
    with pytest.raises(ValueError, match="language"):
        ReportInput(**{**fields, "language": "fr"})
    with pytest.raises(ValueError, match="language"):
        radar_png(zh_report.scores, language="fr")


# --------------------------------------------------------------------------- radar
def _decode(png: bytes) -> tuple[int, int]:
    import io

    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    return img.shape[1], img.shape[0]


def test_radar_zh(zh_report: ReportInput, tmp_path: Path) -> None:
    require_zh_font()
    png = radar_png(zh_report.scores, language="zh")
    assert png.startswith(rpt.PNG_SIGNATURE)
    assert _decode(png) == rpt.RADAR_SIZE == (1080, 900)
    assert b"Software" not in png and b"matplotlib" not in png.lower()
    assert radar_png(zh_report.scores, language="zh") == png  # byte-identical
    (tmp_path / "radar-zh.png").write_bytes(png)


def test_radar_en_and_languages_differ(zh_report: ReportInput, en_report: ReportInput) -> None:
    require_zh_font()
    en = radar_png(en_report.scores, language="en")
    assert en.startswith(rpt.PNG_SIGNATURE)
    assert _decode(en) == rpt.RADAR_SIZE == (1080, 900)
    assert radar_png(en_report.scores, language="en") == en
    assert en != radar_png(zh_report.scores, language="zh")


def test_radar_depends_on_scores(bank: Bank) -> None:
    """Different scores draw a different chart; none assessed and all assessed both render."""
    require_zh_font()
    none = combine([])
    assert none.overall is None and all(i.score is None for i in none.indicators)
    empty = radar_png(none, language="zh")
    assert _decode(empty) == rpt.RADAR_SIZE == (1080, 900)
    one = combine([score_answer(bank.get("num-deposit-interest"), ANSWERS["num-deposit-interest"])])
    assert radar_png(one, language="zh") != empty


def test_radar_in_a_fresh_process(zh_report: ReportInput, tmp_path: Path) -> None:
    """Byte-identical across processes too (no per-run state leaks into the PNG)."""
    import subprocess
    import sys

    require_zh_font()
    script = (
        "import sys, pickle\n"
        "from scoring.report import radar_png\n"
        "scores = pickle.loads(sys.stdin.buffer.read())\n"
        "sys.stdout.buffer.write(radar_png(scores, language='zh'))\n"
    )
    import pickle

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(zh_report.scores),
        capture_output=True,
        cwd=root,
        check=True,
    ).stdout
    assert out == radar_png(zh_report.scores, language="zh")


def test_missing_zh_font_is_a_clear_error(zh_report: ReportInput, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpt, "ZH_FONT", "No Such Font Family")
    monkeypatch.setattr(rpt, "ZH_FONT_FILES", ("no-such-font.ttc",))
    with pytest.raises(FontMissing, match="apt-get install -y fonts-wqy-zenhei"):
        radar_png(zh_report.scores, language="zh")
    assert radar_png(zh_report.scores, language="en").startswith(rpt.PNG_SIGNATURE)  # en needs no CJK font


# --------------------------------------------------------------------------- HTML
@pytest.fixture(scope="module")
def zh_page(zh_report: ReportInput) -> str:
    require_zh_font()
    return to_html(zh_report, radar_url=radar_data_url(radar_png(zh_report.scores, language="zh")))


def test_html_escapes_user_text(zh_page: str, zh_report: ReportInput) -> None:
    assert "<script" not in zh_page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 李&amp;雷" in zh_page
    p = parse(zh_page)
    assert EVIL_NAME in "".join(p.text)  # shown to the reader as typed
    assert not any(tag == "script" for tag, _ in p.tags)


def test_html_sections_and_labels(zh_page: str, zh_report: ReportInput) -> None:
    p = parse(zh_page)
    text = "".join(p.text)
    assert p.tags[0][0] == "html" and p.tags[0][1]["lang"] == "zh-CN"
    for ind in INDICATORS:
        assert INDICATOR_NAMES[ind].zh in text
    for heading in (
        "面试评估报告",
        "综合得分",
        "八项指标雷达图",
        "各项指标与依据",
        "提问顺序与选题理由",
        "回答记录",
    ):
        assert heading in text
    assert "综合柜员" in text and "TELLER" in text and "APP-2026-0042" in text
    assert f"{zh_report.scores.overall:g}" in text
    assert "未评估" in text
    assert "分数只用于辅助面试官" in text and "是否录用由招聘人员" in text  # scores assist, people decide
    for rec in zh_report.sequence:
        assert str(rec["reason_zh"]) in text  # every choice with its reason
    assert "追问" in text
    for e in (e for i in zh_report.scores.indicators for e in i.evidence if e.passage):
        assert e.passage in text  # every evidence quote
    for qid, answer in ANSWERS.items():
        assert answer in text and qid in text
    assert PROBE_ANSWERS["sit-skip-kyc"] in text
    # what each passage matched, in zh: the rubric's English details are rewritten
    assert "命中「深呼吸」" in text and "结构词「然后」" in text and "（追问后）" in text
    assert "正确：回答 1750，应为 1750元" in text
    assert "matched '" not in text
    assert ASR_MODEL in text


def test_html_radar_and_audio(zh_page: str) -> None:
    p = parse(zh_page)
    imgs = [a for tag, a in p.tags if tag == "img"]
    assert len(imgs) == 1 and str(imgs[0]["src"]).startswith("data:image/png;base64,")
    audios = [a for tag, a in p.tags if tag == "audio"]
    assert [a["src"] for a in audios] == [AUDIO_URL]  # the URL plays; the storage key is only shown
    assert AUDIO_KEY in "".join(p.text)
    # no outside resources: nothing but the audio URL points off the page
    assert not any(tag in ("link", "script", "iframe") for tag, _ in p.tags)


def test_html_audio_mapping_and_unsafe_urls(zh_report: ReportInput) -> None:
    page = to_html(zh_report, radar_url=None, audio_url=lambda ref: f"/files/{ref}")
    audios = [a["src"] for tag, a in parse(page).tags if tag == "audio"]
    assert audios == [f"/files/{AUDIO_URL}", f"/files/{AUDIO_KEY}"]
    assert "未附雷达图" in page
    page = to_html(zh_report, radar_url=None, audio_url=lambda ref: "javascript:alert(1)")
    assert "javascript:" not in page
    with pytest.raises(ValueError, match="radar_url"):
        to_html(zh_report, radar_url="javascript:alert(1)")
    assert 'src="/static/radar.png"' in to_html(zh_report, radar_url="/static/radar.png")


def test_html_en(en_report: ReportInput) -> None:
    page = to_html(en_report, radar_url="radar.png")
    p = parse(page)
    text = "".join(p.text)
    assert p.tags[0][1]["lang"] == "en"
    for ind in INDICATORS:
        assert INDICATOR_NAMES[ind].en in text
    assert "not assessed" in text
    assert "people make the hiring decision" in text
    for rec in en_report.sequence:
        assert str(rec["reason_en"]) in text
    assert "Bank Teller" in text and "Interview assessment report" in text
    assert "沟通表达" not in text  # labels follow the language


def test_html_with_no_answers() -> None:
    empty = ReportInput(
        application_id="APP-1",
        candidate_name="Alex Chen",
        position_code="RM",
        position_title=LocalText("客户经理", "Relationship Manager"),
        scores=combine([]),
        transcripts=[],
        sequence=[],
        generated_at=GENERATED,
        language="en",
    )
    page = to_html(empty, radar_url=None)
    text = "".join(parse(page).text)
    assert text.count("not assessed") >= 9  # the overall and all eight
    assert to_json(empty)["overall"] == {
        "score": None,
        "status": "not_assessed",
        "display": "not assessed",
        "assessed": 0,
        "of": 8,
    }
