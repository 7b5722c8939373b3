"""The engine's side of documents and app linking: run their commands with the ORM.

Kept apart from ``engine`` (the message path) and ``documents`` / ``linking`` (the pure decisions).
Every command runs inside the message's transaction; a document's bytes are already in the file store
(content-addressed, put there by the gateway or the test harness), so nothing here writes files — and
nothing deletes them: a blob may be shared by other rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions import doccheck
from flows.context import Command, Ctx
from flows.documents import COMMANDS as DOC_COMMANDS
from flows.documents import TYPE_OF_MIME, DocumentRules, default_rules
from flows.linking import COMMANDS as LINK_COMMANDS
from flows.values import Inbound
from storage import documents as docs
from storage import repo
from storage.files import FileStore
from storage.models import Application, Document, Position

COMMANDS = DOC_COMMANDS | LINK_COMMANDS


def execute(
    s: Session, cmd: Command, *, inbound: Inbound, ctx: Ctx, files: FileStore | None, now: datetime
) -> dict[str, Any]:
    """Run one documents or linking command inside the message's transaction."""
    if cmd.name == "link_app":
        r = docs.claim_link_code(
            s,
            code=str(cmd.args["code"]),
            platform=inbound.platform,
            external_id=inbound.user_ref,
            conversation_id=inbound.conversation_id,
            now=now,
        )
        return {"status": r.status, "language": r.language}
    app = s.get(Application, ctx.app.id) if ctx.app is not None else None
    if app is None or app.user_id is None:
        return {"status": "missing"}
    if cmd.name == "link_code":
        code, expires = docs.issue_link_code(s, user_id=app.user_id, now=now)
        repo.audit(
            s,
            now=now,
            actor=f"user:{app.user_id}",
            action="identity.link_code",
            subject=f"user:{app.user_id}",
            details={"platform": inbound.platform, "expires_at": expires.isoformat()},
        )
        return {"status": "ok", "code": code, "expires_at": expires.isoformat()}
    rules = ctx.docs if ctx.docs is not None else default_rules()
    # One filing at a time per application, even from two apps at once (a conversation's lock covers
    # one chat only): a kind never ends up with two current documents.
    s.execute(select(Application.id).where(Application.id == app.id).with_for_update())
    if repo.latest_consents(s, app.id).get("documents") is not True:
        return {"status": "no_consent"}
    if cmd.name == "doc_receive":
        return _receive(s, cmd, app, inbound, rules, files, now)
    if cmd.name == "doc_classify":
        return _classify(s, cmd, app, rules, now)
    raise ValueError(f"unknown documents command {cmd.name}")


def _receive(
    s: Session,
    cmd: Command,
    app: Application,
    inbound: Inbound,
    rules: DocumentRules,
    files: FileStore | None,
    now: datetime,
) -> dict[str, Any]:
    media = inbound.media
    if media is None or files is None or not files.exists(media.ref):
        return {"status": "no_file"}
    verdict = doccheck.check_path(files.path(media.ref))
    actor = f"user:{app.user_id}"
    if not verdict.ok:
        repo.audit(
            s,
            now=now,
            actor=actor,
            action="document.rejected",
            subject=f"application:{app.id}",
            details={
                "problem": verdict.problem,
                "detail": verdict.detail,
                "sha256": media.ref,
                "platform": inbound.platform,
            },
        )
        return {"status": "rejected", "problem": verdict.problem}
    dup = docs.by_sha256(s, app.id, media.ref)
    if dup is not None:
        return {"status": "duplicate", "kind": dup.kind, "document_id": dup.id}
    kind = cmd.args.get("kind")
    if kind is not None and kind not in rules.kinds:
        kind = None
    assert verdict.type is not None and verdict.mime is not None
    if kind is not None and verdict.type not in rules.kinds[kind].types:
        return {"status": "wrong_type", "kind": kind, "type": verdict.type}
    before = _complete(s, app, rules)
    doc = docs.add(
        s,
        application_id=app.id,
        kind=None,
        sha256=media.ref,
        mime=verdict.mime,
        size=files.path(media.ref).stat().st_size,
        filename=_clean_name(media.name),
        platform=inbound.platform,
        message_id=inbound.message_id,
        now=now,
    )
    repo.audit(
        s,
        now=now,
        actor=actor,
        action="document.received",
        subject=f"application:{app.id}",
        details={"document_id": doc.id, "type": verdict.type, "size": doc.size, "sha256": doc.sha256},
    )
    if kind is None:
        return {"status": "unclassified", "document_id": doc.id, "type": verdict.type}
    return _file(s, app, doc, kind, rules, before, now)


def _classify(
    s: Session, cmd: Command, app: Application, rules: DocumentRules, now: datetime
) -> dict[str, Any]:
    doc = s.get(Document, int(cmd.args["document_id"]))
    kind = str(cmd.args.get("kind") or "")
    if doc is None or doc.application_id != app.id or kind not in rules.kinds:
        return {"status": "missing"}
    if doc.status != "unclassified":
        return {"status": "already", "kind": doc.kind, "document_id": doc.id}
    t = TYPE_OF_MIME.get(doc.mime, "")
    if t not in rules.kinds[kind].types:
        return {"status": "wrong_type", "kind": kind, "type": t, "document_id": doc.id}
    return _file(s, app, doc, kind, rules, _complete(s, app, rules), now)


def _file(
    s: Session,
    app: Application,
    doc: Document,
    kind: str,
    rules: DocumentRules,
    before: bool,
    now: datetime,
) -> dict[str, Any]:
    old = docs.file_as(s, doc, kind, repeatable=rules.kinds[kind].repeatable, now=now)
    details: dict[str, Any] = {"document_id": doc.id, "kind": kind}
    if old is not None:
        details["replaced"] = old.id
    repo.audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="document.filed",
        subject=f"application:{app.id}",
        details=details,
    )
    complete = not before and _complete(s, app, rules)
    if complete:
        position = _position_code(s, app)
        repo.audit(
            s,
            now=now,
            actor="system",
            action="documents.complete",
            subject=f"application:{app.id}",
            details={"kinds": list(rules.required.get(position, ()))},
        )
    return {
        "status": "ok",
        "document_id": doc.id,
        "kind": kind,
        "replaced": old is not None,
        "complete": complete,
    }


def _position_code(s: Session, app: Application) -> str:
    pos = s.get(Position, app.position_id)
    return pos.code.upper() if pos is not None else ""


def _complete(s: Session, app: Application, rules: DocumentRules) -> bool:
    required = set(rules.required.get(_position_code(s, app), ()))
    return bool(required) and required <= docs.current_kinds(s, app.id)


def _clean_name(name: str | None) -> str | None:
    """The sender's file name without any path, control characters or excess length."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return clean[:300] or None
