"""The optional LLM grader against a fake OpenAI-compatible chat endpoint on 127.0.0.1.

The fake is ``http.server`` in a background thread on a free port. Each test queues the replies it
wants (status, body, delay); the server records every request (path, headers, raw body) so tests can
check exactly what left the process and how many attempts were made.
"""

from __future__ import annotations

import inspect
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from scoring.llm_grader import (
    PROMPT_VERSION,
    SEED,
    SOURCE_FALLBACK,
    SOURCE_LLM,
    GradeResult,
    LLMGrader,
    quote_in_text,
)
from scoring.questions import Bank, Question, load_bank
from scoring.rubric import SCORER_VERSION, score_answer

MODEL = "qwen2.5-7b-instruct"

ANGRY_EN = (
    "I would apologize first and say I understand your frustration, then explain the reason for the long "
    "wait and how long it will take. Finally I would serve the customer right away or guide them to "
    "self-service."
)
ELDERLY_ZH = (
    "首先我会请老人家坐下，耐心解释：公安机关不会让人把钱转到安全账户，这很可能是冒充公检法的电信诈骗。"
    "然后我会暂缓办理这笔转账。最后我会报告主管、联系客户家属，必要时拨打110报警。"
)


# --------------------------------------------------------------------------- the fake endpoint
@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the assistant message content, wrapped in a chat completion
    raw: bytes | None = None  # or the whole response body as is
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class FakeLLM:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Seen] = []
        self.release = threading.Event()  # set on teardown: a sleeping handler returns at once
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reset(self, *replies: Reply) -> None:
        with self.lock:
            self.replies = list(replies)
            self.requests = []
        self.release.clear()

    def next_reply(self, seen: Seen) -> Reply:
        with self.lock:
            self.requests.append(seen)
            # the last reply repeats once the queue runs out
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = fake.next_reply(seen)
                if reply.delay:
                    fake.release.wait(reply.delay)
                if reply.raw is not None:
                    out = reply.raw
                else:
                    out = json.dumps(
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "model": MODEL,
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": reply.content or ""},
                                }
                            ],
                        },
                        ensure_ascii=False,
                    ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    fake.thread.start()
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def llm(server: FakeLLM) -> Iterator[FakeLLM]:
    server.reset(Reply(status=500, content="no reply queued"))
    yield server
    server.release.set()


@pytest.fixture
def grader(server: FakeLLM) -> Iterator[LLMGrader]:
    g = LLMGrader(server.url, model=MODEL, api_key="sk-local", timeout=5.0)
    yield g
    g.close()


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def angry(bank: Bank) -> Question:
    return bank.get("sit-angry-customer")


def grade_json(
    q: Question,
    quotes: dict[str, str],
    scores: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    """A well-formed model reply: key points in ``quotes`` are met with that quote."""
    data: dict[str, Any] = {
        "key_points": {
            kp.id: {"met": kp.id in quotes, "quote": quotes.get(kp.id, "")} for kp in q.key_points
        },
        "subscores": scores if scores is not None else {k: 80 for k, _ in q.indicators},
        "rationale": "Apologises, explains and solves.",
    }
    data.update(extra)
    return json.dumps(data, ensure_ascii=False)


ANGRY_QUOTES = {
    "soothe": "I would apologize first and say I understand your frustration",
    "explain": "explain the reason for the long wait",
    "solve": "serve the customer right away",
}


# --------------------------------------------------------------------------- a valid grade
def test_valid_grade_is_used_with_its_subscores_and_quotes(
    llm: FakeLLM, grader: LLMGrader, angry: Question
) -> None:
    scores = {"communication": 72, "composure": 85.5, "customer": 90}
    llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES, scores)))
    g = grader.grade(angry, ANGRY_EN, language="en")

    assert isinstance(g, GradeResult)
    assert g.source == SOURCE_LLM and g.fallback_reason is None
    assert g.subscores == (("communication", 72.0), ("composure", 85.5), ("customer", 90.0))
    assert dict(g.evidence) == ANGRY_QUOTES
    assert dict(g.key_points) == {"soothe": True, "explain": True, "solve": True}
    assert g.rationale == "Apologises, explains and solves."
    assert g.model == MODEL and g.prompt_version == PROMPT_VERSION
    assert g.attempts == 1 and g.issues == ()
    assert len(llm.requests) == 1
    # the rubric result is always computed alongside
    assert g.rubric == score_answer(angry, ANGRY_EN)
    assert g.versions == {
        "rubric": angry.bank_version,
        "scorer": SCORER_VERSION,
        "llm_model": MODEL,
        "llm_prompt": PROMPT_VERSION,
    }
    assert g.score == round(0.25 * 72 + 0.35 * 85.5 + 0.4 * 90, 1)
    assert g.deltas == {k: round(v - g.rubric.subscore(k), 1) for k, v in g.subscores}  # type: ignore[operator]
    json.dumps(g.to_dict(), ensure_ascii=False)  # serialisable


def test_chinese_answer_quotes_match_despite_width_and_spacing(
    llm: FakeLLM, grader: LLMGrader, bank: Bank
) -> None:
    q = bank.get("sit-elderly-transfer")
    quotes = {
        "identify_fraud": "这很可能是冒充公检法的电信诈骗",
        "pause": "然后我会 暂缓办理这笔转账",  # an inserted space
        "escalate": "报告主管、联系客户家属,必要时拨打１１０报警",  # ASCII comma, full-width digits
    }
    llm.reset(Reply(content=grade_json(q, quotes)))
    g = grader.grade(q, ELDERLY_ZH, language="zh")
    assert g.source == SOURCE_LLM
    assert dict(g.key_points) == {"identify_fraud": True, "pause": True, "escalate": True}
    assert g.issues == ()


def test_extra_keys_are_ignored(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    reply = json.loads(grade_json(angry, ANGRY_QUOTES, confidence=0.9, notes=["x"]))
    reply["key_points"]["soothe"]["why"] = "apology first"
    llm.reset(Reply(content=json.dumps(reply)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert g.source == SOURCE_LLM and g.attempts == 1


# --------------------------------------------------------------------------- the request
def test_request_body_is_as_specified(llm: FakeLLM, grader: LLMGrader, bank: Bank, angry: Question) -> None:
    llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES)))
    grader.grade(angry, ANGRY_EN, language="en")
    (seen,) = llm.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-local"
    assert seen.headers["content-type"] == "application/json"
    body = seen.json()
    assert set(body) == {"model", "messages", "temperature", "seed", "max_tokens", "response_format"}
    assert body["model"] == MODEL
    assert body["temperature"] == 0
    assert body["seed"] == SEED
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert all(set(m) == {"role", "content"} for m in body["messages"])
    system = body["messages"][0]["content"]
    for ind in ("communication", "logic", "numeracy", "risk", "composure", "learning", "finance", "customer"):
        assert ind in system
    assert '"subscores"' in system and '"key_points"' in system and '"quote"' in system
    user = json.loads(body["messages"][1]["content"])
    assert user["answer"] == ANGRY_EN
    assert user["question"] == angry.text.en
    assert user["indicators"] == {"communication": 0.25, "composure": 0.35, "customer": 0.4}
    assert [kp["id"] for kp in user["key_points"]] == ["soothe", "explain", "solve"]
    soothe = user["key_points"][0]
    assert soothe["label"] == "apologise and calm the customer"
    assert 1 <= len(soothe["examples"]) <= 4 and soothe["examples"][0] == "apologize"
    assert soothe["indicators"] == ["composure", "customer"]
    assert [rf["id"] for rf in user["red_flags"]] == ["argue"]

    # the question and the examples are given in the answer's language
    zh = json.loads(
        json.loads(grader.request_body(angry, "我会先道歉。", language="zh"))["messages"][1]["content"]
    )
    assert zh["question"] == angry.text.zh and zh["language"] == "zh"
    assert zh["key_points"][0]["label"] == "先道歉安抚" and zh["key_points"][0]["examples"][0] == "道歉"


def test_no_api_key_sends_no_authorization(llm: FakeLLM, server: FakeLLM, angry: Question) -> None:
    llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES)))
    with LLMGrader(server.url + "/", model=MODEL) as g:
        assert g.grade(angry, ANGRY_EN, language="en").source == SOURCE_LLM
    assert "authorization" not in llm.requests[0].headers
    assert llm.requests[0].path == "/v1/chat/completions"


def test_reference_answers_of_numeric_and_option_items_are_given(grader: LLMGrader, bank: Bank) -> None:
    num = bank.generate("simple_interest", 3)
    user = json.loads(json.loads(grader.request_body(num, "1500元", language="zh"))["messages"][1]["content"])
    assert user["reference"] == {"answer": 1500.0, "tolerance": 1.5, "unit": "元"}
    assert user["question"] == num.prompt("zh")

    sjt = bank.generate("risk_sjt", 1)
    user = json.loads(json.loads(grader.request_body(sjt, "选D", language="en"))["messages"][1]["content"])
    assert user["reference"] == {"option_credit": {o.id: o.credit for o in sjt.options}}
    assert "D. " in user["question"]  # the lettered options are part of the question text


def test_no_candidate_identity_can_be_sent(llm: FakeLLM, server: FakeLLM, angry: Question) -> None:
    # The API has no parameter for anything about the candidate ...
    init = set(inspect.signature(LLMGrader.__init__).parameters)
    assert init == {"self", "base_url", "model", "api_key", "timeout", "client"}
    grade = set(inspect.signature(LLMGrader.grade).parameters)
    assert grade == {"self", "question", "text", "language"}
    with LLMGrader(server.url, model=MODEL) as g:
        with pytest.raises(TypeError):
            g.grade(angry, ANGRY_EN, language="en", name="Alex Chen")  # type: ignore[call-arg]
        # ... and the body carries only the question and the answer: no OpenAI "user" field, no
        # per-message "name", nothing but what the tests above enumerate.
        llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES)))
        g.grade(angry, ANGRY_EN, language="en")
    body = llm.requests[0].json()
    assert "user" not in body
    assert all("name" not in m for m in body["messages"])
    user = json.loads(body["messages"][1]["content"])
    assert set(user) == {"question", "language", "kind", "indicators", "key_points", "red_flags", "answer"}
    for who in ("Alex Chen", "张三", "candidate_id", "application"):
        assert who not in llm.requests[0].body.decode()


def test_prompt_construction_is_deterministic(
    llm: FakeLLM, server: FakeLLM, bank: Bank, angry: Question
) -> None:
    with LLMGrader(server.url, model=MODEL) as a, LLMGrader(server.url, model=MODEL) as b:
        for q, text, lang in ((angry, ANGRY_EN, "en"), (bank.get("sit-elderly-transfer"), ELDERLY_ZH, "zh")):
            assert a.request_body(q, text, language=lang) == b.request_body(q, text, language=lang)
        llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES)))
        a.grade(angry, ANGRY_EN, language="en")
        b.grade(angry, ANGRY_EN, language="en")
        expected = a.request_body(angry, ANGRY_EN, language="en")
    assert [s.body for s in llm.requests] == [expected, expected]
    zh_body = a.request_body(angry, "我会先道歉。", language="zh")
    assert "我会先道歉。".encode() in zh_body and b"\\u" not in zh_body  # UTF-8, not \\u-escaped
    assert a.request_body(angry, "我会先道歉！", language="zh") != zh_body


# --------------------------------------------------------------------------- bad replies
def _assert_fallback(g: GradeResult, q: Question, text: str, code: str) -> None:
    rubric = score_answer(q, text)
    assert g.source == SOURCE_FALLBACK
    assert g.fallback_reason is not None and g.fallback_reason.startswith(f"{code}: ")
    assert g.subscores == rubric.subscores and g.rubric == rubric
    assert dict(g.key_points) == {r.id: r.matched for r in rubric.key_points}
    assert g.versions["llm_model"] == MODEL and g.versions["rubric"] == q.bank_version


def test_invalid_json_is_retried_once_with_a_correction_then_falls_back(
    llm: FakeLLM, grader: LLMGrader, angry: Question
) -> None:
    llm.reset(Reply(content="Sure! Here is the grade: {subscores: lots}"))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "invalid_json")
    assert len(llm.requests) == 2 and g.attempts == 2
    assert len(g.issues) == 2 and g.issues[0].startswith("attempt 1: invalid_json")
    # the rubric's evidence stands in: the matched passages per key point
    assert (
        dict(g.evidence)["solve"]
        == "Finally I would serve the customer right away or guide them to self-service"
    )
    retry = llm.requests[1].json()["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[:2] == llm.requests[0].json()["messages"]
    assert retry[2]["content"] == "Sure! Here is the grade: {subscores: lots}"
    assert "rejected (invalid_json" in retry[3]["content"]


def test_invalid_json_then_a_valid_grade_uses_the_grade(
    llm: FakeLLM, grader: LLMGrader, angry: Question
) -> None:
    llm.reset(Reply(content="```json\n{}\n```"), Reply(content=grade_json(angry, ANGRY_QUOTES)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert g.source == SOURCE_LLM and g.attempts == 2 and len(llm.requests) == 2
    assert g.issues[0].startswith("attempt 1: invalid_json")


def _with(reply: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    keys = path.split(".")
    node = reply
    for k in keys[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return reply


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "detail"),
    [
        ("subscores.numeracy", 50, "not measured by this question: numeracy"),
        ("subscores.customer", _DELETE, "missing indicators: customer"),
        ("subscores.customer", 101, "outside 0..100"),
        ("subscores.composure", -0.5, "outside 0..100"),
        ("subscores.customer", "85", "is not a number"),
        ("subscores.customer", True, "is not a number"),
        ("subscores.customer", None, "is not a number"),
        ("subscores", [80, 80, 80], "'subscores' must be an object"),
        ("key_points.solve", _DELETE, "missing key points: solve"),
        ("key_points.empathy", {"met": True, "quote": "sorry"}, "unknown key point ids: empathy"),
        ("key_points.solve.met", "yes", "met must be true or false"),
        ("key_points.solve.quote", None, "quote must be a string"),
        ("key_points.solve", "met", "must be an object"),
        ("rationale", _DELETE, "'rationale' must be a string"),
    ],
)
def test_wrong_schema_falls_back_after_one_retry(
    llm: FakeLLM, grader: LLMGrader, angry: Question, path: str, value: Any, detail: str
) -> None:
    reply = _with(json.loads(grade_json(angry, ANGRY_QUOTES)), path, value)
    llm.reset(Reply(content=json.dumps(reply)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "invalid_schema")
    assert detail in (g.fallback_reason or "")
    assert len(llm.requests) == 2


@pytest.mark.parametrize("content", ["[1, 2, 3]", '"a grade"', '{"subscores": {"customer": NaN}}', "null"])
def test_non_object_or_non_finite_replies_fall_back(
    llm: FakeLLM, grader: LLMGrader, angry: Question, content: str
) -> None:
    llm.reset(Reply(content=content))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "invalid_schema")


def test_nan_score_is_rejected(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    content = grade_json(angry, ANGRY_QUOTES).replace('"customer": 80', '"customer": NaN')
    assert "NaN" in content
    llm.reset(Reply(content=content))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "invalid_schema")
    assert "subscores.customer: nan is not a number" in (g.fallback_reason or "")


def test_hallucinated_quote_makes_that_key_point_not_met(
    llm: FakeLLM, grader: LLMGrader, angry: Question
) -> None:
    quotes = {**ANGRY_QUOTES, "solve": "I would open another window immediately"}
    llm.reset(Reply(content=grade_json(angry, quotes)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert g.source == SOURCE_LLM and g.fallback_reason is None  # partial: the rest of the grade stands
    assert dict(g.key_points) == {"soothe": True, "explain": True, "solve": False}
    assert "solve" not in dict(g.evidence)
    assert len(g.issues) == 1 and "'solve'" in g.issues[0] and "not found in the answer" in g.issues[0]
    assert len(llm.requests) == 1  # a grounding problem is not retried


def test_met_without_a_quote_is_not_met(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    reply = json.loads(grade_json(angry, ANGRY_QUOTES))
    reply["key_points"]["explain"]["quote"] = ""
    llm.reset(Reply(content=json.dumps(reply)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert dict(g.key_points)["explain"] is False and g.source == SOURCE_LLM


def test_quote_matching() -> None:
    text = "首先我会请老人家坐下，耐心解释。 I would  Apologize first,\nthen explain the reason."
    assert quote_in_text("I would apologize first", text)
    assert quote_in_text("“I would apologize first,”", text)
    assert quote_in_text("i would apologize first, then explain", text)  # newline and double space
    assert quote_in_text("I would apologize … explain the reason", text)  # elision, in order
    assert quote_in_text("请老人家坐下,耐心解释", text)  # ASCII comma for the full-width one
    assert not quote_in_text("explain the reason ... I would apologize", text)  # wrong order
    assert not quote_in_text("I would apologise first", text)  # a different spelling is not a quote
    assert not quote_in_text("", text)
    assert not quote_in_text("I", text)  # too short to prove anything
    assert not quote_in_text("……", text)


# --------------------------------------------------------------------------- transport failures
def test_http_500_is_retried_once_with_the_same_body_then_falls_back(
    llm: FakeLLM, grader: LLMGrader, angry: Question
) -> None:
    llm.reset(Reply(status=500, raw=b'{"error": "model crashed"}'))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "http_error")
    assert "HTTP 500" in (g.fallback_reason or "") and "model crashed" in (g.fallback_reason or "")
    assert len(llm.requests) == 2 and llm.requests[0].body == llm.requests[1].body


def test_http_503_then_a_valid_grade(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    llm.reset(Reply(status=503, raw=b"busy"), Reply(content=grade_json(angry, ANGRY_QUOTES)))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert g.source == SOURCE_LLM and g.attempts == 2
    assert g.issues == ("attempt 1: http_error: HTTP 503: 'busy'",)


def test_http_4xx_is_not_retried(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    llm.reset(Reply(status=404, raw=b'{"error": "model not found"}'))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "http_error")
    assert "HTTP 404" in (g.fallback_reason or "") and len(llm.requests) == 1


def test_not_a_chat_completion_falls_back(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    llm.reset(Reply(raw=b'{"object": "list", "data": []}'))
    g = grader.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(g, angry, ANGRY_EN, "invalid_response")
    assert len(llm.requests) == 2


def test_slow_answer_beyond_the_timeout_falls_back_without_retry(
    llm: FakeLLM, server: FakeLLM, angry: Question
) -> None:
    llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES), delay=5.0))
    with LLMGrader(server.url, model=MODEL, timeout=0.3) as g:
        t0 = time.monotonic()
        result = g.grade(angry, ANGRY_EN, language="en")
        elapsed = time.monotonic() - t0
    _assert_fallback(result, angry, ANGRY_EN, "timeout")
    assert "0.3 s" in (result.fallback_reason or "")
    assert len(llm.requests) == 1 and result.attempts == 1
    assert elapsed < 2.0


def test_unreachable_endpoint_falls_back(angry: Question) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with LLMGrader(f"http://127.0.0.1:{port}", model=MODEL, timeout=2.0) as g:
        result = g.grade(angry, ANGRY_EN, language="en")
    _assert_fallback(result, angry, ANGRY_EN, "unreachable")
    assert result.attempts == 2


def test_empty_answer_is_not_sent(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    g = grader.grade(angry, "   ", language="en")
    _assert_fallback(g, angry, "   ", "empty_answer")
    assert llm.requests == [] and g.attempts == 0


def test_a_given_client_is_used_and_left_open(llm: FakeLLM, server: FakeLLM, angry: Question) -> None:
    llm.reset(Reply(content=grade_json(angry, ANGRY_QUOTES)))
    with httpx.Client(headers={"X-Trace": "t1"}) as client:
        with LLMGrader(server.url, model=MODEL, client=client) as g:
            assert g.grade(angry, ANGRY_EN, language="en").source == SOURCE_LLM
        assert not client.is_closed
    assert llm.requests[0].headers["x-trace"] == "t1"


def test_fallback_result_score_matches_the_rubric(llm: FakeLLM, grader: LLMGrader, angry: Question) -> None:
    llm.reset(Reply(status=500))
    g = grader.grade(angry, ANGRY_EN, language="en")
    assert g.score == g.rubric.score
    assert all(math.isclose(d, 0.0) for d in g.deltas.values())
