"""Documents in chat: photos and files filed by kind, checked by content, listed as a checklist,
replaced, and HR told when the set is complete — in Chinese and English, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from bots.testing import TestBot
from storage.models import AuditEntry, Document, OutboxItem, ProcessedMessage
from tests.actions.test_doccheck import (
    make_docx,
    make_elf,
    make_heic,
    make_image,
    make_pdf,
    make_pe,
    make_zip_bomb_docx,
)
from tests.conftest import invite, linked_bot

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SECRET = "SECRET-ID-4417"  # inside the files: it must never come back in a reply


def _docs(rt) -> list[Document]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return list(s.scalars(select(Document).order_by(Document.id)))


def _current(rt) -> dict[str, Document]:  # type: ignore[no-untyped-def]
    return {d.kind: d for d in _docs(rt) if d.status == "current" and d.kind}


def _audit(rt, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _hr_events(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return [
            o.payload["event"]
            for o in s.scalars(select(OutboxItem).order_by(OutboxItem.id))
            if o.kind == "notify_hr"
        ]


def _never_echoed(rt, bot: TestBot) -> None:  # type: ignore[no-untyped-def]
    assert not [t for who, t in bot.transcript if who == "bot" and SECRET in t]
    with rt.sessions() as s:
        stored = [str(p.replies) for p in s.scalars(select(ProcessedMessage))]
    assert not [r for r in stored if SECRET in r]


def test_required_documents_then_filed_by_name_caption_and_button(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.say("需要准备哪些材料")
    assert "综合柜员岗位需要提交的材料" in bot.text
    assert "· 身份证（JPG/PNG/HEIC/PDF）" in bot.text and "· 简历（PDF/Word（DOCX））" in bot.text
    assert "还差：身份证、学历证书、简历" in bot.text and "· 成绩单" not in bot.text

    cv = make_pdf(f"Zhang San CV {SECRET}")
    bot.file(cv, name="简历.pdf", mime=PDF, message_id="tg-msg-1")
    assert "已收到您的简历（简历.pdf）" in bot.text
    assert "已收到：简历；还差：身份证、学历证书" in bot.text
    [doc] = _docs(rt)
    assert (doc.kind, doc.status, doc.mime, doc.filename) == ("cv", "current", PDF, "简历.pdf")
    assert doc.size == len(cv)
    assert doc.sha256 == hashlib.sha256(cv).hexdigest()
    assert (doc.platform, doc.message_id) == ("test", "tg-msg-1")

    bot.file(
        make_image("JPEG", "degree"),
        name="scan_0001.jpg",
        mime="image/jpeg",
        kind="image",
        text="这是我的学历证书",
    )
    assert "已收到您的学历证书（scan_0001.jpg）" in bot.text

    bot.file(make_image("PNG", "id"), name=None, mime="image/png", kind="image")  # a photo, no name
    assert "是哪份材料" in bot.text
    assert bot.choices == ["身份证", "学历证书（替换）", "其他材料"]  # a CV cannot be a PNG
    assert _docs(rt)[-1].status == "unclassified" and _docs(rt)[-1].kind is None
    bot.press("身份证")
    assert "已收到您的身份证" in bot.text
    assert "已收到：身份证、学历证书、简历；材料已齐全" in bot.text
    assert "招聘专员会尽快审核" in bot.text
    assert set(_current(rt)) == {"cv", "degree", "id_card"}
    _never_echoed(rt, bot)


def test_a_typed_answer_settles_which_document_it_is(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.file(make_heic(), name="IMG_0042.HEIC", mime="image/heic", kind="image")
    assert "IMG_0042.HEIC" in bot.text and bot.choices == ["身份证", "学历证书", "其他材料"]
    bot.say("帮助")  # an interruption: the question is put again
    assert "提交材料" in bot.text and "是哪份材料" in bot.text
    bot.say("是学历证书")
    assert "已收到您的学历证书（IMG_0042.HEIC）" in bot.text
    assert _current(rt)["degree"].mime == "image/heic"


def test_duplicates_are_recognised_by_content(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    data = make_pdf(SECRET)
    bot.file(data, name="身份证.pdf", mime=PDF)
    bot.file(data, name="another-name.pdf", mime=PDF)
    assert "之前已经收到过了（作为身份证）" in bot.text
    assert len(_docs(rt)) == 1
    _never_echoed(rt, bot)


def test_an_executable_renamed_pdf_is_refused_politely(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.file(make_elf(), name="学历证书.pdf", mime=PDF)
    assert "不是文档，而是一个程序" in bot.text and "PDF" in bot.text
    bot.file(make_pe(), name="简历.pdf", mime=PDF)
    assert "为了安全没有接收" in bot.text
    assert _docs(rt) == []
    rejected = _audit(rt, "document.rejected")
    assert [a.details["problem"] for a in rejected] == ["executable", "executable"]
    assert "ELF" in rejected[0].details["detail"]


def test_a_zip_bomb_posing_as_docx_and_wrong_types_are_refused(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.file(make_zip_bomb_docx(100), name="简历.docx", mime=DOCX)
    assert "无法安全打开" in bot.text
    bot.file(make_docx(SECRET), name="id.docx", mime=DOCX, text="身份证")
    assert "身份证需要是 JPG/PNG/HEIC/PDF 格式，这个文件是 Word（DOCX）" in bot.text
    bot.file(b"%PDF-1.7\n" + bytes(300), name="学历证书.pdf", mime=PDF)
    assert "已损坏或不完整" in bot.text
    assert _docs(rt) == []
    bot.file(make_docx(SECRET), name="Zhang_CV.docx", mime=DOCX)
    assert "已收到您的简历（Zhang_CV.docx）" in bot.text
    assert _current(rt)["cv"].mime == DOCX
    _never_echoed(rt, bot)


def test_replacing_a_document_keeps_the_old_one_as_history(rt, clock) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.file(make_image("JPEG", "old id"), name="身份证.jpg", mime="image/jpeg", kind="image")
    old = _current(rt)["id_card"]
    clock.advance(minutes=3)
    bot.say("重新上传身份证")
    assert "请发送新的身份证" in bot.text and "替换之前提交的那份" in bot.text
    bot.file(make_image("JPEG", "new id"), name="IMG_7.jpg", mime="image/jpeg", kind="image")
    assert "已收到新的身份证（IMG_7.jpg），替换了之前提交的那份" in bot.text
    docs = {d.id: d for d in _docs(rt)}
    assert docs[old.id].status == "replaced" and docs[old.id].replaced_at == clock()
    assert _current(rt)["id_card"].id != old.id and len(docs) == 2
    assert _audit(rt, "document.filed")[-1].details["replaced"] == old.id
    bot.say("我的进度")
    assert "材料：已收到：身份证；还差：学历证书、简历" in bot.text


def test_a_complete_set_notifies_hr_once_with_an_audit_row(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RM")
    bot.file(make_pdf("id"), name="ID_card.pdf", mime=PDF)
    bot.file(make_pdf("degree"), name="degree.pdf", mime=PDF)
    bot.file(make_docx("cv"), name="resume.docx", mime=DOCX)
    assert "documents_complete" not in _hr_events(rt)
    assert "还差：银行从业资格证书" in bot.text
    bot.file(make_image("JPEG", "qual"), name="从业资格证.jpg", mime="image/jpeg", kind="image")
    assert "材料已齐全" in bot.text
    assert _hr_events(rt).count("documents_complete") == 1
    [audit] = _audit(rt, "documents.complete")
    assert audit.details["kinds"] == ["id_card", "degree", "cv", "qualification"]
    with rt.sessions() as s:
        notice = next(
            o for o in s.scalars(select(OutboxItem)) if o.payload.get("event") == "documents_complete"
        )
    assert notice.payload["position"] == "RM" and notice.payload["kinds"][-1] == "qualification"
    bot.say("重新上传学历证书")
    bot.file(make_pdf("degree v2"), name="x.pdf", mime=PDF)
    assert "替换了之前提交的那份" in bot.text
    assert _hr_events(rt).count("documents_complete") == 1  # still complete: not told again
    assert len(_audit(rt, "documents.complete")) == 1


def test_without_the_documents_consent_nothing_is_filed(rt) -> None:  # type: ignore[no-untyped-def]
    bot = TestBot(rt, user="cand-2")
    bot.say(f"我的邀请码是 {invite(rt)}")
    data = make_pdf(SECRET)
    bot.file(data, name="简历.pdf", mime=PDF)  # before the consent questions are answered
    assert "需要您先同意我们处理材料" in bot.text and "转人工" in bot.choices
    assert "单独同意事项 1/2" in bot.text  # the pending question, again
    bot.press("同意")
    bot.press("不同意")
    bot.file(data, name="简历.pdf", mime=PDF)
    assert "不会被处理或计入您的申请" in bot.text and "招聘专员" in bot.text
    assert "转人工" in bot.choices
    bot.say("我要提交材料")
    assert "不会被处理" in bot.text
    bot.say("我的进度")
    assert "材料：您选择线下提交" in bot.text
    assert _docs(rt) == []
    # The gateway (here: the harness) put the bytes in the content-addressed store before the engine
    # saw them; no row points at them, and shared blobs are never deleted.
    assert rt.deps.files.exists(hashlib.sha256(data).hexdigest())


def test_a_file_from_an_unlinked_chat(rt, bot: TestBot) -> None:  # type: ignore[no-untyped-def]
    bot.file(make_pdf(), name="简历.pdf", mime=PDF)
    assert "还没有关联申请" in bot.text and "邀请码" in bot.text
    assert _docs(rt) == []


def test_submit_material_explains_how(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="TELLER")
    bot.say("我要提交材料")
    assert "请直接在这里发送材料的照片或文件" in bot.text and "20 MB" in bot.text
    assert "还差：身份证、学历证书、简历" in bot.text
    bot.say("我现在发简历")
    assert "请发送您的简历" in bot.text
    bot.file(make_pdf(), name="document.pdf", mime=PDF)  # the announced kind, no name needed
    assert "已收到您的简历（document.pdf）" in bot.text


def test_english_documents_and_checklist(rt) -> None:  # type: ignore[no-untyped-def]
    bot = linked_bot(rt, position="RISK", lang="en")
    bot.say("what documents do you need")
    assert "Documents needed for Risk Analyst:" in bot.text
    assert "· transcript (PDF/JPEG/PNG/HEIC)" in bot.text
    assert "Still needed: ID card, degree certificate, transcript, CV." in bot.text
    bot.file(make_pdf(SECRET), name="transcript.pdf", mime=PDF)
    assert "Thanks — I've received your transcript (transcript.pdf)." in bot.text
    assert "Received: transcript. Still needed: ID card, degree certificate, CV." in bot.text
    bot.file(make_image("JPEG", "x"), name=None, mime="image/jpeg", kind="image")
    assert "Which document is the file you just sent?" in bot.text
    assert bot.choices == ["ID card", "degree certificate", "transcript (replace)", "other document"]
    bot.press("ID card")
    assert "I've received your ID card" in bot.text
    bot.file(make_elf(), name="cv.pdf", mime=PDF)
    assert "isn't a document but a program" in bot.text
    bot.say("what's my status")
    assert "Documents: Received: ID card, transcript. Still needed: degree certificate, CV." in bot.text
    _never_echoed(rt, bot)


def test_a_document_during_the_interview_does_not_answer_it(rt) -> None:  # type: ignore[no-untyped-def]
    from storage.models import Answer

    bot = linked_bot(rt, position="RISK")
    bot.press("开始面试")
    assert "第 1/6 题" in bot.text
    bot.file(make_pdf(), name="成绩单.pdf", mime=PDF, text="顺便发一下成绩单")
    assert "已收到您的成绩单" in bot.text
    with rt.sessions() as s:
        assert s.scalars(select(Answer)).all() == []
    bot.say("我的进度")
    assert "面试进度" in bot.text  # the interview still owns the question
