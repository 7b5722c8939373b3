"""Documents a candidate submitted, and the one-time codes that link another chat app to a person.

The caller owns the transaction. The files themselves stay in the content-addressed file store; a row
holds the kind, the sha256 and what the content turned out to be. A kind has one ``current`` document
at a time (except repeatable kinds); the one it replaces stays as ``replaced``, with the time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import repo
from storage.models import AuditEntry, Document, Identity, LinkCode, User

_doc = Document.__table__
_LIST = (
    select(
        _doc.c.id,
        _doc.c.kind,
        _doc.c.status,
        _doc.c.mime,
        _doc.c.size,
        _doc.c.filename,
        _doc.c.received_at,
    )
    .where(_doc.c.application_id == bindparam("app"), _doc.c.status != "replaced")
    .order_by(_doc.c.id)
)


def listing(c: Connection, application_id: int) -> list[Any]:
    """The application's current and unclassified documents, oldest first (what the flow reads)."""
    return list(c.execute(_LIST, {"app": application_id}))


def by_sha256(s: Session, application_id: int, sha256: str) -> Document | None:
    """A current or unclassified document with these bytes (a replaced one may be sent again)."""
    return s.scalar(
        select(Document)
        .where(
            Document.application_id == application_id,
            Document.sha256 == sha256,
            Document.status != "replaced",
        )
        .order_by(Document.id)
        .limit(1)
    )


def current_kinds(s: Session, application_id: int) -> set[str]:
    rows = s.scalars(
        select(Document.kind).where(Document.application_id == application_id, Document.status == "current")
    )
    return {k for k in rows if k}


def add(
    s: Session,
    *,
    application_id: int,
    kind: str | None,
    sha256: str,
    mime: str,
    size: int,
    filename: str | None,
    platform: str,
    message_id: str,
    now: datetime,
) -> Document:
    doc = Document(
        application_id=application_id,
        kind=kind,
        status="unclassified" if kind is None else "current",
        sha256=sha256,
        mime=mime,
        size=size,
        filename=filename,
        platform=platform,
        message_id=message_id,
        received_at=now,
    )
    s.add(doc)
    s.flush()
    return doc


def file_as(s: Session, doc: Document, kind: str, *, repeatable: bool, now: datetime) -> Document | None:
    """Make ``doc`` the current document of ``kind``; the one it replaces (returned) is kept as history."""
    old = None
    if not repeatable:
        old = s.scalar(
            select(Document).where(
                Document.application_id == doc.application_id,
                Document.kind == kind,
                Document.status == "current",
                Document.id != doc.id,
            )
        )
        if old is not None:
            old.status = "replaced"
            old.replaced_at = now
    doc.kind = kind
    doc.status = "current"
    s.flush()
    return old


# ---------------------------------------------------------------- link codes

LINK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
LINK_CODE_LENGTH = 6
LINK_CODE_TTL = timedelta(minutes=10)
LINK_TRIES = 5  # wrong codes from one chat per hour before it must wait
_LETTERS = frozenset(c for c in LINK_ALPHABET if c.isalpha())
_DIGITS = frozenset(c for c in LINK_ALPHABET if c.isdigit())


def new_link_code() -> str:
    """Six characters without look-alikes, at least two letters and two digits."""
    while True:
        code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(LINK_CODE_LENGTH))
        if sum(c in _LETTERS for c in code) >= 2 and sum(c in _DIGITS for c in code) >= 2:
            return code


def link_code_hash(code: str) -> str:
    return hashlib.sha256(("link:" + code.replace("-", "").upper()).encode()).hexdigest()


def issue_link_code(
    s: Session, *, user_id: int, now: datetime, ttl: timedelta = LINK_CODE_TTL
) -> tuple[str, datetime]:
    """A fresh code for ``user_id`` (their earlier unused codes stop working); only its hash is kept."""
    s.execute(
        update(LinkCode)
        .where(LinkCode.user_id == user_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
    )
    expires = now + ttl
    for _ in range(20):
        code = new_link_code()
        row = LinkCode(user_id=user_id, code_sha256=link_code_hash(code), expires_at=expires)
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:  # the same code was issued before (used or not): draw again
            continue
        return code, expires
    raise RuntimeError("could not draw an unused link code")


@dataclass(frozen=True, slots=True)
class LinkAppResult:
    status: str  # ok | unknown | used | expired | already_linked | other_user | too_many
    user_id: int | None = None
    language: str | None = None


def failed_link_tries(s: Session, *, platform: str, external_id: str, since: datetime) -> int:
    return int(
        s.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.at >= since,
                AuditEntry.action == "identity.link_failed",
                AuditEntry.subject == _chat(platform, external_id),
            )
        )
        or 0
    )


def _chat(platform: str, external_id: str) -> str:
    return f"chat:{platform}:{external_id}"[:100]


def claim_link_code(
    s: Session, *, code: str, platform: str, external_id: str, conversation_id: str, now: datetime
) -> LinkAppResult:
    """Link the chat identity (platform, external_id) to the user the code was issued to.

    Of two chats sending one code at once exactly one wins (a conditional UPDATE claims it). A chat
    already linked to that person is told so; one linked to somebody else is refused, never moved.
    Wrong codes are audited per chat; after LINK_TRIES in an hour the chat must wait.
    """
    if failed_link_tries(s, platform=platform, external_id=external_id, since=now - timedelta(hours=1)) >= (
        LINK_TRIES
    ):
        return LinkAppResult("too_many")
    row = s.scalar(select(LinkCode).where(LinkCode.code_sha256 == link_code_hash(code)))
    ident = s.scalar(
        select(Identity).where(Identity.platform == platform, Identity.external_id == external_id)
    )
    owner = s.get(User, row.user_id) if row is not None else None
    language = owner.language if owner is not None else None
    if row is None or owner is None:
        _failed(s, platform, external_id, "unknown", now)
        return LinkAppResult("unknown")
    if ident is not None:
        status = "already_linked" if ident.user_id == row.user_id else "other_user"
        return LinkAppResult(status, row.user_id, language)
    if row.used_at is not None:
        _failed(s, platform, external_id, "used", now)
        return LinkAppResult("used", row.user_id, language)
    if row.expires_at <= now:
        _failed(s, platform, external_id, "expired", now)
        return LinkAppResult("expired", row.user_id, language)
    claimed = s.execute(
        update(LinkCode)
        .where(LinkCode.id == row.id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        return LinkAppResult("used", row.user_id, language)
    ident = Identity(
        user_id=row.user_id,
        platform=platform,
        external_id=external_id,
        conversation_id=conversation_id,
        last_seen_at=now,
    )
    s.add(ident)
    s.flush()
    repo.audit(
        s,
        now=now,
        actor=f"user:{row.user_id}",
        action="identity.link",
        subject=f"user:{row.user_id}",
        details={"platform": platform, "identity_id": ident.id, "link_code_id": row.id},
    )
    return LinkAppResult("ok", row.user_id, language)


def _failed(s: Session, platform: str, external_id: str, why: str, now: datetime) -> None:
    repo.audit(
        s,
        now=now,
        actor=_chat(platform, external_id),
        action="identity.link_failed",
        subject=_chat(platform, external_id),
        details={"reason": why},
    )
