"""Documents and photos in the web chat: ``POST /webchat/api/file`` over real HTTP, and the 📎 button
in Chromium."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bots.runtime import Runtime
from flows.values import Inbound
from storage.models import Document
from tests.actions.test_doccheck import make_pdf
from tests.bots.test_webchat_browser import chromium, context_for  # noqa: F401 — fixtures
from tests.bots.test_webchat_http import _linked
from tests.bots.test_webchat_voice import _bilingual_error, _processed, _stored, seen  # noqa: F401

FILE = "/webchat/api/file"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as c:
        yield c


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_a_document_is_stored_and_handed_on_with_its_name(
    rt: Runtime,
    client: httpx.Client,
    seen: list[Inbound],  # noqa: F811
) -> None:
    r = client.post(
        FILE,
        params={"user": "web-doc", "name": "成绩单.pdf", "message_id": "f1"},
        content=PDF,
        headers={"content-type": "application/pdf"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["replies"]
    [inbound] = seen
    assert inbound.media is not None and inbound.media.kind == "file"
    assert inbound.media.name == "成绩单.pdf" and inbound.media.mime == "application/pdf"
    assert inbound.media.ref == hashlib.sha256(PDF).hexdigest() and _stored(rt)[inbound.media.ref] == PDF
    png = _png()
    r = client.post(
        FILE, params={"user": "web-doc", "name": "id.png"}, content=png, headers={"content-type": "image/png"}
    )
    assert r.status_code == 200 and seen[-1].media is not None and seen[-1].media.kind == "image"


def test_a_cv_from_a_linked_candidate_is_filed_and_the_checklist_comes_back(
    rt: Runtime, client: httpx.Client
) -> None:
    _linked(rt, client, "web-cv")  # the invitation code, then 同意 twice
    cv = make_pdf("Zhang San CV")
    r = client.post(
        FILE,
        params={"user": "web-cv", "name": "简历.pdf", "message_id": "cv-1"},  # the name says what it is
        content=cv,
        headers={"content-type": "application/pdf"},
    )
    assert r.status_code == 200, r.text
    [reply] = [x for x in r.json()["replies"] if "已收到：简历" in x["text"]]
    assert "已收到您的简历（简历.pdf）" in reply["text"]
    assert "已收到：简历；还差：身份证、学历证书" in reply["text"]
    with rt.sessions() as s:
        [doc] = s.scalars(select(Document)).all()
    assert (doc.kind, doc.status, doc.sha256) == ("cv", "current", hashlib.sha256(cv).hexdigest())
    assert (doc.mime, doc.filename, doc.platform, doc.message_id) == (
        "application/pdf",
        "简历.pdf",
        "webchat",
        "cv-1",
    )


def test_bad_file_uploads_get_a_bilingual_error_and_nothing_is_processed(
    rt: Runtime, client: httpx.Client
) -> None:
    def up(body: bytes, **kw: str) -> httpx.Response:
        params = {"user": kw.pop("user", "web-doc"), "name": kw.pop("name", "cv.pdf")}
        return client.post(
            FILE, params=params, content=body, headers={"content-type": kw.pop("ctype", "application/pdf")}
        )

    _bilingual_error(up(b""), 400, "empty_file")
    _bilingual_error(up(PDF, name=""), 400, "bad_file_name")
    _bilingual_error(up(PDF, ctype="text/plain"), 415, "bad_file_type")
    _bilingual_error(up(PDF, ctype="multipart/form-data"), 415, "bad_file_type")
    _bilingual_error(up(PDF, user=""), 400, "bad_user")
    _bilingual_error(up(b"\0" * (20 * 2**20 + 1)), 413, "file_too_large")
    assert _processed(rt) == 0 and _stored(rt) == {}


def test_the_paperclip_sends_a_file_from_the_page(
    server: str,
    context_for: Callable[[str], object],  # noqa: F811
    tmp_path: Path,
) -> None:
    ctx = context_for("en-US")
    page = ctx.new_page()  # type: ignore[attr-defined]
    page.goto(server + "/")
    page.wait_for_function("() => window.talentbot && window.talentbot.user")
    pdf = tmp_path / "transcript.pdf"
    pdf.write_bytes(PDF)
    with page.expect_response(lambda r: FILE in r.url) as answered:
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Send a file or photo").click()
        chooser.value.set_files(str(pdf))
    assert answered.value.status == 200
    assert answered.value.request.headers["content-type"] == "application/pdf"
    expect(page.locator(".msg.me").last).to_have_text("📎 transcript.pdf (1 KB)")
    expect(page.locator(".msg.bot").last).to_be_visible()
