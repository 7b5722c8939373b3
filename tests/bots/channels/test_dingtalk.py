"""DingTalk end to end: signed robot callbacks (built as DingTalk builds them, from the recorded messages
in ``dingtalk/``) into the real server, the gateway and the engine; replies, media and errors through
the channel's HTTP client against the fake DingTalk on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime, build
from bots.settings import Settings
from bots.testing import FakeClock
from scoring.asr import Segment, Transcript
from storage.models import Answer, AuditEntry, Delivery, Document, OutboxItem, ProcessedMessage
from storage.seed import seed
from tests.actions.test_doccheck import make_pdf
from tests.bots.channels import dingtalk_payloads as dp
from tests.bots.channels.dingtalk.fake import APP_KEY, APP_SECRET, ROBOT_CODE, Failure, FakeDingTalk, Served
from tests.conftest import TZ, invite
from tests.scoring.conftest import Voice, voice  # noqa: F401 — the fixture

STAFF = "manager4220"
ANSWER_ZH = "首先我会保持冷静，核实客户身份，然后按照反洗钱规定检查这笔转账，向合规部门报告可疑交易，并礼貌地向客户解释原因。"


class StubASR:
    """Transcription is not what these tests are about (tests/flows covers Whisper)."""

    name = "stub-asr"

    def transcribe(self, audio: Any, *, language: str) -> Transcript:
        d = float(audio.duration)
        return Transcript(ANSWER_ZH, language, d, (Segment(0.0, d, ANSWER_ZH),), (), "stub-asr")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    f = FakeDingTalk()
    with Served(f.app()) as served:
        f.url = served.url
        yield f


@pytest.fixture
def settings(settings: Settings, fake: FakeDingTalk) -> Settings:
    env = {
        "TALENTBOT_DINGTALK_APP_KEY": APP_KEY,
        "TALENTBOT_DINGTALK_APP_SECRET": APP_SECRET,
        "TALENTBOT_DINGTALK_ROBOT_CODE": ROBOT_CODE,
        "TALENTBOT_DINGTALK_API_BASE": fake.url,
        "TALENTBOT_DINGTALK_OAPI_BASE": fake.url,
        "TALENTBOT_DINGTALK_TIMEOUT": "5",
    }
    return dataclasses.replace(settings, env={**settings.env, **env})


@pytest.fixture
def rt(settings: Settings, nlu, clock: FakeClock, base_url: str) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    runtime = build(
        dataclasses.replace(settings, public_url=base_url), nlu=nlu, clock=clock, migrate=False, asr=StubASR
    )
    with runtime.sessions.begin() as s:
        seed(s, content_dir=runtime.settings.content_dir, now=clock(), tz=TZ)
    yield runtime
    runtime.reminders.shutdown()
    if runtime.deps.executor is not None:
        runtime.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
    runtime.engine.dispose()


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


_ms = itertools.count()


def now_ms(clock: FakeClock) -> int:
    """The fake clock's now, a millisecond later each time (the fake clock stands still; DingTalk stamps
    each callback when it sends it, and a signed timestamp is good for one message only)."""
    return int(clock().timestamp() * 1000) + next(_ms)


def message(name: str, **fields: Any) -> dict[str, Any]:
    m = dp.sample(name)
    m["msgId"] = f"msg{uuid.uuid4().hex}"
    m.update(fields)
    return m


def text(body: str, **fields: Any) -> dict[str, Any]:
    return message("text", text={"content": body}, **fields)


def post(
    client: httpx.Client, clock: FakeClock, m: dict[str, Any] | bytes, *, ts: int | None = None
) -> httpx.Response:
    ts = now_ms(clock) if ts is None else ts
    if isinstance(m, bytes):
        return client.post(dp.PATH, headers=dp.signed_headers(APP_SECRET, timestamp_ms=ts), content=m)
    path, headers, body = dp.request(m, app_secret=APP_SECRET, timestamp_ms=ts)
    return client.post(path, headers=headers, content=body)


def processed(rt: Runtime) -> int:
    with rt.sessions() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(ProcessedMessage)
                .where(ProcessedMessage.platform == "dingtalk")
            )
            or 0
        )


def deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.platform == "dingtalk").order_by(Delivery.id)))


def settle(rt: Runtime, fake: FakeDingTalk, *, count: int) -> None:
    """Wait until ``count`` messages were handled and nothing is left to send."""
    fake.wait(lambda: processed(rt) >= count, what=f"{count} processed messages")
    fake.wait(lambda: all(d.status != "pending" for d in deliveries(rt)), what="deliveries sent")


def say(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk, m: dict[str, Any]
) -> list[str]:
    """Post one message, wait for its answer, return what the robot said to it."""
    before, count = len(fake.sent), processed(rt)
    r = post(client, clock, m)
    assert r.status_code == 200 and r.json() == {}, r.text
    settle(rt, fake, count=count + 1)
    return fake.texts()[before:]


# ------------------------------------------------------------------ receiving


def test_a_text_message_is_answered_through_the_robot_api(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    said = say(client, clock, rt, fake, text("你好"))
    assert said and fake.sent[0]["userIds"] == [STAFF] and fake.sent[0]["robotCode"] == ROBOT_CODE
    assert [d.conversation_id for d in deliveries(rt)] == [f"user:{STAFF}"] * len(said)
    assert all(d.status == "sent" for d in deliveries(rt))


def test_the_benchmark_helper_builds_an_accepted_request(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    path, headers, body = dp.text_message(app_secret=APP_SECRET, text="你好", timestamp_ms=now_ms(clock))
    r = client.post(path, headers=headers, content=body)
    assert r.status_code == 200 and r.json() == {}
    settle(rt, fake, count=1)
    assert fake.sent


def test_forged_and_stale_signatures_are_refused(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    m = text("你好")
    body = dp.request(m, app_secret=APP_SECRET)[2]
    ts = now_ms(clock)
    cases = {
        "no headers": {},
        "wrong secret": dp.signed_headers("not-the-secret", timestamp_ms=ts),
        "sign of another time": {**dp.signed_headers(APP_SECRET, timestamp_ms=ts), "timestamp": str(ts + 1)},
        "an hour old": dp.signed_headers(APP_SECRET, timestamp_ms=ts - 3600 * 1000 - 1000),
        "from the future": dp.signed_headers(APP_SECRET, timestamp_ms=ts + 10 * 60 * 1000),
        "not a number": {**dp.signed_headers(APP_SECRET, timestamp_ms=ts), "timestamp": "yesterday"},
    }
    for case, headers in cases.items():
        r = client.post(dp.PATH, headers=headers, content=body)
        assert r.status_code == 401, case
    # 59 minutes late is still DingTalk
    assert post(client, clock, m, ts=ts - 59 * 60 * 1000).status_code == 200
    settle(rt, fake, count=1)
    assert processed(rt) == 1


def test_malformed_json_is_refused_and_nothing_is_processed(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    no_id = text("你好")
    del no_id["msgId"]
    for body in (b"{not json", b"[1, 2]", b"", "你好".encode("gbk")):
        assert post(client, clock, body).status_code == 400, body
    assert post(client, clock, no_id).status_code == 400
    assert post(client, clock, text("你好", conversationType="9")).status_code == 400
    assert post(client, clock, message("audio", content={"duration": 3})).status_code == 400
    big = b'{"msgtype": "text", "pad": "' + b"x" * (2 * 2**20) + b'"}'
    assert post(client, clock, big).status_code == 413
    assert processed(rt) == 0 and fake.sent == []


def test_unknown_message_types_are_ignored(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    for m in (message("chatRecord"), message("text", msgtype="interactiveCardCallback")):
        r = post(client, clock, m)
        assert r.status_code == 200 and r.json() == {}
    say(client, clock, rt, fake, text("你好"))  # the next real message is handled, and only it
    assert processed(rt) == 1


def test_a_replayed_delivery_is_processed_once(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    m = text("你好")
    path, headers, body = dp.request(m, app_secret=APP_SECRET, timestamp_ms=now_ms(clock))
    first = client.post(path, headers=headers, content=body)
    settle(rt, fake, count=1)
    sent = len(fake.sent)
    again = client.post(path, headers=headers, content=body)  # the same request, replayed
    assert first.status_code == again.status_code == 200
    # the captured headers on another message: DingTalk's signature does not cover the body
    swapped = dp.request(text("我要取消面试"), app_secret=APP_SECRET)[2]
    assert client.post(path, headers=headers, content=swapped).status_code == 401
    fake.wait(lambda: all(d.status != "pending" for d in deliveries(rt)))
    assert processed(rt) == 1 and len(fake.sent) == sent


def test_a_group_message_is_answered_in_the_group(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    said = say(client, clock, rt, fake, message("group_text"))
    assert said
    assert {m["openConversationId"] for m in fake.sent} == {"cidGr0up9XyZ1mN2bV3cX4zQ=="}
    assert all(m["msgKey"] == "sampleText" for m in fake.sent)  # no tap-links in groups


# ------------------------------------------------------------------ the candidate's journey


def _link(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk, position: str
) -> list[str]:
    code = invite(rt, position=position)
    said = say(client, clock, rt, fake, text(f"我的邀请码是 {code}"))
    consent = fake.sent[-1]
    assert consent["msgKey"] == "sampleMarkdown"  # the choices, as links that send their number
    assert "1. [同意](dtmd://dingtalkclient/sendMessage?content=1)" in consent["msgParam"]["text"]
    said += say(client, clock, rt, fake, text("1"))  # what tapping 同意 sends
    said += say(client, clock, rt, fake, text("1"))
    return said


def test_a_voice_answer_reaches_the_interview(
    client: httpx.Client,
    clock: FakeClock,
    rt: Runtime,
    fake: FakeDingTalk,
    voice: Voice,  # noqa: F811
) -> None:
    said = _link(client, clock, rt, fake, "RISK")
    assert "开始面试" in said[-1]
    said = say(client, clock, rt, fake, text("开始面试"))
    assert any("第 1/6 题" in s for s in said), said
    amr = voice.encode(voice.zh(ANSWER_ZH), "amr").read_bytes()
    fake.add_file("voice-answer-1", amr, "audio/amr")
    audio = message("audio")
    audio["content"]["downloadCode"] = "voice-answer-1"
    said = say(client, clock, rt, fake, audio)
    assert any("收到您的回答" in s for s in said), said
    with rt.sessions() as s:
        [answer] = s.scalars(select(Answer)).all()
        assert answer.kind == "voice" and answer.media_ref == hashlib.sha256(amr).hexdigest()
    assert rt.deps.files is not None and rt.deps.files.exists(answer.media_ref or "")
    # scored by the worker; the next prompt arrives as a proactive message through the robot API
    fake.wait(
        lambda: any("第 2/6 题" in t or "追问" in t for t in fake.texts()[-2:]),
        timeout=60,
        what="the next question",
    )
    assert fake.sent[-1]["userIds"] == [STAFF]


def test_a_document_reaches_the_engine_with_its_bytes_stored(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    _link(client, clock, rt, fake, "TELLER")
    pdf = b"%PDF-1.4\n% a degree certificate\n" + bytes(range(256)) * 40
    fake.add_file("doc-code-1", pdf, "application/octet-stream")
    doc = message("file")
    doc["content"]["downloadCode"] = "doc-code-1"
    said = say(client, clock, rt, fake, doc)
    assert said  # a reply went back
    assert rt.deps.files is not None and rt.deps.files.exists(hashlib.sha256(pdf).hexdigest())
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500
    fake.add_file("pic-code-1", png, "image/png")
    pic = message("picture", content={"downloadCode": "pic-code-1", "pictureDownloadCode": "x"})
    assert say(client, clock, rt, fake, pic)
    assert rt.deps.files.exists(hashlib.sha256(png).hexdigest())


def test_a_cv_sent_as_a_file_is_filed_and_the_checklist_comes_back(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    _link(client, clock, rt, fake, "TELLER")
    cv = make_pdf("Zhang San CV")
    fake.add_file("cv-code-1", cv, "application/octet-stream")  # OSS does not say what it is
    doc = message("file")
    doc["content"].update(downloadCode="cv-code-1", fileName="简历.pdf")  # the name says what it is
    said = say(client, clock, rt, fake, doc)
    [reply] = [t for t in said if "已收到：简历" in t]
    assert "已收到您的简历（简历.pdf）" in reply and "已收到：简历；还差：身份证、学历证书" in reply
    assert fake.sent[-1]["userIds"] == [STAFF]
    with rt.sessions() as s:
        [row] = s.scalars(select(Document)).all()
    assert (row.kind, row.status, row.sha256) == ("cv", "current", hashlib.sha256(cv).hexdigest())
    assert (row.mime, row.filename, row.platform, row.message_id) == (
        "application/pdf",
        "简历.pdf",
        "dingtalk",
        doc["msgId"],
    )


def test_a_25_mb_file_is_refused_politely(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    fake.add_file("big-1", b"\0" * (25 * 2**20))
    doc = message("file")
    doc["content"] = {"downloadCode": "big-1", "fileName": "scan.pdf"}
    said = say(client, clock, rt, fake, doc)
    assert any("文件太大了" in s for s in said), said
    declared = message("file")  # when DingTalk tells the size, it is not even downloaded
    declared["content"] = {"downloadCode": "big-1", "fileName": "scan.pdf", "fileSize": 25 * 2**20}
    downloads = fake.calls.count("/oss")
    said = say(client, clock, rt, fake, declared)
    assert any("文件太大了" in s for s in said) and fake.calls.count("/oss") == downloads


def test_a_failed_download_is_retried(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    data = b"%PDF-1.4 retried"
    fake.add_file("flaky-1", data)
    fake.file_failures.append(Failure(500))
    fake.fail("/v1.0/robot/messageFiles/download", 503, {"code": "ServiceUnavailable"})
    doc = message("file")
    doc["content"] = {"downloadCode": "flaky-1", "fileName": "cv.pdf"}
    said = say(client, clock, rt, fake, doc)
    assert rt.deps.files is not None and rt.deps.files.exists(hashlib.sha256(data).hexdigest())
    assert fake.calls.count("/v1.0/robot/messageFiles/download") == 3 and fake.calls.count("/oss") == 2
    assert not any("重新发送" in s for s in said)


def test_a_download_that_keeps_timing_out_asks_to_resend(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    rt.gateway.channels["dingtalk"].api.timeout = 0.3
    fake.add_file("slow-1", b"#!AMR\n")
    for _ in range(3):
        fake.file_failures.append(Failure(200, delay=2.0))
    audio = message("audio")
    audio["content"]["downloadCode"] = "slow-1"
    said = say(client, clock, rt, fake, audio)
    assert any("没能接收到您发送的文件或语音" in s and "重新发送" in s for s in said), said
    assert fake.calls.count("/oss") == 3


# ------------------------------------------------------------------ sending


def test_an_expired_token_is_renewed(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    say(client, clock, rt, fake, text("你好"))
    fake.expire_tokens()
    assert say(client, clock, rt, fake, text("我的进度"))
    assert fake.token_requests == 2 and all(d.status == "sent" for d in deliveries(rt))


def test_a_rate_limit_answer_is_retried_then_sent(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    fake.fail("/v1.0/robot/oToMessages/batchSend", 429, {"code": "Throttling"}, headers={"Retry-After": "2"})
    fake.fail("/v1.0/robot/oToMessages/batchSend", 502, {"code": "BadGateway"})
    assert post(client, clock, text("你好")).status_code == 200
    fake.wait(lambda: processed(rt) == 1)
    first = fake.wait(lambda: [d for d in deliveries(rt) if d.attempts >= 1], what="a failed attempt")[0]
    assert first.status == "pending" and "429" in (first.last_error or "")
    # the retries wait on the (fake) clock: 2 s as DingTalk asked, then the gateway's backoff
    clock.advance(seconds=3)
    rt.gateway.wake()
    fake.wait(lambda: deliveries(rt)[0].attempts == 2, what="the second attempt (502)")
    assert fake.sent == []
    clock.advance(seconds=5)
    rt.gateway.wake()
    fake.wait(lambda: all(d.status == "sent" for d in deliveries(rt)), what="sent after the retries")
    assert deliveries(rt)[0].attempts == 2 and fake.sent


def test_an_unknown_user_fails_for_good_and_hr_is_told(
    client: httpx.Client, clock: FakeClock, rt: Runtime, fake: FakeDingTalk
) -> None:
    fake.unknown_users.add(STAFF)
    assert post(client, clock, text("你好")).status_code == 200
    fake.wait(lambda: deliveries(rt) and deliveries(rt)[0].status == "failed", what="a failed delivery")
    d = deliveries(rt)[0]
    assert d.attempts == 1 and "not found" in (d.last_error or "")
    with rt.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.failed")).one()
        notices = [o.payload for o in s.scalars(select(OutboxItem)) if o.kind == "notify_hr"]
    assert any(n.get("event") == "delivery_failed" and n["platform"] == "dingtalk" for n in notices)
